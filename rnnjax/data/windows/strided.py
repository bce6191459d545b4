"""A panel's training and refit windows written in bulk (panel_windows builds the
splits): each series' windows with origins 1, ..., count, taken as strided views of its
left-padded points and written into rows of arrays of the split's final size, equal to
the windows built one by one.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def counts(panel, horizon: int):
  """(<int64>[S] training windows, <int64>[S] refit windows) of each series: origins
  1, ..., count (panel_windows.windows)."""
  n = np.asarray([len(s) for s in panel.train], np.int64)
  usable = n - horizon >= 1
  return (np.where(usable, np.maximum(n - 2 * horizon, 0), 0),
          np.maximum(n - horizon, 0))


def _padded(values: np.ndarray, lookback: int) -> np.ndarray:
  """`values` after `lookback` copies of its first point (row): the window with origin
  t (panel_windows._window) is rows [t, t + lookback) of this."""
  return np.concatenate([np.repeat(values[:1], lookback, axis=0), values])


def fill(arrays, at: int, count: int, series, rows, stats, figure, *, lookback: int,
         horizon: int, num_future: int):
  """Writes the `count` windows of a series with origins 1, ..., count (targets
  series[t:t + horizon]) into rows [at, at + count) of a split's x, y and seasonal,
  each as panel_windows' `_x` and `seasonal_factors` build one window: the same
  float64 values, cast to float32 once."""
  if not count:
    return
  part = slice(at, at + count)
  views = lambda a, width, first=1: np.moveaxis(sliding_window_view(
      a, width, axis=0)[first:first + count], -1, 1)
  arrays['x'][part, :, 0] = views(_padded(series, lookback), lookback)
  arrays['y'][part, :, 0] = views(series, horizon)
  if rows is not None:
    past = rows.shape[1] - num_future
    standard = (_padded(rows, lookback) - stats[0]) / stats[1]
    arrays['x'][part, :, 1:1 + past] = views(standard[:, :past], lookback)
    if num_future:
      arrays['x'][part, :, 1 + past:] = views(standard[:, past:], lookback, 1 + horizon)
  if figure is None:
    arrays['seasonal'][part] = 1.0
  else:
    positions = np.maximum(np.arange(-lookback, len(series) + horizon), 0)
    arrays['seasonal'][part] = views(figure[positions % len(figure)], lookback + horizon)
