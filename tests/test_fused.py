"""The fused LSTM layer equals autodiff of the plain cell, values and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax import cells
from rnnjax import fused
from rnnjax import model

T, B, I, H = 6, 3, 2, 5


def _inputs(seed=0):
  k_p, k_x, k_b, k_d = jax.random.split(jax.random.key(seed), 4)
  params = cells.CELLS['lstm'].init(k_p, I, H, init_scale=1.5, forget_bias=1.0)
  params['b'] = params['b'] + 0.3 * jax.random.normal(k_b, params['b'].shape)
  xs = jax.random.normal(k_x, (T, B, I))
  d_hs = jax.random.normal(k_d, (T, B, H))
  return params, xs, d_hs


def _plain_layer(params, xs):
  return model.unroll_layer(cells.CELLS['lstm'], params, xs)


@pytest.mark.parametrize('seed', [0, 1])
def test_values_and_gradients_match_autodiff(seed):
  params, xs, d_hs = _inputs(seed)
  hs, pull = jax.vjp(fused.lstm_layer, params, xs)
  hs_ref, pull_ref = jax.vjp(_plain_layer, params, xs)
  np.testing.assert_allclose(hs, hs_ref, rtol=1e-5, atol=1e-6)
  (d_params, d_xs), (d_params_ref, d_xs_ref) = pull(d_hs), pull_ref(d_hs)
  np.testing.assert_allclose(d_xs, d_xs_ref, rtol=1e-4, atol=1e-6)
  for name in ('w_ih', 'w_hh', 'b'):
    np.testing.assert_allclose(d_params[name], d_params_ref[name], rtol=1e-4, atol=1e-6)


def test_population_vmap_matches_members_alone():
  members = [_inputs(seed) for seed in range(3)]
  stacked = jax.tree.map(lambda *a: jnp.stack(a), *members)
  loss = lambda p, x, d: jnp.sum(fused.lstm_layer(p, x) * d)
  grads = jax.jit(jax.vmap(jax.grad(loss)))(*stacked)
  for m, member in enumerate(members):
    alone = jax.grad(loss)(*member)
    for name in alone:
      np.testing.assert_allclose(grads[name][m], alone[name], rtol=1e-5, atol=1e-6)


def test_model_fused_and_plain_agree():
  cfg = model.ModelConfig('lstm', I, H, 2, 3)
  params = model.init_params(cfg, jax.random.key(0))
  xs = jax.random.normal(jax.random.key(1), (B, T, I))
  key = jax.random.key(2)
  loss = lambda p, c: jnp.sum(model.apply(c, p, xs, dropout_rate=0.3, key=key) ** 2)
  plain = model.ModelConfig('lstm', I, H, 2, 3, fused=False)
  np.testing.assert_allclose(loss(params, cfg), loss(params, plain), rtol=1e-5)
  g, g_plain = jax.grad(loss)(params, cfg), jax.grad(loss)(params, plain)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               g, g_plain)


def test_padded_units_get_exactly_zero_gradients():
  # The custom VJP rebuilds tanh(z) from the stored gates; padding must stay exact there.
  n = 3
  params = cells.CELLS['lstm'].init(jax.random.key(0), I, H, init_scale=1.5,
                                    forget_bias=1.0, hidden_units=n)
  _, xs, d_hs = _inputs()
  d_hs = d_hs.at[..., n:].set(0.0)  # Downstream weights of padded units are zero.
  hs, pull = jax.vjp(fused.lstm_layer, params, xs)
  np.testing.assert_array_equal(hs[..., n:], 0.0)
  d_params, _ = pull(d_hs)
  padded = cells.mask_padding(jax.tree.map(jnp.ones_like, params), n)
  for name in ('w_ih', 'w_hh', 'b'):
    np.testing.assert_array_equal(np.asarray(d_params[name])[padded[name] == 0], 0.0)
    assert np.abs(d_params[name]).max() > 1e-3
