"""Tests for rnnjax/data/classify.py: .ts reading, gaps, stratified splits, scaling, baselines."""

import collections
import json

import numpy as np
import pytest

from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data.cases import ts_file
from rnnjax.data.splits import stratified
from rnnjax.errors import InputError

# dataset -> (train cases, test cases, channels, (min length, max length), classes), as
# published with the archives.
EXPECTED = {
    'ItalyPowerDemand': (67, 1029, 1, (24, 24), 2),
    'GunPoint': (50, 150, 1, (150, 150), 2),
    'ArrowHead': (36, 175, 1, (251, 251), 3),
    'BasicMotions': (40, 40, 6, (100, 100), 4),
    'JapaneseVowels': (270, 370, 12, (7, 29), 9),
    'DNA': (2000, 1186, 3, (60, 60), 3),  # StatLog's split of the splice junctions.
}
FILES = [(d, s) for d in classify.DATASETS for s in ('train', 'test')]


def _dumb_parse(path):
  """(header class labels, [label], [<float64>[T, C]]) by plain string splitting."""
  text = open(path).read()
  header_labels = next(l.split()[2:] for l in text.split('\n') if l.startswith('@classLabel'))
  rows = [l for l in text.split('\n') if l.strip() and l[0] not in '#@']
  labels = [r.split(':')[-1] for r in rows]
  cases = [np.array([[float(v) for v in dim.split(',')] for dim in r.split(':')[:-1]]).T
           for r in rows]
  return header_labels, labels, cases


def _write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text)
  return str(path)


HEADER = '@problemName Tiny\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n'


# --- reading the shipped files ----------------------------------------------------------

@pytest.mark.parametrize('dataset,split', FILES)
def test_read_ts_matches_a_dumb_parser(dataset, split):
  path = classify.bundled_path(dataset, split)
  header_labels, labels, cases = _dumb_parse(path)
  ts = classify.read_ts(path)
  n_train, n_test, channels, (t_min, t_max), n_classes = EXPECTED[dataset]
  assert len(ts.series) == len(cases) == (n_train if split == 'train' else n_test)
  assert ts.name == dataset and ts.num_missing == 0
  assert ts.class_labels == tuple(header_labels) and len(ts.class_labels) == n_classes
  assert ts.labels == labels
  for got, want in zip(ts.series, cases):
    assert got.dtype == np.float64 and got.shape[1] == channels
    np.testing.assert_array_equal(got, want)
  lengths = [len(s) for s in ts.series]
  assert min(lengths) >= t_min and max(lengths) <= t_max


@pytest.mark.parametrize('dataset', classify.DATASETS)
def test_load_shapes_lengths_and_class_counts(dataset):
  n_train, n_test, channels, (t_min, t_max), n_classes = EXPECTED[dataset]
  data = classify.load(dataset=dataset)
  _, train_labels, train_cases = _dumb_parse(classify.bundled_path(dataset, 'train'))
  _, test_labels, test_cases = _dumb_parse(classify.bundled_path(dataset, 'test'))
  assert len(data.classes) == n_classes
  assert len(data.y['train']) + len(data.y['val']) == n_train
  assert len(data.y['test']) == n_test
  longest = max(len(c) for c in train_cases)  # Training and validation: the train file's.
  for split in common.SPLITS:
    n = len(data.y[split])
    width = t_max if split == 'test' else longest
    assert data.x[split].shape == (n, width, channels) and data.x[split].dtype == np.float32
    assert data.length[split].shape == (n,) and data.length[split].dtype == np.int32
    assert data.y[split].dtype == np.int32
  all_lengths = np.concatenate([data.length[s] for s in common.SPLITS])
  assert all_lengths.min() == t_min and all_lengths.max() == t_max
  np.testing.assert_array_equal(data.length['test'], [len(c) for c in test_cases])
  assert sorted(np.concatenate([data.length['train'], data.length['val']])) == sorted(
      len(c) for c in train_cases)
  # Class counts against the dumb parser, via the strings in `classes`.
  names = lambda split: collections.Counter(data.classes[i] for i in data.y[split])
  assert names('train') + names('val') == collections.Counter(train_labels)
  assert names('test') == collections.Counter(test_labels)
  info = json.loads(json.dumps(data.info))
  assert info['dataset'] == dataset and info['channels'] == channels
  assert (info['min_length'], info['max_length']) == (t_min, t_max)
  assert info['num']['train'] + info['num']['val'] == n_train
  assert info['num']['test'] == n_test
  assert info['class_counts']['test'] == dict(collections.Counter(test_labels))
  assert data.num_missing == 0


def test_dna_is_one_nucleotide_per_step():
  """StatLog's coding: A=100, C=010, G=001, T=000, so at most one indicator per step."""
  for split in ('train', 'test'):
    ts = classify.read_ts(classify.bundled_path('DNA', split))
    x = np.stack(ts.series)
    assert set(np.unique(x)) == {0.0, 1.0} and x.sum(-1).max() == 1
    assert ts.class_labels == ('ei', 'ie', 'n')
    for c in range(3):  # Every nucleotide occurs at every position somewhere.
      assert (x[..., c].sum(0) > 0).all()
    assert (x.sum(-1) == 0).sum(0).min() > 0
  data = classify.load(dataset='DNA')
  assert data.classes == ('ei', 'ie', 'n') and data.x['train'].shape[1:] == (60, 3)


def test_dna_sweep_end_to_end(tmp_path):
  """`--dataset=DNA` through the sweep: a tiny GRU learns at least the class prior."""
  from rnnjax.run import sweep  # Only this test trains.
  spec = sweep.SweepSpec(task='classify', dataset='DNA', pooling='mean', cell='gru',
                         hidden_size='4', batch_size='16', learning_rate='1e-2',
                         train_steps=40, eval_every=20, ensemble='single')
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert summary['data']['num'] == {'train': 1600, 'val': 400, 'test': 1186}
  assert summary['data']['classes'] == ['ei', 'ie', 'n']
  # The class prior alone scores a cross-entropy of about 1.02 (log 3 = 1.10).
  assert summary['best']['val']['ce'] < 1.05
  assert 0 < summary['best']['test']['accuracy'] <= 1


# --- stratified validation split ---------------------------------------------------------

@pytest.mark.parametrize('dataset', classify.DATASETS)
def test_validation_keeps_class_proportions(dataset):
  data = classify.load(dataset=dataset, val_size=0.25, seed=3)
  _, train_labels, _ = _dumb_parse(classify.bundled_path(dataset, 'train'))
  n = len(train_labels)
  n_val = len(data.y['val'])
  assert n_val == int(0.25 * n + 0.5)  # Halves round up.
  val = np.bincount(data.y['val'], minlength=len(data.classes))
  train = np.bincount(data.y['train'], minlength=len(data.classes))
  for c, label in enumerate(data.classes):
    share = n_val * train_labels.count(label) / n
    assert abs(val[c] - share) < 1
    assert train[c] >= 1


def test_split_is_seeded():
  a, b = classify.load(dataset='GunPoint', seed=1), classify.load(dataset='GunPoint', seed=1)
  c = classify.load(dataset='GunPoint', seed=2)
  np.testing.assert_array_equal(a.x['val'], b.x['val'])
  np.testing.assert_array_equal(a.y['val'], b.y['val'])
  assert not np.array_equal(a.x['val'], c.x['val'])
  y = np.repeat(np.arange(3), 10)
  splits = {seed: stratified.stratified_split(y, 0.3, seed)[1] for seed in range(5)}
  assert len({tuple(v) for v in splits.values()}) == 5
  np.testing.assert_array_equal(stratified.stratified_split(y, 0.3, 0)[1], splits[0])


def test_val_size_counts_singletons_and_limits():
  y = np.array([0, 0, 0, 0, 1, 2, 2, 0])
  train, val = stratified.stratified_split(y, 3, seed=0)
  assert len(val) == 3 and 4 in train  # Class 1 has one case: it stays in train.
  assert sorted(np.concatenate([train, val])) == list(range(8))
  assert np.bincount(y[train], minlength=3).min() >= 1
  assert len(stratified.stratified_split(y, 0.5, seed=0)[1]) == 4
  assert len(stratified.stratified_split(y, 0, seed=0)[1]) == 2  # 0: the default 20%.
  assert len(stratified.stratified_split(y, 4.0, seed=0)[1]) == 4
  with pytest.raises(InputError, match='--val_size: 6 validation cases .* at most 5'):
    stratified.stratified_split(y, 6, seed=0)
  for bad in (1.5, -1, 'x', True):
    with pytest.raises(InputError, match='--val_size'):
      stratified.stratified_split(y, bad, seed=0)
  data = classify.load(dataset='BasicMotions', val_size=12)
  assert len(data.y['val']) == 12 and list(np.bincount(data.y['val'])) == [3, 3, 3, 3]


# --- scaling and padding --------------------------------------------------------------------

def test_z_normalisation_and_padding():
  data = classify.load(dataset='JapaneseVowels', seed=0)
  _, labels, cases = _dumb_parse(classify.bundled_path('JapaneseVowels', 'train'))
  index = {label: i for i, label in enumerate(data.classes)}
  train_idx, _ = stratified.stratified_split(np.array([index[l] for l in labels]), 0.2, seed=0)
  steps = np.concatenate([cases[i] for i in train_idx])
  np.testing.assert_allclose(data.mean, steps.mean(0), rtol=1e-12)
  np.testing.assert_allclose(data.std, steps.std(0), rtol=1e-12)
  valid = lambda split: np.concatenate(
      [x[:n] for x, n in zip(data.x[split], data.length[split])]).astype(np.float64)
  np.testing.assert_allclose(valid('train').mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(valid('train').std(0), 1, atol=1e-5)
  assert abs(valid('test').mean()) > 1e-3  # Test statistics are not the fitted ones.
  for i, x in zip(train_idx, data.x['train']):
    np.testing.assert_allclose(x[:len(cases[i])] * data.std + data.mean, cases[i], atol=1e-5)
  for split in common.SPLITS:
    t = np.arange(data.x[split].shape[1])
    pad = t[None, :] >= data.length[split][:, None]
    assert pad.any()
    assert (data.x[split][pad] == 0).all()
    assert (np.abs(data.x[split][~pad]).sum(-1) > 0).all()


def test_constant_channel_scales_to_zero(tmp_path):
  rows = ['0.1,0.1,0.1:1,2,3:a', '0.1,0.1:4,5:b', '0.1,0.1,0.1:7,8,9:a', '0.1,0.1:0,1:b']
  path = _write(tmp_path, 'c.ts', HEADER + '\n'.join(rows) + '\n')
  data = classify.load(train_path=path, test_path=path, val_size=2)
  assert data.std[0] == 1 and data.mean[0] == 0.1
  for split in common.SPLITS:
    assert (data.x[split][..., 0] == 0).all()


# --- missing values and bad input -------------------------------------------------------------

def test_missing_values_are_interpolated_and_counted(tmp_path):
  rows = ['?,2,?,?,8,?:1,1,1,1,1,1:a', '1,2,3,4,5,6:?,?,3,4,?,10:b', '1,1:1,1:a', '0,0:0,0:b']
  path = _write(tmp_path, 'm.ts', HEADER + '\n'.join(rows) + '\n')
  ts = classify.read_ts(path)
  assert ts.num_missing == 7
  np.testing.assert_array_equal(ts.series[0][:, 0], [2, 2, 4, 6, 8, 8])
  np.testing.assert_array_equal(ts.series[1][:, 1], [3, 3, 3, 4, 7, 10])
  data = classify.load(train_path=path, test_path=path, val_size=1)
  assert data.num_missing == 14 and data.info['num_missing'] == 14
  assert np.isfinite(data.x['train']).all()
  empty = _write(tmp_path, 'e.ts', HEADER + '1,2:?,?:a\n')
  with pytest.raises(InputError, match=r'e.ts: line 6: dimension 2 has no values'):
    classify.read_ts(empty)


@pytest.mark.parametrize('body,message', [
    ('1,2:3,4:a\n1,x:3,4:b\n', r'line 7, dimension 1: \'x\' is not a number'),
    ('1,2:3,4:a\n1,,2:3,4,5:b\n', r'line 7, dimension 1: \'\' is not a number'),
    ('1,2:3,4:a\n1,2:3:b\n', r'line 7: dimension 2 has 1 values, dimension 1 has 2'),
    ('1,2:3,4:a\n1,2:b\n', r'line 7: 1 dimensions, header says 2'),
    ('1,2:3,4:c\n', r'line 6: label \'c\' is not in @classLabel a b'),
    ('1,2:3,4:\n', r'line 6: expected dim_1:...:dim_C:label'),
    ('1,inf:3,4:a\n', r'line 6, dimension 1: \'inf\' is not finite'),
    ('', r'no cases'),
])
def test_malformed_lines_name_file_and_line(tmp_path, body, message):
  path = _write(tmp_path, 'bad.ts', HEADER + body)
  with pytest.raises(InputError, match='bad.ts: ' + message):
    classify.read_ts(path)


@pytest.mark.parametrize('text,message', [
    ('', 'empty file'),
    ('\n  \n', 'empty file'),
    ('# only a comment\n@problemName X\n', r'no cases \(no @data line\)'),
    ('1,2:a\n@data\n', 'line 1: data before @data'),
    ('@timeStamps true\n@data\n(0,1):a\n', '@timeStamps true is not supported'),
    ('@classLabel false\n@data\n1,2\n', 'classification needs labelled cases'),
    ('@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n',
     'line 5: 2 values per dimension, @seriesLength is 3'),
])
def test_bad_files(tmp_path, text, message):
  with pytest.raises(InputError, match=message):
    classify.read_ts(_write(tmp_path, 'f.ts', text))


def test_bad_paths_and_flags(tmp_path):
  with pytest.raises(InputError, match='no such file'):
    classify.read_ts(str(tmp_path / 'nope.ts'))
  with pytest.raises(InputError, match='is a directory'):
    classify.read_ts(str(tmp_path))
  (tmp_path / 'latin.ts').write_bytes(b'@data\n1:\xe9\n')
  with pytest.raises(InputError, match='not UTF-8'):
    classify.read_ts(str(tmp_path / 'latin.ts'))
  with pytest.raises(InputError, match='--dataset: unknown .* bundled: ItalyPowerDemand, GunPoint'):
    classify.load(dataset='Wafer')
  with pytest.raises(InputError, match='--dataset: name a bundled dataset'):
    classify.load()
  good = _write(tmp_path, 'good.ts', HEADER + '1,2:3,4:a\n1:2:b\n1:2:a\n')
  with pytest.raises(InputError, match='--test_path: required'):
    classify.load(train_path=good)
  with pytest.raises(InputError, match='--train_path: required'):
    classify.load(test_path=good)
  with pytest.raises(InputError, match='^--test_path: .*missing.ts: no such file$'):
    classify.load(train_path=good, test_path=str(tmp_path / 'missing.ts'))
  unseen = _write(tmp_path, 'unseen.ts', '@classLabel true a z\n@data\n1:2:z\n')
  with pytest.raises(InputError, match=r"^--test_path: .*unseen.ts: labels \['z'\] never occur in the training"):
    classify.load(train_path=good, test_path=unseen)
  one = _write(tmp_path, 'one.ts', '@classLabel true a b\n@data\n1,2:1,2:a\n3,4:5,6:a\n')
  with pytest.raises(InputError, match=r"^--train_path: .*one.ts: every case is labelled 'a': classification "
                     'needs at least 2 classes$'):
    classify.load(train_path=one, test_path=one)
  narrow = _write(tmp_path, 'narrow.ts', '@classLabel true a b\n@data\n1,2:a\n')
  with pytest.raises(InputError, match='^--test_path: .*narrow.ts: 1 channels per case, the training file has 2'):
    classify.load(train_path=good, test_path=narrow)


# --- a user's own files, and the baselines ----------------------------------------------------

def test_users_files_variable_length_and_sorted_labels(tmp_path):
  rows = ['1,2,3:10', '5,6:2', '1,2,3,4:10', '6,7:2', '2,3:1', '3,4,5:10', '6:2']
  train = _write(tmp_path, 'tr.ts', '@classLabel true\n@data\n' + '\n'.join(rows) + '\n')
  test = _write(tmp_path, 'te.ts', '@data\n1,2,3,5:10\n6,6:2\n2:1\n')
  data = classify.load(dataset='GunPoint', train_path=train, test_path=test, val_size=2, seed=0)
  assert data.classes == ('1', '2', '10')  # Numeric labels sort as numbers.
  # Labels equal in value but not in writing, in any order (a set's): by their text.
  for given in (['1', '01', '2', '1.0'], ['1.0', '2', '01', '1'], ['2', '1', '1.0', '01']):
    assert ts_file.sort_labels(given) == ('01', '1', '1.0', '2')
  assert data.info['dataset'] == 'tr' and data.info['files'] == {'train': train, 'test': test}
  assert data.x['train'].shape[1:] == (4, 1) and data.info['min_length'] == 1
  assert list(data.y['test']) == [2, 1, 0]
  np.testing.assert_array_equal(data.length['test'], [4, 2, 1])
  assert sorted(np.bincount(data.y['val'], minlength=3)) == [0, 1, 1]
  steps = np.concatenate([data.x['train'][i, :n] for i, n in enumerate(data.length['train'])])
  np.testing.assert_allclose(data.x['test'][0, :, 0] * data.std + data.mean, [1, 2, 3, 5])
  assert abs(steps.mean()) < 1e-6
  # Validation holds one '2' and one '10' (the single '1' stays in train) and the test
  # file one case of each class, so predicting any one class of the two scores 1/2 and
  # 1/3, balanced too (each class present weighs alike).
  assert data.baselines['majority'] == {
      'val': {'accuracy': 0.5, 'balanced_accuracy': 0.5},
      'test': {'accuracy': pytest.approx(1 / 3), 'balanced_accuracy': pytest.approx(1 / 3)}}


def test_resample():
  ramp = np.stack([np.arange(5.0), 10 - 2 * np.arange(5.0)], 1)
  np.testing.assert_allclose(classify.resample(ramp, 9), np.stack(
      [np.arange(9) / 2, 10 - np.arange(9.0)], 1))
  np.testing.assert_array_equal(classify.resample(np.array([[3.0]]), 4), [[3.0]] * 4)


def test_the_confusion_counts_each_case_once_by_its_true_and_predicted_class():
  y, predicted = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
  assert classify.confusion(predicted, y, 4) == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0],
                                                 [0, 0, 0, 0]]
  rng = np.random.default_rng(0)
  y, predicted = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
  counts = np.array(classify.confusion(predicted, y, 5))
  for i in range(5):
    for j in range(5):
      assert counts[i, j] == sum(a == i and b == j for a, b in zip(y, predicted))


@pytest.mark.parametrize('dataset', ['ItalyPowerDemand', 'JapaneseVowels'])
def test_baselines_against_brute_force(dataset):
  data = classify.load(dataset=dataset, seed=5)
  t_max = data.x['train'].shape[1]
  def features(split):  # Each case stretched to t_max steps, one channel at a time.
    out = []
    for x, n in zip(data.x[split], data.length[split]):
      grid = np.linspace(0, n - 1, t_max)
      out.append(np.stack([np.interp(grid, np.arange(n), x[:n, c].astype(np.float64))
                           for c in range(x.shape[1])], 1))
    return out
  train = features('train')
  counts = collections.Counter(data.y['train'].tolist())
  majority = max(sorted(counts), key=counts.get)
  for split in ('val', 'test'):
    pred = [data.y['train'][np.argmin([((q - r) ** 2).sum() for r in train])]
            for q in features(split)]
    np.testing.assert_allclose(data.baselines['1nn_euclidean'][split]['accuracy'],
                               np.mean(np.array(pred) == data.y[split]), atol=1e-9)
    assert data.baselines['majority'][split]['accuracy'] == np.mean(
        data.y[split] == majority)
    recall = [np.mean(data.y[split][data.y[split] == k] == majority)
              for k in set(data.y[split].tolist())]
    np.testing.assert_allclose(data.baselines['majority'][split]['balanced_accuracy'],
                               np.mean(recall))


@pytest.mark.parametrize('dataset,accuracy', [
    ('ItalyPowerDemand', 0.955), ('GunPoint', 0.913), ('ArrowHead', 0.800)])
def test_1nn_on_whole_training_file_matches_published(dataset, accuracy):
  """The UCR archive's 1-NN Euclidean test accuracy, using every training case."""
  train, test = (classify.read_ts(classify.bundled_path(dataset, s)) for s in ('train', 'test'))
  flat = lambda ts: np.stack([s.ravel() for s in ts.series])
  pred = classify.nearest_neighbour(flat(train), np.array(train.labels), flat(test))
  assert round(float(np.mean(pred == np.array(test.labels))), 3) == accuracy


def test_unlabelled_cases_without_a_class_label_line(tmp_path):
  """A file of cases without labels and without an @classLabel line: read with
  unlabelled_default; without it, the error says how (not only that a label is missing)."""
  path = tmp_path / 'cases.ts'
  path.write_text('@problemName toy\n@univariate true\n@equalLength false\n@data\n'
                  '1,2,3\n2,3,4,5\n')
  read = ts_file.read_ts(str(path), labelled=False, unlabelled_default=True)
  assert [len(s) for s in read.series] == [3, 4] and read.labels == [None, None]
  with pytest.raises(InputError, match=r"line 5: expected dim_1:...:dim_C:label \(no "
                                       r"@classLabel line: .* add '@classLabel false', "
                                       r'or pass unlabelled_default=True\)$'):
    ts_file.read_ts(str(path), labelled=False)


def test_the_test_files_lengths_do_not_change_the_training_and_validation_arrays(tmp_path):
  """Cases pad to the training file's longest: a test case three times longer changes
  only the test part's width, so the program that trains and validates (and, through
  float rounding, what validation chooses) is the same."""
  rng = np.random.default_rng(0)
  case = lambda n, label: ':'.join(','.join(f'{v:.3f}' for v in rng.normal(size=n))
                                   for _ in range(2)) + f':{label}\n'
  train = _write(tmp_path, 'train.ts', HEADER + ''.join(
      case(int(n), 'ab'[k % 2]) for k, n in enumerate(rng.integers(5, 9, 12))))
  short = _write(tmp_path, 'short.ts', HEADER + case(6, 'a') + case(7, 'b'))
  long = _write(tmp_path, 'long.ts', HEADER + case(24, 'a') + case(7, 'b'))
  a, b = (classify.load(train_path=train, test_path=t) for t in (short, long))
  longest = max(a.length['train'].max(), a.length['val'].max())
  for split in ('train', 'val'):
    np.testing.assert_array_equal(a.x[split], b.x[split])
    assert a.x[split].shape[1] == longest
  assert b.x['test'].shape[1] == 24 and a.x['test'].shape[1] == longest


def test_unlabelled_cases_read_as_labelled_say_why_a_dimension_is_missing(tmp_path):
  """Without a @classLabel line a case's last field is its label: three unlabelled
  dimensions read as two and a label; the error says so and what to do."""
  path = _write(tmp_path, 'new.ts', '@problemName X\n@dimensions 3\n@data\n1,2:3,4:5,6\n')
  with pytest.raises(InputError, match=r'2 dimensions, header says 3 \(no @classLabel line: '
                     r'.*unlabelled_default=True\)$'):
    classify.read_ts(path, labelled=False)
  assert classify.read_ts(path, labelled=False, unlabelled_default=True).labels == [None]
  # A labelled file's header kept above unlabelled cases: the error says to change it.
  path = _write(tmp_path, 'kept.ts', '@problemName X\n@dimensions 1\n@classLabel true a b\n'
                '@data\n1,2,3\n')
  with pytest.raises(InputError, match=r'line 5: expected dim_1:\.\.\.:dim_C:label \(its '
                     r"@classLabel line says cases are labelled, each case's last field its "
                     r"label; for cases without labels write '@classLabel false'\)$"):
    classify.read_ts(path, labelled=False)
  with pytest.raises(InputError, match=r'line 5: expected dim_1:\.\.\.:dim_C:label$'):
    classify.read_ts(path)  # A training file: labels are expected, no hint.


def test_the_filled_note_counts_each_files_missing_values(tmp_path):
  from rnnjax.data import task_data  # pylint: disable=g-import-not-at-top
  train = _write(tmp_path, 'tr.ts', HEADER + ''.join(f'1,?,3:4,5,6:{"ab"[i % 2]}\n'
                                                     for i in range(10)))
  test = _write(tmp_path, 'te.ts', HEADER + '1,2,3:4,?,6:a\n')
  assert task_data.load(task='classify', train_path=train, test_path=test).notes[0] == (
      'filled 11 missing values by linear interpolation (10 in the training file, 1 in the '
      'test file)')


def test_a_declared_class_without_a_training_case_is_noted(tmp_path):
  from rnnjax.data import task_data  # pylint: disable=g-import-not-at-top
  header = HEADER.replace('@classLabel true a b', '@classLabel true a b c')
  train = _write(tmp_path, 'tr.ts', header + ''.join(f'1,2,3:4,5,6:{"ab"[i % 2]}\n'
                                                     for i in range(10)))
  test = _write(tmp_path, 'te.ts', header + '1,2,3:4,5,6:a\n')
  notes = task_data.load(task='classify', train_path=train, test_path=test).notes
  assert notes == ("note: class(es) 'c' of the training file's @classLabel line have no "
                   'case in it: the model never learns them (their probabilities are '
                   'trained towards 0)',)
