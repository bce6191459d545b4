"""The M competitions' scoring and benchmarks, for panels of many short series.

The scores are M4's (Makridakis, Spiliotis & Assimakopoulos 2020, "The M4 Competition: 100,000
time series and 61 forecasting methods"), as its organisers' `Benchmarks and Evaluation.R`
(github.com/Mcompetitions/M4-methods) computes them: per series, the mean over the h steps of

  sMAPE = 200 |y_t - f_t| / (|y_t| + |f_t|)          (0 to 200)
  MASE  = |y_t - f_t| / mean_{t > m} |v_t - v_{t-m}|  (v: the series' train part, m its season)

averaged over series; OWA = (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2 from those averages.
Beside them M5's (Makridakis, Spiliotis & Assimakopoulos 2022, "M5 accuracy competition") RMSSE,
for sales that are often 0, where MASE and sMAPE reward a forecast of 0 (`mostly_zero`):

  RMSSE = sqrt(mean_t (y_t - f_t)^2 / mean_{t > 1} (v_t - v_{t-1})^2)   (v from its first non-zero)
        = RMSE / (the root of that scale, which `rmsse_error` returns)

averaged over series without M5's dollar weights (a panel has no prices to weigh by). Where a
test part, held out or given, had empty cells (filled, data/panel.py), a series' means are over
the steps `observed` marks (`steps_mean`).
The benchmarks: Naive, seasonal naive, Naive2 (M3: Makridakis & Hibon 2000; the random walk of the
seasonally adjusted series), and a competition's own submitted forecasts; statistical.py fits
statsforecast's AutoETS, AutoTheta and AutoARIMA per series.

Pure NumPy on plain arrays: a panel is a list of 1-D train arrays (any lengths) and <[S, h]>
arrays of test values and forecasts; reading the panel files is the loader's job.
"""

import csv
import io
import math
import os

import numpy as np

from rnnjax.data import common
from rnnjax.errors import InputError

SUBMITTED_COLUMNS = ['unique_id', 'method', 'step', 'forecast']


def smape(y, f, observed=None) -> np.ndarray:
  """<float64>[S]: sMAPE (0-200) of each series; a step where y and f are both 0 counts 0.

  y, f: <[S, h]> actual values and forecasts. observed: <[S, h]> which steps are scored
  (true, or 1; `steps_mean`), or None: every one.
  """
  y, f = _pair(y, f)
  total = np.abs(y) + np.abs(f)
  return steps_mean(200 * np.abs(y - f) / np.where(total == 0, 1, total), observed)


def steps_mean(v, observed=None) -> np.ndarray:
  """<float64>[S]: each series' mean of `v` <[S, h]> over its steps, or over those that
  `observed` <[S, h]> marks (a test part's cells that held a value; the others, filled,
  are left out; a series with none is NaN)."""
  if observed is None:
    return np.mean(v, axis=-1)
  observed = np.asarray(observed) > 0
  if observed.shape != np.shape(v):
    raise ValueError(f'observed: shape {observed.shape}, the scores {np.shape(v)}')
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.sum(np.where(observed, v, 0.0), axis=-1) / np.sum(observed, axis=-1)


def mase_scale(train, season) -> float:
  """The in-sample mean absolute seasonal difference of one series' train part: MASE's scale.

  As M4's mase_cal: mean over t = m .. n-1 of |v[t] - v[t-m]|, m = season. M4's code has no rule
  for a series no longer than its season (its R loop then compares misaligned vectors; M4 has no
  such series, nor have the M1/M3 panels): here m is then 1. A constant train part gives 0 (its
  MASE is inf, as in M4).
  """
  v = series(train)
  if v.size == 1:
    raise ValueError('mase_scale: a series of one point has no differences')
  return float(naive_error(v, season))


def naive_error(train, season):
  """The in-sample mean |v[t] - v[t - m]| of a train part along its first axis: a float for
  <[n]>, <float64>[C] for <[n, C]> columns; 0 where there is no difference (one point).

  m is the season where the part is longer than one season, else 1 (the naive forecast). The
  one rule behind every MASE scale: this module's (M4's, inf MASE for a constant part), the
  panel windows' (falls back to the level) and a single series' columns (NaN).
  """
  v = np.asarray(train, np.float64)
  season = int(season)
  m = season if 1 <= season < len(v) else 1
  if len(v) <= m:
    return 0.0 if v.ndim == 1 else np.zeros(v.shape[1:])
  error = np.mean(np.abs(v[m:] - v[:-m]), axis=0)
  return float(error) if v.ndim == 1 else error


def rmsse_error(train) -> float:
  """RMSSE's scale for one train part, the root of M5's: the in-sample root mean squared
  one-step change (lag 1 whatever the season) from the first non-zero value on (`sold`:
  the zeros before it, a product not yet on sale, left out); 0 where there is no change
  (M5 has no such series: its RMSSE is then inf). A root, not M5's square, so that a
  float32 copy neither underflows nor overflows where the values themselves do not."""
  v = sold(train)
  return float(np.sqrt(np.mean(np.diff(v) ** 2))) if v.size > 1 else 0.0


def sold(train) -> np.ndarray:
  """<float64>[n']: a train part from its first non-zero value on (all of it when it is
  all 0): the periods M5's RMSSE scale counts (the zeros before: not yet on sale)."""
  v = series(train)
  return v[int(np.argmax(v != 0)):]


def rmsse(y, f, scales, observed=None) -> np.ndarray:
  """<float64>[S]: RMSSE of each series, its RMSE over the horizon divided by its scale
  (M5: the root of the mean squared error over the mean squared change). y, f: <[S, h]>;
  scales: <[S]> from rmsse_error (roots); observed: as `smape`'s."""
  y, f = _pair(y, f)
  return np.sqrt(steps_mean((y - f) ** 2, observed)) / np.asarray(scales, np.float64)


def mase(y, f, scales, observed=None) -> np.ndarray:
  """<float64>[S]: MASE of each series. y, f: <[S, h]>; scales: <[S]> from mase_scale;
  observed: as `smape`'s."""
  y, f = _pair(y, f)
  return steps_mean(np.abs(y - f), observed) / np.asarray(scales, np.float64)


def naive(train, h) -> np.ndarray:
  """<float64>[h]: the last train value, repeated."""
  return np.full(h, series(train)[-1])


def seasonal_naive(train, h, season) -> np.ndarray:
  """<float64>[h]: the last season of train, repeated (M4's naive_seasonal); naive when
  season <= 1 or the series is shorter than a season."""
  v = series(train)
  season = int(season)
  if season <= 1 or v.size < season:
    return naive(v, h)
  return np.resize(v[-season:], h)


def is_seasonal(train, season) -> bool:
  """M4's seasonality test (SeasonalityTest): with r_k the autocorrelation at lag k of n >=
  3 * season points, |r_season| > 1.645 sqrt((1 + 2 sum_{k < season} r_k^2) / n), the 90 %
  limit of its Bartlett band.

  R's acf() gives lags up to floor(10 log10 n) only: a longer season's r is NA there, and M4's
  test then says not seasonal; so does this one. A constant series is not seasonal.
  """
  v = series(train)
  n, season = v.size, int(season)
  if season <= 1 or n < 3 * season or season > min(int(np.floor(10 * np.log10(n))), n - 1):
    return False
  d = v - v.mean()
  if not d @ d > 0:
    return False
  r = np.array([d[k:] @ d[:n - k] for k in range(1, season + 1)]) / (d @ d)
  return bool(abs(r[-1]) > 1.645 * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n))


def seasonal_indices(train, season) -> np.ndarray:
  """<float64>[season]: the seasonal figure of R's decompose(type='multiplicative'); entry k
  belongs to the points t (from 0 at the first) with t % season == k, and the entries' mean is 1.

  The trend is the centred moving average of `season` points (for an even season, of season + 1
  with half weights at both ends); the figure is the mean of v / trend at each position.
  """
  v = series(train)
  season, n = int(season), v.size
  if n < 2 * season:
    raise ValueError(f'seasonal_indices: {n} points are fewer than two seasons of {season}')
  weights = np.full(season + 1 - season % 2, 1.0 / season)
  if season % 2 == 0:
    weights[[0, -1]] = 0.5 / season
  half = weights.size // 2
  trend = np.full(n, np.nan)
  trend[half:n - half] = np.convolve(v, weights, 'valid')
  ratio = np.full(-(-n // season) * season, np.nan)
  ratio[:n] = v / trend
  figure = np.nanmean(ratio.reshape(-1, season), axis=0)
  return figure / figure.mean()


def naive2(train, h, season) -> np.ndarray:
  """<float64>[h]: Naive2 as M3 and M4 define it (M4's Benchmarks(): f3). When the series is
  seasonal (is_seasonal), the last value seasonally adjusted by the multiplicative classical
  decomposition and re-seasonalised at each step ahead; otherwise (or season <= 1) naive.
  A series with a value <= 0 (sales with weeks of none) has no multiplicative season:
  naive, as the networks' --deseasonalize leaves it (panel_windows.py)."""
  v = series(train)
  if not np.all(v > 0) or not is_seasonal(v, season):
    return naive(v, h)
  season, n = int(season), v.size
  figure = seasonal_indices(v, season)
  return v[-1] / figure[(n - 1) % season] * figure[(n + np.arange(h)) % season]


def mostly_zero(trains) -> np.ndarray:
  """<bool>[S]: the series that are 0 at half or more of their points (sales of a slow
  mover). For those the forecast with the least absolute error, MASE's and a model's
  trained on MAE, is 0 whatever they sell (the median of their values; Kolassa 2016,
  "Evaluating predictive count data distributions in retail sales forecasting"), and
  sMAPE scores a forecast of exactly 0 at 0 on each of their zeros, any other at 200."""
  return np.asarray([np.mean(series(v) == 0) >= 0.5 for v in trains], bool)


def submitted(path_or_rows, ids, h) -> dict:
  """{method: <float64>[S, h]}: a competition's submitted forecasts of the series `ids`, in that
  order, for the methods that forecast every step 1..h of every one of them.

  path_or_rows: a CSV file with the columns unique_id,method,step,forecast (step from 1), or
    its rows as (unique_id, method, step, forecast) tuples. A row of other series is ignored.
  """
  where, rows, first = 'rows', path_or_rows, 1
  if isinstance(path_or_rows, (str, os.PathLike)):
    where = os.fspath(path_or_rows)
    rows = csv.reader(io.StringIO(common.read_file(where, kind='a CSV file')))
    header, first = next(rows, None), 2
    if header != SUBMITTED_COLUMNS:
      raise InputError(f'{where}: columns {header} where {",".join(SUBMITTED_COLUMNS)} '
                       f'were expected')
  index = {uid: i for i, uid in enumerate(ids)}
  found = {}
  for line, row in enumerate(rows, start=first):
    if not row:
      continue
    try:
      uid, method, step, value = row
      step, value = int(step), float(value)
    except ValueError:
      raise InputError(f'{where}: row {line}: {row!r} is not unique_id,method,step,forecast '
                       f'with a whole step and a number') from None
    if uid in index and 1 <= step <= h:
      found.setdefault(method, np.full((len(index), h), np.nan))[index[uid], step - 1] = value
  return {m: f for m, f in found.items() if not np.isnan(f).any()}


def series_scores(forecasts, y, scales, rmsse_scales=None, observed=None) -> dict:
  """{name: {'smape': <float64>[S], 'mase': <float64>[S]}, with 'rmsse' <float64>[S] where
  `rmsse_scales` is given}: each series' scores (a table's rows). forecasts: {name: <[S,
  h]>}; y: <[S, h]> the test values; scales, rmsse_scales: <[S]> MASE's and RMSSE's;
  observed: <[S, h]> the steps scored (`steps_mean`), or None: every one."""
  y = np.asarray(y, np.float64)
  out = {}
  for name, f in forecasts.items():
    if np.shape(f) != y.shape:
      raise ValueError(f'forecasts of {name!r}: shape {np.shape(f)}, the test values {y.shape}')
    out[name] = {'smape': smape(y, f, observed), 'mase': mase(y, f, scales, observed)}
    if rmsse_scales is not None:
      out[name]['rmsse'] = rmsse(y, f, rmsse_scales, observed)
  return out


def scores(forecasts, y, scales, reference='Naive2', rmsse_scales=None,
           observed=None) -> dict:
  """{name: {'smape', 'mase', 'owa'[, 'rmsse']: float}}: the averages over series, and OWA
  against the reference method's averages (M4: (sMAPE / sMAPE_ref + MASE / MASE_ref) / 2);
  RMSSE's where `rmsse_scales` is given; `observed`: the steps scored (series_scores). A
  series without one step observed has no score (NaN in series_scores) and is left out of
  every average, as the panel's windows leave such a part out (its weight 0)."""
  if reference not in forecasts:
    raise ValueError(f'scores: the reference {reference!r} is not among the forecasts '
                     f'({", ".join(forecasts)})')
  kept = slice(None)
  if observed is not None:
    kept = np.any(np.asarray(observed) > 0, axis=-1)
    if not kept.any():
      raise ValueError('scores: no step of any series is observed: nothing to score')
  means = {name: {k: float(np.mean(v[kept])) for k, v in s.items()}
           for name, s in series_scores(forecasts, y, scales, rmsse_scales,
                                        observed).items()}
  ref = means[reference]
  ratio = lambda a, b: a / b if b else (math.nan if not a else math.inf)
  for s in means.values():  # Where the reference is exact (0), a ratio of 0 to it is NaN.
    s['owa'] = (ratio(s['smape'], ref['smape']) + ratio(s['mase'], ref['mase'])) / 2
  return means


def series(v) -> np.ndarray:
  v = np.asarray(v, np.float64)
  if v.ndim != 1 or v.size == 0:
    raise ValueError(f'a series must be a non-empty 1-D array, not shape {v.shape}')
  return v


def _pair(y, f):
  y, f = np.asarray(y, np.float64), np.asarray(f, np.float64)
  if y.shape != f.shape or y.ndim != 2:
    raise ValueError(f'y and f must both be [S, h]: shapes {y.shape} and {f.shape}')
  return y, f
