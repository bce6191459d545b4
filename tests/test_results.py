"""Tests for rnnjax/results/files.py: the work directory's names, the atomic write, JSON
and the metrics table (read back by evaluations.read_metrics)."""

import json
import math
import os
import shutil
import subprocess

import numpy as np
import pytest

from rnnjax import errors
from rnnjax import results
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import summary_file


def test_write_json_round_trip_and_no_temp_file(tmp_path):
  path = str(tmp_path / files.SUMMARY)
  obj = {'a': 1, 'b': [1.5, 'x', None], 'nested': {'c': (2, 3)}}
  files.write_json(path, obj)
  assert os.listdir(tmp_path) == [files.SUMMARY]
  assert files.read_json(path) == {'a': 1, 'b': [1.5, 'x', None], 'nested': {'c': [2, 3]}}


def test_write_json_non_finite_as_null(tmp_path):
  path = str(tmp_path / 'out.json')
  files.write_json(path, {'nan': float('nan'), 'inf': [float('inf'), -math.inf, 1.0],
                            'np_nan': np.float32('nan'), 'np_val': np.float64(0.25),
                            'np_int': np.int64(3)})
  text = open(path).read()
  assert 'NaN' not in text and 'Infinity' not in text
  assert json.loads(text) == {'nan': None, 'inf': [None, None, 1.0], 'np_nan': None,
                              'np_val': 0.25, 'np_int': 3}
  assert type(json.loads(text)['np_int']) is int


def test_float32_scores_are_written_as_their_shortest_decimal(tmp_path):
  path = str(tmp_path / 'out.json')
  accuracy = np.float32(14 / 15)
  values = {'np': accuracy, 'widened': float(accuracy), 'rmse': [float(np.float32(3744.38))],
            'lr': 0.001, 'sum': 0.1 + 0.2, 'tiny': float(np.float32(1e-8)), 'zero': 0.0}
  files.write_json(path, values, short=True)
  text = open(path).read()
  assert '0.93333334' in text and '0.933333396' not in text and '3744.38' in text
  back = json.loads(text)
  # Float64 values that are not float32 ones are kept whole.
  assert back['lr'] == 0.001 and back['sum'] == 0.1 + 0.2 and back['tiny'] == 1e-8
  for got, want in [(back['np'], accuracy), (back['widened'], accuracy),
                    (back['rmse'][0], np.float32(3744.38))]:
    assert np.float32(got) == want  # The same float32 bits read back.
  # Without `short` (a model's manifest: its scaling statistics) every float is whole,
  # also a float64 that happens to be a float32.
  files.write_json(path, {'mean': 262.5078125, 'acc': float(accuracy)})
  assert files.read_json(path) == {'mean': 262.5078125, 'acc': float(accuracy)}
  array = np.asarray([float(accuracy), 0.1, np.nan, -float(np.float32(2.7)), 0.0])
  assert files.short_floats(array)[:2] == [0.93333334, 0.1]
  assert math.isnan(files.short_floats(array)[2])
  assert files.short_floats(array)[3:] == [-2.7, 0.0]


def test_write_json_replaces_existing(tmp_path):
  path = str(tmp_path / 'out.json')
  files.write_json(path, {'v': 1})
  files.write_json(path, {'v': 2})
  assert files.read_json(path) == {'v': 2}
  assert os.listdir(tmp_path) == ['out.json']


def test_write_json_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
  path = str(tmp_path / 'out.json')
  files.write_json(path, {'v': 1})
  with pytest.raises(TypeError):
    files.write_json(path, {'v': object()})  # Not JSON: fails halfway through.
  assert files.read_json(path) == {'v': 1}
  assert os.listdir(tmp_path) == ['out.json']


def test_metrics_writer_round_trip(tmp_path):
  path = str(tmp_path / files.METRICS)
  writer = files.MetricsWriter(path)
  writer.write(files.records(uid=0, bucket=1, step=10, split='train',
               metrics={'loss': np.float32(0.5), 'rmse': 2.0}))
  writer.write(files.records(uid=3, bucket=0, step=10, split='val', metrics={'loss': float('nan')}))
  writer.flush()
  assert len(evaluations.read_metrics(path)) == 3  # Readable after a flush, before close.
  writer.write(files.records(uid=3, bucket=0, step=20, split='val', metrics={'loss': np.inf}))
  writer.close()
  assert evaluations.read_metrics(path) == [
      {'uid': 0, 'bucket': 1, 'step': 10, 'split': 'train', 'metric': 'loss', 'value': 0.5},
      {'uid': 0, 'bucket': 1, 'step': 10, 'split': 'train', 'metric': 'rmse', 'value': 2.0},
      {'uid': 3, 'bucket': 0, 'step': 10, 'split': 'val', 'metric': 'loss', 'value': None},
      {'uid': 3, 'bucket': 0, 'step': 20, 'split': 'val', 'metric': 'loss', 'value': None},
  ]
  assert 'NaN' not in open(path).read()


def test_metrics_writer_appends(tmp_path):
  path = str(tmp_path / files.METRICS)
  for step in (1, 2):
    writer = files.MetricsWriter(path)
    writer.write(files.records(uid=0, bucket=0, step=step, split='train', metrics={'loss': 1.0 / step}))
    writer.close()
  assert [(r['step'], r['value']) for r in evaluations.read_metrics(path)] == [(1, 1.0), (2, 0.5)]


def test_read_metrics_takes_the_work_directory(tmp_path):
  """As read_summary does: the work directory, or its metrics.jsonl."""
  writer = files.MetricsWriter(str(tmp_path / files.METRICS))
  writer.write(files.records(uid=0, bucket=0, step=2, split='val', metrics={'mse': 1.5}))
  writer.close()
  want = [{'uid': 0, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse',
           'value': 1.5}]
  assert evaluations.read_metrics(str(tmp_path)) == want
  assert evaluations.read_metrics(str(tmp_path / files.METRICS)) == want
  os.mkdir(tmp_path / 'empty')
  with pytest.raises(FileNotFoundError, match='metrics.jsonl'):
    evaluations.read_metrics(str(tmp_path / 'empty'))


def test_read_metrics_of_a_work_directory_with_chunk_files_alone(tmp_path):
  """A large sweep's evaluations are in WORKDIR/metrics/*.npz (evaluations.py); its
  metrics.jsonl holds only searcher decisions, and may be absent from a copy."""
  evaluations.write(str(tmp_path), 0, evaluations.Evaluation(
      0, np.array([0, 1]), np.array([2, 2]), {'val/mse': np.array([1.5, 2.5])}))
  want = [{'uid': 0, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse', 'value': 1.5},
          {'uid': 1, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse', 'value': 2.5}]
  assert evaluations.read_metrics(str(tmp_path)) == want
  open(tmp_path / files.METRICS, 'w', encoding='utf-8').close()
  assert evaluations.read_metrics(str(tmp_path)) == want


def test_the_readers_are_results_faces():
  assert results.read_metrics is evaluations.read_metrics
  assert results.read_summary is summary_file.read_summary


def test_atomic_replaces_a_file_whole_and_leaves_nothing_behind(tmp_path):
  path = str(tmp_path / 'out.bin')
  for data in (b'first', b'second'):
    with files.atomic(path) as tmp:
      assert not os.path.exists(tmp) and os.path.dirname(tmp) == str(tmp_path)
      assert os.path.basename(tmp).startswith(files.TEMPORARY)
      with open(tmp, 'wb') as f:
        f.write(data)
      # Not there before the block ends.
      assert not os.path.exists(path) or open(path, 'rb').read() != data
  assert open(path, 'rb').read() == b'second' and os.listdir(tmp_path) == ['out.bin']
  with pytest.raises(ZeroDivisionError):
    with files.atomic(path) as tmp:
      with open(tmp, 'wb') as f:
        f.write(b'half')
      _ = 1 / 0
  assert open(path, 'rb').read() == b'second' and os.listdir(tmp_path) == ['out.bin']


def test_atomic_replaces_a_directory_whole(tmp_path):
  path = str(tmp_path / 'model')
  for names in (['a', 'b'], ['c']):
    with files.atomic(path) as tmp:
      os.makedirs(tmp)
      for name in names:
        open(os.path.join(tmp, name), 'w', encoding='utf-8').close()
    assert sorted(os.listdir(path)) == names
  assert os.listdir(tmp_path) == ['model']
  with pytest.raises(ValueError):
    with files.atomic(path) as tmp:
      os.makedirs(tmp)
      raise ValueError('failed halfway')
  assert os.listdir(path) == ['c'] and os.listdir(tmp_path) == ['model']


def test_atomic_storage_failure_is_one_line_naming_the_file(tmp_path):
  path = str(tmp_path / 'gone' / files.SUMMARY)
  with pytest.raises(errors.WriteError, match=r'could not write .*summary\.json'):
    files.write_json(path, {'v': 1})


def test_the_work_directorys_names_are_files_names():
  """Modules that still spell a name of the work directory themselves (below results, or
  not yet using the table) spell it as files does."""
  from rnnjax.final.saved import model_files  # pylint: disable=g-import-not-at-top
  from rnnjax.run import checkpoint  # pylint: disable=g-import-not-at-top
  from rnnjax.run import lock  # pylint: disable=g-import-not-at-top
  from rnnjax.search.strategies import tpe  # pylint: disable=g-import-not-at-top
  import rnnjax.figures  # pylint: disable=g-import-not-at-top
  assert (tpe.JOURNAL, lock.FILENAME, checkpoint.DIRNAME, model_files.DIRNAME,
          rnnjax.figures.FIGURES_DIR) == (files.TPE_JOURNAL, files.LOCK, files.CHECKPOINTS,
                                          files.MODEL, files.FIGURES)
  assert len(set(files.OWN_ENTRIES)) == len(files.OWN_ENTRIES)
  assert files.LOCK not in files.OWN_ENTRIES  # A held lock outlives clearing.


@pytest.mark.skipif(shutil.which('git') is None, reason='needs git')
def test_descends_from_asks_the_checkout_the_package_lies_in(tmp_path, monkeypatch):
  """True where the commit holds the ancestor, False where it does not, None where the
  package's directory cannot tell (not a checkout, a commit it does not know, none)."""
  def git(*args):
    return subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t', *args],
                          cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
  repo = tmp_path / 'checkout'
  (repo / 'rnnjax' / 'results').mkdir(parents=True)
  git('init', '-q')
  commits = []
  for n in range(2):
    (repo / 'f').write_text(str(n))
    git('add', 'f')
    git('commit', '-q', '-m', str(n))
    commits.append(git('rev-parse', 'HEAD'))
  parent, child = commits
  monkeypatch.setattr(files, '__file__', str(repo / 'rnnjax' / 'results' / 'files.py'))
  assert files.descends_from(child, parent) is True
  assert files.descends_from(parent, child) is False
  assert files.descends_from('7b5ce84cec1a575e445c9110018d8487c1478a99', parent) is None
  assert files.descends_from(None, parent) is None
  monkeypatch.setattr(files, '__file__', str(tmp_path / 'installed' / 'files.py'))
  (tmp_path / 'installed').mkdir()
  assert files.descends_from(child, parent) is None
