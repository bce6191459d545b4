"""Panels: long CSVs of many series, their windows, and the panel task's scores."""

import dataclasses
import re

import jax
import numpy as np
import pytest

from rnnjax.data.scores import competition
from rnnjax.data import long_rows
from rnnjax.data import panel
from rnnjax.data.windows import panel_windows
from rnnjax.data.windows import series_scales
from rnnjax.data import task_data
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.results import files


def _write(path, series, start=1):
  """A long CSV `unique_id,ds,y` of {id: values} (None: an empty cell)."""
  lines = ['unique_id,ds,y']
  for key, values in series.items():
    lines += [f'{key},{start + t},{"" if v is None else v}' for t, v in enumerate(values)]
  path.write_text('\n'.join(lines) + '\n')
  return str(path)


def _series(n, seed, level=100.0):
  rng = np.random.default_rng(seed)
  t = np.arange(n)
  return list(np.round(level + 0.5 * t + 5 * np.sin(2 * np.pi * t / 4) +
                       rng.normal(0, 1, n), 3))


@pytest.fixture
def long_csv(tmp_path):
  series = {'a': _series(30, 0), 'b': _series(24, 1, 50.0), 'c': _series(7, 2, 10.0)}
  series['a'][5] = None  # A gap, filled within its series.
  return _write(tmp_path / 'train.csv', series), series


def test_a_long_csv_reads_per_series_fills_gaps_and_holds_out_the_last_horizon(long_csv):
  path, series = long_csv
  p = panel.load(csv_path=path, id_column='unique_id', time_column='ds',
                 target_column='y', horizon=4)
  assert p.ids == ('a', 'b', 'c') and p.num_filled == 1
  assert [len(v) for v in p.train] == [26, 20, 3]
  np.testing.assert_allclose(p.test[1], series['b'][-4:])
  a = np.asarray([np.nan if v is None else v for v in series['a']])
  assert p.train[0][5] == pytest.approx((a[4] + a[6]) / 2)  # Filled in its own series.
  assert p.times[1][-1] == '20'  # Times stop where the train part does.


def test_an_export_of_sale_days_only_is_told_of_fill_zero(tmp_path):
  """Rows on sale days only: the days between are put back and, by default,
  interpolated between sales; where a quarter or more of the targets' cells were so
  filled, a note says --fill=zero reads them as 0 (none with it, nor for a few gaps)."""
  sold = {'a': [3, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 4, 1], 'b': [1, 1, 0, 2, 1, 0, 1, 1]}
  path = tmp_path / 'sales.csv'
  path.write_text('unique_id,ds,y\n' + ''.join(
      f'{k},{t + 1},{v}\n' for k, values in sold.items() for t, v in enumerate(values) if v))
  load = lambda fill: panel.load(csv_path=str(path), id_column='unique_id', time_column='ds',
                                 target_column='y', horizon=2, fill=fill)
  absent = sum(v == 0 for values in sold.values() for v in values)
  # 'a' ends on a sale: every absent day lies between two sales.
  assert (f'{absent} of the 22 target cells of {path} ({absent / 22:.0%}) were empty or '
          'without a row and are filled from the values around them: where a '
          'period without a row sold nothing (an export of the days or weeks with sales '
          'only), --fill=zero reads it as 0') in load('linear').notes
  zero = load('zero').notes
  assert not any('--fill=zero reads' in n for n in zero)
  # 'b' ends 6 days before 'a': with --fill=zero it runs on as 0s to day 14, and its
  # validation (11-12) and test part (13-14) hold no value given: said.
  # ('a''s validation, days 11-12 without a row, is 0 sold as any absent day: not said.)
  assert ("--fill=zero: 1 of 2 series ends before its test part and validation part "
          "(e.g. 'b', whose last value is at 8): its rows after it, to "
          "the panel's last time, are read as 0 sold, and those parts scored on them; where "
          "a series' rows stop because its export does, not its sales, --fill=linear "
          "scores the values given alone") in zero
  assert not any(n.startswith('--fill=zero:') for n in load('linear').notes)
  # With a test file too (its own notes added to it, not in its place).
  test = tmp_path / 'test.csv'
  test.write_text('unique_id,ds,y\n' + ''.join(
      f'{k},{len(values) + t},1\n' for k, values in sold.items() for t in (1, 2)))
  given = panel.load(csv_path=str(path), test_path=str(test), id_column='unique_id',
                     time_column='ds', target_column='y', horizon=2)
  assert any(n.startswith(f'{absent} of the 22 target cells') for n in given.notes), given.notes
  few = panel.load(csv_path=_write(tmp_path / 'few.csv', {'a': [3, None, 2, 1, 4, 2, 2, 1]}),
                   id_column='unique_id', time_column='ds', target_column='y', horizon=2)
  assert not any('--fill=zero' in n for n in few.notes)


def test_series_too_short_to_hold_out_a_test_part_are_left_out_and_named(tmp_path):
  # A shop's newest products (1, 3 and 4 weeks for a horizon of 4): left out with one
  # note naming them, not refused one product per run.
  series = {'a': _series(30, 0), 'new1': [5.0], 'b': _series(24, 1, 50.0),
            'new2': [1.0, 2.0, None], 'new3': [1.0, 2.0, 3.0, 4.0]}
  path = _write(tmp_path / 'train.csv', series)
  p = panel.load(csv_path=path, id_column='unique_id', time_column='ds', target_column='y',
                 horizon=4)
  assert p.ids == ('a', 'b') and [len(v) for v in p.train] == [26, 20]
  assert p.left_out == ('new1', 'new2', 'new3')  # Kept for predict to name them.
  assert p.num_filled == 0 and len(p.times) == 2  # new2's empty cell left out with it.
  assert (f"--horizon: 3 series of {path} with at most 4 points (too few to hold out 4 as "
          "test) left out, neither trained on nor scored: 'new1', 'new2', 'new3'; predict "
          '--csv_path forecasts them from what they have') in p.notes
  with pytest.raises(InputError, match=re.escape(
      f'--horizon: every series of {path} has at most 30 points, too few to hold out 30')):
    panel.load(csv_path=path, id_column='unique_id', time_column='ds', target_column='y',
               horizon=30)


def test_windows_follow_the_m_protocol_and_pad_short_series(long_csv):
  path, _ = long_csv
  p = panel.load(csv_path=path, id_column='unique_id', time_column='ds',
                 target_column='y', horizon=4)
  arrays, notes = panel_windows.windows(p, lookback=8, horizon=4, season=4)
  val, test = arrays['val'], arrays['test']
  # One validation and one test window per series; 'c' (3 points) cannot validate.
  np.testing.assert_array_equal(val['weight'], [1, 1, 0])
  assert notes[0] == ('1 series with at most 4 points before the test part: left out of '
                      'training and validation, forecast on test')
  # A fold's panel, cut back, ends at its origin: its notes say so, not "test".
  _, fold_notes = panel_windows.windows(panel.earlier(p, 1, 4), lookback=8, horizon=4,
                                        season=4, earlier=True)
  assert fold_notes[0].endswith('points before its origin: left out of its training and '
                                'validation'), fold_notes
  a = p.train[0]
  np.testing.assert_allclose(val['y'][0, :, 0], a[-4:], rtol=1e-6)
  np.testing.assert_allclose(val['x'][0, :, 0], a[-12:-4], rtol=1e-6)
  np.testing.assert_allclose(test['x'][0, :, 0], a[-8:], rtol=1e-6)
  np.testing.assert_allclose(test['y'][2, :, 0], p.test[2], rtol=1e-6)
  # 'c' is shorter than the lookback: left-padded with its first value.
  np.testing.assert_allclose(test['x'][2, :, 0], [p.train[2][0]] * 6 + list(p.train[2][1:]),
                             rtol=1e-6)
  # Training targets end before each series' validation origin; refit's reach the end.
  assert len(arrays['train']['x']) == (22 - 4) + (16 - 4)
  assert len(arrays['refit']['x']) == (26 - 4) + (20 - 4) + (3 - 4 + 1 if 3 >= 4 else 0)
  assert arrays['refit']['y'][21, -1, 0] == pytest.approx(a[-1], rel=1e-6)


def test_a_panel_refuses_bad_input_in_one_line(tmp_path, long_csv):
  path, series = long_csv
  with pytest.raises(InputError, match="^--id_column: .* has no column 'sku'"):
    panel.load(csv_path=path, id_column='sku', target_column='y', horizon=4)
  # Two id columns (a store's and a product's): how to make them one, in the line.
  with pytest.raises(InputError, match=r"^--id_column: .* has no column 'unique_id,ds'; a "
                     r'series is named by one column: join these into one, e.g. in pandas '
                     r"df = pd.read_csv\(path, dtype=str\); df\['id'\] = df\['unique_id'\] "
                     r"\+ '/' \+ df\['ds'\]; df.to_csv\('joined.csv', index=False\), then "
                     r'--csv_path=joined.csv --id_column=id$'):
    panel.load(csv_path=path, id_column='unique_id,ds', target_column='y', horizon=4)
  # One column in two roles: once each series of one row per time, silently.
  with pytest.raises(InputError, match="^--time_column: 'ds' is also --id_column; a "
                     'column has one role'):
    panel.load(csv_path=path, id_column='ds', time_column='ds', target_column='y', horizon=4)
  with pytest.raises(InputError, match="^--target_columns: 'unique_id' is also --id_column"):
    panel.load(csv_path=path, id_column='unique_id', target_column='unique_id', horizon=4)
  future = _write(tmp_path / 'test.csv', {'a': [1.0] * 4, 'b': [2.0] * 4})
  with pytest.raises(InputError, match="^--test_path: .* no rows for series 'c'"):
    panel.load(csv_path=path, test_path=future, id_column='unique_id', target_column='y',
               horizon=4)
  bad = _write(tmp_path / 'bad.csv', {'a': [1.0, 'x', 3.0]})
  with pytest.raises(InputError, match="line 3, column 'y': 'x' is not a number"):
    panel.load(csv_path=bad, id_column='unique_id', target_column='y', horizon=1)
  # --id_column left out: the series' times repeat, and the columns not read are named.
  with pytest.raises(InputError, match=r"^--time_column: .* has two rows at '1' \(column 'ds'\); "
                     r"a file of many series names their id column with --id_column \(columns "
                     r"not read: \['unique_id'\]\)$"):
    panel.load(csv_path=path, time_column='ds', target_column='y', horizon=4)
  # A product with no sales cell at all: nothing to fill from (not 'its last value').
  void = _write(tmp_path / 'void.csv', {'a': _series(12, 0), 'b': [None] * 12})
  with pytest.raises(InputError, match=r"^--csv_path: .*void.csv: 1 of 2 series has no target "
                     r"at all \(e.g. 'b': every target cell empty\); leave their rows out "):
    panel.load(csv_path=void, id_column='unique_id', target_column='y', horizon=2)
  with pytest.raises(InputError, match='^--horizon: every series of .* has at most 30 '):
    panel.load(csv_path=path, id_column='unique_id', target_column='y', horizon=30)


def test_a_caller_s_words_name_the_columns_after_its_flag(tmp_path, long_csv):
  """read_long names a column by the sweep's flag (FLAGS); a caller whose columns are not
  its flags' (predict's, a saved model's) gives its own words: the file's flag leads, its
  words follow, and the time grid's error advises reading the file without the column."""
  path, _ = long_csv
  words = {'id': 'their id', 'time': 'their time', 'target': 'their target',
           'input': 'their input', 'future': 'their plan'}
  read = lambda **kw: long_rows.read_long(path, flag='--x_path', **{
      'id_column': 'unique_id', 'time_column': 'ds', 'target_column': 'y', **kw})
  for role, column, given in (('target', 'y', {'target_column': 'sales'}),
                              ('future', 'promo', {'future_columns': ('promo',)}),
                              ('input', 'price', {'input_columns': ('price',)})):
    column = given.get('target_column', column)
    with pytest.raises(InputError, match=rf"^{long_rows.FLAGS[role]}: .*train.csv has no column "
                       rf"'{column}'; columns are \['unique_id', 'ds', 'y'\]$"):
      read(**given)
    with pytest.raises(InputError, match=rf"^--x_path: .*train.csv has no column '{column}'; "
                       rf"columns are \['unique_id', 'ds', 'y'\] \({words[role]}\)$"):
      read(names=words, **given)
  header, rows = long_rows.read_table(path, '--x_path')
  late = (header, rows + [['a', 'soon', '1']])
  with pytest.raises(InputError, match=r"^--x_path: series 'a' of .*train.csv has 'soon', .*"
                     r"or give the file without column 'ds' to read rows in file order$"):
    read(names=words, table=late)
  with pytest.raises(InputError, match=r"^--time_column: series 'a' .* or leave "
                     r"--time_column out to read rows in file order$"):
    read(table=late)
  # Read as one series: --id_column is advised to the sweep alone (predict has no such flag).
  one = lambda **kw: long_rows.read_long(path, flag='--csv_path', id_column='', time_column='',
                                     target_column='y', **kw)[-1]
  assert one() == (f"--csv_path: {path} is read as one series (no --id_column); its columns "
                   "['unique_id', 'ds'] are not read") and one(names=words) == ''


def test_a_held_out_test_part_without_a_target_is_refused(tmp_path):
  """A plan of promotions appended to the sweep's file, its sales left empty: the held-out
  test part of each series had no target, was filled with the last value and scored as
  sales (a panel of them ended in Naive2's ZeroDivisionError); now refused in one line.
  A test part with some targets is read, its empty cells marked (test_observed: not
  scored); --fill=zero's absent sales (0) are observations, as before."""
  planned = _write(tmp_path / 'planned.csv', {'a': _series(12, 0) + [None] * 3,
                                             'b': _series(12, 1)})
  with pytest.raises(InputError, match=r"^--csv_path: .*planned.csv: 1 of 2 series have no "
                     r"target in their last 3 rows, the test part held out \(e.g. 'a', "
                     r"from '13'\): filled with its last value, .* or give --test_path$"):
    panel.load(csv_path=planned, id_column='unique_id', time_column='ds', target_column='y',
               horizon=3)
  p = panel.load(csv_path=planned, id_column='unique_id', target_column='y', horizon=3,
                 fill='zero')
  assert p.test[0].tolist() == [0.0] * 3
  some = _write(tmp_path / 'some.csv', {'a': _series(13, 0) + [None] * 2,
                                       'b': _series(15, 1), 'c': _series(14, 2) + [None]})
  held = panel.load(csv_path=some, id_column='unique_id', target_column='y', horizon=3)
  assert held.test[0].tolist() == [_series(13, 0)[-1]] * 3
  # Filled as every gap is, and left out of the test scores: said.
  assert ("test: 3 empty target cell(s) in the last 3 points of 2 series (e.g. 'a') are "
          "left out of the test scores, the model's and every benchmark's (a series' score: "
          'the mean over its observed steps); filled (--fill=linear), they are history to '
          'forecasts from the end of the data') in held.notes
  assert [o.tolist() for o in held.test_observed] == [[True, False, False], [True] * 3,
                                                      [True, True, False]]
  zero = panel.load(csv_path=some, id_column='unique_id', target_column='y', horizon=3,
                    fill='zero')  # An absent sale is 0 sold: observed.
  assert not any('test scores' in n for n in zero.notes) and zero.test_observed is None
  whole = panel.load(csv_path=_write(tmp_path / 'whole.csv', {'a': _series(13, 0)}),
                     id_column='unique_id', target_column='y', horizon=3)
  assert whole.test_observed is None


def _gappy_series():
  """({id: values}, the empty cells of their last 4 <bool>[S, 4]) (ids 'a', 'b', 'c')."""
  full = {'a': _series(24, 0), 'b': _series(20, 1, 50.0), 'c': _series(22, 2, 10.0)}
  empty = np.zeros((3, 4), bool)
  empty[0, [1, 2]] = empty[2, 3] = True  # 'a' within its test part, 'c' at its end.
  return full, empty


def _gappy_test_part(tmp_path):
  """(a panel whose test parts held out have empty cells, the same panel with them given,
  the empty cells <bool>[S, 4]) as CSVs (ids 'a', 'b', 'c'; horizon 4)."""
  full, empty = _gappy_series()
  gappy = {k: v[:-4] + [None if e else x for x, e in zip(v[-4:], row)]
           for (k, v), row in zip(full.items(), empty)}
  return (_write(tmp_path / 'gappy.csv', gappy), _write(tmp_path / 'full.csv', full), empty)


@pytest.mark.parametrize('part', ['val', 'test'])
def test_a_gap_before_validation_or_a_held_out_test_part_reads_none_of_it(tmp_path, part):
  """Empty cells just before the validation part or a test part held out hold the last
  value before them, never one interpolated towards the part's first point: with other
  values from the part on, every point before it is the same."""
  start = 12 if part == 'val' else 16  # 20 points: validation 12..15, test 16..19.
  def load(later):
    a = _series(20, 0)
    a[start - 2] = a[start - 1] = None
    a[start:] = [later] * (20 - start)
    return panel.load(csv_path=_write(tmp_path / f'{later}.csv', {'a': a, 'b': _series(
        20, 1)}), id_column='unique_id', time_column='ds', target_column='y', horizon=4)
  low, high = load(0.5), load(500.0)
  np.testing.assert_array_equal(low.train[0][:start], high.train[0][:start])
  assert low.train[0][start - 2] == low.train[0][start - 1] == low.train[0][start - 3]
  assert low.test[0][-1] == 0.5 and high.test[0][-1] == 500.0


def test_a_folds_gap_before_its_validation_reads_none_of_it(tmp_path):
  """A fold (the train parts cut a horizon earlier): empty cells just before its
  validation part are filled again from the points before them, never towards that
  validation's (or a later) point; a fold of a complete panel is the cut as it was."""
  def fold(later):
    a = _series(20, 0)  # Train part 0..15 (test 16..19); the fold's validation 8..11.
    a[6] = a[7] = None
    a[8:] = [later] * 12
    whole = panel.load(csv_path=_write(tmp_path / f'{later}.csv', {'a': a, 'b': _series(
        20, 1)}), id_column='unique_id', time_column='ds', target_column='y', horizon=4)
    return whole, panel.earlier(whole, 1, 4)
  (whole, low), (_, high) = fold(0.5), fold(500.0)
  assert whole.train[0][7] != whole.train[0][5]  # The whole series': towards point 8.
  np.testing.assert_array_equal(low.train[0][:8], high.train[0][:8])
  assert low.train[0][6] == low.train[0][7] == low.train[0][5]
  np.testing.assert_array_equal(low.train[0][8:], [0.5] * 4)
  np.testing.assert_array_equal(low.train[1], whole.train[1][:12])  # Complete: as cut.


def test_a_folds_input_gap_before_its_validation_reads_none_of_it(tmp_path):
  """The same of input columns: a fold fills their empty cells just before its
  validation again from the rows before them (a price holds its last value, a 0/1 flag
  its last value), never towards a later row; complete columns are the cut as it was."""
  def fold(later):
    lines = ['unique_id,ds,y,price,promo']
    for key, seed in (('a', 0), ('b', 1)):
      y = _series(20, seed)
      for t in range(20):
        price = later if key == 'a' and t >= 8 else 10 + 0.1 * t
        gap = key == 'a' and t in (6, 7)
        promo = '' if gap else int(later > 1 and key == 'a' and t >= 8)
        lines.append(f'{key},{t + 1},{y[t]},{"" if gap else price},{promo}')
    (tmp_path / f'{later}.csv').write_text('\n'.join(lines) + '\n')
    whole = panel.load(csv_path=str(tmp_path / f'{later}.csv'), id_column='unique_id',
                       time_column='ds', target_column='y', input_columns=('price', 'promo'),
                       horizon=4)
    return whole, panel.earlier(whole, 1, 4)
  (whole, low), (_, high) = fold(0.5), fold(500.0)
  assert whole.flag_columns == ('promo',) and whole.observed is None
  assert whole.inputs[0][7, 0] != whole.inputs[0][5, 0]  # The whole series': towards row 8.
  np.testing.assert_array_equal(low.inputs[0][:8], high.inputs[0][:8])
  np.testing.assert_array_equal(low.inputs[0][6:8], np.repeat(low.inputs[0][5:6], 2, 0))
  assert low.inputs[0][8:, 0].tolist() == [0.5] * 4
  np.testing.assert_array_equal(low.inputs[1], whole.inputs[1][:12])  # Complete: as cut.
  assert [o.all() for o in low.inputs_observed] == [False, True]


def _naive_scores_observed_cells(data, split, last, empty):
  """The naive benchmark's `split` sMAPE and MASE (its forecast: each series' `last`
  value, repeated) are NumPy's over the observed cells alone (`empty` <bool>[S, h]: the
  others), not the filled ones' too; Naive2's reference (OWA) is its table's; and the
  task's scorer (the networks') scores the same forecasts alike."""
  part = data.arrays[split]
  y = part['y'][..., 0].astype(np.float64)
  naive = np.repeat(np.asarray(last, np.float32)[:, None], y.shape[1], axis=1)
  per_step = 200 * np.abs(y - naive) / (np.abs(y) + np.abs(naive))
  observed_only = np.mean([per_step[i][~empty[i]].mean() for i in range(len(y))])
  got = data.baselines['naive'][split]
  assert got['smape'] == pytest.approx(observed_only, rel=1e-12)
  assert abs(got['smape'] - per_step.mean()) > 1e-3  # Filled cells would count otherwise.
  mase = np.mean([np.abs(y - naive)[i][~empty[i]].mean() / part['mase_denom'][i]
                  for i in range(len(y))])
  assert got['mase'] == pytest.approx(mase, rel=1e-6)
  np.testing.assert_allclose(part['naive2'], [data.baselines['naive2'][split]['smape'],
                                              data.baselines['naive2'][split]['mase']],
                             rtol=1e-6)
  scored = tasks.TASKS['panel'].score(None, naive, part)
  assert float(scored['smape']) == pytest.approx(observed_only, rel=1e-5)
  assert float(scored['mase']) == pytest.approx(mase, rel=1e-5)


def test_empty_test_cells_are_left_out_of_every_benchmarks_scores(tmp_path):
  """A test part held out with empty cells: every benchmark's test scores are means over
  its observed cells (filled, the others would be scored as forecasts of a filled
  value), validation and a panel without empty cells scored as before."""
  gappy, full, empty = _gappy_test_part(tmp_path)
  options = dict(id_column='unique_id', time_column='ds', target_columns=('y',),
                 lookback=8, horizon=4, season=4, classical_baselines=False)
  data = task_data.load(task='panel', csv_path=gappy, **options)
  test = data.arrays['test']
  np.testing.assert_array_equal(test['observed'], ~empty)
  assert 'observed' not in data.arrays['val'] and 'observed' not in data.arrays['train']
  assert not any('scored as filled' in n for n in data.notes)
  whole = panel.load(csv_path=gappy, id_column='unique_id', target_column='y', horizon=4)
  _naive_scores_observed_cells(data, 'test', [v[-1] for v in whole.train], empty)
  # Validation has no empty cell: as the same panel's without them; test is not.
  same = task_data.load(task='panel', csv_path=full, **options)
  assert 'observed' not in same.arrays['test']
  assert data.baselines['naive']['val'] == same.baselines['naive']['val']
  assert data.baselines['naive']['test'] != same.baselines['naive']['test']


def test_a_given_test_file_s_empty_cells_are_left_out_of_every_benchmarks_scores(tmp_path):
  """A given test file with empty target cells (and a period without a row): filled on
  from each train part, left out of the test scores as a held-out part's are (once
  refused), said in one note; the same panel held out is scored alike."""
  full, empty = _gappy_series()
  empty[1, 0] = True  # 'b' at its start: between its train part's end and its next value.
  train = _write(tmp_path / 'train.csv', {k: v[:-4] for k, v in full.items()})
  lines = ['unique_id,ds,y']
  for (k, v), row in zip(full.items(), empty):
    lines += [f'{k},{len(v) - 3 + t},{"" if e else x}'
              for t, (x, e) in enumerate(zip(v[-4:], row)) if (k, t) != ('a', 2)]
  test = tmp_path / 'test.csv'  # 'a''s third test period has no row: put back, empty.
  test.write_text('\n'.join(lines) + '\n')
  p = panel.load(csv_path=train, test_path=str(test), id_column='unique_id',
                 time_column='ds', target_column='y', horizon=4)
  assert [o.tolist() for o in p.test_observed] == (~empty).tolist()
  assert p.notes == (
      f"--test_path: 4 empty target cell(s) (or periods without a row) in the first 4 rows "
      f"of 3 series of {test} (e.g. 'a') are left out of the test scores, the model's and "
      "every benchmark's (a series' score: the mean over its observed steps); filled "
      "(--fill=linear, on from its train part's last value), they are never scored",)
  a = full['a'][-4:]  # Interpolated between the values around them.
  np.testing.assert_allclose(p.test[0], [a[0], (2 * a[0] + a[3]) / 3,
                                         (a[0] + 2 * a[3]) / 3, a[3]])
  b = full['b'][-5:]  # From the train part's last value.
  assert p.test[1][0] == pytest.approx((b[0] + b[2]) / 2, rel=1e-12)
  options = dict(id_column='unique_id', time_column='ds', target_columns=('y',),
                 lookback=8, horizon=4, season=4, classical_baselines=False)
  data = task_data.load(task='panel', csv_path=train, test_path=str(test), **options)
  y = data.arrays['test']['y'][..., 0].astype(np.float64)
  naive = np.stack([np.full(4, v[-1]) for v in p.train]).astype(np.float32)
  per_step = 200 * np.abs(y - naive) / (np.abs(y) + np.abs(naive))
  got = data.baselines['naive']['test']['smape']
  assert got == pytest.approx(np.mean([per_step[i][~empty[i]].mean() for i in range(3)]),
                              rel=1e-12)
  assert abs(got - per_step.mean()) > 1e-3  # Filled cells would count otherwise.
  # The same cells held out: the same test part, filled alike, and the same scores.
  held = task_data.load(task='panel', csv_path=_write(tmp_path / 'held.csv', {
      k: v[:-4] + [None if e else x for x, e in zip(v[-4:], row)]
      for (k, v), row in zip(full.items(), empty)}), **options)
  np.testing.assert_array_equal(data.arrays['test']['y'], held.arrays['test']['y'])
  np.testing.assert_array_equal(data.arrays['test']['observed'],
                                held.arrays['test']['observed'])
  assert data.baselines == held.baselines


def test_a_given_test_part_without_a_target_is_refused_and_fill_zero_reads_it_as_0(
    tmp_path):
  """A series of a given test file without a target in its first --horizon rows has
  nothing to score: refused in one line naming it; --fill=zero reads an empty cell of a
  test file as 0 sold, scored, as a held-out part's."""
  train = _write(tmp_path / 'train.csv', {'a': _series(12, 0), 'b': _series(12, 1)})
  test = _write(tmp_path / 'test.csv', {'a': [5.0, None, 7.0], 'b': [None] * 3 + [4.0]},
                start=13)
  load = lambda fill: panel.load(csv_path=train, test_path=test, id_column='unique_id',
                                 time_column='ds', target_column='y', horizon=3, fill=fill)
  with pytest.raises(InputError, match=(
      f"^--test_path: {re.escape(test)}: series 'b' has no target in its first 3 rows "
      r"\(--horizon\), its test part \(1 of 2 series\): nothing to score; give the values, "
      'or leave such a series out of both files$')):
    load('linear')
  zero = load('zero')
  assert zero.test_observed is None
  assert [t.tolist() for t in zero.test] == [[5, 0, 7], [0, 0, 0]]
  assert zero.notes[-1] == (f"--test_path: 4 empty target cell(s) (or periods without a "
                            f"row) in the first 3 rows of 2 series of {test} (e.g. 'a') are "
                            'read as 0 (--fill=zero) and scored')


def test_ids_are_read_as_written(tmp_path):
  # ' a' and 'a' are two series (as pandas reads them), not one made of both.
  path = _write(tmp_path / 'ids.csv', {'a': [1.0] * 6, ' a': [1000.0] * 6, 'x y ': [5.0] * 6})
  p = panel.load(csv_path=path, id_column='unique_id', target_column='y', horizon=2)
  assert p.ids == ('a', ' a', 'x y ') and [len(v) for v in p.train] == [4, 4, 4]
  assert p.train[1].tolist() == [1000.0] * 4
  blank = _write(tmp_path / 'blank.csv', {'a': [1.0] * 3, '  ': [2.0] * 3})
  # Named by the flag that gave the file (a sweep's, or predict's --csv_path), not by the
  # sweep's --id_column, which predict has no flag for.
  with pytest.raises(InputError, match="^--csv_path: .*blank.csv: line 5: its id column "
                     "'unique_id' is empty$"):
    panel.load(csv_path=blank, id_column='unique_id', target_column='y', horizon=1)


def test_a_test_file_s_rows_not_scored_are_said(tmp_path):
  train = _write(tmp_path / 'train.csv', {'a': [1.0] * 6, 'b': [2.0] * 6})
  test = _write(tmp_path / 'test.csv', {'a': [3.0, 4, 5, 6, 7, 8], 'b': [5.0] * 4,
                                        'z': [9.0] * 4}, start=7)
  p = panel.load(csv_path=train, test_path=test, id_column='unique_id', time_column='ds',
                 target_column='y', horizon=4)
  assert p.ids == ('a', 'b') and p.test[0].tolist() == [3, 4, 5, 6]
  # A column none of the flags names: said (a shop's promotion flag it meant to read).
  assert not any('its column' in n for n in p.notes)
  shop = tmp_path / 'shop.csv'
  shop.write_text(open(train).read().replace('\n', ',0\n').replace(',y,0', ',y,promo'))
  assert (f"--csv_path: {shop}: its column ['promo'] is not read (--input_columns reads "
          'past values, --future_columns a plan known ahead)') in panel.load(
              csv_path=str(shop), id_column='unique_id', time_column='ds', target_column='y',
              horizon=4).notes
  # The same file without --id_column: one series, and the log says what was not read.
  one = panel.load(csv_path=train, target_column='y', horizon=4)
  assert len(one.ids) == 1 and one.notes[0] == (
      f"--csv_path: {train} is read as one series (no --id_column); its columns "
      "['unique_id', 'ds'] are not read")
  assert p.notes == (f"--test_path: 1 series of {test} not in the train file left out "
                     "(first 'z')", "--test_path: the first 4 points (--horizon) of each "
                     "series' test part are scored; 1 series has more, not read")


def test_series_without_a_naive_error_are_said_to_be_scaled_by_their_level(tmp_path):
  path = _write(tmp_path / 'flat.csv', {'a': [5.0] * 12, 'b': list(range(12))})
  p = panel.load(csv_path=path, id_column='unique_id', target_column='y', horizon=2)
  arrays, notes = panel_windows.windows(p, lookback=4, horizon=2, season=1)
  assert ("1 series with no in-sample naive error before the test part (one point, or "
          "constant: 'a'): their MASE is scaled by their mean |value| instead (1 if that "
          "is 0)") in notes
  np.testing.assert_allclose(arrays['test']['mase_denom'], [5.0, 1.0])
  assert ("1 series with no one-step change from their first non-zero value before the "
          "test part (never sold, one sale, or constant: 'a'): their RMSSE is scaled by the "
          "root mean square of those values (1 if never sold) instead") in notes
  np.testing.assert_allclose(arrays['test']['rmsse_denom'], [5.0, 1.0])


def test_the_bundled_panels_hold_their_competition_splits():
  for name, (season, horizon) in panel.PANELS.items():
    p = panel.load(dataset=name, horizon=horizon)
    assert all(len(t) == horizon for t in p.test), name
  m3 = panel.load(dataset='m3_other', horizon=8)
  assert len(m3.ids) == 174


def _cfg(normalization, loss='mae', horizon=4):
  return pop.TrainConfig(
      model=model.ModelConfig(cell='gru', input_size=1, hidden_size=8, num_layers=1,
                              output_size=horizon),
      optimizer='adam', batch_size=4, steps_per_chunk=1, task='panel',
      normalization=normalization, loss=loss)


def _split(rng, n=5, lookback=6, horizon=4):
  x = rng.uniform(50, 150, (n, lookback, 1)).astype(np.float32)
  y = rng.uniform(50, 150, (n, horizon, 1)).astype(np.float32)
  level = np.stack([x[:, :, 0].mean(1), x[:, :, 0].std(1)], 1).astype(np.float32)
  return {'x': x, 'y': y, 'level': level,
          'mase_denom': rng.uniform(1, 3, n).astype(np.float32),
          'rmsse_denom': rng.uniform(5, 30, n).astype(np.float32),
          'weight': np.asarray([1, 1, 0, 1, 1], np.float32),
          'naive2': np.asarray([10.0, 2.0], np.float32)}


@pytest.mark.parametrize('normalization', ['series', 'last', 'mean', 'robust', 'log'])
def test_a_normalised_member_forecasts_a_scaled_series_scaled(normalization):
  """Each normalisation divides out the window's scale (and shift): a series 10 times
  larger gets forecasts 10 times larger from the same parameters; without one, not."""
  rng = np.random.default_rng(0)
  cfg = _cfg(normalization)
  params = model.init_params(cfg.model, jax.random.key(0))
  split = _split(rng)
  big = dict(split, x=split['x'] * 10, level=split['level'] * 10)
  out = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, split))
  np.testing.assert_allclose(tasks.TASKS['panel'].outputs(cfg, params, big), out * 10,
                             rtol=2e-5)
  raw = _cfg('none')
  assert not np.allclose(tasks.TASKS['panel'].outputs(raw, params, big),
                         np.asarray(tasks.TASKS['panel'].outputs(raw, params, split)) * 10,
                         rtol=1e-3)


@pytest.mark.parametrize('normalization', ['robust', 'series'])
def test_a_flat_window_is_read_relative_to_its_level_not_in_units(normalization):
  # A series' first training window is all left padding: no step ('robust') and, for a
  # constant series, no spread ('series'). Divided by 1 it was read in the data's
  # units (M1 yearly: a fifth of the training windows, losses in the thousands); by
  # its mean |value| its forecasts scale with the data as every other window's do.
  rng = np.random.default_rng(2)
  cfg = _cfg(normalization)
  params = model.init_params(cfg.model, jax.random.key(0))
  split = _split(rng)
  split['x'][:2] = split['x'][:2, :1]
  big = dict(split, x=split['x'] * 10, level=split['level'] * 10, y=split['y'] * 10)
  for s, times in ((split, 1.0), (big, 10.0)):  # As the windows of constant series have.
    s['level'][:2] = [series_scales.level_of(np.full(12, v * times), 4)
                      for v in split['x'][:2, 0, 0]]
  out = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, split))
  np.testing.assert_allclose(tasks.TASKS['panel'].outputs(cfg, params, big), out * 10,
                             rtol=2e-5)
  loss = lambda s: float(tasks.TASKS['panel'].loss(cfg, params, None, s, None))
  np.testing.assert_allclose(loss(big), loss(split), rtol=2e-5)


def test_a_window_ending_on_0_is_scaled_by_its_mean_not_read_in_units():
  # 'last' divides by the last value; a week without sales would leave the window in
  # its units (a product selling ~50 a week was forecast ~5): scaled by its mean |value|,
  # its forecasts scale with it as every other window's do.
  rng = np.random.default_rng(1)
  cfg = _cfg('last')
  params = model.init_params(cfg.model, jax.random.key(0))
  split = _split(rng)
  split['x'][:2, -1] = 0.0
  big = dict(split, x=split['x'] * 10, level=split['level'] * 10)
  out = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, split))
  np.testing.assert_allclose(tasks.TASKS['panel'].outputs(cfg, params, big), out * 10,
                             rtol=2e-5)
  assert np.all(np.isfinite(out))


def test_a_series_that_never_went_below_0_is_not_forecast_below_0(long_csv):
  """A split's `floor`: 0 for a series whose known part never went below 0 (sales,
  counts), -inf otherwise; the forecasts are raised to it, the training loss is not."""
  rng = np.random.default_rng(5)
  cfg = _cfg('none')
  params = model.init_params(cfg.model, jax.random.key(2))
  split = _split(rng)
  split['x'] = rng.uniform(0, 1, split['x'].shape).astype(np.float32)
  free = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, split))
  assert (free < 0).any() and (free > 0).any()  # This member forecasts both signs.
  floor = np.asarray([0, -np.inf, 0, 0, -np.inf], np.float32)
  got = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, dict(split, floor=floor)))
  np.testing.assert_array_equal(got, np.maximum(free, floor[:, None]))
  loss = lambda s: float(tasks.TASKS['panel'].loss(cfg, params, None, s, None))
  assert loss(dict(split, floor=floor)) == loss(split)
  # The windows' floors: series 'b' dips below 0 before its validation origin.
  p = panel.load(csv_path=long_csv[0], id_column='unique_id', time_column='ds',
                 target_column='y', horizon=4)
  p = dataclasses.replace(p, train=(p.train[0], np.r_[p.train[1][:3], -1.0,
                                                      p.train[1][4:]], p.train[2]))
  arrays, _ = panel_windows.windows(p, lookback=8, horizon=4, season=4)
  for name in ('val', 'test'):
    np.testing.assert_array_equal(arrays[name]['floor'], [0, -np.inf, 0])
  inputs = panel_windows.forecast_inputs(p.train, lookback=8, horizon=4)
  np.testing.assert_array_equal(inputs['floor'], [0, -np.inf, 0])


def test_panel_scores_are_the_competitions_weighted_means():
  rng = np.random.default_rng(1)
  split = _split(rng)
  pred = rng.uniform(50, 150, (5, 4)).astype(np.float32)
  y = split['y'][..., 0].astype(np.float64)
  w = split['weight'] > 0
  smape = np.mean(200 * np.abs(pred - y) / (np.abs(pred) + np.abs(y)), axis=1)[w].mean()
  mase = (np.abs(pred - y).mean(1) / split['mase_denom'])[w].mean()
  got = tasks.TASKS['panel'].score(_cfg('last'), pred, split)
  assert float(got['smape']) == pytest.approx(smape, rel=1e-5)
  assert float(got['mase']) == pytest.approx(mase, rel=1e-5)
  assert float(got['owa']) == pytest.approx((smape / 10 + mase / 2) / 2, rel=1e-5)
  split.pop('rmsse_denom')
  assert 'rmsse' not in tasks.TASKS['panel'].score(_cfg('last'), pred, split)  # None given.
  split['rmsse_denom'] = rng.uniform(1, 30, 5).astype(np.float32)
  got = tasks.TASKS['panel'].score(_cfg('last'), pred, split)
  rmsse = competition.rmsse(y[w], pred[w], split['rmsse_denom'][w]).mean()
  assert float(got['rmsse']) == pytest.approx(rmsse, rel=1e-5)
  assert float(got['mase']) == pytest.approx(mase, rel=1e-5)


@pytest.mark.parametrize('masked', [False, True])
@pytest.mark.parametrize('loss', tasks.LOSSES)
def test_each_loss_is_its_definition_on_a_batch(loss, masked):
  """Each loss is NumPy's mean over the batch's target cells; with `observed` (empty
  targets, filled), over the cells it marks, and a filled target's value changes
  nothing."""
  rng = np.random.default_rng(2)
  cfg = _cfg('mean', loss)
  params = model.init_params(cfg.model, jax.random.key(1))
  batch = _split(rng)
  kept = np.ones(batch['y'].shape[:2], bool)
  if masked:
    kept = rng.uniform(size=kept.shape) > 0.4
    kept[0] = False  # A window of filled targets alone.
    batch['observed'] = kept
  pred = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, batch), np.float64)
  y = batch['y'][..., 0].astype(np.float64)
  v = batch['x'][..., 0].astype(np.float64)
  shift, scale = v.mean(1, keepdims=True), np.abs(v).mean(1, keepdims=True)
  cells = {'mse': ((pred - y) / scale) ** 2, 'mae': np.abs(pred - y) / scale,
           'smape': 200 * np.abs(pred - y) / (np.abs(pred) + np.abs(y)),
           'mase': np.abs(pred - y) / batch['mase_denom'][:, None],
           'rmsse': ((pred - y) / batch['rmsse_denom'][:, None]) ** 2}[loss]
  del shift  # Cancels out of the error in normalised units.
  got = tasks.TASKS['panel'].loss(cfg, params, None, batch, None)
  assert float(got) == pytest.approx(cells[kept].mean(), rel=1e-4)
  if masked:
    assert abs(cells[kept].mean() - cells.mean()) > 1e-3 * cells.mean()  # Not every cell.
    batch['y'] = np.where(kept[..., None], batch['y'], 1e3 * batch['y']).astype(np.float32)
    again = tasks.TASKS['panel'].loss(cfg, params, None, batch, None)
    assert float(again) == float(got)


def test_a_log_member_forecasts_the_exponential_and_trains_on_log_ratios():
  """'log': the window's logarithms less its last one's in, the exponential of the
  output times the last value out (so a constant readout forecasts e^b times the last
  value); its mae and mse are those of log(forecast / truth); a runaway readout is
  clipped to a finite forecast."""
  rng = np.random.default_rng(4)
  batch = _split(rng)
  last = batch['x'][:, -1, 0].astype(np.float64)
  for loss, power in (('mae', 1), ('mse', 2)):
    cfg = _cfg('log', loss)
    params = model.init_params(cfg.model, jax.random.key(2))
    pred = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, batch), np.float64)
    ratio = np.log(pred / batch['y'][..., 0])
    got = tasks.TASKS['panel'].loss(cfg, params, None, batch, None)
    assert float(got) == pytest.approx(np.mean(np.abs(ratio) ** power), rel=1e-4)
  silent = jax.tree_util.tree_map(np.zeros_like, params['head'])
  for bias, expected in ((0.3, np.exp(0.3)), (1e4, np.exp(tasks.panel.LOG_LIMIT))):
    head = dict(silent, b=np.full_like(silent['b'], bias))
    out = tasks.TASKS['panel'].outputs(cfg, dict(params, head=head), batch)
    np.testing.assert_allclose(out, last[:, None] * expected * np.ones((1, 4)), rtol=1e-5)


def test_log_members_refuse_a_panel_with_a_value_not_above_zero(tmp_path, long_csv):
  """In one line naming the flag, the series and where; the other normalisations
  take it."""
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  from rnnjax.search import spec as spec_lib  # pylint: disable=g-import-not-at-top
  _, series = long_csv
  series = dict(series, b=series['b'][:9] + [0.0] + series['b'][10:])
  path = _write(tmp_path / 'zero.csv', series)
  spec = spec_lib.SweepSpec(
      task='panel', csv_path=path, id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=4, lookback='8', classical_baselines=False,
      normalization='grid(robust,log)', hidden_size='8', batch_size='8', train_steps=2,
      eval_every=2)
  with pytest.raises(InputError, match=r"^--normalization: log needs values > 0, and "
                     r"series 'b' of .*zero.csv has 0 at 10; use last or robust"):
    prepare.prepare(spec)
  assert prepare.prepare(dataclasses.replace(spec, normalization='robust')).runs


def test_history_trains_on_the_newest_windows_of_each_series(long_csv):
  """`history` h: only windows whose targets end within each series' last h x horizon
  known points are drawn, every one of them, and never a fold's padding; refit counts
  back from the end of the whole train part."""
  path, _ = long_csv
  options = dict(csv_path=path, id_column='unique_id', time_column='ds',
                 target_columns=('y',), lookback=8, horizon=4, season=-1,
                 classical_baselines=False)
  data = task_data.load(task='panel', **options)
  p = panel.load(csv_path=path, id_column='unique_id', time_column='ds',
                 target_column='y', horizon=4)
  cfg = dataclasses.replace(_cfg('last'), batch_size=4000, history=1.5)  # The last 6.
  def drawn_ends(split):
    batch = tasks.TASKS['panel'].batch(cfg, split, jax.random.key(3))
    return set(np.round(np.asarray(batch['y'][:, -1, 0], np.float64), 2))
  newest = lambda ends: {round(float(v), 2) for v in ends[-6:]}
  # Validation origins: 22 of series a, 16 of b; c is too short to train on.
  assert drawn_ends(data.arrays['train']) == newest(p.train[0][:22]) | newest(p.train[1][:16])
  assert drawn_ends(data.arrays['refit']) == newest(p.train[0]) | newest(p.train[1])
  # Every window of a fold (history longer than any series), none of its padding.
  folds = task_data.same_shapes([task_data.load(task='panel', fold=f, folds=2, **options)
                                 for f in range(2)])
  train = folds[0].arrays['train']
  assert train['count'] < len(train['x'])
  cfg = dataclasses.replace(cfg, history=100.0)
  every = {round(float(v), 2) for v in train['y'][:train['count'], -1, 0]}
  assert drawn_ends(train) == every
  batch = tasks.TASKS['panel'].batch(cfg, train, jax.random.key(4))
  _, times = np.unique(np.asarray(batch['y'][:, -1, 0]), return_counts=True)
  assert times.max() < 2 * times.min()  # Uniformly: padding adds no draws of any window.
  from rnnjax.search import space  # pylint: disable=g-import-not-at-top
  with pytest.raises(InputError, match=r'^--history: 0.5 is invalid; expected 0, or a '
                     r'number >= 1 \(horizons\)$'):
    space.parse_axis('history', 'grid(0,0.5)')


def test_task_data_loads_a_users_panel_with_its_options_and_folds(long_csv):
  path, _ = long_csv
  options = dict(csv_path=path, id_column='unique_id', time_column='ds',
                 target_columns=('y',), lookback=8, horizon=4, season=-1,
                 classical_baselines=False)
  data = task_data.load(task='panel', **options)
  assert data.task == 'panel' and data.output_size == 4 and data.info['series'] == 3
  assert data.info['season'] == 0  # Whole numbers: no calendar to infer one from.
  assert {'naive', 'naive2'} <= set(data.baselines)
  assert data.baselines['naive2']['test']['owa'] == pytest.approx(1.0)
  np.testing.assert_allclose(data.arrays['test']['naive2'],
                             [data.baselines['naive2']['test']['smape'],
                              data.baselines['naive2']['test']['mase']], rtol=1e-6)
  folds = task_data.same_shapes([task_data.load(task='panel', fold=f, folds=2, **options)
                                 for f in range(2)])
  for split in ('train', 'val', 'test'):  # Every array: one program trains both folds.
    assert ({k: v.shape for k, v in folds[0].arrays[split].items()} ==
            {k: v.shape for k, v in folds[1].arrays[split].items()})
  assert folds[0].arrays['train']['count'] < folds[1].arrays['train']['count']
  with pytest.raises(InputError, match='^--val_size: a panel validates'):
    task_data.load(task='panel', val_size=3, **options)


def test_a_csv_loaded_for_each_lookback_is_parsed_once(tmp_path, monkeypatch):
  """A sweep loads its panel once per lookback (and fold), and again to save its model:
  on 30,000 weekly series each parse took about a minute. The same file's rows are
  parsed once; a changed file (same size) is read anew; a caller's copy is its own."""
  monkeypatch.setattr(long_rows, '_READ_CACHE', {}, raising=False)
  parsed, regularize = [], long_rows.time_grid.regularize
  monkeypatch.setattr(long_rows.time_grid, 'regularize',
                      lambda *a, **k: parsed.append(1) or regularize(*a, **k))
  path = _write(tmp_path / 'p.csv', {'a': _series(30, 0), 'b': _series(24, 1, 50.0)})
  options = dict(csv_path=path, id_column='unique_id', time_column='ds',
                 target_columns=('y',), horizon=4, season=-1, classical_baselines=False)
  datas = [task_data.load(task='panel', lookback=k, **options) for k in (8, 16)]
  assert len(parsed) == 1 and [d.seq_len for d in datas] == [8, 16]
  columns = dict(id_column='unique_id', time_column='ds', target_column='y')
  read = lambda: long_rows.read_long(path, flag='--csv_path', short=4, **columns)
  first = read()
  first[1][0][:] = -1.0
  assert read()[1][0][0] == _series(30, 0)[0] and len(parsed) == 1
  text = open(path).read()
  open(path, 'w').write(text.replace('\na,1,', '\na,1,9', 1)[:-1])  # Same size.
  assert read()[1][0][0] != _series(30, 0)[0] and len(parsed) == 2


@pytest.mark.parametrize('metric', ['mase', 'rmsse'])
def test_selection_keeps_ranks_and_chooses_by_the_validation_metric_named(tmp_path, long_csv,
                                                                          metric):
  """--selection=mase or rmsse (a shop's series with zeros): each member's best step, the
  ranking and the final model by that validation metric, not OWA."""
  import csv  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(
      task='panel', csv_path=long_csv[0], id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=4, lookback='8', classical_baselines=False,
      loss='smape', hidden_size='8', batch_size='8', learning_rate='grid(2e-2,3e-2,5e-2)',
      train_steps=60, eval_every=10, num_seeds=3, ensemble='greedy', ensemble_size=3,
      selection=metric)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert summary['selection'] == {'metric': metric, 'mode': 'min', 'named': True}
  assert summary['plotted'] == metric  # The figures draw what ranked, not OWA.
  # The progress and closing lines show it too, not sMAPE.
  lines = [l for entry in lines for l in entry.splitlines()]
  chunks = [l for l in lines if l.startswith('chunk ')]
  assert chunks and all(f' best val {metric} ' in l for l in chunks)
  closing = [l for l in lines if l.startswith(('single best: ', 'final model ('))]
  assert len(closing) == 2 and all(f' val {metric} ' in l for l in closing)
  assert not any('val smape' in l for l in chunks + closing)
  # The series the final model wins on are counted by it too, as predict picks by it.
  said = [l for l in lines if 'series_scores.csv' in l]
  assert len(said) == 1 and f"the final model's test {metric.upper()} is lower " in said[0]
  members = summary['members']
  chosen = {u: members[i]['val'][metric] for i, u in enumerate(members.uids.tolist())}
  # (On this VM, OWA ranks them otherwise.)
  assert [chosen[u] for u in summary['ranking']] == sorted(chosen.values())
  curves = {}
  with open(tmp_path / 'wd' / 'curves.csv', encoding='utf-8') as f:
    for row in csv.DictReader(f):
      if row['split'] == 'val':
        curves.setdefault(row['metric'], {}).setdefault(int(row['uid']), []).append(
            float(row['value']))
  for u, value in chosen.items():  # Each member kept the step of its lowest value (on this
    # VM, one member's is not the step of its lowest OWA, which OWA selection keeps).
    assert value == pytest.approx(min(curves[metric][u]), rel=1e-6)
  # The test table is ordered by it too (sMAPE would put a forecast of 0 first on sales).
  table = summary['test_table']
  assert all(r[metric] is not None for r in table)
  assert [r[metric] for r in table] == sorted(r[metric] for r in table)
  assert any(l.startswith('test, the competition') and l.endswith(f'best {metric} first:')
             for l in lines)


def test_a_panel_of_constant_series_ranks_by_smape_as_owa_is_undefined(tmp_path):
  """Naive2 forecasts every constant series exactly: OWA (over Naive2's sMAPE and MASE,
  0) is NaN or inf for every member, none ranked and the sweep ended without a final
  model or a word. The default selection becomes sMAPE, said in a note; --selection=owa
  is refused in one line."""
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  path = _write(tmp_path / 'flat.csv', {f's{i}': [float(v)] * 20
                                        for i, v in enumerate([1, 2, 5])})
  spec = sweep.SweepSpec(
      task='panel', csv_path=path, id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, lookback='8', classical_baselines=False,
      hidden_size='8', batch_size='8', learning_rate='grid(1e-3,1e-2)', train_steps=4,
      eval_every=2)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert summary['final'] is not None and len(summary['ranking']) == 2
  assert summary['selection']['metric'] == 'smape'
  assert sum('validation OWA is undefined' in l and 'by validation sMAPE instead' in l
             for l in lines) == 1
  with pytest.raises(InputError, match=r"^--selection=owa: validation OWA is undefined: "
                     r"Naive2 forecasts .*; give --selection=smape, mase or rmsse$"):
    sweep.run_sweep(dataclasses.replace(spec, selection='owa'), str(tmp_path / 'w2'),
                    log=lambda _: None)


def test_naive2_of_constants_float32_cannot_hold_is_exact(tmp_path):
  """Constant series of 0.1, 2.3 and 5.7 (no float32 holds them): Naive2 repeats each
  exactly, but was scored in float64 against float32 targets, an sMAPE of 1e-6 for which
  OWA was 1e5, not undefined, and no note; its forecasts are scored as float32 too."""
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  path = _write(tmp_path / 'flat.csv', {f's{i}': [v] * 20
                                        for i, v in enumerate([0.1, 2.3, 5.7])})
  data = task_data.load(task='panel', csv_path=path, id_column='unique_id',
                        time_column='ds', target_columns=('y',), lookback=8, horizon=4,
                        season=-1, classical_baselines=False)
  for split in ('val', 'test'):
    np.testing.assert_array_equal(data.arrays[split]['naive2'], [0, 0])
  spec = sweep.SweepSpec(task='panel', csv_path=path, id_column='unique_id',
                         time_column='ds', target_columns=('y',), horizon=4)
  assert prepare.defined_selection(spec, {(8, 0): data})[0].selection == 'smape'


def test_a_panel_sweep_ranks_by_owa_refits_and_tables_the_competition(tmp_path, long_csv):
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  path, series = long_csv
  spec = sweep.SweepSpec(
      task='panel', csv_path=path, id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=4, lookback='8', classical_baselines=False,
      normalization='grid(robust,last)', loss='mae', hidden_size='8', batch_size='8',
      train_steps=40, eval_every=20, num_seeds=2, ensemble='top', ensemble_size=4,
      combine='median', refit=1)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert summary['selection']['metric'] == 'owa'
  owa = [summary['members'][i]['val']['owa'] for i in range(len(summary['members']))]
  ranked = [summary['members'].uids.tolist().index(u) for u in summary['ranking']]
  assert [owa[i] for i in ranked] == sorted(owa)
  final = summary['final']
  assert final['kind'] == 'refit' and set(final['test']) == {'smape', 'mase', 'owa', 'rmsse'}
  rows = {r['method']: r for r in summary['test_table']}
  assert rows['naive2']['owa'] == pytest.approx(1.0)
  assert any(m.startswith('final: ') for m in rows)
  assert [r['smape'] for r in summary['test_table']] == sorted(
      r['smape'] for r in summary['test_table'])
  # Each series' scores, whose means are the table's: the final model and every benchmark.
  scores = {}
  with open(tmp_path / 'wd' / 'series_scores.csv', encoding='utf-8') as f:
    assert f.readline() == 'unique_id,method,smape,mase,rmsse\n'
    for line in f:
      key, method, *values = line.rstrip('\n').split(',')
      scores.setdefault(method, {})[key] = tuple(map(float, values))
  assert list(scores) == ['final', 'naive', 'naive2', 'seasonal_naive']
  for method, by_series in scores.items():
    assert list(by_series) == ['a', 'b', 'c']  # 'c' too: left out of validation only.
    means = np.mean(list(by_series.values()), axis=0)
    expected = final['test'] if method == 'final' else summary['baselines'][method]['test']
    np.testing.assert_allclose(means, [expected['smape'], expected['mase'], expected['rmsse']],
                               rtol=1e-4)
  beat = sum(scores['final'][k][1] < scores['naive2'][k][1] for k in 'abc')
  said = [l for l in lines if 'series_scores.csv' in l]
  assert len(said) == 1 and f"naive2's on {beat}, " in said[0] and said[0].endswith(
      ' of 3 series')
  # The test volume line: each method's forecasts summed, against the test part's sum.
  said = [l for l in lines if l.startswith('test volume')]
  actual = sum(sum(series[k][-4:]) for k in 'abc')
  assert len(said) == 1 and f'the actual {actual:.4g}: final ' in said[0], said
  # The mean differences said beside it are the file's.
  for name, column in (('MASE', 1), ('sMAPE', 0), ('RMSSE', 2)):
    said = [l for l in lines if l.startswith(f'test {name}, the final model minus')]
    assert len(said) == 1, lines
    mean = np.mean([scores['final'][k][column] - scores['naive2'][k][column]
                    for k in 'abc'])
    assert f'naive2 {mean:+.3g} [' in said[0], (mean, said[0])
    on_disk = files.read_json(str(tmp_path / 'wd' / 'summary.json'))['test_paired']
    scale = np.mean([abs(scores['naive2'][k][column]) for k in 'abc'])  # A mean near 0.
    assert on_disk[name.lower()]['naive2']['mean'] == pytest.approx(mean, rel=1e-4,
                                                                    abs=1e-5 * scale)


def test_paired_intervals_are_the_bootstrap_of_the_mean_difference():
  """On many series the interval is the normal one (mean +- 1.96 standard errors); a
  series without a finite score is left out; a constant difference has no width."""
  from rnnjax.results import series_scores  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(1)
  bench = rng.gamma(2.0, 1.0, 400)
  diff = rng.normal(0.1, 0.5, 400)
  final = bench + diff
  by_method = {'final': {'mase': np.append(final, np.nan)},
               'ets': {'mase': np.append(bench, 1.0)},
               'same_plus_one': {'mase': np.append(final - 1.0, 2.0)}}
  got = series_scores.paired_intervals(by_method)
  mean, low, high = got['ets']
  se = diff.std(ddof=1) / np.sqrt(len(diff))
  assert mean == pytest.approx(diff.mean())
  assert low == pytest.approx(mean - 1.96 * se, abs=0.15 * 1.96 * se)
  assert high == pytest.approx(mean + 1.96 * se, abs=0.15 * 1.96 * se)
  assert got['same_plus_one'] == pytest.approx((1.0, 1.0, 1.0))
  assert series_scores.paired_intervals(by_method) == got  # Seeded.
  assert (f'ets {mean:+.3g} [{low:+.3g}, {high:+.3g}], same_plus_one +1 [+1, +1]'
          in series_scores.describe_differences(got))


def test_one_series_has_no_paired_interval():
  """A panel of one (one hourly series with a holiday plan) printed naive -1.85 [-1.85,
  -1.85]: resampling one series gives it back every time, an interval of no width."""
  from rnnjax.results import series_scores  # pylint: disable=g-import-not-at-top
  by_method = {'final': {'mase': np.array([0.35, np.nan])},
               'naive': {'mase': np.array([2.2, 1.0])}, 'ets': {'mase': np.array([np.nan, 1.0])}}
  got = series_scores.paired_intervals(by_method)
  assert got['naive'][0] == pytest.approx(-1.85)
  assert np.isnan(got['naive'][1:]).all() and np.isnan(got['ets']).all()
  assert series_scores.describe_differences(got).endswith(
      '(mean over series; 95 % paired bootstrap interval): naive -1.85 (no interval: one '
      'series), ets nan')

def test_statistical_benchmarks_are_read_back_from_the_cache(tmp_path, monkeypatch):
  """The fits (statistical.fit, tested in test_statistical.py) run once per series:
  counted here with a stand-in that forecasts each series' mean. Each series is cached
  as soon as it is fitted, so fits stopped part-way keep what they did."""
  pytest.importorskip('statsforecast')  # The cache keys on its version.
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  from rnnjax.data import statistical  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('RNNJAX_BASELINE_CACHE_DIR', str(tmp_path / 'cache'))
  fits, stop_after = [], [None]

  def fit(parts, h, season, methods, n_jobs=None, ids=None, known=None, on_fit=None,
          report=None):
    del season, n_jobs, ids, report
    todo = [i for i in range(len(parts)) if i not in known]
    fits.append(len(todo))
    out = {m: np.stack([np.full(h, p.mean() + k) for p in parts])
           for k, m in enumerate(methods)}
    for n, i in enumerate(todo):
      if n == stop_after[0]:
        raise KeyboardInterrupt  # As a stop signal's exception, part-way.
      on_fit(i, {m: out[m][i] for m in methods})
    return out, ('a note',)

  monkeypatch.setattr(statistical, 'fit', fit)
  monkeypatch.setattr(panel_baselines, '_LAST_FITS', {})

  def fit_anew(*args):  # This process's last fits forgotten: the cache on disk serves.
    panel_baselines._LAST_FITS.clear()
    return panel_baselines.statistical(*args)
  parts = [np.asarray(_series(n, seed)) for n, seed in ((20, 0), (16, 1), (12, 2))]
  fitted, notes = fit_anew(parts, 4, 4)
  assert fits == [3] and notes[0] == 'a note' and 'fitted on 3' in notes[-1]
  again, notes = fit_anew(parts, 4, 4)
  assert fits == [3, 0] and notes[0] == 'a note' and 'read from the cache' in notes[-1]
  for name, forecasts in fitted.items():
    np.testing.assert_array_equal(again[name], forecasts)
  changed = [parts[0], parts[1], parts[2] + 1e-9]  # A change to a series: it is fitted again,
  _, notes = fit_anew(changed, 4, 4)
  assert fits[-1] == 1 and notes[-1].endswith('fitted on 1 series in 0 s (2 read from '
                                              f'the cache {tmp_path / "cache"})')
  fit_anew(parts, 6, 4)  # all of them for another horizon,
  only, _ = fit_anew(parts, 4, 4, ('AutoTheta',))  # or other models.
  assert fits == [3, 0, 1, 3, 3] and set(only) == {'AutoTheta'}
  stop_after[0] = 2  # Stopped after two series: the next run fits the third alone.
  with pytest.raises(KeyboardInterrupt):
    fit_anew(parts, 5, 4)
  stop_after[0] = None
  fit_anew(parts, 5, 4)
  assert fits[-2:] == [3, 1]


def test_every_lookback_of_a_sweep_takes_the_last_fits_without_the_cache(monkeypatch):
  """A sweep loads its panel once per lookback (and fold), each scoring the benchmarks
  on the same series: with the cache off they were fitted again for each (hours on
  30,000 weekly series). This process's last fits serve, as copies; other series, another
  horizon or other methods are fitted."""
  pytest.importorskip('statsforecast')  # The fits are keyed on its version.
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  from rnnjax.data import statistical  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('RNNJAX_BASELINE_CACHE_DIR', '')
  monkeypatch.setattr(panel_baselines, '_LAST_FITS', {}, raising=False)
  fits = []
  monkeypatch.setattr(statistical, 'fit', lambda parts, h, season, methods, **_: (
      fits.append(len(parts)) or {m: np.stack([np.full(h, p.mean()) for p in parts])
                                   for m in methods}, ('a note',)))
  parts = [np.asarray(_series(n, seed)) for n, seed in ((20, 0), (16, 1))]
  first, _ = panel_baselines.statistical(parts, 4, 4, ('AutoETS',))
  first['AutoETS'][:] = 0.0  # A caller's copy is its own.
  again, notes = panel_baselines.statistical(parts, 4, 4, ('AutoETS',))
  assert fits == [2] and notes[0] == 'a note'
  np.testing.assert_allclose(again['AutoETS'][:, 0], [p.mean() for p in parts])
  panel_baselines.statistical([parts[0], parts[1][:-1]], 4, 4, ('AutoETS',))
  panel_baselines.statistical(parts, 6, 4, ('AutoETS',))
  panel_baselines.statistical(parts, 4, 4, ('AutoTheta',))
  assert fits == [2, 2, 2, 2]


def test_statistical_benchmarks_say_how_far_they_are(monkeypatch):
  """Inside `reporting`, a line every PROGRESS_S seconds: series fitted, and the time
  left (the next split's series included), naming --classical_baselines=false."""
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  clock = [0.0]
  monkeypatch.setattr(panel_baselines.time, 'monotonic', lambda: clock[0])
  lines = []
  report = panel_baselines._Progress(lines.append, ('AutoETS', 'AutoTheta'), 'validation',
                                     later=50)
  for t, done in ((1, 0), (5, 1), (11, 2), (20, 2), (41, 4), (71, 6), (80, 50)):
    clock[0] = t
    report(done, 50)
  tail = '; --classical_baselines=false skips them (the series fitted so far are cached)'
  assert lines == [  # The pace since the first series fitted (at 5 s): 12 s, then 13.2 s.
      'AutoETS, AutoTheta on validation: 2 of 50 series fitted in 11 s, the time left said '
      'once a few more are fitted' + tail,
      'AutoETS, AutoTheta on validation: 4 of 50 series fitted in 41 s, about 19 min left '
      "(with the next split's 50)" + tail,
      'AutoETS, AutoTheta on validation: 6 of 50 series fitted in 71 s, about 21 min left '
      "(with the next split's 50)" + tail]
  # Processes that take 20 s to start, then fit a series a second: 3 minutes in all for
  # 100 series and the next split's 50, not the 20 s the first took times 149.
  lines.clear()
  clock[0] = 0
  report = panel_baselines._Progress(lines.append, ('AutoETS',), '', later=50)
  for t in range(20, 60):
    clock[0] = t
    report(t - 19, 100)
  assert [line.split('; ')[0] for line in lines] == [
      'AutoETS: 1 of 100 series fitted in 20 s, the time left said once a few more are '
      'fitted',
      'AutoETS: 31 of 100 series fitted in 50 s, about 2 min left (with the next split\'s 50)']
  # With AutoARIMA among others (most of the fits' time): how to leave it out.
  lines.clear()
  report = panel_baselines._Progress(lines.append, ('AutoETS', 'AutoARIMA'), '', later=0)
  clock[0] += panel_baselines.FIRST_S
  report(1, 100)
  assert lines[0].endswith('; --classical_baselines=false skips them, --benchmarks without '
                           'AutoARIMA (most of their time) speeds them (the series fitted '
                           'so far are cached)')


def test_statistical_benchmarks_are_scored_on_validation_from_its_origin(tmp_path,
                                                                        monkeypatch):
  """On validation a method is fitted on each series' part before the validation origin
  (a stand-in that forecasts the last value it is given scores as the naive forecast on
  both splits), so that a sweep can be compared with it without looking at test."""
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  from rnnjax.data import statistical  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('RNNJAX_BASELINE_CACHE_DIR', '')
  monkeypatch.setattr(statistical, 'fit', lambda parts, h, season, methods, n_jobs=None,
                      ids=None, **_: (
      {m: np.stack([np.full(h, p[-1]) for p in parts]) for m in methods}, ()))
  data = _seasonal_panel()
  arrays, _ = panel_windows.windows(data, lookback=8, horizon=4, season=4)
  table, _, _, _ = panel_baselines.baselines(data, arrays, horizon=4, season=4,
                                          methods=('AutoETS',))
  for split in ('val', 'test'):
    assert table['AutoETS'][split] == table['naive'][split]
    assert table['AutoETS'][split] != table['naive2'][split]


def test_benchmarks_scored_by_hand_from_each_split_s_origin():
  """The naive, seasonal naive and Naive2 rows against NumPy by hand: on validation each
  validated series forecast from its part before the validation origin (a series of 3
  points, no more than the horizon, is not validated), on test from its whole train
  part; sMAPE and MASE (in-sample seasonal naive error) averaged over the series; OWA
  against Naive2, whose sMAPE and MASE are the reference returned."""
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  data = _seasonal_panel()
  short = np.array([7., 9., 8., 10., 11., 9., 12.])
  data = dataclasses.replace(data, ids=data.ids + ('e',), train=data.train + (short[:3],),
                             times=data.times + (('',) * 3,), test=data.test + (short[3:],))
  arrays, _ = panel_windows.windows(data, lookback=8, horizon=4, season=4)
  table, reference, _, _ = panel_baselines.baselines(data, arrays, horizon=4, season=4,
                                                     methods=())
  for split in ('val', 'test'):
    if split == 'val':
      parts, y = [v[:-4] for v in data.train[:4]], np.stack([v[-4:] for v in data.train[:4]])
    else:
      parts, y = list(data.train), np.stack(data.test)
    lag = [4 if len(p) > 4 else 1 for p in parts]
    scale = np.array([np.mean(np.abs(p[m:] - p[:-m])) for p, m in zip(parts, lag)])
    forecasts = {'naive': np.stack([np.full(4, p[-1]) for p in parts]),
                 'seasonal_naive': np.stack([p[-4:] if len(p) >= 4 else np.full(4, p[-1])
                                             for p in parts]),
                 'naive2': np.stack([competition.naive2(p, 4, 4) for p in parts])}
    smape = {k: np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f)))
             for k, f in forecasts.items()}
    mase = {k: np.mean(np.mean(np.abs(y - f), axis=1) / scale) for k, f in forecasts.items()}
    for k in forecasts:
      assert table[k][split]['smape'] == pytest.approx(smape[k], rel=1e-5), (k, split)
      assert table[k][split]['mase'] == pytest.approx(mase[k], rel=1e-5), (k, split)
      assert table[k][split]['owa'] == pytest.approx(
          (smape[k] / smape['naive2'] + mase[k] / mase['naive2']) / 2, rel=1e-5)
    np.testing.assert_allclose(reference[split], [smape['naive2'], mase['naive2']],
                               rtol=1e-5)
    assert table['naive'][split]['owa'] > 1.2  # Seasonal series: Naive2 far better.
  assert set(table) == {'naive', 'seasonal_naive', 'naive2'}
  # Without a season, no seasonal naive row (it would be the naive forecast again).
  arrays, _ = panel_windows.windows(data, lookback=8, horizon=4, season=1)
  assert set(panel_baselines.baselines(data, arrays, horizon=4, season=1, methods=())[0]) == {
      'naive', 'naive2'}


def test_a_panel_of_slow_movers_is_scored_beside_a_forecast_of_0(monkeypatch):
  """Where a series is 0 at half or more of its points before test, the benchmarks hold
  `zero`, forecasting 0 everywhere, scored as the others on both splits (MASE: the mean
  |y| over the series' scale; sMAPE 200 at each sale, 0 at each zero), and a note names
  such series; a panel without any has no such row."""
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('RNNJAX_BASELINE_CACHE_DIR', '')
  rng = np.random.default_rng(0)
  sales = [rng.poisson(0.4, 44).astype(float), rng.poisson(9.0, 44).astype(float)]
  data = panel.Panel(ids=('SKU-1', 'SKU-2'), train=tuple(s[:40] for s in sales),
                     times=(('',) * 40,) * 2, test=tuple(s[40:] for s in sales))
  arrays, _ = panel_windows.windows(data, lookback=8, horizon=4, season=4)
  table, _, notes, forecasts = panel_baselines.baselines(data, arrays, horizon=4, season=4,
                                                         methods=())
  assert set(table['zero']) == {'val', 'test'}
  np.testing.assert_array_equal(forecasts['zero'], np.zeros((2, 4)))
  y, scale = arrays['test']['y'][..., 0], arrays['test']['mase_denom']
  assert table['zero']['test']['mase'] == pytest.approx(
      np.mean(np.abs(y).mean(axis=1) / scale), rel=1e-5)
  assert table['zero']['test']['smape'] == pytest.approx(
      np.mean(200 * (y > 0).mean(axis=1)), rel=1e-6)
  said = [n for n in notes if 'half or more' in n]
  assert len(said) == 1 and said[0].startswith(
      "1 of 2 series are 0 at half or more of their points before test (e.g. 'SKU-1'): ")
  assert "the 'zero' row forecasts 0" in said[0] and '--loss=mse' in said[0]
  table, _, notes, forecasts = panel_baselines.baselines(
      _seasonal_panel(), panel_windows.windows(_seasonal_panel(), lookback=8, horizon=4,
                                               season=4)[0],
      horizon=4, season=4, methods=())
  assert 'zero' not in table and 'zero' not in forecasts
  assert not any('half or more' in n for n in notes)


def test_volumes_set_each_total_beside_the_actual_one():
  """A model's forecasts summed over series and steps, and their distance from the
  test part's total: what a score averaged over series hides."""
  from rnnjax.results import series_scores  # pylint: disable=g-import-not-at-top
  y = np.array([[0., 2., 0., 6.], [1., 1., np.nan, 1.]])
  totals = series_scores.volumes({'final': np.full((2, 4), 0.5), 'zero': np.zeros((2, 4))},
                                 y)
  assert totals == {'final': (3.5, 11.0), 'zero': (0.0, 11.0)}  # The nan step left out.
  assert series_scores.describe_volumes(totals) == (
      'test volume, the forecasts summed over every series and step against the actual '
      '11: final 3.5 (-68 %), zero 0 (-100 %)')
  assert series_scores.describe_volumes(
      series_scores.volumes({'final': np.ones((1, 2))}, np.zeros((1, 2)))) == (
          'test volume, the forecasts summed over every series and step against the '
          'actual 0: final 2')
  assert series_scores.describe_volumes({'final': (6_687_240.4, 6_912_000.0)}) == (
      'test volume, the forecasts summed over every series and step against the actual '
      '6,912,000: final 6,687,240 (-3 %)')
  # Within a per cent: a decimal, never '-0 %'; within 0.05 %: 0 %.
  assert series_scores.describe_volumes({'a': (47_516, 47_661), 'b': (47_660, 47_661)}) == (
      'test volume, the forecasts summed over every series and step against the actual '
      '47,661: a 47,516 (-0.3 %), b 47,660 (0 %)')


@pytest.mark.parametrize('flags, message', [
    (dict(task='forecast', id_column='unique_id'), '^--id_column: .* add --task=panel'),
    (dict(task='panel', difference=True), '^--difference: not for --task=panel'),
    (dict(task='forecast', future_columns=('u',)), '^--future_columns: for --task=panel only'),
    (dict(task='panel', input_columns=('u', 'v'), future_columns=('v',)),
     "^--future_columns: 'v' is in --input_columns too"),
    (dict(task='panel', target_columns=('y',), future_columns=('y',)),
     "^--future_columns: 'y' is the target column"),
    (dict(task='panel', combine='mode'), "^--combine: 'mode'"),
    (dict(task='classify', combine='median'), '^--combine: .* median for forecast'),
    (dict(task='panel', benchmarks=('AutoETS', 'Prophet')), "^--benchmarks: .*'Prophet'"),
    (dict(task='panel', benchmarks=('ADIDA', 'Croston')),
     "^--benchmarks: unknown model 'Croston'; expected some of AutoETS, AutoTheta, "
     'AutoARIMA, CrostonOptimized, ADIDA, IMAPA$'),
    (dict(task='forecast', deseasonalize='1'), '^--deseasonalize: for --task=panel only'),
    (dict(task='classify', normalization='grid(robust,last)'), '^--normalization: for --task'),
    (dict(task='charlm', lookback='32'), '^--lookback: for --task=forecast or panel only'),
    (dict(task='forecast', history='1.5'), '^--history: for --task=panel only'),
    (dict(task='panel', fill='nearest'), "^--fill: 'nearest'; expected one of linear, zero"),
    (dict(task='classify', fill='zero'), '^--fill: for --task=forecast or panel only'),
    (dict(task='forecast', selection='owa'),
     "^--selection: 'owa'; expected one of mse, rmse, mae, mase for --task=forecast$"),
    (dict(task='classify', selection='accuracy'),
     "^--selection: 'accuracy'; expected one of ce, balanced_ce for --task=classify$"),
    (dict(task='charlm', selection='ce'), '^--selection: .* ranks by its own metric'),
])
def test_panel_flags_that_do_not_apply_are_refused_in_one_line(flags, message):
  from rnnjax.search import rules  # pylint: disable=g-import-not-at-top
  from rnnjax.search import spec as spec_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(InputError, match=message):
    rules.check(spec_lib.SweepSpec(**flags))


def test_a_bundled_panel_under_the_forecast_task_points_to_the_panel_task():
  with pytest.raises(InputError, match='^--dataset: m1_monthly is a panel .* --task=panel'):
    task_data.load(task='forecast', dataset='m1_monthly', lookback=4, horizon=1)


def _seasonal_panel(n=40, horizon=4, season=4, seed=3):
  """Positive quarterly series: a trend times a seasonal pattern, small noise; and one
  random walk (not seasonal)."""
  rng = np.random.default_rng(seed)
  t = np.arange(n + horizon)
  pattern = np.array([0.8, 1.1, 1.3, 0.8])
  series = [(50 + 2 * k + t) * pattern[(t + k) % season] * rng.uniform(0.99, 1.01, t.size)
            for k in range(3)]
  series.append(100 + np.cumsum(rng.normal(0, 1, t.size)))
  return panel.Panel(ids=tuple('abcd'), train=tuple(s[:n] for s in series),
                     times=(('',) * n,) * 4, test=tuple(s[n:] for s in series))


def test_seasonal_indices_of_a_window_are_known_before_its_split():
  """Training and validation windows are deseasonalised by indices of the part before
  the validation origin (their values cannot leak into them); refit and test windows
  by the whole train part's, never the test part's; a series that fails the seasonality
  test is not adjusted."""
  data = _seasonal_panel()
  arrays, notes = panel_windows.windows(data, lookback=8, horizon=4, season=4)
  assert notes == ('3 of 4 series pass the seasonality test at season 4: --deseasonalize '
                   'adjusts those',)
  changed = dataclasses.replace(data, train=tuple(
      np.concatenate([v[:-4], v[-4:] * 1.5]) for v in data.train))
  moved, _ = panel_windows.windows(changed, lookback=8, horizon=4, season=4)
  for split in ('train', 'val'):
    np.testing.assert_array_equal(arrays[split]['seasonal'], moved[split]['seasonal'])
  assert not np.allclose(arrays['test']['seasonal'], moved['test']['seasonal'])
  future = dataclasses.replace(data, test=tuple(v * 3 for v in data.test))
  for split, moved in panel_windows.windows(future, lookback=8, horizon=4, season=4)[0].items():
    np.testing.assert_array_equal(arrays[split]['seasonal'], moved['seasonal'])  # DESIGN 8.
  figure = competition.seasonal_indices(data.train[0], 4)
  np.testing.assert_allclose(arrays['test']['seasonal'][0],
                             figure[np.arange(40 - 8, 40 + 4) % 4], rtol=1e-6)
  assert np.ptp(arrays['test']['seasonal'][0]) > 0.3  # The pattern is found.
  np.testing.assert_array_equal(arrays['test']['seasonal'][3], 1.0)  # The random walk.


@pytest.mark.parametrize('deseasonalize,benchmark', [(True, 'naive2'), (False, 'naive')])
def test_a_silent_deseasonalised_member_forecasts_naive2(deseasonalize, benchmark):
  """A member whose readout says 'no change' forecasts the window's last value, after
  its deseasonalisation: with it, that is M3's Naive2 on seasonal series (computed by
  competition.py from the series alone); without it, the naive forecast."""
  data = _seasonal_panel()
  arrays, _ = panel_windows.windows(data, lookback=8, horizon=4, season=4)
  cfg = dataclasses.replace(_cfg('last'), deseasonalize=deseasonalize)
  params = model.init_params(cfg.model, jax.random.key(0))
  params['head'] = jax.tree_util.tree_map(np.zeros_like, params['head'])
  out = np.asarray(tasks.TASKS['panel'].outputs(cfg, params, arrays['test']))
  method = {'naive2': lambda v: competition.naive2(v, 4, 4),
            'naive': lambda v: competition.naive(v, 4)}[benchmark]
  np.testing.assert_allclose(out, np.stack([method(v) for v in data.train]), rtol=1e-5)


def test_a_dry_run_fits_no_benchmarks_and_prints_the_data_notes(tmp_path, long_csv,
                                                                 monkeypatch):
  """A dry run prints the plan and what the data loader noted (here: the gap filled),
  without fitting statsforecast's benchmarks (minutes on a large panel) or writing
  anything, the cache included: it times a few series' fits (statistical.estimate), says
  how many series are to fit and about how long, and counts it in the estimate, once
  for both lookbacks (each asks for the same fits); with every series in the cache, it
  says so and counts none."""
  from rnnjax.data import panel_baselines  # pylint: disable=g-import-not-at-top
  from rnnjax.data import statistical  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top

  def fitted(*args, **kw):
    raise AssertionError('a dry run fitted the benchmarks')
  timed = []
  monkeypatch.setattr(statistical, 'fit', fitted)
  monkeypatch.setattr(statistical, '_fit_series',
                      lambda methods, season, h, v: timed.append(len(v)) or {})
  cache = tmp_path / 'cache'
  monkeypatch.setenv('RNNJAX_BASELINE_CACHE_DIR', str(cache))
  spec = sweep.SweepSpec(
      task='panel', csv_path=long_csv[0], id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=4, lookback='grid(6,8)',
      classical_baselines=True, benchmarks=('AutoETS', 'AutoTheta'), hidden_size='4',
      batch_size='8', train_steps=2, eval_every=2)
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  filled = (f'1 empty cell of {long_csv[0]} filled: 1 of the target by linear interpolation; '
            'a filled target is read as history alone: never trained towards, never scored')
  assert filled in lines
  assert lines.index(filled) < len(lines) - 1
  series = 3  # (c's 3 points before its test part are its validation part: each validates.)
  note = (f'the benchmarks (AutoETS, AutoTheta) are not fitted in a dry run: {series} of '
          f'{series} series\' validation parts, {series} of {series} series\' test parts '
          'to fit, about ')
  (said,) = [line for line in lines if line.startswith(note)]
  assert said.endswith('; each series is cached once fitted, and read, not fitted, the '
                       'next time')
  # Each split's series, fewer than SAMPLE: each timed once, and one first to warm up.
  assert len(timed) == 2 * series + 1
  assert 0 < plan['baselines_s'] and 'the baselines ' in lines[-1]
  assert not (tmp_path / 'wd').exists() and not cache.exists()
  with pytest.raises(AssertionError, match='fitted the benchmarks'):  # As a sweep does.
    sweep.prepare_lib.prepare(spec)
  # Every series' fits cached (here: a file that exists for each): not timed or counted.
  monkeypatch.setattr(panel_baselines, '_series_path', lambda *args: long_csv[0])
  lines, timed[:] = [], []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  assert (f'the benchmarks (AutoETS, AutoTheta): every series\' fits are in the cache '
          f'{cache}, read, not fitted (0 of {series} series\' validation parts, 0 of '
          f'{series} series\' test parts to fit)') in lines
  assert not timed and plan['baselines_s'] == 0 and 'the baselines' not in lines[-1]


def test_the_data_size_counts_the_refit_once_says_its_folds_and_names_the_right_flag():
  """Windows are summed over folds (the line says over how many); the refit trains on the
  last fold only, so its copy counts once, not once per fold. Data too large at lookback
  1 is refused naming the file, not --lookback."""
  import types  # pylint: disable=g-import-not-at-top
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  arrays = {'train': {'x': np.zeros(100, np.float32)}, 'val': {'x': np.zeros(50, np.float32)},
            'refit': {'x': np.zeros(150, np.float32)}}
  data = types.SimpleNamespace(arrays=arrays, num_train=10_000)
  spec = types.SimpleNamespace(task='panel', refit=True, csv_path='p.csv', dataset='',
                               text_path='', train_path='')
  total, line = prepare.data_size({(8, f): data for f in range(3)}, spec, 1)
  device = 3 * 150 * 4 + 150 * 4  # Train and validation per fold, the refit once.
  assert line.startswith('panel windows (lookback 8): 0.03 M for training over 3 folds; ')
  host = 3 * 300 * 4
  assert total == host + (device if prepare.jax.default_backend() == 'cpu' else 0)
  _, one = prepare.data_size({(8, 0): data}, spec, 1)
  assert 'M for training; ' in one
  with pytest.raises(InputError, match=r'^--csv_path p.csv: the data alone take .*; fewer '
                     r'or shorter series in p.csv'):
    prepare.check_data_size({(1, 0): data}, spec, 1, 1e-9)
  with pytest.raises(InputError, match=r'^--lookback: .*a shorter --lookback'):
    prepare.check_data_size({(8, 0): data}, spec, 1, 1e-9)
  text = types.SimpleNamespace(task='charlm', refit=False, csv_path='', dataset='shakespeare',
                               text_path='mine.txt', train_path='')
  with pytest.raises(InputError, match=r'^--max_memory_gb: .*a smaller mine.txt'):
    prepare.check_data_size({(None, 0): data}, text, 1, 1e-9)
  # No --dataset given: the task's default is named (not 'a smaller ,').
  default = types.SimpleNamespace(task='classify', refit=False, csv_path='', dataset='',
                                  text_path='', train_path='')
  with pytest.raises(InputError, match=r'^--max_memory_gb: .*a smaller ItalyPowerDemand'):
    prepare.check_data_size({(None, 0): data}, default, 1, 1e-9)
  series = types.SimpleNamespace(**{**vars(default), 'task': 'forecast'})
  with pytest.raises(InputError, match=r'^--dataset wineind_sales: .*fewer or shorter series '
                     r'in wineind_sales'):
    prepare.check_data_size({(1, 0): data}, series, 1, 1e-9)


def test_a_later_round_s_new_lookback_is_said_and_checked_as_the_first_s(tmp_path,
                                                                           monkeypatch):
  """TPE's later round with a lookback the first lacked loads its windows then: their
  size is said, and refused over --max_memory_gb, as the first round's are."""
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  from rnnjax.search.strategies import strategy  # pylint: disable=g-import-not-at-top
  path = _write(tmp_path / 'p.csv', {f's{i}': _series(40, i) for i in range(3)})
  spec = sweep.SweepSpec(
      task='panel', csv_path=path, id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=4, lookback='choice(4,8)', search='tpe',
      rounds=2, num_members=1, classical_baselines=False, hidden_size='4',
      batch_size='8', train_steps=2, eval_every=2, num_seeds=1)
  first = strategy.first_round(spec)
  prepared = prepare.prepare(spec)
  other = 12 - first[0]['lookback']
  rounds = [first, [{**first[0], 'lookback': other}]]
  monkeypatch.setattr(prepare, 'LARGE_DATA_BYTES', 0)
  lines = []
  later = prepare.with_rounds(prepared, rounds, 0.0, log=lines.append)
  assert sorted(later.datas) == [(4, 0), (8, 0)]
  assert lines and lines[0].startswith('panel windows (lookbacks 4, 8): '), lines
  with pytest.raises(InputError, match=r'^--lookback: the data alone take [0-9.e-]+ GB, more '
                     r'than --max_memory_gb \(1e-06 GB\)'):
    prepare.with_rounds(prepared, rounds, 1e-6)


def test_a_dry_run_says_the_data_size_and_a_member_s_memory_is_not_the_data_s(
    tmp_path, monkeypatch):
  """A member's memory (the dry run's MiB/member) is the same for 3 series as for 30; the
  data's own size is said apart (beside the loading line, before the file is read), and
  data larger than --max_memory_gb is refused in one line."""
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(prepare, 'LARGE_DATA_BYTES', 0)
  monkeypatch.setattr(sweep, 'LARGE_PANEL_BYTES', 0)
  plans, said = [], []
  for num_series in (3, 30):
    path = _write(tmp_path / f'{num_series}.csv',
                  {f's{i}': _series(40, i) for i in range(num_series)})
    spec = sweep.SweepSpec(
        task='panel', csv_path=path, id_column='unique_id', time_column='ds',
        target_columns=('y',), horizon=4, season=4, lookback='8',
        classical_baselines=False, hidden_size='4', batch_size='8', train_steps=2,
        eval_every=2, num_seeds=2)
    lines = []
    plans.append(sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True,
                                 log=lines.append))
    said.append(lines)
  (small,), (large,) = (p['buckets'] for p in plans)
  assert small['bytes_per_member'] == large['bytes_per_member']
  assert large['data_bytes_per_device'] > 5 * small['data_bytes_per_device']
  assert said[1][0].startswith(f'loading the panel {tmp_path / "30.csv"} (0 MB)')
  (line,) = [s for s in said[1] if s.startswith('panel windows ')]
  assert line.startswith(f'panel windows (lookback 8): {30 * 28 / 1e6:.2f} M for training; ')
  assert said[1].index(line) < len(said[1]) - 1  # Before the plan.
  with pytest.raises(InputError, match=r'^--lookback: the data alone take [0-9.e-]+ GB, more '
                     r'than --max_memory_gb \(1e-06 GB\): panel windows .*a shorter --lookback, '
                     r'fewer or shorter series in .*30.csv'):
    sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lambda _: None,
                    max_memory_gb=1e-6)


def _gappy_validation(tmp_path, empty_at):
  """(a held-out panel CSV whose cells `empty_at` {id: [positions]} are empty, and the
  same panel complete) (ids 'a', 'b', 'c'; 24, 20, 22 points)."""
  full = {'a': _series(24, 0), 'b': _series(20, 1, 50.0), 'c': _series(22, 2, 10.0)}
  gappy = {k: [None if i in empty_at.get(k, ()) else x for i, x in enumerate(v)]
           for k, v in full.items()}
  return _write(tmp_path / 'gappy.csv', gappy), _write(tmp_path / 'full.csv', full)


VAL_OPTIONS = dict(id_column='unique_id', time_column='ds', target_columns=('y',),
                   lookback=8, horizon=4, season=4, classical_baselines=False)


def test_empty_validation_cells_are_left_out_of_every_validation_score(tmp_path):
  """Empty cells of the validation windows (the 4 points before each test part held
  out): every benchmark's validation scores, Naive2's reference (OWA) and the task's
  scorer (the networks' validation metric) are means over the observed cells; a
  complete panel's validation split has no `observed`, and scores as before."""
  # 'a' (24 points): validation 16..19; 'c' (22): 14..17. A gap before, none in test.
  gappy, full = _gappy_validation(tmp_path, {'a': [3, 17, 18], 'c': [17]})
  data = task_data.load(task='panel', csv_path=gappy, **VAL_OPTIONS)
  val = data.arrays['val']
  empty = np.zeros((3, 4), bool)
  empty[0, [1, 2]] = empty[2, 3] = True
  np.testing.assert_array_equal(val['observed'], ~empty)
  assert 'observed' not in data.arrays['test']
  assert any(n.startswith('validation: 3 empty target cell(s)') for n in data.notes)
  whole = panel.load(csv_path=gappy, id_column='unique_id', target_column='y', horizon=4)
  _naive_scores_observed_cells(data, 'val', [v[-5] for v in whole.train], empty)
  # Complete: no mask anywhere.
  same = task_data.load(task='panel', csv_path=full, **VAL_OPTIONS)
  assert all('observed' not in same.arrays[s] for s in ('train', 'val', 'test', 'refit'))
  # --fill=zero: an empty cell is a 0, scored; a gap before validation alone: no mask.
  zero = task_data.load(task='panel', csv_path=gappy, fill='zero', **VAL_OPTIONS)
  assert 'observed' not in zero.arrays['val'] and zero.arrays['val']['y'][0, 1, 0] == 0
  (tmp_path / 'before').mkdir()
  before = task_data.load(task='panel', csv_path=_gappy_validation(
      tmp_path / 'before', {'a': [3]})[0], **VAL_OPTIONS)
  assert 'observed' not in before.arrays['val']


def test_a_series_without_a_validation_target_is_left_out_of_validation(tmp_path):
  """A series whose whole validation window was empty has nothing to score there: it
  is left out of validation (weight 0), said, and still trained on."""
  gappy, full = _gappy_validation(tmp_path, {'b': [12, 13, 14, 15]})
  data = task_data.load(task='panel', csv_path=gappy, **VAL_OPTIONS)
  assert data.arrays['val']['weight'].tolist() == [1, 0, 1]
  assert 'observed' not in data.arrays['val']  # The validated series' cells: all held.
  assert any("1 series without a target in the last 4 points of their train part (e.g. "
             "'b')" in n for n in data.notes)
  assert np.isfinite(data.baselines['naive']['val']['smape'])
  complete = task_data.load(task='panel', csv_path=full, **VAL_OPTIONS)
  assert len(data.arrays['train']['x']) == len(complete.arrays['train']['x'])


def test_a_folds_validation_mask_is_cut_with_its_train_part(tmp_path):
  """With --folds=2 the earlier fold validates on the 4 points before the last fold's
  validation: its mask marks the empty cells there, the last fold's none; one program
  scores both (same_shapes gives the last fold a mask of 1s)."""
  # 'a' (24 points, test 20..23): last fold's validation 16..19, the earlier fold's 12..15.
  gappy, _ = _gappy_validation(tmp_path, {'a': [13, 14]})
  folds = [task_data.load(task='panel', csv_path=gappy, fold=f, folds=2, **VAL_OPTIONS)
           for f in range(2)]
  earlier, last = folds
  want = np.ones((3, 4), np.float32)
  want[0, [1, 2]] = 0
  np.testing.assert_array_equal(earlier.arrays['val']['observed'], want)
  assert 'observed' not in last.arrays['val']
  same = task_data.same_shapes(folds)
  np.testing.assert_array_equal(same[0].arrays['val']['observed'], want)
  np.testing.assert_array_equal(same[1].arrays['val']['observed'], np.ones((3, 4)))
  assert (jax.tree.structure(same[0].arrays['val'])
          == jax.tree.structure(same[1].arrays['val']))
  # 13 and 14 are training targets of the last fold alone: its windows mark them, the
  # earlier fold's get 1s (and padding), one shape for one program.
  assert 'observed' not in earlier.arrays['train']
  marks = last.arrays['train']['observed']
  # Origins 1..12 (targets before 16): 13 is a target of 3 windows, 14 of 2.
  assert marks.dtype == bool and np.sum(~marks) == 3 + 2
  trains = [d.arrays['train'] for d in same]
  assert trains[0]['observed'].shape == trains[1]['observed'].shape == marks.shape
  assert trains[0]['observed'][:trains[0]['count']].all()
  np.testing.assert_array_equal(trains[1]['observed'], marks)
  assert jax.tree.structure(trains[0]) == jax.tree.structure(trains[1])


def test_deseasonalize_where_no_series_can_be_seasonal_is_said(long_csv):
  """--deseasonalize at season 0 (a flagfile's yearly panel) changes no window: its values
  train alike, their differences are their seeds', which a sweep reported as an axis."""
  from rnnjax.run import prepare  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(
      task='panel', csv_path=long_csv[0], id_column='unique_id', time_column='ds',
      target_columns=('y',), horizon=4, season=0, lookback='6', deseasonalize='grid(0,1)',
      classical_baselines=False, hidden_size='4', batch_size='8', train_steps=2,
      eval_every=2)
  said = ("note: --deseasonalize=grid(0,1) does nothing at season 0: no series is seasonal, "
          'so its values train alike, and what tells them apart is their random streams '
          '(--season sets a season)')
  assert said in prepare.prepare(spec).notes
  for changes in (dict(season=4), dict(deseasonalize='0')):
    assert not any('--deseasonalize' in n and 'does nothing' in n for n in prepare.prepare(
        dataclasses.replace(spec, **changes)).notes), changes


def test_a_bundled_panels_test_part_is_named_by_its_dataset_not_test_path():
  """A bundled panel's test part is its own file: its notes and errors name --dataset,
  not a --test_path the user never gave."""
  notes = panel.load(dataset='m3_other', horizon=6).notes
  assert ("--dataset: the first 6 points (--horizon) of each series' test part are scored; "
          '174 series have more, not read') in notes, notes
  with pytest.raises(InputError, match=r"^--dataset: series 'N2830' has 8 test points in "
                     r'.*m3_other_test.csv, fewer than --horizon=12$'):
    panel.load(dataset='m3_other', horizon=12)
