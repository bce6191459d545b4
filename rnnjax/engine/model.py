"""A stack of recurrent layers scanned over time, with dropout and a readout head.

Static shapes live in a frozen `ModelConfig`; dropout rates are traced values, so one
compiled program serves a population whose members drop out at different rates.
Dropout (Zaremba et al. 2014) acts on the non-recurrent connections only: on the input,
on each layer's output (between layers, and before the readout for the top layer). By
default a fresh mask is drawn at every time step; `variational=True` draws one mask per
sequence and reuses it at every step (Gal & Ghahramani 2016, without their recurrent
masks). The readout maps the top layer's states to `output_size` values: `readout`
'last' reads the last step, 'last_valid' each sequence's last valid step and 'mean' the
mean of its valid steps (both given `lengths`; steps after a sequence's end then change
nothing, forward or backward), 'all' every step.

Padded hidden width. Members of different widths train in one `vmap`, padded to
`hidden_size`: `init_params(..., hidden_units=n)` zeroes every entry that touches a unit
>= n (see `cells.mask_padding`). No mask is applied after init, because none is needed
for exactness:
* Forward, a padded unit's pre-activations are sums of `x * 0`, exactly 0, so its state
  stays exactly 0 in every cell: tanh(0) = relu(0) = 0; LSTM c = s(0) * 0 + s(0) * tanh(0)
  = 0, h = s(0) * tanh(0) = 0 (s = sigmoid, s(0) = 1/2; its forget bias is zeroed too);
  GRU n = tanh(0 + s(0) * (0 + 0)) = 0, h = (1 - s(0)) * 0 + s(0) * 0 = 0. Dropout maps 0
  to 0.
* Backward, a padded state reaches the loss only through zero weights (rows of `w_hh`,
  of the next layer's `w_ih`, of the head's `w`), so its gradient is exactly 0; every
  gradient of a padded entry is a product with a zero state or a zero state gradient.
* The optimizers (optim.py) map a zero gradient on a zero parameter to a zero update
  (Adam 0 / (sqrt(0) + eps), RMSProp, momentum, weight decay lambda * 0, clipping scales
  0), so padded entries and optimizer states stay 0 with no per-step work.
The real units see sums with extra exact-zero terms, so a member equals the narrow
network up to the matmuls' summation order (allclose, not bitwise). `mask_padding` is
needed again only after something writes parameters from outside the optimizer (e.g. a
PBT exploit that copies a member of another width), or after non-finite values (0 * inf
= NaN; such a member has diverged anyway).

Same draws at every width: a member depends on its uid and values alone, not on the
width it is padded to. Its initial weights and its dropout
masks are drawn at counters made of each entry's unit index and its position within
the unit (`cells.unit_uniform`), so the first n units of a net padded to any width get
exactly the numbers of the width-n net, and a padded member drops the units its narrow
twin drops.
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.engine import cells
from rnnjax.engine import fused

# Whole-sequence layers with a hand-written backward pass (see fused.py).
FUSED = {'lstm': fused.lstm_layer, 'gru': fused.gru_layer,
         'rnn_tanh': fused.rnn_tanh_layer, 'rnn_relu': fused.rnn_relu_layer}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  cell: str
  input_size: int
  hidden_size: int
  num_layers: int
  output_size: int
  fused: bool = True  # Use FUSED[cell] where there is one; False: autodiff of cell.recur.
  variational: bool = False  # One dropout mask per sequence, reused at every step.
  readout: str = 'last'  # 'last', 'last_valid', 'mean' or 'all' (see the docstring).

READOUTS = ('last', 'last_valid', 'mean', 'all')


def init_params(cfg: ModelConfig, key, *, init_scale=1.0, forget_bias=1.0,
                hidden_units=None):
  """Parameters `{'layers': [cell params] * num_layers, 'head': {'w', 'b'}}`.

  init_scale, forget_bias: traced scalars (see cells.py).
  hidden_units: <int>[] (may be traced), <= cfg.hidden_size: only the first
    `hidden_units` units are real; weights are bounded by init_scale / sqrt(hidden_units)
    and every entry touching a padded unit is 0. None: all `hidden_size` units.
  """
  if isinstance(hidden_units, int) and not 0 < hidden_units <= cfg.hidden_size:
    raise ValueError(f'hidden_units={hidden_units} not in [1, {cfg.hidden_size}]')
  cell = cells.CELLS[cfg.cell]
  keys = jax.random.split(key, cfg.num_layers + 1)
  layers = []
  for layer, layer_key in enumerate(keys[:-1]):
    input_size = cfg.input_size if layer == 0 else cfg.hidden_size
    layers.append(cell.init(layer_key, input_size, cfg.hidden_size,
                            init_scale=init_scale, forget_bias=forget_bias,
                            hidden_units=hidden_units,
                            input_units=None if layer == 0 else hidden_units))
  fan = cfg.hidden_size if hidden_units is None else hidden_units
  bound = init_scale / jnp.sqrt(jnp.asarray(fan, jnp.float32))
  head = {
      'w': cells.unit_uniform(keys[-1], *_head_counters(cfg), -1.0, 1.0) * bound,
      'b': jnp.zeros((cfg.output_size,), jnp.float32),
  }
  return mask_padding({'layers': layers, 'head': head}, hidden_units)


def _head_counters(cfg):
  """Counters of the head's w <[H, output_size]>: (unit, output)."""
  shape = (cfg.hidden_size, cfg.output_size)
  return (jax.lax.broadcasted_iota(jnp.uint32, shape, 0),
          jax.lax.broadcasted_iota(jnp.uint32, shape, 1))


def mask_padding(params, hidden_units):
  """Zeroes every entry of `init_params`'s pytree that touches a unit >= hidden_units.

  Not needed during training (see the module docstring); for parameters written from
  outside the optimizer. hidden_units: <int>[] (may be traced); None returns `params`.
  """
  if hidden_units is None:
    return params
  layers = [cells.mask_padding(p, hidden_units, None if layer == 0 else hidden_units)
            for layer, p in enumerate(params['layers'])]
  w = params['head']['w']
  real = jnp.arange(w.shape[0]) < hidden_units
  head = dict(params['head'], w=jnp.where(real[:, None], w, 0.0))
  return {'layers': layers, 'head': head}


def param_count(cfg: ModelConfig, hidden_units: int | None = None) -> int:
  """Number of real parameters of a member with `hidden_units` units (None: all)."""
  width = cfg.hidden_size if hidden_units is None else int(hidden_units)
  return _param_count(dataclasses.replace(cfg, hidden_size=width))


@functools.lru_cache(maxsize=None)
def _param_count(narrow: ModelConfig) -> int:
  # Each count traces init_params (eval_shape), and a sweep's planning asks for the same
  # few counts tens of times (probe.wave_bytes, for each wave size it tries: 26 in a
  # two-bucket halving sweep of test_resume.py).
  shapes = jax.eval_shape(lambda key: init_params(narrow, key), jax.random.key(0))
  return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes))


def recurrent_cost(cfg: ModelConfig, width: int) -> int:
  """Multiply-adds per example and time step of the layers' matmuls: G H (I + H)."""
  num_gates = cells.CELLS[cfg.cell].num_gates
  return sum(num_gates * width * ((cfg.input_size if layer == 0 else width) + width)
             for layer in range(cfg.num_layers))


def padding_fraction(cfg: ModelConfig, widths) -> float:
  """Share of the recurrent compute spent on padding when members of these widths run
  padded to max(widths) (cfg gives the cell, input size and depth; its hidden_size is
  not used). 0 when all widths are equal."""
  distinct, counts = np.unique(np.asarray(widths, np.int64), return_counts=True)
  padded = recurrent_cost(cfg, int(distinct[-1]))
  spent = sum(int(n) * recurrent_cost(cfg, int(w)) for w, n in zip(distinct, counts))
  return 1.0 - spent / (int(counts.sum()) * padded)


def dropout(key, rate, x, *, shared_axis=None):
  """Inverted dropout with a traced `rate` in [0, 1); identity when `key` is None.

  x: <float32>[..., U]. Entry (..., u) is kept by the draw at counters (u, its row-major
  position among the other axes) (`cells.unit_uniform`), so nets of different widths
  drop their common units alike.
  shared_axis: an axis of x (time, for variational dropout) along which one mask is
  drawn and reused; None draws an independent mask for every entry.
  """
  if key is None:
    return x
  shape = list(x.shape)
  if shared_axis is not None:
    shape[shared_axis] = 1
  units = jax.lax.broadcasted_iota(jnp.uint32, shape, len(shape) - 1)
  positions = jnp.arange(math.prod(shape[:-1]), dtype=jnp.uint32).reshape(shape[:-1] + [1])
  keep = cells.unit_uniform(key, units, positions) < 1.0 - rate
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
          dropout_rates=None, key=None, lengths=None):
  """Predicts from sequences.

  Args:
    xs: <float32>[B, T, input_size].
    input_dropout: traced scalar, dropout rate on the input.
    dropout_rate: traced scalar, the rate on every layer's output.
    dropout_rates: <float32>[num_layers] (may be traced), overrides `dropout_rate`:
      entry l is the rate on layer l's output, i.e. between layers l and l + 1, and
      before the readout for the top layer.
    key: dropout is applied only when given.
    lengths: <int32>[B], valid steps of each sequence (>= 1), for readout 'last_valid'
      and 'mean'.
  Returns:
    <float32>[B, output_size], or <float32>[B, T, output_size] for readout 'all'.
  """
  cell = cells.CELLS[cfg.cell]
  if dropout_rates is None:
    rates = [dropout_rate] * cfg.num_layers
  else:
    if jnp.shape(dropout_rates) != (cfg.num_layers,):
      raise ValueError(f'dropout_rates has shape {jnp.shape(dropout_rates)}, '
                       f'expected ({cfg.num_layers},)')
    rates = [dropout_rates[layer] for layer in range(cfg.num_layers)]
  # keys[0]: input; keys[l + 1]: output of layer l.
  keys = [None] * (cfg.num_layers + 1) if key is None else list(
      jax.random.split(key, cfg.num_layers + 1))
  time_axis = 0 if cfg.variational else None
  hs = dropout(keys[0], input_dropout, jnp.swapaxes(xs, 0, 1), shared_axis=time_axis)
  for layer, layer_params in enumerate(params['layers']):
    if layer:
      hs = dropout(keys[layer], rates[layer - 1], hs, shared_axis=time_axis)
    hs = unroll_layer(cell, layer_params, hs, FUSED.get(cfg.cell) if cfg.fused else None)
  if cfg.readout == 'all':
    hs = dropout(keys[-1], rates[-1], jnp.swapaxes(hs, 0, 1),
                 shared_axis=1 if cfg.variational else None)
    return hs @ params['head']['w'] + params['head']['b'][None, None, :]
  h = _pool(cfg.readout, hs, lengths)
  h = dropout(keys[-1], rates[-1], h)
  return jax.vmap(readout, in_axes=(None, 0))(params['head'], h)


def _pool(how, hs, lengths):
  """hs: <float32>[T, B, H] -> <float32>[B, H] by `how` (see ModelConfig.readout)."""
  if how == 'last':
    return hs[-1]
  if lengths is None:
    raise ValueError(f'readout {how!r} needs the sequence lengths')
  if how == 'last_valid':
    return jnp.take_along_axis(hs, (lengths - 1)[None, :, None], axis=0)[0]
  if how == 'mean':
    valid = jnp.arange(hs.shape[0])[:, None] < lengths[None, :]
    total = jnp.sum(jnp.where(valid[:, :, None], hs, 0.0), axis=0)
    return total / lengths[:, None].astype(hs.dtype)
  raise ValueError(f'unknown readout {how!r}; expected one of {READOUTS}')
