"""Time cells counted as periods of one unit, and periods written back as cells.

A time column's every cell (`column.parse`: ISO dates and times, times with a UTC offset
(`column.wall_clock`: on their local clock, the offset dropped, where every time is
midnight or the step is a day or more; else as instants in UTC), quarters such as
2001-Q4, months such as 2001M12, or whole step numbers) is counted in one unit, read over every series:
- calendar months, for dates a month or more apart (monthly, quarterly, yearly data:
  the day of the month is not read);
- business days, for daily dates of which none falls on a Saturday or Sunday and some
  series steps from a Friday to a Monday (a market's trading days: a weekend is not a
  period, a holiday is);
- seconds, for other dates and times; steps, for step numbers.
A series' step is the commonest spacing between its consecutive times, over every
series; a period is labelled in the style of the series' own cells (grid.py puts rows
on that grid, and labels the periods after them). `check_step` refuses histories dated at
another step than a saved model's data.
"""

import re

import numpy as np

from rnnjax.data.time import column as times_lib
from rnnjax.errors import InputError

_MONTH_DAYS = 28 * 86400  # Steps at least this long are counted in calendar months.
_MONDAY = np.datetime64('1970-01-05')  # Business days are counted from a Monday.
WHOLE = re.compile(r'[+-]?\d+')  # A step number.


def count(cells, unit: str = '') -> tuple:
  """(unit, per series <int64>[n_i]): every time counted in one unit (module
  docstring; `unit`, where given, that one: a history's, for the rows after it), or
  (None, None) where a cell is not a time. Whole numbers are step numbers, unless every
  one has four digits (years)."""
  flat = [c for series in cells for c in series]
  whole = all(WHOLE.fullmatch(c) for c in flat)
  if unit == 'step' or (not unit and whole and not all(len(c) == 4 for c in flat)):
    if not whole:
      return None, None
    return 'step', [np.asarray([int(c) for c in series], np.int64) for series in cells]
  as_seconds = _dates(flat, cells)
  if as_seconds is None:
    wall = times_lib.wall_clock(cells)
    stamps = [[times_lib.parse(c, wall) for c in series] for series in cells]
    if any(s is None for series in stamps for s in series):
      return None, None
    as_seconds = [np.asarray(series, 'datetime64[s]') for series in stamps]
  every = np.concatenate(as_seconds)
  days = every.astype('datetime64[D]')
  if not unit and (every == days).all():
    gaps = np.concatenate([np.diff(np.sort(s)).astype(np.int64) for s in as_seconds])
    gaps = gaps[gaps > 0]
    if len(gaps) and np.median(gaps) >= _MONTH_DAYS:
      unit = 'month'
    elif len(gaps) and np.median(gaps) == 86400 and np.is_busday(days).all() and any(
        times_lib.skips_weekends(np.sort(s).astype('datetime64[D]')) for s in as_seconds):
      unit = 'business day'
  if unit == 'month':
    return unit, [s.astype('datetime64[M]').astype(np.int64) for s in as_seconds]
  if unit == 'business day':
    return unit, [np.busday_count(_MONDAY, s.astype('datetime64[D]')) for s in as_seconds]
  return 'second', [s.astype(np.int64) for s in as_seconds]


def _dates(flat, cells):
  """Per series <datetime64[s]>[n_i] where every cell is a date written YYYY-MM-DD (as
  column.parse reads it), converted at once (3 million weekly cells: ~10 s a cell at a
  time); else None, for column.parse to read each."""
  text = np.asarray(flat) if flat else None
  if text is None or text.dtype != np.dtype('U10'):  # A longer or shorter cell: not one.
    return None
  chars = text.view(np.uint32).reshape(len(text), 10)
  digits = chars[:, [0, 1, 2, 3, 5, 6, 8, 9]]
  if not ((chars[:, [4, 7]] == ord('-')).all() and (digits >= ord('0')).all()
          and (digits <= ord('9')).all()):
    return None
  try:
    every = text.astype('datetime64[s]')
  except ValueError:  # 2024-02-30: column.parse refuses it.
    return None
  return np.split(every, np.cumsum([len(series) for series in cells])[:-1])


def step(positions) -> int:
  """The commonest positive spacing of consecutive positions (sorted, per series), 0
  where there is none."""
  steps = np.concatenate([np.diff(p) for p in positions] + [[]]).astype(np.int64)
  steps = steps[steps > 0]
  if not len(steps):
    return 0
  # Counted by value (dates are counted in seconds, too many for a bincount), never a
  # median: daily sales exported on sale days only step by 1 day most often, but by 2
  # or more half the time.
  spacings, counts = np.unique(steps, return_counts=True)
  return int(spacings[counts.argmax()])


def describe(unit: str, step: int) -> str:
  named = {('second', 3600): 'an hour', ('second', 86400): 'a day',
           ('second', 7 * 86400): 'a week', ('month', 1): 'a month',
           ('month', 3): 'a quarter', ('month', 12): 'a year'}
  if (unit, step) in named:
    return named[unit, step]
  if unit == 'second':
    return times_lib.duration(step)
  return f'{step} {unit}{"s" * (step != 1)}'


def label(unit: str, position: int, example: str, step: int = 0) -> str:
  """A time cell for `position` (in `unit`; its column's `step`), written as `example`
  is. A time with a UTC offset is written with the example's offset as written; counted
  in seconds at a step under a day, `position` is its instant in UTC, else (days, weeks:
  `column.wall_clock`) its local time."""
  if unit == 'step':
    return str(position)
  if unit == 'month':
    year, month = divmod(int(position), 12)
    year += 1970
    quarter, named = times_lib.QUARTER.fullmatch(example), times_lib.MONTH.fullmatch(example)
    if quarter:
      return f'{year}{example[4:-1]}{(month // 3) + 1}'
    if named:  # 2001M07 -> 2001M08 (or 2001-m7 -> 2001-m8), as written.
      return f'{year}{example[4:named.start(2)]}{month + 1:0{len(named[2])}d}'
    if len(example) == 4:
      return f'{year}'
    if len(example) == 7:
      return f'{year}-{month + 1:02d}'
    first = np.datetime64(f'{year}-{month + 1:02d}', 'M')
    last_day = int(((first + 1).astype('datetime64[D]') - first.astype('datetime64[D]'))
                   .astype(np.int64))
    day = np.datetime64(example[:10], 'D')
    on_last = (day + 1).astype('datetime64[M]') != day.astype('datetime64[M]')
    wanted = last_day if on_last else min(int(example[8:10]), last_day)
    return f'{year}-{month + 1:02d}-{wanted:02d}{example[10:]}'  # Midnight kept as written.
  if unit == 'business day':
    # 'YYYY-MM-DD', and a midnight or offset as the example writes it.
    return str(np.busday_offset(_MONDAY, int(position))) + example[10:]
  stamp = np.datetime64(int(position), 's')
  zoned = times_lib.ZONED.fullmatch(example)
  if zoned:  # Written at the example's offset, with it as written ('Z', '-0500', '-05:00').
    if step < 86400:  # An instant in UTC; a day or more are counted on the local clock.
      stamp += np.timedelta64(times_lib.offset_seconds(zoned[2]), 's')
    example, suffix = zoned[1], example[len(zoned[1]):]
  else:
    suffix = ''
  precision = {10: 'D', 16: 'm'}.get(len(example), 's')
  text = np.datetime_as_string(stamp, unit=precision)
  return str(text.replace('T', ' ') if ' ' in example else text) + suffix

def month_example(series) -> str:
  """A cell of a series counted in months whose day `label` copies (a month's last day
  read as 'the last day'): its last cell where every date is its month's last day, else
  the last on the commonest day of the month that is not a month's last day (a series
  on the 28th, or the 30th, whose last time is February's 28th or April's 30th goes on
  on the 28th or the 30th, not on the next month's last day)."""
  if len(series[-1]) < 10:
    return series[-1]
  days = np.array([c[:10] for c in series], 'datetime64[D]')
  month_end = (days + 1).astype('datetime64[M]') != days.astype('datetime64[M]')
  day = (days - days.astype('datetime64[M]')).astype(np.int64)
  if month_end.all():
    return series[-1]
  usual = np.flatnonzero(~month_end & (day == np.bincount(day[~month_end]).argmax()))
  return series[int(usual[-1])]


SAMPLED = 200  # Series read for a step: the commonest spacing shows in a few.


def spacing(cells) -> tuple:
  """(unit, step) of per-series time cells (the first SAMPLED series'): their unit
  (count) and commonest step; (None, 0) where a cell is not a time, (unit, 0)
  where no series has two times."""
  cells = [[str(c).strip() for c in series] for series in list(cells)[:SAMPLED]]
  unit, counted = count(cells)
  if unit is None:
    return None, 0
  return unit, step([np.sort(p) for p in counted])


def _days(unit: str, step: int):
  """A step of days in days (a business day as a day), else None."""
  return step if unit == 'business day' else step / 86400 if unit == 'second' else None


def check_step(cells, data_cells, *, what: str) -> str:
  """Refuses, in one line naming `what`, histories (`cells`, per series) whose times are
  dates (or datetimes) at another step than the model's data's were (`data_cells`):
  weekly rows given to a model swept on monthly data would be forecast a week at a time
  with the model's season, lookback and intervals, without a word. Where one side is
  dates and the other step numbers, a note (the model reads each row as one of its
  steps); '' where both are alike, or either has no step (one row per series, cells not
  read as times)."""
  unit, step = spacing(cells)
  data_unit, data_step = spacing(data_cells)
  if not step or not data_step:
    return ''
  if unit == data_unit == 'step' or (unit, step) == (data_unit, data_step):
    return ''
  given, data = describe(unit, step), describe(data_unit, data_step)
  if unit == 'step':
    return (f'{what}: its times are step numbers, where the model\'s data were dates '
            f'{data} apart: each row is read as {data}')
  if data_unit == 'step':
    return (f'{what}: its rows are dated, {given} apart, where the model\'s data were '
            'step numbers: each row is read as one of its steps')
  if _days(unit, step) is not None and _days(unit, step) == _days(data_unit, data_step):
    return ''  # Daily rows with and without weekends: the days alike.
  raise InputError(f'{what}: its rows step by {given}; the model\'s data stepped by '
                   f'{data} (its season, lookback and intervals count those steps): give '
                   f'rows {data} apart, or sweep a model on data like these')
