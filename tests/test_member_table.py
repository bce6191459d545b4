"""member_table.py and config_table.py: the summary's records, ranking and configurations
as columns hold what summary.json lists, and read back from either form of it (no
training here)."""

import json
import math
import os
import warnings

import numpy as np

from rnnjax.results import config_table
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file


def _records():
  """Six member records of three configurations x two seeds: a diverged member, a
  configuration with no usable member, a value PBT turned from an int into a float,
  a member stopped by halving, and test scores for two."""
  out = []
  for uid in range(6):
    config, seed = divmod(uid, 2)
    mse = [1.0, 3.0, math.nan, math.inf, 2.0, 0.5][uid]
    rec = {'uid': uid, 'bucket': config % 2, 'config': config, 'seed': seed, 'fold': 0,
           'hparams': {'cell': 'gru', 'hidden_size': 4 if uid != 5 else 4.5,
                       'learning_rate': 10.0 ** -config, 'clip_norm': None},
           'status': 'diverged' if uid == 2 else 'ok', 'best_step': uid, 'steps': 10,
           'val': {'mse': mse, 'rmse': math.sqrt(mse) if mse == mse else mse}}
    if uid == 3:
      rec.update(status='stopped', stopped_by='halving at 4')
    if uid in (0, 5):
      rec['test'] = {'mse': mse + 1, 'rmse': 7.0}
    out.append(rec)
  return out


def test_records_read_back_as_from_json():
  records = _records()
  table = member_table.MemberTable.from_records(records[::-1])
  want = files.clean(records)
  assert files.clean(list(table)) == want
  assert [files.clean(table[i]) for i in range(len(table))] == want
  assert table[-1] == list(table)[-1]
  assert table.record(3)['stopped_by'] == 'halving at 4'
  assert table.hparams['hidden_size'][0] == 'json'  # 4 stays an int, 4.5 a float.
  assert [r['hparams']['hidden_size'] for r in table] == [4, 4, 4, 4, 4, 4.5]
  assert member_table.records_of(table, [5, 0, 9]) == {5: table[5], 0: table[0]}
  assert member_table.member_steps(table) == 60


def test_config_table_by_hand():
  """Configurations ranked by their mean over usable members (finite selection metric),
  with the sample standard deviation; one with no usable member last, with None."""
  table = member_table.MemberTable.from_records(_records())
  got = list(config_table.ConfigTable.of(table, 'mse', 'rmse'))
  assert [(c['config'], c['uids'], c['usable']) for c in got] == [
      (2, [4, 5], 2), (0, [0, 1], 2), (1, [2, 3], 0)]
  want = [{'mse': (1.25, np.std([2.0, 0.5], ddof=1)),
           'rmse': (np.mean(np.sqrt([2.0, 0.5])), np.std(np.sqrt([2.0, 0.5]), ddof=1))},
          {'mse': (2.0, np.std([1.0, 3.0], ddof=1)),
           'rmse': (np.mean(np.sqrt([1.0, 3.0])), np.std(np.sqrt([1.0, 3.0]), ddof=1))}]
  for c, stats in zip(got, want):
    for metric, (mean, sd) in stats.items():
      # Kept to the precision of the float32 scores they are made of.
      np.testing.assert_array_equal([c['val'][metric]['mean'], c['val'][metric]['sd']],
                                    np.float32([mean, sd]).astype(np.float64))
  assert got[2]['val'] == {m: {'mean': None, 'sd': None} for m in ('mse', 'rmse')}


def test_configurations_count_their_members_that_diverged_with_a_value(tmp_path):
  """Each configuration lists how many of its usable members diverged (counted at their
  best before diverging), in summary.json's records and members.npz alike; a member that
  diverged without a finite value is not among them (nor among the usable). A summary
  written before the count was listed reads back with it counted from its members."""
  records = _records()
  records[0]['status'] = 'diverged'  # At its best before, 1.0.
  table = member_table.MemberTable.from_records(records)
  configs = config_table.ConfigTable.of(table, 'mse', 'rmse')
  assert [(c['config'], c['usable'], c['diverged']) for c in configs] == [
      (2, 2, 0), (0, 2, 1), (1, 0, 0)]
  assert list(configs[0]) == ['config', 'uids', 'usable', 'diverged', 'val']
  per_member = config_table.ConfigTable.of(table, 'mse', 'rmse', per_member=True)
  assert {c['uids'][0]: c['diverged'] for c in per_member} == {
      0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
  summary = {'task': 'forecast', 'members': table, 'ranking': [5, 0, 4, 1],
             'configs': configs}
  older = lambda rows: [{k: v for k, v in c.items() if k != 'diverged'} for c in rows]
  saved = json.loads(json.dumps(files.clean({**summary, 'configs': older(configs)})))
  assert summary_file.read('', saved)['configs'] == configs
  on_disk = summary_file.write(str(tmp_path), summary)
  with np.load(tmp_path / files.MEMBERS) as z:
    assert z['config_diverged'].tolist() == [0, 1, 0]
    arrays = {k: z[k] for k in z.files if k != 'config_diverged'}
  np.savez(tmp_path / files.MEMBERS, **arrays)
  assert summary_file.read(str(tmp_path), on_disk)['configs'] == configs


def test_a_display_value_that_overflowed_makes_its_mean_infinite_without_a_warning():
  """A member whose selection value is finite but whose display value overflowed (an MSE
  of 3e32 whose RMSE in original units is inf): the configuration's display mean is
  infinite (null in summary.json), and computing it warns of nothing."""
  records = _records()
  records[1]['val']['rmse'] = math.inf
  table = member_table.MemberTable.from_records(records)
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    got = {c['config']: c['val'] for c in config_table.ConfigTable.of(table, 'mse', 'rmse')}
  assert got[0]['mse']['mean'] == np.float32(2.0)
  assert got[0]['rmse'] == {'mean': math.inf, 'sd': None}


def test_summary_with_columns_reads_back_whole(tmp_path):
  records = _records()
  table = member_table.MemberTable.from_records(records)
  summary = {'task': 'forecast', 'best': records[5], 'final': {'members': [5]},
             'members': table, 'ranking': [5, 0, 4, 1],
             'configs': config_table.ConfigTable.of(table, 'mse', 'rmse')}
  on_disk = summary_file.write(str(tmp_path), summary)
  files.write_json(str(tmp_path / files.SUMMARY), on_disk, indent=None)
  assert os.path.exists(tmp_path / files.MEMBERS)
  saved = files.read_json(str(tmp_path / files.SUMMARY))
  assert 'members' not in saved and saved['columns'] == files.MEMBERS
  assert saved['ranking_top'] == [5, 0, 4, 1] and saved['num_members'] == 6
  read = summary_file.read_summary(str(tmp_path))
  assert read['ranking'] == summary['ranking']
  assert files.clean(list(read['members'])) == files.clean(records)
  assert files.clean(list(read['configs'])) == files.clean(list(summary['configs']))
  assert read['best'] == files.clean(records[5])
  # The small form reads as tables too, and a summary without configurations (older).
  files.write_json(str(tmp_path / files.SUMMARY), {'members': records})
  read = summary_file.read_summary(str(tmp_path))
  assert isinstance(read['members'], member_table.MemberTable) and 'configs' not in read
  assert files.clean(list(read['members'])) == files.clean(records)
  assert member_table.columnar(member_table.MAX_RECORDS + 1)
  assert not member_table.columnar(member_table.MAX_RECORDS)


def test_write_summary_lists_records_up_to_max_records(tmp_path, monkeypatch):
  """summary.json of a small summary in memory is the summary with its tables as lists
  of records (indented), and reads back to the same tables; over MAX_RECORDS members,
  the tables go to members.npz and read back the same."""
  records = _records()
  table = member_table.MemberTable.from_records(records)
  configs = config_table.ConfigTable.of(table, 'mse', 'rmse')
  summary = {'task': 'forecast', 'members': table, 'ranking': [5, 0, 4, 1],
             'best': records[5], 'configs': configs, 'baselines': {}}
  summary_file.write_summary(str(tmp_path), summary)
  lists = {**summary, 'members': list(table), 'configs': list(configs)}
  assert (tmp_path / files.SUMMARY).read_text() == json.dumps(files.clean(lists, short=True),
                                                              indent=1)
  assert os.listdir(tmp_path) == [files.SUMMARY]
  for columns in (False, True):
    if columns:
      monkeypatch.setattr(member_table, 'MAX_RECORDS', 5)
      summary_file.write_summary(str(tmp_path), summary)
      assert 'columns' in files.read_json(str(tmp_path / files.SUMMARY))
    read = summary_file.read_summary(str(tmp_path))
    assert sorted(read) == sorted(summary)
    assert files.clean(list(read['members'])) == files.clean(records)
    # As written: summary.json holds float32's shortest decimals (files.short_float).
    assert files.clean(list(read['configs']), True) == files.clean(list(configs), True)
    np.testing.assert_array_equal(read['configs'].offsets, configs.offsets)


def test_the_ranking_table_names_the_file_that_holds_every_member(monkeypatch):
  """Above MAX_RECORDS members their records are in members.npz: the table pointed to
  summary.json, which then holds none (a user's finding)."""
  from rnnjax.results.printed import report  # pylint: disable=g-import-not-at-top
  table = member_table.MemberTable.from_records(_records())
  summary = {'task': 'forecast', 'members': table, 'ranking': [5, 0, 4, 1],
             'configs': config_table.ConfigTable.of(table, 'mse', 'rmse'), 'baselines': {},
             'best': None, 'selection': {'metric': 'mse', 'mode': 'min'}, 'display': 'rmse'}
  first = lambda: report.ranking_table(summary, top_k=2).splitlines()[0]
  assert first() == ('the top 2 of 4 members by validation (every member: trials.csv and '
                     'summary.json)')
  monkeypatch.setattr(member_table, 'MAX_RECORDS', 5)
  assert first().endswith('(every member: trials.csv and members.npz)')


def test_tables_equal_the_lists_of_their_records():
  """A summary in memory compares and cleans as the one summary.json holds."""
  records = _records()
  table = member_table.MemberTable.from_records(records)
  configs = config_table.ConfigTable.of(table, 'mse', 'rmse')
  assert table == list(table) and list(table) == table and table != list(table)[:-1]
  assert files.clean(table) == files.clean(records)
  assert config_table.ConfigTable.from_records(list(configs)) == configs
  saved = json.loads(json.dumps(files.clean({'members': table, 'configs': configs})))
  assert summary_file.read('', saved) == saved  # As a finished sweep's, read back.


def test_configurations_rank_by_members_without_a_value_then_by_mean():
  """rank_configs: the fewest members without a finite value first (config 0's best
  member, 0.1, does not carry two seeds without one), then the lowest mean; a
  configuration with no finite value last, however few members it has."""
  config = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3])
  values = np.array([0.1, np.nan, np.inf, 0.5, 0.6, 0.7, 0.9, 0.4, np.nan])
  assert config_table.rank_configs(config, values).tolist() == [1, 2, 0, 3]
