"""A tiny real population trained one chunk, shared by the tests of the adaptive
searches and of the gathers that apply their decisions (test_halving.py, test_pbt.py,
test_gather.py; conftest.py's `trained` fixture is `train_one_chunk()`)."""

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.search import hparams

P = 6
# Adam: its state (two moments and a count) is what a copy must carry exactly.
CFG = pop.TrainConfig(model=model.ModelConfig('rnn_tanh', 1, 4, 1, 1), optimizer='adam',
                      batch_size=4, steps_per_chunk=2)
KEY = jax.random.key(7)


def data(n=24, lookback=5, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, lookback, 1)).astype(np.float32)
  y = x.sum(axis=1, keepdims=True) / np.sqrt(lookback)
  scale = {'mean': np.zeros(1, np.float32), 'std': np.ones(1, np.float32)}
  splits = {'train': {'x': x, 'y': y, **scale}, 'val': {'x': x[:8], 'y': y[:8], **scale}}
  return jax.tree.map(jnp.asarray, splits)


def stack_columns(uids, *, hidden_size, dropout_rates, **columns) -> pop.HParams:
  """hparams.stack for values given per hyperparameter rather than per member (tests
  build populations of random values this way).

  uids: <int>[P]; hidden_size: <int>[P]; dropout_rates: <float>[P, L]; columns: other
  traced rows of the table, each <float>[P] (a row left out: the table's default).
  """
  rates, defaults = np.asarray(dropout_rates), hparams.member_values()
  values = [{**defaults, **{name: column[i] for name, column in columns.items()},
             'hidden_size': hidden_size[i], 'dropout': rates[i, 0],
             **{hparams.layer_name(l): rates[i, l] for l in range(rates.shape[1])}}
            for i in range(len(uids))]
  return hparams.stack(values, uids, len(uids), rates.shape[1])


def hparams_of(p=P, layers=1):
  rng = np.random.default_rng(1)
  values = dict(uid=np.arange(10, 10 + p), learning_rate=np.geomspace(1e-3, 3e-2, p),
                weight_decay=rng.uniform(0, 1e-3, p), clip_norm=rng.choice([0.0, 1.0], p),
                momentum=np.full(p, 0.9), beta2=rng.uniform(0.9, 0.999, p),
                input_dropout=rng.uniform(0, 0.3, p),
                dropout_rates=rng.uniform(0, 0.5, (p, layers)), forget_bias=np.ones(p),
                init_scale=rng.uniform(0.5, 1.5, p), hidden_units=[4, 3, 4, 2, 4, 3])
  uids, widths = values.pop('uid'), values.pop('hidden_units')
  return jax.tree.map(jnp.asarray, stack_columns(uids, hidden_size=widths, **values))


def copy(tree):
  """Laid out as the chunk program returns it (which then never recompiles); the
  program donates its input, so it is never handed the fixture's own arrays."""
  return jax.device_put(tree, sharding.members_sharding(sharding.population_mesh()))


def rows(tree, index):
  return jax.tree.map(lambda a: np.asarray(a)[np.asarray(index)], tree)


def assert_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


def train_one_chunk():
  """(state, hp, data, metrics) after one chunk, on the host. Members' hyperparameters
  are laid out as the gathers return them: otherwise the first chunk after a gather
  would compile the program a second time."""
  hp, splits = copy(hparams_of()), data()
  state = pop.population_init_fn(CFG)(hp, KEY)
  state, metrics = pop.population_chunk_fn(CFG)(state, hp, splits, KEY)
  return jax.device_get(state), hp, splits, jax.device_get(metrics)
