"""The LSTM recurrence over a whole sequence, with a hand-written backward pass.

Same equations as `cells.py` (gate order i, f, g, o), arranged for speed on CPU, where
profiling showed that the gate arithmetic, not the matmuls, dominated a time step:

* All four gate activations are one `tanh` over the contiguous [4H] pre-activation,
  using sigmoid(z) = (tanh(z / 2) + 1) / 2; separate activations on the four slices ran
  the step's elementwise work about 5x slower.
* The backward pass (`jax.custom_vjp`) is a reverse loop that carries only (dh, dc) and
  stores the gate gradients dz_t; each weight gradient is then ONE matmul over all
  time steps, e.g. dW_hh = sum_t h_tm1^T dz_t, instead of T small ones.

`lstm_layer(params, xs)` maps inputs <float32>[T, B, I] to hidden states
<float32>[T, B, H] from a zero carry. It vmaps over a population like any function.
"""

import jax
import jax.numpy as jnp


def _gate_constants(hidden_size):
  """Per-unit scale inside the tanh, and the affine map from tanh to each gate."""
  half, one = jnp.full((hidden_size,), 0.5), jnp.ones((hidden_size,))
  zero = jnp.zeros((hidden_size,))
  scale = jnp.concatenate([half, half, one, half])
  offset = jnp.concatenate([half, half, zero, half])  # gate = scale * tanh + offset
  return scale, offset


def _read(xs, t):
  return jax.lax.dynamic_index_in_dim(xs, t, keepdims=False)


def _write(xs, x_t, t):
  return jax.lax.dynamic_update_index_in_dim(xs, x_t, t, 0)


def _forward(params, xs):
  """Returns (hs, residuals): gates <[T, B, 4H]>, cells c_t and inputs h_tm1 <[T, B, H]>.

  A `fori_loop` that indexes time explicitly rather than `lax.scan` over xs / ys: under
  the population `vmap` a scan moves the member axis behind time, which cost a
  transpose of every [P, T, B, 4H] array; indexing keeps the member axis first. Loops
  read from one array and write into another: overwriting the array being read made
  XLA copy the whole buffer at every step. The input projection happens inside the
  step, so no [T, B, 4H] projection is ever stored.
  """
  w_ih, w_hh, b = params['w_ih'], params['w_hh'], params['b']
  num_steps, hidden_size = xs.shape[0], w_hh.shape[0]
  scale, offset = _gate_constants(hidden_size)
  zeros = jnp.zeros(xs.shape[1:2] + (hidden_size,), xs.dtype)
  hs = jnp.zeros(xs.shape[:2] + (hidden_size,), xs.dtype)
  gates = jnp.zeros(xs.shape[:2] + (4 * hidden_size,), xs.dtype)

  def step(t, loop):
    h_tm1, c_tm1, hs, h_prev, cs, gates = loop
    z = _read(xs, t) @ w_ih + h_tm1 @ w_hh + b[None]
    gates_t = jnp.tanh(z * scale[None]) * scale[None] + offset[None]
    i, f, g, o = jnp.split(gates_t, 4, axis=-1)
    c_t = f * c_tm1 + i * g
    h_t = o * jnp.tanh(c_t)
    return (h_t, c_t, _write(hs, h_t, t), _write(h_prev, h_tm1, t), _write(cs, c_t, t),
            _write(gates, gates_t, t))

  _, _, hs, h_prev, cs, gates = jax.lax.fori_loop(
      0, num_steps, step, (zeros, zeros, hs, hs, hs, gates))
  return hs, (h_prev, gates, cs)


@jax.custom_vjp
def lstm_layer(params, xs):
  """params {'w_ih', 'w_hh', 'b'}, xs <float32>[T, B, I] -> hs <float32>[T, B, H].

  A zero initial carry, as `model.unroll_layer` uses.
  """
  return _forward(params, xs)[0]


def _lstm_layer_fwd(params, xs):
  hs, residuals = _forward(params, xs)
  return hs, (params, xs, residuals)


def _lstm_layer_bwd(saved, d_hs):
  """Reverse-time loop carrying (dh, dc) and filling the gate gradients dz_t."""
  params, xs, (h_prev, gates, cs) = saved
  w_ih, w_hh = params['w_ih'], params['w_hh']
  num_steps, hidden_size = xs.shape[0], w_hh.shape[0]
  scale, offset = _gate_constants(hidden_size)
  w_hh_t = w_hh.T  # Materialised once: a transposed operand inside the loop ran 1.5x slower.
  zeros = jnp.zeros_like(h_prev[0])

  def step(k, loop):
    dh_next, dc_next, dzs = loop
    t = num_steps - 1 - k
    gates_t = _read(gates, t)
    i, f, g, o = jnp.split(gates_t, 4, axis=-1)
    c_t = _read(cs, t)
    c_tm1 = jnp.where(t > 0, _read(cs, jnp.maximum(t - 1, 0)), zeros)
    dh = _read(d_hs, t) + dh_next
    tanh_c = jnp.tanh(c_t)
    dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
    d_gates = jnp.concatenate([dc * g, dc * c_tm1, dc * i, dh * tanh_c], axis=-1)
    # gate = s * tanh(s z) + offset, so dgate/dz = s^2 (1 - tanh^2).
    tanh_z = (gates_t - offset[None]) / scale[None]
    dz = d_gates * (scale * scale)[None] * (1.0 - tanh_z * tanh_z)
    return dz @ w_hh_t, dc * f, _write(dzs, dz, t)

  _, _, dzs = jax.lax.fori_loop(0, num_steps, step,
                                (zeros, zeros, jnp.zeros_like(gates)))
  # Weight gradients as ONE matmul each over every (t, b), in canonical layout.
  dz_2d = dzs.reshape(-1, 4 * hidden_size)
  grads = {'w_ih': xs.reshape(-1, xs.shape[-1]).T @ dz_2d,
           'w_hh': h_prev.reshape(-1, hidden_size).T @ dz_2d,
           'b': dz_2d.sum(axis=0)}
  d_xs = (dz_2d @ w_ih.T).reshape(xs.shape)
  return grads, d_xs


lstm_layer.defvjp(_lstm_layer_fwd, _lstm_layer_bwd)
