"""Losses and metrics. Predictions and targets: <float32>[N, horizon, C], scaled."""

import jax.numpy as jnp


def mse(pred, y):
  return jnp.mean((pred - y) ** 2)


def regression_metrics(pred, y, mean, std):
  """Scaled MSE (the training loss), and RMSE / MAE in original units.

  mean, std: <float32>[C], the training part's statistics per target column.
  """
  err = (pred - y) * std[None, None, :]
  return {'mse': mse(pred, y), 'rmse': jnp.sqrt(jnp.mean(err ** 2)),
          'mae': jnp.mean(jnp.abs(err))}
