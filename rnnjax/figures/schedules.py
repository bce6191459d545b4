"""The hyperparameter schedules PBT found: each member's values against training step."""

import collections
import json
import os

import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import style
from rnnjax.results import files
from rnnjax.search import plan as search_plan

TOP_K = 3
LOG_SCALED = ('learning_rate', 'weight_decay')


def plot_schedules(table: load.Table, out_dir: str, *, log=print) -> list:
  """Writes pbt_schedules.png/pdf: one panel per explored hyperparameter, every member's
  value over training as a step function (faint), the top members' in colour. Values
  start from the member's own (plan) and change where metrics.jsonl records an
  exploit (split 'hparams')."""
  path = os.path.join(table.workdir, files.METRICS)
  changes = collections.defaultdict(list)  # (uid, name) -> [(step, value)]
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      for line in f:
        if '"hparams"' in line:
          r = json.loads(line)
          if r['split'] == 'hparams':
            changes[(r['uid'], r['metric'])].append((r['step'], r['value']))
  names = sorted({name for _, name in changes})
  if not names:
    log('figures: PBT schedules skipped (no PBT decisions in metrics.jsonl)')
    return []
  last_step = max(m['steps'] for m in table.members) or 1
  with open(os.path.join(table.workdir, files.PLAN), encoding='utf-8') as f:
    initial = {m['uid']: m['hparams'] for m in search_plan.members_of_json(json.load(f))}
  top = list(table.ranking[:TOP_K])
  with style.context():
    fig = style.new_figure(style.COLUMN_WIDTH, 1.5 + 1.2 * len(names))
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    for ax, name in zip(axes, names):
      for member in table.members:
        uid = member['uid']
        points = [(0, _initial(initial.get(uid, member['hparams']), name))]
        points += sorted(changes[(uid, name)])
        steps = [s for s, _ in points] + [last_step]
        values = [v for _, v in points] + [points[-1][1]]
        if uid in top:
          rank = top.index(uid)
          ax.step(steps, values, where='post', lw=1.3, zorder=3,
                  color=style.OKABE_ITO[rank % len(style.OKABE_ITO)],
                  label=f'{rank + 1}. uid {uid}')
        else:
          ax.step(steps, values, where='post', lw=0.5, color=style.FAINT, alpha=0.4)
      values = [v for (_, n), pts in changes.items() if n == name for _, v in pts]
      if name in LOG_SCALED and values and min(values) > 0:
        ax.set_yscale('log')
      ax.set_ylabel(labels.SHORT.get(name, name).replace('_', ' '))
    axes[-1].set_xlabel('training step')
    axes[0].legend(loc='best', fontsize=6)
    style.note(fig, 'Population-based training: each line is one member\'s value; it '
               'changes when the member copies a better one and perturbs its values. '
               f'Colour: the top {len(top)} members at the end.', style.COLUMN_WIDTH)
    paths = style.save(fig, out_dir, 'pbt_schedules')
  log(f'figures: wrote {paths[0]}')
  return paths


def _initial(hparams, name):
  """A member's value before its first change, from its plan values."""
  if name in hparams:
    return float(hparams[name])
  if name.startswith('dropout_'):
    return float(hparams.get('dropout', np.nan))
  return np.nan
