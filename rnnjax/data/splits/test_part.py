"""A panel's test part (panel.py reads the panel): a given test file's rows for each
series, checked against its train part (they start the period after it, hold at least
`horizon` targets and no gap) with its future columns' values, or else each series' last
`horizon` points held out, checked to hold a target.
"""

import numpy as np

from rnnjax.data import gap_fill
from rnnjax.data.time import follows
from rnnjax.errors import InputError


def check_held_out(ids, values, times, horizon: int, flag: str, path: str) -> None:
  """Refuses, in one line, series whose last `horizon` rows (the test part held out)
  have no target at all (`values`: before their gaps are filled): filled with the last
  value, such a test part (a plan of promotions appended, its sales left empty) would be
  scored as if it had been sold, and Naive2 would score it exactly."""
  empty = [i for i, v in enumerate(values)
           if np.isnan(np.asarray(v, np.float64).reshape(len(v), -1)[-horizon:, 0]).all()]
  if empty:
    i = empty[0]
    first = times[i][-horizon] if len(times[i]) >= horizon else ''
    raise InputError(
        f'{flag}: {path}: {len(empty)} of {len(ids)} series have no target in their last '
        f'{horizon} rows, the test part held out (e.g. {ids[i]!r}'
        f'{f", from {first!r}" if first else ""}): filled with its last value, it would be '
        'scored as if it had been sold; leave rows without a target (a plan of the inputs '
        'ahead) out of the file (predict --future_path reads them), or give --test_path')


def filled_in_test(ids, values, horizon: int, fill: str) -> tuple:
  """(the note of empty target cells in the test part held out, or nothing): filled as
  --fill fills every gap (what a forecast from the end of the data reads), they are left
  out of every test score (`observed_in_test`; `values`: before their gaps are filled)."""
  empty = [int(np.sum(~o)) for o in _observed(values, horizon)]
  cells, series = sum(empty), sum(e > 0 for e in empty)
  if not cells:
    return ()
  first = ids[next(i for i, e in enumerate(empty) if e)]
  return (f'test: {cells} empty target cell(s) in the last {horizon} points of {series} '
          f'series (e.g. {first!r}) are left out of the test scores, the model\'s and '
          'every benchmark\'s (a series\' score: the mean over its observed steps); '
          f'filled (--fill={fill}), they are history to forecasts from the end of the data',)


def observed_in_test(values, horizon: int) -> tuple | None:
  """Per series <bool>[horizon]: which of its last `horizon` target cells (the test part
  held out) hold a value (`values`: before their gaps are filled); None where all do."""
  observed = _observed(values, horizon)
  return None if all(o.all() for o in observed) else observed


def _observed(values, horizon: int) -> tuple:
  return tuple(~np.isnan(np.asarray(v, np.float64).reshape(len(v), -1)[-horizon:, 0])
               for v in values)


def held_out(train, inputs, times, horizon: int) -> tuple:
  """(train, test, inputs, test_inputs, times, notes): each series' last `horizon` points
  (and input rows) held out as its test part, taken off its train part."""
  test = tuple(v[-horizon:] for v in train)
  train = tuple(v[:-horizon] for v in train)
  test_inputs = None
  if inputs is not None:
    test_inputs = tuple(v[-horizon:] for v in inputs)
    inputs = tuple(v[:-horizon] for v in inputs)
  times = [t[:-horizon] for t in times]
  notes = (f'test: the last {horizon} points of each series (no --test_path)',)
  return train, test, inputs, test_inputs, times, notes


def given(ids, times, test_ids, test_values, test_times, test_gaps, *, path: str,
          horizon: int, time_column: str, future_columns=(), num_inputs: int = 0,
          flags=(), fill: str = 'linear') -> tuple:
  """(test, test_inputs, notes): the first `horizon` targets of each series of a given
  test file (long_rows.read_long's ids, values, times and number of empty target cells,
  read with the `future_columns`), and per series <float64>[horizon, num_inputs] its
  future columns' values (`_future_part`; None without future columns). Refused in one
  line: a series without rows, a part that does not start the period after its train
  part (`times`), one shorter than `horizon`, an empty target cell. `flags`: which of
  the panel's `num_inputs` input columns (1-based, after the target) are 0/1 flags."""
  given = dict(zip(test_ids, test_values))
  future = {}
  if future_columns:  # The target, and apart the future columns' values.
    future = {k: v[:, 1:] for k, v in given.items()}
    given = {k: v[:, 0] for k, v in given.items()}
  missing = [k for k in ids if k not in given]
  if missing:
    raise InputError(f'--test_path: {path} has no rows for series {missing[0]!r} '
                     f'({len(missing)} of {len(ids)} series missing)')
  given_times = dict(zip(test_ids, test_times))
  if time_column:  # Each test part the periods right after its train part.
    follows.check_follows(ids, times, [given_times[k] for k in ids], path=path,
                          flag='--test_path', column=time_column,
                          zero=fill != 'zero')
  short = [k for k in ids if len(given[k]) < horizon]
  if short:
    raise InputError(f'--test_path: series {short[0]!r} has {len(given[short[0]])} '
                     f'test points in {path}, fewer than --horizon={horizon}')
  if test_gaps and any(np.isnan(given[k][:horizon]).any() for k in ids):
    raise InputError(f'--test_path: {path} has empty target cells (or periods '
                     'without a row); a test part is scored as given, not filled')
  test_inputs = None
  if future_columns:
    test_inputs = _future_part(ids, future, num_inputs, horizon, path, flags=tuple(
        c - 1 - (num_inputs - len(future_columns)) for c in flags
        if c - 1 >= num_inputs - len(future_columns)))
  test = tuple(given[k][:horizon] for k in ids)
  # What the test file holds that is not scored, said rather than dropped silently.
  unknown = [k for k in test_ids if k not in set(ids)]
  longer = sum(len(given[k]) > horizon for k in ids)
  notes = tuple(
      ([f'--test_path: {len(unknown)} series of {path} not in the train file left '
        f'out (first {unknown[0]!r})'] if unknown else []) +
      ([f'--test_path: the first {horizon} points (--horizon) of each series\' test '
        f'part are scored; {longer} series {"has" if longer == 1 else "have"} more, not '
        'read'] if longer else []))
  return test, test_inputs, notes


def _future_part(ids, given, num_columns: int, horizon: int, path: str,
                 flags=()) -> tuple:
  """Per series <float64>[horizon, num_columns]: a test file's future columns (`given`:
  id -> their values; the last of the panel's input columns; NaN in the others), gaps
  filled within the part (`flags`: which of them are flags, gap_fill.flag_columns)."""
  out = []
  for key in ids:
    future = given[key][:horizon]
    if np.isnan(future).all(axis=0).any():
      raise InputError(f'--test_path: series {key!r} of {path} has no values of a '
                       '--future_columns column in its test part')
    filled = gap_fill.fill_gaps(future, ['a future column'] * future.shape[1], path,
                              flags=flags)
    part = np.full((horizon, num_columns), np.nan)
    part[:, num_columns - future.shape[1]:] = filled
    out.append(part)
  return tuple(out)
