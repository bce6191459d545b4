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
format) among a column of mostly times, and a column of dates written otherwise
(21/11/2022, 08/1994, Jan 2016: `OTHER_DATES`). A column of mostly other cells (labels), or with
numbers that are not whole (decimal years: 1990, 1990.5, 1991), is left in file order,
and the note says so.
With `to_end` (--fill=zero) a series whose rows stop early runs on, empty, to the last
time of the file. `future_times` labels the periods after each series' last time
(follows.py holds a part given after a series, a test part or a forecast's future rows,
to start the period after it).
"""

import re

import numpy as np

from rnnjax.data.time import column as times_lib
from rnnjax.data.time import periods
from rnnjax.errors import InputError


# Dates written otherwise than ISO's: 21/11/2022, 11.21.2022, 08/1994, 21-11-2022, and
# with a month's name (Jan 2016, Jan-16, 3 Jan 2016, 2016 Jan: a spreadsheet's export).
_MONTH = r'(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?'
OTHER_DATES = re.compile(
    r'\d{1,4}([/.-])\d{1,4}(?:\1\d{1,4})?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?'
    rf'|(?:\d{{1,2}}[ ./-]?)?{_MONTH}[ ./,-]*\'?\d{{2,4}}'
    rf'|\d{{4}}[ ./-]?{_MONTH}(?:[ ./-]?\d{{1,2}})?', re.IGNORECASE)


def regularize(ids, values, cells, *, path: str, column: str, to_end: bool = False,
               argument: bool = False, flag: str = '', short: int = 0,
               two_rows: str = '') -> tuple:
  """(values, cells, note): per series `values` <float64>[n_i, ...] and `cells` (its
  time strings) on the panel's time grid (see the module docstring); the note says what
  was put back or reordered ('' for nothing). An id of None is a file's one series.
  `to_end`: each series also runs on, empty, to the panel's last time (a sales export
  leaves out a product's last weeks without sales: --fill=zero). Errors and the note
  name the sweep's --time_column flag; with `argument`, `path` names a Python argument
  (a saved model's histories) instead; with `flag`, the flag that gave the file `path`
  (predict's --csv_path, read with a saved model's time column). The note does not
  count a series of `short` points or fewer (left out of a sweep as too short);
  `two_rows` ends the error of two rows at one time (the caller's likely cause)."""
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
          'months such as 2001M12, '
          f'or step numbers); correct it, {leave}')
    if unread and all(OTHER_DATES.fullmatch(c) and not _number(c) for _, c in unread):
      # Dates in another order (21/11/2022, 08/1994): in file order, an export's shuffled
      # or text-sorted rows would train and forecast out of time, with only a note.
      raise InputError(
          f'{named} holds dates written as {odd!r}, not read as times (ISO dates such '
          'as 2001-12-31 or 2001-12 are): write them so (pandas: pd.to_datetime(cells, '
          "dayfirst=...).dt.strftime('%Y-%m-%d')), " + leave)
    why = ('mixes dates and step numbers' if odd is None else
           f'{odd!r} is not read as a time (ISO dates such as 2001-12-31 or 2001-12, '
           'quarters such as 2001-Q4, months such as 2001M12, or step numbers are)')
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
        'their UTC offset (2023-11-05T01:00:00-0500) or in UTC' if clock else '') + two_rows)
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


def future_times(cells, steps: int, grid=()) -> list:
  """Per series, the labels of the `steps` periods after its last time cell (`cells`: per
  series, its time strings in time order), counted on the grid every series shares (its
  step read over all of them, so a one-row series of a weekly panel continues weekly;
  where no series has two, over `grid`'s too: other series of the same data, the
  sweep's) and written as the series' own cells are: '2001-12-31' -> '2002-01-31',
  '2001-Q4' -> '2002-Q1', Friday -> Monday for business days, 7 -> 8. '+1', '+2', ...
  where a cell is not a time, a series has none, or none has two."""
  plain = [f'+{k}' for k in range(1, steps + 1)]
  cells = [[str(c).strip() for c in series] for series in cells]
  if not any(len(series) > 1 for series in cells):
    grid = [[str(c).strip() for c in series] for series in grid]
  else:
    grid = []
  unit, positions = periods.count(cells + grid)
  step = periods.step([np.sort(p) for p in positions]) if unit else 0
  positions = positions[:len(cells)] if unit else positions
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


def ended_early(cells) -> list:
  """[(series index, steps before the latest end)] of each series (`cells`: per series,
  its time strings in time order) whose last time comes before another's: a product no
  longer sold, forecast from its own end, at dates already past. [] where a cell is not
  a date (step numbers count each series' own steps, as the M competitions' do) or
  fewer than two series have dates."""
  cells = [[str(c).strip() for c in series] for series in cells]
  if sum(bool(series) for series in cells) < 2:
    return []
  unit, positions = periods.count(cells)
  step = periods.step([np.sort(p) for p in positions]) if unit not in (None, 'step') else 0
  if not step:
    return []
  ends = [int(p.max()) if len(p) else None for p in positions]
  latest = max(e for e in ends if e is not None)
  return [(i, (latest - e) // step) for i, e in enumerate(ends)
          if e is not None and e < latest]
