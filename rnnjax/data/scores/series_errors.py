"""The errors a forecast of one series (or a few target columns) is scored by, in
original units (forecast.py scores its baselines so): RMSE, MAE and MASE (Hyndman &
Koehler 2006, "Another look at measures of forecast accuracy"), and MASE's in-sample
scale.
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


def regression_report(pred, truth, scale=None) -> dict:
  """RMSE and MAE in original units over every target of every window; given `scale`
  (<float64>[C], see `mase_scale`), MASE too: each target column's MAE over its scale,
  averaged over the columns.

  pred, truth: <float64>[W, horizon, C].
  """
  err = np.asarray(pred, np.float64) - np.asarray(truth, np.float64)
  report = {'rmse': math.sqrt(float(np.mean(err ** 2))), 'mae': float(np.mean(np.abs(err)))}
  if scale is not None:
    report['mase'] = float(np.mean(np.mean(np.abs(err), axis=(0, 1)) / scale))
  return report
