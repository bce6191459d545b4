"""Learning curves: read from metrics.jsonl (or a large sweep's metrics/*.npz: `curves`,
and after PBT the rows that trained a member's best weights: `weights_curve`), and drawn:
every member faint, the top k in colour."""

import functools
import json
import math
import os
import textwrap

from matplotlib import collections as mcollections
import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures import style
from rnnjax.figures.plots import schedules
from rnnjax.results import evaluations
from rnnjax.results import files

TOP_K = 5


def _float(v) -> float:
  return math.nan if v is None else float(v)


@functools.lru_cache(maxsize=4)
def _records(path: str, mtime: float, split: str):
  del mtime  # Part of the cache key only.
  out = {}
  with open(path, encoding='utf-8') as f:
    for line in f:
      if f'"{split}"' not in line:  # Skips most lines without parsing them.
        continue
      r = json.loads(line)
      if r.get('split') == split:
        out.setdefault(r['metric'], {}).setdefault(r['uid'], []).append(
            (r['step'], _float(r['value'])))
  return out


def curves(table: load.Table, metric: str, split: str = 'val') -> dict:
  """uid -> (<int>[S] steps, <float64>[S] values) from metrics.jsonl, or from the
  chunk files a large sweep writes instead (evaluations.py); {} when neither has any."""
  out = evaluations.curves(table.workdir, split, metric)
  path = os.path.join(table.workdir, files.METRICS)
  if not os.path.exists(path):
    return out
  by_uid = _records(path, os.path.getmtime(path), split).get(metric, {})
  for uid, points in by_uid.items():
    points = sorted(dict(points).items())  # A resumed chunk may repeat a step.
    out[uid] = (np.array([p[0] for p in points]), np.array([p[1] for p in points]))
  return out


def weights_curve(table: load.Table, member: dict, data: dict, tree) -> tuple:
  """(steps, values) of the rows that trained a member's best weights, to its best step
  (`data`: `curves`; tree: lineage.Lineage of the sweep's copies): each row's own
  evaluations from the copy that started it (after it: a copy follows its step's
  evaluation) to the next. Without copies, the member's own curve to its best step."""
  chain = tree.chain(member.get('best_of', member['uid']), member['best_step'])
  ends = [since for _, since in chain[:-1]][::-1] + [member['best_step']]
  starts = [-1] + ends[:-1]
  steps, values = [], []
  for (uid, _), start, end in zip(chain[::-1], starts, ends):
    s, v = data.get(uid, (np.zeros(0, int), np.zeros(0)))
    keep = (s > start) & (s <= end)
    steps.append(s[keep])
    values.append(v[keep])
  return np.concatenate(steps), np.concatenate(values)


def _describe(table: load.Table, uid: int) -> str:
  member = next(m for m in table.members if m['uid'] == uid)
  parts = []
  for name, axis in table.axes.items():  # One form per axis: lr=3e-3 beside lr=3e-2.
    value = member['hparams'][name]
    form = dict(zip(axis.values, labels.fmt_all(axis.values)))
    parts.append(f'{labels.short(name)}={form.get(value, labels.fmt(value))}')
  return f'uid {uid}' + (': ' + ', '.join(parts) if parts else '')


LEGEND_FONT = 6  # points


def _wrap(text: str, width_in: float = style.COLUMN_WIDTH) -> str:
  """A legend entry broken at its commas into lines that fit `width_in` inches beside
  its handle (0.55 em a character, as style.legend_columns estimates; 0.5 in for the
  handle and margins), later lines indented."""
  chars = int((width_in - 0.5) / (0.55 * LEGEND_FONT / 72))
  return '\n'.join(textwrap.wrap(text, width=chars, subsequent_indent='    ',
                                  break_long_words=False))


def view_cut(finite: np.ndarray, higher: bool) -> float:
  """Where the view of `finite` values is cut: a few exploding (or, where higher is
  better, collapsing) members would flatten everyone else, so the worse end's 2 % of the
  points are left out, rounded down (of fewer than 50 points none; 1 of 50, 2 of 100),
  at a value of the data (ties with it are kept)."""
  worst, ordered = int(0.02 * finite.size), np.sort(finite)
  return float(ordered[worst] if higher else ordered[finite.size - 1 - worst])


def plot_learning_curves(table: load.Table, out_dir: str, *, top_k: int = TOP_K,
                         log=print) -> list:
  """Writes learning_curves.png/pdf; returns the paths ([] without val records)."""
  metric = table.shown
  data = curves(table, metric)
  if not data:
    metric = table.metric
    data = curves(table, metric)
  if not data:
    log('figures: learning curves skipped (no validation records in metrics.jsonl or '
        'metrics/*.npz)')
    return []
  members = {m['uid']: m for m in table.members}  # After PBT, copies left out (load.py).
  # After PBT, a top member's curve is that of the rows that trained its best weights.
  tree = schedules.pbt_lineage(table) if table.search == 'pbt' else None
  top, drawn, unseen = [], {}, 0
  for uid in (u for u in table.ranking if u in data and u in members):
    curve = weights_curve(table, members[uid], data, tree) if tree else data[uid]
    if not np.isfinite(curve[1]).any():
      unseen += 1  # Diverged before its first evaluation: ranked by its initial weights.
      continue
    top.append(uid)
    drawn[uid] = curve
    if len(top) == top_k:
      break
  finite = np.concatenate([v[np.isfinite(v)] for _, v in data.values()])
  if not finite.size:
    log(f'figures: learning curves skipped (no finite validation {metric})')
    return []
  higher = (table.shown_mode if metric == table.shown else table.mode) == 'max'
  cut = view_cut(finite, higher)
  shown = finite[finite >= cut] if higher else finite[finite <= cut]
  log_y = member_values.scale_of(shown) == 'log'
  # A member stopped at its first evaluation has no line to draw: a grey dot instead.
  points = {uid: int(np.isfinite(v).sum()) for uid, (_, v) in data.items() if uid not in top}
  grey = sum(n > 1 for n in points.values())
  dots = [uid for uid, n in points.items() if n == 1]
  members = f'the other {grey} member{"s" if grey != 1 else ""}'
  # A member that diverged after its first evaluation has one point too.
  status = {m['uid']: m.get('status') for m in table.members}
  lost = sum(status.get(uid) == 'diverged' for uid in dots)
  their = 'their' if len(dots) != 1 else 'its'
  why = (f'stopped at {their} first' if not lost else f'diverged after {their} first'
         if lost == len(dots) else f'{len(dots) - lost} stopped at, {lost} diverged after '
         'their first')
  dotted = (f'{len(dots)} other member{"s" * (len(dots) != 1)} with one evaluation ({why}), '
            'as dots')
  others = (f'{members} with more than one evaluation; {len(dots)} with one ({why}), as dots'
            if dots and grey else dotted if dots else members)
  note = ((f'Grey: {others}; c' if grey or dots else 'C') + f'olour: the top '
          f'{len(top)} by validation {table.metric} (best checkpoint), ranked.')
  if member_values.num_folds(table.members) > 1:
    # With --folds the ranking holds each configuration's last fold (the usual split);
    # its other folds are among the grey.
    note = ((f'Grey: {others}, the configurations\' other folds among them; c'
             if grey or dots else 'C') + f'olour: the top {len(top)} members on the last '
            f'fold (the usual split), ranked by their configuration\'s mean validation '
            f'{table.metric} over its seeds and folds.')
  if tree is not None:
    note = (f'PBT. Grey: each member\'s own curve; colour: the top {len(top)} with '
            'weights of their own (ranked), along the rows that trained those weights.')
  if unseen:
    note += (f' {unseen} member(s) ranked among them not drawn: diverged before their first '
             'evaluation, they are ranked by their initial weights.')
  if top and labels.short_key(table.axes):  # The legend's names.
    note += ' ' + labels.short_key(table.axes)
  low, high = member_values.view_limits(shown, log_y)
  outside = int(((finite < low) | (finite > high)).sum())
  if outside:
    note += (f' View cut at the {"2nd" if higher else "98th"} percentile: {outside} '
             f'point(s) {"below" if higher else "above"} it not shown.')
  # The caption's lines take height from the axes and the legend's row: give it back.
  lines = len(textwrap.wrap(note, width=int(style.COLUMN_WIDTH * 17)))
  # Each entry wrapped to the column (a long configuration ran past the right edge, and
  # the legend's row is left out of the layout): its lines set the row's height.
  entries = {uid: _wrap(f'{table.ranking.index(uid) + 1}. {_describe(table, uid)}')
             for uid in top}
  rows = sum(e.count('\n') + 1 for e in entries.values())
  height = 2.4 + 0.14 * rows + 0.1 * max(lines - 2, 0)
  with style.context():
    fig = style.new_figure(style.COLUMN_WIDTH, height)
    # The legend gets its own row so that it never covers the curves or the caption.
    ax, legend_ax = fig.subplots(2, 1, height_ratios=[2.0, 0.13 * rows + 0.01])
    legend_ax.axis('off')
    # One collection, not a line per member: a large sweep has 100,000.
    ax.add_collection(mcollections.LineCollection(
        [np.column_stack(curve) for uid, curve in data.items() if uid not in top],
        colors=style.FAINT, linewidths=0.5, alpha=0.35, zorder=1))
    if dots:
      alone = [data[uid] for uid in dots]
      ax.scatter([s[np.isfinite(v)][0] for s, v in alone],
                 [v[np.isfinite(v)][0] for _, v in alone], s=4, color=style.FAINT,
                 alpha=0.6, linewidths=0, zorder=1)
    # The best widest, each lower-ranked line narrower and above it: curves that
    # coincide (a classifier's members at accuracy 1.0) each still show at its edges.
    for k, uid in reversed(list(enumerate(top))):
      steps, values = drawn[uid]
      wider = len(top) - 1 - k
      ax.plot(steps, values, color=style.OKABE_ITO[k % len(style.OKABE_ITO)],
              lw=1.0 + 0.4 * wider, marker='o' if len(steps) <= 12 else None,
              ms=2.5 + 0.8 * wider, zorder=3 + k, label=entries[uid])
    if log_y:
      ax.set_yscale('log')
    ax.set_ylim(low, high)
    ax.set_xlabel('training step')
    ax.set_ylabel(f'val {metric}')
    if top:
      handles, names = ax.get_legend_handles_labels()
      legend = legend_ax.legend(handles[::-1], names[::-1], loc='upper left', ncols=1,
                                fontsize=LEGEND_FONT, borderaxespad=0)
      legend.set_in_layout(False)  # Its row is sized for it already.
    style.note(fig, note, style.COLUMN_WIDTH)
    paths = style.save(fig, out_dir, 'learning_curves')
  log(f'figures: wrote {paths[0]}')
  return paths
