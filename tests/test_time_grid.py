"""A time column read as a grid (rnnjax/data/time/grid.py): rows sorted by time, absent
periods put back as empty cells, for a panel and a single series alike; and the parts
given after a series held to start the step after it (time/follows.py)."""

import csv
import re

import numpy as np
import pandas as pd
import pytest

from rnnjax.data import forecast
from rnnjax.data import panel
from rnnjax.data.time import column as times
from rnnjax.data.time import follows
from rnnjax.data.time import grid as time_grid
from rnnjax.data.time import periods
from rnnjax.errors import InputError
from rnnjax.final.saved import panel_histories


def _grid(cells):
  values = [np.arange(len(cells), dtype=np.float64)]
  (out,), (labels,), note = time_grid.regularize(['a'], values, [cells], path='f.csv',
                                                 column='t')
  return out, labels, note


@pytest.mark.parametrize('cells, want', [
    # An absent month, quarter, year; the file's own way of writing them kept.
    (['2001-01', '2001-02', '2001-03', '2001-05'], ['2001-04']),
    (['2001 Q1', '2001 Q2', '2001 Q3', '2002 Q1', '2002 Q2'], ['2001 Q4']),
    (['2001Q3', '2001Q4', '2002Q1', '2002Q3'], ['2002Q2']),
    # Months as statistics offices write them (Eurostat, Stata), kept as written.
    (['2021M10', '2021M11', '2022M01', '2022M02'], ['2021M12']),
    (['2021-m5', '2021-m6', '2021-m8'], ['2021-m7']),
    (['1990', '1991', '1992', '1995'], ['1993', '1994']),
    # Month ends: the absent month's own last day.
    (['2001-01-31', '2001-02-28', '2001-03-31', '2001-05-31'], ['2001-04-30']),
    (['2021-01-04', '2021-01-11', '2021-01-25', '2021-02-01'], ['2021-01-18']),
    # Trading days: Friday to Monday is one step; the absent Wednesday is put back.
    (['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-08', '2024-01-09',
      '2024-01-11', '2024-01-12'], ['2024-01-10']),
    (['2024-03-01 22:00', '2024-03-01 23:00', '2024-03-02 02:00'],
     ['2024-03-02 00:00', '2024-03-02 01:00']),
    (['7', '8', '10', '11'], ['9']),
])
def test_absent_periods_are_put_back_as_empty_cells(cells, want):
  out, labels, note = _grid(cells)
  assert [c for c in labels if c not in cells] == want
  assert all(isinstance(c, str) for c in labels)
  empty = [i for i, c in enumerate(labels) if c in want]
  assert np.isnan(out[empty]).all()
  assert out[~np.isnan(out)].tolist() == list(range(len(cells)))  # Kept, in order.
  assert f'{len(want)} absent period' in note and 'put back as empty cells' in note


def test_the_step_is_the_commonest_spacing_of_dates_with_long_gaps():
  """Daily sales exported on sale days only: a day apart most often, but more than a
  day apart at over half the rows, and some weeks apart (counted in seconds, past a
  bincount's reach): the step is a day, the days between put back."""
  days = np.cumsum([1, 1, 1, 2, 3, 1, 1, 4, 20, 2, 5, 1, 2, 3, 2, 6, 2])
  cells = [str(np.datetime64('2024-01-01') + int(d)) for d in days]
  assert periods.spacing([cells]) == ('second', 86400)
  out, labels, note = _grid(cells)
  assert len(labels) == days[-1] - days[0] + 1 and np.isfinite(out).sum() == len(cells)
  assert f'{len(labels) - len(cells)} absent periods (a day)' in note


def test_a_series_that_ends_at_an_earlier_date_is_said_to_be_forecast_at_past_dates():
  """A product no longer sold was forecast for weeks 40 weeks past, silently (a demand
  planner's panel); step numbers count each series' own steps (the M competitions'), so
  series of different lengths there end on no common calendar."""
  from rnnjax.final.saved import panel_forecasting  # pylint: disable=g-import-not-at-top
  weeks = [str(d) for d in np.arange('2024-01-01', '2024-03-01', 7, dtype='datetime64[D]')]
  times = [weeks, weeks[:4], weeks[2:], None]  # A history without times: none said.
  assert time_grid.ended_early([t or [] for t in times]) == [(1, 5)]
  assert panel_forecasting.ended_early_note(['a', 'b', 'c', 'd'], times, 'history') == [
      "history: 1 series ends before the others' last date, each forecast from its own "
      "end, at dates already past (e.g. 'b', last at 2024-01-22, 5 steps earlier); a sweep "
      'with --fill=zero runs a series that stopped on as zeros to the last date']
  assert time_grid.ended_early([weeks, weeks[:-1], weeks[:-2]]) == [(1, 1), (2, 2)]
  assert time_grid.ended_early([['1', '2', '3'], ['1', '2']]) == []
  assert time_grid.ended_early([weeks[:2], weeks[:2]]) == [] == time_grid.ended_early([weeks])


def test_rows_are_sorted_by_time():
  out, labels, note = _grid(['2020-03', '2020-01', '2020-02', '2020-05'])
  assert labels == ['2020-01', '2020-02', '2020-03', '2020-04', '2020-05']
  np.testing.assert_array_equal(out, [1, 2, 0, np.nan, 3])
  assert 'rows sorted by time' in note and '1 absent period (a month)' in note


@pytest.mark.parametrize('cells, odd', [
    (['1', '2', '3', '4'], None), (['2020-01', '2020-02', '2020-03'], None), (['1', '2'], None),
    (['a', 'c', 'b'], 'a'), (['2020-01', '', 'x'], ''),
    (['week 3', 'week 1', 'week 2'], 'week 3'),
    # Half-yearly decimal years as R writes them: numbers, not times among typos.
    (['1990', '1990.5', '1991', '1991.5', '1992'], '1990.5'),
])
def test_a_regular_or_unread_column_is_left_as_it_is(cells, odd):
  out, labels, note = _grid(cells)
  assert labels == cells
  np.testing.assert_array_equal(out, np.arange(len(cells)))
  if odd is None:
    assert note == ''
  else:  # Not sorted, not checked: the log says so, naming the first cell it cannot read.
    assert note.startswith(f"--time_column 't' of f.csv: {odd!r} is not read as a time")
    assert note.endswith('rows are read in file order, neither sorted nor checked for '
                         'absent periods')


@pytest.mark.parametrize('cells', [['08/1994', '07/1994', '06/1994'],
                                   ['21/11/2022', '14/11/2022', '28/11/2022'],
                                   ['21.11.2022 10:00', '21.11.2022 11:00'],
                                   ['Feb 2016', 'Jan 2016', 'Mar 2016'],
                                   ['Jan-16', 'Feb-16', 'Mar-16']])
def test_dates_in_another_order_than_isos_are_refused_not_read_in_file_order(cells):
  # An export's rows shuffled, or sorted as text (by day), would train out of time.
  with pytest.raises(InputError, match=rf"^--time_column 't' of f.csv holds dates written "
                     rf"as '{cells[0]}', not read as times \(ISO dates .*\): write them so "
                     r"\(pandas: .*\), or leave --time_column out to read rows in file "
                     "order$"):
    _grid(cells)


@pytest.mark.parametrize('cells, said', [
    ([['2020-01', '', '2020-03']], "f.csv has an empty time cell, where"),
    ([['2023-01-02', '2023-01-09'], ['16/01/2023', '2023-01-23', '2023-01-30', '']],
     "series 'b' of f.csv has '16/01/2023', not read as a time (2 such cells in all), "
     "where"),
])
def test_a_cell_that_is_not_a_time_among_times_is_refused(cells, said):
  # Read in file order instead, every series would be cut out of time (a user's panel
  # with one blank date cell among 10,000 was).
  ids = [None] if len(cells) == 1 else ['a', 'b']
  values = [np.arange(len(c), dtype=np.float64) for c in cells]
  with pytest.raises(InputError, match=re.escape(f'--time_column: {said}')) as e:
    time_grid.regularize(ids, values, cells, path='f.csv', column='t')
  assert str(e.value).endswith('leave --time_column out to read rows in file order')


@pytest.mark.parametrize('cells, message', [
    (['2020-01', '2020-02', '2020-02', '2020-03'], "has two rows at '2020-02'"),
    (['2020-01-01', '2020-02-01', '2020-03-01', '2020-03-15', '2020-04-01', '2020-05-01'],
     "has two rows in one period (a month): '2020-03-01' and '2020-03-15'"),
    (['2021-01-04', '2021-01-11', '2021-01-18', '2021-01-26', '2021-02-01'],
     "'2021-01-26' is not a whole number of steps (a week) after '2021-01-04'"),
])
def test_two_rows_at_one_time_or_a_time_off_the_grid_are_refused(cells, message):
  with pytest.raises(InputError, match=r'^--time_column: series .a. of f\.csv') as e:
    _grid(cells)
  assert message in str(e.value)


def test_two_rows_at_one_time_in_several_series_are_counted_in_one_line():
  """So that all are corrected at once: how many series, and a few more of them; local
  hours that a clock repeats also say how to write them."""
  hours = ['2023-11-05 00:00:00', '2023-11-05 01:00:00', '2023-11-05 01:00:00',
           '2023-11-05 02:00:00']
  ok = ['2023-11-05 00:00:00', '2023-11-05 01:00:00', '2023-11-05 02:00:00']
  ids = ['S1', 'S2', 'S3', 'S4', 'S5']
  cells = [ok, hours, ok, hours, hours]
  with pytest.raises(InputError) as e:
    time_grid.regularize(ids, [np.ones(len(c)) for c in cells], cells, path='f.csv',
                         column='t')
  assert str(e.value) == (
      "--time_column: series 'S2' of f.csv has two rows at '2023-11-05 01:00:00' (column "
      "'t'); 3 of 5 series have two rows at one time (3 such times in all), also 'S4' at "
      "'2023-11-05 01:00:00', 'S5' at '2023-11-05 01:00:00'; where a clock goes back an "
      'hour as daylight saving ends, write the times with their UTC offset '
      '(2023-11-05T01:00:00-0500) or in UTC')


def test_a_python_argument_is_named_in_errors_and_notes_and_one_time_twice_is_refused():
  """A saved model's histories name the argument, not the sweep's --time_column flag;
  a series whose every row is at one time (no spacing to read) has two rows at it."""
  with pytest.raises(InputError, match=r"^histories: series 'A' has two rows at '1' "
                     r"\(column 'ds'\)$"):
    time_grid.regularize(['A', 'B'], [np.ones(2), np.ones(1)], [['1', '1'], ['2']],
                         path='histories', column='ds', argument=True)
  with pytest.raises(InputError, match=r"^history: has '1994-13', not read as a time.*; "
                     r"correct it, or give the rows without column 'ds' to read them in "
                     r"the order given$"):
    time_grid.regularize([None], [np.ones(4)], [['1994-10', '1994-11', '1994-13',
                                                 '1994-12']],
                         path='history', column='ds', argument=True)
  _, _, note = time_grid.regularize([None], [np.ones(4)],
                                    [['1995-01', '1994-10', '1994-11', '1994-09']],
                                    path='history', column='ds', argument=True)
  assert note == ("history: its time column 'ds': 1 absent period (a month) put back as "
                  'empty cells; rows sorted by time')


def test_times_with_a_utc_offset_are_instants_so_daylight_saving_is_no_gap_nor_two_rows():
  """New York's clocks go back at 02:00 EDT on 2023-11-05: 01:00 comes twice, once at
  -0400 and once at -0500. Read as instants (in UTC) the hours are regular; a gap's label
  and the forecast's keep the offset of the time before them, as the file writes it."""
  cells = ['2023-11-05T00:00:00-0400', '2023-11-05T01:00:00-0400', '2023-11-05T01:00:00-0500',
           '2023-11-05T02:00:00-0500', '2023-11-05T04:00:00-0500']
  out, labels, note = _grid(cells)
  assert labels == cells[:4] + ['2023-11-05T03:00:00-0500', cells[4]]
  assert times.parse(labels[4]) == np.datetime64('2023-11-05T08:00:00')  # The gap's instant.
  np.testing.assert_array_equal(out, [0, 1, 2, 3, np.nan, 4])
  assert note == ("--time_column 't' of f.csv: times with a UTC offset (such as "
                  "'2023-11-05T00:00:00-0400') read as instants, in UTC (a daylight-saving "
                  'change is an hour like any other); times written for gaps and forecasts '
                  'keep the offset of the time before them; 1 absent period (an hour) put '
                  'back as empty cells')
  assert time_grid.future_times([cells], 2) == [['2023-11-05T05:00:00-0500',
                                                 '2023-11-05T06:00:00-0500']]
  zulu = ['2023-01-01T05:00:00Z', '2023-01-01T06:00:00Z', '2023-01-01T07:00:00Z']
  assert time_grid.future_times([zulu], 1) == [['2023-01-01T08:00:00Z']]
  assert times.infer_season(zulu, 't')[0] == 24
  assert times.parse('2023-01-01 00:00-05:00') == np.datetime64('2023-01-01T05:00')
  assert times.parse('2023-01-01') == np.datetime64('2023-01-01')  # Dates as before,
  _, _, plain = _grid(['2023-01-01 05:00', '2023-01-01 06:00', '2023-01-01 07:00'])
  assert plain == ''  # and no note for times without an offset.


def _new_york(days):
  """Local midnights in New York (a pandas export of a tz-aware index writes them so):
  -05:00 in winter, -04:00 from 2023-03-13."""
  return [f'{d} 00:00:00{"-04:00" if d >= np.datetime64("2023-03-13") else "-05:00"}'
          for d in days]


def test_daily_and_monthly_times_with_an_offset_count_days_and_months_on_the_local_clock():
  """Across a daylight-saving change a local day is 23 hours and a month 28-31 days as
  instants: read in UTC such files were refused ('is not a whole number of steps').
  Midnights, or steps of a day or more, are counted on the local clock, the offset
  dropped; the labels written keep the file's style (the offset of the time before)."""
  days = np.arange(np.datetime64('2023-03-08'), np.datetime64('2023-03-16'))
  cells = _new_york(days)
  kept = cells[:5] + cells[6:]  # 2023-03-13 absent: a gap on the day after the change.
  out, labels, note = _grid(kept)
  assert labels == cells[:5] + ['2023-03-13 00:00:00-05:00'] + cells[6:]
  np.testing.assert_array_equal(out, [0, 1, 2, 3, 4, np.nan, 5, 6])
  assert note == ("--time_column 't' of f.csv: times with a UTC offset (such as "
                  "'2023-03-08 00:00:00-05:00') read on their local clock, the offset "
                  'dropped (across a daylight-saving change a day is still a day, a month '
                  'a month); times written for gaps and forecasts keep the offset of the '
                  'time before them; 1 absent period (a day) put back as empty cells')
  assert time_grid.future_times([cells], 2) == [['2023-03-16 00:00:00-04:00',
                                                 '2023-03-17 00:00:00-04:00']]
  assert times.infer_season(cells, 't')[0] == 7
  noon = [c.replace(' 00:', ' 12:') for c in cells]  # A day's step, not at midnight.
  assert _grid(noon)[1] == noon
  assert time_grid.future_times([noon], 1) == [['2023-03-16 12:00:00-04:00']]
  months = [f'2023-{m:02d}-01 00:00:00{"-04:00" if 3 < m < 12 else "-05:00"}'
            for m in range(1, 13)]
  out, labels, _ = _grid(months[:5] + months[6:])
  assert labels == months[:5] + ['2023-06-01 00:00:00-04:00'] + months[6:]
  assert times.infer_season(months, 't')[0] == 12
  assert time_grid.future_times([months], 2) == [['2024-01-01 00:00:00-05:00',
                                                  '2024-02-01 00:00:00-05:00']]
  # Business days at local midnight: a weekend is not a period, the style kept.
  trading = [c for c, d in zip(cells, days) if np.is_busday(d)]
  assert time_grid.future_times([trading], 1) == [['2023-03-16 00:00:00-04:00']]


def test_a_panel_of_tz_aware_daily_and_monthly_rows_reads_as_regular_series(tmp_path):
  """The sweep's path (panel.load) and a saved model's histories read such files."""
  days = np.arange(np.datetime64('2023-02-01'), np.datetime64('2023-05-01'))
  rows = [[s, c, str(i + k)] for k, s in enumerate('ab') for i, c in enumerate(_new_york(days))]
  path = _write(tmp_path / 'daily_tz.csv', rows, ['unique_id', 'ds', 'y'])
  read = panel.load(csv_path=path, id_column='unique_id', time_column='ds',
                    target_column='y', horizon=4)
  assert read.num_filled == 0
  assert len(read.train[0]) + len(read.test[0]) == len(days)
  assert any('read on their local clock' in n for n in read.notes)
  months = [f'20{y}-{m:02d}-01 00:00:00{"-04:00" if 3 < m < 12 else "-05:00"}'
            for y in (21, 22, 23) for m in range(1, 13)]
  rows = [[s, c, str(i)] for s in 'ab' for i, c in enumerate(months)]
  path = _write(tmp_path / 'monthly_tz.csv', rows, ['unique_id', 'ds', 'y'])
  read = panel.load(csv_path=path, id_column='unique_id', time_column='ds',
                    target_column='y', horizon=4)
  assert read.num_filled == 0 and len(read.train[0]) == 32
  # A saved model's histories: a DataFrame as pandas writes a tz-aware index, a day absent.
  march = _new_york(np.arange(np.datetime64('2023-03-01'), np.datetime64('2023-03-21')))
  frame = {'unique_id': ['a'] * 19, 'ds': [c for i, c in enumerate(march) if i != 13]}
  frame = pd.DataFrame({**frame, 'y': np.arange(19.) + 1})
  transform = {'fill': 'linear', 'input_columns': [], 'future_columns': [],
               'id_column': 'unique_id', 'time_column': 'ds', 'target_column': 'y'}
  _, values, cells, _ = panel_histories.panel_histories(transform, frame)
  assert len(values[0]) == 20 and cells[0][13] == '2023-03-14 00:00:00-04:00'


def _write(path, rows, header):
  with open(path, 'w', newline='') as f:
    csv.writer(f).writerows([header, *rows])
  return str(path)


def _shop(drop=()):
  """Two products, weekly, with a price; the full grid, or `drop`'s rows left out."""
  rows = []
  for item, n in (('a', 14), ('b', 11)):
    for t in range(n):
      day = np.datetime64('2023-01-02') + 7 * t
      sales = '' if (item, t) == ('a', 5) else f'{(t * 7 + len(item)) % 11 + 1}'
      rows.append([item, str(day), sales, f'{2 + t % 3}'])
  return [r for i, r in enumerate(rows) if i not in drop]


def test_a_panel_without_rows_reads_as_one_with_empty_cells(tmp_path):
  header = ['item', 'week', 'sales', 'price']
  full = _write(tmp_path / 'full.csv', _shop(), header)
  kept = _shop(drop={3, 4, 9, 16})  # a's weeks 3, 4 and 9, b's week 2.
  kept[2:8] = kept[2:8][::-1]  # And some of a's rows out of order.
  gaps = [r if i not in (3, 4, 9, 16) else [*r[:2], '', ''] for i, r in enumerate(_shop())]
  both = [_write(tmp_path / 'gaps.csv', gaps, header),
          _write(tmp_path / 'kept.csv', kept, header)]
  read = [panel.load(csv_path=p, id_column='item', time_column='week', target_column='sales',
                     input_columns=('price',), horizon=2) for p in both]
  assert read[0].times == read[1].times
  assert read[0].num_filled == read[1].num_filled == 4 + 1 + 4
  for got, want in zip(read[1].train + read[1].inputs + read[1].test,
                       read[0].train + read[0].inputs + read[0].test):
    np.testing.assert_array_equal(got, want)
  assert ('4 absent periods (a week) in 2 of 2 series put back as empty cells; the rows '
          'of 1 series sorted by time') in read[1].notes[0]
  # The full file has none of it, so its series differ where the gaps are filled.
  whole = panel.load(csv_path=full, id_column='item', time_column='week',
                     target_column='sales', input_columns=('price',), horizon=2)
  assert not any('absent' in n for n in whole.notes)
  assert not np.array_equal(whole.train[0], read[1].train[0])


@pytest.mark.parametrize('after, advice', [
    (['2023-12-21'], "; give the history a row for '2023-12-20' with an empty target "
                     r"\(filled as a gap\), or future rows from '2023-12-20'$"),
    (['2023-12-23'], "; give the history rows for '2023-12-20' to '2023-12-22' with an "
                     "empty target"),
    (['2023-12-19'], r"\(a day\) after its history's last time '2023-12-19'; give future "
                     "rows from '2023-12-20'$")])
def test_rows_that_do_not_follow_a_history_are_refused_saying_what_to_give(after, advice):
  """A history that lacks its last day (future rows that start late) can take rows with
  an empty target, or the rows can start earlier; rows that start early, only the latter."""
  before = ['2023-12-17', '2023-12-18', '2023-12-19']
  with pytest.raises(InputError, match=r"^future_inputs: series 'M023' of the DataFrame "
                     rf"starts at '{after[0]}', not the step .*" + advice):
    follows.check_follows(['M000', 'M023'], [before + ['2023-12-20'], before],
                          [['2023-12-21'], after], path='the DataFrame',
                          flag='future_inputs', last="its history's last time",
                          rows='future rows', fill='the history')
  with pytest.raises(InputError, match=r"after its history's last time '2023-12-19'; give "
                     r"future rows from '2023-12-20'$"):  # Without `fill`: no row to add.
    follows.check_follows(['M023'], [before], [['2023-12-21']], path='f.csv', flag='x',
                          last="its history's last time", rows='future rows')
  month = ['2020-01-31', '2020-02-29']
  with pytest.raises(InputError, match=r"give future rows from '2020-03-31'$"):
    follows.check_follows([None], [month], [['2020-05-31']], path='f.csv', flag='x',
                          rows='future rows')


@pytest.mark.parametrize('first', ['2025-06-30', '2025-07-07'])
def test_rows_off_a_weekly_histories_grid_are_said_to_be(first):
  """A plan dated by Mondays after a history of Sundays (a planning system's weeks): the
  error says its first row lies off the history's grid and names the grid's next time,
  never a span of rows to add that runs backwards or lands on a Monday."""
  before = ['2025-06-08', '2025-06-15', '2025-06-22']
  with pytest.raises(InputError) as raised:
    follows.check_follows(['P000'], [before], [[first]], path='plan.csv',
                          flag='--future_path', last="its history's last time",
                          rows='future rows', fill='--csv_path=<the sweep\'s file>')
  assert str(raised.value) == (
      f"--future_path: series 'P000' of plan.csv starts at '{first}', not the step (a "
      "week) after its history's last time '2025-06-22' and lies off its grid of times a "
      "week apart (the next is '2025-06-29'); give future rows from '2025-06-29'")


def test_rows_after_a_history_are_held_to_the_historys_step_not_their_own():
  """The step is the history's: monthly rows after a daily history are refused as such
  (they were read one a day, or the step was taken as a month and the advice named an
  odd date), and a history's next day is advised in days."""
  days = [f'2024-01-{d:02d}' for d in range(1, 32)]
  follow = lambda before, after: follows.check_follows(
      ['a'], [before], [after], path='plan.csv', flag='--future_path',
      last="its history's last time", rows='future rows', fill='--csv_path h.csv')
  with pytest.raises(InputError, match=r"^--future_path: series 'a' of plan.csv has "
                     r"'2024-03-01' after '2024-02-01', where the step is a day \(the step "
                     r"up to its history's last time '2024-01-31'\): give rows a day apart$"):
    follow(days, ['2024-02-01', '2024-03-01', '2024-04-01'])
  with pytest.raises(InputError, match=r"has '2024-02-29' after '2024-01-31'"):
    follow(days[-5:], ['2024-01-31', '2024-02-29', '2024-03-31'])
  with pytest.raises(InputError, match=r"starts at '2024-03-31', not the step \(a day\) "
                     r"after its history's last time '2024-01-31'; give --csv_path h.csv rows "
                     r"for '2024-02-01' to '2024-03-30' .*or future rows from '2024-02-01'$"):
    follow(days[-2:], ['2024-03-31'])
  follow(days, ['2024-02-01', '2024-02-02'])


def test_rows_aligned_to_the_calendar_after_a_history_that_ends_early_name_fill_zero():
  """A product whose last day is absent from a panel read without --fill=zero ends a day
  early, so a plan starting after the panel's last day is refused: the message names
  --fill=zero, which runs every series on to that day (and counts such series); where
  the series ends with the panel, or with --fill=zero already, it does not."""
  full = ['2023-12-18', '2023-12-19', '2023-12-20']
  ids, before = ['a', 'b', 'c'], [full, full[:2], full[:2]]
  follow = lambda after, zero: follows.check_follows(
      ids, before, after, path='plan.csv', flag='--future_path',
      last="its history's last time", rows='future rows', fill='--csv_path h.csv', zero=zero)
  plan = [['2023-12-21']] * 3
  with pytest.raises(InputError, match=r"^--future_path: series 'b' of plan.csv starts at "
                     r"'2023-12-21'.* or future rows from '2023-12-20' \(2 series end before "
                     r"the panel's last time '2023-12-20': a sweep with --fill=zero reads a "
                     r"series' absent periods as 0 and runs every series on to that time\)$"):
    follow(plan, True)
  with pytest.raises(InputError, match=r"or future rows from '2023-12-20'$"):
    follow(plan, False)
  with pytest.raises(InputError, match=r"or future rows from '2023-12-20'$"):  # Not aligned.
    follow([['2023-12-21'], ['2023-12-22'], ['2023-12-22']], True)


@pytest.mark.parametrize('first, message', [
    (10, None), (11, "starts at '2020-12', not the step (a month) after its last train time "
                     "'2020-10'"), (9, "starts at '2020-10'")])
def test_a_given_test_part_starts_the_step_after_its_train_part(tmp_path, first, message):
  month = lambda i: str(np.datetime64('2020-01') + i)
  train = _write(tmp_path / 'train.csv', [[k, month(i), str(i)] for k in 'ab'
                                          for i in range(10)], ['id', 't', 'y'])
  test = _write(tmp_path / 'test.csv', [[k, month(i), str(i)] for k, start in (('a', 10),
                                        ('b', first)) for i in range(start, start + 2)],
                ['id', 't', 'y'])
  load = lambda: panel.load(csv_path=train, test_path=test, id_column='id', time_column='t',
                            target_column='y', horizon=2)
  if message is None:
    np.testing.assert_array_equal(load().test, [[10, 11], [10, 11]])
  else:
    with pytest.raises(InputError, match=r"^--test_path: series 'b' of .*test\.csv ") as e:
      load()
    assert message in str(e.value)


def test_fill_zero_makes_the_targets_gaps_0_and_interpolates_the_inputs(tmp_path):
  """--fill=zero: a sales export's absent weeks (and its empty cells) sold nothing."""
  header, gone = ['item', 'week', 'sales', 'price'], {3, 4, 9, 16}
  kept = _write(tmp_path / 'kept.csv', [r for i, r in enumerate(_shop()) if i not in gone],
                header)
  # b's rows stop 3 weeks before a's: under --fill=zero, 3 weeks without sales.
  after = [['b', str(np.datetime64('2023-01-02') + 7 * t), '0', ''] for t in (11, 12, 13)]
  zeros = _write(tmp_path / 'zeros.csv', [[*r[:2], '0' if i in gone or r[2] == '' else r[2],
                                          '' if i in gone else r[3]]
                                         for i, r in enumerate(_shop())] + after, header)
  read = [panel.load(csv_path=p, id_column='item', time_column='week', target_column='sales',
                     input_columns=('price',), horizon=2, fill=f)
          for p, f in ((kept, 'zero'), (zeros, 'linear'), (kept, 'linear'))]
  for got, want in zip(read[0].train + read[0].inputs, read[1].train + read[1].inputs):
    np.testing.assert_array_equal(got, want)
  assert read[0].train[0][[3, 4, 5, 9]].tolist() == [0, 0, 0, 0]
  assert read[0].test[1].tolist() == [0, 0] and read[0].times[1][-1] == read[0].times[0][-1]
  assert '1 series that end earlier run on, empty, to the last time' in read[0].notes[0]
  assert (read[2].train[0][[3, 4, 5, 9]] > 0).all()  # Interpolated, as before,
  assert len(read[2].train[1]) + 2 == 11  # and b ends where its rows do.
  # A saved panel model fills a history's gaps as its sweep did.
  transform = {'fill': 'zero', 'input_columns': [], 'future_columns': []}
  ids, values, _, _ = panel_histories.panel_histories(transform, {'a': [1., np.nan, 3.]})
  assert ids == ['a'] and values[0].tolist() == [1, 0, 3]
  _, values, _, _ = panel_histories.panel_histories({**transform, 'fill': 'linear'},
                                                    {'a': [1., np.nan, 3.]})
  assert values[0].tolist() == [1, 2, 3]
  # Filled cells are said; so are rows after a history's last value (a plan appended
  # to a history, say), which move each forecast's start.
  notes = []
  panel_histories.panel_histories(transform, {'a': [1., np.nan, 3.], 'b': [1., 2., np.nan,
                                                                        np.nan]}, notes=notes)
  assert notes == [
      '3 empty cells of history filled, as the sweep filled its data: 3 of the target '
      'with 0',
      "history: 1 series ends with rows without a target (e.g. 'b': its last 2), filled "
      'with 0: each forecast starts after them']
  notes = []  # A model with input columns: rows of planned inputs belong elsewhere.
  panel_histories.panel_histories({**transform, 'input_columns': ['price']},
                                  {'b': [[1., 5.], [2., 5.], [np.nan, 6.]]}, notes=notes)
  assert notes[-1].endswith("filled with 0: each forecast starts after them; where those "
                            'rows are a plan of the inputs ahead, give them in future_inputs '
                            '(--future_path) instead')


def test_the_grid_note_counts_only_the_series_the_sweep_keeps(tmp_path):
  """A product launched within the last horizon (3 weeks, one absent) is left out as too
  short: the note of absent periods put back (and of series run on to the last time)
  counts the sweep's series, not it."""
  header = ['item', 'week', 'sales', 'price']
  new = [['c', str(np.datetime64('2023-01-02') + 7 * t), '1', '2'] for t in (11, 13)]
  path = _write(tmp_path / 'new.csv', _shop(drop={3}) + new, header)
  for fill, said in (('zero', '--time_column \'week\' of .*new.csv: 4 absent periods '
                              r'\(a week\) in 2 of 2 series put back as empty cells; 1 series '
                              'that end earlier run on, empty, to the last time; '),
                     ('linear', r"--time_column 'week' of .*new.csv: 1 absent period \(a "
                                r"week\) in 1 of 2 series put back as empty cells; ")):
    said += r"--csv_path: .*new.csv: its column \['price'\] is not read \(--input_columns"
    read = panel.load(csv_path=path, id_column='item', time_column='week',
                      target_column='sales', horizon=3, fill=fill)
    assert read.ids == ('a', 'b') and read.left_out == ('c',)
    assert re.match(said, read.notes[0]), read.notes[0]


def test_a_single_series_without_rows_reads_as_one_with_empty_cells(tmp_path):
  months = [str(np.datetime64('2019-01') + t) for t in range(40)]
  values = [f'{100 + 10 * np.sin(t) + t:.3f}' for t in range(40)]
  gaps = [[m, '' if t in (11, 12, 30) else v] for t, (m, v) in enumerate(zip(months, values))]
  kept = [r for t, r in enumerate(gaps) if t not in (11, 12, 30)][::-1]
  paths = [_write(tmp_path / f'{k}.csv', rows, ['month', 'y'])
           for k, rows in (('gaps', gaps), ('kept', kept))]
  read = [forecast.load(csv_path=p, time_column='month', target_columns=('y',),
                        lookback=6, horizon=2, classical_baselines=False) for p in paths]
  for split in ('train', 'val', 'test'):
    np.testing.assert_array_equal(read[0].x[split], read[1].x[split])
  assert read[0].num_filled == read[1].num_filled == 3
  assert read[1].season == 12
  assert any('3 absent periods (a month) put back' in n and 'rows sorted' in n
             for n in read[1].notes)
  assert forecast.read_series(paths[1], ('y',), time_column='month')[2] == months
  zero = forecast.load(csv_path=paths[1], time_column='month', target_columns=('y',),
                       lookback=6, horizon=2, classical_baselines=False, fill='zero')
  assert zero.series[[11, 12, 30], 0].tolist() == [0, 0, 0]
  assert (read[1].series[[11, 12, 30], 0] > 90).all()


def test_business_days_have_a_season_of_five_and_continue_past_the_weekend():
  days = [str(d) for d in np.busday_offset('2024-01-01', np.arange(12))]
  assert times.infer_season(days, 'day')[0] == 5
  assert days[-1] == '2024-01-16'
  assert time_grid.future_times([days[:10]], 3) == [['2024-01-15', '2024-01-16',
                                                     '2024-01-17']]
  calendar = [str(np.datetime64('2024-01-01') + t) for t in range(10)]  # With weekends.
  assert times.infer_season(calendar, 'day')[0] == 7
  assert time_grid.future_times([calendar], 2) == [['2024-01-11', '2024-01-12']]


@pytest.mark.parametrize('cells, want', [
    # Monthly dates on the first, on month ends, on the 30th (February's and April's
    # last days are not read as month ends), on the 28th.
    ([['2018-01-01', '2018-02-01', '2021-04-01']], [['2021-05-01', '2021-06-01', '2021-07-01']]),
    ([['2021-02-28', '2021-03-31', '2021-04-30']], [['2021-05-31', '2021-06-30', '2021-07-31']]),
    ([['2021-01-30', '2021-02-28', '2021-03-30', '2021-04-30']],
     [['2021-05-30', '2021-06-30', '2021-07-30']]),
    ([['2021-01-28', '2021-02-28']], [['2021-03-28', '2021-04-28', '2021-05-28']]),
    # Quarters in each series' own writing, a one-row series on the panel's step.
    ([['1980-Q1', '1980-Q2'], ['1990 Q4']], [['1980-Q3', '1980-Q4', '1981-Q1'],
                                            ['1991 Q1', '1991 Q2', '1991 Q3']]),
    ([['2021M11', '2021M12']], [['2022M01', '2022M02', '2022M03']]),
    ([['1990', '1991']], [['1992', '1993', '1994']]),
    ([['2019-01-01', '2020-01-01']], [['2021-01-01', '2022-01-01', '2023-01-01']]),
    ([['1994-07-01 00:00:00', '1994-08-01 00:00:00']],
     [['1994-09-01 00:00:00', '1994-10-01 00:00:00', '1994-11-01 00:00:00']]),
    ([['2024-01-01 22:00', '2024-01-01 23:00']],
     [['2024-01-02 00:00', '2024-01-02 01:00', '2024-01-02 02:00']]),
    # Weekly, each series on its own weekday; the one-row series weekly too.
    ([['2021-01-04', '2021-01-11'], ['2021-01-06']],
     [['2021-01-18', '2021-01-25', '2021-02-01'], ['2021-01-13', '2021-01-20', '2021-01-27']]),
    ([['7', '8'], ['3']], [['9', '10', '11'], ['4', '5', '6']]),
    # Nothing to continue: not times, one time in all, no time.
    ([['a', 'b']], [['+1', '+2', '+3']]),
    ([['2020-01'], ['2020-03']], [['+1', '+2', '+3'], ['+1', '+2', '+3']]),
    ([['2020-01', '2020-02'], []], [['2020-03', '2020-04', '2020-05'], ['+1', '+2', '+3']]),
])
def test_future_times_continue_each_series_on_the_panels_step_in_its_own_writing(cells, want):
  assert time_grid.future_times(cells, 3) == want


def test_rows_not_read_as_times_after_times_are_refused_not_read_in_file_order(tmp_path):
  """A plan dated 01/07/2024, shuffled or two days late, after ISO histories: refused,
  naming the file, the column, a bad cell and the histories' writing; neither read as
  times: nothing to check."""
  before = [['2024-06-29', '2024-06-30'], ['2024-06-29', '2024-06-30']]
  after = [['01/07/2024', '02/07/2024'], ['02/07/2024', '01/07/2024']]
  with pytest.raises(InputError, match=(
      r"^--future_path: series 'a' of plan\.csv: its column 'date' holds '01/07/2024', not "
      r"read as a time, where its history's last time '2024-06-30' is an ISO date; ")):
    follows.check_follows(['a', 'b'], before, after, path='plan.csv', flag='--future_path',
                          column='date', last="its history's last time")
  with pytest.raises(InputError, match=r"holds 'x3', not read as a time, where its last "
                     r"train time '2' is a step number"):
    follows.check_follows([None], [['1', '2']], [['x3']], path='t.csv', flag='--test_path')
  follows.check_follows(['a'], [['30/06/2024']], [['01/07/2024']], path='plan.csv',
                        flag='--future_path', column='date')
  # A given test part so dated is refused as well (as a file of dates in another order).
  train = _write(tmp_path / 'train.csv', [[k, f'2024-06-{d:02d}', str(d)] for k in 'ab'
                                          for d in range(1, 31)], ['id', 't', 'y'])
  test = _write(tmp_path / 'test.csv', [[k, f'{d:02d}/07/2024', '1'] for k in 'ab'
                                        for d in (2, 1)], ['id', 't', 'y'])
  with pytest.raises(InputError, match=r"^--time_column 't' of .*test\.csv holds dates "
                     r"written as '02/07/2024', not read as times"):
    panel.load(csv_path=train, test_path=test, id_column='id', time_column='t',
               target_column='y', horizon=2)


MONTHS = [[f'2020-{m:02d}-01' for m in range(1, 13)]]


@pytest.mark.parametrize('cells, data, said', [
    # Dated at another step than the model's data: refused, both steps named.
    ([['2023-01-02', '2023-01-09', '2023-01-16']], MONTHS,
     "its rows step by a week; the model's data stepped by a month "),
    (MONTHS, [['2020-01', '2020-04', '2020-07']],
     "its rows step by a month; the model's data stepped by a quarter "),
    # Dates beside step numbers: a note, not a refusal (each row read as a step).
    ([['2023-01-02', '2023-01-09']], [['1', '2', '3']],
     "its rows are dated, a week apart, where the model's data were step numbers"),
    ([['7', '8']], MONTHS, "its times are step numbers, where the model's data were dates "
                           'a month apart: each row is read as a month'),
    # Alike; trading days beside calendar days; no step to read; cells not times.
    ([['2021-03', '2021-04'], ['2021-06']], MONTHS, ''),
    ([['1', '3', '5']], [['10', '11']], ''),
    ([['2024-01-02', '2024-01-03', '2024-01-04']],
     [['2024-01-04', '2024-01-05', '2024-01-08', '2024-01-09']], ''),
    ([['2023-01-02'], ['2023-01-09']], MONTHS, ''),
    ([['a', 'b']], MONTHS, ''),
])
def test_histories_dated_at_another_step_than_the_models_data_are_refused(cells, data, said):
  if said.endswith(' '):
    with pytest.raises(InputError, match='^histories: ' + re.escape(said)):
      periods.check_step(cells, data, what='histories')
  else:
    note = periods.check_step(cells, data, what='histories')
    assert note.startswith(f'histories: {said}') if said else note == ''


def test_future_rows_without_the_historys_utc_offset_are_said_to_be_read_as_utc():
  """Future rows in local time without an offset after a history written with one: their
  first row, the hour after on the clock, is two hours after in UTC; the refusal said it
  was not the step after without saying why."""
  before = [['2024-12-29T22:00+01:00', '2024-12-29T23:00+01:00']]
  with pytest.raises(InputError, match=re.escape(
      "starts at '2024-12-30 00:00', not the step (an hour) after its last train time "
      "'2024-12-29T23:00+01:00' ('2024-12-30 00:00' has no UTC offset and is read as UTC, "
      "'2024-12-29T23:00+01:00' has one: write both with their offset, or both in UTC)")):
    follows.check_follows([None], before, [['2024-12-30 00:00', '2024-12-30 01:00']],
                          path='f.csv', flag='--future_path')
  with pytest.raises(InputError) as err:  # Both with offsets: no such clause.
    follows.check_follows([None], before, [['2024-12-30T01:00+01:00']], path='f.csv',
                          flag='--future_path')
  assert 'UTC' not in str(err.value)
  follows.check_follows([None], before, [['2024-12-29 23:00']], path='f.csv',
                        flag='--future_path')  # The step after in UTC: read.


@pytest.mark.parametrize('cells', [
    [['2024-01-07', '2024-01-14', '2024-01-28'], ['2023-12-31']],  # Plain dates: at once,
    [['2024-01-07', '2024-1-14'], ['2023-12-31']],  # others a cell at a time,
    [['2024-01-07', '2024-01-14 '], ['2023-12-31']],
    [['2024-01-07', '2024-02-30']],  # a date that is none: not a time,
    [['2024-01-07T00:00:00-0500', '2024-01-14T00:00:00-0500']],
    [['2001-Q4', '2002-Q1']]])
def test_plain_dates_are_counted_at_once_as_each_cell_parsed_counts_them(cells, monkeypatch):
  """3 million weekly cells took ~10 s a cell at a time: a column of plain YYYY-MM-DD
  dates is converted at once, and counts as column.parse counts each cell."""
  fast = periods.count(cells)
  parsed = []
  parse = times.parse
  monkeypatch.setattr(times, 'parse', lambda *a, **k: parsed.append(1) or parse(*a, **k))
  monkeypatch.setattr(periods, '_dates', lambda *a: None, raising=False)
  slow = periods.count(cells)
  assert fast[0] == slow[0] and (fast[1] is None) == (slow[1] is None)
  for f, s in zip(fast[1] or (), slow[1] or ()):
    np.testing.assert_array_equal(f, s)
  monkeypatch.undo()
  parsed.clear()
  monkeypatch.setattr(times, 'parse', lambda *a, **k: parsed.append(1) or parse(*a, **k))
  periods.count(cells)
  assert bool(parsed) == (cells[0][1] != '2024-01-14')
