"""Successive halving and PBT: decisions against plain-Python references, and gathers
of a real population that copy exactly."""

import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import gather
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.search import halving
from rnnjax.search import hparams
from rnnjax.search import pbt
from rnnjax.search import space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = 6
OK, DIVERGED, STOPPED = pop.OK, pop.DIVERGED, pop.STOPPED


# ----------------------------------------------------------------------------------
# A tiny real population, trained one chunk.

def _data(n=24, lookback=5, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, lookback, 1)).astype(np.float32)
  y = x.sum(axis=1, keepdims=True) / np.sqrt(lookback)
  scale = {'mean': np.zeros(1, np.float32), 'std': np.ones(1, np.float32)}
  data = {'train': {'x': x, 'y': y, **scale}, 'val': {'x': x[:8], 'y': y[:8], **scale}}
  return jax.tree.map(jnp.asarray, data)


# Adam: its state (two moments and a count) is what a copy must carry exactly.
CFG = pop.TrainConfig(model=model.ModelConfig('rnn_tanh', 1, 4, 1, 1), optimizer='adam',
                      batch_size=4, steps_per_chunk=2)
KEY = jax.random.key(7)


def _hparams(p=P, layers=1):
  rng = np.random.default_rng(1)
  values = dict(uid=np.arange(10, 10 + p), learning_rate=np.geomspace(1e-3, 3e-2, p),
                weight_decay=rng.uniform(0, 1e-3, p), clip_norm=rng.choice([0.0, 1.0], p),
                momentum=np.full(p, 0.9), beta2=rng.uniform(0.9, 0.999, p),
                input_dropout=rng.uniform(0, 0.3, p),
                dropout_rates=rng.uniform(0, 0.5, (p, layers)), forget_bias=np.ones(p),
                init_scale=rng.uniform(0.5, 1.5, p), hidden_units=[4, 3, 4, 2, 4, 3])
  uids, widths = values.pop('uid'), values.pop('hidden_units')
  return jax.tree.map(jnp.asarray, hparams.stack_columns(uids, hidden_size=widths, **values))


@pytest.fixture(scope='module')
def trained():
  # Members' hyperparameters laid out as the gathers return them: otherwise the first
  # chunk after a gather would compile the program a second time.
  hp, data = _copy(_hparams()), _data()
  state = pop.population_init_fn(CFG)(hp, KEY)
  state, metrics = pop.population_chunk_fn(CFG)(state, hp, data, KEY)
  return jax.device_get(state), hp, data, jax.device_get(metrics)


def _copy(tree):
  """Laid out as the chunk program returns it (which then never recompiles); the
  program donates its input, so it is never handed the fixture's own arrays."""
  return jax.device_put(tree, sharding.members_sharding(sharding.population_mesh()))


def _rows(tree, index):
  return jax.tree.map(lambda a: np.asarray(a)[np.asarray(index)], tree)


def _assert_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


# ----------------------------------------------------------------------------------
# Successive halving.

def test_rungs():
  assert halving.rungs(train_steps=100, min_steps=10, eta=3, eval_every=5) == [10, 30, 90]
  assert halving.rungs(train_steps=90, min_steps=10, eta=3, eval_every=10) == [10, 30]
  assert halving.rungs(train_steps=17, min_steps=4, eta=2, eval_every=2) == [4, 8, 16]
  with pytest.raises(InputError, match='^--eta: 1 '):
    halving.rungs(train_steps=100, min_steps=10, eta=1, eval_every=5)
  with pytest.raises(InputError, match='^--min_steps: 5 .*--eval_every=10'):
    halving.rungs(train_steps=100, min_steps=5, eta=2, eval_every=10)
  with pytest.raises(InputError, match='^--min_steps: 15 .*--eval_every=10'):
    halving.rungs(train_steps=100, min_steps=15, eta=2, eval_every=10)
  with pytest.raises(InputError, match='^--min_steps: 100 .*--train_steps'):
    halving.rungs(train_steps=100, min_steps=100, eta=2, eval_every=10)


def _reference_keep(values, status, eta):
  ok = sorted((v, i) for i, (v, s) in enumerate(zip(values, status))
              if s == OK and math.isfinite(v))
  kept = {i for _, i in ok[:math.ceil(len(ok) / eta)]}
  return [i in kept for i in range(len(values))]


def test_halving_keep_by_hand():
  values = [0.3, 0.1, np.nan, 0.1, 0.05, np.inf, 0.2, 0.01]
  status = [OK, OK, OK, OK, DIVERGED, OK, OK, STOPPED]
  # OK and finite: 0 (0.3), 1 (0.1), 3 (0.1), 6 (0.2); ceil(4 / 3) = 2: the tie 1, 3.
  assert np.flatnonzero(halving.keep_best(values, status, 3)).tolist() == [1, 3]
  assert np.flatnonzero(halving.keep_best(values, status, 2)).tolist() == [1, 3]
  assert np.flatnonzero(halving.keep_best(values, status, 5)).tolist() == [1]
  assert not halving.keep_best([np.nan, 1.0], [OK, DIVERGED], 2).any()
  assert halving.keep_best([2.0], [OK], 4).tolist() == [True]


def test_halving_keep_equals_reference_on_random_tables():
  rng = np.random.default_rng(0)
  for trial in range(300):
    p = rng.integers(1, 30)
    values = rng.choice([0.1, 0.2, 0.3, 0.5, np.nan, np.inf, -np.inf], p,
                        p=[.25, .2, .2, .2, .05, .05, .05])
    values = np.where(rng.random(p) < 0.5, values, rng.normal(size=p))
    status = rng.choice([OK, DIVERGED, STOPPED], p, p=[.7, .15, .15])
    eta = int(rng.integers(2, 5))
    keep = halving.keep_best(values, status, eta)
    assert keep.dtype == bool
    assert keep.tolist() == _reference_keep(values.tolist(), status.tolist(), eta), trial


def test_budget_and_survivors():
  assert halving.survivors(27, 3, 3) == [27, 9, 3, 1]
  assert halving.survivors(10, 3, 2) == [10, 5, 3, 2]
  assert halving.budget(27, train_steps=100, rung_steps=[10, 30, 90], eta=3) == (
      27 * 10 + 9 * 20 + 3 * 60 + 1 * 10)
  # The same count by simulating halving_keep on an all-OK population.
  rung_steps = halving.rungs(train_steps=60, min_steps=5, eta=2, eval_every=5)
  alive, spent, last = np.ones(13, bool), 0, 0
  for step in rung_steps + [60]:
    spent += alive.sum() * (step - last)
    last = step
    values = np.where(alive, np.random.default_rng(step).normal(size=13), np.nan)
    alive = halving.keep_best(values, np.where(alive, OK, STOPPED), 2)
  assert halving.budget(13, train_steps=60, rung_steps=rung_steps, eta=2) == spent


def test_survivor_index():
  keep = np.array([False, True, False, True, True])
  assert gather.survivor_index(keep).tolist() == [1, 3, 4]
  assert gather.survivor_index(keep, 2).tolist() == [1, 3, 4, 1]
  assert gather.survivor_index(keep, 3).tolist() == [1, 3, 4]
  assert gather.survivor_index(np.zeros(4, bool), 3).tolist() == []


def test_compact_copies_rows_bit_for_bit(trained):
  state, hp, _, _ = trained
  for index in ([4, 1, 1, 5], [0, 1, 2, 3, 4, 5], [3], [5, 4, 3, 2, 1, 0, 0, 2]):
    _assert_equal(gather.compact(state, np.array(index)), _rows(state, index))
    _assert_equal(gather.compact(hp, np.array(index)), _rows(hp, index))
  with pytest.raises(ValueError):
    gather.compact(state, np.array([0, P]))


def test_halving_survivors_continue_as_in_the_full_population(trained):
  state, hp, data, metrics = trained
  values, status = metrics['val']['mse'], state.status
  keep = halving.keep_best(values, status, 3)
  assert keep.sum() == 2
  # Padded back to P rows (as on P devices), so the compiled chunk serves it again.
  small, small_hp, index = gather.compact_members(
      _copy(state), hp, keep, multiple=P, sharding=sharding.members_sharding(
          sharding.population_mesh()))
  kept = np.flatnonzero(keep)
  assert index.tolist() == kept.tolist() + [kept[0]] * 4
  _assert_equal(_rows(small, range(2)), _rows(state, kept))
  _assert_equal(_rows(small_hp, range(2)), _rows(hp, kept))
  assert np.asarray(small_hp.uid)[2:].tolist() == [-1, -2, -3, -4]
  assert (np.asarray(small.status)[2:] == STOPPED).all()

  full, _ = pop.population_chunk_fn(CFG)(_copy(state), hp, data, KEY)
  padding = _rows(small, range(2, P))
  small, _ = pop.population_chunk_fn(CFG)(small, small_hp, data, KEY)
  assert pop.population_chunk_fn(CFG)._cache_size() == 1  # pylint: disable=protected-access
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               _rows(small.params, range(2)), _rows(full.params, kept))
  assert np.asarray(small.step)[:2].tolist() == np.asarray(full.step)[kept].tolist()
  _assert_equal(_rows(small, range(2, P)), padding)  # Stopped padding never moves.


# ----------------------------------------------------------------------------------
# Population-based training.

def test_pbt_steps():
  assert pbt.pbt_steps(train_steps=100, pbt_interval=20, eval_every=10) == [
      20, 40, 60, 80]
  assert pbt.pbt_steps(train_steps=50, pbt_interval=20, eval_every=10) == [20, 40]
  with pytest.raises(InputError, match='^--pbt_interval: 15 '):
    pbt.pbt_steps(train_steps=100, pbt_interval=15, eval_every=10)
  with pytest.raises(InputError, match='^--pbt_interval: 100 '):
    pbt.pbt_steps(train_steps=100, pbt_interval=100, eval_every=10)


def test_pbt_sources_by_hand():
  values = [0.5, 0.1, np.nan, 0.3, 0.9, 0.2, 0.7, 0.4]
  status = [OK, OK, OK, OK, OK, DIVERGED, OK, STOPPED]
  # Ranked OK and finite: 1, 3, 0, 6, 4; two of five in the top and the bottom 40 %.
  src = pbt.sources(values, status, 0.4, np.random.default_rng(0))
  assert [i for i in range(8) if src[i] == i] == [0, 1, 3]
  assert set(src[[2, 4, 5, 6, 7]]) <= {1, 3}
  again = pbt.sources(values, status, 0.4, np.random.default_rng(0))
  assert again.tolist() == src.tolist()
  nobody = pbt.sources([np.nan, 1.0], [OK, DIVERGED], 0.5,
                                np.random.default_rng(0))
  assert nobody.tolist() == [0, 1]
  alone = pbt.sources([1.0, 2.0, 0.5], [DIVERGED, OK, STOPPED], 0.2,
                               np.random.default_rng(0))
  assert alone.tolist() == [1, 1, 1]
  with pytest.raises(InputError, match='^--pbt_fraction: 0.6 '):
    pbt.sources(values, status, 0.6, np.random.default_rng(0))


def _reference_truncation(values, status, fraction):
  ok = sorted((v, i) for i, (v, s) in enumerate(zip(values, status))
              if s == OK and math.isfinite(v))
  n = len(ok)
  k = 0 if n < 2 else max(1, int(fraction * n + 1e-9))
  top = [i for _, i in ok[:max(k, 1)]]
  replaced = {i for _, i in ok[n - k:]} if k else set()
  replaced |= {i for i in range(len(values)) if i not in {j for _, j in ok}}
  return top, replaced if ok else set()


def test_pbt_sources_equal_reference_on_random_tables():
  rng = np.random.default_rng(1)
  for trial in range(300):
    p = int(rng.integers(1, 25))
    values = np.where(rng.random(p) < 0.5, rng.choice([0.1, 0.2, np.nan, np.inf], p),
                      rng.normal(size=p))
    status = rng.choice([OK, DIVERGED, STOPPED], p, p=[.7, .15, .15])
    fraction = float(rng.choice([0.1, 0.2, 0.25, 1 / 3, 0.5]))
    src = pbt.sources(values, status, fraction, rng)
    top, replaced = _reference_truncation(values.tolist(), status.tolist(), fraction)
    assert {i for i in range(p) if src[i] != i} == replaced, trial
    assert all(src[i] in top for i in replaced), trial
    assert not replaced & set(top)


def test_pbt_sources_draw_uniformly_from_the_top():
  values, status = np.arange(20.0), np.zeros(20, int)
  counts = np.zeros(20)
  for seed in range(400):
    src = pbt.sources(values, status, 0.25, np.random.default_rng((3, seed)))
    np.add.at(counts, src[15:], 1)
  assert counts[5:].sum() == 0
  np.testing.assert_allclose(counts[:5] / counts.sum(), 0.2, atol=0.03)


def test_exploit_copies_state_exactly_and_keeps_uid(trained):
  state, hp, data, _ = trained
  status = np.asarray(state.status).copy()
  status[2] = DIVERGED
  best_val = np.asarray(state.best_val).copy()
  best_val[2] = best_val[0] * 2  # Member 2's own best is worse: it takes its source's.
  best_val[4] = best_val[3] / 2  # Member 4's own best beats its source's: kept.
  state = state.replace(status=jnp.asarray(status), best_val=jnp.asarray(best_val),
                        stale=jnp.arange(P, dtype=jnp.int32))
  src = np.array([0, 1, 0, 3, 3, 5])
  new, new_hp = gather.exploit(state, hp, src)
  for i, s in ((2, 0), (4, 3)):
    _assert_equal(_rows((new.params, new.opt_state, new.step), [i]),
                  _rows((state.params, state.opt_state, state.step), [s]))
    _assert_equal(_rows(new_hp, [i]).replace(uid=None), _rows(hp, [s]).replace(uid=None))
    assert np.asarray(new.status)[i] == OK and np.asarray(new.stale)[i] == 0
  assert np.asarray(new_hp.uid).tolist() == np.asarray(hp.uid).tolist()
  _assert_equal(_rows((new.best_val, new.best_step, new.best_params), [2]),
                _rows((state.best_val, state.best_step, state.best_params), [0]))
  _assert_equal(_rows((new.best_val, new.best_step, new.best_params), [4]),
                _rows((state.best_val, state.best_step, state.best_params), [4]))
  same = [0, 1, 3, 5]
  _assert_equal(_rows(new, same), _rows(state, same))
  _assert_equal(_rows(new_hp, same), _rows(hp, same))

  # The copy continues from the source's step with its own batches and masks.
  after, _ = pop.population_chunk_fn(CFG)(_copy(new), new_hp, data, KEY)
  steps = np.asarray(after.step)
  assert steps[2] == steps[0] and steps[4] == steps[3] == 2 * CFG.steps_per_chunk
  w2, w0 = (np.asarray(jax.tree.leaves(after.params)[0])[i] for i in (2, 0))
  assert np.isfinite(w2).all() and not np.array_equal(w2, w0)


def test_explore_stays_in_range_and_touches_only_copies():
  space = {'learning_rate': pbt.Range(1e-4, 1e-1, log=True),
           'dropout': pbt.Range(0.0, 0.5),
           'units': pbt.Range(2, 9, integer=True)}
  rng = np.random.default_rng(0)
  values = {'learning_rate': np.full(8, 1e-2, np.float32),
            'dropout': np.full(8, 0.25, np.float32), 'units': np.full(8, 4.0),
            'momentum': np.full(8, 0.9, np.float32)}
  copied = np.array([True, False] * 4)
  start = {k: v.copy() for k, v in values.items()}
  for _ in range(300):
    values = pbt.explore(values, copied, space, rng)
    for name, r in space.items():
      v = values[name]
      assert v.dtype == start[name].dtype
      assert (v >= v.dtype.type(r.lo)).all() and (v <= v.dtype.type(r.hi)).all()
      np.testing.assert_array_equal(v[~copied], start[name][~copied])
  assert np.array_equal(values['units'], np.round(values['units']))
  np.testing.assert_array_equal(values['momentum'], start['momentum'])
  again = pbt.explore(start, copied, space, np.random.default_rng(5))
  other = pbt.explore(start, copied, space, np.random.default_rng(5))
  for name in space:
    np.testing.assert_array_equal(again[name], other[name])


def test_explore_perturbs_or_resamples():
  r = pbt.Range(1e-4, 1.0, log=True)
  old = {'lr': np.full(4000, 1e-2)}
  copied = np.ones(4000, bool)
  factors = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0),
                             resample_probability=0.0)['lr'] / 1e-2
  np.testing.assert_allclose(np.sort(np.unique(np.round(factors, 12))), [0.8, 1.2])
  assert 0.45 < np.mean(factors > 1) < 0.55
  fresh = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0),
                           resample_probability=1.0)['lr']
  # Log-uniform on [1e-4, 1]: log10 is uniform on [-4, 0].
  np.testing.assert_allclose(np.mean(np.log10(fresh)), -2.0, atol=0.1)
  np.testing.assert_allclose(np.mean(np.log10(fresh) < -3), 0.25, atol=0.03)
  mixed = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0))['lr']
  perturbed = np.isclose(mixed, 0.8e-2) | np.isclose(mixed, 1.2e-2)
  np.testing.assert_allclose(np.mean(~perturbed), 0.25, atol=0.03)


def test_search_space_from_axes():
  axes = {name: space.parse_axis(name, text) for name, text in (
      ('learning_rate', 'loguniform(1e-4, 1e-2)'), ('weight_decay', 'grid(0, 1e-3)'),
      ('clip_norm', '1'), ('momentum', 'grid(0.5, 0.9)'), ('input_dropout', '0.1'),
      ('dropout', 'uniform(0, 0.5)'), ('init_scale', 'grid(0.5,1)'),
      ('hidden_size', 'grid(8,16)'), ('beta2', 'grid(0.001, 0.5)'))}
  ranges = pbt.search_space(axes)
  assert ranges == {'learning_rate': pbt.Range(1e-4, 1e-2, log=True),
                   'weight_decay': pbt.Range(0, 1e-3),
                   'momentum': pbt.Range(0.5, 0.9),
                   'dropout': pbt.Range(0, 0.5),
                   'beta2': pbt.Range(0.001, 0.5, log=True)}
  axes['dropout_2'] = space.parse_axis('dropout_2', 'grid(0.1, 0.3)')
  assert 'dropout' not in pbt.search_space(axes)
  assert pbt.search_space(axes)['dropout_2'] == pbt.Range(0.1, 0.3)


def test_hparam_values_round_trip():
  hp = _hparams(layers=2)
  values = hparams.read(hp, ['learning_rate', 'dropout', 'dropout_2'])
  np.testing.assert_array_equal(values['learning_rate'], hp.learning_rate)
  np.testing.assert_array_equal(values['dropout'], np.asarray(hp.dropout_rates)[:, 0])
  np.testing.assert_array_equal(values['dropout_2'], np.asarray(hp.dropout_rates)[:, 1])
  new = gather.set_fields(hp, hparams.replaced(
      hp, {'learning_rate': values['learning_rate'] * 2, 'dropout_2': np.full(P, 0.4)},
      hp.dropout_rates))
  np.testing.assert_array_equal(new.learning_rate, np.asarray(hp.learning_rate) * 2)
  np.testing.assert_array_equal(new.dropout_rates[:, 0], hp.dropout_rates[:, 0])
  np.testing.assert_array_equal(new.dropout_rates[:, 1], np.float32(0.4))
  assert new.learning_rate.dtype == jnp.float32
  both = gather.set_fields(hp, hparams.replaced(hp, {'dropout': np.full(P, 0.2)},
                                                hp.dropout_rates))
  np.testing.assert_array_equal(both.dropout_rates, np.full((P, 2), 0.2, np.float32))
  _assert_equal(both.replace(dropout_rates=hp.dropout_rates), hp)


def test_lineage_records_reconstruct_the_ancestry():
  """A synthetic PBT run: records name a top member as parent, and `ancestry` read
  from the records equals the ancestry tracked while copying."""
  p, fraction, seed = 10, 0.3, 4
  uids = np.arange(100, 100 + p)
  space = {'learning_rate': pbt.Range(1e-4, 1e-1, log=True)}
  hparams = {'learning_rate': np.geomspace(1e-4, 1e-1, p)}
  history = {u: [(u, 0)] for u in uids}
  records, tables = [], {}
  for step in range(10, 80, 10):
    rng = np.random.default_rng((seed, step))
    values = rng.normal(size=p) + np.log10(hparams['learning_rate'])
    status = np.where(rng.random(p) < 0.1, DIVERGED, OK)
    values[rng.random(p) < 0.05] = np.nan
    tables[step] = (values, status)
    src = pbt.sources(values, status, fraction, rng)
    copied = src != np.arange(p)
    hparams = pbt.explore({k: v[src] for k, v in hparams.items()}, copied, space,
                               rng)
    records += pbt.lineage_records(uids, uids[src], step, hparams, bucket=0)
    history = {uids[i]: ([(uids[i], step)] + history[uids[src[i]]] if copied[i]
                         else history[uids[i]]) for i in range(p)}
  assert records and {r['split'] for r in records} == {'lineage', 'hparams'}
  for r in records:
    assert set(r) == {'uid', 'bucket', 'step', 'split', 'metric', 'value'}
    if r['metric'] == 'parent':
      values, status = tables[r['step']]
      ok = [i for i in range(p) if status[i] == OK and np.isfinite(values[i])]
      k = pbt.truncation_size(len(ok), fraction)
      best = sorted(values[ok])[max(k, 1) - 1]
      parent = r['value'] - 100
      assert status[parent] == OK and values[parent] <= best
      assert isinstance(r['value'], int)
  for u in uids:
    assert pbt.ancestry(records, u) == history[u]


CHILD = """
import numpy as np
from rnnjax.engine import sharding
sharding.configure_cpu_devices(3)
import jax
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.search import halving
from rnnjax.search import hparams
from tests import test_adaptive as t
mesh = sharding.population_mesh()
shard = sharding.members_sharding(mesh)
hp, data = t._hparams(), t._data()
state = pop.population_init_fn(t.CFG, mesh)(hp, t.KEY)  # Every row differs (uid).
host = jax.device_get(state)
keep = np.array([True, False, True, False, True, False])
small, small_hp, index = gather.compact_members(state, hp, keep, multiple=3,
                                                  sharding=shard)
assert index.tolist() == [0, 2, 4]
t._assert_equal(small, t._rows(host, index))
for leaf in jax.tree.leaves((small, small_hp)):
  assert leaf.sharding == shard, leaf.sharding
src = np.array([0, 0, 1])
copied, copied_hp = gather.exploit(small, small_hp, src, sharding=shard)
t._assert_equal(t._rows(copied.params, [1]), t._rows(host.params, [0]))
assert copied_hp.uid.tolist() == small_hp.uid.tolist()
assert all(leaf.sharding == shard for leaf in jax.tree.leaves((copied, copied_hp)))
print('sharded ok')
"""


def test_compact_and_exploit_on_three_cpu_devices():
  out = subprocess.run([sys.executable, '-c', CHILD], check=True, cwd=ROOT,
                       env={**os.environ, 'PYTHONPATH': ROOT}, timeout=300,
                       capture_output=True, text=True)
  assert 'sharded ok' in out.stdout
