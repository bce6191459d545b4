"""One series' windows: its chronological split, standardisation, windows and baselines
(`prepare`; data/forecast.py reads the series and fills its gaps first).

A series of N time points is split chronologically: the first points train, the next
`val_size` validate and the last `test_size` test (each, unless given, 15 % of the
series and at least `horizon` points, so a short series keeps a window in each). A
window's inputs are the `lookback` points before time t and its targets the `horizon`
points from t on; a window belongs to the split that holds all of its targets (its
inputs may reach back into the previous split, as they would when forecasting for
real). Standardisation statistics come from the training part alone.

Several target columns may be forecast at once, and extra `input_columns` (other series
known over the lookback, e.g. temperature for electricity demand) may be fed alongside
them: a window's inputs are the targets' history followed by the input columns' history.
Every column is standardised with its own training-part statistics.

Baselines, scored in original units on the levels: last value, seasonal naive, and
(with the optional statsforecast) automatic ETS and ARIMA, see classical.py. Beside RMSE
and MAE, MASE (Hyndman & Koehler 2006, "Another look at measures of forecast accuracy"):
MAE over the in-sample MAE of the seasonal naive forecast on the training part
(scores/series_errors.py).
"""

import dataclasses

import numpy as np

from rnnjax.data import classical
from rnnjax.data import common
from rnnjax.data.scores import series_errors
from rnnjax.errors import InputError

DEFAULT_HOLDOUT_FRACTION = 0.15


@dataclasses.dataclass(frozen=True)
class ForecastData:
  """Windows of a standardised series, split in time.

  `x[split]`: <float32>[N, lookback, C_in]; `y[split]`: <float32>[N, horizon, C_out]
  (scaled). C_out = len(target_columns); C_in = C_out + len(input_columns), channels in
  that order. `mean`, `std`: <float64>[C_out], to return targets to original units.
  `num_filled` counts the gaps of every column read.
  """
  x: dict
  y: dict
  mean: np.ndarray
  std: np.ndarray
  target_columns: tuple
  num_filled: int
  baselines: dict
  split_points: tuple  # (train_end, val_end) as indices into the series.
  input_columns: tuple = ()
  difference: bool = False  # Targets are changes; see `prepare`.
  mase_scale: np.ndarray = None
  notes: tuple = ()
  # Every input channel's statistics <float64>[C_in] (targets first, their changes with
  # `difference`) and the gap-filled levels <float64>[N, C_in]: what a saved model
  # needs to scale new history as the windows were scaled (rnnjax/final/saved/export.py).
  x_mean: np.ndarray = None
  x_std: np.ndarray = None
  series: np.ndarray = None
  season: int = 0  # The season the baselines and MASE used (0: none).
  filled: dict | None = None  # gap_fill.fill_counts: the empty cells filled, by column.
  flag_columns: tuple = ()  # Input columns of 0s and 1s (gap_fill.flag_columns), by name.
  # <float32>[W_test, horizon, C_out], where some target cell of the test part was empty
  # (filled): 1 where the level a test window's target scores held a value, 0 where it
  # did not (left out of every test score); None where every one did.
  test_observed: np.ndarray | None = None
  # The same of the validation part (<float32>[W_val, horizon, C_out]): its empty cells
  # are left out of every validation score (members, best steps, early stopping).
  val_observed: np.ndarray | None = None
  # 'train', 'refit' -> <bool>[W, horizon, C_out] where some target of that split's
  # windows was empty (filled): which the loss reads (a change: where both its levels
  # held a value); a filled target is never trained towards.
  train_observed: dict = dataclasses.field(default_factory=dict)

def _window_starts(lookback, horizon, start, stop):
  """Times t whose targets [t, t + horizon) lie in [start, stop) and inputs exist."""
  return np.arange(max(start, lookback), stop - horizon + 1)


def seasonal_naive(series, t, horizon, season):
  """<[N, horizon, C]>: each target repeats the value one season earlier."""
  steps = np.arange(horizon)
  return series[t[:, None] - season + steps % season]


def prepare(values: np.ndarray, *, lookback: int, horizon: int, val_size: int = 0,
            test_size: int = 0, num_targets: int = 1, season: int = 0,
            target_columns=('value',), num_filled: int = 0,
            input_columns=(), difference: bool = False,
            classical_baselines: bool = True, observed=None) -> ForecastData:
  """Windows and baselines from a gap-free series.

  Args:
    values: <float64>[N, C]; the first `num_targets` columns are forecast (named by
      `target_columns`), all C columns are inputs (the rest named by `input_columns`).
    difference: model the changes of the targets, v[t] - v[t-1], instead of their
      levels (inputs and targets alike; other input columns stay levels). A series
      with a trend then stays inside the range the training part has seen. `mean` and
      `std` are then the changes' statistics; a forecast's levels are the last observed
      level plus the cumulative sum of its changes (see losses.regression_metrics).
    classical_baselines: also fit ETS and ARIMA (classical.py; seconds on long series).
    observed: <bool>[N, num_targets] which target cells held a value before their gaps
      were filled, or None (every one): a validation or test window's target whose level
      was empty is left out of every score of its part (`val_observed`, `test_observed`),
      the baselines' here included, and a training window's out of the loss
      (`train_observed`).
  """
  n = len(values)
  lookback_needed = lookback + int(difference)  # A change needs the level before it.
  for flag, given in (('--val_size', val_size), ('--test_size', test_size)):
    if 0 < given < horizon:
      raise InputError(f'{flag}: {given} points are fewer than --horizon={horizon}: a window '
                       f'of that part forecasts {horizon} points of it')
  # An automatic part holds at least one window: --horizon points (a short series).
  automatic = round(DEFAULT_HOLDOUT_FRACTION * n)
  grown = [name for name, given in (('validation', val_size), ('test', test_size))
           if given <= 0 and automatic < horizon]
  val_size, test_size = common.holdout_sizes(n, val_size, test_size,
                                             fraction=DEFAULT_HOLDOUT_FRACTION,
                                             minimum=horizon)
  train_end, val_end = n - val_size - test_size, n - test_size
  bounds = {'train': (0, train_end), 'val': (train_end, val_end), 'test': (val_end, n)}
  for split, (start, stop) in bounds.items():
    if len(_window_starts(lookback_needed, horizon, start, stop)) < 1:
      raise InputError(
          f'series of {n} points is too short for --lookback={lookback}, '
          f'--horizon={horizon} with {val_size} validation and {test_size} test points '
          f'(no {split} window)')
  modelled = np.array(values, np.float64)
  if difference:
    modelled[1:, :num_targets] = np.diff(values[:, :num_targets], axis=0)
    modelled[0, :num_targets] = np.nan  # No window reads it (lookback_needed).
  first = int(difference)
  mean = modelled[first:train_end].mean(axis=0)
  std = modelled[first:train_end].std(axis=0)
  std = np.where(std > 0, std, 1.0)
  scaled = ((modelled - mean) / std).astype(np.float32)
  targets = values[:, :num_targets]
  scale = series_errors.mase_scale(targets[:train_end], season)
  x, y, baselines = {}, {}, {'last_value': {}}
  if season:
    baselines['seasonal_naive'] = {}
  starts, truth, scored, trained = {}, {}, {'val': None, 'test': None}, {}
  if observed is not None:  # Which modelled targets held a value: a change, both levels.
    fitted = np.asarray(observed, bool).copy()
    if difference:
      fitted[1:] &= fitted[:-1]
  # 'refit': every window whose targets lie before the test part, those that straddle
  # the end of training too (final/choice/refit.py trains on them).
  for split, (start, stop) in {**bounds, 'refit': (0, val_end)}.items():
    t = _window_starts(lookback_needed, horizon, start, stop)
    x[split] = scaled[t[:, None] + np.arange(-lookback, 0)]
    y[split] = scaled[t[:, None] + np.arange(horizon)][..., :num_targets]
    if split in ('train', 'refit'):
      read = None if observed is None else fitted[t[:, None] + np.arange(horizon)]
      if read is not None and not read.all():
        trained[split] = read
      continue
    starts[split], truth[split] = t, targets[t[:, None] + np.arange(horizon)]
    if observed is not None and not observed[start:stop].all():
      # The level cells each target is scored on, indexed as `y` (changes: their levels).
      scored[split] = np.asarray(observed, bool)[t[:, None] + np.arange(horizon)].astype(
          np.float32)
    last = np.repeat(targets[t - 1, None], horizon, axis=1)
    baselines['last_value'][split] = series_errors.regression_report(last, truth[split], scale,
                                                                     scored[split])
    if season and t.min() >= season:
      pred = seasonal_naive(targets, t, horizon, season)
      baselines['seasonal_naive'][split] = series_errors.regression_report(
          pred, truth[split], scale, scored[split])
  said = ()  # Where the baselines or MASE cannot be what the flags ask: said, not dropped.
  if grown:
    each = 'hold' if len(grown) > 1 else 'holds'
    said += (f'{" and ".join(grown)} {each} --horizon={horizon} points, not '
             f'{DEFAULT_HOLDOUT_FRACTION:.0%} of the series ({automatic} of {n}: fewer '
             'than a window forecasts)',)
  if season >= train_end:
    said += (f'--season={season} is not shorter than the training part ({train_end} '
             'points): no seasonal-naive baseline, and MASE scales by the naive (lag-1) '
             'error',)
  constant = [c for c, s in zip(target_columns, np.atleast_1d(scale)) if not np.isfinite(s)]
  if constant:
    said += (f'column {constant[0]!r} is constant over the training part: its MASE is '
             'undefined (nan)',)
  notes = ()
  if classical_baselines:
    # On the levels, as the naive baselines, whether or not the networks model changes.
    preds, notes = classical.forecasts(targets, starts,
                                       {'val': train_end, 'test': val_end},
                                       horizon=horizon, season=season)
    for name, by_split in preds.items():
      baselines[name] = {split: series_errors.regression_report(
          pred, truth[split], scale, scored[split]) for split, pred in by_split.items()}
  return ForecastData(x=x, y=y, mean=mean[:num_targets], std=std[:num_targets],
                      target_columns=tuple(target_columns), num_filled=num_filled,
                      baselines={k: v for k, v in baselines.items() if v},
                      split_points=(train_end, val_end),
                      input_columns=tuple(input_columns), difference=difference,
                      mase_scale=scale, notes=said + tuple(notes), x_mean=mean, x_std=std,
                      series=np.asarray(values, np.float64), season=season,
                      test_observed=scored['test'], val_observed=scored['val'],
                      train_observed=trained)
