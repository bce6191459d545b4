"""Sensitivity: the validation metric against each swept hyperparameter, one panel each.

Listed (grid) axes: at each value, the best configuration's mean over seeds (and folds),
with their min-max as a band (after --folds a seed's replicate is its mean over the
folds, member_values.replicate_values); faint dots are every configuration. Drawn
(random) axes: one dot per configuration and, for a line of at least MIN_BINNED
configurations, a binned mean (geometric on a log scale) of those within a factor of 20 of
the middle half of every configuration's value (member_values.typical), which one that
exploded cannot drag: in one sweep, a configuration at 6e17 lifted its bin's mean from 4e3
to 2e7, and the view with it. One line per value of a grouping axis (hidden size when
swept, else the structural axis with most values). The best configuration
(member_values.best_config: as the sweep ranks, the fewest seeds without a finite value,
then the best mean over seeds; with one seed, the best member) is a hollow star over the
point that draws it, at its mean (after --folds, its cross-validated mean: what chose it),
not at one lucky seed's value; the view leaves room for it. A diverged member counts at
the best value it reached before diverging, as the sweep ranks it.

The view holds the lines, their bands and the star, and the dots within a factor of 20 of
them (member_values.view); a dot beyond, such as a configuration that exploded to 1e12
over lines at 3000-8000, is a triangle at the view's edge, pointing out, and the caption
counts them and says how far the farthest lies (`fit_view`). A figure of dots alone (every
axis drawn, too few configurations for a binned mean) holds those within that factor of
their middle half. The axis keeps the sweep's
one scale (member_values.metric_scale), log where the values, dots beyond included, span
more than a factor of 20, even where the view spans less: the heatmap draws the same
values on that scale, and a linear one would press the lines into the view's lowest fifth
where a band or dot within the factor reaches far above them (in one such sweep, lines at
3000-8400 under a band to 15000 and a dot at 32000).
"""


from matplotlib import lines as mlines
import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures import style
from rnnjax.search import hparams

MIN_BINNED = 4  # Configurations a line needs on a drawn axis for its binned mean.
MAX_BINS = 8  # Bins of a binned mean at most.


# A caption's sentence where a line's point is drawn white inside (best_line).
WHITE = ('White points: the configuration there has diverged member(s), each counted at its '
         'best value before diverging. ')

# The best configuration: a hollow star, so the point it marks shows through.
STAR = dict(marker='*', ms=10, mfc='none', mec='black', mew=0.9)


def group_axis(table: load.Table, prefer: str = ''):
  """The axis whose values get one line each (`prefer` if it can), or None."""
  candidates = [a for a in table.axes.values()
                if not a.continuous and 1 < len(a.values) <= len(style.OKABE_ITO) - 1]
  for name in (prefer, 'hidden_size'):
    for a in candidates:
      if a.name == name:
        return a
  structural = [a for a in candidates if a.name in hparams.STRUCTURAL]
  return max(structural, key=lambda a: len(a.values)) if structural else None


def _binned(x: np.ndarray, y: np.ndarray, log_x: bool, log_y: bool) -> tuple:
  """Means of y in quantile bins of x (geometric where the axis is logarithmic); x with
  ties and at most MAX_BINS distinct values (PBT's copies share values) has a bin per
  value, where quantile edges would tie and put every point in one."""
  tx = np.log(x) if log_x else x
  ty = np.log(y) if log_y else y
  distinct = np.unique(tx)
  if len(distinct) < len(tx) and len(distinct) <= MAX_BINS:
    num_bins, which = len(distinct), np.searchsorted(distinct, tx)
  else:
    edges = np.unique(np.quantile(tx, np.linspace(0, 1, int(np.clip(len(x) // 4, 2,
                                                                     MAX_BINS)) + 1)))
    num_bins = len(edges) - 1
    which = np.clip(np.searchsorted(edges, tx, side='right') - 1, 0, num_bins - 1)
  bx, by = [], []
  for b in range(num_bins):
    if np.any(which == b):
      bx.append(np.median(tx[which == b]))
      by.append(ty[which == b].mean())
  bx, by = np.array(bx), np.array(by)
  return (np.exp(bx) if log_x else bx), (np.exp(by) if log_y else by)


def _panel(ax, table, axis, group, configs, log_y, core) -> tuple:
  """configs: `member_values.config_stats` of the shown metric; core: the ids of those a
  binned mean averages (`plot_sensitivity`). Returns (on a drawn axis,
  whether its lines got a binned mean ({True, False} when some did; a line of too few
  configurations gets bolder dots instead), on a listed one, how many of its lines'
  points are white: `best_line`; the values its lines draw, and its dots, each
  scatter's (ax, x, values, colour, config ids): `fit_view`)."""
  binned_lines, white, lines, dots = set(), 0, [], []
  levels = group.values if group is not None and group.name != axis.name else (None,)
  for g, level in enumerate(levels):
    # The grouping axis's own panel has one line, in a colour no group uses.
    colour = (style.OKABE_ITO[g] if level is not None else
              style.OKABE_ITO[0] if group is None else '#333333')
    mine = [c for c in configs if level is None or c['hparams'][group.name] == level]
    if not mine:
      continue
    x = style.coords(axis, [c['hparams'][axis.name] for c in mine])
    mean = np.array([c['mean'] for c in mine])
    if axis.continuous:
      keep = np.array([c['config'] in core for c in mine])
      bx, by = (_binned(x[keep], mean[keep], axis.scale == 'log', log_y)
                if keep.sum() >= MIN_BINNED else ((), ()))
      binned = len(bx) > 1  # One bin is no line.
      binned_lines.add(binned)
      ax.scatter(x, mean, s=5 if binned else 14, color=colour, alpha=0.45 if binned else 0.9,
                 linewidths=0)
      dots.append((ax, x, mean, colour, [c['config'] for c in mine]))
      if binned:
        ax.plot(bx, by, color=colour)
        lines.append(by)
      continue
    dodged = style.dodge(axis, x, g, len(levels))
    # The grouping axis's own panel: each value's dots in its group's colour, as its point.
    ax.scatter(dodged, mean, s=4, alpha=0.3, linewidths=0, color=(
        [style.OKABE_ITO[group.values.index(c['hparams'][group.name])] for c in mine]
        if level is None and group is not None else colour))
    dots.append((ax, dodged, mean, colour, [c['config'] for c in mine]))
    white_here, drawn = best_line(
        ax, axis, mine, x, colour, g, len(levels),
        # Its own panel's points, each a group, in their group's colour.
        by_value=group.values if level is None and group is not None else None)
    white, lines = white + white_here, lines + [drawn]
  style.set_axis(ax, axis)
  if log_y:
    ax.set_yscale('log')
  return binned_lines, white, lines, dots


def best_line(ax, axis, configs, x, colour, g: int, num: int, by_value=None) -> int:
  """On a listed axis, the best of `configs` (member_values.config_stats, at values `x`:
  style.coords) at each value (member_values.best_config): its mean over seeds, and their
  min-max as a band (error bars on a text axis, or at a single value); dodged as group `g`
  of `num`. A point whose configuration has diverged members (in its mean, each at its
  best before diverging: a configuration that was unstable there) is drawn white inside.
  Returns (how many, <float64>[3V] the values drawn: means, lows, highs).
  by_value: the axis's values (the grouping axis's own panel): each point drawn again in
  the colour of its value's group."""
  best = []
  for v in sorted(set(x)):
    c = member_values.best_config([configs[i] for i in range(len(configs)) if x[i] == v])
    best.append((v, c['mean'], c['lo'], c['hi'], c['diverged'] > 0))
  bx, by, lo, hi, white = (np.array(col) for col in zip(*best))
  bx = style.dodge(axis, bx, g, num)
  line = '-' if all(not isinstance(v, str) for v in axis.values) else 'none'
  ax.plot(bx, by, color=colour, marker='o', ms=3, ls=line)
  if line == '-' and len(bx) > 1:
    ax.fill_between(bx, lo, hi, color=colour, alpha=0.2, linewidth=0)
  else:
    at = style.coords(axis, list(by_value)) if by_value is not None else None
    for i in range(len(bx)):  # Each in its point's colour (its group's, by_value).
      ax.errorbar(bx[i:i + 1], by[i:i + 1], yerr=[by[i:i + 1] - lo[i:i + 1],
                                                 hi[i:i + 1] - by[i:i + 1]], ls='none',
                  lw=0.8, color=colour if at is None else
                  style.OKABE_ITO[list(at).index(bx[i])])
  if by_value is not None:
    at = style.coords(axis, list(by_value))
    for i, v in enumerate(bx):
      ax.plot([v], [by[i]], marker='o', ms=3.5, ls='none', zorder=4,
              color=style.OKABE_ITO[list(at).index(v)])
  if white.any():
    ax.plot(bx[white], by[white], marker='o', ms=3.5, ls='none', zorder=4, mfc='white',
            mec=colour, mew=0.9)
  return int(white.sum()), np.concatenate([by, lo, hi]).astype(np.float64)


def fit_view(lines: list, dots: list) -> str:
  """Limits the figure's shared metric axis to its view (member_values.view: the
  lines, and the dots within a factor of 20 of them; without lines, of the dots' middle
  half) and draws each dot beyond it as a
  triangle at the view's edge, pointing out; the axis keeps the sweep's scale
  (member_values.metric_scale), as the heatmap beside it does.
  lines: arrays of the values the figure's lines, bands and markers draw; dots: (ax, x,
  values, colour, keys) of each scatter of dots, a key per dot naming its configuration.
  Returns the caption's sentence: how many configurations lie beyond the view, and how
  far ('' where every dot lies in it, the axes then untouched)."""
  values = np.concatenate([d[2] for d in dots]) if dots else np.zeros(0)
  limits = member_values.view(np.concatenate(lines) if lines else np.zeros(0), values)
  if limits is None:
    return ''
  edges = member_values.view_limits(limits, log=True)
  text = ''
  for side, marker, edge, reach in ((1, '^', edges[1], 'up to'), (0, 'v', edges[0], 'down to')):
    beyond, far = set(), []
    for ax, x, y, colour, keys in dots:
      out = y > limits[1] if side else y < limits[0]
      if out.any():
        ax.scatter(np.asarray(x)[out], np.full(out.sum(), edge), marker=marker, s=16,
                   color=colour, alpha=0.7, linewidths=0, clip_on=False, zorder=4)
        beyond.update(k for k, o in zip(keys, out) if o)
        far.append(y[out].max() if side else y[out].min())
    if beyond:
      text += (f'{len(beyond)} configuration(s) {"above" if side else "below"} the view '
               f'({reach} {(max if side else min)(far):.1e}), drawn as triangles at its '
               'edge. ')
  dots[0][0].set_ylim(*edges)  # The panels share their metric axis: one sets it for all.
  return text


def plot_sensitivity(table: load.Table, out_dir: str, *, group_by: str = '',
                     log=print) -> list:
  """Writes sensitivity.png/pdf; returns the paths ([] when not applicable).

  group_by: the swept axis drawn as one line per value (default: hidden_size, else the
  structural axis with most values)."""
  names = list(table.axes)
  if not names:
    log('figures: sensitivity skipped (no swept hyperparameter)')
    return []
  ok = member_values.usable(table)
  if not ok.any():
    log(f'figures: sensitivity skipped (no member has a finite validation {table.shown})')
    return []
  configs = member_values.config_stats(table)
  # A configuration that exploded (up to 1e17 over the rest at 3000-6000) would drag its
  # bin's mean far from every other there; left out, it is a triangle past the line.
  typical = member_values.typical([c['mean'] for c in configs])
  core = {c['config'] for c, t in zip(configs, typical) if t}
  scale, scale_note = member_values.metric_scale(table)
  log_y = scale == 'log'
  group = group_axis(table, group_by)
  best = member_values.best_config(configs)
  folds = member_values.num_folds(table.members)
  counts = sorted({c['planned'] for c in configs})
  seeds = counts[-1]  # Random search's and tpe's repeats give some more seeds.
  with style.context():
    fig, axs, width = style.panel_grid(len(names))
    binned, white, lines, dots = set(), 0, [], []
    for ax, name in zip(axs.flat, names):
      drawn, white_here, lines_here, dots_here = _panel(ax, table, table.axes[name], group,
                                                        configs, log_y, core)
      binned, white = binned | drawn, white + white_here
      lines, dots = lines + lines_here, dots + dots_here
      # Room above and below, so that the star and the points at the ends stay whole.
      ax.margins(y=0.1)
      axis, hp = table.axes[name], best['hparams']
      x = style.coords(axis, [hp[name]])
      if group is not None and group.name != name and not axis.continuous:
        # Where its group's points are drawn, beside the value (style.dodge).
        levels = list(group.values)
        if hp[group.name] in levels:
          x = style.dodge(axis, x, levels.index(hp[group.name]), len(levels))
      ax.plot(x, [best['mean']], ls='none', zorder=5, clip_on=False, **STAR)
    # The star is in the view where lines are; a figure of dots alone holds their middle.
    beyond = fit_view(lines + [np.array([best['mean']])] * bool(lines), dots)
    for ax in axs.flat[len(names):]:
      ax.set_visible(False)
    for ax in axs[:, 0]:
      ax.set_ylabel(f'val {table.shown}')
    handles = [mlines.Line2D([], [], color=style.OKABE_ITO[g], marker='o', ms=3,
                             label=f'{labels.short(group.name)} = {text}')
               for g, text in enumerate(labels.fmt_all(group.values))] if group else []
    handles.append(mlines.Line2D([], [], ls='none', **STAR, label=(
        'chosen configuration (cross-validated)' if folds > 1 else
        'best configuration' if seeds > 1 else 'best member')))
    fig.legend(handles=handles, loc='outside upper center', ncols=style.legend_columns(
        [h.get_label() for h in handles], width - 0.1))
    dropped = int((~ok).sum())
    unit = 'seeds' if folds < 2 else 'members'
    fewest = f'fewest {unit} without a finite value'
    word = labels.replicates(table.members)
    over = (labels.replicates(table.members, seeds) if len(counts) == 1 else
            f'{word} ({counts[0]} to {seeds})')
    scale = labels.SCALES.get((table.task, table.shown))
    text = (f'Validation {table.shown}{f" ({scale})" if scale else ""} '
            f'({"lower" if table.shown_mode == "min" else "higher"} is better). ')
    # Over seeds the mean shown may order configurations otherwise than the ranking's.
    ranked = (f' by {"mean " * (seeds > 1 or folds > 1)}{table.metric}, as the sweep ranks,'
              if table.metric != table.shown else '')
    if any(not table.axes[n].continuous for n in names):
      text += (f'Lines: best configuration{ranked} at each value (mean over its '
               f'{over}, band: min-max over seeds; {fewest} first); '
               'dots: every configuration. ' if seeds > 1 else
               f'Lines: best configuration{ranked} at each value '
               f'({labels.replicates(table.members, 1) if folds > 1 else "one seed"} '
               'each); dots: every configuration. ')
    categorical = [labels.label(n) for n in names if not table.axes[n].continuous
                   and any(isinstance(v, str) for v in table.axes[n].values)]
    if categorical and seeds > 1:  # Drawn as points with bars: their values are unordered.
      text += f'On {", ".join(categorical)}: points with min-max bars, not lines. '
    if white:
      text += WHITE
    if folds > 1:
      text += 'Star: the chosen configuration at its cross-validated mean. '
    elif seeds > 1:
      text += f'Star: the best configuration{ranked} at its mean over its {over}. '
    if any(table.axes[n].continuous for n in names):
      text += ('Drawn axes: one dot per member at the values its best weights trained '
               'under (PBT)' if table.search == 'pbt' else
               'Drawn axes: one dot per configuration')
      per = 'colour' if group is not None else 'panel'
      average = 'geometric mean' if log_y else 'mean'  # As _binned averages.
      text += (f', line: binned {average}. ' if binned == {True} else
               f'; too few configurations for a binned {average} (under {MIN_BINNED} per '
               f'{per}): dots only. ' if binned == {False} else
               f', line: binned {average} of each {per} of at least {MIN_BINNED} '
               'configurations (bold dots: those with fewer). ')
      if True in binned and not typical.all():
        text += (f'The binned {average}s leave out {int((~typical).sum())} configuration(s) '
                 f'beyond a factor of {member_values.VIEW_FACTOR} of the middle half of '
                 'them. ')
    budgets = labels.budgets(table.members, table.train_steps)
    if budgets:
      text += budgets + ' '
    diverged = labels.diverged(table)
    if diverged:
      text += diverged + ' '
    text += beyond
    if dropped:
      text += f'{dropped} member(s) without a finite value not shown. '
    text += scale_note
    if group and labels.short_key([group.name]):
      text = f'{text.rstrip()} {labels.short_key([group.name])}'
    style.note(fig, text, width)
    paths = style.save(fig, out_dir, 'sensitivity')
  log(f'figures: wrote {paths[0]}')
  return paths
