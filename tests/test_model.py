"""Tests for rnnjax/engine/model.py: masked width = narrow net, per-layer and variational dropout."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnjax.engine import cells
from rnnjax.engine import model

I, O, B, T = 3, 2, 5, 6
NARROW, PADDED = 4, 12  # Contract 3 (32 padded to 128), shrunk to run in seconds.
OTHER_PADDED = 7  # A second padded width: a member must not depend on which.
STEPS, LR = 5, 1e-2
# Every cell through its fused layer; the LSTM through autodiff of the cell too.
CASES = [('gru', True), ('lstm', True), ('lstm', False), ('rnn_relu', True),
         ('rnn_tanh', True)]
# Training at three widths compiles 6 programs a case: the relu RNN is left out there, as
# it is the tanh RNN's layer (fused.py) with another activation, 0 at 0 as tanh is.
TRAINED_CASES = [case for case in CASES if case[0] != 'rnn_relu']


def _cfg(cell, width, fused=True, **kwargs):
  return model.ModelConfig(cell, I, width, 2, O, fused=fused, **kwargs)


def _data(seed=1):
  k_x, k_y = jax.random.split(jax.random.key(seed))
  return jax.random.normal(k_x, (B, T, I)), jax.random.normal(k_y, (B, O))


# --- width slicing, written independently of model.mask_padding -----------------------

def _gate_cols(a, num_gates, fn):
  """Applies fn to the unit axis of each gate block of a's last axis <[..., G * H]>."""
  a = a.reshape(a.shape[:-1] + (num_gates, -1))
  a = fn(a)
  return a.reshape(a.shape[:-2] + (-1,))


def _narrow(cell, params, width):
  """The width-`width` network inside padded params: slices of every array (NumPy's:
  JAX would compile each slice for its shape)."""
  params = jax.tree.map(np.asarray, params)
  g = cells.CELLS[cell].num_gates
  cols = lambda a: _gate_cols(a, g, lambda b: b[..., :width])
  layers = []
  for layer, p in enumerate(params['layers']):
    q = {'w_ih': cols(p['w_ih'] if layer == 0 else p['w_ih'][:width]),
         'w_hh': cols(p['w_hh'][:width]), 'b': cols(p['b'])}
    if 'b_hn' in p:
      q['b_hn'] = p['b_hn'][:width]
    layers.append(q)
  return {'layers': layers,
          'head': {'w': params['head']['w'][:width], 'b': params['head']['b']}}


def _widen(cell, params, width):
  """Zero-pads a narrow network's params to `width` units (inverse of `_narrow`)."""
  g = cells.CELLS[cell].num_gates
  n = params['head']['w'].shape[0]
  pad = lambda a, axis: np.pad(a, [(0, width - n) if d == axis else (0, 0)
                                   for d in range(a.ndim)])
  cols = lambda a: _gate_cols(a, g, lambda b: pad(b, b.ndim - 1))
  layers = []
  for layer, p in enumerate(params['layers']):
    q = {'w_ih': cols(p['w_ih'] if layer == 0 else pad(p['w_ih'], 0)),
         'w_hh': cols(pad(p['w_hh'], 0)), 'b': cols(p['b'])}
    if 'b_hn' in p:
      q['b_hn'] = pad(p['b_hn'], 0)
    layers.append(q)
  return {'layers': layers, 'head': {'w': pad(params['head']['w'], 0),
                                     'b': params['head']['b']}}


def _assert_padding_zero(cell, tree, width):
  """Every entry of a params-shaped tree that touches a unit >= width is exactly 0."""
  padded = tree['head']['w'].shape[0]
  jax.tree.map(np.testing.assert_array_equal, tree,
               _widen(cell, _narrow(cell, tree, width), padded))


# --- training: an MSE with dropout, Adam, K steps in one scan -------------------------

def _train(cfg, params, x, y, key, rates):
  """STEPS Adam steps. rates: dict of apply's dropout arguments. Returns (params,
  opt_state, <float32>[STEPS] losses); step s uses dropout key fold_in(key, s)."""
  opt = optax.adam(LR)

  def loss_fn(p, k):
    return jnp.mean((model.apply(cfg, p, x, key=k, **rates) - y) ** 2)

  def step(carry, s):
    p, state = carry
    loss, grads = jax.value_and_grad(loss_fn)(p, jax.random.fold_in(key, s))
    updates, state = opt.update(grads, state, p)
    return (optax.apply_updates(p, updates), state), loss

  (params, state), losses = jax.lax.scan(step, (params, opt.init(params)),
                                         jnp.arange(STEPS))
  return params, state, losses


def _allclose(a, b):
  jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), a, b)


@pytest.mark.parametrize('cell,fused', TRAINED_CASES)
def test_padded_member_equals_narrow_network(cell, fused):
  # Contract 3: the same key gives the same real weights and dropout masks at width
  # NARROW and padded to either width, so the same outputs and training losses.
  key, x_y = jax.random.key(2), _data()
  rates = dict(input_dropout=0.1, dropout_rate=0.25)
  init = jax.jit(model.init_params, static_argnums=0)
  train = jax.jit(_train, static_argnums=0)
  narrow_cfg = _cfg(cell, NARROW, fused)
  # Traced widths everywhere, as population.init_member passes them.
  narrow = init(narrow_cfg, jax.random.key(0), hidden_units=jnp.int32(NARROW))
  out_narrow = model.apply(narrow_cfg, narrow, x_y[0], key=key, **rates)
  p_nar, _, loss_nar = train(narrow_cfg, narrow, *x_y, key, rates)
  assert not np.allclose(loss_nar[0], loss_nar[-1])  # Training moved the parameters.
  for width in (PADDED, OTHER_PADDED):
    padded_cfg = _cfg(cell, width, fused)
    padded = init(padded_cfg, jax.random.key(0), hidden_units=jnp.int32(NARROW))
    _assert_padding_zero(cell, padded, NARROW)
    jax.tree.map(np.testing.assert_array_equal, _narrow(cell, padded, NARROW), narrow)
    out_padded = model.apply(padded_cfg, padded, x_y[0], key=key, **rates)
    np.testing.assert_allclose(out_padded, out_narrow, rtol=1e-5, atol=1e-6)
    p_pad, s_pad, loss_pad = train(padded_cfg, padded, *x_y, key, rates)
    np.testing.assert_allclose(loss_pad, loss_nar, rtol=1e-5)
    _allclose(_narrow(cell, p_pad, NARROW), p_nar)
    _assert_padding_zero(cell, p_pad, NARROW)
    for moment in (s_pad[0].mu, s_pad[0].nu):  # Adam's state never leaves the real block.
      _assert_padding_zero(cell, moment, NARROW)


@pytest.mark.parametrize('cell,fused', CASES)
def test_padded_units_stay_exactly_zero(cell, fused):
  cfg = _cfg(cell, PADDED, fused)
  params = model.init_params(cfg, jax.random.key(3), hidden_units=NARROW,
                             forget_bias=2.0)
  xs = jnp.swapaxes(_data()[0], 0, 1) * 3.0
  fused_layer = model.FUSED.get(cell) if fused else None
  hs = xs
  for layer_params in params['layers']:
    hs = model.unroll_layer(cells.CELLS[cell], layer_params, hs, fused_layer)
    np.testing.assert_array_equal(hs[..., NARROW:], 0.0)
    assert np.abs(hs[..., :NARROW]).max() > 1e-2


def test_vmapped_population_of_widths_equals_narrow_networks():
  # Three widths in ONE vmap at width 12, variational dropout, per-member traced rates.
  cell, widths = 'lstm', (4, 8, 12)
  padded_cfg = _cfg(cell, PADDED, variational=True)
  keys = jax.random.split(jax.random.key(4), len(widths))
  init_scale = jnp.array([0.5, 1.0, 1.5])
  init = lambda k, n, s: model.init_params(padded_cfg, k, init_scale=s, hidden_units=n)
  params = jax.jit(jax.vmap(init))(keys, jnp.array(widths), init_scale)
  rates = dict(input_dropout=jnp.array([0.1, 0.0, 0.2]),
               dropout_rates=jnp.array([[0.2, 0.3], [0.5, 0.1], [0.0, 0.4]]))
  x, y = _data()
  train = lambda p, k, r: _train(padded_cfg, p, x, y, k, r)
  p_pop, _, loss_pop = jax.jit(jax.vmap(train))(params, keys, rates)
  for m, width in enumerate(widths):
    member = lambda tree: jax.tree.map(lambda a: np.asarray(a)[m], tree)
    narrow_cfg = _cfg(cell, width, variational=True)
    narrow = jax.jit(model.init_params, static_argnums=0)(
        narrow_cfg, keys[m], init_scale=init_scale[m], hidden_units=jnp.int32(width))
    jax.tree.map(np.testing.assert_array_equal, _narrow(cell, member(params), width), narrow)
    p_alone, _, loss_alone = jax.jit(_train, static_argnums=0)(
        narrow_cfg, narrow, x, y, keys[m], member(rates))
    np.testing.assert_allclose(loss_pop[m], loss_alone, rtol=1e-5)
    _allclose(_narrow(cell, member(p_pop), width), p_alone)
    _assert_padding_zero(cell, member(p_pop), width)


def test_init_bound_uses_real_width():
  cfg = _cfg('rnn_tanh', PADDED)
  params = model.init_params(cfg, jax.random.key(0), init_scale=2.0, hidden_units=NARROW)
  bound = 2.0 / np.sqrt(NARROW)
  for w in (params['layers'][1]['w_hh'], params['head']['w']):
    assert bound * 0.5 < np.abs(w).max() <= bound * (1 + 1e-6)
  with pytest.raises(ValueError):
    model.init_params(cfg, jax.random.key(0), hidden_units=PADDED + 1)


def test_mask_padding_is_identity_on_padded_init():
  cfg = _cfg('gru', PADDED)
  params = model.init_params(cfg, jax.random.key(0), hidden_units=NARROW)
  jax.tree.map(np.testing.assert_array_equal, model.mask_padding(params, NARROW), params)
  # Every entry nonzero first (b_hn starts at 0), so that each must be masked.
  full = jax.tree.map(lambda a: a + 1.0, model.init_params(cfg, jax.random.key(0)))
  _assert_padding_zero('gru', model.mask_padding(full, NARROW), NARROW)


@pytest.mark.parametrize('cell', sorted(cells.CELLS))
def test_param_count(cell):
  cfg = _cfg(cell, PADDED)
  params = model.init_params(cfg, jax.random.key(0), hidden_units=NARROW)
  sizes = lambda tree: sum(a.size for a in jax.tree.leaves(tree))
  assert model.param_count(cfg, NARROW) == sizes(_narrow(cell, params, NARROW))
  assert model.param_count(cfg) == sizes(params)
  assert isinstance(model.param_count(cfg, NARROW), int)


def test_padding_fraction():
  cfg = _cfg('lstm', PADDED)
  cost = lambda h: 4 * h * (I + h) + 4 * h * (h + h)  # G H (I + H), two layers.
  expected = 1 - (cost(4) + cost(8) + cost(12)) / (3 * cost(12))
  assert model.padding_fraction(cfg, [4, 8, 12]) == pytest.approx(expected)
  assert model.padding_fraction(cfg, [8, 8]) == 0.0


# --- per-layer and variational dropout ------------------------------------------------

def _params(cfg, seed=0):
  return model.init_params(cfg, jax.random.key(seed))


@pytest.mark.parametrize('variational', [False, True])
def test_zero_per_layer_rates_equal_no_dropout(variational):
  cfg = _cfg('lstm', 6, variational=variational)
  params, (x, _) = _params(cfg), _data()
  dropped = model.apply(cfg, params, x, key=jax.random.key(1), dropout_rates=jnp.zeros(2))
  np.testing.assert_array_equal(dropped, model.apply(cfg, params, x))


def test_dropout_rates_override_the_scalar_rate():
  cfg = _cfg('gru', 6)
  params, (x, _), key = _params(cfg), _data(), jax.random.key(1)
  scalar = model.apply(cfg, params, x, key=key, dropout_rate=0.3)
  np.testing.assert_array_equal(
      model.apply(cfg, params, x, key=key, dropout_rates=jnp.array([0.3, 0.3])), scalar)
  np.testing.assert_array_equal(
      model.apply(cfg, params, x, key=key, dropout_rate=0.9,
                  dropout_rates=jnp.array([0.3, 0.3])), scalar)
  with pytest.raises(ValueError):
    model.apply(cfg, params, x, key=key, dropout_rates=jnp.array([0.3, 0.3, 0.3]))


def test_rates_act_on_their_own_layer():
  cfg = _cfg('rnn_tanh', 6)
  params, (x, _), key = _params(cfg), _data(), jax.random.key(1)
  out = lambda rates: model.apply(cfg, params, x, key=key, dropout_rates=jnp.array(rates))
  first, second, none = out([0.5, 0.0]), out([0.0, 0.5]), out([0.0, 0.0])
  assert not np.allclose(first, second)
  assert not np.allclose(first, none) and not np.allclose(second, none)


def test_dropout_helper_masks():
  ones = jnp.ones((T, B, PADDED))
  key, rate = jax.random.key(5), 0.5
  tied = model.dropout(key, rate, ones, shared_axis=0)
  fresh = model.dropout(key, rate, ones)
  np.testing.assert_array_equal(tied, jnp.broadcast_to(tied[:1], tied.shape))
  assert not np.array_equal(fresh[0], fresh[1])
  assert set(np.unique(tied)) == {0.0, 2.0}  # Inverted: kept units scaled by 1 / (1 - p).
  # A narrow net drops exactly a wider net's first units, whatever the global threefry
  # mode (a draw at the whole shape would number entries by flat position).
  def cut_and_narrow(shared_axis):
    wide = model.dropout(key, rate, ones, shared_axis=shared_axis)
    return [(wide[..., :w], model.dropout(key, rate, ones[..., :w], shared_axis=shared_axis))
            for w in (NARROW, OTHER_PADDED)]
  for partitionable in (True, False):
    with jax.threefry_partitionable(partitionable):
      for shared_axis in (None, 0):
        for cut, narrow in jax.jit(cut_and_narrow, static_argnums=0)(shared_axis):
          np.testing.assert_array_equal(narrow, cut)


@pytest.mark.parametrize('variational', [False, True])
def test_variational_input_mask_is_constant_over_time(variational):
  # An input entry dropped by the mask has exactly zero gradient; a kept one does not.
  cfg = model.ModelConfig('rnn_tanh', I, 6, 1, O, variational=variational)
  params, (x, _) = _params(cfg), _data()
  grad = jax.grad(lambda v: jnp.sum(model.apply(cfg, params, v, input_dropout=0.5,
                                                key=jax.random.key(7))))(x)
  dropped = np.asarray(grad == 0.0)  # <bool>[B, T, I]
  assert 0 < dropped.mean() < 1
  constant = (dropped == dropped[:, :1]).all()
  assert constant == variational


@pytest.mark.parametrize('variational', [False, True])
def test_traced_rates_under_jit_and_vmap_equal_members_alone(variational):
  cfg = _cfg('lstm', 6, variational=variational)
  num = 3
  params = jax.vmap(lambda k: model.init_params(cfg, k))(jax.random.split(
      jax.random.key(0), num))
  keys = jax.random.split(jax.random.key(1), num)
  rates = dict(input_dropout=jnp.array([0.0, 0.2, 0.4]),
               dropout_rates=jnp.array([[0.1, 0.5], [0.0, 0.0], [0.6, 0.2]]))
  x, _ = _data()
  run = jax.jit(jax.vmap(lambda p, k, r: model.apply(cfg, p, x, key=k, **r)))
  together = run(params, keys, rates)
  for m in range(num):
    member = lambda tree: jax.tree.map(lambda a: a[m], tree)
    alone = model.apply(cfg, member(params), x, key=keys[m], **member(rates))
    np.testing.assert_allclose(together[m], alone, rtol=1e-5, atol=1e-6)
  run(params, keys, jax.tree.map(lambda r: r * 0.5, rates))
  assert run._cache_size() == 1  # New rate values, no recompile.
