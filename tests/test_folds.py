"""Cross-validation folds: a fold's member is the member a sweep on that fold's data
alone would train; the folds share one program; configurations rank by their mean."""

import dataclasses
import json
import os
import re

import numpy as np
import pytest

from rnnjax.data import forecast
from rnnjax.data import task_data
from rnnjax.data.splits import stratified
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.results.printed import report
from rnnjax.run import prepare
from rnnjax.run import sweep

VAL, TEST = 6, 6
SPEC = sweep.SweepSpec(classical_baselines=False,
    csv_path=forecast.bundled_path('shampoo_sales'), target_columns=('Sales',),
    lookback=4, val_size=VAL, test_size=TEST, cell='gru', hidden_size='6',
    batch_size='4', learning_rate='grid(3e-3,3e-2)', dropout='0.1', num_seeds=2,
    train_steps=4, eval_every=2, folds=3, ensemble_size=4)


LOGGED = []  # The `folded` sweep's log.
WORKDIR = []  # And its work directory.


@pytest.fixture(scope='module')
def folded(tmp_path_factory):
  WORKDIR.append(str(tmp_path_factory.mktemp('folds') / 'w'))
  return sweep.run_sweep(SPEC, WORKDIR[-1], log=LOGGED.append)


def test_the_progress_names_each_folds_run(folded):
  """Each fold's members are a run of their own: the progress said 'bucket 0 step 2'
  three times, its steps starting again with no fold named (a user's finding)."""
  del folded
  shown = [re.match(r'chunk \d+/6 bucket 0 fold (\d)/3 step (\d) ', line)
           for line in LOGGED if line.startswith('chunk ')]
  assert all(shown) and sorted((int(m[1]), int(m[2])) for m in shown) == [
      (f, s) for f in (1, 2, 3) for s in (2, 4)], LOGGED
  # Each line's best is its own fold's members' (a member's fold: its uid modulo the
  # folds, as the waves put them), read back from the evaluations written.
  records = [json.loads(l) for l in open(os.path.join(WORKDIR[-1], 'metrics.jsonl'))]
  rmse = [(r['uid'] % 3 + 1, r['step'], r['value']) for r in records
          if r.get('split') == 'val' and r.get('metric') == 'rmse']
  for line in LOGGED:
    if line.startswith('chunk '):
      fold, step = map(int, re.search(r' fold (\d)/3 step (\d) ', line).groups())
      best = min(v for f, s, v in rmse if f == fold and s <= step)
      assert f' best val rmse (fold {fold}) {best:.4g} ' in line, line


def _truncated_csv(tmp_path, drop: int) -> str:
  with open(SPEC.csv_path) as f:
    lines = f.read().splitlines()
  path = tmp_path / f'shampoo_minus_{drop}.csv'
  path.write_text('\n'.join(lines[:len(lines) - drop]) + '\n')
  return str(path)


def test_a_fold_member_is_the_member_of_a_sweep_on_its_data_alone(folded, tmp_path):
  """Fold f of K splits the series as if it ended K-1-f validation blocks earlier: a
  sweep with one fold on the series cut there trains the same members (same uid but
  for the fold, same values), to the same validation scores."""
  by_uid = {m['uid']: m for m in folded['members']}
  for fold in (0, 2):  # The earliest origin, and the last fold (the usual split).
    alone_spec = dataclasses.replace(SPEC, folds=1, csv_path=_truncated_csv(
        tmp_path, (SPEC.folds - 1 - fold) * VAL))
    alone = sweep.run_sweep(alone_spec, str(tmp_path / f'alone{fold}'),
                            log=lambda _: None)
    for member in alone['members']:
      mine = by_uid[member['uid'] * SPEC.folds + fold]
      assert (mine['fold'], mine['config'], mine['seed']) == (
          fold, member['config'], member['seed'])
      assert mine['best_step'] == member['best_step']
      for name, value in member['val'].items():
        np.testing.assert_allclose(mine['val'][name], value, rtol=2e-5, err_msg=name)


def test_one_program_serves_every_fold(folded):
  """The folds' training windows differ in number; padded to equal shapes (the padding
  never drawn), no fold compiles a program of its own."""
  del folded  # Trained the bucket's program.
  prepared = prepare.prepare(SPEC)
  counts = [int(d.arrays['train']['count']) for d in prepared.datas.values()]
  assert list(np.diff(counts)) == [VAL, VAL]  # Each earlier origin: a block fewer.
  assert {run.data_key for run in prepared.runs} == {(4, 0), (4, 1), (4, 2)}
  # Each fold's members wave apart: the plan (and the dry run's estimate) counts them.
  assert sum(b['num_waves'] for b in prepared.plan_json['buckets']) == len(prepared.runs)
  fn = pop.population_chunk_fn(prepared.runs[0].cfg, sharding.population_mesh(), 0)
  assert fn._cache_size() == 1  # pylint: disable=protected-access


def test_configurations_rank_by_their_mean_and_the_final_model_is_the_last_folds(
    folded):
  members = {m['uid']: m for m in folded['members']}
  assert len(members) == 2 * 2 * 3
  means = {}
  for m in folded['members']:
    means.setdefault(m['config'], []).append(m['val']['mse'])
  order = sorted(means, key=lambda c: np.mean(means[c]))
  assert [c['config'] for c in folded['configs']] == order
  for c in folded['configs']:
    np.testing.assert_allclose(c['val']['mse']['mean'], np.mean(means[c['config']]))
    assert len(c['uids']) == 6
  # The ranking: the last fold's members, configuration by configuration.
  ranked = [members[u] for u in folded['ranking']]
  assert {m['fold'] for m in ranked} == {2} and len(ranked) == 4
  assert [m['config'] for m in ranked] == sorted((m['config'] for m in ranked),
                                                 key=order.index)
  assert folded['best']['uid'] == folded['ranking'][0]
  assert all(members[u]['fold'] == 2 for u in folded['final']['members'])
  assert all('test' not in m for m in folded['members'] if m['fold'] != 2)
  table = report.ranking_table(folded)
  assert 'cv val mse' in table and 'members (seeds x folds)' in table
  assert ("(sd over the 6 members, seeds x folds; figures/table.md's is over each seed's "
          'mean across folds)') in table
  # The column ranks: its means read in the table's order.
  rows = [l for l in table.splitlines()
          if len(l.split()) > 5 and l.split()[2] in ('ok', 'stopped', 'diverged')]
  column = [float(l.split()[5]) for l in rows]  # rank uid status mse rmse cv-mean ...
  assert column == sorted(column)


def test_classification_folds_are_disjoint_stratified_parts():
  y = np.repeat(np.arange(3), [20, 12, 8])
  folds = 4
  parts = [stratified.fold_split(y, 8, seed=1, fold=f, folds=folds) for f in range(folds)]
  last = stratified.stratified_split(y, 8, seed=1)
  np.testing.assert_array_equal(parts[-1][1], last[1])  # The usual split.
  vals = [set(val) for _, val in parts]
  assert all(len(v) == 8 for v in vals)
  assert len(set.union(*vals)) == 8 * folds  # Disjoint.
  for train, val in parts:
    assert set(train) | set(val) == set(range(len(y))) and not set(train) & set(val)
    # Stratified: each class gives its share, 8 * (20, 12, 8) / 40, within one case.
    assert np.all(np.abs(np.bincount(y[val], minlength=3) - [4, 2.4, 1.6]) < 1)
  with pytest.raises(InputError, match='--folds: 5 disjoint validation parts of 8'):
    stratified.fold_split(y, 8, seed=1, fold=4, folds=5)


def test_classification_folds_have_equal_shapes():
  datas = task_data.same_shapes([
      task_data.load(task='classify', dataset='ItalyPowerDemand', fold=f, folds=3)
      for f in range(3)])
  for split in ('train', 'val', 'test'):
    shapes = {tuple((k, np.shape(v)) for k, v in sorted(d.arrays[split].items()))
              for d in datas}
    assert len(shapes) == 1, split
  usual = task_data.load(task='classify', dataset='ItalyPowerDemand')
  np.testing.assert_array_equal(datas[2].arrays['val']['y'], usual.arrays['val']['y'])
  np.testing.assert_array_equal(datas[2].arrays['val']['x'], usual.arrays['val']['x'])


@pytest.mark.parametrize('changes, message', [
    (dict(folds=0), '--folds: 0 must be >= 1'),
    (dict(search='pbt'), '--folds: cross-validation ranks finished members'),
    (dict(search='halving'), '--folds: cross-validation ranks finished members'),
    (dict(task='charlm', dataset='', csv_path='', target_columns=(), lookback='24'),
     '--folds: charlm has no folds'),
    (dict(folds=9), '--folds: fold 1 of 9: series of 36 points is too short'),
    (dict(folds=4), '--batch_size: 4 is larger than the training set of fold 1 of 4 '
     r'\(2 examples: windows of --lookback=\d+ inputs and --horizon targets; a shorter '
     r'--lookback makes more\)'),
])
def test_bad_folds_get_one_line(tmp_path, changes, message):
  with pytest.raises(InputError, match=message):
    sweep.run_sweep(dataclasses.replace(SPEC, **changes), str(tmp_path / 'w'),
                    log=lambda _: None)
  assert not (tmp_path / 'w').exists()


def test_an_earlier_folds_own_notes_name_it_and_its_test_part_says_nothing(tmp_path):
  """Notes the folds share are said once; a fold's own (its validation part's empty
  cells) begin with its fold, the last's too, and an earlier fold's own about its test
  part, which nothing scores, are left out. Folds end at 24, 30 and 36 points, each validating on the 6
  before its test part's 6."""
  with open(SPEC.csv_path) as f:
    lines = f.read().splitlines()
  empty = {13, 14, 15, 20, 26, 27, 32}  # Fold 1's validation: 3; fold 2's: 1; last: 2.
  rows = [line if t not in empty else line.split(',')[0] + ','
          for t, line in enumerate(lines[1:])]
  path = tmp_path / 'gappy.csv'
  path.write_text('\n'.join(lines[:1] + rows) + '\n')
  notes = prepare.prepare(dataclasses.replace(SPEC, csv_path=str(path))).notes
  said = lambda part: sorted(n.split(' are filled')[0] for n in notes
                            if f'{part}: ' in n and ' empty ' in n)
  assert said('validation') == [
      'fold 1 of 3: validation: 3 empty target cell(s) of its 6 points',
      'fold 2 of 3: validation: 1 empty target cell(s) of its 6 points',
      'fold 3 of 3: validation: 2 empty target cell(s) of its 6 points']
  # Fold 2's test part (2 empty) is left out; fold 1's (1 empty: 20) is said as the last's.
  assert said('test') == ['test: 1 empty target cell(s) of its last 6 points']
