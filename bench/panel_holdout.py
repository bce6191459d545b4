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
EXTRA = flags.DEFINE_list('extra', [], 'More flags for the sweep, e.g. '
                          '--extra=--ensemble=fixed,--ensemble_size=24.')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def horizon_of(flagfile: str) -> int:
  """The flagfile's --horizon."""
  with open(flagfile, encoding='utf-8') as f:
    found = re.findall(r'^--horizon=(\d+)\s*$', f.read(), flags=re.M)
  if not found:
    raise SystemExit(f'--sweep_flagfile: {flagfile} sets no --horizon')
  return int(found[-1])


def split_train(train_csv: str, horizon: int, root: str) -> tuple[str, str, int]:
  """(development train CSV, its test CSV, series kept): each series of `train_csv`
  less its last `horizon` rows, and those rows; series of `horizon` points or fewer
  are left out (the sweep handles the short ones that remain as it would a user's)."""
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
      if len(lines) <= horizon:
        continue
      kept += 1
      tr.writelines(lines[:-horizon])
      te.writelines(lines[-horizon:])
  return paths[0], paths[1], kept


def main(argv):
  del argv
  flagfile = FLAGFILE.value or os.path.join(ROOT, 'experiments', 'flagfiles',
                                            f'{PANEL.value}.flags')
  horizon = horizon_of(flagfile)
  root = tempfile.mkdtemp(prefix=f'holdout_{PANEL.value}_')
  train, test, kept = split_train(
      os.path.join(ROOT, 'rnnjax', 'data', 'panels', f'{PANEL.value}_train.csv'), horizon,
      root)
  workdir = WORKDIR.value or os.path.join(root, 'run')
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
  print(f'\n{PANEL.value}, {kept} series, the last {horizon} points of train held out '
        f'({" ".join(EXTRA.value) or "the flagfile as written"}); {wall:.0f} s')
  line = lambda name, s: print(f'  {name:<24} ' + '  '.join(
      f'{m} {s[m]:.4f}' for m in ('smape', 'mase', 'owa')))
  line(f'final ({final["kind"]}, {len(final["members"])})', final['test'])
  for name, b in summary['baselines'].items():
    if 'test' in b and np.isfinite(b['test'].get('owa', np.nan)):
      line(name, b['test'])


if __name__ == '__main__':
  app.run(main)
