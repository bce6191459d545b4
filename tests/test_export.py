"""The saved final model: `rnnjax.load` gives the summary's test figures back, for
every task and every kind of final model; a fresh process needs no flags."""

import csv
import dataclasses
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import types

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from rnnjax.data import classify
from rnnjax.data import forecast
from rnnjax.data import text
from rnnjax.errors import InputError
from rnnjax.figures.plots import forecast_plot
from rnnjax.final.saved import arguments
from rnnjax.final.saved import characters
from rnnjax.final.saved import intervals
from rnnjax.final.saved import tuned
from rnnjax.final.use import predictions
from rnnjax.final.use import series_predictions
from rnnjax.results.printed import report
from rnnjax.run import sweep
from rnnjax.search import spec as spec_lib
import rnnjax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Two lookbacks (two buckets, two data sets), masked widths: an ensemble across buckets.
FORECAST = sweep.SweepSpec(classical_baselines=False,
    dataset='shampoo_sales', lookback='grid(3,4)', val_size=6, test_size=6,
    cell='lstm', hidden_size='grid(4,6)', hidden_mode='masked', batch_size='4',
    learning_rate='grid(3e-3,3e-2)', train_steps=8, eval_every=2, difference=True,
    ensemble='greedy', ensemble_size=4)
CLASSIFY = sweep.SweepSpec(
    task='classify', dataset='JapaneseVowels', cell='gru', hidden_size='grid(4,6)',
    hidden_mode='masked', batch_size='8', learning_rate='grid(3e-3,3e-2)', train_steps=4,
    eval_every=2, ensemble_size=2)
CHARLM = sweep.SweepSpec(
    task='charlm', val_size=300, test_size=300, cell='gru', hidden_size='8',
    batch_size='4', seq_len=8,
    learning_rate='grid(3e-3,3e-2)', train_steps=4, eval_every=2, ensemble_size=2,
    sample_chars=0)


def _run(tmp_path, spec):
  workdir = str(tmp_path / 'wd')
  return sweep.run_sweep(spec, workdir, log=lambda _: None), workdir


@pytest.fixture(scope='module')
def forecast_run(tmp_path_factory):
  """(summary, workdir) of FORECAST, shared by the tests that only read it."""
  return _run(tmp_path_factory.mktemp('forecast'), FORECAST)


@pytest.fixture(scope='module')
def classify_run(tmp_path_factory):
  return _run(tmp_path_factory.mktemp('classify'), CLASSIFY)


@pytest.fixture(scope='module')
def charlm_run(tmp_path_factory):
  """(summary, workdir, the text's test part) of CHARLM on 4,000 characters of plays."""
  tmp_path = tmp_path_factory.mktemp('charlm')
  with gzip.open(text.bundled_path('shakespeare'), 'rt', encoding='utf-8') as f:
    (tmp_path / 'plays.txt').write_text(f.read(4000))
  spec = dataclasses.replace(CHARLM, text_path=str(tmp_path / 'plays.txt'))
  summary, workdir = _run(tmp_path, spec)
  return summary, workdir, (tmp_path / 'plays.txt').read_text()[-300:]


def _assert_same(got: dict, want: dict):
  assert set(got) == set(want)
  for name, value in want.items():
    assert got[name] == value, (name, got[name], value)  # Exactly: same program, same data.


def test_a_history_s_gaps_are_filled_as_the_sweeps_were_whatever_its_form(forecast_run):
  """An array or a DataFrame with a NaN among its last rows forecasts as the history
  with that gap filled as the sweep fills its own (here by linear interpolation; the
  last cell with the value before it), saying so; an infinite value is refused."""
  _, workdir = forecast_run
  model = rnnjax.load(workdir)
  series = model.arrays['series'].copy()
  gappy = series.copy()
  gappy[-3, 0] = gappy[-1, 0] = np.nan
  filled = series.copy()
  filled[-3, 0] = (series[-4, 0] + series[-2, 0]) / 2
  filled[-1, 0] = series[-2, 0]
  want = model.forecast(filled, 3)
  for given in (gappy, pd.DataFrame(gappy, columns=model.columns)):
    got = model.forecast(given, 3)
    np.testing.assert_allclose(got['point'], want['point'], rtol=1e-9)
    assert any(n.startswith('2 empty cells of history filled, as the sweep filled its data:')
               for n in got['notes']), got['notes']
  gappy[-1, 0] = np.inf
  with pytest.raises(InputError, match=r'^history: the last \d+ rows hold infinite values$'):
    model.forecast(gappy, 3)


def test_predict_says_where_the_sweeps_series_ended_with_filled_rows(tmp_path):
  """A series whose last rows have no target is saved filled: the manifest's filled_end
  ([rows, first time]) says so, and predict without --csv_path says it in a note."""
  from rnnjax.final.saved import export  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'y.csv'
  path.write_text('t,y\n' + ''.join(f'{t},{t % 5}\n' for t in range(10)) + '10,\n11,\n')
  data = types.SimpleNamespace(task='forecast', transform={
      'path': str(path), 'target_columns': ('y',), 'time_column': 't', 'input_columns': (),
      'series': np.zeros((12, 1))}, arrays={'test': {}})
  assert export.series_arrays(data)[1] == [2, '10']
  path.write_text('t,y\n' + ''.join(f'{t},{t % 5}\n' for t in range(12)))
  assert export.series_arrays(data)[1] == []
  model = types.SimpleNamespace(
      arrays={'series': np.zeros((12, 1)), 'times': [str(t) for t in range(12)]},
      transform={'split_points': [8, 10], 'fill': 'linear'}, manifest={'filled_end': [2, '10']})
  notes = []
  series_predictions.history(model, notes=notes)
  assert notes == ["the sweep's series ends with 2 rows without a target (from 10), filled "
                   'with its last value: the forecast starts after them']


def test_forecast_ensemble_reproduces_the_test_figures(forecast_run):
  summary, workdir = forecast_run
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
  for k in range(1, 12):  # Fed back: step k + 1 is the next step after the first k.
    fed = model.forecast(np.concatenate([series, fc['point'][:k]]), 1)['point'][0]
    np.testing.assert_allclose(fed, fc['point'][k], rtol=1e-9)
  # One step from each test origin, as `forecast` makes it from the history before it:
  # the summary's test RMSE, and the last one is the forecast from series[:-1].
  train_end, test_start = model.transform['split_points']
  step = lambda origins: model.backtest(series, origins)[:, 0, 0]
  test_points = step(np.arange(test_start, len(series)))
  test_errors = np.abs(test_points - series[test_start:, 0])
  np.testing.assert_allclose(np.sqrt(np.mean(test_errors ** 2)), final['test']['rmse'],
                             rtol=1e-5)
  np.testing.assert_allclose(model.forecast(series[:-1], 1)['point'][0, 0],
                             test_points[-1], rtol=1e-6)
  # The intervals are calibrated on validation's errors (contract 7): at step 1 and 80 %
  # the ceil((n + 1) 0.8)-th smallest of the n one-step errors from validation origins.
  val_errors = np.sort(np.abs(step(np.arange(train_end, test_start))
                              - series[train_end:test_start, 0]))
  width = val_errors[int(np.ceil((len(val_errors) + 1) * 0.8)) - 1]
  np.testing.assert_allclose(fc['upper'][0.8][0] - fc['point'][0], width, rtol=1e-6)
  coverage = model.manifest['intervals']['test_coverage']
  assert coverage['0.8']['first_steps'] == np.mean(test_errors <= width)
  with pytest.raises(InputError, match='rows are too few'):
    model.forecast(series[:3], 2)


def test_lower_bounds_stop_at_zero_only_where_the_series_never_went_below(forecast_run):
  model = rnnjax.load(forecast_run[1])
  series = model.arrays['series']
  assert np.all(series >= 0)
  dropped = np.concatenate([series, np.zeros((1, series.shape[1]))])  # Falls to 0.
  signed = dropped.copy()
  signed[0, 0] = -1e-3  # One early point below 0.
  fc, raw = model.forecast(dropped, 3), model.forecast(signed, 3)
  for level in (0.8, 0.95):
    below = 2 * raw['point'] - raw['upper'][level]  # The conformal band, symmetric.
    np.testing.assert_allclose(raw['lower'][level], below, rtol=1e-12)
    assert np.any(below < 0)
    symmetric = 2 * fc['point'] - fc['upper'][level]
    np.testing.assert_allclose(fc['lower'][level], np.maximum(symmetric, 0.0), rtol=1e-12)
    assert np.any(symmetric < 0) and np.all(fc['lower'][level] >= 0)
  assert any('raised to 0' in n for n in fc['notes'])
  assert not any('raised to 0' in n for n in raw['notes'])


def test_refit_reproduces_the_test_figures(tmp_path):
  spec = dataclasses.replace(FORECAST, lookback='4', cell='gru', hidden_size='4',
                             refit=2, ensemble='top', ensemble_size=2)
  summary, workdir = _run(tmp_path, spec)
  model = rnnjax.load(workdir)
  assert model.kind == 'refit'
  assert sum(len(g.uids) for g in model._groups) == 2 * len(set(summary['final']['members']))  # pylint: disable=protected-access
  _assert_same(model.evaluate_series(model.arrays['series'],
                                     model.transform['split_points'][1]),
               summary['final']['test'])
  assert 'before its refit' in model.manifest['intervals']['calibrated_on']


def test_classifier_reproduces_the_test_figures(classify_run):
  summary, workdir = classify_run
  model = rnnjax.load(workdir)
  test = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test'))
  _assert_same(model.evaluate_cases(test.series, test.labels), summary['final']['test'])
  # Per class (summary.json, the sweep's last lines): the saved model's predictions of
  # the test file counted, which the accuracy and balanced accuracy are the means of.
  predicted = model.predict(test.series)
  per_class = summary['final']['test_per_class']
  assert per_class == {c: {'cases': test.labels.count(c),
                           'found': sum(p == l == c for p, l in zip(predicted, test.labels)),
                           'predicted': predicted.count(c)} for c in model.classes}
  final = summary['final']['test']
  assert sum(v['found'] for v in per_class.values()) / len(test.labels) == pytest.approx(
      final['accuracy'], abs=1e-6)
  assert np.mean([v['found'] / v['cases'] for v in per_class.values()]) == pytest.approx(
      final['balanced_accuracy'], abs=1e-6)
  said = report.ranking_table(summary).splitlines()
  after = said[1 + next(i for i, l in enumerate(said) if l.startswith('final model ('))]
  assert after.startswith('final model, test cases found per class: 1: {found} of {cases} '
                          '({predicted} predicted), 2: '.format(**per_class['1'])), after
  labels = model.predict(test.series[:5])
  assert set(labels) <= set(model.transform['classes'])
  probs = model.predict_proba(test.series[:5])
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
  assert labels == [model.classes[k] for k in np.argmax(probs, -1)]
  # The same cases as a long DataFrame (a row per step, `case` naming each row's case).
  frame = pd.concat([pd.DataFrame(c, columns=[f'c{j}' for j in range(c.shape[1])]).assign(
      case=f'k{i}') for i, c in enumerate(test.series[:5])])
  np.testing.assert_allclose(model.predict_proba(frame), probs, rtol=1e-6)
  with pytest.raises(InputError, match=r'^labels: \[.nope.\] are not classes'):
    model.evaluate_cases(test.series[:2], [test.labels[0], 'nope'])
  for empty in (None, float('nan'), '', pd.NA):  # A file's empty label cell: said so.
    with pytest.raises(InputError, match=r'^labels: 1 case\(s\) have no label \(e.g. case '
                       r'1: .*\); give only labelled cases$'):
      model.evaluate_cases(test.series[:2], [test.labels[0], empty])
  with pytest.raises(InputError, match='channel'):
    model.predict_proba([np.zeros((7, 3))])
  channels = model.transform['channels']
  with pytest.raises(InputError, match=r'^sequences: case 1 has no steps; a case needs at '
                                       r'least one$'):
    model.predict_proba([np.zeros((3, channels)), np.zeros((0, channels))])


def test_char_model_reproduces_the_test_figures_and_samples(charlm_run):
  summary, workdir, test_text = charlm_run
  model = rnnjax.load(workdir)
  _assert_same(model.evaluate_text(test_text), summary['final']['test'])
  assert model.bits_per_char(test_text) == summary['final']['test']['bpc']
  sample = model.sample('ROMEO:', num_chars=40, temperature=0.8, seed=1)
  assert len(sample) == 40 and set(sample) <= set(model.transform['vocab'])
  assert sample == model.sample('ROMEO:', num_chars=40, temperature=0.8, seed=1)
  # Temperature 0: the most likely character each step, whatever the seed.
  greedy = model.sample('ROMEO:', num_chars=40, temperature=0, seed=1)
  assert greedy == model.sample('ROMEO:', num_chars=40, temperature=0, seed=7) != sample
  # model.vocab: the characters it scores, in token order, U+FFFD among them; any other
  # is read as U+FFFD, as the sweep read its test part's, and a sample never draws it.
  vocab = model.vocab
  assert vocab == ''.join(sorted(set(vocab))) and text.UNKNOWN in vocab
  assert np.isfinite(model.bits_per_char(vocab + vocab))
  outside = next(c for c in 'zZ\u2603' if c not in vocab)
  assert (model.bits_per_char(vocab[0] + outside + vocab[0]) ==
          model.bits_per_char(vocab[0] + text.UNKNOWN + vocab[0]))
  assert (model.sample('ab' + outside, num_chars=3, seed=2) ==
          model.sample('ab' + text.UNKNOWN, num_chars=3, seed=2))
  assert text.UNKNOWN not in model.sample('ROMEO:', num_chars=500, temperature=50, seed=3)


def test_a_fresh_process_loads_it_without_flags(tmp_path, forecast_run):
  _, workdir = forecast_run
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
  with pytest.raises(InputError, match=r'holds no finished sweep \(no summary.json\) and no '
                     'model .*; run python -m experiments.population_sweep on it first'):
    rnnjax.load(str(tmp_path / 'wd'))
  # A sweep still running on it (its lock): not told to start one there, which the lock
  # would refuse.
  (tmp_path / 'wd' / 'sweep.lock').write_text('{}')
  with pytest.raises(InputError, match=r'holds no finished sweep yet: a sweep holds it '
                     r'\(sweep.lock: running, or stopped by kill -9\); use it once'):
    rnnjax.load(str(tmp_path / 'wd'))
  (tmp_path / 'wd' / 'summary.json').write_text('{}')
  with pytest.raises(InputError, match='holds no saved model'):
    rnnjax.load(str(tmp_path / 'wd'))


def test_the_model_folder_copied_away_loads_on_its_own(tmp_path, forecast_run):
  """WORKDIR/model holds everything the model needs: copied alone, it loads and
  forecasts as from its work directory."""
  _, workdir = forecast_run
  shutil.copytree(os.path.join(workdir, 'model'), tmp_path / 'shipped')
  here, there = rnnjax.load(workdir), rnnjax.load(str(tmp_path / 'shipped'))
  series = here.arrays['series']
  np.testing.assert_array_equal(there.forecast(series, 4)['point'],
                                here.forecast(series, 4)['point'])


# experiments/predict.py: the library function behind it, and the command itself.


def _predict(workdir, tmp_path, **kw):
  return predictions.run(workdir, out_dir=str(tmp_path / 'out'), **kw)


def test_predict_writes_the_forecast_csv_and_figure_arguments(tmp_path, forecast_run):
  summary, workdir = forecast_run
  out = _predict(workdir, tmp_path, steps_ahead=12, levels=(0.8, 0.95))
  with open(out['paths'][0]) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ['time', 'forecast', 'lower_80', 'upper_80', 'lower_95', 'upper_95']
  assert [r[0] for r in rows[1:3]] == ['1994-01', '1994-02'] and len(rows) == 13
  lower, point, upper = (float(rows[1][i]) for i in (2, 1, 3))
  assert lower < point < upper
  assert out['plot']['test_start'] == summary['data']['split_points'][1]
  assert out['plot']['test_pred'].shape == (6, 1)
  assert '1994-12' in out['lines'][0] and '80% interval' in out['lines'][0]


def test_a_too_narrow_note_is_in_the_figures_caption_too(tmp_path, forecast_run,
                                                         monkeypatch):
  """forecast.png is read without predict's lines (in a paper, a report): where the
  test part's coverage is far below a level, its caption says so as the lines do;
  otherwise nothing."""
  _, workdir = forecast_run
  out = _predict(workdir, tmp_path, steps_ahead=3, levels=(0.8,))
  assert 'too narrow' not in out['plot']['note'] and 'too narrow' not in str(out['lines'])
  low = {'steps': 6, 'origins': 60, '0.8': {'first_steps': 0.4, 'all_steps': 0.45}}
  monkeypatch.setattr(tuned.TunedModel, 'test_coverage', lambda self, levels: low)
  out = _predict(workdir, tmp_path, steps_ahead=3, levels=(0.8,))
  said = ('he intervals are too narrow on the test part (80% intervals held 40% of its '
          'points): its errors outgrew the validation errors that calibrate them')
  assert f'note: t{said}' in out['lines']
  assert f' T{said}' in out['plot']['note']


def test_predict_classifies_a_ts_file_and_samples_a_prompt(tmp_path, classify_run,
                                                          charlm_run):
  path = classify.bundled_path('JapaneseVowels', 'test')
  out = _predict(classify_run[1], tmp_path, ts_path=path)
  with open(out['paths'][0]) as f:
    rows = list(csv.reader(f))
  assert rows[0][:3] == ['case', 'predicted', 'label'] and len(rows) == 371
  assert out['lines'][0].startswith('370 cases, predicted: 1: ')
  assert out['lines'][1].startswith("accuracy against the file's labels:")
  # The confusion the command draws (confusion.png): every labelled case once, by its
  # label (rows) and prediction (columns), in the model's order of classes.
  classes = list(out['plot']['classes'])
  want = np.zeros((9, 9), int)
  for r in rows[1:]:
    want[classes.index(r[2]), classes.index(r[1])] += 1
  np.testing.assert_array_equal(out['plot']['counts'], want)
  assert out['figure'] == 'confusion' and out['plot']['what'] == (
      f'The model on {os.path.basename(path)}')
  # The same cases unlabelled (@classLabel false): the same predictions.
  lines = open(path).read().splitlines()
  cut = lines.index('@data')
  # Two cases of a class the model never saw: predicted, left out of the accuracy.
  strange = [l.replace('@classLabel true 1 2 3 4 5 6 7 8 9', '@classLabel true 1 2 3 4 5 '
                       '6 7 8 9 sideways') for l in lines[:cut + 1]] + [
                           l.rsplit(':', 1)[0] + ':sideways' if i < 2 else l
                           for i, l in enumerate(lines[cut + 1:])]
  (tmp_path / 'strange.ts').write_text('\n'.join(strange) + '\n')
  odd = _predict(classify_run[1], tmp_path / 's', ts_path=str(tmp_path / 'strange.ts'))
  assert odd['lines'][1] == ("note: 2 case(s) labelled ['sideways'], not a class of the "
                             'model (1, 2, 3, 4, 5, 6, 7, 8, 9): predicted, left out of the '
                             'accuracy')
  assert np.sum(odd['plot']['counts']) == 368  # Those two left out.
  known = rows[3:]  # rows[1:3]: the relabelled cases.
  hits = [r[1] == r[2] for r in known]
  found = {c: [r[1] == c for r in known if r[2] == c] for c in '123456789'}
  assert odd['lines'][2] == (
      f"accuracy against the file's labels: {sum(hits) / len(hits):.4f} (368 cases); "
      f'balanced accuracy {np.mean([np.mean(f) for f in found.values()]):.4f}; found per '
      'class: ' + ', '.join(f'{c}: {sum(f)} of {len(f)} '
                            f'({sum(r[1] == c for r in known)} predicted)'
                            for c, f in found.items()))
  unlabelled = [l.replace('@classLabel true 1 2 3 4 5 6 7 8 9', '@classLabel false')
                for l in lines[:cut + 1]] + [l.rsplit(':', 1)[0] for l in lines[cut + 1:]]
  (tmp_path / 'cases.ts').write_text('\n'.join(unlabelled) + '\n')
  again = _predict(classify_run[1], tmp_path, ts_path=str(tmp_path / 'cases.ts'))
  with open(again['paths'][0]) as f:
    assert [r[1] for r in list(csv.reader(f))[1:]] == [r[1] for r in rows[1:]]
  assert again['plot'] is None and again['figure'] == 'confusion'  # No label: no figure.
  # Unlabelled without saying so (no @classLabel line): the last field is a channel, read
  # as one where that gives the model's channels, not as a label.
  bare = [l for l in unlabelled if not l.startswith('@classLabel')]
  (tmp_path / 'bare.ts').write_text('\n'.join(bare) + '\n')
  again = _predict(classify_run[1], tmp_path / 'b', ts_path=str(tmp_path / 'bare.ts'))
  with open(again['paths'][0]) as f:
    assert [r[1] for r in list(csv.reader(f))[1:]] == [r[1] for r in rows[1:]]
  # From Python, a missing value is filled per channel as the .ts reader fills '?'.
  model = rnnjax.load(classify_run[1])
  cases = classify.read_ts(path).series[:4]
  holed = [c.copy() for c in cases]
  holed[0][3, 2] = np.nan
  filled = [c.copy() for c in cases]
  filled[0][3, 2] = (cases[0][2, 2] + cases[0][4, 2]) / 2
  np.testing.assert_allclose(model.predict_proba(holed), model.predict_proba(filled))
  holed[1][0, 0] = np.inf
  with pytest.raises(InputError, match=r'^sequences: case 1 holds an infinite value$'):
    model.predict_proba(holed)
  with pytest.raises(InputError, match=r'^sequences: case 0 is not numbers'):
    model.predict([[['a'] * 12]])
  out = _predict(charlm_run[1], tmp_path, prompt='ROMEO:', num_chars=20)
  assert len(out['lines'][0]) == 26 and out['lines'][0].startswith('ROMEO:')
  # A prompt's character the vocabulary lacks is read as U+FFFD, and said.
  out = _predict(charlm_run[1], tmp_path, prompt='ROMEO\u2603\u2603', num_chars=20)
  assert out['lines'][0] == ("note: --prompt holds 1 character(s) the model's vocabulary "
                             'lacks (\u2603; 2 occurrence(s)): read as U+FFFD (\ufffd), its '
                             'token for any other character')
  assert len(out['lines']) == 2 and out['lines'][1].startswith('ROMEO\u2603\u2603')
  # A command line's non-UTF-8 byte (a lone surrogate): read and written as U+FFFD.
  out = _predict(charlm_run[1], tmp_path, prompt='RO\udcffM', num_chars=5)
  assert out['lines'][0].startswith("note: --prompt holds 1 character(s) the model's "
                                    "vocabulary lacks ('\\udcff'; 1 occurrence(s))")
  with open(out['paths'][0], encoding='utf-8') as f:
    assert f.read() == out['lines'][1] and out['lines'][1].startswith('RO\ufffdM')


def _bad_inputs(tmp_path, forecast, classifier, charlm):
  (tmp_path / 'cols.csv').write_text('Month,Revenue\n1,2\n2,3\n')
  (tmp_path / 'short.csv').write_text('Month,Sales\n' + ''.join(
      f'{i},{100 + i}\n' for i in range(4)))
  ts = open(classify.bundled_path('BasicMotions', 'test')).read()  # 6 channels.
  (tmp_path / 'six.ts').write_text(ts)
  (tmp_path / 'wd').mkdir()
  return [
      (str(tmp_path / 'wd'), {}, '--workdir: .* holds no finished sweep'),
      (forecast, {'csv_path': str(tmp_path / 'cols.csv')},
       r"^--csv_path: .*cols.csv has no column 'Sales' \(the model's target column\)"),
      (forecast, {'csv_path': str(tmp_path / 'short.csv')}, 'rows are too few'),
      (forecast, {'steps_ahead': 0}, '--steps_ahead: 0 must be >= 1'),
      (forecast, {'steps_ahead': -3}, '--steps_ahead: -3 must be >= 1'),
      (forecast, {'levels': (0.8, 1.5)}, '--levels: 1.5 must lie in'),
      (forecast, {'ts_path': str(tmp_path / 'six.ts')}, '--ts_path: .* forecast model'),
      (classifier, {'ts_path': str(tmp_path / 'six.ts')},
       'six.ts has 6 channel.* the model reads 12'),
      (classifier, {'levels': (0.5,)}, '--levels: .* a classify model, which takes no'),
      (forecast, {'temperature': 0.5}, '--temperature: .* a forecast model, which takes no'),
      (classifier, {'seed': 0}, '--seed: .* a classify model, which takes no'),
      (charlm, {'prompt': 'ROMEO:', 'seed': -5}, r'^--seed: -5 must be a whole number'),
  ]


def test_bad_input_is_an_input_error_and_writes_nothing(tmp_path, forecast_run,
                                                        classify_run, charlm_run):
  cases = _bad_inputs(tmp_path, forecast_run[1], classify_run[1], charlm_run[1])
  for workdir, kw, message in cases:
    with pytest.raises(InputError, match=message):
      _predict(workdir, tmp_path, **kw)
    assert not (tmp_path / 'out').exists(), (kw, message)
    assert not os.path.exists(os.path.join(workdir, 'predictions'))


def _cli(*args, stdout=subprocess.PIPE, **env):
  env = {**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu', **env}
  return subprocess.run([sys.executable, '-m', 'experiments.predict', *args], stdout=stdout,
                        stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env, timeout=300)


def test_the_command_writes_csv_and_figure(tmp_path, forecast_run):
  """(Its bad input: test_python_errors_name_arguments_and_the_command_names_flags.)"""
  _, workdir = forecast_run
  proc = _cli(f'--workdir={workdir}', '--steps_ahead=3', f'--out_dir={tmp_path}/good')
  assert proc.returncode == 0, proc.stderr
  assert sorted(os.listdir(tmp_path / 'good')) == ['forecast.csv', 'forecast.pdf',
                                                    'forecast.png']
  assert '1994-03' in proc.stdout and 'coverage on the test part' in proc.stdout


def test_the_command_draws_the_confusion_of_labelled_cases(tmp_path, classify_run):
  proc = _cli(f'--workdir={classify_run[1]}', f'--out_dir={tmp_path}',
              f'--ts_path={classify.bundled_path("JapaneseVowels", "test")}')
  assert proc.returncode == 0, proc.stderr
  assert sorted(os.listdir(tmp_path)) == ['confusion.pdf', 'confusion.png',
                                          'predictions.csv']
  assert proc.stdout.splitlines()[-1] == (f'wrote {tmp_path}/predictions.csv, '
                                          f'{tmp_path}/confusion.png, {tmp_path}/confusion.pdf')


@pytest.mark.parametrize('unbuffered', ['1', ''], ids=['unbuffered', 'buffered'])
def test_the_command_into_a_closed_pipe_says_so_in_one_line(tmp_path, forecast_run,
                                                            unbuffered):
  """`predict ... | head`, the reader gone before it prints: its files are written, and
  it stops as a sweep does (cli.exits), one line and status 1, not a traceback; also
  where the output is buffered (a shell's pipe), and so meets the closed pipe only once
  main has printed."""
  _, workdir = forecast_run
  read, write = os.pipe()
  os.close(read)
  try:
    proc = _cli(f'--workdir={workdir}', f'--out_dir={tmp_path}', '--figures=false',
                stdout=write, PYTHONUNBUFFERED=unbuffered)
  finally:
    os.close(write)
  assert (proc.returncode, proc.stderr) == (1, "rnnjax: stopped: the output's reader closed "
                                            'it (a pipe into head?); run the same command '
                                            'again\n')
  assert os.listdir(tmp_path) == ['forecast.csv']


def test_a_ctrl_c_while_predict_starts_is_acted_on_once_jax_is_up(tmp_path, forecast_run,
                                                                   default_signals):
  """A Ctrl-C while predict imports JAX is noted (raised, it can land in JAX's
  garbage-collection callback, where Python drops it, and predict ran to its end), then
  acted on in main: one line, status 130, nothing written."""
  code = """if True:
    import os, signal, sys
    from experiments import cli
    early, noted = cli.note_signals()  # As predict's first lines do, run as a command.
    os.kill(os.getpid(), signal.SIGINT)
    from experiments import predict
    predict._EARLY, predict._NOTED = early, noted
    predict.main(cli.parse_flags(['predict', *sys.argv[1:]]))"""
  env = {**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'}
  proc = subprocess.run([sys.executable, '-c', code, f'--workdir={forecast_run[1]}',
                         f'--out_dir={tmp_path}/out'], capture_output=True, text=True,
                        cwd=ROOT, env=env, timeout=300)
  assert (proc.returncode, proc.stderr) == (130, 'rnnjax: interrupted; run the same '
                                            'command again\n')
  assert not (tmp_path / 'out').exists()


def test_a_forecast_stopped_while_written_leaves_the_one_before_whole(tmp_path):
  """predict writes its file beside it and renames it: a write cut off (here by an error
  as it starts; a Ctrl-C alike) leaves the earlier forecast as it was, and no part."""
  path = tmp_path / 'forecast.csv'
  path.write_text('unique_id,ds,forecast\na,1,2\n')
  with pytest.raises(TypeError):
    predictions.write_text(str(path), b'not text')  # Fails in the write itself.
  assert path.read_text() == 'unique_id,ds,forecast\na,1,2\n'
  assert os.listdir(tmp_path) == ['forecast.csv']
  predictions.write_text(str(path), 'unique_id,ds,forecast\n')
  assert path.read_text() == 'unique_id,ds,forecast\n' and os.listdir(tmp_path) == [
      'forecast.csv']


def test_input_columns_need_their_future_values(tmp_path):
  """A target and an input column of the same CSV: forecasting needs the input's future."""
  series = spec_lib.load_data(FORECAST, 4).transform['series'][:, 0]
  rows = ''.join(f'{t},{v},{(t * 7) % 5}\n' for t, v in enumerate(series))
  (tmp_path / 'sales.csv').write_text('t,sales,promo\n' + rows)
  spec = dataclasses.replace(
      FORECAST, dataset='', csv_path=str(tmp_path / 'sales.csv'), time_column='t',
      target_columns=('sales',), input_columns=('promo',), lookback='4',
      hidden_size='4', learning_rate='1e-2', ensemble='single')
  summary, workdir = _run(tmp_path, spec)
  model = rnnjax.load(workdir)
  assert model.columns == ['sales', 'promo']
  # A history with an empty target cell and an empty input cell: filled, and said so.
  holed = rows.splitlines()
  holed[5] = holed[5].rsplit(',', 1)[0] + ','
  holed[7] = '7,,' + holed[7].rsplit(',', 1)[1]
  (tmp_path / 'holed.csv').write_text('t,sales,promo\n' + '\n'.join(holed) + '\n')
  out = _predict(workdir, tmp_path, csv_path=str(tmp_path / 'holed.csv'), steps_ahead=1)
  assert ("note: 2 empty cells of --csv_path filled, as the sweep filled its data: 1 of "
          "target column 'sales' by linear interpolation, 1 of input column 'promo' by "
          "linear interpolation") in out['lines']
  _assert_same(model.evaluate_series(model.arrays['series'],
                                     model.transform['split_points'][1]),
               summary['final']['test'])
  with pytest.raises(InputError, match='future_inputs: the model reads input columns'):
    model.forecast(model.arrays['series'], 3)
  fc = model.forecast(model.arrays['series'], 3, future_inputs=[[1.0], [2.0], [3.0]])
  assert fc['point'].shape == (3, 1)
  # Past the horizon (1) forecasts are fed back with the inputs' rows: 3 steps read the
  # first 2; the one step within the horizon reads none.
  assert model.transform['horizon'] == 1
  np.testing.assert_array_equal(model.forecast(model.arrays['series'], 3, future_inputs=[
      [1.0], [2.0], [np.nan]])['point'], fc['point'])
  np.testing.assert_array_equal(model.forecast(model.arrays['series'], 1)['point'],
                                fc['point'][:1])
  with pytest.raises(InputError, match=r'^future_inputs: 3 steps read the first 2 rows of '
                     r"\['promo'\] .* given 2 rows, 1 of the first 2 complete \('promo' is "
                     r"empty in row 2, step 2 after the history\)$"):
    model.forecast(model.arrays['series'], 3, future_inputs=[[1.0], [np.nan]])
  with pytest.raises(InputError, match=r"^future_inputs: 'promo' is infinite in row 2$"):
    model.forecast(model.arrays['series'], 3, future_inputs=[[1.0], [-np.inf]])
  # A caller that made the rows from its own argument has them named so where the error
  # is made (MLflow's forecaster: the history's rows whose target is empty).
  with pytest.raises(InputError, match=r'^plan: 3 steps read the first 2 rows of '):
    model.forecast(model.arrays['series'], 3, future_inputs=[[1.0], [np.nan]],
                   future_what='plan')
  for wrong in ([[1.0, 2.0], [3.0, 4.0]], np.zeros((3, 7))):
    with pytest.raises(InputError, match=r"^future_inputs: expected \[rows, 1\], the "
                       r"columns \['promo'\]; got shape"):
      model.forecast(model.arrays['series'], 3, future_inputs=wrong)
  # A DataFrame's columns are read by name, in any order.
  frame = pd.DataFrame({'promo': model.arrays['series'][:, 1],
                        'sales': model.arrays['series'][:, 0]})
  np.testing.assert_array_equal(model.forecast(frame, 3, future_inputs=pd.DataFrame(
      {'promo': [1.0, 2.0, 3.0]}))['point'], fc['point'])
  with pytest.raises(InputError, match=r"^history: no column\(s\) \['sales'\]; the model "
                     r"reads \['sales', 'promo'\]"):
    model.forecast(frame.rename(columns={'sales': 'Sales'}), 3, future_inputs=[[1.0]] * 3)
  with pytest.raises(InputError, match='--future_path: the model reads input columns'):
    _predict(workdir, tmp_path, steps_ahead=3)
  (tmp_path / 'future.csv').write_text('promo\n1\n2\n3\n')
  out = _predict(workdir, tmp_path, steps_ahead=3, future_path=str(tmp_path / 'future.csv'))
  with open(out['paths'][0]) as f:
    rows = list(csv.reader(f))
  assert [r[0] for r in rows[1:]] == ['36', '37', '38']
  np.testing.assert_allclose([float(r[1]) for r in rows[1:]], fc['point'][:, 0], rtol=1e-6)
  # Within the horizon no row of it is read: said, not silently ignored.
  out = _predict(workdir, tmp_path / 'h', steps_ahead=1,
                 future_path=str(tmp_path / 'future.csv'))
  assert any(line.startswith(f"note: --future_path: {tmp_path / 'future.csv'} is not read: 1 "
                             "step within the horizon (1) read ['promo'] of the history alone")
             for line in out['lines']), out['lines']
  assert not any('is not read' in line for line in _predict(
      workdir, tmp_path / 'h3', steps_ahead=3,
      future_path=str(tmp_path / 'future.csv'))['lines'])
  # With the model's time column, the file's rows are put in time order and must start
  # the step after the history.
  (tmp_path / 'dated.csv').write_text('t,promo\n37,2\n36,1\n38,3\n')
  out = _predict(workdir, tmp_path / 'd', steps_ahead=3, future_path=str(tmp_path / 'dated.csv'))
  with open(out['paths'][0]) as f:
    np.testing.assert_allclose([float(r[1]) for r in list(csv.reader(f))[1:]],
                               fc['point'][:, 0], rtol=1e-6)
  (tmp_path / 'late.csv').write_text('t,promo\n40,1\n41,2\n42,3\n')
  with pytest.raises(InputError, match=r"^--future_path: .*late.csv starts at '40', not the "
                     r"step \(1 step\) after the history's last time '35'; give future rows "
                     r"from '36'$"):
    _predict(workdir, tmp_path / 'e', steps_ahead=3, future_path=str(tmp_path / 'late.csv'))
  # A plan of promotions appended to the history, its sales left empty: filled as gaps,
  # so the forecast starts after it: said, with where a plan goes, as a panel's is.
  planned = (tmp_path / 'sales.csv').read_text() + ''.join(
      f'{len(series) + t},,1\n' for t in range(3))
  (tmp_path / 'planned.csv').write_text(planned)
  plan_note = (r"ends with 3 rows without a target \(from {}\), filled with its last value: "
               r"the forecast starts after them; where those rows are a plan of the inputs "
               r"ahead, give them in future_inputs \(--future_path\) instead$")
  out = _predict(workdir, tmp_path / 'p', csv_path=str(tmp_path / 'planned.csv'),
                 steps_ahead=1)
  assert any(re.match('^note: --csv_path .*planned.csv: ' + plan_note.format(len(series)),
                      line) for line in out['lines']), out['lines']
  with_plan = pd.read_csv(tmp_path / 'planned.csv')
  assert any(re.match('^history: ' + plan_note.format(len(series)), n)
             for n in model.forecast(with_plan, 1)['notes'])
  assert not any('without a target' in n
                 for n in model.forecast(with_plan[:-3], 1)['notes'])
  # Steps that need the inputs' rows ahead, with the plan left in the history: the error
  # asking for them says where the plan went (the note alone came only with a forecast).
  with pytest.raises(InputError, match=r'^--future_path: the model reads input columns .*'
                     r'after the history\. Note: --csv_path .*planned.csv: ' +
                     plan_note.format(len(series))):
    _predict(workdir, tmp_path / 'p3', csv_path=str(tmp_path / 'planned.csv'), steps_ahead=3)
  with pytest.raises(InputError, match=r'^future_inputs: the model reads input columns .*'
                     r'\. Note: history: ' + plan_note.format(len(series))):
    model.forecast(with_plan, 3)
  with pytest.raises(InputError, match=r'^future_inputs: the model reads input columns '
                     r"\['promo'\]; .* read 2 rows of them$"):
    model.forecast(with_plan[:-3], 3)  # No plan in the history: no note.
  # An empty cell among the rows read is named by its column and step (the file's rows
  # in time order), as a panel's is, not only counted.
  (tmp_path / 'holed_plan.csv').write_text('t,promo\n37,\n36,1\n38,3\n')
  with pytest.raises(InputError, match=r"^--future_path: .*holed_plan.csv has 3 rows of "
                     r"\['promo'\], 1 of the first 2 complete \('promo' is empty in row 2, "
                     r"step 2 after the history\); 3 steps read 2 "):
    _predict(workdir, tmp_path / 'h', steps_ahead=3,
             future_path=str(tmp_path / 'holed_plan.csv'))
  # From Python a DataFrame with the time column is held alike: sorted, and checked
  # against a dated history's last time.
  dated = pd.DataFrame({'t': np.arange(len(frame)), **frame})
  np.testing.assert_array_equal(model.forecast(dated, 3, future_inputs=pd.DataFrame(
      {'t': [37, 36, 38], 'promo': [2.0, 1.0, 3.0]}))['point'], fc['point'])
  with pytest.raises(InputError, match=r"^future_inputs: the DataFrame starts at '40', not "
                     r"the step \(1 step\) after the history's last time '35'"):
    model.forecast(dated, 3, future_inputs=pd.DataFrame({'t': [40, 41, 42],
                                                         'promo': [1.0, 2.0, 3.0]}))
  with pytest.raises(InputError, match=r"^plan: the DataFrame starts at '40'"):
    model.forecast(dated, 3, future_inputs=pd.DataFrame({'t': [40, 41, 42],
                                                         'promo': [1.0, 2.0, 3.0]}),
                   future_what='plan')
  with pytest.raises(InputError, match=r'^--csv_path: .*nope\.csv: no such file$'):
    _predict(workdir, tmp_path, csv_path=str(tmp_path / 'nope.csv'))


def test_with_folds_the_saved_model_is_the_last_folds(tmp_path):
  """Cross-validation folds: the final model comes from the last fold (the usual
  split); saved, it scores the whole series' test part as the summary did."""
  spec = dataclasses.replace(FORECAST, lookback='4', hidden_size='4', folds=2,
                             ensemble='top', ensemble_size=2)
  summary, workdir = _run(tmp_path, spec)
  model = rnnjax.load(workdir)
  assert model.manifest['groups'][0]['train_config']['num_folds'] == 1
  np.testing.assert_array_equal(model.arrays['series'],
                                spec_lib.load_data(FORECAST, 4).transform['series'])
  _assert_same(model.evaluate_series(model.arrays['series'],
                                     model.transform['split_points'][1]),
               summary['final']['test'])


# What a new user got wrong: a damaged model directory, one case given as a bare array,
# interval levels other than the saved ones, the Python API's messages naming flags.

# experiments/predict.py defines flags that population_sweep.py defines too, so it runs in
# a process of its own, which runs a test's several commands one after the other.
_COMMANDS = """
import contextlib, io, json, sys
from absl import flags
from experiments import cli, predict
done = []
for args in json.loads(sys.argv[1]):
  out, err = io.StringIO(), io.StringIO()
  flags.FLAGS.unparse_flags()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      predict.main(cli.parse_flags(['predict', *args]))
      code = 0
    except SystemExit as e:
      code = e.code
  done.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(done))
"""


def _commands(*argvs):
  """[(exit status, stdout, stderr lines)] of experiments/predict.py on each argv."""
  env = {**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'}
  proc = subprocess.run([sys.executable, '-c', _COMMANDS, json.dumps(argvs)],
                        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr
  return [(code, out, [l for l in err.splitlines() if l.strip()])
          for code, out, err in json.loads(proc.stdout.splitlines()[-1])]


def _damaged(tmp_path, workdir):
  """{name: (work directory, the message's pattern)}: copies of `workdir`, each with one
  file of its model damaged."""
  def copy(name):
    path = str(tmp_path / name)
    shutil.copytree(workdir, path, ignore=shutil.ignore_patterns('checkpoints'))
    return path, os.path.join(path, 'model')
  cases = {}
  path, model = copy('truncated_manifest')
  with open(os.path.join(model, 'manifest.json'), 'r+') as f:
    f.truncate(len(f.read()) // 2)
  cases['truncated_manifest'] = (path, r'model/manifest\.json is not valid JSON')
  path, model = copy('no_params')
  os.remove(os.path.join(model, 'params.msgpack'))
  cases['no_params'] = (path, r'model/params\.msgpack is missing')
  path, model = copy('truncated_params')
  with open(os.path.join(model, 'params.msgpack'), 'r+b') as f:
    f.truncate(100)
  cases['truncated_params'] = (path, r'model/params\.msgpack is damaged')
  path, model = copy('no_arrays')
  os.remove(os.path.join(model, 'arrays.npz'))
  cases['no_arrays'] = (path, r'model/arrays\.npz is missing')

  def edit_manifest(name, edit, message):
    path, model = copy(name)
    with open(os.path.join(model, 'manifest.json')) as f:
      info = json.load(f)
    with open(os.path.join(model, 'manifest.json'), 'w') as f:
      json.dump(edit(info), f)
    cases[name] = (path, message)
  edit_manifest('newer_format', lambda info: dict(info, format=2),
                r'model/manifest\.json is format 2; this rnnjax reads format 1')
  edit_manifest('no_data', lambda info: {k: v for k, v in info.items() if k != 'data'},
                r'model/manifest\.json is not a model manifest \(no data\)')
  edit_manifest('zero_horizon', lambda info: dict(info, data=dict(info['data'], horizon=0)),
                r'model/manifest\.json is not a model manifest \(horizon and lookbacks must')
  edit_manifest('short_x_std', lambda info: dict(info, data=dict(info['data'], x_std=[])),
                r'model/manifest\.json is not a model manifest \(x_std must be 1 finite '
                r'number\(s\), each > 0, one per input column; got \[\]\)')
  edit_manifest('zero_std', lambda info: dict(info, data=dict(info['data'], std=[0.0])),
                r'model/manifest\.json is not a model manifest \(std must be 1 finite')
  edit_manifest('another_input', lambda info: dict(info, data=dict(
      info['data'], input_columns=['promo'], x_mean=info['data']['x_mean'] * 2,
      x_std=info['data']['x_std'] * 2)),
                r'model/manifest\.json is not a model manifest \(its models read 1 '
                r'column\(s\), its data transforms 2\)')
  edit_manifest('unknown_task', lambda info: dict(info, task='bogus'),
                r"model/manifest\.json is not a model manifest \(task 'bogus': one of")
  path, model = copy('other_params')  # Another width: the files of another model.
  with open(os.path.join(model, 'params.msgpack'), 'rb') as f:
    params = flax.serialization.msgpack_restore(f.read())
  layer = params['0']['layers']['0']
  layer['w_hh'] = layer['w_hh'][:, :-1]
  with open(os.path.join(model, 'params.msgpack'), 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(params))
  cases['other_params'] = (path, r'model/params\.msgpack group 0: its parameters are not '
                           r'the shapes of the \d+ member\(s\) of lstm')
  # One weight changed, the file whole: it would forecast nonsense without a word.
  path, model = copy('changed_params')
  layer = flax.serialization.msgpack_restore(open(os.path.join(
      model, 'params.msgpack'), 'rb').read())
  weights = layer['0']['layers']['0']
  weights['w_hh'] = weights['w_hh'] * np.float32(1.5)
  with open(os.path.join(model, 'params.msgpack'), 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(layer))
  cases['changed_params'] = (path, r'model/params\.msgpack is not the file rnnjax wrote \(its '
                             r'digest differs from the one manifest\.json records: '
                             r'changed or damaged since\); restore the file, or run the '
                             r'sweep again with --overwrite to save its model anew$')
  return cases


def test_a_damaged_model_directory_is_one_line_naming_the_file(tmp_path, forecast_run):
  cases = _damaged(tmp_path, forecast_run[1])
  for name, (workdir, message) in cases.items():
    with pytest.raises(InputError, match=r'^workdir: .*' + message) as e:
      rnnjax.load(workdir)
    assert '\n' not in str(e.value), name
  ran = _commands(*[[f'--workdir={w}', f'--out_dir={tmp_path}/out'] for w, _ in
                    cases.values()])
  for (code, _, lines), (name, (_, message)) in zip(ran, cases.items()):
    assert code == 2 and len(lines) == 1, (name, lines)
    assert re.match(r'error: --workdir: .*' + message, lines[0]), (name, lines)
  assert not (tmp_path / 'out').exists()


def test_a_target_without_a_mase_scale_loads(tmp_path, forecast_run):
  """A target flat over the training part has no MASE scale: the sweep writes null, and
  the model loads and forecasts as before."""
  path = str(tmp_path / 'flat')
  shutil.copytree(forecast_run[1], path, ignore=shutil.ignore_patterns('checkpoints'))
  manifest = os.path.join(path, 'model', 'manifest.json')
  with open(manifest) as f:
    info = json.load(f)
  with open(manifest, 'w') as f:
    json.dump(dict(info, data=dict(info['data'], mase_scale=[None])), f)
  model, want = rnnjax.load(path), rnnjax.load(forecast_run[1])
  series = want.arrays['series']
  np.testing.assert_array_equal(model.forecast(series, 2)['point'],
                                want.forecast(series, 2)['point'])


def test_each_model_refuses_what_its_task_does_not_do_in_one_line(forecast_run,
                                                                  classify_run):
  forecaster, classifier = rnnjax.load(forecast_run[1]), rnnjax.load(classify_run[1])
  for call, message in (
      (lambda: classifier.columns, '^columns: this is a classify model, not a '
       'single-series forecaster or a panel forecaster$'),
      (lambda: classifier.forecast(np.ones(30), 2), '^forecast: this is a classify model'),
      (lambda: forecaster.predict([np.ones(3)]), '^sequences: this is a forecast model, '
       'not a classifier$'),
      (lambda: forecaster.evaluate_cases([np.ones(3)], ['a']), '^sequences: this is a '
       'forecast model'),
      (lambda: forecaster.evaluate_panel(), '^evaluate_panel: this is a forecast model'),
      (lambda: forecaster.bits_per_char('ab'), '^text: this is a forecast model, not a '
       'character model$'),
      (lambda: classifier.vocab, '^vocab: this is a classify model, not a character '
       'model$')):
    with pytest.raises(InputError, match=message):
      call()


def test_a_bare_array_is_not_read_as_a_list_of_cases(classify_run):
  """One case [T, C] alone would iterate as T cases of one step (with one channel, the
  old answer: T rows of probabilities, no error); a 2-D array may as well be [N, T]."""
  model = rnnjax.load(classify_run[1])
  test = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test'))
  one = test.series[0]
  assert one.ndim == 2 and one.shape[1] == model.transform['channels']
  for bad in (one, one[:, 0], one[:, 0].tolist()):
    with pytest.raises(InputError, match=r'^sequences: .*pass a list of cases'):
      model.predict_proba(bad)
    with pytest.raises(InputError, match=r'^sequences: .*pass a list of cases'):
      model.predict(bad)
  # The documented forms agree: a list of [T_i, C], and one [N, T, C] array.
  want = model.predict_proba([one])
  assert want.shape == (1, len(model.transform['classes']))
  np.testing.assert_array_equal(model.predict_proba(one[None]), want)
  same = [s for s in test.series if len(s) == len(one)][:3]
  np.testing.assert_array_equal(model.predict_proba(np.stack(same)),
                                model.predict_proba(same))
  with pytest.raises(InputError, match='^labels: 3 cases but 2 labels'):
    model.evaluate_cases(test.series[:3], test.labels[:2])


def test_coverage_from_the_end_of_a_csv_is_said_to_be_on_the_sweeps_test_part():
  """The coverage printed is the sweep's (its test part's series), also where the
  forecast is of another file's series: with --csv_path it says whose it is."""
  coverage = {'steps': 14, 'origins': 40, '0.8': {'all_steps': 0.88, 'first_steps': 0.9}}
  for task, counted in (('panel', '40 series, 1-14 steps ahead'),
                        ('forecast', '1-14 steps ahead / 1-14 steps ahead')):
    model = types.SimpleNamespace(task=task, transform={'horizon': 14},
                                  test_coverage=lambda levels: coverage)
    line, = predictions.coverage_lines(model, (0.8,))
    assert line.startswith(f'coverage on the test part ({counted}): 80% intervals'), line
    line, = predictions.coverage_lines(model, (0.8,), csv_path='three.csv')
    assert line.startswith(f"coverage on the sweep's test part ({counted}; not on "
                           '--csv_path): 80% intervals'), line


def test_intervals_too_narrow_on_test_are_said_to_be():
  """A trending series forecast on its levels: the 80 % intervals held 43 % of the test
  part's points, printed beside the forecast with no word on it (a user's finding). Below
  a level by more than two binomial standard errors over the origins, a note says so;
  within them, or at 40 origins and 0.88, nothing."""
  model = lambda task, coverage, difference=False: types.SimpleNamespace(
      task=task, transform={'horizon': 1, 'difference': difference},
      test_coverage=lambda levels: coverage)
  low = {'steps': 14, 'origins': 14, '0.8': {'first_steps': 0.64, 'all_steps': 0.43},
         '0.95': {'first_steps': 0.71, 'all_steps': 0.52}}
  lines = predictions.coverage_lines(model('forecast', low), (0.8, 0.95))
  assert lines[1] == (
      'note: the intervals are too narrow on the test part (80% intervals held 43%, 95% '
      'intervals held 52% of its points): its errors outgrew the validation errors that '
      'calibrate them; a trend past the training range does this: --difference models '
      'the changes'), lines
  lines = predictions.coverage_lines(model('forecast', low, difference=True), (0.8,))
  assert lines[1].endswith('(80% intervals held 43% of its points): its errors outgrew '
                           'the validation errors that calibrate them'), lines
  # 14 origins: 64 % is within two standard errors of 80 % (0.586), 86 % above.
  near = {'steps': 14, 'origins': 14, '0.8': {'first_steps': 0.64, 'all_steps': 0.86}}
  assert len(predictions.coverage_lines(model('forecast', near), (0.8,))) == 1
  # M1 yearly: 181 series, 71 % and 90 %: both below (0.74, 0.918).
  m1 = {'steps': 6, 'origins': 181, '0.8': {'first_steps': 0.71, 'all_steps': 0.71},
        '0.95': {'first_steps': 0.9, 'all_steps': 0.9}}
  lines = predictions.coverage_lines(model('panel', m1), (0.8, 0.95))
  assert lines[1].startswith('note: the intervals are too narrow on the test part (80% '
                             'intervals held 71%, 95% intervals held 90% of its points)')
  # Forecast from a --csv_path: the coverage and its note are the sweep's test part's.
  lines = predictions.coverage_lines(model('panel', m1), (0.8,), csv_path='new.csv')
  assert lines[1].startswith("note: the intervals are too narrow on the sweep's test "
                             'part (80% intervals held 71% of its points)')


def test_a_level_asked_twice_is_one_level():
  assert arguments.levels((0.8, 0.95, 0.8)) == (0.8, 0.95)
  assert arguments.levels(np.array([0.5, 0.5])) == (0.5,)


def test_a_float32_level_is_the_decimal_its_user_wrote():
  """np.float32(0.8) was the level (and forecast's key) 0.800000011920929; a list of JAX
  scalars ([jnp.float32(0.8)]) was refused: 'levels: Array(0.8) must lie in (0, 1)'."""
  for given in ((np.float32(0.8),), np.float32(0.8), np.array([0.8, 0.95], np.float32),
                jnp.float32(0.8), jnp.array([0.8]), [np.float16(0.8)],
                [jnp.float32(0.8)], (jnp.float32(0.8), 0.95)):
    assert arguments.levels(given)[0] == 0.8, given
  assert arguments.levels(np.array([0.8, 0.95], np.float32)) == (0.8, 0.95)
  assert arguments.levels((np.float64(0.8000001),)) == (0.8000001,)  # As it prints.
  with pytest.raises(InputError, match=r'^levels: 1.5 must lie'):
    arguments.levels(np.array([np.float32(1.5)]))


def test_coverage_is_reported_for_the_levels_asked(tmp_path, forecast_run):
  workdir = forecast_run[1]
  out = predictions.run(workdir, levels=(0.5, 0.9), out_dir=str(tmp_path / 'a'))
  line, = [l for l in out['lines'] if l.startswith('coverage on the test part')]
  assert '50% intervals' in line and '90% intervals' in line, line
  assert '80%' not in line and '95%' not in line, line
  # The saved levels come back as saved; others are computed as the sweep computed them.
  model = rnnjax.load(workdir)
  saved = model.manifest['intervals']['test_coverage']
  assert set(saved) == {'steps', 'origins', '0.8', '0.95'}
  assert model.test_coverage((0.8, 0.95)) == saved
  assert model.test_coverage((0.95,)) == {k: saved[k] for k in ('steps', 'origins', '0.95')}
  got = model.test_coverage((0.5, 0.9))
  assert set(got) == {'steps', 'origins', '0.5', '0.9'}
  assert f'50% intervals {got["0.5"]["first_steps"]:.0%} / ' in line
  # Oracle: one step ahead from every test origin against validation's 50 % width.
  test_start = model.transform['split_points'][1]
  series = model.arrays['series']
  point = model.backtest(series, range(test_start, len(series)), 1)[:, 0, 0]
  width, _ = intervals.conformal_width(model.arrays['residuals'][0, :, 0], 0.5)
  inside = np.abs(series[test_start:, 0] - point) <= width
  assert got['0.5']['first_steps'] == pytest.approx(inside.mean())
  # Through the command; a level that is no whole percent keeps its digits.
  (code, out, lines), = _commands([f'--workdir={workdir}', '--levels=0.5,0.975',
                                   '--figures=false', f'--out_dir={tmp_path}/b'])
  assert code == 0, lines
  assert '50% intervals' in out and '97.5% intervals' in out and '80%' not in out, out


def test_python_errors_name_arguments_and_the_command_names_flags(tmp_path, forecast_run,
                                                                 charlm_run):
  with pytest.raises(InputError, match=r'^workdir: .*: no such directory'):
    rnnjax.load(str(tmp_path / 'none'))
  model = rnnjax.load(forecast_run[1])
  for steps in (0, 2.5, '3', True):
    with pytest.raises(InputError, match=rf'^steps: {steps!r} must be a whole number >= 1'):
      model.forecast(model.arrays['series'], steps)
  with pytest.raises(InputError, match=r'^levels: 1.5 must lie in \(0, 1\)'):
    model.forecast(model.arrays['series'], 1, levels=(0.8, 1.5))
  chars = rnnjax.load(charlm_run[1])
  for kw, message in (({'temperature': -0.5}, r'^temperature: -0.5 must be a number >= 0 '
                       r'\(0: the most likely character each step'),
                      ({'num_chars': -1}, r'^num_chars: -1 must be a whole number in '
                                          r'\[0, 1048576\]'),
                      # A million characters at most (a served model's request), and
                      # seeds as jax.random.key tells them apart (32 bits).
                      ({'num_chars': 10 ** 9}, r'^num_chars: 1000000000 must be a whole '),
                      ({'seed': 2 ** 32}, r'^seed: 4294967296 must be a whole number in '
                                          r'\[0, 4294967295\]'),
                      ({'num_chars': 2.5}, r'^num_chars: 2.5 must be a whole number'),
                      ({'prompt': b'ab'}, r'^prompt: a str, not bytes$')):
    with pytest.raises(InputError, match=message):
      chars.sample(**kw)
  with pytest.raises(InputError, match=r'^text: a str, not list$'):
    chars.bits_per_char(['ab', 'c'])
  # A model saved before 2026-12-08 draws with the seed's key alone, as its sweep drew its
  # sample.txt (since, the key is folded with the prompt: generate.prompted).
  assert chars.transform['key_by_prompt'] is True
  after = chars.sample('ROMEO:', num_chars=40, seed=4)
  del chars.transform['key_by_prompt']
  before = characters.sample(chars._groups, chars.vocab, text.encode('ROMEO:', chars.vocab),
                             num_chars=40, temperature=0.8, seed=4, by_prompt=False)
  assert chars.sample('ROMEO:', num_chars=40, seed=4) == before != after
  # A model saved before U+FFFD joined the vocabulary refuses a character it lacks.
  chars.transform['vocab'] = chars.vocab.replace(text.UNKNOWN, '')
  with pytest.raises(InputError, match=r"^prompt: character '\u2603' \(position 2\) is not "
                                       r'in the vocabulary'):
    chars.sample('ab\u2603')
  commands = [
      ([f'--workdir={tmp_path}/none'], f'error: --workdir: {tmp_path}/none: no such'),
      ([f'--workdir={forecast_run[1]}', '--steps_ahead=0'],
       'error: --steps_ahead: 0 must be >= 1'),
      ([f'--workdir={charlm_run[1]}', '--temperature=-1'], 'error: --temperature: -1.0 must'),
      ([f'--workdir={charlm_run[1]}', '--num_chars=-1'], 'error: --num_chars: -1 must')]
  ran = _commands(*[args + [f'--out_dir={tmp_path}/out'] for args, _ in commands])
  for (code, _, lines), (_, message) in zip(ran, commands):
    assert code == 2 and len(lines) == 1 and lines[0].startswith(message), lines
  assert ran[1][2] == [commands[1][1]]  # The whole line.
  assert not (tmp_path / 'out').exists()


def test_arguments_of_every_method_are_checked_in_one_line(forecast_run, classify_run,
                                                           charlm_run, tmp_path):
  """Wrong types and values give one line naming the argument (not a traceback from
  NumPy or JAX, nor a silent answer: origins before the lookback once wrapped around
  the series, values past float32 gave finite forecasts, classes of NaN
  probabilities)."""
  import pickle  # pylint: disable=g-import-not-at-top
  model = rnnjax.load(forecast_run[1])
  series = model.arrays['series']
  need = model._need()  # pylint: disable=protected-access
  one = model.forecast(series, 2, levels=0.9)  # One level alone is a level,
  assert set(one['lower']) == {0.9}
  for levels in (np.array(0.9), jnp.float32(0.9), jnp.array([0.9])):  # as are arrays,
    np.testing.assert_allclose(model.forecast(series, 2, levels=levels)['lower'][
        0.9], one['lower'][0.9])
  np.testing.assert_array_equal(model.forecast(series, jnp.int32(2))['point'], one['point'])
  classifier, chars = rnnjax.load(classify_run[1]), rnnjax.load(charlm_run[1])
  cases = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test')).series[:2]
  huge = series.copy()
  huge[-1] = 1e300
  for call, message in (
      (lambda: rnnjax.load(None), '^workdir: a path \\(str\\), not NoneType$'),
      (lambda: model.forecast(series, 2, levels=None), '^levels: None must be numbers'),
      (lambda: model.forecast(series, 2, levels=['0.8']), "^levels: '0.8' must lie"),
      (lambda: model.test_coverage(1.5), '^levels: 1.5 must lie'),
      (lambda: model.forecast(huge, 2), '^history: 1e\\+300 is past the range of float32'),
      (lambda: model.forecast(series > 0, 2), '^history: .*booleans are not levels'),
      (lambda: model.forecast(series + 1j, 2), '^history: .*complex numbers'),
      (lambda: jax.jit(lambda h: model.forecast(h, 2)['point'])(series),
       '^history: a traced JAX array'),
      (lambda: model.backtest(series, [need - 1]), f'^origins: {need - 1} is outside '
       f'\\[{need}, {len(series) - 1}\\]'),
      (lambda: model.backtest(series, [len(series)]), f'^origins: {len(series)} is outside'),
      (lambda: model.backtest(series, []), '^origins: .* non-empty list of whole numbers'),
      (lambda: model.backtest(series, [need], steps=1.5), '^steps: 1.5 must be a whole'),
      (lambda: model.evaluate_series(series, len(series)), f'^start: {len(series)} must '
       'be a whole number in'),
      (lambda: model.validation_residuals('a'), "^max_steps: 'a' must be a whole number"),
      (lambda: classifier.test_coverage(), '^test_coverage: this is a classify model'),
      (lambda: classifier.validation_residuals(), '^validation_residuals: this is a '
       'classify model'),
      (lambda: classifier.predict(None), '^sequences: NoneType is not a list of cases'),
      (lambda: classifier.predict([cases[0] * 1e300]), '^sequences: case 0: .* past the '
       'range of float32'),
      (lambda: classifier.evaluate_cases(cases, None), '^labels: a list of class labels'),
      (lambda: chars.sample('ab', seed=None), '^seed: None must be a whole number'),
      (lambda: chars.sample('ab', temperature='1'), "^temperature: '1' must be a number"),
      (lambda: chars.sample('ab', temperature=1e300), '^temperature: 1e\\+300 must be a number '
       '>= 0 \\(0: the most likely character each step; at most 3.4e\\+38\\)'),
      (lambda: model.forecast([2 ** 1100] * len(series), 2), '^history: .* must hold numbers'),
      (lambda: classifier.predict([[2 ** 1100] * 5]), '^sequences: case 0 is not numbers'),
  ):
    with pytest.raises(InputError, match=message) as e:
      call()
    assert '\n' not in str(e.value), message
  # A DataFrame with the model's time column is read in time order, whatever its rows'.
  frame = pd.DataFrame({'Time': model.arrays['times'], 'Sales': series[:, 0]})
  np.testing.assert_array_equal(model.forecast(frame.iloc[::-1], 2)['point'],
                                model.forecast(frame, 2)['point'])
  # Its forecast's times continue its time column; an array's are counted.
  assert model.forecast(frame, 2)['times'] == ['1994-01', '1994-02']
  assert model.forecast(series[:, 0], 2)['times'] == ['+1', '+2']
  # An absent month is put back and filled as the sweep filled its file, and said; two
  # rows at one time are refused (they were read as consecutive months).
  notes = model.forecast(frame.drop(index=len(frame) - 3), 2)['notes']
  assert notes[:2] == ["history: its time column 'Time': 1 absent period (a month) put back "
                       'as empty cells', '1 empty cell of history filled, as the sweep '
                       "filled its data: 1 of target column 'Sales' by linear "
                       'interpolation'], notes
  with pytest.raises(InputError, match=r"^history: has two rows at '1993-12' \(column 'Time'\)"):
    model.forecast(pd.concat([frame, frame.iloc[-1:]]), 2)
  # The same file given to predict names its flag, not the sweep's --time_column.
  twice = os.path.join(str(tmp_path), 'twice.csv')
  pd.concat([frame, frame.iloc[-1:]]).to_csv(twice, index=False)
  with pytest.raises(InputError, match=r"^--csv_path: .*twice\.csv has two rows at '1993-12'"):
    predictions.run(forecast_run[1], csv_path=twice, out_dir=os.path.join(str(tmp_path), 'o'))
  # Rows a week apart, where the sweep's data were a month apart: refused, both named;
  # step numbers are read as its months, said in a note.
  weekly = frame.assign(Time=[str(np.datetime64('1980-01-07') + 7 * i)
                              for i in range(len(frame))])
  with pytest.raises(InputError, match=r"^history: its rows step by a week; the model's data "
                     r'stepped by a month \('):
    model.forecast(weekly, 2)
  weekly.to_csv(os.path.join(str(tmp_path), 'weekly.csv'), index=False)
  with pytest.raises(InputError, match=r'^--csv_path: .*weekly\.csv: its rows step by a week; '
                     r"the model's data stepped by a month \("):
    predictions.run(forecast_run[1], csv_path=os.path.join(str(tmp_path), 'weekly.csv'),
                    out_dir=os.path.join(str(tmp_path), 'o'))
  assert ("history: its times are step numbers, where the model's data were dates a month "
          'apart: each row is read as a month') in model.forecast(
              frame.assign(Time=range(len(frame))), 2)['notes']
  # A file or DataFrame without the model's time column (renamed, or left out) is read in
  # file order, as a dated one never is: said in a note (as a panel's is), not in silence.
  assert ("history: no column 'Time' (the model's time column): its rows are read in the "
          'order given') in model.forecast(frame.drop(columns='Time'), 2)['notes']
  assert not any('time column' in n for n in model.forecast(  # An array has no times.
      frame[['Sales']].to_numpy(), 2)['notes'])
  # A Series dated by its index: read in order, said (its times came back '+1', '+2').
  dated = pd.Series(frame['Sales'].to_numpy(),
                    index=pd.date_range('2000-01-01', periods=len(frame), freq='MS'))
  assert ("history: its index is not read as times: its rows are read in the order given "
          "(a DataFrame with the model's time column 'Time' is read by it)") in model.forecast(
              dated, 2)['notes']
  for plain in (frame['Sales'], frame['Sales'].set_axis(pd.Index(list(range(len(frame)))))):
    assert not any('index' in n for n in model.forecast(plain, 2)['notes'])  # Not dated.
  renamed = os.path.join(str(tmp_path), 'renamed.csv')
  frame.rename(columns={'Time': 'Month'}).to_csv(renamed, index=False)
  out = predictions.run(forecast_run[1], csv_path=renamed, steps_ahead=2,
                        out_dir=os.path.join(str(tmp_path), 'r'))
  assert (f"note: --csv_path {renamed} has no column 'Time' (the model's time column): its "
          'rows are read in file order, neither sorted nor checked for absent periods, and '
          "the forecast's times are row numbers") in out['lines'], out['lines']
  # Predictions go to a folder that can be made: else one line, nothing computed.
  blocker = os.path.join(forecast_run[1], 'summary.json')
  with pytest.raises(InputError, match=f'^--out_dir: {re.escape(blocker)} is a file, not '
                     'a directory$'):
    predictions.run(forecast_run[1], steps_ahead=2, out_dir=blocker)
  below = os.path.join(blocker, 'out')
  with pytest.raises(InputError, match=f'^--out_dir: {re.escape(below)}: '
                     f'{re.escape(blocker)} above it is a file'):
    predictions.run(forecast_run[1], steps_ahead=2, out_dir=below)
  # A loaded model pickles (as its host arrays) and forecasts the same unpickled.
  again = pickle.loads(pickle.dumps(model))
  np.testing.assert_array_equal(again.forecast(series, 3)['point'],
                                model.forecast(series, 3)['point'])


def test_calls_of_many_sizes_compile_few_programs(classify_run, charlm_run):
  """A notebook's calls: cases and texts are padded to buckets (powers of two) and cut,
  so eight numbers of cases compile at most one more program (none where another test
  compiled it), not eight, with each case's probabilities those it gets alone."""
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  model = rnnjax.load(classify_run[1])
  group = model._groups[0]  # pylint: disable=protected-access
  compiled = pop.population_outputs_fn(group.cfg, model._mesh)  # pylint: disable=protected-access
  cases = classify.read_ts(classify.bundled_path('JapaneseVowels', 'test')).series
  alone = model.predict_proba(cases[:3])
  before = compiled._cache_size()  # pylint: disable=protected-access
  for n in range(9, 17):
    probs = model.predict_proba(cases[:n])
    assert probs.shape[0] == n
    np.testing.assert_array_equal(probs[:3], alone)
  assert compiled._cache_size() - before <= 1  # pylint: disable=protected-access
  chars = rnnjax.load(charlm_run[1])
  group = chars._groups[0]  # pylint: disable=protected-access
  compiled = pop.population_outputs_fn(group.cfg, chars._mesh)  # pylint: disable=protected-access
  chars.bits_per_char('To be, or not to be')
  before = compiled._cache_size()  # pylint: disable=protected-access
  for line in ('To be, or not to be:', 'To be, or not to be: that', 'To be, or no'):
    chars.bits_per_char(line)
  assert compiled._cache_size() - before <= 1  # pylint: disable=protected-access


def test_the_printed_table_of_several_targets_says_where_its_other_levels_are():
  model = type('Model', (), {'transform': {'target_columns': ['a', 'b']}})()
  header = ['time', 'a_forecast', 'a_lower_80', 'a_upper_80', 'a_lower_95', 'a_upper_95',
            'b_forecast', 'b_lower_80', 'b_upper_80', 'b_lower_95', 'b_upper_95']
  text = series_predictions.forecast_table(model, header, [['1', *range(10)]])
  assert '95% interval' not in text.splitlines()[0]
  assert text.splitlines()[-1] == '(2 targets: the 80% intervals shown; 95% in forecast.csv)'


def test_the_printed_table_says_where_its_steps_past_the_first_24_are():
  """48 hourly steps printed 24 rows and nothing more: the other day looked unforecast."""
  model = type('Model', (), {'transform': {'target_columns': ['load']}})()
  header = ['time', 'forecast', 'lower_80', 'upper_80']
  rows = [[f'2024-12-30T{h % 24:02d}:00+01:00', 1.0, 0.0, 2.0] for h in range(48)]
  lines = series_predictions.forecast_table(model, header, rows).splitlines()
  assert len(lines) == 1 + 24 + 1
  assert lines[-1] == '(the first 24 of 48 steps shown; forecast.csv has all)'
  # The time column is as wide as its times, its title above them.
  assert lines[0].index('time') + 4 == len(rows[0][0])
  assert lines[1].startswith('2024-12-30T00:00+01:00  ')
  assert series_predictions.forecast_table(model, header, rows[:24]).splitlines()[-1] \
      .startswith('2024-12-30T23:00+01:00')


def test_a_forecast_without_figures_names_an_earlier_runs_figures_beside_it(tmp_path):
  """predict --figures=false wrote a new forecast.csv beside last week's forecast.png and
  .pdf, which went on drawing another forecast without a word; the command now says so
  (experiments/predict.py prints this note)."""
  assert predictions.stale_figures_note(str(tmp_path)) == ''
  (tmp_path / 'forecast.png').write_bytes(b'')
  assert predictions.stale_figures_note(str(tmp_path)) == (
      f"note: forecast.png in {tmp_path} is an earlier run's, not redrawn "
      "(--figures=false): not this forecast.csv's")
  # A classifier's, its cases unlabelled this time.
  (tmp_path / 'confusion.png').write_bytes(b'')
  assert predictions.stale_figures_note(
      str(tmp_path), 'confusion', 'predictions', 'no case has a label of a class') == (
          f"note: confusion.png in {tmp_path} is an earlier run's, not redrawn (no case has "
          "a label of a class): not this predictions.csv's")
  (tmp_path / 'forecast.pdf').write_bytes(b'')
  assert 'forecast.png and forecast.pdf in' in predictions.stale_figures_note(str(tmp_path))


def test_a_history_of_pandas_nullable_dtypes_reads_pd_na_as_a_gap(forecast_run):
  """A DataFrame of nullable dtypes (read with dtype_backend=, or 'Int64' beside
  'Float64') holds pd.NA for an empty cell: a gap, read as NaN and filled as NaN is; a
  mix of such columns was refused as not numbers."""
  from rnnjax.final.saved import forecasting  # pylint: disable=g-import-not-at-top
  frame = pd.DataFrame({'sales': [1.5, None, 3.0], 'promo': [1, 0, None]}).astype(
      {'sales': 'Float64', 'promo': 'Int64'})
  got = forecasting.numbers(frame, ['sales', 'promo'], 'history')
  np.testing.assert_array_equal(got, [[1.5, 1.0], [np.nan, 0.0], [3.0, np.nan]])
  model = rnnjax.load(forecast_run[1])
  plain = pd.DataFrame({'Time': model.arrays['times'], 'Sales': model.arrays['series'][:, 0]})
  plain.loc[10, 'Sales'] = np.nan
  nullable = pd.read_csv(io.StringIO(plain.to_csv(index=False)), dtype_backend='pyarrow')
  want, got = model.forecast(plain, 3), model.forecast(nullable, 3)
  np.testing.assert_allclose(got['point'], want['point'], rtol=1e-6)
  assert got['notes'] == want['notes']


@pytest.mark.parametrize('difference', [False, True])
def test_empty_test_cells_are_left_out_of_the_models_figures_and_load_gives_them_back(
    tmp_path, difference):
  """A series whose test part has empty target cells (filled): the final model's test
  RMSE, MAE and MASE and its intervals' coverage are over the observed cells of its test
  forecasts (each cell in several windows); rnnjax.load gives them back exactly; a model
  saved before the mask (no test_observed) scores every cell, as then."""
  forecast_csv = tmp_path / 'gappy.csv'
  with open(forecast.bundled_path('shampoo_sales'), encoding='utf-8') as file:
    rows = file.read().splitlines()
  empty = (31, 33)  # Rows of the series (the last 5 are its test part).
  for i in empty:
    rows[1 + i] = rows[1 + i].split(',')[0] + ','
  forecast_csv.write_text('\n'.join(rows) + '\n', encoding='utf-8')
  spec = dataclasses.replace(FORECAST, dataset='', csv_path=str(forecast_csv),
                             time_column='Time', target_columns=('Sales',), horizon=2,
                             test_size=5, lookback='3', difference=difference,
                             ensemble='single')
  # 4 test windows, a power of two: a loaded model pads the windows it forecasts to one
  # (members.py `outputs`), and a batch of 5 padded to 8 may round an output in its last bit.
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert any('left out of the test scores' in l for l in lines)
  final = summary['final']['test']
  model = rnnjax.load(str(tmp_path / 'wd'))
  series, observed = model.arrays['series'], model.arrays['test_observed']
  n, test_start = len(series), model.transform['split_points'][1]
  assert test_start == 31 and np.flatnonzero(~observed[:, 0]).tolist() == list(empty)
  _assert_same(model.evaluate_series(series, test_start, observed=observed), final)
  # forecast.png draws them as gaps, and 32, between them, as a dot.
  drawn, gaps = series_predictions.drawn_history(model, series, test_start)
  assert gaps and np.flatnonzero(np.isnan(drawn[:, 0])).tolist() == list(empty)
  assert np.flatnonzero(forecast_plot.isolated_points(drawn[:, 0])).tolist() == [32]
  # NumPy over the observed cells of the model's test forecasts (levels).
  origins = np.arange(test_start, n - 1)
  cells = origins[:, None] + np.arange(2)
  errors = np.abs(model.backtest(series, origins, 2)[..., 0] - series[cells, 0])
  scored = observed[cells, 0]
  assert final['rmse'] == pytest.approx(np.sqrt(np.mean(errors[scored] ** 2)), rel=1e-5)
  assert final['mae'] == pytest.approx(np.mean(errors[scored]), rel=1e-5)
  assert final['mase'] == pytest.approx(
      np.mean(errors[scored]) / model.transform['mase_scale'][0], rel=1e-5)
  filled_rmse = np.sqrt(np.mean(errors ** 2))
  assert abs(final['rmse'] - filled_rmse) > 1e-3 * filled_rmse
  # The intervals' coverage of the first steps: the observed test points alone.
  width = intervals.widths(model.arrays['residuals'], 0.8, 2)[0][:, 0]
  last = np.abs(model.backtest(series, [n - 1], 1)[0, 0, 0] - series[n - 1, 0])
  inside = np.concatenate([(errors <= width)[scored], [last <= width[0]]])
  coverage = model.manifest['intervals']['test_coverage']['0.8']['first_steps']
  assert coverage == pytest.approx(np.mean(inside), rel=1e-12)
  del model.manifest['intervals']['test_coverage']
  assert model.test_coverage((0.8,))['0.8']['first_steps'] == coverage
  # A model saved before the mask: every cell scored, as then.
  del model.arrays['test_observed']
  assert model.evaluate_series(series, test_start)['rmse'] == pytest.approx(filled_rmse,
                                                                            rel=1e-5)
  # Drawn from the whole series' marks (a model saved before them: its test part's).
  assert np.flatnonzero(~model.arrays['observed'][:, 0]).tolist() == list(empty)
  assert series_predictions.drawn_history(model, series, test_start)[1]
  del model.arrays['observed']
  assert not series_predictions.drawn_history(model, series, test_start)[1]
  # The same file as predict's --csv_path: its own empty cells drawn as gaps, said so.
  plot = predictions.run(str(tmp_path / 'wd'), csv_path=str(forecast_csv),
                         out_dir=str(tmp_path / 'csv'))['plot']
  assert np.flatnonzero(np.isnan(plot['history'][:, 0])).tolist() == list(empty)
  assert predictions.GAPS_CSV in plot['note'] and predictions.GAPS not in plot['note']


def test_empty_validation_cells_are_left_out_of_the_val_scores_and_the_intervals(tmp_path):
  """A series whose validation part has empty target cells (filled): the final model's
  validation RMSE and MAE (what chose it) are over the observed cells of its validation
  forecasts, and its intervals are calibrated on the observed cells alone (NaN errors
  at the empty ones, skipped)."""
  forecast_csv = tmp_path / 'gappy.csv'
  with open(forecast.bundled_path('shampoo_sales'), encoding='utf-8') as file:
    rows = file.read().splitlines()
  empty = (27, 29)  # Rows of the series: validation 26..30, test 31..35.
  for i in empty:
    rows[1 + i] = rows[1 + i].split(',')[0] + ','
  forecast_csv.write_text('\n'.join(rows) + '\n', encoding='utf-8')
  spec = dataclasses.replace(FORECAST, dataset='', csv_path=str(forecast_csv),
                             time_column='Time', target_columns=('Sales',), horizon=2,
                             val_size=5, test_size=5, lookback='3', ensemble='single')
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert any('left out of the validation scores' in l for l in lines)
  assert not any('left out of the test scores' in l for l in lines)
  final = summary['final']['val']
  model = rnnjax.load(str(tmp_path / 'wd'))
  series = model.arrays['series']
  train_end, val_end = model.transform['split_points']
  assert (train_end, val_end) == (26, 31) and 'test_observed' not in model.arrays
  observed = np.ones(len(series), bool)
  observed[list(empty)] = False
  origins = np.arange(train_end, val_end - 1)  # 4 windows: no padding (see above).
  cells = origins[:, None] + np.arange(2)
  errors = np.abs(model.backtest(series, origins, 2)[..., 0] - series[cells, 0])
  scored = observed[cells]
  assert final['rmse'] == pytest.approx(np.sqrt(np.mean(errors[scored] ** 2)), rel=1e-5)
  assert final['mae'] == pytest.approx(np.mean(errors[scored]), rel=1e-5)
  assert abs(final['rmse'] - np.sqrt(np.mean(errors ** 2))) > 1e-3 * final['rmse']
  # Calibration errors: NaN past validation's end and at its empty cells alone.
  residuals = model.arrays['residuals'][..., 0]  # [K, W]
  k, w = np.meshgrid(np.arange(residuals.shape[0]), np.arange(residuals.shape[1]),
                     indexing='ij')
  cell = train_end + w + k
  want_nan = (cell >= val_end) | ~observed[np.minimum(cell, len(series) - 1)]
  np.testing.assert_array_equal(np.isnan(residuals), want_nan)
  assert model.manifest['intervals']['errors_per_step'] == (~want_nan).sum(1).tolist()


def test_what_a_killed_writer_left_is_removed_by_the_next_sweep(tmp_path, forecast_run):
  """kill -9 while the model or a figure was written leaves `atomic`'s temporary entry
  (its clean-up never ran): an empty .tmp-...-model folder, a 0-byte figure. The next
  sweep on the work directory (here: the finished one, run again) removes them, and
  nothing else."""
  _, workdir = forecast_run
  left = [os.path.join(workdir, '.tmp-b195844c-model'),
          os.path.join(workdir, 'figures', '.tmp-a28dee0e-heatmap.pdf')]
  os.makedirs(left[0])
  os.makedirs(os.path.dirname(left[1]), exist_ok=True)
  open(left[1], 'w').close()
  before = sorted(os.listdir(workdir))
  sweep.run_sweep(FORECAST, workdir, log=lambda _: None)
  assert not any(os.path.exists(p) for p in left)
  assert sorted(os.listdir(workdir)) == [e for e in before if not e.startswith('.tmp-')]
