"""The search comparison: equal budgets, the best-so-far curve, its files."""

import dataclasses
import json
import os
import re
import signal
import time
import types

import numpy as np
import pytest

from rnnjax.errors import InputError
from rnnjax.results import files
from rnnjax.run import budgets
from rnnjax.run import compare
from rnnjax.run import stop
from rnnjax.run import sweep
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from rnnjax.search.strategies import halving
from rnnjax.search.strategies import tpe

BASE = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback=4, val_size=6, test_size=6,
                       hidden_size='6', batch_size='4', train_steps=12, eval_every=2)
SPACE = {'learning_rate': compare.Range(1e-3, 1e-1, log=True),
         'dropout': compare.Range(0.0, 0.3)}


def test_halving_starts_as_many_members_as_the_budget_allows():
  n = budgets.halving_members(9 * 12, train_steps=12, min_steps=2, eta=3, eval_every=2)
  rungs = halving.rungs(train_steps=12, min_steps=2, eta=3, eval_every=2)
  assert halving.budget(n, train_steps=12, rung_steps=rungs, eta=3) <= 9 * 12
  assert halving.budget(n + 1, train_steps=12, rung_steps=rungs, eta=3) > 9 * 12
  assert n > 9


def test_curve_counts_member_steps_of_live_members(tmp_path):
  rows = [(0, 2, 5.0), (1, 2, 4.0), (0, 4, 3.0), (1, 4, float('nan')), (0, 6, 3.5)]
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    for uid, step, value in rows:
      f.write(json.dumps({'uid': uid, 'bucket': 0, 'step': step, 'split': 'val',
                          'metric': 'mse', 'value': value}) + '\n')
  x, y = compare.curve(str(tmp_path), 'mse')
  # Both members to step 4, then member 0 alone (member 1's last evaluation was 4).
  np.testing.assert_array_equal(x, [4, 8, 10])
  np.testing.assert_array_equal(y, [4.0, 3.0, 3.0])


def test_curve_of_rounds_counts_each_round_after_the_earlier_ones(tmp_path):
  rows = [(0, 2, 5.0), (0, 4, 4.0), (1, 2, 3.0), (1, 4, None)]  # uid 1: round 1.
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    for uid, step, value in rows:
      f.write(json.dumps({'uid': uid, 'bucket': uid, 'step': step, 'split': 'val',
                          'metric': 'mse', 'value': value}) + '\n')
  x, y = compare.curve(str(tmp_path), 'mse', round_of={0: 0, 1: 1})
  np.testing.assert_array_equal(x, [2, 4, 6, 8])
  np.testing.assert_array_equal(y, [5.0, 4.0, 3.0, 3.0])
  x, _ = compare.curve(str(tmp_path), 'mse')  # As one population.
  np.testing.assert_array_equal(x, [4, 8])


def test_compare_runs_every_strategy_at_equal_compute(tmp_path):
  # The data with an empty cell: what the sweeps say of it is said once, for all five.
  from rnnjax.data import forecast  # pylint: disable=g-import-not-at-top
  rows = open(forecast.bundled_path('shampoo_sales'), encoding='utf-8').read().splitlines()
  rows[5] = rows[5].split(',')[0] + ','
  (tmp_path / 'data').mkdir()
  (tmp_path / 'data' / 'gap.csv').write_text('\n'.join(rows) + '\n', encoding='utf-8')
  base = dataclasses.replace(BASE, dataset='', csv_path=str(tmp_path / 'data' / 'gap.csv'),
                             time_column='Time', target_columns=('Sales',), season=0)
  lines = []
  out = compare.compare(base, SPACE, str(tmp_path / 'cmp'), num_members=4,
                        search_seeds=(0,), eta=2, min_steps=2, pbt_interval=4, rounds=2,
                        log=lines.append)
  filled = [line for line in lines if 'empty cells of' in line or 'empty cell of' in line]
  assert len(filled) == 1 and filled[0].startswith('  1 empty cell'), lines
  # Each sweep is given every search's settings (--min_steps to random): not said.
  assert not any('is for --search' in line for line in lines), lines
  tmp_path = tmp_path / 'cmp'
  budget = 4 * 12
  table = out['table']
  assert set(table) == set(compare.STRATEGIES)
  assert table['random']['median_member_steps'] == budget
  assert table['pbt']['median_member_steps'] == budget
  assert table['grid']['median_member_steps'] == budget  # A 2 x 2 grid.
  assert table['halving']['median_member_steps'] <= budget
  assert table['halving']['members'][0] > 4
  assert table['tpe']['median_member_steps'] == budget  # 2 rounds of 2.
  for row in table.values():  # Each search's final model, scored once on test.
    assert np.isfinite(row['median_final_test']) and np.isfinite(row['median_final_val'])
  for name in ('comparison.json', 'comparison.md'):
    assert os.path.exists(tmp_path / name)
  # The seconds a sweep spent compiling, apart: the first sweep of a shape compiles, the
  # later ones read its programs back, so the seconds alone rank the order of the runs.
  for key, run in out['runs'].items():
    with open(tmp_path / key / 'summary.json', encoding='utf-8') as f:
      compiles = json.load(f)['compiles']
    assert run['compile_seconds'] == sum(c['compile_s'] for c in compiles.values())
    assert 0 <= run['compile_seconds'] <= run['seconds']
  with open(tmp_path / 'comparison.md', encoding='utf-8') as f:
    header = f.readline()
  assert header.rstrip().endswith('| seconds (median) | of which compiling (median) |')
  names = [c.strip() for c in header.strip().strip('|').split('|')]
  assert len(set(names)) == len(names), names  # Read into a table, none alike.
  # make_figures pointed at the comparison names its figure and one sweep to draw.
  from rnnjax.figures import load  # pylint: disable=g-import-not-at-top
  with pytest.raises(InputError, match=r'^--workdir: .* holds a search comparison, whose '
                     r'figure is its comparison.png; .*--workdir=.*grid-0$'):
    load.summary_of(str(tmp_path))


@pytest.mark.parametrize('budget, cell, members', [
    (4, 'lstm', 4), (14, 'lstm', 12), (25, 'lstm', 25),  # 2 x 2, 4 x 3, 5 x 5.
    (8, 'grid(lstm,gru)', 8), (18, 'grid(lstm,gru)', 18)])  # x 2 cells: 2 x 2, 3 x 3.
def test_grid_spends_no_more_than_the_budget(budget, cell, members):
  """The grid is the largest within --budget_members, counting the configurations the
  flags' own lists cross (a structural choice such as --cell=grid(lstm,gru)), so that it
  spends no more member-steps than random search (budgets of 14, 8 and 18 trained 16, 18
  and 32 members)."""
  base = dataclasses.replace(BASE, cell=cell)
  spec = budgets.specs(base, SPACE, strategy='grid', num_members=budget, seed=0)
  rules.check(spec)
  assert spec_lib.make_plan(spec).num_members == members


@pytest.mark.parametrize('name, r, size, expected', [
    ('learning_rate', compare.Range(1e-4, 1e-1, log=True), 3, ['0.0001', '0.003162', '0.1']),
    ('learning_rate', compare.Range(1e-5, 1.001e-5, log=True), 5, None),  # 3 x 1e-05.
    ('dropout', compare.Range(0.1, 0.10001), 5, None),
    ('dropout', compare.Range(0.0, 0.99999), 3, ['0', '0.5', '0.99999']),  # Not 1.
])
def test_grid_values_are_as_typed_apart_and_within_the_range(name, r, size, expected):
  """The grid's points as a user types them (4 significant digits where they are
  enough), each a different value, none outside --space's range: the sweep trains
  these values, so rounding must neither merge two points nor leave the range."""
  spec = budgets.specs(BASE, {name: r}, strategy='grid', num_members=size, seed=0)
  rules.check(spec)
  axis = spec.axes()[name]
  assert len(set(axis.values)) == size, axis.values
  assert all(r.lo <= v <= r.hi for v in axis.values), axis.values
  assert axis.values[0] == r.lo and axis.values[-1] == r.hi
  if expected:
    assert budgets.grid_values(r.lo, r.hi, size, log=r.log) == expected


def test_a_budget_below_the_smallest_grid_is_refused(tmp_path):
  base = dataclasses.replace(BASE, cell='grid(lstm,gru)')
  with pytest.raises(InputError, match=re.escape(
      '--budget_members: 6 is below the smallest grid, 2 values of each --space axis '
      '(4 points) under each of the 2 configurations the flags list: 8 members; give at '
      'least that, or leave grid out of --strategies')):
    compare.compare(base, SPACE, str(tmp_path / 'wd'), num_members=6, search_seeds=(0,),
                    log=lambda _: None)
  assert not (tmp_path / 'wd').exists()
  with pytest.raises(InputError, match=re.escape('--budget_members: 3 is below the '
                                                 'smallest grid, 2 values of each --space '
                                                 'axis (4 points): 4 members')):
    compare.compare(BASE, SPACE, str(tmp_path / 'wd'), num_members=3, search_seeds=(0,),
                    log=lambda _: None)


@pytest.mark.parametrize('budget, rounds, each, last', [
    (27, 3, 9, 0), (28, 3, 9, 10), (29, 3, 9, 11), (5, 2, 2, 3), (4, 1, 4, 0)])
def test_tpe_s_rounds_spend_the_whole_budget(budget, rounds, each, last):
  """Equal rounds of budget // rounds left the remainder unspent (28 members over 3
  rounds trained 27); the last round takes it (--last_round; 0: equal rounds)."""
  spec = budgets.specs(BASE, SPACE, strategy='tpe', num_members=budget, seed=0,
                       rounds=rounds)
  rules.check(spec)
  assert (spec.num_members, spec.last_round) == (each, last)
  assert sum(tpe.round_size(spec, k) for k in range(rounds)) == budget


def test_tpe_in_a_comparison_trains_the_whole_budget(tmp_path):
  """5 members over 2 rounds: 2 then 3, every one trained for --train_steps (the
  best-so-far curve counts the last round after the first)."""
  lines = []
  out = compare.compare(BASE, SPACE, str(tmp_path), num_members=5, search_seeds=(0,),
                        strategies=('tpe',), rounds=2, log=lines.append)
  row = out['table']['tpe']
  assert row['members'] == [5] and row['median_member_steps'] == 5 * 12
  assert 'tpe seed 0: 2 configurations x 2 rounds (3 in the last)' in lines
  x, _ = out['runs']['tpe-0']['curve']
  assert x[-1] == 5 * 12 and all(np.diff(x) > 0)


def test_last_round_is_tpe_s_alone():
  with pytest.raises(InputError, match=re.escape(
      "--last_round: 3; it is the configurations of TPE's last round")):
    rules.check(dataclasses.replace(BASE, search='random', num_members=2, last_round=3))


def test_a_budget_below_tpe_s_rounds_is_refused(tmp_path):
  """A member a round is the least TPE trains: 2 members over 3 rounds trained 3."""
  with pytest.raises(InputError, match=re.escape(
      '--budget_members: 2 is below --rounds (3): TPE trains a member a round at least')):
    compare.compare(BASE, {'learning_rate': SPACE['learning_rate']}, str(tmp_path / 'wd'),
                    num_members=2, search_seeds=(0,), strategies=('tpe',), rounds=3,
                    log=lambda _: None)
  assert not (tmp_path / 'wd').exists()


def test_settings_a_later_strategy_refuses_are_refused_before_any_sweep(tmp_path):
  """--folds (halving and PBT decide while members train): refused before the grid and
  random sweeps train, not after."""
  base = dataclasses.replace(BASE, folds=2)
  with pytest.raises(InputError, match=re.escape('--folds: cross-validation ranks '
                                                 'finished members; --search=halving')):
    compare.compare(base, SPACE, str(tmp_path / 'wd'), num_members=4, search_seeds=(0,),
                    min_steps=2, log=lambda _: None)
  assert not (tmp_path / 'wd').exists()


def test_the_budget_counts_every_fold(tmp_path):
  """Under --folds=2 each configuration trains twice: the budget the table and the
  figure's caption give is 2 x 4 members x 12 steps, what grid and random spent, and
  the log counts 4 configurations each."""
  base = dataclasses.replace(BASE, folds=2)
  lines = []
  out = compare.compare(base, SPACE, str(tmp_path), num_members=4, search_seeds=(0,),
                        strategies=('grid', 'random'), log=lines.append)
  assert out['budget_member_steps'] == 2 * 4 * 12
  # Configurations, not their members (a grid of 4 was logged as 8).
  assert 'grid seed 0: 4 configurations' in lines and 'random seed 0: 4 configurations' in lines
  for row in out['table'].values():
    assert row['median_member_steps'] == out['budget_member_steps']


def test_a_flag_s_own_range_is_refused_naming_space(tmp_path):
  """--weight_decay='loguniform(1e-6,1e-3)' beside --space: the grid's sweep refused it
  with 'use --search=random', a flag the comparison does not take."""
  base = dataclasses.replace(BASE, weight_decay='loguniform(1e-6,1e-3)')
  with pytest.raises(InputError, match=re.escape(
      "--weight_decay: 'loguniform(1e-6,1e-3)' is a range; a comparison searches ranges "
      'given in --space (weight_decay=loguniform(1e-06,0.001))')):
    compare.compare(base, SPACE, str(tmp_path / 'wd'), num_members=4, search_seeds=(0,),
                    log=lambda _: None)
  assert not (tmp_path / 'wd').exists()


def test_rounds_go_to_tpe_alone():
  base = dataclasses.replace(BASE, rounds=9)  # As the entry point passes --rounds.
  for strategy in compare.STRATEGIES:
    spec = budgets.specs(base, SPACE, strategy=strategy, num_members=18, seed=0,
                         rounds=3)
    rules.check(spec)
    assert spec.rounds == (3 if strategy == 'tpe' else 0)
    if strategy == 'tpe':
      assert spec.num_members == 6  # 3 rounds of 6: the budget of 18 members.


@pytest.mark.parametrize('kwargs, message', [
    (dict(space={'hidden_size': compare.Range(8, 64)}), "--space: 'hidden_size' is not"),
    (dict(strategies=('grid', 'bayes')), "--strategies: 'bayes'; expected some of grid"),
    (dict(strategies=()), '--strategies: name at least one search'),
    (dict(strategies=('pbt', 'pbt')), "--strategies: 'pbt' is given twice"),
    (dict(num_members=0), '--budget_members: 0 must be >= 1'),
    (dict(space={}), '--space: name at least one hyperparameter to search'),
    (dict(space={'dropout': compare.Range(0.2, 0.2)}), '--space: '
     'dropout=uniform(0.2,0.2): uniform(0.2, 0.2) needs lo < hi'),
    (dict(space={'dropout': compare.Range(0.0, 1.5)}), '--space: '
     'dropout=uniform(0,1.5): 1.5 is invalid; expected in [0, 1)'),
])
def test_bad_settings_are_refused_before_any_sweep(tmp_path, kwargs, message):
  args = {'space': SPACE, 'num_members': 4, 'strategies': compare.STRATEGIES, **kwargs}
  with pytest.raises(InputError, match=re.escape(message)):
    compare.compare(BASE, args.pop('space'), str(tmp_path / 'wd'), search_seeds=(0,),
                    log=lambda _: None, **args)
  assert not (tmp_path / 'wd').exists()


def test_a_signal_while_a_sweep_ends_stops_before_the_next(tmp_path, monkeypatch):
  """SIGTERM after a sweep's last chunk (saving its final model) is noted by its Stop,
  which never checks again: the comparison stops there, not going on to the next."""
  ran = []

  def run_sweep(spec, path, **kwargs):
    del spec, kwargs
    ran.append(os.path.basename(path))
    with stop.Stop(notify=lambda _: None) as stopper:
      os.kill(os.getpid(), signal.SIGTERM)
      while not stopper.signum:
        time.sleep(0.01)
    return {}
  monkeypatch.setattr(sweep, 'run_sweep', run_sweep)
  with pytest.raises(stop.Stopped, match='stopped by SIGTERM after the sweep random-0; '
                     'the finished sweeps are kept whole') as e:
    compare.compare(BASE, SPACE, str(tmp_path), num_members=4, search_seeds=(0, 1),
                    strategies=('random',), log=lambda _: None)
  assert e.value.exit_code == 143 and ran == ['random-0']


class _Ran(Exception):
  """Ends a comparison at its first sweep (what it was asked is recorded)."""


@pytest.mark.parametrize('held, replaced', [
    ('same', False),  # This comparison's sweep, stopped or finished: resumed, kept.
    ('other', True),  # Another comparison's (its settings differ): replaced.
    ('none', False),
])
def test_overwrite_keeps_this_comparison_s_sweeps_to_resume(tmp_path, monkeypatch, held,
                                                             replaced):
  """A stopped comparison says "run the same command to resume": with --overwrite in
  that command, its finished sweeps were trained again from scratch. --overwrite
  replaces a folder that holds different settings only."""
  spec = budgets.specs(BASE, SPACE, strategy='random', num_members=4, seed=0)
  if held != 'none':
    stored = spec if held == 'same' else dataclasses.replace(spec, train_steps=24)
    os.makedirs(tmp_path / 'random-0')
    files.write_json(str(tmp_path / 'random-0' / files.SWEEP),
                     {'spec': stored.to_json(),
                      'data_digests': files.data_digests(stored.to_json())})
  asked = []

  def state_of(path, spec_json, *, overwrite, **kwargs):
    del spec_json, kwargs
    asked.append((os.path.basename(path), overwrite))
    raise _Ran
  # What the sweep decides (after its data are prepared), and no training.
  monkeypatch.setattr(sweep, 'workdir_lib', types.SimpleNamespace(
      **{**vars(sweep.workdir_lib), 'state_of': state_of}))
  with pytest.raises(_Ran):
    compare.compare(BASE, SPACE, str(tmp_path), num_members=4, search_seeds=(0,),
                    strategies=('random',), overwrite=True, log=lambda _: None)
  assert asked == [('random-0', replaced)]


def test_overwrite_judges_a_sweep_on_the_selection_it_ran_with(tmp_path):
  """Constant series: Naive2 forecasts their validation parts exactly, so validation OWA
  is undefined and each sweep ranks by sMAPE, chosen as its data are prepared and kept in
  its sweep.json. --overwrite compared the settings from before that (OWA), so this
  comparison's own finished sweep was trained again; and the comparison read each
  sweep's OWA, which it did not rank by (None: a TypeError)."""
  path = tmp_path / 'flat.csv'
  # test_panel's panel of constant series and sizes (its programs, where it ran before).
  path.write_text('unique_id,ds,y\n' + ''.join(f's{i},{t},{v}\n' for i, v in enumerate(
      (1.0, 2.0, 5.0)) for t in range(1, 21)))
  base = sweep.SweepSpec(task='panel', csv_path=str(path), id_column='unique_id',
                         time_column='ds', target_columns=('y',), horizon=4, lookback='8',
                         classical_baselines=False, hidden_size='8', batch_size='8',
                         train_steps=4, eval_every=2)
  lines = []
  run = lambda: compare.compare(base, {'learning_rate': SPACE['learning_rate']},
                                str(tmp_path / 'cmp'), num_members=2, search_seeds=(0,),
                                strategies=('random',), overwrite=True, log=lines.append)
  first = run()
  assert first['metric'] == 'smape' and np.isfinite(first['runs']['random-0']['best_val'])
  assert ('note: validation owa is undefined on this data; every sweep ranks by '
          'validation smape instead') in lines
  again = run()  # Kept: its summary read back, its time the first run's to the digit.
  assert again['runs']['random-0']['seconds'] == first['runs']['random-0']['seconds']


@pytest.mark.usefixtures('default_signals')  # Under nohup SIGINT is ignored, rightly.
def test_a_signal_s_notice_is_said_at_once_inside_a_sweep(tmp_path, monkeypatch):
  """Ctrl-C inside one of the comparison's sweeps is said the moment it arrives, as
  population_sweep says it, not only once the chunk under way ends (the sweep's log,
  which the comparison silences, swallowed the notice)."""
  lines, said = [], []
  enter = stop.Stop.__enter__

  def entered(self):
    watching = enter(self)
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any('received' in l for l in lines):
      time.sleep(0.01)
    said.extend(lines)  # What the user had read while the sweep still ran.
    return watching
  monkeypatch.setattr(stop.Stop, '__enter__', entered)
  with pytest.raises(stop.Stopped, match='^stopped by SIGINT '):
    compare.compare(BASE, SPACE, str(tmp_path), num_members=4, search_seeds=(0,),
                    strategies=('random',), log=lines.append)
  assert ('SIGINT received: stopping after the current chunk and its checkpoint (send it '
          'again to stop at once)') in said, lines
