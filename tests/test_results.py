"""Tests for rnnjax/results/files.py: atomic JSON and the metrics table."""

import json
import math
import os

import numpy as np
import pytest

from rnnjax.results import files


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
  assert len(files.read_metrics(path)) == 3  # Readable after a flush, before close.
  writer.write(files.records(uid=3, bucket=0, step=20, split='val', metrics={'loss': np.inf}))
  writer.close()
  assert files.read_metrics(path) == [
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
  assert [(r['step'], r['value']) for r in files.read_metrics(path)] == [(1, 1.0), (2, 0.5)]


def test_read_metrics_takes_the_work_directory(tmp_path):
  """As read_summary does: the work directory, or its metrics.jsonl."""
  writer = files.MetricsWriter(str(tmp_path / files.METRICS))
  writer.write(files.records(uid=0, bucket=0, step=2, split='val', metrics={'mse': 1.5}))
  writer.close()
  want = [{'uid': 0, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse',
           'value': 1.5}]
  assert files.read_metrics(str(tmp_path)) == want
  assert files.read_metrics(str(tmp_path / files.METRICS)) == want
  os.mkdir(tmp_path / 'empty')
  with pytest.raises(FileNotFoundError, match='metrics.jsonl'):
    files.read_metrics(str(tmp_path / 'empty'))


def test_read_metrics_of_a_work_directory_with_chunk_files_alone(tmp_path):
  """A large sweep's evaluations are in WORKDIR/metrics/*.npz (evaluations.py); its
  metrics.jsonl holds only searcher decisions, and may be absent from a copy."""
  from rnnjax.results import evaluations  # pylint: disable=g-import-not-at-top
  evaluations.write(str(tmp_path), 0, evaluations.Evaluation(
      0, np.array([0, 1]), np.array([2, 2]), {'val/mse': np.array([1.5, 2.5])}))
  want = [{'uid': 0, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse', 'value': 1.5},
          {'uid': 1, 'bucket': 0, 'step': 2, 'split': 'val', 'metric': 'mse', 'value': 2.5}]
  assert files.read_metrics(str(tmp_path)) == want
  open(tmp_path / files.METRICS, 'w', encoding='utf-8').close()
  assert files.read_metrics(str(tmp_path)) == want
