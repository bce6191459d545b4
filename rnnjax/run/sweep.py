"""A whole sweep: spec -> plan -> data -> train every bucket -> results on disk.

`run_sweep(spec, workdir)` is the library entry point behind
`experiments/population_sweep.py`; tests call it directly with a tiny spec. Every input
is checked (spec, data, work directory) before anything is written (prepare.py); an
unfinished sweep resumes from its newest checkpoint (resume.py), a new one starts with
the search's first ask; a finished one asked to remake its final model with other
final-model settings (`remake_final`) is restored from its last and goes straight to
the end. Then the loop over chunks (chunks.py): for each (run, chunk) in
order, train the chunk, let the search decide, at a round's end let it ask for the next
round (search/strategies/strategy.py), write the chunk's records, checkpoint; then the summary and
the final model (finish.py). Figures are the entry point's job.
"""

import os
import time

import jax

from rnnjax import errors
from rnnjax.data import common as data_common
from rnnjax.data import panel_baselines
from rnnjax.engine import distributed
from rnnjax.results import files
from rnnjax.results import outputs
from rnnjax.results import summary_file
from rnnjax.results.printed import progress as progress_lib
from rnnjax.results.printed import report
from rnnjax.run import checkpoint
from rnnjax.run import chunks
from rnnjax.run import dry_run as dry_run_lib
from rnnjax.run import finish as finish_lib
from rnnjax.run import lock as lock_lib
from rnnjax.run import prepare as prepare_lib
from rnnjax.run import resume as resume_lib
from rnnjax.run import stop as stop_lib
from rnnjax.run import workdir as workdir_lib
from rnnjax.search import planner
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import strategy as searcher_lib

SweepSpec = spec_lib.SweepSpec


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, keep_checkpoints: int = 3, log=print,
              progress_bar: bool = False, dry_run: bool = False,
              max_memory_gb: float = 0.0, notify=None, notes=None,
              replace_other: bool = False, remake_final: bool = False, figures=None,
              startup_s: float = 0.0) -> dict:
  """Runs (or resumes) the sweep; returns its summary, also in WORKDIR/summary.json.

  Re-running on a work directory that holds this sweep unfinished resumes from its last
  good checkpoint; finished, it reports the stored summary. `group_size`: members per
  vmap group on a device (0: see `sharding.group_size`); it changes speed only, so it is
  not part of the spec, nor is `max_memory_gb`, the memory a wave of a bucket's members
  may take (0: half the machine's). `dry_run`: see `dry_run.describe_plan`; nothing is
  written; `figures`: where the caller draws figures after it, (swept axes, search) ->
  their seconds, and `startup_s`, the seconds the calling command took to start, both of
  which a dry run's estimate counts. `notify`: where the notice of a first SIGINT /
  SIGTERM goes the moment it arrives (default: `log`; a caller that silences the log,
  compare.py, still says it); `notes`, where what the sweep says of its data and
  settings goes (what was filled, read or left out; a resume), the same way.
  `replace_other`: instead of `overwrite`, replace only a work directory that holds
  another sweep (`workdir.holds_other`), judged on the settings this one runs with once
  its data are prepared (a panel's selection may fall back to sMAPE there); one of these
  settings is kept and resumed (a search comparison's --overwrite).
  `remake_final`: a finished sweep whose settings differ from `spec`'s only in the final
  model's (spec.FINAL_SETTINGS) has its members restored from its last checkpoint and
  its final model made again with `spec`'s (no training step runs); its previous final
  results move to WORKDIR/finals/<n>/ (finish.set_aside). On a new or unfinished work
  directory it does nothing but say so (the sweep runs, or resumes, as usual); with
  `overwrite` it is refused. An unfinished sweep resumes with the final-model settings
  `spec` gives (none has been used yet; sweep.json records them, finish.resumed_with).

  Several processes (see distributed.py) run this same call: every one trains its
  devices' members; process 0 alone writes files, and logs.

  The work directory is checked and locked (lock.py: one sweep per work directory)
  before any data is loaded; SIGINT and SIGTERM stop the sweep after its current
  chunk's checkpoint by raising `stop.Stopped` (see stop.py), and a work directory that
  cannot be written raises `errors.WriteError` (both one line, for the entry point).
  """
  if not isinstance(spec, SweepSpec):
    raise errors.InputError(f'spec: a SweepSpec, not {type(spec).__name__} '
                            '(SweepSpec(**settings) makes one)')
  if not isinstance(workdir, (str, os.PathLike)):
    raise errors.InputError(f'--workdir: {workdir!r} ({type(workdir).__name__}) must be a '
                            'path, a str or pathlib.Path')
  workdir, spec = str(workdir), rules.with_paths(spec)
  if isinstance(keep_checkpoints, bool) or not isinstance(keep_checkpoints, int) or (
      keep_checkpoints < 1):
    raise errors.InputError(f'--keep_checkpoints: {keep_checkpoints!r} must be a whole '
                            'number >= 1 (a stopped sweep resumes from its newest)')
  for flag, value in (('group_size', group_size), ('max_memory_gb', max_memory_gb)):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
      raise errors.InputError(f'--{flag}: {value!r} must be >= 0 (0: chosen for you)')
  if remake_final and overwrite:
    raise errors.InputError('--remake_final: keeps the trained members, which --overwrite '
                            'removes to train the sweep again; give one of them')
  if dry_run:
    started = time.perf_counter()  # Its data loaded as the sweep's are: timed for it.
    return _run(spec, workdir, overwrite=overwrite, group_size=group_size,
                keep_checkpoints=keep_checkpoints, log=log, progress_bar=progress_bar,
                dry_run=True, max_memory_gb=max_memory_gb, stopper=stop_lib.Never(),
                figures=figures, started=started, startup_s=startup_s)
  quiet = log if distributed.is_main() else (lambda _: None)
  with lock_lib.acquire_once(workdir, check=workdir_lib.check_usable, warn=quiet) as held:
    if distributed.is_main():  # What a process killed while writing left (kill -9).
      files.remove_leftovers(workdir)
    with stop_lib.Stop(on_exit=held.release, notify=quiet if notify is None or not
                       distributed.is_main() else notify) as stopper:
      with errors.writing(f'in {workdir}', under=workdir):
        return _run(spec, workdir, overwrite=overwrite, group_size=group_size,
                    keep_checkpoints=keep_checkpoints, log=log, progress_bar=progress_bar,
                    dry_run=False, max_memory_gb=max_memory_gb, stopper=stopper,
                    replace_other=replace_other, remake_final=remake_final,
                    notes=notes)


# A panel's file this large is said before it is read (reading and windowing it takes a
# while, and said nothing until the plan).
LARGE_PANEL_BYTES = 10 * 2**20


def _file_bytes(path: str) -> int:
  """The size of `path`, 0 for none (a bundled data set) or one that cannot be read (the
  loader says why)."""
  try:
    return os.path.getsize(path) if path else 0
  except OSError:
    return 0


def _plan_notes(spec, plan) -> list:
  """planner.undrawn_notes of a population drawn at random (random search's; halving's
  and PBT's first, of --num_members); and the search's own (strategy.plan_notes)."""
  drawn = spec.search == 'random' or (spec.search in ('halving', 'pbt') and spec.num_members)
  return ((planner.undrawn_notes(spec.axes(), plan) if drawn else []) +
          searcher_lib.plan_notes(spec, plan))


def _run(spec: SweepSpec, workdir: str, *, overwrite, group_size, keep_checkpoints, log,
         progress_bar, dry_run, max_memory_gb, stopper, replace_other=False,
         remake_final=False, figures=None, started=0.0, startup_s=0.0, notes=None) -> dict:
  log = log if distributed.is_main() else (lambda _: None)
  said = (notes or log) if distributed.is_main() else log  # The data's notes, a resume.
  fits = spec.task == 'panel' and spec.classical_baselines and bool(spec.benchmarks)
  if fits and not dry_run:
    arima = 'AutoARIMA' in spec.benchmarks and len(spec.benchmarks) > 1
    log('loading the panel: statsforecast\'s benchmarks are fitted per series on '
        'validation and test, or read from their cache (minutes on a large panel the '
        'first time, hours on long '
        'hourly series, each series cached once fitted; --classical_baselines=false '
        'skips them' + ', --benchmarks without AutoARIMA (most of their time) speeds them'
        * arima + ')')
  elif spec.task == 'panel' and _file_bytes(spec.csv_path) >= LARGE_PANEL_BYTES:
    log(f'loading the panel {spec.csv_path} ({_file_bytes(spec.csv_path) / 2**20:.0f} '
        'MB): every series read and cut into windows (a minute or more on a large panel)')
  if dry_run:  # The plan, and the data's notes: no statistical baseline fitted (minutes
    # on a panel or a long series), their time estimated from a few fits.
    with data_common.estimating() as estimates:
      sweep = prepare_lib.prepare(spec, max_memory_gb, group_size, log=log)
    for note in (sweep.notes + searcher_lib.notes(spec) + rules.notes(spec)
                 + _plan_notes(spec, sweep.plan) + [e.note() for e in estimates.values()]):
      if note:
        log(note)
    return dry_run_lib.describe_plan(
        sweep, group_size, log, max_memory_gb, figures,
        before_s=time.perf_counter() - started - sum(e.spent for e in estimates.values()),
        startup_s=startup_s, baselines_s=sum(e.seconds for e in estimates.values()))
  cached = panel_baselines.cache_dir()
  with stopper.at_once(
      f'while loading the data{" and fitting the benchmarks" if fits else ""}, before '
      'training anything', f'nothing was written in {workdir}: run the same command again' + (
          f' (the series fitted so far are read from the cache {cached})'
          if fits and cached else '')), data_common.reporting(log):
    sweep = prepare_lib.prepare(spec, max_memory_gb, group_size, log=log)
  spec = sweep.spec  # Its selection where the spec's is undefined on the data (a note says).
  stopper.check('before anything was written')
  workdir_lib.check_shared_dir(workdir)
  digests = files.data_digests(spec.to_json())
  if replace_other:  # On the settings it runs with (recorded in sweep.json): spec's.
    overwrite = workdir_lib.holds_other(workdir, spec.to_json(),
                                        defaults=SweepSpec().to_json(), digests=digests)
  status = workdir_lib.state_of(workdir, spec.to_json(), overwrite=overwrite,
                                defaults=SweepSpec().to_json(), digests=digests,
                                remake_final=remake_final, final=spec_lib.FINAL_SETTINGS)
  distributed.sync('rnnjax-state-of')  # Before process 0 writes anything.
  if remake_final and status != workdir_lib.REMAKE:
    log(f'--remake_final: {workdir} holds ' + (
        'this finished sweep with these settings: nothing to remake'
        if status == workdir_lib.FINISHED else 'no finished sweep: the sweep ' + (
            'resumes' if status == workdir_lib.RESUME else 'runs') + ' as usual'))
  if status == workdir_lib.FINISHED:
    summary = summary_file.read_summary(workdir)
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    if distributed.is_main():
      outputs.complete(workdir, summary, log=log)
    log(report.ranking_table(summary))
    return summary
  sizes = dict(max_memory_gb=max_memory_gb, group_size=group_size)
  begun = None
  if status in (workdir_lib.RESUME, workdir_lib.REMAKE):
    begun = resume_lib.resume(sweep, workdir, keep=keep_checkpoints, log=said,
                              whole=status == workdir_lib.REMAKE, **sizes)
  if status == workdir_lib.REMAKE:
    _set_aside(workdir, spec, log)
  elif begun is not None:
    _resume_with(workdir, spec, log)
  if begun is None:
    begun = _begin(sweep, workdir, keep=keep_checkpoints, digests=digests, log=log,
                   **sizes)
  mngr, sweep, runs, search_state, start, done, spent = begun
  stopper.check(f'before training chunk {done + 1} ({done} of the chunks are in '
                f'{os.path.join(workdir, checkpoint.DIRNAME)})')
  data, plan = sweep.data, sweep.plan  # Shared facts: names, sizes.
  # A caller that takes the notes apart (compare.py) set every search's settings itself.
  for note in (sweep.notes + searcher_lib.notes(spec, others=notes is None)
               + rules.notes(spec)):
    said(note)
  # A search that asks rounds (TPE) has planned those asked so far; each round's runs
  # are counted for the rounds still to come.
  asked = len(search_state.rounds) if spec.rounds else 0
  rounds = f' (rounds asked so far: {asked} of {spec.rounds})' if asked else ''
  members = len(plan.members)
  log(f'{members} member{"s" * (members != 1)} in {len(plan.buckets)} bucket(s), '
      f'{len(runs)} wave(s) on {sweep.mesh.size} device(s){rounds}; '
      f'swept: {", ".join(plan.swept) or "nothing"}; search: {spec.search}; '
      f'work directory: {workdir}')
  for note in plan_lib.wave_notes(sweep.plan_json, max_memory_gb) + _plan_notes(spec, plan):
    log(note)
  out = outputs.Outputs(workdir, plan, resumed=start > 0, main=distributed.is_main(),
                        log=log)
  # Each bucket still to train compiles its programs here (again after a resume).
  order = plan_lib.chunk_order(len(runs), sweep.num_chunks,
                               chunk_major=spec.search in planner.ADAPTIVE)
  ahead, buckets, later = chunks.estimate(sweep, asked, runs, order, start)
  bar = progress_lib.Progress(
      done + ahead, log=log, bar=progress_bar, done=done,
      buckets=len(buckets) + later, spent=spent, folds=spec.folds,
      best=progress_lib.best_so_far(workdir, spec.task, spec.selection, spec.difference,
                                    spec.folds) if start else None)
  rename = lambda metrics: {data.metric_names.get(k, k): v for k, v in metrics.items()}
  sweep, runs, search_state, compiles = chunks.train(
      sweep, runs, search_state, start, workdir=workdir, mngr=mngr, out=out, bar=bar,
      stopper=stopper, rename=rename, log=log, **sizes)
  bar.close()
  mngr.close()
  if compiles:
    log(report.compiles_line(compiles))
  return finish_lib.finish(sweep, runs, search_state, workdir=workdir, out=out, bar=bar,
                           compiles=compiles, group_size=group_size, rename=rename,
                           log=log, stopper=stopper)


def _begin(sweep: prepare_lib.Prepared, workdir: str, *, keep: int, max_memory_gb: float,
           group_size: int, digests: dict, log):
  """A fresh work directory: sweep.json, plan.json and an empty metrics.jsonl, its
  checkpoint manager, and the search's first ask. Returns what resume.resume does."""
  if distributed.is_main():
    os.makedirs(workdir, exist_ok=True)
    workdir_lib.clear(workdir)
    files.write_json(os.path.join(workdir, files.SWEEP),
                     {'spec': sweep.spec.to_json(), 'data_digests': digests,
                      'versions': files.versions(),
                      'devices': [str(d) for d in jax.devices()],
                      'processes': jax.process_count()})
    files.write_json(os.path.join(workdir, files.PLAN), sweep.plan_json,
                     indent=1 if sweep.plan.num_members <= 1000 else None)
    open(os.path.join(workdir, files.METRICS), 'w', encoding='utf-8').close()
  distributed.sync('rnnjax-cleared')
  mngr = checkpoint.manager(workdir, keep=keep)
  sweep, search_state, _ = chunks.ask_round(sweep, workdir, searcher_lib.SearchState(),
                                             max_memory_gb, group_size, log)
  return mngr, sweep, list(sweep.runs), search_state, 0, 0, None


def _resume_with(workdir: str, spec: SweepSpec, log) -> None:
  """An unfinished sweep resumed: final-model settings changed since it began are
  recorded, and so is a set-aside a stop interrupted (finish.resumed_with; process 0)."""
  if distributed.is_main():
    changes = workdir_lib.final_changes(workdir, spec.to_json(),
                                        defaults=SweepSpec().to_json(),
                                        final=spec_lib.FINAL_SETTINGS)
    dest, before = finish_lib.resumed_with(workdir, changes)
    if dest:
      log(f'the final results a stop left in {workdir} as they were set aside are in {dest}')
    if before:
      changed = ', '.join(f'{k}={changes[k]!r} (was {before[k]!r})' for k in before)
      log(f'{workdir}: its final model is made with {changed}')
  distributed.sync('rnnjax-resumed-with')


def _set_aside(workdir: str, spec: SweepSpec, log) -> None:
  """A finished sweep's final model remade (its members restored): the previous final
  results moved to WORKDIR/finals/<n>/ and the new settings recorded (process 0)."""
  if distributed.is_main():  # The others read nothing process 0 rewrites here.
    now = spec.to_json()
    dest, before = finish_lib.set_aside(workdir, now)
    changed = ', '.join(f'{k}={now[k]!r}' for k in before)
    trains = (f'its members are not trained again (the refit, --refit={spec.refit}, '
              'trains the final model\'s members anew)' if spec.refit else
              'no training step runs')
    log(f'remaking the final model of {workdir} from its trained members with {changed}: '
        f'{trains}; the previous final results are in {dest}')
  distributed.sync('rnnjax-set-aside')
