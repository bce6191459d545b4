"""A panel's test part (panel.py reads the panel): a given test file's rows for each
series, checked against its train part (they start the period after it, hold at least
`horizon` rows, some with a target; the empty ones are filled and not scored) with its
future columns' values, or else each series' last `horizon` points held out, checked to
hold a target.
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


def zero_parts(ids, held, times, horizon: int, given: bool) -> tuple:
  """With --fill=zero (a series' absent cells, and its rows after its last one up to the
  panel's last time, are 0 sold): the note of the series whose last value given comes
  before their validation part (and, `given` False, their test part held out), e.g.
  every series of an export whose products end on different dates: those parts are
  scored on 0s that no row recorded; () where none. `held`: per series <bool>[n], its
  cells with a value."""
  last = [int(np.flatnonzero(h)[-1]) if h.any() else -1 for h in held]
  test_start = lambda h: len(h) - (0 if given else horizon)
  parts = {'validation part': [i for i, h in enumerate(held)
                               if len(h) > horizon and last[i] < test_start(h) - horizon]}
  if not given:
    parts = {'test part': [i for i, h in enumerate(held) if last[i] < len(h) - horizon],
             **parts}
  shown = [(part, v) for part, v in parts.items() if v]
  if not shown:
    return ()
  # Those before their validation part are among those before their test part.
  n = len(shown[0][1])
  one = n == 1
  every = ' and '.join(part for part, v in shown if len(v) == n)
  counted = [f'{n} of {len(ids)} series end{"s" * one} before {"its" if one else "their"} '
             f'{every}'] + [f'{len(v)} of them before their {part} too'
                            for part, v in shown[1:] if len(v) < n]
  i = shown[0][1][0]
  when = (f', whose last value is at {times[i][last[i]]}'
          if last[i] >= 0 and times[i] and times[i][last[i]] else '')
  return (f'--fill=zero: {", ".join(counted)} (e.g. {ids[i]!r}{when}): '
          f'{"its" if one else "their"} rows after it, to the panel\'s last time, are read '
          'as 0 sold, and those parts scored on them; where a series\' rows stop because '
          'its export does, not its sales, --fill=linear scores the values given alone',)


def empty_in_test(ids, held, horizon: int, fill: str) -> tuple:
  """(test_observed, notes) of a test part held out: per series <bool>[horizon], which
  of its last `horizon` target cells held a value (`held`: per series <bool>[n], before
  its gaps are filled), None where all did; and the note of the empty ones, which
  filled as --fill fills every gap (what a forecast from the end of the data reads) are
  left out of every test score."""
  observed = tuple(h[-horizon:] for h in held)
  empty = [int(np.sum(~o)) for o in observed]
  cells, series = sum(empty), sum(e > 0 for e in empty)
  if not cells:
    return None, ()
  first = ids[next(i for i, e in enumerate(empty) if e)]
  return observed, (
      f'test: {cells} empty target cell(s) in the last {horizon} points of {series} '
      f'series (e.g. {first!r}) are left out of the test scores, the model\'s and '
      'every benchmark\'s (a series\' score: the mean over its observed steps); '
      f'filled (--fill={fill}), they are history to forecasts from the end of the data',)


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
          horizon: int, time_column: str, train, future_columns=(),
          num_inputs: int = 0, flags=(), fill: str = 'linear',
          flag: str = '--test_path') -> tuple:
  """(test, test_inputs, test_observed, notes): the first `horizon` targets of each
  series of a given test file (long_rows.read_long's ids, values, times and number of
  empty target cells, read with the `future_columns`), and per series <float64>[horizon,
  num_inputs] its future columns' values (`_future_part`; None without future columns).
  Its empty target cells (or periods without a row) are filled as --fill fills the train
  part's gaps, on from each series' `train` part (its target, filled): with 'zero' they
  are 0, sold nothing, and scored; otherwise they are left out of every test score, as a
  test part held out's (`test_observed`: per series <bool>[horizon], None where every
  cell holds a value), and a note says how many. Refused in one line: a series without
  rows, a part that does not start the period after its train part (`times`), one
  shorter than `horizon`, one without a target in its first `horizon` rows (but with
  'zero'). `flags`: which of the panel's `num_inputs` input columns (1-based, after the
  target) are 0/1 flags. `flag`: what the messages name (a bundled panel's test part is
  its --dataset's)."""
  given = dict(zip(test_ids, test_values))
  future = {}
  if future_columns:  # The target, and apart the future columns' values.
    future = {k: v[:, 1:] for k, v in given.items()}
    given = {k: v[:, 0] for k, v in given.items()}
  missing = [k for k in ids if k not in given]
  if missing:
    raise InputError(f'{flag}: {path} has no rows for series {missing[0]!r} '
                     f'({len(missing)} of {len(ids)} series missing)')
  given_times = dict(zip(test_ids, test_times))
  if time_column:  # Each test part the periods right after its train part.
    follows.check_follows(ids, times, [given_times[k] for k in ids], path=path,
                          flag=flag, column=time_column,
                          zero=fill != 'zero')
  short = [k for k in ids if len(given[k]) < horizon]
  if short:
    raise InputError(f'{flag}: series {short[0]!r} has {len(given[short[0]])} '
                     f'test points in {path}, fewer than --horizon={horizon}')
  test, observed, gap_notes = (tuple(given[k][:horizon] for k in ids), None, ())
  if test_gaps:
    test, observed, gap_notes = _gaps_filled(ids, train, test, path=path, fill=fill)
  test_inputs = None
  if future_columns:
    test_inputs = _future_part(ids, future, num_inputs, horizon, path, flags=tuple(
        c - 1 - (num_inputs - len(future_columns)) for c in flags
        if c - 1 >= num_inputs - len(future_columns)))
  # What the test file holds that is not scored, said rather than dropped silently.
  unknown = [k for k in test_ids if k not in set(ids)]
  longer = sum(len(given[k]) > horizon for k in ids)
  notes = tuple(
      ([f'{flag}: {len(unknown)} series of {path} not in the train file left '
        f'out (first {unknown[0]!r})'] if unknown else []) +
      ([f'{flag}: the first {horizon} points (--horizon) of each series\' test '
        f'part are scored; {longer} series {"has" if longer == 1 else "have"} more, not '
        'read'] if longer else [])) + gap_notes
  return test, test_inputs, observed, notes


def _gaps_filled(ids, train, test, *, path: str, fill: str) -> tuple:
  """(test, test_observed, notes) of a given test part whose `test` (per series
  <float64>[horizon]) has empty target cells: each series' train part and test part
  filled as one (`train`: its target, filled; linear interpolation starts from its last
  value), the test part taken back (see `given`)."""
  horizon = len(test[0])
  empty = [int(np.isnan(t).sum()) for t in test]
  cells, series = sum(empty), sum(e > 0 for e in empty)
  if not cells:  # Empty cells past the first `horizon` rows: not read.
    return test, None, ()
  blank = [k for k, e in zip(ids, empty) if e == horizon]
  if blank and fill != 'zero':
    raise InputError(
        f'--test_path: {path}: series {blank[0]!r} has no target in its first {horizon} '
        f'rows (--horizon), its test part ({len(blank)} of {len(ids)} series): nothing to '
        'score; give the values, or leave such a series out of both files')
  observed = tuple(~np.isnan(t) for t in test)
  test = tuple(t if not e else gap_fill.fill_gaps(
      np.concatenate([np.asarray(v, np.float64), t])[:, None], ['the target'],
      f'{path}: series {k!r}', fill=fill, targets=1)[len(v):, 0]
               for k, v, t, e in zip(ids, train, test, empty))
  first = ids[next(i for i, e in enumerate(empty) if e)]
  where = (f'--test_path: {cells} empty target cell(s) (or periods without a row) in the '
           f'first {horizon} rows of {series} series of {path} (e.g. {first!r})')
  if fill == 'zero':  # Observed: an absent sale sold nothing.
    return test, None, (f'{where} are read as 0 (--fill=zero) and scored',)
  return test, observed, (
      f'{where} are left out of the test scores, the model\'s and every benchmark\'s (a '
      'series\' score: the mean over its observed steps); filled (--fill='
      f'{fill}, on from its train part\'s last value), they are never scored',)


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
