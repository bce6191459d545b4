"""What every task's functions share: the model's outputs and the draw of a batch."""

import jax

from rnnjax.engine import model


def predict(cfg, params, x, hp=None, key=None, lengths=None):
  """Model outputs; dropout only with `key` (then `hp` gives the rates)."""
  rates = {} if key is None else dict(input_dropout=hp.input_dropout,
                                      dropout_rates=hp.dropout_rates)
  return model.apply(cfg.model, params, x, key=key, lengths=lengths, **rates)


def draw(key, num, train, size):
  """`num` indices in [0, size), or [0, train['count']) when the split has folds' padding
  (data/task_data.py `same_shapes`): the same draws as a split of that size alone."""
  return jax.random.randint(key, (num,), 0, train.get('count', size))
