"""Gathers of a population's rows on the devices: what halving and PBT decide, done,
and some members' parameters as a small population of their own.

The decisions (halving.py, pbt.py) are plain arrays made on the host; these functions
apply them to the population's state and hyperparameters with `jnp` indexing under
`jit`, keeping the members' sharding. `rows_on_devices` gives chosen members (the final
model's, those tested) as a population padded to the devices. Copies are bit-exact.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.engine import sharding as sharding_lib


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


def survivor_index(keep, multiple: int = 1) -> np.ndarray:
  """<int32>[M]: the kept rows in order, padded with copies of the first kept row to a
  multiple of `multiple` (the device count). Empty when nothing is kept."""
  return sharding_lib.pad_rows(np.flatnonzero(np.asarray(keep, bool)), multiple)


def compact(tree, index, sharding=None):
  """Rows `index` (<int32>[M]) of every leaf's axis 0, gathered on the devices.

  `sharding`: the members' NamedSharding; the result is laid out the same (M must then
  be a multiple of the device count). Copies are bit-exact.
  """
  index = _checked_index(index, jax.tree.leaves(tree)[0].shape[0])
  return _jit(_take_rows, sharding)(tree, index)


def rows_on_devices(tree, rows, mesh):
  """Rows `rows` of every leaf's axis 0 as a population on the mesh's devices: padded
  with copies of the first row to a multiple of the device count (sharding.pad_rows)
  and laid out by members; the first len(rows) rows are the ones asked for.

  A tree on the devices (a run's best_params) is gathered there (every process must
  call it); host arrays (a saved model's parameters) are indexed on the host and put.
  """
  index = sharding_lib.pad_rows(rows, mesh)
  shard = sharding_lib.members_sharding(mesh)
  if isinstance(jax.tree.leaves(tree)[0], jax.Array):
    return compact(tree, index, sharding=shard)
  return distributed.put(jax.tree.map(lambda a: np.asarray(a)[index], tree), shard)


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
      best_uid=pick(state.best_uid, new.best_uid),
      best_params=jax.tree.map(pick, state.best_params, new.best_params))
  return state, new_hp.replace(uid=hp.uid)


def exploit(state, hp, src, sharding=None):
  """Member i takes member src[i]'s state and hyperparameters, on the devices.

  A copied member (src[i] != i) takes, bit for bit, the source's params, opt_state and
  step (it continues the source's training from where the source is; its next batches
  are drawn for its own uid at that step), and every hyperparameter, hidden width
  included (the params are shaped for it), except the uid. Its status becomes OK and
  `stale` 0 (patience restarts with the new hyperparameters); best_val, best_step,
  best_params and best_uid (whose row trained them) become the source's unless its own
  best_val is lower or equal.

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


def set_fields(hp: pop.HParams, fields: dict, sharding=None) -> pop.HParams:
  """`hp` with the named fields replaced by host arrays (see hparams.replaced)."""
  put = ((lambda a: distributed.put(a, sharding)) if sharding is not None
         else jnp.asarray)
  return hp.replace(**{name: put(value) for name, value in fields.items()})
