"""`--search=tpe` (rnnjax/search/tpe.py): axes as Optuna distributions, seeded proposals, plans of
given configurations, and its bad-input lines. A whole tpe sweep (each round told its
configurations' values; killed and resumed): tests/test_resume.py."""

import dataclasses
import os

import optuna
import pytest

from rnnjax.errors import InputError
from rnnjax.run import sweep
from rnnjax.search import plan as search_plan
from rnnjax.search import space
from rnnjax.search import spec as spec_lib
from rnnjax.search import tpe

SPEC = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                       hidden_size='6', batch_size='4', search='tpe', rounds=2,
                       num_members=2, num_seeds=2,
                       learning_rate='loguniform(1e-3,1e-1)', dropout='uniform(0,0.3)',
                       forget_bias='grid(0,1)', clip_norm='1', train_steps=4,
                       eval_every=2)


def test_axes_become_distributions():
  axes = space.axes_of({'cell': 'grid(lstm,gru)', 'hidden_size': 'randint(4,8)',
                         'learning_rate': 'loguniform(1e-4,1e-1)', 'dropout': 'uniform(0,0.5)',
                         'weight_decay': '0'})
  dists = tpe.distributions(axes)
  assert dists['cell'].choices == ('lstm', 'gru')  # Structural: categorical.
  assert (dists['hidden_size'].low, dists['hidden_size'].high) == (4, 8)
  assert isinstance(dists['hidden_size'], optuna.distributions.IntDistribution)
  assert dists['learning_rate'].log and (dists['learning_rate'].low,
                                         dists['learning_rate'].high) == (1e-4, 1e-1)
  assert not dists['dropout'].log
  assert 'weight_decay' not in dists and 'optimizer' not in dists  # Constants.


def test_proposals_are_seeded_and_keep_the_ranges():
  first = tpe.propose(SPEC, None, 0)
  assert first == tpe.propose(SPEC, None, 0)
  assert first != tpe.propose(dataclasses.replace(SPEC, seed=1), None, 0)
  assert len(first) == SPEC.num_members
  for config in first:
    assert 1e-3 <= config['learning_rate'] <= 1e-1 and 0 <= config['dropout'] <= 0.3
    assert config['forget_bias'] in (0.0, 1.0) and config['clip_norm'] == 1.0
    assert config['cell'] == 'lstm'


@pytest.mark.parametrize('changes, message', [
    (dict(search='random', num_members=4, rounds=3), '--rounds: 3, but rounds are for '
     '--search=tpe only'),
    (dict(rounds=0), '--rounds: 0; --search=tpe needs --rounds >= 1'),
    (dict(num_members=0), '--num_members: 0; --search=tpe needs'),
])
def test_bad_input_is_one_line(changes, message, tmp_path):
  spec = dataclasses.replace(SPEC, **changes)
  with pytest.raises(InputError, match='^' + message):
    sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert not os.path.exists(tmp_path / 'wd')


def test_plan_takes_given_configurations_numbered_after_earlier_rounds():
  first = spec_lib.make_plan(SPEC, configs=tpe.propose(SPEC, None, 0))
  then = spec_lib.make_plan(SPEC, configs=tpe.propose(SPEC, None, 1))
  assert [m.uid for m in then.members] == [0, 1, 2, 3]
  later = search_plan.concat(first, then)
  assert [m.uid for m in later.members] == list(range(8))
  assert [m.config for m in later.members] == [0, 0, 1, 1, 2, 2, 3, 3]
  assert [m.bucket for m in later.members] == [0] * 4 + [1] * 4
  assert len(later.buckets) == 2
  assert [m.hparams for m in later.members[4:]] == [m.hparams for m in then.members]


def test_a_configuration_trains_once_until_the_space_is_used_up(tmp_path):
  """Over 2 x 2 x 2 listed values, rounds of 3: TPE proposes repeats (a categorical space),
  each told its first's value (or closed as failed within a round) and asked again, so
  rounds 0 and 1 train 6 distinct configurations and round 2 the 2 left and one repeat."""
  spec = dataclasses.replace(SPEC, num_members=3, rounds=3, hidden_size='grid(4,6)',
                             learning_rate='grid(0.01,0.1)', dropout='0',
                             forget_bias='grid(0,1)')
  workdir = str(tmp_path)
  trained, value = [], {}
  for round_ in range(3):
    configs = tpe.propose(spec, workdir, round_)
    trained.append([(c['hidden_size'], c['learning_rate'], c['forget_bias'])
                    for c in configs])
    study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, round_)
    for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
      value[t.user_attrs['config']] = t.params['learning_rate'] + t.number
      study.tell(t.number, value[t.user_attrs['config']])
  first_two = trained[0] + trained[1]
  assert len(set(first_two)) == 6
  assert len(set(trained[2])) == 3 and len(set(first_two + trained[2])) == 8
  study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 3)
  repeats = [t for t in study.trials if 'repeat_of' in t.user_attrs]
  assert repeats and all('config' not in t.user_attrs for t in repeats)
  for t in repeats:
    if t.state == optuna.trial.TrialState.COMPLETE:  # A repeat of an earlier round's.
      assert t.value == value[t.user_attrs['repeat_of']]
    else:  # Of one asked earlier in its round.
      assert t.state == optuna.trial.TrialState.FAIL
      assert t.user_attrs['repeat_of'] // 3 == t.user_attrs['round']
