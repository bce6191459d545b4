"""A panel model's input columns after each history (panel_forecasting.py): how many
rows a forecast of some steps reads, and those rows checked, from a dict of arrays or a
long DataFrame (which, like a --future_path file, must start the step after each
history). Arrays only: no model, no device.
"""

import numpy as np

from rnnjax.data import panel
from rnnjax.data.time import follows
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError
from rnnjax.errors import RowsAheadError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import forecasting


def input_columns(transform) -> list:
  """The input columns a history holds after its target: the past ones, then those
  known in advance (read over the horizon too)."""
  return list(transform.get('input_columns', ())) + list(transform.get('future_columns', ()))


def rows_needed(transform, steps: int) -> tuple[int, int]:
  """(rows of the past input columns, rows of the future columns) that `steps` steps
  read of the inputs' values after a history: forecasts are made a horizon at a time,
  and every horizon but the last is fed back as history (its rows of every input
  column with it); the future columns are read over each horizon forecast."""
  fed = forecasting.rows_read(transform, steps)
  return ((fed if transform.get('input_columns') else 0),
          (fed + transform['horizon'] if transform.get('future_columns') else 0))


def needed_columns(transform, steps: int) -> list:
  """The input columns whose rows after each history `steps` steps read (`rows_needed`):
  the past-only ones past the horizon alone, those known in advance always."""
  past = list(transform.get('input_columns', ()))
  return ((past if past and rows_needed(transform, steps)[0] else [])
          + list(transform.get('future_columns', ())))


def describe_reads(transform, steps: int) -> str:
  """What `steps` steps read of the inputs after each history, in words."""
  columns, (past_rows, future_rows) = input_columns(transform), rows_needed(transform, steps)
  num_past = len(transform.get('input_columns', ()))
  reads = []
  if past_rows:
    reads.append(f'{past_rows} rows of {columns[:num_past]} (forecasts past the horizon, '
                 f'{transform["horizon"]}, are fed back with them)')
  if future_rows:
    reads.append(f'{future_rows} rows of {columns[num_past:]} (known in advance: read over '
                 f'each horizon of {transform["horizon"]} forecast, a whole one even where '
                 'fewer steps are asked)')
  return ' and '.join(reads)


def _table_columns(transform, steps: int) -> str:
  """The columns a long table of the rows after each history needs for `steps` steps."""
  named = [c for c in (transform.get('id_column'), transform.get('time_column')) if c]
  return ', '.join(named + needed_columns(transform, steps))


def check_columns(transform, steps: int, header, what: str, where: str) -> None:
  """InputError (naming `what` and `where`, the table: a file's path, 'the DataFrame')
  where a long table of the rows after each history, of columns `header`, lacks an
  input column that `steps` steps read (a past-only one may be left out within the
  horizon)."""
  missing = [c for c in needed_columns(transform, steps) if c not in list(header)]
  if missing:
    raise InputError(f'{what}: {where} has no column{"s" * (len(missing) > 1)} '
                     f'{", ".join(repr(c) for c in missing)}; {steps} '
                     f'step{"s" * (steps != 1)} read {describe_reads(transform, steps)}: give '
                     f'a long table of columns {_table_columns(transform, steps)}')


def panel_future_inputs(transform, ids, future_inputs, steps: int, what='future_inputs',
                        times=None, notes: list | None = None):
  """Each series' input columns over the forecast steps <float64>[rows, C]
  (`future_inputs`: id -> array, columns as `input_columns`, rows from the first step;
  `rows_needed` are read, the rest may be NaN), or None where none are read: a model
  without input columns, or with past ones only and `steps` within its horizon.
  InputError (naming `what`) for a missing series, too few rows or a value missing; a
  long DataFrame's rows (with the model's time column) must start the step after each
  history's last time (`times`), as a --future_path file's must (one whose times are
  not read as times after histories whose are is refused); where neither are times,
  its rows are read in the order given, said in `notes`."""
  columns, (past_rows, future_rows) = input_columns(transform), rows_needed(transform, steps)
  if not columns and future_inputs is not None:
    raise InputError(f'{what}: the model reads no input columns')
  if not past_rows and not future_rows:
    return None
  num_past = len(transform.get('input_columns', ()))
  reads = describe_reads(transform, steps)
  if future_inputs is None:
    given = (f'; give each series\' rows after the last time of the history it is '
             f'forecast from (a long table of columns {_table_columns(transform, steps)})')
    raise RowsAheadError(f'{what}: none given, and this model reads values after each '
                         f'history: for {steps} step{"s" * (steps != 1)}, {reads}{given}')
  if hasattr(future_inputs, 'columns') and hasattr(future_inputs, 'groupby'):
    check_columns(transform, steps, future_inputs.columns, what, 'the DataFrame')
    future_inputs, future_times = _future_frame(transform, future_inputs, columns, what)
    if future_times and times and all(times):
      keys = [k for k in ids if k in future_times]
      at = dict(zip(ids, times))
      follows.check_follows(keys, [at[k] for k in keys], [future_times[k] for k in keys],
                            path='the DataFrame', flag=what,
                            column=transform['time_column'],
                            last="its history's last time", rows='future rows',
                            fill='the history', zero=transform.get('fill') != 'zero')
    cells = [c for k in future_times for c in future_times[k]]
    if notes is not None and cells and time_grid.positions(cells) is None:
      notes.append(f'{what}: its time column {transform["time_column"]!r} is not read as '
                   f'times ({cells[0]!r}): each series\' rows are read in the order given')
  if not isinstance(future_inputs, dict):
    raise InputError(f'{what}: give a dict series id -> <float>[rows, {len(columns)}], the '
                     f'columns {columns} after each history, or a long DataFrame; got '
                     f'{type(future_inputs).__name__}')
  future_inputs = arguments.string_keys(future_inputs, what)  # As the histories' ids.
  extra = [k for k in future_inputs if k not in set(ids)]
  if extra and notes is not None:  # A plan's mistyped id would pass unsaid.
    one = len(extra) == 1
    notes.append(f'{what}: {len(extra)} series {"is" if one else "are"} not among the '
                 f'histories forecast, {"its" if one else "their"} rows not read '
                 f'({panel.some_ids(extra)})')
  out = []
  for key in ids:
    if key not in future_inputs:
      raise InputError(f'{what}: no values for series {key!r}'
                       f'{_other_ids(future_inputs, ids, key)}')
    v = arguments.floats(future_inputs[key], f'{what}: series {key!r}')
    arguments.representable(v, f'{what}: series {key!r}')
    if v.ndim != 2 or v.shape[1] != len(columns):
      raise InputError(f'{what}: series {key!r} has shape {v.shape}; expected [rows, '
                       f'{len(columns)}], the columns {columns}')
    if len(v) < max(past_rows, future_rows):
      raise RowsAheadError(f'{what}: series {key!r} has {len(v)} rows; {steps} steps read '
                           f'the first {reads}')
    for rows, cut in ((past_rows, slice(0, num_past)), (future_rows, slice(num_past, None))):
      empty = np.argwhere(~np.isfinite(v[:rows, cut]))
      if len(empty):
        row, c = empty[0]
        empty_or = 'infinite' if np.isinf(v[row, cut][c]) else 'empty'
        # A file's absent period is put back as empty cells (time/grid.py).
        absent = (': an empty cell, or a period the file has no row for' if what.startswith('--')
                  and empty_or == 'empty' else '')
        raise RowsAheadError(f'{what}: series {key!r}: {columns[cut][c]!r} is {empty_or} in '
                             f'row {row + 1} (step {row + 1} after its history{absent}); '
                             f'{steps} steps read the first {reads}')
    out.append(v)
  return out


def _future_frame(transform, frame, columns, what: str) -> dict:
  """(id -> <float64>[rows, C], id -> its time cells or {}) of a long DataFrame of the
  rows after each history: the model's id column and input columns (those read checked
  present, `check_columns`; a past-only column not read may be absent: empty), each
  series' rows in time order where the frame has the model's time column."""
  id_column, time_column = transform['id_column'], transform['time_column']
  if id_column and id_column not in frame.columns:
    raise InputError(f'{what}: no column {id_column!r} (the model\'s id column); columns '
                     f'are {list(frame.columns)}')
  keys = (arguments.id_cells(frame, id_column, what) if id_column else
          np.full(len(frame), str(transform['ids'][0])))
  values = np.stack([arguments.floats(arguments.cells(frame[c]), f'{what}: column {c!r}')
                     if c in frame.columns else np.full(len(frame), np.nan)
                     for c in columns], axis=1)
  cells = (arguments.text_cells(frame[time_column])
           if time_column and time_column in frame.columns else None)
  if cells is not None:  # Checked above in the frame's order: its rows are named so.
    positions = time_grid.positions(cells.tolist())
    if positions is not None:
      order = np.argsort(positions, kind='stable')
      keys, values, cells = keys[order], values[order], cells[order]
  out, times = {}, {}
  for key in dict.fromkeys(keys):
    out[key] = values[keys == key]
    if cells is not None:
      times[key] = list(cells[keys == key])
  return out, times


def _other_ids(given: dict, ids, key: str = '') -> str:
  """Where none of the `given` ids is one of the model's `ids`: a clause naming a few of
  them (ids are text: a file read with its leading zeros dropped holds '7', not '007');
  else where one differs from `key` only in its spaces or case, a clause naming it."""
  fold = lambda k: ' '.join(str(k).split()).casefold()
  near = [k for k in given if k not in ids and fold(k) == fold(key)] if key else []
  if near and set(given) & set(ids):
    return (f' (it holds {near[0]!r}, which differs in its spaces or case: ids are read '
            'as written)')
  if not given or set(given) & set(ids):
    return ''
  named = ', '.join(repr(k) for k in list(given)[:3]) + (', ...' if len(given) > 3 else '')
  return (f' (none of its {len(given)} ids is a series of the histories: {named}; ids '
          "are text, so '7' is not '007')")
