"""The hyperparameter schedules PBT found: each member's values against training step, from
metrics.jsonl's PBT records (`pbt_records`, and the copies they make: `pbt_lineage`)."""

import collections
import json
import os

import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import style
from rnnjax.results import files
from rnnjax.search import plan as search_plan
from rnnjax.search.strategies import lineage

TOP_K = 3
LOG_SCALED = ('learning_rate', 'weight_decay')


def pbt_records(table: load.Table) -> list:
  """metrics.jsonl's PBT records (splits 'lineage' and 'hparams'), in file order."""
  path = os.path.join(table.workdir, files.METRICS)
  out = []
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      for line in f:
        if '"hparams"' in line or '"lineage"' in line:  # Skips most lines unparsed.
          r = json.loads(line)
          if r.get('split') in ('hparams', 'lineage'):
            out.append(r)
  return out


def pbt_lineage(table: load.Table) -> lineage.Lineage:
  """The sweep's PBT copies (search/strategies/lineage.py), read from metrics.jsonl."""
  return lineage.Lineage(lineage.of_records(pbt_records(table)))


def plot_schedules(table: load.Table, out_dir: str, *, log=print) -> list:
  """Writes pbt_schedules.png/pdf: one panel per explored hyperparameter, every member's
  value over training as a step function (faint): from the member's own (plan), changed
  where metrics.jsonl records an exploit (split 'hparams'). In colour, for the top
  members with weights of their own (a copy holding a better-ranked one's best weights
  is passed over), the schedule that trained their best weights (search/strategies/lineage.py), to
  their best step (a dot)."""
  records = pbt_records(table)
  changes = collections.defaultdict(list)  # (uid, name) -> [(step, value)]
  for r in records:
    if r['split'] == 'hparams':
      changes[(r['uid'], r['metric'])].append((r['step'], r['value']))
  names = sorted({name for _, name in changes})
  if not names:
    log('figures: PBT schedules skipped (no PBT decisions in metrics.jsonl)')
    return []
  last_step = max(m['steps'] for m in table.members) or 1
  with open(os.path.join(table.workdir, files.PLAN), encoding='utf-8') as f:
    initial = {m['uid']: m['hparams'] for m in search_plan.members_of_json(json.load(f))}
  top = top_schedules(table, pbt_lineage(table), initial)
  with style.context():
    fig = style.new_figure(style.COLUMN_WIDTH, 1.5 + 1.2 * len(names))
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True))
    for ax, name in zip(axes, names):
      for uid, start in initial.items():  # Every row, copies too.
        points = [(0, _initial(start, name))]
        points += sorted(changes[(uid, name)])
        steps = [s for s, _ in points] + [last_step]
        values = [v for _, v in points] + [points[-1][1]]
        ax.step(steps, values, where='post', lw=0.5, color=style.FAINT, alpha=0.4)
      # As the learning curves: the best widest, each lower-ranked one narrower and
      # above it, so that schedules sharing steps each show at their edges.
      for k, (uid, (row, best_step), schedule) in reversed(list(enumerate(top))):
        color = style.OKABE_ITO[k % len(style.OKABE_ITO)]
        values = [_initial(v, name) for _, v in schedule]
        ax.step([s for s, _ in schedule] + [best_step], values + values[-1:], where='post',
                lw=1.2 + 1.1 * (len(top) - 1 - k), zorder=3 + k, color=color,
                label=f'{table.ranking.index(uid) + 1}. uid {uid}'
                      + (f' (weights of uid {row})' if row != uid else ''))
        ax.plot([best_step], values[-1:], 'o', ms=3, color=color, zorder=4 + len(top))
      values = [v for (_, n), pts in changes.items() if n == name for _, v in pts]
      if name in LOG_SCALED and values and min(values) > 0:
        ax.set_yscale('log')
      ax.set_ylabel(labels.label(name))
    axes[-1].set_xlabel('training step')
    handles, names = axes[0].get_legend_handles_labels()
    axes[0].legend(handles[::-1], names[::-1], loc='best', fontsize=6)  # Rank order.
    style.note(fig, 'Population-based training: each grey line is one member\'s value; '
               'it changes when the member copies a better one and perturbs its values. '
               f'Colour: the values that trained the best weights of the top {len(top)} '
               'members with weights of their own, to their best step (dot).',
               style.COLUMN_WIDTH)
    paths = style.save(fig, out_dir, 'pbt_schedules')
  log(f'figures: wrote {paths[0]}')
  return paths


def top_schedules(table: load.Table, tree, initial: dict, k: int = TOP_K) -> list:
  """[(uid, (row, best step), schedule)] of the first `k` ranked members whose best
  weights no better-ranked member holds: the row that trained them, and the values it
  trained them under (tree: lineage.Lineage; initial: uid -> plan values)."""
  by_uid = {m['uid']: m for m in table.members}
  top, seen = [], set()
  for uid in (u for u in table.ranking if u in by_uid):  # A copy left out: load.py.
    trained = (by_uid[uid].get('best_of', uid), by_uid[uid]['best_step'])
    if trained not in seen and len(top) < k:
      seen.add(trained)
      top.append((uid, trained, tree.schedule(*trained, initial.get)))
  return top


def _initial(hparams, name):
  """A member's value before its first change, from its plan values."""
  if name in hparams:
    return float(hparams[name])
  if name.startswith('dropout_'):
    return float(hparams.get('dropout', np.nan))
  return np.nan
