"""How figures and tables write hyperparameters and metrics: axis labels, short names
(the hyperparameter table's `short`), and values in a few characters."""

import math

import numpy as np

from rnnjax.search import hparams


SHORT = {row.name: row.short for row in hparams.TABLE}
# What a metric is measured on, where its name does not say: a forecast's errors are of
# the levels in original units, also when the networks forecast the differences.
SCALES = {('forecast', 'rmse'): 'levels, original units',
          ('forecast', 'mae'): 'levels, original units'}


def label(name: str) -> str:
  """A human axis label: 'learning_rate' -> 'learning rate'."""
  layer = hparams.layer_of(name)
  if layer is not None:
    return f'dropout (layer {layer + 1})'
  return name.replace('_', ' ')


def fmt(value, digits: int = 4) -> str:
  """A hyperparameter value, short: 0.001 -> '1e-3', 64 -> '64' (`digits` significant)."""
  if isinstance(value, str):
    return value
  if isinstance(value, (bool, np.bool_)):
    return str(value)
  if isinstance(value, (int, np.integer)):
    return str(int(value))
  value = float(value)
  if not math.isfinite(value):
    return str(value)
  if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e5):
    mantissa, exponent = f'{value:.{min(digits, 3) - 1}e}'.split('e')
    mantissa = mantissa.rstrip('0').rstrip('.')
    return f'{mantissa}e{int(exponent)}'
  if abs(value) >= 10 ** digits:
    return str(round(value))
  return f'{value:.{digits}g}'


def fmt_metric(value: float) -> str:
  """A metric value in 3-4 characters' precision: 0.1748 -> '0.175', 2252.9 -> '2253'."""
  if not math.isfinite(value):
    return '-'
  if 100 <= abs(value) < 1e5:
    return f'{value:.0f}'
  return f'{value:.3g}'
