"""Tests for rnnjax/data/statistical.py: statsforecast's models fitted per series, in this
process and in spawned ones, with notes for the series they cannot fit."""

import sys

import numpy as np
import pytest

from rnnjax.data import statistical

SEASONS = np.array([0.8, 1.1, 1.3, 0.8])  # Mean 1: a multiplicative figure.


def _short_series():
  t = np.arange(30)
  return [10 + 0.5 * t + 3 * np.sin(2 * np.pi * t / 4),
          100 + np.cumsum(np.random.default_rng(0).normal(size=24)),
          50 * SEASONS[np.arange(20) % 4] * np.random.default_rng(1).uniform(0.95, 1.05, 20),
          np.array([3., 5.])]  # Too short for ETS and Theta: naive in their place.


def test_fit_gives_finite_forecasts_and_notes_what_failed():
  pytest.importorskip('statsforecast')
  trains = _short_series()
  forecasts, notes = statistical.fit(trains, 5, 4, n_jobs=1)
  assert set(forecasts) == set(statistical.METHODS)
  for method, f in forecasts.items():
    assert f.shape == (4, 5) and np.isfinite(f).all(), method
  for method in ('AutoETS', 'AutoTheta'):
    np.testing.assert_array_equal(forecasts[method][3], [5.] * 5)
    assert any(n.startswith(f'{method}: no forecast for 1 of 4 series (positions [3]')
               for n in notes), notes
  _, notes = statistical.fit(trains, 5, 4, ('AutoTheta',), n_jobs=1, ids=list('abcd'))
  assert notes[0].startswith("AutoTheta: no forecast for 1 of 4 series (ids ['d'], of 2 points; "
                           "first:")
  # The first series is nearly a noiseless trend plus season.
  truth = 10 + 0.5 * np.arange(30, 35) + 3 * np.sin(2 * np.pi * np.arange(30, 35) / 4)
  np.testing.assert_allclose(forecasts['AutoETS'][0], truth, atol=0.5)


def test_fit_in_processes_equals_in_this_process():
  pytest.importorskip('statsforecast')
  # Ten series in 2 processes: 8 interleaved chunks, two of them of two series.
  rng = np.random.default_rng(2)
  trains = [v * rng.uniform(0.5, 2) for v in _short_series()[:3] * 4][:10]
  alone, _ = statistical.fit(trains, 3, 4, ('AutoTheta',), n_jobs=1)
  pooled, _ = statistical.fit(trains, 3, 4, ('AutoTheta',), n_jobs=2)
  np.testing.assert_array_equal(pooled['AutoTheta'], alone['AutoTheta'])


def test_intermittent_benchmarks_forecast_the_demand_rate_of_a_series_with_zeros():
  """Croston's method and the aggregations forecast a flat rate between the nonzero
  sales' size and 0 for a series with zeros; ETS does not know the zeros apart."""
  pytest.importorskip('statsforecast')
  rng = np.random.default_rng(3)
  trains = [np.where(rng.random(60) < 0.7, 0.0, rng.uniform(5, 15, 60)) for _ in range(3)]
  forecasts, notes = statistical.fit(trains, 4, 0, statistical.INTERMITTENT, n_jobs=1)
  assert set(forecasts) == set(statistical.INTERMITTENT) and not notes
  for method, f in forecasts.items():
    assert f.shape == (3, 4) and np.ptp(f, axis=1).max() < 1e-9, method  # Flat.
    sizes = [v[v > 0].mean() for v in trains]
    assert ((f[:, 0] > 0) & (f[:, 0] < sizes)).all(), method
  with pytest.raises(ValueError, match="unknown methods \\['Prophet'\\]"):
    statistical.fit(trains, 4, 0, ('Prophet',))


def test_fit_without_statsforecast_is_a_note(monkeypatch):
  monkeypatch.setitem(sys.modules, 'statsforecast', None)  # `import` then raises ImportError.
  forecasts, notes = statistical.fit(_short_series(), 3, 4)
  assert forecasts == {} and 'statsforecast is not installed' in notes[0]


def test_a_stop_while_processes_fit_ends_them_at_once():
  """A stop signal's exception (here raised from the progress report) leaves the fits at
  once: the queued series are not fitted, and the processes are ended, not waited for."""
  pytest.importorskip('statsforecast')
  import multiprocessing  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  trains = [100 + np.cumsum(rng.normal(size=2000)) for _ in range(40)]
  fitted = []

  def report(done, total):
    del total
    if done >= 1:
      raise KeyboardInterrupt

  start = time.monotonic()
  with pytest.raises(KeyboardInterrupt):
    statistical.fit(trains, 24, 24, ('AutoTheta',), n_jobs=2, report=report,
                    on_fit=lambda i, f: fitted.append(i))
  assert 1 <= len(fitted) < 10 and time.monotonic() - start < 120
  deadline = time.monotonic() + 10
  while multiprocessing.active_children() and time.monotonic() < deadline:
    time.sleep(0.1)
  assert not multiprocessing.active_children()


def test_fit_leaves_known_series_to_the_caller():
  pytest.importorskip('statsforecast')
  trains = _short_series()[:3]
  alone, notes = statistical.fit(trains, 3, 4, ('AutoTheta',), n_jobs=1)
  seen = []
  known = {0: {'AutoTheta': np.full(3, 7.0)}}
  again, again_notes = statistical.fit(trains, 3, 4, ('AutoTheta',), n_jobs=1, known=known,
                                       on_fit=lambda i, f: seen.append(i),
                                       report=lambda done, total: seen.append((done, total)))
  assert seen == [1, (1, 2), 2, (2, 2)] and again_notes == notes
  np.testing.assert_array_equal(again['AutoTheta'][0], [7.0] * 3)
  np.testing.assert_array_equal(again['AutoTheta'][1:], alone['AutoTheta'][1:])


def test_estimate_times_a_sample_spread_over_the_lengths_and_scales_it_to_the_panel(
    monkeypatch):
  """`estimate`: a series' fit taking (here, on a clock the fits advance) 1 ms a point,
  20 series of 10-200 points: the shortest fitted first to warm up (its time the
  processes' start-up, counted once), then SAMPLE of them spread from the shortest to the
  longest, from the median length out; the panel's seconds the sample's mean a series x
  20 / the processes. Given `warm_s`, no warm-up fit, and in one process none counted (it
  is warm). SAMPLE_S cuts the sample short, never before one series, and what it keeps
  is about the median (a pair about it: their mean the median's)."""
  clock, fitted = [0.0], []

  def fake_fit(methods, season, h, v):
    clock[0] += 0.001 * len(v)
    fitted.append(len(v))
    return {}
  monkeypatch.setattr(statistical, '_fit_series', fake_fit)
  monkeypatch.setattr(statistical.time, 'perf_counter', lambda: clock[0])
  lengths = list(range(10, 201, 10))
  trains = [np.arange(n, dtype=float) + 1 for n in reversed(lengths)]
  seconds, count, warm = statistical.estimate(trains, 4, 1, ('AutoETS',), n_jobs=2)
  k = statistical.SAMPLE
  assert count == k and fitted[0] == 10 and warm == pytest.approx(0.010)
  sample = fitted[1:]
  assert sorted(sample)[0] == 10 and sorted(sample)[-1] == 200 and len(set(sample)) == k
  assert seconds == pytest.approx(20 * 0.001 * np.mean(sample) / 2 + warm)
  fitted[:] = []
  one, _, _ = statistical.estimate(trains, 4, 1, ('AutoETS',), n_jobs=1, warm_s=5.0)
  assert fitted == sample and one == pytest.approx(20 * 0.001 * np.mean(sample))
  # In this process and not yet warm: its warm-up counted, once.
  fitted[:] = []
  cold, _, _ = statistical.estimate(trains, 4, 1, ('AutoETS',), n_jobs=1)
  assert fitted == [10] + sample and cold == pytest.approx(one + warm)
  monkeypatch.setattr(statistical, 'SAMPLE_S', 0.0)
  fitted[:] = []
  _, count, _ = statistical.estimate(trains, 4, 1, ('AutoETS',), n_jobs=1, warm_s=5.0)
  assert count == 1 and fitted == sample[:1]
  monkeypatch.setattr(statistical, 'SAMPLE_S', 0.001 * (sample[0] + 1))
  fitted[:] = []
  statistical.estimate(trains, 4, 1, ('AutoETS',), n_jobs=1, warm_s=5.0)
  assert len(fitted) == 2 and abs(np.mean(fitted) - np.median(lengths)) <= 15, fitted
  assert statistical.estimate([], 4, 1, ('AutoETS',), warm_s=5.0) == (0.0, 0, 5.0)
