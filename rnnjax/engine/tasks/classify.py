"""Classification: one label per sequence."""

import jax
import jax.numpy as jnp
import optax

from rnnjax.engine.tasks import common


def batch(cfg, train, key):
  idx = common.draw(key, cfg.batch_size, train, train['x'].shape[0])
  return {k: train[k][idx] for k in ('x', 'length', 'y')}


def loss(cfg, params, hp, batch, key):
  logits = common.predict(cfg, params, batch['x'], hp, key, lengths=batch['length'])
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch['y']))


def evaluate(cfg, params, split):
  logits = common.predict(cfg, params, split['x'], lengths=split['length'])
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, split['y'])
  return {'ce': jnp.mean(ce),
          'accuracy': jnp.mean(jnp.argmax(logits, -1) == split['y'])}


def outputs(cfg, params, split):
  return jax.nn.softmax(common.predict(cfg, params, split['x'], lengths=split['length']))


def score(cfg, probs, split):
  del cfg
  p = jnp.take_along_axis(probs, split['y'][:, None], axis=-1)[:, 0]
  return {'ce': -jnp.mean(jnp.log(p)),
          'accuracy': jnp.mean(jnp.argmax(probs, -1) == split['y'])}
