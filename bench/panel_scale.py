"""A flagfile on a large synthetic panel: the wall of a global sweep over many series.

Generates `--series` monthly series of 100-140 points (level, trend, multiplicative
season, noise; random per series) as long CSVs `unique_id,ds,y` (train, and the next
`--horizon` points as test), then runs `--flagfile` on them through the sweep's entry
point, as a user would with their own panel, and prints the wall and the final model's
test scores beside the benchmarks'. Run by hand:

  python -m bench.panel_scale --series=1500 --sweep_flagfile=experiments/flagfiles/m1_monthly.flags
"""

import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

SERIES = flags.DEFINE_integer('series', 1500, 'Series in the panel.')
HORIZON = flags.DEFINE_integer('horizon', 18, 'Test points per series (the flagfile\'s '
                               'horizon).')
FLAGFILE = flags.DEFINE_string('sweep_flagfile', 'experiments/flagfiles/m1_monthly.flags',
                               'The flagfile to run on the panel.')
WORKDIR = flags.DEFINE_string('workdir', '', 'Where the sweep writes (default: a '
                              'temporary directory).')
EXTRA = flags.DEFINE_list('extra', [], 'More flags for the sweep, e.g. '
                          '--extra=--train_steps=100.')


def synthetic_panel(num_series: int, horizon: int, seed: int = 0):
  """{id: <float64>[n]} monthly series, n in [100, 140] plus the horizon."""
  rng = np.random.default_rng(seed)
  out = {}
  for i in range(num_series):
    n = int(rng.integers(100, 141)) + horizon
    t = np.arange(n)
    level = np.exp(rng.uniform(np.log(50), np.log(5e4)))
    trend = rng.normal(0.003, 0.004)
    season = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
    noise = np.exp(np.cumsum(rng.normal(0, 0.02, n)) + rng.normal(0, 0.05, n))
    out[f'S{i:05d}'] = level * np.exp(trend * t) * season * noise
  return out


def write_long(path: str, panel: dict, months):
  """The points `months(n)` of each series of n points, as rows of a long CSV (ds:
  year-month from January 2000)."""
  with open(path, 'w', encoding='utf-8') as f:
    f.write('unique_id,ds,y\n')
    for key, values in panel.items():
      for m in months(len(values)):
        f.write(f'{key},{2000 + m // 12}-{m % 12 + 1:02d},{values[m]:.3f}\n')


def main(argv):
  del argv
  root = tempfile.mkdtemp(prefix='panel_scale_')
  panel = synthetic_panel(SERIES.value, HORIZON.value)
  train, test = os.path.join(root, 'train.csv'), os.path.join(root, 'test.csv')
  h = HORIZON.value
  write_long(train, panel, lambda n: range(0, n - h))
  write_long(test, panel, lambda n: range(n - h, n))
  workdir = WORKDIR.value or os.path.join(root, 'run')
  command = [sys.executable, '-m', 'experiments.population_sweep',
             f'--flagfile={FLAGFILE.value}', '--dataset=', f'--csv_path={train}',
             f'--test_path={test}', '--id_column=unique_id', '--time_column=ds',
             '--target_columns=y', f'--workdir={workdir}', '--overwrite', *EXTRA.value]
  print(' '.join(command), flush=True)
  start = time.perf_counter()
  subprocess.run(command, check=True)
  print(f'{SERIES.value} series: the sweep took {time.perf_counter() - start:.0f} s '
        f'(data in {root})')


if __name__ == '__main__':
  app.run(main)
