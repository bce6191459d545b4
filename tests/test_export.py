"""The saved final model: `rnnjax.load` gives the summary's test figures back, for
every task and every kind of final model; a fresh process needs no flags."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rnnjax
from rnnjax import spec as spec_lib
from rnnjax import sweep
from rnnjax.data import classify
from rnnjax.data import text
from rnnjax.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Two lookbacks (two data sets), two cells, masked widths: an ensemble across buckets.
FORECAST = sweep.SweepSpec(
    dataset='shampoo_sales', lookback='grid(3,4)', val_size=6, test_size=6,
    cell='grid(gru,lstm)', hidden_size='grid(4,6)', hidden_mode='masked', batch_size='4',
    learning_rate='grid(3e-3,3e-2)', train_steps=8, eval_every=2, difference=True,
    ensemble='greedy', ensemble_size=4)
CLASSIFY = sweep.SweepSpec(
    task='classify', dataset='JapaneseVowels', cell='gru', hidden_size='grid(4,6)',
    hidden_mode='masked', batch_size='8', learning_rate='grid(3e-3,3e-2)', train_steps=4,
    eval_every=2, ensemble_size=2)
CHARLM = sweep.SweepSpec(
    task='charlm', text_path='', dataset='shakespeare', val_size=300, test_size=300,
    cell='lstm', hidden_size='8', batch_size='4', seq_len=8, lookback='24',
    learning_rate='grid(3e-3,3e-2)', train_steps=4, eval_every=2, ensemble_size=2,
    sample_chars=0)


def _run(tmp_path, spec):
  workdir = str(tmp_path / 'wd')
  return sweep.run_sweep(spec, workdir, log=lambda _: None), workdir


def _assert_same(got: dict, want: dict):
  assert set(got) == set(want)
  for name, value in want.items():
    assert got[name] == value, (name, got[name], value)  # Exactly: same program, same data.


def test_forecast_ensemble_reproduces_the_test_figures(tmp_path):
  summary, workdir = _run(tmp_path, FORECAST)
  final = summary['final']
  model = rnnjax.load(workdir)
  assert model.kind == final['kind'] and model.manifest['members'] == final['members']
  series = model.arrays['series']
  _assert_same(model.evaluate_series(series, model.transform['split_points'][1]),
               final['test'])
  # The stored series is the data file's, and the manifest's transforms are the data's.
  data = spec_lib.load_data(FORECAST, 4)
  np.testing.assert_array_equal(series, data.transform['series'])
  assert model.transform['difference'] and model.transform['horizon'] == 1
  assert len(model.arrays['times']) == len(series)
  # A forecast from the end: 12 steps past a horizon of 1, intervals nested by level.
  fc = model.forecast(series, 12)
  assert fc['point'].shape == (12, 1) and np.all(np.isfinite(fc['point']))
  assert np.all(fc['lower'][0.95] <= fc['lower'][0.8])
  assert np.all(fc['upper'][0.8] <= fc['upper'][0.95])
  assert any('feed the forecasts back' in n for n in fc['notes'])
  # The first step forecast from the end equals the model's window forecast there.
  one = model.forecast(series[:-1], 1)['point'][0, 0]
  assert abs(one - series[-1, 0]) < 10 * summary['final']['test']['rmse']
  coverage = model.manifest['intervals']['test_coverage']
  assert 0 <= coverage['0.8']['first_steps'] <= 1
  with pytest.raises(InputError, match='rows are too few'):
    model.forecast(series[:3], 2)


def test_refit_reproduces_the_test_figures(tmp_path):
  spec = dataclasses.replace(FORECAST, lookback='4', cell='gru', refit=2,
                             ensemble='top')
  summary, workdir = _run(tmp_path, spec)
  model = rnnjax.load(workdir)
  assert model.kind == 'refit'
  assert sum(len(g.uids) for g in model._groups) == 2 * len(set(summary['final']['members']))  # pylint: disable=protected-access
  _assert_same(model.evaluate_series(model.arrays['series'],
                                     model.transform['split_points'][1]),
               summary['final']['test'])
  assert 'before its refit' in model.manifest['intervals']['calibrated_on']


def test_classifier_reproduces_the_test_figures(tmp_path):
  summary, workdir = _run(tmp_path, CLASSIFY)
  model = rnnjax.load(workdir)
  test = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test'))
  _assert_same(model.evaluate_cases(test.series, test.labels), summary['final']['test'])
  labels = model.predict(test.series[:5])
  assert set(labels) <= set(model.transform['classes'])
  probs = model.predict_proba(test.series[:5])
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
  with pytest.raises(InputError, match='channel'):
    model.predict_proba([np.zeros((7, 3))])


def test_char_model_reproduces_the_test_figures_and_samples(tmp_path):
  summary, workdir = _run(tmp_path, CHARLM)
  model = rnnjax.load(workdir)
  data = text.load(dataset='shakespeare', val_size=300, test_size=300)
  test_text = text.decode(data.tokens['test'], data.vocab)
  _assert_same(model.evaluate_text(test_text), summary['final']['test'])
  assert model.bits_per_char(test_text) == summary['final']['test']['bpc']
  sample = model.sample('ROMEO:', num_chars=40, temperature=0.8, seed=1)
  assert len(sample) == 40 and set(sample) <= set(model.transform['vocab'])
  assert sample == model.sample('ROMEO:', num_chars=40, temperature=0.8, seed=1)
  with pytest.raises(InputError, match='position 2'):
    model.sample('ab\u2603', num_chars=3)


def test_a_fresh_process_loads_it_without_flags(tmp_path):
  _, workdir = _run(tmp_path, dataclasses.replace(FORECAST, lookback='4', cell='gru',
                                                  hidden_size='4'))
  code = ('import sys, json, rnnjax\n'
          'm = rnnjax.load(sys.argv[1])\n'
          'fc = m.forecast(m.arrays["series"], 3)\n'
          'print(json.dumps({"test": m.evaluate_series(m.arrays["series"], '
          'm.transform["split_points"][1]), "point": fc["point"][:, 0].tolist()}))\n')
  env = {**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'}
  proc = subprocess.run([sys.executable, '-c', code, workdir], capture_output=True,
                        text=True, cwd=str(tmp_path), env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  with open(os.path.join(workdir, 'summary.json')) as f:
    want = json.load(f)['final']['test']
  for name, value in want.items():
    np.testing.assert_allclose(out['test'][name], value, rtol=1e-6)
  here = rnnjax.load(workdir).forecast(rnnjax.load(workdir).arrays['series'], 3)
  np.testing.assert_allclose(out['point'], here['point'][:, 0], rtol=1e-6)


def test_a_workdir_without_a_finished_sweep_is_refused(tmp_path):
  with pytest.raises(InputError, match='no such directory'):
    rnnjax.load(str(tmp_path / 'none'))
  (tmp_path / 'wd').mkdir()
  with pytest.raises(InputError, match='holds no finished sweep'):
    rnnjax.load(str(tmp_path / 'wd'))
  (tmp_path / 'wd' / 'summary.json').write_text('{}')
  with pytest.raises(InputError, match='holds no saved model'):
    rnnjax.load(str(tmp_path / 'wd'))
