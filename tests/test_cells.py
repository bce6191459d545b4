"""Tests for rnnjax/engine/cells.py: NumPy oracles from the gate equations, init, equivalences."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import cells

I, H, T = 3, 5, 7
INIT_SCALE, FORGET_BIAS = 1.7, 0.6
NAMES = sorted(cells.CELLS)


def _sigmoid(v):
  return 1.0 / (1.0 + np.exp(-v))


# --- NumPy float64 references, written from the module docstring's equations ------------

def _ref_rnn(act):
  def step(p, h, x):
    h = act(x @ p['w_ih'] + h @ p['w_hh'] + p['b'])
    return h, h
  return step


def _ref_lstm(p, carry, x):
  h, c = carry
  i, f, g, o = np.split(x @ p['w_ih'] + h @ p['w_hh'] + p['b'], 4)
  c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
  h = _sigmoid(o) * np.tanh(c)
  return (h, c), h


def _ref_gru(p, h, x):
  r, z, n_x = np.split(x @ p['w_ih'] + p['b'], 3)
  r_h, z_h, n_h = np.split(h @ p['w_hh'], 3)
  r = _sigmoid(r + r_h)
  z = _sigmoid(z + z_h)
  n = np.tanh(n_x + r * (n_h + p['b_hn']))
  h = (1 - z) * n + z * h
  return h, h


REFERENCES = {
    'rnn_tanh': (_ref_rnn(np.tanh), lambda: np.zeros(H)),
    'rnn_relu': (_ref_rnn(lambda v: np.maximum(v, 0.0)), lambda: np.zeros(H)),
    'lstm': (_ref_lstm, lambda: (np.zeros(H), np.zeros(H))),
    'gru': (_ref_gru, lambda: np.zeros(H)),
}


@functools.cache
def _jit_init(name):
  # Jitted with init_scale and forget_bias traced, as a population initialises them.
  return jax.jit(cells.CELLS[name].init, static_argnums=(1, 2))


@functools.cache
def _params(name, init_scale=INIT_SCALE, forget_bias=FORGET_BIAS):
  return _jit_init(name)(jax.random.key(0), I, H, init_scale=init_scale,
                         forget_bias=forget_bias)


def _with_random_biases(params):
  """Nonzero biases, so that the oracle also checks where each bias enters."""
  rng = np.random.default_rng(7)
  return {k: (jnp.asarray(rng.normal(size=v.shape) * 0.5, jnp.float32)
              if k.startswith('b') else v) for k, v in sorted(params.items())}


def _xs():
  return jnp.asarray(np.random.default_rng(1).normal(size=(T, I)) * 1.5, jnp.float32)


def _to64(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


@pytest.mark.parametrize('biases', ['init', 'random'])
@pytest.mark.parametrize('name', NAMES)
def test_step_matches_numpy_reference(name, biases):
  cell = cells.CELLS[name]
  params = _params(name)
  if biases == 'random':
    params = _with_random_biases(params)
  ref_step, ref_carry = REFERENCES[name]
  p64, xs = _to64(params), _xs()
  carry, ref = cell.initial_carry(H), ref_carry()
  # Both paths against the oracle: eager with init's biases, jitted with random ones.
  step = cell.step if biases == 'init' else jax.jit(cell.step)
  for t in range(T):
    carry, h = step(params, carry, xs[t])
    ref, ref_h = ref_step(p64, ref, np.asarray(xs[t], np.float64))
    assert h.shape == (H,) and h.dtype == jnp.float32
    np.testing.assert_allclose(h, ref_h, rtol=1e-5, atol=1e-6, err_msg=f'step {t}')
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 carry, ref)
  assert np.abs(ref_h).max() > 1e-2  # The sequence exercised the cell, not just zeros.


@pytest.mark.parametrize('name', NAMES)
def test_param_shapes_and_carry(name):
  cell = cells.CELLS[name]
  params = _params(name)
  G = cell.num_gates
  assert params['w_ih'].shape == (I, G * H)
  assert params['w_hh'].shape == (H, G * H)
  assert params['b'].shape == (G * H,)
  assert all(v.dtype == jnp.float32 for v in params.values())
  if name == 'gru':
    assert params['b_hn'].shape == (H,)
  for leaf in jax.tree.leaves(cell.initial_carry(H)):
    assert leaf.shape == (H,) and not leaf.any()


@pytest.mark.parametrize('name', NAMES)
def test_init_biases(name):
  params = _params(name, forget_bias=FORGET_BIAS)
  b = np.asarray(params['b'])
  expected = np.zeros_like(b)
  if name == 'lstm':
    expected[H:2 * H] = FORGET_BIAS  # Gate order i, f, g, o: f is the second block.
  np.testing.assert_array_equal(b, expected)
  if name == 'gru':
    np.testing.assert_array_equal(params['b_hn'], np.zeros(H))


@pytest.mark.parametrize('init_scale', [0.25, 1.0, 3.0])
@pytest.mark.parametrize('name', NAMES)
def test_init_scale_bounds_weights(name, init_scale):
  bound = init_scale / np.sqrt(H)
  params = _params(name, init_scale=init_scale)
  unit = _params(name, init_scale=1.0)
  for w in ('w_ih', 'w_hh'):
    a = np.abs(np.asarray(params[w]))
    assert a.max() <= bound * (1 + 1e-6)
    assert a.max() > 0.5 * bound  # Uses the range, not a much smaller one.
    np.testing.assert_allclose(params[w], init_scale * np.asarray(unit[w]), rtol=1e-6)


def test_lstm_init_under_vmap_over_traced_hparams():
  cell = cells.CELLS['lstm']
  scales, biases = jnp.array([0.5, 2.0]), jnp.array([0.0, 1.0])
  batched = jax.jit(jax.vmap(lambda s, fb: cell.init(jax.random.key(0), I, H, init_scale=s,
                                                     forget_bias=fb)))(scales, biases)
  for m in range(2):
    single = _params('lstm', float(scales[m]), float(biases[m]))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[m], b, rtol=1e-6), batched, single)


@pytest.mark.parametrize('name', NAMES)
def test_sequence_projection_then_recur_matches_numpy_reference(name):
  # The model's path: `project` applied to a whole [T, I] sequence at once (vmapped over
  # time), then `recur` scanned over the projections.
  cell = cells.CELLS[name]
  params = _with_random_biases(_params(name))
  ref_step, ref_carry = REFERENCES[name]
  p64, xs = _to64(params), _xs()
  xps = jax.jit(jax.vmap(cell.project, (None, 0)))(params, xs)
  _, hs = jax.lax.scan(lambda c, xp: cell.recur(params, c, xp), cell.initial_carry(H), xps)
  ref, ref_hs = ref_carry(), []
  for x in np.asarray(xs, np.float64):
    ref, ref_h = ref_step(p64, ref, x)
    ref_hs.append(ref_h)
  np.testing.assert_allclose(hs, np.stack(ref_hs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', NAMES)
def test_scan_equals_python_loop(name):
  cell = cells.CELLS[name]
  params = _with_random_biases(_params(name))
  xs = _xs()
  final, hs = jax.lax.scan(lambda c, x: cell.step(params, c, x), cell.initial_carry(H), xs)
  carry, loop_hs = cell.initial_carry(H), []
  for x in xs:
    carry, h = cell.step(params, carry, x)
    loop_hs.append(h)
  assert hs.shape == (T, H)
  np.testing.assert_allclose(hs, np.stack(loop_hs), rtol=1e-6, atol=1e-7)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
               final, carry)


@pytest.mark.parametrize('name', NAMES)
def test_jit_equals_no_jit(name):
  cell = cells.CELLS[name]
  params = _with_random_biases(_params(name))
  xs = _xs()
  carry = cell.initial_carry(H)
  jitted = jax.jit(cell.step)
  for x in xs:
    eager = cell.step(params, carry, x)
    compiled = jitted(params, carry, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                 eager, compiled)
    carry = eager[0]


def _batch_carry(cell, n):
  return jax.tree.map(lambda c: jnp.stack([c + 0.1 * k for k in range(n)]),
                      cell.initial_carry(H))


@pytest.mark.parametrize('name', NAMES)
def test_vmap_over_batch_equals_loop(name):
  cell = cells.CELLS[name]
  params = _with_random_biases(_params(name))
  xs, carry = _xs()[:4], _batch_carry(cell, 4)
  batch_carry, batch_h = jax.vmap(cell.step, (None, 0, 0))(params, carry, xs)
  for b in range(4):
    one_carry, one_h = cell.step(params, jax.tree.map(lambda c: c[b], carry), xs[b])
    np.testing.assert_allclose(batch_h[b], one_h, rtol=1e-6, atol=1e-7)
    jax.tree.map(lambda a, o: np.testing.assert_allclose(a[b], o, rtol=1e-6, atol=1e-7),
                 batch_carry, one_carry)


def test_step_broadcasts_over_batch_with_rank_promotion():
  # The docstring says every function broadcasts over leading batch axes; that relies on
  # implicit rank promotion ([B, G*H] + [G*H]), which conftest forbids, so allow it here.
  # Under 'raise' a batched call fails; callers vmap (test_vmap_over_batch_equals_loop).
  cell = cells.CELLS['lstm']
  params = _with_random_biases(_params('lstm'))
  xs, carry = _xs()[:4], _batch_carry(cell, 4)
  with jax.numpy_rank_promotion('allow'):
    _, batch_h = cell.step(params, carry, xs)
  _, ref_h = jax.vmap(cell.step, (None, 0, 0))(params, carry, xs)
  np.testing.assert_allclose(batch_h, ref_h, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('name', NAMES)
def test_padded_init_zeroes_padding_and_bounds_by_real_width(name):
  # hidden_units / input_units traced under vmap, as a population of widths initialises.
  cell, n, n_in, init_scale = cells.CELLS[name], 3, 2, 2.0
  init = lambda k, units: cell.init(k, I, H, init_scale=init_scale, forget_bias=FORGET_BIAS,
                                    hidden_units=units, input_units=units - 1)
  batched = jax.jit(jax.vmap(init, in_axes=(None, 0)))(jax.random.key(0), jnp.array([n, H]))
  params = jax.tree.map(lambda a: np.asarray(a[0]), batched)
  full = _jit_init(name)(jax.random.key(0), I, H, init_scale=init_scale,
                         forget_bias=FORGET_BIAS)
  G = cell.num_gates
  real = np.zeros((G, H), bool)
  real[:, :n] = True
  real = real.reshape(-1)
  bound = init_scale / np.sqrt(n)
  for w, rows in (('w_ih', np.arange(I) < n_in), ('w_hh', np.arange(H) < n)):
    block = rows[:, None] & real[None]
    np.testing.assert_array_equal(params[w][~block], 0.0)
    assert bound * 0.5 < np.abs(params[w][block]).max() <= bound * (1 + 1e-6)
    # Same draws as the unpadded init, rescaled from 1/sqrt(H) to 1/sqrt(n).
    np.testing.assert_allclose(params[w][block], full[w][block] * np.sqrt(H / n), rtol=1e-5)
  np.testing.assert_array_equal(params['b'][~real], 0.0)
  if name == 'lstm':
    np.testing.assert_array_equal(params['b'][H:H + n], np.float32(FORGET_BIAS))
  if name == 'gru':
    np.testing.assert_array_equal(params['b_hn'], 0.0)
  # Width H (nothing padded; input_units = H - 1 >= I) through the same traced path.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a[1], b, rtol=1e-6), batched, full)


@pytest.mark.parametrize('name,partitionable', [(n, True) for n in NAMES] + [('lstm', False)])
def test_init_draws_do_not_depend_on_the_padded_width(name, partitionable):
  # A layer of width 3 (input width 2, as for a layer above another) inside layers
  # padded to H and to H + 4 holds the width-3 layer's exact weights, gate by gate,
  # whatever the global threefry mode.
  n, n_in = 3, 2
  init = lambda width, w_in: _jit_init(name)(
      jax.random.key(4), w_in, width, init_scale=INIT_SCALE, forget_bias=FORGET_BIAS,
      hidden_units=jnp.int32(n), input_units=jnp.int32(n_in))
  with jax.threefry_partitionable(partitionable):
    narrow = init(n, n_in)
    for width in (H, H + 4):
      padded = init(width, width)
      for leaf, value in narrow.items():
        real = padded[leaf].reshape(padded[leaf].shape[:-1] + (-1, width))[..., :n]
        if leaf == 'w_ih':
          real = real[:n_in]
        if leaf == 'w_hh':
          real = real[:n]
        np.testing.assert_array_equal(real.reshape(value.shape), value)


def test_unit_uniform_is_uniform_and_keyed_by_its_counters():
  key, u32 = jax.random.key(0), lambda n: jnp.arange(n, dtype=jnp.uint32)
  draws = np.asarray(cells.unit_uniform(key, u32(4096)[:, None], u32(64)[None]))
  assert draws.shape == (4096, 64) and 0.0 <= draws.min() and draws.max() < 1.0
  assert abs(draws.mean() - 0.5) < 5e-3 and abs(draws.std() - np.sqrt(1 / 12)) < 5e-3
  # Counters (u, p) and (p, u) draw different numbers; so does another key.
  swapped = np.asarray(cells.unit_uniform(key, u32(64)[None], u32(64)[:, None]))
  assert np.mean(swapped == draws[:64]) < 0.05
  other = np.asarray(cells.unit_uniform(jax.random.key(1), u32(64)[:, None], u32(64)[None]))
  assert np.mean(other == draws[:64]) < 0.05
  scaled = cells.unit_uniform(key, u32(4096)[:, None], u32(64)[None], -2.0, 3.0)
  np.testing.assert_allclose(scaled, draws * 5.0 - 2.0, rtol=1e-6, atol=1e-6)
