"""Each series' test scores of a panel sweep: WORKDIR/series_scores.csv.

A panel's table (report.test_scores) averages sMAPE and MASE over series, and an
average hides where a model wins and where it loses: a few series with a large MASE
can outweigh many small wins. This file holds every series' test scores of the final
model and of each benchmark, by the code that averages them (data/competition.py), in
long format: `unique_id,method,smape,mase`, one row per series and method, the final
model first (data/competition.py `series_scores` gives `write` its scores).
`pandas.read_csv(...).pivot(index='unique_id', columns='method')` puts the methods side
by side. `wins` counts the series on which the final model's score is below each
benchmark's.
"""

import csv
import os

import numpy as np

from rnnjax.results import files

FINAL = 'final'  # The final model's method name in the file.


def wins(by_method: dict, metric: str = 'mase') -> dict:
  """{benchmark: (series where FINAL's `metric` is lower, series scored)}."""
  final = by_method[FINAL][metric]
  return {name: (int(np.sum(final < s[metric])), len(final))
          for name, s in by_method.items() if name != FINAL}


def write(workdir: str, ids, by_method: dict) -> str:
  """Writes WORKDIR/series_scores.csv (see the module docstring; a score that is not
  finite is an empty cell); returns its path."""
  cell = lambda v: f'{v:.6g}' if np.isfinite(v) else ''
  path = os.path.join(workdir, files.SERIES_SCORES)
  with files.atomic(path) as tmp, open(tmp, 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(['unique_id', 'method', 'smape', 'mase'])
    for i, key in enumerate(ids):
      for name, s in by_method.items():
        writer.writerow([key, name, cell(s['smape'][i]), cell(s['mase'][i])])
  return path


def describe(by_method: dict, metric: str = 'mase') -> str:
  """One line: on how many series the final model beats each benchmark's `metric`."""
  counts = wins(by_method, metric)
  total = next(iter(counts.values()))[1] if counts else 0
  return (f'the final model\'s test {metric.upper()} is lower than ' + ', '.join(
      f'{name}\'s on {n}' for name, (n, _) in counts.items()) + f' of {total} series')
