"""What differs between tasks, on the device: batches, the loss, and evaluation.

A `Task` is a row of plain functions, written for one member (a population vmaps them):

  batch(cfg, train, key) -> batch          a training batch drawn from the train arrays
  loss(cfg, params, hp, batch, key)        the training loss on it (dropout from `key`)
  evaluate(cfg, params, split) -> metrics  scalar metrics on a WHOLE split (no dropout)

and which metric the sweep minimises (`selection`: early stopping, best parameters,
ranking; `selection_of` names the one exception), which it shows people in progress
lines and ranked tables (`display`, better when `display_mode`), and which figures draw
(`plotted`, lower is better): one that orders members as the ranking does, or a figure's
outlined best would not be the best it draws. Classification shows accuracy (its
baselines have no other score) but draws cross-entropy: accuracy ties at 1.0 on a
validation split of a dozen cases. For the final model, which may average several
members (an ensemble), two more:

  outputs(cfg, params, split) -> outputs   what an ensemble averages, for a WHOLE split:
                                           forecast: scaled predictions; classify and
                                           charlm: probabilities
  score(cfg, outputs, split) -> metrics    the metrics of (averaged) outputs

Split arrays (see rnnjax/data/task_data.py):
  Training splits of cross-validation folds may end in padding; then `count` <int32>[]
  says how many examples are real (see data/task_data.py `same_shapes`).

  forecast: x <float32>[N, lookback, C_in], y <float32>[N, horizon, C_out] (scaled;
            changes with TrainConfig.difference), mean, std <float32>[C_out] (to
            report errors in original units).
  classify: x <float32>[N, T, C] zero after each end, length <int32>[N], y <int32>[N].
            The readout sees each sequence's last valid step (or the mean of its valid
            steps), so padding changes nothing (see model.apply).
  charlm:   train: tokens <int32>[N]; val/test: x, y <int32>[S, L] and mask
            <float32>[S, L]: the part cut into S streams, every next-character
            prediction once (data/text.py `streams`). Inputs are one-hot characters.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rnnjax.engine import losses
from rnnjax.engine import model

LN2 = 0.6931471805599453


class Task(NamedTuple):
  batch: Callable
  loss: Callable
  evaluate: Callable
  outputs: Callable
  score: Callable
  selection: str     # Metric minimised: early stopping, best parameters, ranking.
  display: str       # Metric shown in progress lines and tables.
  display_mode: str  # 'min' or 'max': which way `display` is better.
  plotted: str       # Metric figures draw (lower is better), in the ranking's order.


def selection_of(task: str, difference: bool) -> str:
  """The validation metric that ranks a sweep's members and chooses its final model:
  the task's `selection`, but for a forecast of the differenced series (`difference`)
  the RMSE of the levels in original units. The model is used in levels, and that RMSE
  is what tables and figures show; the MSE of the standardised changes it trained on
  orders members differently."""
  return 'rmse' if task == 'forecast' and difference else TASKS[task].selection


def predict(cfg, params, x, hp=None, key=None, lengths=None):
  """Model outputs; dropout only with `key` (then `hp` gives the rates)."""
  rates = {} if key is None else dict(input_dropout=hp.input_dropout,
                                      dropout_rates=hp.dropout_rates)
  return model.apply(cfg.model, params, x, key=key, lengths=lengths, **rates)


def _draw(key, num, train, size):
  """`num` indices in [0, size), or [0, train['count']) when the split has folds' padding
  (data/task_data.py `same_shapes`): the same draws as a split of that size alone."""
  return jax.random.randint(key, (num,), 0, train.get('count', size))


# Forecasting: the readout of the last step is the whole horizon, [horizon * C_out].


def _forecast_predict(cfg, params, x, hp=None, key=None):
  return predict(cfg, params, x, hp, key).reshape(x.shape[0], -1, cfg.num_targets)


def _forecast_batch(cfg, train, key):
  idx = _draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {'x': train['x'][idx], 'y': train['y'][idx]}


def _forecast_loss(cfg, params, hp, batch, key):
  return losses.mse(_forecast_predict(cfg, params, batch['x'], hp, key), batch['y'])


def _forecast_outputs(cfg, params, split):
  return _forecast_predict(cfg, params, split['x'])


def _forecast_evaluate(cfg, params, split):
  return _forecast_score(cfg, _forecast_outputs(cfg, params, split), split)


def _forecast_score(cfg, pred, split):
  """Scaled MSE, and RMSE / MAE in original units, overall and (for several targets)
  per target column: `rmse_0`, `mae_0`, ...

  With `split['mase_scale']` (<float32>[C_out], each target's in-sample seasonal-naive
  MAE on the training part; see data/forecast.py `mase_scale`) also MASE: `mase_c` is
  target c's MAE over its scale, and `mase` their mean over the C_out targets (so each
  target counts alike, whatever its units).
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


# Classification: one label per sequence.


def _classify_batch(cfg, train, key):
  idx = _draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {k: train[k][idx] for k in ('x', 'length', 'y')}


def _classify_loss(cfg, params, hp, batch, key):
  logits = predict(cfg, params, batch['x'], hp, key, lengths=batch['length'])
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch['y']))


def _classify_evaluate(cfg, params, split):
  logits = predict(cfg, params, split['x'], lengths=split['length'])
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, split['y'])
  return {'ce': jnp.mean(ce),
          'accuracy': jnp.mean(jnp.argmax(logits, -1) == split['y'])}


def _classify_outputs(cfg, params, split):
  return jax.nn.softmax(predict(cfg, params, split['x'], lengths=split['length']))


def _classify_score(cfg, probs, split):
  del cfg
  p = jnp.take_along_axis(probs, split['y'][:, None], axis=-1)[:, 0]
  return {'ce': -jnp.mean(jnp.log(p)),
          'accuracy': jnp.mean(jnp.argmax(probs, -1) == split['y'])}


# Character-level language modelling: a prediction at every step.


def _charlm_batch(cfg, train, key):
  """`batch_size` random windows of seq_len + 1 characters: inputs and next characters."""
  starts = _draw(key, cfg.batch_size, train, train['tokens'].shape[0] - cfg.seq_len)
  window = jax.vmap(lambda s: jax.lax.dynamic_slice(train['tokens'], (s,),
                                                    (cfg.seq_len + 1,)))(starts)
  return {'x': window[:, :-1], 'y': window[:, 1:]}


def _one_hot(cfg, tokens):
  return jax.nn.one_hot(tokens, cfg.model.input_size, dtype=jnp.float32)


def _charlm_loss(cfg, params, hp, batch, key):
  logits = predict(cfg, params, _one_hot(cfg, batch['x']), hp, key)
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch['y']))


def _charlm_evaluate(cfg, params, split):
  """Nats and bits per character over every masked prediction of the split."""
  logits = predict(cfg, params, _one_hot(cfg, split['x']))
  nll = optax.softmax_cross_entropy_with_integer_labels(logits, split['y'])
  nats = jnp.sum(nll * split['mask']) / jnp.sum(split['mask'])
  return {'nats': nats, 'bpc': nats / LN2}


def _charlm_outputs(cfg, params, split):
  return jax.nn.softmax(predict(cfg, params, _one_hot(cfg, split['x'])))


def _charlm_score(cfg, probs, split):
  del cfg
  p = jnp.take_along_axis(probs, split['y'][..., None], axis=-1)[..., 0]
  nats = -jnp.sum(jnp.log(p) * split['mask']) / jnp.sum(split['mask'])
  return {'nats': nats, 'bpc': nats / LN2}


TASKS = {
    'forecast': Task(_forecast_batch, _forecast_loss, _forecast_evaluate,
                     _forecast_outputs, _forecast_score,
                     selection='mse', display='rmse', display_mode='min',
                     plotted='rmse'),
    'classify': Task(_classify_batch, _classify_loss, _classify_evaluate,
                     _classify_outputs, _classify_score,
                     selection='ce', display='accuracy', display_mode='max',
                     plotted='ce'),
    'charlm': Task(_charlm_batch, _charlm_loss, _charlm_evaluate, _charlm_outputs,
                   _charlm_score, selection='bpc', display='bpc', display_mode='min',
                   plotted='bpc'),
}
