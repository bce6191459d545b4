"""A panel's saved model (rnnjax/final/saved/export.py, tuned.py, panel_histories.py,
panel_forecasting.py, use/panel_predictions.py, panel_shown.py): it gives the sweep's final
test figures back, forecasts many series from a long DataFrame or a dict alike, with per-series
conformal intervals, and `experiments.predict` writes the long forecast.csv from the end
of each series.

Two tiny sweeps on six M1 quarterly series: a user's CSV whose last points are held out
(two lookbacks; deseasonalised, two of the six series being seasonal), and its train part
with those points given as the test file (members that take logs, normalization 'log';
a refit of three seeds, combined by their median).
"""

import csv
import dataclasses
import os
import re
import shutil
import types

import numpy as np
import pytest

from rnnjax.data import gap_fill
from rnnjax.data import long_rows
from rnnjax.data import panel
from rnnjax.data import task_data
from rnnjax.data.windows import series_scales
from rnnjax.errors import InputError
from rnnjax.final.saved import export
from rnnjax.final.saved import intervals
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.use import panel_predictions
from rnnjax.final.use import panel_shown
from rnnjax.final.use import predictions
from rnnjax.results import files
from rnnjax.run import sweep
import rnnjax

IDS = ('QRF1', 'QRF2', 'QNC1', 'QNC2', 'QND1', 'QND2')
HORIZON = 4
SPEC = sweep.SweepSpec(
    task='panel', id_column='unique_id', time_column='ds', target_columns=('y',),
    horizon=HORIZON, season=4, lookback='grid(4,8)', deseasonalize='1', cell='gru',
    hidden_size='8', batch_size='8', learning_rate='grid(3e-3,1e-2)', train_steps=100,
    eval_every=50,
    classical_baselines=False, ensemble='top', ensemble_size=2)
HELD_OUT_LOG = []  # What the held_out sweep logs.


def _rows(path, ids=IDS):
  with open(path, encoding='utf-8') as f:
    rows = list(csv.reader(f))
  return rows[0], [r for r in rows[1:] if r[0] in ids]


def _write(path, header, rows):
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(','.join(r) for r in [header] + rows) + '\n')
  return str(path)


@pytest.fixture(scope='module')
def held_out(tmp_path_factory):
  """(summary, workdir, the CSV) of SPEC: each series' last HORIZON points are test."""
  tmp = tmp_path_factory.mktemp('held_out')
  train, _ = panel.bundled_paths('m1_quarterly')
  csv_path = _write(tmp / 'train.csv', *_rows(train))
  spec = dataclasses.replace(SPEC, csv_path=csv_path)
  return (sweep.run_sweep(spec, str(tmp / 'wd'), log=HELD_OUT_LOG.append), str(tmp / 'wd'),
          csv_path)


@pytest.fixture(scope='module')
def given(tmp_path_factory, held_out):
  """(summary, workdir) of held_out's train part with its test part as a test file,
  refit with three seeds combined by their median; normalization 'log'."""
  tmp = tmp_path_factory.mktemp('given')
  header, rows = _rows(held_out[2])
  last = {k: [r for r in rows if r[0] == k][-HORIZON:] for k in IDS}
  test = [r for k in IDS for r in last[k]]
  spec = dataclasses.replace(
      SPEC, csv_path=_write(tmp / 'train.csv', header, [r for r in rows if r not in test]),
      test_path=_write(tmp / 'test.csv', header, test), refit=3, combine='median',
      normalization='log')
  return sweep.run_sweep(spec, str(tmp / 'wd'), log=lambda _: None), str(tmp / 'wd')


def _series(csv_path):
  """id -> (values, times) of a long CSV, in file order."""
  ids, values, times, _, _ = long_rows.read_long(csv_path, id_column='unique_id',
                                             time_column='ds', target_column='y', flag='t')
  return {k: (v, t) for k, v, t in zip(ids, values, times)}


def test_the_saved_model_gives_the_final_test_figures_back(held_out, given):
  for summary, workdir, *_ in (held_out, given):
    model = rnnjax.load(workdir)
    final = summary['final']
    assert model.kind == final['kind'] and set(model.test) == {'smape', 'mase', 'owa', 'rmsse'}
    got = model.evaluate_panel()
    for name, value in final['test'].items():
      assert got[name] == value, (name, got[name], value)  # Same program, same data.
  # The refit's three seeds of each member, combined by their median (their mean gives
  # other figures); the held-out sweep has the same test part.
  model = rnnjax.load(given[1])
  assert model.kind == 'refit' and model.manifest['combine'] == 'median'
  assert sum(len(g.uids) for g in model._groups) == 3 * len(set(given[0]['final']['members']))  # pylint: disable=protected-access
  model.manifest['combine'] = 'mean'
  assert model.evaluate_panel()['smape'] != given[0]['final']['test']['smape']
  np.testing.assert_array_equal(model.arrays['test'], rnnjax.load(held_out[1]).arrays['test'])


def test_the_saved_series_and_where_predict_forecasts_from(held_out, given):
  _, workdir, csv_path = held_out
  model = rnnjax.load(workdir)
  whole = _series(csv_path)
  ids, values, times = panel_forecasting.saved_series(model.arrays, with_test=True)
  assert ids == list(IDS) and model.manifest['panel']['forecast_from'] == 'data_end'
  for k, v, t in zip(ids, values, times):  # Held out: the whole file is the newest data.
    np.testing.assert_array_equal(v, whole[k][0])
    assert t == whole[k][1]
  model = rnnjax.load(given[1])
  assert model.manifest['panel'] == {'test_part': 'given', 'forecast_from': 'train_end'}
  np.testing.assert_array_equal(model.arrays['test'],
                                np.stack([whole[k][0][-HORIZON:] for k in IDS]))
  assert model.arrays['test_times'][0].tolist() == whole[IDS[0]][1][-HORIZON:]


def test_intervals_are_per_step_conformal_scaled_per_series_and_widen(held_out, given):
  model = rnnjax.load(held_out[1])
  _, values, _ = panel_forecasting.saved_series(model.arrays, with_test=True)
  fc = model.forecast(dict(zip(IDS, values)), HORIZON, levels=(0.5, 0.8, 0.95))
  residuals = model.arrays['residuals']  # [K, validated series, 1]: scaled errors.
  assert residuals.shape == (HORIZON, len(IDS), 1)
  scales = np.asarray([series_scales.mase_scale(v, 4) for v in values])
  for level in (0.5, 0.8, 0.95):
    n = residuals.shape[1]
    rank = min(int(np.ceil((n + 1) * level)), n)
    width = np.maximum.accumulate(np.sort(residuals[..., 0], axis=1)[:, rank - 1])
    np.testing.assert_allclose(fc['upper'][level] - fc['point'], width * scales[:, None],
                               rtol=1e-9)
  for narrow, wide in ((0.5, 0.8), (0.8, 0.95)):
    assert np.all(fc['lower'][wide] <= fc['lower'][narrow])
    assert np.all(fc['upper'][narrow] <= fc['upper'][wide])
  assert np.all(fc['upper'][0.5] < fc['upper'][0.8])
  # Six validated series are too few errors for 95 % (n < 1 / 0.05 - 1): the largest,
  # said with the count and what gives more, in the forecast and in the sweep's log.
  few = [n for n in fc['notes'] if n.startswith('95% intervals from step 1 on')]
  assert len(few) == 1 and '(6 at step 1, at least 19 needed)' in few[0], fc['notes']
  assert few[0].endswith(f'({intervals.PANEL_FEW})')
  assert not any(n.startswith(('50%', '80%')) for n in fc['notes'])
  line = [m for m in HELD_OUT_LOG if m.startswith('intervals: ')]
  assert len(line) == 1 and line[0].startswith(
      'intervals: split conformal on 6 scaled validation errors per step ahead'), line
  assert few[0] in line[0] and '80%' not in line[0]
  assert 'before its refit' in rnnjax.load(given[1]).manifest['intervals']['calibrated_on']
  # Coverage on test, by hand: the test forecasts from each end of train.
  _, train, _ = panel_forecasting.saved_series(model.arrays)
  test_point = model.forecast(dict(zip(IDS, train)), HORIZON)
  inside = np.abs(model.arrays['test'] - test_point['point']) <= (
      test_point['upper'][0.8] - test_point['point'])
  assert model.manifest['intervals']['test_coverage']['0.8']['all_steps'] == inside.mean()


def test_lower_bounds_stop_at_zero_only_where_a_series_never_went_below(held_out):
  model = rnnjax.load(held_out[1])
  _, values, _ = panel_forecasting.saved_series(model.arrays)
  # Each series falls to 0 at its end: its intervals reach below 0 around a forecast near 0.
  dropped = [np.concatenate([v, [0.0]]) for v in values]
  signed = [np.concatenate([[-1e-3], v[1:]]) for v in dropped]  # One early point < 0.
  fc = model.forecast(dict(zip(IDS, dropped)), HORIZON)
  raw = model.forecast(dict(zip(IDS, signed)), HORIZON)
  for level in (0.8, 0.95):
    below = 2 * raw['point'] - raw['upper'][level]  # The conformal band, symmetric.
    np.testing.assert_array_equal(raw['lower'][level], below)
    assert np.any(below < 0)
    symmetric = 2 * fc['point'] - fc['upper'][level]
    np.testing.assert_array_equal(fc['lower'][level], np.maximum(symmetric, 0.0))
    assert np.any(symmetric < 0) and np.all(fc['lower'][level] >= 0)
  assert any('raised to 0' in n for n in fc['notes'])
  assert not any('raised to 0' in n for n in raw['notes'])


def test_a_dict_and_a_dataframe_give_the_same_forecasts(held_out):
  pd = pytest.importorskip('pandas')
  model = rnnjax.load(held_out[1])
  whole = _series(held_out[2])
  rows = [(k, t, y) for k in IDS for y, t in zip(*whole[k])]
  rows = rows[1::2] + rows[::2]  # Interleaved: each series' rows keep their order.
  frame = pd.DataFrame(sorted(rows, key=lambda r: (int(r[1]), IDS.index(r[0]))),
                       columns=['unique_id', 'ds', 'y'])
  by_frame = model.forecast(frame, 6)
  by_dict = model.forecast({k: whole[k][0] for k in IDS}, 6)
  assert sorted(by_frame['ids']) == sorted(IDS)
  order = [by_frame['ids'].index(k) for k in by_dict['ids']]
  np.testing.assert_array_equal(by_frame['point'][order], by_dict['point'])
  np.testing.assert_array_equal(by_frame['upper'][0.8][order], by_dict['upper'][0.8])
  last = {k: int(whole[k][1][-1]) for k in IDS}  # ds continues each series' times.
  assert by_frame['times'][order[0]] == [str(last[IDS[0]] + s) for s in range(1, 7)]
  assert by_dict['times'][0] == [f'+{s}' for s in range(1, 7)]
  assert any('feed the forecasts back' in n for n in by_dict['notes'])
  # Fed back: steps 5 and 6 are the forecast from the history and the first 4.
  more = {k: np.concatenate([whole[k][0], by_dict['point'][i, :4]])
          for i, k in enumerate(IDS)}
  np.testing.assert_allclose(model.forecast(more, 2)['point'], by_dict['point'][:, 4:],
                             rtol=1e-12)


def test_a_history_without_some_rows_forecasts_as_one_with_empty_cells(tmp_path, held_out):
  """Rows left out of a DataFrame or a CSV, the rest newest first: put back on the time
  grid as gaps, filled as a history's empty cells are (data/time/grid.py)."""
  pd = pytest.importorskip('pandas')
  _, workdir, csv_path = held_out
  model, whole = rnnjax.load(workdir), _series(csv_path)
  gone = {('QRF1', '10'), ('QRF1', '11'), ('QNC1', '20')}
  want = model.forecast({k: np.where([(k, t) in gone for t in whole[k][1]], np.nan,
                                     whole[k][0]) for k in IDS}, 3)
  rows = [(k, t, y) for k in IDS for y, t in zip(*whole[k]) if (k, t) not in gone]
  got = model.forecast(pd.DataFrame(rows[::-1], columns=['unique_id', 'ds', 'y']), 3)
  order = [got['ids'].index(k) for k in want['ids']]
  np.testing.assert_array_equal(got['point'][order], want['point'])
  assert got['times'][order[0]] == [str(int(whole[IDS[0]][1][-1]) + s) for s in (1, 2, 3)]
  # Said in its notes, as the command's log says it of a CSV.
  assert ("history: its time column 'ds': 3 absent periods (1 step) in 2 of "
          f"{len(IDS)} series put back as empty cells; the rows of {len(IDS)} series sorted "
          'by time') in got['notes']
  unordered = model.forecast(pd.DataFrame(rows, columns=['unique_id', 'ds', 'y']).drop(
      columns='ds'), 3)
  assert ("history: no column 'ds' (the model's time column): each series' rows are read "
          'in the order given') in unordered['notes']
  header, lines = _rows(csv_path)
  mine = _write(tmp_path / 'mine.csv', header,
                [r for r in lines if (r[0], r[1]) not in gone][::-1])
  predictions.run(workdir, csv_path=mine, steps_ahead=3, out_dir=str(tmp_path / 'out'))
  _, written = _rows(tmp_path / 'out' / 'forecast.csv')
  by_id = {k: [float(r[2]) for r in written if r[0] == k] for k in IDS}
  np.testing.assert_allclose([by_id[k] for k in want['ids']], want['point'], rtol=1e-7)


def test_predict_reads_a_csv_without_the_time_column_as_a_dataframe_without_it(held_out,
                                                                              tmp_path):
  # The model's time column left out: the CSV's rows are read in file order, as the
  # model reads a DataFrame without it, with the same note and the same forecasts.
  import pandas as pd  # pylint: disable=g-import-not-at-top
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  keep = [i for i, h in enumerate(header) if h != 'ds']
  path = _write(tmp_path / 'undated.csv', [header[i] for i in keep],
                [[r[i] for i in keep] for r in rows])
  out = predictions.run(workdir, csv_path=path, steps_ahead=3, out_dir=str(tmp_path / 'o'))
  want = rnnjax.load(workdir).forecast(pd.read_csv(path, dtype={'unique_id': str}), 3)
  note = ("no column 'ds' (the model's time column): each series' rows are read in the "
          'order given')
  assert f'history: {note}' in want['notes']
  assert f'note: --csv_path {path}: {note}' in out['lines'], out['lines']
  _, written = _rows(tmp_path / 'o' / 'forecast.csv')
  assert [r[:2] for r in written] == [[k, f'+{s}'] for k in want['ids'] for s in (1, 2, 3)]
  np.testing.assert_allclose([float(r[2]) for r in written], want['point'].ravel(),
                             rtol=1e-7)
  from rnnjax.figures.plots import forecast_plot  # pylint: disable=g-import-not-at-top
  assert all(os.path.getsize(p) > 0 for p in forecast_plot.plot_panel(**out['plot']))


def test_a_short_history_is_padded_not_refused(held_out):
  model = rnnjax.load(held_out[1])
  fc = model.forecast({'one': [5.0], 'two': [4.0, np.nan, 6.0]}, HORIZON)
  assert fc['point'].shape == (2, HORIZON) and np.all(np.isfinite(fc['point']))
  padded = [n for n in fc['notes'] if n.startswith('history: 2 series shorter than the '
                                                    'lookback (')]  # 4 or 8: its members'.
  assert len(padded) == 1 and padded[0].endswith(
      ") padded on the left with their first value (e.g. 'one': 1 points)")
  x = panel_forecasting.panel_inputs(model.transform, [np.array([4.0, 5.0, 6.0])], 8)['x']
  np.testing.assert_array_equal(x[0, :, 0], [4.0] * 6 + [5.0, 6.0])  # Gap filled, padded.


def test_predict_writes_h_rows_per_series_continuing_ds(tmp_path, held_out, given):
  _, workdir, csv_path = held_out
  out = predictions.run(workdir, out_dir=str(tmp_path / 'a'))
  header, rows = _rows(tmp_path / 'a' / 'forecast.csv')
  assert header == ['unique_id', 'ds', 'forecast', 'lower_80', 'upper_80', 'lower_95',
                    'upper_95']
  whole = _series(csv_path)
  model = rnnjax.load(workdir)
  point = model.forecast({k: whole[k][0] for k in IDS}, HORIZON)['point']
  for i, k in enumerate(IDS):
    mine = [r for r in rows if r[0] == k]
    assert [r[1] for r in mine] == [str(int(whole[k][1][-1]) + s) for s in range(1, 5)]
    np.testing.assert_allclose([float(r[2]) for r in mine], point[i], rtol=1e-7)
  assert len(out['plot']['series']) == 4 and out['plot']['series'][0]['title'].startswith(
      tuple(IDS))
  assert 'best test sMAPE' in out['plot']['series'][0]['title']
  # The scores it picks by are series_scores.csv's (the final model's, on test).
  _, scored = _rows(os.path.join(workdir, 'series_scores.csv'))
  final = {r[0]: tuple(map(float, r[2:])) for r in scored if r[1] == 'final'}
  tests = panel_shown.tested(model)
  for k in IDS:
    assert tuple(tests[k][2][m] for m in ('sMAPE', 'MASE', 'RMSSE')) == pytest.approx(
        final[k], rel=1e-4)
  for ranked, metric in (('owa', 'sMAPE'), ('smape', 'sMAPE'), ('mase', 'MASE'),
                         ('rmsse', 'RMSSE')):
    model.manifest['selection']['metric'] = ranked
    assert panel_shown.shown_metric(model) == metric
  mase = {k: tests[k][2]['MASE'] for k in IDS}
  picks = panel_shown.shown(IDS, mase, metric='MASE')  # --selection=mase's.
  assert picks[0] == (min(mase, key=mase.get), f'best test MASE {min(mase.values()):.3f}')
  # Given a test file: from the end of train, ds continuing the train part's times.
  from_train = predictions.run(given[1], out_dir=str(tmp_path / 'b'), steps_ahead=6)
  _, rows = _rows(tmp_path / 'b' / 'forecast.csv')
  assert len(rows) == 6 * len(IDS)
  train_end = int(whole[IDS[0]][1][-HORIZON - 1])
  assert [r[1] for r in rows[:6]] == [str(train_end + s) for s in range(1, 7)]
  # Said on the console too (a user's finding: only the figure's caption said it).
  said = ("note: forecast from the end of each series' train part: the sweep's test part "
          'was given (--test_path, or a bundled panel\'s), so these steps are its period; '
          '--csv_path with the newest points forecasts past them')
  assert said in from_train['lines'] and said not in out['lines']



def _sweep_data():
  """What export.panel_arrays reads of a sweep's data: no test part, the file's columns."""
  return type('Data', (), {'arrays': {'test': {}}, 'transform': {
      'horizon': HORIZON, 'id_column': 'unique_id', 'time_column': 'ds',
      'target_column': 'y', 'input_columns': [], 'future_columns': [], 'fill': 'linear'}})


def _copy_with(workdir: str, copy: str, entry: str) -> str:
  """A copy of `workdir` whose model manifest also holds the JSON `entry` ("key": value),
  as a sweep that met the case would have saved."""
  shutil.copytree(workdir, copy)
  manifest = os.path.join(copy, 'model', 'manifest.json')
  with open(manifest, encoding='utf-8') as f:
    text = f.read()
  with open(manifest, 'w', encoding='utf-8') as f:
    f.write(text.replace('"forecast_from": "data_end"',
                         f'"forecast_from": "data_end", {entry}', 1))
  return copy

def test_predict_names_the_series_the_sweep_left_out(tmp_path, held_out):
  """Series of the sweep's file too short to hold out a test part are in none of its
  arrays: predict without --csv_path says they are not forecast, and how to."""
  from rnnjax.final.saved import export  # pylint: disable=g-import-not-at-top
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  path = _write(tmp_path / 'new.csv', header, rows + [['NEW1', '1', '5.0'],
                                                      ['NEW2', '1', '1.0'], ['NEW2', '2', '2.0']])
  spec = dataclasses.replace(SPEC, csv_path=path)
  data = _sweep_data()
  arrays, info = export.panel_arrays(spec, data)
  assert info['left_out'] == ['NEW1', 'NEW2'] and list(arrays['ids']) == list(IDS)
  assert 'left_out' not in export.panel_arrays(dataclasses.replace(SPEC, csv_path=csv_path),
                                                data)[1]
  lines = predictions.run(workdir, out_dir=str(tmp_path / 'none'))['lines']
  assert not any('not forecast' in line for line in lines)
  copy = _copy_with(workdir, str(tmp_path / 'wd'), '"left_out": ["NEW1", "NEW2"]')
  lines = predictions.run(copy, out_dir=str(tmp_path / 'two'))['lines']
  assert ("note: 2 series of the sweep's file are not forecast: with at most 4 points they "
          "were left out of the sweep ('NEW1', 'NEW2'); --csv_path=FILE forecasts every "
          'series of FILE, these too, from what they have') in lines, lines
  assert panel_predictions.left_out_note(['NEW1'], 4) == (
      "1 series of the sweep's file is not forecast: with at most 4 points it was left out "
      "of the sweep ('NEW1'); --csv_path=FILE forecasts every series of FILE, this one too, "
      'from what it has')


def test_predict_names_the_sweeps_series_a_csv_lacks(tmp_path, held_out):
  """A --csv_path of the sweep's panel with some series dropped forecasts those it holds
  and says which it lacks; a file of new series alone, or of all the sweep's, says nothing."""
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  new = [['NEW1', str(t), str(float(t % 4))] for t in range(1, 21)]
  path = _write(tmp_path / 'some.csv', header, [r for r in rows if r[0] not in IDS[4:]] + new)
  out = predictions.run(workdir, csv_path=path, steps_ahead=2, out_dir=str(tmp_path / 'o'),
                        figures=False)
  assert ("note: 2 of the sweep's 6 series are not in --csv_path, so not forecast ('QND1', "
          "'QND2'); the 5 series it holds are forecast, 1 of them new") in out['lines'], (
              out['lines'])
  _, written = _rows(tmp_path / 'o' / 'forecast.csv', ids=IDS[:4] + ('NEW1',))
  assert sorted({r[0] for r in written}) == sorted(IDS[:4] + ('NEW1',))
  for name, kept in (('all.csv', rows), ('new.csv', new)):
    lines = predictions.run(workdir, csv_path=_write(tmp_path / name, header, kept),
                            steps_ahead=2, out_dir=str(tmp_path / name[:3]),
                            figures=False)['lines']
    assert not any('not in --csv_path' in line for line in lines), (name, lines)
  assert panel_predictions.absent_note(['a', 'b'], ['a']) == (
      "1 of the sweep's 2 series is not in --csv_path, so not forecast ('b'); the 1 series "
      'it holds is forecast')


def test_predict_says_where_the_sweeps_series_ended_with_filled_rows(tmp_path, held_out):
  """A series of the sweep's file whose last rows have no target is saved filled: the
  manifest names it, and predict without --csv_path says so, as it does for a CSV."""
  from rnnjax.final.saved import export  # pylint: disable=g-import-not-at-top
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  last = [i for i, r in enumerate(rows) if r[0] == IDS[1]][-2:]
  holed = [r[:2] + [''] if i in last else r for i, r in enumerate(rows)]
  data = _sweep_data()
  spec = dataclasses.replace(SPEC, csv_path=_write(tmp_path / 'holed.csv', header, holed))
  info = export.panel_arrays(spec, data)[1]
  assert info['filled_ends'] == [[IDS[1], 2, rows[last[0]][1]]]
  assert 'filled_ends' not in export.panel_arrays(dataclasses.replace(SPEC, csv_path=csv_path),
                                                  data)[1]
  copy = _copy_with(workdir, str(tmp_path / 'wd'),
                    f'"filled_ends": [["{IDS[1]}", 2, "{rows[last[0]][1]}"]]')
  lines = predictions.run(copy, out_dir=str(tmp_path / 'out'))['lines']
  assert (f"note: the sweep's series: 1 series ends with rows without a target (e.g. "
          f"'{IDS[1]}': its last 2, from {rows[last[0]][1]}), filled with its last value: "
          'each forecast starts after them') in lines, lines


def test_a_model_saved_before_the_zero_window_rule_says_so_where_a_window_ends_on_0(
    held_out):
  """A --normalization=last model whose manifest lacks 'zero_window_scale' (saved before
  a window ending on 0 was scaled by its mean |value|; it may have been trained reading
  it in units) says so where a history ends on 0; a model saved now or from a commit
  known to have the rule (before the key, 2026-12-05/06), or a history that ends
  elsewhere, says nothing of it."""
  from rnnjax.final.saved import model_files  # pylint: disable=g-import-not-at-top
  from rnnjax.final.saved import panel_forecasting  # pylint: disable=g-import-not-at-top
  from rnnjax.final.saved import tuned  # pylint: disable=g-import-not-at-top
  from rnnjax.results import files  # pylint: disable=g-import-not-at-top
  manifest, groups, arrays = model_files.read(os.path.join(held_out[1], 'model'))
  assert manifest['zero_window_scale'] == 'mean_abs'
  assert {g.cfg.normalization for g in groups} == {'last'}
  ending = {'a': np.r_[np.arange(1.0, 12.0), 0.0], 'b': np.arange(1.0, 13.0)}
  said = lambda model, given: [n for n in model.forecast(given, HORIZON, levels=())['notes']
                               if 'end on 0' in n]
  assert not said(tuned.TunedModel(manifest, groups, arrays), ending)
  del manifest['zero_window_scale']
  # Saved from a commit this checkout knows to have the rule: nothing to say.
  since = panel_forecasting.ZERO_WINDOW_RULE
  if files.descends_from(since, since):  # (None where the tests run outside a checkout.)
    rule = dict(manifest, versions=dict(manifest['versions'], git=since))
    assert not said(tuned.TunedModel(rule, groups, arrays), ending)
  # From the commit before it (or one git cannot place): said, hedged.
  manifest['versions'] = dict(manifest['versions'],
                              git='7b5ce84cec1a575e445c9110018d8487c1478a99')
  old = tuned.TunedModel(manifest, groups, arrays)
  assert said(old, ending) == [
      "history: 1 series end on 0 (e.g. 'a'), and this model's manifest predates the rule "
      'for such windows: its --normalization=last members now read them scaled by their '
      'mean |value|; if it was saved before 2026-12-05 (commit 5ec81b0) they were trained '
      'reading them unscaled, so these forecasts differ from what it was scored with: '
      'sweep again to train under the rule']
  assert not said(old, {'b': ending['b']})


def test_predict_forecasts_from_the_end_of_each_series_of_a_csv(tmp_path, held_out,
                                                                 monkeypatch):
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  rows = [r for r in rows if r[0] in IDS[:2] and int(r[1]) <= 30]
  mine = _write(tmp_path / 'mine.csv', header, rows)
  out = predictions.run(workdir, csv_path=mine, steps_ahead=3,
                        out_dir=str(tmp_path / 'out'))
  assert not any('filled' in line for line in out['lines'])
  # The caption's sweep-test line after one space, not two, where the model has no note
  # (validation holds errors enough for 50 % intervals).
  note = predictions.run(workdir, csv_path=mine, steps_ahead=3, levels=(0.5,),
                         out_dir=str(tmp_path / 'half'))['plot']['note']
  assert "step's). Sweep-test sMAPE: " in note and '  ' not in note, note
  kind = rnnjax.load(workdir).kind  # A sentence that names the final model's kind.
  assert note.startswith(f'{predictions.FINAL_WORDS[kind]}, forecast from '), note
  # Two empty cells, each filled as the sweep filled its data, and said so.
  holed = [r[:2] + [''] if r[0] == IDS[0] and int(r[1]) in (10, 11) else r for r in rows]
  again = predictions.run(workdir, csv_path=_write(tmp_path / 'holed.csv', header, holed),
                          steps_ahead=3, out_dir=str(tmp_path / 'holed'))
  assert ('note: 2 empty cells of --csv_path filled, as the sweep filled its data: 2 of '
          'the target by linear interpolation') in again['lines']
  # The cells are counted once (panel_histories' count serves the note), once a series.
  counted, counting = [], gap_fill.fill_counts
  monkeypatch.setattr(gap_fill, 'fill_counts',
                      lambda *a, **kw: counted.append(1) or counting(*a, **kw))
  panel_predictions.histories(rnnjax.load(workdir), _write(tmp_path / 'h.csv', header, holed),
                              [])
  assert len(counted) == 2, counted
  # A series newer than the lookback: padded, said of the file (not of `histories`).
  short = rows + [['NEW', '29', '5.0'], ['NEW', '30', '6.0']]
  path = _write(tmp_path / 'short.csv', header, short)
  padded = predictions.run(workdir, csv_path=path, steps_ahead=3,
                           out_dir=str(tmp_path / 'short'))['lines']
  assert any(line.startswith(f'note: --csv_path {path}: 1 series shorter than the lookback')
             for line in padded), padded
  _, written = _rows(tmp_path / 'out' / 'forecast.csv')
  assert [r[:2] for r in written] == [[k, str(30 + s)] for k in IDS[:2] for s in (1, 2, 3)]
  want = rnnjax.load(workdir).forecast({k: _series(mine)[k][0] for k in IDS[:2]}, 3)
  np.testing.assert_allclose([float(r[2]) for r in written], want['point'].ravel(),
                             rtol=1e-7)
  assert all(s['test'] is None for s in out['plot']['series'])  # Not the sweep's series.
  from rnnjax.figures.plots import forecast_plot  # pylint: disable=g-import-not-at-top
  paths = forecast_plot.plot_panel(**out['plot'])
  assert all(os.path.getsize(p) > 0 for p in paths)


def test_bad_input_is_one_line(tmp_path, held_out):
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  no_id = _write(tmp_path / 'no_id.csv', ['series', 'ds', 'y'], rows)
  with pytest.raises(InputError, match=r"^--csv_path: .*no_id.csv has no column "
                     r"'unique_id'.*\(the model's id column\)$"):
    predictions.run(workdir, csv_path=no_id, out_dir=str(tmp_path / 'x'))
  empty = _write(tmp_path / 'empty.csv', header, rows + [['X', '1', ''], ['X', '2', '']])
  with pytest.raises(InputError, match=r"^--csv_path: .*empty.csv: series 'X' is empty"):
    predictions.run(workdir, csv_path=empty, out_dir=str(tmp_path / 'x'))
  assert not os.path.exists(tmp_path / 'x')
  model = rnnjax.load(workdir)
  with pytest.raises(InputError, match=r"^history: series 'a' is empty"):
    model.forecast({'a': [], 'b': [1.0]}, 2)
  with pytest.raises(InputError, match='^history: give a long DataFrame'):
    model.forecast(np.ones(5), 2)
  with pytest.raises(InputError, match=r"^history: series 'b': holds values that are not "
                     r"numbers \(row 2: 'n/a'\)$"):
    model.forecast({'a': [1.0, 2.0], 'b': [1.0, 2.0, 'n/a']}, 2)
  # What other tasks' models do is refused in one line naming it, not a KeyError.
  assert (model.columns, model.num_targets) == (['y'], 1)
  for call, name in ((lambda: model.check_history(np.ones(9)), 'history'),
                     (lambda: model.backtest(np.ones(9), [5]), 'series'),
                     (lambda: model.predict([np.ones(3)]), 'sequences'),
                     (lambda: model.sample('ab'), 'prompt')):
    with pytest.raises(InputError, match=f'^{name}: this is a panel model, not a '):
      call()
  with pytest.raises(InputError, match='^--future_path: this model was swept without input '
                     'columns: .* takes no --future_path'):
    predictions.run(workdir, future_path=csv_path)


def test_predicts_csv_errors_name_its_flag_whatever_the_sweeps_words(tmp_path, held_out,
                                                                     monkeypatch):
  """predict's CSV holds the model's columns, which its own flags do not name: a column
  missing, or a bad time cell, is said by --csv_path and as the model's column
  (long_rows.read_long's `names`), not in the sweep's words, even where those change."""
  from rnnjax.data import common  # pylint: disable=g-import-not-at-top
  _, workdir, csv_path = held_out
  header, rows = _rows(csv_path)
  no_id = _write(tmp_path / 'no_id.csv', ['series', 'ds', 'y'], rows)
  monkeypatch.setitem(long_rows.FLAGS, 'id', '--series_column')  # The sweep's words, reworded.
  with pytest.raises(InputError, match=r"^--series_column: .*no_id.csv has no column"):
    panel.load(csv_path=no_id, id_column='unique_id', target_column='y', horizon=HORIZON)
  with pytest.raises(InputError, match=rf"^--csv_path: {re.escape(no_id)} has no column "
                     r"'unique_id'; columns are \['series', 'ds', 'y'\] \(the model's id "
                     r"column\)$"):
    predictions.run(workdir, csv_path=no_id, out_dir=str(tmp_path / 'x'))
  # A time cell that is not a time: how to read rows in file order, as predict does.
  typo = _write(tmp_path / 'typo.csv', header,
                [r[:1] + ['x'] + r[2:] if i == 3 else r for i, r in enumerate(rows)])
  with pytest.raises(InputError) as e:
    predictions.run(workdir, csv_path=typo, out_dir=str(tmp_path / 'x'))
  assert str(e.value).startswith(f"--csv_path: series '{rows[3][0]}' of {typo} has 'x', not "
                                 'read as a time'), e.value
  assert str(e.value).endswith("or give the file without column 'ds' to read rows in file "
                               'order') and '--time_column' not in str(e.value), e.value
  # Its note of absent periods put back names it so too; the file is read once.
  gone = _write(tmp_path / 'gone.csv', header, rows[:2] + rows[3:])
  opened, read_file = [], common.read_file
  monkeypatch.setattr(common, 'read_file',
                      lambda path, **kw: opened.append(path) or read_file(path, **kw))
  notes = []
  panel_predictions.histories(rnnjax.load(workdir), gone, notes)
  assert opened.count(gone) == 1, opened
  assert notes[0] == (f"--csv_path {gone}: its time column 'ds': 1 absent period (1 step) "
                      f'in 1 of {len(IDS)} series put back as empty cells'), notes


def test_ids_given_as_numbers_are_read_as_text(held_out):
  """A dict's keys become text before anything reads them (7 beside 'a' sorts); 7 and
  '7' are one id, refused. A DataFrame whose id column was read as numbers (plain
  pd.read_csv of ids 007, 010) says so in a note: the ids are '7' and '10'."""
  model = rnnjax.load(held_out[1])
  fc = model.forecast({7: [1.0, 2.0, 3.0], 'a': [4.0, 5.0, 6.0]}, 2)
  assert fc['ids'] == ['7', 'a']
  np.testing.assert_array_equal(
      fc['point'], model.forecast({'7': [1.0, 2.0, 3.0], 'a': [4.0, 5.0, 6.0]}, 2)['point'])
  with pytest.raises(InputError, match=r"^history: keys 7 and '7' both name series '7' "
                     r'\(ids are read as text\); give each series once$'):
    model.forecast({7: [1.0, 2.0], '7': [3.0, 4.0]}, 2)
  pd = pytest.importorskip('pandas')
  frame = pd.DataFrame({'unique_id': [7, 7, 7, 10, 10, 10], 'ds': [1, 2, 3] * 2,
                        'y': [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
  said = ("history: ids were read as numbers (column 'unique_id', e.g. '7'), so leading "
          "zeros in the file are lost ('007' is '7'); read them as text: "
          "pd.read_csv(path, dtype={'unique_id': str})")
  fc = model.forecast(frame, 2)
  assert fc['ids'] == ['7', '10'] and said in fc['notes']
  as_text = model.forecast(frame.astype({'unique_id': str}), 2)
  assert not any('read as numbers' in n for n in as_text['notes'])


def test_a_frame_read_by_pd_read_csv_from_a_file_with_an_empty_cell_reads_as_the_file(
    held_out):
  """pd.read_csv reads a column of step numbers or ids with one empty cell as floats,
  the cell as NaN: the floats are the file's whole numbers (times continue '7', not
  '+1' after '6.0', read as labels in the order given), and an empty time or id cell is
  refused in one line as the sweep refuses its file's (not a row read in the order
  given, not a series 'nan'). A lone one-row series continues on the sweep's data's
  step (no series given has two rows to read it from)."""
  pd = pytest.importorskip('pandas')
  model = rnnjax.load(held_out[1])
  frame = pd.DataFrame({'unique_id': ['a'] * 6 + ['b'] * 6, 'ds': list(range(1, 7)) * 2,
                        'y': np.arange(1.0, 13.0)})
  want = model.forecast(frame, 2)
  as_floats = model.forecast(frame.astype({'ds': float}), 2)
  assert as_floats['times'] == want['times'] == [['7', '8'], ['7', '8']]
  np.testing.assert_array_equal(as_floats['point'], want['point'])
  assert not any('not read as a time' in n for n in as_floats['notes'])
  no_time = frame.astype({'ds': float})
  no_time.loc[3, 'ds'] = np.nan
  with pytest.raises(InputError, match=r"^history: .*'a'.* has an empty time cell"):
    model.forecast(no_time, 2)
  no_id = frame.copy()
  no_id.loc[4, 'unique_id'] = np.nan
  with pytest.raises(InputError, match=r"^history: row 4: its id column 'unique_id' is "
                     r"empty$"):
    model.forecast(no_id, 2)
  worded = frame.astype({'y': object})
  worded.loc[7, 'y'] = '12 units'  # A CLI names it by line (not a number), so here.
  with pytest.raises(InputError, match=r"^history: column 'y': holds values that are not "
                     r"numbers \(row 7: '12 units'\)$"):
    model.forecast(worded, 2)
  alone = model.forecast(pd.DataFrame({'unique_id': ['a'], 'ds': [9], 'y': [5.0]}), 2)
  assert alone['times'] == [['10', '11']]


def test_series_without_a_naive_error_have_their_intervals_scaled_by_level_said(held_out):
  """A constant or one-point series has no naive error (MASE's scale) to scale its
  intervals by: its mean level is, and a note names it."""
  model = rnnjax.load(held_out[1])
  fc = model.forecast({'const': [7.0] * 12, 'moves': np.arange(1.0, 13.0), 'one': [5.0]},
                      HORIZON)
  flat = [n for n in fc['notes'] if 'never change' in n]
  assert flat == ["history: 2 series never change in their history, or have one point or "
                  "repeat each season exactly ('const', 'one'): with no naive error to scale "
                  "their intervals by, they are scaled by the series' mean level |v| (1 where "
                  "that is 0; 7 for 'const'), however little it moves"]
  assert not any('never change' in n for n in model.forecast(
      {'moves': np.arange(1.0, 13.0)}, HORIZON)['notes'])


def _dated(workdir, tmp_path, cell):
  """A copy of `workdir`'s model whose sweep's data are dated: step t is `cell(t)`."""
  model_dir = tmp_path / 'dated' / 'model'
  shutil.copytree(os.path.join(workdir, 'model'), model_dir)
  with np.load(model_dir / 'arrays.npz') as f:
    arrays = dict(f)
  for name in ('times', 'test_times'):
    arrays[name] = np.vectorize(lambda t: cell(int(t)))(arrays[name]).astype(str)
  np.savez(model_dir / 'arrays.npz', **arrays)
  info = files.read_json(str(model_dir / 'manifest.json'))  # As the sweep would write it.
  info['digests']['arrays.npz'] = files.digest(str(model_dir / 'arrays.npz'))
  files.write_json(str(model_dir / 'manifest.json'), info)
  return str(tmp_path / 'dated')


def test_histories_dated_at_another_step_than_the_sweeps_data_are_refused(tmp_path, held_out):
  """Weekly rows given to a model swept on monthly data are refused, naming both steps;
  the sweep's own data at its own step are read (also by predict); dates given to a
  model swept on step numbers are read as its steps, said in a note."""
  pd = pytest.importorskip('pandas')
  month = lambda t: f'{2000 + (t - 1) // 12}-{(t - 1) % 12 + 1:02d}-01'
  week = lambda t: str(np.datetime64('2000-01-03') + 7 * (t - 1))
  workdir = _dated(held_out[1], tmp_path, month)
  model, whole = rnnjax.load(workdir), _series(held_out[2])
  rows = lambda cell: pd.DataFrame([(k, cell(int(t)), y) for k in IDS
                                    for y, t in zip(*whole[k])],
                                   columns=['unique_id', 'ds', 'y'])
  with pytest.raises(InputError, match=r"^history: its rows step by a week; the model's "
                     r'data stepped by a month \(its season, lookback and intervals count '
                     r'those steps\): give rows a month apart'):
    model.forecast(rows(week), 2)
  monthly = model.forecast(rows(month), 2)
  assert not any('apart' in n for n in monthly['notes'])
  assert any(n.startswith("history: its times are step numbers, where the model's data "
                          'were dates a month apart') for n in model.forecast(
                              rows(str), 2)['notes'])
  assert any(n.startswith("history: its rows are dated, a week apart, where the model's "
                          'data were step numbers') for n in rnnjax.load(held_out[1]).forecast(
                              rows(week), 2)['notes'])
  # predict --csv_path: the file named; the sweep's data at its own step forecast. Series
  # the sweep never scored fill forecast.png's four panels at random.
  header = ['unique_id', 'ds', 'y']
  weekly = _write(tmp_path / 'weekly.csv', header, rows(week).astype(str).values.tolist())
  with pytest.raises(InputError, match=r'^--csv_path: .*weekly.csv: its rows step by a week; '
                     r"the model's data stepped by a month"):
    predictions.run(workdir, csv_path=weekly, out_dir=str(tmp_path / 'x'))
  assert not os.path.exists(tmp_path / 'x')
  new = rows(month).assign(unique_id=lambda f: 'new-' + f['unique_id'])
  out = predictions.run(workdir, csv_path=_write(tmp_path / 'monthly.csv', header,
                                                 new.astype(str).values.tolist()),
                        steps_ahead=2, out_dir=str(tmp_path / 'out'))
  np.testing.assert_allclose(
      np.stack([s['point'] for s in out['plot']['series']]),
      monthly['point'][[IDS.index(s['title'][4:].split(':')[0])
                        for s in out['plot']['series']]], rtol=1e-7)
  assert [s['title'].split(': ')[1] for s in out['plot']['series']] == ['random'] * 4
  assert out['lines'][0].splitlines()[-1].endswith(
      '4 drawn in forecast.png: at random, none scored by the sweep; every series is in '
      'forecast.csv)')


def test_a_model_that_takes_logs_refuses_a_history_not_above_zero(tmp_path, held_out, given):
  """In one line naming the series and where; a model without log members forecasts
  it."""
  header, rows = _rows(held_out[2])
  rows = [r[:2] + ['0' if r[0] == 'QNC1' and r[1] == '7' else r[2]] for r in rows]
  zero = _write(tmp_path / 'zero.csv', header, rows)
  # Where: the file's time cell (ds 7), as the sweep says it.
  with pytest.raises(InputError, match=r"^--csv_path: .*zero.csv: series 'QNC1' has 0 at 7; "
                     r"this model's members take logs \(--normalization=log\)"):
    predictions.run(given[1], csv_path=zero, out_dir=str(tmp_path / 'x'))
  assert not os.path.exists(tmp_path / 'x')
  assert np.all(np.isfinite(rnnjax.load(held_out[1]).forecast(
      {'QNC1': [3.0, 0.0, 4.0]}, HORIZON)['point']))
  with pytest.raises(InputError, match=r"^history: series 'QNC1' has -1 at point 2;"):
    rnnjax.load(given[1]).forecast({'QNC1': [3.0, -1.0, 4.0]}, HORIZON)


def test_the_model_in_mlflow_forecasts_as_rnnjax_load(held_out):
  pd = pytest.importorskip('pandas')
  pytest.importorskip('mlflow', reason='the mlflow extra is not installed')
  from rnnjax.final.use import mlflow_model
  from rnnjax.final.use import mlflow_packaging
  workdir = held_out[1]
  pyfunc = mlflow_model.TunedPyfunc()
  pyfunc.load_context(type('Context', (), {'artifacts': {
      mlflow_model.ARTIFACT: os.path.join(workdir, 'model')}})())
  whole = _series(held_out[2])
  frame = pd.DataFrame([(k, t, y) for k in IDS for y, t in zip(*whole[k])],
                       columns=['unique_id', 'ds', 'y'])
  table = pyfunc.predict(None, frame, {'steps': 2})
  assert list(table.columns[:3]) == ['unique_id', 'ds', 'forecast'] and len(table) == 12
  want = rnnjax.load(workdir).forecast(frame, 2)
  np.testing.assert_array_equal(table['forecast'].to_numpy().reshape(6, 2), want['point'])
  assert mlflow_packaging.metadata(pyfunc.model.manifest)['id_column'] == 'unique_id'


def test_a_few_series_are_all_drawn_and_new_data_names_its_scores():
  """Three series (a new CSV's): all three drawn, none left out at random. Scores of a
  sweep's test part beside a forecast from other histories are called the sweep's."""
  scores = {'a': 0.5, 'b': 0.2, 'c': 0.9}
  assert panel_shown.shown(['a', 'b', 'c'], {}, metric='MASE') == [
      ('a', ''), ('b', ''), ('c', '')]
  assert panel_shown.shown(['a', 'b', 'c'], scores, metric='MASE',
                                 new_data=True) == [
      ('b', 'best sweep-test MASE 0.200'), ('c', 'worst sweep-test MASE 0.900'),
      ('a', 'sweep-test MASE 0.500')]
  # A panel of one: its score, not 'best' (its forecast.png was titled so).
  assert panel_shown.shown(['a'], scores) == [('a', 'test sMAPE 0.5')]
  many = [f's{i}' for i in range(9)]
  picks = panel_shown.shown(many, {k: i for i, k in enumerate(many)})
  assert len(picks) == 2 + panel_shown.RANDOM_SHOWN
  assert picks[0] == ('s0', 'best test sMAPE 0.0')
  assert [label.split(',')[0] for _, label in picks[2:]] == ['random', 'random']
  # None scored (a --csv_path of new series): the best's and worst's places drawn too;
  # one scored: it, and three drawn.
  assert [label for _, label in panel_shown.shown(many, {}, new_data=True)] == [
      'random'] * 4
  one = panel_shown.shown(many, {'s5': 0.5}, new_data=True)
  assert one[0] == ('s5', 'best sweep-test sMAPE 0.5') and len(one) == 4


def test_the_printed_table_holds_whole_series_and_says_how_many_of_all():
  # 8 steps: 3 series fill the 24 lines; the 4th drawn is not cut after 0 of its rows.
  header = ['unique_id', 'ds', 'forecast', 'lower_80', 'upper_80']
  rows = [[k, str(t), 1.0, 0.5, 1.5] for k in ('a', 'b', 'c', 'd', 'e') for t in range(8)]
  lines = panel_shown.table(header, rows, ['c', 'a', 'e', 'b'], total=5).splitlines()
  assert [line.split()[0] for line in lines[1:-1]] == ['c'] * 8 + ['a'] * 8 + ['e'] * 8
  assert lines[-1] == ("(3 of 5 series shown, 4 drawn in forecast.png: the best and worst by "
                       "the sweep's test score, and random ones; every series is in "
                       'forecast.csv)')
  few = panel_shown.table(header, rows[:16], ['a', 'b'], total=2).splitlines()
  assert len(few) == 17  # All shown: no such line.
  # Series the sweep never scored (a --csv_path of new ones): drawn at random, said so.
  picks = [k for k, _ in panel_shown.shown(list('abcde'), {}, new_data=True)]
  assert panel_shown.table(header, rows, picks, total=5, scored=False).splitlines()[
      -1] == ('(3 of 5 series shown, 4 drawn in forecast.png: at random, none scored by the '
              'sweep; every series is in forecast.csv)')
  assert panel_shown.table(header, rows, list('abcd'), total=4, max_rows=8).endswith(
      '(1 of 4 series shown, 4 drawn in forecast.png: every one; every series is in '
      'forecast.csv)')


def test_with_folds_each_folds_validation_windows_calibrate_the_intervals(tmp_path, held_out):
  """--folds=2: the final member's errors on the last fold's validation windows, then its
  fold-0 sibling's (same configuration and seed, trained up to fold 0's origin) on fold 0's
  own: twice the errors per step, each set scoring its member's validation MASE."""
  spec = dataclasses.replace(SPEC, csv_path=held_out[2], lookback='4', folds=2,
                             ensemble='single')
  log = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=log.append)
  model = rnnjax.load(str(tmp_path / 'wd'))
  residuals = model.arrays['residuals'][..., 0]
  assert residuals.shape == (HORIZON, 2 * len(IDS))
  assert model.manifest['intervals']['errors_per_step'] == [2 * len(IDS)] * HORIZON
  [uid] = summary['final']['members']
  val = {m['uid']: m['val']['mase'] for m in summary['members']}
  assert {m['fold'] for m in summary['members'] if m['uid'] == uid - 1} == {0}
  np.testing.assert_allclose(residuals[:, :len(IDS)].mean(), val[uid], rtol=1e-5)
  np.testing.assert_allclose(residuals[:, len(IDS):].mean(), val[uid - 1], rtol=1e-5)
  assert 'at each of 2 fold origins' in model.manifest['intervals']['method']
  assert model.manifest['intervals']['calibrated_on'] == (
      "the final model, and its members as trained on each earlier fold (on that fold's "
      'validation windows)')
  line = [m for m in log if m.startswith('intervals: ')]
  assert line == [
      'intervals: split conformal on 12 scaled validation errors per step ahead (one per '
      'validated series at each of 2 fold origins); 95% intervals from step 1 on: validation '
      'holds too few errors for this level (12 at step 1, at least 19 needed), the largest '
      f'is used ({intervals.PANEL_FEW})'], log


def test_a_fold_whose_members_are_not_held_is_left_out_of_the_calibration():
  # uid = seed_uid * folds + fold: members 1 and 3 (fold 1) have siblings 0 and 2 (fold 0).
  unheld = types.SimpleNamespace(state=None, uids=(0, 2), data_key=(4, 0))
  assert export.fold_groups([unheld], [1, 3, 3], None, {}, folds=2) == []
  assert export.fold_groups([unheld], [1], None, {}, folds=1) == []


def test_without_figures_the_printed_table_names_no_figure(held_out, tmp_path):
  """predict --figures=false: the table's closing line said '4 drawn in forecast.png' of
  a figure never drawn; it now says how many series it shows, and where the rest are."""
  out = predictions.run(held_out[1], steps_ahead=8, out_dir=str(tmp_path / 'a'),
                        figures=False)
  assert out['lines'][0].splitlines()[-1] == (
      f'(3 of {len(IDS)} series shown; every series is in forecast.csv)')
  drawn = predictions.run(held_out[1], steps_ahead=8, out_dir=str(tmp_path / 'b'))
  assert 'drawn in forecast.png' in drawn['lines'][0].splitlines()[-1]


def test_a_panel_model_builds_its_forecast_inputs_once_per_lookback(monkeypatch):
  """A final model has a group per bucket (lookback x normalisation x loss: 12 groups, 3
  lookbacks in m1_quarterly.flags); on 30,000 series each build of the inputs took ~1 s,
  and predict builds them for the test part and the future: once per lookback, shared."""
  from rnnjax.final.saved import tuned  # pylint: disable=g-import-not-at-top
  built = []
  monkeypatch.setattr(panel_forecasting, 'panel_inputs',
                      lambda transform, histories, lookback, inputs=None, ahead=None: (
                          built.append(lookback) or {'x': np.full(len(histories), lookback)}))
  groups = [types.SimpleNamespace(lookback=k) for k in (4, 8, 4, 8, 4)]
  model = types.SimpleNamespace(transform={}, outputs=lambda make: [
      make(g)['x'].tolist() for g in groups])
  assert tuned.TunedModel._panel_outputs(model, [np.ones(5)] * 2) == [  # pylint: disable=protected-access
      [4, 4], [8, 8], [4, 4], [8, 8], [4, 4]]
  assert built == [4, 8]


def _scored_on_observed_cells(workdir, final, empty):
  """(model, its test forecasts, their split, each cell's sMAPE): the saved model keeps
  which test cells were `empty` <bool>[S, h], gives the summary's `final` test figures
  back exactly, and the final model's sMAPE is NumPy's over the observed cells alone."""
  model = rnnjax.load(str(workdir))
  np.testing.assert_array_equal(model.arrays['test_observed'], ~empty)
  assert model.evaluate_panel() == final  # Same program, same data, same cells.
  forecasts, split = model.panel_test_forecasts()
  y = split['y'][..., 0].astype(np.float32).astype(np.float64)
  f = forecasts.astype(np.float32).astype(np.float64)
  per_step = 200 * np.abs(y - f) / (np.abs(y) + np.abs(f))
  observed_only = np.mean([per_step[i][~empty[i]].mean() for i in range(len(y))])
  assert final['smape'] == pytest.approx(observed_only, rel=1e-5)
  assert abs(final['smape'] - per_step.mean()) > 1e-3
  return model, forecasts, split, per_step


def _gappy_sweep(tmp_path, empty, part):
  """(spec, summary, log lines) of a tiny sweep of M1 quarterly's first 3 series as a
  user's CSV, its `part` ('test': each series' last HORIZON rows, held out; 'val': the
  HORIZON before them) empty where `empty` <bool>[3, HORIZON] says."""
  header, rows = _rows(panel.bundled_paths('m1_quarterly')[0], IDS[:3])
  cut = slice(-HORIZON, None) if part == 'test' else slice(-2 * HORIZON, -HORIZON)
  last = {k: [i for i, r in enumerate(rows) if r[0] == k][cut] for k in IDS[:3]}
  for s, k in enumerate(IDS[:3]):
    for step in np.flatnonzero(empty[s]):
      rows[last[k][step]][2] = ''
  spec = dataclasses.replace(
      SPEC, csv_path=_write(tmp_path / 'gappy.csv', header, rows), lookback='4',
      learning_rate='1e-2', train_steps=20, eval_every=20, ensemble='single')
  lines = []
  return spec, sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append), lines


def test_empty_test_cells_are_left_out_of_the_models_scores_and_load_gives_them_back(
    tmp_path):
  """A test part held out with empty target cells (filled): the final model's test
  scores, its series' rows, its intervals' coverage and the saved model's figures are
  means over the observed cells only; a model saved before the mask scores them all."""
  empty = np.zeros((3, HORIZON), bool)
  empty[0, 1] = empty[0, 2] = empty[2, 3] = True
  spec, summary, lines = _gappy_sweep(tmp_path, empty, 'test')
  assert any('left out of the test scores' in l for l in lines)
  final = summary['final']['test']
  model, forecasts, split, per_step = _scored_on_observed_cells(tmp_path / 'wd', final, empty)
  # Each series' rows (series_scores.csv) average to the summary's figures.
  with open(tmp_path / 'wd' / 'series_scores.csv', encoding='utf-8') as file:
    smapes = [float(r[2]) for r in csv.reader(file) if r[1] == 'final']
  assert np.mean(smapes) == pytest.approx(final['smape'], rel=1e-4)
  # predict's scores and drawn truth: the observed cells only.
  shown = panel_shown.tested(model)
  assert np.mean([s['sMAPE'] for _, _, s in shown.values()]) == pytest.approx(
      final['smape'], rel=1e-5)
  assert np.isnan(shown[IDS[0]][1]).tolist() == empty[0].tolist()
  # The intervals' test coverage counts the 9 observed cells, not the 12.
  coverage = model.manifest['intervals']['test_coverage']['0.8']['all_steps']
  widths, _ = intervals.widths(model.arrays['residuals'], 0.8, HORIZON)
  y = split['y'][..., 0].astype(np.float32).astype(np.float64)
  errors = np.abs(y - forecasts) / split['mase_denom'][:, None]
  assert coverage == pytest.approx(np.mean((errors <= widths[:, 0])[~empty]))
  # A model saved before the mask (no test_observed): every cell scored, as then.
  del model.arrays['test_observed']
  assert model.evaluate_panel()['smape'] == pytest.approx(per_step.mean(), rel=1e-5)


def test_a_given_test_file_s_empty_cells_are_left_out_of_the_models_scores(tmp_path):
  """A given test file with empty target cells (and a period without a row), once
  refused: the final model's test scores are means over the observed cells, and the
  saved model's evaluate_panel() gives them back (test_observed saved)."""
  header, rows = _rows(panel.bundled_paths('m1_quarterly')[0], IDS[:3])
  last = [r for k in IDS[:3] for r in [r for r in rows if r[0] == k][-HORIZON:]]
  empty = np.zeros((3, HORIZON), bool)
  empty[0, 1] = empty[0, 2] = empty[2, 3] = True
  test = [list(r) for r in last]
  for s, step in zip(*np.nonzero(empty)):
    test[s * HORIZON + step][2] = ''
  del test[2]  # The first series' third test period: no row, put back empty.
  spec = dataclasses.replace(
      SPEC, csv_path=_write(tmp_path / 'train.csv', header, [r for r in rows if r not in last]),
      test_path=_write(tmp_path / 'test.csv', header, test), lookback='4',
      learning_rate='1e-2', train_steps=20, eval_every=20, ensemble='single')
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert any(l.startswith('--test_path: 3 empty target cell(s)') for l in lines), lines
  _scored_on_observed_cells(tmp_path / 'wd', summary['final']['test'], empty)


def test_empty_validation_cells_choose_nothing_and_calibrate_no_interval(tmp_path):
  """Empty target cells of the validation windows (filled): the final model's validation
  scores are means over the observed cells (what chose it), and no interval is
  calibrated on an empty cell (its scaled error is NaN, skipped: one error fewer)."""
  empty = np.zeros((3, HORIZON), bool)
  empty[0, 1] = empty[0, 2] = empty[2, 0] = True
  spec, summary, lines = _gappy_sweep(tmp_path, empty, 'val')
  assert any('left out of the validation scores' in l for l in lines)
  data = task_data.load(task='panel', csv_path=spec.csv_path, id_column='unique_id',
                        time_column='ds', target_columns=('y',), lookback=4,
                        horizon=HORIZON, season=4, classical_baselines=False)
  val = data.arrays['val']
  np.testing.assert_array_equal(val['observed'], ~empty)
  model = rnnjax.load(str(tmp_path / 'wd'))
  forecasts = model.outputs(lambda g: {k: val[k] for k in ('x', 'level', 'seasonal',
                                                              'floor')})
  y = val['y'][..., 0].astype(np.float64)
  f = np.asarray(forecasts, np.float32).astype(np.float64)
  per_step = 200 * np.abs(y - f) / (np.abs(y) + np.abs(f))
  observed_only = np.mean([per_step[i][~empty[i]].mean() for i in range(3)])
  final = summary['final']['val']
  assert final['smape'] == pytest.approx(observed_only, rel=1e-4)
  assert abs(final['smape'] - per_step.mean()) > 1e-3
  # Calibration: per step, the validated series' observed cells alone.
  assert model.manifest['intervals']['errors_per_step'] == (3 - empty.sum(0)).tolist()
  # forecast.png draws those cells as gaps (each history ends with its test part), and
  # its caption says so.
  out = predictions.run(str(tmp_path / 'wd'), out_dir=str(tmp_path / 'out'))['plot']
  for shown in out['series']:
    s = IDS.index(shown['title'].split(':')[0])
    gaps = np.flatnonzero(np.isnan(shown['history']))
    assert (gaps - len(shown['history']) + 2 * HORIZON).tolist() == np.flatnonzero(
        empty[s]).tolist(), shown['title']
  assert predictions.GAPS in out['note']
  # A --csv_path's own empty cells alike (the sweep's CSV, two more cells emptied, and
  # its third series' last: drawn, where the forecast starts), said as the CSV's.
  header, rows = _rows(spec.csv_path, IDS[:3])
  holes = {IDS[1]: [3, 9], IDS[2]: [-1]}
  for key, at in holes.items():
    mine = [i for i, r in enumerate(rows) if r[0] == key]
    for k in at:
      rows[mine[k]][2] = ''
  out = predictions.run(str(tmp_path / 'wd'), out_dir=str(tmp_path / 'out_csv'),
                        csv_path=_write(tmp_path / 'new.csv', header, rows))['plot']
  assert len(out['series']) == 3
  for shown in out['series']:
    key = shown['title'].split(':')[0]
    n = len(shown['history'])
    # The sweep's own empty validation cells are empty in its CSV too.
    both = {*(np.flatnonzero(empty[IDS.index(key)]) + n - 2 * HORIZON),
            *(k % n for k in holes.get(key, []))} - {n - 1}
    assert np.flatnonzero(np.isnan(shown['history'])).tolist() == sorted(both), key
  assert predictions.GAPS_CSV in out['note'] and predictions.GAPS not in out['note']
