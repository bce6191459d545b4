"""Tests for rnnjax/engine/generate.py: the sampler's logits, temperature, determinism."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import cells
from rnnjax.engine import generate
from rnnjax.engine import model
from rnnjax.errors import InputError

VOCAB = 7
TOKENS = np.array([3, 0, 6, 6, 1, 5, 2, 4, 0, 3, 3, 1], np.int32)


def _model(cell, num_layers=2, hidden_size=8, seed=0):
  cfg = model.ModelConfig(cell=cell, input_size=VOCAB, hidden_size=hidden_size,
                          num_layers=num_layers, output_size=VOCAB)
  # A larger init scale than usual, so the logits vary and the test has teeth.
  params = model.init_params(cfg, jax.random.key(seed), init_scale=3.0)
  return cfg, params


@functools.partial(jax.jit, static_argnums=0)
def _teacher_forced(cfg, params, tokens):
  """<[T, V]>: whole-sequence layers (model.unroll_layer) and the head, on a batch of 1."""
  cell = cells.CELLS[cfg.cell]
  hs = jax.nn.one_hot(tokens, VOCAB, dtype=jnp.float32)[:, None, :]  # [T, 1, V]
  for layer_params in params['layers']:
    hs = model.unroll_layer(cell, layer_params, hs, model.FUSED.get(cfg.cell))
  return jax.vmap(model.readout, (None, 0))(params['head'], hs[:, 0])


def _next_logits(cfg, params, seq, length=48):
  """<[V]>: teacher-forced logits after `seq`, padded to one length (the model is causal,
  so the padding after it changes nothing) to compile once."""
  padded = np.zeros(length, np.int32)
  padded[:len(seq)] = seq
  return _teacher_forced(cfg, params, padded)[len(seq) - 1]


def _greedy(cfg, params, prime, num_chars):
  """The argmax path, one full re-run of the model per character."""
  seq = list(prime)
  for _ in range(num_chars):
    seq.append(int(np.argmax(_next_logits(cfg, params, seq))))
  return np.array(seq[len(prime):])


@pytest.mark.parametrize('cell', ['lstm', 'gru', 'rnn_tanh'])
def test_step_logits_equal_teacher_forced(cell):
  cfg, params = _model(cell)
  got = generate.step_logits(cfg, params, TOKENS)
  want = _teacher_forced(cfg, params, TOKENS)
  assert got.shape == (len(TOKENS), VOCAB)
  assert float(jnp.std(want)) > 0.1
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
@pytest.mark.parametrize('temperature', [1e-6, 0.0])  # 0: greedy, asked by its name.
def test_low_temperature_gives_argmax_path(cell, temperature):
  cfg, params = _model(cell)
  prime = TOKENS[:4]
  got = generate.sample(cfg, params, key=jax.random.key(1), num_chars=10,
                        temperature=temperature, prime=prime)
  assert got.shape == (10,) and got.dtype == jnp.int32
  np.testing.assert_array_equal(got, _greedy(cfg, params, prime, 10))


def test_sample_draws_from_step_logits():
  """Character i is categorical(fold_in(key, i), logits / temperature) of the text so far."""
  cfg, params = _model('lstm')
  key, temperature, prime = jax.random.key(2), 2.0, TOKENS[:3]
  got = generate.sample(cfg, params, key=key, num_chars=40, temperature=temperature,
                        prime=prime)
  seq = list(prime)
  for key_t in (jax.random.fold_in(generate.prompted(key, prime), i) for i in range(40)):
    logits = _next_logits(cfg, params, seq)
    seq.append(int(jax.random.categorical(key_t, logits / temperature)))
  np.testing.assert_array_equal(got, seq[3:])
  assert len(set(seq[3:])) > 2  # Not a greedy path stuck on one character.


def test_one_seed_draws_apart_after_different_prompts():
  """The noise each character is drawn with depends on the prompt too: with fold_in(key,
  i) alone, two prompts' texts ran together after a few characters (a user's finding:
  284 of 300 the same), which the model's state, forgetting its prompt, made likely."""
  cfg, params = _model('gru')
  draw = lambda prime: np.asarray(generate.sample(cfg, params, key=jax.random.key(3),
                                                  num_chars=200, temperature=1.0,
                                                  prime=np.array(prime, np.int32)))
  assert np.mean(draw([1, 2]) == draw([2, 1])) < 0.5
  np.testing.assert_array_equal(draw([1, 2]), draw([1, 2]))


def test_same_key_same_text_and_keys_differ():
  cfg, params = _model('gru')
  draw = lambda seed: generate.sample(cfg, params, key=jax.random.key(seed), num_chars=40,
                                      prime=TOKENS[:2])
  np.testing.assert_array_equal(draw(3), draw(3))
  assert (np.asarray(draw(3)) != np.asarray(draw(4))).any()
  assert int(jnp.min(draw(3))) >= 0 and int(jnp.max(draw(3))) < VOCAB


def test_a_barred_token_is_never_drawn_and_the_rest_draw_as_before():
  """`never` (a vocabulary's unknown character) is drawn neither at a flat temperature,
  where it would be about one draw in 7, nor greedily where it is the argmax; alone and
  in an ensemble. Barring a token no draw takes leaves the text as it was."""
  cfg, params = _model('lstm')
  kwargs = dict(key=jax.random.key(4), num_chars=200, temperature=50.0, prime=TOKENS[:3])
  free = np.asarray(generate.sample(cfg, params, **kwargs))
  common = int(np.bincount(free, minlength=VOCAB).argmax())
  barred = np.asarray(generate.sample(cfg, params, never=common, **kwargs))
  assert common not in barred and len(set(barred.tolist())) == VOCAB - 1
  stack = jax.tree.map(lambda a: jnp.stack([a]), params)
  assert common not in np.asarray(generate.sample_ensemble([cfg], [stack], [jnp.ones(1)],
                                                          never=common, **kwargs))
  greedy = dict(kwargs, temperature=0.0)
  path = np.asarray(generate.sample(cfg, params, **greedy))
  assert path[0] not in np.asarray(generate.sample(cfg, params, never=int(path[0]),
                                                   **greedy))[:1]
  unused = next(t for t in range(VOCAB) if t not in path)
  np.testing.assert_array_equal(generate.sample(cfg, params, never=unused, **greedy), path)


def test_temperature_does_not_recompile():
  cfg, params = _model('lstm', num_layers=1)
  kwargs = dict(key=jax.random.key(0), num_chars=5, prime=TOKENS[:2])
  generate.sample(cfg, params, temperature=0.5, **kwargs)
  before = generate._sample._cache_size()
  generate.sample(cfg, params, temperature=2.0, **kwargs)
  generate.sample(cfg, params, temperature=0.0, **kwargs)
  assert generate._sample._cache_size() == before


def test_zero_characters():
  cfg, params = _model('lstm', num_layers=1)
  got = generate.sample(cfg, params, key=jax.random.key(0), num_chars=0, prime=TOKENS[:2])
  assert got.shape == (0,)


@pytest.mark.parametrize('kwargs, match', [
    (dict(temperature=-1.0), r'^--temperature: -1.0 must be >= 0 \(0: the most likely '),
    (dict(temperature=float('nan')), '^--temperature: nan must be >= 0'),
    (dict(num_chars=-1), '^--num_chars: -1 must be >= 0'),
    (dict(prime=np.zeros(0, np.int32)), '^--prime: needs at least one character'),
    (dict(prime=np.array([1, VOCAB])), r'^--prime: tokens must lie in \[0, 7\)'),
])
def test_bad_arguments(kwargs, match):
  cfg, params = _model('lstm', num_layers=1)
  args = {'key': jax.random.key(0), 'num_chars': 3, 'prime': TOKENS[:2], **kwargs}
  with pytest.raises(InputError, match=match):
    generate.sample(cfg, params, **args)
  assert issubclass(InputError, ValueError)


def test_ensemble_of_one_samples_as_the_member_and_twins_change_nothing():
  """One member of weight 1 draws the member's own text; two identical members (two
  groups, half the weight each) draw it too: the draw sees their mean probabilities."""
  cfg, params = _model('gru')
  kwargs = dict(key=jax.random.key(5), num_chars=40, temperature=0.7, prime=TOKENS[:3])
  alone = np.asarray(generate.sample(cfg, params, **kwargs))
  stack = lambda n: jax.tree.map(lambda a: jnp.stack([a] * n), params)
  one = generate.sample_ensemble([cfg], [stack(1)], [jnp.ones(1)], **kwargs)
  np.testing.assert_array_equal(np.asarray(one), alone)
  twins = generate.sample_ensemble([cfg, cfg], [stack(1), stack(1)],
                                   [jnp.full(1, 0.5), jnp.full(1, 0.5)], **kwargs)
  np.testing.assert_array_equal(np.asarray(twins), alone)
  # A different member: with weight 0 it changes nothing; with all the weight, its text.
  _, other = _model('gru', seed=1)
  both = jax.tree.map(lambda a, b: jnp.stack([a, b]), params, other)
  mixed = lambda w: np.asarray(generate.sample_ensemble([cfg], [both], [jnp.asarray(w)],
                                                        **kwargs))
  np.testing.assert_array_equal(mixed([1.0, 0.0]), alone)
  np.testing.assert_array_equal(mixed([0.0, 1.0]),
                                np.asarray(generate.sample(cfg, other, **kwargs)))
  assert (mixed([0.0, 1.0]) != alone).any()


def test_an_ensemble_of_one_samples_as_the_model_and_compiles_per_size_bucket():
  """Prompts and lengths are padded to buckets (powers of two) and cut: the text is the
  single model's for every prime and length, and 3 primes x 3 lengths inside two
  buckets compile 1 program, not 9."""
  cfg, params = _model('gru')
  one = jax.tree.map(lambda a: a[None], params)
  key = jax.random.key(5)
  before = generate._sample_ensemble._cache_size()  # pylint: disable=protected-access
  for length in (5, 6, 7):
    for num_chars in (9, 12, 16):
      prime = TOKENS[:length]
      got = generate.sample_ensemble([cfg], [one], [jnp.ones(1)], key=key,
                                     num_chars=num_chars, temperature=1.0, prime=prime)
      want = generate.sample(cfg, params, key=key, num_chars=num_chars, temperature=1.0,
                             prime=prime)
      np.testing.assert_array_equal(got, want)
  assert generate._sample_ensemble._cache_size() - before == 1  # pylint: disable=protected-access
