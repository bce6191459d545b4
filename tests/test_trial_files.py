"""Exports of a finished sweep (rnnjax/results/tracking/trial_files.py and mlflow_log.py):
the Optuna journal, trials.csv and curves.csv agree with summary.json and metrics.jsonl;
the journal serves a real optuna-dashboard; MLflow runs read back from a real local store.

The work directory is fabricated (no training): four members of a PBT sweep, one
complete, one diverged, one cut by halving, one that copied another's weights.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
import pytest

from rnnjax.errors import InputError
from rnnjax.results import config_table
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.tracking import trial_files
from rnnjax.search import spec as spec_lib

SPEC = spec_lib.SweepSpec(classical_baselines=False,
                          search='pbt', num_members=4, cell='grid(lstm,gru)',
                          learning_rate='loguniform(1e-3,1e-1)', dropout='uniform(0,0.5)',
                          train_steps=6, eval_every=2)
START = [{'cell': 'lstm', 'learning_rate': 0.002, 'dropout': 0.1},
         {'cell': 'gru', 'learning_rate': 0.09, 'dropout': 0.2},
         {'cell': 'lstm', 'learning_rate': 0.01, 'dropout': 0.3},
         {'cell': 'gru', 'learning_rate': 0.005, 'dropout': 0.4}]
STATUS = ['ok', 'diverged', 'stopped', 'ok']
CURVES = {0: [3.0, 2.0, 1.5], 1: [5.0, None, None], 2: [4.0], 3: [2.5, 2.2, 2.1]}


def _workdir(path) -> dict:
  """Writes sweep.json, plan.json, metrics.jsonl and summary.json; returns the summary
  in memory (as run_sweep's: read back, its records a member_table.MemberTable)."""
  os.makedirs(path)
  files.write_json(os.path.join(path, files.SWEEP), {'spec': SPEC.to_json()})
  full = lambda values: {**{'optimizer': 'adam', 'hidden_size': 32, 'num_layers': 1,
                            'batch_size': 32}, **values}
  members = [{'uid': u, 'bucket': u % 2, 'config': u, 'seed': 0, 'hparams': full(v)}
             for u, v in enumerate(START)]
  files.write_json(os.path.join(path, files.PLAN), {'members': members})
  records = []
  for uid, curve in CURVES.items():
    for k, value in enumerate(curve):
      where = dict(uid=uid, bucket=uid % 2, step=2 * (k + 1))
      records += files.records(split='train', metrics={'loss': 1.0}, **where)
      records.append({**where, 'split': 'val', 'metric': 'mse',
                      'value': float('nan') if value is None else value})
  # At step 2, member 3 copied member 0's weights and got a new learning rate.
  records += [{'uid': 3, 'bucket': 1, 'step': 2, 'split': 'lineage', 'metric': 'parent',
               'value': 0},
              {'uid': 3, 'bucket': 1, 'step': 2, 'split': 'hparams',
               'metric': 'learning_rate', 'value': 0.0025}]
  writer = files.MetricsWriter(os.path.join(path, files.METRICS))
  writer.write(records)
  writer.close()
  summary_members = []
  for m, status in zip(members, STATUS):
    best = min(v for v in CURVES[m['uid']] if v is not None)
    rec = {**m, 'status': status, 'best_step': 2 * (CURVES[m['uid']].index(best) + 1),
           'steps': 2 * len(CURVES[m['uid']]), 'val': {'mse': best, 'rmse': best ** 0.5}}
    if status == 'stopped':
      rec['stopped_by'] = 'halving at 2'
    if m['uid'] == 3:
      rec['hparams'] = {**m['hparams'], 'learning_rate': 0.0025}
    if status == 'ok':
      rec['test'] = {'mse': best + 1, 'rmse': (best + 1) ** 0.5}
    summary_members.append(rec)
  summary = {'task': 'forecast', 'search': 'pbt', 'selection': {'metric': 'mse', 'mode': 'min'},
             'display': 'rmse', 'members': summary_members,
             'final': {'kind': 'single', 'members': [0], 'val': {'mse': 1.5},
                       'test': {'mse': 2.5}}, 'member_steps': {'useful': 20, 'budget': 24}}
  files.write_json(os.path.join(path, files.SUMMARY), summary)
  return summary_file.read_summary(path)


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('exports') / 'wd')
  summary = _workdir(path)
  trial_files.write(path, summary)
  return path


def _study(workdir):
  storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
      os.path.join(workdir, files.JOURNAL)))
  return optuna.load_study(study_name=trial_files.STUDY, storage=storage)


def test_journal_holds_one_trial_per_member_with_the_summary_values(workdir):
  summary = files.read_json(os.path.join(workdir, files.SUMMARY))
  study = _study(workdir)
  trials = sorted(study.trials, key=lambda t: t.user_attrs['uid'])
  assert [t.user_attrs['uid'] for t in trials] == [0, 1, 2, 3]
  state = optuna.trial.TrialState
  assert [t.state for t in trials] == [state.COMPLETE, state.FAIL, state.PRUNED,
                                       state.COMPLETE]
  for t, m in zip(trials, summary['members']):
    # After PBT, the values its best weights trained under (member 3's were changed).
    assert t.params == {k: m['hparams'][k] for k in START[m['uid']]}
    assert t.user_attrs['val_mse'] == m['val']['mse']
    assert t.value == (None if m['status'] == 'diverged' else m['val']['mse'])
    assert t.user_attrs.get('test_mse') == (m.get('test') or {}).get('mse')
    finite = {2 * (k + 1): v for k, v in enumerate(CURVES[m['uid']]) if v is not None}
    assert t.intermediate_values == finite
  assert trials[0].distributions['learning_rate'].log
  assert not trials[0].distributions['dropout'].log
  assert trials[0].distributions['cell'].choices == ('lstm', 'gru')
  assert trials[3].user_attrs['pbt_lineage'] == [[3, 2], [0, 0]]
  assert trials[3].params['learning_rate'] == 0.0025
  assert trials[3].user_attrs['start_hparams'] == {'learning_rate': 0.005}
  assert study.best_trial.user_attrs['uid'] == 0
  assert study.user_attrs['final_model']['test'] == {'mse': 2.5}
  assert study.metric_names == ['val_mse']  # Not "Objective 0" in the dashboard.
  frame = study.trials_dataframe()
  assert len(frame) == 4 and 'params_learning_rate' in frame
  # Optuna's plots draw it (with matplotlib: its plotly ones need plotly, which rnnjax
  # does not): the two complete trials, at the values their best weights trained under.
  from optuna.visualization import matplotlib as optuna_plots  # pylint: disable=g-import-not-at-top
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
    parallel = optuna_plots.plot_parallel_coordinate(study)
    slices = optuna_plots.plot_slice(study)
    optuna_plots.plot_contour(study, params=['learning_rate', 'dropout'])
  assert [t.get_text() for t in parallel.get_xticklabels()] == [
      'Objective Value', 'cell', 'dropout', 'learning_rate']
  assert len(parallel.collections[0].get_segments()) == 2
  points = {ax.get_xlabel(): ax.collections[0].get_offsets().tolist() for ax in slices}
  assert points['learning_rate'] == [[0.002, 1.5], [0.0025, 2.1]]
  assert points['dropout'] == [[0.1, 1.5], [0.4, 2.1]]
  plt.close('all')


def test_tables_read_by_pandas_in_one_line(workdir):
  summary = files.read_json(os.path.join(workdir, files.SUMMARY))
  trials = pd.read_csv(os.path.join(workdir, files.TRIALS))
  assert list(trials['uid']) == [m['uid'] for m in summary['members']]
  assert list(trials['status']) == STATUS
  np.testing.assert_allclose(trials['val_mse'], [m['val']['mse'] for m in summary['members']])
  assert trials['test_mse'].isna().tolist() == [False, True, True, False]
  assert trials.loc[3, 'learning_rate'] == 0.0025  # The value it ended with.
  assert {'cell', 'dropout', 'hidden_size', 'best_step', 'bucket', 'seed'} <= set(trials)
  curves = pd.read_csv(os.path.join(workdir, files.CURVES))
  assert list(curves.columns) == list(trial_files.CURVE_COLUMNS)
  records = evaluations.read_metrics(os.path.join(workdir, files.METRICS))
  assert len(curves) == len(records)
  val = curves[(curves.split == 'val') & (curves.uid == 0)]
  assert val['value'].tolist() == CURVES[0]


def test_large_sweeps_keep_trials_csv_and_say_what_they_leave_out(tmp_path, monkeypatch):
  # Thresholds lowered to this 4-member sweep: over the columnar threshold no curves.csv,
  # over the journal's no journal; trials.csv always, without curves.
  path = str(tmp_path / 'wd')
  summary = _workdir(path)
  monkeypatch.setattr(evaluations, 'JSONL_MAX_MEMBERS', 3)
  monkeypatch.setattr(trial_files, 'MAX_JOURNAL_TRIALS', 3)
  notes = trial_files.write(path, summary)
  assert [n.split(' ')[0] for n in notes] == [files.CURVES, files.JOURNAL]
  assert all('4 members (over 3' in n for n in notes)
  assert sorted(os.listdir(path)) == sorted([files.METRICS, files.PLAN, files.SUMMARY,
                                             files.SWEEP, files.TRIALS])
  trials = pd.read_csv(os.path.join(path, files.TRIALS))
  assert list(trials['uid']) == [0, 1, 2, 3]
  monkeypatch.setattr(trial_files, 'MAX_JOURNAL_TRIALS', 4)
  assert len(trial_files.write(path, summary)) == 1
  assert [t.user_attrs['uid'] for t in _study(path).trials] == [0, 1, 2, 3]
  assert all(not t.intermediate_values for t in _study(path).trials)


def test_trials_csv_is_the_same_from_summary_json_and_from_members_npz(tmp_path,
                                                                     monkeypatch):
  """A score that is not finite is an empty cell (pandas reads it as NaN); a large
  sweep's summary (over member_table.MAX_RECORDS members, lowered here), its records in
  members.npz, gives the trials.csv that the records summary.json lists give."""
  path = str(tmp_path / 'wd')
  _workdir(path)
  saved = files.read_json(os.path.join(path, files.SUMMARY))
  saved['members'] = [{**m, 'fold': 0} for m in saved['members']]  # As the sweep's.
  saved['members'][1]['val'] = {'mse': float('nan'), 'rmse': float('inf')}
  files.write_json(os.path.join(path, files.SUMMARY), saved)
  summary = summary_file.read_summary(path)
  monkeypatch.setattr(trial_files, 'MAX_JOURNAL_TRIALS', 3)
  trial_files.write(path, summary)
  want = open(os.path.join(path, files.TRIALS)).read()
  row = want.splitlines()[2].split(',')
  header = want.splitlines()[0].split(',')
  assert row[header.index('uid')] == '1'
  assert row[header.index('val_mse')] == row[header.index('val_rmse')] == ''
  assert pd.read_csv(os.path.join(path, files.TRIALS))['val_mse'].isna().tolist() == [
      False, True, False, False]
  os.unlink(os.path.join(path, files.TRIALS))
  monkeypatch.setattr(member_table, 'MAX_RECORDS', 3)
  summary_file.write_summary(path, {
      **summary, 'ranking': [0, 3],
      'configs': config_table.ConfigTable.of(summary['members'], 'mse', 'rmse')})
  assert 'columns' in files.read_json(os.path.join(path, files.SUMMARY))
  trial_files.write(path, summary_file.read_summary(path))
  assert open(os.path.join(path, files.TRIALS)).read() == want


def test_rewriting_gives_the_same_tables(workdir, tmp_path):
  before = {n: open(os.path.join(workdir, n)).read() for n in (files.TRIALS, files.CURVES)}
  trial_files.write(workdir, summary_file.read_summary(workdir))
  assert {n: open(os.path.join(workdir, n)).read() for n in before} == before
  assert len(_study(workdir).trials) == 4  # Rebuilt, not appended to.
  assert not [n for n in os.listdir(workdir) if n.startswith('.tmp-')]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_optuna_dashboard_serves_the_journal(workdir):
  pytest.importorskip('optuna_dashboard', reason='optuna-dashboard is not installed')
  port = _free_port()
  # The command users run, from this interpreter's environment.
  command = os.path.join(os.path.dirname(sys.executable), 'optuna-dashboard')
  server = subprocess.Popen(
      [command, os.path.join(workdir, files.JOURNAL),
       '--host', '127.0.0.1', '--port', str(port)],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  get = lambda path: json.loads(urllib.request.urlopen(
      f'http://127.0.0.1:{port}{path}', timeout=10).read())
  try:
    deadline = time.time() + 60
    while True:
      try:
        studies = get('/api/studies')['study_summaries']
        break
      except OSError:
        assert server.poll() is None and time.time() < deadline, 'dashboard did not start'
        time.sleep(0.2)
    assert [s['study_name'] for s in studies] == [trial_files.STUDY]
    detail = get(f'/api/studies/{studies[0]["study_id"]}')
    assert len(detail['trials']) == 4
    by_uid = {int(next(a['value'] for a in t['user_attrs'] if a['key'] == 'uid')): t
              for t in detail['trials']}
    assert by_uid[0]['state'] == 'Complete' and by_uid[1]['state'] == 'Fail'
    assert by_uid[0]['values'] == [1.5]
    assert {p['name'] for p in by_uid[0]['params']} == {'cell', 'learning_rate', 'dropout'}
  finally:
    server.terminate()
    try:
      server.wait(timeout=30)
    except subprocess.TimeoutExpired:
      server.kill()
      server.wait()


def test_mlflow_runs_read_back_from_a_local_store(workdir, tmp_path):
  pytest.importorskip('mlflow', reason='the mlflow extra is not installed')
  from mlflow.tracking import MlflowClient
  from rnnjax.results.tracking import mlflow_log
  uri = f'sqlite:///{tmp_path}/mlflow.db'
  client = MlflowClient(tracking_uri=uri)
  # Artifacts would go to ./mlruns by default.
  client.create_experiment('exports-test', artifact_location=str(tmp_path / 'artifacts'))
  parent = mlflow_log.log_sweep(uri, workdir, experiment='exports-test')
  assert os.listdir(tmp_path / 'artifacts')
  run = client.get_run(parent)
  assert run.data.params['search'] == 'pbt'
  assert run.data.params['learning_rate'] == 'loguniform(1e-3,1e-1)'
  assert run.data.metrics['final/test/mse'] == 2.5
  assert {a.path for a in client.list_artifacts(parent)} >= {'summary.json', 'trials.csv'}
  experiment = client.get_experiment_by_name('exports-test').experiment_id
  children = client.search_runs([experiment],
                                filter_string=f"tags.mlflow.parentRunId = '{parent}'")
  by_uid = {int(r.data.params['uid']): r for r in children}
  assert sorted(by_uid) == [0, 1, 2, 3]
  assert by_uid[1].info.status == 'FAILED' and by_uid[0].info.status == 'FINISHED'
  assert by_uid[3].data.params['learning_rate'] == '0.0025'
  history = client.get_metric_history(by_uid[0].info.run_id, 'val/mse')
  assert [(m.step, m.value) for m in history] == [(2, 3.0), (4, 2.0), (6, 1.5)]
  assert by_uid[0].data.metrics['test/mse'] == 2.5


def test_unreadable_mlflow_uri_is_one_line(tmp_path, monkeypatch):
  pytest.importorskip('mlflow', reason='the mlflow extra is not installed')
  from rnnjax.results.tracking import mlflow_log
  with pytest.raises(InputError, match=r"^--mlflow_uri: 'nowhere://x' is not a readable") as e:
    mlflow_log.client('nowhere://x')
  assert '\n' not in str(e.value)
  # MLflow 3.17's refusal of a file store ends with what opts out of it
  # (MLFLOW_ALLOW_FILE_STORE=true, past 200 characters): its line is kept whole.
  monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
  uri = (tmp_path / 'mlruns').as_uri()
  from mlflow.tracking import MlflowClient  # pylint: disable=g-import-not-at-top
  try:
    MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
  except Exception as refused:  # pylint: disable=broad-except
    with pytest.raises(InputError) as e:
      mlflow_log.client(uri)
    assert str(e.value).endswith(f'({str(refused).strip().splitlines()[0]})'), e.value


def test_a_sweep_stopped_while_writing_its_journal_writes_it_when_run_again(tmp_path,
                                                                           monkeypatch):
  """summary.json, which marks a sweep finished (a finished sweep is not run again), is
  written after the trial files: a sweep killed (or out of disk) while writing the journal
  is unfinished, and the same command writes it."""
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                         val_size=6, test_size=6, hidden_size='4', batch_size='4',
                         learning_rate='grid(3e-3,3e-2)', train_steps=4, eval_every=2)
  workdir = str(tmp_path / 'wd')

  def killed(*args, **kwargs):
    raise KeyboardInterrupt
  monkeypatch.setattr(trial_files, 'write_journal', killed)
  with pytest.raises(KeyboardInterrupt):
    sweep.run_sweep(spec, workdir, log=lambda _: None)
  assert not os.path.exists(os.path.join(workdir, files.SUMMARY))
  monkeypatch.undo()
  sweep.run_sweep(spec, workdir, log=lambda _: None)
  study = optuna.load_study(study_name=trial_files.STUDY, storage=optuna.storages.JournalStorage(
      optuna.storages.journal.JournalFileBackend(os.path.join(workdir, files.JOURNAL))))
  assert len(study.trials) == 2
  # A finished sweep without them (its summary written first, by an older rnnjax): the
  # same command writes them.
  for name in (files.JOURNAL, files.TRIALS):
    os.remove(os.path.join(workdir, name))
  lines = []
  sweep.run_sweep(spec, workdir, log=lines.append)
  assert 'wrote trials.csv, optuna.journal, missing from the finished sweep' in lines
  assert os.path.exists(os.path.join(workdir, files.JOURNAL))
