"""Tests for rnnjax.engine.losses: the classification losses against float64."""

import jax.numpy as jnp
import numpy as np

from rnnjax.engine import losses


def _reference_ce(logits, labels):
  """-log softmax in float64 of float32 logits: log1p of the rest where the label's
  logit is the largest (a loss near 0), else logsumexp - logit (a loss >= log 2)."""
  x = logits.astype(np.float64)
  mine = np.take_along_axis(x, labels[..., None], axis=-1)
  with np.errstate(invalid='ignore'):  # A label logit of -inf: its row is not compared.
    d = x - mine
    others = np.where(np.arange(x.shape[-1]) == labels[..., None], -np.inf, d)
  top = others.max(axis=-1)
  with np.errstate(over='ignore', invalid='ignore'):  # Each branch where the other is taken.
    small = np.log1p(np.exp(others).sum(axis=-1))  # Label at the top: every d <= 0.
    large = top + np.log(np.exp(-top) + np.exp(others - top[..., None]).sum(axis=-1))
  return np.where(top <= 0, small, large)


def _cases():
  rng = np.random.default_rng(0)
  for scale in (1e-3, 1e-1, 1.0, 5.0, 30.0):
    for classes in (2, 3, 10, 65):
      logits = (rng.standard_normal((64, classes)) * scale).astype(np.float32)
      labels = rng.integers(0, classes, 64)
      labels[:16] = logits[:16].argmax(-1)  # Confident and correct: losses near 0.
      yield logits, labels
  ties = np.zeros((3, 5), np.float32)
  ties[1, :2] = 4.0  # Two tied at the top, the label one of them.
  ties[2, 1:3] = 4.0  # Two tied above the label.
  yield ties, np.array([2, 0, 0])
  huge = np.array([[1e4, 1e4 - 3, 1e4 - 90], [3e38, -3e38, 0.0], [-1e4, 1e4, 0.0],
                   [50.0, 0.0, -50.0]], np.float32)
  yield huge, np.array([0, 0, 0, 0])


def test_cross_entropy_matches_float64_to_float32_precision():
  for logits, labels in _cases():
    got = np.asarray(losses.cross_entropy(jnp.asarray(logits), jnp.asarray(labels)))
    want = _reference_ce(logits, labels)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-37, err_msg=str(logits))


def test_a_label_logit_of_minus_inf_costs_inf_not_nan():
  logits = jnp.asarray([[-jnp.inf, 0.0, 1.0], [0.0, -jnp.inf, 1.0]])
  got = np.asarray(losses.cross_entropy(logits, jnp.asarray([0, 0])))
  assert got[0] == np.inf
  np.testing.assert_allclose(got[1], _reference_ce(np.asarray(logits), np.array([0]))[1],
                             rtol=1e-6)


def test_nll_of_probs_matches_float64_also_where_p_rounds_to_1():
  for logits, labels in _cases():
    x = logits.astype(np.float64)
    probs = np.exp(x - x.max(-1, keepdims=True))
    probs = (probs / probs.sum(-1, keepdims=True)).astype(np.float32)
    got = np.asarray(losses.nll_of_probs(jnp.asarray(probs), jnp.asarray(labels)))
    p = np.take_along_axis(probs, labels[..., None], -1)[..., 0].astype(np.float64)
    mask = np.arange(probs.shape[-1]) != labels[..., None]
    others = np.where(mask, probs.astype(np.float64), 0.0).sum(-1)
    with np.errstate(divide='ignore', invalid='ignore'):  # Each where the other is taken.
      want = np.where(p > 0.5, -np.log1p(-others), -np.log(p))
    # A subnormal probability (below float32's 1.2e-38) flushes to 0: inf, as p = 0.
    normal = p >= np.finfo(np.float32).tiny
    want = np.where(normal, want, np.inf)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-37, err_msg=str(probs))


def test_regression_metrics_over_the_observed_cells_match_numpy():
  """With `observed`, MSE, RMSE and MAE are means over its cells alone (the level errors,
  cumulated over the horizon where the targets are changes); without, over every cell."""
  rng = np.random.default_rng(0)
  pred, y = rng.normal(size=(2, 5, 3, 2)).astype(np.float32)
  std = np.array([2.0, 0.5], np.float32)
  observed = (rng.uniform(size=(5, 3, 2)) > 0.3).astype(np.float32)
  for cumulative in (False, True):
    err = (pred - y).astype(np.float64) * std
    if cumulative:
      err = np.cumsum(err, axis=1)
    got = losses.regression_metrics(jnp.asarray(pred), jnp.asarray(y), std * 0, std,
                                    cumulative=cumulative, observed=observed)
    kept = observed > 0
    np.testing.assert_allclose(got['rmse'], np.sqrt(np.mean(err[kept] ** 2)), rtol=1e-5)
    np.testing.assert_allclose(got['mae'], np.mean(np.abs(err[kept])), rtol=1e-5)
    np.testing.assert_allclose(got['mse'], np.mean(((pred - y)[kept]) ** 2), rtol=1e-5)
    every = losses.regression_metrics(jnp.asarray(pred), jnp.asarray(y), std * 0, std,
                                      cumulative=cumulative)
    np.testing.assert_allclose(every['mae'], np.mean(np.abs(err)), rtol=1e-5)
    assert abs(float(every['mae']) - float(got['mae'])) > 1e-3
