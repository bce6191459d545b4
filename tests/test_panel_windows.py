"""data/windows/panel_windows.py: the vectorised windows against the plain loop over series
and windows they replaced (kept here as the reference), bit for bit; each panel's
series_scales computed once for all of a sweep's lookbacks, and its figures by hand (the
reference reads them from series_scales)."""

import dataclasses

import numpy as np
import pytest

from rnnjax.data import panel
from rnnjax.data.windows import panel_windows as pw
from rnnjax.data.windows import series_scales
from rnnjax.data.windows import strided
from rnnjax.errors import InputError


def reference_windows(panel, *, lookback, horizon, season):
  """`windows` as it was written first: one small array per window and key, stacked."""
  per_window = ('x', 'y', 'level', 'mase_denom', 'seasonal')
  splits = {name: {k: [] for k in per_window[:4] + ('rmsse_denom',) + per_window[4:]}
            for name in ('train', 'refit')}
  for name in ('val', 'test'):
    splits[name] = {k: [] for k in per_window + ('series', 'weight', 'floor', 'rmsse_denom')}
  ages = {'train': [], 'refit': []}
  all_inputs = panel.inputs or [None] * len(panel.train)
  num_future = len(panel.future_columns)
  for i, (series, test, inputs) in enumerate(zip(panel.train, panel.test, all_inputs)):
    origin = len(series) - horizon
    stats = series_scales.input_level(inputs, horizon)
    rows = inputs if not num_future else np.concatenate([inputs, panel.test_inputs[i]])
    usable = origin >= 1
    known = series_scales.known(series, horizon)
    level = series_scales.level_of(series, horizon)
    scale_val = series_scales.mase_scale(known, season)
    scale_test = series_scales.mase_scale(series, season)
    figure_val = series_scales.seasonal_figure(known, season)
    figure_test = series_scales.seasonal_figure(series, season)
    def add(split, t, y, scale, figure):
      x = pw._x(series, rows, t, lookback, stats, num_future, horizon)
      for k, v in (('x', x), ('y', y), ('level', level), ('mase_denom', scale),
                   ('seasonal', pw.seasonal_factors(figure, t, lookback, horizon))):
        splits[split][k].append(v)
    if usable:
      for t in range(1, origin - horizon + 1):
        add('train', t, series[t:t + horizon], scale_val, figure_val)
        splits['train']['rmsse_denom'].append(series_scales.rmsse_scale(known))
        ages['train'].append(origin - t - horizon)
    for t in range(1, len(series) - horizon + 1):
      add('refit', t, series[t:t + horizon], scale_test, figure_test)
      splits['refit']['rmsse_denom'].append(series_scales.rmsse_scale(series))
      ages['refit'].append(len(series) - t - horizon)
    val_origin = origin if usable else len(series) - 1
    val_y = series[val_origin:val_origin + horizon]
    add('val', val_origin, np.concatenate([val_y, np.full(horizon - len(val_y), val_y[-1])]),
        scale_val, figure_val)
    add('test', len(series), np.asarray(test[:horizon]), scale_test, figure_test)
    for name, weight, part in (('val', float(usable), known), ('test', 1.0, series)):
      splits[name]['series'].append(i)
      splits[name]['weight'].append(weight)
      splits[name]['floor'].append(series_scales.floor_of(part))
      splits[name]['rmsse_denom'].append(series_scales.rmsse_scale(part))
  dtypes = {'series': np.int32}
  out = {name: {k: np.asarray(v, dtypes.get(k, np.float32)) for k, v in arrays.items()}
         for name, arrays in splits.items()}
  for arrays in out.values():
    arrays['y'] = arrays['y'][..., None]
  for name, age in ages.items():
    order = np.argsort(np.asarray(age, np.int64), kind='stable')
    out[name]['by_age'] = order.astype(np.int32)
    out[name]['age'] = np.asarray(age, np.int32)[order]
  return out


def random_panel(seed, *, num_series, horizon, season, past=0, future=0):
  """Series of random lengths (some shorter than a lookback, some left out of
  validation: at most `horizon` points), half seasonal and positive, half not."""
  rng = np.random.default_rng(seed)
  lengths = rng.integers(1, 60, num_series)
  lengths[0] = 1  # Left out of validation and training.
  lengths[1] = horizon + 1  # One training origin at most.
  train, test, inputs, test_inputs = [], [], [], []
  for i, n in enumerate(lengths):
    t = np.arange(n + horizon)
    if i % 2:
      v = 10 + 3 * np.sin(2 * np.pi * t / max(season, 1)) + rng.normal(0, 0.1, len(t))
    else:
      v = rng.normal(0, 2, len(t)).cumsum()
    if i == 2:
      v[:] = 5.0  # Constant: MASE scaled by its level.
    if i == 4:
      v[:n // 2] = 0.0  # Not yet sold: RMSSE's scale from its first sale on.
    train.append(v[:n])
    test.append(v[n:])
    u = rng.normal(size=(n + horizon, past + future)) * rng.uniform(0.5, 3, past + future)
    if past + future and i == 3:
      u[:, 0] = 1.0  # A constant column: standard deviation 1.
    inputs.append(u[:n])
    future_part = u[n:].copy()
    if seed % 2:  # As a test file gives them: NaN in the past columns.
      future_part[:, :past] = np.nan
    test_inputs.append(future_part)
  with_inputs = past + future > 0
  return panel.Panel(
      ids=tuple(f's{i}' for i in range(num_series)), train=tuple(train),
      times=tuple(() for _ in train), test=tuple(test), path='random.csv',
      input_columns=tuple(f'p{c}' for c in range(past)),
      future_columns=tuple(f'f{c}' for c in range(future)),
      inputs=tuple(inputs) if with_inputs else None,
      test_inputs=tuple(test_inputs) if future else None)


def assert_identical(got, want):
  assert list(got) == list(want)
  for split in want:
    assert list(got[split]) == list(want[split]), split
    for k, v in want[split].items():
      g = got[split][k]
      assert g.dtype == v.dtype and g.shape == v.shape, (split, k, g.dtype, g.shape, v.shape)
      # Bit for bit (NaN-safe): the same float64 values, cast to float32 once.
      assert g.tobytes() == v.tobytes(), (split, k)


@pytest.mark.parametrize('seed,lookback,horizon,season,past,future', [
    (0, 8, 4, 4, 0, 0),
    (1, 12, 3, 4, 2, 0),
    (2, 6, 4, 4, 1, 2),
    (3, 1, 1, 1, 0, 1),
    (4, 30, 5, 6, 1, 1),
    (5, 3, 2, 0, 0, 0),
])
def test_windows_are_the_loop_over_windows_bit_for_bit(seed, lookback, horizon, season,
                                                         past, future, monkeypatch):
  monkeypatch.setattr(strided, 'CHUNK', 7)  # Windows taken a few at a time, across series.
  p = random_panel(seed, num_series=9, horizon=horizon, season=season, past=past,
                   future=future)
  got, notes = pw.windows(p, lookback=lookback, horizon=horizon, season=season)
  assert_identical(got, reference_windows(p, lookback=lookback, horizon=horizon,
                                          season=season))
  assert got['val']['weight'][0] == 0 and got['refit']['x'].flags['C_CONTIGUOUS']
  assert any('left out of training' in n for n in notes)


def test_series_shorter_than_the_lookback_are_said_to_be_padded():
  """100 of M1 yearly's 181 series are shorter than its lookback of 18, padded on the
  left: predict said so, the sweep that trained on them did not (a user's finding)."""
  lengths = (3, 6, 9, 12, 20)  # Horizon 4: 3 is left out (no point before validation).
  short = panel.Panel(ids=tuple(f's{n}' for n in lengths),
                      train=tuple(np.arange(n, dtype=np.float64) + 1 for n in lengths),
                      times=tuple(() for _ in lengths),
                      test=tuple(np.ones(4) for _ in lengths), path='short.csv')
  _, notes = pw.windows(short, lookback=10, horizon=4, season=0)
  # Before validation 2, 5, 8 and 16 points; before test 6, 9, 12 and 20.
  assert ("3 of 5 series hold fewer than the lookback (10) points before their validation "
          "origin (2 of them before the test part too): their windows are padded on the "
          "left with the series' first value (e.g. 's6': 2 points before validation, 6 "
          "before the test part)") in notes, notes
  _, notes = pw.windows(short, lookback=6, horizon=4, season=0)
  assert ("2 of 5 series hold fewer than the lookback (6) points before their validation "
          "origin (none of them before the test part too)") in notes[-1], notes
  _, notes = pw.windows(short, lookback=2, horizon=4, season=0)
  assert not any('fewer than the lookback' in n for n in notes), notes
  # A fold's panel (cut back) is the same series: said once, by the panel's own.
  _, notes = pw.windows(panel.earlier(short, 1, 4), lookback=10, horizon=4, season=0,
                        earlier=True)
  assert not any('fewer than the lookback' in n for n in notes), notes


def test_a_panel_without_a_training_window_is_refused():
  p = random_panel(0, num_series=3, horizon=4, season=4)
  short = panel.Panel(ids=p.ids, train=tuple(v[:5] for v in p.train), times=p.times,
                      test=p.test, path='short.csv')
  with pytest.raises(InputError, match='no series of short.csv is long enough'):
    pw.windows(short, lookback=4, horizon=4, season=4)


def test_each_panels_scales_are_computed_once_for_every_lookback_and_fold(monkeypatch):
  """A sweep reads its panel again for each lookback (a new object, the same values) and
  cuts each fold's from it (panel.earlier): each panel's scales are computed once, and
  the windows read from them are the reference's at every lookback."""
  computed = []
  compute = series_scales._compute
  monkeypatch.setattr(series_scales, '_compute',
                      lambda *a: computed.append(a[0]) or compute(*a))
  monkeypatch.setattr(series_scales, '_CACHE', {})
  horizon, season = 3, 4
  p = random_panel(7, num_series=8, horizon=horizon, season=season, past=1, future=1)
  for lookback in (2, 7, 20):
    for fold in (1, 0):
      again = dataclasses.replace(p, train=tuple(v.copy() for v in p.train),
                                  inputs=tuple(u.copy() for u in p.inputs))
      cut = panel.earlier(again, fold, horizon)
      got, _ = pw.windows(cut, lookback=lookback, horizon=horizon, season=season)
      assert_identical(got, reference_windows(cut, lookback=lookback, horizon=horizon,
                                              season=season))
      assert (got['train']['seasonal'] != 1).any()  # Seasonal series among them.
  assert len(computed) == 2  # The two folds' panels, once each.
  # Another value is another panel; the cache keeps the last few.
  changed = dataclasses.replace(p, train=(p.train[0] + 1,) + p.train[1:])
  assert series_scales.of(changed, horizon=horizon, season=season) is not (
      series_scales.of(p, horizon=horizon, season=season))
  assert len(computed) == 3
  for k in range(2 * series_scales._CACHE_SIZE):
    series_scales.of(p, horizon=horizon + 1 + k, season=season)
  assert len(series_scales._CACHE) == series_scales._CACHE_SIZE


def test_series_scales_by_hand():
  """Each series' figures against hand computations: of its points before the validation
  origin (horizon 2 here: all of them where it has no more), the population standard
  deviation; a MASE scale without a naive error falls back to the mean |v|; a figure only
  for a positive series that passes the seasonality test; a panel's counts over the whole
  train part."""
  v = np.array([1., 3., 2., 6., 100., 200.])
  np.testing.assert_array_equal(series_scales.known(v, 2), [1., 3., 2., 6.])
  np.testing.assert_array_equal(series_scales.known(v[:2], 2), v[:2])
  np.testing.assert_allclose(series_scales.level_of(v, 2), [3., np.sqrt((4 + 0 + 1 + 9) / 4)])
  mean, std = series_scales.input_level(np.stack([v, np.full(6, 5.)], axis=1), 2)
  np.testing.assert_allclose(mean, [3., 5.])
  np.testing.assert_allclose(std, [np.sqrt(3.5), 1.])  # A constant column's: 1.
  assert series_scales.mase_scale(np.full(3, -2.), 1) == 2.0
  assert series_scales.mase_scale(np.zeros(3), 1) == 1.0
  assert series_scales.floor_of([0., 1.]) == 0.0
  assert series_scales.floor_of([-1., 1.]) == -np.inf
  seasons = np.array([0.8, 1.1, 1.3, 0.8])
  seasonal = 100 * seasons[np.arange(40) % 4]
  np.testing.assert_allclose(series_scales.seasonal_figure(seasonal, 4), seasons)
  assert series_scales.seasonal_figure(seasonal * (np.arange(40) % 4 != 1), 4) is None
  # A panel: 'val' of the known part, 'test' of the whole; a series repeating its season
  # exactly is scaled by its level; a sawtooth of 3 seasons is seasonal on its train part
  # (the count), not on its known part (fewer than three seasons).
  saw, repeat = np.tile(np.arange(1., 13.), 3), np.tile([1., 2.], 18)
  p = panel.Panel(ids=('v', 'saw', 'repeat'), train=(v, saw, repeat), times=('',) * 3,
                  test=None)
  got = series_scales._compute(p, horizon=2, season=12)
  # v is shorter than a season: lag 1, over [1, 3, 2, 6], then over all 6 points.
  assert got.mase['val'][0] == pytest.approx((2 + 1 + 4) / 3)
  assert got.mase['test'][0] == pytest.approx((2 + 1 + 4 + 94 + 100) / 5)
  assert (got.by_level, got.seasonal) == ((1, 2), 1)  # saw, repeat: no error at lag 12.
  assert series_scales._compute(p, horizon=2, season=2).by_level == (2,)  # repeat alone.


def test_training_windows_mark_their_empty_targets():
  """Where a panel's train part had empty targets (panel.observed), train and refit hold
  `observed` <bool>[N, horizon]: per window, which of its targets held a value, in the
  loop's order of windows; every other array is the reference's. A gap no training
  window reads as a target (a series' first point) adds no mask."""
  lookback, horizon, season = 5, 3, 4
  p = random_panel(8, num_series=7, horizon=horizon, season=season)
  rng = np.random.default_rng(0)
  observed = tuple(rng.uniform(size=len(v)) > 0.2 for v in p.train)
  gappy = dataclasses.replace(p, observed=observed)
  got, _ = pw.windows(gappy, lookback=lookback, horizon=horizon, season=season)
  want = reference_windows(gappy, lookback=lookback, horizon=horizon, season=season)
  for name, last in (('train', lambda n: n - 2 * horizon if n - horizon >= 1 else 0),
                     ('refit', lambda n: n - horizon)):
    marks = [o[t:t + horizon] for o in observed for t in range(1, last(len(o)) + 1)]
    np.testing.assert_array_equal(got[name].pop('observed'), np.stack(marks))
    assert not np.stack(marks).all()
  del got['val']['observed']  # Validation's, scored alone (test_panel.py).
  assert_identical(got, want)
  first = tuple(np.arange(len(v)) > 0 for v in p.train)  # Only each first point empty.
  got, _ = pw.windows(dataclasses.replace(p, observed=first), lookback=lookback,
                      horizon=horizon, season=season)
  assert all('observed' not in got[s] for s in got)
