"""The summary: what it ranks on, what it tests, and the values it reports."""

import dataclasses
import json
import math
import os
import re

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from rnnjax.figures import load as figure_load
from rnnjax.figures import tables
from rnnjax.figures.plots import heatmap
from rnnjax.engine import population as pop
from rnnjax.final.choice import refit as refit_lib
from rnnjax.final.choice import summary as summary_lib
from rnnjax.results import config_table
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.printed import report
from rnnjax.results.printed import side_by_side
from rnnjax.results.printed import words
from rnnjax.run import chunks as chunks_lib
from rnnjax.run import sweep
from rnnjax.search import plan as search_plan
from rnnjax.search import spec as spec_lib

SPEC = sweep.SweepSpec(classical_baselines=False,
    dataset='shampoo_sales', lookback=4, val_size=6, test_size=6, cell='gru',
    hidden_size='6', batch_size='4', learning_rate='grid(3e-3,1e-2,3e-2)',
    dropout='grid(0,0.2)', num_seeds=2, train_steps=8, eval_every=2)


def _records(workdir):
  with open(workdir / 'metrics.jsonl') as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def honest(tmp_path_factory):
  """SPEC's sweep: (its work directory, its summary)."""
  workdir = str(tmp_path_factory.mktemp('summary') / 'honest')
  return workdir, sweep.run_sweep(SPEC, workdir, log=lambda _: None)


def test_test_split_never_chooses(honest, tmp_path, monkeypatch):
  """Scrambling the test targets changes test scores and nothing else: not the ranking,
  not the chosen member, not which members are tested."""
  _, honest = honest
  load = spec_lib.load_data

  def scrambled(spec, lookback=None, fold=None):
    data = load(spec, lookback, fold)
    test = dict(data.arrays['test'])
    test['y'] = np.random.default_rng(0).permutation(test['y']) * 3.0
    return dataclasses.replace(data, arrays={**data.arrays, 'test': test})

  monkeypatch.setattr(spec_lib, 'load_data', scrambled)
  # The final model is chosen on validation too; here the single best member, whose
  # test score through the ensemble's path (outputs, then score) equals its own.
  other = sweep.run_sweep(dataclasses.replace(SPEC, ensemble='single'),
                          str(tmp_path / 'scrambled'), log=lambda _: None)
  assert other['final']['members'] == [other['best']['uid']]
  for name, value in other['best']['test'].items():
    np.testing.assert_allclose(other['final']['test'][name], value, rtol=1e-5)
  assert other['ranking'] == honest['ranking']
  assert other['best']['uid'] == honest['best']['uid']
  assert other['best_by'] == honest['best_by']
  tested = lambda s: {m['uid'] for m in s['members'] if 'test' in m}
  assert tested(other) == tested(honest)
  assert set(honest['final']['members']) <= set(honest['ranking'][:SPEC.ensemble_size])
  assert other['best']['test']['rmse'] != honest['best']['test']['rmse']
  # Tested: the top 5 by validation, the best under each value of each swept axis, and
  # every seed of the configuration with the best mean (its test mean and spread), overall
  # and under each value (a paper's mean +- sd per value; chosen by validation means).
  by_value = {u for values in honest['best_by'].values() for u in values.values()}
  best_config = set(honest['configs'][0]['uids'])
  assert len(best_config) == 2
  assert other['best_config_by'] == honest['best_config_by']
  hp = {m['uid']: m['hparams'] for m in honest['members']}
  means = {tuple(c['uids']): c['val']['mse']['mean'] for c in honest['configs']}
  per_value = set()
  for axis, configs in honest['best_config_by'].items():
    assert set(configs) == {str(v) for v in {h[axis] for h in hp.values()}}
    for value, uids in configs.items():
      assert len(uids) == 2 and all(str(hp[u][axis]) == value for u in uids)
      assert means[tuple(uids)] == min(m for c, m in means.items()
                                       if str(hp[c[0]][axis]) == value)
      per_value |= set(uids)
  assert per_value - best_config  # More than the best configuration's seeds.
  assert tested(honest) == set(honest['ranking'][:5]) | by_value | best_config | per_value
  # A ranked member shown without a test score is said to be one (the table's '-').
  untested = [u for u in honest['ranking'][:report.TOP_K] if u not in tested(honest)]
  said = [l for l in report.ranking_table(honest).splitlines()
          if l.startswith('test rmse "-": a member the sweep did not score on test')]
  assert untested and len(said) == 1, said
  tests = lambda uids: [m['test']['rmse'] for m in honest['members'] if m['uid'] in uids]
  line = next(l for l in report.ranking_table(honest).splitlines()
              if l.startswith('test rmse of the best configuration under each dropout'))
  for value, uids in honest['best_config_by']['dropout'].items():
    assert (f'{value} {np.mean(tests(uids)):.4g} +- {np.std(tests(uids), ddof=1):.4g} (2)'
            in line), line
  # A seed of one of them diverged (its best before counts in the mean): said beside it.
  value, uids = next(iter(honest['best_config_by']['dropout'].items()))
  lost = dict(honest, members=member_table.MemberTable.from_records(
      [dict(m, status='diverged') if m['uid'] == uids[0] else m for m in honest['members']]))
  line = next(l for l in report.ranking_table(lost).splitlines()
              if l.startswith('test rmse of the best configuration under each dropout'))
  assert f'{value} {np.mean(tests(uids)):.4g} +- ' in line and '(2, 1 diverged)' in line, line
  assert line.count('diverged') == 1, line
  # And in the best configuration's line, where one of its seeds diverged (as summary.json's
  # configuration counts it).
  best_uids = lost['configs'][0]['uids']
  members = member_table.MemberTable.from_records(
      [dict(m, status='diverged') if m['uid'] == best_uids[0] else m
       for m in honest['members']])
  lost = dict(honest, members=members,
              configs=config_table.ConfigTable.of(members, 'mse', 'rmse'))
  assert lost['configs'][0]['uids'] == best_uids and lost['configs'][0]['diverged'] == 1
  line = next(l for l in report.ranking_table(lost).splitlines()
              if l.startswith('best configuration'))
  assert line.startswith('best configuration by its mean val mse over 2 seeds (1 diverged, '
                         'each at its best before): uids '), line
  line = next(l for l in report.ranking_table(honest).splitlines()
              if l.startswith('best configuration'))
  test = [m['test']['rmse'] for m in honest['members'] if m['uid'] in best_config]
  assert line.endswith(f'; test rmse {np.mean(test):.4g} +- {np.std(test, ddof=1):.4g} '
                       '(2 of 2)'), line
  assert line.startswith('best configuration by its mean val mse over 2 seeds: uids ')
  val = {m['uid']: m['val']['mse'] for m in honest['members']}
  assert [val[u] for u in honest['ranking']] == sorted(val.values())


def test_the_best_configuration_line_says_its_seeds_without_a_value(honest):
  """Configurations rank first by how many of their seeds have no finite value
  (config_table.rank_configs): where one seed of the configuration with the best mean has
  none, another configuration, all of whose seeds count, is the best; where one of every
  configuration's has none, the line says so beside the best one's seeds."""
  _, honest = honest
  first = honest['configs'][0]['uids']

  def without_value(uids):
    members = member_table.MemberTable.from_records(
        [dict(m, status='diverged', val={k: None for k in m['val']}) if m['uid'] in uids
         else m for m in honest['members']])
    return dict(honest, members=members,
                configs=config_table.ConfigTable.of(members, 'mse', 'rmse'))

  lost = without_value(first[:1])
  assert lost['configs'][0]['uids'] == honest['configs'][1]['uids']
  line = next(l for l in report.ranking_table(lost).splitlines()
              if l.startswith('best configuration'))
  assert line.startswith('best configuration by its mean val mse over 2 seeds, of the '
                         'configurations with the fewest members without a finite value: '
                         f'uids {honest["configs"][1]["uids"]}'), line
  lost = without_value([c['uids'][0] for c in honest['configs']])
  line = next(l for l in report.ranking_table(lost).splitlines()
              if l.startswith('best configuration'))
  assert line.startswith('best configuration by its mean val mse over 2 seeds (1 without a '
                         'finite value), of the configurations with the fewest members '
                         'without a finite value: uids '), line


def test_the_final_model_line_says_a_member_that_diverged_after_its_best_step(honest):
  """A member of the final model that diverged after its best step is used at it: the
  closing line names it (no word where none did)."""
  _, honest = honest
  final_line = lambda summary: next(l for l in report.ranking_table(summary).splitlines()
                                    if l.startswith('final model ('))
  assert 'diverged' not in final_line(honest)
  uid = honest['final']['members'][0]
  members = member_table.MemberTable.from_records(
      [dict(m, status='diverged') if m['uid'] == uid else m for m in honest['members']])
  line = final_line(dict(honest, members=members))
  assert f') (uid {uid} diverged after its best step, used at it): val ' in line, line


def _trained_under(records, initial, uid, step):
  """[(since, {name: value})] oldest first: the rows and values that trained member
  uid's weights as they were at `step`, walked back through metrics.jsonl's lineage."""
  copies = {}
  for r in records:
    if r['split'] in ('lineage', 'hparams'):
      copies.setdefault((r['uid'], r['step']), {})[r['metric']] = r['value']
  segments = []
  while True:
    earlier = [t for (u, t) in copies if u == uid and t < step]
    if not earlier:
      return [(0, {n: initial[uid][n] for n in ('learning_rate', 'dropout')})] + segments
    step = max(earlier)
    got = copies[uid, step]
    segments.insert(0, (step, {n: got[n] for n in ('learning_rate', 'dropout')}))
    uid = int(got['parent'])


def test_pbt_reports_and_refits_what_trained_each_members_best_weights(tmp_path,
                                                                       monkeypatch):
  """PBT changes learning rates and dropout while training, and a copy may hold its
  source's best weights: each member's values in the summary (and trials.csv, the
  ranking table) are those its best weights trained under, traced back through the
  copies in metrics.jsonl, and the refit trains each chosen member again under that
  schedule, its values changing at the steps the copies changed them. A copy tied with
  its source ranks after it; seeds that went their own ways are not averaged as one
  configuration; explored values name no member in best_by."""
  seen = []
  chunk_fn = pop.population_chunk_fn

  def recording(*args, **kwargs):
    fn = chunk_fn(*args, **kwargs)
    def chunk(state, hp, data, key):
      seen.append((np.asarray(hp.uid), np.asarray(hp.learning_rate),
                   np.asarray(hp.dropout_rates)[:, 0]))
      return fn(state, hp, data, key)
    return chunk

  monkeypatch.setattr(pop, 'population_chunk_fn', recording)
  # Rates high enough that copies often stop improving on their source's best.
  spec = dataclasses.replace(SPEC, search='pbt', pbt_interval=2, pbt_fraction=0.5,
                             num_seeds=2, refit=1, ensemble_size=3, train_steps=12,
                             learning_rate='grid(1e-2,1e-1,0.5)')
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  records = _records(tmp_path / 'wd')
  with open(tmp_path / 'wd' / 'plan.json') as f:
    initial = {m['uid']: m['hparams'] for m in search_plan.members_of_json(json.load(f))}
  inherited = 0
  for member in summary['members']:
    row = member.get('best_of', member['uid'])
    inherited += row != member['uid']
    want = _trained_under(records, initial, row, member['best_step'])[-1][1]
    for name, value in want.items():
      assert np.float32(member['hparams'][name]) == np.float32(value), (member, name)
  assert inherited  # Some copies hold their source's best weights.
  # A copy tied with the member whose row trained its weights ranks after it.
  place = {u: k for k, u in enumerate(summary['ranking'])}
  members = {m['uid']: m for m in summary['members']}
  ties = 0
  for m in members.values():
    source = members.get(m.get('best_of'))
    if source and 'best_of' not in source and source['best_step'] == m['best_step']:
      ties += 1
      assert place[source['uid']] < place[m['uid']]
  assert ties
  # Seeds went their own ways: a configuration row per member; no explored value names
  # a member in best_by.
  assert all(len(c['uids']) == 1 for c in summary['configs'])
  assert not {'learning_rate', 'dropout'} & set(summary['best_by'])
  table = report.ranking_table(summary)
  assert re.search(r'\(weights of uid \d+ at step \d+\)', table) and table.startswith('PBT: ')
  trials = open(tmp_path / 'wd' / files.TRIALS).read().splitlines()
  assert 'best_of' in trials[0].split(',')
  # TensorBoard's HParams tab: each run's values are those that trained its best weights
  # (written at the start as the starting values; TensorBoard keeps a tag's first).
  moved = 0
  for member in summary['members']:
    run = tmp_path / 'wd' / files.TENSORBOARD / f'uid-{member["uid"]:04d}'
    acc = event_accumulator.EventAccumulator(str(run))
    acc.Reload()
    start = hparams_metadata.parse_session_start_info_plugin_data(acc.PluginTagToContent(
        hparams_metadata.PLUGIN_NAME)[hparams_metadata.SESSION_START_INFO_TAG])
    assert 'learning_rate' in start.hparams
    assert {t.split('/')[0] for t in acc.Tags()['scalars']} <= {'train', 'val', 'best_val',
                                                                'test'}  # As while training.
    for name, value in start.hparams.items():
      if name == 'seed':
        continue
      assert np.float32(value.number_value) == np.float32(member['hparams'][name]), name
      moved += value.number_value != initial[member['uid']][name]
  assert moved

  final = summary['final']
  assert final['kind'] == 'refit'
  by_row = {}  # refit uid -> learning rate and dropout at each chunk, in order
  for uids, lr, dropout in seen:
    for i, u in enumerate(uids.tolist()):
      if u >= refit_lib.REFIT_UID:
        by_row.setdefault(u, []).append((float(lr[i]), float(dropout[i])))
  replayed = 0
  for u in final['members']:
    member = summary['members'][summary['members'].row(u)]
    schedule = _trained_under(records, initial, member.get('best_of', u),
                              member['best_step'])
    got = by_row[refit_lib.REFIT_UID + u]
    assert len(got) == -(-max(member['best_step'] for member in summary['members']
                              if member['uid'] in final['members']) // spec.eval_every)
    for k, (lr, dropout) in enumerate(got):
      values = [v for since, v in schedule if since <= k * spec.eval_every][-1]
      assert (lr, dropout) == (np.float32(values['learning_rate']),
                               np.float32(values['dropout'])), (u, k)
    replayed += len(schedule) > 1
    # summary.json says whose starting values the refit began with, and each change.
    told = final['schedules'][str(u)]
    assert np.float32(initial[told['from']]['learning_rate']) == got[0][0]
    assert [step for step, _ in told['changes']] == [since for since, _ in schedule[1:]]
  assert replayed  # A chosen member's schedule changed during its training.
  assert any('under their PBT schedules' in line for line in lines)


def test_a_large_sweeps_columns_hold_its_records(honest, tmp_path, monkeypatch):
  """Over member_table.MAX_RECORDS members (lowered to 4 here) summary.json leaves the
  records, ranking and configurations to members.npz: the same summary as the small
  sweep's (tables in memory for both sizes), in memory and read back, with the same
  trials.csv and ranking table."""
  small_dir, small = honest
  monkeypatch.setattr(member_table, 'MAX_RECORDS', 4)
  workdir, lines = str(tmp_path / 'large'), []
  large = sweep.run_sweep(SPEC, workdir, log=lines.append)
  assert any('12 members (over 4): their summary records' in l for l in lines)
  for got in (large, small):
    assert isinstance(got['members'], member_table.MemberTable)
    assert isinstance(got['configs'], config_table.ConfigTable)
  saved = files.read_json(os.path.join(workdir, files.SUMMARY))
  assert {'members', 'ranking', 'configs'}.isdisjoint(saved)
  assert saved['ranking_top'] == small['ranking'][:member_table.TOP]
  same = lambda s: files.clean({k: list(v) if k in ('members', 'configs') else v
                                  for k, v in s.items() if k not in ('timing', 'compiles')},
                                 short=True)  # As summary.json writes them, either form.
  for got in (large, summary_file.read_summary(workdir)):
    assert same(got) == same(small)
  read = lambda d: open(os.path.join(d, files.TRIALS)).read()
  assert read(workdir) == read(small_dir)
  assert report.ranking_table(large) == report.ranking_table(small)
  # Its top 10 of 12 said, not read as every member that ran; the others' records are in
  # members.npz (12 members over the lowered MAX_RECORDS).
  assert report.ranking_table(small).startswith(
      'the top 10 of 12 members by validation (every member: trials.csv and members.npz)\n')
  assert not report.ranking_table(small, top_k=12).startswith('the top')


def test_best_by_lists_axes_with_few_values_only():
  """best_by names the best member under each value of an axis with at most
  BEST_BY_MAX_VALUES values (a grid); a continuous axis of a random search is left out,
  or every member would be in it, and tested."""
  n = summary_lib.BEST_BY_MAX_VALUES + 4
  records = [{'uid': u, 'hparams': {'learning_rate': 1e-3 * (u + 1), 'dropout': u % 2 * 0.2,
                                    'cell': 'gru'}, 'val': {'mse': float(n - u)}}
             for u in range(n)]
  table = member_table.MemberTable.from_records(records)
  testable = np.arange(n)[::-1]  # Best first: the highest uid has the lowest mse.
  got = summary_lib.best_by(table, testable, ('learning_rate', 'dropout', 'cell'))
  assert got == {'dropout': {'0.2': n - 1, '0.0': n - 2}, 'cell': {'gru': n - 1}}
  few = summary_lib.best_by(table, testable[:3], ('learning_rate',))
  assert len(np.unique(table.hparams['learning_rate'][1])) > summary_lib.BEST_BY_MAX_VALUES
  assert few == {}  # Counted over every member, not the testable ones.


DIFFERENCED = dataclasses.replace(
    SPEC, difference=True, horizon=3, lookback=6, learning_rate='grid(1e-3,1e-2,3e-2)',
    dropout='0', hidden_size='grid(4,8)', num_seeds=1, train_steps=6, eval_every=3)


def test_a_differenced_forecast_ranks_by_the_levels_rmse_it_shows(tmp_path):
  """Trained on the changes, a forecast is used, ranked and shown in levels: the
  ranking, the best member, the configurations and the final model's choice follow the
  validation RMSE of the levels that the table and the heatmap show (the MSE of the
  standardised changes orders these members otherwise), and both say which it is."""
  workdir, lines = str(tmp_path / 'wd'), []
  summary = sweep.run_sweep(DIFFERENCED, workdir, log=lines.append)
  members = {m['uid']: m for m in summary['members']}
  rmse = lambda u: members[u]['val']['rmse']
  mse = lambda u: members[u]['val']['mse']
  assert sorted(members, key=mse) != sorted(members, key=rmse)  # The case in question.
  assert [rmse(u) for u in summary['ranking']] == sorted(map(rmse, members))
  assert summary['best']['uid'] == min(members, key=rmse)
  shown = figure_load.load(workdir)
  assert (shown.metric, shown.shown) == ('rmse', 'rmse')
  # One seed and two swept axes: a cell per member, and the best member's is the lowest.
  _, _, grid, best, _ = heatmap.cells(shown, 'learning_rate', 'hidden_size')
  assert grid[best] == np.nanmin(grid)
  assert summary['selection'] == {'metric': 'rmse', 'mode': 'min', 'scale': 'levels'}
  # Each member's best step is chosen by the same metric (population.run_chunk).
  for uid, m in members.items():
    curve = [r for r in evaluations.read_metrics(workdir) if r['uid'] == uid
             and r['split'] == 'val' and r['metric'] == 'rmse']
    assert m['best_step'] == min(curve, key=lambda r: r['value'])['step']
  means = [c['val']['rmse']['mean'] for c in summary['configs']]
  assert means == sorted(means)
  assert summary['final']['members'][0] == summary['ranking'][0]
  table = '\n'.join(lines).splitlines()
  note, head = next(table[i:i + 2] for i, l in enumerate(table) if l.startswith('ranked'))
  assert note.startswith('ranked by val rmse of the levels in original units (')
  assert head.split()[:5] == ['rank', 'uid', 'status', 'val', 'rmse']
  assert 'val mse' not in head
  assert 'validation rmse (levels, original units; lower is better)' in tables.markdown(shown)


def test_selection_names_another_metric_of_the_levels(tmp_path):
  """--selection=mae: the same sweep ranked, and each member's step kept, by the
  validation MAE of the levels."""
  workdir = str(tmp_path / 'wd')
  summary = sweep.run_sweep(dataclasses.replace(DIFFERENCED, selection='mae'), workdir,
                            log=lambda _: None)
  assert summary['selection'] == {'metric': 'mae', 'mode': 'min', 'scale': 'levels',
                                  'named': True}
  assert figure_load.load(workdir).shown == 'mae'  # The figures draw what ranked.
  members = {m['uid']: m for m in summary['members']}
  mae = lambda u: members[u]['val']['mae']
  assert [mae(u) for u in summary['ranking']] == sorted(map(mae, members))
  for uid, m in members.items():
    curve = [r for r in evaluations.read_metrics(workdir) if r['uid'] == uid
             and r['split'] == 'val' and r['metric'] == 'mae']
    assert m['best_step'] == min(curve, key=lambda r: r['value'])['step']


def test_halving_says_why_it_stopped_a_member_not_one_that_diverged(tmp_path):
  """Members retired by halving are 'stopped' by it; those that diverged before the rung
  are 'diverged', with no `stopped_by` (they stopped for that)."""
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='rnn_relu', optimizer='sgd',
                         clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-3,1e-2,1e3,1e4)', search='halving', eta=2,
                         min_steps=4, train_steps=16, eval_every=2)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  why = {m['hparams']['learning_rate']: (m['status'], m.get('stopped_by'))
         for m in summary['members']}
  assert why[1e3] == why[1e4] == ('diverged', None)
  kept, stopped = sorted(why[lr] for lr in (1e-3, 1e-2))
  assert kept == ('ok', None) and stopped[0] == 'stopped'
  assert stopped[1].startswith('halving at ')
  # Said as it happens (the progress line's counts only fell): the rung that cut it.
  assert [line for line in lines if line.startswith('halving at')] == [
      f'{stopped[1]}: 1 member cut, 1 trains on (each cut one\'s stopped_by in trials.csv)']


def test_halving_keeps_members_stopped_early_at_their_best(tmp_path):
  """--patience stops members before the rung at step 16: the rung ranks them with the
  members still training, keeps the best (at its best weights) to be tested and
  ensembled, and says why each member stopped: early stopping, or halving."""
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='rnn_relu', optimizer='sgd',
                         clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-3,3e-3,1e-2,3e-2)', search='halving', eta=2,
                         min_steps=16, train_steps=32, eval_every=2, patience=1)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  members = {m['uid']: m for m in summary['members']}
  early = [u for u, m in members.items() if m['steps'] < 16]
  cut = [u for u, m in members.items() if m.get('stopped_by', '').startswith('halving')]
  assert len(early) == 2 and len(cut) == 1
  for u in early:  # Stopped by the engine, whether the rung kept it or not.
    assert members[u]['stopped_by'] == f'early stopping at step {members[u]["steps"]}'
  kept_early = [u for u in early if u in summary['ranking'][:2]]
  assert kept_early and math.isfinite(members[kept_early[0]]['test']['rmse'])


def _trained_on(spec, workdir: str, monkeypatch) -> dict:
  """The summary of `spec` with the runs whose every member stopped trained on to the
  end, as before they were skipped (a run with no member left is still skipped)."""
  drop = chunks_lib._drop_emptied  # pylint: disable=protected-access
  monkeypatch.setattr(chunks_lib, '_drop_emptied',
                      lambda *a, log=None, stopped=(), folds=1: drop(*a))
  return sweep.run_sweep(spec, workdir, log=lambda _: None)


def test_patience_that_runs_out_at_the_last_evaluation_stops_nothing(tmp_path):
  """A member whose --patience ran out at the sweep's last evaluation trained every step:
  it read 'stopped' ('early stopping at step 600' of 600), counted among those stopped
  early (a user's finding). It is 'ok'; one stopped before the end is still 'stopped'."""
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='grid(rnn_relu,rnn_tanh)',
                         optimizer='sgd', clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-2,3e-2)', train_steps=60, eval_every=2,
                         patience=1)
  first = sweep.run_sweep(spec, str(tmp_path / 'a'), log=lambda _: None)
  stopped = {m['uid']: m['steps'] for m in first['members'] if m['status'] == 'stopped'}
  last = max(stopped.values())
  assert len(set(stopped.values())) > 1 and last < 60, stopped
  # The same members, trained to the step the last of them stopped at.
  again = sweep.run_sweep(dataclasses.replace(spec, train_steps=last), str(tmp_path / 'b'),
                          log=lambda _: None)
  for m in again['members']:
    if stopped[m['uid']] == last:
      assert m['status'] == 'ok' and not m.get('stopped_by') and m['steps'] == last, m
    else:
      assert m['status'] == 'stopped' and m['steps'] == stopped[m['uid']], m


def test_a_run_whose_members_all_stopped_trains_no_more_chunks(tmp_path, monkeypatch):
  """--patience stops every member early: their run trains no more chunks (the count
  drops them and ends at its total), and the sweep reports exactly what it reports when
  it trains them on (stopped members' chunks change nothing)."""
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='rnn_relu', optimizer='sgd',
                         clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-2,3e-2)', train_steps=60, eval_every=2,
                         patience=1)
  lines = []
  skipped = sweep.run_sweep(spec, str(tmp_path / 'a'), log=lines.append)
  chunks = [re.match(r'chunk (\d+)/(\d+) ', line) for line in lines]
  chunks = [(int(m[1]), int(m[2])) for m in chunks if m]
  assert [c[0] for c in chunks] == list(range(1, len(chunks) + 1)) and len(chunks) < 30
  assert any(re.fullmatch(rf'bucket 0: every member stopped early or diverged; its '
                          rf'{30 - len(chunks)} chunk\(s\) left are skipped', line)
             for line in lines), lines
  trained = _trained_on(spec, str(tmp_path / 'b'), monkeypatch)
  assert max(m['steps'] for m in trained['members']) < 60
  assert [{k: m[k] for k in ('uid', 'steps', 'best_step', 'val', 'test', 'status')}
          for m in skipped['members']] == [
              {k: m[k] for k in ('uid', 'steps', 'best_step', 'val', 'test', 'status')}
              for m in trained['members']]
  assert skipped['final'] == trained['final']


@pytest.mark.parametrize('search', ['halving', 'pbt'])
def test_an_adaptive_run_whose_members_all_stopped_decides_as_if_trained_on(
    tmp_path, monkeypatch, search):
  """Halving and PBT trained a run whose every member stopped on to the end; now it is
  skipped as a grid's is, and the search still decides on it: halving ranks its members
  at each later rung and cuts those not among the best (skipped without its table, a
  member escaped a rung's cut and was tested), PBT copies into none of them."""
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='grid(rnn_relu,gru)',
                         optimizer='sgd', clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-3,1e-2,3e-2,1e-1)', search=search, eta=2,
                         min_steps=2, pbt_interval=2, train_steps=32, eval_every=2,
                         patience=1)
  lines = []
  skipped = sweep.run_sweep(spec, str(tmp_path / 'a'), log=lines.append)
  assert any(re.fullmatch(r'bucket \d: every member stopped early or '
                          r'diverged; its \d+ chunk\(s\) left are skipped', line)
             for line in lines), lines
  trained = _trained_on(spec, str(tmp_path / 'b'), monkeypatch)
  keys = ('uid', 'steps', 'best_step', 'val', 'test', 'status', 'stopped_by')
  assert [{k: m.get(k) for k in keys} for m in skipped['members']] == [
      {k: m.get(k) for k in keys} for m in trained['members']]
  assert skipped['ranking'] == trained['ranking'] and skipped['final'] == trained['final']


def test_progress_ends_at_its_total_when_halving_empties_a_wave(tmp_path, monkeypatch):
  """A wave whose every member diverged or was cut trains no more chunks: the count
  leaves them out and ends at its total (it stopped short of it)."""
  from rnnjax.search import probe  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(probe, 'waves', lambda n, *_: {'num_waves': 2, 'wave_size': n // 2})
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, cell='rnn_relu', optimizer='sgd',
                         clip_norm='0', hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-3,1e-2,1e3,1e4)', search='halving', eta=2,
                         min_steps=4, train_steps=16, eval_every=2)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert sum(m['status'] == 'diverged' for m in summary['members']) == 2
  chunks = [re.match(r'chunk (\d+)/(\d+) ', line) for line in lines]
  chunks = [(int(m[1]), int(m[2])) for m in chunks if m]
  assert chunks[0][1] == 2 * 8  # Two waves of 8 chunks, planned.
  assert chunks[-1][0] == chunks[-1][1] < 16 and [c[0] for c in chunks] == list(
      range(1, len(chunks) + 1))


def test_a_random_search_range_names_no_member_in_best_by(tmp_path):
  """A few drawn values of a range are as many values as members: best_by (and so the
  test scores) leaves the range out, whatever the count, and keeps a listed choice."""
  spec = dataclasses.replace(SPEC, search='random', num_members=4, num_seeds=1,
                             learning_rate='loguniform(1e-3,1e-1)',
                             dropout='choice(0,0.2)', train_steps=4, eval_every=2)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert 'learning_rate' not in summary['best_by'] and 'dropout' in summary['best_by']


def test_a_greedy_ensemble_names_each_members_weight():
  """Greedy ensemble selection picks a member again to weigh it more: the final model's
  line says so, not only which members."""
  describe = words.describe_final
  assert describe({'kind': 'ensemble', 'members': [4, 3, 4, 4]}) == (
      'ensemble of 2: uids 4 x3,3')
  assert describe({'kind': 'ensemble', 'members': [2, 5]}) == 'ensemble of 2: uids 2,5'


def test_the_compile_line_names_buckets_that_ran_programs_already_loaded():
  # A TPE round's bucket of a structure an earlier round compiled compiles nothing.
  from rnnjax.engine import compile_cache  # pylint: disable=g-import-not-at-top
  line = report.compiles_line({0: compile_cache.Compiles(2.5, 1, 2),
                               1: compile_cache.Compiles(), 3: compile_cache.Compiles(),
                               2: compile_cache.Compiles(0.4, 0, 1)})
  assert line == ('compiles: bucket 0 2.5 s (1 cached, 2 compiled), bucket 2 0.4 s '
                  '(0 cached, 1 compiled), buckets 1, 3: programs already loaded')


def test_the_compile_line_counts_a_bucket_compiled_with_the_cache_off():
  # --compile_cache_dir= : JAX reports the compile's seconds, and no cache hit or miss:
  # no counts said (not '0 compiled' after 1.5 s of compiling).
  from rnnjax.engine import compile_cache  # pylint: disable=g-import-not-at-top
  line = report.compiles_line({0: compile_cache.Compiles(1.5, 0, 0),
                               1: compile_cache.Compiles()})
  assert line == 'compiles: bucket 0 1.5 s, bucket 1: programs already loaded'


def test_compare_shows_an_empty_flag_as_a_dash_whether_text_or_a_list():
  # sweep.json holds --input_columns as a list: [] is as empty as ''.
  assert [side_by_side._setting(n, v) for n, v in (  # pylint: disable=protected-access
      ('dropout_per_layer', ''), ('input_columns', []), ('input_columns', ['price']),
      ('dropout', 0.0), ('season', -1))] == ['-', '-', "['price']", '0.0', 'auto']
