"""Successive halving: rungs and decisions against plain-Python references, and survivors
of a real population that continue exactly."""

import math

import jax
import numpy as np
import pytest

from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.search.strategies import halving
from tests import tiny_population as tiny

OK, DIVERGED, STOPPED = pop.OK, pop.DIVERGED, pop.STOPPED


def test_rungs():
  assert halving.rungs(train_steps=100, min_steps=10, eta=3, eval_every=5) == [10, 30, 90]
  assert halving.rungs(train_steps=90, min_steps=10, eta=3, eval_every=10) == [10, 30]
  assert halving.rungs(train_steps=17, min_steps=4, eta=2, eval_every=2) == [4, 8, 16]
  with pytest.raises(InputError, match='^--eta: 1 '):
    halving.rungs(train_steps=100, min_steps=10, eta=1, eval_every=5)
  with pytest.raises(InputError, match='^--min_steps: 5 .*--eval_every=10'):
    halving.rungs(train_steps=100, min_steps=5, eta=2, eval_every=10)
  with pytest.raises(InputError, match='^--min_steps: 15 .*--eval_every=10'):
    halving.rungs(train_steps=100, min_steps=15, eta=2, eval_every=10)
  with pytest.raises(InputError, match='^--min_steps: 100 .*--train_steps'):
    halving.rungs(train_steps=100, min_steps=100, eta=2, eval_every=10)


def _reference_keep(values, status, eta):
  ok = sorted((v, i) for i, (v, s) in enumerate(zip(values, status))
              if s in (OK, STOPPED) and math.isfinite(v))
  kept = {i for _, i in ok[:math.ceil(len(ok) / eta)]}
  return [i in kept for i in range(len(values))]


def test_halving_keep_by_hand():
  values = [0.3, 0.1, np.nan, 0.1, 0.05, np.inf, 0.2, 0.01]
  status = [OK, OK, OK, OK, DIVERGED, OK, OK, STOPPED]
  # OK or stopped early, and finite: 0 (0.3), 1 (0.1), 3 (0.1), 6 (0.2), 7 (0.01, stopped
  # at its best); ceil(5 / 3) = 2: 7, then 1 of the tie 1, 3.
  assert np.flatnonzero(halving.keep_best(values, status, 3)).tolist() == [1, 7]
  assert np.flatnonzero(halving.keep_best(values, status, 2)).tolist() == [1, 3, 7]
  assert np.flatnonzero(halving.keep_best(values, status, 5)).tolist() == [7]
  assert not halving.keep_best([np.nan, 1.0], [OK, DIVERGED], 2).any()
  assert halving.keep_best([2.0], [OK], 4).tolist() == [True]


def test_a_rung_keeps_a_member_stopped_at_its_best_and_cuts_none_when_none_ranks():
  """Across runs: padding rows (uid < 0) never rank, whatever their copied values; a
  member stopped early with the best value stays; a rung where every member diverged
  cuts none, so the population never empties."""
  from rnnjax.search.strategies import strategy  # pylint: disable=g-import-not-at-top

  def table(best, status, uids):
    return strategy.Table(np.asarray(best, float), np.asarray(status), np.asarray(uids),
                          np.asarray(best, float))
  tables = {0: table([0.5, 0.1, 0.1], [OK, STOPPED, STOPPED], [0, 1, -1]),
            1: table([0.3, 0.9], [OK, OK], [2, 3])}
  keep = halving.decide(tables, 4, rung_steps=[4], eta=2)
  assert keep[0].tolist() == [False, True, False] and keep[1].tolist() == [True, False]
  assert halving.decide(tables, 6, rung_steps=[4], eta=2) == {}
  diverged = {0: table([np.nan, np.inf], [DIVERGED, DIVERGED], [0, 1])}
  assert halving.decide(diverged, 4, rung_steps=[4], eta=2) == {}


def test_halving_keep_equals_reference_on_random_tables():
  rng = np.random.default_rng(0)
  for trial in range(300):
    p = rng.integers(1, 30)
    values = rng.choice([0.1, 0.2, 0.3, 0.5, np.nan, np.inf, -np.inf], p,
                        p=[.25, .2, .2, .2, .05, .05, .05])
    values = np.where(rng.random(p) < 0.5, values, rng.normal(size=p))
    status = rng.choice([OK, DIVERGED, STOPPED], p, p=[.7, .15, .15])
    eta = int(rng.integers(2, 5))
    keep = halving.keep_best(values, status, eta)
    assert keep.dtype == bool
    assert keep.tolist() == _reference_keep(values.tolist(), status.tolist(), eta), trial


def test_budget_and_survivors():
  assert halving.survivors(27, 3, 3) == [27, 9, 3, 1]
  assert halving.survivors(10, 3, 2) == [10, 5, 3, 2]
  assert halving.budget(27, train_steps=100, rung_steps=[10, 30, 90], eta=3) == (
      27 * 10 + 9 * 20 + 3 * 60 + 1 * 10)
  # The same count by simulating halving_keep on an all-OK population.
  rung_steps = halving.rungs(train_steps=60, min_steps=5, eta=2, eval_every=5)
  alive, spent, last = np.ones(13, bool), 0, 0
  for step in rung_steps + [60]:
    spent += alive.sum() * (step - last)
    last = step
    values = np.where(alive, np.random.default_rng(step).normal(size=13), np.nan)
    alive = halving.keep_best(values, np.where(alive, OK, STOPPED), 2)
  assert halving.budget(13, train_steps=60, rung_steps=rung_steps, eta=2) == spent


def test_halving_survivors_continue_as_in_the_full_population(trained):
  state, hp, data, metrics = trained
  values, status = metrics['val']['mse'], state.status
  keep = halving.keep_best(values, status, 3)
  assert keep.sum() == 2
  # Padded back to tiny.P rows (as on tiny.P devices), so the compiled chunk serves it again.
  small, small_hp, index = gather.compact_members(
      tiny.copy(state), hp, keep, multiple=tiny.P, sharding=sharding.members_sharding(
          sharding.population_mesh()))
  kept = np.flatnonzero(keep)
  assert index.tolist() == kept.tolist() + [kept[0]] * 4
  tiny.assert_equal(tiny.rows(small, range(2)), tiny.rows(state, kept))
  tiny.assert_equal(tiny.rows(small_hp, range(2)), tiny.rows(hp, kept))
  assert np.asarray(small_hp.uid)[2:].tolist() == [-1, -2, -3, -4]
  assert (np.asarray(small.status)[2:] == STOPPED).all()

  chunk = pop.population_chunk_fn(tiny.CFG)
  full, _ = chunk(tiny.copy(state), hp, data, tiny.KEY)
  compiled = chunk._cache_size()  # pylint: disable=protected-access
  padding = tiny.rows(small, range(2, tiny.P))
  small, _ = chunk(small, small_hp, data, tiny.KEY)
  assert chunk._cache_size() == compiled  # The gathered population: no new program.  # pylint: disable=protected-access
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               tiny.rows(small.params, range(2)), tiny.rows(full.params, kept))
  assert np.asarray(small.step)[:2].tolist() == np.asarray(full.step)[kept].tolist()
  tiny.assert_equal(tiny.rows(small, range(2, tiny.P)), padding)  # Stopped padding never moves.
