"""Adaptive searches between chunks: successive halving and population-based training.

Both are decisions on a table of one validation metric per member (lower is better)
and its status, made on the host between chunks, plus gathers of the population's
state that run on the devices (`jnp` indexing under `jit`, sharding kept).

Successive halving (Jamieson & Talwalkar 2016; the inner loop of Hyperband, Li et al.
2017). Every member trains to `min_steps`; at each rung r_k = min_steps * eta**k <
train_steps only the best ceil(n_ok / eta) members still OK go on (`halving_keep`).
`compact_members` gathers the survivors into a smaller population, so cut members cost
nothing afterwards (one compile per population size, i.e. per rung); `stop` only marks
them STOPPED (no recompile, no saving). Rank by `best_val`: the sweep selects members
by it in the end.

Population-based training (Jaderberg et al. 2017), truncation selection. Every
`pbt_interval` steps the members in the bottom `fraction` of the ranking, and every
member that is not OK or has no finite value, take the state of a member drawn
uniformly from the top `fraction` (`pbt_sources`, `exploit`) but keep their own uid, so
their batches and dropout masks stay their own. They then perturb the copied
hyperparameters (`explore`): resampled from the declared range with probability p,
otherwise multiplied by 0.8 or 1.2, then clipped into the range. Rank by the latest
validation metric: the current weights are what gets copied. Each decision goes to the
results table (`lineage_records`), from which a member's ancestry is read back
(`ancestry`).

Everything random takes a `numpy.random.Generator`; the sweep passes
`np.random.default_rng((seed, step))`, so every decision is a function of the metric
table, the seed and the step.
"""

import dataclasses
import functools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax import distributed
from rnnjax import population as pop
from rnnjax.errors import InputError

# Hyperparameters PBT may perturb. init_scale and forget_bias act at init only, and
# the hidden width is a shape, so they are inherited with the state and never explored.
EXPLORABLE = ('learning_rate', 'weight_decay', 'clip_norm', 'momentum', 'beta2',
              'input_dropout', 'dropout')
_LAYER = re.compile(r'dropout_(\d+)')


# ----------------------------------------------------------------------------------
# Successive halving.

def rungs(*, train_steps: int, min_steps: int, eta: int, eval_every: int) -> list[int]:
  """Steps at which members are cut: min_steps * eta**k for k = 0, 1, ... below
  train_steps. Each is a multiple of eval_every (validation happens only there)."""
  if int(eta) != eta or eta < 2:
    raise InputError(f'--eta: {eta} must be an integer >= 2')
  if min_steps < eval_every or min_steps % eval_every:
    raise InputError(f'--min_steps: {min_steps} must be a multiple of '
                     f'--eval_every={eval_every}')
  if min_steps >= train_steps:
    raise InputError(f'--min_steps: {min_steps} must be below --train_steps={train_steps}'
                     ' (no member would ever be cut)')
  steps = []
  while min_steps * eta**len(steps) < train_steps:
    steps.append(min_steps * eta**len(steps))
  return steps


def halving_keep(values, status, eta: int) -> np.ndarray:
  """The members that go on past a rung.

  Args:
    values: <float>[P] validation metric (lower is better).
    status: <int>[P] OK, DIVERGED or STOPPED.
    eta: keep 1 / eta of the members.
  Returns:
    <bool>[P]: among the n_ok members with status OK and a finite value, the best
    ceil(n_ok / eta), ties broken by index. Others are never kept.
  """
  values, status = _table(values, status)
  ranked = _ranked(values, status)
  keep = np.zeros(len(values), bool)
  keep[ranked[:-(-len(ranked) // eta)]] = True
  return keep


def survivors(num_members: int, num_rungs: int, eta: int) -> list[int]:
  """Members training after each rung if all stay OK: [P, ceil(P/eta), ...]."""
  counts = [num_members]
  for _ in range(num_rungs):
    counts.append(-(-counts[-1] // eta))
  return counts


def budget(num_members: int, *, train_steps: int, rung_steps: list[int], eta: int) -> int:
  """Member-steps a halving schedule spends on `num_members` members when all stay OK
  (padding members not counted); `budget // train_steps` members trained to the end
  cost the same."""
  counts = survivors(num_members, len(rung_steps), eta)
  bounds = [0, *rung_steps, train_steps]
  return sum(n * (end - start) for n, start, end in zip(counts, bounds, bounds[1:]))


def survivor_index(keep, multiple: int = 1) -> np.ndarray:
  """<int32>[M]: the kept rows in order, padded with copies of the first kept row to a
  multiple of `multiple` (the device count). Empty when nothing is kept."""
  index = np.flatnonzero(np.asarray(keep, bool)).astype(np.int32)
  if not len(index):
    return index
  pad = -len(index) % multiple
  return np.concatenate([index, np.full(pad, index[0], np.int32)])


# ----------------------------------------------------------------------------------
# Device-side gathers.

def _take_rows(tree, index):
  return jax.tree.map(lambda a: a[index], tree)


@functools.lru_cache(maxsize=None)
def _jit(fn, sharding):
  return jax.jit(fn) if sharding is None else jax.jit(fn, out_shardings=sharding)


def _checked_index(index, size):
  index = np.asarray(index, np.int32)
  if index.ndim != 1 or (len(index) and not (0 <= index.min() and index.max() < size)):
    raise ValueError(f'index {index} is not a vector of rows in [0, {size})')
  return index


def compact(tree, index, sharding=None):
  """Rows `index` (<int32>[M]) of every leaf's axis 0, gathered on the devices.

  `sharding`: the members' NamedSharding; the result is laid out the same (M must then
  be a multiple of the device count). Copies are bit-exact.
  """
  index = _checked_index(index, jax.tree.leaves(tree)[0].shape[0])
  return _jit(_take_rows, sharding)(tree, index)


def _compact_members(state, hp, index, num_real):
  state, hp = _take_rows((state, hp), index)
  rank = jnp.arange(index.shape[0], dtype=jnp.int32)
  pad = rank >= num_real
  return (state.replace(status=jnp.where(pad, pop.STOPPED, state.status)),
          hp.replace(uid=jnp.where(pad, num_real - 1 - rank, hp.uid)))


def compact_members(state, hp, keep, *, multiple: int = 1, sharding=None):
  """The kept members as a population of M = a multiple of `multiple` rows.

  Returns (state, hp, index): rows index[:keep.sum()] are the survivors in order; the
  padding rows after them are STOPPED copies with uids -1, -2, ... (like the sweep's
  own padding). Nothing is kept when `keep` is all False: the caller ends the run.
  """
  index = survivor_index(keep, multiple)
  if not len(index):
    raise ValueError('no member to keep')
  index = _checked_index(index, hp.uid.shape[0])
  num_real = np.int32(np.sum(keep))
  state, hp = _jit(_compact_members, sharding)(state, hp, index, num_real)
  return state, hp, index


def _stop(state, cut):
  return state.replace(status=jnp.where(cut & (state.status == pop.OK), pop.STOPPED,
                                        state.status))


def stop(state, keep, sharding=None):
  """Marks OK members not in `keep` (<bool>[P]) STOPPED: they train no further."""
  return _jit(_stop, sharding)(state, ~np.asarray(keep, bool))


# ----------------------------------------------------------------------------------
# Population-based training.

def pbt_steps(*, train_steps: int, pbt_interval: int, eval_every: int) -> list[int]:
  """Steps at which PBT exploits and explores: multiples of pbt_interval below
  train_steps (a decision at the last step would change nothing)."""
  if pbt_interval < eval_every or pbt_interval % eval_every:
    raise InputError(f'--pbt_interval: {pbt_interval} must be a multiple of '
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


def pbt_sources(values, status, fraction: float, rng: np.random.Generator) -> np.ndarray:
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
  values, status = _table(values, status)
  src = np.arange(len(values))
  ranked = _ranked(values, status)
  if not len(ranked):
    return src
  k = truncation_size(len(ranked), fraction)
  top = ranked[:max(k, 1)]
  unranked = np.setdiff1d(src, ranked)
  replaced = np.sort(np.concatenate([ranked[len(ranked) - k:], unranked]))
  src[replaced] = top[rng.integers(len(top), size=len(replaced))]
  return src


def _exploit(state, hp, src):
  new, new_hp = _take_rows((state, hp), src)
  copied = src != jnp.arange(src.shape[0], dtype=src.dtype)
  # A copy's best is the better of its own and its source's: both are ancestors of
  # its weights, and the population's best weights so far are never lost.
  own_best = ~copied | (state.best_val <= new.best_val)
  pick = lambda own, got: jnp.where(own_best.reshape((-1,) + (1,) * (own.ndim - 1)),
                                    own, got)
  state = new.replace(
      status=jnp.where(copied, pop.OK, new.status),
      stale=jnp.where(copied, 0, new.stale),
      best_val=pick(state.best_val, new.best_val),
      best_step=pick(state.best_step, new.best_step),
      best_params=jax.tree.map(pick, state.best_params, new.best_params))
  return state, new_hp.replace(uid=hp.uid)


def exploit(state, hp, src, sharding=None):
  """Member i takes member src[i]'s state and hyperparameters, on the devices.

  A copied member (src[i] != i) takes, bit for bit, the source's params, opt_state and
  step (it continues the source's training from where the source is; its next batches
  are drawn for its own uid at that step), and every hyperparameter, hidden width
  included (the params are shaped for it), except the uid. Its status becomes OK and
  `stale` 0 (patience restarts with the new hyperparameters); best_val, best_step and
  best_params become the source's unless its own best_val is lower or equal.

  Args:
    state: TrainState<[P]>.
    hp: HParams<[P]>.
    src: <int>[P], e.g. from `pbt_sources` (padding rows: identity).
    sharding: the members' NamedSharding, kept on the results.
  Returns:
    (state, hp).
  """
  src = _checked_index(src, hp.uid.shape[0])
  return _jit(_exploit, sharding)(state, hp, src)


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
    if name not in EXPLORABLE and not _LAYER.fullmatch(name):
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
  if any(_LAYER.fullmatch(name) for name in space):
    space.pop('dropout', None)
  return space


def hparam_values(hp: pop.HParams, names) -> dict:
  """name -> <float32>[P] numpy values of HParams fields; 'dropout' reads layer 1's
  rate, 'dropout_l' layer l's."""
  host = distributed.fetch(hp)
  out = {}
  for name in names:
    if name == 'dropout' or _LAYER.fullmatch(name):
      out[name] = np.array(host.dropout_rates[:, _layer(name)])
    else:
      out[name] = np.array(getattr(host, name))
  return out


def with_hparams(hp: pop.HParams, values: dict, sharding=None) -> pop.HParams:
  """`hp` with the named fields replaced by `values` (name -> [P]); 'dropout' sets every
  layer's rate, 'dropout_l' (applied after it) layer l's."""
  put = ((lambda a: distributed.put(a, sharding)) if sharding is not None
         else jnp.asarray)
  fields = {}
  rates = np.array(distributed.fetch(hp.dropout_rates))
  for name in sorted(values, key=lambda n: n != 'dropout'):
    if name == 'dropout':
      rates[:] = np.asarray(values[name])[:, None]
    elif _LAYER.fullmatch(name):
      rates[:, _layer(name)] = values[name]
    else:
      fields[name] = put(np.asarray(values[name], getattr(hp, name).dtype))
  if any(name == 'dropout' or _LAYER.fullmatch(name) for name in values):
    fields['dropout_rates'] = put(rates)
  return hp.replace(**fields)


def lineage_records(uids, src_uids, step: int, values: dict, bucket=None) -> list[dict]:
  """Records of one PBT decision for metrics.jsonl, for each member that was copied:
  {'split': 'lineage', 'metric': 'parent', 'value': the source's uid} and, for each
  name in `values` (<[P]> after `explore`), {'split': 'hparams', 'metric': name,
  'value': its new value}. `bucket` is added when given."""
  uids, src_uids = np.asarray(uids), np.asarray(src_uids)
  records = []
  for i in np.flatnonzero(uids != src_uids):
    where = {'uid': int(uids[i])}
    if bucket is not None:
      where['bucket'] = bucket
    where['step'] = int(step)
    records.append({**where, 'split': 'lineage', 'metric': 'parent',
                    'value': int(src_uids[i])})
    records += [{**where, 'split': 'hparams', 'metric': name, 'value': float(v[i])}
                for name, v in values.items()]
  return records


def ancestry(records, uid: int) -> list[tuple[int, int]]:
  """Whose weights member `uid` trained from when, read from lineage records:
  [(uid, since_step), (parent, since_step), ..., (root, 0)], newest first."""
  parents = {}
  for r in records:
    if r['split'] == 'lineage' and r['metric'] == 'parent':
      parents.setdefault(r['uid'], []).append((r['step'], int(r['value'])))
  chain, limit = [], math.inf
  while True:
    earlier = [(s, p) for s, p in parents.get(uid, ()) if s < limit]
    if not earlier:
      return chain + [(uid, 0)]
    limit, parent = max(earlier)
    chain.append((uid, limit))
    uid = parent


# ----------------------------------------------------------------------------------

def _table(values, status):
  values, status = np.asarray(values, np.float64), np.asarray(status)
  if values.ndim != 1 or values.shape != status.shape:
    raise ValueError(f'values {values.shape} and status {status.shape} must be [P]')
  return values, status


def _ranked(values, status):
  """Indices of the OK members with finite values, best first, ties by index."""
  ok = np.flatnonzero((status == pop.OK) & np.isfinite(values))
  return ok[np.argsort(values[ok], kind='stable')]


def _layer(name):
  return 0 if name == 'dropout' else int(_LAYER.fullmatch(name).group(1)) - 1
