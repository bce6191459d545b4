"""Tests for rnnjax/results/tracking/tensorboard.py, read back with TensorBoard's own reader
and protos."""

import os

import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata

from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results.tracking import tensorboard as tb

LRS = (1e-3, 3e-3, 1e-2)
CELLS = ('lstm', 'gru', 'lstm')
STEPS = (10, 20)
STATUSES = ('ok', 'diverged', 'stopped')


def _member(uid):
  return {'uid': uid, 'bucket': 0 if CELLS[uid] == 'lstm' else 1, 'config': uid, 'seed': 0,
          'hparams': {'cell': CELLS[uid], 'learning_rate': LRS[uid], 'dropout': 0.0,
                      'hidden_size': 8}}


def _value(uid, step, split, metric):
  if (uid, step, metric) == (1, 20, 'rmse'):
    return None  # Non-finite, written as null.
  return round(uid + step / 100 + len(metric) / 10 + (split == 'val'), 6)


def _chunk(step):
  """One evaluation of every member, as `run_sweep` writes it."""
  return [{'uid': uid, 'bucket': _member(uid)['bucket'], 'step': step, 'split': split,
           'metric': metric, 'value': _value(uid, step, split, metric)}
          for uid in range(3)
          for split, names in (('train', ('loss',)), ('val', ('mse', 'rmse', 'mae')))
          for metric in names]


def _summary():
  members = [dict(_member(uid), status=STATUSES[uid], best_step=10,
                  val={'mse': 0.5 + uid, 'rmse': 2.0 + uid, 'mae': None if uid == 1 else 1.0})
             for uid in range(3)]
  members[0]['test'] = {'mse': 0.25, 'rmse': 3.0, 'mae': 1.5}
  return {'members': members, 'ranking': [0, 2], 'best': members[0]}


def _in_memory(summary):
  """A summary as a sweep holds it: its records a member_table.MemberTable."""
  return {**summary, 'members': member_table.MemberTable.from_records(summary['members'])}


def _workdir(path, *, summary=True):
  os.makedirs(path)
  files.write_json(os.path.join(path, files.PLAN),
                     {'swept': ['cell', 'learning_rate'],
                      'members': [_member(uid) for uid in range(3)]})
  writer = files.MetricsWriter(os.path.join(path, files.METRICS))
  for step in STEPS:
    for r in _chunk(step):
      writer.write(files.records(uid=r['uid'], bucket=r['bucket'], step=step, split=r['split'],
                   metrics={r['metric']: float('nan') if r['value'] is None else r['value']}))
  writer.close()
  if summary:
    files.write_json(os.path.join(path, files.SUMMARY), _summary())
  return str(path)


def _write_incrementally(logdir):
  writer = tb.SweepWriter(logdir, _summary()['members'])
  for step in STEPS:
    writer.add(_chunk(step))
    writer.flush()
  writer.close(_in_memory(_summary()))


def _read(logdir):
  """{run: (scalars {tag: [(step, value)]}, hparams plugin {tag: content})}."""
  out = {}
  for run in sorted(os.listdir(logdir)):
    acc = event_accumulator.EventAccumulator(os.path.join(logdir, run),
                                             size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
               for tag in acc.Tags()['scalars']}
    out[run] = (scalars, acc.PluginTagToContent(metadata.PLUGIN_NAME))
  return out


def test_one_run_per_member_with_every_evaluation(tmp_path):
  logdir = str(tmp_path / 'tb')
  _write_incrementally(logdir)
  runs = _read(logdir)
  assert list(runs) == ['uid-0000', 'uid-0001', 'uid-0002']
  for uid, (scalars, _) in enumerate(runs.values()):
    evaluated = {f'{s}/{m}' for s, m in (('train', 'loss'), ('val', 'mse'), ('val', 'rmse'),
                                         ('val', 'mae'))}
    best = {f'best_val/{m}' for m in ('mse', 'rmse', 'mae') if not (uid == 1 and m == 'mae')}
    test = {'test/mse', 'test/rmse', 'test/mae'} if uid == 0 else set()
    assert set(scalars) == evaluated | best | test
    for tag in evaluated:
      split, metric = tag.split('/')
      want = [(s, _value(uid, s, split, metric)) for s in STEPS
              if _value(uid, s, split, metric) is not None]
      assert [s for s, _ in scalars[tag]] == [s for s, _ in want]
      assert [v for _, v in scalars[tag]] == pytest.approx([v for _, v in want], rel=1e-6)
    assert scalars['best_val/rmse'] == [(10, pytest.approx(2.0 + uid))]
  assert runs['uid-0001'][0]['val/rmse'] == [(10, pytest.approx(_value(1, 10, 'val', 'rmse')))]
  assert runs['uid-0000'][0]['test/rmse'] == [(10, 3.0)]


def test_hparams_plugin_data(tmp_path):
  logdir = str(tmp_path / 'tb')
  _write_incrementally(logdir)
  for uid, (_, content) in enumerate(_read(logdir).values()):
    assert set(content) == {metadata.EXPERIMENT_TAG, metadata.SESSION_START_INFO_TAG,
                            metadata.SESSION_END_INFO_TAG}
    start = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    # Only what varies across the sweep: not dropout, hidden_size or seed.
    assert set(start.hparams) == {'cell', 'learning_rate'}
    assert start.hparams['cell'].string_value == CELLS[uid]
    assert start.hparams['learning_rate'].number_value == LRS[uid]
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == (api_pb2.STATUS_FAILURE if STATUSES[uid] == 'diverged'
                          else api_pb2.STATUS_SUCCESS)
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    infos = {h.name: h for h in experiment.hparam_infos}
    assert set(infos) == {'cell', 'learning_rate'}
    assert infos['cell'].type == api_pb2.DATA_TYPE_STRING
    assert list(infos['cell'].domain_discrete) == ['gru', 'lstm']
    assert infos['learning_rate'].type == api_pb2.DATA_TYPE_FLOAT64
    assert list(infos['learning_rate'].domain_discrete) == list(LRS)
    assert all(h.differs for h in infos.values())
    tags = [m.name.tag for m in experiment.metric_infos]
    assert tags == ['best_val/mae', 'best_val/mse', 'best_val/rmse', 'val/mae', 'val/mse',
                    'val/rmse', 'train/loss', 'test/mae', 'test/mse', 'test/rmse']
    assert experiment.metric_infos[0].dataset_type == api_pb2.DATASET_VALIDATION


def test_many_float_values_get_an_interval_and_seeds_a_column(tmp_path):
  members = [{'uid': u, 'seed': u % 2,
              'hparams': {'learning_rate': 10 ** (-4 + u / 10), 'cell': 'lstm'}}
             for u in range(tb.MAX_DISCRETE + 2)]
  writer = tb.SweepWriter(str(tmp_path), members)
  writer.close(_in_memory(
      {'members': [dict(m, status='ok', best_step=0, val={}) for m in members]}))
  content = _read(str(tmp_path))['uid-0003'][1]
  experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
  infos = {h.name: h for h in experiment.hparam_infos}
  assert set(infos) == {'learning_rate', 'seed'}
  assert infos['learning_rate'].HasField('domain_interval')
  assert infos['learning_rate'].domain_interval.min_value == pytest.approx(1e-4)
  assert list(infos['seed'].domain_discrete) == [0, 1]
  start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
  assert start.hparams['seed'].number_value == 1


def test_rebuild_equals_incremental_and_never_duplicates(tmp_path):
  incremental = str(tmp_path / 'incremental')
  _write_incrementally(incremental)
  workdir = _workdir(tmp_path / 'work')
  with open(os.path.join(workdir, files.METRICS), 'a') as f:  # A resume repeats step 20.
    f.write(open(os.path.join(workdir, files.METRICS)).read().split('\n', 12)[-1])
  tb.rebuild(workdir)
  logdir = tb.rebuild(workdir)
  assert logdir == os.path.join(workdir, files.TENSORBOARD)
  assert [len(os.listdir(os.path.join(logdir, run))) for run in os.listdir(logdir)] == [1] * 3
  want, got = _read(incremental), _read(logdir)
  assert list(got) == list(want)
  for run in want:
    assert got[run][0] == want[run][0]
    for tag, content in want[run][1].items():
      parse = {metadata.EXPERIMENT_TAG: metadata.parse_experiment_plugin_data,
               metadata.SESSION_START_INFO_TAG: metadata.parse_session_start_info_plugin_data,
               metadata.SESSION_END_INFO_TAG: metadata.parse_session_end_info_plugin_data}[tag]
      a, b = parse(content), parse(got[run][1][tag])
      for proto in (a, b):
        for field in ('time_created_secs', 'start_time_secs', 'end_time_secs'):
          if field in proto.DESCRIPTOR.fields_by_name:
            proto.ClearField(field)
      assert a == b


def test_rebuild_from_plan_then_resume_appends(tmp_path):
  workdir = _workdir(tmp_path / 'work', summary=False)
  os.makedirs(os.path.join(workdir, files.TENSORBOARD, 'stale-run'))
  logdir = tb.rebuild(workdir)
  runs = _read(logdir)
  assert list(runs) == ['uid-0000', 'uid-0001', 'uid-0002']
  assert set(runs['uid-0002'][1]) == {metadata.SESSION_START_INFO_TAG}
  writer = tb.SweepWriter(logdir, [_member(uid) for uid in range(3)])  # The resumed sweep.
  writer.add([dict(r, step=30) for r in _chunk(20)])
  writer.close(_in_memory(_summary()))
  runs = _read(logdir)
  assert [s for s, _ in runs['uid-0002'][0]['val/mse']] == [10, 20, 30]
  assert set(runs['uid-0002'][1]) == {metadata.EXPERIMENT_TAG, metadata.SESSION_START_INFO_TAG,
                                      metadata.SESSION_END_INFO_TAG}
  assert [len(os.listdir(os.path.join(logdir, run))) for run in runs] == [1] * 3


def test_unknown_uid_is_refused(tmp_path):
  writer = tb.SweepWriter(str(tmp_path), [_member(0)])
  with pytest.raises(ValueError, match='uid 5'):
    writer.add([{'uid': 5, 'bucket': 0, 'step': 1, 'split': 'val', 'metric': 'mse',
                 'value': 1.0}])


def test_a_sweeps_runs_name_their_seed_when_seeds_vary(tmp_path):
  """Two seeds of one configuration are two rows of the HParams table, told apart."""
  from rnnjax.search import planner  # pylint: disable=g-import-not-at-top
  from rnnjax.search import space  # pylint: disable=g-import-not-at-top
  from tests.test_figures import DEFAULTS  # pylint: disable=g-import-not-at-top
  axes = {n: space.parse_axis(n, t)
          for n, t in {**DEFAULTS, 'learning_rate': 'grid(1e-3,1e-2)'}.items()}
  plan = planner.make_plan(axes, search='grid', num_members=0, num_seeds=2, seed=0)
  tb.writer_for(str(tmp_path), plan).close()
  runs = _read(str(tmp_path))
  seeds = []
  for _, plugin in runs.values():
    start = metadata.parse_session_start_info_plugin_data(
        plugin[metadata.SESSION_START_INFO_TAG])
    seeds.append(start.hparams['seed'].number_value)
  assert sorted(seeds) == [0, 0, 1, 1]
