"""Search strategies at equal compute: best validation metric against member-steps."""

import numpy as np

from rnnjax.figures import style


# Searches can share their first draws (random and PBT start alike), so their lines
# coincide: each has its own dashes and marker, markers staggered along the line, and
# the earlier ones drawn wider beneath.
LINESTYLES = ('-', '--', ':', '-.', (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
MARKERS = ('o', 's', '^', 'D', 'v', 'P')
MARKS = 6  # Markers per line, about.
# Where the lines over the last half of the budget take less than this share of the y
# axis (early draws far worse than the levels they end at), an inset enlarges them.
ZOOM_SHARE = 0.25


def plot(out: dict, out_dir: str) -> list:
  """One line per strategy: the median over search seeds of the best validation metric
  found so far, against member-steps spent; the band spans the seeds (min to max)."""
  spent = [r['curve'][0][-1] for r in out['runs'].values() if len(r['curve'][0])]
  # Every line runs on to the right edge, so that a last step (the best found at the
  # last evaluation) shows as a level, not a drop at the edge.
  right = 1.05 * max(spent) if spent else None
  with style.context():
    fig = style.new_figure(height=2.4)
    ax = fig.add_subplot()
    drawn = []  # (grid, median, lo, hi, its look) of each search, for the inset.
    for k, (strategy, row) in enumerate(out['table'].items()):
      curves = [r['curve'] for r in out['runs'].values() if r['strategy'] == strategy]
      if not curves or not any(len(x) for x, _ in curves):
        continue
      grid = np.unique(np.concatenate([x for x, _ in curves if len(x)] + [[right]]))
      # Each seed's best-so-far as a step function of member-steps (NaN before its
      # first evaluation).
      ys = np.array([[np.asarray(y)[np.searchsorted(x, g, side='right') - 1]
                      if len(x) and g >= x[0] else np.nan for g in grid]
                     for x, y in curves], float)
      colour = style.OKABE_ITO[k % len(style.OKABE_ITO)]
      with np.errstate(all='ignore'):
        median = np.nanmedian(ys, axis=0)
        lo, hi = np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
      every = max(1, len(grid) // MARKS)
      # Staggered between searches; none at the right edge, where a marker is half cut.
      marks = list(range(k * every // max(len(out['table']), 1), len(grid) - 1, every))
      # Earlier searches wider and beneath: where lines coincide, each shows around the
      # next (hollow markers nest).
      wider = len(out['table']) - 1 - k
      look = dict(color=colour, ls=LINESTYLES[k % len(LINESTYLES)], lw=1.0 + 0.2 * wider,
                  zorder=2 + k)
      _draw(ax, grid, median, lo, hi, look, marker=MARKERS[k % len(MARKERS)],
            ms=2.5 + 0.6 * wider, mfc='none', markevery=marks,
            label=f'{strategy} ({row["median_best_val"]:.4g})')
      drawn.append((grid, median, lo, hi, look))
    if right is not None:
      ax.set_xlim(right=right)
    ax.set_xlabel('member-steps spent')
    ax.set_ylabel(f'best validation {out["metric"]}')
    finite = [v for row in out['table'].values() for v in row['best_vals']
              if np.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 20:
      ax.set_yscale('log')
    zoomed = _zoom(ax, drawn)
    # Above the axes: inside, it covers the lines that end high.
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, title='search (median best)', loc='outside upper center',
               ncols=min(len(handles), 3))
    seeds = len({r['seed'] for r in out['runs'].values()})
    # A search that spent less than the budget (a grid's points, halving's rungs, TPE's
    # rounds) still runs on to the right edge: say so, lest its line read as the budget
    # spent.
    budget = out['budget_member_steps']
    short = []
    for strategy in out['table']:
      ends = [r['curve'][0][-1] for r in out['runs'].values()
              if r['strategy'] == strategy and len(r['curve'][0])]
      if ends and np.median(ends) < budget:
        short.append(f'{strategy} {np.median(ends):.0f}')
    spent = (f'; spent less: {", ".join(short)} (median; past that a line holds its last '
             'value)' if short else ' each')
    over = (f'Median over {seeds} search seeds, band: min to max' if seeds > 1 else
            'One search seed')
    inset = (' Inset: the last half of the budget, its y axis enlarged.' if zoomed else '')
    style.note(fig, f'{over}. Budget {budget} member-steps{spent}.{inset}',
               style.COLUMN_WIDTH)
    return style.save(fig, out_dir, 'comparison')


def _draw(ax, grid, median, lo, hi, look: dict, **marks) -> None:
  """One search's median line (`look`: its colour, dashes, width and depth; `marks`:
  its markers and label, where drawn) and its band, as steps."""
  ax.step(grid, median, where='post', **look, **marks)
  ax.fill_between(grid, lo, hi, step='post', color=look['color'], alpha=0.15, linewidth=0)


def _zoom(ax, drawn: list) -> bool:
  """Where the lines and bands over the last half of the x axis take under ZOOM_SHARE of
  the y axis (early draws far worse than where the searches end, which then share one
  band of the axis), draws them again in an inset over the empty half of that part, its
  y range theirs; returns whether it did."""
  x0, x1 = ax.get_xlim()
  cut = (x0 + x1) / 2
  values = []
  for grid, median, lo, hi, _ in drawn:
    # From the level each holds at the cut to the right edge.
    at = max(np.searchsorted(grid, cut, side='right') - 1, 0)
    values += [median[at:], lo[at:], hi[at:]]
  values = np.concatenate(values) if values else np.array([])
  log = ax.get_yscale() == 'log'
  values = values[np.isfinite(values) & ((values > 0) if log else True)]  # As drawn.
  if not values.size:
    return False
  scale, unscale = (np.log10, lambda v: 10 ** v) if log else (lambda v: v, lambda v: v)
  y0, y1 = (scale(v) for v in ax.get_ylim())
  low, high = scale(values.min()), scale(values.max())
  if (high - low) >= ZOOM_SHARE * (y1 - y0):
    return False
  # Over the half of that part's y range the lines leave empty.
  below = (low + high) / 2 < (y0 + y1) / 2
  inset = ax.inset_axes([0.5, 0.4 if below else 0.05, 0.48, 0.55])
  for grid, median, lo, hi, look in drawn:
    _draw(inset, grid, median, lo, hi, look)  # Without markers: the inset is small.
  inset.set_yscale(ax.get_yscale())
  pad = 0.08 * ((high - low) or abs(high) or 1.0)  # On the axis's scale, as drawn.
  inset.set_xlim(cut, x1)
  inset.set_ylim(unscale(low - pad), unscale(high + pad))
  # Its x axis is the main one's right half (the lines to the box show where): unlabelled,
  # lest its labels fall on the box. Framed all round, to read as a panel of its own.
  inset.tick_params(labelsize=6, labelbottom=False)
  inset.spines[['top', 'right']].set_visible(True)
  ax.indicate_inset_zoom(inset, edgecolor='0.4')
  return True
