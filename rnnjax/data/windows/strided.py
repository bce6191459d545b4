"""A panel's windows written in bulk (panel_windows builds the splits from them): every
series laid end to end once, each left-padded, and any set of windows (a series and an
origin each) taken from strided views of that, equal to the windows built one by one
(panel_windows._x, seasonal_factors): the same float64 values, cast to float32 once.
"""

import dataclasses

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Windows taken at a time: bounds the index arrays' and copies' memory at any lookback.
CHUNK = 1 << 16


def counts(panel, horizon: int):
  """(<int64>[S] training windows, <int64>[S] refit windows) of each series: origins
  1, ..., count (panel_windows.windows)."""
  n = np.asarray([len(s) for s in panel.train], np.int64)
  usable = n - horizon >= 1
  return (np.where(usable, np.maximum(n - 2 * horizon, 0), 0),
          np.maximum(n - horizon, 0))


@dataclasses.dataclass(frozen=True)
class Laid:
  """A panel's series end to end, each after `lookback` copies of its first point (row):
  the window of series i with origin t starts at row `start[i] + t` of each."""
  target: np.ndarray  # <float32>[sum(lookback + n_i)]
  target_start: np.ndarray  # <int64>[S]
  rows: np.ndarray | None  # <float32>[sum(lookback + r_i), C] standardised inputs.
  rows_start: np.ndarray | None  # <int64>[S]
  seasonal: dict  # 'val', 'test' -> <float32>[sum(lookback + n_i + horizon)]
  seasonal_start: np.ndarray  # <int64>[S]
  # <bool>[sum(lookback + n_i)] laid as `target`: which cells held a value before
  # filling (panel.observed); None where every one did.
  observed: np.ndarray | None = None


def _starts(lengths) -> np.ndarray:
  return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


def _padded(values: np.ndarray, lookback: int) -> np.ndarray:
  """`values` after `lookback` copies of its first point (row): the window with origin
  t (panel_windows._window) is rows [t, t + lookback) of this."""
  return np.concatenate([np.repeat(values[:1], lookback, axis=0), values])


def _seasonal(figures, lengths, *, lookback: int, horizon: int) -> np.ndarray:
  """Each series' seasonal index at positions -lookback, ..., n_i + horizon - 1 (before
  its start: its first point's), end to end; 1 where its figure is None."""
  total = int(np.sum(lengths + lookback + horizon))
  if all(f is None for f in figures):
    return np.ones(total, np.float32)
  # Every figure end to end, a figure of one 1 last for the series without one.
  table = np.concatenate([f for f in figures if f is not None] + [np.ones(1)])
  sizes = np.asarray([len(f) if f is not None else 1 for f in figures], np.int64)
  has = np.asarray([f is not None for f in figures])
  offset = np.where(has, _starts(np.where(has, sizes, 0)), len(table) - 1)
  block = lengths + lookback + horizon
  series = np.repeat(np.arange(len(figures)), block)
  position = np.arange(total) - np.repeat(_starts(block), block) - lookback
  return table[offset[series] + np.maximum(position, 0) % sizes[series]].astype(np.float32)


def lay(panel, scales, *, lookback: int, horizon: int) -> Laid:
  """The panel laid end to end for `take` (`scales`: its series_scales.Scales). Input rows:
  with future columns, each series' train rows then its test part's (a window's future
  columns are read `horizon` rows later)."""
  lengths = np.asarray([len(s) for s in panel.train], np.int64)
  target = np.concatenate([_padded(s, lookback) for s in panel.train]).astype(np.float32)
  rows = rows_start = None
  if panel.inputs:
    each = (panel.inputs if not panel.future_columns else
            [np.concatenate([u, f]) for u, f in zip(panel.inputs, panel.test_inputs)])
    padded = [_padded(r, lookback) for r in each]
    mean = np.concatenate([np.broadcast_to(m, r.shape) for (m, _), r in
                           zip(scales.inputs, padded)])
    std = np.concatenate([np.broadcast_to(s, r.shape) for (_, s), r in
                          zip(scales.inputs, padded)])
    rows = ((np.concatenate(padded) - mean) / std).astype(np.float32)
    rows_start = _starts([len(r) for r in padded])
  seasonal = {split: _seasonal(scales.figure[split], lengths, lookback=lookback,
                               horizon=horizon) for split in ('val', 'test')}
  observed = (None if panel.observed is None else
              np.concatenate([_padded(np.asarray(o, bool), lookback) for o in panel.observed]))
  return Laid(target=target, target_start=_starts(lengths + lookback), rows=rows,
              rows_start=rows_start, seasonal=seasonal,
              seasonal_start=_starts(lengths + lookback + horizon), observed=observed)


def take(laid: Laid, series, origin, *, lookback: int, horizon: int, num_future: int,
         split: str, with_y: bool = True) -> dict:
  """The windows of `series` <int>[N] at `origin` <int>[N] (each 0 <= origin <= n_i):
  x <float32>[N, lookback, 1 + C], y <float32>[N, horizon, 1] (series[t:t + horizon];
  with_y: the targets lie in the series) and seasonal <float32>[N, lookback + horizon]
  from `split`'s ('val', 'test') seasonal indices; with `y`, where the panel had empty
  targets (`laid.observed`), observed <bool>[N, horizon]: which of them held a value."""
  n = len(series)
  width = 1 + (laid.rows.shape[1] if laid.rows is not None else 0)
  out = {'x': np.empty((n, lookback, width), np.float32)}
  observed = with_y and laid.observed is not None
  if with_y:
    out['y'] = np.empty((n, horizon, 1), np.float32)
  if observed:
    out['observed'] = np.empty((n, horizon), bool)
  out['seasonal'] = np.empty((n, lookback + horizon), np.float32)
  views = {'x': sliding_window_view(laid.target, lookback),
           'y': sliding_window_view(laid.target, horizon),
           'seasonal': sliding_window_view(laid.seasonal[split], lookback + horizon)}
  if observed:
    views['observed'] = sliding_window_view(laid.observed, horizon)
  if laid.rows is not None:
    past = width - 1 - num_future
    rows = np.moveaxis(sliding_window_view(laid.rows, lookback, axis=0), -1, 1)
  for a in range(0, n, CHUNK):
    part = slice(a, min(a + CHUNK, n))
    s, t = series[part], origin[part]
    at = laid.target_start[s] + t
    out['x'][part, :, 0] = views['x'][at]
    if with_y:
      out['y'][part, :, 0] = views['y'][at + lookback]
    if observed:
      out['observed'][part] = views['observed'][at + lookback]
    out['seasonal'][part] = views['seasonal'][laid.seasonal_start[s] + t]
    if laid.rows is not None:
      at = laid.rows_start[s] + t
      out['x'][part, :, 1:1 + past] = rows[at, :, :past]
      if num_future:
        out['x'][part, :, 1 + past:] = rows[at + horizon, :, past:]
  return out
