"""A bundled panel with its test part set aside: judge a method without reading test.

Choosing how a sweep builds its final model (an ensemble rule, a loss) by its test score
would leak test into the choice. This runs a flagfile on a development copy of a bundled
panel instead: every series' train part less its last `horizon` points becomes the
train part, those points become the test part (so validation is the `horizon` before
them), and the panel's real test file is never opened. Run by hand, once per rule:

  python -m bench.panel_holdout --panel=m1_quarterly
  python -m bench.panel_holdout --panel=m1_quarterly --extra=--ensemble=top

prints the final model's scores on the held-out points beside the benchmarks' (the
same points, fitted from the same origin) and writes them to WORKDIR/summary.json.

One origin is a noisy judge: between one origin and the next the ranking of close
methods moves. `--back=0,1,2` runs the flagfile at three origins (origin K holds out the
h points that end K horizons before the end of train, and drops everything after them;
series too short for an origin are left out of it) and prints each origin's table and
the mean over origins of every method's scores.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

PANELS = ('m1_monthly', 'm1_quarterly', 'm1_yearly', 'm3_yearly', 'm3_other')
PANEL = flags.DEFINE_enum('panel', 'm1_quarterly', PANELS, 'The bundled panel.')
FLAGFILE = flags.DEFINE_string('sweep_flagfile', '', 'The flagfile to run (default: '
                               'experiments/flagfiles/PANEL.flags).')
WORKDIR = flags.DEFINE_string('workdir', '', 'Where the sweep writes (default: a '
                              'temporary directory).')
BACK = flags.DEFINE_list('back', ['0'], 'Origins: K holds out the horizon that ends K '
                         'horizons before the end of train (0: the last horizon).')
MIN_TRAIN = flags.DEFINE_integer('min_train', 1, 'A series enters an origin only when at '
                                 'least this many of its points are left to train on.')
EXTRA = flags.DEFINE_list('extra', [], 'More flags for the sweep, e.g. '
                          '--extra=--ensemble=fixed,--ensemble_size=24; a flag whose '
                          'value holds commas goes in double quotes: '
                          '\'--extra="--lookback=grid(8,16)",--ensemble_size=16\'.')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def horizon_of(flagfile: str) -> int:
  """The flagfile's --horizon."""
  with open(flagfile, encoding='utf-8') as f:
    found = re.findall(r'^--horizon=(\d+)\s*$', f.read(), flags=re.M)
  if not found:
    raise SystemExit(f'--sweep_flagfile: {flagfile} sets no --horizon')
  return int(found[-1])


def split_train(train_csv: str, horizon: int, root: str, back: int = 0,
                min_train: int = 1) -> tuple[str, str, int]:
  """(development train CSV, its test CSV, series kept): each series of `train_csv`
  less its last (back + 1) * `horizon` rows, and the first `horizon` of those rows;
  series that would keep fewer than `min_train` rows are left out (the sweep handles the
  short ones that remain as it would a user's; a train part of one or two points gives
  MASE a tiny scale, and that series can then swamp the panel's mean MASE)."""
  cut = (back + 1) * horizon
  rows = {}
  with open(train_csv, encoding='utf-8') as f:
    header = f.readline()
    for line in f:
      rows.setdefault(line.split(',', 1)[0], []).append(line)
  paths = os.path.join(root, 'dev_train.csv'), os.path.join(root, 'dev_test.csv')
  kept = 0
  with open(paths[0], 'w', encoding='utf-8') as tr, open(paths[1], 'w',
                                                          encoding='utf-8') as te:
    tr.write(header)
    te.write(header)
    for lines in rows.values():
      if len(lines) - cut < max(min_train, 1):
        continue
      kept += 1
      tr.writelines(lines[:-cut])
      te.writelines(lines[len(lines) - cut:len(lines) - cut + horizon])
  return paths[0], paths[1], kept


METRICS = ('smape', 'mase', 'owa', 'rmsse')


def run_origin(flagfile: str, horizon: int, back: int) -> tuple[dict, int, float]:
  """(test scores by method, series kept, wall seconds) of the flagfile at one origin."""
  root = tempfile.mkdtemp(prefix=f'holdout_{PANEL.value}_back{back}_')
  train, test, kept = split_train(
      os.path.join(ROOT, 'rnnjax', 'data', 'panels', f'{PANEL.value}_train.csv'), horizon,
      root, back, MIN_TRAIN.value)
  workdir = WORKDIR.value or os.path.join(root, 'run')
  if WORKDIR.value and len(BACK.value) > 1:
    workdir = os.path.join(WORKDIR.value, f'back{back}')
  command = [sys.executable, '-m', 'experiments.population_sweep', f'--flagfile={flagfile}',
             '--dataset=', f'--csv_path={train}', f'--test_path={test}',
             '--id_column=unique_id', '--time_column=ds', '--target_columns=y',
             f'--workdir={workdir}', '--overwrite', '--figures=false', *EXTRA.value]
  print(' '.join(command), flush=True)
  start = time.perf_counter()
  subprocess.run(command, check=True, cwd=ROOT)
  wall = time.perf_counter() - start
  with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
    summary = json.load(f)
  final = summary['final']
  scores = {f'final ({final["kind"]}, {len(final["members"])})': final['test']}
  for name, b in summary['baselines'].items():
    if 'test' in b and np.isfinite(b['test'].get('owa', np.nan)):
      scores[name] = b['test']
  return scores, kept, wall


def print_table(scores: dict) -> None:
  for name, s in scores.items():
    print(f'  {name:<24} ' + '  '.join(f'{m} {s[m]:.4f}' for m in METRICS))


def main(argv):
  del argv
  flagfile = FLAGFILE.value or os.path.join(ROOT, 'experiments', 'flagfiles',
                                            f'{PANEL.value}.flags')
  horizon = horizon_of(flagfile)
  try:
    backs = sorted({int(b) for b in BACK.value})
  except ValueError:
    raise SystemExit(f'--back: {",".join(BACK.value)} is not a list of integers') from None
  if not backs or min(backs) < 0:
    raise SystemExit(f'--back: {",".join(BACK.value)}: give origins 0 or more')
  results = {}
  for back in backs:
    results[back] = run_origin(flagfile, horizon, back)
  rule = " ".join(EXTRA.value) or "the flagfile as written"
  for back, (scores, kept, wall) in results.items():
    print(f'\n{PANEL.value}, origin {back}: {kept} series, {horizon} points held out '
          f'{back * horizon} before the end of train ({rule}); {wall:.0f} s')
    print_table(scores)
  if len(results) > 1:
    # The final model's name carries its size, which can differ between origins.
    mean = {}
    for scores, _, _ in results.values():
      for name, s in scores.items():
        key = 'final' if name.startswith('final') else name
        mean.setdefault(key, []).append([s[m] for m in METRICS])
    print(f'\n{PANEL.value}, mean over origins {",".join(map(str, backs))} ({rule})')
    print_table({name: dict(zip(METRICS, np.mean(v, axis=0))) for name, v in mean.items()
                 if len(v) == len(results)})


if __name__ == '__main__':
  app.run(main)
