"""Losses and metrics. Predictions and targets: <float32>[N, horizon, C], scaled."""

import jax.numpy as jnp


def mse(pred, y):
  return jnp.mean((pred - y) ** 2)


def regression_metrics(pred, y, mean, std, *, cumulative: bool = False):
  """Scaled MSE (the training loss), and RMSE / MAE in original units.

  mean, std: <float32>[C], the training part's statistics per target column.
  cumulative: pred and y are scaled changes (forecast.prepare(difference=True)): the
    levels they imply are the same last level plus their cumulative sums over the
    horizon, so the level error at step h is the sum of the change errors up to h.
  """
  del mean  # Cancels out of every error.
  err = (pred - y) * std[None, None, :]
  if cumulative:
    err = jnp.cumsum(err, axis=1)
  return {'mse': mse(pred, y), 'rmse': jnp.sqrt(jnp.mean(err ** 2)),
          'mae': jnp.mean(jnp.abs(err))}
