"""A panel's windows (panel.py reads the panel), as the panel task reads them
(engine/tasks/panel.py), and the same arrays for forecasts from the end of new
histories (a saved model's).

The M protocol: TEST is the `horizon` points after each series' train part, forecast
from the end of train; validation is the last `horizon` points of train, forecast from
`horizon` points earlier (with `origin_back = k`: from k more horizons earlier, the
rolling origins of cross-validation, panel.earlier); training windows have their
targets before the validation origin. A window's inputs are the `lookback` points
before its origin: the target's, and each input column's standardised by the series'
own mean and standard deviation before its validation origin, as a forecast from the
end of a history standardises them (past values, as in forecasting; a column known in
advance, `future_columns`, is read `horizon` points later, so that the window's last
points hold its values over the horizon: a promotion planned for a target's period is
in the window that forecasts it). Where a series is shorter, they are padded on the
left with its first value, so no series is refused for its length. A series without a
single point before its validation origin (a train part of at most `horizon` points)
is left out of validation and training, with a note; it is still forecast and scored
on test.

`windows` returns every split: raw target values in original units (the task
normalises each window itself, as its member's `normalization` says), each window's
series statistics, MASE scale and seasonal indices (for a member that
`deseasonalize`s, as Naive2 and Theta do: a seasonal series' windows divided by its
multiplicative indices, its forecasts multiplied by them), and per validation / test
window the series it belongs to, its weight (0: a series left out) and RMSSE's scale.
"""

import numpy as np

from rnnjax.data.scores import competition
from rnnjax.data.windows import strided
from rnnjax.errors import InputError


def mase_scale(train: np.ndarray, season: int) -> float:
  """MASE's denominator for one series: the in-sample mean |v[t] - v[t - m]|, m the
  season when the series is longer than one (else 1); where that is 0 or undefined (a
  constant or one-point series), the mean |v| (1 for a zero series), so that the
  scaled errors stay finite."""
  scale = competition.naive_error(train, season)
  if not scale > 0:
    scale = float(np.mean(np.abs(train))) or 1.0
  return scale


def rmsse_scale(train: np.ndarray) -> float:
  """RMSSE's denominator for one series (RMSSE = RMSE / it): the in-sample root mean
  squared one-step change from its first non-zero value on (competition.rmsse_error);
  where that is 0 (constant, or one point, from its first non-zero value on), the root
  mean square of those same points (1 for a zero series), as `mase_scale` falls back to
  the level: the zeros before a first sale count in neither (a product first sold on
  the part's last day is scaled by that sale, not by it over the days before)."""
  scale = competition.rmsse_error(train)
  if not scale > 0:
    scale = float(np.sqrt(np.mean(np.square(competition.sold(train))))) or 1.0
  return scale


def scaled_by_level(train: np.ndarray, season: int) -> bool:
  """Whether `mase_scale` falls back to the series' mean |v|: it has no naive error
  (constant, one point, or each season repeated exactly)."""
  return not competition.naive_error(train, season) > 0


def _window(series: np.ndarray, origin: int, lookback: int) -> np.ndarray:
  """The `lookback` points (rows) before `origin`, left-padded with the series' first."""
  start = origin - lookback
  if start >= 0:
    return series[start:origin]
  return np.concatenate([np.repeat(series[:1], -start, axis=0), series[:origin]])


def _x(series, inputs, origin: int, lookback: int, stats, num_future: int = 0,
       horizon: int = 0) -> np.ndarray:
  """<float64>[lookback, 1 + C]: a window's target points, then its input columns
  standardised by `stats` (`input_level`); [lookback, 1] without inputs. The last
  `num_future` columns (known in advance) are read `horizon` rows later: their rows
  end with the window's targets', so `inputs` must hold rows up to origin + horizon."""
  x = _window(series, origin, lookback)[:, None]
  if inputs is None:
    return x
  past = inputs.shape[1] - num_future
  rows = _window(inputs[:, :past], origin, lookback)
  if num_future:
    rows = np.concatenate([rows, _window(inputs[:, past:], origin + horizon, lookback)], 1)
  return np.concatenate([x, (rows - stats[0]) / stats[1]], 1)


def _known(values: np.ndarray, horizon: int) -> np.ndarray:
  """A series' points (rows) before its validation origin; all of them when it has at
  most `horizon`."""
  return values[:len(values) - horizon] if len(values) > horizon else values


def input_level(inputs, horizon: int):
  """(mean, standard deviation) <float64>[C] of a series' input columns over its `_known`
  points (a standard deviation of 0 becomes 1), as `level_of` the target's; None
  without inputs."""
  if inputs is None:
    return None
  known = _known(inputs, horizon)
  std = known.std(axis=0)
  return known.mean(axis=0), np.where(std > 0, std, 1.0)


def level_of(series: np.ndarray, horizon: int) -> np.ndarray:
  """<float64>[2]: the mean and standard deviation of a series' `_known` points: what the
  'series' normalisation scales its windows by, in training and when forecasting from
  its end (a constant series' 0 becomes its window's mean |value| there, never 1 in the
  data's units: engine/tasks/panel.py)."""
  known = _known(series, horizon)
  return np.array([known.mean(), known.std()])


def seasonal_figure(known: np.ndarray, season: int) -> np.ndarray | None:
  """<float64>[season]: the multiplicative seasonal indices of a series' known part, as
  Naive2 and Theta deseasonalise (competition.seasonal_indices), where it passes M4's
  seasonality test and is positive; None otherwise (not adjusted)."""
  if season <= 1 or not np.all(known > 0) or not competition.is_seasonal(known, season):
    return None
  return competition.seasonal_indices(known, season)


def seasonal_factors(figure, origin: int, lookback: int, horizon: int) -> np.ndarray:
  """<float64>[lookback + horizon]: the seasonal index of each input and target point of
  the window with this origin (ones for figure None). Left padding (points before the
  series' start) takes the first point's index, as it takes its value."""
  if figure is None:
    return np.ones(lookback + horizon)
  positions = np.maximum(np.arange(origin - lookback, origin + horizon), 0)
  return figure[positions % len(figure)]


def forecast_inputs(histories, *, lookback: int, horizon: int, season: int = 0,
                    inputs=None, ahead=None, num_future: int = 0) -> dict:
  """The arrays the panel task forecasts from the end of each history (<[n_i]> in
  original units; `inputs`, per history its input columns <[n_i, C]>, or None; with
  `num_future` columns known in advance, `ahead` per history their rows over the
  horizon <[horizon, C]>): x <float32>[S, lookback, 1 + C] (left-padded), level
  <float32>[S, 2] and seasonal <float32>[S, lookback + horizon] (the history's own
  seasonal indices); what the test split holds, and what a saved model reads from new
  histories."""
  inputs = [None] * len(histories) if inputs is None else inputs
  full = inputs if not num_future else [np.concatenate([u, a[:horizon]])
                                        for u, a in zip(inputs, ahead)]
  return {'x': np.stack([_x(h, f, len(h), lookback, input_level(u, horizon), num_future,
                            horizon)
                         for h, u, f in zip(histories, inputs, full)]).astype(np.float32),
          'level': np.stack([level_of(h, horizon) for h in histories]).astype(np.float32),
          'seasonal': np.stack([seasonal_factors(seasonal_figure(h, season), len(h),
                                                 lookback, horizon)
                                for h in histories]).astype(np.float32),
          'floor': np.asarray([floor_of(h) for h in histories], np.float32)}


def floor_of(known) -> float:
  """The least a forecast from the end of `known` may be: 0 for a series that never went
  below 0 (sales, counts: a forecast below 0 is raised to 0), else -inf."""
  return 0.0 if np.all(np.asarray(known) >= 0) else -np.inf


def windows(panel, *, lookback: int, horizon: int,
            season: int) -> tuple[dict, tuple]:
  """(split -> arrays, notes): the panel's windows (see the module docstring).

  Every split: x <float32>[N, lookback, 1 + C] (the target in original units, then the
  C input columns standardised per series, `input_level`, the future columns last and
  `horizon` points later: `_x`) and y <float32>[N, horizon, 1] in original units, level
  <float32>[N, 2] (the series' mean and standard deviation before the validation
  origin), mase_denom <float32>[N] (`mase_scale` of the part before the
  window's split: before the validation origin for train and validation, the whole
  train part for test and refit), rmsse_denom <float32>[N] (`rmsse_scale` of that same
  part), seasonal <float32>[N, lookback + horizon] (each point's seasonal index,
  `seasonal_factors`, from that same part). Validation and test also: series
  <int32>[S], weight <float32>[S] (one window per series, 0 for one left out) and floor
  <float32>[S] (`floor_of` the part before the window). 'refit':
  the training windows of the whole train part (targets up to its end), for a refit.
  Train and refit also: by_age <int32>[N] (the windows, newest first) and age
  <int32>[N] (theirs, ascending: the points between a window's last target and the end
  of its series' part), for a member's `history`.
  """
  num_future = len(panel.future_columns)
  all_inputs = panel.inputs or [None] * len(panel.train)
  width = 1 + (all_inputs[0].shape[1] if panel.inputs else 0)
  counts = dict(zip(('train', 'refit'), strided.counts(panel, horizon)))
  if not counts['train'].sum():
    raise InputError(f'--lookback/--horizon: no series of {panel.path} is long enough for '
                     f'a training window of horizon {horizon} before its validation part')
  # Every training and refit window written once (windows/strided.py) into arrays of
  # their final size: a panel of long series has millions (kept as one small array
  # each, they took several times the memory, and minutes).
  out = {}
  for name, count in counts.items():
    n = int(count.sum())
    out[name] = {'x': np.empty((n, lookback, width), np.float32),
                 'y': np.empty((n, horizon, 1), np.float32),
                 'level': np.empty((n, 2), np.float32),
                 'mase_denom': np.empty(n, np.float32),
                 'rmsse_denom': np.empty(n, np.float32),
                 'seasonal': np.empty((n, lookback + horizon), np.float32)}
  ages = {name: np.empty(int(count.sum()), np.int64) for name, count in counts.items()}
  starts = {name: np.concatenate([[0], np.cumsum(count)]) for name, count in counts.items()}
  per_window = ('x', 'y', 'level', 'mase_denom', 'seasonal')
  splits = {name: {k: [] for k in per_window + ('series', 'weight', 'floor', 'rmsse_denom')}
            for name in ('val', 'test')}
  left_out = seasonal = by_level = by_level_rmsse = 0
  for i, (series, test, inputs) in enumerate(zip(panel.train, panel.test, all_inputs)):
    origin = len(series) - horizon  # The validation origin.
    stats = input_level(inputs, horizon)
    rows = inputs if not num_future else np.concatenate([inputs, panel.test_inputs[i]])
    usable = origin >= 1
    left_out += not usable
    known = _known(series, horizon)
    level = level_of(series, horizon)
    scale_val = mase_scale(known, season)
    scale_test = mase_scale(series, season)
    rmsse_val, rmsse_test = rmsse_scale(known), rmsse_scale(series)
    by_level += not competition.naive_error(series, season) > 0
    by_level_rmsse += not competition.rmsse_error(series) > 0
    figure_val, figure_test = seasonal_figure(known, season), seasonal_figure(series, season)
    seasonal += figure_test is not None
    for name, scale, figure, end, rmsse in (
        ('train', scale_val, figure_val, origin, rmsse_val),
        ('refit', scale_test, figure_test, len(series), rmsse_test)):
      at, count = int(starts[name][i]), int(counts[name][i])
      strided.fill(out[name], at, count, series, rows, stats, figure, lookback=lookback,
                   horizon=horizon, num_future=num_future)
      out[name]['level'][at:at + count] = level
      out[name]['mase_denom'][at:at + count] = scale
      out[name]['rmsse_denom'][at:at + count] = rmsse
      # A window's age: the points between its last target and the end of its part.
      ages[name][at:at + count] = end - horizon - np.arange(1, count + 1)
    def add(split, t, y, scale, figure):
      x = _x(series, rows, t, lookback, stats, num_future, horizon)
      for k, v in (('x', x), ('y', y), ('level', level), ('mase_denom', scale),
                   ('seasonal', seasonal_factors(figure, t, lookback, horizon))):
        splits[split][k].append(v)
    val_origin = origin if usable else len(series) - 1
    val_y = series[val_origin:val_origin + horizon]
    add('val', val_origin, np.concatenate([val_y, np.full(horizon - len(val_y), val_y[-1])]),
        scale_val, figure_val)
    add('test', len(series), np.asarray(test[:horizon]), scale_test, figure_test)
    for name, weight, part, rmsse in (('val', float(usable), known, rmsse_val),
                                      ('test', 1.0, series, rmsse_test)):
      splits[name]['series'].append(i)
      splits[name]['weight'].append(weight)
      splits[name]['floor'].append(floor_of(part))
      splits[name]['rmsse_denom'].append(rmsse)
  dtypes = {'series': np.int32}
  for name, arrays in splits.items():
    out[name] = {k: np.asarray(v, dtypes.get(k, np.float32)) for k, v in arrays.items()}
    out[name]['y'] = out[name]['y'][..., None]
  for name, age in ages.items():
    order = np.argsort(age, kind='stable')
    out[name]['by_age'] = order.astype(np.int32)
    out[name]['age'] = age.astype(np.int32)[order]
  notes = ((f'{left_out} series with at most {horizon} points before the test part: '
            'left out of training and validation, forecast on test',) if left_out else ())
  if by_level:
    notes += (f'{by_level} series with no in-sample naive error before the test part (one '
              'point, or constant): their MASE is scaled by their mean |value| instead',)
  if by_level_rmsse:
    notes += (f'{by_level_rmsse} series with no one-step change from their first non-zero '
              'value before the test part (never sold, one sale, or constant): their RMSSE '
              'is scaled by the root mean square of those values (1 if never sold) instead',)
  if season > 1:
    notes += (f'{seasonal} of {len(panel.train)} series pass the seasonality test at season '
              f'{season}: --deseasonalize adjusts those',)
  return out, notes
