"""The sweep spec language: one spec string per swept flag, parsed into an `Axis`.

Every swept flag holds one spec string, parsed by a small grammar (never `eval`):

  0.01                      a constant
  grid(a, b, ...)           listed values; `choice(...)` and a bare `a,b,...` are the same
  uniform(lo, hi)           random search only
  loguniform(lo, hi)        random search only; lo > 0
  randint(lo, hi)           random search only; integers lo..hi inclusive

Values are checked against the hyperparameter's row of hparams.TABLE (type and range);
errors name the flag. `configurations` makes a grid's or a random search's values of
every axis (`draw`: one axis's); search_comparison's --space holds several,
`name=spec,...` (`split_entries`). Which members exist and how they are grouped is
plan.py's. A grid refuses a value listed twice (it would train it twice, as two
configurations); random search draws from such a list, weighted.
"""

import dataclasses
import math
import re
import zlib

import numpy as np

from rnnjax.errors import InputError
from rnnjax.search import hparams


_CALL = re.compile(r'^\s*([A-Za-z_][A-Za-z_0-9]*)\s*\((.*)\)\s*$', re.S)
_RANDOM = ('uniform', 'loguniform', 'randint')


@dataclasses.dataclass(frozen=True)
class Axis:
  name: str
  kind: str            # 'grid' or one of _RANDOM
  values: tuple        # the listed values, or (lo, hi)

  @property
  def is_random(self):
    return self.kind in _RANDOM


def _value(name, text, kind, spec):
  text = text.strip()
  if not text:  # `1e-3,` or `grid(1e-3,,1e-2)`: a comma too many.
    raise InputError(f'--{name}: an empty value in {spec.strip()!r}')
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
  bare = text.strip()
  if len(bare) > 1 and bare[0] == bare[-1] and bare[0] in '\'"':
    # A shell takes quotes off; a flagfile line (or a script's list) keeps them.
    raise InputError(f'--{name}: {text} is in quotes, which are kept as part of the '
                     'value in a flagfile line; write it without them')
  match = _CALL.match(text)
  if not match:
    if '(' in text or ')' in text:
      raise InputError(f'--{name}: malformed spec {text!r}')
    values = tuple(_checked(name, _value(name, t, kind, text)) for t in text.split(','))
    return Axis(name, 'grid', values)
  fn, args = match.group(1), [a for a in match.group(2).split(',')]
  if fn in ('grid', 'choice'):
    if not match.group(2).strip():
      raise InputError(f'--{name}: {fn}() needs at least one value')
    return Axis(name, 'grid', tuple(_checked(name, _value(name, a, kind, text))
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
  lo, hi = (_checked(name, _value(name, a, kind, text)) for a in args)
  if not lo < hi:
    raise InputError(f'--{name}: {fn}({lo}, {hi}) needs lo < hi')
  if fn == 'loguniform' and lo <= 0:
    raise InputError(f'--{name}: loguniform needs lo > 0')
  return Axis(name, fn, (lo, hi))


def split_entries(text: str) -> list:
  """`name=spec,name=spec` (search_comparison's --space) split on the commas outside
  parentheses and brackets, so that a spec keeps its own (`loguniform(1e-4,1e-1)`); each
  entry stripped; [] for an empty text. Unbalanced brackets are left to parse_axis."""
  entries, depth, start = [], 0, 0
  for i, c in enumerate(text):
    if c in '([':
      depth += 1
    elif c in ')]':
      depth -= 1
    elif c == ',' and depth == 0:
      entries.append(text[start:i].strip())
      start = i + 1
  return entries + [text[start:].strip()] if text.strip() else []


def spec_key(name: str, value):
  """What a sweep's setting `name` asks for, to tell two sweeps apart (a resume, sweeps
  set side by side): a hyperparameter's spec string as its axis (`1e-3,1e-2`,
  `grid(0.001,0.01)` and `choice(1e-3,1e-2)` are one), `--dropout_per_layer` as each
  layer's; any other setting, or a spec this version does not read, as written."""
  try:
    if name == 'dropout_per_layer' and isinstance(value, str):
      return tuple(parse_axis(n, t) for n, t in hparams.layer_specs(value).items())
    if name in hparams.BY_NAME:
      return parse_axis(name, value)
  except InputError:
    pass
  return repr(value)


def axes_of(spec_strings, *, dropout_per_layer: str = '', task: str = '') -> dict:
  """name -> Axis of a sweep: one per row of hparams.TABLE that applies to `task`
  (an empty by-family spec, e.g. momentum, is left out: the family's value applies),
  and one `dropout_l` per layer of `dropout_per_layer` (see hparams.layer_specs).

  spec_strings: name -> spec string (a SweepSpec, or sweep.json's spec, as a mapping).
  """
  axes = {}
  for row in hparams.TABLE:
    text = str(spec_strings.get(row.name, row.default))
    if (row.by_family and not text) or (row.tasks and task and task not in row.tasks):
      continue
    axes[row.name] = parse_axis(row.name, text)
  for name, text in hparams.layer_specs(dropout_per_layer).items():
    axes[name] = _layer_axis(name, text)
  return axes


def _layer_axis(name: str, text: str) -> Axis:
  """A layer's axis of `--dropout_per_layer`; its errors name that flag and the layer
  (`--dropout_per_layer: layer 2: ...`), not the axis `dropout_2` the user never typed."""
  try:
    return parse_axis(name, text)
  except InputError as e:
    layer = hparams.layer_of(name) + 1
    message = str(e).removeprefix(f'--{name}: ')
    raise InputError(f'--dropout_per_layer: layer {layer}: {message}') from None


def draw(axis: Axis, rng: np.random.Generator, n: int) -> list:
  """`n` values of a random-search axis, drawn as one vector (a listed axis with one
  value draws nothing)."""
  if axis.kind == 'grid':
    if len(axis.values) == 1:
      return [axis.values[0]] * n
    return [axis.values[i] for i in rng.integers(len(axis.values), size=n).tolist()]
  lo, hi = axis.values
  if axis.kind == 'uniform':
    return rng.uniform(lo, hi, size=n).tolist()
  if axis.kind == 'loguniform':
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size=n)).tolist()
  return rng.integers(lo, hi + 1, size=n).tolist()


def configurations(ordered, *, search: str, num_members: int, seed: int,
                   configs) -> tuple[int, dict]:
  """(number of configurations, name -> [num_configs] values) of the axes `ordered`
  (planner.make_plan's order): `configs` as given (tpe's), a grid in `itertools.product`
  order (the last axis fastest), or `num_members` random draws, each axis from its own
  stream (the search seed and the axis name), so that the first n draws are the same
  for any `num_members` >= n."""
  if configs is not None:
    return len(configs), {a.name: [c[a.name] for c in configs] for a in ordered}
  if search == 'grid':
    random_axes = [a for a in ordered if a.is_random]
    if random_axes:
      a = random_axes[0]
      raise InputError(f'--{a.name}: {a.kind}() is a random distribution; draw it with '
                       '--search=random or tpe, or halving or pbt with --num_members >= 1 '
                       '(the configurations drawn), or list grid(...) values')
    for a in ordered:  # A grid trains each value once: a repeat is a slip, not a weight.
      twice = [v for i, v in enumerate(a.values) if v in a.values[:i]]
      if twice:
        layer = hparams.layer_of(a.name)
        flag = (f'--{a.name}' if layer is None
                else f'--dropout_per_layer: layer {layer + 1}')
        raise InputError(f'{flag}: {twice[0]!r} is listed twice in a grid, which '
                         'trains each value once; list it once (--num_seeds repeats '
                         'every configuration)')
    shape = [len(a.values) for a in ordered]
    num_configs = math.prod(shape)
    if num_members and num_members != num_configs:
      raise InputError(f'--num_members: {num_members}, but the grid has {num_configs} '
                       'configurations; leave it unset (0) for grid search')
    index = np.unravel_index(np.arange(num_configs), shape) if shape else []
    return num_configs, {a.name: ([a.values[0]] * num_configs if len(a.values) == 1
                                  else [a.values[i] for i in idx.tolist()])
                         for a, idx in zip(ordered, index)}
  if search == 'random':
    if num_members < 1:
      raise InputError(f'--num_members: {num_members}; random search draws that many '
                       'configurations: give a number >= 1')
    # A stream per axis (seeded by the search seed and the axis name): a search of more
    # members extends one of fewer, so halving's first members are random search's.
    return num_members, {
        a.name: draw(a, np.random.default_rng((seed, zlib.crc32(a.name.encode()))),
                     num_members) for a in ordered}
  raise AssertionError(f'{search}: its configurations come from tpe.py')
