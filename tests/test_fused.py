"""The fused layers equal autodiff of the plain cells, values and gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax import cells
from rnnjax import fused
from rnnjax import model

T, B, I, H = 6, 3, 2, 5
CELLS = ('lstm', 'gru', 'rnn_tanh', 'rnn_relu')


def _inputs(cell, seed=0):
  k_p, k_x, k_b, k_d = jax.random.split(jax.random.key(seed), 4)
  params = cells.CELLS[cell].init(k_p, I, H, init_scale=1.5, forget_bias=1.0)
  # Nonzero biases, so every gradient (b_hn's too) is exercised; relu units then differ.
  params = {name: value + 0.3 * jax.random.normal(k_b, value.shape) if name.startswith('b')
            else value for name, value in params.items()}
  xs = jax.random.normal(k_x, (T, B, I))
  d_hs = jax.random.normal(k_d, (T, B, H))
  return params, xs, d_hs


@functools.lru_cache(maxsize=None)
def _values_and_pullback(cell, fused=True):
  """jit((params, xs, d_hs) -> (hs, (d_params, d_xs))) of the fused layer or autodiff of
  the cell's scan. Jitted and cached: compiles, not arithmetic, are this file's time."""
  plain = lambda params, xs: model.unroll_layer(cells.CELLS[cell], params, xs)
  layer = model.FUSED[cell] if fused else plain

  def run(params, xs, d_hs):
    hs, pull = jax.vjp(layer, params, xs)
    return hs, pull(d_hs)
  return jax.jit(run)


@pytest.mark.parametrize('cell', CELLS)
def test_values_and_gradients_match_autodiff(cell):
  run, run_ref = _values_and_pullback(cell), _values_and_pullback(cell, fused=False)
  for seed in (0, 1):
    params, xs, d_hs = _inputs(cell, seed)
    hs, (d_params, d_xs) = run(params, xs, d_hs)
    hs_ref, (d_params_ref, d_xs_ref) = run_ref(params, xs, d_hs)
    np.testing.assert_allclose(hs, hs_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_xs, d_xs_ref, rtol=1e-4, atol=1e-6)
    assert set(d_params) == set(params)
    for name in params:
      np.testing.assert_allclose(d_params[name], d_params_ref[name], rtol=1e-4, atol=1e-6)
      assert np.abs(d_params[name]).max() > 1e-3


@pytest.mark.parametrize('cell', CELLS)
def test_population_vmap_matches_members_alone(cell):
  members = [_inputs(cell, seed) for seed in range(3)]
  stacked = jax.tree.map(lambda *a: jnp.stack(a), *members)
  run = _values_and_pullback(cell)
  population = jax.jit(jax.vmap(run))(*stacked)
  for m, member in enumerate(members):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[m], b, rtol=1e-5, atol=1e-6),
                 population, run(*member))


@pytest.mark.parametrize('cell', CELLS)
def test_model_fused_and_plain_agree(cell):
  cfg = model.ModelConfig(cell, I, H, 2, 3)
  params = model.init_params(cfg, jax.random.key(0))
  xs = jax.random.normal(jax.random.key(1), (B, T, I))
  key = jax.random.key(2)
  loss = lambda p, c: jnp.sum(model.apply(c, p, xs, dropout_rate=0.3, key=key) ** 2)
  value_and_grad = jax.jit(jax.value_and_grad(loss), static_argnums=1)
  plain = model.ModelConfig(cell, I, H, 2, 3, fused=False)
  (value, g), (value_plain, g_plain) = value_and_grad(params, cfg), value_and_grad(params,
                                                                                   plain)
  np.testing.assert_allclose(value, value_plain, rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               g, g_plain)


@pytest.mark.parametrize('cell', CELLS)
def test_padded_units_get_exactly_zero_gradients(cell):
  # The custom VJPs rebuild derivatives from stored gates; padding must stay exact there.
  n = 3
  params = cells.CELLS[cell].init(jax.random.key(0), I, H, init_scale=1.5,
                                  forget_bias=1.0, hidden_units=n)
  _, xs, d_hs = _inputs(cell)
  d_hs = d_hs.at[..., n:].set(0.0)  # Downstream weights of padded units are zero.
  hs, (d_params, _) = _values_and_pullback(cell)(params, xs, d_hs)
  np.testing.assert_array_equal(hs[..., n:], 0.0)
  padded = cells.mask_padding(jax.tree.map(jnp.ones_like, params), n)
  for name in params:
    np.testing.assert_array_equal(np.asarray(d_params[name])[padded[name] == 0], 0.0)
    assert np.abs(d_params[name]).max() > 1e-3


def test_every_cell_has_a_fused_layer():
  assert set(model.FUSED) == set(cells.CELLS)
  assert model.FUSED['lstm'] is fused.lstm_layer
