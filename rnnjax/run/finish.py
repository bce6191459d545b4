"""The end of a sweep, after its last chunk: the summary (with the refit and a character
model's sample), the final model saved, summary.json (which marks the sweep finished) and
the ranking printed. sweep.py's `run_sweep` calls `finish` once training is done, and
again, after `set_aside`, to remake a finished sweep's final model with other settings.
"""

import os
import shutil

from rnnjax.engine import distributed
from rnnjax.final.choice import refit as refit_lib
from rnnjax.final.choice import summary as summary_lib
from rnnjax.final.saved import export
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.printed import report
from rnnjax.run import prepare as prepare_lib
from rnnjax.search.strategies import lineage


def finish(sweep: prepare_lib.Prepared, runs, search_state, *, workdir, out, bar,
           compiles, group_size, rename, log, stopper) -> dict:
  """The summary (with the refit and a charlm sample), the final model, summary.json
  (which marks the sweep finished) and the ranking; returns the summary. A signal stops
  it before the final model, between refit chunks or before saving: training is
  checkpointed, and the same command makes the final model again."""
  main = distributed.is_main()
  stopper.stopping('before the final model, between its refit\'s chunks, or once it is '
                   'saved')
  check = lambda doing: stopper.check(f'{doing}, after training (every chunk is '
                                      'checkpointed; the final model is made again)')
  check('before the final model')
  summary, refitted = _summarise(sweep, runs, search_state, group_size, rename,
                                 workdir if main else None, log,
                                 check=lambda: check('in the refit'))
  summary.update(timing=bar.timing(), member_steps={
      'useful': member_table.member_steps(summary['members']),
      'budget': len(sweep.plan.members) * sweep.spec.train_steps},
      compiles={str(b): c.to_json() for b, c in sorted(compiles.items())})
  if sweep.spec.task == 'panel':  # The competition's side-by-side table.
    summary['test_table'] = report.test_scores(summary)
  check('before saving the final model')
  # Before summary.json, which marks the sweep finished: a finished sweep has its model.
  export.save(workdir if main else None, sweep, runs, summary, refitted, log=log)
  out.close(summary)
  if main:
    # As summary.json holds it (scores as their float32 decimals): what running the
    # finished sweep again returns.
    summary = summary_file.read_summary(workdir)
    log(report.ranking_table(summary))
  distributed.sync('rnnjax-end')
  return summary


def _summarise(sweep: prepare_lib.Prepared, runs, search_state, group_size, rename,
               workdir, log, check):
  spec, data = sweep.spec, sweep.data
  tree = lineage.Lineage(search_state.copies)
  summary = summary_lib.summarise(
      spec, sweep.plan, runs, search_state.retired, data,
      {k: prepare_lib.device_data(d, ('val', 'test'), sweep.mesh)
       for k, d in sweep.datas.items()},
      mesh=sweep.mesh, group_size=group_size, rename=rename, tree=tree)
  refitted = None
  if spec.refit and summary['final']:
    summary['final'], refitted = refit_lib.refit(
        sweep, runs, summary['final'],
        member_table.records_of(summary['members'], summary['final']['members']),
        seeds=spec.refit, group_size=group_size, rename=rename, tree=tree,
        log=log, check=check)
  if spec.task == 'charlm' and summary['best'] and spec.sample_chars:
    summary['sample'] = summary_lib.write_sample(spec, runs, summary['best'], data,
                                                 workdir, sweep.mesh)
  return summary, refitted


# What `finish` writes (and the entry point's figures and experiments.predict after it),
# of the final model or beside it: summary.json first, so that a stop while they move
# leaves a sweep whose end is made again.
FINAL_ENTRIES = (files.SUMMARY, files.MEMBERS, files.MODEL, files.SAMPLE,
                 files.SERIES_SCORES, files.TRIALS, files.CURVES, files.JOURNAL,
                 files.FIGURES, files.PREDICTIONS)


def set_aside(workdir: str, spec_json: dict) -> tuple[str, dict]:
  """Moves a finished sweep's final results (FINAL_ENTRIES) to WORKDIR/finals/<n>/ (n one
  past the highest there, or the folder an interrupted set-aside left unrecorded), then
  records `spec_json`, the settings its final model is remade with, in sweep.json
  (`remade_final` lists the earlier ones and where their results went). Returns that
  folder and the earlier settings that differ. Process 0 alone calls it."""
  dest = _begun(workdir, files.read_json(os.path.join(workdir, files.SWEEP)))
  if dest is None:
    finals = os.path.join(workdir, files.FINALS)
    taken = [int(d) for d in os.listdir(finals) if d.isdigit()] if os.path.isdir(finals) else []
    dest = os.path.join(finals, str(max(taken, default=0) + 1))
    os.makedirs(dest)
  _move_into(workdir, dest)
  return dest, _record(workdir, spec_json, dest)


def resumed_with(workdir: str, changes: dict) -> tuple[str | None, dict]:
  """An unfinished sweep resumed with other final-model settings (`changes`: name ->
  new value; nothing has used them yet): they are recorded in sweep.json. A set_aside
  that a stop interrupted (its folder made and summary.json moved first, the folder not
  yet in `remade_final`) is completed: the final results still in WORKDIR go to that
  folder, and it is recorded. Returns that folder (None where there was none) and the
  earlier values of `changes`. Process 0 alone calls it."""
  stored = files.read_json(os.path.join(workdir, files.SWEEP))
  dest = _begun(workdir, stored)
  if dest:
    _move_into(workdir, dest)
  if not dest and not changes:
    return None, {}
  return dest, _record(workdir, {**stored['spec'], **changes}, dest)


def _begun(workdir: str, stored: dict) -> str | None:
  """The newest WORKDIR/finals/<n> that sweep.json (`stored`) does not record: a
  set_aside a stop interrupted."""
  finals = os.path.join(workdir, files.FINALS)
  recorded = {entry['previous'] for entry in stored.get('remade_final', [])}
  begun = [d for d in (os.listdir(finals) if os.path.isdir(finals) else ())
           if d.isdigit() and os.path.join(files.FINALS, d) not in recorded]
  return os.path.join(finals, max(begun, key=int)) if begun else None


def _move_into(workdir: str, dest: str) -> None:
  """FINAL_ENTRIES in `workdir` moved into `dest`, summary.json first, none replaced."""
  for name in FINAL_ENTRIES:
    if (os.path.lexists(os.path.join(workdir, name))
        and not os.path.lexists(os.path.join(dest, name))):
      shutil.move(os.path.join(workdir, name), os.path.join(dest, name))


def _record(workdir: str, spec_json: dict, previous: str | None) -> dict:
  """`spec_json` as sweep.json's settings, and where the previous final results went
  (`remade_final`, with the earlier settings that differ, which it returns)."""
  path = os.path.join(workdir, files.SWEEP)
  stored = files.read_json(path)
  old = stored['spec']
  before = {k: old.get(k) for k in spec_json if old.get(k) != spec_json[k]}
  if previous:
    stored['remade_final'] = stored.get('remade_final', []) + [
        {'previous': os.path.relpath(previous, workdir), 'settings': before}]
  stored['spec'] = spec_json
  files.write_json(path, stored)
  return before
