"""Character-level language modelling: a prediction at every step."""

import jax
import jax.numpy as jnp
import optax

from rnnjax.engine import losses
from rnnjax.engine.tasks import common


LN2 = 0.6931471805599453


def batch(cfg, train, key):
  """`batch_size` random windows of seq_len + 1 characters: inputs and next characters."""
  starts = common.draw(key, cfg.batch_size, train, train['tokens'].shape[0] - cfg.seq_len)
  window = jax.vmap(lambda s: jax.lax.dynamic_slice(train['tokens'], (s,),
                                                    (cfg.seq_len + 1,)))(starts)
  return {'x': window[:, :-1], 'y': window[:, 1:]}


def _one_hot(cfg, tokens):
  return jax.nn.one_hot(tokens, cfg.model.input_size, dtype=jnp.float32)


def loss(cfg, params, hp, batch, key):
  logits = common.predict(cfg, params, _one_hot(cfg, batch['x']), hp, key)
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch['y']))


def evaluate(cfg, params, split):
  """Nats and bits per character over every masked prediction of the split."""
  logits = common.predict(cfg, params, _one_hot(cfg, split['x']))
  nll = losses.cross_entropy(logits, split['y'])
  nats = jnp.sum(nll * split['mask']) / jnp.sum(split['mask'])
  return {'nats': nats, 'bpc': nats / LN2}


def outputs(cfg, params, split):
  return jax.nn.softmax(common.predict(cfg, params, _one_hot(cfg, split['x'])))


def score(cfg, probs, split):
  del cfg
  nll = losses.nll_of_probs(probs, split['y'])
  nats = jnp.sum(nll * split['mask']) / jnp.sum(split['mask'])
  return {'nats': nats, 'bpc': nats / LN2}
