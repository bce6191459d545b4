"""The final model: ensemble choices against plain-Python references, and the pool's
outputs against each member's own."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.engine import tasks
from rnnjax.final.choice import ensemble
from rnnjax.final.choice import summary as summary_lib
from rnnjax.search import hparams
from rnnjax.search import spec as spec_lib
from rnnjax.search import waves as plan_lib


def _pool(m=8, n=30, seed=0):
  """Noisy predictions of a target y: members with independent errors, best first."""
  rng = np.random.default_rng(seed)
  y = rng.normal(size=n)
  noise = rng.normal(size=(m, n)) * np.linspace(0.5, 1.5, m)[:, None]
  outputs = y + noise
  mse = lambda o: float(np.mean((o - y) ** 2))
  order = np.argsort([mse(o) for o in outputs], kind='stable')
  return outputs[order], mse


def _each(score):
  """choose's score, a batch's scores, from one output's score."""
  return lambda outputs: np.asarray([score(o) for o in outputs])


def test_top_takes_the_k_best_with_the_best_validation_mean():
  outputs, mse = _pool()
  picks = ensemble.choose(outputs, _each(mse), kind='top', size=6)
  scores = [mse(outputs[:k].mean(axis=0)) for k in range(1, 7)]
  assert picks == list(range(int(np.argmin(scores)) + 1))
  assert len(picks) > 1  # Independent errors: averaging helps.
  assert ensemble.choose(outputs, _each(mse), kind='top', size=1) == [0]
  for how in ('mean', 'median'):  # The k best's combinations, scored in one call.
    calls = []
    ensemble.choose(outputs, lambda o: calls.append(o) or _each(mse)(o), kind='top',
                    size=6, how=how)
    assert len(calls) == 1
    want = [ensemble.combine(outputs[:k], np.ones(k, int), how) for k in range(1, 7)]
    np.testing.assert_allclose(calls[0], want, rtol=1e-12)


def test_fixed_keeps_the_size_best_where_top_would_keep_fewer():
  # Member 0 is exact and the rest are noise: on validation the best mean is member 0
  # alone, which top and greedy keep; fixed keeps the 5 best all the same, without
  # scoring any.
  y = np.linspace(0, 1, 30)
  outputs = np.concatenate([y[None], y + np.random.default_rng(1).normal(
      size=(7, len(y))) * 3])
  exact = lambda o: float(np.mean((o - y) ** 2))
  assert ensemble.choose(outputs, _each(exact), kind='top', size=5, how='median') == [0]
  assert ensemble.choose(outputs, _each(exact), kind='greedy', size=5) == [0]

  def never(o):
    raise AssertionError('fixed scored a combination')
  assert ensemble.choose(outputs, never, kind='fixed', size=5,
                         how='median') == [0, 1, 2, 3, 4]
  assert ensemble.choose(outputs, never, kind='fixed', size=20) == list(range(8))


def test_the_median_of_forecast_changes_is_the_median_of_the_members_levels():
  """--difference: members forecast changes; the median of their level paths (last
  level + running sums of changes x std + mean), not the running sum of the changes'
  medians, at every step; the mean is the same either way."""
  rng = np.random.default_rng(3)
  changes = rng.normal(size=(5, 4, 6, 2))  # [M, N, horizon, C], scaled.
  counts = np.array([1, 2, 1, 1, 3])
  last, std, mean = rng.normal(size=(4, 1, 2)), np.array([2.0, 0.5]), np.array([0.3, -1])
  levels = lambda z: last + np.cumsum(z * std + mean, axis=-2)
  want = np.median(np.repeat(levels(changes), counts, axis=0), axis=0)
  got = ensemble.combine(changes, counts, 'median', paths=True)
  np.testing.assert_allclose(levels(got), want, rtol=1e-12, atol=1e-12)
  # The reviewer's case: changes [10, -20], [0, 0], [-5, 0]: levels' median [0, -5].
  small = np.asarray([[10, -20], [0, 0], [-5, 0]], float)[:, None, :, None]
  np.testing.assert_allclose(np.cumsum(ensemble.combine(small, [1, 1, 1], 'median',
                                                        paths=True), axis=1)[0, :, 0],
                             [0, -5])
  np.testing.assert_allclose(ensemble.combine(changes, counts, 'mean', paths=True),
                             ensemble.combine(changes, counts, 'mean'))
  np.testing.assert_allclose(ensemble.mean_outputs(changes, [4, 1, 4, 0], 'median', True),
                             ensemble.combine(changes, [1, 1, 0, 0, 2], 'median', True))


def test_a_differenced_median_ensemble_combines_levels_in_the_sweep_refit_and_model(
    tmp_path, monkeypatch):
  """The summary's choice and scores, the refit and the saved model all combine a
  --difference forecast's members as level paths."""
  import rnnjax  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  calls, combine = [], ensemble.combine

  def recording(outputs, counts, how='mean', paths=False):
    calls.append((how, paths))
    return combine(outputs, counts, how, paths)
  monkeypatch.setattr(ensemble, 'combine', recording)
  spec = spec_lib.SweepSpec(classical_baselines=False, dataset='shampoo_sales',
                            lookback='4', horizon=3, val_size=6, test_size=6,
                            difference=True, cell='gru', hidden_size='4', batch_size='4',
                            learning_rate='grid(3e-3,1e-2,3e-2)', train_steps=4,
                            eval_every=2, ensemble='top', ensemble_size=3,
                            combine='median', refit=1)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert summary['final']['kind'] == 'refit'
  model = rnnjax.load(str(tmp_path / 'wd'))
  model.forecast(np.arange(40.0), 3)
  assert len(calls) >= 4 and set(calls) == {('median', True)}, calls
  # A model saved before the manifest said so combines as it did then: the changes.
  del model.manifest['combine_paths']
  calls.clear()
  model.forecast(np.arange(40.0), 3)
  assert set(calls) == {('median', False)}, calls


def _caruana(outputs, score, size, how='mean'):
  """Ensemble selection as Caruana et al. (2004) write it: forward steps with
  replacement from the best single model, while the hillclimb set improves."""
  chosen, of = [0], {'mean': np.mean, 'median': np.median}[how]
  while len(chosen) < size:
    candidates = [(score(of([outputs[i] for i in chosen + [j]], axis=0)), j)
                  for j in range(len(outputs))]
    value, j = min(candidates)
    if value >= score(of([outputs[i] for i in chosen], axis=0)):
      break
    chosen.append(j)
  return chosen


@pytest.mark.parametrize('how', ['mean', 'median'])
@pytest.mark.parametrize('seed', range(5))
def test_greedy_equals_ensemble_selection(seed, how):
  outputs, mse = _pool(m=6, seed=seed)
  picks = ensemble.choose(outputs, _each(mse), kind='greedy', size=10, how=how)
  assert picks == _caruana(outputs, mse, 10, how)
  np.testing.assert_allclose(ensemble.mean_outputs(outputs, picks, how),
                             getattr(np, how)([outputs[i] for i in picks], axis=0))


def test_greedy_takes_the_first_of_tied_candidates():
  """Members 1 and 2 added to member 0 give means of the same score, exactly: the first
  is added, as np.argmin (and Caruana's min over (score, index)) takes it."""
  y = np.zeros(2)
  outputs = np.asarray([[1.0, 0.0], [-1.0, 0.5], [-1.0, -0.5]])
  mse = lambda o: float(np.mean((o - y) ** 2))
  assert mse((outputs[0] + outputs[1]) / 2) == mse((outputs[0] + outputs[2]) / 2)
  assert ensemble.choose(outputs, _each(mse), kind='greedy', size=2) == [0, 1]
  assert _caruana(outputs, mse, 2) == [0, 1]
  assert ensemble.choose(outputs[[0, 2, 1]], _each(mse), kind='greedy', size=2) == [0, 1]


def test_greedy_equals_ensemble_selection_on_a_pool_of_fifty():
  outputs, mse = _pool(m=50, n=40, seed=7)
  picks = ensemble.choose(outputs, _each(mse), kind='greedy', size=30)
  assert picks == _caruana(outputs, mse, 30)
  assert len(picks) > 5 and len(set(picks)) < len(picks)  # Some members added twice.
  # Fewer picks than it would add: `size` of them, no more.
  assert ensemble.choose(outputs, _each(mse), kind='greedy', size=3) == picks[:3]
  assert _caruana(outputs, mse, 3) == picks[:3]


@pytest.mark.parametrize('batch_values', [2 ** 24, 90])
def test_greedy_scores_each_round_s_candidates_in_one_call(monkeypatch, batch_values):
  """A pool of thousands is thousands of candidates a round: one call scores them all
  (or, where they hold more than _BATCH_VALUES values, as few calls as hold them), and
  the members chosen are the same."""
  outputs, mse = _pool(m=50, n=40, seed=7)
  want = ensemble.choose(outputs, _each(mse), kind='greedy', size=30)
  monkeypatch.setattr(ensemble, '_BATCH_VALUES', batch_values)
  calls = []

  def scores(candidates):
    calls.append(len(candidates))
    return _each(mse)(candidates)
  assert ensemble.choose(outputs, scores, kind='greedy', size=30) == want
  rounds = len(want)  # Every pick but the first, and the round that stops.
  per_call = 50 if batch_values > 50 * 40 else 2
  assert calls == [per_call] * (50 // per_call) * rounds


def test_the_selection_scorer_scores_each_output_as_it_does_alone():
  """Bit for bit, so that greedy selection breaks a near tie as one call a candidate
  did: a panel pool of 50 members' validation forecasts (200 series x 8 steps), scored
  by OWA, chooses the same members as with the task's scorer called once a candidate."""
  rng = np.random.default_rng(0)
  y = rng.uniform(50, 150, size=(200, 8, 1)).astype(np.float32)
  split = {'y': jnp.asarray(y), 'weight': jnp.asarray(rng.uniform(0.5, 2, 200), jnp.float32),
           'mase_denom': jnp.asarray(rng.uniform(1, 5, 200), jnp.float32),
           'naive2': jnp.asarray([10.0, 2.0], jnp.float32)}
  outputs = (y[None, ..., 0] + rng.normal(size=(50, 1, 1)) * 2 +
             rng.normal(size=(50, 200, 8)) * 5).astype(np.float32)
  alone = ensemble.scorer('panel', None)
  scores = ensemble.selection_scorer('panel', None, 'owa')
  candidates = (outputs[0].astype(np.float64) + outputs) / 2
  want = [float(alone(c, split)['owa']) for c in candidates]
  np.testing.assert_array_equal(np.asarray(scores(candidates, split), np.float64), want)
  one_each = _each(lambda o: float(alone(o, split)['owa']))
  picks = ensemble.choose(outputs, lambda o: scores(o, split), kind='greedy', size=20)
  assert picks == ensemble.choose(outputs, one_each, kind='greedy', size=20)
  assert len(picks) > 5


def test_single_and_unknown_kind():
  outputs, mse = _pool()
  assert ensemble.choose(outputs, _each(mse), kind='single', size=16) == [0]
  with pytest.raises(ValueError, match='unknown ensemble kind'):
    ensemble.choose(outputs, _each(mse), kind='bagged', size=4)


def test_pool_outputs_are_each_members_own_and_their_mean_scores_as_numpy():
  """Members of two runs gathered in ranking order: each row equals that member's
  prediction computed alone, and the final model's forecast is their mean."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(12, 5, 1)).astype(np.float32)
  y = x.sum(axis=1, keepdims=True).astype(np.float32)
  scale = {'mean': np.zeros(1, np.float32), 'std': np.full(1, 2.0, np.float32)}
  split = jax.tree.map(jnp.asarray, {'x': x, 'y': y, **scale})
  mesh = sharding.population_mesh()
  runs, where = [], {}
  for r, cell in enumerate(('gru', 'lstm')):
    cfg = pop.TrainConfig(model=model.ModelConfig(cell, 1, 4, 1, 1), optimizer='adam',
                          batch_size=4, steps_per_chunk=1)
    size = sharding.padded_size(3, mesh)
    values = [hparams.member_values(hidden_size=4, init_scale=0.5 + i) for i in range(3)]
    hp = hparams.stack(values, [10 * r + i for i in range(3)], size, num_layers=1)
    state = pop.population_init_fn(cfg, mesh)(hp, jax.random.key(r))
    runs.append(plan_lib.Run(r, cfg, tuple(int(u) for u in hp.uid), hp, state=state))
    where.update({10 * r + i: (r, i) for i in range(3)})
  uids = [11, 2, 10, 0]  # A ranking that interleaves the runs.
  out = ensemble.pool_outputs(runs, where, uids, {(None, 0): {'val': split}}, 'val', mesh)
  for k, uid in enumerate(uids):
    r, i = where[uid]
    params = jax.tree.map(lambda a: a[i], runs[r].state.best_params)
    alone = tasks.TASKS['forecast'].outputs(runs[r].cfg, params, split)
    np.testing.assert_allclose(out[k], alone, rtol=1e-6, atol=1e-7)
  mean = ensemble.mean_outputs(out, [0, 1, 1])
  out = out.astype(np.float64)
  np.testing.assert_allclose(mean, (out[0] + 2 * out[1]) / 3, rtol=1e-12)
  metrics = tasks.TASKS['forecast'].score(runs[0].cfg, jnp.asarray(mean, jnp.float32),
                                          split)
  want = np.sqrt(np.mean(((mean - y) * 2.0) ** 2))
  np.testing.assert_allclose(metrics['rmse'], want, rtol=1e-5)


@pytest.mark.parametrize('task', ['classify', 'charlm'])
def test_probability_scores_equal_the_members_own_metrics(task):
  """For one member, score(outputs) is its evaluate(): mean probabilities of one."""
  rng = np.random.default_rng(1)
  if task == 'classify':
    split = {'x': rng.normal(size=(9, 6, 2)).astype(np.float32),
             'length': np.asarray([6, 3, 5, 6, 1, 2, 4, 6, 6], np.int32),
             'y': rng.integers(0, 3, 9).astype(np.int32)}
    cfg_model = model.ModelConfig('gru', 2, 5, 1, 3, readout='last_valid')
  else:
    split = {'x': rng.integers(0, 7, (4, 6)).astype(np.int32),
             'y': rng.integers(0, 7, (4, 6)).astype(np.int32),
             'mask': np.asarray(list(itertools.islice(itertools.cycle([1, 1, 0]), 24)),
                                np.float32).reshape(4, 6)}
    cfg_model = model.ModelConfig('lstm', 7, 5, 1, 7, readout='all')
  cfg = pop.TrainConfig(model=cfg_model, optimizer='adam', batch_size=2,
                        steps_per_chunk=1, task=task)
  params = model.init_params(cfg_model, jax.random.key(3))
  split = jax.tree.map(jnp.asarray, split)
  t = tasks.TASKS[task]
  own = t.evaluate(cfg, params, split)
  scored = t.score(cfg, t.outputs(cfg, params, split), split)
  for name, value in own.items():
    np.testing.assert_allclose(scored[name], value, rtol=1e-5)


@pytest.mark.parametrize('kind', ['top', 'greedy'])
def test_final_model_is_chosen_on_validation_and_scored_on_test(kind):
  """Contract 7 for the final model. Validation's targets are the mean of members 0 and
  1's forecasts, test's member 0's own: validation picks [0, 1] (k = 2), test would pick
  [0]. The final model is the pair, with a validation score of 0 and the pair's test
  score."""
  rng = np.random.default_rng(2)
  mesh = sharding.population_mesh()
  cfg = pop.TrainConfig(model=model.ModelConfig('gru', 1, 4, 1, 1), optimizer='adam',
                        batch_size=4, steps_per_chunk=1)
  values = [hparams.member_values(hidden_size=4, init_scale=0.5 + i) for i in range(3)]
  hp = hparams.stack(values, [0, 1, 2], sharding.padded_size(3, mesh), num_layers=1)
  state = pop.population_init_fn(cfg, mesh)(hp, jax.random.key(0))
  runs = [plan_lib.Run(0, cfg, tuple(int(u) for u in hp.uid), hp, state=state)]
  where = {u: (0, u) for u in range(3)}
  scale = {'mean': np.zeros(1, np.float32), 'std': np.full(1, 2.0, np.float32)}
  outputs, splits = {}, {}
  for name in ('val', 'test'):  # Different inputs: outputs differ too.
    x = rng.normal(size=(8, 5, 1)).astype(np.float32)
    split = {'x': x, 'y': np.zeros((8, 1, 1), np.float32), **scale}
    outputs[name] = ensemble.pool_outputs(
        runs, where, [0, 1, 2], {(None, 0): {name: jax.tree.map(jnp.asarray, split)}},
        name, mesh).astype(np.float64)
    splits[name] = split
  splits['val']['y'] = ((outputs['val'][0] + outputs['val'][1]) / 2).astype(np.float32)
  splits['test']['y'] = outputs['test'][0].astype(np.float32)
  spec = spec_lib.SweepSpec(ensemble=kind, ensemble_size=3)
  final = summary_lib.final_model(
      spec, [0, 1, 2], runs, where, {(None, 0): jax.tree.map(jnp.asarray, splits)},
      mesh=mesh, group_size=0, rename=lambda metrics: metrics)
  assert final['kind'] == 'ensemble' and final['members'] == [0, 1]
  assert final['val']['rmse'] < 1e-6
  want = np.sqrt(np.mean(((outputs['test'][1] - outputs['test'][0]) / 2 * 2.0) ** 2))
  assert want > 0.01
  np.testing.assert_allclose(final['test']['rmse'], want, rtol=1e-5)


def test_a_member_holding_a_better_ranked_one_s_weights_is_counted_once():
  """PBT copies a source's best parameters with its state: such a copy's outputs are the
  source's, and the final model takes the next member in the ranking instead."""
  mesh = sharding.population_mesh()
  cfg = pop.TrainConfig(model=model.ModelConfig('gru', 1, 4, 1, 1), optimizer='adam',
                        batch_size=4, steps_per_chunk=1)
  values = [hparams.member_values(hidden_size=4, init_scale=0.5 + i) for i in range(4)]
  hp = hparams.stack(values, [0, 1, 2, 3], sharding.padded_size(4, mesh), num_layers=1)
  state = pop.population_init_fn(cfg, mesh)(hp, jax.random.key(0))
  state = state.replace(best_params=jax.tree.map(lambda a: a.at[3].set(a[0]),
                                                 state.best_params))  # 3 holds 0's.
  runs = [plan_lib.Run(0, cfg, tuple(int(u) for u in hp.uid), hp, state=state)]
  rng = np.random.default_rng(5)
  split = {'x': rng.normal(size=(8, 5, 1)).astype(np.float32),
           'y': rng.normal(size=(8, 1, 1)).astype(np.float32),
           'mean': np.zeros(1, np.float32), 'std': np.ones(1, np.float32)}
  splits = {(None, 0): jax.tree.map(jnp.asarray, {'val': split, 'test': split})}
  spec = spec_lib.SweepSpec(ensemble='top', ensemble_size=2)
  final = summary_lib.final_model(spec, [0, 3, 1, 2], runs, {u: (0, u) for u in range(4)},
                                  splits, mesh=mesh, group_size=0, rename=lambda m: m)
  assert final['members'] == [0, 1] and final['same_weights'] == [3]
