"""The forecasting side of a saved model (tuned.py): histories checked, input windows
scaled as the sweep scaled them, forecasts fed back past the horizon, and a forecast
with its intervals (`series_forecast`; a panel model's, many series at once:
panel_forecasting.py).

Functions of the model's data transform (export.manifest's 'data': columns, lookback,
horizon, difference, scaling statistics); where forecasts are made, of the model's
`scaled_forecasts(values, ends)`, its members' averaged outputs on the windows ending
before `ends`. Arrays only: no model, no device.
"""

import numpy as np

from rnnjax.data import gap_fill
from rnnjax.data.time import follows
from rnnjax.data.time import grid as time_grid
from rnnjax.data.time import periods
from rnnjax.errors import InputError
from rnnjax.errors import RowsAheadError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import intervals


def columns(transform) -> list:
  """The columns a history holds, in order: the targets, then the input columns."""
  return list(transform['target_columns']) + list(transform['input_columns'])


def labels(transform) -> list:
  """`columns`' names in a note of the cells filled: 'target column 'x'', 'input
  column 'y''."""
  return ([f'target column {c!r}' for c in transform['target_columns']] +
          [f'input column {c!r}' for c in transform['input_columns']])


def points_needed(transform, lookbacks) -> int:
  """Points of history a forecast reads: the longest of the groups' `lookbacks` (None:
  the model's) + 1 when differenced."""
  return max(lookback or transform['lookback'] for lookback in lookbacks) + int(
      transform['difference'])


def windows(transform, values, ends, lookback) -> np.ndarray:
  """<float32>[W, lookback, C_in]: scaled input windows ending before each of `ends`,
  computed from levels <float64>[N, C_in] exactly as data/windows/series_windows.py
  `prepare` does."""
  c_out, diff = len(transform['target_columns']), transform['difference']
  rows = ends[:, None] + np.arange(-lookback - int(diff), 0)
  window = values[rows]
  if diff:
    window = window.copy()
    window[:, 1:, :c_out] = window[:, 1:, :c_out] - window[:, :-1, :c_out]
    window = window[:, 1:]
  mean = np.asarray(transform['x_mean'], np.float64)
  std = np.asarray(transform['x_std'], np.float64)
  return ((window - mean) / std).astype(np.float32)


def target_split(transform, values, ends, observed=None) -> dict:
  """The split the summary scores, for the windows ending before `ends`: their targets
  as `prepare` scales them (the next `horizon` rows' (changes of) levels) and the
  scaling statistics; where `observed` <bool>[N, C_out] (which target cells of `values`
  are scored) leaves some of those rows' cells out, `observed` <float32>[W, horizon,
  C_out] as data/windows/series_windows.py's `test_observed` (1: scored)."""
  horizon, c_out = transform['horizon'], len(transform['target_columns'])
  y = windows(transform, values, ends + horizon, horizon)[..., :c_out]
  split = {'y': y, 'mean': np.asarray(transform['mean']),
           'std': np.asarray(transform['std']),
           'mase_scale': np.asarray(transform['mase_scale'], np.float64)}
  if observed is not None:
    scored = np.asarray(observed, bool)[ends[:, None] + np.arange(horizon)]
    if not scored.all():  # Else scored as every cell is, in the same program as the sweep's.
      split['observed'] = scored.astype(np.float32)
  return split


def observed_cells(transform, observed, length: int):
  """`observed` (evaluate_series'; None, or <bool>[N, C_out], a single target's [N] too)
  checked against a series of `length` rows: <bool>[N, C_out] or None."""
  if observed is None:
    return None
  arguments.concrete(observed, 'observed')
  c_out = len(transform['target_columns'])
  cells = np.asarray(observed)
  if cells.ndim == 1 and c_out == 1:
    cells = cells[:, None]
  if cells.shape != (length, c_out) or cells.dtype.kind not in 'biu' or not np.isin(
      cells, (0, 1)).all():
    raise InputError(f'observed: expected <bool>[{length}, {c_out}] (the series\' rows as '
                     f'read, by its target columns: true where a cell is scored), got '
                     f'{cells.dtype} of shape {cells.shape}')
  return cells.astype(bool)


def paths(transform, need, scaled_forecasts, values, origins, steps: int) -> np.ndarray:
  """<float64>[W, steps, C_out]: forecasts (levels) of the `steps` points from each
  origin t, from the history values[:t]; past the horizon the forecasts are fed back.
  values: <float64>[N', C_in] with, for input columns, the values at every forecast
  step (target columns there are overwritten). need: `points_needed`."""
  c_out, horizon = len(transform['target_columns']), transform['horizon']
  origins = np.asarray(origins)
  width = need + steps
  extra = max(0, int(origins.max()) + steps - len(values))
  padded = np.concatenate([values, np.full((extra, values.shape[1]), np.nan)])
  ctx = padded[origins[:, None] + np.arange(-need, steps)].copy()
  mean = np.asarray(transform['mean'], np.float64)
  std = np.asarray(transform['std'], np.float64)
  done = 0
  while done < steps:
    ends = np.full(len(origins), need + done)
    flat = ctx.reshape(len(origins) * width, -1)
    starts = np.arange(len(origins)) * width + ends
    changes = scaled_forecasts(flat, starts) * std + mean
    if transform['difference']:
      changes = ctx[:, need + done - 1, None, :c_out] + np.cumsum(changes, axis=1)
    take = min(horizon, steps - done)
    ctx[:, need + done:need + done + take, :c_out] = changes[:, :take]
    done += take
  return ctx[:, need:, :c_out]


def trailing_note(transform, values, times, what: str) -> str:
  """'' or the note of a history <float>[N, C] (before its gaps are filled; `times` its
  time cells, or None) whose last rows have no target (every target empty): filled as
  gaps are, so the forecast starts after them, which a plan of the input columns'
  future values appended to the history would make wrong (said where there are some)."""
  empty = np.isnan(np.asarray(values, np.float64)[:, :len(transform['target_columns'])]
                   ).all(axis=1)
  if empty.all() or not empty[-1]:
    return ''
  k = len(empty) - 1 - int(np.flatnonzero(~empty)[-1])
  first = f' (from {times[len(empty) - k]})' if times is not None else ''
  how = 'with 0' if transform.get('fill') == 'zero' else 'with its last value'
  plan = '; ' + arguments.PLAN_AHEAD if transform['input_columns'] else ''
  return (f'{what}: ends with {k} row{"s" * (k > 1)} without a target{first}, filled '
          f'{how}: the forecast starts after them{plan}')


def check_history(transform, need, history, what='history',
                  notes: list | None = None, data_times=None,
                  times: list | None = None) -> np.ndarray:
  """<float64>[N, C]: `history` checked (columns, at least `need` finite last rows);
  `what` names it in the InputError. A DataFrame's columns are read by name; where it
  holds the model's time column, its rows are read as the sweep read its file (on the
  time grid: sorted, absent periods put back, two rows at one time refused). Its gaps
  (NaN, in an array or a DataFrame) are filled as the sweep filled its own; what was
  done is appended to `notes`. `data_times`: the sweep's data's time cells, where
  given: a DataFrame dated at another step is refused (time/periods.py check_step).
  `times`: where given, a DataFrame's time cells on the grid are appended to it."""
  names = columns(transform)
  time_column = transform.get('time_column')
  values, note, step_note, cells = numbers(history, names, what), '', '', None
  if time_column and hasattr(history, 'columns') and time_column in history.columns:
    [values], [cells], note = time_grid.regularize(
        [None], [values], [list(arguments.text_cells(history[time_column]))], path=what,
        column=time_column, argument=True)
    if data_times is not None:
      step_note = periods.check_step([cells], [list(data_times)], what=what)
  elif time_column and hasattr(history, 'columns'):  # A dated model, rows not dated.
    note = (f'{what}: no column {time_column!r} (the model\'s time column): its rows are '
            'read in the order given')
  elif (time_column and hasattr(history, 'to_numpy') and type(
      getattr(history, 'index', None)).__name__ in ('DatetimeIndex', 'PeriodIndex')):
    # A Series dated by its index.
    note = (f'{what}: its index is not read as times: its rows are read in the order given '
            f'(a DataFrame with the model\'s time column {time_column!r} is read by it)')
  if values.ndim != 2 or values.shape[1] != len(names):
    raise InputError(f'{what}: expected {len(names)} column(s) {names}, got an array '
                     f'of shape {np.shape(history)}')
  fill, targets = transform.get('fill', 'linear'), len(transform['target_columns'])
  counts, end_note = {}, trailing_note(transform, values, cells, what)
  if np.isnan(values).any():
    flags = gap_fill.flags_of(names, targets, transform.get('flag_columns'))
    counts = gap_fill.fill_counts(values, labels(transform), fill=fill, targets=targets,
                                flags=flags)
    values = gap_fill.fill_gaps(values, [f'column {c!r}' for c in names], what, fill=fill,
                              flags=flags,
                              targets=targets)
  if notes is not None:
    notes += [n for n in (note, step_note, gap_fill.filled_note(counts, what, as_sweep=True),
                          end_note) if n]
  if len(values) < need:
    raise InputError(f'{what}: {len(values)} rows are too few: the model reads the last '
                     f'{need} (lookback {need - int(transform["difference"])}'
                     f'{" + 1 to difference" if transform["difference"] else ""})')
  if not np.all(np.isfinite(values[-need:])):
    raise InputError(f'{what}: the last {need} rows hold infinite values')
  if times is not None:
    times.extend(cells or [])
  return values


def numbers(given, names, what) -> np.ndarray:
  """<float64>[N, C] of `given`: a DataFrame's columns `names`, by name, or an array in
  that order (<[N]> read as one column); an InputError naming `what` otherwise."""
  arguments.concrete(given, what)
  if hasattr(given, 'columns') and hasattr(given, 'to_numpy'):
    missing = [c for c in names if c not in given.columns]
    if missing:
      raise InputError(f'{what}: no column(s) {missing}; the model reads {list(names)} '
                       f'(got {list(given.columns)})')
    given = arguments.cells(given[list(names)])
  try:
    kind = np.asarray(given).dtype.kind
    if kind in 'bc':  # Read as 0 / 1, or without their imaginary parts: refused.
      raise TypeError(f'{"booleans" if kind == "b" else "complex numbers"} are not levels')
    values = np.asarray(given, np.float64)
  except (TypeError, ValueError, OverflowError) as e:
    raise InputError(f'{what}: the columns {list(names)} must hold numbers ({e})') from None
  arguments.representable(values, what)
  return values[:, None] if values.ndim == 1 else values


def rows_read(transform, steps: int) -> int:
  """Rows of the input columns after a history that `steps` steps read: forecasts go a
  horizon at a time, and each horizon but the last is fed back as history with its
  input rows (none within the horizon)."""
  horizon = transform['horizon']
  return -(-steps // horizon) * horizon - horizon


def first_empty(rows, columns) -> str:
  """'' where every cell of `rows` <float>[R, C] is a number, else a clause naming
  the first empty one by its column (`columns`) and row, counted from 1."""
  empty = np.argwhere(np.isnan(rows))
  if not len(empty):
    return ''
  row, c = empty[0]
  return f' ({list(columns)[c]!r} is empty in row {row + 1}, step {row + 1} after the history)'


def ahead(transform, steps: int, future_inputs, what: str = 'future_inputs') -> np.ndarray:
  """<float64>[steps, C]: the rows after a history: NaN targets (to be forecast) and,
  with input columns, their given future values (`future_inputs` <float>[rows, C_in]
  or a DataFrame, checked; `rows_read` of them must be finite, the rest may be NaN);
  `what` names them in the InputError."""
  inputs, c_out = transform['input_columns'], len(transform['target_columns'])
  if not inputs:
    if future_inputs is not None:
      raise InputError(f'{what}: the model reads no input columns')
    return np.full((steps, c_out), np.nan)
  need = rows_read(transform, steps)
  if future_inputs is None:
    if need:
      raise RowsAheadError(
          f'{what}: the model reads input columns {inputs}; past its horizon '
          f'({transform["horizon"]}) forecasts are fed back as history with their '
          f'values: {steps} steps read {need} rows of them')
    future_inputs = np.full((0, len(inputs)), np.nan)
  future = numbers(future_inputs, list(inputs), what)
  if future.ndim != 2 or future.shape[1] != len(inputs):
    raise InputError(f'{what}: expected [rows, {len(inputs)}], the columns '
                     f'{list(inputs)}; got shape {future.shape}')
  infinite = np.argwhere(np.isinf(future[:need]))
  if len(infinite):
    row, c = infinite[0]
    raise InputError(f'{what}: {list(inputs)[c]!r} is infinite in row {row + 1}')
  finite = np.isfinite(future[:need]).all(axis=1)
  if len(future) < need or not finite.all():
    raise RowsAheadError(f'{what}: {steps} steps read the first {need} rows of '
                         f'{list(inputs)} (past the horizon, {transform["horizon"]}, '
                         f'forecasts are fed back with them); given {len(future)} rows, '
                         f'{int(finite.sum())} of the first {need} complete'
                         f'{first_empty(future[:need], inputs)}')
  rows = np.full((steps, len(inputs)), np.nan)
  rows[:min(steps, len(future))] = future[:steps]
  return np.concatenate([np.full((steps, c_out), np.nan), rows], 1)


def dated_future(transform, history, future_inputs, what: str = 'future_inputs'):
  """`future_inputs` as `ahead` reads them: a DataFrame holding the model's time column
  in time order, its rows starting the step after a dated history's last time, as
  predict's --future_path file is held (time/follows.py check_follows: one whose times are
  not read as times after a history's that are is refused, naming `what`); anything else
  as given."""
  time_column = transform.get('time_column')
  dated = lambda frame: bool(time_column) and hasattr(frame, 'columns') and (
      time_column in frame.columns)
  if not dated(future_inputs):
    return future_inputs
  cells = [c.strip() for c in arguments.text_cells(future_inputs[time_column])]
  when = time_grid.positions(cells)
  if when is not None:
    order = np.argsort(when, kind='stable')
    future_inputs, cells = future_inputs.iloc[order], [cells[i] for i in order]
  if dated(history):
    before = [c.strip() for c in arguments.text_cells(history[time_column])]
    at = time_grid.positions(before)
    if at is not None:
      before = [before[i] for i in np.argsort(at, kind='stable')]
    follows.check_follows([None], [before], [cells], path='the DataFrame',
                          flag=what, column=time_column,
                          last="the history's last time", rows='future rows',
                          fill='the history')
  return future_inputs


def series_forecast(transform, arrays, need, scaled_forecasts, history, steps: int, levels,
                    future_inputs=None, future_what: str = 'future_inputs') -> dict:
  """What TunedModel.forecast returns for one series (its docstring): `history` checked
  (`check_history`), forecast `steps` points on (`paths`, over the future input rows
  `ahead`, named `future_what` in an InputError), with the intervals of the residuals in
  `arrays` (intervals.series_bands), if it holds them."""
  read, cells = [], []
  values = check_history(transform, need, history, 'history', read, arrays.get('times'),
                         cells)
  with arguments.plan_noted(read):
    future = ahead(transform, steps, dated_future(transform, history, future_inputs,
                                                  future_what), future_what)
  point = paths(transform, need, scaled_forecasts, np.concatenate([values, future]),
                [len(values)], steps)[0]
  lower, upper, notes = {}, {}, []
  if 'residuals' in arrays:
    lower, upper, notes = intervals.series_bands(point, arrays['residuals'], values, levels,
                                                 steps)
  notes = read + notes
  if steps > transform['horizon']:
    notes.append(f'steps past the horizon ({transform["horizon"]}) feed the '
                 'forecasts back as history')
  data = [list(arrays['times'])] if 'times' in arrays else []
  return {'point': point, 'lower': lower, 'upper': upper, 'notes': notes,
          'times': time_grid.future_times([cells], steps, data)[0]}
