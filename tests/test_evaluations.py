"""Large sweeps write columns: one .npz per chunk and TensorBoard population summaries,
read back as the same records a small sweep writes to metrics.jsonl, also on resume.

The limits are lowered to 1 member so that a 2-member sweep takes the large path."""

import os
import shutil
import signal
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results.tracking import tensorboard
from rnnjax.run import stop
from rnnjax.run import sweep

SPEC = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                       cell='gru', hidden_size='6', batch_size='4',
                       learning_rate='grid(3e-3,3e-2)', dropout='0.1', train_steps=12,
                       eval_every=2)


def _records(workdir):
  records = evaluations.read_metrics(os.path.join(workdir, files.METRICS))
  return {(r['uid'], r['step'], r['split'], r['metric']): r['value'] for r in records}


def test_evaluation_records_are_member_by_member():
  ev = evaluations.Evaluation(1, np.array([3, 5]), np.array([10, 10]),
                              {'train/loss': np.array([0.5, np.nan], np.float32),
                               'val/mse': np.array([1.0, 2.0])})
  got = ev.records()
  assert np.isnan(got[2]['value'])  # Written as null, like every non-finite value.
  got[2]['value'] = None
  assert got == [
      {'uid': 3, 'bucket': 1, 'step': 10, 'split': 'train', 'metric': 'loss', 'value': 0.5},
      {'uid': 3, 'bucket': 1, 'step': 10, 'split': 'val', 'metric': 'mse', 'value': 1.0},
      {'uid': 5, 'bucket': 1, 'step': 10, 'split': 'train', 'metric': 'loss', 'value': None},
      {'uid': 5, 'bucket': 1, 'step': 10, 'split': 'val', 'metric': 'mse', 'value': 2.0}]
  assert not evaluations.columnar(evaluations.JSONL_MAX_MEMBERS)
  assert evaluations.columnar(evaluations.JSONL_MAX_MEMBERS + 1)


@pytest.mark.usefixtures('default_signals')
def test_columnar_sweep_reads_back_as_the_jsonl_one_and_resumes(tmp_path, monkeypatch):
  small = str(tmp_path / 'small')
  sweep.run_sweep(SPEC, small, log=lambda _: None)
  expected = _records(small)
  monkeypatch.setattr(evaluations, 'JSONL_MAX_MEMBERS', 1)
  monkeypatch.setattr(tensorboard, 'MAX_RUNS', 1)
  large, lines = str(tmp_path / 'large'), []

  def log(line):
    lines.append(line)
    if line.startswith('chunk 3/'):  # Stopped after chunk 3, resumed below.
      os.kill(os.getpid(), signal.SIGINT)
      time.sleep(0.2)
  with pytest.raises(stop.Stopped):
    sweep.run_sweep(SPEC, large, log=log)
  assert any('one .npz per chunk' in l for l in lines)
  assert any('TensorBoard: 2 members (over 1): population summaries' in l for l in lines)
  # A chunk file past the checkpoint, as a kill between the two would leave, and one
  # half written (files.atomic's temporary file), as a kill while writing would.
  chunks = os.path.join(large, files.CHUNKS)
  shutil.copy(os.path.join(chunks, 'chunk-000002.npz'),
              os.path.join(chunks, 'chunk-000005.npz'))
  open(os.path.join(chunks, files.TEMPORARY + '0a1b2c3d-chunk-000004.npz'), 'wb').close()
  sweep.run_sweep(SPEC, large, log=lambda _: None)
  assert sorted(os.listdir(os.path.join(large, files.CHUNKS))) == [
      f'chunk-{p:06d}.npz' for p in range(6)]
  assert os.path.getsize(os.path.join(large, files.METRICS)) == 0
  got = _records(large)
  assert got.keys() == expected.keys()
  np.testing.assert_allclose([got[k] for k in expected], [expected[k] for k in expected],
                             rtol=1e-6)
  runs = os.listdir(os.path.join(large, files.TENSORBOARD))
  assert runs == ['bucket-0']
  acc = event_accumulator.EventAccumulator(os.path.join(large, files.TENSORBOARD,
                                                        'bucket-0'))
  acc.Reload()
  medians = acc.Scalars('val/mse/median')
  assert [e.step for e in medians] == [2, 4, 6, 8, 10, 12]  # Once each, after the resume.
  np.testing.assert_allclose(
      medians[-1].value, np.median([expected[(u, 12, 'val', 'mse')] for u in (0, 1)]),
      rtol=1e-5)
  assert 'val/mse' in acc.Tags()['histograms']


def test_curves_read_one_column_by_member_and_step(tmp_path):
  """A step written twice (a file past a checkpoint, before truncate) reads as the
  later file's value, as the long records would through a dict."""
  workdir = str(tmp_path)
  assert not evaluations.curves(workdir, 'val', 'mse')
  for position, (step, mse) in enumerate([(2, [3.0, 4.0]), (4, [2.0, 1.0]),
                                          (4, [1.5, np.nan])]):
    evaluations.write(workdir, position, evaluations.Evaluation(
        0, np.array([7, 3]), np.array([step, step]),
        {'train/loss': np.zeros(2), 'val/mse': np.array(mse)}))
  got = evaluations.curves(workdir, 'val', 'mse')
  assert sorted(got) == [3, 7]
  np.testing.assert_array_equal(got[7][0], [2, 4])
  np.testing.assert_array_equal(got[7][1], [3.0, 1.5])
  np.testing.assert_array_equal(got[3][0], [2, 4])
  np.testing.assert_array_equal(got[3][1], [4.0, np.nan])
  assert not evaluations.curves(workdir, 'val', 'rmse')
