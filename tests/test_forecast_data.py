"""Tests for rnnjax/data/forecast.py (loading, gaps) and data/windows/series_windows.py (scaling,
windows, splits, baselines)."""

import csv
import re
import types

import jax
import numpy as np
import pytest

from rnnjax.data import classical
from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.data import forecast
from rnnjax.data import long_rows
from rnnjax.data import task_data
from rnnjax.data.scores import series_errors
from rnnjax.data.time import column as times_lib
from rnnjax.data.windows import series_windows
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.errors import InputError


@pytest.fixture(autouse=True)
def _no_classical_baselines(monkeypatch):
  """ETS and ARIMA take seconds on the long bundled series; test_classical.py tests them."""
  monkeypatch.setattr(classical, 'forecasts', lambda *args, **kw: ({}, ()))


def _series(dataset):
  """<float64>[N, 1]: the bundled series in original units, gaps filled, read with the csv
  module and np.interp instead of the loader's own code."""
  _, _, column, _ = forecast.DATASETS[dataset]
  with open(forecast.bundled_path(dataset), newline='') as f:
    cells = [row[column] for row in csv.DictReader(f)]
  v = np.array([float(c) if c else np.nan for c in cells])
  known = np.flatnonzero(~np.isnan(v))
  return np.interp(np.arange(len(v)), known, v[known])[:, None]


def _write(path, text):
  path.write_text(text, encoding='utf-8')
  return str(path)


# --- bundled datasets -----------------------------------------------------------------

@pytest.mark.parametrize('dataset', sorted(forecast.DATASETS))
def test_every_bundled_dataset_loads(dataset):
  data = forecast.load(dataset=dataset, lookback=12, horizon=1)
  for split in common.SPLITS:
    n = len(data.x[split])
    assert n >= 1
    assert data.x[split].shape == (n, 12, 1) and data.x[split].dtype == np.float32
    assert data.y[split].shape == (n, 1, 1) and data.y[split].dtype == np.float32
    assert np.isfinite(data.x[split]).all() and np.isfinite(data.y[split]).all()
  assert data.mean.shape == data.std.shape == (1,)
  assert data.std[0] > 0
  assert data.target_columns == (forecast.DATASETS[dataset][2],)
  assert 'last_value' in data.baselines


def test_a_validation_part_beyond_the_train_range_suggests_differencing():
  """A model of the levels forecast a trending series far worse than seasonal naive, and
  nothing said why (a notebook user's test MAE 24 against 4.7; 2.4 with --difference):
  the bundled series whose flagfiles difference them are noted, wine sales are not, and
  --difference (or a fold's earlier origin) says nothing."""
  def note(**kw):
    data = forecast.load(lookback=12, horizon=1, **kw)
    return [n for n in data.notes if 'outside the range of its train part' in n]
  for dataset in ('airline', 'co2_weekly'):
    assert len(note(dataset=dataset)) == 1, dataset
    assert not note(dataset=dataset, difference=True)
  assert note(dataset='airline') == [
      "validation: 6 of the 22 values of 'Passengers' lie outside the range of its train "
      "part (104 to 413), as a trend's do: a model of the levels forecasts poorly beyond "
      'what it trained on; --difference models the changes']
  assert not note(dataset='wineind_sales')
  assert not note(dataset='airline', origin_back=1)


def test_co2_weekly_gaps_are_filled():
  data = forecast.load(dataset='co2_weekly', lookback=12, horizon=1)
  assert data.num_filled == 59
  for split in common.SPLITS:
    assert not np.isnan(data.x[split]).any() and not np.isnan(data.y[split]).any()
  raw, gaps = common.read_csv(forecast.bundled_path('co2_weekly'), ('co2',))
  assert gaps == 59 == np.isnan(raw).sum()
  np.testing.assert_array_equal(gap_fill.fill_gaps(raw, ['co2'], 'co2'), _series('co2_weekly'))


def test_empty_target_cells_in_the_test_part_are_said_to_be_left_out_of_its_scores(tmp_path):
  """Filled as every gap is, a test part's empty cells are left out of its scores: said,
  and marked (not for a gap before it, nor with --fill=zero's absent sales, which are 0)."""
  def load(cells, **kw):
    text = 't,y\n' + ''.join(f'{t},{"" if t in cells else 10 + t % 4}\n' for t in range(40))
    return forecast.load(csv_path=_write(tmp_path / 'y.csv', text), target_columns=('y',),
                         lookback=4, horizon=1, val_size=5, test_size=5,
                         classical_baselines=False, **kw)
  said = ('test: 2 empty target cell(s) of its last 5 points are filled (--fill=linear) '
          'and left out of the test scores')
  data = load({3, 36, 38})
  assert any(n.startswith(said) for n in data.notes)
  np.testing.assert_array_equal(data.test_observed[:, 0, 0], [1, 0, 1, 0, 1])
  for data in (load({3, 34}), load({36}, fill='zero')):
    assert not any(n.startswith('test: ') for n in data.notes)
    assert data.test_observed is None


def test_a_test_part_without_a_target_is_refused_in_one_line(tmp_path):
  """A series whose test part holds no target (a plan of the inputs ahead appended, its
  target empty) has nothing to score: refused before any fit, naming the file and where
  the test part starts; one observed cell there is scored, and --fill=zero reads 0s."""
  def load(cells, **kw):
    text = 't,y\n' + ''.join(f'{t},{"" if t in cells else 10 + t % 4}\n' for t in range(40))
    return forecast.load(csv_path=_write(tmp_path / 'y.csv', text), target_columns=('y',),
                         time_column='t', lookback=4, horizon=1, val_size=5, test_size=5,
                         classical_baselines=False, **kw)
  with pytest.raises(InputError, match=r"^--csv_path: .*y\.csv: target column 'y' has no "
                     r"value in the last 5 points, the test part \(from '35'\): nothing "
                     r'to score; .*--test_size$'):
    load(set(range(33, 40)))
  assert load(set(range(33, 39))).test_observed[:, 0, 0].tolist() == [0, 0, 0, 0, 1]
  assert load(set(range(33, 40)), fill='zero').test_observed is None


def _gappy(tmp_path, empty, n=40, test_start=32):
  """(path, <float64>[n] the series with its gaps filled by hand): a seasonal CSV t,y
  whose cells at `empty` are empty; the points before `test_start` filled from
  themselves alone (a gap at their end holds their last value), the rest on from them."""
  t = np.arange(n, dtype=np.float64)
  y = 20 + 0.5 * t + 3 * np.sin(np.pi * t / 2) + np.cos(t)
  text = 't,y\n' + ''.join(f'{i},{"" if i in empty else repr(float(y[i]))}\n'
                           for i in range(n))
  head = np.array([i for i in range(test_start) if i not in empty])
  known = np.concatenate([np.arange(test_start),
                          [i for i in range(test_start, n) if i not in empty]]).astype(int)
  values = np.concatenate([np.interp(t[:test_start], head, y[head]), y[test_start:]])
  return _write(tmp_path / 'gappy.csv', text), np.interp(t, known, values[known])


@pytest.mark.parametrize('part', ['val', 'test'])
@pytest.mark.parametrize('origin_back', [0, 1])
def test_a_gap_before_a_part_reads_none_of_it(tmp_path, origin_back, part):
  """Empty cells just before the validation or test part (of a fold too: the series cut
  earlier) hold the last value before them, never one interpolated towards a later
  point: with other values from that part on, every window before it, and the first
  window of the part's history, are the same."""
  def load(later):
    v = [10.0 + (t % 4) for t in range(40)]
    end = (24 if part == 'val' else 32) - 8 * origin_back  # The part's start.
    v[end - 2] = v[end - 1] = None
    v[end:] = [later] * (40 - end)
    text = 't,y\n' + ''.join(f'{t},{"" if x is None else x}\n' for t, x in enumerate(v))
    return forecast.load(csv_path=_write(tmp_path / f'{later}.csv', text),
                         target_columns=('y',), lookback=4, horizon=2, val_size=8,
                         test_size=8, classical_baselines=False, origin_back=origin_back)
  low, high = load(1.0), load(1000.0)
  for split in ('train', 'val') if part == 'test' else ('train',):
    np.testing.assert_array_equal(low.x[split], high.x[split])
    np.testing.assert_array_equal(low.y[split], high.y[split])
  np.testing.assert_array_equal(low.x[part][0], high.x[part][0])
  end = low.split_points[0 if part == 'val' else 1]
  assert low.series[end - 2, 0] == low.series[end - 1, 0] == low.series[end - 3, 0]


def _last_value_split(data, part, series, t, difference, targets=1):
  """(the forecast task's `part` split of `data`, with its `observed` where it has one;
  the last value's forecasts from windows `t`, horizon 2, scaled as the network's: 0
  changes with --difference; a config for the task's score)."""
  split = {'x': data.x[part], 'y': data.y[part], 'mean': data.mean.astype(np.float32),
           'std': data.std.astype(np.float32),
           'mase_scale': data.mase_scale.astype(np.float32)}
  observed = getattr(data, f'{part}_observed')
  if observed is not None:
    split['observed'] = observed
  last = (np.zeros((len(t), 2, targets)) if difference else  # The levels stay.
          np.repeat(series.reshape(len(series), -1)[t - 1, None, :targets], 2, axis=1))
  pred = ((last - data.mean) / data.std).astype(np.float32)
  return split, pred, types.SimpleNamespace(difference=difference, num_targets=targets)


def _assert_baselines_score_observed_cells(data, split, series, t, scored, ets):
  """Each baseline's `split` RMSE, MAE and MASE (last value, seasonal naive, and the
  made-up `ets`) are NumPy's over the windows' `scored` cells (windows from `t`, horizon
  2, season 4 of `_gappy`'s series), not over the filled ones too."""
  cells = t[:, None] + np.arange(2)
  truth, scale = series[cells], np.mean(np.abs(series[4:24] - series[:20]))
  forecasts = {'last_value': np.repeat(series[t - 1][:, None], 2, axis=1),
               'seasonal_naive': series[cells - 4], 'ets': ets}
  for name, f in forecasts.items():
    err, got = (f - truth)[scored], data.baselines[name][split]
    assert got['rmse'] == pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-12)
    assert got['mae'] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
    assert got['mase'] == pytest.approx(np.mean(np.abs(err)) / scale, rel=1e-12)
    assert abs(got['rmse'] - np.sqrt(np.mean((f - truth) ** 2))) > 1e-3  # Not the filled.


# The last validation point (the test part: the last 8 of 40 points) and two test points.
EMPTY = (31, 35, 36)


@pytest.mark.parametrize('difference', [False, True])
def test_every_baseline_scores_the_observed_test_cells_alone(tmp_path, monkeypatch,
                                                             difference):
  """Each baseline's test RMSE, MAE and MASE are NumPy's over the windows' observed
  cells (a test point is in several windows, at several steps), not over the filled."""
  path, series = _gappy(tmp_path, EMPTY)
  t = 32 + np.arange(7)  # Test windows: targets t, t + 1 in the last 8 points.
  cells = t[:, None] + np.arange(2)
  ets = 1.02 * series[cells - 1]  # A classical baseline's forecasts, made up.
  monkeypatch.setattr(classical, 'forecasts',
                      lambda *args, **kw: ({'ets': {'test': ets[..., None]}}, ()))
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2,
                       val_size=8, test_size=8, season=4, difference=difference)
  assert data.split_points == (24, 32)
  scored = ~np.isin(cells, EMPTY)
  np.testing.assert_array_equal(data.test_observed[..., 0], scored)
  _assert_baselines_score_observed_cells(data, 'test', series, t, scored, ets)


@pytest.mark.parametrize('difference', [False, True])
def test_the_networks_test_scores_are_over_the_observed_cells_as_the_baselines(
    tmp_path, difference):
  """The last value fed to the forecast task's score as a network's scaled forecast of a
  test part with empty cells scores what the last_value baseline does, each figure a
  mean over the observed level cells (with --difference, of the cumulated changes)."""
  path, series = _gappy(tmp_path, EMPTY)
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2,
                       val_size=8, test_size=8, season=4, difference=difference,
                       classical_baselines=False)
  split, pred, cfg = _last_value_split(data, 'test', series, 32 + np.arange(7), difference)
  got = tasks.TASKS['forecast'].score(cfg, pred, split)
  want = data.baselines['last_value']['test']
  for metric in ('rmse', 'mae', 'mase'):
    assert float(got[metric]) == pytest.approx(want[metric], rel=1e-5)
  del split['observed']  # Every cell: the filled ones too, a different figure.
  assert abs(float(tasks.TASKS['forecast'].score(cfg, pred, split)['rmse'])
             - want['rmse']) > 1e-3 * want['rmse']


# --- windows, splits and scaling ------------------------------------------------------

@pytest.mark.parametrize('lookback, horizon', [(12, 1), (5, 3)])
def test_window_shapes_and_contents(lookback, horizon):
  series = _series('airline')  # 144 points; default holdouts round(0.15 * 144) = 22 each.
  data = forecast.load(dataset='airline', lookback=lookback, horizon=horizon)
  assert data.split_points == (100, 122)
  counts = {'train': 100 - lookback - horizon + 1, 'val': 22 - horizon + 1,
            'test': 22 - horizon + 1}
  first_target = {'train': lookback, 'val': 100, 'test': 122}
  for split in common.SPLITS:
    x, y = data.x[split], data.y[split]
    assert x.shape == (counts[split], lookback, 1)
    assert y.shape == (counts[split], horizon, 1)
    t = first_target[split] + np.arange(counts[split])
    scaled = (series - data.mean) / data.std
    np.testing.assert_allclose(x, scaled[t[:, None] + np.arange(-lookback, 0)], rtol=1e-6)
    np.testing.assert_allclose(y, scaled[t[:, None] + np.arange(horizon)], rtol=1e-6)


@pytest.mark.parametrize('dataset', ['airline', 'co2_weekly', 'shampoo_sales'])
def test_standardisation_uses_training_part_only(dataset):
  series = _series(dataset)
  data = forecast.load(dataset=dataset, lookback=4, horizon=1)
  train_end, _ = data.split_points
  np.testing.assert_allclose(data.mean, series[:train_end].mean(axis=0), rtol=1e-12)
  np.testing.assert_allclose(data.std, series[:train_end].std(axis=0), rtol=1e-12)
  # These series trend upward, so whole-series statistics would differ.
  assert abs(data.mean[0] - series.mean()) > 0.05 * data.std[0]
  # The training part, rebuilt from the first window's inputs and every train target.
  train = np.concatenate([data.x['train'][0, :, 0], data.y['train'][:, 0, 0]])
  assert len(train) == train_end
  assert abs(train.mean()) < 1e-5
  assert abs(train.std() - 1) < 1e-5


def test_split_is_chronological():
  series = _series('shampoo_sales')[:, 0]
  data = forecast.load(dataset='shampoo_sales', lookback=3, horizon=2, val_size=6,
                       test_size=6)
  train_end, val_end = data.split_points
  assert (train_end, val_end) == (24, 30)
  unscale = lambda y: y * data.std[0] + data.mean[0]
  np.testing.assert_allclose(unscale(data.y['test'][-1, -1, 0]), series[-1], rtol=1e-5)
  np.testing.assert_allclose(unscale(data.y['test'][0, 0, 0]), series[val_end], rtol=1e-5)
  np.testing.assert_allclose(unscale(data.y['val'][0, 0, 0]), series[train_end], rtol=1e-5)
  np.testing.assert_allclose(unscale(data.y['val'][-1, -1, 0]), series[val_end - 1],
                             rtol=1e-5)
  np.testing.assert_allclose(unscale(data.y['train'][-1, -1, 0]), series[train_end - 1],
                             rtol=1e-5)
  # A test window's inputs may reach back into the validation part.
  np.testing.assert_allclose(unscale(data.x['test'][0, :, 0]), series[val_end - 3:val_end],
                             rtol=1e-5)


# --- baselines ------------------------------------------------------------------------

def test_airline_seasonal_naive_matches_published_figure():
  data = forecast.load(dataset='airline', test_size=12, val_size=12, lookback=12, horizon=1,
                       season=12)
  assert data.baselines['seasonal_naive']['test']['rmse'] == pytest.approx(50.7, abs=0.1)


def test_shampoo_last_value_matches_published_figure():
  data = forecast.load(dataset='shampoo_sales', test_size=12, val_size=6, lookback=3,
                       horizon=1)
  assert data.baselines['last_value']['test']['rmse'] == pytest.approx(136.76, abs=0.01)


def test_baselines_against_numpy():
  series = _series('airline')[:, 0]
  data = forecast.load(dataset='airline', test_size=12, val_size=12, lookback=12, horizon=3)
  t = 132 + np.arange(10)  # Test windows: targets t..t+2 inside the last 12 points.
  truth = series[t[:, None] + np.arange(3)]
  last = np.repeat(series[t - 1][:, None], 3, axis=1)
  seasonal = series[t[:, None] + np.arange(3) - 12]
  rmse = lambda p: np.sqrt(np.mean((p - truth) ** 2))
  assert data.baselines['last_value']['test']['rmse'] == pytest.approx(rmse(last))
  assert data.baselines['last_value']['test']['mae'] == pytest.approx(
      np.mean(np.abs(last - truth)))
  assert data.baselines['seasonal_naive']['test']['rmse'] == pytest.approx(rmse(seasonal))


# --- MASE -----------------------------------------------------------------------------

def test_mase_scale_by_hand():
  train = np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 10.0], [5.0, 10.0], [4.0, 10.0]])
  # Naive: |3-1|, |2-3|, |5-2|, |4-5| -> 7 / 4; seasonal (2): |2-1|, |5-3|, |4-2| -> 5 / 3.
  np.testing.assert_allclose(series_errors.mase_scale(train[:, :1], 0), [7 / 4])
  np.testing.assert_allclose(series_errors.mase_scale(train[:, :1], 2), [5 / 3])
  # A season no shorter than the training part: the naive forecast's scale.
  np.testing.assert_allclose(series_errors.mase_scale(train[:, :1], 5), [7 / 4])
  assert np.isnan(series_errors.mase_scale(train, 0)[1])  # Constant: MASE undefined.


def test_regression_report_by_hand_over_every_cell_and_the_observed_ones():
  """RMSE and MAE over the cells; MASE each target column's MAE over its scale, averaged
  over the columns; with `observed`, each mean over the cells it marks (per column for
  MASE)."""
  truth = np.array([[[1.0, 4.0], [3.0, 8.0]]])  # [W=1, horizon=2, C=2]; forecasts 0.
  scale = np.array([1.0, 4.0])
  report = series_errors.regression_report(np.zeros_like(truth), truth, scale)
  assert report == pytest.approx({'rmse': np.sqrt((1 + 9 + 16 + 64) / 4), 'mae': 16 / 4,
                                  'mase': (4 / 2 / 1 + 12 / 2 / 4) / 2})
  observed = np.array([[[1, 1], [1, 0]]])  # The 8 was filled.
  report = series_errors.regression_report(np.zeros_like(truth), truth, scale, observed)
  assert report == pytest.approx({'rmse': np.sqrt((1 + 9 + 16) / 3), 'mae': 8 / 3,
                                  'mase': (4 / 2 / 1 + 4 / 1 / 4) / 2})


def test_mase_of_a_tiny_series_by_hand():
  # 10 points, 2 validation and 2 test, season 2: the training part is v[:6].
  v = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0, 9.0, 12.0])
  data = series_windows.prepare(v[:, None], lookback=2, horizon=1, val_size=2, test_size=2,
                                season=2)
  scale = np.mean(np.abs([2 - 1, 5 - 3, 4 - 2, 6 - 5]))  # Seasonal naive in sample: 1.5.
  # Test targets v[8], v[9]: last value misses by 2, 3; seasonal naive by 1, 5.
  assert data.baselines['last_value']['test']['mase'] == pytest.approx(2.5 / scale)
  assert data.baselines['seasonal_naive']['test']['mase'] == pytest.approx(3 / scale)
  np.testing.assert_allclose(data.mase_scale, [scale])


def test_mase_of_several_targets_is_the_mean_of_each_targets(tmp_path):
  path, series = _targets_and_input(tmp_path)
  data = _load_multi(path)
  t = 24 + np.arange(5)
  truth = series[t[:, None] + np.arange(2), :2]
  last = np.repeat(series[t - 1, None, :2], 2, axis=1)
  scale = np.mean(np.abs(np.diff(series[:18, :2], axis=0)), axis=0)
  per_target = np.mean(np.abs(last - truth), axis=(0, 1)) / scale
  assert data.baselines['last_value']['test']['mase'] == pytest.approx(per_target.mean())


@pytest.mark.parametrize('difference', [False, True])
def test_network_mase_equals_the_baselines(tmp_path, difference):
  """The last value fed to the forecast task's score as a network's scaled forecast scores
  what the last_value baseline does: RMSE, MAE and MASE, per target and overall."""
  path, series = _targets_and_input(tmp_path)
  data = _load_multi(path, difference=difference)
  t = 24 + np.arange(5)
  split, pred, cfg = _last_value_split(data, 'test', series, t, difference, targets=2)
  got = tasks.TASKS['forecast'].score(cfg, pred, split)
  want = data.baselines['last_value']['test']
  for metric in ('rmse', 'mae', 'mase'):
    assert float(got[metric]) == pytest.approx(want[metric], rel=1e-5)
  for c in range(2):
    truth = series[t[:, None] + np.arange(2), c]
    mae = np.mean(np.abs(np.repeat(series[t - 1, None, c], 2, axis=1) - truth))
    assert float(got[f'mase_{c}']) == pytest.approx(mae / data.mase_scale[c], rel=1e-5)


def test_season_zero_turns_seasonal_naive_off():
  data = forecast.load(dataset='airline', lookback=12, horizon=1, season=0)
  assert 'seasonal_naive' not in data.baselines


# --- the season of a user's file, from its time column --------------------------------

def _monthly(n=48, start='1990-01'):
  """n month labels from `start` ('1990-01', '1990-02', ...)."""
  return [str(np.datetime64(start, 'M') + k) for k in range(n)]


def _user_csv(tmp_path, times, time_column='date'):
  """A seasonal series (period 12) of len(times) points with `times` as its time column."""
  t = np.arange(len(times))
  values = 100 + 10 * np.sin(2 * np.pi * t / 12) + 2 * np.cos(2 * np.pi * t / 5)
  lines = [f'{time_column},y'] + [f'{time},{v:.3f}' for time, v in zip(times, values)]
  return _write(tmp_path / 'mine.csv', '\n'.join(lines) + '\n')


def _load_user(path, **kw):
  return forecast.load(csv_path=path, time_column='date', target_columns=('y',),
                       lookback=4, horizon=1, **kw)


def test_a_season_too_long_and_a_constant_series_are_said(tmp_path):
  data = _load_user(_user_csv(tmp_path, _monthly()), season=500, classical_baselines=False)
  train_end = data.split_points[0]
  assert data.notes == ("season: 500 as --season gives it; the monthly time column 'date' "
                        'suggests 12',
                        f'--season=500 is not shorter than the training part ({train_end} '
                        'points): no seasonal-naive baseline, and MASE scales by the naive '
                        '(lag-1) error')
  assert 'seasonal_naive' not in data.baselines
  flat = _write(tmp_path / 'flat.csv', 'date,y\n' + ''.join(
      f'{m},7\n' for m in _monthly()))
  data = _load_user(flat, season=12, classical_baselines=False)
  assert data.notes == ("column 'y' is constant over the training part: its MASE is "
                        'undefined (nan)',)


def test_monthly_time_column_gives_season_12_and_seasonal_naive(tmp_path, monkeypatch):
  fitted = []  # The season ETS and ARIMA are fitted with.
  monkeypatch.setattr(classical, 'forecasts',
                      lambda *args, season, **kw: fitted.append(season) or ({}, ()))
  data = _load_user(_user_csv(tmp_path, _monthly()))
  assert set(data.baselines.get('seasonal_naive', ())) == {'val', 'test'}
  assert fitted == [12] and data.season == 12
  assert data.notes == ("season: 12, inferred from the monthly time column 'date'; "
                        '--season sets it',)
  # As if --season=12 had been given, less the note.
  given = _load_user(_user_csv(tmp_path, _monthly()), season=12)
  assert given.baselines == data.baselines and given.notes == ()
  # Months written as statistics offices write them (1990M01): the same.
  stata = _load_user(_user_csv(tmp_path, [m.replace('-', 'M') for m in _monthly()]))
  assert stata.baselines == data.baselines and stata.notes == data.notes


def test_a_date_column_read_by_no_flag_is_said(tmp_path):
  """A monthly file read without --time_column: its dates were left unread without a
  word, the forecasts dated +1, +2 and the season unknown (a user's finding)."""
  path = _user_csv(tmp_path, _monthly())
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=1,
                       classical_baselines=False)
  assert data.notes == (
      f"--csv_path: {path}: its column ['date'] is not read (--time_column reads times: it "
      'dates the forecasts and infers the season) (--input_columns reads past values)',
      'season: none, not inferred without --time_column; --season sets it')
  assert not any('not read' in n for n in _load_user(path, classical_baselines=False).notes)


@pytest.mark.parametrize('times', [
    [f'{1990 + k // 4}-Q{k % 4 + 1}' for k in range(24)],  # 1990-Q1, 1990-Q2, ...
    [f'{month}-01' for month in _monthly(72)[::3]],          # 1990-01-01, 1990-04-01, ...
])
def test_quarterly_time_column_gives_season_4(tmp_path, times):
  data = _load_user(_user_csv(tmp_path, times))
  assert 'seasonal_naive' in data.baselines and data.season == 4
  assert data.notes == ("season: 4, inferred from the quarterly time column 'date'; "
                        '--season sets it',)


def test_a_monthly_date_off_the_usual_day_is_read_as_its_month(tmp_path):
  # As the time grid reads it (the day of a monthly date is not read): the season is
  # still inferred, and the point is July's.
  times = [f'{month}-01' for month in _monthly()]
  times[30] = '1992-07-15'
  data = _load_user(_user_csv(tmp_path, times))
  assert data.notes == ("season: 12, inferred from the monthly time column 'date'; "
                        '--season sets it',)
  assert 'seasonal_naive' in data.baselines and data.season == 12
  np.testing.assert_array_equal(data.series, _load_user(_user_csv(
      tmp_path, [f'{month}-01' for month in _monthly()])).series)


@pytest.mark.parametrize('season', [0, 4])
def test_a_given_season_wins_over_the_time_column(tmp_path, season):
  data = _load_user(_user_csv(tmp_path, _monthly()), season=season)
  assert data.season == season and data.notes == (
      f"season: {season or 'none'} as --season gives it; the monthly time column 'date' "
      'suggests 12',)
  assert ('seasonal_naive' in data.baselines) == bool(season)


@pytest.mark.parametrize('times, season, spacing', [
    (_monthly(6), 12, 'monthly'),
    (['1990-01-31', '1990-02-28', '1990-03-31', '1990-04-30'], 12, 'monthly'),  # Month ends.
    (['1990 Q3', '1990 Q4', '1991 Q1'], 4, 'quarterly'),
    (['2001-12-15', '2001-12-22', '2001-12-29', '2002-01-05'], 52, 'weekly'),
    (['2001-02-27', '2001-02-28', '2001-03-01'], 7, 'daily'),
    (['2001-03-01', '2001-03-02', '2001-03-05', '2001-03-06'], 5, 'business-daily'),
    (['2001-01-01 22:00', '2001-01-01 23:00', '2001-01-02T00:00:00'], 24, 'hourly'),
    (['1990', '1991', '1992'], 0, 'yearly'),
    (['1990-06-01', '1991-06-01', '1992-06-01'], 0, 'yearly'),
])
def test_infer_season_of_regular_times(times, season, spacing):
  got, note = times_lib.infer_season(times, 'when')
  assert got == season
  assert note == (f"season: {season or 'none'}, inferred from the {spacing} time column "
                  "'when'; --season sets it")


@pytest.mark.parametrize('times, why', [
    (['0', '1', '2', '3'], 'holds step numbers, not dates'),
    (['1990-01', '1990-02', '1990-04', '1990-05'],  # A month missing.
     "is irregular ('1990-02' to '1990-04' is not 1 month)"),
    (['2001-03-01', '2001-03-02', '2001-03-05', '2001-03-06', '2001-03-08', '2001-03-09'],
     "is irregular ('2001-03-06' to '2001-03-08' is not one business day)"),  # A day out.
    (['1990-03', '1990-02', '1990-01'], "is irregular ('1990-03' to '1990-02' is not a step"),
    (['2001-01-01 00:00', '2001-01-01 00:30', '2001-01-01 01:00'], 'is regular (every 30 minutes)'),
    (['01/02/2001', '01/03/2001', '01/04/2001'], "is not read as dates (line 2: '01/02/2001'"),
    (['2001-01-01', '', '2001-01-03'], "is not read as dates (line 3: ''"),
    (['1990-01'], 'has fewer than 3 times'),
])
def test_infer_no_season_from_other_times(times, why):
  season, note = times_lib.infer_season(times, 'when')
  assert season == 0
  assert note.startswith(f"season: none, the time column 'when' {why}"), note


def test_a_panels_cell_not_read_as_a_date_is_named_by_its_series_and_row():
  # Its rows sorted or not, a panel's series is not the file: no line number.
  _, note = times_lib.infer_season(['week 1', 'week 2', 'week 3'], 'when', series='SKU-7')
  assert "is not read as dates (series 'SKU-7', row 1: 'week 1';" in note, note


def test_a_given_season_other_than_the_time_columns_is_noted():
  weeks = ['2001-12-15', '2001-12-22', '2001-12-29', '2002-01-05']
  assert times_lib.given_season_note(4, weeks, 'week') == (
      "season: 4 as --season gives it; the weekly time column 'week' suggests 52")
  assert times_lib.given_season_note(52, weeks, 'week') == ''
  assert times_lib.given_season_note(0, ['1990', '1991', '1992'], 'year') == ''
  assert times_lib.given_season_note(4, ['0', '1', '2', '3'], 'step') == ''


def test_inference_agrees_with_the_bundled_seasons():
  """Where a bundled series' time column has dates, inference gives its declared season;
  sunspots declares the 11-year solar cycle (132 months) over monthly dates, and the
  half-hourly taylor_electricity numbers its steps. A bundled series keeps its own."""
  inferred = {name: times_lib.infer_season(times_lib.read_times(forecast.bundled_path(name),
                                                                time_column), time_column)[0]
              for name, (_, time_column, _, _) in forecast.DATASETS.items()}
  declared = {name: season for name, (_, _, _, season) in forecast.DATASETS.items()}
  assert inferred == {**declared, 'sunspots_monthly': 12, 'taylor_electricity': 0}
  for name, season in declared.items():
    data = forecast.load(dataset=name, lookback=4, horizon=1)
    # No note but what its gaps filled (co2_weekly's 59) say, and the trend of those
    # whose flagfiles difference them.
    trend = [n for n in data.notes if 'outside the range of its train part' in n]
    assert len(trend) == (name in ('airline', 'co2_weekly')), name
    assert data.season == season and data.notes == gap_fill.sweep_note(
        data.filled, forecast.bundled_path(name), 'linear') + tuple(trend)


def test_user_csv_without_time_column_says_it_has_no_season(tmp_path):
  path = _write(tmp_path / 'x.csv', 'y\n' + '\n'.join(str(k % 5) for k in range(30)) + '\n')
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=1)
  assert data.season == 0 and 'seasonal_naive' not in data.baselines
  assert data.notes == ('season: none, not inferred without --time_column; '
                        '--season sets it',)


# --- errors ---------------------------------------------------------------------------

def test_read_csv_missing_file(tmp_path):
  path = str(tmp_path / 'absent.csv')
  with pytest.raises(InputError, match='no such file') as info:
    common.read_csv(path, ('a',))
  assert path in str(info.value)
  with pytest.raises(InputError, match=f'^--csv_path: {re.escape(path)}: no such file$'):
    forecast.load(csv_path=path, target_columns=('a',), lookback=1, horizon=1)


def test_missing_cells_read_as_pandas_reads_them(tmp_path):
  # A shop export's 'n/a' or 'NULL' is an empty cell (filled and counted), as in pandas;
  # a '-' is not one there either: refused with its line.
  path = _write(tmp_path / 'x.csv', 'a\n1\nn/a\nNULL\n#N/A\n5\n')
  raw, gaps = common.read_csv(path, ('a',))
  assert gaps == 3 and np.isnan(raw[1:4, 0]).all()
  shop = _write(tmp_path / 'shop.csv', 'id,t,y\np,1,1\np,2,n/a\np,3,3\nq,1,4\n')
  _, values, _, gaps, _ = long_rows.read_long(shop, flag='--csv_path', id_column='id',
                                          time_column='t', target_column='y')
  assert gaps == 1 and np.isnan(values[0][1])
  for read in (lambda f: common.read_csv(f, ('y',)),
               lambda f: long_rows.read_long(f, flag='--csv_path', id_column='id',
                                         time_column='t', target_column='y')):
    with pytest.raises(InputError, match=r"line 3, column 'y': '-' is not a number"):
      read(_write(tmp_path / 'dash.csv', 'id,t,y\np,1,1\np,2,-\n'))


def test_an_infinite_cell_is_refused_naming_its_file_line_and_column(tmp_path):
  # Not read as a gap (filled, or counted as missing) where it is a value: refused.
  for read in (lambda f: common.read_csv(f, ('y',)),
               lambda f: long_rows.read_long(f, flag='--future_path', id_column='id',
                                         time_column='t', target_column='y')):
    for cell in ('inf', '-Infinity'):
      with pytest.raises(InputError, match=rf"^.*inf.csv: line 3, column 'y': '{cell}' is "
                         "not finite$"):
        read(_write(tmp_path / 'inf.csv', f'id,t,y\np,1,1\np,2,{cell}\n'))


def test_read_csv_not_utf8(tmp_path):
  path = tmp_path / 'utf16.csv'
  path.write_bytes(b'\xff\xfea\x00,\x00b\x00\n\x001\x00')
  with pytest.raises(InputError, match='not UTF-8'):
    common.read_csv(str(path), ('a',))


def test_read_csv_missing_column(tmp_path):
  path = _write(tmp_path / 'x.csv', 'time,a\n0,1\n1,2\n')
  with pytest.raises(InputError, match=r"^--target_columns: .*x.csv has no column 'b'; "
                     r"columns are \['time', 'a'\]$"):
    common.read_csv(path, ('a', 'b'))
  with pytest.raises(InputError, match=r"^--time_column: .*x.csv has no column 't'"):
    common.read_csv(path, ('a',), time_column='t')
  # A saved model's columns, in a file predict reads: the file's flag, and which column.
  with pytest.raises(InputError, match=r"^--future_path: .*x.csv has no column 'p' \(the "
                     r"model's input column\)"):
    common.read_csv(path, (), input_columns=('p',), flag='--future_path', the_models=True)


def test_a_comment_line_read_as_the_header_is_said_where_a_column_is_missing(tmp_path):
  """An export tool's '#' line above the header is the header a CSV is read by: the
  missing column's message says so, whichever reader (one series, a panel, cases)."""
  from rnnjax.data.cases import long_csv  # pylint: disable=g-import-not-at-top
  said = (r"; columns are \['# exported by ShopTool 3.1'\] \(the file's first line, read as "
          r"its header, opens with '#'")
  path = _write(tmp_path / 'c.csv', '# exported by ShopTool 3.1\nunique_id,ds,y\na,1,2\n')
  with pytest.raises(InputError, match=r"^--target_columns: .*c.csv has no column 'y'" + said):
    common.read_csv(path, ('y',))
  missing_id = r"^--id_column: .*c.csv has no column 'unique_id'" + said
  with pytest.raises(InputError, match=missing_id):
    long_rows.read_long(path, id_column='unique_id', time_column='ds', target_column='y',
                    flag='--csv_path')
  with pytest.raises(InputError, match=missing_id):
    long_csv.read_long_csv(path, id_column='unique_id', target_column='y')
  # A spreadsheet's export where ',' is the decimal mark: columns separated by ';'.
  semi = _write(tmp_path / 's.csv', 'unique_id;ds;y\na;1;2,5\n')
  said = (r"; columns are \['unique_id;ds;y'\] \(one column: the file separates its columns "
          r"by ';', not by commas: save it with ',' between columns, '.' as the decimal "
          r"mark\)$")
  with pytest.raises(InputError, match=r"^--target_columns: .*s.csv has no column 'y'" + said):
    common.read_csv(semi, ('y',))
  with pytest.raises(InputError, match=r"^--id_column: .*s.csv has no column 'unique_id'" + said):
    long_rows.read_long(semi, id_column='unique_id', time_column='ds', target_column='y',
                        flag='--csv_path')
  with pytest.raises(InputError, match=r"by '\\t', not by commas: save it with ',' between "
                     r"columns\)$"):
    common.read_csv(_write(tmp_path / 't.csv', 'ds\ty\n1\t2\n'), ('y',))
  # A header without '#' is not remarked on.
  plain = _write(tmp_path / 'p.csv', 'unique_id,ds,y\na,1,2\n')
  with pytest.raises(InputError, match=r"columns are \['unique_id', 'ds', 'y'\]$"):
    common.read_csv(plain, ('sales',))


def test_a_part_shorter_than_the_horizon_is_refused_and_an_automatic_one_grown_said():
  """A --test_size below --horizon holds no window: refused naming it (not the series'
  length); 15 % of a short series below --horizon grows to it, said."""
  values = np.arange(96, dtype=np.float64)[:, None]
  with pytest.raises(InputError, match=r'^--test_size: 5 points are fewer than '
                     r'--horizon=6: a window of that part forecasts 6 points of it$'):
    series_windows.prepare(values, lookback=12, horizon=6, test_size=5, classical_baselines=False)
  data = series_windows.prepare(values, lookback=12, horizon=20, classical_baselines=False)
  assert data.split_points == (56, 76)
  assert ('validation and test hold --horizon=20 points, not 15% of the series (14 of 96: '
          'fewer than a window forecasts)') in data.notes
  assert not any("--horizon" in n for n in series_windows.prepare(
      values, lookback=12, horizon=6, classical_baselines=False).notes)


def test_read_csv_non_numeric_names_line(tmp_path):
  path = _write(tmp_path / 'x.csv', 'time,a\n0,1\n1,2\n2,abc\n3,4\n')
  with pytest.raises(InputError, match=r"^--csv_path: .*x.csv: line 4, column 'a': 'abc' is "
                     r"not a number$"):
    common.read_csv(path, ('a',), flag='--csv_path')
  # A spreadsheet's decimal comma or thousands separator (the cell quoted): said.
  for cell in ('19,99', '14,301', '1,234.5'):
    path = _write(tmp_path / 'c.csv', f'time,a\n0,1\n1,"{cell}"\n')
    with pytest.raises(InputError, match=rf"^.*c.csv: line 3, column 'a': '{cell}' is not a "
                       r"number \(',' in a number: save the file with numbers written "
                       r"plainly"):
      common.read_csv(path, ('a',))


def test_read_csv_gaps(tmp_path):
  path = _write(tmp_path / 'x.csv', 'time,a,b\n0,1,5\n1,,NA\n2,3\n3, 4 ,6\n')
  values, gaps = common.read_csv(path, ('b', 'a'))
  np.testing.assert_array_equal(np.isnan(values), [[0, 0], [1, 1], [1, 0], [0, 0]])
  assert gaps == 3
  np.testing.assert_array_equal(values[3], [6, 4])


def test_read_csv_empty_file(tmp_path):
  with pytest.raises(InputError, match='empty file'):
    common.read_csv(_write(tmp_path / 'x.csv', ''), ('a',))


@pytest.mark.parametrize('lookback, horizon, said', [
    (7, 1, 'too short.*--lookback=7'), (6, 2, 'too short.*--lookback=6'),
    (2, 3, '^--val_size: 2 points are fewer than --horizon=3')])  # The part, not the series.
def test_prepare_series_too_short(lookback, horizon, said):
  # 10 points, 2 validation and 2 test: the train part has 6 points.
  values = np.arange(10.0)[:, None]
  with pytest.raises(InputError, match=said):
    series_windows.prepare(values, lookback=lookback, horizon=horizon, val_size=2, test_size=2)


def test_prepare_just_long_enough():
  data = series_windows.prepare(np.arange(10.0)[:, None], lookback=5, horizon=1, val_size=2,
                                test_size=2)
  assert [len(data.y[s]) for s in common.SPLITS] == [1, 2, 2]


def test_the_automatic_split_makes_room_for_the_horizon_on_a_short_series():
  # 44 points, horizon 8: 15 % would give 7 validation and 7 test points, no window.
  data = series_windows.prepare(np.arange(44.0)[:, None], lookback=8, horizon=8,
                                classical_baselines=False)
  assert data.split_points == (28, 36)
  assert [len(data.y[s]) for s in common.SPLITS] == [13, 1, 1]
  long = series_windows.prepare(np.arange(200.0)[:, None], lookback=8, horizon=8,
                                classical_baselines=False)
  assert long.split_points == (140, 170)  # 15 % each, as before.


def test_load_unknown_dataset():
  with pytest.raises(InputError, match="^--dataset: unknown series 'nope'"):
    forecast.load(dataset='nope', lookback=12, horizon=1)


def test_load_csv_needs_target_columns(tmp_path):
  path = _write(tmp_path / 'x.csv', 'a\n1\n2\n')
  with pytest.raises(InputError, match='^--target_columns:'):
    forecast.load(csv_path=path, lookback=1, horizon=1)


# --- a user's file --------------------------------------------------------------------

@pytest.mark.parametrize('task', ['forecast', 'panel'])
def test_a_ts_file_or_a_commented_file_without_extension_is_no_csv(tmp_path, task):
  # Without an extension, a file is told by its first lines, as the .ts reader reads
  # them: a .ts file's `#` comments and `@` header, or a `#` line that no `@` line
  # follows; neither is read as a CSV whose first line names its columns.
  load = lambda path: task_data.load(task=task, csv_path=path, target_columns=('y',),
                                     lookback=2, horizon=1, classical_baselines=False)
  ts = _write(tmp_path / 'italy', open(classify.bundled_path('ItalyPowerDemand',
                                                             'train')).read())
  for path in (ts, classify.bundled_path('GunPoint', 'train')):
    with pytest.raises(InputError, match=r'^--csv_path: .*: is a .ts file, not a CSV') as e:
      load(path)
    assert '\n' not in str(e.value)
  rows = 'y\n' + ''.join(f'{v}\n' for v in range(30))
  with pytest.raises(InputError, match=r"^--csv_path: .*sales: opens with '#' lines that no "
                     r"@ header line follows .* remove the '#' lines"):
    load(_write(tmp_path / 'sales', '# shop export\n' + rows))
  assert load(_write(tmp_path / 'plain', rows)).num_train > 0  # No comment: a CSV.


def test_user_csv_with_two_targets(tmp_path):
  rng = np.random.default_rng(0)
  n = 40
  a, b = np.arange(n) * 2.0 + rng.normal(size=n), 100 + rng.normal(size=n)
  lines = ['time,b,a,other'] + [f'{t},{b[t]},{a[t]},x' for t in range(n)]
  path = _write(tmp_path / 'mine.csv', '\n'.join(lines) + '\n')
  data = forecast.load(csv_path=path, time_column='time', target_columns=('a', 'b'),
                       lookback=4, horizon=2)
  assert data.target_columns == ('a', 'b')
  assert data.mean.shape == data.std.shape == (2,)
  assert data.num_filled == 0
  assert 'seasonal_naive' not in data.baselines  # A user's file has no season unless told.
  for split in common.SPLITS:
    count = len(data.y[split])
    assert data.y[split].shape == (count, 2, 2)
    assert data.x[split].shape == (count, 4, 2)
  # Column order follows target_columns, not the file.
  series = np.stack([a, b], axis=1)
  np.testing.assert_allclose(data.y['test'][-1, -1] * data.std + data.mean, series[-1],
                             rtol=1e-5)


def test_named_time_column_must_exist_and_bom_is_read(tmp_path):
  path = tmp_path / 'bom.csv'
  path.write_bytes('\ufeffday,a\n1,1.0\n2,2.0\n'.encode('utf-8'))
  values, gaps = common.read_csv(str(path), ('a',), time_column='day')
  np.testing.assert_array_equal(values[:, 0], [1.0, 2.0])
  assert gaps == 0
  with pytest.raises(InputError, match=r"no column 'time'"):
    common.read_csv(str(path), ('a',), time_column='time')


# --- several targets and extra input columns ------------------------------------------

def _targets_and_input(tmp_path, n=30):
  """A CSV with targets a, b and input u (columns in another order), gaps in a and u.

  Returns (path, <float64>[n, 3] columns a, b, u with gaps filled by hand).
  """
  t = np.arange(n, dtype=np.float64)
  a = 10 + 2 * t + np.sin(t)
  b = 100 - t + np.cos(3 * t)
  u = 0.5 * t ** 2  # Trends upward, so whole-series statistics would differ.
  lines = ['time,u,b,other,a']
  for i in range(n):
    cells = [str(i), repr(float(u[i])), repr(float(b[i])), 'x', repr(float(a[i]))]
    if i == 5:
      cells[4] = ''  # A gap in a target, between two known points.
    if i == 7:
      cells[1] = 'NA'  # A gap in the input column.
    lines.append(','.join(cells))
  a[5] = (a[4] + a[6]) / 2
  u[7] = (u[6] + u[8]) / 2
  return _write(tmp_path / 'multi.csv', '\n'.join(lines) + '\n'), np.stack([a, b, u], 1)


def _load_multi(path, **kw):
  args = dict(csv_path=path, time_column='time', target_columns=('a', 'b'),
              input_columns=('u',), lookback=4, horizon=2, val_size=6, test_size=6)
  return forecast.load(**{**args, **kw})


def test_input_columns_shapes_and_channels(tmp_path):
  path, series = _targets_and_input(tmp_path)
  data = _load_multi(path)
  assert data.target_columns == ('a', 'b') and data.input_columns == ('u',)
  assert data.num_filled == 2
  assert data.split_points == (18, 24)
  assert data.mean.shape == data.std.shape == (2,)
  train = series[:18]
  mean, std = train.mean(axis=0), train.std(axis=0)
  scaled = (series - mean) / std
  first_target = {'train': 4, 'val': 18, 'test': 24}
  counts = {'train': 18 - 4 - 2 + 1, 'val': 6 - 2 + 1, 'test': 6 - 2 + 1}
  for split in common.SPLITS:
    x, y = data.x[split], data.y[split]
    assert x.shape == (counts[split], 4, 3) and y.shape == (counts[split], 2, 2)
    t = first_target[split] + np.arange(counts[split])
    # Inputs: a, b, then u, over the lookback; targets: a, b only.
    np.testing.assert_allclose(x, scaled[t[:, None] + np.arange(-4, 0)], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(y, scaled[t[:, None] + np.arange(2), :2], rtol=1e-5,
                               atol=1e-6)
  np.testing.assert_allclose(data.mean, mean[:2], rtol=1e-12)
  np.testing.assert_allclose(data.std, std[:2], rtol=1e-12)


def test_input_column_scaled_with_training_part_only(tmp_path):
  path, series = _targets_and_input(tmp_path)
  data = _load_multi(path)
  u = series[:, 2]
  # The training part of u, rebuilt from the first window's inputs and the rest of the
  # train windows' last input: standardised over itself.
  rebuilt = np.concatenate([data.x['train'][0, :, 2], data.x['train'][1:, -1, 2]])
  assert len(rebuilt) == 18 - 2  # The last `horizon` points are targets only.
  np.testing.assert_allclose(rebuilt, (u[:16] - u[:18].mean()) / u[:18].std(), rtol=1e-5)
  whole = (u[:16] - u.mean()) / u.std()
  assert np.abs(rebuilt - whole).max() > 0.1


def test_several_targets_baselines_against_numpy(tmp_path):
  path, series = _targets_and_input(tmp_path)
  data = _load_multi(path, season=4)
  truth_cols = series[:, :2]
  t = 24 + np.arange(5)  # Test windows: targets t, t + 1 inside the last 6 points.
  truth = truth_cols[t[:, None] + np.arange(2)]
  last = np.repeat(truth_cols[t - 1][:, None], 2, axis=1)
  seasonal = truth_cols[t[:, None] + np.arange(2) - 4]
  for name, pred in (('last_value', last), ('seasonal_naive', seasonal)):
    scores = data.baselines[name]['test']
    assert scores['rmse'] == pytest.approx(np.sqrt(np.mean((pred - truth) ** 2)))
    assert scores['mae'] == pytest.approx(np.mean(np.abs(pred - truth)))


def test_input_columns_leave_targets_unchanged(tmp_path):
  path, _ = _targets_and_input(tmp_path)
  with_input, without = _load_multi(path), _load_multi(path, input_columns=())
  assert without.input_columns == () and without.x['train'].shape[-1] == 2
  for split in common.SPLITS:
    np.testing.assert_array_equal(with_input.y[split], without.y[split])
    np.testing.assert_array_equal(with_input.x[split][..., :2], without.x[split])
  assert with_input.baselines == without.baselines
  np.testing.assert_array_equal(with_input.mean, without.mean)


def test_bundled_dataset_has_no_input_columns():
  data = forecast.load(dataset='airline', lookback=12, horizon=1)
  assert data.input_columns == ()


def test_unknown_input_column(tmp_path):
  path, _ = _targets_and_input(tmp_path)
  with pytest.raises(InputError) as info:
    _load_multi(path, input_columns=('u', 'temperature'))
  message = str(info.value)
  assert message.startswith("--input_columns: ") and '\n' not in message
  assert "no column 'temperature'" in message
  assert "['time', 'u', 'b', 'other', 'a']" in message and path in message


@pytest.mark.parametrize('inputs, repeated', [(('a',), 'a'), (('u', 'u'), 'u')])
def test_input_column_named_twice(tmp_path, inputs, repeated):
  path, _ = _targets_and_input(tmp_path)
  with pytest.raises(InputError, match=f"^--input_columns: '{repeated}' is named twice"):
    _load_multi(path, input_columns=inputs)


def test_target_column_named_twice(tmp_path):
  path, _ = _targets_and_input(tmp_path)
  with pytest.raises(InputError, match="^--target_columns: 'a' is named twice"):
    _load_multi(path, target_columns=('a', 'a'))


def test_input_column_bad_values(tmp_path):
  path = _write(tmp_path / 'x.csv', 'a,u,w\n1,2,\n2,x,\n3,4,\n4,5,\n')
  with pytest.raises(InputError, match="line 3, column 'u': 'x' is not a number"):
    forecast.load(csv_path=path, target_columns=('a',), input_columns=('u',), lookback=1,
                  horizon=1, val_size=1, test_size=1)
  with pytest.raises(InputError, match="column 'w' has no values"):
    forecast.load(csv_path=path, target_columns=('a',), input_columns=('w',), lookback=1,
                  horizon=1, val_size=1, test_size=1)


VAL_EMPTY = (3, 25, 29, 30)  # In the validation part (points 24..31 of 40), one before.


@pytest.mark.parametrize('difference', [False, True])
def test_validation_scores_are_over_the_observed_cells(tmp_path, monkeypatch, difference):
  """Empty cells of the validation part (filled) are left out of its scores: each
  baseline's validation RMSE, MAE and MASE are NumPy's over the observed cells, and the
  forecast task's score (the networks' validation metric, which chooses members) gives
  the last value's figures alike; the loader puts the mask in the val split alone."""
  path, series = _gappy(tmp_path, VAL_EMPTY)
  t = 24 + np.arange(7)  # Validation windows: targets t, t + 1 in points 24..31.
  cells = t[:, None] + np.arange(2)
  ets = 1.02 * series[cells - 1]
  monkeypatch.setattr(classical, 'forecasts',
                      lambda *args, **kw: ({'ets': {'val': ets[..., None]}}, ()))
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2,
                       val_size=8, test_size=8, season=4, difference=difference)
  scored = ~np.isin(cells, VAL_EMPTY)
  np.testing.assert_array_equal(data.val_observed[..., 0], scored)
  assert data.test_observed is None
  assert any(n.startswith('validation: 3 empty target cell(s) of its 8 points')
             for n in data.notes)
  _assert_baselines_score_observed_cells(data, 'val', series, t, scored, ets)
  split, pred, cfg = _last_value_split(data, 'val', series, t, difference)
  got = tasks.TASKS['forecast'].score(cfg, pred, split)
  for metric in ('rmse', 'mae', 'mase'):
    assert float(got[metric]) == pytest.approx(data.baselines['last_value']['val'][metric],
                                               rel=1e-5)
  arrays = task_data.load(task='forecast', val_size=8, test_size=8, csv_path=path,
                          target_columns=('y',), lookback=4, horizon=2, season=4,
                          difference=difference, classical_baselines=False).arrays
  np.testing.assert_array_equal(arrays['val']['observed'], data.val_observed)
  assert 'observed' not in arrays['test']
  for split in ('train', 'refit'):  # What the loss reads: test_training_targets_...
    np.testing.assert_array_equal(arrays[split].get('observed', True),
                                  data.train_observed.get(split, True))


@pytest.mark.parametrize('difference', [False, True])
def test_training_targets_that_were_empty_are_left_out_of_the_loss(tmp_path, difference):
  """Training and refit windows mark which targets held a value (`observed`, as their
  y; a change: where both its levels did), the forecast task's loss is the scaled MSE
  over those alone, and a filled target's value changes nothing; a gap that no window
  reads as a target (the first point, with --difference the first two) adds no mask."""
  path, series = _gappy(tmp_path, VAL_EMPTY + (12,))
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2,
                       val_size=8, test_size=8, season=4, difference=difference,
                       classical_baselines=False)
  held = ~np.isin(np.arange(40), VAL_EMPTY + (12,))
  if difference:
    held[1:] &= held[:-1]
  first = 4 + int(difference)  # The first window's first target.
  for split, end in (('train', 24), ('refit', 32)):  # Targets before validation, test.
    cells = np.arange(first, end - 1)[:, None] + np.arange(2)
    np.testing.assert_array_equal(data.train_observed[split][..., 0], held[cells])
  arrays = task_data.load(task='forecast', val_size=8, test_size=8, csv_path=path,
                          target_columns=('y',), lookback=4, horizon=2, season=4,
                          difference=difference, classical_baselines=False).arrays
  batch = {k: arrays['train'][k] for k in ('x', 'y', 'observed')}
  assert batch['observed'].dtype == bool and not batch['observed'].all()
  cfg = pop.TrainConfig(
      model=model.ModelConfig(cell='gru', input_size=1, hidden_size=8, num_layers=1,
                              output_size=2),
      optimizer='adam', batch_size=4, steps_per_chunk=1, task='forecast')
  params = model.init_params(cfg.model, jax.random.key(0))
  task = tasks.TASKS['forecast']
  err = np.asarray(task.outputs(cfg, params, batch), np.float64) - batch['y']
  got = float(task.loss(cfg, params, None, batch, None))
  assert got == pytest.approx(np.mean(err[batch['observed']] ** 2), rel=1e-5)
  assert abs(got - np.mean(err ** 2)) > 1e-3 * got  # Not every cell.
  filled = np.where(batch['observed'], batch['y'], 50.0).astype(np.float32)
  assert float(task.loss(cfg, params, None, dict(batch, y=filled), None)) == got
  drawn = tasks.TASKS['forecast'].batch(types.SimpleNamespace(batch_size=4),
                                        arrays['train'], jax.random.key(0))
  assert sorted(drawn) == ['observed', 'x', 'y']
  for gap in ((0,), (0, 1)) if difference else ((0,),):
    (tmp_path / 'g').mkdir(exist_ok=True)
    quiet = forecast.load(csv_path=_gappy(tmp_path / 'g', gap)[0], target_columns=('y',),
                          lookback=4, horizon=2, val_size=8, test_size=8,
                          difference=difference, classical_baselines=False)
    assert quiet.train_observed == {}


def test_a_complete_validation_part_has_no_mask(tmp_path):
  """A gap before validation, or none: no `observed` in the val split, the same arrays
  and scores as the series filled by hand; --fill=zero's 0s are scored."""
  path, series = _gappy(tmp_path, (3,))
  data = forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2,
                       val_size=8, test_size=8, classical_baselines=False)
  assert data.val_observed is None and data.test_observed is None
  assert not any(n.startswith('validation: ') and ' empty ' in n for n in data.notes)
  (tmp_path / 'z').mkdir()
  zero = forecast.load(csv_path=_gappy(tmp_path / 'z', VAL_EMPTY)[0], target_columns=('y',),
                       lookback=4, horizon=2, val_size=8, test_size=8,
                       classical_baselines=False, fill='zero')
  assert zero.val_observed is None


def test_a_validation_part_without_a_target_is_refused(tmp_path):
  """Nothing to choose members on: refused in one line naming the file."""
  path, _ = _gappy(tmp_path, tuple(range(24, 32)))
  with pytest.raises(InputError, match=r"--csv_path: .*gappy.csv: target column 'y' has no "
                     r'value in the validation part \(points 25 to 32\)'):
    forecast.load(csv_path=path, target_columns=('y',), lookback=4, horizon=2, val_size=8,
                  test_size=8, classical_baselines=False)
