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
  panel:    x <float32>[N, lookback, 1], y <float32>[N, horizon, 1] in original units,
            level <float32>[N, 2], mase_denom <float32>[N], seasonal <float32>[N,
            lookback + horizon]; validation and test also weight <float32>[S] and
            naive2 <float32>[2] (data/panel.py `windows`).
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


# Panels: one global model over many series (data/panel.py). Windows come in original
# units; each member deseasonalises (`deseasonalize`) and normalises every window
# itself, as its `normalization` says (NORMALIZATIONS: shift and scale of the window),
# predicts the `horizon` values in those units, and trains on its `loss` (LOSSES).
# Validation and test hold one window per series with a weight (0: left out), and the
# competitions' scores are weighted means over series: sMAPE (0-200), MASE, and OWA
# against Naive2 (the split's `naive2` <float32>[2]: Naive2's sMAPE and MASE on the
# same windows).

NORMALIZATIONS = ('series', 'last', 'mean', 'robust', 'none')
LOSSES = ('mse', 'mae', 'smape', 'mase')


def _panel_shift_scale(cfg, x, split):
  """<[N, 1]> shift and scale of each window x <[N, L, 1]>:
    series  the series' mean and standard deviation before validation (`level`)
    last    the window's last value, and its absolute value (relative change)
    mean    the window's mean, and its mean absolute value
    robust  the window's last value, and its mean absolute step (the naive forecast's
            in-window error, MASE's scale of the window)
    none    0 and 1: the raw values
  A zero scale becomes 1."""
  kind, v = cfg.normalization, x[..., 0]
  if kind == 'series':
    shift, scale = split['level'][:, 0], split['level'][:, 1]
  elif kind == 'last':
    shift, scale = v[:, -1], jnp.abs(v[:, -1])
  elif kind == 'mean':
    shift, scale = jnp.mean(v, axis=1), jnp.mean(jnp.abs(v), axis=1)
  elif kind == 'robust':
    steps = jnp.abs(jnp.diff(v, axis=1)) if v.shape[1] > 1 else jnp.abs(v)
    shift, scale = v[:, -1], jnp.mean(steps, axis=1)
  else:
    shift, scale = jnp.zeros_like(v[:, -1]), jnp.ones_like(v[:, -1])
  scale = jnp.where(scale > 1e-6 * (jnp.abs(shift) + 1e-6), scale, 1.0)
  return shift[:, None], scale[:, None]


def _panel_forward(cfg, params, split, hp=None, key=None):
  """(predictions <[N, horizon]> in original units, normalised ones, shift, scale,
  seasonal indices of the targets <[N, horizon]> (ones unless `deseasonalize`)).

  With `deseasonalize` the window is divided by its points' seasonal indices before it
  is normalised, and the forecast multiplied by the targets' ones."""
  x = split['x']
  if cfg.deseasonalize:
    lookback = x.shape[1]
    x = x / split['seasonal'][:, :lookback, None]
    season_y = split['seasonal'][:, lookback:]
  else:
    season_y = jnp.ones(x.shape[:1] + (cfg.model.output_size,), x.dtype)
  shift, scale = _panel_shift_scale(cfg, x, split)
  pred = predict(cfg, params, (x - shift[..., None]) / scale[..., None], hp, key)
  return (pred * scale + shift) * season_y, pred, shift, scale, season_y


def _smape(pred, y):
  """<[N]> sMAPE of each window, 0-200 (0 where forecast and truth are both 0)."""
  denom = jnp.abs(y) + jnp.abs(pred)
  return jnp.mean(jnp.where(denom > 0, 200.0 * jnp.abs(pred - y) / jnp.where(
      denom > 0, denom, 1.0), 0.0), axis=-1)


def _panel_batch(cfg, train, key):
  idx = _draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {k: train[k][idx] for k in ('x', 'y', 'level', 'mase_denom', 'seasonal')}


def _panel_loss(cfg, params, hp, batch, key):
  pred, normalised, shift, scale, season_y = _panel_forward(cfg, params, batch, hp, key)
  y = batch['y'][..., 0]
  if cfg.loss == 'smape':
    return jnp.mean(_smape(pred, y))
  if cfg.loss == 'mase':
    return jnp.mean(jnp.abs(pred - y) / batch['mase_denom'][:, None])
  err = normalised - (y / season_y - shift) / scale
  return jnp.mean(jnp.abs(err)) if cfg.loss == 'mae' else jnp.mean(err ** 2)


def _panel_outputs(cfg, params, split):
  return _panel_forward(cfg, params, split)[0]


def _panel_evaluate(cfg, params, split):
  return _panel_score(cfg, _panel_outputs(cfg, params, split), split)


def _panel_score(cfg, pred, split):
  """Weighted means over the split's windows (one per series) of sMAPE and MASE, and
  OWA against the split's `naive2` scores."""
  del cfg
  y, w = split['y'][..., 0], split['weight']
  mean = lambda v: jnp.sum(v * w) / jnp.sum(w)
  smape = mean(_smape(pred, y))
  mase = mean(jnp.mean(jnp.abs(pred - y), axis=-1) / split['mase_denom'])
  out = {'smape': smape, 'mase': mase}
  if 'naive2' in split:
    out['owa'] = 0.5 * (smape / split['naive2'][0] + mase / split['naive2'][1])
  return out


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
    'panel': Task(_panel_batch, _panel_loss, _panel_evaluate, _panel_outputs,
                  _panel_score, selection='owa', display='smape', display_mode='min',
                  plotted='owa'),
    'charlm': Task(_charlm_batch, _charlm_loss, _charlm_evaluate, _charlm_outputs,
                   _charlm_score, selection='bpc', display='bpc', display_mode='min',
                   plotted='bpc'),
}
