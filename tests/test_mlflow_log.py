"""The final model in MLflow (rnnjax/results/tracking/mlflow_log.py, final/use/
mlflow_packaging.py and mlflow_model.py): a sweep logged to a local sqlite store (by the
sweep's command, or log_sweep) gives a pyfunc model whose predictions are
`rnnjax.load(workdir)`'s, for each task; a process without rnnjax loads it from the
sources logged beside it.

Real sweeps of one or two tiny members (a few seconds each); MLflow is not mocked.
"""

import dataclasses
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments import population_sweep
from rnnjax.data import classify
from rnnjax.data import text
from rnnjax.errors import InputError
from rnnjax.engine import sharding
from rnnjax.results import summary_file
from rnnjax.run import sweep
import rnnjax
from tests import entry_points

mlflow = pytest.importorskip('mlflow', reason='the mlflow extra is not installed')

TINY = dict(cell='gru', hidden_size='4', learning_rate='grid(3e-3,3e-2)', train_steps=2,
            eval_every=2, ensemble_size=2)
# A target and an input column, two steps ahead: the pyfunc input carries the inputs' future.
FORECAST = sweep.SweepSpec(classical_baselines=False, target_columns=('sales',),
                           input_columns=('promo',), time_column='t', lookback='4',
                           horizon=2, val_size=6, test_size=6, batch_size='4', **TINY)
CLASSIFY = sweep.SweepSpec(task='classify', dataset='JapaneseVowels', batch_size='8', **TINY)
CHARLM = sweep.SweepSpec(task='charlm', val_size=300, test_size=300, batch_size='4',
                         seq_len=8, sample_chars=0, **TINY)


@pytest.fixture(scope='module')
def store(tmp_path_factory):
  """One sqlite tracking store for the module (a new one takes seconds to set up),
  which mlflow's runs:/ and models:/ URIs resolve in."""
  path = tmp_path_factory.mktemp('mlflow')
  uri = f'sqlite:///{path}/mlflow.db'
  # Artifacts would go to ./mlruns by default.
  mlflow.MlflowClient(uri).create_experiment('t', artifact_location=str(path / 'art'))
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv('MLFLOW_TRACKING_URI', uri)
    yield uri


def _logged(tmp_path, spec, uri):
  """(workdir, parent run id) of `spec` run and logged to the store at `uri`."""
  from rnnjax.final.use import mlflow_packaging
  from rnnjax.results.tracking import mlflow_log
  workdir = str(tmp_path / 'wd')
  sweep.run_sweep(spec, workdir, log=lambda _: None)
  return workdir, mlflow_log.log_sweep(uri, workdir, experiment='t',
                                       log_model=mlflow_packaging.log_model)


@pytest.fixture(scope='module')
def forecaster(tmp_path_factory, store):
  """FORECAST run and logged by the sweep's command (`--mlflow_uri`): (workdir, run id)."""
  tmp_path = tmp_path_factory.mktemp('forecast')
  rows = ''.join(f'{t},{100 + 10 * np.sin(t / 2) + t:.3f},{(t * 7) % 5}\n' for t in range(40))
  (tmp_path / 'sales.csv').write_text('t,sales,promo\n' + rows)
  spec = dataclasses.replace(FORECAST, csv_path=str(tmp_path / 'sales.csv'))
  workdir = str(tmp_path / 'wd')
  args = [f'--{k}={",".join(v) if isinstance(v, tuple) else v}'
          for k, v in dataclasses.asdict(spec).items() if v != getattr(sweep.SweepSpec(), k)]
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
    code = entry_points.run_main(population_sweep.main, [
        'population_sweep', f'--workdir={workdir}', '--figures=false', f'--mlflow_uri={store}',
        '--mlflow_experiment=t', *args])
  assert code == 0
  runs = mlflow.MlflowClient(store).search_runs(
      [mlflow.MlflowClient(store).get_experiment_by_name('t').experiment_id],
      filter_string=f"tags.`rnnjax.run.workdir` = '{os.path.abspath(workdir)}'")
  parents = [r for r in runs if 'mlflow.parentRunId' not in r.data.tags]
  assert len(parents) == 1
  return workdir, parents[0].info.run_id


def test_the_forecaster_in_mlflow_forecasts_as_rnnjax_load(forecaster, store):
  workdir, run_id = forecaster
  model = rnnjax.load(workdir)
  pyfunc = mlflow.pyfunc.load_model(f'runs:/{run_id}/model')
  series = model.arrays['series']
  future = np.array([[1.0], [4.0], [2.0]])
  # The history as a user reads it from a CSV (promo: integers), then the future rows:
  # empty targets, the inputs' values.
  history = pd.DataFrame({'promo': np.r_[series[:, 1], future[:, 0]].astype(int),
                          'sales': np.r_[series[:, 0], [np.nan] * 3]})
  got = pyfunc.predict(history, params={'steps': 3})
  want = model.forecast(series, 3, future_inputs=future)
  assert list(got.columns) == ['step', 'forecast', 'lower_80', 'upper_80', 'lower_95',
                               'upper_95']
  assert list(got['step']) == [1, 2, 3]
  np.testing.assert_allclose(got['forecast'], want['point'][:, 0], rtol=1e-6)
  for level in (0.8, 0.95):
    np.testing.assert_allclose(got[f'lower_{level * 100:g}'], want['lower'][level][:, 0],
                               rtol=1e-6)
    np.testing.assert_allclose(got[f'upper_{level * 100:g}'], want['upper'][level][:, 0],
                               rtol=1e-6)
  # The default horizon and levels; the run's tag names the same model as models:/<id>.
  model_uri = mlflow.MlflowClient(store).get_run(run_id).data.tags['rnnjax.model_uri']
  assert model_uri.startswith('models:/')
  again = mlflow.pyfunc.load_model(model_uri).predict(history.iloc[:-1],
                                                      params={'levels': [0.5]})
  assert list(again.columns) == ['step', 'forecast', 'lower_50', 'upper_50']
  np.testing.assert_allclose(again['forecast'], want['point'][:2, 0], rtol=1e-6)
  assert pyfunc.metadata.metadata['target_columns'] == ['sales']
  # With the model's time column, rows in any order are read in time order, and two
  # rows at one time are refused, as rnnjax.load's forecast does.
  dated = history.assign(t=np.arange(len(history)))
  shuffled = dated.sample(frac=1.0, random_state=0)
  assert list(shuffled['t']) != sorted(shuffled['t'])
  pd.testing.assert_frame_equal(pyfunc.predict(shuffled, params={'steps': 3}), got)
  with pytest.raises(InputError, match=r"^history: has two rows at '0' \(column 't'\)$") as e:
    pyfunc.predict(pd.concat([dated.iloc[:5], dated]), params={'steps': 3})
  # MLflow's scoring server answers it as the client's error (400), with that line.
  assert e.value.get_http_status_code() == 400 and e.value.message == str(e.value)
  with pytest.raises(InputError, match='end the history with 2 rows whose targets are empty'):
    pyfunc.predict(history.iloc[:-3], params={'steps': 3})
  # Too few of them: in the caller's terms, not future_inputs' (it passed none).
  with pytest.raises(InputError, match=r'^history: .*end the history with 2 rows whose '
                     r'targets are empty and whose inputs hold their values after it \(it '
                     r'ends with 1\)$'):
    pyfunc.predict(history.iloc[:-2], params={'steps': 3})
  # A row ahead without its input: the model names the history's rows itself (forecast's
  # future_what); no error on the way named future_inputs, which the caller never passed.
  holed = history.astype({'promo': float})
  holed.loc[len(series), 'promo'] = np.nan
  with pytest.raises(InputError, match=r"^history: its rows whose target is empty \(the "
                     r"inputs ahead\): 3 steps read the first 2 rows of \['promo'\] .*given 3 "
                     r"rows, 1 of the first 2 complete \('promo' is empty in row 1, step 1 "
                     r"after the history\)$") as e:
    pyfunc.predict(holed, params={'steps': 3})
  chain = [e.value]
  while chain[-1].__context__ is not None:
    chain.append(chain[-1].__context__)
  assert not any('future_inputs' in str(error) for error in chain), chain
  with pytest.raises(InputError, match=r"no column\(s\) \['promo'\]"):
    pyfunc.predict(history[['sales']])


def test_a_process_without_rnnjax_loads_it_from_the_logged_sources(forecaster, tmp_path):
  workdir, run_id = forecaster
  series = rnnjax.load(workdir).arrays['series']
  future = [[3.0], [0.0]]
  want = rnnjax.load(workdir).forecast(series, 2, future_inputs=future)['point'][:, 0]
  history = np.r_[series, [[np.nan, 3.0], [np.nan, 0.0]]]
  np.save(tmp_path / 'history.npy', history)
  script = f"""
import importlib.util, json, sys
# The editable install's finder, and this checkout, out of reach: rnnjax must come from
# the model's own code/ folder.
sys.meta_path[:] = [f for f in sys.meta_path if 'rnnjax' not in getattr(f, '__module__', '')]
sys.path[:] = [p for p in sys.path if p not in ('', {os.getcwd()!r})]
assert importlib.util.find_spec('rnnjax') is None
import mlflow, numpy as np, pandas as pd
model = mlflow.pyfunc.load_model('runs:/{run_id}/model')
import rnnjax
history = pd.DataFrame(np.load('history.npy'), columns=['sales', 'promo'])
print(json.dumps({{'rnnjax': rnnjax.__file__,
                  'forecast': list(model.predict(history)['forecast'])}}))
"""
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu'}  # MLFLOW_TRACKING_URI: the store.
  env.pop('PYTHONPATH', None)
  proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                        cwd=tmp_path, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert os.path.join('code', 'rnnjax', '__init__.py') in out['rnnjax']
  np.testing.assert_allclose(out['forecast'], want, rtol=1e-5)


def test_the_classifier_in_mlflow_classifies_as_rnnjax_load(tmp_path, store):
  workdir, run_id = _logged(tmp_path, CLASSIFY, store)
  model = rnnjax.load(workdir)
  cases = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test'),
                           flag='test').series[:5]
  pyfunc = mlflow.pyfunc.load_model(f'runs:/{run_id}/model')
  got = pyfunc.predict(cases)
  classes = model.transform['classes']
  assert list(got.columns) == ['predicted'] + [f'p_{c}' for c in classes]
  assert list(got['predicted']) == model.predict(cases)
  np.testing.assert_allclose(got[[f'p_{c}' for c in classes]], model.predict_proba(cases),
                             rtol=1e-6)
  # The same cases in long format: one row per step, a `case` column.
  long = pd.concat([pd.DataFrame(c).assign(case=i) for i, c in enumerate(cases)])
  pd.testing.assert_frame_equal(pyfunc.predict(long), got)


def test_the_char_model_in_mlflow_samples_as_rnnjax_load(tmp_path, store):
  with gzip.open(text.bundled_path('shakespeare'), 'rt', encoding='utf-8') as f:
    (tmp_path / 'plays.txt').write_text(f.read(3000))
  spec = dataclasses.replace(CHARLM, text_path=str(tmp_path / 'plays.txt'))
  workdir, run_id = _logged(tmp_path, spec, store)
  model = rnnjax.load(workdir)
  pyfunc = mlflow.pyfunc.load_model(f'runs:/{run_id}/model')
  got = pyfunc.predict(['ROMEO:', 'KING'], params={'num_chars': 12, 'seed': 3})
  assert list(got['prompt']) == ['ROMEO:', 'KING']
  assert list(got['text']) == [model.sample('ROMEO:', num_chars=12, seed=3),
                               model.sample('KING', num_chars=12, seed=3)]


def test_a_sweep_is_logged_once_and_a_log_stopped_part_way_is_written_anew(forecaster,
                                                                           store):
  """The same command run again on a finished sweep does not log it twice; a log cut
  off part-way (Ctrl-C while logging) is replaced, not left beside the whole one."""
  from rnnjax.results.tracking import mlflow_log
  workdir, _ = forecaster
  client = mlflow.MlflowClient(store)
  experiment = client.create_experiment(  # Artifacts would go to ./mlruns by default.
      'again', artifact_location=os.path.join(os.path.dirname(workdir), 'again'))
  live = lambda: client.search_runs([experiment])  # Deleted runs are not listed.
  real = client.set_terminated
  ended = []

  def stopped(run_id, status=None):
    ended.append(run_id)
    if len(ended) == 2:  # The second member's run: the parent is never ended.
      raise KeyboardInterrupt
    real(run_id, status)
  client.set_terminated = stopped
  with pytest.raises(KeyboardInterrupt):
    mlflow_log.log_sweep(store, workdir, experiment='again', mlflow_client=client)
  client.set_terminated = real
  cut = {r.info.run_id for r in live()}
  assert len(cut) == 3  # The parent and two members' runs.
  said = []
  whole = mlflow_log.log_sweep(store, workdir, experiment='again', mlflow_client=client,
                               log=said.append)
  runs = live()
  assert not cut & {r.info.run_id for r in runs} and not said
  parents = [r for r in runs if 'mlflow.parentRunId' not in r.data.tags]
  assert [p.info.run_id for p in parents] == [whole]
  assert parents[0].info.status == 'FINISHED'
  # The flags the forecasting task reads, not those of other tasks.
  params = parents[0].data.params
  assert {'learning_rate', 'lookback', 'horizon'} <= set(params)
  assert not {'pooling', 'seq_len', 'temperature', 'loss', 'benchmarks'} & set(params)
  members = len(runs) - 1
  assert members == len(summary_file.read_summary(workdir)['members'])
  again = mlflow_log.log_sweep(store, workdir, experiment='again', mlflow_client=client,
                               log=said.append)
  assert again == whole and len(live()) == len(runs)
  assert said == [f'MLflow: this sweep is already logged (run {whole}); not logged again']


def test_a_classifiers_long_table_of_cases_is_checked_in_one_line():
  """The long form's `case` column names each row's case; a cell holding a whole case
  (a list) is an InputError saying what the form is, not pandas' TypeError."""
  from rnnjax.final.use import mlflow_model  # pylint: disable=g-import-not-at-top
  model = type('Model', (), {'transform': {'classes': ['a']}})()
  with pytest.raises(InputError, match=r'^cases: a long DataFrame: one row per step, its '
                     r'`case` column the case it belongs to .*unhashable'):
    mlflow_model.classify(model, pd.DataFrame({'case': [[1.0, 2.0]]}), {})
  with pytest.raises(InputError, match=r"^cases: the `case` column is empty in 1 row\(s\)"):
    mlflow_model.classify(model, pd.DataFrame({'case': [0, np.nan], 'x': [1.0, 2.0]}), {})
