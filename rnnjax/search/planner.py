"""How a plan (plan.py) is made: the searches there are, and each one's configurations as
members and buckets.

`--search=grid` crosses every listed axis (space.py parses them); `--search=random`
draws `--num_members` configurations, taking listed values uniformly, each axis from its
own stream (the seed and the axis name): the first n configurations of a random search
are the same for any `--num_members` >= n, so a larger search extends a smaller one.
`halving` and `pbt` (strategies/halving.py, pbt.py) start from such a population: random
when `--num_members` is set, else the grid. tpe's configurations are given: its study's
proposals (strategies/tpe.py), each round planned after the earlier ones (`concat`). A
row that repeats an earlier row's values is more seeds of it (plan.py).

Structural axes split the members into buckets (`_buckets`), in order of first
appearance; with `hidden_mode='masked'` hidden sizes share a bucket, as wide as its
widest member.
"""

import dataclasses

import numpy as np

from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import space
from rnnjax.search.plan import Plan
from rnnjax.search.plan import same_values

# halving and pbt start from a grid, or from --num_members random configurations.
ADAPTIVE = ('halving', 'pbt')
# tpe: rounds of configurations proposed by a model of the earlier rounds (strategies/tpe.py).
SEARCHES = ('grid', 'random') + ADAPTIVE + ('tpe',)


def make_plan(axes: dict, *, search: str, num_members: int, num_seeds: int,
              seed: int, hidden_mode: str = 'bucket', num_folds: int = 1,
              configs=None) -> Plan:
  """Members and buckets from parsed axes (`space.axes_of`: every row of hparams.TABLE,
  the ones with a by-family default optional,
  plus per-layer axes such as `dropout_2`).

  hidden_mode: 'bucket' (each hidden size its own bucket) or 'masked' (members of every
  hidden size share a bucket padded to its widest member; see model.init_params).
  configs: the configurations themselves (axis name -> value, every axis; tpe's
    proposals) instead of a grid or random draws. A repeat of an earlier one's values
    (these, or random search's draws) is a row of its own whose members are more seeds
    of that one (`config_of`).

  Configurations are made as columns (space.configurations), axes in table order.
  """
  if hidden_mode not in ('bucket', 'masked'):
    raise InputError(f"--hidden_mode: {hidden_mode!r}; expected 'auto', 'masked' or "
                     "'bucket'")
  if num_seeds < 1:
    raise InputError(f'--num_seeds: {num_seeds} must be >= 1')
  ordered = [axes[name] for name in hparams.BY_NAME if name in axes]
  ordered += [axes[name] for name in sorted(axes) if name not in hparams.BY_NAME]
  if search not in SEARCHES:
    raise InputError(f'--search: unknown strategy {search!r}; expected one of '
                     f'{", ".join(SEARCHES)}')
  repeats = configs is not None or search == 'random'  # Rows that may repeat values.
  if search in ADAPTIVE:  # Their first population: a grid, or drawn at random.
    search = 'random' if num_members else 'grid'
  num_configs, columns = space.configurations(ordered, search=search,
                                              num_members=num_members, seed=seed,
                                              configs=configs)
  swept = tuple(a.name for a in ordered if a.is_random or len(a.values) > 1)
  for row in hparams.TABLE:
    if row.by_family and row.name not in columns:
      family, optimizers = row.by_family, columns['optimizer']
      columns[row.name] = ([family[o] for o in optimizers] if 'optimizer' in swept
                           else [family[optimizers[0]]] * num_configs)
  keys = [k for k in hparams.STRUCTURAL
          if k in columns and not (k == 'hidden_size' and hidden_mode == 'masked')]
  config_bucket, buckets = _buckets(columns, keys, swept, num_configs)
  if hidden_mode == 'masked':  # Each bucket is as wide as its widest member.
    widest = np.zeros(len(buckets), np.int64)
    np.maximum.at(widest, config_bucket, np.asarray(columns['hidden_size'], np.int64))
    buckets = [{**structure, 'hidden_size': int(w)}
               for structure, w in zip(buckets, widest)]
  return Plan(columns=columns, num_seeds=num_seeds, config_bucket=config_bucket,
              buckets=tuple(buckets), swept=swept,
              masked=('hidden_size',) if hidden_mode == 'masked' else (),
              num_folds=num_folds,
              config_of=same_values(columns, num_configs) if repeats else None)


def _buckets(columns: dict, keys: list, swept: tuple,
             num_configs: int) -> tuple[np.ndarray, list]:
  """(<int>[num_configs] each configuration's bucket, each bucket's values of `keys`):
  buckets in order of first appearance, as one code per configuration (made of the
  swept structural axes' value indices)."""
  code = np.zeros(num_configs, np.int64)
  for k in keys:
    if k in swept:
      index = {v: i for i, v in enumerate(dict.fromkeys(columns[k]))}
      code = code * len(index) + np.fromiter(map(index.__getitem__, columns[k]), np.int64,
                                             num_configs)
  _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
  rank = np.empty(len(first), np.int64)
  rank[np.argsort(first, kind='stable')] = np.arange(len(first))
  config_bucket = rank[inverse.reshape(-1)]
  order = np.sort(first)
  return config_bucket, [{k: columns[k][c] for k in keys} for c in order.tolist()]


def undrawn_notes(axes: dict, plan: Plan) -> list:
  """A line per listed axis (choice(...), two or more values) of which a population
  drawn at random (`plan`: random search's, or halving's or PBT's first of
  --num_members) drew some values nowhere: by chance a small draw leaves a value out,
  and no figure or table then shows it."""
  out = []
  configs = len(plan.config_bucket)
  for name, axis in axes.items():
    if axis.is_random or len(axis.values) < 2 or name not in plan.columns:
      continue
    drawn = set(plan.columns[name])
    missing = [v for v in axis.values if v not in drawn]
    if missing:
      out.append(f'note: --{name}: {", ".join(map(str, missing))} drawn in none of the '
                 f'{configs} configurations drawn at random (of {len(axis.values)} values '
                 'listed): no figure or table shows '
                 f'{"it" if len(missing) == 1 else "them"}; more --num_members, or a grid, '
                 'trains every value')
  return out


def concat(first: Plan, then: Plan) -> Plan:
  """`then`'s rows and buckets after `first`'s (a later round of tpe): its rows (so its
  uids) and buckets are numbered on from `first`'s, each round keeping its own buckets;
  a row of values an earlier row has is that row's configuration (more seeds of it)."""
  columns = {n: list(v) + list(then.columns[n]) for n, v in first.columns.items()}
  return dataclasses.replace(
      first, columns=columns,
      config_bucket=np.concatenate([first.config_bucket,
                                    then.config_bucket + len(first.buckets)]),
      buckets=first.buckets + then.buckets,
      config_of=same_values(columns, len(first.config_bucket) + len(then.config_bucket)))
