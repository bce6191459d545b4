"""Where a running sweep's records go (see `Outputs`): metrics, TensorBoard, and at
the end summary.json and the trial files."""

import os

from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.tracking import trial_files


class Outputs:
  """Where a sweep's records go, on process 0 only: metrics.jsonl (flushed with every
  chunk) or, for large sweeps, one .npz per chunk (see evaluations.py), TensorBoard
  events (a run per member, or population summaries above tensorboard.MAX_RUNS
  members; rebuilt on resume to what the checkpoint covers), and at the end
  summary.json and its trial files (tracking/trial_files.py: Optuna journal, trials and
  curves CSV)."""

  def __init__(self, workdir: str, plan, *, resumed: bool, main: bool, log=print):
    # Imported only for a run that writes TensorBoard files (not a dry run).
    from rnnjax.results.tracking import tensorboard  # pylint: disable=g-import-not-at-top
    self._workdir, self._log = workdir, log
    self._columnar = evaluations.columnar(plan.num_members)
    self._writer = files.MetricsWriter(
        os.path.join(workdir, files.METRICS) if main else None)
    if main and self._columnar:
      log(f'{plan.num_members} members (over {evaluations.JSONL_MAX_MEMBERS}): their '
          f'evaluations go to {os.path.join(workdir, files.CHUNKS)}, one .npz per '
          'chunk (results.read_metrics reads them)')
    if main and member_table.columnar(plan.num_members):
      log(f'{plan.num_members} members (over {member_table.MAX_RECORDS}): their summary '
          f'records, ranking and configurations go to '
          f'{os.path.join(workdir, files.MEMBERS)} as columns, summary.json holds '
          'the rest (results.read_summary reads both)')
    if main and plan.num_members > tensorboard.MAX_RUNS:
      log(f'TensorBoard: {plan.num_members} members (over {tensorboard.MAX_RUNS}): '
          'population summaries per bucket (quantiles, best, histograms), not a run per '
          'member')
    if resumed and main:
      tensorboard.rebuild(workdir)
    self._events = None
    self._main = main
    self.add_members(plan)

  def add_members(self, plan) -> None:
    """TensorBoard for `plan`'s members (every member so far: tpe adds rounds)."""
    from rnnjax.results.tracking import tensorboard  # pylint: disable=g-import-not-at-top
    if self._events is not None:
      self._events.flush()
    self._events = tensorboard.writer_for(
        os.path.join(self._workdir, files.TENSORBOARD), plan) if self._main else None

  def write(self, records: list, evaluation, position: int) -> None:
    """records: the searcher's; evaluation: the chunk's (None when nothing trained)."""
    lines = records
    if evaluation is not None:
      if not self._columnar:
        lines = evaluation.records() + records
      elif self._events is not None:  # Process 0.
        evaluations.write(self._workdir, position, evaluation)
    self._writer.write(lines)
    self._writer.flush()
    if self._events is not None:
      self._events.add_evaluation(evaluation, records)
      self._events.flush()

  def tell(self) -> int:
    return self._writer.tell()

  def close(self, summary: dict) -> None:
    self._writer.close()
    if self._events is not None:
      from rnnjax.results.tracking import tensorboard  # pylint: disable=g-import-not-at-top
      if (summary['search'] in ('pbt', 'tpe')
          and isinstance(self._events, tensorboard.SweepWriter)):
        # A run's HParams are written as it starts, and TensorBoard keeps the first:
        # PBT's trained values (summary: the values that trained each best) replace them,
        # and tpe's first rounds get the columns later rounds vary (`seed`, once its
        # repeats train), as a resumed sweep's rebuilt runs have them.
        tensorboard.rebuild(self._workdir, summary)
      else:
        self._events.close(summary)
      for note in trial_files.write(self._workdir, summary):  # Optuna journal, CSVs.
        self._log(note)
      # Last: it marks the sweep finished, and a finished sweep is not run again, so
      # every other file is whole before it (a kill just before it redoes the end).
      summary_file.write_summary(self._workdir, summary)


def complete(workdir: str, summary: dict, log=print) -> None:
  """Writes a finished sweep's trial files (trials.csv, optuna.journal, curves.csv) where
  one is missing: a sweep whose summary.json was written before them (rnnjax before
  2026-12-05) and which was stopped between the two."""
  missing = [name for name in (files.TRIALS, files.JOURNAL)
             if not os.path.exists(os.path.join(workdir, name))]
  if missing:
    for note in trial_files.write(workdir, summary):
      log(note)
    log(f'wrote {", ".join(missing)}, missing from the finished sweep')

