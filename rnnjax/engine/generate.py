"""Sampling text from a trained character-level model.

The model reads one character at a time as a one-hot vector (`cfg.input_size` = V, the
vocabulary size) and its readout gives the logits of the next character
(`cfg.output_size` = V). `sample` first feeds a `prime` through the stack from a zero
state, then draws each next character from softmax(logits / temperature) and feeds it
back (Graves 2013; Karpathy et al. 2015); `never` is a token never drawn (the
vocabulary's unknown character, data/text.py `unknown_token`; -1: none). No dropout.
Everything after the argument checks is one jitted program: `lax.scan` over the prime,
then over the drawn characters.

Works on one member's parameters; take member i of a population with
`jax.tree.map(lambda a: a[i], params)`.
"""

import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.engine import cells
from rnnjax.engine import model
from rnnjax.engine import sharding
from rnnjax.errors import InputError


def _initial_carries(cfg: model.ModelConfig):
  cell = cells.CELLS[cfg.cell]
  return [cell.initial_carry(cfg.hidden_size) for _ in range(cfg.num_layers)]


def _feed(cfg: model.ModelConfig, params, carries, token):
  """One character through every layer: (carries, token <int>[]) -> (carries, <[V]>)."""
  cell = cells.CELLS[cfg.cell]
  h_t = jax.nn.one_hot(token, cfg.input_size, dtype=jnp.float32)
  new_carries = []
  for layer_params, carry in zip(params['layers'], carries):
    carry, h_t = cell.step(layer_params, carry, h_t)
    new_carries.append(carry)
  return new_carries, model.readout(params['head'], h_t)


@functools.partial(jax.jit, static_argnums=0)
def step_logits(cfg: model.ModelConfig, params, tokens):
  """Teacher-forced logits, one step at a time as the sampler computes them.

  tokens: <int32>[T]. Returns <float32>[T, V]: row t scores the character after
  tokens[t], given tokens[0..t].
  """
  feed = lambda carries, token: _feed(cfg, params, carries, token)
  _, logits = jax.lax.scan(feed, _initial_carries(cfg), tokens)
  return logits


def prompted(key, prime) -> jax.Array:
  """The key the characters after `prime` are drawn with: `key` folded with a checksum of
  the prime's tokens (CRC-32), so that one seed draws apart after different prompts
  (character i's key alone, fold_in(key, i), would draw the same noise after every
  prompt, and the texts would soon run together)."""
  tokens = np.ascontiguousarray(np.asarray(prime, np.int32))
  return jax.random.fold_in(key, zlib.crc32(tokens.tobytes()) & 0x7FFFFFFF)


def _draw(feed, carries, logits, key, num_chars, temperature, never):
  """<int32>[num_chars]: tokens drawn one after another at `temperature`, each fed back
  (`feed(carries, token) -> (carries, next logits)`), starting from `logits`; the token
  `never` (-1: none) is never drawn."""
  greedy = temperature == 0  # The most likely character, as temperature -> 0.
  scale = jnp.where(greedy, 1.0, temperature)
  barred = jnp.arange(logits.shape[-1]) == never

  def draw(state, key_t):
    carries, logits_t = state
    logits_t = jnp.where(barred, -jnp.inf, logits_t)
    token = jnp.where(greedy, jnp.argmax(logits_t),
                      jax.random.categorical(key_t, logits_t / scale)).astype(jnp.int32)
    return feed(carries, token), token

  # fold_in: character i's key does not depend on how many are drawn.
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num_chars))
  _, tokens = jax.lax.scan(draw, (carries, logits), keys)
  return tokens


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sample(cfg, num_chars, params, key, temperature, prime, never):
  feed = lambda carries, token: _feed(cfg, params, carries, token)
  carries, logits = jax.lax.scan(feed, _initial_carries(cfg), prime)

  return _draw(feed, carries, logits[-1], key, num_chars, temperature, never)


def sample(cfg: model.ModelConfig, params, *, key, num_chars: int,
           temperature: float = 1.0, prime, never: int = -1,
           by_prompt: bool = True) -> jax.Array:
  """Draws `num_chars` characters after `prime`.

  Character i is drawn with `jax.random.fold_in(prompted(key, prime), i)` (`by_prompt`
  False: `fold_in(key, i)`, as models saved before 2026-12-08 drew); the same key and
  prime give the same text. `temperature` is traced (changing it does not recompile); towards 0 the
  draw becomes the argmax, which 0 takes (greedy decoding), and above 1 it flattens the
  distribution.

  Args:
    cfg: the model's shapes; input_size = output_size = V.
    params: one member's parameters (see `model.init_params`).
    prime: <int>[T0], T0 >= 1, tokens of the text to continue.
    never: a token never drawn (-1: none); traced.
  Returns:
    <int32>[num_chars].
  """
  if not temperature >= 0:
    raise InputError(f'--temperature: {temperature} must be >= 0 (0: the most likely '
                     'character each step)')
  if num_chars < 0:
    raise InputError(f'--num_chars: {num_chars} must be >= 0')
  prime = jnp.asarray(prime, jnp.int32)
  if prime.ndim != 1 or prime.shape[0] < 1:
    raise InputError(f'--prime: needs at least one character, got shape {prime.shape}')
  if not bool(jnp.all((prime >= 0) & (prime < cfg.input_size))):
    raise InputError(f'--prime: tokens must lie in [0, {cfg.input_size})')
  if cfg.input_size != cfg.output_size:
    raise ValueError(f'a character model has input_size = output_size = V, got '
                     f'{cfg.input_size} and {cfg.output_size}')
  return _sample(cfg, num_chars, params, prompted(key, prime) if by_prompt else key,
                 jnp.float32(temperature), prime, jnp.int32(never))


def sample_ensemble(cfgs, params, weights, *, key, num_chars: int,
                    temperature: float = 1.0, prime, never: int = -1,
                    by_prompt: bool = True) -> jax.Array:
  """Draws `num_chars` characters after `prime` from several models at once (an
  ensemble): every member reads the same characters, and the next one is drawn from
  their weighted mean probabilities raised to 1 / temperature (renormalised).

  Args:
    cfgs: one ModelConfig per group of members of one structure.
    params: per group the members' parameters, leaves <[M_g, ...]>.
    weights: per group <float32>[M_g], summing to 1 over every group.
    prime: <int>[T0], T0 >= 1.
    never: a token never drawn (-1: none).
    by_prompt: the key folded with the prime (`prompted`), as `sample`.
  Returns:
    <int32>[num_chars].
  """
  # Compiled for sizes in buckets (sharding.shape_bucket): the prime padded and read up
  # to its length, the characters drawn to the bucket and cut; character i's key is
  # fold_in(key, i), so the first num_chars are the same whatever the bucket.
  prime = np.asarray(prime, np.int32)
  padded = np.zeros(sharding.shape_bucket(len(prime)), np.int32)
  padded[:len(prime)] = prime
  out = _sample_ensemble(tuple(cfgs), sharding.shape_bucket(num_chars), tuple(params),
                         tuple(weights), prompted(key, prime) if by_prompt else key,
                         jnp.float32(temperature),
                         padded,
                         jnp.int32(len(prime)), jnp.int32(never))
  return out[:num_chars]


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sample_ensemble(cfgs, num_chars, params, weights, key, temperature, prime, length,
                     never):
  carries = [jax.tree.map(lambda c, n=w.shape[0]: jnp.broadcast_to(c, (n,) + c.shape),
                          _initial_carries(cfg)) for cfg, w in zip(cfgs, weights)]

  def feed(carries, token):
    new, probs = [], 0.0
    for cfg, p, w, c in zip(cfgs, params, weights, carries):
      c, logits = jax.vmap(lambda pp, cc, cfg=cfg: _feed(cfg, pp, cc, token))(p, c)
      new.append(c)
      probs = probs + jnp.sum(w[:, None] * jax.nn.softmax(logits), axis=0)
    return new, jnp.log(probs)

  def read(state, t):  # The prime's characters; its padding leaves the state as it is.
    carries, last = state
    new, log_probs = feed(carries, prime[t])
    keep = lambda a, b: jnp.where(t < length, a, b)
    return (jax.tree.map(keep, new, carries), keep(log_probs, last)), None

  start = jnp.zeros((cfgs[0].output_size,), jnp.float32)
  (carries, log_probs), _ = jax.lax.scan(read, (carries, start), jnp.arange(len(prime)))
  return _draw(feed, carries, log_probs, key, num_chars, temperature, never)
