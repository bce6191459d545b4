"""A sweep killed at any moment and re-run ends exactly as an uninterrupted one."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from rnnjax import results
from rnnjax import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ['--dataset=shampoo_sales', '--lookback=4', '--val_size=6', '--test_size=6',
        '--cell=grid(lstm,gru)', '--hidden_size=6', '--batch_size=4',
        '--learning_rate=grid(3e-3,3e-2)', '--dropout=0.1', '--train_steps=20',
        '--eval_every=2', '--cpu_devices=1', '--figures=false']
# Adaptive searches advance every bucket a chunk at a time and change the populations
# between chunks: PBT copies members and perturbs values, halving compacts survivors.
ADAPTIVE_ARGS = {
    'pbt': ARGS + ['--search=pbt', '--pbt_interval=4', '--pbt_fraction=0.5',
                   '--weight_decay=grid(0,1e-3)'],
    'halving': ARGS + ['--search=halving', '--eta=4', '--min_steps=4',
                       '--weight_decay=grid(0,1e-3)'],
}


def _start(workdir, args=ARGS):
  # Compiling is most of these runs' time: no XLA optimisation, alike for every run
  # compared here.
  env = {**os.environ, 'PYTHONPATH': ROOT,
         'XLA_FLAGS': '--xla_backend_optimization_level=0'}
  log = open(f'{workdir}.log', 'w')  # A file, not a pipe: a full pipe would stall it.
  return subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={workdir}', *args], cwd=ROOT, env=env,
                          stdout=log, stderr=subprocess.STDOUT)


def _finish(workdir, args=ARGS):
  proc = _start(workdir, args)
  proc.wait(timeout=300)
  out = open(f'{workdir}.log').read()
  assert proc.returncode == 0, out
  return out


def _checkpoints(workdir):
  path = os.path.join(workdir, 'checkpoints')
  return sorted(int(d) for d in os.listdir(path) if d.isdigit()) if os.path.isdir(path) else []


def _kill_after(workdir, num_chunks, args=ARGS):
  """SIGKILLs a running sweep once `num_chunks` checkpoints have been written."""
  proc = _start(workdir, args)
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    steps = _checkpoints(workdir)
    if steps and steps[-1] >= num_chunks:
      proc.send_signal(signal.SIGKILL)
      break
    time.sleep(0.005)
  proc.wait(timeout=60)
  assert proc.returncode == -signal.SIGKILL, 'the sweep ended before it was killed'


def _outcome(workdir):
  summary = json.loads(open(os.path.join(workdir, 'summary.json')).read())
  records = results.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  keys = [(r['uid'], r['step'], r['split'], r['metric']) for r in records]
  assert len(keys) == len(set(keys)), 'duplicated metric records'
  return summary, {k: r['value'] for k, r in zip(keys, records)}


def _assert_same(a, b):
  (sa, ra), (sb, rb) = a, b
  assert ra.keys() == rb.keys()
  np.testing.assert_allclose([ra[k] for k in ra], [rb[k] for k in ra], rtol=1e-6)
  assert sa['ranking'] == sb['ranking']
  for ma, mb in zip(sa['members'], sb['members']):
    assert (ma['uid'], ma['status'], ma['best_step']) == (mb['uid'], mb['status'],
                                                         mb['best_step'])
    np.testing.assert_allclose(ma['val']['mse'], mb['val']['mse'], rtol=1e-6)
  np.testing.assert_allclose(sa['best']['test']['rmse'], sb['best']['test']['rmse'],
                             rtol=1e-6)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('resume') / 'reference')
  _finish(workdir)
  return workdir


def _tensorboard_steps(workdir, uid):
  acc = event_accumulator.EventAccumulator(
      os.path.join(workdir, 'tensorboard', f'uid-{uid:04d}'))
  acc.Reload()
  return [e.step for e in acc.Scalars('val/mse')]


def test_kill_and_resume_equals_uninterrupted(reference, tmp_path):
  expected = _outcome(reference)
  assert len(expected[1]) == 4 * 10 * 4  # members x chunks x metrics, both buckets.
  for kill_at in (3, 13):  # Inside the first bucket, and inside the second.
    workdir = str(tmp_path / f'killed-{kill_at}')
    _kill_after(workdir, kill_at)
    assert not os.path.exists(os.path.join(workdir, 'summary.json'))
    out = _finish(workdir)
    assert 'resuming' in out
    _assert_same(_outcome(workdir), expected)
    for uid in range(4):  # TensorBoard holds every evaluation exactly once.
      assert _tensorboard_steps(workdir, uid) == list(range(2, 21, 2))


@pytest.mark.parametrize('search', sorted(ADAPTIVE_ARGS))
def test_adaptive_search_kill_and_resume_equals_uninterrupted(search, tmp_path):
  args = ADAPTIVE_ARGS[search]
  _finish(str(tmp_path / 'reference'), args)
  expected = _outcome(str(tmp_path / 'reference'))
  splits = {k[2] for k in expected[1]}
  if search == 'pbt':
    assert {'lineage', 'hparams'} <= splits  # Exploits happened, and were recorded.
  else:
    statuses = [m['status'] for m in expected[0]['members']]
    assert statuses.count('stopped') == 7  # 8 -> 2 -> 1 at rungs 4 and 16.
  # 8 members in 2 buckets: 2 chunks per step. Killed after 7 chunks: after the
  # decisions at step 4 (both searches), between the two buckets of step 8, so the first
  # bucket's table at step 8 must survive the restart for the decision there.
  for kill_at in (7,):
    workdir = str(tmp_path / f'killed-{kill_at}')
    _kill_after(workdir, kill_at, args)
    _finish(workdir, args)
    _assert_same(_outcome(workdir), expected)


def test_corrupt_latest_checkpoint_falls_back(reference, tmp_path):
  workdir = str(tmp_path / 'corrupt')
  _kill_after(workdir, 6)
  latest = _checkpoints(workdir)[-1]
  # A half-written step: its array data gone.
  step_dir = os.path.join(workdir, 'checkpoints', str(latest), 'states')
  shutil.rmtree(step_dir)
  out = _finish(workdir)
  assert f'warning: checkpoint {latest} does not restore' in out
  _assert_same(_outcome(workdir), _outcome(reference))


def test_early_stopping_keeps_best_parameters(tmp_path):
  spec = sweep.SweepSpec(dataset='shampoo_sales', lookback=4, val_size=6, test_size=6,
                         hidden_size='6', batch_size='4',
                         learning_rate='grid(1e-3,3e-1)', train_steps=60,
                         eval_every=2, patience=2)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  records = results.read_metrics(tmp_path / 'wd' / 'metrics.jsonl')
  statuses = {m['uid']: m['status'] for m in summary['members']}
  steps = summary['member_steps']
  assert steps['budget'] == 2 * 60 and steps['useful'] < steps['budget']
  assert 'stopped' in statuses.values()
  for m in summary['members']:
    vals = [r for r in records if r['uid'] == m['uid'] and r['split'] == 'val'
            and r['metric'] == 'mse']
    best = min(vals, key=lambda r: r['value'])
    assert m['best_step'] == best['step']
    np.testing.assert_allclose(m['val']['mse'], best['value'], rtol=1e-5)
    assert m['steps'] == max(r['step'] for r in vals)
    if m['status'] == 'stopped':
      last = max(r['step'] for r in vals)
      assert last < 60
      assert last - best['step'] == 2 * spec.patience  # Stopped `patience` evals later.
