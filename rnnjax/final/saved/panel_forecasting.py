"""The forecasting side of a panel model (many series, one model; data/panel.py): from
histories by series id (read and checked: panel_histories.py; their rows after each
history: panel_future.py), the arrays it forecasts from the end of each, forecasts fed
back past the horizon, intervals, and the sweep's series as export.py saved them.

A history is one series' values <float64>[n_i] in original units, oldest first; the
model forecasts `horizon` points from the end of each (panel_windows.forecast_inputs:
its last `lookback` points, left-padded with its first where it is shorter, and its
level), and past the horizon from the history with its forecasts appended, as for one
series (forecasting.py). Arrays only: no model, no device.
"""

import numpy as np

from rnnjax.data.windows import panel_windows
from rnnjax.data.windows import series_scales
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import intervals
from rnnjax.final.saved import panel_future
from rnnjax.final.saved import panel_histories


def panel_inputs(transform, histories, lookback, inputs=None, ahead=None) -> dict:
  """The split a panel model forecasts from the end of each history: x <float32>[S,
  lookback, 1 + C], level <float32>[S, 2] and seasonal <float32>[S, lookback + horizon]
  (lookback None: the model's; inputs: each history's input columns, or None; ahead:
  their rows over the horizon, read where the model has future columns)."""
  return panel_windows.forecast_inputs(
      histories, lookback=lookback or transform['lookback'], horizon=transform['horizon'],
      season=transform['season'], inputs=inputs, ahead=ahead,
      num_future=len(transform.get('future_columns', ())))


def panel_scales(transform, histories) -> np.ndarray:
  """<float64>[S]: each history's MASE scale (series_scales.mase_scale, the model's season)."""
  return np.asarray([series_scales.mase_scale(h, transform['season']) for h in histories])


def panel_paths(transform, outputs, histories, steps: int, inputs=None,
                future=None) -> np.ndarray:
  """<float64>[S, steps]: forecasts of `steps` points after each history; past the
  horizon the forecasts are fed back (with `inputs`, each history's input columns, and
  `future` their rows after it, `panel_future_inputs`). outputs: (histories, inputs,
  ahead) -> <float64>[S, horizon], the model's averaged forecasts from their ends
  (ahead: the inputs' next rows, or None)."""
  horizon = transform['horizon']
  histories, point, done = list(histories), np.empty((len(histories), steps)), 0
  while done < steps:
    ahead = None if future is None else [f[done:done + horizon] for f in future]
    forecast, take = outputs(histories, inputs, ahead), min(horizon, steps - done)
    point[:, done:done + take] = forecast[:, :take]
    histories = [np.concatenate([h, a[:take]]) for h, a in zip(histories, forecast)]
    if inputs is not None and done + take < steps:
      inputs = [np.concatenate([u, f[done:done + take]]) for u, f in zip(inputs, future)]
    done += take
  return point


def panel_forecast(transform, arrays, outputs, given, steps: int, levels,
                   what: str = 'history', future_inputs=None,
                   future_what: str = 'future_inputs', lookback: int | None = None) -> dict:
  """What TunedModel.forecast returns for a panel (its docstring): `given` histories
  (`panel_histories`), forecast by `outputs` (`panel_paths`), with the intervals of
  the residuals in `arrays` (intervals.scaled_bands), if it holds them. lookback: the
  longest its members read (None: the model's), for the note of histories padded."""
  read = []
  ids, histories, times, inputs = panel_histories.panel_histories(transform, given, what,
                                                                  notes=read)
  panel_histories.check_data_step(transform, arrays, times, what, read)
  with arguments.plan_noted(read):
    future = panel_future.panel_future_inputs(transform, ids, future_inputs, steps,
                                               future_what, times, notes=read)
  point = panel_paths(transform, outputs, histories, steps, inputs, future)
  lower, upper, notes = {}, {}, []
  if 'residuals' in arrays:
    scales = panel_scales(transform, histories)
    lower, upper, notes = intervals.scaled_bands(point, arrays['residuals'], scales,
                                                 levels, steps)
    if levels:
      notes += intervals.level_note(ids, histories, scales, transform['season'], what)
    lower, raised = intervals.floor_at_zero(
        lower, np.array([[not np.any(h < 0)] for h in histories], bool).reshape(-1, 1))
    notes += raised
  notes = read + notes
  lookback = lookback or transform['lookback']
  short = [k for k, h in zip(ids, histories) if len(h) < lookback]
  if short:  # As the sweep's short series: padded, said.
    notes.append(f'{what}: {len(short)} series shorter than the lookback '
                 f'({lookback}) padded on the left with their first value '
                 f'(e.g. {short[0]!r}: {len(histories[ids.index(short[0])])} points)')
  notes += ended_early_note(ids, times, what)
  if steps > transform['horizon']:
    notes.append(f'steps past the horizon ({transform["horizon"]}) feed the forecasts '
                 'back as history')
  if transform.get('zero_window_unscaled'):
    notes += zero_window_note(ids, histories, lookback, what)
  return {'ids': ids, 'point': point, 'lower': lower, 'upper': upper, 'notes': notes,
          'times': time_grid.future_times([t or [] for t in times], steps,
                                          panel_histories.data_times(arrays))}


def ended_early_note(ids, times, what: str) -> list:
  """[the note] where some histories end at an earlier date than others (a product no
  longer sold): each is forecast from its own end, at dates already past."""
  early = time_grid.ended_early([t or [] for t in times])
  if not early:
    return []
  k, back = early[0]
  return [f'{what}: {len(early)} series end{"s" * (len(early) == 1)} before the others\' '
          'last date, each forecast '
          f'from its own end, at dates already past (e.g. {ids[k]!r}, last at '
          f'{times[k][-1]}, {back} steps earlier); a sweep with --fill=zero runs a series '
          'that stopped on as zeros to the last date']


# The commit since which a window ending on 0 is scaled by its mean |value|.
ZERO_WINDOW_RULE = '5ec81b060a407bf6685801a3a55626f22150c3e0'


def zero_window_note(ids, histories, lookback: int, what: str) -> list:
  """[the note] where a history's window (its last `lookback` values) ends on 0 and the
  model's manifest predates 'zero_window_scale' (TunedModel sets zero_window_unscaled
  for its --normalization=last members, unless its git commit is known to come after
  ZERO_WINDOW_RULE): such a window is now scaled by its mean |value|, where before
  5ec81b0 (2026-12-05) it was read in units; [] otherwise."""
  ends = [k for k, h in zip(ids, histories) if len(h) and np.mean(np.abs(h[-lookback:])) > 0
          and abs(h[-1]) <= 1e-6 * np.mean(np.abs(h[-lookback:]))]
  if not ends:
    return []
  return [f'{what}: {len(ends)} series end on 0 (e.g. {ends[0]!r}), and this model\'s '
          'manifest predates the rule for such windows: its --normalization=last members '
          'now read them scaled by their mean |value|; if it was saved before 2026-12-05 '
          '(commit 5ec81b0) they were trained reading them unscaled, so these forecasts '
          'differ from what it was scored with: sweep again to train under the rule']


def panel_coverage(transform, arrays, outputs, levels) -> dict:
  """What TunedModel.test_coverage computes for a panel: the coverage on the sweep's
  test part (intervals.scaled_coverage_on_test) of the intervals of the residuals in
  `arrays` around the forecasts `outputs` makes from the end of each train part
  (`panel_scored`)."""
  values, inputs, ahead, split = panel_scored(transform, arrays)
  truth = split['y'][..., 0]
  if 'observed' in split:  # An empty cell (filled) is not counted: NaN.
    truth = np.where(split['observed'] > 0, truth, np.nan)
  return intervals.scaled_coverage_on_test(
      truth, outputs(values, inputs, ahead), split['mase_denom'],
      arrays['residuals'], transform['horizon'], levels)


def saved_series(arrays, *, with_test: bool = False) -> tuple[list, list, list]:
  """(ids, values [<float64>[n_i]], times [[str]]) of the sweep's series as export.py
  saved them: each series' train part, followed by its test part when `with_test`."""
  offsets = arrays['offsets']
  cut = lambda a, i: a[offsets[i]:offsets[i + 1]]
  ids = [str(k) for k in arrays['ids']]
  values = [cut(arrays['values'], i) for i in range(len(ids))]
  times = [[str(t) for t in cut(arrays['times'], i)] for i in range(len(ids))]
  if with_test:
    values = [np.concatenate([v, t]) for v, t in zip(values, arrays['test'])]
    times = [t + [str(c) for c in c_test] for t, c_test in zip(times, arrays['test_times'])]
  return ids, values, times


def saved_observed(arrays, *, with_test: bool = False) -> list | None:
  """Each saved series' <bool>[n_i]: which target cells held a value (followed by the
  test part's where `with_test`), as `saved_series` its values; None where every one
  did, or the model does not say (saved before it did)."""
  if 'observed' not in arrays and 'test_observed' not in arrays:
    return None
  offsets = arrays['offsets']
  whole = arrays.get('observed', np.ones(offsets[-1], bool))
  out = [np.asarray(whole[offsets[i]:offsets[i + 1]], bool) for i in range(len(offsets) - 1)]
  if with_test:
    test = arrays.get('test_observed', np.ones(np.shape(arrays['test']), bool))
    out = [np.concatenate([o, np.asarray(t, bool)]) for o, t in zip(out, test)]
  return out


def saved_inputs(arrays, *, with_test: bool = False):
  """Each saved series' input columns <float64>[n_i, C], as `saved_series` its values
  (followed by the test part's where `with_test`), or None: a model without them."""
  if 'inputs' not in arrays:
    return None
  offsets = arrays['offsets']
  inputs = [arrays['inputs'][offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
  if with_test:
    inputs = [np.concatenate([u, t]) for u, t in zip(inputs, arrays['test_inputs'])]
  return inputs


def saved_ahead(arrays):
  """Each saved series' input rows over its test part <float64>[horizon, C] (where the
  model reads them: future columns, the test part given or held out), or None."""
  return list(arrays['test_inputs']) if 'test_inputs' in arrays else None


def panel_scored(transform, arrays, histories=None, futures=None,
                 future_inputs=None) -> tuple:
  """(values, inputs, ahead, split): the histories forecast from, their input columns
  (or None), the inputs' rows after them where the model reads them (future columns;
  else None), and the split the summary scores their forecasts on: y <float64>[S,
  horizon, 1] (the first `horizon` points of each future, by id), each history's MASE
  and RMSSE scales, weight 1. Without histories: the sweep's train parts and test parts
  (`saved_series`, `saved_ahead`), with Naive2's (sMAPE, MASE) there for the OWA and,
  where some test cells were empty (filled), observed <float64>[S, horizon] (1: scored),
  as the summary scored its final model."""
  horizon, naive2 = transform['horizon'], None
  if histories is None:
    ids, values, _ = saved_series(arrays)
    inputs, ahead = saved_inputs(arrays), saved_ahead(arrays)
    futures, naive2 = dict(zip(ids, arrays['test'])), arrays.get('naive2')
  else:
    ids, values, times, inputs = panel_histories.panel_histories(transform, histories,
                                                                 'histories')
    panel_histories.check_data_step(transform, arrays, times, 'histories')
    ahead = panel_future.panel_future_inputs(transform, ids, future_inputs, horizon)
    futures = arguments.string_keys(futures or {}, 'futures')
  if not transform.get('future_columns'):
    ahead = None
  futures = [np.asarray(futures.get(k, []), np.float64) for k in ids]
  for key, future in zip(ids, futures):
    if len(future) < horizon or not np.all(np.isfinite(future[:horizon])):
      raise InputError(f'futures: series {key!r} has {len(future)} points; the model is '
                       f'scored on the next {horizon}, all finite')
  split = {'y': np.stack([f[:horizon] for f in futures])[..., None],
           'mase_denom': panel_scales(transform, values), 'weight': np.ones(len(values)),
           'rmsse_denom': np.asarray([series_scales.rmsse_scale(v) for v in values])}
  if naive2 is not None:
    split['naive2'] = np.asarray(naive2)
  if histories is None and 'test_observed' in arrays:  # Saved before it: every cell.
    split['observed'] = np.asarray(arrays['test_observed'], np.float64)
  return values, inputs, ahead, split
