"""Split-conformal intervals: the finite-sample rank, and coverage on known noise."""

import numpy as np
import pytest

from rnnjax.errors import InputError
from rnnjax.final import intervals


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


class _LastValue:
  """A stand-in for tuned.TunedModel: forecasts every step as the last point before
  its origin (lookback 2), on a series whose test part is far noisier than the rest."""
  num_targets = 1

  def __init__(self):
    rng = np.random.default_rng(3)
    self.series = np.cumsum(rng.normal(size=(40, 1)), axis=0)
    self.series[30:] += rng.normal(0, 20.0, size=(10, 1))
    self.arrays = {'series': self.series}
    self.transform = {'split_points': [20, 30], 'horizon': 2}

  def _need(self):
    return 2

  def _paths(self, values, origins, steps):
    return np.repeat(values[np.asarray(origins) - 1][:, None], steps, axis=1)


def test_intervals_are_calibrated_on_validation_errors_alone():
  """Contract 7: the calibration errors are the forecasts' from every validation origin
  t in [20, 30), of the points t + k before 30; the test part (30 on), noisier, is never
  read, so the widths are validation's."""
  model = _LastValue()
  residuals = intervals.validation_residuals(model, max_steps=3)
  want = np.full((3, 10, 1), np.nan)
  for w, t in enumerate(range(20, 30)):
    for k in range(3):
      if t + k < 30:
        want[k, w, 0] = abs(model.series[t + k, 0] - model.series[t - 1, 0])
  np.testing.assert_array_equal(residuals, want)
  width, _ = intervals.widths(residuals, 0.8, 1)
  errors = np.sort(want[0, :, 0])  # n = 10: the ceil(11 * 0.8) = 9th smallest.
  assert width[0, 0] == errors[8]
