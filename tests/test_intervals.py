"""Split-conformal intervals: the finite-sample rank, and coverage on known noise."""

import numpy as np
import pytest

from rnnjax.errors import InputError
from rnnjax.final.saved import intervals


def test_width_is_the_ceil_n_plus_1_level_th_smallest_score():
  scores = np.array([9.0, 1, 8, 2, 7, 3, 6, 4, 5, np.nan])  # n = 9 finite.
  assert intervals.conformal_width(scores, 0.8) == (8.0, False)  # ceil(10 * 0.8) = 8
  assert intervals.conformal_width(scores, 0.5) == (5.0, False)  # ceil(10 * 0.5) = 5
  # 95 % needs ceil(10 * 0.95) = 10 > 9 scores: the largest, flagged.
  assert intervals.conformal_width(scores, 0.95) == (9.0, True)


def test_widths_grow_with_the_step_and_extend_past_calibration():
  residuals = np.array([[[1.0], [2.0], [3.0]],     # step 1
                        [[0.5], [0.5], [0.5]],     # step 2: narrower, lifted to step 1
                        [[4.0], [5.0], [np.nan]]])  # step 3
  width, notes = intervals.widths(residuals, 0.5, 5)
  np.testing.assert_array_equal(width[:, 0], [2.0, 2.0, 5.0, 5.0, 5.0])
  assert any('steps past 3' in n for n in notes)
  with pytest.raises(InputError, match=r'^levels: 1.2'):
    intervals.widths(residuals, 1.2, 1)


def test_coverage_of_a_series_with_known_noise():
  """A sine plus Gaussian noise, forecast by the sine itself: errors are the noise.
  Calibrated on 200 validation points, the 80 % and 95 % intervals cover 75-85 % and
  90-99 % of 2,000 new points (their coverage is random: Beta-distributed around the
  level; these bounds hold with a wide margin at this seed)."""
  rng = np.random.default_rng(0)
  t = np.arange(2200)
  signal = 10 * np.sin(2 * np.pi * t / 50)
  series = signal + rng.normal(0, 2.0, size=t.shape)
  calibration = np.abs(series[:200] - signal[:200])[None, :, None]  # [K=1, W, C=1]
  for level, (lo, hi) in ((0.8, (0.75, 0.85)), (0.95, (0.90, 0.99))):
    width, _ = intervals.widths(calibration, level, 1)
    got = intervals.coverage(series[200:], signal[200:], width[0, 0])
    assert lo <= got <= hi, (level, got)
    # Against the known noise: the width is near the normal quantile 2 z.
    z = {0.8: 1.2816, 0.95: 1.96}[level]
    assert abs(width[0, 0] - 2.0 * z) < 0.35 * 2.0 * z
  # Coverage itself counts the points inside, on hand-made numbers.
  assert intervals.coverage([1.0, 2.0, 5.0, np.nan], 2.0, 1.0) == pytest.approx(2 / 3)


def _last_value_series():
  """A random walk whose test part (30 on) is far noisier than the rest."""
  rng = np.random.default_rng(3)
  series = np.cumsum(rng.normal(size=(40, 1)), axis=0)
  series[30:] += rng.normal(0, 20.0, size=(10, 1))
  return series


def _last_value(series, origins, steps):
  """Forecasts of every step as the last point before its origin."""
  return np.repeat(series[np.asarray(origins) - 1][:, None], steps, axis=1)


def test_intervals_are_calibrated_on_validation_errors_alone():
  """Contract 7: the calibration errors are the forecasts' from every validation origin
  t in [20, 30), of the points t + k before 30; the test part (30 on), noisier, is never
  read, so the widths are validation's."""
  series = _last_value_series()
  origins, steps = intervals.backtest_origins(20, 30, need=2, steps=3)
  assert origins.tolist() == list(range(20, 30)) and steps == 3
  # As many steps as the part holds from its first origin; none without `need` points.
  assert intervals.backtest_origins(20, 30, need=2, steps=50)[1] == 10
  first, steps_held = intervals.backtest_origins(0, 10, need=3, steps=50)
  assert first.tolist() == list(range(3, 10)) and steps_held == 7
  residuals = intervals.validation_residuals(series, origins,
                                             _last_value(series, origins, steps), 30)
  want = np.full((3, 10, 1), np.nan)
  for w, t in enumerate(range(20, 30)):
    for k in range(3):
      if t + k < 30:
        want[k, w, 0] = abs(series[t + k, 0] - series[t - 1, 0])
  np.testing.assert_array_equal(residuals, want)
  width, _ = intervals.widths(residuals, 0.8, 1)
  errors = np.sort(want[0, :, 0])  # n = 10: the ceil(11 * 0.8) = 9th smallest.
  assert width[0, 0] == errors[8]
  lower, upper, notes = intervals.bands(np.zeros((2, 1)), residuals, (0.8,), 2)
  np.testing.assert_array_equal(upper[0.8], -lower[0.8])
  assert upper[0.8][0, 0] == errors[8] and not notes


def test_coverage_on_test_counts_the_test_points_inside():
  """Coverage of the intervals on the test part, by hand: the forecasts from every test
  origin, of the steps that the test part holds from the first origin."""
  series = _last_value_series()
  residuals = np.arange(1.0, 21.0).reshape(2, 10, 1)  # Widths 9 and 19 at 0.8.
  origins, steps = intervals.backtest_origins(30, 40, need=2, steps=2)
  forecasts = _last_value(series, origins, steps)
  got = intervals.coverage_on_test(series, origins, forecasts, residuals, 1, (0.8,))
  assert got['steps'] == 2 and got['origins'] == 10
  errors = np.abs(series[30:40, 0] - series[29:39, 0])  # One step ahead.
  assert got['0.8']['first_steps'] == np.mean(errors <= 9.0)


def test_only_the_nonnegative_columns_lower_bounds_are_raised_to_zero():
  lower = {0.8: np.array([[-2.0, -2.0, 1.0], [0.5, -1.0, -3.0]])}
  out, notes = intervals.floor_at_zero(lower, np.array([True, False, True]))
  np.testing.assert_array_equal(out[0.8], [[0.0, -2.0, 1.0], [0.5, -1.0, 0.0]])
  assert notes and 'raised to 0' in notes[0]
  assert intervals.floor_at_zero({0.8: np.ones((2, 3))}, np.ones(3, bool))[1] == []


def test_too_few_errors_are_counted_and_a_panel_says_what_gives_more():
  assert [intervals.errors_needed(l) for l in (0.5, 0.8, 0.9, 0.95)] == [1, 4, 9, 19]
  residuals = np.arange(1.0, 13.0).reshape(2, 6, 1)  # 6 errors at each of 2 steps.
  _, notes = intervals.widths(residuals, 0.95, 2)
  assert notes == ['95% intervals from step 1 on: validation holds too few errors for this '
                   'level (6 at step 1, at least 19 needed), the largest is used']
  assert intervals.widths(residuals, 0.8, 2)[1] == []  # 6 >= 4: the 6th smallest.
  point = np.zeros((3, 2))
  _, upper, notes = intervals.scaled_bands(point, residuals, [1.0, 2.0, 3.0], (0.8, 0.95), 2)
  np.testing.assert_array_equal(upper[0.95], [[6, 12], [12, 24], [18, 36]])
  assert notes == [intervals.panel_note(intervals.widths(residuals, 0.95, 2)[1][0])]
  assert notes[0].endswith("(a panel's validation holds one error per validated series, "
                           'step and --folds origin: more series, or --folds=K, give more)')
  line = intervals.panel_calibration_line(residuals, (0.8, 0.95))
  assert line == ('intervals: split conformal on 6 scaled validation errors per step ahead '
                  '(one per validated series); ' + notes[0])


def test_a_panel_s_errors_bands_and_coverage_are_scaled_per_series_by_hand():
  """A panel's scores are |y - forecast| / the series' scale of the validated series
  (weight > 0) alone; a series' band is its forecast +- the width times its own scale,
  and its test errors are scaled the same way before they are compared with the width."""
  y = np.array([[10.0, 12.0], [100.0, 90.0], [5.0, 5.0]])
  forecasts = np.array([[11.0, 10.0], [110.0, 100.0], [0.0, 0.0]])
  residuals = intervals.scaled_residuals(y, forecasts, [1.0, 10.0, 2.0], [1.0, 2.0, 0.0])
  np.testing.assert_array_equal(residuals, [[[1.0], [1.0]], [[2.0], [1.0]]])
  point = np.array([[5.0, 5.0], [50.0, 50.0]])
  # n = 2 at 0.5: the ceil(3 * 0.5) = 2nd smallest, 1 at step 1 and 2 at step 2.
  lower, upper, _ = intervals.scaled_bands(point, residuals, [1.0, 10.0], (0.5,), 2)
  np.testing.assert_array_equal(lower[0.5], [[4.0, 3.0], [40.0, 30.0]])
  np.testing.assert_array_equal(upper[0.5], [[6.0, 7.0], [60.0, 70.0]])
  # Scaled test errors [[0.5, 4], [0.8, 0]] against the widths [1, 2].
  truth = np.array([[5.5, 9.0], [58.0, 50.0]])
  got = intervals.scaled_coverage_on_test(truth, point, [1.0, 10.0], residuals, 1, (0.5,))
  assert got['0.5'] == {'first_steps': 1.0, 'all_steps': 0.75}
  assert (got['steps'], got['origins']) == (2, 2)


def test_a_single_series_lower_bounds_are_raised_per_column():
  """Only the target columns whose history never went below 0 lose their negative lower
  bounds: a column with a negative value keeps its own."""
  residuals = np.full((1, 3, 2), 2.0)
  history = np.array([[1.0, -1.0], [2.0, 3.0]])
  lower, upper, notes = intervals.series_bands(np.ones((1, 2)), residuals, history, (0.5,), 1)
  np.testing.assert_array_equal(lower[0.5], [[0.0, -1.0]])
  np.testing.assert_array_equal(upper[0.5], [[3.0, 3.0]])
  assert any('raised to 0' in n for n in notes)
