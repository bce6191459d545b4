"""A whole sweep: spec -> plan -> data -> train every bucket -> results on disk.

`run_sweep(spec, workdir)` is the library entry point behind
`experiments/population_sweep.py`; tests call it directly with a tiny spec. Every input
is checked (spec, data, work directory) before anything is written.
"""

import dataclasses
import os
import platform
import shutil
import subprocess
import time

import jax
import jax.numpy as jnp
import numpy as np

import rnnjax
from rnnjax import model
from rnnjax import population as pop
from rnnjax import report
from rnnjax import results
from rnnjax import search
from rnnjax import sharding
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
  forget_bias: str = '1'
  init_scale: str = '1'
  search: str = 'grid'
  num_members: int = 0
  num_seeds: int = 1
  train_steps: int = 500
  eval_every: int = 100
  seed: int = 0

  def to_json(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}


def make_plan(spec: SweepSpec) -> search.Plan:
  axes = {name: search.parse_axis(name, getattr(spec, name)) for name in search.AXES
          if not (name in search.FAMILY_DEFAULTS and not getattr(spec, name))}
  return search.make_plan(axes, search=spec.search, num_members=spec.num_members,
                          num_seeds=spec.num_seeds, seed=spec.seed)


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


def _versions():
  try:
    git = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                         cwd=os.path.dirname(__file__), timeout=5).stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    git = None
  import flax, optax  # pylint: disable=g-import-not-at-top,multiple-imports
  return {'rnnjax': rnnjax.__version__, 'jax': jax.__version__, 'flax': flax.__version__,
          'optax': optax.__version__, 'numpy': np.__version__,
          'python': platform.python_version(), 'git': git}


def prepare_workdir(workdir: str, spec: SweepSpec, *, overwrite: bool) -> bool:
  """Checks the work directory. Returns True when it already holds this finished sweep."""
  if not os.path.exists(workdir):
    return False
  if not os.path.isdir(workdir):
    raise InputError(f'--workdir: {workdir} is a file, not a directory')
  sweep_path = os.path.join(workdir, results.SWEEP)
  if not os.path.exists(sweep_path):
    if os.listdir(workdir):
      raise InputError(f'--workdir: {workdir} is not empty and holds no rnnjax sweep')
    return False
  if overwrite:
    for entry in results.OWN_ENTRIES:
      path = os.path.join(workdir, entry)
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.unlink(path)
    return False
  old = results.read_json(sweep_path)['spec']
  new = spec.to_json()
  differ = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
  if differ:
    k = differ[0]
    raise InputError(f'--workdir: {workdir} holds a different sweep ({k}: '
                     f'{old.get(k)!r} there, {new.get(k)!r} now); use another '
                     '--workdir or --overwrite')
  return os.path.exists(os.path.join(workdir, results.SUMMARY))


def _hparams(members, size) -> pop.HParams:
  """Members' values, padded to `size` with dead copies of the first (uids -1, -2...)."""
  padded = list(members) + [members[0]] * (size - len(members))
  uids = [m.uid for m in members] + [-1 - i for i in range(size - len(members))]
  column = lambda name: jnp.asarray([m.hparams[name] for m in padded], jnp.float32)
  return pop.HParams(uid=jnp.asarray(uids, jnp.int32),
                     **{name: column(name) for name in search.SCALAR})


def _train_config(structure, data: forecast.ForecastData, steps_per_chunk):
  x, y = data.x['train'], data.y['train']
  cfg = model.ModelConfig(cell=structure['cell'], input_size=x.shape[-1],
                          hidden_size=structure['hidden_size'],
                          num_layers=structure['num_layers'],
                          output_size=y.shape[1] * y.shape[2])
  return pop.TrainConfig(model=cfg, optimizer=structure['optimizer'],
                         batch_size=structure['batch_size'],
                         steps_per_chunk=steps_per_chunk, num_targets=y.shape[2])


def _device_data(data: forecast.ForecastData):
  arrays = {f'{split}_{k}': getattr(data, k)[split] for split in ('train', 'val')
            for k in ('x', 'y')}
  arrays.update(mean=data.mean, std=data.std)
  return {k: jnp.asarray(v, jnp.float32) for k, v in arrays.items()}


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, log=print) -> dict:
  """Runs the sweep and returns its summary (also written to WORKDIR/summary.json).

  `group_size`: members per vmap group on a device (0: see `sharding.group_size`). It
  changes speed only, so it is not part of the spec.
  """
  _check_budget(spec)
  plan = make_plan(spec)
  data = load_data(spec)
  num_train = len(data.x['train'])
  for structure in plan.buckets:
    if structure['batch_size'] > num_train:
      raise InputError(f'--batch_size: {structure["batch_size"]} is larger than the '
                       f'training set ({num_train} windows)')
  if prepare_workdir(workdir, spec, overwrite=overwrite):
    summary = results.read_json(os.path.join(workdir, results.SUMMARY))
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    log(report.ranking_table(summary))
    return summary

  os.makedirs(workdir, exist_ok=True)
  results.write_json(os.path.join(workdir, results.SWEEP),
                     {'spec': spec.to_json(), 'versions': _versions(),
                      'devices': [str(d) for d in jax.devices()]})
  results.write_json(os.path.join(workdir, results.PLAN), plan.to_json())
  metrics_path = os.path.join(workdir, results.METRICS)
  if os.path.exists(metrics_path):
    os.unlink(metrics_path)  # An unfinished earlier run of this sweep: start clean.
  if data.num_filled:
    log(f'filled {data.num_filled} missing values by linear interpolation')
  log(f'{len(plan.members)} members in {len(plan.buckets)} bucket(s); '
      f'swept: {", ".join(plan.swept) or "nothing"}; work directory: {workdir}')

  base_key = jax.random.key(spec.seed)
  mesh = sharding.population_mesh()
  device_data = _device_data(data)
  writer = results.MetricsWriter(metrics_path)
  progress = report.Progress(len(plan.buckets) * (spec.train_steps // spec.eval_every),
                             log=log)
  finals = {}
  for b, structure in enumerate(plan.buckets):
    members = plan.bucket_members(b)
    cfg = _train_config(structure, data, spec.eval_every)
    hp = _hparams(members, sharding.padded_size(len(members), mesh))
    state = pop.population_init_fn(cfg, mesh)(hp, base_key)
    chunk_fn = pop.population_chunk_fn(cfg, mesh, group_size)
    for _ in range(spec.train_steps // spec.eval_every):
      state, metrics = chunk_fn(state, hp, device_data, base_key)
      metrics, steps, status = jax.device_get((metrics, state.step, state.status))
      for i, m in enumerate(members):
        writer.write(uid=m.uid, bucket=b, step=int(steps[i]), split='train',
                     metrics={'loss': metrics['train_loss'][i]})
        writer.write(uid=m.uid, bucket=b, step=int(steps[i]), split='val',
                     metrics={k: v[i] for k, v in metrics['val'].items()})
      writer.flush()
      progress.chunk(b, int(steps.max()), metrics['val']['rmse'], status)
    finals[b] = (cfg, members, state)
  writer.close()

  summary = _summarise(plan, finals, data, progress)
  results.write_json(os.path.join(workdir, results.SUMMARY), summary)
  log(report.ranking_table(summary))
  return summary


def _summarise(plan, finals, data, progress) -> dict:
  val_x, val_y, test_x, test_y, mean, std = (jnp.asarray(a, jnp.float32) for a in (
      data.x['val'], data.y['val'], data.x['test'], data.y['test'], data.mean, data.std))
  records, best_params = [], {}
  for b, (cfg, members, state) in finals.items():
    val = jax.device_get(pop.population_eval_fn(cfg)(state.best_params, val_x, val_y,
                                                     mean, std))
    status, best_step = jax.device_get((state.status, state.best_step))
    for i, m in enumerate(members):
      records.append({'uid': m.uid, 'bucket': b, 'config': m.config, 'seed': m.seed,
                      'hparams': m.hparams, 'status': pop.STATUS_NAMES[status[i]],
                      'best_step': int(best_step[i]),
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
          'timing': progress.timing()}
