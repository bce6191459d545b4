"""Forecasting: the readout of the last step is the whole horizon, [horizon * C_out]."""

import jax.numpy as jnp

from rnnjax.engine import losses
from rnnjax.engine.tasks import common


def _predict(cfg, params, x, hp=None, key=None):
  return common.predict(cfg, params, x, hp, key).reshape(x.shape[0], -1, cfg.num_targets)


def batch(cfg, train, key):
  idx = common.draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {k: train[k][idx] for k in ('x', 'y', 'observed') if k in train}


def loss(cfg, params, hp, batch, key):
  """The scaled MSE over the batch's targets; where the split has `observed` <bool>[N,
  horizon, C_out] (empty targets, filled), over those it marks."""
  return losses.mse(_predict(cfg, params, batch['x'], hp, key), batch['y'],
                    batch.get('observed'))


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
  targets (so each target counts alike, whatever its units). Where the split has
  `observed` <[N, horizon, C_out]> (a validation or test part with empty cells, filled),
  every mean is over the cells it marks 1 (losses.regression_metrics).
  """
  cumulative = cfg.difference
  observed = split.get('observed')
  metrics = losses.regression_metrics(pred, split['y'], split['mean'], split['std'],
                                      cumulative=cumulative, observed=observed)
  if cfg.num_targets > 1:
    for c in range(cfg.num_targets):
      per = losses.regression_metrics(pred[..., c:c + 1], split['y'][..., c:c + 1],
                                      split['mean'][c:c + 1], split['std'][c:c + 1],
                                      cumulative=cumulative,
                                      observed=None if observed is None else
                                      observed[..., c:c + 1])
      metrics.update({f'rmse_{c}': per['rmse'], f'mae_{c}': per['mae']})
  if 'mase_scale' in split:  # Hand-built splits (tests) may leave it out.
    err = (pred - split['y']) * split['std'][None, None, :]
    if cumulative:
      err = jnp.cumsum(err, axis=1)  # Level errors, as losses.regression_metrics.
    if observed is None:
      mae = jnp.mean(jnp.abs(err), axis=(0, 1))
    else:
      mae = losses.observed_mean(jnp.abs(err), observed, axis=(0, 1))
    mase = mae / split['mase_scale']
    metrics['mase'] = jnp.mean(mase)
    if cfg.num_targets > 1:
      metrics.update({f'mase_{c}': mase[c] for c in range(cfg.num_targets)})
  return metrics
