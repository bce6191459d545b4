"""A sweep's members' validation values, and its configurations' statistics over their seeds.

Every figure, the importance analysis and the tables read a `load.Table` through these:
each member's value of a metric (`values`, `usable`), the scale every figure of it shares
(`metric_scale`) and the view a figure draws of it (`view`, `view_limits`, `typical`), and each
configuration's members and replicates (`config_groups`, `replicate_values`,
`config_stats`, `best_config`; after --folds a replicate is a seed's mean over its folds,
`num_folds`). A member counts where its value is finite, a diverged
one at the best it reached before diverging, and configurations rank as the sweep's
summary ranks them (config_table.rank_configs): the figures' best configuration is its
configuration table's first.
"""

import math

import numpy as np

from rnnjax.figures import load
from rnnjax.results import config_table


def values(table: load.Table, metric: str = '') -> np.ndarray:
  """<float64>[N] validation `metric` (default: the shown one) per member; NaN if absent."""
  metric = metric or table.shown
  return np.array([m['val'].get(metric, math.nan) for m in table.members], np.float64)


def scale_of(v) -> str:
  """'log' for finite values all positive that span more than a factor of 20, else
  'linear': the rule of every figure's metric axis (`metric_scale`; the learning curves
  apply it to the values they draw)."""
  v = np.asarray(v, np.float64)
  v = v[np.isfinite(v)]
  return 'log' if v.size > 1 and v.min() > 0 and v.max() / v.min() > 20 else 'linear'


def metric_scale(table: load.Table, metric: str = '') -> tuple:
  """('log' or 'linear', a caption sentence or ''): the one scale of every figure of the
  sweep's validation `metric` (default: the shown one), decided from every usable
  member's value: log where all are positive and span more than a factor of 20. A loss
  that reaches 0 (a classifier's cross-entropy on an easy validation part) keeps a
  linear scale, which a log scale could not draw, and the sentence says so."""
  metric = metric or table.shown
  v = values(table, metric)[usable(table, metric)]
  if scale_of(v) == 'log':
    return 'log', ''
  if scale_of(v[v > 0]) == 'log':  # Wide, but some members score 0 or less.
    n = int((v <= 0).sum())
    return 'linear', (f'Linear scale: {n} member(s) score {metric} '
                      f'{"0" if v.min() == 0 else "<= 0"}, which a log scale cannot draw.')
  return 'linear', ''


VIEW_FACTOR = 20  # How far beyond a figure's lines its view reaches for a dot (`view`).


def near(v, reference) -> np.ndarray:
  """<bool>[V]: each of `v` within a factor of VIEW_FACTOR of the span of `reference`
  (the log scale's own factor, `scale_of`); every one where a value of either is at or
  below 0, which no factor measures (a linear axis, which that factor does not cut)."""
  v, reference = np.asarray(v, np.float64), np.asarray(reference, np.float64)
  if not v.size or not reference.size or min(v.min(), reference.min()) <= 0:
    return np.ones(v.shape, bool)
  return (v >= reference.min() / VIEW_FACTOR) & (v <= reference.max() * VIEW_FACTOR)


def typical(v) -> np.ndarray:
  """<bool>[V]: each of `v` within a factor of VIEW_FACTOR of their interquartile range
  (`near`): a few exploding configurations (a diverged member counts at its best before,
  up to 1e17 where the rest lie at 3000-6000) cannot move the middle half of them, so
  that reference holds where the values have none of their own: the sensitivity
  figure's binned means leave the rest out, a figure of dots alone cuts them (`view`)
  and the heatmap's colour scale ends before them (plots/heatmap.py)."""
  v = np.asarray(v, np.float64)
  return near(v, np.percentile(v, [25, 75]) if v.size else v)


def view(lines, dots):
  """(low, high) values of a log metric axis's view, or None where it holds every dot.

  A figure of lines over dots (the sensitivity and compare figures: a line of the best
  configuration at each value, and a dot for each configuration) is about its lines: a
  few exploding configurations, each a dot up to 1e12 over lines at 3000-8000 (a diverged
  member counts at its best before diverging), would stretch the axis until the lines
  lie flat. The view spans every value of `lines` <float64>[L] (their points, bands and
  markers) and each of `dots` <float64>[D] within a factor of VIEW_FACTOR of them
  (`near`); the figure draws each dot beyond it at its edge. A figure of dots alone
  (every axis drawn at random) holds those within that factor of their interquartile
  range (`typical`). Only where every value is positive (a log axis): a linear one spans
  less than that factor, or holds values at or below 0 that no factor measures."""
  lines, dots = np.asarray(lines, np.float64), np.asarray(dots, np.float64)
  kept = dots[near(dots, lines) if lines.size else typical(dots)]
  if kept.size == dots.size:
    return None
  shown = np.concatenate([lines, kept])
  return float(shown.min()), float(shown.max())


def view_limits(v, log: bool) -> tuple:
  """(low, high) axis limits a little beyond the values `v` (a factor of 1.1 on a log
  axis, else 5 % of their span), so that the points at their ends stay whole."""
  v = np.asarray(v, np.float64)
  span = v.max() - v.min()
  low = v.min() * 0.9 if log else v.min() - 0.05 * span
  high = v.max() * 1.1 if log else v.max() + 0.05 * span
  if not high > low:  # Every value alike.
    low, high = (low * 0.9, high * 1.1) if log else (low - 0.5, high + 0.5)
  return low, high


def usable(table: load.Table, metric: str = '') -> np.ndarray:
  """<bool>[N]: a finite validation value (a diverged member's is the best it reached
  before diverging: the sweep keeps and ranks it so)."""
  return np.isfinite(values(table, metric))


def config_groups(table: load.Table, mask: np.ndarray) -> dict:
  """config id -> indices of the masked members (its seeds), in member order."""
  groups = {}
  for i, m in enumerate(table.members):
    if mask[i]:
      groups.setdefault(m['config'], []).append(i)
  return groups


def num_folds(members) -> int:
  """Cross-validation folds a sweep's members (`Table.members`) were scored on (1
  without --folds)."""
  return len({m.get('fold', 0) for m in members})


def replicate_values(table: load.Table, y: np.ndarray, idx: list) -> tuple:
  """(<float64>[S] values, [S] lists of indices) of one configuration's replicates from
  its members `idx` and their values `y` <float64>[N]: each member alone, or after
  --folds each seed's mean over its folds in `idx`: its cross-validated value, the
  quantity the ranking averages (summary.py: a configuration's mean over its seeds and
  folds). The folds are not replicates: each scores another validation origin, and
  their difference is the data's, the same for every configuration."""
  if num_folds(table.members) < 2:
    return y[idx], [[i] for i in idx]
  seeds = {}
  for i in idx:
    seeds.setdefault(table.members[i].get('seed', 0), []).append(i)
  return np.array([y[g].mean() for g in seeds.values()]), list(seeds.values())


def config_stats(table: load.Table, metric: str = '') -> list:
  """One dict per configuration with a usable member: hparams, members (indices of its
  usable members), mean, sd (NaN for one replicate), lo, hi (over its replicates: seeds,
  after --folds each seed's mean over its folds, `replicate_values`), seeds (replicates
  with a value), planned (its seeds, usable or not), dropped (members without a finite
  value, left out), diverged (of its usable members, those that diverged, each at its
  best before: sensitivity.best_line draws its point white), rank: its mean of the
  metric the sweep ranks by (`table.metric`, lower first: negated where higher is
  better; inf where it has none; a mean over seeds of the RMSE shown can order two
  configurations otherwise than the mean of the MSE that ranked them), and place: its
  place in the sweep's ranking of every configuration (config_table.rank_configs of that
  metric; a table whose members do not record it, the shown one's), by which
  `best_config` chooses."""
  vals, ok = values(table, metric), usable(table, metric)
  ranked = values(table, table.metric) * (1 if table.mode == 'min' else -1)
  if not np.isfinite(ranked).any():
    ranked = values(table) * (1 if table.shown_mode == 'min' else -1)
  by_config = {}
  for i, m in enumerate(table.members):
    by_config.setdefault(m['config'], []).append(i)
  group = np.empty(len(table.members), np.int64)
  for c, idx in enumerate(by_config.values()):  # Numbered in the order they first appear.
    group[idx] = c
  place = np.empty(len(by_config), np.int64)
  place[config_table.rank_configs(group, ranked)] = np.arange(len(by_config))
  out = []
  for c, (config, idx) in enumerate(by_config.items()):
    good = [i for i in idx if ok[i]]
    if good:
      v, _ = replicate_values(table, vals, good)
      rank = float(replicate_values(table, ranked, good)[0].mean())
      planned = (len({table.members[i].get('seed', 0) for i in idx})
                 if num_folds(table.members) > 1 else len(idx))
      out.append({'config': config, 'hparams': table.members[idx[0]]['hparams'],
                  'members': good, 'mean': float(v.mean()), 'lo': float(v.min()),
                  'hi': float(v.max()), 'sd': float(v.std(ddof=1)) if len(v) > 1 else math.nan,
                  'seeds': len(v), 'planned': planned, 'dropped': len(idx) - len(good),
                  'diverged': int((table.status[good] == 'diverged').sum()),
                  'rank': rank if math.isfinite(rank) else math.inf,
                  'place': int(place[c])})
  return out


def best_config(stats: list) -> dict:
  """Of `stats` (config_stats, or dicts with its `place`), the configuration the sweep
  ranks first: the fewest members without a finite value (one lucky survivor must not
  win), then the best mean (config_table.rank_configs)."""
  return min(stats, key=lambda s: s['place'])
