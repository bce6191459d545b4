"""A series' time column: reading its cells, inferring its season.

The season of a user's file, unless given, is inferred from its time column where every
step is one hour, day, business day (`skips_weekends`), week, month, quarter or year
(`infer_season`): the usual season of such data (SEASONS), with a note saying what was
chosen and from what, or why none was. `parse` reads one time cell (time/grid.py reads a
whole column with it, and labels the steps of a forecast beyond a series' last time).
"""

import re

import numpy as np

from rnnjax.data import common

# A time column's regular step -> (its name, the season forecasting users give such data:
# statsforecast's and forecast::ets's seasonal periods; a week's 52.18 rounds to 52).
# A yearly series has no season.
SEASONS = {'hour': ('hourly', 24), 'day': ('daily', 7),
           'business day': ('business-daily', 5), 'week': ('weekly', 52),
           'month': ('monthly', 12), 'quarter': ('quarterly', 4), 'year': ('yearly', 0)}
_SECONDS = {3600: 'hour', 86400: 'day', 7 * 86400: 'week'}
_MONTHS = {1: 'month', 3: 'quarter', 12: 'year'}
# ISO 8601 without a zone: 2001, 2001-12, 2001-12-31, 2001-12-31 23:00[:00[.5]] (or T).
_ISO = re.compile(r'\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d*)?)?)?)?)?')
# An ISO 8601 time with a UTC offset: 2023-01-01T00:00:00-0500, -05:00, -05 or Z.
ZONED = re.compile(r'(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d*)?)?) ?'
                   r'(Z|[+-]\d{2}(?::?\d{2})?)', re.IGNORECASE)
QUARTER = re.compile(r'(\d{4}) ?-? ?Q([1-4])', re.IGNORECASE)  # 2001-Q4, 2001 Q4, 2001Q4.
# A month as statistics offices and Stata write it: 2001M12, 2001-M12, 2001m7.
MONTH = re.compile(r'(\d{4}) ?-? ?M(0?[1-9]|1[0-2])', re.IGNORECASE)


def read_times(path: str, time_column: str) -> list:
  """The time column's cells as strings, in file order ([] without a column)."""
  if not time_column:
    return []
  rows = common.csv_rows(common.read_file(path), path)
  index = [h.strip() for h in rows[0]].index(time_column)
  return [row[index].strip() if index < len(row) else '' for row in rows[1:]]


def parse(cell: str, wall: bool = False):
  """np.datetime64[s] of a time cell that is an ISO date or time (2001, 2001-12,
  2001-12-31, 2001-12-31 23:00[:00]), a time with a UTC offset (2001-12-31T23:00-0500,
  ...Z: the instant, in UTC, so that a daylight-saving change is one hour like any other;
  with `wall`, its local time, the offset dropped: `wall_clock` says which a column is
  read as), a quarter (2001-Q4: its first month) or a month written 2001M12, else None."""
  cell = str(cell).strip()
  quarter, month = QUARTER.fullmatch(cell), MONTH.fullmatch(cell)
  zoned = ZONED.fullmatch(cell)
  try:
    if quarter:
      return np.datetime64(f'{quarter[1]}-{3 * int(quarter[2]) - 2:02d}', 's')
    if month:
      return np.datetime64(f'{month[1]}-{int(month[2]):02d}', 's')
    if _ISO.fullmatch(cell):
      return np.datetime64(cell.replace(' ', 'T'), 's')
    if zoned:
      local = np.datetime64(zoned[1].replace(' ', 'T'), 's')
      return local if wall else local - np.timedelta64(offset_seconds(zoned[2]), 's')
  except ValueError:
    pass
  return None


def wall_clock(series) -> bool:
  """Whether times with a UTC offset in `series` (per series, its cells) are read on
  their local clock, the offset dropped: where every local time is midnight, or the
  series step (their median spacing, as instants) by a day or more. Days, months and
  years are calendar units on the local clock: across a daylight-saving change a day
  is 23 or 25 hours as instants, a month 28 to 31 days. Under a day (hourly data) the
  instants, in UTC: an hour is an hour, and the hour a clock repeats is two rows. True
  where no cell has an offset (every cell reads alike either way)."""
  series = [[str(c).strip() for c in s] for s in series]
  if not any(ZONED.fullmatch(c) for s in series for c in s):
    return True
  local = [parse(c, wall=True) for s in series for c in s]
  if None in local:
    return False
  local = np.asarray(local, 'datetime64[s]')
  if (local == local.astype('datetime64[D]')).all():
    return True
  gaps = []
  for s in series:
    instants = [parse(c) for c in s]
    gaps.append(np.diff(np.sort(np.asarray(instants, 'datetime64[s]'))).astype(np.int64))
  gaps = np.concatenate(gaps + [np.zeros(0, np.int64)])
  gaps = gaps[gaps > 0]
  return bool(len(gaps)) and float(np.median(gaps)) >= 86400


def offset_seconds(offset: str) -> int:
  """Seconds east of UTC of an ISO offset: 'Z' 0, '-0500' and '-05:00' -18000, '+01' 3600."""
  if offset.upper() == 'Z':
    return 0
  digits = offset[1:].replace(':', '')
  seconds = 3600 * int(digits[:2]) + 60 * int(digits[2:4] or 0)
  return -seconds if offset[0] == '-' else seconds


def skips_weekends(days) -> bool:
  """Whether dates <datetime64[D]>[n], in order, are business days: none on a Saturday or
  Sunday, and some Friday followed by the Monday after it."""
  days = np.asarray(days, 'datetime64[D]')
  return (bool(np.is_busday(days).all())
          and bool(((np.diff(days).astype(np.int64) == 3)
                    & (np.diff(np.busday_count(days[0], days)) == 1)).any()))


def infer_season(times, time_column: str, series=None) -> tuple[int, str]:
  """(season, note): the usual season of a time column (strings, file order) whose every
  step is the same hour, day, week, month, quarter or year (SEASONS), else 0; the note
  says which and from what, or why there is none (a cell named by its line of a file of
  one series, or by its row of the panel's `series` named)."""
  step, why = _regular_step([str(t).strip() for t in times], series)
  if step:
    name, season = SEASONS[step]
    return season, (f'season: {season or "none"}, inferred from the {name} time column '
                    f'{time_column!r}; --season sets it')
  return 0, f'season: none, the time column {time_column!r} {why}; --season sets it'


def given_season_note(season: int, times, time_column: str) -> str:
  """'' or a note that the --season given is not the one the time column suggests (a
  flagfile of quarterly series pointed at weekly data, say)."""
  step, _ = _regular_step([str(t).strip() for t in times])
  if step and SEASONS[step][1] and SEASONS[step][1] != season:
    name, usual = SEASONS[step]
    return (f'season: {season or "none"} as --season gives it; the {name} time column '
            f'{time_column!r} suggests {usual}')
  return ''


def _regular_step(times, series=None) -> tuple[str, str]:
  """(a key of SEASONS, '') or ('', why there is none)."""
  if len(times) < 3:
    return '', 'has fewer than 3 times'
  if not all(_ISO.fullmatch(t) or QUARTER.fullmatch(t) or MONTH.fullmatch(t)
             or ZONED.fullmatch(t) for t in times):
    if all(re.fullmatch(r'[+-]?\d+', t) for t in times):
      return '', 'holds step numbers, not dates'
  wall = wall_clock([times])
  stamps = [parse(t, wall) for t in times]
  if None in stamps:
    i = stamps.index(None)
    where = f'line {i + 2}' if series is None else f'series {series!r}, row {i + 1}'
    return '', (f'is not read as dates ({where}: {times[i]!r}; ISO dates such as '
                f'2001-12-31 or 2001-12, 2001-Q4 or 2001M12 are)')
  stamps = np.array(stamps)
  seconds = np.diff(stamps).astype(np.int64)
  if (seconds <= 0).any():
    i = int(np.argmax(seconds <= 0))
    return '', f'is irregular ({times[i]!r} to {times[i + 1]!r} is not a step forward)'
  days, months = stamps.astype('datetime64[D]'), stamps.astype('datetime64[M]')
  if (stamps == days).all() and np.median(seconds) >= 28 * 86400:
    # Calendar months (their lengths differ): k months a step, the day of the month
    # not read (time/grid.py reads a monthly date as its month too).
    k = int(np.median(np.diff(months.astype(np.int64))))
    regular = np.diff(months.astype(np.int64)) == k
    step, unit = _MONTHS.get(k, ''), f'{k} month{"s" if k > 1 else ""}'
  else:
    k = int(np.median(seconds))
    regular = seconds == k
    step, unit = _SECONDS.get(k, ''), duration(k)
    if k == 86400 and (stamps == days).all() and skips_weekends(days):
      # Trading days: a weekend is not a period (time/grid.py reads them so too).
      regular = np.diff(np.busday_count(days[0], days)) == 1
      step, unit = 'business day', 'one business day'
  if not regular.all():
    i = int(np.argmin(regular))
    return '', f'is irregular ({times[i]!r} to {times[i + 1]!r} is not {unit})'
  return (step, '') if step else ('', f'is regular (every {unit}) but has no usual season')


def duration(seconds: int) -> str:
  """'3 days', '1 hour', '30 minutes', '90 seconds': in the largest whole unit."""
  for name, size in (('day', 86400), ('hour', 3600), ('minute', 60), ('second', 1)):
    if seconds % size == 0:
      count = seconds // size
      return f'{count} {name}{"s" if count != 1 else ""}'
  raise AssertionError(seconds)  # Every whole number of seconds is a whole second.
