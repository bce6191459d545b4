"""A series' time column: reading it, inferring its season, continuing it into the future.

The season of a user's file, unless given, is inferred from its time column where every
step is one hour, day, week, month, quarter or year (`infer_season`): the usual season
of such data (SEASONS), with a note saying what was chosen and from what, or why none
was. `future_times` labels the steps of a forecast beyond the series' last time.
"""

import csv
import io
import re

import numpy as np

from rnnjax.data import common

# A time column's regular step -> (its name, the season forecasting users give such data:
# statsforecast's and forecast::ets's seasonal periods; a week's 52.18 rounds to 52).
# A yearly series has no season.
SEASONS = {'hour': ('hourly', 24), 'day': ('daily', 7), 'week': ('weekly', 52),
           'month': ('monthly', 12), 'quarter': ('quarterly', 4), 'year': ('yearly', 0)}
_SECONDS = {3600: 'hour', 86400: 'day', 7 * 86400: 'week'}
_MONTHS = {1: 'month', 3: 'quarter', 12: 'year'}
# ISO 8601 without a zone: 2001, 2001-12, 2001-12-31, 2001-12-31 23:00[:00[.5]] (or T).
_ISO = re.compile(r'\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d*)?)?)?)?)?')
_QUARTER = re.compile(r'(\d{4}) ?-? ?Q([1-4])', re.IGNORECASE)  # 2001-Q4, 2001 Q4, 2001Q4.


def read_times(path: str, time_column: str) -> list:
  """The time column's cells as strings, in file order ([] without a column)."""
  if not time_column:
    return []
  rows = list(csv.reader(io.StringIO(common.read_file(path), newline='')))
  index = [h.strip() for h in rows[0]].index(time_column)
  return [row[index].strip() if index < len(row) else '' for row in rows[1:]]


def future_times(times, steps: int) -> list:
  """`steps` times after `times` (strings), continuing their last spacing: months
  ('1994-08' -> '1994-09'), dates ('2001-12-29' + 7 days), whole numbers; otherwise
  '+1', '+2', ... (also with fewer than two times)."""
  times = [str(t) for t in times]
  ahead = range(1, steps + 1)
  if len(times) < 2:
    return [f'+{k}' for k in ahead]
  try:
    if all(len(t) == 7 for t in times[-2:]):
      before, last = (np.datetime64(t, 'M') for t in times[-2:])
      return [str(last + k * (last - before)) for k in ahead]
    if all(len(t) == 10 for t in times[-2:]):
      before, last = (np.datetime64(t, 'D') for t in times[-2:])
      return [str(last + k * (last - before)) for k in ahead]
    before, last = int(times[-2]), int(times[-1])
    return [str(last + k * (last - before)) for k in ahead]
  except ValueError:
    return [f'+{k}' for k in ahead]


def infer_season(times, time_column: str) -> tuple[int, str]:
  """(season, note): the usual season of a time column (strings, file order) whose every
  step is the same hour, day, week, month, quarter or year (SEASONS), else 0; the note
  says which and from what, or why there is none."""
  step, why = _regular_step([str(t).strip() for t in times])
  if step:
    name, season = SEASONS[step]
    return season, (f'season: {season or "none"}, inferred from the {name} time column '
                    f'{time_column!r}; --season sets it')
  return 0, f'season: none, the time column {time_column!r} {why}; --season sets it'


def _regular_step(times) -> tuple[str, str]:
  """(a key of SEASONS, '') or ('', why there is none)."""
  if len(times) < 3:
    return '', 'has fewer than 3 times'
  if not all(_ISO.fullmatch(t) or _QUARTER.fullmatch(t) for t in times):
    if all(re.fullmatch(r'[+-]?\d+', t) for t in times):
      return '', 'holds step numbers, not dates'
  stamps = []
  for i, t in enumerate(times):
    quarter = _QUARTER.fullmatch(t)
    try:
      if not (quarter or _ISO.fullmatch(t)):
        raise ValueError
      stamps.append(np.datetime64(f'{quarter[1]}-{3 * int(quarter[2]) - 2:02d}' if quarter
                                  else t.replace(' ', 'T'), 's'))
    except ValueError:
      return '', (f'is not read as dates (line {i + 2}: {t!r}; ISO dates such as '
                  f'2001-12-31, 2001-12 or 2001-Q4 are)')
  stamps = np.array(stamps)
  seconds = np.diff(stamps).astype(np.int64)
  if (seconds <= 0).any():
    i = int(np.argmax(seconds <= 0))
    return '', f'is irregular ({times[i]!r} to {times[i + 1]!r} is not a step forward)'
  days, months = stamps.astype('datetime64[D]'), stamps.astype('datetime64[M]')
  if (stamps == days).all() and np.median(seconds) >= 28 * 86400:
    # Calendar months (their lengths differ): k months a step, each time on the same
    # day of its month or on its month's last day.
    k = int(np.median(np.diff(months.astype(np.int64))))
    day = (days - months).astype(np.int64)
    last = (days + 1).astype('datetime64[M]') != months
    on_day = last if last.mean() > 0.5 else day == np.bincount(day).argmax()
    regular = (np.diff(months.astype(np.int64)) == k) & on_day[:-1] & on_day[1:]
    step, unit = _MONTHS.get(k, ''), f'{k} month{"s" if k > 1 else ""}'
  else:
    k = int(np.median(seconds))
    regular = seconds == k
    step, unit = _SECONDS.get(k, ''), _duration(k)
  if not regular.all():
    i = int(np.argmin(regular))
    return '', f'is irregular ({times[i]!r} to {times[i + 1]!r} is not {unit})'
  return (step, '') if step else ('', f'is regular (every {unit}) but has no usual season')


def _duration(seconds: int) -> str:
  """'3 days', '1 hour', '30 minutes', '90 seconds': in the largest whole unit."""
  for name, size in (('day', 86400), ('hour', 3600), ('minute', 60), ('second', 1)):
    if seconds % size == 0:
      count = seconds // size
      return f'{count} {name}{"s" if count != 1 else ""}'
  raise AssertionError(seconds)  # Every whole number of seconds is a whole second.
