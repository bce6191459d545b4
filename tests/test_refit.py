"""Refit: the final model's members trained again on train + validation."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.final.choice import refit
from rnnjax.run import sweep
from rnnjax.search import hparams
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from rnnjax.search import waves as plan_lib

SPEC = sweep.SweepSpec(classical_baselines=False,
    dataset='shampoo_sales', lookback=4, val_size=6, test_size=6, cell='gru',
    hidden_size='6', batch_size='4', learning_rate='grid(3e-3,3e-2)', dropout='0.1',
    train_steps=8, eval_every=2, ensemble='single', refit=1)


def test_train_and_val_joins_the_examples_and_keeps_the_scaling():
  arrays = {'train': {'x': np.zeros((3, 2)), 'y': np.zeros(3), 'mean': np.ones(1)},
            'val': {'x': np.ones((2, 2)), 'y': np.ones(2), 'mean': np.full(1, 5.0)},
            'test': {'x': np.full((1, 2), 7.0)}}
  merged = refit.train_and_val(arrays)
  np.testing.assert_array_equal(merged['train']['x'], [[0, 0]] * 3 + [[1, 1]] * 2)
  np.testing.assert_array_equal(merged['train']['y'], [0, 0, 0, 1, 1])
  np.testing.assert_array_equal(merged['train']['mean'], [1.0])  # Training statistics.
  assert merged['test'] is arrays['test'] and merged['val'] is arrays['val']


# The second: its refit member, early-stopped by --patience=1, would stop at step 26 of 32.
@pytest.mark.parametrize('changes', [
    {}, dict(patience=1, horizon=3, learning_rate='grid(3e-2,1e-1)', train_steps=40)])
def test_refit_equals_the_member_trained_alone_on_train_and_val(tmp_path, changes):
  """The refit member trains its best step's count of steps on every window before the
  test part (those across the end of training too), with no early stopping."""
  spec = dataclasses.replace(SPEC, **changes)
  horizon = spec.horizon
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  final = summary['final']
  assert final['kind'] == 'refit' and final['before_refit']['kind'] == 'single'
  (uid,) = final['members']
  member = next(m for m in summary['members'] if m['uid'] == uid)
  assert final['steps'] == {str(uid): member['best_step']}
  # The same member, by hand: one member, a Python loop of training steps, the
  # training and validation windows as its training data.
  plan = spec_lib.make_plan(spec)
  data = spec_lib.load_data(spec, 4)
  cfg = plan_lib.train_config(plan.buckets[member['bucket']], data, spec)
  values = next(m.hparams for m in plan.members if m.uid == uid)
  hp = hparams.stack([values], [refit.REFIT_UID + uid], 1, num_layers=1)
  hp = jax.tree.map(lambda a: jnp.asarray(a[0]), hp)
  arrays = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32),
                        refit.train_and_val(data.arrays))
  # Windows t (targets t, t + 1, ... ) from the lookback to the test part's start.
  _, val_end = data.info['split_points']
  assert len(arrays['train']['x']) == val_end - 4 - (horizon - 1)
  key = jax.random.key(SPEC.seed)
  state = pop.init_member(cfg, hp, key)
  step = jax.jit(lambda s: pop.train_step(cfg, s, hp, arrays, key))
  for _ in range(member['best_step']):
    state, _ = step(state)
  task = tasks.TASKS['forecast']
  want = task.score(cfg, task.outputs(cfg, state.params, arrays['test']), arrays['test'])
  for name, value in want.items():
    np.testing.assert_allclose(final['test'][name], value, rtol=1e-4)
  assert final['test']['rmse'] != final['before_refit']['test']['rmse']


def test_refit_is_refused_for_charlm_and_negative_seeds():
  for bad in (dataclasses.replace(SPEC, refit=-1),
              dataclasses.replace(SPEC, task='charlm', dataset='', lookback='24')):
    with pytest.raises(InputError, match='^--refit: '):
      rules.check(bad)
