"""The functional ANOVA's arithmetic (Hooker 2007; Hutter, Hoos & Leyton-Brown, "An
efficient approach for assessing hyperparameter importance", ICML 2014): arrays in,
variances out. importance.py says what a sweep's shares are and when they are attributed.

For f over a product of independent uniform axes, f = mu + sum_i f_i + sum_{i<j} f_ij
+ ..., where f_i(a) = E[f | x_i = a] - mu and f_ij is what the pair's marginal adds
beyond f_i + f_j. The components are orthogonal, so their variances add up to Var f.

  anova_grid    a full grid decomposed exactly
  f_tests       each effect of a full grid tested against its replicates' noise
  surrogate     anything else: a ridge fit of main effects (one-hot, or Legendre
                polynomials of degree MAIN_DEGREE over a range) and pairwise products,
                decomposed exactly on a grid (`anova_tables`; RANGE_POINTS per range)
  fit_ridge     ridge regression, its penalty chosen by leave-one-out error
"""

import itertools

import numpy as np
from scipy import special

from rnnjax.figures import load

RANGE_POINTS = 33
MAIN_DEGREE = 6   # Metrics bend sharply near a good learning rate.


def anova_grid(y: np.ndarray) -> tuple:
  """Exact decomposition of a full grid. y: <float64>[n_1, ..., n_k].

  Returns (main: <float64>[k] variances, pairs: {(i, j): variance}, total variance).
  """
  y = np.asarray(y, np.float64)
  k, mu = y.ndim, y.mean()
  others = lambda keep: tuple(a for a in range(k) if a not in keep)
  main_effects = [y.mean(axis=others((i,))) - mu for i in range(k)]
  pairs = {}
  for i, j in itertools.combinations(range(k), 2):
    joint = y.mean(axis=others((i, j))) - mu
    pairs[(i, j)] = float(np.mean(
        (joint - main_effects[i][:, None] - main_effects[j][None, :]) ** 2))
  return (np.array([np.mean(f ** 2) for f in main_effects]), pairs,
          float(np.mean((y - mu) ** 2)))


def f_tests(main: np.ndarray, pairs: dict, shape: tuple, reps: list) -> dict | None:
  """p-values of each main effect and pair of a full grid against its replicates' noise.

  main, pairs: anova_grid's variances of the grid of configuration means, of `shape`
  [n_1, ..., n_k]; reps: [C] arrays, each configuration's replicates. None unless every
  configuration has as many, at least 2, with some spread between them. Returns
  {'main': <float64>[k], 'pairs': {(i, j): float}}: the F-test's p of each effect
  (balanced: its sum of squares is its variance over the grid times the members).
  """
  counts = {len(r) for r in reps}
  if len(counts) != 1 or counts.pop() < 2:
    return None
  total = sum(len(r) for r in reps)
  within = sum(float(np.sum((r - r.mean()) ** 2)) for r in reps)
  if not within > 0:
    return None
  noise = within / (total - len(reps))
  p = lambda v, df: float(special.fdtrc(df, total - len(reps), total * v / df / noise))
  return {'main': np.array([p(v, n - 1) for v, n in zip(main, shape)]),
          'pairs': {(i, j): p(v, (shape[i] - 1) * (shape[j] - 1))
                    for (i, j), v in pairs.items()}}


def anova_tables(mains: list, pairs: dict) -> tuple:
  """Decomposes f = sum_i g_i(x_i) + sum_{i<j} g_ij(x_i, x_j) over a uniform grid.

  mains: [<float64>[G_i]]; pairs: {(i, j): <float64>[G_i, G_j]}.
  Returns (main: <float64>[k] variances, pairs: {(i, j): variance}).
  """
  effects = [np.asarray(g, np.float64) - np.mean(g) for g in mains]
  pure = {}
  for (i, j), table in pairs.items():
    mu = table.mean()
    rows, cols = table.mean(1) - mu, table.mean(0) - mu
    effects[i] = effects[i] + rows
    effects[j] = effects[j] + cols
    pure[(i, j)] = float(np.mean((table - mu - rows[:, None] - cols[None, :]) ** 2))
  return np.array([np.mean(e ** 2) for e in effects]), pure


def _legendre(t: np.ndarray, degree: int) -> np.ndarray:
  """<float64>[N, degree]: Legendre polynomials P_1..P_degree of t in [-1, 1]."""
  return np.polynomial.legendre.legvander(t, degree)[:, 1:]


class _Basis:
  """Features of one axis: one-hot over listed values, or Legendre over a range."""

  def __init__(self, axis: load.AxisInfo, column: list):
    self.levels = None if axis.continuous else list(axis.values)
    if self.levels is None:
      x = self._scaled(axis, np.array(column, np.float64))
      self.lo, self.hi = float(x.min()), float(x.max())
    self.axis = axis

  @staticmethod
  def _scaled(axis, x):
    return np.log(x) if axis.scale == 'log' else x

  def grid(self) -> list:
    if self.levels is not None:
      return self.levels
    t = np.linspace(-1, 1, RANGE_POINTS)
    x = self.lo + (t + 1) / 2 * (self.hi - self.lo)
    return list(np.exp(x) if self.axis.scale == 'log' else x)

  def features(self, column: list, degree: int = MAIN_DEGREE) -> np.ndarray:
    if self.levels is not None:
      return np.array([[float(v == level) for level in self.levels] for v in column])
    x = self._scaled(self.axis, np.array(column, np.float64))
    t = 2 * (x - self.lo) / max(self.hi - self.lo, 1e-12) - 1
    return _legendre(t, degree)


def fit_ridge(x: np.ndarray, y: np.ndarray, *, choose: bool = True) -> tuple:
  """Ridge regression with its penalty chosen by exact leave-one-out error.

  x: <float64>[C, F]; y: <float64>[C]. Returns (coef <float64>[F], intercept, R^2):
  leave-one-out R^2; with `choose=False`, a vanishing penalty (least squares, minimum
  norm) and the in-sample R^2.
  """
  x_mean, y_mean = x.mean(0), y.mean()
  xc, yc = x - x_mean, y - y_mean
  u, s, vt = np.linalg.svd(xc, full_matrices=False)
  uty = u.T @ yc
  best = None
  scale = max(float(s.max() ** 2), 1e-12) if s.size else 1.0
  for lam in scale * (np.logspace(-8, 1, 19) if choose else np.array([1e-9])):
    shrink = s ** 2 / (s ** 2 + lam)
    fitted = u @ (shrink * uty)
    hat = np.sum(u ** 2 * shrink, axis=1) + 1 / len(y)
    if not choose:
      hat = np.zeros_like(hat)
    loo = np.mean(((yc - fitted) / np.maximum(1 - hat, 1e-9)) ** 2)
    if best is None or loo < best[0]:
      best = (loo, vt.T @ (s / (s ** 2 + lam) * uty))
  loo, coef = best
  variance = float(np.mean(yc ** 2))
  r2 = max(0.0, 1 - loo / variance) if variance > 0 else 0.0
  return coef, float(y_mean - x_mean @ coef), r2


def surrogate(axes: list, columns: list, y: np.ndarray) -> tuple:
  """(main variances, {(i, j): variance}, R^2) of the fitted surrogate.

  With only listed axes (a grid with holes) the surrogate is the two-way ANOVA model
  fitted by least squares, as the exact analysis would be; leave-one-out would have to
  predict a value from nothing whenever a level is left with one configuration.
  """
  bases = [_Basis(a, c) for a, c in zip(axes, columns)]
  blocks = [b.features(c) for b, c in zip(bases, columns)]
  slices, start = {}, 0
  for i, block in enumerate(blocks):
    slices[i] = slice(start, start + block.shape[1])
    start += block.shape[1]
  pair_basis = [b.features(c, degree=2) for b, c in zip(bases, columns)]
  for i, j in itertools.combinations(range(len(axes)), 2):
    block = np.einsum('np,nq->npq', pair_basis[i], pair_basis[j]).reshape(len(y), -1)
    blocks.append(block)
    slices[(i, j)] = slice(start, start + block.shape[1])
    start += block.shape[1]
  coef, _, r2 = fit_ridge(np.concatenate(blocks, axis=1), y,
                          choose=any(a.continuous for a in axes))
  grids = [b.grid() for b in bases]
  mains = [b.features(g) @ coef[slices[i]] for i, (b, g) in enumerate(zip(bases, grids))]
  pairs = {}
  for i, j in itertools.combinations(range(len(axes)), 2):
    fi, fj = bases[i].features(grids[i], 2), bases[j].features(grids[j], 2)
    w = coef[slices[(i, j)]].reshape(fi.shape[1], fj.shape[1])
    pairs[(i, j)] = np.einsum('ap,bq,pq->ab', fi, fj, w)
  main, pair = anova_tables(mains, pairs)
  return main, pair, r2
