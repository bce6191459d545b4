"""`--search=tpe` (rnnjax/search/strategies/tpe.py): axes as Optuna distributions, seeded
proposals, plans of given configurations, and its bad-input lines. A whole tpe sweep (each
round told its configurations' values; killed and resumed): tests/test_resume.py."""

import dataclasses
import os

import numpy as np
import optuna
import pytest

from rnnjax.errors import InputError
from rnnjax.run import sweep
from rnnjax.search import plan as search_plan
from rnnjax.search import planner
from rnnjax.search import space
from rnnjax.search import spec as spec_lib
from rnnjax.search.strategies import tpe

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
  later = planner.concat(first, then)
  assert [m.uid for m in later.members] == list(range(8))
  assert [m.config for m in later.members] == [0, 0, 1, 1, 2, 2, 3, 3]
  assert [m.bucket for m in later.members] == [0] * 4 + [1] * 4
  assert len(later.buckets) == 2
  assert [m.hparams for m in later.members[4:]] == [m.hparams for m in then.members]


def test_a_configuration_trains_once_until_the_space_is_used_up(tmp_path):
  """Over 2 x 2 x 2 listed values, rounds of 3: TPE proposes repeats (a categorical space),
  each told its first's value (or closed as failed within a round) and asked again, so
  rounds 0 and 1 train 6 distinct configurations and round 2 the 2 left and one repeat,
  whose trial is numbered as the configuration it repeats."""
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
      # A repeat that trains is told its own; a repeat not trained, its first's.
      value.setdefault(t.user_attrs['config'], t.params['learning_rate'] + t.number)
      study.tell(t.number, t.params['learning_rate'] + t.number)
  first_two = trained[0] + trained[1]
  assert len(set(first_two)) == 6
  assert len(set(trained[2])) == 3 and len(set(first_two + trained[2])) == 8
  study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 3)
  # The repeat that trains is more seeds of its first row (the first of its values).
  rows = first_two + trained[2]
  assert [t.user_attrs['config'] for t in study.trials if 'config' in t.user_attrs] == [
      rows.index(c) for c in rows]
  repeats = [t for t in study.trials if 'repeat_of' in t.user_attrs]
  assert repeats and all('config' not in t.user_attrs for t in repeats)
  for t in repeats:
    if t.state == optuna.trial.TrialState.COMPLETE:  # A repeat of an earlier round's.
      assert t.value == value[t.user_attrs['repeat_of']]
    else:  # Of one asked earlier in its round.
      assert t.state == optuna.trial.TrialState.FAIL
      assert t.user_attrs['repeat_of'] // 3 == t.user_attrs['round']


def test_a_repeat_trains_as_more_seeds_of_its_configuration():
  """A configuration proposed again (within its round, or an earlier round's) is a row of
  its own, on its own uids (so its own random streams), whose members are more seeds of
  the first row of those values: its configuration number, seed indices going on."""
  spec = dataclasses.replace(SPEC, learning_rate='grid(0.01,0.1)', dropout='0',
                             forget_bias='1')
  config = lambda lr: {**{n: a.values[0] for n, a in spec.axes().items()},
                       'learning_rate': lr}
  first = spec_lib.make_plan(spec, configs=[config(0.1), config(0.01), config(0.1)])
  then = spec_lib.make_plan(spec, configs=[config(0.01), config(0.1)])
  plan = planner.concat(first, then)
  assert [m.uid for m in plan.members] == list(range(10))
  assert [(m.config, m.seed) for m in plan.members] == [
      (0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3), (0, 4), (0, 5)]
  assert [m.config for m in first.members] == [0, 0, 1, 1, 0, 0]
  uids = [m.uid for m in plan.members]
  assert plan.config_numbers(uids).tolist() == [m.config for m in plan.members]
  assert plan.seed_numbers(uids).tolist() == [m.seed for m in plan.members]
  listed = search_plan.members_of_json(plan.to_json())
  assert [(j['uid'], j['config'], j['seed'], j['hparams']) for j in listed] == [
      (m.uid, m.config, m.seed, m.hparams) for m in plan.members]
  # Rounds without repeats keep their plain numbering (and plan.json its layout).
  plain = spec_lib.make_plan(spec, configs=[config(0.1), config(0.01)])
  assert plain.config_of is None and 'config' not in plain.to_json()['configs']


def test_a_used_up_space_adds_seeds_to_its_configurations(tmp_path):
  """2 values, rounds of 2: round 0 tries both, and rounds 1 and 2 train repeats, which
  the summary, trials.csv, the figures' table and the study count as more seeds of the
  2 configurations; the log says so once."""
  from rnnjax.figures import load  # pylint: disable=g-import-not-at-top
  from rnnjax.figures import tables  # pylint: disable=g-import-not-at-top
  spec = dataclasses.replace(SPEC, learning_rate='grid(0.01,0.1)', dropout='0',
                             forget_bias='1', rounds=3, num_members=2, num_seeds=1,
                             train_steps=2, eval_every=2)
  workdir, lines = str(tmp_path / 'wd'), []
  summary = sweep.run_sweep(spec, workdir, log=lines.append)
  members = summary['members']
  assert [m['uid'] for m in members] == list(range(6))
  first = {}  # learning rate -> its configuration: the first uid that trained it
  for m in members:
    first.setdefault(m['hparams']['learning_rate'], m['uid'])
  assert [m['config'] for m in members] == [first[m['hparams']['learning_rate']]
                                            for m in members]
  for c in first.values():
    seeds = [m['seed'] for m in members if m['config'] == c]
    assert seeds == list(range(len(seeds)))
  assert sorted(c['config'] for c in summary['configs']) == sorted(first.values())
  assert sorted(len(c['uids']) for c in summary['configs']) == sorted(
      sum(m['config'] == c for m in members) for c in first.values())
  with open(os.path.join(workdir, 'trials.csv')) as f:
    header, *rows = [line.split(',') for line in f.read().splitlines()]
  assert {r[header.index('config')] for r in rows} == {str(c) for c in first.values()}
  _, (row,) = tables.rows(load.load(workdir))
  assert row['configs'] == 2 and row['seeds'] > 1
  # Each trial that trained is told the mean over its configuration's seeds so far.
  study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 3)
  trained = [t for t in study.trials if 'config' in t.user_attrs]
  assert [t.user_attrs['config'] for t in trained] == [m['config'] for m in members]
  for k, t in enumerate(trained):
    upto = [m['val']['mse'] for m in members[:(k // 2 + 1) * 2]
            if m['config'] == t.user_attrs['config']]
    np.testing.assert_allclose(t.value, np.mean(upto), rtol=1e-5)
  notes = [l for l in lines if 'configurations are all tried' in l]
  # Rounds counted from 1, as the dry run's "(round 1 of 3)" counts the first.
  assert notes == ["note: the search space's 2 configurations are all tried; round 2 "
                   'and later ones train them again as more seeds of them']


def test_a_sweep_an_older_rnnjax_began_is_told_after_its_repeats(tmp_path):
  """An older rnnjax numbered a trained repeat's trial as its own plan row; resumed here,
  the round is told the mean over its configuration's seeds (the plan's numbering),
  rather than failing on a configuration number the plan no longer has."""
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  from rnnjax.search.strategies import strategy  # pylint: disable=g-import-not-at-top
  spec = dataclasses.replace(SPEC, learning_rate='grid(0.01,0.1)', dropout='0',
                             forget_bias='1', rounds=2, num_members=2, num_seeds=2)
  workdir = str(tmp_path)
  rounds = [tpe.propose(spec, workdir, 0)]
  plan = spec_lib.make_plan(spec, configs=rounds[0])
  value = lambda uids: strategy.Table(np.asarray(uids, np.float64) + 1.0,
                                      np.full(len(uids), pop.OK), np.asarray(uids),
                                      np.zeros(len(uids)))
  tpe.tell(spec, workdir, 0, [value(range(4))], {m.uid: m.config for m in plan.members})
  rounds.append(tpe.propose(spec, workdir, 1))  # The space is used up: both repeat.
  plan = planner.concat(plan, spec_lib.make_plan(spec, configs=rounds[1]))
  assert plan.config_of is not None
  study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 1)
  running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
  for row, trial in enumerate(running, start=2):  # As an older rnnjax numbered them.
    study._storage.set_trial_user_attr(trial._trial_id, 'config', row)  # pylint: disable=protected-access
  tpe.tell(spec, workdir, 1, [value(range(4)), value(range(4, 8))],
           {m.uid: m.config for m in plan.members})
  study = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 2)
  for row, trial in enumerate(study.trials[-2:], start=2):
    seeds = [m.uid + 1.0 for m in plan.members if m.config == plan.config_of[row]]
    assert len(seeds) > spec.num_seeds and trial.value == pytest.approx(np.mean(seeds))


def test_a_diverged_seed_is_told_at_its_best_before_as_the_sweep_ranks(tmp_path):
  """A trial is told the mean over its seeds' finite values, a diverged seed's best before
  diverging among them (the value the sweep ranks its configuration by); FAIL only where
  no seed has one."""
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  from rnnjax.search.strategies import strategy  # pylint: disable=g-import-not-at-top
  spec = dataclasses.replace(SPEC, learning_rate='grid(0.01,0.1)', dropout='0',
                             forget_bias='1', rounds=2, num_members=2, num_seeds=2)
  workdir = str(tmp_path)
  plan = spec_lib.make_plan(spec, configs=tpe.propose(spec, workdir, 0))
  best = np.array([1.0, 3.0, np.nan, np.nan])  # Configuration 0's seeds; 1's: none.
  status = np.array([pop.OK, pop.DIVERGED, pop.DIVERGED, pop.DIVERGED])
  table = strategy.Table(best, status, np.arange(4), np.zeros(4))
  tpe.tell(spec, workdir, 0, [table], {m.uid: m.config for m in plan.members})
  trials = tpe.open_study(os.path.join(workdir, tpe.JOURNAL), spec, 1).trials
  assert [m.config for m in plan.members] == [0, 0, 1, 1]
  assert trials[0].state == optuna.trial.TrialState.COMPLETE and trials[0].value == 2.0
  assert trials[1].state == optuna.trial.TrialState.FAIL
