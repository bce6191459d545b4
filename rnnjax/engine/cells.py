"""Recurrent cells as pure functions on one example.

Each cell is a `Cell` of plain functions over a params dict of arrays:

  init(key, input_size, hidden_size, *, init_scale, forget_bias, hidden_units=None,
       input_units=None) -> params
  initial_carry(hidden_size) -> carry
  project(params, x_t) -> xp_t            input part of the gate pre-activations
  recur(params, carry, xp_t) -> (carry, h_t)
  step(params, carry, x_t) = recur(params, carry, project(params, x_t))

`project` is split from `recur` so that a model can compute the input projection for
all time steps in one matmul before `lax.scan` runs the recurrence. The argument order
`(carry, x)` plugs into `lax.scan`. Written for one example (`x_t: <float32>[I]`); a
batch is a `vmap`.

Gate order (weights laid out as `[.., G * H]`, PyTorch's order):
  rnn:   h_t = act(W_ih x_t + W_hh h_tm1 + b)
  lstm:  i, f, g, o = split(W_ih x_t + W_hh h_tm1 + b, 4)            (Hochreiter & Schmidhuber 1997)
         c_t = sigmoid(f) * c_tm1 + sigmoid(i) * tanh(g);  h_t = sigmoid(o) * tanh(c_t)
  gru:   r, z, n_x = split(W_ih x_t + b, 3);  r_h, z_h, n_h = split(W_hh h_tm1, 3)   (Cho et al. 2014)
         r = sigmoid(r + r_h);  z = sigmoid(z + z_h);  n = tanh(n_x + r * (n_h + b_hn))
         h_t = (1 - z) * n + z * h_tm1

Initialisation: weights ~ U(-k, k) with k = init_scale / sqrt(H) (PyTorch's default at
init_scale=1); biases zero except the LSTM forget gate, which starts at `forget_bias`
(Jozefowicz et al. 2015 recommend 1). `init_scale` and `forget_bias` may be traced, so a
population initialises under one `vmap`. Each weight is drawn at counters made of its
unit, gate and row indices (`unit_uniform`), never at its flat position, so unit u's
weights are the same in a net of any width > u.

Padded width: with `hidden_units` (an int, may be traced) only the first `hidden_units`
of the `hidden_size` units are real: k uses sqrt(hidden_units), and every entry that
touches a padded unit is zero (`mask_padding`), so padded units' states stay exactly 0
(see model.py). `input_units` likewise zeroes the `w_ih` rows of padded inputs.
"""

from typing import Any, Callable, NamedTuple

import jax
from jax.extend.random import threefry2x32_p
import jax.numpy as jnp

Params = dict[str, jax.Array]


class Cell(NamedTuple):
  """A recurrent cell: plain functions, see the module docstring."""
  num_gates: int
  init: Callable[..., Params]
  initial_carry: Callable[[int], Any]
  project: Callable[[Params, jax.Array], jax.Array]
  recur: Callable[..., tuple[Any, jax.Array]]

  def step(self, params, carry, x_t):
    return self.recur(params, carry, self.project(params, x_t))


def unit_uniform(key, units, positions, minval=0.0, maxval=1.0):
  """U[minval, maxval) draws at counters units, positions: <uint32> arrays of one rank,
  broadcast together to the shape drawn.

  Counter-based (threefry, Salmon et al. 2011): each draw is the hash of its own counter
  pair under `key`, so it depends on (unit index, position within the unit) alone, never
  on the shape drawn. A member padded to any width therefore gets its narrow net's
  numbers on its real units. (`jax.random` numbers entries by flat position, which moves
  with the row length, and whether even a 1-D draw's prefix is kept depends on the
  global flag jax_threefry_partitionable.)
  """
  k = jax.random.bits(key, (2,), jnp.uint32)
  units, positions = jnp.broadcast_arrays(units, positions)
  # The key stays scalar, as in jax.random: broadcasting it first ran 2x slower.
  bits1, bits2 = threefry2x32_p.bind(k[0], k[1], units, positions)
  # As jax.random.uniform: 23 random mantissa bits under exponent 0 give [1, 2).
  mantissa = ((bits1 ^ bits2) >> 9) | jnp.uint32(0x3F800000)
  unit = jax.lax.bitcast_convert_type(mantissa, jnp.float32) - 1.0
  return unit * (maxval - minval) + minval


def _gate_weights(key, rows, hidden_size, num_gates, bound):
  """U(-bound, bound) <float32>[rows, G * H]; row i, gate g, unit u drawn at counters
  (u, i G + g), so gate blocks and rows keep their numbers at any H."""
  shape = (rows, num_gates, hidden_size)
  row, gate, unit = (jax.lax.broadcasted_iota(jnp.uint32, shape, d) for d in range(3))
  w = unit_uniform(key, unit, row * num_gates + gate, -1.0, 1.0) * bound
  return w.reshape(rows, num_gates * hidden_size)


def _init_weights(key, input_size, hidden_size, num_gates, init_scale, hidden_units):
  k_ih, k_hh = jax.random.split(key)
  fan = hidden_size if hidden_units is None else hidden_units
  bound = init_scale / jnp.sqrt(jnp.asarray(fan, jnp.float32))
  return {
      'w_ih': _gate_weights(k_ih, input_size, hidden_size, num_gates, bound),
      'w_hh': _gate_weights(k_hh, hidden_size, hidden_size, num_gates, bound),
      'b': jnp.zeros((num_gates * hidden_size,), jnp.float32),
  }


def mask_padding(params, hidden_units=None, input_units=None):
  """Zeroes every entry that touches a unit >= hidden_units or an input >= input_units.

  Works for every cell here: padded units own column j of each of the G gate blocks of
  `w_ih`, `w_hh` and `b`, row j of `w_hh`, and entry j of `b_hn` (GRU); padded inputs
  own rows of `w_ih`. `None` means no padding there; both None returns `params` as is.
  """
  if hidden_units is None and input_units is None:
    return params
  input_size, hidden_size = params['w_ih'].shape[0], params['w_hh'].shape[0]
  num_gates = params['w_hh'].shape[1] // hidden_size
  real = lambda n, size: jnp.arange(size) < (size if n is None else n)
  unit = real(hidden_units, hidden_size)
  gate = jnp.tile(unit, num_gates)
  masks = {'w_ih': real(input_units, input_size)[:, None] & gate[None],
           'w_hh': unit[:, None] & gate[None], 'b': gate, 'b_hn': unit}
  return {name: jnp.where(masks[name], value, 0.0) for name, value in params.items()}


def _project(params, x_t):
  return x_t @ params['w_ih'] + params['b']


# --- vanilla RNN --------------------------------------------------------------------

def _rnn_init(key, input_size, hidden_size, *, init_scale=1.0, forget_bias=1.0,
              hidden_units=None, input_units=None):
  del forget_bias
  params = _init_weights(key, input_size, hidden_size, 1, init_scale, hidden_units)
  return mask_padding(params, hidden_units, input_units)


def _rnn_carry(hidden_size):
  return jnp.zeros((hidden_size,), jnp.float32)


def _make_rnn_recur(activation):
  def recur(params, h_tm1, xp_t):
    h_t = activation(xp_t + h_tm1 @ params['w_hh'])
    return h_t, h_t
  return recur


# --- LSTM -----------------------------------------------------------------------------

def _lstm_init(key, input_size, hidden_size, *, init_scale=1.0, forget_bias=1.0,
               hidden_units=None, input_units=None):
  params = _init_weights(key, input_size, hidden_size, 4, init_scale, hidden_units)
  params['b'] = params['b'].at[hidden_size:2 * hidden_size].set(forget_bias)
  return mask_padding(params, hidden_units, input_units)


def _lstm_carry(hidden_size):
  zeros = jnp.zeros((hidden_size,), jnp.float32)
  return (zeros, zeros)


def _lstm_recur(params, carry, xp_t):
  h_tm1, c_tm1 = carry
  i, f, g, o = jnp.split(xp_t + h_tm1 @ params['w_hh'], 4, axis=-1)
  c_t = jax.nn.sigmoid(f) * c_tm1 + jax.nn.sigmoid(i) * jnp.tanh(g)
  h_t = jax.nn.sigmoid(o) * jnp.tanh(c_t)
  return (h_t, c_t), h_t


# --- GRU ------------------------------------------------------------------------------

def _gru_init(key, input_size, hidden_size, *, init_scale=1.0, forget_bias=1.0,
              hidden_units=None, input_units=None):
  del forget_bias
  params = _init_weights(key, input_size, hidden_size, 3, init_scale, hidden_units)
  params['b_hn'] = jnp.zeros((hidden_size,), jnp.float32)
  return mask_padding(params, hidden_units, input_units)


def _gru_recur(params, h_tm1, xp_t):
  r_x, z_x, n_x = jnp.split(xp_t, 3, axis=-1)
  r_h, z_h, n_h = jnp.split(h_tm1 @ params['w_hh'], 3, axis=-1)
  reset = jax.nn.sigmoid(r_x + r_h)
  update = jax.nn.sigmoid(z_x + z_h)
  new = jnp.tanh(n_x + reset * (n_h + params['b_hn']))
  h_t = (1.0 - update) * new + update * h_tm1
  return h_t, h_t


CELLS: dict[str, Cell] = {
    'rnn_tanh': Cell(1, _rnn_init, _rnn_carry, _project, _make_rnn_recur(jnp.tanh)),
    'rnn_relu': Cell(1, _rnn_init, _rnn_carry, _project, _make_rnn_recur(jax.nn.relu)),
    'lstm': Cell(4, _lstm_init, _lstm_carry, _project, _lstm_recur),
    'gru': Cell(3, _gru_init, _rnn_carry, _project, _gru_recur),
}

