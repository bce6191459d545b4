"""Population training: a member inside the vmap is the member trained alone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import model
from rnnjax.engine import population as pop
from tests import tiny_population

P = 16
STEPS = 4


def _data(n=40, lookback=6, seed=0, num_val=10):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, lookback, 1)).astype(np.float32)
  y = x.sum(axis=1, keepdims=True) / np.sqrt(lookback)
  stats = {'mean': np.zeros(1, np.float32), 'std': np.full(1, 2.0, np.float32)}
  data = {'train': {'x': x, 'y': y, **stats},
          'val': {'x': x[:num_val], 'y': y[:num_val], **stats}}
  return jax.tree.map(jnp.asarray, data)


def _cfg(cell='lstm', optimizer='adam', layers=2):
  return pop.TrainConfig(model=model.ModelConfig(cell, 1, 8, layers, 1),
                         optimizer=optimizer, batch_size=5, steps_per_chunk=STEPS)


def _hparams(p=P, uid0=0, layers=2, **overrides):
  rng = np.random.default_rng(1)
  values = dict(
      uid=np.arange(uid0, uid0 + p), learning_rate=np.geomspace(1e-3, 3e-2, p),
      weight_decay=rng.uniform(0, 1e-3, p), clip_norm=rng.choice([0.0, 0.5, 5.0], p),
      momentum=np.full(p, 0.9), beta2=np.full(p, 0.99),
      input_dropout=rng.uniform(0, 0.3, p), dropout_rates=rng.uniform(0, 0.5, (p, layers)),
      forget_bias=rng.choice([0.0, 1.0], p), init_scale=rng.uniform(0.5, 1.5, p),
      hidden_units=np.full(p, 8))
  values.update(overrides)
  uids, widths = values.pop('uid'), values.pop('hidden_units')
  return jax.tree.map(jnp.asarray, tiny_population.stack_columns(uids, hidden_size=widths, **values))


def _member(tree, i):
  return jax.tree.map(lambda a: a[i:i + 1], tree)


def _train(cfg, hp, data, chunks=2):
  key = jax.random.key(42)
  state = pop.population_init_fn(cfg)(hp, key)
  for _ in range(chunks):
    state, metrics = pop.population_chunk_fn(cfg)(state, hp, data, key)
  return state, metrics


# The relu RNN is the tanh RNN's layer with another activation (fused.py).
@pytest.mark.parametrize('cell', ['gru', 'lstm', 'rnn_tanh'])
def test_member_in_population_equals_member_alone(cell):
  cfg, hp, data = _cfg(cell), _hparams(), _data()
  state, metrics = _train(cfg, hp, data)
  for i in (0, 7, 15):
    alone, alone_metrics = _train(cfg, _member(hp, i), data)
    np.testing.assert_allclose(alone_metrics['val']['mse'], metrics['val']['mse'][i:i + 1],
                               rtol=1e-5, atol=1e-7)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 alone.params, _member(state.params, i))


def test_each_member_draws_its_own_weights_batches_and_masks_by_its_uid():
  """Equal hyperparameters: the same uid twice trains bit for bit alike; another uid
  starts from other weights and, started from the same weights, draws other batches and
  dropout masks. (A key shared by every member, its uid not folded in, passed the test
  above: each member alone draws what it draws inside the population.)"""
  cfg, data = _cfg('gru'), _data()
  same = lambda v: np.full(4, v)
  hp = _hparams(4, uid=np.array([3, 3, 5, 8]), learning_rate=same(1e-2),
                weight_decay=same(0.0), clip_norm=same(0.0), input_dropout=same(0.1),
                dropout_rates=np.full((4, 2), 0.3), forget_bias=same(1.0),
                init_scale=same(1.0))
  key = jax.random.key(42)
  state = pop.population_init_fn(cfg)(hp, key)
  differ = lambda tree, i, j: any(not np.array_equal(a[i], a[j])
                                  for a in jax.tree.leaves(tree))
  assert not differ(state.params, 0, 1) and differ(state.params, 0, 2)
  first = jax.tree.map(lambda a: jnp.broadcast_to(a[:1], a.shape), state.params)
  state = state.replace(params=first, best_params=jax.tree.map(jnp.copy, first))
  state, _ = pop.population_chunk_fn(cfg)(state, hp, data, key)
  assert not differ(state.params, 0, 1)
  assert differ(state.params, 0, 2) and differ(state.params, 2, 3)


def test_member_run_does_not_depend_on_population_order():
  cfg, hp, data = _cfg('gru'), _hparams(), _data()
  state, _ = _train(cfg, hp, data)
  perm = np.random.default_rng(0).permutation(P)
  shuffled, _ = _train(cfg, jax.tree.map(lambda a: a[perm], hp), data)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a[perm], b, rtol=1e-5, atol=1e-6),
               state.params, shuffled.params)


def test_jit_equals_no_jit():
  # Short windows: without jit every time step of every op runs from Python, each op
  # compiled for its shapes: a validation split of one batch's size (5) reuses the
  # forward ops compiled for the training step (the evaluation 2.3 s -> 0.4 s).
  cfg, hp = _cfg('lstm', layers=1), _hparams(p=3, layers=1)
  data = _data(n=20, lookback=3, num_val=5)
  key = jax.random.key(3)
  state = pop.population_init_fn(cfg)(hp, key)
  # One step and one evaluation (a whole chunk without jit takes half a minute).
  step = jax.vmap(lambda s, h: pop.train_step(cfg, s, h, data, key))
  evaluate = jax.vmap(lambda p: pop.evaluate(cfg, p, data['val']))
  (jitted_state, jitted_loss), jitted_val = jax.jit(step)(state, hp), jax.jit(evaluate)(
      state.params)
  with jax.disable_jit():
    (plain_state, plain_loss), plain_val = step(state, hp), evaluate(state.params)
  np.testing.assert_allclose(jitted_loss, plain_loss, rtol=1e-5)
  np.testing.assert_allclose(jitted_val['mse'], plain_val['mse'], rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               jitted_state.params, plain_state.params)


def test_scan_over_steps_equals_python_loop():
  cfg, hp, data = _cfg('rnn_tanh'), _hparams(p=1), _data()
  key = jax.random.key(5)
  member_hp = jax.tree.map(lambda a: a[0], hp)
  state = pop.init_member(cfg, member_hp, key)
  scanned, losses = jax.jit(lambda s: pop.train_chunk(cfg, s, member_hp, data, key))(state)
  step = jax.jit(lambda s: pop.train_step(cfg, s, member_hp, data, key))
  looped = state
  for t in range(STEPS):
    looped, loss = step(looped)
    np.testing.assert_allclose(loss, losses[t], rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               scanned.params, looped.params)
  assert int(scanned.step) == STEPS


@pytest.mark.parametrize('optimizer', ['sgd', 'adam', 'adamw', 'rmsprop'])
def test_hyperparameter_values_never_recompile(optimizer):
  cfg, data = _cfg('gru', optimizer, layers=1), _data()
  key = jax.random.key(0)
  chunk_fn = pop.population_chunk_fn(cfg)
  for seed in range(3):
    rng = np.random.default_rng(seed)
    hp = _hparams(p=4, layers=1, learning_rate=rng.uniform(1e-4, 1e-1, 4),
                  weight_decay=rng.uniform(0, 1e-2, 4), clip_norm=rng.uniform(0, 2, 4),
                  momentum=rng.uniform(0, 0.99, 4), beta2=rng.uniform(0.5, 0.999, 4),
                  dropout_rates=rng.uniform(0, 0.9, (4, 1)))
    state = pop.population_init_fn(cfg)(hp, key)
    for _ in range(2):  # A chunk's own output state must not recompile either.
      state, _ = chunk_fn(state, hp, data, key)
  assert chunk_fn._cache_size() == 1  # pylint: disable=protected-access
  assert pop.population_init_fn(cfg)._cache_size() == 1  # pylint: disable=protected-access


def test_diverging_member_is_isolated():
  cfg, data = _cfg('rnn_relu', 'sgd', layers=1), _data()
  lrs = np.full(4, 1e-2)
  calm, _ = _train(cfg, _hparams(p=4, layers=1, learning_rate=lrs, momentum=np.zeros(4),
                                 clip_norm=np.zeros(4)), data, chunks=3)
  lrs[2] = 1e30
  wild, metrics = _train(cfg, _hparams(p=4, layers=1, learning_rate=lrs, momentum=np.zeros(4),
                                       clip_norm=np.zeros(4)), data, chunks=3)
  status = np.asarray(wild.status)
  assert status[2] == pop.DIVERGED
  assert (status[[0, 1, 3]] == pop.OK).all()
  for i in (0, 1, 3):
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a[i], b[i]),
                 calm.params, wild.params)
  assert all(np.isfinite(leaf[2]).all() for leaf in jax.tree.leaves(wild.params))
  assert np.isfinite(np.asarray(wild.best_val)[2]) or int(wild.best_step[2]) == 0


def test_best_params_follow_validation():
  cfg, hp, data = _cfg('lstm', layers=1), _hparams(p=4, layers=1), _data()
  key = jax.random.key(0)
  state = pop.population_init_fn(cfg)(hp, key)
  vals = []
  for _ in range(4):
    state, metrics = pop.population_chunk_fn(cfg)(state, hp, data, key)
    vals.append(np.asarray(metrics['val']['mse']))
  np.testing.assert_allclose(state.best_val, np.min(vals, axis=0), rtol=1e-6)
  again = pop.population_eval_fn(cfg)(state.best_params, data['val'])
  np.testing.assert_allclose(again['mse'], state.best_val, rtol=1e-5)


@pytest.mark.parametrize('program', ['population_eval_fn', 'population_outputs_fn'])
def test_a_long_split_is_evaluated_in_groups_of_what_its_evaluation_needs(program):
  """4 character models of 128 units on a text of 8,192 characters, a prediction over
  the vocabulary at each: one member's evaluation of it all (`evaluation_bytes`, 12 MiB)
  is over half of `sharding.CPU_GROUP_BYTES`, so on a CPU the members evaluate one at a
  time, and the program's temporaries are one member's (0.84x the estimate); grouped as
  training's small activations would group them (4), they were 2.7x."""
  if jax.default_backend() != 'cpu':
    pytest.skip('an accelerator evaluates every member of a device in one group')
  vocab, steps = 64, 64
  cfg = pop.TrainConfig(model=model.ModelConfig('lstm', vocab, 128, 1, vocab, readout='all'),
                        optimizer='adam', batch_size=4, steps_per_chunk=STEPS,
                        task='charlm', seq_len=steps)
  tokens = jax.ShapeDtypeStruct((128, steps), jnp.int32)
  split = {'x': tokens, 'y': tokens, 'mask': jax.ShapeDtypeStruct(tokens.shape, jnp.float32)}
  params = jax.eval_shape(jax.vmap(lambda key: model.init_params(cfg.model, key)),
                          jax.random.split(jax.random.key(0), 4))
  memory = getattr(pop, program)(cfg).lower(params, split).compile().memory_analysis()
  assert memory.temp_size_in_bytes < 1.5 * pop.evaluation_bytes(cfg, split)
