"""A sweep killed at any moment and re-run ends exactly as an uninterrupted one.

One test kills a real sweep process (SIGKILL) and resumes it in another; the others stop
a sweep in-process at a chosen chunk (see `_interrupt`), which is as abrupt for the work
directory and far cheaper: no interpreter start, and the resumed run reuses the compiled
programs of the reference run.
"""

import dataclasses
import glob
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.run import prepare as prepare_lib
from rnnjax.run import resume
from rnnjax.run import sweep
from rnnjax.search import probe
from rnnjax.search import waves
from rnnjax.search.strategies import tpe
from tests.outcomes import assert_same
from tests.outcomes import outcome

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ['--dataset=shampoo_sales', '--classical_baselines=false',
        '--lookback=4', '--val_size=6', '--test_size=6',
        '--cell=grid(lstm,gru)', '--hidden_size=6', '--batch_size=4',
        '--learning_rate=grid(3e-3,3e-2)', '--dropout=0.1', '--train_steps=20',
        '--eval_every=2', '--cpu_devices=1', '--figures=false']


def _start(workdir):
  # Compiling is most of these runs' time: no XLA optimisation, alike for every run
  # compared here.
  env = {**os.environ, 'PYTHONPATH': ROOT,
         'XLA_FLAGS': os.environ['RNNJAX_TEST_XLA_FLAGS']}
  log = open(f'{workdir}.log', 'w')  # A file, not a pipe: a full pipe would stall it.
  return subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={workdir}', *ARGS], cwd=ROOT, env=env,
                          stdout=log, stderr=subprocess.STDOUT)


def _finish(workdir):
  proc = _start(workdir)
  proc.wait(timeout=300)
  out = open(f'{workdir}.log').read()
  assert proc.returncode == 0, out
  return out


def _checkpoints(workdir):
  path = os.path.join(workdir, 'checkpoints')
  return sorted(int(d) for d in os.listdir(path) if d.isdigit()) if os.path.isdir(path) else []


def _kill_after(workdir, num_chunks):
  """SIGKILLs a running sweep once `num_chunks` checkpoints have been written."""
  proc = _start(workdir)
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    steps = _checkpoints(workdir)
    if steps and steps[-1] >= num_chunks:
      proc.send_signal(signal.SIGKILL)
      break
    time.sleep(0.005)
  proc.wait(timeout=60)
  assert proc.returncode == -signal.SIGKILL, 'the sweep ended before it was killed'


def _tensorboard_steps(workdir, uid):
  acc = event_accumulator.EventAccumulator(
      os.path.join(workdir, 'tensorboard', f'uid-{uid:04d}'))
  acc.Reload()
  return [e.step for e in acc.Scalars('val/mse')]


# The same sweeps in-process, interrupted through their log (below).
SPEC = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                       cell='grid(lstm,gru)', hidden_size='6', batch_size='4',
                       learning_rate='grid(3e-3,3e-2)', dropout='0.1', train_steps=20,
                       eval_every=2)
ADAPTIVE_SPECS = {
    'pbt': dataclasses.replace(SPEC, search='pbt', pbt_interval=4, pbt_fraction=0.5,
                               weight_decay='grid(0,1e-3)'),
    'halving': dataclasses.replace(SPEC, search='halving', eta=4, min_steps=4,
                                   weight_decay='grid(0,1e-3)'),
}


class _Stop(Exception):
  """Raised by the log of a sweep interrupted in-process."""


def _run(spec, workdir):
  lines = []
  sweep.run_sweep(spec, workdir, log=lines.append)
  return '\n'.join(lines)


def _interrupt(spec, workdir, chunk_line, **kw):
  """Runs the sweep in-process until it logs a progress line containing `chunk_line`
  (`kw`: run_sweep's).

  run_sweep logs a chunk's progress line once the chunk has trained, before its records
  and its checkpoint are written: raising there loses that chunk, as a kill would.
  Returns the number of the last checkpoint left.
  """
  def log(line):
    if line.startswith('chunk ') and chunk_line in line + ' ':
      raise _Stop(line)
  with pytest.raises(_Stop):
    sweep.run_sweep(spec, workdir, log=log, **kw)
  assert not os.path.exists(os.path.join(workdir, 'summary.json'))
  return _checkpoints(workdir)[-1]


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('resume') / 'reference')
  _run(SPEC, workdir)
  return outcome(workdir)


def test_kill_and_resume_equals_uninterrupted(reference, tmp_path):
  """The one real kill -9: a sweep process, killed inside its second bucket, resumes in
  a new process; the reference is the same sweep run in-process (same XLA flags: see
  conftest.py and `_start`; results compared to rtol 1e-6). The latest step's largest
  array file is cut short too (a disk that lost its tail): orbax's reads fail in its
  coroutines, which printed 'Exception ignored in: <coroutine ...>' with TensorStore's
  specs beside the one-line warning, even as the interpreter ended; only the warning is
  said, and the step before resumes exactly."""
  expected = reference
  # members x chunks x metrics (train loss; val mse, rmse, mae, mase), both buckets.
  assert len(expected[1]) == 4 * 10 * 5
  workdir = str(tmp_path / 'killed')
  _kill_after(workdir, 13)
  assert not os.path.exists(os.path.join(workdir, 'summary.json'))
  latest = _checkpoints(workdir)[-1]
  data = glob.glob(os.path.join(workdir, 'checkpoints', str(latest), 'states', '**', 'd',
                                '*'), recursive=True)
  largest = max(data, key=os.path.getsize)
  os.truncate(largest, min(1000, os.path.getsize(largest) // 2))
  out = _finish(workdir)
  assert f'warning: checkpoint {latest} does not restore' in out
  assert 'Exception ignored' not in out and 'TensorStore' not in out, out
  assert f'resuming {workdir}: {latest - 1} of 20 chunks were done' in out
  assert_same(outcome(workdir), expected)
  for uid in range(4):  # TensorBoard holds every evaluation exactly once.
    assert _tensorboard_steps(workdir, uid) == list(range(2, 21, 2))


def test_interrupt_in_first_bucket_and_resume_equals_uninterrupted(reference, tmp_path):
  workdir = str(tmp_path / 'interrupted')
  # The 4th chunk of bucket 0 trained, unrecorded: 3 chunks checkpointed.
  assert _interrupt(SPEC, workdir, 'chunk 4/20 bucket 0 step 8 ') == 3
  assert 'resuming' in _run(SPEC, workdir)
  assert_same(outcome(workdir), reference)
  for uid in range(4):
    assert _tensorboard_steps(workdir, uid) == list(range(2, 21, 2))


@pytest.mark.parametrize('search', sorted(ADAPTIVE_SPECS))
def test_adaptive_search_interrupt_and_resume_equals_uninterrupted(search, tmp_path):
  spec = ADAPTIVE_SPECS[search]
  _run(spec, str(tmp_path / 'reference'))
  expected = outcome(str(tmp_path / 'reference'))
  splits = {k[2] for k in expected[1]}
  if search == 'pbt':
    assert {'lineage', 'hparams'} <= splits  # Exploits happened, and were recorded.
  else:
    statuses = [m['status'] for m in expected[0]['members']]
    assert statuses.count('stopped') == 7  # 8 -> 2 -> 1 at rungs 4 and 16.
  # 8 members in 2 buckets advance a chunk each in turn; both searches decide at step 4
  # (after 4 chunks) and step 8 (after 8). Stopped once just after the first decision,
  # and once between the two buckets of step 8, so that the first bucket's table at
  # step 8 must survive the restart for the decision there.
  for chunk_line, checkpointed in (('bucket 0 step 6 ', 4), ('bucket 1 step 8 ', 7)):
    workdir = str(tmp_path / f'interrupted-{checkpointed}')
    assert _interrupt(spec, workdir, chunk_line) == checkpointed
    out = _run(spec, workdir)
    # The resume counts the chunks as the progress after it does (halving's cut runs
    # left out of both).
    said = re.search(r'resuming .*: (\d+) of (\d+) chunks were done', out)
    shown = re.search(r'\bchunk (\d+)/(\d+) ', out[said.end():])
    assert (int(said[1]) + 1, int(said[2])) == (int(shown[1]), int(shown[2])), out
    assert_same(outcome(workdir), expected)


def test_a_resume_counts_the_chunks_its_progress_will():
  """After halving cut every member of a run, the resume's line counted that run's
  chunks ahead ('4 of 16 chunks were done', then 'chunk 5/10'): left out as the
  progress leaves them out."""
  import types  # pylint: disable=g-import-not-at-top
  from rnnjax.run import chunks  # pylint: disable=g-import-not-at-top
  run = lambda *uids: types.SimpleNamespace(uids=uids, state=None)
  halving = types.SimpleNamespace(spec=ADAPTIVE_SPECS['halving'], num_chunks=5)
  # Chunk-major: positions 4-9 are chunks 2-4 of runs 0 and 1; run 1 was cut empty.
  assert chunks.counted(halving, [run(0, 1), run(-1, -1)], 4) == 4 + 3
  assert chunks.counted(halving, [run(0, 1), run(2, -1)], 4) == 10
  assert chunks.counted(halving, [run(0, 1), run()], 0) == 5


# Bucket 0's members, then bucket 1's, all stop early (--patience=1): each one's chunks
# left are skipped.
SKIPPING = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback='4',
                           val_size=6, test_size=6, cell='grid(rnn_relu,rnn_tanh)',
                           optimizer='sgd', clip_norm='0', hidden_size='4', batch_size='4',
                           learning_rate='grid(1e-2,3e-2)', train_steps=60, eval_every=2,
                           patience=1)


@pytest.fixture(scope='module')
def skipping(tmp_path_factory):
  """SKIPPING run uninterrupted: (work directory, its progress lines as (chunk, total,
  bucket), its outcome)."""
  workdir = str(tmp_path_factory.mktemp('skipping') / 'reference')
  shown = []
  sweep.run_sweep(SKIPPING, workdir, log=shown.append)
  progress = [re.match(r'chunk (\d+)/(\d+) bucket (\d) ', line) for line in shown]
  return workdir, [(int(m[1]), int(m[2]), m[3]) for m in progress if m], outcome(workdir)


@pytest.mark.parametrize('nth', [0, 2])
def test_a_resume_after_a_skipped_run_counts_as_the_progress_before_it(nth, skipping,
                                                                      tmp_path):
  """Bucket 0's members all stop early and its chunks left are skipped (saving no
  checkpoint): the progress counts on from the chunks trained ('chunk 8/37'). Stopped
  in bucket 1, the resume counted the skipped positions as done ('32 of 60 chunks were
  done', then 'chunk 33/60'); it goes on from where the progress stood, from bucket 1's
  first chunk too (the newest checkpoint then bucket 0's last trained chunk's)."""
  _, progress, reference = skipping
  # Bucket 1's first or third chunk, after bucket 0 was skipped (its total dropped).
  k, total, _ = [p for p in progress if p[2] == '1'][nth]
  assert total < 60
  workdir = str(tmp_path / 'interrupted')
  _interrupt(SKIPPING, workdir, f'chunk {k}/{total} ')
  out = _run(SKIPPING, workdir)
  assert f'resuming {workdir}: {k - 1} of {total} chunks were done' in out, out
  assert re.search(rf'^chunk {k}/{total} bucket 1 ', out, re.M), out
  assert_same(outcome(workdir), reference)


def test_a_skipped_last_run_saves_its_last_checkpoint_for_remake_final(skipping, tmp_path):
  """Bucket 1, the last run, was skipped too: its skipped positions saved nothing, its
  last did (60: every chunk), and --remake_final restores from it, counting as the
  progress did (it said '60 of 60 chunks')."""
  done, progress, _ = skipping
  kept = _checkpoints(done)
  assert kept[-1] == 60 and kept[-2] < 59, kept
  workdir = str(tmp_path / 'remade')
  shutil.copytree(done, workdir)
  lines = []
  sweep.run_sweep(dataclasses.replace(SKIPPING, ensemble='single'), workdir,
                  remake_final=True, log=lines.append)
  trained = progress[-1][0]  # The chunks trained ('chunk 19/37', then 18 skipped).
  assert f'restoring the trained members of {workdir} ({trained} of {trained} chunks)' in (
      lines), lines


def test_a_random_search_resumes_only_with_the_draws_it_began_with(tmp_path):
  """An unfinished random search resumes and ends as an uninterrupted one; one whose
  plan.json holds other draws (as an older rnnjax drew them) is refused in one line,
  and its checkpoints and records are left as they were."""
  spec = dataclasses.replace(SPEC, cell='lstm', search='random', num_members=2,
                             learning_rate='loguniform(3e-3,3e-2)')
  _run(spec, str(tmp_path / 'reference'))
  workdir = str(tmp_path / 'interrupted')
  assert _interrupt(spec, workdir, 'chunk 4/10 ') == 3
  plan_path = os.path.join(workdir, files.PLAN)
  drawn = files.read_json(plan_path)
  older = {**drawn, 'configs': {**drawn['configs'], 'swept': {
      **drawn['configs']['swept'],
      'learning_rate': drawn['configs']['swept']['learning_rate'][::-1]}}}
  files.write_json(plan_path, older)
  metrics = open(os.path.join(workdir, files.METRICS)).read()
  with pytest.raises(InputError, match=r'^--workdir: .*interrupted holds a sweep whose '
                     'configurations this version of rnnjax draws differently'):
    _run(spec, workdir)
  assert open(os.path.join(workdir, files.METRICS)).read() == metrics
  assert _checkpoints(workdir)[-1] == 3
  # What follows the spec is not a draw: an older rnnjax wrote a swept optimizer's
  # momentum and beta2 once, where this one lists each row's.
  fixed = drawn['configs']['fixed']
  files.write_json(plan_path, {**drawn, 'configs': {
      **drawn['configs'], 'fixed': {k: v for k, v in fixed.items() if k != 'beta2'},
      'swept': {**drawn['configs']['swept'], 'beta2': [fixed['beta2']] * 2}}})
  assert 'resuming' in _run(spec, workdir)
  assert_same(outcome(workdir), outcome(str(tmp_path / 'reference')))


def test_corrupt_latest_checkpoint_falls_back(reference, tmp_path, caplog):
  workdir = str(tmp_path / 'corrupt')
  latest = _interrupt(SPEC, workdir, 'chunk 7/20 ')
  # A half-written step: its array data gone, and its metadata garbled.
  step_dir = os.path.join(workdir, 'checkpoints', str(latest))
  shutil.rmtree(os.path.join(step_dir, 'states'))
  with open(os.path.join(step_dir, '_CHECKPOINT_METADATA'), 'r+b') as f:
    f.write(b'garbage')
  with caplog.at_level(logging.DEBUG):
    out = _run(SPEC, workdir)
  assert f'warning: checkpoint {latest} does not restore' in out
  # That one line says it: no error or traceback of orbax's or ours beside it.
  loud = [r for r in caplog.records if r.levelno >= logging.WARNING or (
      r.exc_info and r.levelno > logging.DEBUG)]
  assert not loud, [r.getMessage() for r in loud]
  assert f'resuming {workdir}: {latest - 1} of 20 chunks were done' in out
  assert_same(outcome(workdir), reference)


def test_early_stopping_keeps_best_parameters(tmp_path):
  spec = sweep.SweepSpec(classical_baselines=False,
                         dataset='shampoo_sales', lookback=4, val_size=6, test_size=6,
                         hidden_size='6', batch_size='4',
                         learning_rate='grid(1e-3,3e-1)', train_steps=24,
                         eval_every=2, patience=2)  # Member 1 stops at step 14.
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  records = evaluations.read_metrics(tmp_path / 'wd' / 'metrics.jsonl')
  statuses = {m['uid']: m['status'] for m in summary['members']}
  steps = summary['member_steps']
  assert steps['budget'] == 2 * spec.train_steps and steps['useful'] < steps['budget']
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
      assert last < spec.train_steps
      assert last - best['step'] == 2 * spec.patience  # Stopped `patience` evals later.
      assert m['stopped_by'] == f'early stopping at step {last}'
    else:
      assert 'stopped_by' not in m


# Member 1 stops at step 12.
PATIENCE = dataclasses.replace(SPEC, cell='gru', learning_rate='grid(3e-3,1e-1)',
                               patience=2, train_steps=16)


@pytest.fixture(scope='module')
def stopped_early(tmp_path_factory):
  """The work directory of PATIENCE run uninterrupted (read, never written, by the
  tests that use it)."""
  workdir = str(tmp_path_factory.mktemp('stopped_early') / 'reference')
  _run(PATIENCE, workdir)
  return workdir


def test_early_stopping_interrupt_and_resume_equals_uninterrupted(stopped_early, tmp_path):
  """Stopped one evaluation after a member's best (one of its `patience` used), and
  again after it stopped early: resumed, it stops where, and stays stopped as, the
  uninterrupted one did."""
  spec = PATIENCE
  expected = outcome(stopped_early, repeats=True)  # See the next test.
  (stopped,) = [m for m in expected[0]['members'] if m['status'] == 'stopped']
  assert stopped['steps'] - stopped['best_step'] == spec.patience * spec.eval_every
  chunk = stopped['best_step'] // spec.eval_every + 1  # Its first evaluation after.
  for checkpointed in (chunk, chunk + spec.patience):
    workdir = str(tmp_path / f'interrupted-{checkpointed}')
    assert _interrupt(spec, workdir, f'chunk {checkpointed + 1}/8 ') == checkpointed
    assert 'resuming' in _run(spec, workdir)
    assert_same(outcome(workdir, repeats=True), expected)


def test_a_member_stopped_early_is_recorded_once(stopped_early):
  summary, values = outcome(stopped_early, repeats=True)
  if [(m['status'], m['steps']) for m in summary['members']] != [('ok', 16),
                                                                  ('stopped', 12)]:
    pytest.fail('member 1 no longer stops at step 12 of 16')  # Not an AssertionError.
  assert all(len(v) == 1 for v in values.values())


def _journal_trials(path):
  import optuna  # pylint: disable=g-import-not-at-top
  storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
  study = optuna.load_study(study_name=None, storage=storage)
  return [(t.number, t.state, t.value, t.params, t.user_attrs) for t in study.trials]


def test_tpe_rounds_and_interrupt_and_resume_equals_uninterrupted(tmp_path):
  """3 rounds of 2 configurations x 2 seeds, 3 chunks each (a bucket per round). Each
  round is told the mean over seeds of its configurations' validation scores. Stopped
  inside round 1, and just after the checkpoint that asked round 2, with journal entries
  the checkpoint does not cover: the resumed study proposes what the uninterrupted one
  did, and the journal, summary and tables end the same."""
  import optuna  # pylint: disable=g-import-not-at-top
  spec = dataclasses.replace(SPEC, search='tpe', rounds=3, num_members=2, num_seeds=2,
                             cell='lstm', learning_rate='loguniform(3e-3,3e-2)',
                             dropout='uniform(0,0.3)', train_steps=6)
  reference = tmp_path / 'reference'
  log = _run(spec, str(reference))
  expected = outcome(str(reference))
  members = expected[0]['members']
  assert [m['uid'] for m in members] == list(range(12))  # uids go on across rounds.
  # 3 rounds x 1 bucket x 3 chunks, counted from the first round's plan.
  chunks = [l.split()[1] for l in log.splitlines() if l.startswith('chunk ')]
  assert chunks == [f'{k}/9' for k in range(1, 10)]
  assert [m['config'] for m in members] == [u // 2 for u in range(12)]
  journal = _journal_trials(str(reference / 'tpe.journal'))
  assert [t[4]['round'] for t in journal] == [0, 0, 1, 1, 2, 2]
  # Round 0 is what prepare's study in memory proposed (the same seeded sampler).
  assert [t[3]['learning_rate'] for t in journal[:2]] == [
      c['learning_rate'] for c in tpe.propose(spec, None, 0)]
  for _, state, value, params, attrs in journal:
    assert state == optuna.trial.TrialState.COMPLETE
    seeds = [m for m in members if m['config'] == attrs['config']]
    assert all(m['hparams']['learning_rate'] == params['learning_rate'] for m in seeds)
    np.testing.assert_allclose(value, np.mean([m['val']['mse'] for m in seeds]), rtol=1e-5)
  for chunk_line, checkpointed in (('bucket 1 step 4 ', 4), ('bucket 2 step 2 ', 6)):
    workdir = tmp_path / f'interrupted-{checkpointed}'
    assert _interrupt(spec, str(workdir), chunk_line) == checkpointed
    # As if killed after the study answered an ask but before the checkpoint: the
    # journal holds more than the checkpoint covers.
    tpe.propose(spec, str(workdir), checkpointed // 3)
    log = _run(spec, str(workdir))
    asked = 1 + checkpointed // 3
    (resuming,) = [l for l in log.splitlines() if l.startswith('resuming ')]
    # Counted as the progress counts them: the rounds still to ask at the size of those
    # asked (it said '4 of 6', then 'chunk 5/9').
    assert resuming.endswith(f': {checkpointed} of 9 chunks were done' + (
        f' (rounds asked so far: {asked} of 3)' if asked < 3 else '')), resuming
    # The resumed progress counts the same 9 chunks, from where it stopped.
    chunks = [l.split()[1] for l in log.splitlines() if l.startswith('chunk ')]
    assert chunks == [f'{k}/9' for k in range(checkpointed + 1, 10)], chunks
    assert_same(outcome(str(workdir)), expected)
    assert _journal_trials(str(workdir / 'tpe.journal')) == journal
    for name in ('trials.csv', 'curves.csv'):
      assert open(workdir / name).read() == open(reference / name).read()


def test_a_larger_last_tpe_round_resumes_as_uninterrupted(tmp_path):
  """--last_round (a comparison's budget that --rounds does not divide): 2 rounds, of 2
  then 3 configurations, uids and configuration numbers going on across them; stopped
  inside the last round, it ends as the uninterrupted sweep."""
  spec = dataclasses.replace(SPEC, search='tpe', rounds=2, num_members=2, last_round=3,
                             cell='lstm', learning_rate='loguniform(3e-3,3e-2)',
                             dropout='uniform(0,0.3)', train_steps=6)
  reference = tmp_path / 'reference'
  _run(spec, str(reference))
  expected = outcome(str(reference))
  members = expected[0]['members']
  assert [m['uid'] for m in members] == list(range(5))
  assert [m['config'] for m in members] == list(range(5))
  assert [t[4]['round'] for t in _journal_trials(str(reference / 'tpe.journal'))] == [
      0, 0, 1, 1, 1]
  workdir = tmp_path / 'interrupted'
  assert _interrupt(spec, str(workdir), 'bucket 1 step 4 ') == 4
  _run(spec, str(workdir))
  assert_same(outcome(str(workdir)), expected)
  assert (_journal_trials(str(workdir / 'tpe.journal'))
          == _journal_trials(str(reference / 'tpe.journal')))


def test_a_tpe_sweep_past_its_space_resumes_as_uninterrupted(tmp_path):
  """2 values, 3 rounds of 2: rounds 1 and 2 train repeats as more seeds of the 2
  configurations (each trial told the mean over its configuration's seeds so far).
  Stopped in round 1 and in round 2, with journal entries the checkpoint does not cover,
  it ends as the uninterrupted sweep: members, configurations, journal, tables."""
  spec = dataclasses.replace(SPEC, search='tpe', rounds=3, num_members=2, cell='lstm',
                             train_steps=4)
  reference = tmp_path / 'reference'
  _run(spec, str(reference))
  expected = outcome(str(reference))
  assert len({m['config'] for m in expected[0]['members']}) == 2
  journal = _journal_trials(str(reference / 'tpe.journal'))
  for chunk_line, checkpointed in (('bucket 1 step 4 ', 3), ('bucket 2 step 2 ', 4)):
    workdir = tmp_path / f'interrupted-{checkpointed}'
    assert _interrupt(spec, str(workdir), chunk_line) == checkpointed
    tpe.propose(spec, str(workdir), checkpointed // 2)
    assert 'resuming' in _run(spec, str(workdir))
    assert_same(outcome(str(workdir)), expected)
    summary = outcome(str(workdir))[0]
    assert summary['configs'] == expected[0]['configs']
    assert [(m['config'], m['seed']) for m in summary['members']] == [
        (m['config'], m['seed']) for m in expected[0]['members']]
    assert _journal_trials(str(workdir / 'tpe.journal')) == journal
    assert open(workdir / 'trials.csv').read() == open(reference / 'trials.csv').read()
    # TensorBoard's HParams too: every run lists `seed` (it varies from round 1 on).
    assert _start_infos(workdir) == _start_infos(reference)
  assert all('seed' in names for names in _start_infos(reference).values())


def _start_infos(workdir) -> dict:
  """{run: the names in its TensorBoard HParams session start info}."""
  # pylint: disable=g-import-not-at-top
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.plugins.hparams import metadata
  logdir, out = os.path.join(workdir, 'tensorboard'), {}
  for run in sorted(os.listdir(logdir)):
    acc = event_accumulator.EventAccumulator(os.path.join(logdir, run))
    acc.Reload()
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    out[run] = sorted(metadata.parse_session_start_info_plugin_data(content).hparams)
  return out


@pytest.mark.parametrize('search', ['random', 'tpe'])
def test_structural_random_and_tpe_searches_resume_with_buckets_of_unequal_sizes(
    search, tmp_path):
  """Random and TPE searches over cell and hidden size draw buckets of different sizes
  (random: 5 configurations over 4 structures; TPE: 2 rounds of 3); once two of them have trained, every
  checkpoint holds populations of different sizes. Interrupted after that, the sweep
  resumes and ends as an uninterrupted one."""
  spec = dataclasses.replace(SPEC, search=search, cell='choice(lstm,gru)',
                             hidden_size='choice(4,6)',
                             learning_rate='loguniform(3e-3,3e-2)', train_steps=4,
                             **({'num_members': 5} if search == 'random' else
                                {'num_members': 3, 'rounds': 2}))
  _run(spec, str(tmp_path / 'reference'))
  expected = outcome(str(tmp_path / 'reference'))
  plan = files.read_json(str(tmp_path / 'reference' / files.PLAN))
  sizes = [b['num_members'] for b in plan['buckets']]
  assert len(set(sizes)) > 1, sizes
  workdir = str(tmp_path / 'interrupted')
  # Two chunks per bucket: stopped in the last bucket's first chunk.
  assert _interrupt(spec, workdir, f'chunk {2 * len(sizes) - 1}/') == 2 * len(sizes) - 2
  assert 'resuming' in _run(spec, workdir)
  assert_same(outcome(workdir), expected)


def test_a_resumed_sweeps_progress_lines_show_the_best_before_the_stop(tmp_path):
  """The progress line's best after a resume counts the evaluations made before it."""
  spec = dataclasses.replace(SPEC, train_steps=8, learning_rate='grid(1e-2,3e-2)')
  best = lambda lines: [re.search(r'best val rmse (\S+)', line).group(1)
                        for line in lines if line.startswith('chunk ')]
  whole, resumed = [], []
  sweep.run_sweep(spec, str(tmp_path / 'whole'), log=whole.append)
  _interrupt(spec, str(tmp_path / 'stopped'), 'chunk 5/')
  sweep.run_sweep(spec, str(tmp_path / 'stopped'), log=resumed.append)
  assert best(resumed) == best(whole)[4:]


def test_a_resume_in_other_vmap_groups_says_rounding_may_differ(tmp_path):
  """--group_size (and the device count) change float rounding, which training can
  amplify: a resume that changes them says so."""
  spec = dataclasses.replace(SPEC, train_steps=4)  # 2 buckets of 2 chunks.
  workdir = str(tmp_path / 'wd')
  _interrupt(spec, workdir, 'chunk 2/')
  lines = []
  sweep.run_sweep(spec, workdir, log=lines.append, group_size=1)
  notes = [l for l in lines if l.startswith('note: resumed on ')]
  assert notes == ['note: resumed on vmap groups of [1, 1] members (it began with [2, 2]): '
                   'float rounding differs with them, and training can amplify it; the '
                   'rest trains as it would have, to float rounding, not bit for bit '
                   '(docs/distributed.md)']
  # sweep.json keeps the devices it began on, and adds each resume's.
  recorded = files.read_json(os.path.join(workdir, files.SWEEP))
  assert recorded['devices'] == [str(d) for d in jax.devices()]
  assert recorded['resumed'] == [{'after_chunks': 1, 'processes': 1,
                                  'devices': [str(d) for d in jax.devices()]}]


def _member_a_wave(spec):
  """(the sweep's plan.json buckets in one wave each, a --max_memory_gb that holds one
  member a wave but not two) from the memory estimate, whatever it is."""
  buckets = prepare_lib.prepare(spec).plan_json['buckets']
  assert {b['wave_size'] for b in buckets} == {2}
  return buckets, 0.75 * min(b['estimated_bytes_per_member'] * 2 for b in buckets) / 2**30


def test_a_sweep_resumes_in_the_waves_it_began_with_whatever_the_budget(tmp_path):
  """Checkpointed in the waves a --max_memory_gb cut (2 a bucket: one half trained, one
  not begun) and resumed without it, whose budget plans one wave a bucket: the sweep
  trains on in its waves, says so, and ends as it would have uninterrupted."""
  spec = dataclasses.replace(SPEC, train_steps=4)  # 2 buckets of 2 members, 2 chunks.
  _, budget = _member_a_wave(spec)
  whole = str(tmp_path / 'whole')
  sweep.run_sweep(spec, whole, max_memory_gb=budget, log=lambda _: None)
  assert [b['num_waves'] for b in files.read_json(os.path.join(whole, files.PLAN))[
      'buckets']] == [2, 2]
  workdir = str(tmp_path / 'wd')
  assert _interrupt(spec, workdir, 'chunk 4/', max_memory_gb=budget) == 3
  lines = []
  sweep.run_sweep(spec, workdir, log=lines.append)
  assert [l for l in lines if l.startswith('note: resuming')] == [
      'note: resuming in the waves it began with (bucket 0: 2 waves of 1; bucket 1: 2 '
      'waves of 1); the default budget (half this machine\'s memory, '
      f'{probe.default_memory_gb():.3g} GB) would plan 1 wave of 2, 1 wave of 2 '
      'respectively']
  assert_same(outcome(whole), outcome(workdir))


def test_a_tpe_rounds_asked_after_a_resume_are_planned_by_the_budget_it_began_with(
    tmp_path):
  """A TPE sweep whose --max_memory_gb cut each round into 2 waves of 1 member, stopped
  in round 0 and resumed without it (the default budget plans 1 wave of 2): round 1,
  never checkpointed, is planned as the uninterrupted sweep planned it, by the budget
  recorded in plan.json, and the sweep ends the same."""
  spec = dataclasses.replace(SPEC, search='tpe', rounds=2, num_members=2, cell='lstm',
                             learning_rate='loguniform(3e-3,3e-2)', train_steps=4)
  _, budget = _member_a_wave(spec)
  whole = str(tmp_path / 'whole')
  sweep.run_sweep(spec, whole, max_memory_gb=budget, log=lambda _: None)
  def waves_of(workdir):  # And the budget recorded for a resume after this one.
    plan = files.read_json(os.path.join(workdir, files.PLAN))
    return plan['memory_budget_gb'], [(b['wave_size'], b['num_waves'])
                                      for b in plan['buckets']]
  assert waves_of(whole) == (budget, [(1, 2), (1, 2)])
  workdir = str(tmp_path / 'wd')
  assert _interrupt(spec, workdir, 'chunk 3/', max_memory_gb=budget) == 2
  assert 'resuming' in _run(spec, workdir)
  assert waves_of(workdir) == waves_of(whole)
  assert_same(outcome(whole), outcome(workdir))


def test_a_tpe_round_asked_after_a_resume_over_the_budget_now_is_said_so(tmp_path):
  """A TPE sweep begun in 1 wave of 2 a round (the default budget), stopped in round 0
  and resumed under a --max_memory_gb that holds 1 member a wave: round 1, asked after
  the resume, is planned by the budget it began with (1 wave of 2), over the budget now,
  and the log says so when it is asked."""
  spec = dataclasses.replace(SPEC, search='tpe', rounds=2, num_members=2, cell='lstm',
                             learning_rate='loguniform(3e-3,3e-2)', train_steps=4)
  buckets, budget = _member_a_wave(spec)
  workdir = str(tmp_path / 'wd')
  assert _interrupt(spec, workdir, 'chunk 2/') == 1  # Round 0's last chunk lost.
  lines = []
  sweep.run_sweep(spec, workdir, max_memory_gb=budget, log=lines.append)
  over = buckets[0]['estimated_bytes_per_member'] * 2 / 2**30
  # Round 0's waves, kept, are said once by the resume's note, not again here.
  assert [l for l in lines if 'planned by the budget the sweep began' in l] == [
      f'note: bucket 1: waves of 2 members, planned by the budget the sweep began with, are '
      f'estimated at {over:.3g} GB, over --max_memory_gb={budget:g}: they run, and may run '
      'out of memory']


def test_waves_kept_over_the_budget_now_are_said_so():
  """A sweep resumed under a --max_memory_gb that its waves are estimated over: the
  note says so, in place of the smallest waves' note, which is not theirs."""
  spec = dataclasses.replace(SPEC, train_steps=4)
  buckets, budget = _member_a_wave(spec)
  small = prepare_lib.prepare(spec, max_memory_gb=budget)
  kept = prepare_lib.with_rounds(dataclasses.replace(small, wave_sizes=(2, 2)), (), budget)
  assert [r.uids for r in kept.runs] == [(0, 1), (2, 3)]
  assert not waves.wave_notes(kept.plan_json)
  over = [b['estimated_bytes_per_member'] * 2 / 2**30 for b in buckets]
  assert resume._waves_note(kept, budget) == (  # pylint: disable=protected-access
      'note: resuming in the waves it began with (bucket 0: 1 wave of 2; bucket 1: 1 '
      f'wave of 2); --max_memory_gb={budget:g} would plan 2 waves of 1, 2 waves of 1 '
      f'respectively; bucket 0\'s are estimated at {over[0]:.3g} GB, over it: they run, '
      f'and may run out of memory; bucket 1\'s are estimated at {over[1]:.3g} GB, over '
      'it: they run, and may run out of memory')


def test_a_resumed_sweeps_wall_time_adds_the_stopped_process(tmp_path):
  """summary.json's timing counts every process that trained the sweep: the time the
  stopped one spent up to its last checkpoint (kept in it) and the resumed one's."""
  spec = dataclasses.replace(SPEC, train_steps=8)  # 2 buckets of 4 chunks.
  workdir = str(tmp_path / 'wd')
  def slow(line):
    if line.startswith('chunk 1/'):
      time.sleep(1.5)  # Before chunk 1's checkpoint: counted.
    if line.startswith('chunk 3/'):
      raise _Stop(line)
  with pytest.raises(_Stop):
    sweep.run_sweep(spec, workdir, log=slow)
  timing = sweep.run_sweep(spec, workdir, log=lambda _: None)['timing']
  assert timing['processes'] == 2
  assert timing['total_s'] - timing['this_process_s'] >= 1.5, timing
  # The sweep's first chunk, trained by the first process.
  assert timing['first_chunk_s'] < timing['total_s'] - timing['this_process_s'], timing


def test_waves_kept_that_the_devices_cannot_share_are_refused_before_restoring(tmp_path):
  """A sweep checkpointed on 1 device in waves of 1 member (a --max_memory_gb cut them),
  resumed on 2 devices (a new process: the device count is fixed at JAX's start): the
  waves it began with, which it would resume in, do not divide among them. Refused in one
  line before anything is restored or cut back, the work directory as it was."""
  _, budget = _member_a_wave(SPEC)
  workdir = str(tmp_path / 'wd')
  assert _interrupt(SPEC, workdir, 'chunk 3/', max_memory_gb=budget) == 2
  before = {name: open(os.path.join(workdir, name), 'rb').read()
            for name in (files.METRICS, files.PLAN)}
  proc = subprocess.run(
      [sys.executable, '-m', 'experiments.population_sweep', f'--workdir={workdir}',
       *ARGS[:-2], '--cpu_devices=2', '--figures=false'], cwd=ROOT, capture_output=True,
      text=True, timeout=240,
      env={**os.environ, 'PYTHONPATH': ROOT, 'XLA_FLAGS': os.environ['RNNJAX_TEST_XLA_FLAGS']})
  assert (proc.returncode, proc.stderr.splitlines()[-1:]) == (2, [
      'error: --cpu_devices: this sweep\'s checkpoint holds populations of 1 rows, which 2 '
      'devices cannot share equally; resume it on a number of devices that divides it (1 '
      'always does: e.g. --cpu_devices=1)']), proc.stdout + proc.stderr
  assert 'resuming' not in proc.stdout
  assert _checkpoints(workdir) == [1, 2]
  assert before == {name: open(os.path.join(workdir, name), 'rb').read() for name in before}


def test_a_device_count_that_cannot_share_a_checkpoint_names_what_set_it():
  """Two processes of --cpu_devices=1 each make 2 devices: --cpu_devices alone did not,
  and one process is the fix; off CPU, the platform's own way to show one device."""
  from rnnjax.run import resume  # pylint: disable=g-import-not-at-top
  assert resume.uneven_devices(9, devices=2, processes=2, platform='cpu') == (
      '--distributed, --cpu_devices: this sweep\'s checkpoint holds populations of 9 '
      'rows, which 2 devices (2 processes x 1 device each) cannot share equally; resume '
      'it on a number of devices that divides it (1 always does: e.g. one process, '
      '--distributed=off, with --cpu_devices=1)')
  assert resume.uneven_devices(9, devices=2, processes=1, platform='cpu').startswith(
      '--cpu_devices: this sweep\'s checkpoint holds populations of 9 rows, which 2 '
      'devices cannot share')
  assert resume.uneven_devices(9, devices=2, processes=1, platform='gpu').endswith(
      '2 GPUs cannot share equally; resume it on a number of devices that divides it '
      '(1 always does: e.g. CUDA_VISIBLE_DEVICES=0 (ROCm: HIP_VISIBLE_DEVICES=0))')
  tpu = resume.uneven_devices(9, devices=4, processes=1, platform='tpu')
  assert '4 TPUs' in tpu and 'TPU_VISIBLE_CHIPS=0' in tpu and 'CUDA' not in tpu
  gpus = resume.uneven_devices(9, devices=4, processes=2, platform='gpu')
  assert gpus.endswith('(1 always does: e.g. one process, --distributed=off, with '
                       'CUDA_VISIBLE_DEVICES=0 (ROCm: HIP_VISIBLE_DEVICES=0))')

