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

A validation cell that was empty (filled: data/windows/series_windows.py `val_observed`,
a panel's val `observed`) has a NaN error, as a point past validation's end: it calibrates
nothing.

Where validation holds too few errors for a level (n < 1 / a - 1), the largest is used
(a note says so); widths never shrink with the step (a running maximum); steps past
those validation can calibrate keep the last width (a note says so). Ensemble spread is
not added: the errors of the averaged forecast already hold what the ensemble misses.
A series that never went below 0 gets no lower bound below 0 (`floor_at_zero`).

Arrays in, arrays out: the model (tuned.py) forecasts from the origins
`backtest_origins` gives; `validation_residuals` and `coverage_on_test` score those
forecasts against the series.

A panel (many series, one model; data/panel.py) has one validation window per series:
the scores of step k are the errors of the validated series (weight > 0), each divided
by its series' MASE scale (`mase_denom`), so that series of any size share one set of
scores; with --folds=K, those of each fold's validation windows too, forecast by the
final model's members as trained on that fold (K errors per series; export.py); a
series' interval is its forecast +- the width times its own scale (`scaled_residuals`,
`scaled_bands`, `scaled_coverage_on_test`). A series without a
naive error (constant, one point) is scaled by its mean level, which `level_note` says.
"""

import math

import numpy as np

from rnnjax.data.windows import series_scales
from rnnjax.final.saved import arguments

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


def errors_needed(level: float) -> int:
  """The fewest scores n whose `conformal_width` at `level` is not capped: n >= 1 / a - 1."""
  n = 1
  while math.ceil((n + 1) * level - 1e-9) > n:
    n += 1
  return n


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
    first = min(capped)
    n = int(np.isfinite(residuals[first - 1]).sum(axis=0).min())
    notes.append(f'{level * 100:g}% intervals from step {first} on: validation holds too '
                 f'few errors for this level ({n} at step {first}, at least '
                 f'{errors_needed(level)} needed), the largest is used')
  if steps > num_steps:
    notes.append(f'steps past {num_steps} keep the width of step {num_steps} (validation '
                 'calibrates no further)')
    out = np.concatenate([out, np.repeat(out[-1:], steps - num_steps, axis=0)])
  return out[:steps], notes


def bands(point, residuals, levels, steps: int) -> tuple[dict, dict, list]:
  """(lower, upper, notes): the intervals at `levels` around forecasts `point`
  <float64>[steps, C], level -> <float64>[steps, C], and `widths`'s notes, once each."""
  lower, upper, notes = {}, {}, []
  for level in levels:
    width, note = widths(residuals, level, steps)
    lower[level], upper[level] = point - width, point + width
    notes += [n for n in note if n not in notes]
  return lower, upper, notes


def scaled_bands(point, residuals, scales, levels, steps: int) -> tuple[dict, dict, list]:
  """`bands` of a panel: point <float64>[S, steps]; scales <float>[S] each series' MASE
  scale (data/windows/series_scales.py `mase_scale` of its history); residuals: `scaled_residuals`.
  A note of too few errors says what gives more (`panel_note`)."""
  lower, upper, notes = {}, {}, []
  scales = np.asarray(scales, np.float64)[:, None]
  for level in levels:
    width, note = widths(residuals, level, steps)
    lower[level], upper[level] = point - width[:, 0] * scales, point + width[:, 0] * scales
    notes += [panel_note(n) for n in note if panel_note(n) not in notes]
  return lower, upper, notes


PANEL_FEW = ('a panel\'s validation holds one error per validated series, step and '
             '--folds origin: more series, or --folds=K, give more')


def panel_note(note: str) -> str:
  """`note`, followed by what gives a panel more errors where it says they are too few."""
  return f'{note} ({PANEL_FEW})' if 'too few errors' in note else note


def panel_calibration_line(residuals, levels, folds: int = 1) -> str:
  """The sweep's line on a panel's intervals: how many scaled errors `residuals`
  (`scaled_residuals`, over `folds` origins) hold per step, and the levels they are too
  few for (`widths`)."""
  counts = np.isfinite(residuals[..., 0]).sum(axis=1)
  few = sorted(set(counts.tolist()))
  per_step = (f'{few[0]}' if len(few) == 1 else f'{few[0]}-{few[-1]}')
  each = 'series' if folds == 1 else f'series at each of {folds} fold origins'
  line = (f'intervals: split conformal on {per_step} scaled validation errors per step '
          f'ahead (one per validated {each})')
  notes = [n for level in levels for n in widths(residuals, level, residuals.shape[0])[1]
           if 'too few errors' in n]
  return '; '.join([line] + [panel_note(n) for n in notes])


def level_note(ids, histories, scales, season: int, what: str) -> list:
  """[the note of the series whose `scaled_bands` are scaled by their mean level], or []:
  with no naive error (series_scales.mase_scale), their bands are the panel's scaled
  errors times that level, however little the series moves."""
  flat = [i for i, h in enumerate(histories) if series_scales.scaled_by_level(h, season)]
  if not flat:
    return []
  named = ', '.join(repr(ids[i]) for i in flat[:3]) + (', ...' if len(flat) > 3 else '')
  return [f'{what}: {len(flat)} series never change in their history, or have one point '
          f'or repeat each season exactly ({named}): with no naive error to scale their '
          'intervals by, they are scaled by the series\' mean level |v| (1 where that is '
          f'0; {scales[flat[0]]:.6g} for {ids[flat[0]]!r}), however little it moves']


def floor_at_zero(lower: dict, nonnegative) -> tuple[dict, list]:
  """(lower, notes): the lower bounds <float64>[steps, C] (or [S, steps]) of the columns
  (series) where `nonnegative` <bool>[C] (<bool>[S, 1]) is true, raised to 0. A sales
  figure or a count whose every known value is >= 0 gets no interval below zero; the
  bound only moves where it lay below 0, so a point that stays >= 0 is inside the raised
  interval whenever it was inside the conformal one. The point forecast is not moved."""
  nonnegative = np.asarray(nonnegative, bool)
  raised, out = False, {}
  for level, low in lower.items():
    out[level] = np.where(nonnegative & (low < 0), 0.0, low)
    raised |= bool(np.any(out[level] != low))
  note = 'lower bounds below 0 are raised to 0 where every known value is >= 0'
  return out, [note] if raised else []


def series_bands(point, residuals, history, levels, steps: int) -> tuple[dict, dict, list]:
  """`bands` of a single series' forecast `point` <float64>[steps, C_out], the lower
  bounds of each target column whose `history` <float64>[N, C] holds no value < 0 raised
  to 0 (`floor_at_zero`)."""
  lower, upper, notes = bands(point, residuals, levels, steps)
  lower, raised = floor_at_zero(lower, ~np.any(history[:, :point.shape[1]] < 0, axis=0))
  return lower, upper, notes + raised


def coverage(truth, point, width) -> float:
  """Share of the finite `truth` entries inside point +- width (arrays broadcast)."""
  truth = np.asarray(truth, np.float64)
  inside = np.abs(truth - point) <= width
  ok = np.isfinite(truth) & np.isfinite(np.broadcast_to(width, truth.shape))
  return float(inside[ok].mean()) if ok.any() else math.nan


def backtest_origins(start: int, stop: int, need: int,
                     steps: int) -> tuple[np.ndarray, int]:
  """(origins <int>[W], steps): every origin t in [start, stop) with `need` points of
  history before it, and how many steps ahead (at most `steps`) the part [start, stop)
  holds from the first."""
  origins = np.arange(max(start, need), stop)
  return origins, min(steps, stop - origins[0])


def forecast_errors(series, origins, forecasts, stop: int) -> np.ndarray:
  """<float64>[W, K, C]: |error| of `forecasts` <float64>[W, K, C], made from each
  origin t in `origins` (from series[:t]) of the points t..t + K - 1, counting only
  the points before `stop` (NaN after). series: <float64>[N, C_in], targets first."""
  rows = origins[:, None] + np.arange(forecasts.shape[1])
  truth = series[np.minimum(rows, len(series) - 1), :forecasts.shape[2]]
  truth = np.where((rows < stop)[..., None], truth, np.nan)
  return np.abs(truth - forecasts)


def validation_residuals(series, origins, forecasts, val_end: int) -> np.ndarray:
  """<float64>[K, W, C]: the calibration errors (see the module docstring) of the
  forecasts from the validation origins (`backtest_origins` of the validation part)."""
  return np.transpose(forecast_errors(series, origins, forecasts, val_end), (1, 0, 2))


def scaled_residuals(y, forecasts, scales, weight) -> np.ndarray:
  """<float64>[K, S_val, 1]: a panel's calibration scores (see the module docstring):
  |y - forecasts| / scales of the series whose weight > 0. y, forecasts <float>[S, K]
  (the validation windows' targets and forecasts), scales and weight <float>[S]."""
  errors = np.abs(np.asarray(y, np.float64) - forecasts) / np.asarray(
      scales, np.float64)[:, None]
  return errors[np.asarray(weight) > 0].T[..., None]


def describe(residuals, *, refit: bool, scaled: bool = False, folds: int = 1) -> dict:
  method = ('split conformal, per step ahead (never narrower than an earlier step\'s), on '
            'validation errors')
  if scaled:
    each = ('one window per validated series' if folds == 1 else
            f'one window per validated series at each of {folds} fold origins, each '
            'forecast by the final model\'s members as trained on that fold')
    method += (f" divided by each series' MASE scale ({each}); "
               "a series' width is the scaled width times its scale")
  model = ('the final model before its refit (trained on the training part alone)'
           if refit else 'the final model')
  if folds > 1:
    model += (', and its members as trained on each earlier fold (on that fold\'s '
              'validation windows)')
  return {'method': method,
          'calibrated_on': model,
          'steps_calibrated': int(residuals.shape[0]),
          'errors_per_step': [int(n) for n in np.isfinite(residuals[..., 0]).sum(axis=1)]}


def coverage_on_test(series, origins, forecasts, residuals, horizon: int,
                     levels=arguments.LEVELS) -> dict:
  """Empirical coverage on the test part: `forecasts` from every test origin as far as
  the test part reaches (at most the calibrated steps, `backtest_origins`); per level the share
  of test points inside their interval, over the first `horizon` steps (what the
  summary scores) and over every step."""
  return _coverage(forecast_errors(series, origins, forecasts, len(series)), residuals,
                   horizon, levels)


def scaled_coverage_on_test(truth, forecasts, scales, residuals, horizon: int,
                            levels=arguments.LEVELS) -> dict:
  """`coverage_on_test` of a panel: `forecasts` <float64>[S, K] of each series' test
  part `truth` <float>[S, K] from its end of train, the errors divided by `scales`
  <float>[S] (the test windows' MASE scales); 'origins' counts the series."""
  errors = np.abs(np.asarray(truth, np.float64) - forecasts) / np.asarray(
      scales, np.float64)[:, None]
  return _coverage(errors[..., None], residuals, horizon, levels)


def _coverage(errors, residuals, horizon: int, levels) -> dict:
  """The dict of `coverage_on_test` for |errors| <float64>[W, K, C]."""
  out = {'steps': int(errors.shape[1]), 'origins': int(errors.shape[0])}
  for level in levels:
    width, _ = widths(residuals, level, errors.shape[1])
    inside = lambda e, w: coverage(e, 0.0, w)
    out[f'{level:g}'] = {'first_steps': inside(errors[:, :horizon], width[:horizon]),
                         'all_steps': inside(errors, width)}
  return out


def saved_coverage(manifest: dict, levels) -> dict | None:
  """The test coverage export.py saved in the manifest, as `coverage_on_test` gives it,
  where it holds every level of `levels`; else None."""
  saved = manifest.get('intervals', {}).get('test_coverage', {})
  keys = [f'{level:g}' for level in levels]
  if all(k in saved for k in keys):
    return {k: saved[k] for k in ['steps', 'origins'] + keys}
  return None
