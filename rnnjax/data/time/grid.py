"""A time column read as a grid: each series' rows put in time order, and the periods
absent from it put back as gaps.

Windows, seasons and lags count rows. A sales export that leaves out a week without
sales, or a file listing a series newest first, would shift every later point of that
series by a period without a word. So where a time column's every cell is a time, it is
counted in periods of one unit with one step (periods.py: calendar months, business
days, seconds or steps; the step the commonest spacing over every series).
Each series' rows are then sorted by time, and each period between its first and last
time that has no row gets one, empty (NaN), labelled in the style of the series' own
cells; the loaders fill and count it as an empty cell. Times with a UTC offset
(2023-11-05T01:00:00-0500, ...Z) at a step under a day are instants, counted in UTC: the
hour a clock repeats when daylight saving ends is two hours, not two rows at one time;
where every one is midnight, or the step is a day or more (a pandas export of a
tz-aware daily or monthly index), they are read on their local clock, the offset
dropped, so a day across the change is one day and a month one month
(column.wall_clock). A label either adds keeps the offset of the cell before it, with
the note saying so. Two rows of a series at one
time, or a time off its series' grid (a Tuesday in a series of Mondays), are refused in
one line naming --time_column, and so is a cell that is not a time (blank, another
format) among a column of mostly times. A column of mostly other cells, or with numbers
that are not whole (decimal years: 1990, 1990.5, 1991), is left in file order, and the
note says so.
With `to_end` (--fill=zero) a series whose rows stop early runs on, empty, to the last
time of the file. `check_follows` holds a given test part (or a forecast's future
rows) to the period after its series' train part (or history), and refuses one whose
cells are not read as times after times (a plan dated 01/07/2024 after 2024-06-30);
`future_times` labels the periods after each series' last time.
"""

import numpy as np

from rnnjax.data.time import column as times_lib
from rnnjax.data.time import periods
from rnnjax.errors import InputError


def regularize(ids, values, cells, *, path: str, column: str, to_end: bool = False,
               argument: bool = False, flag: str = '', short: int = 0) -> tuple:
  """(values, cells, note): per series `values` <float64>[n_i, ...] and `cells` (its
  time strings) on the panel's time grid (see the module docstring); the note says what
  was put back or reordered ('' for nothing). An id of None is a file's one series.
  `to_end`: each series also runs on, empty, to the panel's last time (a sales export
  leaves out a product's last weeks without sales: --fill=zero). Errors and the note
  name the sweep's --time_column flag; with `argument`, `path` names a Python argument
  (a saved model's histories) instead; with `flag`, the flag that gave the file `path`
  (predict's --csv_path, read with a saved model's time column). The note does not
  count a series of `short` points or fewer (left out of a sweep as too short)."""
  if not column:
    return values, cells, ''

  def subject(key):
    if argument:
      return f'{path}:' if key is None else f'{path}: series {key!r}'
    if flag:
      return f'{flag}: ' + (path if key is None else f'series {key!r} of {path}')
    return '--time_column: ' + (path if key is None else f'series {key!r} of {path}')
  leave = (f'or give the rows without column {column!r} to read them in the order given'
           if argument else
           f'or give the file without column {column!r} to read rows in file order'
           if flag else 'or leave --time_column out to read rows in file order')
  named = (f'{path}: its time column {column!r}' if argument else
           f'{flag} {path}: its time column {column!r}' if flag else
           f'--time_column {column!r} of {path}')
  unit, positions = periods.count([[str(c).strip() for c in series] for series in cells])
  if unit is None:  # Not all times: rows stay in file order, and the log says so.
    unread = [(key, str(c).strip()) for key, series in zip(ids, cells) for c in series
              if times_lib.parse(str(c).strip()) is None
              and not periods.WHOLE.fullmatch(str(c).strip())]
    odd = unread[0][1] if unread else None
    if (unread and 2 * len(unread) < sum(map(len, cells))
        and not any(_number(c) for _, c in unread)):
      # Mostly times: a blank cell, a date in another format or a typo, not a column of
      # labels. Read in file order, every series would be cut and scored out of time.
      # (A number that is not whole, 1990.5 among 1990 and 1991, is a column of
      # decimal years or half steps, not a typo: read in file order, as labels are.)
      key, cell = unread[0]
      what = 'an empty time cell' if not cell else f'{cell!r}, not read as a time'
      others = (f' ({len(unread)} such cells in all)' if len(unread) > 1 else '')
      raise InputError(
          f'{subject(key)} has {what}{others}, where the column\'s other cells '
          'are times (ISO dates such as 2001-12-31 or 2001-12, quarters such as 2001-Q4, '
          f'or step numbers); correct it, {leave}')
    why = ('mixes dates and step numbers' if odd is None else
           f'{odd!r} is not read as a time (ISO dates such as 2001-12-31 or 2001-12, '
           'quarters such as 2001-Q4, or step numbers are)')
    order_said = 'in the order given' if argument else 'in file order'
    return values, cells, (f'{named}: {why}: rows are read {order_said}, neither sorted '
                           'nor checked for absent periods')
  order = [np.argsort(p, kind='stable') for p in positions]
  step = periods.step([p[o] for p, o in zip(positions, order)])
  twice = []  # Two rows at one time: every series that has them, counted in one line.
  for key, c, p, o in zip(ids, cells, positions, order):
    same = np.flatnonzero(np.diff(p[o]) == 0)
    if len(same):
      first, second = c[o[same[0]]], c[o[same[0] + 1]]
      at = (f'at {first!r}' if first == second or not step else
            f'in one period ({periods.describe(unit, step)}): {first!r} and {second!r}')
      twice.append((key, at, len(same), first))
  if twice:
    key, at, _, first = twice[0]
    more = ''
    if len(twice) > 1:
      shown = ', '.join(f'{k!r} {a}' for k, a, *_ in twice[1:3])
      more = (f'; {len(twice)} of {len(ids)} series have two rows at one time '
              f'({sum(n for _, _, n, _ in twice)} such times in all), also {shown}'
              f'{", ..." if len(twice) > 3 else ""}')
    clock = (unit == 'second' and 0 < step <= 3600
             and not times_lib.ZONED.fullmatch(str(first).strip()))
    raise InputError(f'{subject(key)} has two rows {at} (column {column!r}){more}' + (
        '; where a clock goes back an hour as daylight saving ends, write the times with '
        'their UTC offset (2023-11-05T01:00:00-0500) or in UTC' if clock else ''))
  if not step:  # One time per series: no spacing to read.
    return values, cells, ''
  last = max(int(p.max()) for p in positions if len(p))
  out_values, out_cells, absent, absent_series, sorted_series = [], [], 0, 0, 0
  extended = counted = 0
  for key, v, c, p, o in zip(ids, values, cells, positions, order):
    v, c, p = np.asarray(v)[o], [c[i] for i in o], p[o]
    said = (max(int((last if to_end else p[-1]) - p[0]) // step + 1, len(p)) > short)
    counted += said
    sorted_series += said and bool((o != np.arange(len(o))).any())
    off = np.flatnonzero((p - p[0]) % step)
    if len(off):
      raise InputError(
          f'{subject(key).removesuffix(":")}: {c[off[0]]!r} is not a whole number '
          f'of steps ({periods.describe(unit, step)}) after {c[0]!r}, the commonest spacing of '
          f'column {column!r}; correct the time, {leave}')
    slots = (p - p[0]) // step
    n = int(slots[-1]) + 1
    if to_end and (last - p[0]) // step + 1 > n:
      n, extended = int((last - p[0]) // step) + 1, extended + said
    if n > len(p):
      full = np.full((n, *v.shape[1:]), np.nan)
      full[slots] = v
      labels = [None] * n
      for i, s in enumerate(slots):
        labels[s] = c[i]
      example = c[0]
      for k in range(n):  # Written as the cell before it (at its UTC offset, if any).
        if labels[k] is None:
          labels[k] = periods.label(unit, p[0] + k * step, example, step)
        else:
          example = labels[k]
      v, c = full, labels
      absent += (n - len(p)) * said
      absent_series += said
    out_values.append(v)
    out_cells.append(c)
  parts = []
  zoned = next((str(x).strip() for series in cells for x in series
                if times_lib.ZONED.fullmatch(str(x).strip())), None)
  if zoned and unit == 'second' and step < 86400:
    parts.append(f'times with a UTC offset (such as {zoned!r}) read as instants, in UTC '
                 '(a daylight-saving change is an hour like any other); times written for '
                 'gaps and forecasts keep the offset of the time before them')
  elif zoned:
    parts.append(f'times with a UTC offset (such as {zoned!r}) read on their local clock, '
                 'the offset dropped (across a daylight-saving change a day is still a '
                 'day, a month a month); times written for gaps and forecasts keep the '
                 'offset of the time before them')
  if absent:
    parts.append(f'{absent} absent period{"s" * (absent != 1)} ({periods.describe(unit, step)}) '
                 + (f'in {absent_series} of {counted} series ' if counted > 1 else '')
                 + 'put back as empty cells')
  if extended:
    parts.append(f'{extended} series that end earlier run on, empty, to the last time')
  if sorted_series:
    parts.append(f'the rows of {sorted_series} series sorted by time' if len(ids) > 1
                 else 'rows sorted by time')
  note = f'{named}: {"; ".join(parts)}' if parts else ''
  return out_values, out_cells, note


def _number(cell: str) -> bool:
  """Whether a cell is a finite number (1990.5): not a blank, a word or NaN."""
  try:
    return bool(np.isfinite(float(cell)))
  except ValueError:
    return False


def positions(cells):
  """<int64>[n]: each time cell counted in the column's unit (periods.py's),
  an order to sort rows by; None where a cell is not a time."""
  unit, counted = periods.count([[str(c).strip() for c in cells]])
  return counted[0] if unit else None


def future_times(cells, steps: int) -> list:
  """Per series, the labels of the `steps` periods after its last time cell (`cells`: per
  series, its time strings in time order), counted on the grid every series shares (its
  step read over all of them, so a one-row series of a weekly panel continues weekly)
  and written as the series' own cells are: '2001-12-31' -> '2002-01-31', '2001-Q4' ->
  '2002-Q1', Friday -> Monday for business days, 7 -> 8. '+1', '+2', ... where a cell is
  not a time, a series has none, or no series has two."""
  plain = [f'+{k}' for k in range(1, steps + 1)]
  cells = [[str(c).strip() for c in series] for series in cells]
  unit, positions = periods.count(cells)
  step = periods.step([np.sort(p) for p in positions]) if unit else 0
  if not step:
    return [list(plain) for _ in cells]
  out = []
  for series, p in zip(cells, positions):
    if not len(p):
      out.append(list(plain))
      continue
    example = periods.month_example(series) if unit == 'month' else series[-1]
    out.append([periods.label(unit, p[-1] + k * step, example, step)
                for k in range(1, steps + 1)])
  return out



def check_follows(ids, before, after, *, path: str, flag: str, column: str = '',
                  last: str = 'its last train time', rows: str = '',
                  fill: str = '', zero: bool = False) -> None:
  """Refuses, in one line naming `flag`, a series whose `after` cells (its given test
  part, or its future rows) do not start one step after its `before` cells (its train
  part, or its history: `last` names its last time) end, where both are times on one
  grid; and, where the `before` cells are times, an `after` cell that is not one (a
  date written 01/07/2024), naming `column`: such rows would be read in file order
  (shuffled, or starting late) without a word. Where neither are times, nothing is
  checked. An id of None is a file's one series. `rows` (what `after` holds: 'future
  rows') ends the message with what to give: those rows from the step after `before`,
  or, where they start later and `fill` names where `before` came from, rows of the
  times between with an empty target there (filled as any gap). zero: the `before`
  cells are a panel's series read without --fill=zero; where a series ends before the
  panel's last time and its `after` cells start the step after that time (a file aligned
  to the calendar), the message names --fill=zero too, which runs every series on to it."""
  cells = [[str(c).strip() for c in (*b, *a)] for b, a in zip(before, after)]
  unit, positions = periods.count(cells)
  if unit is None:
    _check_read_alike(ids, before, after, path=path, flag=flag, column=column, last=last)
    return
  step = periods.step(positions) if unit else 0
  # The step is the `before` cells' (a daily history's, where monthly rows follow it).
  history_unit, history = periods.count([c[:len(b)] for c, b in zip(cells, before)])
  if history_unit and periods.step(history) and periods.count(cells, history_unit)[0]:
    unit, step = history_unit, periods.step(history)
    positions = periods.count(cells, unit)[1]
  for key, b, c, p in zip(ids, before, cells, positions if step else ()):
    n = len(b)
    where = path if key is None else f'series {key!r} of {path}'
    odd = [i for i in range(n, len(p) - 1) if p[i + 1] - p[i] != step]
    if n and odd:
      raise InputError(f'{flag}: {where} has {c[odd[0] + 1]!r} after {c[odd[0]]!r}, where '
                       f'the step is {periods.describe(unit, step)} (the step up to {last} '
                       f'{c[n - 1]!r}): give rows {periods.describe(unit, step)} apart')
    if 0 < n < len(p) and p[n] - p[n - 1] != step:
      raise InputError(f'{flag}: {where} starts at {c[n]!r}, not the step '
                       f'({periods.describe(unit, step)}) after {last} {c[n - 1]!r}'
                       f'{_zones(c[n - 1], c[n])}{_advice(unit, step, c, p, n, rows, fill)}'
                       f'{_zero_advice(unit, step, c, p, n, zero, before, positions)}')


def _zones(last: str, first: str) -> str:
  """Where one of `last` (before) and `first` (after) has a UTC offset and the other has
  none, which is read as UTC: a clause saying so ('' otherwise)."""
  zoned = [bool(times_lib.ZONED.fullmatch(c)) for c in (last, first)]
  if zoned[0] == zoned[1]:
    return ''
  bare, other = (first, last) if zoned[0] else (last, first)
  return (f' ({bare!r} has no UTC offset and is read as UTC, {other!r} has one: '
          'write both with their offset, or both in UTC)')


def _advice(unit: str, step: int, cells, p, n: int, rows: str, fill: str) -> str:
  """`check_follows`' advice for a series whose cells `cells` (positions `p`) turn
  from its before part to its after part at `n`: '' without `rows`."""
  if not rows:
    return ''
  example = periods.month_example(cells[:n]) if unit == 'month' else cells[n - 1]
  first = periods.label(unit, p[n - 1] + step, example, step)
  if not fill or p[n] - p[n - 1] <= step:
    return f'; give {rows} from {first!r}'
  end = periods.label(unit, p[n] - step, example, step)
  span = f'a row for {first!r}' if end == first else f'rows for {first!r} to {end!r}'
  return (f'; give {fill} {span} with an empty target (filled as a gap), or {rows} '
          f'from {first!r}')


def _zero_advice(unit: str, step: int, cells, p, n: int, zero: bool, before,
                 positions) -> str:
  """`check_follows`' clause naming --fill=zero (where `zero`) for a series (cells
  `cells`, positions `p`, its before part `n` long) that ends before the panel's last
  time and whose after part starts the step after it: '' otherwise."""
  ends = [q[len(b) - 1] for b, q in zip(before, positions) if len(b)]
  end = max(ends, default=p[n - 1])
  if not zero or p[n - 1] >= end or p[n] != end + step:
    return ''
  example = periods.month_example(cells[:n]) if unit == 'month' else cells[n - 1]
  early = sum(e < end for e in ends)
  return (f' ({early} series end before the panel\'s last time '
          f'{periods.label(unit, end, example, step)!r}: a sweep with --fill=zero reads a '
          'series\' absent periods as 0 and runs every series on to that time)')


def _check_read_alike(ids, before, after, *, path, flag, column, last) -> None:
  """check_follows' refusal of `after` cells not read as times where the `before` cells
  are (times, or step numbers)."""
  unit, _ = periods.count([[str(c).strip() for b in before for c in b]])
  if unit is None or not any(len(b) for b in before):
    return
  steps = unit == 'step'
  for key, b, a in zip(ids, before, after):
    read = (lambda c: periods.WHOLE.fullmatch(c) is not None) if steps else (
        lambda c: times_lib.parse(c) is not None)
    bad = [str(c).strip() for c in a if not read(str(c).strip())]
    if not bad:
      continue
    example = str((b or next(b for b in before if len(b)))[-1]).strip()
    kind = ('a step number' if steps else 'a quarter' if times_lib.QUARTER.fullmatch(example)
            else 'an ISO date')
    where = path if key is None else f'series {key!r} of {path}'
    named = f' column {column!r}' if column else ' time column'
    raise InputError(f'{flag}: {where}: its{named} holds {bad[0]!r}, not read as a time, '
                     f'where {last} {example!r} is {kind}; write them as that one is, so its '
                     'rows are put in time order and checked')
