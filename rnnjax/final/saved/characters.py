"""A saved character model's text (tuned.py `evaluate_text`, `sample`): a prompt or text
checked and encoded in the sweep's vocabulary, a text laid out as the sweep scored its
validation and test parts, and characters drawn from the members' averaged
next-character probabilities (engine/generate.py)."""

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.data import text as text_lib
from rnnjax.engine import generate
from rnnjax.engine import sharding
from rnnjax.errors import InputError


def tokens(transform, chars, what: str) -> np.ndarray:
  """<int32>[N]: `chars`, a str, in the sweep's vocabulary (a character outside it read
  as its unknown character's token, data/text.py `encode`); `what` names it in the
  InputError."""
  if not isinstance(chars, str):
    raise InputError(f'{what}: a str, not {type(chars).__name__}')
  return text_lib.encode(chars, transform['vocab'], what=what)


def scored_streams(transform, tokens_) -> tuple:
  """(x <int32>[S, L'], y <int32>[S, L], mask [S, L], L): `tokens_` (>= 2) cut into the
  rows the sweep scored its validation and test parts in (data/text.py `streams`), each
  row of x padded to a bucket of steps L' (sharding.shape_bucket) and the outputs to be
  cut back to L: texts of many lengths compile few programs, and score as the sweep did."""
  x, y, mask = text_lib.streams(tokens_, text_lib.num_streams(len(tokens_),
                                                             transform['eval_streams']))
  steps = x.shape[1]
  padded = np.pad(x, ((0, 0), (0, sharding.shape_bucket(steps) - steps)))
  return padded, y, mask, steps


def sample(groups, vocab: str, prime, *, num_chars: int, temperature: float,
           seed: int, by_prompt: bool) -> str:
  """`num_chars` characters after the tokens `prime`, drawn from the members' (the
  model_files.Group `groups`') next-character probabilities averaged with their weights,
  sharpened by `temperature`; `by_prompt`: the seed's key folded with the prime, as the
  sweep drew (generate.prompted; False for a model saved before 2026-12-08)."""
  total = np.concatenate([np.asarray(g.weights, np.float64) for g in groups]).sum()
  cfgs = tuple(g.cfg.model for g in groups)
  params = tuple(jax.tree.map(jnp.asarray, g.params) for g in groups)
  weights = tuple(jnp.asarray(np.asarray(g.weights) / total, jnp.float32) for g in groups)
  out = generate.sample_ensemble(cfgs, params, weights, key=jax.random.key(seed),
                                 num_chars=num_chars, temperature=temperature, prime=prime,
                                 never=text_lib.unknown_token(vocab), by_prompt=by_prompt)
  return text_lib.decode(np.asarray(out), vocab)
