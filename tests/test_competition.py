"""Tests for rnnjax/data/scores/competition.py: the M competitions' scores and benchmarks against hand
computations, an independent decomposition (statsmodels), and the M3 competition's own published
table and submitted forecasts (the bundled rnnjax/data/panels)."""

import csv
import importlib.resources
import warnings

import numpy as np
import pytest

from rnnjax.data.scores import competition
from rnnjax.errors import InputError

PANELS = importlib.resources.files('rnnjax.data') / 'panels'
SEASONS = np.array([0.8, 1.1, 1.3, 0.8])  # Mean 1: a multiplicative figure.


def _read_long(name):
  """{unique_id: <float64>[n]} of a bundled long-format file, in the file's order."""
  series = {}
  with open(PANELS / name, newline='') as f:
    for uid, ds, y in list(csv.reader(f))[1:]:
      series.setdefault(uid, []).append((int(ds), float(y)))
  return {uid: np.array([y for _, y in sorted(rows)]) for uid, rows in series.items()}


@pytest.fixture(scope='module', params=['m3_yearly', 'm3_other'])
def m3(request):
  """(name, ids, trains, <[S, h]> test values, {method: forecasts}) with Naive2 and the
  competitors' submitted forecasts; M3 yearly and other have season 1."""
  train = _read_long(f'{request.param}_train.csv')
  test = _read_long(f'{request.param}_test.csv')
  ids = list(train)
  y = np.stack([test[uid] for uid in ids])
  forecasts = competition.submitted(str(PANELS / 'm3_competition_forecasts.csv'), ids,
                                    y.shape[1])
  forecasts['Naive2'] = np.stack([competition.naive2(train[uid], y.shape[1], 1) for uid in ids])
  return request.param, ids, [train[uid] for uid in ids], y, forecasts


def test_smape_by_hand():
  y = np.array([[100., 200.], [0., 50.]])
  f = np.array([[110., 150.], [0., 0.]])
  # 200 * 10 / 210 and 200 * 50 / 350; both 0 counts 0, and 200 * 50 / 50.
  expected = [(2000 / 210 + 10000 / 350) / 2, (0 + 200) / 2]
  np.testing.assert_allclose(competition.smape(y, f), expected, rtol=1e-12)
  np.testing.assert_allclose(competition.smape(f, y), expected, rtol=1e-12)  # Symmetric.


def test_mase_scale_and_mase_by_hand():
  train = np.array([1., 2., 4., 7., 11.])
  assert competition.mase_scale(train, 1) == pytest.approx(2.5)  # (1 + 2 + 3 + 4) / 4
  assert competition.mase_scale(train, 2) == pytest.approx(5.0)  # (3 + 5 + 7) / 3
  # No longer than its season: lag 1.
  assert competition.mase_scale(train, 5) == pytest.approx(2.5)
  assert competition.mase_scale(train, 12) == pytest.approx(2.5)
  y, f = np.array([[12., 14.], [1., 1.]]), np.array([[11., 11.], [2., 0.]])
  np.testing.assert_allclose(competition.mase(y, f, [2.5, 0.5]), [(1 + 3) / 2 / 2.5, 2.0])
  with pytest.raises(ValueError, match='no differences'):
    competition.mase_scale([3.], 1)


def test_rmsse_by_hand_from_the_first_sale_on():
  # M5: the mean squared one-step change from the first non-zero value on (lag 1 whatever
  # the season): [3, 5, 4] -> (4 + 1) / 2; the leading zeros (not yet sold) left out. The
  # scale is kept as its root: RMSSE = RMSE / root.
  assert competition.rmsse_error([0., 0., 3., 5., 4.]) == pytest.approx(np.sqrt(2.5))
  assert competition.rmsse_error([1., 0., 3.]) == pytest.approx(np.sqrt(5.))  # A later 0 counts.
  assert competition.rmsse_error([0., 0., 7.]) == 0.0  # One point sold: no change.
  assert competition.rmsse_error([0., 3., 5.]) == pytest.approx(2.0)  # Two: one change.
  assert competition.rmsse_error([0., 0.]) == 0.0
  y, f = np.array([[6., 4.], [1., 1.]]), np.array([[4., 4.], [0., 3.]])
  np.testing.assert_allclose(competition.rmsse(y, f, np.sqrt([2.5, 0.5])),
                             [np.sqrt((4 + 0) / 2 / 2.5), np.sqrt((1 + 4) / 2 / 0.5)])
  # Squared, not absolute: unlike MASE, it ranks the mean of a slow mover above 0.
  y = np.array([[0., 0., 0., 4.]])
  zero, mean = np.zeros_like(y), np.full_like(y, 1.)
  assert competition.mase(y, zero, [1.]) < competition.mase(y, mean, [1.])
  assert competition.rmsse(y, zero, [1.]) > competition.rmsse(y, mean, [1.])
  # The panel's scale falls back to the level where there is no change, as MASE's does.
  from rnnjax.data.windows import series_scales
  assert series_scales.rmsse_scale(np.array([0., 0., 3., 5., 4.])) == pytest.approx(
      np.sqrt(2.5))
  assert series_scales.rmsse_scale(np.array([2., 2., 2.])) == pytest.approx(2.0)
  assert series_scales.rmsse_scale(np.zeros(3)) == 1.0
  # Its fallback counts the same points as M5's scale: a product first sold (7) on the
  # part's last day is scaled by 7, not by 7 / sqrt(700) over the days before it (which
  # made a forecast of 1 a day for its 28 test days of 0 an RMSSE of 3.8, not 0.14).
  assert series_scales.rmsse_scale(np.r_[np.zeros(699), 7.]) == pytest.approx(7.0)
  assert series_scales.rmsse_scale(np.array([0., 0., 3., 3.])) == pytest.approx(3.0)
  np.testing.assert_array_equal(competition.sold([0., 0., 3., 0., 5.]), [3., 0., 5.])
  np.testing.assert_array_equal(competition.sold([0., 0.]), [0., 0.])
  # Tiny and huge values: the root keeps a float32 scale finite and non-zero where the
  # square would not be (1e-25^2 is 0 in float32, 1e20^2 inf).
  for size in (1e-25, 1e20):
    v = size * np.array([1., 3., 2., 5.])
    scale = np.float32(series_scales.rmsse_scale(v))
    assert 0 < scale < np.inf
    assert competition.rmsse(v[None, :2], v[None, :2] + size, [scale])[0] == pytest.approx(
        1 / np.sqrt((4 + 1 + 9) / 3), rel=1e-6)


def test_scores_carry_rmsse_only_when_given_its_scales():
  y = np.array([[6., 4.], [1., 1.]])
  forecasts = {'Naive2': np.array([[5., 5.], [1., 2.]]), 'm': np.array([[4., 4.], [0., 3.]])}
  plain = competition.scores(forecasts, y, [1., 1.])
  assert 'rmsse' not in plain['m']
  both = competition.scores(forecasts, y, [1., 1.], rmsse_scales=[2.5, 0.5])
  assert both['m']['rmsse'] == pytest.approx(np.mean(competition.rmsse(
      y, forecasts['m'], [2.5, 0.5])))
  assert {k: both['m'][k] for k in plain['m']} == plain['m']  # The others unchanged.


def test_every_mase_scale_is_the_same_naive_error():
  # The M4 scale (inf MASE when constant), the panel's (falls back to the level) and a single
  # series' columns (NaN when constant) differ only where the naive error is 0.
  from rnnjax.data.windows import series_scales
  from rnnjax.data.scores import series_errors
  cols = np.array([[1., 5., 2.], [2., 5., 2.], [4., 5., 2.], [7., 5., 2.], [11., 5., 3.]])
  for season in (0, 1, 2, 4, 5, 12):
    each = [competition.mase_scale(cols[:, c], season) for c in range(3)]
    np.testing.assert_allclose(competition.naive_error(cols, season), each, rtol=1e-12)
    np.testing.assert_allclose(series_errors.mase_scale(cols, season),
                               [s if s > 0 else np.nan for s in each], rtol=1e-12)
    assert series_scales.mase_scale(cols[:, 0], season) == pytest.approx(each[0])
  assert competition.naive_error(cols, 2)[2] == pytest.approx(1 / 3)  # Only 2 -> 3, lag 2.
  assert competition.naive_error(cols[:, 1], 1) == 0.0
  assert series_scales.mase_scale(cols[:, 1], 1) == 5.0  # Constant: its level.
  assert competition.naive_error([3.], 4) == 0.0
  assert series_scales.mase_scale(np.array([3.]), 4) == 3


def test_mostly_zero_is_half_or_more_of_the_points_at_0():
  # 2 of 4, 1 of 4, none, all: a forecast of 0 is the median of the first and last.
  trains = [[0., 3., 0., 1.], [0., 3., 2., 1.], [5.], [0., 0., 0.]]
  np.testing.assert_array_equal(competition.mostly_zero(trains), [True, False, False, True])
  # Why it matters: there 0 scores a lower MASE than the series' mean, and sMAPE 0.
  y = np.array([[0., 0., 0., 4.]])
  zero, mean = np.zeros_like(y), np.full_like(y, 1.)
  assert competition.mase(y, zero, [1.]) < competition.mase(y, mean, [1.])
  assert competition.smape(y, zero) < competition.smape(y, mean)


def test_naive_and_seasonal_naive():
  v = np.arange(1., 8.)  # 1 .. 7
  np.testing.assert_array_equal(competition.naive(v, 3), [7, 7, 7])
  np.testing.assert_array_equal(competition.seasonal_naive(v, 5, 3), [5, 6, 7, 5, 6])
  np.testing.assert_array_equal(competition.seasonal_naive(v, 2, 1), [7, 7])
  np.testing.assert_array_equal(competition.seasonal_naive(v, 2, 12), [7, 7])  # Too short.
  # Exactly one season is long enough: M4's head(rep(tail(input, frequency), h), h).
  np.testing.assert_array_equal(competition.seasonal_naive(v[:3], 4, 3), [1, 2, 3, 1])


def test_naive2_recovers_a_multiplicative_season_exactly():
  n = 4 * 6 + 1  # The last point is the first of a season: a phase the forecast must keep.
  v = 100 * SEASONS[np.arange(n) % 4]
  assert competition.is_seasonal(v, 4)
  np.testing.assert_allclose(competition.seasonal_indices(v, 4), SEASONS, rtol=1e-12)
  np.testing.assert_allclose(competition.naive2(v, 6, 4),
                             100 * SEASONS[np.arange(n, n + 6) % 4], rtol=1e-12)
  # Seasonal naive agrees here; naive does not.
  np.testing.assert_allclose(competition.seasonal_naive(v, 6, 4), competition.naive2(v, 6, 4))


def test_naive2_on_a_trend_times_season_is_the_adjusted_last_value_reseasonalised():
  n = 4 * 10 + 2
  t = np.arange(n)
  v = (100 + 2 * t) * SEASONS[t % 4]
  f = competition.naive2(v, 8, 4)
  # The moving average of a linear trend times a season is nearly the trend: the recovered
  # figure is within a percent, so the forecast is the last level, 182, times the season.
  np.testing.assert_allclose(f, 182 * SEASONS[np.arange(n, n + 8) % 4], rtol=0.01)
  assert not np.allclose(f, competition.naive(v, 8), rtol=0.05)


def test_seasonal_indices_match_statsmodels_decomposition():
  seasonal_decompose = pytest.importorskip('statsmodels.tsa.seasonal').seasonal_decompose
  rng = np.random.default_rng(0)
  for season, n in ((12, 12 * 5 + 7), (4, 4 * 4 + 1), (5, 5 * 4 + 3)):  # Even and odd seasons.
    t = np.arange(n)
    v = (50 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / season)) * rng.uniform(0.9, 1.1, n)
    expected = seasonal_decompose(v, model='multiplicative', period=season).seasonal[:season]
    np.testing.assert_allclose(competition.seasonal_indices(v, season), expected, rtol=1e-10)


def test_non_seasonal_series_gets_plain_naive():
  walk = 100 + np.cumsum(np.random.default_rng(3).normal(size=60))
  assert not competition.is_seasonal(walk, 12)
  np.testing.assert_array_equal(competition.naive2(walk, 5, 12), np.full(5, walk[-1]))
  seasonal = 100 * SEASONS[np.arange(40) % 4]
  np.testing.assert_array_equal(competition.naive2(seasonal, 3, 1), np.full(3, seasonal[-1]))
  # Fewer than three seasons, or a constant series: not seasonal (M4's test).
  assert not competition.is_seasonal(seasonal[:11], 4)
  assert not competition.is_seasonal(np.full(40, 5.), 4)
  # Sales with weeks of none: seasonal by the test, but no multiplicative season (a zero
  # trend divided by); naive, as --deseasonalize leaves such a series.
  sales = seasonal * (np.arange(40) % 4 != 1)
  assert competition.is_seasonal(sales, 4)
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    np.testing.assert_array_equal(competition.naive2(sales, 3, 4), np.full(3, sales[-1]))


def test_is_seasonal_is_m4_s_seasonality_test_over_statsmodels_acf():
  """M4's SeasonalityTest (Benchmarks and Evaluation.R) written over statsmodels' acf, as
  R's acf() gives it (lags up to floor(10 log10 n)), on series near its 90 % limit:
  seasons and their double (a negative r at the season), skewed noise, every length from
  two seasons (fewer than three: not seasonal) and seasons past acf's last lag."""
  acf = pytest.importorskip('statsmodels.tsa.stattools').acf

  def m4_test(v, season):
    n = len(v)
    lags = min(int(np.floor(10 * np.log10(n))), n - 1)
    if n < 3 * season or season > lags:
      return False
    r = acf(v, nlags=lags, fft=False)[1:]
    limit = 1.645 / np.sqrt(n) * np.sqrt(np.cumsum(np.r_[1, 2 * r ** 2]))
    return bool(abs(r[season - 1]) > limit[season - 1])

  rng = np.random.default_rng(0)
  got, want = [], []
  for _ in range(300):
    season = int(rng.choice([2, 4, 7, 12, 24]))
    n = int(rng.integers(2 * season, 8 * season))
    t = np.arange(n)
    period = season * int(rng.choice([1, 2]))
    amplitude = 4 * rng.uniform(0, 1) ** 2
    v = 10 + amplitude * np.sin(2 * np.pi * t / period) + rng.exponential(1, n)
    got.append(competition.is_seasonal(v, season))
    want.append(m4_test(v, season))
  assert got == want
  assert 20 < sum(want) < 280  # Both answers, many near the limit.
  # A sawtooth of 12: seasonal over three seasons; one point fewer, not (too short).
  saw = np.tile(np.arange(1., 13.), 3)
  assert [competition.is_seasonal(v, 12) for v in (saw, saw[:-1])] == [True, False]
  assert [m4_test(v, 12) for v in (saw, saw[:-1])] == [True, False]


def test_submitted_scores_match_the_published_m3_table(m3):
  name, _, trains, y, forecasts = m3
  scales = [competition.mase_scale(v, 1) for v in trains]
  got = competition.scores(forecasts, y, scales)
  # Makridakis & Hibon (2000), as the panels' README quotes it.
  published = {'m3_yearly': {'THETA': 16.97, 'ForecastPro': 17.27, 'NAIVE2': 17.88,
                             'Auto-ANN': 18.57},
               'm3_other': {'THETA': 4.41, 'ForecastPro': 4.60, 'NAIVE2': 6.30,
                            'Auto-ANN': 4.80}}[name]
  for method, value in published.items():
    assert round(got[method]['smape'], 2) == value, (name, method, got[method])
  assert len(forecasts) == 11  # Ten submitted methods cover every series, and Naive2.


def test_naive2_reproduces_the_submitted_naive2(m3):
  _, _, _, _, forecasts = m3
  # M3's yearly and other series are not seasonal: Naive2 is their last value, which the
  # submitted file gives to 2 decimals, as the data.
  np.testing.assert_allclose(forecasts['Naive2'], forecasts['NAIVE2'], rtol=0, atol=0.005)


def test_owa_of_the_reference_is_one_and_of_others_the_mean_ratio():
  y = np.array([[10., 12.], [5., 5.]])
  forecasts = {'Naive2': np.array([[9., 9.], [6., 6.]]), 'Good': np.array([[10., 11.], [5., 6.]])}
  scales = np.array([1., 2.])
  got = competition.scores(forecasts, y, scales)
  assert got['Naive2']['owa'] == 1.0
  ref, good = got['Naive2'], got['Good']
  assert good['smape'] == pytest.approx(np.mean(competition.smape(y, forecasts['Good'])))
  assert good['owa'] == pytest.approx((good['smape'] / ref['smape'] +
                                       good['mase'] / ref['mase']) / 2)
  assert good['owa'] < 1
  with pytest.raises(ValueError, match="reference 'Naive2'"):
    competition.scores({'Good': forecasts['Good']}, y, scales)
  with pytest.raises(ValueError, match="'Naive2'.*shape"):
    competition.scores({'Naive2': forecasts['Naive2'][:, :1]}, y, scales)


def test_owa_against_an_exact_reference_is_nan_or_inf_not_a_crash():
  """Constant series (a panel of steady sellers): Naive2 forecasts every test point
  exactly, its sMAPE and MASE are 0, and OWA's ratios were a ZeroDivisionError that ended
  a sweep in a traceback. A method exact too gets NaN (0 / 0), one that is not inf."""
  y = np.array([[5., 5., 5.], [7., 7., 7.]])
  forecasts = {'Naive2': y.copy(), 'Other': y + 1.0}
  got = competition.scores(forecasts, y, np.array([1., 1.]))
  assert np.isnan(got['Naive2']['owa']) and got['Other']['owa'] == np.inf


def test_submitted_keeps_the_ids_order_and_complete_methods_only(tmp_path):
  rows = [('b', 'M', '1', '1.5'), ('a', 'M', '1', '2.5'), ('a', 'M', '2', '3.5'),
          ('b', 'M', '2', '4.5'), ('a', 'Partial', '1', '9'), ('c', 'M', '1', '7')]
  got = competition.submitted(rows, ['a', 'b'], 2)
  assert list(got) == ['M']
  np.testing.assert_array_equal(got['M'], [[2.5, 3.5], [1.5, 4.5]])
  bad = tmp_path / 'bad.csv'
  bad.write_text('unique_id,model,step,forecast\n')
  with pytest.raises(InputError, match='bad.csv: columns'):
    competition.submitted(str(bad), ['a'], 1)
  bad.write_text('unique_id,method,step,forecast\na,M,one,2\n')
  with pytest.raises(InputError, match='bad.csv: row 2'):
    competition.submitted(str(bad), ['a'], 1)
  with pytest.raises(InputError, match='rows: row 1'):
    competition.submitted([('a', 'M', '1', 'x')], ['a'], 1)


def test_observed_steps_alone_are_scored():
  """`observed` marks the steps a series is scored on (a test part's cells that held a
  value): each series' mean over those; every step marked gives exactly the unmasked
  scores."""
  rng = np.random.default_rng(0)
  y, f = rng.uniform(1, 10, (3, 4)), rng.uniform(1, 10, (3, 4))
  scales = np.array([1.0, 2.0, 0.5])
  observed = np.array([[1, 0, 0, 1], [1, 1, 1, 1], [0, 1, 1, 1]], bool)
  per_step = 200 * np.abs(y - f) / (np.abs(y) + np.abs(f))
  np.testing.assert_allclose(competition.smape(y, f, observed),
                             [per_step[i][observed[i]].mean() for i in range(3)])
  np.testing.assert_allclose(competition.mase(y, f, scales, observed),
                             [np.abs(y - f)[i][observed[i]].mean() / scales[i]
                              for i in range(3)])
  np.testing.assert_allclose(competition.rmsse(y, f, scales, observed),
                             [np.sqrt(((y - f) ** 2)[i][observed[i]].mean()) / scales[i]
                              for i in range(3)])
  every = np.ones((3, 4), bool)
  for name in ('smape', 'mase', 'rmsse'):
    args = (y, f) if name == 'smape' else (y, f, scales)
    assert getattr(competition, name)(*args, every).tolist() == getattr(
        competition, name)(*args).tolist()
  both = competition.scores({'a': f, 'Naive2': y + 1}, y, scales, observed=observed)
  assert both['a']['smape'] == pytest.approx(competition.smape(y, f, observed).mean())


def test_a_series_without_an_observed_step_is_left_out_of_the_averages():
  """A series none of whose steps is observed has no score (NaN, its row) and is left
  out of every method's average, as the panel windows give its part weight 0: the
  averages are those of the other series alone, not NaN; none observed at all refuses."""
  rng = np.random.default_rng(1)
  y, f, ref = (rng.uniform(1, 10, (3, 4)) for _ in range(3))
  scales, roots = np.array([1.0, 2.0, 0.5]), np.array([0.5, 1.0, 3.0])
  observed = np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]], bool)
  rows = competition.series_scores({'a': f}, y, scales, roots, observed)['a']
  assert np.isnan(rows['smape'][1]) and np.isfinite(rows['smape'][[0, 2]]).all()
  both = competition.scores({'a': f, 'Naive2': ref}, y, scales, rmsse_scales=roots,
                            observed=observed)
  alone = competition.scores({'a': f[[0, 2]], 'Naive2': ref[[0, 2]]}, y[[0, 2]],
                             scales[[0, 2]], rmsse_scales=roots[[0, 2]],
                             observed=observed[[0, 2]])
  assert both == alone and all(np.isfinite(v) for s in both.values() for v in s.values())
  with pytest.raises(ValueError, match='no step of any series is observed'):
    competition.scores({'a': f, 'Naive2': ref}, y, scales, observed=np.zeros((3, 4)))
