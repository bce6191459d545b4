"""A panel model's histories (panel_forecasting.py forecasts from their ends): a long
DataFrame or a dict by series id, with their input columns if the model has them, read
as the sweep read its file (on the time grid, gaps filled as it filled its own, ids as
text) and checked in one line naming the argument; what was done said in notes, and the
series ending in rows without a target. Arrays only: no model, no device.
"""

import numpy as np

from rnnjax.data import gap_fill
from rnnjax.data import panel
from rnnjax.data.time import grid as time_grid
from rnnjax.data.time import periods
from rnnjax.errors import InputError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import panel_future


def trailing_ends(ids, targets, times) -> list:
  """[[id, k, its first such time or None]] of the series whose last k rows (k > 0)
  have no target (NaN in `targets`, before they are filled)."""
  ends = []
  for key, v, t in zip(ids, targets, times):
    empty = np.isnan(np.asarray(v, np.float64))
    k = len(v) - 1 - np.flatnonzero(~empty)[-1] if (~empty).any() else 0
    if k:
      ends.append([key, int(k), t[len(v) - k] if t else None])
  return ends


def trailing_note(ends, fill: str, what: str, inputs: bool = False) -> str:
  """The note of the series whose last rows have no target (`trailing_ends`; '' for
  none): filled as gaps are, so each forecast starts after them, which a plan of future
  inputs appended to a history would make wrong (said where the model reads `inputs`)."""
  if not ends:
    return ''
  key, k, first = ends[0]
  how = 'with 0' if fill == 'zero' else 'with its last value'
  return (f'{what}: {len(ends)} series {"ends" if len(ends) == 1 else "end"} with rows '
          f'without a target (e.g. {key!r}: its '
          f'last {k}{f", from {first}" if first else ""}), filled {how}: each forecast '
          'starts after them' + ('; ' + arguments.PLAN_AHEAD if inputs else ''))


def panel_histories(transform, given, what: str = 'history',
                    notes: list | None = None, *, times=None, said: str = '') -> tuple:
  """(ids, values [<float64>[n_i]], times [[str] or None], inputs [<float64>[n_i, C]]
  or None) of many histories: a long DataFrame (a row per observation, each series'
  rows in time order; the model's id, time, target and input columns, `transform`;
  without an id column, one series) or a dict id -> <float>[n_i] (with input columns:
  [n_i, 1 + C], the target, then the model's input columns). Gaps (NaN) are filled
  as the sweep filled its own (--fill); InputError (naming `what`) for a missing
  column or a series without values, or with a value <= 0 where the model's members
  take logs (`transform['positive']`). `notes`: where given, the filled cells and
  the series ending without a target are said in it (naming `said`, default `what`);
  times: a dict's time cells, per series in its order (a file's, for those notes)."""
  columns = panel_future.input_columns(transform)
  if isinstance(given, dict):  # Keys as text first: JAX cannot sort 7 beside 'a'.
    given = arguments.string_keys(given, what)
  arguments.concrete(given, what)
  if isinstance(given, dict):
    items = [(k, v, t) for (k, v), t in zip(given.items(), times or [None] * len(given))]
  elif hasattr(given, 'columns'):
    items = _long_frame(transform, given, what, notes)
  else:
    named = [transform['id_column'], transform['time_column'], transform['target_column'],
             *columns]
    arrays = (f'<float>[n, {1 + len(columns)}] (the target, then {columns})' if columns
              else '1-D array')
    raise InputError(f'{what}: give a long DataFrame (columns {[c for c in named if c]}) '
                     f'or a dict of series id -> {arrays}; got a {type(given).__name__}')
  if not items:
    raise InputError(f'{what}: holds no series')
  ids, values, times, inputs = [], [], [], []
  raw, counts = [], {}
  names = ['the target'] + [f'input column {c!r}' for c in columns]
  fill = transform.get('fill', 'linear')
  flags = gap_fill.flags_of(['', *columns], 1, transform.get('flag_columns'))
  shape = f'[n, {1 + len(columns)}] (the target, then {columns})'
  for key, v, t in items:
    v = arguments.floats(v, f'{what}: series {key!r}')
    if columns and (v.ndim != 2 or v.shape[1] != 1 + len(columns)):
      raise InputError(f'{what}: series {key!r} is an array of shape {v.shape}; this '
                       f'model has input columns, so each history is {shape}')
    if not columns and v.ndim != 1:
      raise InputError(f'{what}: series {key!r} is an array of shape {v.shape}, not 1-D')
    v = v.reshape(len(v), 1 + len(columns))
    if not np.any(np.isfinite(v[:, 0])):
      raise InputError(f'{what}: series {key!r} is empty (no values)')
    if np.any(np.isinf(v)):
      raise InputError(f'{what}: series {key!r} holds infinite values')
    arguments.representable(v, f'{what}: series {key!r}')
    raw.append(v[:, 0])
    counts = gap_fill.add_counts(counts, gap_fill.fill_counts(v, names, fill=fill, targets=1,
                                                          flags=flags))
    v = gap_fill.fill_gaps(v, names, f'{what}: {key!r}', fill=fill, targets=1, flags=flags)
    where = transform.get('positive') and panel.nonpositive([key], [v[:, 0]], [t])
    if where:
      raise InputError(f'{what}: {where}; this model\'s members take logs '
                       '(--normalization=log) and forecast only series > 0')
    ids.append(key)
    values.append(v[:, 0])
    times.append(t)
    inputs.append(v[:, 1:])
  if notes is not None:
    notes += [n for n in (gap_fill.filled_note(counts, said or what, as_sweep=True),
                          trailing_note(trailing_ends(ids, raw, times), fill, said or what,
                                        inputs=bool(columns))) if n]
  return ids, values, times, inputs if columns else None


def time_column_read(transform, columns, what: str, notes: list | None = None) -> str:
  """The model's time column where `columns` (a DataFrame's, or a CSV's header) hold it,
  else '': each series' rows are then read in the order given, which `notes` is told
  (naming `what`) for a model that has one, as a dated model's never are in silence."""
  time_column = transform.get('time_column', '')
  if time_column in columns:
    return time_column
  if time_column and notes is not None:
    notes.append(f'{what}: no column {time_column!r} (the model\'s time column): each '
                 'series\' rows are read in the order given')
  return ''


def _long_frame(transform, frame, what: str, notes: list | None = None) -> list:
  """[(id, values, times or None)] of a long DataFrame, series in order of first row;
  what was put back or reordered on the time grid appended to `notes`."""
  columns = [str(c) for c in frame.columns]
  id_column, time_column = transform['id_column'], transform['time_column']
  named = [('target', transform['target_column'])] + [
      ('input', c) for c in panel_future.input_columns(transform)]
  for name, column in [('id', id_column)] + named:
    if column and column not in columns:
      raise InputError(f'{what}: no column {column!r} (the model\'s {name} column); '
                       f'columns are {columns}')
  raw = arguments.cells(frame[[c for _, c in named]])
  values = np.stack([arguments.floats(raw[:, j], f'{what}: column {column!r}')
                     for j, (_, column) in enumerate(named)], axis=1)
  values = values[:, 0] if len(named) == 1 else values
  time_column = time_column_read(transform, columns, what, notes)
  times = arguments.text_cells(frame[time_column]) if time_column else None
  if not id_column:
    ids, groups = [str(transform['ids'][0])], [np.arange(len(frame))]
  elif not len(frame):
    return []
  else:
    keys = arguments.id_cells(frame, id_column, what)
    kind = getattr(frame[id_column], 'dtype', np.dtype(object)).kind
    if kind in 'iuf' and notes is not None:  # pd.read_csv read '007' as 7.
      notes.append(f'{what}: ids were read as numbers (column {id_column!r}, e.g. '
                   f'{keys[0]!r}), so leading zeros in the file are lost (\'007\' is '
                   f'\'7\'); read them as text: pd.read_csv(path, '
                   f'dtype={{{id_column!r}: str}})')
    order = np.argsort(keys, kind='stable')  # Each series' rows keep their order.
    groups = np.split(order, np.flatnonzero(keys[order][1:] != keys[order][:-1]) + 1)
    groups.sort(key=lambda rows: rows[0])
    ids = [keys[rows[0]] for rows in groups]
  values = [values[rows] for rows in groups]
  if times is None:
    return [(key, v, None) for key, v in zip(ids, values)]
  # On the time grid, as a CSV's rows are (data/time/grid.py).
  values, cells, note = time_grid.regularize(
      ids, values, [list(times[rows]) for rows in groups], path=what, column=time_column,
      to_end=transform.get('fill') == 'zero', argument=True)
  if note and notes is not None:
    notes.append(note)
  return list(zip(ids, values, cells))


def data_times(arrays) -> list:
  """The time cells of the first few series of the sweep's data (those check_step
  reads), [] where the model keeps none."""
  if 'times' not in arrays:
    return []
  offsets = arrays['offsets'][:periods.SAMPLED + 1]
  return [list(arrays['times'][a:b]) for a, b in zip(offsets[:-1], offsets[1:])]


def check_data_step(transform, arrays, times, what: str, notes: list | None = None):
  """time/periods.py check_step of histories' `times` (per series, or None) against the
  sweep's data's: another step refused, naming `what`; its note appended to `notes`."""
  if not transform.get('time_column') or 'times' not in arrays:
    return
  cells = [t for t in times if t]
  if not cells:
    return
  note = periods.check_step(cells, data_times(arrays), what=what)
  if note and notes is not None:
    notes.append(note)
