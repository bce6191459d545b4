"""Heatmaps of the validation metric over two hyperparameters at a time.

Each square is the mean, over the configurations that fall in it (every other
hyperparameter), of each one's mean over seeds: a geometric mean where the sweep's figures
draw the metric on a log scale (member_values.metric_scale), so that one bad configuration
does not outweigh the rest, as the sensitivity figure's binned means and importance's
analysis of logs weigh it; drawn axes are cut into quantile bins. The heatmaps of a
sweep share one colour scale (`colour_span`): it spans their squares within a factor of
20 of the middle half of them (member_values.typical), so that one colour is one value
in each; a square beyond, such as one whose configuration exploded to 2e16 beside the
rest at 3000-5000, keeps its number in the scale's end colour, and the caption counts
them. The
square holding the best configuration is outlined (member_values.best_config: as the sweep
ranks, the fewest seeds without a finite value, then the best mean over seeds; the
sensitivity figure's star and the table's bold row are the same one), so that one lucky
seed does not outline a configuration whose mean is poor; with one seed, it is the best
member's. Where each square holds one configuration, that is the best square drawn, unless
a seed without a finite value, or the mean of the metric that ranks (the MSE beside the
RMSE drawn), orders it otherwise. A diverged member counts at the best value it reached
before diverging, as the sweep ranks it. (Captions say "square", not "cell": the RNN cell
is often one of the axes.) The metric drawn is the one the sweep shows (load.Table.shown),
which orders members as its ranking does (see engine/tasks/).
"""

from matplotlib import colors as mcolors
from matplotlib import patches
import matplotlib
import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures import style

MAX_BINS = 5
MAX_ANNOTATED = 80


def _levels(axis: load.AxisInfo, column: list) -> tuple:
  """(tick labels, <int>[N] level of each value): listed values; on a drawn axis, a level
  per value where it has at most MAX_BINS, else bins between quantiles of its distinct
  values, so that values many members share (PBT's copies keep their grid's values) do
  not make edges that tie and leave a single bin."""
  if not axis.continuous:
    return labels.fmt_all(axis.values), np.array([axis.values.index(v)
                                                            for v in column])
  x = np.array(column, np.float64)
  distinct = np.unique(x)
  if len(distinct) <= MAX_BINS:
    return labels.fmt_all(list(distinct)), np.searchsorted(distinct, x)
  t = np.log(x) if axis.scale == 'log' else x
  num_bins = int(min(MAX_BINS, max(2, len(distinct) // 4)))
  edges = np.unique(np.quantile(np.unique(t), np.linspace(0, 1, num_bins + 1)))
  level = np.clip(np.searchsorted(edges, t, side='right') - 1, 0, len(edges) - 2)
  # A bin's label: its members' median value (where members crowd at a value, that one).
  centres = np.array([np.median(t[level == k]) if (level == k).any() else
                      (edges[k] + edges[k + 1]) / 2 for k in range(len(edges) - 1)])
  centres = np.exp(centres) if axis.scale == 'log' else centres
  if axis.kind == 'randint':
    centres = np.round(centres).astype(int)
  return [f'~{c}' for c in labels.fmt_all(list(centres), digits=2)], level


def cells(table: load.Table, a: str, b: str) -> tuple:
  """(row labels, column labels, <float64>[R, C] grid of square means (NaN: none;
  geometric where the metric's scale is log) of its configurations' means over seeds
  (member_values.config_stats), the (row, column) of the best configuration
  (member_values.best_config) or None, <bool>[N] members used)."""
  stats, ok = member_values.config_stats(table), member_values.usable(table)
  log = member_values.metric_scale(table)[0] == 'log'
  transform, back = (np.log, np.exp) if log else (lambda v: v, lambda v: v)
  everyone = [m['hparams'] for m in table.members]
  rows, row_of = _levels(table.axes[a], [h[a] for h in everyone])
  cols, col_of = _levels(table.axes[b], [h[b] for h in everyone])
  total, count = np.zeros((len(rows), len(cols))), np.zeros((len(rows), len(cols)))
  for c in stats:
    i, j = row_of[c['members'][0]], col_of[c['members'][0]]
    total[i, j] += transform(c['mean'])
    count[i, j] += 1
  grid = np.where(count > 0, back(total / np.maximum(count, 1)), np.nan)
  if not stats:
    return rows, cols, grid, None, ok
  best = member_values.best_config(stats)['members'][0]
  return rows, cols, grid, (row_of[best], col_of[best]), ok


def colour_span(grids) -> tuple:
  """(low, high) of the colour scale that the heatmaps of `grids` (`cells`' grids)
  share, so that one colour is one value in each of them: the squares of all of them
  within a factor of 20 of their middle half (member_values.typical; a configuration
  that exploded, at 2e16 beside the rest at 3000-5000, would make every other square
  one colour: beyond, a square takes the scale's end colour)."""
  finite = np.concatenate([g[np.isfinite(g)] for g in grids])
  kept = finite[member_values.typical(finite)]
  return float(kept.min()), float(kept.max())


def plot_heatmap(table: load.Table, out_dir: str, a: str, b: str, *, log=print,
                 order: str = '', span: tuple | None = None) -> list:
  """Writes heatmap_A__B.png/pdf for swept axes a (rows) and b (columns); `order`: a
  caption sentence on how the pair was chosen, where not by importance; `span`: the
  colour scale's (low, high) that it shares with the sweep's other heatmaps
  (`colour_span`, said in the caption; None: its own squares')."""
  if not member_values.usable(table).any():
    log(f'figures: heatmap skipped (no member has a finite validation {table.shown})')
    return []
  rows, cols, grid, best, ok = cells(table, a, b)
  if min(grid.shape) < 2:  # E.g. PBT's values binned: a map of one row says nothing.
    log(f'figures: heatmap of {a} x {b} skipped (one level of '
        f'{a if len(rows) < 2 else b} after binning)')
    return []
  finite = grid[np.isfinite(grid)]
  # The sweep's one scale (member_values.metric_scale), not one of this map's squares
  # alone.
  scale, scale_note = member_values.metric_scale(table)
  log_scale = scale == 'log'
  low, high = span or colour_span([grid])
  norm = mcolors.LogNorm(low, high) if log_scale else mcolors.Normalize(low, high)
  # Better is brighter whichever way the metric points.
  cmap = matplotlib.colormaps['viridis_r' if table.shown_mode == 'min' else 'viridis']
  cmap = cmap.with_extremes(bad='#e6e6e6')
  height = float(np.clip(1.3 + 0.32 * len(rows), 2.2, 4.5))
  with style.context():
    fig = style.new_figure(style.COLUMN_WIDTH, height)
    ax = fig.add_subplot()
    ax.grid(False)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, origin='lower',
                      aspect='auto')
    ax.set_xticks(range(len(cols)), labels=cols,
                  rotation=30 if max(len(c) for c in cols) > 5 else 0,
                  ha='right' if max(len(c) for c in cols) > 5 else 'center')
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel(labels.label(b))
    ax.set_ylabel(labels.label(a))
    if grid.size <= MAX_ANNOTATED:
      size = 6 if grid.size <= 36 else 5
      shown = dict(zip(finite.tolist(), labels.fmt_metrics(finite)))
      for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
          ax.text(j, i, shown[float(v)], ha='center', va='center', fontsize=size,
                  color=style.text_colour(cmap(norm(v))))
        else:
          ax.text(j, i, '-', ha='center', va='center', fontsize=size, color='#777777')
    if best is not None:
      ax.add_patch(patches.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1,
                                     fill=False, ec='#D55E00', lw=1.8, zorder=3))
    above, below = finite > high, finite < low
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02,
                       extend=('both' if above.any() and below.any() else
                               'max' if above.any() else 'min' if below.any() else 'neither'))
    bar.set_label(f'val {table.shown} ({"lower" if table.shown_mode == "min" else "higher"}'
                  ' is better)')
    bar.ax.tick_params(labelsize=6)
    dropped = int((~ok).sum())
    scale = labels.SCALES.get((table.task, table.shown))
    if len({m['config'] for m in table.members}) == len(table.members):  # One seed each.
      outlined = ("the best member's" if table.metric == table.shown
                  else f"the best member's (ranked by validation {table.metric})")
    else:  # Over seeds the mean shown may order configurations otherwise than the ranking's.
      fewest = ('' if not dropped else '; fewest '
                f'{"seeds" if member_values.num_folds(table.members) < 2 else "members"} '
                'without a finite value first')
      outlined = ('the one holding the best configuration (best mean validation '
                  f'{table.metric} over its {labels.replicates(table.members)}'
                  f'{", as the sweep ranks" if table.metric != table.shown else ""}{fewest})')
    over = ('members (PBT: each at the values its best weights trained under)'
            if table.search == 'pbt' else labels.replicates(table.members))
    metric = f'validation {table.shown}{f" ({scale})" if scale else ""}'
    text = ((f'Square: geometric mean, over the other hyperparameters, of each '
             f'configuration\'s mean {metric} over {over}' if log_scale else
             f'Square: mean {metric} over {over} and the other hyperparameters')
            + f'; outlined square: {outlined}; grey: no configuration there, or none with a '
            'finite value.')
    if span is not None:
      text += ' One colour scale for every heatmap of this sweep.'
    for out, side, reach in ((above, 'above', 'up to'), (below, 'below', 'down to')):
      if out.any():
        far = finite[out].max() if side == 'above' else finite[out].min()
        text += (f' {int(out.sum())} square(s) {side} the colour scale ({reach} {far:.1e}), '
                 'in its end colour.')
    budgets = labels.budgets(table.members, table.train_steps)
    if budgets:
      text += ' ' + budgets
    diverged = labels.diverged(table)
    if diverged:
      text += ' ' + diverged
    if dropped:
      text += f' {dropped} member(s) without a finite value left out.'
    if scale_note:
      text += ' ' + scale_note
    if order:
      text += ' ' + order
    style.note(fig, text, style.COLUMN_WIDTH)
    paths = style.save(fig, out_dir, f'heatmap_{a}__{b}')
  log(f'figures: wrote {paths[0]}')
  return paths


def plot_heatmaps(table: load.Table, out_dir: str, pairs=None, *, log=print,
                  order: str = '') -> list:
  """One heatmap per pair (default: the first two swept axes), on one colour scale
  (`colour_span`); returns the paths. order: `plot_heatmap`'s."""
  if len(table.axes) < 2:
    log(f'figures: heatmap skipped ({len(table.axes)} swept hyperparameter(s); needs 2)')
    return []
  pairs = pairs or [tuple(list(table.axes)[:2])]
  # The maps drawn (not those of one level after binning) share their squares' span.
  grids = [g for g in ([cells(table, a, b)[2] for a, b in pairs]
                       if member_values.usable(table).any() else []) if min(g.shape) >= 2]
  span = colour_span(grids) if len(grids) > 1 else None
  paths = []
  for a, b in pairs:
    paths += plot_heatmap(table, out_dir, a, b, log=log, order=order, span=span)
  return paths
