"""A checked, planned sweep ready to train (`Prepared`); dry_run.py describes one.

`prepare(spec)` checks the spec, plans its first round and loads the data the plan's
buckets need, before a work directory is touched. A search that asks more rounds grows
the sweep with `with_rounds` (each round's plan after the earlier rounds'); a resumed
sweep is rebuilt the same way from the rounds its checkpoint holds.
"""

import dataclasses
import os

import jax
import numpy as np

from rnnjax.data import task_data
from rnnjax.engine import distributed
from rnnjax.engine import sharding
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.search import plan as search_plan
from rnnjax.search import planner
from rnnjax.search import probe
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import strategy as searcher_lib


@dataclasses.dataclass(frozen=True)
class Prepared:
  """A checked sweep, ready to train: its plan, data (host and device), and first runs."""
  spec: spec_lib.SweepSpec
  plan: search_plan.Plan
  plan_json: dict
  datas: dict          # data key (lookback or None, fold) -> TaskData
  device_data: dict    # data key -> {'train', 'val'} arrays on every device
  runs: tuple          # plan.Run, before training
  mesh: object
  base_key: object
  selection_note: str = ''  # Why the spec's selection is not the one the user gave.
  # The wave size of each bucket a resumed sweep began with, kept, and the memory budget
  # (GB) it began with, which plans the rounds it asks after (waves.make_runs).
  wave_sizes: tuple = ()
  began_gb: float = 0.0

  @property
  def num_chunks(self) -> int:
    return self.spec.train_steps // self.spec.eval_every

  @property
  def notes(self) -> list:
    """Every data key's notes, each once (those the folds share, and a fold's own, such
    as a class its validation part lacks, named by its fold), random search's repeated
    draws, a panel's --deseasonalize where no series can be seasonal, and CPU devices
    more than the cores."""
    notes = list(dict.fromkeys(_fold_notes(self.datas, self.spec.folds)))
    config_of = self.plan.config_of
    if self.spec.search == 'random' and config_of is not None:
      notes.append(f'note: random search drew {len(config_of)} configurations, '
                   f'{len(set(config_of.tolist()))} of them distinct: a draw of values '
                   'drawn before trains as more seeds of that configuration (with '
                   'its own random streams), and every table groups them')
    cores, local = sharding.usable_cpus(), jax.local_device_count()
    if self.mesh.devices.flat[0].platform == 'cpu' and local > cores:
      # --cpu_devices=0 reads XLA_FLAGS' count where it has one: then it is the fix.
      fix = ('XLA_FLAGS sets them (--xla_force_host_platform_device_count): without it, '
             '--cpu_devices=0 makes one a core'
             if 'xla_force_host_platform_device_count' in os.environ.get('XLA_FLAGS', '')
             else '--cpu_devices=0: one a core')
      notes.append(f'note: {local} CPU devices on {cores} cores share them, a thread each '
                   f'({fix})')
    season = self.data.info.get('season', 0) if self.spec.task == 'panel' else None
    if season is not None and season <= 1 and 1 in self.spec.axes()['deseasonalize'].values:
      notes.append(f'note: --deseasonalize={self.spec.deseasonalize} does nothing at season '
                   f'{season}: no series is seasonal, so its values train alike, and what '
                   'tells them apart is their random streams (--season sets a season)')
    return notes + [self.selection_note] * bool(self.selection_note)

  @property
  def data(self) -> task_data.TaskData:
    """The usual split (the last fold) of the first lookback: the facts every data key
    shares (names, baselines, notes)."""
    return next(d for (_, fold), d in self.datas.items() if fold == self.spec.folds - 1)


def _fold_notes(datas: dict, folds: int):
  """Each data key's notes: those every fold shares as they are; a fold's own begin
  'fold k of K: ' (unless they name their fold already), the last fold's (the usual
  split) too, but for its test part's, the sweep's test; an earlier fold's own about its
  test part are left out: only the last fold's is scored."""
  by_fold = {}
  for (_, fold), data in datas.items():
    by_fold.setdefault(fold, set()).update(data.notes)
  shared = set.intersection(*by_fold.values())
  for (_, fold), data in datas.items():
    for note in data.notes:
      named = f'fold {fold + 1} of {folds}'
      test = note.startswith('test:')
      if note in shared or named in note or (test and fold == folds - 1):
        yield note
      elif not test:
        yield f'{named}: {note}'


def prepare(spec: spec_lib.SweepSpec, max_memory_gb: float = 0.0,
            group_size: int = 0, log=lambda _: None) -> Prepared:
  """Checks the spec, plans its first round, loads its data; raises InputError on bad
  input, and on data larger than `max_memory_gb` (`check_data_size`). `max_memory_gb`,
  `group_size`: see `run_sweep`; `log` gets the data's size where it is large."""
  rules.check(spec)
  plan = spec_lib.make_plan(spec, configs=searcher_lib.first_round(spec))
  mesh = sharding.population_mesh()
  devices = jax.local_device_count()  # Those whose copies of the data this host holds.
  datas = _load_datas(spec, plan, {}, check=lambda datas: check_data_size(
      datas, spec, devices, max_memory_gb))
  total, line = data_size(datas, spec, devices)
  if total >= LARGE_DATA_BYTES:
    log(line)
  spec, note = defined_selection(spec, datas)
  plan_lib.check_batch_sizes(plan, datas)
  plan_lib.check_log_inputs(plan, datas)
  runs, plan_json = plan_lib.make_runs(plan, spec, datas, mesh, max_memory_gb, group_size)
  return Prepared(spec, plan, plan_json, datas,
                  {k: device_data(d, ('train', 'val'), mesh) for k, d in datas.items()},
                  tuple(runs), mesh,
                  distributed.put(jax.random.key(spec.seed), sharding.replicated(mesh)),
                  selection_note=note)


def defined_selection(spec: spec_lib.SweepSpec, datas: dict) -> tuple:
  """(spec, note): a panel's validation OWA is sMAPE and MASE over Naive2's, undefined
  (NaN or inf for every member) where Naive2 forecasts every series' validation part
  exactly (a panel of constant series): no member would rank and the sweep would end
  without a final model. Its default selection then becomes sMAPE, said in the note; an
  OWA named by --selection is refused in one line."""
  if spec.task != 'panel' or tasks.selection_of(spec.task, False, spec.selection) != 'owa':
    return spec, ''
  if not any(np.any(np.asarray(d.arrays['val'].get('naive2', 1.0)) == 0)
             for d in datas.values()):  # (NaN: no series validated, a matter of its own.)
    return spec, ''
  why = ('validation OWA is undefined: Naive2 forecasts every series\' validation part '
         'exactly (its sMAPE and MASE are 0, as for constant series)')
  if spec.selection:
    raise InputError(f'--selection=owa: {why}; give --selection=smape, mase or rmsse')
  return dataclasses.replace(spec, selection='smape'), (
      f'note: {why}, so members are ranked, their best steps kept and the final model '
      'chosen by validation sMAPE instead (as --selection=smape)')


def with_rounds(sweep: Prepared, rounds, max_memory_gb: float,
                group_size: int = 0, log=lambda _: None) -> Prepared:
  """The sweep of the rounds of configurations asked so far (`SearchState.rounds`):
  each round's plan after the earlier rounds' (its buckets its own), runs in the same
  order; data already loaded is kept, data a round adds (a lookback the first lacked)
  is checked and said as `prepare` checks and says the first's. No rounds asked (a
  search of the spec's members): `sweep`'s plan, in the waves of its `wave_sizes`
  (`sweep` as it is where it keeps none)."""
  if not rounds and not sweep.wave_sizes:
    return sweep
  spec = sweep.spec
  plans = [spec_lib.make_plan(spec, configs=configs) for configs in rounds] or [sweep.plan]
  plan = plans[0]
  for later in plans[1:]:
    plan = planner.concat(plan, later)
  devices = jax.local_device_count()
  datas = _load_datas(spec, plan, sweep.datas, check=lambda datas: check_data_size(
      datas, spec, devices, max_memory_gb))
  total, line = data_size(datas, spec, devices)
  if len(datas) > len(sweep.datas) and total >= LARGE_DATA_BYTES:
    log(line)
  plan_lib.check_batch_sizes(plan, datas)
  plan_lib.check_log_inputs(plan, datas)
  runs, plan_json = plan_lib.make_runs(plan, spec, datas, sweep.mesh, max_memory_gb,
                                       group_size, sweep.wave_sizes, sweep.began_gb)
  on_devices = {k: sweep.device_data.get(k) or device_data(d, ('train', 'val'), sweep.mesh)
                for k, d in datas.items()}
  return dataclasses.replace(sweep, plan=plan, plan_json=plan_json, datas=datas,
                             device_data=on_devices, runs=tuple(runs))


def _load_datas(spec: spec_lib.SweepSpec, plan, datas: dict, check=None) -> dict:
  """`datas` and the data sets the plan's buckets need that it lacks: one per lookback
  (forecasting's structural data axis) and fold; `check(datas)` after each lookback's,
  so that data too large is refused before the next is built."""
  datas = dict(datas)
  for lookback in sorted({s.get('lookback') for s in plan.buckets}, key=str):
    if (lookback, 0) not in datas:
      folds = [spec_lib.load_data(spec, lookback, f) for f in range(spec.folds)]
      datas.update({(lookback, f): d for f, d in enumerate(task_data.same_shapes(folds))})
      if check:
        check(datas)
  return datas


# Data larger than this is said when loaded (its size in memory and on each device).
LARGE_DATA_BYTES = 2**28


def data_size(datas: dict, spec: spec_lib.SweepSpec, num_devices: int) -> tuple:
  """(bytes, line): what the data take in memory: their host arrays (every split, every
  lookback and fold), and on each of `num_devices` devices the training and validation
  arrays (`device_data`) and, for a refit, its training arrays beside them once (refit
  trains one configuration on the last fold: the largest lookback's counted), as float32
  or int32 (sharding.device_dtypes: a mask of empty targets too). A CPU's devices are
  this memory too, so their copies count there; an accelerator's do not. The line says
  so, and over how many folds its windows are summed."""
  on_device = lambda arrays: sum(np.asarray(a).size * 4 for a in arrays.values())
  host, device, refit, windows, lookbacks = 0, 0, 0, 0, set()
  last_fold = max(fold for _, fold in datas)
  for (lookback, fold), data in datas.items():
    arrays = data.arrays
    mine = sum(np.asarray(a).nbytes for split in arrays.values() for a in split.values())
    each = on_device(arrays['train']) + on_device(arrays.get('val', {}))
    if spec.refit and fold == last_fold:
      refit = max(refit, on_device(arrays['refit']) if 'refit' in arrays else each)
    host, device, windows = host + mine, device + each, windows + data.num_train
    lookbacks.add(lookback)
  device += refit
  kind = {'panel': 'panel windows', 'forecast': 'windows'}.get(spec.task, 'examples')
  lookbacks = sorted(k for k in lookbacks if k is not None)
  if lookbacks:
    plural = 's' if len(lookbacks) > 1 else ''
    kind += f' (lookback{plural} {", ".join(map(str, lookbacks))})'
  folds = f' over {last_fold + 1} folds' if last_fold else ''
  line = (f'{kind}: {windows / 1e6:.2f} M for training{folds}; {_gb(host)} in memory and '
          f'{_gb(device)} on each of {num_devices} device(s)'
          f'{" (training, validation and the refit)" if spec.refit else ""}')
  cpu = jax.default_backend() == 'cpu'
  return host + (num_devices * device if cpu else 0), line


def _gb(n: int) -> str:
  """Bytes in GB; under 0.1 GB to two digits (a --max_memory_gb of 1e-3 is not 0.0 GB)."""
  gb = n / 2**30
  return f'{gb:.1f} GB' if gb >= 0.1 else f'{gb:.2g} GB'


def check_data_size(datas: dict, spec: spec_lib.SweepSpec, num_devices: int,
                    max_memory_gb: float) -> None:
  """Raises InputError where the data alone (`data_size`) take more than
  --max_memory_gb, or without it (0) more than the machine's memory (half of which is
  the members' default budget)."""
  total, line = data_size(datas, spec, num_devices)
  budget = (max_memory_gb or 2 * probe.default_memory_gb()) * 2**30
  if total > budget:
    limit = '--max_memory_gb' if max_memory_gb else 'this machine\'s memory'
    source = spec.csv_path or spec.dataset or task_data.DEFAULT_DATASET[spec.task]
    lookbacks = [int(k) for k, _ in datas if k is not None]
    named = f'--csv_path {source}' if spec.csv_path else f'--dataset {source}'
    if spec.task in ('panel', 'forecast') and max(lookbacks, default=1) > 1:
      flag, fix = '--lookback', f'a shorter --lookback, fewer or shorter series in {source}'
    elif spec.task in ('panel', 'forecast'):  # One step back: the series' number and length.
      flag, fix = named, f'fewer or shorter series in {source}'
    else:  # A classifier's or a text's own file, or a bundled set.
      own = spec.train_path or spec.text_path
      flag, fix = '--max_memory_gb', f'a smaller {own or source}'
    if jax.default_backend() == 'cpu' and num_devices > 1:
      fix += ', or fewer devices (--cpu_devices: each holds a copy)'
    raise InputError(f'{flag}: the data alone take {_gb(total)}, more than {limit} '
                     f'({_gb(budget)}): {line}; {fix}')


def device_data(data: task_data.TaskData, split_names, mesh):
  """Split arrays replicated on every device: floats as float32, integers as int32."""
  return distributed.put(sharding.device_dtypes({s: data.arrays[s] for s in split_names}),
                         sharding.replicated(mesh))
