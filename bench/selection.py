r"""How well validation picks on a finished sweep: every member scored on val AND test.

  python -m bench.selection --workdir=runs/quickstart [--workdir=...]

Run by hand, for BUILD_NOTES.md only: it reads TEST for every member, which the sweep
itself never does (TEST never chooses). Restores the sweep's last checkpoint and prints
one JSON line per work directory: the Spearman rank correlation between the members'
validation and test selection metrics (at their best parameters), and between the
configurations' mean validation (over seeds, and folds) and their mean test; the test
figure of the single best member, of the top-k ensembles for k in K, of the final model
the sweep chose (summary.json), and the baselines.
"""

import argparse
import json
import os

import numpy as np

from rnnjax.engine import tasks
from rnnjax.final.choice import ensemble
from rnnjax.results import files
from rnnjax.results import summary_file
from rnnjax.run import checkpoint
from rnnjax.run import prepare
from rnnjax.run import resume
from rnnjax.search import spec as spec_lib

K = (1, 3, 5, 10, 16, 32)


def _ranks(values):
  order = np.argsort(values, kind='stable')
  ranks = np.empty(len(values))
  ranks[order] = np.arange(len(values))
  return ranks


def spearman(a, b) -> float:
  """Rank correlation (ties broken by order; the metrics here have none)."""
  return float(np.corrcoef(_ranks(np.asarray(a)), _ranks(np.asarray(b)))[0, 1])


def measure(workdir: str) -> dict:
  saved = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  spec = spec_lib.SweepSpec(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in saved.items()})
  summary = summary_file.read_summary(workdir)
  prepared = prepare.prepare(spec)
  mngr = checkpoint.manager(workdir)
  trees, progress = checkpoint.restore_latest(
      mngr, lambda p: resume.abstract(prepared, p))
  mngr.close()
  runs, where = [], {}
  for r, run in enumerate(prepared.runs):
    state, hp = trees.get(str(r), (None, run.hp))
    uids = tuple(progress['uids'][r])
    runs.append(run.__class__(run.bucket, run.cfg, uids, hp, run.data_key, state))
    if state is not None:
      where.update({u: (r, i) for i, u in enumerate(uids) if u >= 0})
  task = tasks.TASKS[spec.task]
  splits = {k: prepare.device_data(d, ('val', 'test'), prepared.mesh)
            for k, d in prepared.datas.items()}
  fold_of = {m['uid']: m.get('fold', 0) for m in summary['members']}
  # With folds, the last fold's members (the usual split): the others' test windows
  # are scaled by their own folds' statistics.
  uids = sorted(u for u in where if fold_of[u] == spec.folds - 1)
  cfg = runs[where[uids[0]][0]].cfg
  key = runs[where[uids[0]][0]].data_key
  outs = {s: ensemble.pool_outputs(runs, where, uids, splits, s, prepared.mesh)
          for s in ('val', 'test')}
  score = lambda s, o: {k: float(v) for k, v in task.score(cfg, o, splits[key][s]).items()}
  val = np.asarray([score('val', o)[task.selection] for o in outs['val']])
  test = np.asarray([score('test', o)[task.selection] for o in outs['test']])
  finite = np.isfinite(val) & np.isfinite(test)
  order = [i for i in np.argsort(val, kind='stable') if finite[i]]
  top = {k: score('test', outs['test'][order[:k]].astype(np.float64).mean(0))[task.display]
         for k in K if k <= len(order)}
  # Configurations: their mean validation over seeds (and folds), as the summary ranks
  # them, against their last-fold members' mean test.
  test_of = dict(zip(uids, test))
  cv, cv_test = [], []
  for c in summary['configs']:
    tests = [test_of[u] for u in c['uids'] if u in test_of and np.isfinite(test_of[u])]
    if c['val'][task.selection]['mean'] is not None and tests:
      cv.append(c['val'][task.selection]['mean'])
      cv_test.append(np.mean(tests))
  return {'workdir': workdir, 'members': len(uids), 'folds': spec.folds,
          'spearman_val_test': spearman(val[finite], test[finite]),
          'spearman_configs_val_test': spearman(cv, cv_test) if len(cv) > 2 else None,
          'single_best_test': top[1], 'top_k_test': top,
          'final': {k: summary['final'][k] for k in ('kind', 'members', 'test')},
          'baselines_test': {n: b['test'].get(task.display)
                             for n, b in summary['baselines'].items()}}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', action='append', required=True)
  for workdir in parser.parse_args().workdir:
    print(json.dumps(measure(workdir)), flush=True)


if __name__ == '__main__':
  main()
