"""Through the population: a member depends on its uid and values
alone, not on the width its bucket is padded to, nor on masked vs bucketed mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import cells
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.search import hparams

N, W1, W2 = 3, 5, 8  # The member's width, and two widths it is padded to.
STEPS = 4


def _data(n=40, lookback=6):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(n, lookback, 1)).astype(np.float32)
  y = x.sum(axis=1, keepdims=True) / np.sqrt(lookback)
  return {'train': jax.tree.map(jnp.asarray, {'x': x, 'y': y})}


def _hparams(widths):
  """Member uid 7 of width N first, then wider members (the bucket's widest last)."""
  values = [hparams.member_values(learning_rate=1e-2, beta2=0.99, input_dropout=0.2,
                                  dropout=0.3, dropout_1=0.3, dropout_2=0.25,
                                  init_scale=1.3, hidden_size=w) for w in widths]
  hp = hparams.stack(values, range(7, 7 + len(widths)), len(widths), num_layers=2)
  return jax.tree.map(jnp.asarray, hp)


def _real(cell, params, n):
  """Member 0's width-n network inside population params padded to any width."""
  g = cells.CELLS[cell].num_gates
  cols = lambda a: a.reshape(a.shape[:-1] + (g, -1))[..., :n].reshape(a.shape[:-1] + (-1,))
  layers = []
  for layer, p in enumerate(params['layers']):
    p = jax.tree.map(lambda a: a[0], p)
    q = {'w_ih': cols(p['w_ih'] if layer == 0 else p['w_ih'][:n]),
         'w_hh': cols(p['w_hh'][:n]), 'b': cols(p['b'])}
    if 'b_hn' in p:
      q['b_hn'] = p['b_hn'][:n]
    layers.append(q)
  return {'layers': layers, 'head': {'w': params['head']['w'][0, :n],
                                     'b': params['head']['b'][0]}}


# A gated cell (gate blocks laid out per width) through the population; tests/test_model.py
# covers every cell's layout through the model functions.
@pytest.mark.parametrize('cell', ['lstm'])
def test_member_is_the_same_at_every_padded_width(cell):
  data, key = _data(), jax.random.key(0)
  runs = []
  for width, widths in ((N, [N]), (W1, [N, W1]), (W2, [N, W1, W2])):
    cfg = pop.TrainConfig(model=model.ModelConfig(cell, 1, width, 2, 1), optimizer='adam',
                          batch_size=5, steps_per_chunk=STEPS)
    hp = _hparams(widths)
    state = pop.population_init_fn(cfg)(hp, key)
    chunk = jax.jit(jax.vmap(lambda s, h, cfg=cfg: pop.train_chunk(cfg, s, h, data, key)))
    _, losses = chunk(state, hp)
    runs.append((_real(cell, state.params, N), np.asarray(losses[0])))
  (narrow, narrow_losses), padded = runs[0], runs[1:]
  assert not np.allclose(narrow_losses[0], narrow_losses[-1])
  for params, losses in padded:
    jax.tree.map(np.testing.assert_array_equal, params, narrow)  # Bitwise.
    np.testing.assert_allclose(losses, narrow_losses, rtol=1e-5)
