"""Long CSVs of classification cases (data/cases/long_csv.py): a CSV written from a
bundled `.ts` set reads and prepares bit for bit as the `.ts` file does, and a sweep on
it ends with the same figures; cases of several lengths and channels, ordered by a time
column, with gaps; each refusal is one line naming the flag or the file."""

import csv
import json

import numpy as np
import pytest

from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.data.cases import long_csv
from rnnjax.errors import InputError
from rnnjax.run import sweep
from rnnjax.search import rules


def write_cases(path, ts, prefix, *, time=False, shuffle=None, drop_label=False):
  """A long CSV of a TsFile's cases: case, [t,] c0..c{C-1}, label (a row per step; with
  `shuffle`, a Generator, each case's rows in a random order, which `time` puts back;
  the cases stay in order)."""
  rows = []
  for i, (s, label) in enumerate(zip(ts.series, ts.labels)):
    case = [[f'{prefix}{i}'] + ([t] if time else []) + [repr(float(v)) for v in step]
            + ([] if drop_label else [label]) for t, step in enumerate(s)]
    if shuffle is not None:
      case = [case[k] for k in shuffle.permutation(len(case))]
    rows += case
  channels = ts.series[0].shape[1]
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['case'] + ['t'] * time + [f'c{j}' for j in range(channels)]
                    + ['label'] * (not drop_label))
    writer.writerows(rows)
  return str(path)


def bundled_csv(tmp_path, dataset, **kw):
  return tuple(write_cases(tmp_path / f'{dataset}_{split}.csv', classify.read_ts(
      classify.bundled_path(dataset, split)), split[:2], **kw) for split in ('train', 'test'))


CSV = dict(id_column='case', target_columns=('label',))


def assert_same_data(a, b):
  for split in common.SPLITS:
    for name in ('x', 'length', 'y'):
      got, want = getattr(b, name)[split], getattr(a, name)[split]
      assert got.dtype == want.dtype and np.array_equal(got, want), (split, name)
  assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
  assert a.classes == b.classes and a.baselines == b.baselines


@pytest.mark.parametrize('kw', [{}, {'time': True}], ids=['file order', 'time column'])
def test_a_csv_of_a_bundled_set_prepares_bit_for_bit_as_its_ts_file(tmp_path, kw):
  if kw:  # Rows shuffled: the time column orders each case's rows again.
    kw = dict(kw, shuffle=np.random.default_rng(0))
  train, test = bundled_csv(tmp_path, 'ItalyPowerDemand', **kw)
  ts = classify.read_ts(classify.bundled_path('ItalyPowerDemand', 'train'))
  read = long_csv.read_long_csv(train, id_column='case', target_column='label',
                                time_column='t' if kw else '')
  assert read.labels == ts.labels and read.class_labels == ts.class_labels == ('1', '2')
  assert all(np.array_equal(a, b) for a, b in zip(read.series, ts.series))
  assert read.channels == ('c0',) and read.ids[:2] == ('tr0', 'tr1')
  want = classify.load(dataset='ItalyPowerDemand', seed=3, fold=1, folds=2)
  got = classify.load(train_path=train, test_path=test, seed=3, fold=1, folds=2, **CSV,
                      time_column='t' if kw else '')
  assert_same_data(want, got)
  assert got.info['columns'] == {'id_column': 'case', 'time_column': 't' if kw else '',
                                 'target_column': 'label', 'input_columns': ['c0']}


def test_a_sweep_on_the_csv_ends_with_the_ts_files_figures(tmp_path):
  train, test = bundled_csv(tmp_path, 'ItalyPowerDemand')
  spec = sweep.SweepSpec(task='classify', dataset='ItalyPowerDemand', cell='gru',
                         hidden_size='4', batch_size='8', learning_rate='grid(1e-2,3e-2)',
                         train_steps=6, eval_every=3)
  lines = []
  ts = sweep.run_sweep(spec, str(tmp_path / 'ts'), log=lambda _: None)
  mine = sweep.SweepSpec(**{**spec.to_json(), 'train_path': train, 'test_path': test,
                            'id_column': 'case', 'target_columns': ('label',)})
  got = sweep.run_sweep(mine, str(tmp_path / 'csv'), log=lines.append)
  assert got['final']['test'] == ts['final']['test'] and got['best'] == ts['best']
  read = lambda name: [json.loads(l) for l in open(tmp_path / name / 'metrics.jsonl')]
  assert read('csv') == read('ts')
  assert any(l.startswith(f'note: channels read from {train}: c0 (every column but '
                          'case, label; --input_columns chooses)') for l in lines)


def test_cases_of_several_lengths_and_channels_with_gaps(tmp_path):
  ts = classify.read_ts(classify.bundled_path('JapaneseVowels', 'train'))
  few = type(ts)(series=ts.series[::30], labels=ts.labels[::30], class_labels=(),
                 name='', num_missing=0)
  path = write_cases(tmp_path / 'jv.csv', few, 'c', time=True,
                     shuffle=np.random.default_rng(1))
  read = long_csv.read_long_csv(path, id_column='case', target_column='label',
                                time_column='t', input_columns=('c3', 'c0'))
  assert {len(s) for s in read.series} == {len(s) for s in few.series} and len(
      {len(s) for s in read.series}) > 3
  assert read.channels == ('c3', 'c0') and read.num_missing == 0
  by_id = dict(zip(read.ids, read.series))
  assert all(np.array_equal(by_id[f'c{i}'], s[:, [3, 0]]) for i, s in enumerate(few.series))
  # Empty cells are gaps, filled within their channel as a .ts file's `?` are.
  rows = list(csv.reader(open(path)))
  holes = [r for r in range(1, len(rows)) if rows[r][0] == 'c0'][1:3]
  for r in holes:
    rows[r][2] = ''
  with open(path, 'w', newline='') as f:
    csv.writer(f).writerows(rows)
  gappy = long_csv.read_long_csv(path, id_column='case', target_column='label',
                                 time_column='t', input_columns=('c0',))
  raw = few.series[0][:, :1].copy()
  raw[[int(rows[r][1]) for r in holes]] = np.nan
  assert gappy.num_missing == 2
  assert np.array_equal(gappy.series[gappy.ids.index('c0')],
                        gap_fill.fill_gaps(raw, ['c0'], 'here'))


def _file(path, text):
  path.write_text(text)
  return str(path)


GOOD = 'case,t,a,b,label\nc1,1,1,2,x\nc1,2,2,3,x\nc2,1,3,1,y\nc2,2,1,1,y\nc3,1,0,1,x\n'
TEST = 'case,t,a,b,label\nd1,1,1,2,x\nd2,1,2,2,y\n'


@pytest.mark.parametrize('train, test, kw, message', [
    (GOOD, TEST, {'id_column': ''}, r'^--id_column: required for a CSV --train_path'),
    (GOOD, TEST, {'target_columns': ()}, r'^--target_columns: required for a CSV'),
    (GOOD, TEST, {'target_columns': ('label', 'b')}, r'^--target_columns: a case has one '),
    (GOOD.replace('c1,2,2,3,x', 'c1,2,2,3,y'), TEST, {},
     r"TRAIN.csv: line 3: case 'c1' is labelled 'y', on line 2 'x'; a case has one label"),
    (GOOD.replace('c1,2,2,3', 'c1,2,two,3'), TEST, {},
     r"TRAIN.csv: line 3, column 'a': 'two' is not a number \(every column but the case, "
     r'time and label columns is read as a channel: --input_columns names the channels, '
     r'--time_column a column of times\)$'),
    (GOOD.replace('c1,2,2,3', 'c1,2,two,3'), TEST, {'input_columns': ('a', 'b')},
     r"TRAIN.csv: line 3, column 'a': 'two' is not a number$"),
    (GOOD, TEST.replace('d2,1,2', 'd2,1,inf'), {},
     r"TEST.csv: line 3, column 'a': 'inf' is not finite"),
    (GOOD, 'case,t,a,b\nd1,1,1,2\n', {},
     r"^--target_columns: .*TEST.csv has no column 'label'; columns are"),
    (GOOD, 'case,t,a,label\nd1,1,1,x\n', {},
     r"^--test_path: .*TEST.csv has no column 'b' \(a channel of --train_path\)"),
    (GOOD.replace('c2,2,1,1,y', 'c2,1,1,1,y'), TEST, {'time_column': 't'},
     r"TRAIN.csv: case 'c2': line 4 and line 5 are both at 't' '1'"),
    (GOOD.replace('c2,2,1', 'c2,soon,1'), TEST, {'time_column': 't'},
     r"case 'c2': line 5: 't' 'soon' is neither a number nor an ISO date"),
    (GOOD.replace('c2,1,3', 'c2,2024-01-02,3').replace('c2,2,1', 'c2,2024-01-01,1'), TEST,
     {'time_column': 't'}, None),
    (GOOD.replace('c2,2,1,1,y', ',2,1,1,y'), TEST, {}, r"TRAIN.csv: line 5: empty --id_column"),
    (GOOD.replace('c2,2,1,1,y', 'c2,2,1,1,'), TEST, {},
     r"TRAIN.csv: line 5: empty --target_columns 'label'"),
    (GOOD.replace('c3,1,0', 'c3,1,'), TEST, {}, r"TRAIN.csv: case 'c3': column 'a' has no values"),
    (GOOD, TEST, {'input_columns': ('a', 'case')}, r"^--input_columns: 'case' is also "
     r'--id_column; a column has one role'),
    (GOOD, TEST, {'input_columns': ('z',)}, r"^--input_columns: .*TRAIN.csv has no column 'z'"),
    ('case,label\nc1,x\n', TEST, {'time_column': ''},
     r'^--input_columns: .*has no column besides'),
    (GOOD.replace('c2,2,1', 'c2,2024-01-02,1'), TEST, {'time_column': 't'},
     r"case 'c2': line 4: 't' '1' is a number among dates"),
    # Two channels of one name would both read the first of them.
    (GOOD.replace('case,t,a,b,', 'case,t,a,a,'), TEST.replace('t,a,b', 't,a,a'), {},
     r"^--train_path: .*TRAIN.csv: its header names column 'a' 2 times \(columns 3, 4\): "
     r'rename all but one$'),
])
def test_bad_csvs_are_refused_in_one_line(tmp_path, train, test, kw, message):
  paths = {'train_path': _file(tmp_path / 'TRAIN.csv', train),
           'test_path': _file(tmp_path / 'TEST.csv', test)}
  if message is None:  # Dates order the rows too.
    read = long_csv.read_long_csv(paths['train_path'], id_column='case',
                                  target_column='label', time_column='t')
    assert np.array_equal(read.series[1], [[1, 1], [3, 1]])
    return
  with pytest.raises(InputError, match=message) as e:
    classify.load(**{**CSV, 'time_column': 't', **paths, **kw})
  assert '\n' not in str(e.value)


def test_the_extension_or_the_content_tells_a_csv_from_a_ts_file(tmp_path):
  ts_text = open(classify.bundled_path('ItalyPowerDemand', 'train')).read()
  ts, csv_path = _file(tmp_path / 'a.txt', ts_text), _file(tmp_path / 'b.txt', GOOD)
  assert not long_csv.is_csv(ts, '--train_path') and long_csv.is_csv(csv_path, '--x')
  bundled = classify.bundled_path('ItalyPowerDemand', 'test')
  with pytest.raises(InputError, match=r'^--id_column: .*a.txt is a .ts file, which has '
                     'no columns; leave it out'):
    classify.load(train_path=ts, test_path=bundled, id_column='case')
  with pytest.raises(InputError, match=r'^--test_path: .* is a .ts file, --train_path a '
                     'CSV; give both files in one format'):
    classify.load(train_path=csv_path, test_path=bundled, **CSV)
  with pytest.raises(InputError, match=r'^--id_column: names a column of a CSV '
                     '--train_path and --test_path; the bundled GunPoint is a .ts file'):
    classify.load(dataset='GunPoint', id_column='case')
  ok = classify.load(train_path=csv_path, test_path=_file(tmp_path / 'c', TEST), **CSV,
                     val_size=1)
  assert ok.classes == ('x', 'y') and ok.info['columns']['input_columns'] == ['t', 'a', 'b']


def test_a_file_without_extension_opening_with_a_comment_is_told_by_what_follows(tmp_path):
  # A .ts file's `#` comments come before its `@` header: read as a .ts file. A `#` line
  # that no `@` line follows is no CSV header: refused in one line naming the flag, not
  # read as the CSV's columns ("has no column 'case'; columns are ['# cases']").
  ts_text = open(classify.bundled_path('ItalyPowerDemand', 'train')).read()
  assert ts_text.startswith('#')
  ts = _file(tmp_path / 'italy_train', ts_text)
  assert not long_csv.is_csv(ts, '--train_path')
  commented = _file(tmp_path / 'cases', '# cases exported on Monday\n' + GOOD)
  with pytest.raises(InputError, match=r"^--train_path: .*cases: opens with '#' lines that "
                     r"no @ header line follows .* remove the '#' lines") as e:
    classify.load(train_path=commented, test_path=_file(tmp_path / 'c', TEST), **CSV)
  assert '\n' not in str(e.value)
  # Named .csv, its first line is its header, as before.
  assert long_csv.is_csv(_file(tmp_path / 'cases.csv', '# cases\n' + GOOD), '--train_path')


def test_a_classify_sweep_takes_the_csv_column_flags():
  spec = sweep.SweepSpec(task='classify', train_path='T.csv', test_path='U.csv',
                         id_column='case', time_column='t', target_columns=('label',),
                         input_columns=('a',))
  assert rules.check(spec) is None
  with pytest.raises(InputError, match='^--id_column: a long CSV of many series is a panel'):
    rules.check(sweep.SweepSpec(task='forecast', id_column='case'))


def test_each_file_numbers_its_own_cases(tmp_path):
  """Train and test files that each number their cases from the same ids (as a split
  array written out per file is) are two sets of cases, not refused as one."""
  paths = {'train_path': _file(tmp_path / 'TRAIN.csv', GOOD),
           'test_path': _file(tmp_path / 'TEST.csv', TEST.replace('d1', 'c1').replace('d2', 'c2'))}
  data = classify.load(**{**CSV, 'time_column': 't', **paths})
  assert len(data.y['test']) == 2 and data.x['test'].shape[0] == 2

