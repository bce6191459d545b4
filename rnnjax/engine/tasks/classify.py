"""Classification: one label per sequence."""

import jax
import jax.numpy as jnp
import optax

from rnnjax.engine import losses
from rnnjax.engine.tasks import common


def batch(cfg, train, key):
  """Training cases drawn at random, each with `share`, its class's share of the
  training cases (the loss's weights, `loss`)."""
  num = train['x'].shape[0]
  idx = common.draw(key, cfg.batch_size, train, num)
  real = (jnp.arange(num) < train.get('count', num)).astype(jnp.float32)  # Folds' padding.
  counts = jnp.zeros(cfg.model.output_size, jnp.float32).at[train['y']].add(real)
  drawn = {k: train[k][idx] for k in ('x', 'length', 'y')}
  return {**drawn, 'share': counts[drawn['y']] / jnp.sum(real)}


def loss(cfg, params, hp, batch, key):
  """The cross-entropy, each case weighed by its class's share to the power
  -hp.class_balance over the batch's total weight (torch's weighted mean): 0 weighs
  every case alike; 1 every class alike in total (scikit-learn's 'balanced')."""
  logits = common.predict(cfg, params, batch['x'], hp, key, lengths=batch['length'])
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, batch['y'])
  weight = batch['share'] ** -hp.class_balance
  return jnp.sum(weight * ce) / jnp.sum(weight)


def balanced_accuracy(scores, y):
  """The mean over the classes present in `y` <int>[N] of the fraction of their cases
  whose highest score <[N, K]> is theirs: accuracy with every class weighed alike, which
  a model that never predicts a rare class cannot pass off as high."""
  hit = (jnp.argmax(scores, -1) == y).astype(jnp.float32)
  onehot = jax.nn.one_hot(y, scores.shape[-1], dtype=jnp.float32)
  cases, hits = onehot.sum(0), (onehot * hit[:, None]).sum(0)
  present = cases > 0
  return jnp.sum(jnp.where(present, hits / jnp.maximum(cases, 1), 0.0)) / jnp.maximum(
      present.sum(), 1)


def balanced_ce(ce, y, num_classes):
  """The mean over the classes present in `y` <int>[N] of their cases' mean
  cross-entropy `ce` <[N]>: the cross-entropy with every class weighed alike, which a
  model sure of the common class everywhere cannot pass off as low (--selection)."""
  onehot = jax.nn.one_hot(y, num_classes, dtype=jnp.float32)
  cases, total = onehot.sum(0), (onehot * ce[:, None]).sum(0)
  present = cases > 0
  return jnp.sum(jnp.where(present, total / jnp.maximum(cases, 1), 0.0)) / jnp.maximum(
      present.sum(), 1)


def _metrics(ce, scores, y):
  return {'ce': jnp.mean(ce), 'balanced_ce': balanced_ce(ce, y, scores.shape[-1]),
          'accuracy': jnp.mean(jnp.argmax(scores, -1) == y),
          'balanced_accuracy': balanced_accuracy(scores, y)}


def evaluate(cfg, params, split):
  logits = common.predict(cfg, params, split['x'], lengths=split['length'])
  # Not optax's: it scores a confident, correct case exactly 0 (losses.cross_entropy).
  ce = losses.cross_entropy(logits, split['y'])
  return _metrics(ce, logits, split['y'])


def outputs(cfg, params, split):
  return jax.nn.softmax(common.predict(cfg, params, split['x'], lengths=split['length']))


def score(cfg, probs, split):
  del cfg
  return _metrics(losses.nll_of_probs(probs, split['y']), probs, split['y'])
