"""Tests for rnnjax/engine/optim.py: each family is the optax chain it stands for, in numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnjax.engine import optim

# Not optax's defaults, and momentum != beta2, so a swapped or ignored value shows.
VALUES = dict(learning_rate=0.03, weight_decay=0.2, clip_norm=0.5, momentum=0.7, beta2=0.9)
STEPS = 3


def _params():
  rng = np.random.default_rng(0)
  return {'w': jnp.asarray(rng.normal(size=(3, 2)), jnp.float32),
          'b': jnp.asarray(rng.normal(size=(2,)), jnp.float32)}


def _grads(scale=1.0):
  """STEPS gradients, each of global norm well above VALUES['clip_norm']."""
  rng = np.random.default_rng(1)
  return [{'w': jnp.asarray(scale * rng.normal(size=(3, 2)), jnp.float32),
           'b': jnp.asarray(scale * rng.normal(size=(2,)), jnp.float32)}
          for _ in range(STEPS)]


def _run(tx, grads):
  params = _params()
  state = tx.init(params)
  for g in grads:
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
  return params


def _reference(family, *, learning_rate, weight_decay, clip_norm, momentum, beta2):
  """The chain the module docstring describes, built by hand from optax."""
  clip = optax.clip_by_global_norm(clip_norm) if clip_norm > 0 else optax.identity()
  l2 = optax.add_decayed_weights(weight_decay)
  return {
      'sgd': lambda: optax.chain(l2, clip, optax.sgd(learning_rate, momentum=momentum)),
      'adam': lambda: optax.chain(l2, clip, optax.adam(learning_rate, b1=momentum,
                                                       b2=beta2)),
      'adamw': lambda: optax.chain(clip, optax.adamw(learning_rate, b1=momentum, b2=beta2,
                                                     weight_decay=weight_decay)),
      'rmsprop': lambda: optax.chain(l2, clip, optax.rmsprop(learning_rate, decay=beta2,
                                                             momentum=momentum)),
  }[family]()


def _numpy(family, grads, *, learning_rate, weight_decay, clip_norm, momentum, beta2):
  """A float64 NumPy oracle of the same updates, from the papers' equations."""
  eps = 1e-8
  params = {k: np.asarray(v, np.float64) for k, v in _params().items()}
  m = {k: np.zeros_like(v) for k, v in params.items()}
  v = {k: np.zeros_like(p) for k, p in params.items()}
  for t, grad in enumerate(grads, start=1):
    g = {k: np.asarray(a, np.float64) for k, a in grad.items()}
    if family != 'adamw':
      g = {k: g[k] + weight_decay * params[k] for k in g}
    norm = np.sqrt(sum(np.sum(a ** 2) for a in g.values()))
    if clip_norm > 0 and norm > clip_norm:
      g = {k: a * clip_norm / norm for k, a in g.items()}
    for k in params:
      if family == 'sgd':
        m[k] = g[k] + momentum * m[k]
        step = m[k]
      elif family in ('adam', 'adamw'):
        m[k] = momentum * m[k] + (1 - momentum) * g[k]
        v[k] = beta2 * v[k] + (1 - beta2) * g[k] ** 2
        step = (m[k] / (1 - momentum ** t)) / (np.sqrt(v[k] / (1 - beta2 ** t)) + eps)
        if family == 'adamw':
          step = step + weight_decay * params[k]
      else:  # rmsprop: decay = beta2, then heavy-ball momentum.
        v[k] = beta2 * v[k] + (1 - beta2) * g[k] ** 2
        m[k] = g[k] / np.sqrt(v[k] + eps) + momentum * m[k]
        step = m[k]
      params[k] = params[k] - learning_rate * step
  return params


def _assert_close(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=2e-5, atol=1e-6), a, b)


def _differs(a, b):
  return any(not np.allclose(x, y, rtol=1e-3, atol=1e-5)
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize('family', optim.FAMILIES)
def test_make_equals_hand_built_optax_chain(family):
  grads = _grads()
  got = _run(optim.make(family, **VALUES), grads)
  _assert_close(got, _run(_reference(family, **VALUES), grads))
  _assert_close(got, _numpy(family, grads, **VALUES))
  # The numbers are sensitive to what this test checks: clipping, decay, the mapping of
  # momentum and beta2 (a wrong chain would not pass by accident).
  for change in (dict(clip_norm=0.0), dict(weight_decay=0.0),
                 dict(momentum=VALUES['beta2'], beta2=VALUES['momentum'])):
    if family == 'sgd' and 'beta2' in change:
      continue  # SGD has no second moment.
    assert _differs(got, _run(_reference(family, **{**VALUES, **change}), grads)), change


@pytest.mark.parametrize('family', optim.FAMILIES)
def test_clip_norm_zero_means_no_clipping(family):
  grads = _grads(scale=100.0)
  values = {**VALUES, 'clip_norm': 0.0}
  got = _run(optim.make(family, **values), grads)
  _assert_close(got, _run(_reference(family, **values), grads))
  _assert_close(got, _numpy(family, grads, **values))
  assert _differs(got, _run(_reference(family, **{**values, 'clip_norm': 1.0}), grads))


@pytest.mark.parametrize('family', optim.FAMILIES)
def test_new_values_do_not_retrace(family):
  traces = []

  @jax.jit
  def train(values, grads):
    traces.append(1)
    return _run(optim.make(family, **values), grads)

  grads = _grads()
  rng = np.random.default_rng(2)
  for clip_norm in (0.5, 0.0, 2.0):  # Clipping switched off and on again: same program.
    values = dict(learning_rate=rng.uniform(1e-3, 1e-1), weight_decay=rng.uniform(0, 0.1),
                  clip_norm=clip_norm, momentum=rng.uniform(0, 0.95),
                  beta2=rng.uniform(0.5, 0.999))
    values = {k: float(np.float32(v)) for k, v in values.items()}  # As traced.
    got = train(jax.tree.map(jnp.float32, values), grads)
    _assert_close(got, _numpy(family, grads, **values))
  assert len(traces) == 1
