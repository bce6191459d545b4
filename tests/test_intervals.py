"""Split-conformal intervals: the finite-sample rank, and coverage on known noise."""

import numpy as np
import pytest

from rnnjax import intervals
from rnnjax.errors import InputError


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
  with pytest.raises(InputError, match='--levels: 1.2'):
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
