"""Tests for rnnjax/data/classical.py: ETS and ARIMA baselines on series whose answer is known.

statsforecast's models take about a second per fit on these tiny series (and a few
seconds to import), so each series' baselines are computed once per module.
"""

import sys

import numpy as np
import pytest

from rnnjax.data import classical
from rnnjax.data import common
from rnnjax.data import task_data
from rnnjax.data.scores import series_errors
from rnnjax.data.windows import series_windows

LOOKBACK, VAL, TEST = 12, 24, 24


def _seasonal_trend(n=120, season=12):
  """<float64>[n, 1]: a linear trend plus a sine of period `season`, and as noise a
  random walk of steps 0.01. (With no noise the likelihood is degenerate; with white
  noise AutoARIMA's search takes seconds longer.)"""
  t = np.arange(n)
  noise = np.cumsum(np.random.default_rng(0).normal(scale=0.01, size=n))
  return (50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / season) + noise)[:, None]


def _random_walk(n=150):
  return (100 + np.cumsum(np.random.default_rng(1).normal(size=n)))[:, None]


def _prepare(values, **kw):
  args = dict(lookback=LOOKBACK, horizon=1, val_size=VAL, test_size=TEST)
  return series_windows.prepare(values, **{**args, **kw})


@pytest.fixture(scope='module')
def seasonal():
  pytest.importorskip('statsforecast')
  return _prepare(_seasonal_trend(), season=12)


@pytest.fixture(scope='module')
def walk():
  pytest.importorskip('statsforecast')
  return _prepare(_random_walk())


def test_noiseless_seasonal_trend_is_forecast_almost_exactly(seasonal):
  assert seasonal.notes == ()
  for split in ('val', 'test'):
    naive = seasonal.baselines['seasonal_naive'][split]
    # Seasonal naive misses by one season's trend, 0.5 * 12, at every step.
    assert naive['mae'] == pytest.approx(6.0, abs=0.1)
    for name in classical.MODELS:
      assert seasonal.baselines[name][split]['rmse'] < 0.01 * naive['rmse'], (name, split)
      assert seasonal.baselines[name][split]['mase'] < 0.01


def test_random_walk_arima_is_close_to_last_value(walk):
  """The last value is a random walk's best forecast. On the training part AutoARIMA
  picks ARIMA(0, 1, 0), which is it; on training + validation a model close to it. ETS
  picks simple exponential smoothing, whose smoothing estimate falls short of 1."""
  last = walk.baselines['last_value']
  assert walk.baselines['arima']['val'] == pytest.approx(last['val'], rel=1e-9)
  for split in ('val', 'test'):
    for name in classical.MODELS:
      for metric in ('rmse', 'mase'):
        assert walk.baselines[name][split][metric] == pytest.approx(
            last[split][metric], rel=0.1), (name, split, metric)


def test_validation_baselines_use_only_the_training_part(seasonal):
  """Validation forecasts come from models fitted on the training part and run over the
  validation part: the test part, however changed, changes none of them."""
  values = _seasonal_trend()
  values[-TEST:] = np.random.default_rng(2).normal(size=(TEST, 1)) * 100
  changed = _prepare(values, season=12)
  for name in classical.MODELS:
    assert changed.baselines[name]['val'] == seasonal.baselines[name]['val']
    assert changed.baselines[name]['test'] != seasonal.baselines[name]['test']


def test_test_models_are_fitted_on_training_and_validation(walk):
  values = _random_walk()
  val_end, n = len(values) - TEST, len(values)
  t = np.arange(val_end, n)
  truth = values[t][:, None]
  scale = series_errors.mase_scale(values[:n - VAL - TEST], 0)
  for fit_end, same in ((val_end, True), (n - VAL - TEST, False)):
    preds, _ = classical.forecasts(values, {'test': t}, {'test': fit_end}, horizon=1,
                                   season=0)
    for name in classical.MODELS:
      report = series_errors.regression_report(preds[name]['test'], truth, scale)
      if same or name == 'ets':  # ARIMA(0, 1, 0) has no parameter to change.
        assert (report == walk.baselines[name]['test']) == same, (name, fit_end)


def test_one_pass_one_step_forecasts_equal_per_origin_forecasts():
  """ETS's horizon-1 path reads one forward run's fitted values; the general path
  forecasts from each origin separately. Their first steps agree."""
  pytest.importorskip('statsforecast')
  values = _seasonal_trend(72) + _random_walk(72) - 100
  t = np.arange(48, 70)
  one, notes = classical.forecasts(values, {'val': t}, {'val': 48}, horizon=1, season=12)
  two, _ = classical.forecasts(values, {'val': t}, {'val': 48}, horizon=2, season=12)
  assert notes == ()
  for name in classical.MODELS:
    assert one[name]['val'].shape == (len(t), 1, 1)
    assert two[name]['val'].shape == (len(t), 2, 1)
    np.testing.assert_allclose(one[name]['val'][:, 0], two[name]['val'][:, 0], rtol=1e-6)


def test_several_targets_are_one_model_each():
  pytest.importorskip('statsforecast')
  values = np.concatenate([_random_walk(60), 3 * _random_walk(60)[::-1]], axis=1)
  starts, ends = {'val': np.arange(40, 50), 'test': np.arange(50, 60)}, {'val': 40, 'test': 50}
  both, _ = classical.forecasts(values, starts, ends, horizon=1, season=0)
  for c in range(2):
    alone, _ = classical.forecasts(values[:, c:c + 1], starts, ends, horizon=1, season=0)
    for name in classical.MODELS:
      for split in starts:
        np.testing.assert_array_equal(both[name][split][..., c:c + 1], alone[name][split])


def test_differenced_networks_leave_baselines_on_the_levels(walk):
  differenced = _prepare(_random_walk(), difference=True)
  for name in ('last_value', *classical.MODELS):
    assert differenced.baselines[name] == walk.baselines[name]


def test_long_season_is_fitted_non_seasonal_with_a_note():
  pytest.importorskip('statsforecast')
  values = _random_walk(80)
  _, notes = classical.forecasts(values, {'val': np.arange(70, 80)}, {'val': 70},
                                 horizon=1, season=30)
  assert len(notes) == 2
  assert all('season 30 > 24' in note for note in notes)


def test_without_statsforecast_the_baselines_are_skipped_with_a_note(monkeypatch):
  monkeypatch.setitem(sys.modules, 'statsforecast', None)  # Its import now fails.
  data = _prepare(_seasonal_trend(), season=12)
  assert set(data.baselines) == {'last_value', 'seasonal_naive'}
  assert len(data.notes) == 1 and 'statsforecast is not installed' in data.notes[0]
  loaded = task_data.load(task='forecast', dataset='shampoo_sales', lookback=4,
                          val_size=6, test_size=6)
  assert 'ets' not in loaded.baselines and 'arima' not in loaded.baselines
  assert any('statsforecast is not installed' in note for note in loaded.notes)


def test_forecasting_from_many_origins_says_how_far_it_is(monkeypatch):
  """An hourly year's seasonal ARIMA forecasts from ~3,000 origins for minutes: the
  sweep's log gets a line every PROGRESS_S seconds naming --classical_baselines=false."""
  pytest.importorskip('statsforecast')
  monkeypatch.setattr(classical, 'PROGRESS_S', 0.0)
  values, lines = _random_walk(), []
  t = np.arange(len(values) - TEST, len(values) - 3)
  with common.reporting(lines.append):
    classical.forecasts(values, {'test': t}, {'test': len(values) - TEST}, horizon=3,
                        season=0)
  arima = [line for line in lines if line.startswith('ARIMA baseline')]
  assert len(arima) == len(t) - 1  # Each origin but the last: that one ends the fits.
  assert arima[0].startswith(f'ARIMA baseline: forecasts from 1 of {len(t)} origins in ')
  assert 'left; --classical_baselines=false skips the classical baselines' in arima[0]
  lines.clear()
  classical.forecasts(values, {'test': t}, {'test': len(values) - TEST}, horizon=3, season=0)
  assert lines == []  # Outside `reporting`, the fits say nothing.


def test_a_dry_runs_estimate_fits_nothing_and_counts_every_split_origin_and_column(
    monkeypatch):
  """Inside `common.estimating`, `forecasts` returns no forecasts and counts what they would
  take: each model's fit (timed once a series, here 2 s for ETS, 3 s for ARIMA) once a
  split and column, and its forecast from an origin (0.1 s, 0.2 s) once an origin and
  column, ETS at horizon 1 one forward run a split instead; a second call (another
  lookback's data) counts again without timing again; a short fit of each model first
  (statsforecast's compilation, once). Outside, `forecasts` fits as before."""
  pytest.importorskip('statsforecast')
  timed = []

  def fake(make, y, fit_end, origins, horizon, *, one_pass):
    timed.append((fit_end, len(origins)))
    return (2.0, 0.1, True) if one_pass and horizon == 1 else (3.0, 0.2, False)
  monkeypatch.setattr(classical, '_time_model', fake)
  values = np.concatenate([_random_walk(60), _random_walk(60)], axis=1)
  starts, ends = {'val': np.arange(40, 50), 'test': np.arange(50, 58)}, {'val': 40, 'test': 50}
  with common.estimating() as estimates:
    assert classical.forecasts(values, starts, ends, horizon=1, season=0) == ({}, ())
    estimate = estimates['classical']
    # Each model's short fit (no origins), then each timed on validation's fitting part.
    assert timed == [(40, 0), (40, 0), (40, 5), (40, 5)]
    ets = 2 * (2 * 2.0 + 2 * 0.1)  # Columns x (a fit a split + a forward run a split).
    arima = 2 * (2 * 3.0 + 18 * 0.2)  # Columns x (a fit a split + 18 origins' forecasts).
    assert estimate.seconds == pytest.approx(ets + arima, abs=0.05)
    classical.forecasts(values, starts, ends, horizon=1, season=0)
    assert len(timed) == 4 and estimate.seconds == pytest.approx(2 * (ets + arima), abs=0.05)
  assert (estimate.calls, estimate.origins) == (2, 2 * 2 * 18)
  assert estimate.note().startswith(
      'the classical baselines (ETS, ARIMA) are not fitted in a dry run: fitted on 2 data '
      'sets (a lookback and fold each), forecasting from 72 origins, about ')
  assert common.estimate('classical', classical.Estimate) is None  # Outside: fits.
  monkeypatch.undo()
  with common.estimating() as estimates:  # Real fits, timed.
    classical.forecasts(values[:, :1], starts, ends, horizon=2, season=0)
  assert 0 < estimates['classical'].seconds and 0 < estimates['classical'].spent
