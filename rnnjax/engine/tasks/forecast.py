"""Forecasting: the readout of the last step is the whole horizon, [horizon * C_out]."""

import jax.numpy as jnp

from rnnjax.engine import losses
from rnnjax.engine.tasks import common


def _predict(cfg, params, x, hp=None, key=None):
  return common.predict(cfg, params, x, hp, key).reshape(x.shape[0], -1, cfg.num_targets)


def batch(cfg, train, key):
  idx = common.draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {'x': train['x'][idx], 'y': train['y'][idx]}


def loss(cfg, params, hp, batch, key):
  return losses.mse(_predict(cfg, params, batch['x'], hp, key), batch['y'])


def outputs(cfg, params, split):
  return _predict(cfg, params, split['x'])


def evaluate(cfg, params, split):
  return score(cfg, outputs(cfg, params, split), split)


def score(cfg, pred, split):
  """Scaled MSE, and RMSE / MAE in original units, overall and (for several targets)
  per target column: `rmse_0`, `mae_0`, ...

  With `split['mase_scale']` (<float32>[C_out], each target's in-sample seasonal-naive
  MAE on the training part; see data/scores/series_errors.py `mase_scale`) also MASE:
  `mase_c` is target c's MAE over its scale, and `mase` their mean over the C_out
  targets (so each target counts alike, whatever its units).
  """
  cumulative = cfg.difference
  metrics = losses.regression_metrics(pred, split['y'], split['mean'], split['std'],
                                      cumulative=cumulative)
  if cfg.num_targets > 1:
    for c in range(cfg.num_targets):
      per = losses.regression_metrics(pred[..., c:c + 1], split['y'][..., c:c + 1],
                                      split['mean'][c:c + 1], split['std'][c:c + 1],
                                      cumulative=cumulative)
      metrics.update({f'rmse_{c}': per['rmse'], f'mae_{c}': per['mae']})
  if 'mase_scale' in split:  # Hand-built splits (tests) may leave it out.
    err = (pred - split['y']) * split['std'][None, None, :]
    if cumulative:
      err = jnp.cumsum(err, axis=1)  # Level errors, as losses.regression_metrics.
    mase = jnp.mean(jnp.abs(err), axis=(0, 1)) / split['mase_scale']
    metrics['mase'] = jnp.mean(mase)
    if cfg.num_targets > 1:
      metrics.update({f'mase_{c}': mase[c] for c in range(cfg.num_targets)})
  return metrics
