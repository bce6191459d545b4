"""Results: a sweep's records and every file and view made of them.

Imports the engine and search; never final or run.

  files          the work directory's file names, atomic JSON writes, reading results
  evaluations    a chunk's evaluation of a wave, as columns; metrics.jsonl or .npz
  member_table   members' records and configurations held as columns
  member_scores  members' records scored on validation, made from device arrays
  report         what a sweep prints: progress lines, the ranked table
  outputs        where a running sweep's records go
  tensorboard    TensorBoard event files and the HParams tab
  trial_files    Optuna journal, trials.csv and curves.csv

`read_metrics(WORKDIR)` and `read_summary(WORKDIR)` read a finished sweep.
"""

from rnnjax.results.files import read_metrics
from rnnjax.results.files import read_summary
