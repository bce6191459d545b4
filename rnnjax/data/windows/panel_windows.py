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
Those per-series figures are series_scales.py's; the windows are taken in bulk
(strided.py).
"""

import numpy as np

from rnnjax.data.windows import series_scales
from rnnjax.data.windows import strided
from rnnjax.errors import InputError


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
  return {'x': np.stack([_x(h, f, len(h), lookback,
                            series_scales.input_level(u, horizon), num_future, horizon)
                         for h, u, f in zip(histories, inputs, full)]).astype(np.float32),
          'level': np.stack([series_scales.level_of(h, horizon)
                             for h in histories]).astype(np.float32),
          'seasonal': np.stack([seasonal_factors(series_scales.seasonal_figure(h, season),
                                                 len(h), lookback, horizon)
                                for h in histories]).astype(np.float32),
          'floor': np.asarray([series_scales.floor_of(h) for h in histories], np.float32)}


def _val_observed(panel, horizon: int) -> np.ndarray:
  """<bool>[S, horizon]: which cells of each series' validation window (the last
  `horizon` points of its train part) held a target before filling (panel.observed;
  a series shorter than that: its first cells)."""
  out = np.ones((len(panel.train), horizon), bool)
  if panel.observed is not None:
    for i, o in enumerate(panel.observed):
      last = np.asarray(o, bool)[-horizon:]
      out[i, :len(last)] = last
  return out


def windows(panel, *, lookback: int, horizon: int,
            season: int, earlier: bool = False) -> tuple[dict, tuple]:
  """(split -> arrays, notes): the panel's windows (see the module docstring).

  Every split: x <float32>[N, lookback, 1 + C] (the target in original units, then the C
  input columns standardised per series, `series_scales.input_level`, the future columns
  last and `horizon` points later: `_x`) and y <float32>[N, horizon, 1] in original
  units, level <float32>[N, 2] (the series' mean and standard deviation before the
  validation origin), mase_denom <float32>[N] (`series_scales.mase_scale` of the part
  before the window's split: before the validation origin for train and validation, the
  whole train part for test and refit), rmsse_denom <float32>[N] (`rmsse_scale` of that
  same part), seasonal <float32>[N, lookback + horizon] (each point's seasonal index,
  `seasonal_factors`, from that same part). Validation and test also: series <int32>[S],
  weight <float32>[S] (one window per series, 0 for one left out) and floor <float32>[S]
  (`floor_of` the part before the window); test, where some of its cells were empty
  (panel.test_observed), observed <float32>[S, horizon]: 1 where a cell is scored, 0
  where it is not (its value filled); validation the same where some cell of a
  validated series' window was empty (panel.observed; a series without one observed
  cell there is left out of validation, weight 0). 'refit': the training windows of the whole
  train part (targets up to its end), for a refit. Each series' figures that no lookback
  changes (level, scales, seasonal indices, floor) are computed once per panel and kept
  for the next lookback (series_scales.of).
  Train and refit also: by_age <int32>[N] (the windows, newest first) and age
  <int32>[N] (theirs, ascending: the points between a window's last target and the end
  of its series' part), for a member's `history`; and where some of their targets were
  empty (panel.observed), observed <bool>[N, horizon]: which held a value (the loss is
  their mean: a filled target is never trained towards). `earlier`: the panel is a
  cross-validation fold's, cut back (panel.earlier), as its notes say.
  """
  num_future = len(panel.future_columns)
  counts = dict(zip(('train', 'refit'), strided.counts(panel, horizon)))
  if not counts['train'].sum():
    raise InputError(f'--lookback/--horizon: no series of {panel.path} is long enough for '
                     f'a training window of horizon {horizon} before its validation part')
  # What no lookback changes, computed once per panel (windows/series_scales.py); every
  # window taken in bulk from the series laid end to end (windows/strided.py).
  scales = series_scales.of(panel, horizon=horizon, season=season)
  laid = strided.lay(panel, scales, lookback=lookback, horizon=horizon)
  take = lambda series, origin, split, **kw: strided.take(
      laid, series, origin, lookback=lookback, horizon=horizon, num_future=num_future,
      split=split, **kw)
  n = np.asarray([len(s) for s in panel.train], np.int64)
  every = np.arange(len(n))
  val_observed = _val_observed(panel, horizon)
  usable = n - horizon >= 1
  unseen = usable & ~val_observed.any(axis=1)  # Not one target in validation: left out.
  usable &= ~unseen
  out = {}
  # Training: origins 1, ..., n - 2h (targets before the validation origin); refit:
  # 1, ..., n - h (up to the train part's end). A window's age: the points between its
  # last target and the end of its part.
  for name, split, end in (('train', 'val', n - horizon), ('refit', 'test', n)):
    count = counts[name]
    series = np.repeat(every, count)
    origin = np.arange(len(series)) - np.repeat(np.cumsum(count) - count, count) + 1
    window = take(series, origin, split)
    # Cast per series, then copied per window: no float64 copy the size of the split.
    per_window = lambda a: a.astype(np.float32)[series]
    out[name] = {'x': window['x'], 'y': window['y'], 'level': per_window(scales.level),
                 'mase_denom': per_window(scales.mase[split]),
                 'rmsse_denom': per_window(scales.rmsse[split]),
                 'seasonal': window['seasonal']}
    if 'observed' in window and not window['observed'].all():
      out[name]['observed'] = window['observed']  # Empty targets (filled): not trained on.
    age = (end - horizon)[series] - origin
    order = np.argsort(age, kind='stable')
    out[name]['by_age'] = order.astype(np.int32)
    out[name]['age'] = age.astype(np.int32)[order]
  # Validation: from the validation origin (a series left out: from its last point, its
  # targets that point repeated); test: from the end of the train part.
  val_origin = np.where(usable, n - horizon, n - 1)
  val_y = laid.target[laid.target_start[:, None] + lookback + np.minimum(
      val_origin[:, None] + np.arange(horizon), n[:, None] - 1)]
  test_y = np.asarray([np.asarray(t[:horizon]) for t in panel.test], np.float32)
  for split, origin, y, weight in (('val', val_origin, val_y, usable),
                                   ('test', n, test_y, np.ones(len(n), bool))):
    window = take(every, origin, split, with_y=False)
    out[split] = {'x': window['x'], 'y': y.reshape(len(n), horizon, 1),
                  'level': scales.level.astype(np.float32),
                  'mase_denom': scales.mase[split].astype(np.float32),
                  'seasonal': window['seasonal'], 'series': every.astype(np.int32),
                  'weight': weight.astype(np.float32),
                  'floor': scales.floor[split].astype(np.float32),
                  'rmsse_denom': scales.rmsse[split].astype(np.float32)}
  if panel.test_observed is not None:  # Empty cells of a test part (filled): not scored.
    out['test']['observed'] = np.stack(panel.test_observed).astype(np.float32)
  # Empty cells of the validated series' validation windows (filled): not scored.
  val_observed[~usable] = True
  if not val_observed.all():
    out['val']['observed'] = val_observed.astype(np.float32)
  left_out = int(np.sum(~usable) - np.sum(unseen))
  # A fold's panel (`earlier`: cut back, panel.earlier) ends at its origin; its test
  # part is scored nowhere.
  notes = ((f'{left_out} series with at most {horizon} points before the test part: '
            'left out of training and validation, forecast on test' if not earlier else
            f'{left_out} series with at most {horizon} points before its origin: left out '
            'of its training and validation',) if left_out else ())
  if not val_observed.all():
    notes += (f'validation: {int(np.sum(~val_observed))} empty target cell(s) in the last '
              f'{horizon} points of the train part of {int(np.sum(~val_observed.all(1)))} '
              'series are filled and left out of the validation scores, the model\'s and '
              'every benchmark\'s (a series\' score: the mean over its observed steps)',)
  if unseen.any():
    notes += (f'validation: {int(np.sum(unseen))} series without a target in the last '
              f'{horizon} points of their train part (e.g. {panel.ids[np.argmax(unseen)]!r}): '
              'left out of validation, trained on' + ' and forecast on test' * (not earlier),)
  named = lambda positions: ', '.join(repr(panel.ids[i]) for i in positions[:3]) + (
      ', ...' if len(positions) > 3 else '')
  if scales.by_level and not earlier:  # A fold's test part is scored nowhere.
    notes += (f'{len(scales.by_level)} series with no in-sample naive error before the '
              f'test part (one point, or constant: {named(scales.by_level)}): their MASE '
              'is scaled by their mean |value| instead (1 if that is 0)',)
  if scales.by_level_rmsse and not earlier:
    notes += (f'{len(scales.by_level_rmsse)} series with no one-step change from their '
              'first non-zero value before the test part (never sold, one sale, or '
              f'constant: {named(scales.by_level_rmsse)}): their RMSSE is scaled by the '
              'root mean square of those values (1 if never sold) instead',)
  # Of those not left out (a point before the validation origin at least).
  short = np.flatnonzero((n - horizon >= 1) & (n - horizon < lookback))
  if len(short) and not earlier:  # A fold's: the same series, said once.
    shortest = short[np.argmin(n[short])]
    both = int(np.sum(n[short] < lookback))
    notes += (f'{len(short)} of {len(n)} series hold fewer than the lookback ({lookback}) '
              f'points before their validation origin ({both or "none"} of them before '
              'the test part too): their windows are padded on the left with the series\' '
              f'first value (e.g. {panel.ids[shortest]!r}: {n[shortest] - horizon} points '
              f'before validation, {n[shortest]} before the test part)',)
  if season > 1:
    notes += (f'{scales.seasonal} of {len(panel.train)} series pass the seasonality test '
              f'at season {season}: --deseasonalize adjusts those',)
  return out, notes
