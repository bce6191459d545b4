"""A whole sweep: spec -> plan -> data -> train every bucket -> results on disk.

`run_sweep(spec, workdir)` is the library entry point behind
`experiments/population_sweep.py`; tests call it directly with a tiny spec. Every input
is checked (spec, data, work directory) before anything is written.
"""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax import checkpoint
from rnnjax import model
from rnnjax import population as pop
from rnnjax import probe
from rnnjax import report
from rnnjax import results
from rnnjax import search
from rnnjax import sharding
from rnnjax import tensorboard
from rnnjax import workdir as workdir_lib
from rnnjax.data import forecast
from rnnjax.errors import InputError

TASKS = ('forecast',)


@dataclasses.dataclass(frozen=True)
class SweepSpec:
  """A sweep, one field per flag of `experiments/population_sweep.py`.

  Hyperparameter fields hold spec strings (see `rnnjax.search`); an empty momentum or
  beta2 takes the optimizer family's usual value.
  """
  task: str = 'forecast'
  dataset: str = 'wineind_sales'
  csv_path: str = ''
  time_column: str = ''
  target_columns: tuple = ()
  lookback: int = 24
  horizon: int = 1
  val_size: int = 0
  test_size: int = 0
  season: int = -1
  cell: str = 'lstm'
  hidden_size: str = '32'
  num_layers: str = '1'
  batch_size: str = '32'
  optimizer: str = 'adam'
  learning_rate: str = '1e-3'
  weight_decay: str = '0'
  clip_norm: str = '1'
  momentum: str = ''
  beta2: str = ''
  input_dropout: str = '0'
  dropout: str = '0'
  dropout_per_layer: str = ''   # One spec per layer, ';'-separated; overrides dropout.
  variational_dropout: bool = False
  hidden_mode: str = 'masked'
  forget_bias: str = '1'
  init_scale: str = '1'
  search: str = 'grid'
  num_members: int = 0
  num_seeds: int = 1
  train_steps: int = 500
  eval_every: int = 100
  patience: int = 0
  seed: int = 0

  def to_json(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}


def make_plan(spec: SweepSpec) -> search.Plan:
  axes = {name: search.parse_axis(name, getattr(spec, name)) for name in search.AXES
          if not (name in search.FAMILY_DEFAULTS and not getattr(spec, name))}
  if spec.dropout_per_layer:
    for layer, text in enumerate(spec.dropout_per_layer.split(';'), 1):
      name = f'dropout_{layer}'
      axes[name] = search.parse_axis(name, text, like='dropout')
  plan = search.make_plan(axes, search=spec.search, num_members=spec.num_members,
                          num_seeds=spec.num_seeds, seed=spec.seed,
                          hidden_mode=spec.hidden_mode)
  if spec.dropout_per_layer:
    layers = spec.dropout_per_layer.count(';') + 1
    for structure in plan.buckets:
      if structure['num_layers'] != layers:
        raise InputError(f'--dropout_per_layer: {layers} spec(s) for a '
                         f'{structure["num_layers"]}-layer network')
  return plan


def _check_budget(spec: SweepSpec):
  for flag in ('train_steps', 'eval_every', 'lookback', 'horizon'):
    if getattr(spec, flag) < 1:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 1')
  if spec.train_steps % spec.eval_every:
    raise InputError(f'--train_steps: {spec.train_steps} is not a multiple of '
                     f'--eval_every={spec.eval_every}')
  if spec.task not in TASKS:
    raise InputError(f'--task: unknown task {spec.task!r}; expected one of {TASKS}')


def load_data(spec: SweepSpec) -> forecast.ForecastData:
  return forecast.load(dataset=spec.dataset, csv_path=spec.csv_path,
                       time_column=spec.time_column, target_columns=spec.target_columns,
                       lookback=spec.lookback, horizon=spec.horizon,
                       val_size=spec.val_size, test_size=spec.test_size,
                       season=spec.season)


def _hparams(members, size, num_layers) -> pop.HParams:
  """Members' values, padded to `size` with dead copies of the first (uids -1, -2...)."""
  padded = list(members) + [members[0]] * (size - len(members))
  uids = [m.uid for m in members] + [-1 - i for i in range(size - len(members))]
  column = lambda name: jnp.asarray([m.hparams[name] for m in padded], jnp.float32)
  rates = [[m.hparams.get(f'dropout_{l}', m.hparams['dropout'])
            for l in range(1, num_layers + 1)] for m in padded]
  return pop.HParams(
      uid=jnp.asarray(uids, jnp.int32),
      hidden_units=jnp.asarray([m.hparams['hidden_size'] for m in padded], jnp.int32),
      dropout_rates=jnp.asarray(rates, jnp.float32),
      **{name: column(name) for name in search.SCALAR if name != 'dropout'})


def _train_config(structure, data: forecast.ForecastData, spec: SweepSpec):
  x, y = data.x['train'], data.y['train']
  cfg = model.ModelConfig(cell=structure['cell'], input_size=x.shape[-1],
                          hidden_size=structure['hidden_size'],
                          num_layers=structure['num_layers'],
                          output_size=y.shape[1] * y.shape[2],
                          variational=spec.variational_dropout)
  return pop.TrainConfig(model=cfg, optimizer=structure['optimizer'],
                         batch_size=structure['batch_size'],
                         steps_per_chunk=spec.eval_every, num_targets=y.shape[2],
                         patience=spec.patience)


def _device_data(data: forecast.ForecastData):
  arrays = {f'{split}_{k}': getattr(data, k)[split] for split in ('train', 'val')
            for k in ('x', 'y')}
  arrays.update(mean=data.mean, std=data.std)
  return {k: jnp.asarray(v, jnp.float32) for k, v in arrays.items()}


def _runs(plan, spec: SweepSpec, data, mesh, max_memory_gb: float):
  """Each bucket's members in waves of equal size that fit the memory budget, so one
  compiled program serves every wave of a bucket. Returns ([(bucket, cfg, members, hp)],
  the plan as JSON with each bucket's parameters, padding and waves)."""
  budget = (max_memory_gb or probe.default_memory_gb()) * 2**30
  plan_json = plan.to_json()
  runs = []
  for b, structure in enumerate(plan.buckets):
    members = plan.bucket_members(b)
    cfg = _train_config(structure, data, spec)
    per_member = probe.estimate_bytes(cfg, data.x['train'].shape[1])
    waves = probe.waves(len(members), per_member, budget, mesh.size)
    for start in range(0, len(members), waves['wave_size']):
      wave = members[start:start + waves['wave_size']]
      runs.append((b, cfg, wave, _hparams(wave, waves['wave_size'],
                                          structure['num_layers'])))
    plan_json['buckets'][b].update(probe.describe(cfg, members), **waves,
                                   estimated_bytes_per_member=per_member)
  return runs, plan_json


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, keep_checkpoints: int = 3, log=print,
              progress_bar: bool = False, dry_run: bool = False,
              max_memory_gb: float = 0.0) -> dict:
  """Runs (or resumes) the sweep; returns its summary, also in WORKDIR/summary.json.

  Re-running on a work directory that holds this sweep unfinished resumes from its last
  good checkpoint; finished, it reports the stored summary. `group_size`: members per
  vmap group on a device (0: see `sharding.group_size`); it changes speed only, so it is
  not part of the spec, nor is `max_memory_gb`, the memory a wave of a bucket's members
  may take (0: half the machine's). `dry_run`: compile every bucket's program (with a
  one-step chunk) and time a step, print the plan, and return it without training or
  writing anything.
  """
  _check_budget(spec)
  plan = make_plan(spec)
  data = load_data(spec)
  num_train = len(data.x['train'])
  for structure in plan.buckets:
    if structure['batch_size'] > num_train:
      raise InputError(f'--batch_size: {structure["batch_size"]} is larger than the '
                       f'training set ({num_train} windows)')
  base_key = jax.random.key(spec.seed)
  mesh = sharding.population_mesh()
  device_data = _device_data(data)
  num_chunks = spec.train_steps // spec.eval_every
  runs, plan_json = _runs(plan, spec, data, mesh, max_memory_gb)
  if dry_run:
    first_waves = {b: (cfg, members, hp) for b, cfg, members, hp in reversed(runs)}
    probed = probe.probe_all([first_waves[b] for b in range(len(plan.buckets))],
                             device_data, base_key, mesh, group_size)
    for b, figures in enumerate(probed):
      plan_json['buckets'][b].update(figures)
      plan_json['buckets'][b]['chunk_s'] *= plan_json['buckets'][b]['num_waves']
    log(report.plan_table(plan_json, num_chunks))
    return plan_json
  status = workdir_lib.state_of(workdir, spec.to_json(), overwrite=overwrite)
  if status == workdir_lib.FINISHED:
    summary = results.read_json(os.path.join(workdir, results.SUMMARY))
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    log(report.ranking_table(summary))
    return summary

  os.makedirs(workdir, exist_ok=True)
  metrics_path = os.path.join(workdir, results.METRICS)
  mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
  restored = None
  if status == workdir_lib.RESUME:
    abstract = {r: _abstract_state(cfg, hp, base_key, mesh)
                for r, (_, cfg, _, hp) in enumerate(runs)}
    restored = checkpoint.restore_latest(mngr, abstract, log=log)
  if restored is None:
    mngr.close()
    workdir_lib.clear(workdir)
    mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
    results.write_json(os.path.join(workdir, results.SWEEP),
                       {'spec': spec.to_json(), 'versions': workdir_lib.versions(),
                        'devices': [str(d) for d in jax.devices()]})
    results.write_json(os.path.join(workdir, results.PLAN), plan_json)
    states, start = {}, (0, 0)
    open(metrics_path, 'w').close()
  else:
    states, progress = restored
    workdir_lib.truncate(metrics_path, progress['metrics_bytes'])
    start = (progress['run'], progress['chunk'] + 1)
    log(f'resuming {workdir}: {start[0] * num_chunks + start[1]} of '
        f'{len(runs) * num_chunks} chunks were done')
  if data.num_filled:
    log(f'filled {data.num_filled} missing values by linear interpolation')
  log(f'{len(plan.members)} members in {len(plan.buckets)} bucket(s), {len(runs)} wave(s) on '
      f'{mesh.size} device(s); swept: {", ".join(plan.swept) or "nothing"}; '
      f'work directory: {workdir}')

  writer = results.MetricsWriter(metrics_path)
  if restored is not None:
    tensorboard.rebuild(workdir)  # Exactly the events the checkpoint covers.
  events = tensorboard.SweepWriter(os.path.join(workdir, tensorboard.DIRNAME),
                                   [{'uid': m.uid, 'hparams': m.hparams}
                                    for m in plan.members])
  bar = report.Progress(len(runs) * num_chunks, log=log, bar=progress_bar,
                        done=start[0] * num_chunks + start[1])
  for r, (b, cfg, members, hp) in enumerate(runs):
    if r < start[0]:
      continue
    if r not in states:
      states[r] = pop.population_init_fn(cfg, mesh)(hp, base_key)
    chunk_fn = pop.population_chunk_fn(cfg, mesh, group_size)
    for c in range(start[1] if r == start[0] else 0, num_chunks):
      states[r], metrics = chunk_fn(states[r], hp, device_data, base_key)
      metrics, steps, member_status = jax.device_get(
          (metrics, states[r].step, states[r].status))
      records = []
      for i, m in enumerate(members):
        where = dict(uid=m.uid, bucket=b, step=int(steps[i]))
        records += results.records(split='train', **where,
                                   metrics={'loss': metrics['train_loss'][i]})
        records += results.records(split='val', **where,
                                   metrics={k: v[i] for k, v in metrics['val'].items()})
      writer.write(records)
      writer.flush()  # Before the checkpoint that covers these records.
      events.add(records)
      events.flush()
      checkpoint.save(mngr, r * num_chunks + c + 1, states,
                      {'run': r, 'chunk': c, 'metrics_bytes': writer.tell()})
      n = len(members)
      bar.chunk(b, (c + 1) * spec.eval_every, metrics['val']['rmse'][:n],
                member_status[:n])
  writer.close()
  bar.close()
  mngr.close()

  finals = {r: (cfg, members, states[r]) for r, (_, cfg, members, _) in enumerate(runs)}
  summary = _summarise(plan, finals, data, bar, spec.train_steps)
  events.close(summary)
  results.write_json(os.path.join(workdir, results.SUMMARY), summary)
  log(report.ranking_table(summary))
  return summary


def _abstract_state(cfg, hp, base_key, mesh):
  shapes = jax.eval_shape(pop.population_init_fn(cfg, mesh), hp, base_key)
  shard = sharding.members_sharding(mesh)
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=shard),
                      shapes)


def _summarise(plan, finals, data, progress, train_steps) -> dict:
  val_x, val_y, test_x, test_y, mean, std = (jnp.asarray(a, jnp.float32) for a in (
      data.x['val'], data.y['val'], data.x['test'], data.y['test'], data.mean, data.std))
  records, best_params = [], {}
  for cfg, members, state in finals.values():
    val = jax.device_get(pop.population_eval_fn(cfg)(state.best_params, val_x, val_y,
                                                     mean, std))
    status, best_step, steps = jax.device_get((state.status, state.best_step, state.step))
    for i, m in enumerate(members):
      records.append({'uid': m.uid, 'bucket': m.bucket, 'config': m.config, 'seed': m.seed,
                      'hparams': m.hparams, 'status': pop.STATUS_NAMES[status[i]],
                      'best_step': int(best_step[i]), 'steps': int(steps[i]),
                      'val': {k: float(v[i]) for k, v in val.items()}})
      best_params[m.uid] = (cfg, jax.tree.map(lambda a, i=i: a[i], state.best_params))
  records.sort(key=lambda r: r['uid'])
  ranked = sorted((r for r in records if r['status'] != 'diverged'
                   and np.isfinite(r['val']['mse'])), key=lambda r: r['val']['mse'])
  best = None
  if ranked:
    best = dict(ranked[0])
    cfg, params = best_params[best['uid']]
    test = pop.evaluate(cfg, params, test_x, test_y, mean, std)
    best['test'] = {k: float(v) for k, v in jax.device_get(test).items()}
    next(r for r in records if r['uid'] == best['uid'])['test'] = best['test']
  return {'members': records, 'ranking': [r['uid'] for r in ranked], 'best': best,
          'baselines': data.baselines,
          'data': {'num_filled': data.num_filled, 'split_points': data.split_points,
                   'target_columns': data.target_columns,
                   'windows': {k: len(v) for k, v in data.x.items()}},
          'timing': progress.timing(),
          # Steps members really took: stopped and diverged members take no more.
          'member_steps': {'useful': sum(r['steps'] for r in records),
                           'budget': len(records) * train_steps}}
