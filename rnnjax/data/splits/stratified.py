"""Classification cases cut into training and validation parts, stratified by class and
seeded (classify.py reads and scales them): the usual split (`stratified_split`) and
cross-validation's disjoint folds (`fold_split`), the last fold being the usual split.
"""

import math

import numpy as np

from rnnjax.errors import InputError

DEFAULT_VAL_FRACTION = 0.2


def num_val_cases(val_size, n: int) -> int:
  """`val_size` as a number of cases: a fraction in (0, 1) of `n`, a count >= 1, or 0 (20%)."""
  if isinstance(val_size, (bool, np.bool_)) or not isinstance(val_size, (int, float, np.number)):
    raise InputError(f'--val_size: {val_size!r} is not a number')
  if val_size == 0:
    val_size = DEFAULT_VAL_FRACTION
  if 0 < val_size < 1:
    return max(1, math.floor(val_size * n + 0.5))
  if val_size >= 1 and float(val_size).is_integer():
    return int(val_size)
  raise InputError(f'--val_size: {val_size!r} is neither a fraction in (0, 1) nor a whole '
                   'number of cases >= 1')


def stratified_split(y: np.ndarray, val_size, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Sorted indices (train, val) of cases `y` <int>[N], stratified by class.

  Each class gives up its share of the validation cases rounded by largest remainder, so
  it is off by less than one case, and keeps at least one training case; `seed` picks the
  cases within each class.
  """
  classes, counts = np.unique(y, return_counts=True)
  n_val = num_val_cases(val_size, len(y))
  room = counts - 1
  if n_val > room.sum():
    raise InputError(f'--val_size: {n_val} validation cases asked of {len(y)} training cases; '
                     f'at most {room.sum()} can go while each of the {len(classes)} classes '
                     'keeps one')
  share = n_val * counts / len(y)
  take = np.minimum(np.floor(share).astype(int), room)
  while take.sum() < n_val:
    take[np.argmax(np.where(take < room, share - take, -np.inf))] += 1
  rng = np.random.default_rng(seed)
  val = np.sort(np.concatenate(
      [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]))
  return np.setdiff1d(np.arange(len(y)), val), val


def fold_split(y: np.ndarray, val_size, seed: int, fold: int,
               folds: int) -> tuple[np.ndarray, np.ndarray]:
  """Sorted indices (train, val) of fold `fold` of `folds`: the last fold is
  `stratified_split(y, val_size, seed)`; fold f < folds - 1 validates on the f-th of
  the parts carved in turn, each as `stratified_split` would and as large as the last
  fold's, from the cases no earlier part took (seeded by (seed, f)), and trains on
  every other case."""
  rest, val = stratified_split(y, val_size, seed)
  parts = []
  for f in range(folds - 1):
    try:
      kept, part = stratified_split(y[rest], len(val), np.random.SeedSequence([seed, f]))
    except InputError:
      raise InputError(f'--folds: {folds} disjoint validation parts of {len(val)} cases do '
                       f'not fit in {len(y)} training cases (each class keeps one); lower '
                       '--folds or --val_size') from None
    parts.append(rest[part])
    rest = rest[kept]
  val = (parts + [val])[fold]
  return np.setdiff1d(np.arange(len(y)), val), val
