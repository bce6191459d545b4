"""The recurrent layers over a whole sequence, with hand-written backward passes.

Same equations as `cells.py` (LSTM gate order i, f, g, o; GRU r, z, n; RNN tanh or relu),
arranged for speed on CPU, where profiling showed that the gate arithmetic, not the
matmuls, dominated a time step:

* Sigmoid gates are computed by `tanh` over contiguous slices of the pre-activation,
  using sigmoid(z) = (tanh(z / 2) + 1) / 2: one `tanh` for all four LSTM gates, one for
  the GRU's r and z. Separate activations on the four LSTM slices ran the step's
  elementwise work about 5x slower.
* The backward pass (`jax.custom_vjp`) is a reverse loop that carries only the state
  gradients (dh, and dc for the LSTM) and stores the pre-activation gradients dz_t; each
  weight gradient is then ONE matmul over all time steps, e.g. dW_hh = sum_t h_tm1^T dz_t,
  instead of T small ones.

`lstm_layer`, `gru_layer`, `rnn_tanh_layer`, `rnn_relu_layer`: (params, xs) with inputs
<float32>[T, B, I] -> hidden states <float32>[T, B, H], from a zero carry, as
`model.unroll_layer` uses. Each vmaps over a population like any function.
"""

import jax
import jax.numpy as jnp


def _gate_constants(hidden_size, dtype):
  """Per-unit scale inside the tanh, and the affine map from tanh to each gate, in the
  inputs' dtype (float32 under `jax_enable_x64` too: the loop's buffers are)."""
  half, one = jnp.full((hidden_size,), 0.5, dtype), jnp.ones((hidden_size,), dtype)
  zero = jnp.zeros((hidden_size,), dtype)
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
  scale, offset = _gate_constants(hidden_size, xs.dtype)
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
  scale, offset = _gate_constants(hidden_size, xs.dtype)
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


# --- GRU ------------------------------------------------------------------------------

def _gru_forward(params, xs):
  """Returns (hs, residuals): gates r, z, n <[T, B, 3H]> and hn = W_hn h_tm1 + b_hn
  <[T, B, H]>, the term that the reset gate scales. h_tm1 is read back from hs.

  Laid out as the LSTM's `_forward` (see there why a fori_loop indexes time).
  """
  w_ih, w_hh, b, b_hn = params['w_ih'], params['w_hh'], params['b'], params['b_hn']
  num_steps, hidden_size = xs.shape[0], w_hh.shape[0]
  two_h = 2 * hidden_size
  zeros = jnp.zeros(xs.shape[1:2] + (hidden_size,), xs.dtype)
  hs = jnp.zeros(xs.shape[:2] + (hidden_size,), xs.dtype)
  gates = jnp.zeros(xs.shape[:2] + (3 * hidden_size,), xs.dtype)

  def step(t, loop):
    h_tm1, hs, gates, hns = loop
    xp = _read(xs, t) @ w_ih + b[None]
    hh = h_tm1 @ w_hh
    # r and z in one tanh: sigmoid(a) = (tanh(a / 2) + 1) / 2.
    rz = jnp.tanh(0.5 * (xp[:, :two_h] + hh[:, :two_h])) * 0.5 + 0.5
    r, z = rz[:, :hidden_size], rz[:, hidden_size:]
    hn = hh[:, two_h:] + b_hn[None]
    n = jnp.tanh(xp[:, two_h:] + r * hn)
    h_t = (1.0 - z) * n + z * h_tm1
    gates_t = jnp.concatenate([rz, n], axis=-1)
    return h_t, _write(hs, h_t, t), _write(gates, gates_t, t), _write(hns, hn, t)

  _, hs, gates, hns = jax.lax.fori_loop(0, num_steps, step, (zeros, hs, gates, hs))
  return hs, (gates, hns)


@jax.custom_vjp
def gru_layer(params, xs):
  """params {'w_ih', 'w_hh', 'b', 'b_hn'}, xs <float32>[T, B, I] -> hs <float32>[T, B, H]."""
  return _gru_forward(params, xs)[0]


def _gru_layer_fwd(params, xs):
  hs, residuals = _gru_forward(params, xs)
  return hs, (params, xs, hs, residuals)


def _gru_layer_bwd(saved, d_hs):
  """Reverse-time loop carrying dh and filling the pre-activation gradients.

  With a_r, a_z, a_n the arguments of sigmoid, sigmoid and tanh:
    da_n = dh (1 - z) (1 - n^2),  da_r = da_n hn r (1 - r),  da_z = dh (h_tm1 - n) z (1 - z),
    dh_tm1 = dh z + [da_r, da_z, da_n r] W_hh^T.
  The loop stores the input side's gradient dxp = [da_r, da_z, da_n] only; the recurrent
  side's differs from it in its n block alone (da_n r), which is made after the loop,
  for the weight gradients: one [T, B, 3H] buffer written per step, not two.
  """
  params, xs, hs, (gates, hns) = saved
  w_ih, w_hh = params['w_ih'], params['w_hh']
  num_steps, hidden_size = xs.shape[0], w_hh.shape[0]
  two_h = 2 * hidden_size
  w_hh_t = w_hh.T  # Materialised once: a transposed operand inside the loop ran 1.5x slower.
  zeros = jnp.zeros_like(hs[0])

  def step(k, loop):
    dh_next, dxps = loop
    t = num_steps - 1 - k
    r, z, n = jnp.split(_read(gates, t), 3, axis=-1)
    h_tm1 = jnp.where(t > 0, _read(hs, jnp.maximum(t - 1, 0)), zeros)
    dh = _read(d_hs, t) + dh_next
    da_n = dh * (1.0 - z) * (1.0 - n * n)
    da_r = da_n * _read(hns, t) * r * (1.0 - r)
    da_z = dh * (h_tm1 - n) * z * (1.0 - z)
    dhh = jnp.concatenate([da_r, da_z, da_n * r], axis=-1)
    dxp = jnp.concatenate([da_r, da_z, da_n], axis=-1)
    return dh * z + dhh @ w_hh_t, _write(dxps, dxp, t)

  _, dxps = jax.lax.fori_loop(0, num_steps, step, (zeros, jnp.zeros_like(gates)))
  # Weight gradients as one matmul per block over every (t, b); h_tm1 = 0 at t = 0 adds
  # nothing, so the recurrent side starts at t = 1.
  dxp_2d = dxps.reshape(-1, 3 * hidden_size)
  h_tm1_2d = hs[:-1].reshape(-1, hidden_size)
  dhn = dxps[..., two_h:] * gates[..., :hidden_size]  # da_n r <[T, B, H]>.
  grads = {'w_ih': xs.reshape(-1, xs.shape[-1]).T @ dxp_2d,
           'w_hh': jnp.concatenate(
               [h_tm1_2d.T @ dxps[1:, :, :two_h].reshape(-1, two_h),
                h_tm1_2d.T @ dhn[1:].reshape(-1, hidden_size)], axis=1),
           'b': dxp_2d.sum(axis=0),
           'b_hn': dhn.sum(axis=(0, 1))}
  d_xs = (dxp_2d @ w_ih.T).reshape(xs.shape)
  return grads, d_xs


gru_layer.defvjp(_gru_layer_fwd, _gru_layer_bwd)


# --- RNN ------------------------------------------------------------------------------

def _make_rnn_layer(activation, derivative):
  """The layer h_t = activation(W_ih x_t + W_hh h_tm1 + b), with activation'(a) given as
  `derivative(h_t)`: the output alone is stored, and h_tm1 is read back from it."""

  def forward(params, xs):
    w_ih, w_hh, b = params['w_ih'], params['w_hh'], params['b']
    hidden_size = w_hh.shape[0]
    zeros = jnp.zeros(xs.shape[1:2] + (hidden_size,), xs.dtype)

    def step(t, loop):
      h_tm1, hs = loop
      h_t = activation(_read(xs, t) @ w_ih + h_tm1 @ w_hh + b[None])
      return h_t, _write(hs, h_t, t)

    hs = jnp.zeros(xs.shape[:2] + (hidden_size,), xs.dtype)
    return jax.lax.fori_loop(0, xs.shape[0], step, (zeros, hs))[1]

  @jax.custom_vjp
  def layer(params, xs):
    """params {'w_ih', 'w_hh', 'b'}, xs <float32>[T, B, I] -> hs <float32>[T, B, H]."""
    return forward(params, xs)

  def layer_fwd(params, xs):
    hs = forward(params, xs)
    return hs, (params, xs, hs)

  def layer_bwd(saved, d_hs):
    """dz_t = (d_hs_t + dh_next) activation'(z_t); dh_tm1 = dz_t W_hh^T."""
    params, xs, hs = saved
    w_ih, w_hh = params['w_ih'], params['w_hh']
    num_steps, hidden_size = xs.shape[0], w_hh.shape[0]
    w_hh_t = w_hh.T  # Materialised once, as in the LSTM.

    def step(k, loop):
      dh_next, dzs = loop
      t = num_steps - 1 - k
      dz = (_read(d_hs, t) + dh_next) * derivative(_read(hs, t))
      return dz @ w_hh_t, _write(dzs, dz, t)

    _, dzs = jax.lax.fori_loop(0, num_steps, step,
                               (jnp.zeros_like(hs[0]), jnp.zeros_like(hs)))
    dz_2d = dzs.reshape(-1, hidden_size)
    grads = {'w_ih': xs.reshape(-1, xs.shape[-1]).T @ dz_2d,
             'w_hh': hs[:-1].reshape(-1, hidden_size).T @ dzs[1:].reshape(-1, hidden_size),
             'b': dz_2d.sum(axis=0)}
    return grads, (dz_2d @ w_ih.T).reshape(xs.shape)

  layer.defvjp(layer_fwd, layer_bwd)
  return layer


# relu'(a) = [a > 0] = [h > 0], as jax.nn.relu's own derivative (0 at a = 0).
rnn_tanh_layer = _make_rnn_layer(jnp.tanh, lambda h: 1.0 - h * h)
rnn_relu_layer = _make_rnn_layer(jax.nn.relu, lambda h: (h > 0.0).astype(h.dtype))
