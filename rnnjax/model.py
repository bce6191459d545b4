"""A stack of recurrent layers scanned over time, with dropout and a readout head.

Static shapes live in a frozen `ModelConfig`; dropout rates are traced values, so one
compiled program serves a population whose members drop out at different rates.
Dropout (Zaremba et al. 2014) acts on the non-recurrent connections only: on the input,
between layers and before the readout. The readout maps the last hidden state of the
top layer to `output_size` values.
"""

import dataclasses

import jax
import jax.numpy as jnp

from rnnjax import cells
from rnnjax import fused

# Whole-sequence layers with a hand-written backward pass (see fused.py).
FUSED = {'lstm': fused.lstm_layer}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  cell: str
  input_size: int
  hidden_size: int
  num_layers: int
  output_size: int
  fused: bool = True  # Use FUSED[cell] where there is one; False: autodiff of cell.recur.


def init_params(cfg: ModelConfig, key, *, init_scale=1.0, forget_bias=1.0):
  """Parameters `{'layers': [cell params] * num_layers, 'head': {'w', 'b'}}`."""
  cell = cells.CELLS[cfg.cell]
  keys = jax.random.split(key, cfg.num_layers + 1)
  layers = []
  for layer, layer_key in enumerate(keys[:-1]):
    input_size = cfg.input_size if layer == 0 else cfg.hidden_size
    layers.append(cell.init(layer_key, input_size, cfg.hidden_size,
                            init_scale=init_scale, forget_bias=forget_bias))
  bound = init_scale / jnp.sqrt(jnp.float32(cfg.hidden_size))
  head = {
      'w': jax.random.uniform(keys[-1], (cfg.hidden_size, cfg.output_size),
                              jnp.float32, -1.0, 1.0) * bound,
      'b': jnp.zeros((cfg.output_size,), jnp.float32),
  }
  return {'layers': layers, 'head': head}


def dropout(key, rate, x):
  """Inverted dropout with a traced `rate` in [0, 1); identity when `key` is None."""
  if key is None:
    return x
  keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), 0.0)


def unroll_layer(cell, params, xs, fused_layer=None):
  """Runs one layer over time. xs: <float32>[T, B, I] -> <float32>[T, B, H]."""
  if fused_layer is not None:
    return fused_layer(params, xs)
  on_batch = lambda f: jax.vmap(f, in_axes=(None, 0, 0))
  xps = jax.vmap(jax.vmap(cell.project, (None, 0)), (None, 0))(params, xs)
  hidden_size = params['w_hh'].shape[0]
  carry = jax.tree.map(lambda c: jnp.broadcast_to(c, xs.shape[1:2] + c.shape),
                       cell.initial_carry(hidden_size))
  _, hs = jax.lax.scan(lambda c, xp: on_batch(cell.recur)(params, c, xp), carry, xps)
  return hs


def readout(params, h):
  """h: <float32>[H] -> <float32>[output_size]."""
  return h @ params['w'] + params['b']


def apply(cfg: ModelConfig, params, xs, *, input_dropout=0.0, dropout_rate=0.0,
          key=None):
  """Predicts from sequences.

  Args:
    xs: <float32>[B, T, input_size].
    input_dropout, dropout_rate: traced scalars; dropout on the input, and between
      layers and before the readout. Applied only when `key` is given.
  Returns:
    <float32>[B, output_size].
  """
  cell = cells.CELLS[cfg.cell]
  keys = [None] * (cfg.num_layers + 1) if key is None else list(
      jax.random.split(key, cfg.num_layers + 1))
  hs = dropout(keys[0], input_dropout, jnp.swapaxes(xs, 0, 1))
  for layer, layer_params in enumerate(params['layers']):
    if layer:
      hs = dropout(keys[layer], dropout_rate, hs)
    hs = unroll_layer(cell, layer_params, hs, FUSED.get(cfg.cell) if cfg.fused else None)
  h_last = dropout(keys[-1], dropout_rate, hs[-1])
  return jax.vmap(readout, in_axes=(None, 0))(params['head'], h_last)
