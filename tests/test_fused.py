"""The fused layers equal autodiff of the plain cells, values and gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import cells
from rnnjax.engine import fused
from rnnjax.engine import model

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


MEMBERS = 3


def _population(cell, params=None):
  """MEMBERS members' (params, xs, d_hs) stacked <[P, ...]>; `params` replaces theirs."""
  members = [_inputs(cell, seed) for seed in range(MEMBERS)]
  if params is not None:
    members = [(p, xs, d_hs) for p, (_, xs, d_hs) in zip(params, members)]
  return jax.tree.map(lambda *a: jnp.stack(a), *members)


@functools.lru_cache(maxsize=None)
def _values_and_pullback(cell, fused=True):
  """jit((params, xs, d_hs) -> (hs, (d_params, d_xs))): the fused layer under a population
  vmap (inputs <[P, ...]>), or autodiff of the cell's scan on one member. Jitted and
  cached: compiles, not arithmetic, are this file's time, and the fused layer alone runs
  in test_model.py."""
  plain = lambda params, xs: model.unroll_layer(cells.CELLS[cell], params, xs)
  layer = model.FUSED[cell] if fused else plain

  def run(params, xs, d_hs):
    hs, pull = jax.vjp(layer, params, xs)
    return hs, pull(d_hs)
  return jax.jit(jax.vmap(run) if fused else run)


@pytest.mark.parametrize('cell', CELLS)
def test_population_values_and_gradients_match_autodiff_of_each_member(cell):
  stacked = _population(cell)
  hs, (d_params, d_xs) = _values_and_pullback(cell)(*stacked)
  assert set(d_params) == set(stacked[0])
  for m in range(MEMBERS):
    member = jax.tree.map(lambda a: a[m], stacked)
    hs_ref, (d_params_ref, d_xs_ref) = _values_and_pullback(cell, fused=False)(*member)
    np.testing.assert_allclose(hs[m], hs_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_xs[m], d_xs_ref, rtol=1e-4, atol=1e-6)
    for name, ref in d_params_ref.items():
      np.testing.assert_allclose(d_params[name][m], ref, rtol=1e-4, atol=1e-6)
      assert np.abs(ref).max() > 1e-3


# rnn_relu left out: the model's path is the same for every cell, and its layer shares the
# tanh one's code but for the derivative (tested above); each cell here is two compiles.
@pytest.mark.parametrize('cell', ('lstm', 'gru', 'rnn_tanh'))
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
  members = [cells.CELLS[cell].init(jax.random.key(seed), I, H, init_scale=1.5,
                                    forget_bias=1.0, hidden_units=n)
             for seed in range(MEMBERS)]
  params, xs, d_hs = _population(cell, members)
  d_hs = d_hs.at[..., n:].set(0.0)  # Downstream weights of padded units are zero.
  hs, (d_params, _) = _values_and_pullback(cell)(params, xs, d_hs)
  np.testing.assert_array_equal(hs[..., n:], 0.0)
  padded = cells.mask_padding(jax.tree.map(jnp.ones_like, members[0]), n)
  for name in params:
    np.testing.assert_array_equal(np.asarray(d_params[name])[:, padded[name] == 0], 0.0)
    assert np.abs(d_params[name]).max() > 1e-3


def test_every_cell_has_a_fused_layer():
  assert set(model.FUSED) == set(cells.CELLS)
  assert model.FUSED['lstm'] is fused.lstm_layer


@pytest.mark.parametrize('cell', CELLS)
def test_layers_keep_float32_with_jax_enable_x64(cell):
  """A user's notebook may turn on 64-bit types: float32 inputs and parameters still run
  in float32 (values and gradients), and give the values they give without it."""
  params, xs, d_hs = _inputs(cell)
  layer = model.FUSED[cell]
  expected = layer(params, xs)
  with jax.enable_x64(True):
    hs, pull = jax.vjp(layer, params, xs)
    d_params, d_xs = pull(d_hs)
  assert hs.dtype == d_xs.dtype == jnp.float32
  assert all(g.dtype == jnp.float32 for g in d_params.values())
  np.testing.assert_allclose(hs, expected, rtol=1e-6, atol=1e-7)
