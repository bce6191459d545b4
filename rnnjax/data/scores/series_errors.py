"""The errors a forecast of one series (or a few target columns) is scored by, in
original units (windows/series_windows.py scores a series' baselines so): RMSE, MAE
and MASE (Hyndman & Koehler 2006, "Another look at measures of forecast accuracy"), and
MASE's in-sample scale.
"""

import math

import numpy as np

from rnnjax.data.scores import competition


def mase_scale(train, season) -> np.ndarray:
  """<float64>[C]: MASE's denominator per column of the training part <float64>[N, C],
  the in-sample MAE of the seasonal naive forecast: mean |v[i] - v[i - m]| with m the
  season (1, the naive forecast, with no season or a training part no longer than one
  season). NaN for a constant column, whose MASE is undefined."""
  scale = competition.naive_error(np.asarray(train, np.float64).reshape(len(train), -1), season)
  return np.where(scale > 0, scale, np.nan)


def regression_report(pred, truth, scale=None, observed=None) -> dict:
  """RMSE and MAE in original units over every target of every window; given `scale`
  (<float64>[C], see `mase_scale`), MASE too: each target column's MAE over its scale,
  averaged over the columns.

  pred, truth: <float64>[W, horizon, C]. observed: <[W, horizon, C]> the cells scored
  (1 or true: a test part's cells that held a value; the others, filled, are left out of
  every mean; a column with none has a NaN MASE), or None: every one.
  """
  err = np.asarray(pred, np.float64) - np.asarray(truth, np.float64)
  if observed is None:
    report = {'rmse': math.sqrt(float(np.mean(err ** 2))), 'mae': float(np.mean(np.abs(err)))}
    if scale is not None:
      report['mase'] = float(np.mean(np.mean(np.abs(err), axis=(0, 1)) / scale))
    return report
  observed = np.asarray(observed) > 0
  if observed.shape != err.shape:
    raise ValueError(f'observed: shape {observed.shape}, the errors {err.shape}')
  kept = lambda v, axis=None: np.sum(np.where(observed, v, 0.0), axis=axis)
  with np.errstate(invalid='ignore', divide='ignore'):
    report = {'rmse': math.sqrt(float(kept(err ** 2) / observed.sum())),
              'mae': float(kept(np.abs(err)) / observed.sum())}
    if scale is not None:
      column = kept(np.abs(err), (0, 1)) / observed.sum(axis=(0, 1))
      report['mase'] = float(np.mean(column / scale))
  return report
