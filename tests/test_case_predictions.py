"""A classifier of a long CSV (final/use/case_predictions.py, final/saved/cases.py):
predict --csv_path reads new cases by the sweep's columns and writes predictions.csv as
--ts_path does; the model reads a DataFrame with the sweep's own case column (or
`case`), its channels by name and its rows by the time column; a manifest saved before
these columns were recorded still loads and reads a `case` frame."""

import csv
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from rnnjax.errors import InputError
from rnnjax.final.use import mlflow_model
from rnnjax.final.use import mlflow_packaging
from rnnjax.final.use import predictions
from rnnjax.run import sweep
import rnnjax


def _cases(rng, n, prefix):
  """A long table of n cases (class up rises in channel a, down falls), 3 to 8 steps,
  each case's rows in a random order (the time column `t` orders them)."""
  rows = []
  for i in range(n):
    label = ('up', 'down')[i % 2]
    t = np.arange(rng.integers(3, 9))
    a = (1.0 if label == 'up' else -1.0) * t + rng.normal(size=len(t)) * 0.1
    b = rng.normal(size=len(t))
    for k in rng.permutation(len(t)):
      rows.append({'sid': f'{prefix}{i}', 't': int(t[k]), 'weather': 'dry',
                   'a': round(float(a[k]), 6), 'b': round(float(b[k]), 6), 'label': label})
  return pd.DataFrame(rows)


@pytest.fixture(scope='module')
def csv_run(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('case_csv')
  rng = np.random.default_rng(0)
  train, test = _cases(rng, 24, 'tr'), _cases(rng, 10, 'te')
  train.to_csv(tmp / 'TRAIN.csv', index=False)
  test.to_csv(tmp / 'TEST.csv', index=False)
  spec = sweep.SweepSpec(
      task='classify', train_path=str(tmp / 'TRAIN.csv'), test_path=str(tmp / 'TEST.csv'),
      id_column='sid', time_column='t', target_columns=('label',),
      input_columns=('b', 'a'), cell='gru', hidden_size='4', batch_size='8',
      learning_rate='grid(1e-2,3e-2)', train_steps=4, eval_every=2)
  summary = sweep.run_sweep(spec, str(tmp / 'wd'), log=lambda _: None)
  return summary, str(tmp / 'wd'), test, tmp


def _in_order(frame):
  """Each case's [T_i, 2] (channels b, a), its rows by time, cases by first appearance."""
  return [g.sort_values('t')[['b', 'a']].to_numpy(float)
          for _, g in frame.groupby('sid', sort=False)]


def test_the_manifest_records_the_sweeps_columns(csv_run):
  _, workdir, _, _ = csv_run
  manifest = json.load(open(os.path.join(workdir, 'model', 'manifest.json')))
  data = manifest['data']
  # MLflow's metadata of the logged model says them too (its DataFrame's columns).
  assert mlflow_packaging.metadata(manifest)['id_column'] == 'sid'
  assert mlflow_packaging.metadata(manifest)['input_columns'] == ['b', 'a']
  assert {k: data[k] for k in ('id_column', 'time_column', 'target_column',
                               'input_columns')} == {
      'id_column': 'sid', 'time_column': 't', 'target_column': 'label',
      'input_columns': ['b', 'a']}


def test_predict_csv_path_writes_predictions_as_ts_path_does(csv_run, tmp_path):
  summary, workdir, test, tmp = csv_run
  model = rnnjax.load(workdir)
  out = predictions.run(workdir, csv_path=str(tmp / 'TEST.csv'), out_dir=str(tmp_path))
  rows = list(csv.reader(open(out['paths'][0])))
  assert rows[0] == ['case', 'predicted', 'label', 'p_down', 'p_up']
  assert [r[0] for r in rows[1:]] == [f'te{i}' for i in range(10)]
  want = model.predict_proba(_in_order(test))
  assert np.allclose([[float(v) for v in r[3:]] for r in rows[1:]], want, atol=1e-8)
  labels = test.groupby('sid', sort=False)['label'].first().tolist()
  accuracy = np.mean(np.array(['down', 'up'])[want.argmax(1)] == labels)
  assert out['lines'][1].startswith(f"accuracy against the file's labels: {accuracy:.4f}")
  assert accuracy == pytest.approx(summary['final']['test']['accuracy'], abs=1e-6)
  # Without the label column: the predictions alone; without the time column too, each
  # case's rows in file order.
  ordered = pd.concat([g.sort_values('t') for _, g in test.groupby('sid', sort=False)])
  ordered.drop(columns=['label', 'weather', 't']).to_csv(tmp_path / 'new.csv', index=False)
  bare = predictions.run(workdir, csv_path=str(tmp_path / 'new.csv'),
                         out_dir=str(tmp_path / 'bare'))
  assert len(bare['lines']) == 1 and bare['lines'][0].startswith('10 cases, predicted: ')
  rows = list(csv.reader(open(bare['paths'][0])))
  assert rows[0] == ['case', 'predicted', 'p_down', 'p_up']
  assert np.allclose([[float(v) for v in r[2:]] for r in rows[1:]], want, atol=1e-8)


def test_predict_csv_path_reads_an_empty_label_column_as_cases_not_labelled(csv_run,
                                                                            tmp_path):
  _, workdir, test, tmp = csv_run
  labelled = predictions.run(workdir, csv_path=str(tmp / 'TEST.csv'),
                             out_dir=str(tmp_path / 'labelled'))
  test.assign(label='').to_csv(tmp_path / 'new.csv', index=False)  # New cases' blanks.
  out = predictions.run(workdir, csv_path=str(tmp_path / 'new.csv'), out_dir=str(tmp_path))
  assert out['lines'] == labelled['lines'][:1]
  rows = list(csv.reader(open(out['paths'][0])))
  assert rows[0] == ['case', 'predicted', 'p_down', 'p_up']
  want = list(csv.reader(open(labelled['paths'][0])))
  assert [r[:2] + r[3:] for r in want[1:]] == rows[1:]


@pytest.mark.parametrize('drop, message', [
    (['a'], r"^--csv_path: .*new.csv has no column 'a' \(a channel of the model\)"),
    (['sid'], r"^--csv_path: .*new.csv has no column 'sid'; columns are .* \(the model's "
     r"case column: its sweep's --id_column\)"),
])
def test_predict_csv_path_refuses_a_file_without_the_models_columns(csv_run, tmp_path,
                                                                     drop, message):
  _, workdir, test, _ = csv_run
  test.drop(columns=drop).to_csv(tmp_path / 'new.csv', index=False)
  with pytest.raises(InputError, match=message):
    predictions.run(workdir, csv_path=str(tmp_path / 'new.csv'), out_dir=str(tmp_path))
  assert not os.path.exists(tmp_path / 'predictions.csv')
  with pytest.raises(InputError, match='^--csv_path: give the cases in one file'):
    predictions.run(workdir, csv_path='x.csv', ts_path='x.ts', out_dir=str(tmp_path))


def test_predict_names_a_bad_cell_of_the_models_column_by_the_model_not_a_flag(csv_run,
                                                                             tmp_path):
  # The long-CSV reader says the model's column in predict's words (read_long_csv's
  # `names`): a sweep flag is no help to someone who gave predict a file.
  _, workdir, test, _ = csv_run
  holed = test.astype({'sid': object})
  holed.loc[holed.index[3], 'sid'] = ''
  holed.to_csv(tmp_path / 'new.csv', index=False)
  with pytest.raises(InputError, match=r"^--csv_path: .*new.csv: line 5: empty 'sid' \(the "
                     r"model's case "
                     r"column: its sweep's --id_column\)$"):
    predictions.run(workdir, csv_path=str(tmp_path / 'new.csv'), out_dir=str(tmp_path))
  # A case labelled in some rows and not in others: named alike.
  half = test.copy()
  half.loc[half.index[half['sid'] == 'te0'][1:], 'label'] = ''
  half.to_csv(tmp_path / 'half.csv', index=False)
  with pytest.raises(InputError, match=r"half.csv: line \d+: empty 'label' \(the model's "
                     r"label column: its sweep's --target_columns\) \(every row"):
    predictions.run(workdir, csv_path=str(tmp_path / 'half.csv'), out_dir=str(tmp_path))


def test_predict_csv_path_predicts_every_case_and_scores_the_labelled_ones(csv_run,
                                                                           tmp_path):
  # New cases, some labelled and some not: all predicted, the accuracy over those labelled,
  # and a note of how many had no label.
  _, workdir, test, _ = csv_run
  model = rnnjax.load(workdir)
  unlabelled = ['te1', 'te4', 'te7']
  mixed = test.assign(label=test['label'].where(~test['sid'].isin(unlabelled), ''))
  mixed.to_csv(tmp_path / 'mixed.csv', index=False)
  out = predictions.run(workdir, csv_path=str(tmp_path / 'mixed.csv'), out_dir=str(tmp_path))
  want = model.predict_proba(_in_order(test))
  rows = list(csv.reader(open(out['paths'][0])))
  assert rows[0] == ['case', 'predicted', 'label', 'p_down', 'p_up']
  assert [r[0] for r in rows[1:]] == [f'te{i}' for i in range(10)]
  assert [r[2] == '' for r in rows[1:]] == [f'te{i}' in unlabelled for i in range(10)]
  assert np.allclose([[float(v) for v in r[3:]] for r in rows[1:]], want, atol=1e-8)
  assert out['lines'][1] == ('note: 3 of 10 case(s) have no label in the file: predicted, '
                             'left out of the accuracy')
  labels = test.groupby('sid', sort=False)['label'].first()
  kept = [k not in unlabelled for k in labels.index]
  accuracy = np.mean(np.array(['down', 'up'])[want.argmax(1)][kept] == labels[kept])
  assert out['lines'][2].startswith(
      f"accuracy against the file's labels: {accuracy:.4f} (7 cases); balanced"), out['lines']
  # The model reads the same frame's cases alike (its label column is not a channel).
  assert np.array_equal(model.predict_proba(mixed), want)


def test_predict_names_the_flag_for_a_file_given_as_the_other_kind(csv_run, tmp_path):
  _, workdir, _, tmp = csv_run
  with pytest.raises(InputError, match=r'^--ts_path: .*TEST.csv is a CSV; give it as '
                     '--csv_path$'):
    predictions.run(workdir, ts_path=str(tmp / 'TEST.csv'), out_dir=str(tmp_path))
  with pytest.raises(InputError, match=r'^--csv_path: new.TS is a .ts file; give it as '
                     '--ts_path$'):
    predictions.run(workdir, csv_path='new.TS', out_dir=str(tmp_path))
  assert not os.listdir(tmp_path)


def test_the_model_reads_a_frame_by_the_sweeps_columns(csv_run):
  _, workdir, test, _ = csv_run
  model = rnnjax.load(workdir)
  want = model.predict_proba(_in_order(test))
  assert np.array_equal(model.predict_proba(test), want)  # Its own case column, sid.
  # `case` as before; channels by name whatever their order; rows by time.
  other = test.rename(columns={'sid': 'case'})[['label', 'a', 't', 'case', 'b']]
  assert np.array_equal(model.predict_proba(other.iloc[::-1]), want[::-1])
  assert model.predict(test) == list(np.array(model.classes)[want.argmax(1)])
  served = mlflow_model.classify(model, test, {})  # As MLflow serves a POSTed frame.
  assert np.array_equal(served[[f'p_{c}' for c in model.classes]].to_numpy(), want)
  with pytest.raises(InputError, match=r"^sequences: no column 'b' \(a channel of the model"):
    model.predict_proba(test.drop(columns='b'))
  with pytest.raises(InputError, match=r"needs a 'sid' \(the sweep's case column\) or "
                     '`case` column'):
    model.predict_proba(test.drop(columns='sid'))
  twice = pd.concat([test, test.iloc[:1]])  # Its index labels 0, ..., 0: rows by position.
  with pytest.raises(InputError, match=rf"^sequences: case 'te0': row 0 and row "
                     rf"{len(test)} are both at 't'"):
    model.predict_proba(twice)


def test_a_frame_of_pandas_nullable_dtypes_reads_pd_na_as_a_gap(csv_run):
  """pd.NA, the gap of a nullable or Arrow column (`dtype_backend=`) or of a column of
  objects, is a gap filled as NaN is, by the model and the served model alike (a column
  of objects was refused as not numbers), as a history's is."""
  import io  # pylint: disable=g-import-not-at-top
  _, workdir, test, _ = csv_run
  model = rnnjax.load(workdir)
  holed = test.copy()
  holed.loc[holed.index[1], 'a'] = np.nan
  want = model.predict_proba(holed)
  objects = holed.astype({'a': object})
  objects.loc[holed.index[1], 'a'] = pd.NA
  text = holed.to_csv(index=False)
  for frame in (objects, holed.astype({'a': 'Float64', 'b': 'Float64'}),
                pd.read_csv(io.StringIO(text), dtype={'sid': str},
                            dtype_backend='numpy_nullable'),
                pd.read_csv(io.StringIO(text), dtype={'sid': str}, dtype_backend='pyarrow')):
    np.testing.assert_allclose(model.predict_proba(frame), want, rtol=1e-6)
    served = mlflow_model.classify(model, frame, {})
    np.testing.assert_allclose(served[[f'p_{c}' for c in model.classes]].to_numpy(), want,
                               rtol=1e-6)
  # A list of cases, each a frame of one case's channels.
  keys = holed.sort_values('t', kind='stable')['sid'].unique()[:2]
  per_case = lambda f: [f[f['sid'] == k].sort_values('t', kind='stable')[['a', 'b']]
                        for k in keys]
  np.testing.assert_allclose(
      model.predict_proba(per_case(objects)),
      model.predict_proba([f.to_numpy() for f in per_case(holed)]), rtol=1e-6)


def test_a_frame_without_the_case_column_named_case_is_told_so_once():
  from rnnjax.final.saved import cases  # pylint: disable=g-import-not-at-top
  frame = pd.DataFrame({'id': ['a', 'a'], 'c0': [1.0, 2.0]})
  for transform in ({'id_column': 'case', 'input_columns': ['c0']}, {}):
    with pytest.raises(InputError, match=r'^cases: a DataFrame of cases needs a `case` '
                       r'column \(long format'):
      cases.long_cases(frame, 'cases', transform)


def test_a_manifest_without_the_columns_still_reads_a_case_frame(csv_run, tmp_path):
  _, workdir, test, _ = csv_run
  shutil.copytree(os.path.join(workdir, 'model'), tmp_path / 'model')
  path = tmp_path / 'model' / 'manifest.json'
  manifest = json.load(open(path))
  for key in ('id_column', 'time_column', 'target_column', 'input_columns'):
    del manifest['data'][key]
  path.write_text(json.dumps(manifest))
  old = rnnjax.load(str(tmp_path / 'model'))
  want = rnnjax.load(workdir).predict_proba(_in_order(test))
  frame = pd.concat([pd.DataFrame(c, columns=['b', 'a']).assign(case=f'te{i}')
                     for i, c in enumerate(_in_order(test))])
  assert np.array_equal(old.predict_proba(frame), want)  # Every column but `case`.
  with pytest.raises(InputError, match=r"^sequences: a model of .ts files reads every "
                     r"column but `case` as a channel, in order, and reads 2: this DataFrame "
                     r"has 3 \('t', 'b', 'a'\); give it only the `case` column and 2 "
                     r"channel column\(s\)$"):
    old.predict_proba(frame.assign(t=0)[['t', 'b', 'a', 'case']])
  # The command's error says the same of a file (it said the counts alone).
  frame.assign(t=0)[['case', 't', 'b', 'a']].to_csv(tmp_path / 'new.csv', index=False)
  with pytest.raises(InputError, match=r"^--csv_path: .*new.csv has 3 channel column\(s\) "
                     r"\(t, b, a\); the model reads 2: a model of .ts files reads every "
                     r"column but `case` as a channel, in order; give it only the `case` "
                     r"column and 2 channel column\(s\)$"):
    predictions.run(str(tmp_path), csv_path=str(tmp_path / 'new.csv'),
                    out_dir=str(tmp_path / 'out'))
