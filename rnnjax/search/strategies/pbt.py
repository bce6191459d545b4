"""Population-based training (Jaderberg et al. 2017), truncation selection, as pure
functions of the members' validation tables and hyperparameter values.

Every `pbt_interval` steps, within each run (members of one shape) and among members of
one hidden width (a masked run holds several: a member's width never changes, as in a
bucketed run), the members in the bottom `fraction` of the ranking, and every member
that is not OK or has no finite value, take the state of a member drawn uniformly from
the top `fraction` (`sources`; the sweep copies it with gather.exploit) but keep their
own uid, so their batches and dropout masks stay their own. They then perturb the copied hyperparameters (`explore`):
resampled from the declared range with probability p, otherwise multiplied by 0.8 or
1.2, then clipped into the range. Which hyperparameters: the explorable rows of
hparams.TABLE that the sweep varies (`search_space`). Rank by the latest validation
metric: the current weights are what gets copied. Each decision goes to the results
table (`lineage.records`), from which lineage.py reads back whose training, under
which values, made a member's weights.

Every random draw comes from `np.random.default_rng((seed, step, run))`, so a decision
is a function of the tables, the values, the seed and the step: a resumed sweep decides
exactly as an uninterrupted one.
"""

import collections
import dataclasses
import math

import numpy as np

from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search.strategies import decision
from rnnjax.search.strategies import halving


@dataclasses.dataclass(frozen=True)
class Settings:
  """A PBT sweep's settings, read once from the spec."""
  steps: tuple   # See `pbt_steps`.
  space: dict    # See `search_space`.
  fraction: float
  seed: int


def settings(spec) -> Settings:
  return Settings(tuple(pbt_steps(train_steps=spec.train_steps,
                                  pbt_interval=spec.pbt_interval or spec.eval_every,
                                  eval_every=spec.eval_every)),
                  search_space(spec.axes()), spec.pbt_fraction, spec.seed)


def decisions(rules: Settings, tables: dict, step: int, hparams_of) -> dict:
  """`decide` for every run of `tables` at `step`, as the sweep's decision records.
  hparams_of(run) -> its HParams as host arrays (distributed.fetch), read at PBT's steps
  only: the values explored and each row's hidden width."""
  live = tables if step in rules.steps else {}
  hosts = {r: hparams_of(r) for r in live}
  values = {r: hparams.read(hosts[r], list(rules.space)) for r in live}
  widths = {r: np.asarray(hosts[r].hidden_units) for r in live}
  return decide(live, values, step, steps=rules.steps, seed=rules.seed,
                fraction=rules.fraction, space=rules.space, widths=widths)


def decide(tables: dict, values: dict, step: int, *, steps, seed: int, fraction: float,
           space: dict, widths: dict | None = None) -> dict:
  """Each run's exploit and explore at `step`.

  Args:
    tables: run -> its latest table (`searcher.Table`: latest, status, uids <[P]>; rows
      with uid < 0 are padding and stay put).
    values: run -> name -> <[P]> current values of the names in `space` (hparams.read).
    step: the step every run has reached; nothing happens unless it is in `steps`.
    steps: see `pbt_steps`.
    seed, fraction, space: the sweep's seed, `--pbt_fraction`, `search_space(...)`.
    widths: run -> <int>[P] each row's hidden width (None, or one width: one group).
  Returns:
    run -> Decision(src, values): row i takes row src[i]'s state and values, then
    `values` (every explored name, all rows) replace its hyperparameters.
  """
  if step not in steps:
    return {}
  decisions = {}
  for r in sorted(tables):
    table = tables[r]
    status = np.where(table.uids >= 0, table.status, pop.STOPPED)
    rng = np.random.default_rng((seed, step, r))
    real = np.flatnonzero(table.uids >= 0)
    width = None if widths is None else np.asarray(widths[r])
    if width is None or len(np.unique(width[real])) < 2:
      src = sources(table.latest, status, fraction, rng)
    else:  # Each width apart, in increasing order, one generator.
      src = np.arange(len(status))
      for w in np.unique(width[real]):
        rows = real[width[real] == w]
        src[rows] = rows[sources(np.asarray(table.latest)[rows], status[rows], fraction,
                                 rng)]
    src = np.where(table.uids >= 0, src, np.arange(len(src)))  # Padding stays put.
    copied = src != np.arange(len(src))
    exploited = {name: np.asarray(v)[src] for name, v in values[r].items()}
    decisions[r] = decision.Decision(
        src, explore(exploited, copied, space, rng) if space else {})
  return decisions


def alone_note(plan) -> list:
  """[a note] where members are alone in their PBT group (a bucket's members of one
  hidden width): they never copy nor are copied, so PBT leaves them as a grid would
  (randint widths, one seed each); [] where every member has company."""
  widths = plan.columns.get('hidden_size')
  if widths is None:
    return []
  sizes = collections.Counter((int(b), str(w)) for b, w in zip(plan.config_bucket, widths))
  alone = sum(n * plan.num_seeds == 1 for n in sizes.values())
  if not alone:
    return []
  total = len(widths) * plan.num_seeds
  return [f'note: --search=pbt copies only between members of one hidden width that train '
          'together (a bucket; its waves, where it trains in several, apart): '
          f'{alone} of the {total} members are alone in theirs ({len(sizes)} widths), '
          'and never copy nor are copied; fewer widths (a grid of a few) or more '
          '--num_seeds give them company']


def pbt_steps(*, train_steps: int, pbt_interval: int, eval_every: int) -> list[int]:
  """Steps at which PBT exploits and explores: multiples of pbt_interval below
  train_steps (a decision at the last step would change nothing)."""
  if pbt_interval < eval_every or pbt_interval % eval_every:
    raise InputError(f'--pbt_interval: {pbt_interval} must be a positive multiple of '
                     f'--eval_every={eval_every}')
  if pbt_interval >= train_steps:
    raise InputError(f'--pbt_interval: {pbt_interval} must be below '
                     f'--train_steps={train_steps}')
  return list(range(pbt_interval, train_steps, pbt_interval))


def truncation_size(num_ranked: int, fraction: float) -> int:
  """Members in each of the top and bottom `fraction` of `num_ranked`: floor, but at
  least 1 when there are two; never overlapping since fraction <= 1/2."""
  k = math.floor(fraction * num_ranked + 1e-9)
  return max(k, 1) if num_ranked >= 2 else 0


def sources(values, status, fraction: float, rng: np.random.Generator) -> np.ndarray:
  """Whose state each member takes (truncation selection, Jaderberg et al. 2017).

  Args:
    values: <float>[P] latest validation metric (lower is better).
    status: <int>[P].
    fraction: in (0, 0.5]; see `truncation_size`.
    rng: draws each replaced member's source, in index order.
  Returns:
    <int>[P] src: src[i] = i, except for the bottom `fraction` of the members with
    status OK and a finite value (ranked, ties by index) and for every other member
    (diverged, stopped, non-finite): those get a member drawn uniformly from the top
    `fraction`. Identity when no member is OK with a finite value.
  """
  if not 0 < fraction <= 0.5:
    raise InputError(f'--pbt_fraction: {fraction} must be in (0, 0.5]')
  values, status = halving.checked_table(values, status)
  src = np.arange(len(values))
  ranked = halving.ranked(values, status)
  if not len(ranked):
    return src
  k = truncation_size(len(ranked), fraction)
  top = ranked[:max(k, 1)]
  unranked = np.setdiff1d(src, ranked)
  replaced = np.sort(np.concatenate([ranked[len(ranked) - k:], unranked]))
  src[replaced] = top[rng.integers(len(top), size=len(replaced))]
  return src


@dataclasses.dataclass(frozen=True)
class Range:
  """Where `explore` keeps a hyperparameter: [lo, hi], log-scaled and/or integer."""
  lo: float
  hi: float
  log: bool = False
  integer: bool = False

  def __post_init__(self):
    if not self.lo <= self.hi or (self.log and self.lo <= 0):
      raise ValueError(f'bad range {self}')

  def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
    if self.integer and not self.log:
      return rng.integers(int(self.lo), int(self.hi) + 1, size=size).astype(np.float64)
    if self.log:
      return np.exp(rng.uniform(math.log(self.lo), math.log(self.hi), size=size))
    return rng.uniform(self.lo, self.hi, size=size)


def explore(values: dict, copied, space: dict, rng: np.random.Generator, *,
            resample_probability: float = 0.25, factors=(0.8, 1.2)) -> dict:
  """Perturbs the hyperparameters of the copied members (Jaderberg et al. 2017).

  Args:
    values: name -> <float>[P] hyperparameter values (see `hparam_values`).
    copied: <bool>[P] the members that took another's state.
    space: name -> Range for each hyperparameter to explore (a subset of `values`).
    rng: draws, name by name in `space` order, whether to resample, the factor and
      the fresh value for each copied member.
  Returns:
    New arrays, same dtypes: for copied members each name in `space` resampled from
    its range with probability `resample_probability` (log-uniformly if log),
    otherwise multiplied by one of `factors` drawn uniformly; then clipped into the
    range and, if integer, rounded. Everything else unchanged.
  """
  copied = np.asarray(copied, bool)
  out = {name: np.array(v, copy=True) for name, v in values.items()}
  n = int(copied.sum())
  factors = np.asarray(factors, np.float64)
  for name, r in space.items():
    old = out[name][copied].astype(np.float64)
    resample = rng.random(n) < resample_probability
    factor = factors[rng.integers(len(factors), size=n)]
    new = np.clip(np.where(resample, r.sample(rng, n), old * factor), r.lo, r.hi)
    out[name][copied] = np.round(new) if r.integer else new
  return out


def search_space(axes: dict) -> dict:
  """name -> Range for every swept explorable axis of a sweep (`search.parse_axis`
  results by name). uniform/loguniform/randint keep their bounds and scale; a grid
  spans its smallest to largest value, log-scaled when all are > 0 and span a factor
  of 10 or more. Per-layer dropout axes replace `dropout`."""
  space = {}
  for name, axis in axes.items():
    if not hparams.is_explorable(name):
      continue
    if axis.kind == 'grid':
      lo, hi = min(axis.values), max(axis.values)
      if lo == hi:
        continue
      space[name] = Range(lo, hi, log=lo > 0 and hi >= 10 * lo)
    else:
      lo, hi = axis.values
      space[name] = Range(lo, hi, log=axis.kind == 'loguniform',
                          integer=axis.kind == 'randint')
  if hparams.has_layers(space):
    space.pop('dropout', None)
  return space
