"""Results: a sweep's records and every file and view made of them.

Imports the engine and search; never final or run.

  files          the work directory's file names, the one atomic write, JSON, metrics.jsonl
  evaluations    a chunk's evaluation of a wave, as columns; metrics.jsonl or .npz; reading
                 a sweep's metrics
  member_table   members' records and configurations held as columns (every sweep size)
  summary_file   summary.json and members.npz: those tables written and read back
  member_scores  members' records scored on validation, made from device arrays
  progress       what a sweep prints while it trains: a line per chunk, ETA, best so far
  report         what it prints at the end: the ranked table, the competition's table,
                 compile times; finished sweeps side by side
  outputs        where a running sweep's records go
  tensorboard    TensorBoard event files and the HParams tab
  trial_files    Optuna journal, trials.csv and curves.csv
  wandb_log      Weights & Biases runs of a finished sweep (offline by default)

`read_metrics(WORKDIR)` and `read_summary(WORKDIR)` read a finished sweep.
"""

from rnnjax.results.evaluations import read_metrics
from rnnjax.results.summary_file import read_summary

__all__ = ['read_metrics', 'read_summary']
