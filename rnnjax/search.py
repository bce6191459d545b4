"""The sweep spec language and the plan: which members exist and how they are grouped.

Every swept flag holds one spec string, parsed by a small grammar (never `eval`):

  0.01                      a constant
  grid(a, b, ...)           listed values; `choice(...)` and a bare `a,b,...` are the same
  uniform(lo, hi)           random search only
  loguniform(lo, hi)        random search only; lo > 0
  randint(lo, hi)           random search only; integers lo..hi inclusive

`--search=grid` crosses every listed axis; `--search=random` draws `--num_members`
configurations, taking listed values uniformly. `halving` and `pbt` (halving.py, pbt.py) start
from such a population: random when `--num_members` is set, else the grid. Each
configuration is repeated `--num_seeds` times, and each repeat trains on each of
`--folds` cross-validation folds: member uid = (configuration * num_seeds + seed index)
* folds + fold (with one fold, configuration * num_seeds + seed index).

Structural axes (cell, hidden_size, num_layers, batch_size, optimizer, and lookback for
forecasting) change shapes, so members are grouped into buckets of equal structure, one
compiled program each.
Every other axis is a traced per-member value inside its bucket's population.
"""

import dataclasses
import itertools
import math
import re

import numpy as np

from rnnjax import hparams
from rnnjax.errors import InputError


STRUCTURAL = hparams.STRUCTURAL

# halving and pbt start from a grid, or from --num_members random configurations.
ADAPTIVE = ('halving', 'pbt')
SEARCHES = ('grid', 'random') + ADAPTIVE

_CALL = re.compile(r'^\s*([a-z]+)\s*\((.*)\)\s*$', re.S)
_RANDOM = ('uniform', 'loguniform', 'randint')


@dataclasses.dataclass(frozen=True)
class Axis:
  name: str
  kind: str            # 'grid' or one of _RANDOM
  values: tuple        # the listed values, or (lo, hi)

  @property
  def is_random(self):
    return self.kind in _RANDOM


def _value(name, text, kind):
  text = text.strip()
  if not text:
    raise InputError(f'--{name}: empty value')
  if kind is str:
    return text
  try:
    number = float(text)
    if kind is int and number != int(number):
      raise ValueError
  except (ValueError, OverflowError):
    raise InputError(f'--{name}: {text!r} is not {"a number" if kind is float else "an integer"}'
                     ) from None
  return kind(number)


def _checked(name, value):
  row = hparams.row(name)
  if not row.valid(value):
    raise InputError(f'--{name}: {value!r} is invalid; expected {row.expect}')
  return value


def parse_axis(name: str, text: str) -> Axis:
  """Parses one flag's spec string; raises InputError naming the flag. Per-layer axes
  (`dropout_2`) are checked like `dropout` (see hparams.row)."""
  if name not in hparams.BY_NAME and hparams.layer_of(name) is None:
    raise InputError(f'--{name}: not a sweepable hyperparameter')
  kind = hparams.row(name).type
  if text is None or not str(text).strip():
    raise InputError(f'--{name}: empty spec')
  text = str(text)
  match = _CALL.match(text)
  if not match:
    if '(' in text or ')' in text:
      raise InputError(f'--{name}: malformed spec {text!r}')
    values = tuple(_checked(name, _value(name, t, kind)) for t in text.split(','))
    return Axis(name, 'grid', values)
  fn, args = match.group(1), [a for a in match.group(2).split(',')]
  if fn in ('grid', 'choice'):
    if not match.group(2).strip():
      raise InputError(f'--{name}: {fn}() needs at least one value')
    return Axis(name, 'grid', tuple(_checked(name, _value(name, a, kind))
                                    for a in args))
  if fn not in _RANDOM:
    raise InputError(f'--{name}: unknown distribution {fn!r} in {text!r}; expected grid, '
                     'choice, uniform, loguniform or randint')
  if kind is str:
    raise InputError(f'--{name}: {fn}() needs numbers; use grid(...) for names')
  if len(args) != 2:
    raise InputError(f'--{name}: {fn}() takes two bounds (lo, hi), got {len(args)}')
  if (fn == 'randint') != (kind is int):
    want = 'randint(lo, hi)' if kind is int else 'uniform(lo, hi) or loguniform(lo, hi)'
    raise InputError(f'--{name}: {fn}() does not fit {"an integer" if kind is int else "a real"}'
                     f' hyperparameter; use {want} or grid(...)')
  lo, hi = (_checked(name, _value(name, a, kind)) for a in args)
  if not lo < hi:
    raise InputError(f'--{name}: {fn}({lo}, {hi}) needs lo < hi')
  if fn == 'loguniform' and lo <= 0:
    raise InputError(f'--{name}: loguniform needs lo > 0')
  return Axis(name, fn, (lo, hi))


def axes_of(spec_strings, *, dropout_per_layer: str = '', task: str = '') -> dict:
  """name -> Axis of a sweep: one per row of hparams.TABLE that applies to `task`
  (an empty by-family spec, e.g. momentum, is left out: the family's value applies),
  and one `dropout_l` per layer of `dropout_per_layer` ('a;b': layer 1 a, layer 2 b).

  spec_strings: name -> spec string (a SweepSpec, or sweep.json's spec, as a mapping).
  """
  axes = {}
  for row in hparams.TABLE:
    text = str(spec_strings.get(row.name, row.default))
    if (row.by_family and not text) or (row.task and task and row.task != task):
      continue
    axes[row.name] = parse_axis(row.name, text)
  if dropout_per_layer:
    for layer, text in enumerate(dropout_per_layer.split(';'), 1):
      axes[f'dropout_{layer}'] = parse_axis(f'dropout_{layer}', text)
  return axes


def _sample(axis: Axis, rng: np.random.Generator):
  if axis.kind == 'grid':
    return axis.values[rng.integers(len(axis.values))]
  lo, hi = axis.values
  if axis.kind == 'uniform':
    return float(rng.uniform(lo, hi))
  if axis.kind == 'loguniform':
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
  return int(rng.integers(lo, hi + 1))


@dataclasses.dataclass(frozen=True)
class Member:
  uid: int
  config: int
  seed: int
  bucket: int
  hparams: dict        # axis name -> value, every row of hparams.TABLE
  fold: int = 0        # Cross-validation fold (the last is the usual split).


@dataclasses.dataclass(frozen=True)
class Plan:
  members: tuple
  buckets: tuple       # tuple of dicts: structural values of each bucket
  swept: tuple         # axes that take more than one value
  masked: tuple = ()   # structural axes vmapped by padding and masking (hidden_size)

  def bucket_members(self, b):
    return [m for m in self.members if m.bucket == b]

  def to_json(self):
    return {
        'num_members': len(self.members),
        'swept': list(self.swept),
        'bucketed_axes': [a for a in STRUCTURAL
                          if a in self.swept and a not in self.masked],
        'masked_axes': [a for a in self.masked if a in self.swept],
        'vmapped_axes': [a for a in self.swept if a not in STRUCTURAL],
        'buckets': [{'bucket': b, 'structure': s,
                     'uids': [m.uid for m in self.bucket_members(b)]}
                    for b, s in enumerate(self.buckets)],
        'members': [dataclasses.asdict(m) for m in self.members],
    }


def make_plan(axes: dict, *, search: str, num_members: int, num_seeds: int,
              seed: int, hidden_mode: str = 'bucket', num_folds: int = 1) -> Plan:
  """Members and buckets from parsed axes (`axes_of`: every row of hparams.TABLE,
  the ones with a by-family default optional,
  plus per-layer axes such as `dropout_2`).

  hidden_mode: 'bucket' (each hidden size its own bucket) or 'masked' (members of every
  hidden size share a bucket padded to its widest member; see model.init_params).
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
  if search in ADAPTIVE:  # Their first population: a grid, or drawn at random.
    search = 'random' if num_members else 'grid'
  if search == 'grid':
    random_axes = [a for a in ordered if a.is_random]
    if random_axes:
      a = random_axes[0]
      raise InputError(f'--{a.name}: {a.kind}() is a random distribution; use '
                       '--search=random, or grid(...) values')
    configs = [dict(zip([a.name for a in ordered], values))
               for values in itertools.product(*[a.values for a in ordered])]
    if num_members and num_members != len(configs):
      raise InputError(f'--num_members: {num_members}, but the grid has {len(configs)} '
                       'configurations; leave it unset (0) for grid search')
  elif search == 'random':
    if num_members < 1:
      raise InputError('--num_members: random search needs the number of configurations')
    rng = np.random.default_rng(seed)
    configs = [{a.name: _sample(a, rng) for a in ordered} for _ in range(num_members)]
  else:
    raise AssertionError(search)
  buckets, members = [], []
  for c, config in enumerate(configs):
    for row in hparams.TABLE:
      if row.by_family and row.name not in config:
        config[row.name] = row.by_family[config['optimizer']]
    structure = {k: config[k] for k in STRUCTURAL
                 if k in config and not (k == 'hidden_size' and hidden_mode == 'masked')}
    if structure not in buckets:
      buckets.append(structure)
    for s in range(num_seeds):
      for f in range(num_folds):
        members.append(Member(uid=(c * num_seeds + s) * num_folds + f, config=c, seed=s,
                               bucket=buckets.index(structure), hparams=config, fold=f))
  if hidden_mode == 'masked':  # Each bucket is as wide as its widest member.
    buckets = [{**structure, 'hidden_size': max(m.hparams['hidden_size'] for m in members
                                                if m.bucket == b)}
               for b, structure in enumerate(buckets)]
  swept = tuple(a.name for a in ordered if a.is_random or len(a.values) > 1)
  return Plan(members=tuple(members), buckets=tuple(buckets), swept=swept,
              masked=('hidden_size',) if hidden_mode == 'masked' else ())
