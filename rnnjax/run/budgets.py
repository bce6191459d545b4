"""The sweep each search strategy runs in a comparison at a budget of member-steps
(compare.py runs them): random and PBT train `num_members` members for `train_steps`;
grid the largest grid within them (its points over the searched space times the
configurations the base's own listed flags cross, `--cell=grid(lstm,gru)`); halving as
many members as the same budget allows under its rungs; TPE `rounds` rounds of
`num_members // rounds` members, its last round taking the remainder too (28 over 3
rounds: 9, 9 and 10), so that it spends the whole budget as the others do.
"""

import dataclasses
import math

import numpy as np

from rnnjax.run import sweep
from rnnjax.search import spec as spec_lib
from rnnjax.search.strategies import halving


def grid_sizes(axes: int, points: int) -> list:
  """Values per axis of the largest grid of at most `points` points (at least 2 each),
  as even as can be: 27 points over 3 axes are 3 x 3 x 3, 14 over 2 are 4 x 3."""
  sizes = [2] * axes
  grown = True
  while grown:
    grown = False
    for i in range(axes):
      if math.prod(sizes) // sizes[i] * (sizes[i] + 1) <= points:
        sizes[i] += 1
        grown = True
  return sizes


def crossed(base: sweep.SweepSpec, space: dict) -> int:
  """Configurations a grid crosses from the base's own listed values (`--cell=grid(lstm,
  gru)`): each point of the grid over `space` trains once under every one of them."""
  fixed = {name: f'{r.lo:g}' for name, r in space.items()}
  return spec_lib.make_plan(dataclasses.replace(
      base, search='grid', num_members=0, num_seeds=1, folds=1, hidden_mode='bucket',
      **fixed)).num_members


def grid_values(lo: float, hi: float, size: int, *, log: bool) -> list:
  """`size` evenly spaced values from lo to hi (geometrically with `log`), written as a
  user would type them: 4 significant digits, or as many more as keep every value apart
  and within [lo, hi] (1e-5:1.001e-5 at 4 digits was 1e-05,1e-05,1e-05,1.001e-05,..., and
  0:0.99999 rounded its top to 1, out of a dropout's range)."""
  values = np.geomspace(lo, hi, size) if log else np.linspace(lo, hi, size)
  values[0], values[-1] = lo, hi
  for digits in range(4, 18):
    texts = [f'{v:.{digits}g}' for v in values]
    read = [float(t) for t in texts]
    if len(set(read)) == size and all(lo <= v <= hi for v in read):
      return texts
  return [repr(float(v)) for v in values]  # A range a few floats wide: as they are.


def _grid(space: dict, points: int) -> dict:
  """Spec strings of the largest grid of at most `points` points over `space`."""
  return {name: 'grid(' + ','.join(grid_values(r.lo, r.hi, size, log=r.log)) + ')'
          for (name, r), size in zip(space.items(), grid_sizes(len(space), points))}


def random_specs(space: dict) -> dict:
  """Spec strings drawing each hyperparameter of `space` uniformly (or log-uniformly)."""
  return {name: f'{"loguniform" if r.log else "uniform"}({r.lo:g},{r.hi:g})'
          for name, r in space.items()}


def halving_members(budget: int, *, train_steps: int, min_steps: int, eta: int,
                    eval_every: int) -> int:
  """The most members a halving schedule can start within `budget` member-steps."""
  rung_steps = halving.rungs(train_steps=train_steps, min_steps=min_steps, eta=eta,
                              eval_every=eval_every)
  n = 1
  while halving.budget(n + 1, train_steps=train_steps, rung_steps=rung_steps,
                        eta=eta) <= budget:
    n += 1
  return n


def specs(base: sweep.SweepSpec, space: dict, *, strategy: str, num_members: int,
          seed: int, eta: int = 3, min_steps: int = 0,
          pbt_interval: int = 0, rounds: int = 3) -> sweep.SweepSpec:
  """The sweep of one strategy and search seed (see the module docstring)."""
  common = dict(seed=seed, num_seeds=1, rounds=0, last_round=0)  # tpe's alone.
  if strategy == 'grid':
    grid = _grid(space, num_members // crossed(base, space))
    return dataclasses.replace(base, search='grid', num_members=0, **grid, **common)
  if strategy == 'random':
    return dataclasses.replace(base, search='random', num_members=num_members,
                               **random_specs(space), **common)
  if strategy == 'pbt':
    return dataclasses.replace(base, search='pbt', num_members=num_members,
                               pbt_interval=pbt_interval or base.eval_every,
                               **random_specs(space), **common)
  if strategy == 'tpe':
    each = max(1, num_members // rounds)
    last = max(1, num_members - each * (rounds - 1))
    return dataclasses.replace(base, search='tpe', num_members=each,
                               **random_specs(space), **{
                                   **common, 'rounds': rounds,
                                   'last_round': last if last != each else 0})
  if strategy == 'halving':
    min_steps = min_steps or base.eval_every
    n = halving_members(num_members * base.train_steps, train_steps=base.train_steps,
                        min_steps=min_steps, eta=eta, eval_every=base.eval_every)
    return dataclasses.replace(base, search='halving', num_members=n, eta=eta,
                               min_steps=min_steps, **random_specs(space), **common)
  raise ValueError(f'unknown strategy {strategy!r}')
