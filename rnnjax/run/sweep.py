"""A whole sweep: spec -> plan -> data -> train every bucket -> results on disk.

`run_sweep(spec, workdir)` is the library entry point behind
`experiments/population_sweep.py`; tests call it directly with a tiny spec. Every input
is checked (spec, data, work directory) before anything is written. The loop reads as
the sweep does: for each (run, chunk) in order, train the chunk, write its records,
let the search decide, checkpoint. Figures are the entry point's job.
"""

import dataclasses
import itertools
import os

import jax
import numpy as np

from rnnjax import errors
from rnnjax.data import task_data
from rnnjax.engine import compile_cache
from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.final import export
from rnnjax.final import refit as refit_lib
from rnnjax.final import summary as summary_lib
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_scores
from rnnjax.results import member_table
from rnnjax.results import outputs
from rnnjax.results import report
from rnnjax.run import checkpoint
from rnnjax.run import lock as lock_lib
from rnnjax.run import stop as stop_lib
from rnnjax.run import workdir as workdir_lib
from rnnjax.search import plan as search_plan
from rnnjax.search import probe
from rnnjax.search import spec as spec_lib
from rnnjax.search import strategy as searcher_lib
from rnnjax.search import tpe
from rnnjax.search import waves as plan_lib

SweepSpec = spec_lib.SweepSpec


@dataclasses.dataclass(frozen=True)
class Prepared:
  """A checked sweep, ready to train: its plan, data (host and device), and first runs."""
  spec: SweepSpec
  plan: search_plan.Plan
  plan_json: dict
  datas: dict          # data key (lookback or None, fold) -> TaskData
  device_data: dict    # data key -> {'train', 'val'} arrays on every device
  runs: tuple          # plan.Run, before training
  mesh: object
  base_key: object

  @property
  def num_chunks(self) -> int:
    return self.spec.train_steps // self.spec.eval_every

  @property
  def data(self) -> task_data.TaskData:
    """The usual split (the last fold) of the first lookback: the facts every data key
    shares (names, baselines, notes)."""
    return next(d for (_, fold), d in self.datas.items() if fold == self.spec.folds - 1)


def _load_datas(spec: SweepSpec, plan, datas: dict) -> dict:
  """`datas` and the data sets the plan's buckets need that it lacks: one per lookback
  (forecasting's structural data axis) and fold."""
  datas = dict(datas)
  for lookback in sorted({s.get('lookback') for s in plan.buckets}, key=str):
    if (lookback, 0) not in datas:
      folds = [spec_lib.load_data(spec, lookback, f) for f in range(spec.folds)]
      datas.update({(lookback, f): d for f, d in enumerate(task_data.same_shapes(folds))})
  return datas


def prepare(spec: SweepSpec, max_memory_gb: float = 0.0, group_size: int = 0) -> Prepared:
  """Checks the spec, plans it, loads its data; raises InputError on bad input."""
  spec_lib.check(spec)
  if spec.search == 'tpe' and jax.process_count() > 1:  # Process 0 alone writes its study.
    raise InputError('--search=tpe: run it in one process (without --distributed)')
  # tpe's first round from a study in memory (a dry run's plan); run_sweep asks the
  # work directory's study for every round.
  plan = spec_lib.make_plan(spec, configs=tpe.propose(spec, None, 0)
                            if spec.search == 'tpe' else None)
  datas = _load_datas(spec, plan, {})
  plan_lib.check_batch_sizes(plan, datas)
  mesh = sharding.population_mesh()
  runs, plan_json = plan_lib.make_runs(plan, spec, datas, mesh, max_memory_gb, group_size)
  return Prepared(spec, plan, plan_json, datas,
                  {k: _device_data(d, ('train', 'val'), mesh) for k, d in datas.items()},
                  tuple(runs), mesh,
                  distributed.put(jax.random.key(spec.seed), sharding.replicated(mesh)))


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, keep_checkpoints: int = 3, log=print,
              progress_bar: bool = False, dry_run: bool = False,
              max_memory_gb: float = 0.0) -> dict:
  """Runs (or resumes) the sweep; returns its summary, also in WORKDIR/summary.json.

  Re-running on a work directory that holds this sweep unfinished resumes from its last
  good checkpoint; finished, it reports the stored summary. `group_size`: members per
  vmap group on a device (0: see `sharding.group_size`); it changes speed only, so it is
  not part of the spec, nor is `max_memory_gb`, the memory a wave of a bucket's members
  may take (0: half the machine's). `dry_run`: see `describe_plan`; nothing is written.

  Several processes (see distributed.py) run this same call: every one trains its
  devices' members; process 0 alone writes files, and logs.

  The work directory is checked and locked (lock.py: one sweep per work directory)
  before any data is loaded; SIGINT and SIGTERM stop the sweep after its current
  chunk's checkpoint by raising `stop.Stopped` (see stop.py), and a work directory that
  cannot be written raises `errors.WriteError` (both one line, for the entry point).
  """
  if dry_run:
    return _run(spec, workdir, overwrite=overwrite, group_size=group_size,
                keep_checkpoints=keep_checkpoints, log=log, progress_bar=progress_bar,
                dry_run=True, max_memory_gb=max_memory_gb, stopper=stop_lib.Never())
  quiet = log if distributed.is_main() else (lambda _: None)
  with lock_lib.acquire_once(workdir, check=workdir_lib.check_usable, warn=quiet) as held:
    with stop_lib.Stop(on_exit=held.release, notify=quiet) as stopper:
      with errors.writing(f'in {workdir}', under=workdir):
        return _run(spec, workdir, overwrite=overwrite, group_size=group_size,
                    keep_checkpoints=keep_checkpoints, log=log, progress_bar=progress_bar,
                    dry_run=False, max_memory_gb=max_memory_gb, stopper=stopper)


def _run(spec: SweepSpec, workdir: str, *, overwrite, group_size, keep_checkpoints, log,
         progress_bar, dry_run, max_memory_gb, stopper) -> dict:
  main = distributed.is_main()
  log = log if main else (lambda _: None)
  sweep = prepare(spec, max_memory_gb, group_size)
  if dry_run:
    return describe_plan(sweep, group_size, log)
  stopper.check('before anything was written')
  distributed.check_shared_dir(workdir)
  status = workdir_lib.state_of(workdir, spec.to_json(), overwrite=overwrite,
                                defaults=SweepSpec().to_json())
  distributed.sync('rnnjax-state-of')  # Before process 0 writes anything.
  if status == workdir_lib.FINISHED:
    summary = files.read_summary(workdir)
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    log(report.ranking_table(summary))
    return summary
  resumed = None
  if status == workdir_lib.RESUME:
    if spec.search != 'tpe':  # tpe's rounds come from its journal (see _resume).
      workdir_lib.check_plan(workdir, sweep.plan_json)
    mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
    resumed = _resume(sweep, workdir, mngr, log, max_memory_gb, group_size)
    if resumed is None:
      mngr.close()
  if resumed is None:
    _start(sweep, workdir)
    mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
    search_state = searcher_lib.SearchState()
    if spec.search == 'tpe':
      sweep, search_state = _tpe_round(sweep, workdir, search_state, max_memory_gb,
                                        group_size)
    runs, start = list(sweep.runs), 0
  else:
    sweep, runs, search_state, start = resumed
  stopper.check(f'before training chunk {start + 1} ({start} of the chunks are in '
                f'{os.path.join(workdir, checkpoint.DIRNAME)})')
  data, plan = sweep.data, sweep.plan  # Shared facts: names, sizes.
  for note in data.notes:
    log(note)
  log(f'{len(plan.members)} members in {len(plan.buckets)} bucket(s), {len(runs)} wave(s) '
      f'on {sweep.mesh.size} device(s); swept: {", ".join(plan.swept) or "nothing"}; '
      f'search: {spec.search}; work directory: {workdir}')
  out = outputs.Outputs(workdir, plan, resumed=resumed is not None, main=main, log=log)
  adaptive = spec.search in search_plan.ADAPTIVE
  order = plan_lib.chunk_order(len(runs), sweep.num_chunks, chunk_major=adaptive)
  bar = report.Progress(len(order) * max(1, spec.rounds), log=log, bar=progress_bar,
                        done=start, best=report.best_so_far(workdir, spec.task) if start else None)
  rules = searcher_lib.strategy(spec)
  rename = lambda metrics: {data.metric_names.get(k, k): v for k, v in metrics.items()}
  compiles = {}
  for position in itertools.count(start):  # tpe's rounds lengthen `order` as they come.
    if position == len(order):
      break
    r, c = order[position]
    records, evaluation = [], None
    if runs[r].uids and max(runs[r].uids) >= 0:
      with compile_cache.measure() as counted:  # This process's compiles, per bucket.
        runs[r], table, evaluation = _train_chunk(sweep, runs[r], group_size, rename, bar,
                                                  (c + 1) * spec.eval_every)
      compiles.setdefault(runs[r].bucket, compile_cache.Compiles()).add(counted)
      search_state = searcher_lib.observe(search_state, r, table)
    if r == len(runs) - 1 or not adaptive:
      search_state, runs, decided = searcher_lib.decide(
          rules, search_state, runs, (c + 1) * spec.eval_every, mesh=sweep.mesh,
          retire=lambda run, rows, why: member_scores.of_run(
              sweep.plan, run, rows, sweep.device_data[run.data_key]['val'],
              mesh=sweep.mesh, group_size=group_size, stopped_by=why))
      records += decided
    if spec.search == 'tpe' and position == len(order) - 1:  # A round's last chunk.
      sweep, search_state = _tpe_round(sweep, workdir, search_state, max_memory_gb,
                                        group_size)
      runs += sweep.runs[len(runs):]
      order = plan_lib.chunk_order(len(runs), sweep.num_chunks, chunk_major=False)
      out.add_members(sweep.plan)
    out.write(records, evaluation, position)  # Before the checkpoint that covers them.
    checkpoint.save(mngr, position + 1,
                    {str(r): (run.state, run.hp) for r, run in enumerate(runs)
                     if run.state is not None},
                    {'position': position, 'metrics_bytes': out.tell(),
                     'uids': [list(run.uids) for run in runs],
                     'searcher': search_state.to_json(),
                     'started': [str(r) for r, run in enumerate(runs)
                                 if run.state is not None]})
    stopper.check(f'after chunk {position + 1} of {len(order)} (checkpoint {position + 1}'
                  f' in {os.path.join(workdir, checkpoint.DIRNAME)})')
  bar.close()
  mngr.close()
  if compiles:
    log(report.compiles_line(compiles))
  summary, refitted = _summarise(sweep, runs, search_state, group_size, rename,
                                  workdir if main else None, log)
  summary.update(timing=bar.timing(), member_steps={
      'useful': member_table.member_steps(summary['members']),
      'budget': len(sweep.plan.members) * spec.train_steps},
      compiles={str(b): c.to_json() for b, c in sorted(compiles.items())})
  # Before summary.json, which marks the sweep finished: a finished sweep has its model.
  export.save(workdir if main else None, sweep, runs, summary, refitted, log=log)
  out.close(summary)
  if main:
    log(report.ranking_table(summary))
  distributed.sync('rnnjax-end')
  return summary


def _train_chunk(sweep: Prepared, run, group_size, rename, bar, step):
  """One chunk of one run. Returns (run, its searcher table, its evaluation)."""
  cfg, mesh = run.cfg, sweep.mesh
  state = run.state
  if state is None:
    state = pop.population_init_fn(cfg, mesh)(run.hp, sweep.base_key)
  before = distributed.fetch(state.status)
  state, metrics = pop.population_chunk_fn(cfg, mesh, group_size)(
      state, run.hp, sweep.device_data[run.data_key], sweep.base_key)
  metrics, steps, status, best_val = distributed.fetch(
      (metrics, state.step, state.status, state.best_val))
  # Recorded: the real members that trained in this chunk (one stopped or diverged
  # before it has its records already).
  live = (np.asarray(run.uids) >= 0) & (np.asarray(before) == pop.OK)
  evaluation = evaluations.Evaluation(
      run.bucket, np.asarray(run.uids)[live], np.asarray(steps)[live],
      {'train/loss': metrics['train_loss'][live],
       **{f'val/{k}': v[live] for k, v in rename(metrics['val']).items()}})
  task = tasks.TASKS[sweep.spec.task]
  table = searcher_lib.Table(np.asarray(best_val, np.float64), np.asarray(status),
                             np.asarray(run.uids),
                             np.asarray(metrics['val'][tasks.selection_of(sweep.spec.task, sweep.spec.difference)],
                                        np.float64))
  real = np.asarray(run.uids) >= 0
  bar.chunk(run.bucket, step, metrics['val'][task.display][real], status[real],
            metric=task.display, mode=task.display_mode)
  return dataclasses.replace(run, state=state), table, evaluation


def _summarise(sweep: Prepared, runs, search_state, group_size, rename, workdir, log):
  spec, data = sweep.spec, sweep.data
  summary = summary_lib.summarise(
      spec, sweep.plan, runs, search_state.retired, data,
      {k: _device_data(d, ('val', 'test'), sweep.mesh) for k, d in sweep.datas.items()},
      mesh=sweep.mesh, group_size=group_size, rename=rename)
  refitted = None
  if spec.refit and summary['final']:
    summary['final'], refitted = refit_lib.refit(
        sweep, runs, summary['final'],
        member_table.records_of(summary['members'], summary['final']['members']),
        seeds=spec.refit, group_size=group_size, rename=rename,
        log=log)
  if spec.task == 'charlm' and summary['best'] and spec.sample_chars:
    summary['sample'] = summary_lib.write_sample(spec, runs, summary['best'], data,
                                                 workdir, sweep.mesh)
  return summary, refitted


def _start(sweep: Prepared, workdir: str) -> None:
  """A fresh work directory: sweep.json, plan.json and an empty metrics.jsonl."""
  if distributed.is_main():
    os.makedirs(workdir, exist_ok=True)
    workdir_lib.clear(workdir)
    files.write_json(os.path.join(workdir, files.SWEEP),
                       {'spec': sweep.spec.to_json(), 'versions': files.versions(),
                        'devices': [str(d) for d in jax.devices()],
                        'processes': jax.process_count()})
    files.write_json(os.path.join(workdir, files.PLAN), sweep.plan_json,
                       indent=1 if sweep.plan.num_members <= 1000 else None)
    open(os.path.join(workdir, files.METRICS), 'w', encoding='utf-8').close()
  distributed.sync('rnnjax-cleared')


def _resume(sweep: Prepared, workdir: str, mngr, log, max_memory_gb: float,
            group_size: int):
  """(sweep, runs, search state, next position) from the newest checkpoint that
  restores, with metrics.jsonl (and tpe's journal) cut back to what it covers; None when
  there is none. tpe: the sweep of the rounds proposed by then."""
  def at(progress):
    if sweep.spec.search != 'tpe':
      return sweep
    rounds = searcher_lib.SearchState.from_json(progress['searcher']).rounds
    return _with_rounds(sweep, rounds, max_memory_gb, group_size)
  restored = checkpoint.restore_latest(
      mngr, lambda progress: _abstract(at(progress), progress), log=log)
  if restored is None:
    return None
  trees, progress = restored
  sweep = at(progress)
  search_state = searcher_lib.SearchState.from_json(progress['searcher'])
  runs = []
  for r, run in enumerate(sweep.runs):
    state, hp = trees.get(str(r), (None, run.hp))
    runs.append(dataclasses.replace(run, uids=tuple(progress['uids'][r]), state=state,
                                    hp=hp))
  if distributed.is_main():
    workdir_lib.truncate(os.path.join(workdir, files.METRICS), progress['metrics_bytes'])
    workdir_lib.truncate(os.path.join(workdir, tpe.JOURNAL), search_state.journal_bytes)
    evaluations.truncate(workdir, progress['position'])
  start = progress['position'] + 1
  log(f'resuming {workdir}: {start} of {len(runs) * sweep.num_chunks} chunks were done')
  return sweep, runs, search_state, start


def _tpe_round(sweep: Prepared, workdir: str, search_state, max_memory_gb: float,
               group_size: int):
  """The end of a tpe round (and the start): tells the round that ended its values,
  asks the next round's configurations, and returns the sweep of every round so far with
  the search state that holds them (plan.json rewritten)."""
  spec, rounds = sweep.spec, search_state.rounds
  if rounds:
    tpe.tell(spec, workdir, len(rounds) - 1, list(search_state.tables.values()),
             {m.uid: m.config for m in sweep.plan.members})
  if len(rounds) < spec.rounds:
    rounds += (tpe.propose(spec, workdir, len(rounds)),)
  search_state = dataclasses.replace(search_state, rounds=rounds,
                                     journal_bytes=tpe.journal_bytes(workdir))
  sweep = _with_rounds(sweep, rounds, max_memory_gb, group_size)
  files.write_json(os.path.join(workdir, files.PLAN), sweep.plan_json)
  return sweep, search_state


def _with_rounds(sweep: Prepared, rounds, max_memory_gb: float,
                 group_size: int = 0) -> Prepared:
  """The sweep of tpe's rounds of configurations so far: each round's plan after the
  earlier rounds' (its buckets its own), runs in the same order."""
  spec = sweep.spec
  plans = [spec_lib.make_plan(spec, configs=configs) for configs in rounds]
  plan = plans[0]
  for later in plans[1:]:
    plan = search_plan.concat(plan, later)
  datas = _load_datas(spec, plan, sweep.datas)
  plan_lib.check_batch_sizes(plan, datas)
  runs, plan_json = plan_lib.make_runs(plan, spec, datas, sweep.mesh, max_memory_gb,
                                       group_size)
  device_data = {k: sweep.device_data.get(k) or _device_data(d, ('train', 'val'), sweep.mesh)
                 for k, d in datas.items()}
  return dataclasses.replace(sweep, plan=plan, plan_json=plan_json, datas=datas,
                             device_data=device_data, runs=tuple(runs))


def _abstract(sweep: Prepared, progress):
  """The checkpoint's tree: (state, hp) of each started run, at its size then."""
  mesh, runs = sweep.mesh, sweep.runs
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
    shard = sharding.members_sharding(mesh)
    hp = jax.tree.map(lambda a: jax.ShapeDtypeStruct((size,) + a.shape[1:], a.dtype,
                                                     sharding=shard), run.hp)
    state = jax.eval_shape(pop.population_init_fn(run.cfg, mesh), hp, sweep.base_key)
    state = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=shard),
                         state)
    tree[str(r)] = (state, hp)
  return tree


def describe_plan(sweep: Prepared, group_size: int = 0, log=print) -> dict:
  """Compiles every bucket's program (a one-step chunk) and times a step, prints the
  plan with its time estimate, and returns it; trains and writes nothing."""
  if jax.process_count() > 1:
    raise InputError('--dry_run: run it in one process (without --distributed)')
  first_waves = {run.bucket: (run.cfg, run.uids, run.hp, sweep.device_data[run.data_key])
                 for run in reversed(sweep.runs)}
  plan_json = sweep.plan_json
  probed = probe.probe_all([first_waves[b] for b in range(len(sweep.plan.buckets))],
                           sweep.base_key, sweep.mesh, group_size)
  for b, figures in enumerate(probed):
    plan_json['buckets'][b].update(figures)
    plan_json['buckets'][b]['chunk_s'] *= plan_json['buckets'][b]['num_waves']
  log(report.plan_table(plan_json, sweep.num_chunks))
  return plan_json


def _device_data(data: task_data.TaskData, split_names, mesh):
  """Split arrays replicated on every device: floats as float32, integers as int32."""
  as_host = lambda a: np.asarray(a, np.int32 if np.issubdtype(np.asarray(a).dtype,
                                                              np.integer) else np.float32)
  return distributed.put({split: {k: as_host(v) for k, v in data.arrays[split].items()}
                          for split in split_names}, sharding.replicated(mesh))
