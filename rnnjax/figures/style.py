"""One look for every figure: column-sized, colour-blind-safe, saved as PNG and PDF.

Figures are built with `matplotlib.figure.Figure` (no pyplot), so no backend is chosen
and no global state changes; the style is an rcParams context around building and
saving. Colours: Okabe & Ito (2008), "Color Universal Design"; maps: viridis.
"""

import logging
import math
import os
import textwrap

import matplotlib
from matplotlib import figure as mpl_figure
from matplotlib import ticker
import numpy as np

from rnnjax.figures import labels
from rnnjax.results import files

COLUMN_WIDTH = 3.4   # inches: one column of a two-column paper
FULL_WIDTH = 7.0
OKABE_ITO = ('#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9',
             '#000000', '#F0E442')
FAINT = '#9a9a9a'
RC = {
    'font.size': 8, 'axes.titlesize': 8, 'axes.labelsize': 8, 'xtick.labelsize': 7,
    'ytick.labelsize': 7, 'legend.fontsize': 6.5, 'legend.frameon': False,
    'axes.spines.top': False, 'axes.spines.right': False, 'axes.linewidth': 0.6,
    'axes.grid': True, 'grid.linewidth': 0.4, 'grid.alpha': 0.35,
    'xtick.major.width': 0.6, 'ytick.major.width': 0.6, 'lines.linewidth': 1.2,
    'lines.markersize': 4, 'axes.prop_cycle': matplotlib.cycler(color=OKABE_ITO),
    'savefig.dpi': 300, 'savefig.bbox': 'tight', 'savefig.pad_inches': 0.03,
    'pdf.fonttype': 42, 'ps.fonttype': 42, 'image.cmap': 'viridis',
}


def context():
  """The house rcParams, for `with style.context(): ...`."""
  return matplotlib.rc_context(RC)


def new_figure(width: float = COLUMN_WIDTH, height: float = 2.4) -> mpl_figure.Figure:
  return mpl_figure.Figure(figsize=(width, height), layout='constrained')


def panel_grid(count: int) -> tuple:
  """(figure, axes <[rows, cols]>, width in inches) for `count` panels that share their y
  axis (a hyperparameter each): one column of up to 4, else two columns at full width."""
  num_cols = 1 if count <= 4 else 2
  num_rows = math.ceil(count / num_cols)
  width = COLUMN_WIDTH if num_cols == 1 else FULL_WIDTH
  fig = new_figure(width, 0.9 + 1.7 * num_rows)
  return fig, fig.subplots(num_rows, num_cols, squeeze=False, sharey=True), width


def save(fig: mpl_figure.Figure, out_dir: str, name: str) -> list:
  """Writes NAME.png and NAME.pdf, each whole or not at all (files.atomic: a sweep
  stopped while drawing leaves no half-drawn figure); returns their paths."""
  os.makedirs(out_dir, exist_ok=True)
  paths = [os.path.join(out_dir, f'{name}.{ext}') for ext in ('png', 'pdf')]
  # PDF font subsetting logs every table at INFO; absl's root handler would print it.
  font_log = logging.getLogger('fontTools')
  level = font_log.level
  font_log.setLevel(logging.WARNING)
  try:
    for path in paths:
      with files.atomic(path) as tmp:
        fig.savefig(tmp, format=os.path.splitext(path)[1][1:])
  finally:
    font_log.setLevel(level)
  return paths


def note(fig: mpl_figure.Figure, text: str, width_in: float) -> None:
  """A small caption under the axes (what is drawn, what was left out)."""
  wrapped = textwrap.fill(text, width=int(width_in * 17))
  fig.get_layout_engine().set(h_pad=0.04)
  fig.supxlabel(wrapped, fontsize=6, color='#444444', ha='left', x=0.01)


def legend_columns(texts, width_in: float, max_cols: int = 4) -> int:
  """Columns for a figure legend of entries `texts` that fits `width_in` inches, its
  rows filled evenly (5 entries: 3 + 2, never 4 + 1). Widths are estimated: 0.55 em a
  character at the legend's font size, 0.4 in for a handle and the gaps (as drawn, to
  within 0.1 in)."""
  em = float(RC['legend.fontsize']) / 72
  for cols in range(min(max_cols, len(texts)), 0, -1):
    rows = -(-len(texts) // cols)
    cols = -(-len(texts) // rows)  # Even rows: 5 entries in 2 rows take 3 columns.
    # Matplotlib fills a legend's columns top to bottom.
    width = sum(max(0.55 * em * len(t) for t in texts[c * rows:(c + 1) * rows]) + 0.4
                for c in range(cols))
    if width <= width_in:
      return cols
  return 1


def text_colour(rgba) -> str:
  """Black or white, whichever reads better on a cell of this colour."""
  r, g, b = rgba[:3]
  return 'black' if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else 'white'



def coords(axis, column) -> np.ndarray:
  """<float64>[N] plotting positions: the values, or their index for a category axis."""
  if axis.scale == 'category':
    return np.array([axis.values.index(v) for v in column], np.float64)
  return np.array(column, np.float64)


def dodge(axis, x: np.ndarray, group: int, num_groups: int) -> np.ndarray:
  """Shifts group `group` of `num_groups` sideways so markers at one value don't hide."""
  offset = group - (num_groups - 1) / 2
  if axis.scale == 'category':
    return x + 0.08 * offset
  v = np.array([u for u in axis.values], np.float64)
  if axis.scale == 'log':
    span = np.log10(v.max() / v.min()) if v.min() > 0 else 1.0
    return x * 10 ** (0.012 * span * offset)
  return x + 0.012 * (v.max() - v.min()) * offset


def _label_room(ax, which: str) -> float:
  """About how many tick-label characters fit along one of `ax`'s axes (7 pt text,
  0.6 em a character; the panel's share of the figure less its margins)."""
  fig = ax.get_figure()
  grid = ax.get_subplotspec().get_gridspec() if ax.get_subplotspec() else None
  if which == 'x':
    inches = fig.get_figwidth() / (grid.ncols if grid else 1) - 0.6
  else:
    inches = fig.get_figheight() / (grid.nrows if grid else 1) - 0.4
  return max(inches, 0.5) * 72 / (0.6 * RC['xtick.labelsize'])


class _Compact(ticker.Formatter):
  """Tick labels of a linear axis as the tables write values ('8e-3', '0.05', '64'),
  in one form along the axis, with the fewest digits that write each tick exactly.
  Ticks that 6 significant digits do not tell apart (a range as narrow as 0.1 to
  0.1000001) are matplotlib's, from an offset written at the axis's end."""

  def __init__(self):
    super().__init__()
    self.exponent, self.digits, self.spacing = False, 4, 0.0
    self.fallback = None

  def set_locs(self, locs):
    locs = np.asarray(locs, np.float64)
    self.exponent = any(v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5) for v in locs)
    self.spacing = (np.diff(np.sort(locs)).min() if len(locs) > 1
                    else abs(locs).max(initial=1.0))
    self.digits, self.fallback = 6, None
    for digits in range(1, 7):
      if all(abs(float(self._fmt(v, digits)) - v) <= 1e-3 * self.spacing for v in locs):
        self.digits = digits
        break
    else:
      if len({self._fmt(v, 6) for v in locs}) < len(locs):
        self.fallback = ticker.ScalarFormatter(useOffset=True)
        self.fallback.set_axis(self.axis)
        self.fallback.set_locs(locs)

  def get_offset(self):
    return self.fallback.get_offset() if self.fallback else ''

  def _fmt(self, value, digits):
    if abs(value) < 1e-9 * self.spacing:
      return '0'  # 1e-18 from the locator's arithmetic is 0.
    return labels.fmt(float(value), digits, exponent=self.exponent)

  def __call__(self, x, pos=None):
    if self.fallback:
      return self.fallback(x, pos)
    return self._fmt(x, self.digits)


def set_axis(ax, axis, which: str = 'x') -> None:
  """Scale and ticks for a hyperparameter axis. Listed values get a tick each; when
  their labels would not fit side by side they are turned (along x) and, when still too
  many, every k-th is labelled. A linear range (or a long list) gets as many round ticks
  as fit, written short ('8e-3', '8.5e-3', ...), whatever its span."""
  target = ax.xaxis if which == 'x' else ax.yaxis
  if axis.scale == 'log':
    (ax.set_xscale if which == 'x' else ax.set_yscale)('log')
    # Powers of ten labelled as the tables write values; over a decade or so the 2s and
    # 5s between them too, and every minor tick over half a decade or less (matplotlib's
    # own labels every minor tick of a decade, and they collide).
    # One form along the axis: '3e-3' beside '3e-2', not beside '0.03'.
    def tick(value):
      low, high = sorted(target.get_view_interval())
      return labels.fmt(value, exponent=0 < low < 1e-2 or high >= 1e5)
    def minor(value, _):
      low, high = sorted(target.get_view_interval())
      decades = np.log10(high / low) if low > 0 else np.inf
      mantissa = round(value / 10 ** np.floor(np.log10(value)), 6)
      shown = decades <= 0.5 or (decades <= 1.5 and mantissa in (2.0, 5.0))
      return tick(value) if shown else ''
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: tick(v)))
    target.set_minor_formatter(ticker.FuncFormatter(minor))
    rc = lambda key: float(matplotlib.rcParams[f'{which}tick.{key}'])
    # A minor tick is shorter: its label is moved out to the major labels' line.
    target.set_tick_params(which='minor', pad=rc('major.pad') + rc('major.size')
                           - rc('minor.size'))
  if axis.scale == 'linear' and (axis.continuous or len(axis.values) > 8):
    # Matplotlib's default puts 9 ticks on 0.008-0.01, labelled '0.00825': they run
    # together. A few ticks, as many as the panel has room for, written short.
    # In characters: a label of up to 7 and a gap side by side, or a line stacked.
    fit = _label_room(ax, which) // (9 if which == 'x' else 3)
    target.set_major_locator(ticker.MaxNLocator(
        nbins=int(np.clip(fit - 1, 2, 5)), steps=[1, 2, 2.5, 5, 10],
        integer=axis.kind == 'randint'))
    target.set_major_formatter(_Compact())
    target.set_minor_locator(ticker.NullLocator())
  if axis.scale == 'category' or (not axis.continuous and len(axis.values) <= 8):
    ticks = (range(len(axis.values)) if axis.scale == 'category'
             else [float(v) for v in axis.values])
    texts = labels.fmt_all(axis.values)
    room = _label_room(ax, which)
    # In characters: side by side along x, a label and a gap; turned, labels need only
    # be a line's height apart across their slant; stacked along y, a line and a gap.
    turn = which == 'x' and sum(len(l) + 2 for l in texts) > room
    every = 1
    if turn or which == 'y':
      per_label = 4.0 if turn else 2.4
      while every < len(texts) and per_label * len(texts[::every]) > room:
        every += 1
    target.set_ticks(list(ticks), labels=[l if i % every == 0 else ''
                                          for i, l in enumerate(texts)])
    target.set_minor_locator(ticker.NullLocator())
    if turn:
      ax.tick_params(axis='x', labelrotation=35)
      for text in ax.get_xticklabels():
        text.set(ha='right', rotation_mode='anchor')
  (ax.set_xlabel if which == 'x' else ax.set_ylabel)(labels.label(axis.name))
