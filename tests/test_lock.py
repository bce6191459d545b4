"""One sweep per work directory: the lock file, its holder, stale locks."""

import json
import os
import socket
import subprocess
import sys

import pytest

from rnnjax.errors import InputError
from rnnjax.run import lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_lock_names_its_holder_and_is_removed_with_the_directory_it_created(tmp_path):
  workdir = tmp_path / 'new' / 'wd'
  held = lock.acquire(str(workdir))
  holder = json.loads((workdir / lock.FILENAME).read_text())
  assert (holder['pid'], holder['host']) == (os.getpid(), socket.gethostname())
  with pytest.raises(InputError, match=rf'^--workdir: {workdir} is in use by process '
                     rf'{os.getpid()} on host {socket.gethostname()} since '):
    lock.acquire(str(workdir))  # Even from the same process: a second sweep.
  held.release()
  assert not workdir.exists()  # Created by the lock and left empty: removed.
  (tmp_path / 'kept').mkdir()
  with lock.acquire(str(tmp_path / 'kept')):
    (tmp_path / 'kept' / 'sweep.json').write_text('{}')
  assert os.listdir(tmp_path / 'kept') == ['sweep.json']


def test_another_process_holding_the_lock_is_named(tmp_path):
  code = ('import sys, time; from rnnjax.run import lock; l = lock.acquire(sys.argv[1]); '
          'print("held", flush=True); time.sleep(60)')
  holder = subprocess.Popen([sys.executable, '-c', code, str(tmp_path)], cwd=ROOT,
                            env={**os.environ, 'PYTHONPATH': ROOT}, stdout=subprocess.PIPE,
                            text=True)
  try:
    assert holder.stdout.readline().strip() == 'held'
    with pytest.raises(InputError, match=f'is in use by process {holder.pid} on host'):
      lock.acquire(str(tmp_path))
  finally:
    holder.kill()
    holder.wait()
  # Killed (-9): its lock file stays, but the process is gone: taken over, with a warning.
  warnings = []
  with lock.acquire(str(tmp_path), warn=warnings.append):
    assert json.loads((tmp_path / lock.FILENAME).read_text())['pid'] == os.getpid()
  assert len(warnings) == 1
  assert warnings[0].startswith(f'warning: taking over the lock of process {holder.pid} '
                                f'on host {socket.gethostname()} since ')
  assert 'which is gone' in warnings[0]


def test_stale_lock_of_a_reused_pid_is_taken_over(tmp_path):
  # Our own pid, but another start time: the process that wrote it is gone.
  (tmp_path / lock.FILENAME).write_text(json.dumps(
      {'pid': os.getpid(), 'host': socket.gethostname(), 'start_ticks': 1}))
  warnings = []
  lock.acquire(str(tmp_path), warn=warnings.append).release()
  assert len(warnings) == 1 and 'taking over' in warnings[0]


def test_lock_naming_a_live_unrelated_process_is_stale_unless_it_started_then(tmp_path):
  """A lock left by a dead sweep whose pid now belongs to another live process (here
  `sleep`): a start time other than that process's makes it stale; its own start time
  makes it held."""
  other = subprocess.Popen(['sleep', '30'])
  try:
    started = lock._start_ticks(other.pid)  # pylint: disable=protected-access
    assert started is not None
    holder = {'pid': other.pid, 'host': socket.gethostname()}
    (tmp_path / lock.FILENAME).write_text(json.dumps({**holder, 'start_ticks': started}))
    with pytest.raises(InputError, match=f'is in use by process {other.pid} on host'):
      lock.acquire(str(tmp_path))
    (tmp_path / lock.FILENAME).write_text(json.dumps({**holder,
                                                      'start_ticks': started - 1}))
    warnings = []
    lock.acquire(str(tmp_path), warn=warnings.append).release()
    assert len(warnings) == 1 and f'taking over the lock of process {other.pid}' in (
        warnings[0])
  finally:
    other.kill()
    other.wait()


def test_lock_of_another_host_is_refused(tmp_path):
  (tmp_path / lock.FILENAME).write_text(json.dumps({'pid': 1, 'host': 'elsewhere'}))
  with pytest.raises(InputError, match=r'locked by process 1 on host elsewhere, which '
                     r'cannot be checked from .*; if that process is gone, remove '):
    lock.acquire(str(tmp_path))
  assert (tmp_path / lock.FILENAME).exists()
