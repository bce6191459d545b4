"""Panels: one global model over many series (data/panel.py). Windows come in original
units (the target; input columns, if any, come standardised per series and are read as
they are); each member deseasonalises (`deseasonalize`) and normalises every window's
target itself, as its `normalization` says (NORMALIZATIONS: shift and scale of the
window, or of its logarithms), predicts the `horizon` values in those units, and trains
on its `loss` (LOSSES). Validation and test hold one window per series with a weight
(0: left out), and the competitions' scores are weighted means over series: sMAPE
(0-200), MASE, OWA against Naive2 (the split's `naive2` <float32>[2]: Naive2's
sMAPE and MASE on the same windows), and M5's RMSSE (with the split's `rmsse_denom`).
"""

import jax
import jax.numpy as jnp

from rnnjax.engine import losses
from rnnjax.engine.tasks import common


NORMALIZATIONS = ('series', 'last', 'mean', 'robust', 'log', 'none')
LOSSES = ('mse', 'mae', 'smape', 'mase', 'rmsse')
# 'log' members forecast logarithms: a normalised forecast is clipped to +-LOG_LIMIT
# (a factor of e^20 from the window's last value) so that its exponential stays finite.
LOG_LIMIT = 20.0


def _shift_scale(cfg, x, split):
  """<[N, 1]> shift and scale of each window x <[N, L, 1]>:
    series  the series' mean and standard deviation before validation (`level`)
    last    the window's last value, and its absolute value (relative change); a
            window ending on 0 (a week without sales) is scaled by its mean |value|
    mean    the window's mean, and its mean absolute value
    robust  the window's last value, and its mean absolute step (the naive forecast's
            in-window error, MASE's scale of the window)
    log     the last value and 1, of a window already in logarithms (`_forward`): the
            log of each point relative to the last, as ES-RNN normalises
    none    0 and 1: the raw values
  A zero scale (a flat window: a series' first training window is all left padding)
  becomes the window's mean absolute value, so that it too is read relative to its
  level, never in the data's units; 1 where that is 0 too (a window of zeros)."""
  kind, v = cfg.normalization, x[..., 0]
  if kind == 'series':
    shift, scale = split['level'][:, 0], split['level'][:, 1]
  elif kind == 'last':
    shift, scale, mean = v[:, -1], jnp.abs(v[:, -1]), jnp.mean(jnp.abs(v), axis=1)
    scale = jnp.where(scale > 1e-6 * mean, scale, mean)
  elif kind == 'log':
    shift, scale = v[:, -1], jnp.ones_like(v[:, -1])
  elif kind == 'mean':
    shift, scale = jnp.mean(v, axis=1), jnp.mean(jnp.abs(v), axis=1)
  elif kind == 'robust':
    steps = jnp.abs(jnp.diff(v, axis=1)) if v.shape[1] > 1 else jnp.abs(v)
    shift, scale = v[:, -1], jnp.mean(steps, axis=1)
  else:
    shift, scale = jnp.zeros_like(v[:, -1]), jnp.ones_like(v[:, -1])
  if kind in ('series', 'robust'):
    scale = jnp.where(scale > 1e-6 * (jnp.abs(shift) + 1e-6), scale,
                      jnp.mean(jnp.abs(v), axis=1))
  scale = jnp.where(scale > 1e-6 * (jnp.abs(shift) + 1e-6), scale, 1.0)
  return shift[:, None], scale[:, None]


def _forward(cfg, params, split, hp=None, key=None):
  """(predictions <[N, horizon]> in original units, normalised ones, shift, scale,
  seasonal indices of the targets <[N, horizon]> (1 unless `deseasonalize`)).

  With `deseasonalize` the window is divided by its points' seasonal indices before it
  is normalised, and the forecast multiplied by the targets' ones. A 'log' member takes
  the logarithm of the (deseasonalised) window, whose values must be > 0 (the sweep and
  a saved model refuse others: waves.check_log_inputs, panel_histories.panel_histories), and
  the exponential of its forecast."""
  x, inputs, season_y = split['x'][..., :1], split['x'][..., 1:], 1.0
  if cfg.deseasonalize:
    lookback = x.shape[1]
    x = x / split['seasonal'][:, :lookback, None]
    season_y = split['seasonal'][:, lookback:]
  x = _logs(cfg, x)
  shift, scale = _shift_scale(cfg, x, split)
  x = (x - shift[..., None]) / scale[..., None]
  if inputs.shape[-1]:
    x = jnp.concatenate([x, inputs], axis=-1)
  pred = common.predict(cfg, params, x, hp, key)
  if cfg.normalization == 'log':
    pred = jnp.clip(pred, -LOG_LIMIT, LOG_LIMIT)
  units = pred * scale + shift
  level = jnp.exp(units) if cfg.normalization == 'log' else units
  return level * season_y, pred, shift, scale, season_y


def _logs(cfg, v):
  """`v` as a member normalises it: its logarithm for 'log', else itself."""
  return jnp.log(v) if cfg.normalization == 'log' else v


def _smape(pred, y):
  """<[N]> sMAPE of each window, 0-200 (0 where forecast and truth are both 0)."""
  return jnp.mean(_smape_steps(pred, y), axis=-1)


def _smape_steps(pred, y):
  """<[N, horizon]> sMAPE of each step of each window (`_smape`)."""
  denom = jnp.abs(y) + jnp.abs(pred)
  return jnp.where(denom > 0, 200.0 * jnp.abs(pred - y) / jnp.where(denom > 0, denom, 1.0),
                   0.0)


def batch(cfg, train, key):
  """`batch_size` training windows drawn uniformly; with `history`, from the windows
  whose targets end within the last history x horizon points of their series' part
  (`age` below that; at least the newest window)."""
  if cfg.history:
    limit = int(cfg.history * train['y'].shape[1])
    recent = jnp.maximum(jnp.searchsorted(train['age'], limit, side='left'), 1)
    idx = train['by_age'][jax.random.randint(key, (cfg.batch_size,), 0, recent)]
  else:
    idx = common.draw(key, cfg.batch_size, train, train['x'].shape[0])
  keys = ('x', 'y', 'level', 'mase_denom', 'rmsse_denom', 'seasonal', 'observed')
  return {k: train[k][idx] for k in keys if k in train}


def loss(cfg, params, hp, batch, key):
  """The member's `loss`, the mean over the batch's target cells; where the split has
  `observed` <bool>[N, horizon] (empty targets, filled), over those it marks."""
  pred, normalised, shift, scale, season_y = _forward(cfg, params, batch, hp, key)
  y = batch['y'][..., 0]
  mean = lambda v: losses.cell_mean(v, batch.get('observed'))
  if cfg.loss == 'smape':  # Unmasked: the mean of windows' means, as it always was.
    return mean(_smape_steps(pred, y)) if 'observed' in batch else jnp.mean(_smape(pred, y))
  if cfg.loss == 'mase':
    return mean(jnp.abs(pred - y) / batch['mase_denom'][:, None])
  if cfg.loss == 'rmsse':  # M5's scaled squared error; scaled before squaring (`score`).
    return mean(((pred - y) / batch['rmsse_denom'][:, None]) ** 2)
  err = normalised - (_logs(cfg, y / season_y) - shift) / scale
  return mean(jnp.abs(err)) if cfg.loss == 'mae' else mean(err ** 2)


def outputs(cfg, params, split):
  """<[N, horizon]> forecasts in original units, none below the split's `floor` (0 for
  a series that never went below 0: data/windows/series_scales.floor_of) where it has one."""
  pred = _forward(cfg, params, split)[0]
  return jnp.maximum(pred, split['floor'][:, None]) if 'floor' in split else pred


def evaluate(cfg, params, split):
  return score(cfg, outputs(cfg, params, split), split)


def score(cfg, pred, split):
  """Weighted means over the split's windows (one per series) of sMAPE, MASE and, where
  the split has `rmsse_denom`, RMSSE (data/scores/competition.py), and OWA against the split's
  `naive2` scores. Each window's scores are means over its steps; where the split has
  `observed` <[N, horizon]> (a validation or test part with empty cells), over the steps
  it marks 1."""
  del cfg
  y, w = split['y'][..., 0], split['weight']
  mean = lambda v: jnp.sum(v * w) / jnp.sum(w)
  if 'observed' in split:
    o = split['observed']
    steps = lambda v: jnp.sum(jnp.where(o > 0, v, 0.0), axis=-1) / jnp.maximum(
        jnp.sum(o, axis=-1), 1.0)
  else:
    steps = lambda v: jnp.mean(v, axis=-1)
  smape = mean(steps(_smape_steps(pred, y)))
  mase = mean(steps(jnp.abs(pred - y)) / split['mase_denom'])
  out = {'smape': smape, 'mase': mase}
  if 'rmsse_denom' in split:
    # Scaled before squaring: no float32 overflow or underflow where the values have none.
    scaled = (pred - y) / split['rmsse_denom'][:, None]
    out['rmsse'] = mean(jnp.sqrt(steps(scaled ** 2)))
  if 'naive2' in split:
    out['owa'] = 0.5 * (smape / split['naive2'][0] + mase / split['naive2'][1])
  return out
