"""Losses and metrics. Predictions and targets: <float32>[N, horizon, C], scaled."""

import jax
import jax.numpy as jnp


def mse(pred, y, observed=None):
  return cell_mean((pred - y) ** 2, observed)


def cell_mean(v, observed=None):
  """A training loss's mean of `v` over every cell, or over the cells where `observed`
  (broadcast to v's shape) is true: a target filled into an empty cell is not trained
  towards. 0 where none is (a batch of filled targets alone), never NaN."""
  if observed is None:
    return jnp.mean(v)
  kept = jnp.broadcast_to(observed, v.shape)
  return jnp.sum(jnp.where(kept, v, 0.0)) / jnp.maximum(jnp.sum(kept), 1)


def regression_metrics(pred, y, mean, std, *, cumulative: bool = False, observed=None):
  """Scaled MSE (the training loss), and RMSE / MAE in original units.

  mean, std: <float32>[C], the training part's statistics per target column.
  cumulative: pred and y are scaled changes (series_windows.prepare(difference=True)):
    the levels they imply are the same last level plus their cumulative sums over the
    horizon, so the level error at step h is the sum of the change errors up to h.
  observed: <float32>[N, horizon, C] or None: the cells scored, 1 where the level a
    target scores held a value (a validation or test part with empty cells, filled:
    data/windows/series_windows.py `val_observed`, `test_observed`); each mean is then
    over those cells alone (the level errors there, and MSE's scaled errors of the
    targets there).
  """
  del mean  # Cancels out of every error.
  err = (pred - y) * std[None, None, :]
  if cumulative:
    err = jnp.cumsum(err, axis=1)
  if observed is None:
    return {'mse': mse(pred, y), 'rmse': jnp.sqrt(jnp.mean(err ** 2)),
            'mae': jnp.mean(jnp.abs(err))}
  mean_over = lambda v: observed_mean(v, observed)
  return {'mse': mean_over((pred - y) ** 2), 'rmse': jnp.sqrt(mean_over(err ** 2)),
          'mae': mean_over(jnp.abs(err))}


def observed_mean(v, observed, axis=None):
  """The mean of `v` over the entries where `observed` (its shape) is > 0, along `axis`
  (None: all); NaN where there are none."""
  kept = observed > 0
  return jnp.sum(jnp.where(kept, v, 0.0), axis=axis) / jnp.sum(kept, axis=axis)


def cross_entropy(logits, labels):
  """-log softmax(logits)[label] <float32>[...] of logits <[..., K]> and integer labels
  <[...]>, to float32's relative precision down to ~1e-37 (smaller losses, subnormal,
  may flush to 0); inf where the label's logit is -inf (as optax's form gives).

  With d = logits - logits[label] and M = max(d) >= 0, the loss is
  M + log1p(sum over j != argmax d of exp(d_j - M)). logsumexp(logits) - logits[label]
  (optax's form) rounds 1 + 1e-8 to 1 and scores a confident, correct case exactly 0.
  """
  mine = jnp.take_along_axis(logits, labels[..., None], axis=-1)
  d = logits - mine
  top = jnp.max(d, axis=-1, keepdims=True)
  rest = _iota(d) != jnp.argmax(d, axis=-1, keepdims=True)
  loss = top[..., 0] + jnp.log1p(jnp.sum(jnp.where(rest, jnp.exp(d - top), 0.0), axis=-1))
  return jnp.where(mine[..., 0] == -jnp.inf, jnp.inf, loss)  # d was NaN (-inf - -inf).


def nll_of_probs(probs, labels):
  """-log probs[label] <float32>[...] of probabilities <[..., K]> (an ensemble's mean):
  near p = 1 as -log1p(-(the other classes' probability)), which keeps its precision
  where p itself rounds to 1. A p below float32's smallest normal (1.2e-38) flushes to
  0 on some backends (CPU): inf, as for p = 0."""
  p = jnp.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
  others = jnp.sum(jnp.where(_iota(probs) != labels[..., None], probs, 0.0), axis=-1)
  return jnp.where(p > 0.5, -jnp.log1p(-jnp.minimum(others, 0.5)), -jnp.log(p))


def _iota(x):
  """<int32> x's shape: each entry's index along the last axis."""
  return jax.lax.broadcasted_iota(jnp.int32, x.shape, x.ndim - 1)
