"""Prediction intervals for forecasts: split conformal, one width per step ahead.

Split conformal prediction (Vovk et al. 2005; Lei et al. 2018, "Distribution-free
predictive inference for regression"): the final model forecasts, from every origin in
the validation part, the points ahead that validation holds, exactly as it will forecast
the future (feeding forecasts back past its horizon). For step k ahead and target c the
absolute errors r_1..r_n of those forecasts are the calibration scores; the interval
at level 1 - a is the forecast +- the ceil((n + 1)(1 - a))-th smallest of them, which
covers a new point with probability >= 1 - a when errors are exchangeable. Validation
never trained the model (a refit trained on it: its intervals are calibrated on the
model it refits, trained on the training part alone), so the errors are honest.

Where validation holds too few errors for a level (n < 1 / a - 1), the largest is used
(a note says so); widths never shrink with the step (a running maximum); steps past
those validation can calibrate keep the last width (a note says so). Ensemble spread is
not added: the errors of the averaged forecast already hold what the ensemble misses.
"""

import math

import numpy as np

MAX_STEPS = 60  # Steps ahead calibrated (a year of months, of weeks; a day of half-hours).


def conformal_width(scores, level: float) -> tuple[float, bool]:
  """(width, capped): the ceil((n + 1) level)-th smallest of the finite `scores`
  <float>[n]; capped when n is too small for `level` (the largest score is returned).
  NaN without scores."""
  scores = np.sort(np.asarray(scores, np.float64)[np.isfinite(scores)])
  n = len(scores)
  if not n:
    return math.nan, True
  rank = math.ceil((n + 1) * level - 1e-9)
  return float(scores[min(rank, n) - 1]), rank > n


def widths(residuals, level: float, steps: int) -> tuple[np.ndarray, list]:
  """(<float64>[steps, C] half-widths of the `level` intervals, notes).

  residuals: <float64>[K, W, C], |error| of the forecast k + 1 steps ahead from each of
  W validation origins (NaN where validation ends first).
  """
  if not 0 < level < 1:
    from rnnjax.errors import InputError  # pylint: disable=g-import-not-at-top
    raise InputError(f'levels: {level} must lie in (0, 1)')
  residuals = np.asarray(residuals, np.float64)
  num_steps, _, num_cols = residuals.shape
  out = np.empty((num_steps, num_cols))
  capped = []
  for k in range(num_steps):
    for c in range(num_cols):
      out[k, c], cap = conformal_width(residuals[k, :, c], level)
      if cap:
        capped.append(k + 1)
  out = np.fmax.accumulate(out, axis=0)
  notes = []
  if capped and min(capped) <= steps:
    notes.append(f'{level:.0%} intervals from step {min(capped)} on: validation holds too '
                 'few errors for this level, the largest is used')
  if steps > num_steps:
    notes.append(f'steps past {num_steps} keep the width of step {num_steps} (validation '
                 'calibrates no further)')
    out = np.concatenate([out, np.repeat(out[-1:], steps - num_steps, axis=0)])
  return out[:steps], notes


def coverage(truth, point, width) -> float:
  """Share of the finite `truth` entries inside point +- width (arrays broadcast)."""
  truth = np.asarray(truth, np.float64)
  inside = np.abs(truth - point) <= width
  ok = np.isfinite(truth) & np.isfinite(np.broadcast_to(width, truth.shape))
  return float(inside[ok].mean()) if ok.any() else math.nan


def _errors(model, start: int, stop: int, steps: int):
  """(origins, |error| <float64>[W, K, C]) of the model's forecasts of up to `steps`
  points from every origin in [start, stop), counting only targets before `stop`."""
  series = model.arrays['series']
  origins = np.arange(max(start, model._need()), stop)  # pylint: disable=protected-access
  steps = min(steps, stop - origins[0])
  paths = model._paths(series, origins, steps)  # pylint: disable=protected-access
  rows = origins[:, None] + np.arange(steps)
  truth = series[np.minimum(rows, len(series) - 1), :model.num_targets]
  truth = np.where((rows < stop)[..., None], truth, np.nan)
  return np.abs(truth - paths), paths, truth


def validation_residuals(model, max_steps: int = MAX_STEPS) -> np.ndarray:
  """<float64>[K, W, C]: the calibration errors (see the module docstring)."""
  train_end, val_end = model.transform['split_points']
  steps = max(max_steps, model.transform['horizon'])
  errors, _, _ = _errors(model, train_end, val_end, steps)
  return np.transpose(errors, (1, 0, 2))


def describe(residuals, *, refit: bool) -> dict:
  return {'method': 'split conformal, per step ahead, on validation errors',
          'calibrated_on': ('the final model before its refit (trained on the training '
                            'part alone)' if refit else 'the final model'),
          'steps_calibrated': int(residuals.shape[0]),
          'errors_per_step': [int(n) for n in np.isfinite(residuals[..., 0]).sum(axis=1)]}


def coverage_on_test(model, levels=(0.8, 0.95)) -> dict:
  """Empirical coverage on the test part: the model forecasts from every test origin as
  far as the test part reaches (at most the calibrated steps); per level the share of
  test points inside their interval, over the first `horizon` steps (what the summary
  scores) and over every step."""
  _, val_end = model.transform['split_points']
  residuals = model.arrays['residuals']
  errors, _, _ = _errors(model, val_end, len(model.arrays['series']), residuals.shape[0])
  horizon = model.transform['horizon']
  out = {'steps': int(errors.shape[1]), 'origins': int(errors.shape[0])}
  for level in levels:
    width, _ = widths(residuals, level, errors.shape[1])
    inside = lambda e, w: coverage(e, 0.0, w)
    out[f'{level:g}'] = {'first_steps': inside(errors[:, :horizon], width[:horizon]),
                         'all_steps': inside(errors, width)}
  return out
