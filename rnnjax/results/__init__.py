"""Results: a sweep's records and every file and view made of them.

Imports the engine and search; never final or run.

  files          the work directory's file names, the one atomic write, JSON, metrics.jsonl
  evaluations    a chunk's evaluation of a wave, as columns; metrics.jsonl or .npz; reading
                 a sweep's metrics
  member_table   members' records held as columns (every sweep size)
  config_table   their configurations held as columns, and the one rule that ranks them
  summary_file   summary.json and members.npz: those tables written and read back
  member_scores  members' records scored on validation, made from device arrays
  series_scores  a panel's test scores per series: series_scores.csv
  outputs        where a running sweep's records go (metrics, TensorBoard, summary, trials)

Two sub-packages; each imports the modules above (but outputs, which hands a running
sweep's records to tracking/) and not the other:

  tracking/  the sweep in TensorBoard, Optuna and pandas (trial files), Weights & Biases
  printed/   what it prints: progress while it trains, the report at the end, finished
             sweeps side by side

`read_metrics(WORKDIR)` and `read_summary(WORKDIR)` read a finished sweep.
"""

from rnnjax.results.evaluations import read_metrics
from rnnjax.results.summary_file import read_summary

__all__ = ['read_metrics', 'read_summary']
