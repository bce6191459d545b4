"""The plan: which members exist and how they are grouped into buckets (planner.py makes
one from the search's configurations).

Each configuration is repeated `--num_seeds` times, and each repeat trains on each of
`--folds` cross-validation folds: member uid = (row * num_seeds + seed index) * folds +
fold (with one fold, row * num_seeds + seed index), where a row is a configuration as
planned. Rows and configurations are the same but where a row repeats an earlier row's
values: random search drawing the same values again (every axis a short list), or tpe
proposing a configuration again once its space is used up. Such a row trains on its own
uids (so its own random streams) and its members count as more seeds of the first row of
the same values (its configuration number; seed indices go on from the earlier rows'),
so every table groups them as one configuration.

Structural axes (cell, hidden_size, num_layers, batch_size, optimizer, and lookback for
forecasting) change shapes, so members are grouped into buckets of equal structure, one
compiled program each.
Every other axis is a traced per-member value inside its bucket's population.
"""

import collections.abc
import dataclasses
import functools

import numpy as np

from rnnjax.search import hparams


@dataclasses.dataclass(frozen=True)
class Member:
  uid: int
  config: int
  seed: int
  bucket: int
  hparams: dict        # axis name -> value, every row of hparams.TABLE
  fold: int = 0        # Cross-validation fold (the last is the usual split).


def row_index(i, length: int) -> int:
  """A sequence's index i (negative: from the end) as 0 <= i < length; IndexError past it."""
  i = int(i)
  if i < 0:
    i += length
  if not 0 <= i < length:
    raise IndexError(i)
  return i


def fold_of(uids, folds: int):
  """The --folds fold (0-based) each member of `uids` trains on (`Members`' uid layout:
  a configuration's seeds and folds are consecutive uids, the fold varying fastest)."""
  return uids % folds


class Members(collections.abc.Sequence):
  """A plan's members in uid order, made on demand from its rows' columns: a plan of a
  million members holds a few arrays, not a million dicts.

  Member uid = (row * num_seeds + seed) * num_folds + fold; its configuration is
  `row_config[row]` and its seed index `row_first_seed[row]` + seed (`row_ids`).
  """

  def __init__(self, columns: dict, num_seeds: int, config_bucket: np.ndarray,
               num_folds: int, row_config: np.ndarray, row_first_seed: np.ndarray):
    self._columns, self._num_seeds, self._config_bucket = columns, num_seeds, config_bucket
    self._num_folds = num_folds
    self._row_config, self._row_first_seed = row_config, row_first_seed
    self._rows = {}

  def _ids(self, c: int, s: int) -> tuple[int, int]:
    """(configuration, seed index) of row c's seed s."""
    return int(self._row_config[c]), int(self._row_first_seed[c]) + s

  def __len__(self):
    return len(self._config_bucket) * self._num_seeds * self._num_folds

  def config_values(self, c: int) -> dict:
    """Configuration c's values, one dict shared by its members."""
    if c not in self._rows:
      self._rows[c] = {name: column[c] for name, column in self._columns.items()}
    return self._rows[c]

  def __getitem__(self, i):
    if isinstance(i, slice):
      return [self[j] for j in range(*i.indices(len(self)))]
    i = row_index(i, len(self))
    c, rest = divmod(i, self._num_seeds * self._num_folds)
    s, f = divmod(rest, self._num_folds)
    config, seed = self._ids(c, s)
    return Member(uid=i, config=config, seed=seed, bucket=int(self._config_bucket[c]),
                  hparams=self.config_values(c), fold=f)

  def __iter__(self):
    uid = 0
    for c in range(len(self._config_bucket)):
      values, bucket = self.config_values(c), int(self._config_bucket[c])
      for s in range(self._num_seeds):
        config, seed = self._ids(c, s)
        for f in range(self._num_folds):
          yield Member(uid=uid, config=config, seed=seed, bucket=bucket, hparams=values,
                       fold=f)
          uid += 1


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
  """Members and buckets, held as columns (one list per hyperparameter, one entry per
  row: a configuration as planned); `members` makes `Member`s from them on demand."""
  columns: dict        # name -> [num_configs] values (Python scalars), every axis, by row
  num_seeds: int
  config_bucket: np.ndarray  # <int>[num_configs]: each row's bucket
  buckets: tuple       # tuple of dicts: structural values of each bucket
  swept: tuple         # axes that take more than one value
  masked: tuple = ()   # structural axes vmapped by padding and masking (hidden_size)
  num_folds: int = 1
  # <int>[num_configs]: each row's configuration number, the first row of its values
  # (tpe's repeats); None: every row its own (its number, its index).
  config_of: np.ndarray | None = None

  @functools.cached_property
  def _row_ids(self) -> tuple[np.ndarray, np.ndarray]:
    return row_ids(self.config_of, self.num_seeds, len(self.config_bucket))

  @functools.cached_property
  def members(self) -> Members:
    return Members(self.columns, self.num_seeds, self.config_bucket, self.num_folds,
                   *self._row_ids)

  def config_numbers(self, uids) -> np.ndarray:
    """<int>[n]: the configuration numbers of members `uids`."""
    return self._row_ids[0][np.asarray(uids, np.int64) // (self.num_seeds * self.num_folds)]

  def seed_numbers(self, uids) -> np.ndarray:
    """<int>[n]: the seed indices of members `uids` within their configurations."""
    uids = np.asarray(uids, np.int64)
    return (self._row_ids[1][uids // (self.num_seeds * self.num_folds)]
            + (uids // self.num_folds) % self.num_seeds)

  @property
  def num_members(self) -> int:
    return len(self.config_bucket) * self.num_seeds * self.num_folds

  @functools.cached_property
  def _uids_by_bucket(self) -> list:
    member_bucket = np.repeat(self.config_bucket, self.num_seeds * self.num_folds)
    order = np.argsort(member_bucket, kind='stable')
    bounds = np.searchsorted(member_bucket[order], np.arange(len(self.buckets) + 1))
    return [order[bounds[b]:bounds[b + 1]] for b in range(len(self.buckets))]

  def bucket_uids(self, b) -> np.ndarray:
    """<int>[n]: the uids of bucket b's members, in uid order."""
    return self._uids_by_bucket[b]

  def bucket_members(self, b):
    return [self.members[u] for u in self.bucket_uids(b)]

  @functools.cached_property
  def _arrays(self) -> dict:
    return {}

  def column(self, name: str, uids) -> np.ndarray:
    """<[n]> the values of `name` of members `uids`."""
    if name not in self._arrays:
      values = self.columns[name]
      self._arrays[name] = np.asarray(values, dtype=object if isinstance(values[0], str)
                                      else None)
    return self._arrays[name][np.asarray(uids) // (self.num_seeds * self.num_folds)]

  def to_json(self):
    """The plan compactly: every swept axis as one list over rows (member uid = (row *
    num_seeds + seed) * num_folds + fold), every other axis once, and where a row
    repeats an earlier one's values (random search's, tpe's) each row's configuration
    number."""
    # Listed per row: the swept axes, and what follows one (a swept optimizer's own
    # momentum and beta2 defaults).
    listed = [n for n, v in self.columns.items() if n in self.swept or len(set(v)) > 1]
    fixed = {n: v[0] for n, v in self.columns.items() if n not in listed}
    return {
        'num_members': self.num_members,
        'swept': list(self.swept),
        'bucketed_axes': [a for a in hparams.STRUCTURAL
                          if a in self.swept and a not in self.masked],
        'masked_axes': [a for a in self.masked if a in self.swept],
        'vmapped_axes': [a for a in self.swept if a not in hparams.STRUCTURAL],
        'buckets': [{'bucket': b, 'structure': s,
                     'num_members': int(len(self.bucket_uids(b)))}
                    for b, s in enumerate(self.buckets)],
        'configs': {'num_configs': len(self.config_bucket), 'num_seeds': self.num_seeds,
                    'num_folds': self.num_folds,
                    'bucket': self.config_bucket.tolist(),
                    'swept': {n: list(self.columns[n]) for n in listed},
                    'fixed': fixed,
                    # Rows that repeat an earlier row's values: its configuration number.
                    **({'config': self.config_of.tolist()}
                       if self.config_of is not None else {})},
    }


def row_ids(config_of, num_seeds: int, num_rows: int) -> tuple[np.ndarray, np.ndarray]:
  """(<int>[num_rows] each row's configuration number, <int>[num_rows] its first seed
  index): with `config_of` (tpe's repeats) a row's seeds follow the earlier rows' of its
  configuration; without, every row is its own configuration from seed 0."""
  if config_of is None:
    return np.arange(num_rows), np.zeros(num_rows, np.int64)
  earlier = collections.Counter()
  first = np.empty(num_rows, np.int64)
  for row, c in enumerate(np.asarray(config_of).tolist()):
    first[row] = earlier[c] * num_seeds
    earlier[c] += 1
  return np.asarray(config_of, np.int64), first


def same_values(columns: dict, num_rows: int) -> np.ndarray | None:
  """<int>[num_rows]: each row's first row of the same values in every column, or None
  where every row differs from the others."""
  first = {}
  config_of = np.fromiter((first.setdefault(key, row) for row, key in enumerate(
      zip(*columns.values()))), np.int64, num_rows)
  return None if (config_of == np.arange(num_rows)).all() else config_of


def members_of_json(plan_json: dict) -> list:
  """plan.json's members as dicts (uid, config, seed, bucket, hparams), for readers of
  small sweeps (TensorBoard, figures); older plan.json files list them already."""
  if 'members' in plan_json:
    return plan_json['members']
  configs = plan_json['configs']
  rows, num_seeds = configs['num_configs'], configs['num_seeds']
  columns = {**{n: [v] * rows for n, v in configs['fixed'].items()}, **configs['swept']}
  members = Members(columns, num_seeds, np.asarray(configs['bucket'], np.int64),
                    configs.get('num_folds', 1),
                    *row_ids(configs.get('config'), num_seeds, rows))
  return [{'uid': m.uid, 'config': m.config, 'seed': m.seed, 'fold': m.fold,
           'bucket': m.bucket, 'hparams': m.hparams} for m in members]
