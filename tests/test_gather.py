"""Gathers of a real population on the devices (what halving and PBT decide, done): rows
copied bit for bit, on one device and on three."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import gather
from rnnjax.engine import population as pop
from tests import tiny_population as tiny

OK, DIVERGED, STOPPED = pop.OK, pop.DIVERGED, pop.STOPPED
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_survivor_index():
  keep = np.array([False, True, False, True, True])
  assert gather.survivor_index(keep).tolist() == [1, 3, 4]
  assert gather.survivor_index(keep, 2).tolist() == [1, 3, 4, 1]
  assert gather.survivor_index(keep, 3).tolist() == [1, 3, 4]
  assert gather.survivor_index(np.zeros(4, bool), 3).tolist() == []


def test_compact_copies_rows_bit_for_bit(trained):
  state, hp, _, _ = trained
  for index in ([4, 1, 1, 5], [0, 1, 2, 3, 4, 5], [3], [5, 4, 3, 2, 1, 0, 0, 2]):
    tiny.assert_equal(gather.compact(state, np.array(index)), tiny.rows(state, index))
    tiny.assert_equal(gather.compact(hp, np.array(index)), tiny.rows(hp, index))
  with pytest.raises(ValueError):
    gather.compact(state, np.array([0, tiny.P]))


def test_exploit_copies_state_exactly_and_keeps_uid(trained):
  state, hp, data, _ = trained
  status = np.asarray(state.status).copy()
  status[2] = DIVERGED
  best_val = np.asarray(state.best_val).copy()
  best_val[2] = best_val[0] * 2  # Member 2's own best is worse: it takes its source's.
  best_val[4] = best_val[3] / 2  # Member 4's own best beats its source's: kept.
  state = state.replace(status=jnp.asarray(status), best_val=jnp.asarray(best_val),
                        stale=jnp.arange(tiny.P, dtype=jnp.int32))
  # Each member's best so far is its own row's.
  assert np.asarray(state.best_uid).tolist() == np.asarray(hp.uid).tolist()
  src = np.array([0, 1, 0, 3, 3, 5])
  new, new_hp = gather.exploit(state, hp, src)
  for i, s in ((2, 0), (4, 3)):
    tiny.assert_equal(tiny.rows((new.params, new.opt_state, new.step), [i]),
                  tiny.rows((state.params, state.opt_state, state.step), [s]))
    tiny.assert_equal(tiny.rows(new_hp, [i]).replace(uid=None), tiny.rows(hp, [s]).replace(uid=None))
    assert np.asarray(new.status)[i] == OK and np.asarray(new.stale)[i] == 0
  assert np.asarray(new_hp.uid).tolist() == np.asarray(hp.uid).tolist()
  best = lambda s: (s.best_val, s.best_step, s.best_params, s.best_uid)
  tiny.assert_equal(tiny.rows(best(new), [2]), tiny.rows(best(state), [0]))
  tiny.assert_equal(tiny.rows(best(new), [4]), tiny.rows(best(state), [4]))
  # Member 2 holds weights member 0's row trained; member 4 its own.
  assert np.asarray(new.best_uid)[[2, 4]].tolist() == np.asarray(hp.uid)[[0, 4]].tolist()
  same = [0, 1, 3, 5]
  tiny.assert_equal(tiny.rows(new, same), tiny.rows(state, same))
  tiny.assert_equal(tiny.rows(new_hp, same), tiny.rows(hp, same))

  # The copy continues from the source's step with its own batches and masks.
  after, _ = pop.population_chunk_fn(tiny.CFG)(tiny.copy(new), new_hp, data, tiny.KEY)
  steps = np.asarray(after.step)
  assert steps[2] == steps[0] and steps[4] == steps[3] == 2 * tiny.CFG.steps_per_chunk
  w2, w0 = (np.asarray(jax.tree.leaves(after.params)[0])[i] for i in (2, 0))
  assert np.isfinite(w2).all() and not np.array_equal(w2, w0)


CHILD = """
import numpy as np
from rnnjax.engine import sharding
sharding.configure_cpu_devices(3)
import jax
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.search import hparams
from rnnjax.search.strategies import halving
from tests import tiny_population as t
mesh = sharding.population_mesh()
shard = sharding.members_sharding(mesh)
hp, data = t.hparams_of(), t.data()
state = pop.population_init_fn(t.CFG, mesh)(hp, t.KEY)  # Every row differs (uid).
host = jax.device_get(state)
keep = np.array([True, False, True, False, True, False])
small, small_hp, index = gather.compact_members(state, hp, keep, multiple=3,
                                                  sharding=shard)
assert index.tolist() == [0, 2, 4]
t.assert_equal(small, t.rows(host, index))
for leaf in jax.tree.leaves((small, small_hp)):
  assert leaf.sharding == shard, leaf.sharding
src = np.array([0, 0, 1])
copied, copied_hp = gather.exploit(small, small_hp, src, sharding=shard)
t.assert_equal(t.rows(copied.params, [1]), t.rows(host.params, [0]))
assert copied_hp.uid.tolist() == small_hp.uid.tolist()
assert all(leaf.sharding == shard for leaf in jax.tree.leaves((copied, copied_hp)))
print('sharded ok')
"""


def test_compact_and_exploit_on_three_cpu_devices():
  out = subprocess.run([sys.executable, '-c', CHILD], check=True, cwd=ROOT,
                       env={**os.environ, 'PYTHONPATH': ROOT}, timeout=300,
                       capture_output=True, text=True)
  assert 'sharded ok' in out.stdout
