"""Sweeps stopped on purpose or by their machine end in one line, and resume exactly.

SIGINT / SIGTERM (stop.py), a second process on the same work directory (lock.py), and a
full disk during a checkpoint, through real processes as a user meets them, each compared
with one uninterrupted in-process run of the same one-bucket sweep (1 CPU device and the
same XLA flags as the test process, so results agree to float rounding). The run that
finishes what the stopped processes left is the same command's main in this process.
The unit tests of stop.py come first.
"""

import dataclasses
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import types

import pytest

from experiments import population_sweep
from rnnjax import errors
from rnnjax.engine import sharding
from rnnjax.errors import WriteError
from rnnjax.results import files
from rnnjax.run import stop
from rnnjax.run import sweep
from tests import entry_points
from tests.outcomes import assert_same
from tests.outcomes import outcome

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ['--dataset=shampoo_sales', '--classical_baselines=false',
        '--lookback=4', '--val_size=6', '--test_size=6',
        '--cell=gru', '--hidden_size=6', '--batch_size=4',
        '--learning_rate=grid(3e-3,3e-2)', '--dropout=0.1', '--train_steps=1200',
        '--eval_every=200', '--cpu_devices=1', '--figures=false']
SPEC = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                       cell='gru', hidden_size='6', batch_size='4',
                       learning_rate='grid(3e-3,3e-2)', dropout='0.1', train_steps=1200,
                       eval_every=200)
CHUNKS = 6


def test_a_signal_is_noted_and_checked_not_raised():
  before = signal.getsignal(signal.SIGINT)
  with stop.Stop(notify=lambda _: None) as stopper:
    stopper.check('anywhere')  # Nothing yet.
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.time() + 5
    while not stopper.signum and time.time() < deadline:
      time.sleep(0.01)
    with pytest.raises(stop.Stopped, match='^stopped by SIGTERM after chunk 3; run the '
                       'same command to resume$') as e:
      stopper.check('after chunk 3')
    assert e.value.exit_code == 143
  assert signal.getsignal(signal.SIGINT) is before  # Restored.


@pytest.mark.usefixtures('default_signals')  # Under nohup SIGINT is ignored, rightly.
def test_a_signal_noted_but_never_checked_is_left_for_the_caller():
  """A sweep that ends after a signal came (saving its final model) never raises it:
  `unheeded` gives it once, for a caller that would start another (compare.py)."""
  stop.unheeded()
  with stop.Stop(notify=lambda _: None) as stopper:
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.time() + 5
    while not stopper.signum and time.time() < deadline:
      time.sleep(0.01)
  assert stop.unheeded() == signal.SIGINT and stop.unheeded() == 0
  with pytest.raises(stop.Stopped):  # Raised, it is not left for anyone.
    with stop.Stop(notify=lambda _: None) as stopper:
      os.kill(os.getpid(), signal.SIGTERM)
      while not stopper.signum:
        time.sleep(0.01)
      stopper.check('here')
  assert stop.unheeded() == 0


def test_one_signal_delivered_twice_counts_once_and_a_later_one_ends_the_process(
    monkeypatch):
  """`timeout` sends its signal to the process and then to its group: the sweep must
  still stop at its next safe point, not at once. A second signal later does end it."""
  exits = []
  monkeypatch.setattr(os, '_exit', exits.append)  # The watching thread's exit.
  with stop.Stop(notify=lambda _: None) as stopper:
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.time() + 5
    while not stopper.signum and time.time() < deadline:
      time.sleep(0.01)
    time.sleep(0.1)  # The watching thread has read both.
    assert stopper.signum == signal.SIGTERM and not exits
    time.sleep(stop.REPEAT_S)
    os.kill(os.getpid(), signal.SIGTERM)
    while not exits and time.time() < deadline:
      time.sleep(0.01)
  assert exits == [143]


def test_a_signal_inside_at_once_raises_there_and_says_what_is_kept(monkeypatch):
  """Fitting a panel's benchmarks (hours on long series) stops at once, before any chunk,
  with a line that says so; a second signal's line claims no checkpoint."""
  exits, lines = [], []
  monkeypatch.setattr(os, '_exit', exits.append)
  monkeypatch.setattr(stop, '_to_stderr', lines.append)
  notices = []
  with stop.Stop(notify=notices.append) as stopper:
    with stopper.at_once('while fitting, before training anything', 'nothing was written'):
      with pytest.raises(stop.Stopped, match='^stopped by SIGTERM while fitting, before '
                         'training anything; nothing was written$') as e:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # The handler raises in this thread long before.
      assert e.value.exit_code == 143
      time.sleep(stop.REPEAT_S + 0.1)
      os.kill(os.getpid(), signal.SIGTERM)  # Another, during the clean-up: at once.
      deadline = time.time() + 5
      while not exits and time.time() < deadline:
        time.sleep(0.01)
    with pytest.raises(stop.Stopped, match='^stopped by SIGTERM later; then$'):
      with stopper.at_once('later', 'then'):  # One noted before: raised on entry.
        pass
  assert exits == [143] and not notices  # The raised line is the first signal's.
  assert lines == ['rnnjax: SIGTERM received again: stopped at once; nothing was written']


def test_a_signal_raised_at_once_is_not_also_noticed_when_read_late(monkeypatch):
  """The watching thread read a signal after the main thread had raised it at once and
  left `at_once` (a loaded machine): it printed 'SIGINT received: stopping after the
  current chunk and its checkpoint' before the line saying it stopped while fitting the
  benchmarks (a user's finding). A signal raised at once is said once, by that line."""
  real = select.select

  def late(*args):  # The thread is scheduled after the main thread has left at_once.
    ready = real(*args)
    time.sleep(0.5)
    return ready
  monkeypatch.setattr(stop, 'select', types.SimpleNamespace(select=late))
  notices = []
  with stop.Stop(notify=notices.append) as stopper:
    with pytest.raises(stop.Stopped, match='^stopped by SIGTERM while fitting'):
      with stopper.at_once('while fitting, before training anything', 'nothing was written'):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # The handler raises in this thread long before.
    time.sleep(1)  # The thread reads it now.
  assert notices == []


@pytest.mark.usefixtures('default_signals')  # Under nohup SIGINT is ignored, rightly.
def test_a_signal_python_drops_inside_a_callback_still_stops_the_figures():
  """A Ctrl-C while figures are drawn whose handler runs inside a weakref or __del__
  callback: Python prints 'Exception ignored' and carries on. The stop is raised again
  by the next function called, not lost (the sweep had drawn every figure and exited 0)."""

  class Drops:
    def __del__(self):
      signal.raise_signal(signal.SIGINT)  # The handler runs here; its exception is dropped.

  def figure(i):
    return i

  drawn, hook = [], sys.unraisablehook
  with pytest.raises(stop.Stopped, match='^SIGINT received while drawing') as raised:
    with stop.raising('drawing figures'):
      Drops()
      for i in range(3):
        drawn.append(figure(i))
  assert raised.value.exit_code == 130 and drawn == []
  assert sys.unraisablehook is hook
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_the_process_ignores_stays_ignored():
  """A sweep started as a script's background job (SIGINT ignored) is not stopped by a
  SIGINT, as Python leaves it; SIGTERM still stops it at a safe point."""
  before = signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    with stop.Stop(notify=lambda _: None) as stopper:
      assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
      os.kill(os.getpid(), signal.SIGINT)
      time.sleep(0.2)
      stopper.check('anywhere')  # Ignored: nothing noted.
      assert stopper.signum == 0
      assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # Taken over.
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
  finally:
    signal.signal(signal.SIGINT, before)


def _start(workdir, *extra):
  env = {**os.environ, 'PYTHONPATH': ROOT}
  log = f'{workdir}-{time.monotonic_ns()}'
  # Files, not pipes: a full pipe would stall it.
  proc = subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={workdir}', *ARGS, *extra], cwd=ROOT, env=env,
                          stdout=open(f'{log}.out', 'w'), stderr=open(f'{log}.err', 'w'))
  proc.log = log
  return proc


def test_output_into_a_pipe_whose_reader_ends_stops_in_one_line(tmp_path):
  """`... | head -1`: the sweep's next line meets a closed pipe; it stops with one line
  saying so and how to resume (exit status 1), no BrokenPipeError traceback, and the
  same command resumes the work directory."""
  workdir = str(tmp_path / 'piped')
  proc = subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={workdir}', *ARGS], cwd=ROOT,
                          env={**os.environ, 'PYTHONPATH': ROOT}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  first = proc.stdout.readline()
  proc.stdout.close()  # As head does, after its line.
  err = proc.stderr.read()
  proc.wait(timeout=240)
  # Its first line: the data's note (shampoo sales trend past their train part).
  assert first.startswith("validation: 3 of the 6 values of 'Sales' lie outside"), first
  assert proc.returncode == 1, err
  assert err.splitlines()[-1] == (
      "rnnjax: stopped: the output's reader closed it (a pipe into head?); the work "
      'directory keeps its last checkpoint: run the same command to resume'), err
  assert 'Traceback' not in err, err


def _wait(proc, timeout=240):
  proc.wait(timeout=timeout)
  return proc.returncode, open(f'{proc.log}.out').read(), open(f'{proc.log}.err').read()


def _finish_here(workdir, capsys, monkeypatch):
  """(exit status, stdout, stderr) of the same command run to its end in this process
  (tests/entry_points.py), after the real processes that were stopped: what is resumed
  is the work directory they left, and this process has the programs compiled."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  capsys.readouterr()
  code = entry_points.run_main(population_sweep.main, [
      'population_sweep', f'--workdir={workdir}', *ARGS])
  out = capsys.readouterr()
  return code, out.out, out.err


def _checkpoints(workdir):
  path = os.path.join(workdir, 'checkpoints')
  return sorted(int(d) for d in os.listdir(path) if d.isdigit()) if os.path.isdir(path) else []


def _pause_after(proc, workdir, num_chunks, settle=0.0):
  """Pauses the sweep (SIGSTOP) once `num_chunks` checkpoints have been written (and
  `settle` seconds more: into the next chunk's training), so that what is sent next
  reaches it mid-sweep, however fast its chunks run."""
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    steps = _checkpoints(workdir)
    if steps and steps[-1] >= num_chunks:
      time.sleep(settle)
      proc.send_signal(signal.SIGSTOP)
      break
    time.sleep(0.002)
  assert proc.poll() is None, 'the sweep ended before it was paused'


def _signal_after(proc, workdir, num_chunks, *signums):
  """Sends `signums` (one at a time, while it runs) once `num_chunks` checkpoints have
  been written."""
  _pause_after(proc, workdir, num_chunks)
  for s in signums:
    proc.send_signal(s)
    proc.send_signal(signal.SIGCONT)
    time.sleep(0.02)


def _one_line(err):
  lines = [l for l in err.splitlines() if l.strip()]
  assert len(lines) == 1 and 'Traceback' not in err, err
  return lines[0]


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('stop') / 'reference')
  sweep.run_sweep(SPEC, workdir, log=lambda _: None)
  return outcome(workdir)


@pytest.mark.usefixtures('default_signals')
def test_sigint_in_process_stops_after_the_chunk_and_resumes(reference, tmp_path):
  workdir = str(tmp_path / 'wd')

  def log(line):  # Ctrl-C while chunk 3 is being recorded.
    if line.startswith('chunk 3/'):
      os.kill(os.getpid(), signal.SIGINT)
      time.sleep(0.2)  # The watching thread notes it.
  with pytest.raises(stop.Stopped, match=r'^stopped by SIGINT after chunk 3 of 6 '
                     r'\(checkpoint 3 in .*checkpoints\); run the same command') as e:
    sweep.run_sweep(SPEC, workdir, log=log)
  assert e.value.exit_code == 130
  assert _checkpoints(workdir) == [1, 2, 3]
  assert not os.path.exists(os.path.join(workdir, 'sweep.lock'))  # Released.
  sweep.run_sweep(SPEC, workdir, log=lambda _: None)
  assert_same(outcome(workdir), reference)


@pytest.mark.usefixtures('default_signals')
def test_sigint_then_sigterm_mid_bucket_then_resume_is_identical(reference, tmp_path,
                                                                  capsys, monkeypatch):
  """Ctrl-C after 2 chunks (a second sweep on the work directory meanwhile refused),
  SIGTERM after 4, and a third run finishes: as if uninterrupted."""
  workdir = str(tmp_path / 'wd')
  first = _start(workdir)
  _pause_after(first, workdir, 2)
  second = _start(workdir)  # The same command again, while the first runs.
  code, _, err = _wait(second)
  assert code == 2
  assert f'is in use by process {first.pid} on host' in _one_line(err)
  first.send_signal(signal.SIGINT)
  first.send_signal(signal.SIGCONT)
  code, out, err = _wait(first)
  assert code == 130, err
  line = _one_line(err)
  assert line.startswith('rnnjax: stopped by SIGINT after chunk ')
  assert ' of 6 (checkpoint ' in line and 'after chunk 6 ' not in line
  assert line.endswith('run the same command to resume')
  assert 'SIGINT received: stopping after the current chunk' in out
  assert not os.path.exists(os.path.join(workdir, 'summary.json'))
  assert not os.path.exists(os.path.join(workdir, 'sweep.lock'))

  resumed = _start(workdir)
  _signal_after(resumed, workdir, 4, signal.SIGTERM)
  code, out, err = _wait(resumed)
  assert code == 143, err
  assert 'rnnjax: stopped by SIGTERM after chunk ' in _one_line(err)
  assert 'resuming' in out

  code, out, err = _finish_here(workdir, capsys, monkeypatch)
  assert code == 0, err
  assert_same(outcome(workdir), reference)


@pytest.mark.usefixtures('default_signals')
def test_second_ctrl_c_stops_at_once_and_corrupts_nothing(reference, tmp_path, capsys,
                                                           monkeypatch):
  workdir = str(tmp_path / 'wd')
  # The second Ctrl-C must land while the chunk the first one came in still trains; the
  # notice (read by the sweep's watcher thread) can come after a short chunk has ended, and
  # the first then stops the sweep there, as it should (the second then lands in its
  # unwinding: 'interrupted'). That misses what is tested here, so the setup is tried
  # again two chunks later in the same sweep (resumed, it writes the next checkpoint
  # first; its outcome must still be the uninterrupted one's).
  for chunk in (3, 5):
    proc = _start(workdir)
    _pause_after(proc, workdir, chunk - 1, settle=0.05)  # In the chunk's training.
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGCONT)
    deadline = time.time() + 30
    while 'SIGINT received' not in open(f'{proc.log}.out').read() and time.time() < deadline:
      time.sleep(0.002)
    # Before the chunk ends (the first would stop it there), and later than a repeat of
    # the first delivery would come.
    proc.send_signal(signal.SIGSTOP)
    time.sleep(stop.REPEAT_S + 0.1)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGCONT)
    started = time.time()
    code, _, err = _wait(proc, timeout=30)
    assert code == 130 and time.time() - started < 5, err
    missed = _one_line(err).startswith((f'rnnjax: stopped by SIGINT after chunk {chunk} of ',
                                        'rnnjax: interrupted; '))
    if not missed:
      break
  assert 'SIGINT received again: stopped at once' in _one_line(err)
  assert not os.path.exists(os.path.join(workdir, 'sweep.lock'))
  code, out, err = _finish_here(workdir, capsys, monkeypatch)
  assert code == 0, err
  assert_same(outcome(workdir), reference)


def _fill(directory, leave_bytes):
  """Fills the file system of `directory` but `leave_bytes`; returns the filler."""
  stat = os.statvfs(directory)
  filler = os.path.join(directory, 'filler')
  with open(filler, 'wb') as f:
    f.write(b'\0' * max(0, stat.f_bavail * stat.f_frsize - leave_bytes))
  return filler


@pytest.fixture
def small_disk(tmp_path):
  """A 4 MB tmpfs (the tests run as root); skipped where mounting is not allowed."""
  mount = tmp_path / 'disk'
  mount.mkdir()
  if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', str(mount)],
                    capture_output=True, check=False).returncode:
    pytest.skip('cannot mount a tmpfs here')
  yield mount
  subprocess.run(['umount', str(mount)], check=False)


def test_full_disk_during_a_checkpoint_keeps_the_last_and_resumes(reference, small_disk,
                                                                   capsys, monkeypatch):
  """The disk fills while the sweep is paused after checkpoint 2, leaving room for a
  chunk's records but not for a checkpoint: one line, checkpoint 2 intact, and once
  space is freed the same command resumes from it."""
  workdir = str(small_disk / 'wd')
  proc = _start(workdir)
  _pause_after(proc, workdir, 2)
  filler = _fill(str(small_disk), 24 << 10)
  proc.send_signal(signal.SIGCONT)
  code, _, err = _wait(proc)
  assert code == 2, err
  line = _one_line(err)
  assert line.startswith('error: --workdir: could not write checkpoint ')
  assert '(No space left on device); the last complete checkpoint, ' in line
  assert line.endswith('make room and run the same command to resume')
  kept = int(line.split('the last complete checkpoint, ')[1].split(',')[0])
  assert kept >= 2 and _checkpoints(workdir)[-1] == kept  # No partial step left.
  os.unlink(filler)
  code, out, err = _finish_here(workdir, capsys, monkeypatch)
  assert code == 0, err
  assert f'resuming {workdir}: {kept} of 6 chunks were done' in out
  assert_same(outcome(workdir), reference)


def test_metrics_that_cannot_be_written_stop_the_sweep_in_one_line(reference, tmp_path,
                                                                  monkeypatch):
  """Injected: the metrics file's device fills at chunk 3; checkpoints 1 and 2 are kept
  and the re-run resumes from them."""
  workdir = str(tmp_path / 'wd')
  write, calls = files.MetricsWriter.write, []

  class Full:
    """A file on a full device."""
    def __init__(self, file):
      self._file = file

    def write(self, text):
      raise OSError(28, os.strerror(28))

    def close(self):
      self._file.close()
      raise OSError(28, os.strerror(28))

  def filling(self, records):
    calls.append(1)
    if len(calls) == 3:
      self._file = Full(self._file)  # pylint: disable=protected-access
    write(self, records)
  monkeypatch.setattr(files.MetricsWriter, 'write', filling)
  with pytest.raises(WriteError, match=r'^--workdir: could not write .*metrics.jsonl \(No '
                     r'space left on device\); make room .* run the same command to resume'):
    sweep.run_sweep(SPEC, workdir, log=lambda _: None)
  assert _checkpoints(workdir) == [1, 2]
  assert not os.path.exists(os.path.join(workdir, 'sweep.lock'))
  monkeypatch.setattr(files.MetricsWriter, 'write', write)
  sweep.run_sweep(SPEC, workdir, log=lambda _: None)
  assert_same(outcome(workdir), reference)


def test_work_directory_removed_mid_sweep_is_one_line(tmp_path):
  workdir = tmp_path / 'wd'

  def log(line):
    if line.startswith('chunk 2/'):
      shutil.rmtree(workdir)
  with pytest.raises(WriteError, match=r'^--workdir: could not write .*\(No such file or '
                     r'directory\)'):
    sweep.run_sweep(dataclasses.replace(SPEC, train_steps=800), str(workdir), log=log)


@pytest.mark.usefixtures('default_signals')
def test_a_signal_in_the_refit_stops_there_and_the_same_command_finishes(tmp_path):
  """After training, the final model is made from checkpointed members: a SIGTERM in the
  refit stops the sweep after the refit's chunk (not at the end, with status 0), and the
  same command makes the final model again, as an uninterrupted sweep does."""
  spec = dataclasses.replace(SPEC, refit=1, ensemble_size=2)
  workdir = str(tmp_path / 'wd')

  def log(line):
    if line.startswith('refit: '):
      os.kill(os.getpid(), signal.SIGTERM)
  with pytest.raises(stop.Stopped, match=r'^stopped by SIGTERM in the refit, after training '
                     r'\(every chunk is checkpointed; the final model is made again\); run '
                     'the same command to resume$') as stopped:
    sweep.run_sweep(spec, workdir, log=log)
  assert stopped.value.exit_code == 143
  assert not os.path.exists(os.path.join(workdir, 'summary.json'))
  resumed = sweep.run_sweep(spec, workdir, log=lambda _: None)
  whole = sweep.run_sweep(spec, str(tmp_path / 'whole'), log=lambda _: None)
  assert resumed['final']['kind'] == 'refit'
  assert resumed['final']['test'] == whole['final']['test']
  assert resumed['final']['members'] == whole['final']['members']


@pytest.mark.usefixtures('default_signals')
def test_ctrl_c_in_the_first_second_stops_the_command_before_anything_is_written(tmp_path):
  """While the command imports JAX, a Ctrl-C raised could land in a garbage-collection
  callback, where Python drops it (the sweep then ran to its end, status 0): it is noted
  from the first line and stops the command once started."""
  workdir = str(tmp_path / 'wd')
  proc = _start(workdir)
  time.sleep(0.3)
  proc.send_signal(signal.SIGINT)
  code, _, err = _wait(proc, timeout=120)
  assert code == 130, err
  assert err.strip().splitlines()[-1].startswith('rnnjax: stopped by SIGINT ')
  assert not os.path.exists(os.path.join(workdir, 'summary.json'))


@pytest.mark.parametrize('code, fix', [(28, 'make room (or restore the directory)'),
                                       (13, 'make the directory writable (or choose another)'),
                                       (30, 'make the directory writable (or choose another)')])
def test_a_write_refused_says_what_would_let_it_through(code, fix):
  """A full disk asks for room; a directory the user may not write (permissions, a
  read-only file system) asks for it to be made writable, not for room."""
  with pytest.raises(WriteError, match=rf'^--workdir: could not write figures/x.png \('
                     rf'{os.strerror(code)}\); {re.escape(fix)} and run the same command'):
    with errors.writing('figures/x.png'):
      raise OSError(code, os.strerror(code))


def test_a_signal_inside_at_once_that_python_drops_is_raised_again():
  """A signal whose handler runs inside a garbage-collection callback (`__del__`):
  Python drops its exception ("Exception ignored in ..."), and the fit went on until the
  next chunk's check (a user's finding: a 10-line traceback, then hours more of fitting).
  It is raised again at once, as `raising` does after a sweep."""
  class Dropper:
    def __del__(self):
      os.kill(os.getpid(), signal.SIGTERM)
      deadline = time.time() + 5
      while time.time() < deadline:  # The handler raises here, inside __del__.
        pass
  with stop.Stop(notify=lambda _: None) as stopper:
    with pytest.raises(stop.Stopped, match='^stopped by SIGTERM while fitting; nothing'):
      with stopper.at_once('while fitting', 'nothing was written'):
        Dropper()  # Collected at once: its __del__ runs here.
        deadline = time.time() + 5
        while time.time() < deadline:
          time.sleep(0.01)  # A Python function called after the drop raises it.
          (lambda: None)()


def test_a_sweep_that_noted_a_signal_as_it_saved_its_model_exits_with_it(tmp_path,
                                                                         monkeypatch,
                                                                         capsys):
  """A signal after the sweep's last check (while its final model was saved) was noted,
  said ('stopping after the current chunk'), then ignored: figures drawn, exit status 0,
  which a scheduler reads as done. The command stops before its figures with 130."""
  from experiments import population_sweep  # pylint: disable=g-import-not-at-top
  from tests import entry_points  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)
  def finished_noting(*args, **kw):
    del args, kw
    stop._unheeded = signal.SIGINT  # pylint: disable=protected-access
  monkeypatch.setattr(sweep, 'run_sweep', finished_noting)
  drawn = []
  from rnnjax import figures  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(figures, 'make_all', drawn.append)
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  try:
    code = entry_points.run_main(population_sweep.main, [
        'population_sweep', f'--workdir={tmp_path / "wd"}', '--dataset=shampoo_sales'])
  finally:  # A command that stopped ignores both signals as it exits: not this process.
    for s, handler in before.items():
      signal.signal(s, handler)
  assert code == 130 and not drawn
  assert capsys.readouterr().err.strip() == (
      'rnnjax: stopped by SIGINT once the final model was saved; the sweep is finished: run '
      'the same command to write its figures and logs')
