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

from rnnjax import adaptive
from rnnjax import checkpoint
from rnnjax import distributed
from rnnjax import model
from rnnjax import population as pop
from rnnjax import probe
from rnnjax import report
from rnnjax import results
from rnnjax import search
from rnnjax import searcher as searcher_lib
from rnnjax import sharding
from rnnjax import summary as summary_lib
from rnnjax import tasks
from rnnjax import workdir as workdir_lib
from rnnjax.data import task_data
from rnnjax.errors import InputError

@dataclasses.dataclass(frozen=True)
class SweepSpec:
  """A sweep, one field per flag of `experiments/population_sweep.py`.

  Hyperparameter fields hold spec strings (see `rnnjax.search`); an empty momentum or
  beta2 takes the optimizer family's usual value.
  """
  task: str = 'forecast'
  dataset: str = ''             # '' : the task's default (task_data.DEFAULT_DATASET).
  val_size: int = 0
  test_size: int = 0
  # forecast
  csv_path: str = ''
  time_column: str = ''
  target_columns: tuple = ()
  input_columns: tuple = ()
  lookback: str = '24'          # A spec: grid(12,24) sweeps it (one bucket each).
  horizon: int = 1
  season: int = -1
  difference: bool = False
  # classify
  train_path: str = ''
  test_path: str = ''
  pooling: str = 'last'
  # charlm
  text_path: str = ''
  seq_len: int = 64
  sample_chars: int = 1000
  temperature: float = 0.8
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
  hidden_mode: str = 'auto'     # auto: masked or bucket, whichever _cost_s finds cheaper.
  forget_bias: str = '1'
  init_scale: str = '1'
  search: str = 'grid'
  num_members: int = 0
  num_seeds: int = 1
  train_steps: int = 500
  eval_every: int = 100
  patience: int = 0
  eta: int = 3
  min_steps: int = 0
  pbt_interval: int = 0
  pbt_fraction: float = 0.25
  seed: int = 0

  def to_json(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}


def make_plan(spec: SweepSpec) -> search.Plan:
  axes = {name: search.parse_axis(name, str(getattr(spec, name))) for name in search.AXES
          if not (name in search.FAMILY_DEFAULTS and not getattr(spec, name))
          and not (name == 'lookback' and spec.task != 'forecast')}
  if spec.dropout_per_layer:
    for layer, text in enumerate(spec.dropout_per_layer.split(';'), 1):
      name = f'dropout_{layer}'
      axes[name] = search.parse_axis(name, text, like='dropout')
  make = lambda mode: search.make_plan(axes, search=spec.search,
                                      num_members=spec.num_members,
                                      num_seeds=spec.num_seeds, seed=spec.seed,
                                      hidden_mode=mode)
  if spec.hidden_mode == 'auto':
    masked, bucketed = make('masked'), make('bucket')
    plan = masked if _cost_s(masked, spec) <= _cost_s(bucketed, spec) else bucketed
  else:
    plan = make(spec.hidden_mode)
  if spec.dropout_per_layer:
    layers = spec.dropout_per_layer.count(';') + 1
    for structure in plan.buckets:
      if structure['num_layers'] != layers:
        raise InputError(f'--dropout_per_layer: {layers} spec(s) for a '
                         f'{structure["num_layers"]}-layer network')
  return plan


# What `--hidden_mode=auto` weighs, measured on the 2-core VM: a bucket's compile, and
# the rate of a population's training arithmetic (workload W: 102 MFLOP per
# member-step in 1.17 ms).
COMPILE_S = 8.0
TRAIN_FLOPS_PER_S = 87e9


def _cost_s(plan: search.Plan, spec: SweepSpec) -> float:
  """Estimated seconds of a plan: a compile per bucket, plus its members' recurrent
  arithmetic at their bucket's (padded) width: 6 x batch x steps x time steps x G H (I+H)
  per layer (forward and backward)."""
  total = 0.0
  for b, structure in enumerate(plan.buckets):
    cfg = model.ModelConfig(cell=structure['cell'], input_size=1,
                            hidden_size=structure['hidden_size'],
                            num_layers=structure['num_layers'], output_size=1)
    per_step = 6 * structure['batch_size'] * model.recurrent_cost(
        cfg, structure['hidden_size']) * int(structure.get('lookback', spec.seq_len))
    total += COMPILE_S + len(plan.bucket_members(b)) * spec.train_steps * (
        per_step / TRAIN_FLOPS_PER_S)
  return total


def _check_budget(spec: SweepSpec):
  for flag in ('train_steps', 'eval_every', 'horizon'):
    if getattr(spec, flag) < 1:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 1')
  if spec.train_steps % spec.eval_every:
    raise InputError(f'--train_steps: {spec.train_steps} is not a multiple of '
                     f'--eval_every={spec.eval_every}')
  if spec.task not in tasks.TASKS:
    raise InputError(f'--task: unknown task {spec.task!r}; expected one of '
                     f'{", ".join(tasks.TASKS)}')
  if spec.temperature <= 0:
    raise InputError(f'--temperature: {spec.temperature} must be > 0')
  if spec.search == 'halving':
    adaptive.rungs(train_steps=spec.train_steps, min_steps=spec.min_steps or spec.eval_every,
                   eta=spec.eta, eval_every=spec.eval_every)
  if spec.search == 'pbt':
    interval = spec.pbt_interval or spec.eval_every
    if interval % spec.eval_every or interval >= spec.train_steps:
      raise InputError(f'--pbt_interval: {interval} must be a multiple of --eval_every='
                       f'{spec.eval_every} and less than --train_steps={spec.train_steps}')
    if not 0 < spec.pbt_fraction <= 0.5:
      raise InputError(f'--pbt_fraction: {spec.pbt_fraction} must be in (0, 0.5]')


def load_data(spec: SweepSpec, lookback: int | None = None) -> task_data.TaskData:
  """The task's data; forecasting's windows for `lookback` (one value of the axis)."""
  return task_data.load(
      task=spec.task, dataset=spec.dataset, seed=spec.seed, val_size=spec.val_size,
      test_size=spec.test_size, csv_path=spec.csv_path, time_column=spec.time_column,
      target_columns=spec.target_columns, input_columns=spec.input_columns,
      lookback=lookback or 1, horizon=spec.horizon, season=spec.season,
      difference=spec.difference,
      train_path=spec.train_path, test_path=spec.test_path, pooling=spec.pooling,
      text_path=spec.text_path, seq_len=spec.seq_len)


def _hparams(members, size, num_layers) -> pop.HParams:
  """Members' values (host arrays), padded to `size` with dead copies of the first
  (uids -1, -2...)."""
  padded = list(members) + [members[0]] * (size - len(members))
  uids = [m.uid for m in members] + [-1 - i for i in range(size - len(members))]
  column = lambda name: np.asarray([m.hparams[name] for m in padded], np.float32)
  rates = [[m.hparams.get(f'dropout_{l}', m.hparams['dropout'])
            for l in range(1, num_layers + 1)] for m in padded]
  return pop.HParams(
      uid=np.asarray(uids, np.int32),
      hidden_units=np.asarray([m.hparams['hidden_size'] for m in padded], np.int32),
      dropout_rates=np.asarray(rates, np.float32),
      **{name: column(name) for name in search.SCALAR if name != 'dropout'})


def _train_config(structure, data: task_data.TaskData, spec: SweepSpec):
  cfg = model.ModelConfig(cell=structure['cell'], input_size=data.input_size,
                          hidden_size=structure['hidden_size'],
                          num_layers=structure['num_layers'],
                          output_size=data.output_size, readout=data.readout,
                          variational=spec.variational_dropout)
  return pop.TrainConfig(model=cfg, optimizer=structure['optimizer'],
                         batch_size=structure['batch_size'],
                         steps_per_chunk=spec.eval_every, num_targets=data.num_targets,
                         patience=spec.patience, task=spec.task, seq_len=spec.seq_len,
                         difference=spec.difference and spec.task == 'forecast')


def _device_data(data: task_data.TaskData, split_names, mesh):
  """Split arrays replicated on every device: floats as float32, integers as int32."""
  as_host = lambda a: np.asarray(a, np.int32 if np.issubdtype(np.asarray(a).dtype,
                                                              np.integer) else np.float32)
  return distributed.put({split: {k: as_host(v) for k, v in data.arrays[split].items()}
                          for split in split_names}, sharding.replicated(mesh))


@dataclasses.dataclass
class Run:
  """A bucket's wave of members, trained as one population (padded with dead members,
  uids < 0, to a multiple of the device count)."""
  bucket: int
  cfg: pop.TrainConfig
  uids: list            # Row order of the population arrays.
  hp: pop.HParams = None
  state: pop.TrainState = None
  data_key: int | None = None  # Which data it trains on (forecasting: its lookback).


def _runs(plan, spec: SweepSpec, datas: dict, mesh, max_memory_gb: float):
  """Each bucket's members in waves of equal size that fit the memory budget, so one
  compiled program serves every wave of a bucket. Returns ([Run], the plan as JSON with
  each bucket's parameters, padding and waves)."""
  budget = (max_memory_gb or probe.default_memory_gb()) * 2**30
  plan_json = plan.to_json()
  runs = []
  for b, structure in enumerate(plan.buckets):
    members = plan.bucket_members(b)
    data = datas[structure.get('lookback')]
    cfg = _train_config(structure, data, spec)
    per_member = probe.estimate_bytes(cfg, data.seq_len)
    waves = probe.waves(len(members), per_member, budget, mesh.size)
    for start in range(0, len(members), waves['wave_size']):
      wave = members[start:start + waves['wave_size']]
      hp = distributed.put(_hparams(wave, waves['wave_size'], structure['num_layers']),
                           sharding.members_sharding(mesh))
      runs.append(Run(b, cfg, [m.uid for m in wave] +
                      [-1 - i for i in range(waves['wave_size'] - len(wave))], hp,
                      data_key=structure.get('lookback')))
    plan_json['buckets'][b].update(probe.describe(cfg, members), **waves,
                                   estimated_bytes_per_member=per_member)
  return runs, plan_json


def _order(num_runs, num_chunks, chunk_major):
  """The sweep's chunks in the order they run: (run, chunk). Adaptive searches advance
  every run one chunk at a time, so that they can compare members across runs."""
  if chunk_major:
    return [(r, c) for c in range(num_chunks) for r in range(num_runs)]
  return [(r, c) for r in range(num_runs) for c in range(num_chunks)]


def _check_data(plan, datas):
  for structure in plan.buckets:
    data = datas[structure.get('lookback')]
    if structure['batch_size'] > data.num_train:
      raise InputError(f'--batch_size: {structure["batch_size"]} is larger than the '
                       f'training set ({data.num_train} examples)')


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, keep_checkpoints: int = 3, log=print,
              progress_bar: bool = False, dry_run: bool = False,
              max_memory_gb: float = 0.0, figures: bool = False) -> dict:
  """Runs (or resumes) the sweep; returns its summary, also in WORKDIR/summary.json.

  Re-running on a work directory that holds this sweep unfinished resumes from its last
  good checkpoint; finished, it reports the stored summary. `group_size`: members per
  vmap group on a device (0: see `sharding.group_size`); it changes speed only, so it is
  not part of the spec, nor is `max_memory_gb`, the memory a wave of a bucket's members
  may take (0: half the machine's). `dry_run`: compile every bucket's program (with a
  one-step chunk) and time a step, print the plan, and return it without training or
  writing anything. `figures`: write WORKDIR/figures (rnnjax.figures) at the end.

  Several processes (see distributed.py) run this same call: every one trains its
  devices' members; process 0 alone writes files, and logs.
  """
  main = distributed.is_main()
  if not main:
    log = lambda _: None
  _check_budget(spec)
  plan = make_plan(spec)
  # One data set per lookback (forecasting's structural data axis), else one.
  datas = {lookback: load_data(spec, lookback)
           for lookback in sorted({s.get('lookback') for s in plan.buckets}, key=str)}
  data = next(iter(datas.values()))  # Shared facts: sizes, baselines, names.
  _check_data(plan, datas)
  mesh = sharding.population_mesh()
  base_key = distributed.put(jax.random.key(spec.seed), sharding.replicated(mesh))
  device_data = {k: _device_data(d, ('train', 'val'), mesh) for k, d in datas.items()}
  num_chunks = spec.train_steps // spec.eval_every
  runs, plan_json = _runs(plan, spec, datas, mesh, max_memory_gb)
  if dry_run:
    if jax.process_count() > 1:
      raise InputError('--dry_run: run it in one process (without --distributed)')
    first_waves = {run.bucket: (run.cfg, run.uids, run.hp, device_data[run.data_key])
                   for run in reversed(runs)}
    probed = probe.probe_all([first_waves[b] for b in range(len(plan.buckets))],
                             base_key, mesh, group_size)
    for b, figures in enumerate(probed):
      plan_json['buckets'][b].update(figures)
      plan_json['buckets'][b]['chunk_s'] *= plan_json['buckets'][b]['num_waves']
    log(report.plan_table(plan_json, num_chunks))
    return plan_json
  distributed.check_shared_dir(workdir)
  # tensorboardX imports torch when it is installed (1.5 s): not for a dry run.
  from rnnjax import tensorboard  # pylint: disable=g-import-not-at-top
  status = workdir_lib.state_of(workdir, spec.to_json(), overwrite=overwrite)
  distributed.sync('rnnjax-state-of')  # Before process 0 writes anything.
  if status == workdir_lib.FINISHED:
    summary = results.read_json(os.path.join(workdir, results.SUMMARY))
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    log(report.ranking_table(summary))
    return summary

  if main:
    os.makedirs(workdir, exist_ok=True)
  metrics_path = os.path.join(workdir, results.METRICS)
  mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
  restored = None
  if status == workdir_lib.RESUME:
    restored = checkpoint.restore_latest(
        mngr, lambda progress: _abstract(runs, progress, base_key, mesh), log=log)
  searcher = searcher_lib.Searcher(spec, plan, {k: d['val'] for k, d in device_data.items()},
                                   mesh, group_size)
  if restored is None:
    mngr.close()
    if main:
      workdir_lib.clear(workdir)
      results.write_json(os.path.join(workdir, results.SWEEP),
                         {'spec': spec.to_json(), 'versions': workdir_lib.versions(),
                          'devices': [str(d) for d in jax.devices()],
                          'processes': jax.process_count()})
      results.write_json(os.path.join(workdir, results.PLAN), plan_json)
      open(metrics_path, 'w').close()
    distributed.sync('rnnjax-cleared')
    mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
    start = 0
  else:
    trees, progress = restored
    for r, run in enumerate(runs):
      run.uids = progress['uids'][r]
      run.state, run.hp = trees.get(str(r), (None, run.hp))
    searcher.restore(progress['searcher'])
    if main:
      workdir_lib.truncate(metrics_path, progress['metrics_bytes'])
    start = progress['position'] + 1
    log(f'resuming {workdir}: {start} of {len(runs) * num_chunks} chunks were done')
  for note in data.notes:
    log(note)
  log(f'{len(plan.members)} members in {len(plan.buckets)} bucket(s), {len(runs)} wave(s) on '
      f'{mesh.size} device(s); swept: {", ".join(plan.swept) or "nothing"}; '
      f'search: {spec.search}; work directory: {workdir}')

  writer = results.MetricsWriter(metrics_path if main else None)
  if restored is not None and main:
    tensorboard.rebuild(workdir)  # Exactly the events the checkpoint covers.
  events = tensorboard.SweepWriter(os.path.join(workdir, tensorboard.DIRNAME),
                                   [{'uid': m.uid, 'hparams': m.hparams}
                                    for m in plan.members]) if main else None
  order = _order(len(runs), num_chunks, chunk_major=spec.search in search.ADAPTIVE)
  bar = report.Progress(len(order), log=log, bar=progress_bar, done=start)
  task = tasks.TASKS[spec.task]
  rename = lambda metrics: {data.metric_names.get(k, k): v for k, v in metrics.items()}
  for position in range(start, len(order)):
    r, c = order[position]
    run = runs[r]
    if run.uids and max(run.uids) >= 0:
      if run.state is None:
        run.state = pop.population_init_fn(run.cfg, mesh)(run.hp, base_key)
      run.state, metrics = pop.population_chunk_fn(run.cfg, mesh, group_size)(
          run.state, run.hp, device_data[run.data_key], base_key)
      metrics, steps, member_status = distributed.fetch(
          (metrics, run.state.step, run.state.status))
      records = []
      for i, uid in enumerate(run.uids):
        if uid < 0:
          continue
        where = dict(uid=uid, bucket=run.bucket, step=int(steps[i]))
        records += results.records(split='train', **where,
                                   metrics={'loss': metrics['train_loss'][i]})
        records += results.records(split='val', **where, metrics=rename(
            {k: v[i] for k, v in metrics['val'].items()}))
      searcher.observe(r, run, metrics['val'][task.selection], member_status)
      real = np.asarray(run.uids) >= 0
      bar.chunk(run.bucket, (c + 1) * spec.eval_every, metrics['val'][task.display][real],
                member_status[real], metric=task.display, mode=task.display_mode)
    else:
      records = []
    if r == len(runs) - 1 or spec.search not in search.ADAPTIVE:
      records += searcher.decide(runs, (c + 1) * spec.eval_every, base_key)
    writer.write(records)
    writer.flush()  # Before the checkpoint that covers these records.
    if events is not None:
      events.add([rec for rec in records if rec['split'] in ('train', 'val')])
      events.flush()
    checkpoint.save(mngr, position + 1,
                    {str(r): (run.state, run.hp) for r, run in enumerate(runs)
                     if run.state is not None},
                    {'position': position, 'metrics_bytes': writer.tell(),
                     'uids': [run.uids for run in runs], 'searcher': searcher.progress(),
                     'started': [str(r) for r, run in enumerate(runs)
                                 if run.state is not None]})
  writer.close()
  bar.close()
  mngr.close()

  summary = summary_lib.summarise(
      spec, plan, runs, searcher.retired, data,
      {k: _device_data(d, ('val', 'test'), mesh) for k, d in datas.items()},
      mesh=mesh, group_size=group_size, rename=rename)
  summary.update(timing=bar.timing(), member_steps=searcher.member_steps(
      summary['members'], len(plan.members) * spec.train_steps))
  if spec.task == 'charlm' and summary['best'] and spec.sample_chars:
    summary['sample'] = summary_lib.write_sample(spec, runs, summary['best'], data,
                                                 workdir if main else None, mesh)
  if main:
    events.close(summary)
    results.write_json(os.path.join(workdir, results.SUMMARY), summary)
    log(report.ranking_table(summary))
    if figures:
      from rnnjax import figures as figures_lib  # pylint: disable=g-import-not-at-top
      figures_lib.make_all(workdir, log=log)  # matplotlib loads slowly: only when asked.
  distributed.sync('rnnjax-end')
  return summary


def _abstract(runs, progress, base_key, mesh):
  """The checkpoint's tree: (state, hp) of each started run, at its size then."""
  shard = sharding.members_sharding(mesh)
  if len(progress['uids']) != len(runs):
    raise InputError(f'--max_memory_gb: this sweep\'s checkpoint ran in '
                     f'{len(progress["uids"])} waves, this run plans {len(runs)}; resume it '
                     'with the --max_memory_gb it ran with')
  tree = {}
  for r, run in enumerate(runs):
    if str(r) not in progress['started']:
      continue
    size = len(progress['uids'][r])
    if size % mesh.size:
      raise InputError(f'--cpu_devices: this sweep\'s checkpoint holds populations of '
                       f'{size} rows, which {mesh.size} devices cannot share equally; '
                       'resume it on a number of devices that divides it (1 always does)')
    hp = jax.tree.map(lambda a: jax.ShapeDtypeStruct((size,) + a.shape[1:], a.dtype,
                                                     sharding=shard), run.hp)
    state = jax.eval_shape(pop.population_init_fn(run.cfg, mesh), hp, base_key)
    state = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=shard),
                         state)
    tree[str(r)] = (state, hp)
  return tree
