"""Sweeps side by side as a figure (make_figures --compare): the validation metric
against each hyperparameter swept in at least two of them, one line per sweep.

Drawn as the sensitivity figure draws one sweep (plots/sensitivity.py): on a listed axis,
at each value the best configuration's mean over its seeds (after --folds, of each
seed's mean over its folds) with their min-max as a band; on a drawn (random) axis, one
dot per configuration. The axes are shared: each hyperparameter's values are the union
of the sweeps', on the scale load.choose_scale gives that union. The metric axis holds
the lines, and the drawn axes' dots within a factor of 20 of them (where every axis is
drawn, of the dots' middle half): the rest are triangles at its edge
(sensitivity.fit_view).
"""


from matplotlib import lines as mlines
import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures import style
from rnnjax.figures.plots import sensitivity

NAME = 'compare'


def shared_axes(tables: list) -> dict:
  """name -> load.AxisInfo over the union of the values of every hyperparameter that at
  least two of `tables` swept, in the order the first of them lists it."""
  names = list(dict.fromkeys(n for t in tables for n in t.axes))
  out = {}
  for name in names:
    mine = [t.axes[name] for t in tables if name in t.axes]
    if len(mine) < 2:
      continue
    values = sorted({v for a in mine for v in a.values},
                    key=lambda v: (isinstance(v, str), v))
    grid = all(not a.continuous for a in mine)
    kind = 'grid' if grid else next(a.kind for a in mine if a.continuous)
    scales = {a.scale for a in mine}
    scale = (scales.pop() if len(scales) == 1 and grid else
             'log' if not grid and 'log' in scales else load.choose_scale(kind, values))
    out[name] = load.AxisInfo(name, kind, tuple(values), scale)
  return out


def _line(ax, table, axis, colour, g, num) -> tuple:
  """One sweep's line on `axis`'s panel; returns (how many of its points have diverged
  members (sensitivity.best_line: drawn white inside), the values its line draws, its
  dots: sensitivity.fit_view)."""
  configs = [c for c in member_values.config_stats(table) if axis.name in c['hparams']]
  if not configs:
    return 0, [], []
  x = style.coords(axis, [c['hparams'][axis.name] for c in configs])
  mean = np.array([c['mean'] for c in configs])
  if axis.continuous:
    ax.scatter(x, mean, s=14, color=colour, alpha=0.8, linewidths=0)
    return 0, [], [(ax, x, mean, colour, [(g, c['config']) for c in configs])]
  white, drawn = sensitivity.best_line(ax, axis, configs, x, colour, g, num)
  return white, [drawn], []


def plot_compare(runs: list, out_dir: str, *, val_kinds: dict, log=print) -> list:
  """Writes compare.png/pdf; returns the paths ([] with a logged reason when nothing
  compares). runs: [(label, load.Table)] in the order given, each showing the one
  metric the table compares (figures.compare); val_kinds: label -> its validation's
  kind (side_by_side.runs_table's `val_kind`): a cross-validated mean and one split's
  score are not drawn on one axis."""
  tables = [t for _, t in runs]
  if len(set(val_kinds.values())) > 1:
    log('figures: compare figure skipped (the validation figures are of different kinds: '
        + ', '.join(f'{k}: {v}' for k, v in val_kinds.items()) + ')')
    return []
  shown = {t.shown for t in tables}
  if len(shown) > 1:
    log('figures: compare figure skipped (the sweeps draw different validation metrics: '
        + ', '.join(f'{label}: {t.shown}' for label, t in runs) + ')')
    return []
  axes = shared_axes(tables)
  if not axes:
    log('figures: compare figure skipped (no hyperparameter is swept in two or more of '
        'the sweeps)')
    return []
  if len(runs) > len(style.OKABE_ITO):
    log(f'figures: compare figure skipped (more than {len(style.OKABE_ITO)} sweeps)')
    return []
  metric, mode = tables[0].shown, tables[0].shown_mode
  vals = np.concatenate([member_values.values(t)[member_values.usable(t)] for t in tables])
  with style.context():
    fig, axs, width = style.panel_grid(len(axes))
    white, lines, dots = 0, [], []
    for ax, axis in zip(axs.flat, axes.values()):
      for g, (_, table) in enumerate(runs):
        if axis.name in table.axes:
          white_here, lines_here, dots_here = _line(ax, table, axis, style.OKABE_ITO[g], g,
                                                    len(runs))
          white, lines, dots = white + white_here, lines + lines_here, dots + dots_here
      style.set_axis(ax, axis)
      if member_values.scale_of(vals) == 'log':
        ax.set_yscale('log')
      ax.margins(y=0.1)
    beyond = sensitivity.fit_view(lines, dots)  # The drawn axes' dots (listed: lines only).
    for ax in axs.flat[len(axes):]:
      ax.set_visible(False)
    for ax in axs[:, 0]:
      ax.set_ylabel(f'val {metric}')
    listed = [n for n, a in axes.items() if not a.continuous]
    text_axes = [n for n in listed if any(isinstance(v, str) for v in axes[n].values)]
    lines_drawn = len(listed) > len(text_axes)  # Else points alone: keyed as points.
    handles = [mlines.Line2D([], [], color=style.OKABE_ITO[g], marker='o', ms=3,
                             ls='-' if lines_drawn else 'none', label=label)
               for g, (label, _) in enumerate(runs)]
    fig.legend(handles=handles, loc='outside upper center', ncols=style.legend_columns(
        [h.get_label() for h in handles], width - 0.1))
    scale = labels.SCALES.get((tables[0].task, metric))
    text = (f'Validation {metric}{f" ({scale})" if scale else ""} '
            f'({"lower" if mode == "min" else "higher"} is better), one colour per sweep. ')
    seeds = max((c['seeds'] for t in tables for c in member_values.config_stats(t)),
                default=1)
    # Names have no order to draw a line along: points (sensitivity.best_line).
    drawn_as, spread = ('Lines', 'band') if lines_drawn else ('Points', 'bars')
    if listed:
      text += (f'{drawn_as}: best configuration at each value (mean over its seeds, '
               f'{spread}: min-max over them). ' if seeds > 1 else
               f'{drawn_as}: best configuration at each value (one seed each). ')
    if white:
      text += sensitivity.WHITE
    if text_axes and drawn_as == 'Lines':
      text += (f'On {", ".join(labels.label(n) for n in text_axes)}: points'
               f'{" with min-max bars" if seeds > 1 else ""}, not lines. ')
    drawn = [n for n, a in axes.items() if a.continuous]
    if drawn:  # One sweep's values drawn at random make the union's axis a drawn one.
      how = ('drawn at random or perturbed by PBT' if any(t.search == 'pbt' for t in tables)
             else 'drawn at random')
      text += (f'On {", ".join(labels.label(n) for n in drawn)} ({how} in a sweep): one '
               'dot per configuration of every sweep. ')
    stopped = [f'{label}: {b[0].lower()}{b[1:]}' for label, t in runs
               for b in [labels.budgets(t.members, t.train_steps)] if b]
    if stopped:
      text += ' '.join(stopped) + ' '
    only = [f'{label}: {", ".join(labels.label(n) for n in axes if n not in t.axes)}'
            for label, t in runs if any(n not in t.axes for n in axes)]
    if only:
      text += f'Not swept there, so not drawn: {"; ".join(only)}. '
    diverged = [f'{label}: {said}' for label, t in runs for said in [labels.diverged(t)]
                if said]
    if diverged:
      text += ' '.join(diverged) + ' '
    text += beyond
    dropped = [f'{label}: {n} member(s) without a finite value not shown.'
               for label, t in runs for n in [int((~member_values.usable(t)).sum())] if n]
    text += ' '.join(dropped)
    style.note(fig, text, width)
    paths = style.save(fig, out_dir, NAME)
  log(f'figures: wrote {paths[0]}')
  return paths
