"""Each series' figures that its windows are scaled and scored by, and that no lookback
changes: its level, MASE and RMSSE scales, seasonal indices and floor (panel_windows
reads them per window), one series at a time; and a panel's, all of them at once
(`of`), kept for the next lookback of a sweep: a sweep builds a panel's windows once per
lookback and fold, and these are most of the time a panel of many short series takes.
"""

import dataclasses

import numpy as np

from rnnjax.data import common
from rnnjax.data.scores import competition


def mase_scale(train: np.ndarray, season: int) -> float:
  """MASE's denominator for one series: the in-sample mean |v[t] - v[t - m]|, m the
  season when the series is longer than one (else 1); where that is 0 or undefined (a
  constant or one-point series), the mean |v| (1 for a zero series), so that the
  scaled errors stay finite."""
  scale = competition.naive_error(train, season)
  if not scale > 0:
    scale = float(np.mean(np.abs(train))) or 1.0
  return scale


def rmsse_scale(train: np.ndarray) -> float:
  """RMSSE's denominator for one series (RMSSE = RMSE / it): the in-sample root mean
  squared one-step change from its first non-zero value on (competition.rmsse_error);
  where that is 0 (constant, or one point, from its first non-zero value on), the root
  mean square of those same points (1 for a zero series), as `mase_scale` falls back to
  the level: the zeros before a first sale count in neither (a product first sold on
  the part's last day is scaled by that sale, not by it over the days before)."""
  scale = competition.rmsse_error(train)
  if not scale > 0:
    scale = float(np.sqrt(np.mean(np.square(competition.sold(train))))) or 1.0
  return scale


def scaled_by_level(train: np.ndarray, season: int) -> bool:
  """Whether `mase_scale` falls back to the series' mean |v|: it has no naive error
  (constant, one point, or each season repeated exactly)."""
  return not competition.naive_error(train, season) > 0


def known(values: np.ndarray, horizon: int) -> np.ndarray:
  """A series' points (rows) before its validation origin; all of them when it has at
  most `horizon`."""
  return values[:len(values) - horizon] if len(values) > horizon else values


def input_level(inputs, horizon: int):
  """(mean, standard deviation) <float64>[C] of a series' input columns over its `known`
  points (a standard deviation of 0 becomes 1), as `level_of` the target's; None
  without inputs."""
  if inputs is None:
    return None
  part = known(inputs, horizon)
  std = part.std(axis=0)
  return part.mean(axis=0), np.where(std > 0, std, 1.0)


def level_of(series: np.ndarray, horizon: int) -> np.ndarray:
  """<float64>[2]: the mean and standard deviation of a series' `known` points: what the
  'series' normalisation scales its windows by, in training and when forecasting from
  its end (a constant series' 0 becomes its window's mean |value| there, never 1 in the
  data's units: engine/tasks/panel.py)."""
  part = known(series, horizon)
  return np.array([part.mean(), part.std()])


def seasonal_figure(part: np.ndarray, season: int) -> np.ndarray | None:
  """<float64>[season]: the multiplicative seasonal indices of a series' known part, as
  Naive2 and Theta deseasonalise (competition.seasonal_indices), where it passes M4's
  seasonality test and is positive; None otherwise (not adjusted)."""
  if season <= 1 or not np.all(part > 0) or not competition.is_seasonal(part, season):
    return None
  return competition.seasonal_indices(part, season)


def floor_of(part) -> float:
  """The least a forecast from the end of `part` may be: 0 for a series that never went
  below 0 (sales, counts: a forecast below 0 is raised to 0), else -inf."""
  return 0.0 if np.all(np.asarray(part) >= 0) else -np.inf


@dataclasses.dataclass(frozen=True)
class Scales:
  """A panel's per-series figures (S series), each of the part before the validation
  origin ('val': what training and validation windows read) and of the whole train part
  ('test': the test and refit windows'). Arrays <float64>[S] unless said; read-only
  (kept for the next lookback)."""
  level: np.ndarray  # <float64>[S, 2]: level_of.
  mase: dict  # 'val', 'test' -> mase_scale.
  rmsse: dict  # 'val', 'test' -> rmsse_scale.
  floor: dict  # 'val', 'test' -> floor_of.
  figure: dict  # 'val', 'test' -> per series seasonal_figure (<float64>[season] or None).
  inputs: tuple  # Per series input_level: (mean, std) <float64>[C], or None.
  by_level: tuple  # The positions of the series whose MASE test scale falls back to
  by_level_rmsse: tuple  # the level, and of those whose RMSSE test scale does,
  seasonal: int  # ... and that pass the seasonality test on their train part.


def _compute(panel, horizon: int, season: int) -> Scales:
  """`Scales` of a panel, one series at a time."""
  all_inputs = panel.inputs or [None] * len(panel.train)
  parts = {'val': [known(s, horizon) for s in panel.train], 'test': list(panel.train)}
  frozen = lambda a: (a.setflags(write=False), a)[1]
  each = lambda f, split: frozen(np.asarray([f(v) for v in parts[split]], np.float64))
  figures = {split: tuple(seasonal_figure(v, season) for v in parts[split])
             for split in parts}
  for f in figures['val'] + figures['test']:
    if f is not None:
      f.setflags(write=False)
  return Scales(
      level=frozen(np.stack([level_of(s, horizon) for s in panel.train])),
      mase={split: each(lambda v: mase_scale(v, season), split) for split in parts},
      rmsse={split: each(rmsse_scale, split) for split in parts},
      floor={split: each(floor_of, split) for split in parts},
      figure=figures,
      inputs=tuple(input_level(u, horizon) for u in all_inputs),
      by_level=tuple(i for i, s in enumerate(panel.train)
                     if not competition.naive_error(s, season) > 0),
      by_level_rmsse=tuple(i for i, s in enumerate(panel.train)
                           if not competition.rmsse_error(s) > 0),
      seasonal=sum(f is not None for f in figures['test']))


# The last few panels' Scales (a sweep's lookbacks alternate between its folds' panels).
_CACHE, _CACHE_SIZE = {}, 8


def of(panel, *, horizon: int, season: int) -> Scales:
  """The panel's `Scales`: computed once, then kept (the last `_CACHE_SIZE` panels, by
  the content of their series) for the next lookback's windows."""
  key = common.values_key((horizon, season), panel.train, panel.inputs or ())
  return common.kept(_CACHE, _CACHE_SIZE, key, lambda: _compute(panel, horizon, season))
