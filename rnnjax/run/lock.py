"""One sweep per work directory: a lock file naming the process that holds it.

`acquire(workdir)` creates WORKDIR/sweep.lock (and WORKDIR itself, if absent) holding
the holder's pid, host and start time, and keeps an exclusive `flock` on it while the
sweep runs; `release()` removes it (and WORKDIR again, if acquiring created it and
nothing else was written there). A second process on the same work directory is
refused with one line naming the holder.

A lock left by a process that died without releasing it (kill -9, a crash, a node that
went down) is stale. The kernel drops the `flock` of a dead process, so a lock file
whose flock can be taken is stale if it names a process on this host that is gone (or
a new process with the same pid); it is taken over with a warning. One naming another
host is refused: that host's processes cannot be seen from here (the message says how
to remove it once that process is known to be gone).

Multi-process sweeps (distributed.py) take the lock once, on process 0, which tells
every other process whether it got it (`acquire_once`).
"""

import errno
import fcntl
import json
import os
import socket
import time

import numpy as np

from rnnjax.errors import InputError
from rnnjax.results import files

FILENAME = files.LOCK


class Lock:
  """A held lock; `release()` when the sweep ends (any way but kill -9)."""

  def __init__(self, path: str, fd: int, created_dir: str | None):
    self.path, self._fd, self._created_dir = path, fd, created_dir

  def release(self) -> None:
    if self._fd is None:
      return
    try:
      os.unlink(self.path)  # While still held, so that no one locks the removed file.
    except OSError:
      pass
    os.close(self._fd)
    self._fd = None
    if self._created_dir:
      try:
        os.rmdir(self._created_dir)  # Only if nothing was written there.
      except OSError:
        pass

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.release()
    return False


class NoLock:
  """What processes other than 0 hold: nothing to release."""
  path = None

  def release(self) -> None:
    pass

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False


def _start_ticks(pid: int):
  """The process's start time since boot (clock ticks), None where /proc cannot tell."""
  try:
    with open(f'/proc/{pid}/stat', encoding='utf-8', errors='replace') as f:
      return int(f.read().rsplit(')', 1)[1].split()[19])
  except (OSError, ValueError, IndexError):
    return None


def _alive(holder: dict) -> bool:
  """Whether the holder (a process on this host) still runs."""
  pid = holder.get('pid')
  if not isinstance(pid, int) or pid <= 0:
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    pass  # Alive, under another user.
  started = holder.get('start_ticks')
  return started is None or _start_ticks(pid) in (None, started)  # Same pid, new process?


def describe(holder: dict) -> str:
  since = holder.get('since')
  when = time.strftime(' since %Y-%m-%d %H:%M:%S', time.localtime(since)) if since else ''
  return f'process {holder.get("pid")} on host {holder.get("host")}{when}'


def _read(fd: int) -> dict:
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 4096).decode(errors='replace')
  try:
    holder = json.loads(text)
    return holder if isinstance(holder, dict) else {}
  except ValueError:
    return {}


def acquire(workdir: str, *, warn=print) -> Lock:
  """Takes WORKDIR's lock, creating WORKDIR if absent; raises InputError if another
  live process holds it (see the module docstring)."""
  created = None
  if not os.path.isdir(workdir):
    os.makedirs(workdir)
    created = workdir
  path = os.path.join(workdir, FILENAME)
  try:
    return _take(path, created, warn)
  except BaseException:
    if created:
      try:
        os.rmdir(created)
      except OSError:
        pass
    raise


def _take(path: str, created, warn) -> Lock:
  host = socket.gethostname()
  for _ in range(10):  # Retried only when another process removed the file meanwhile.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      holder = _read(fd)
      os.close(fd)
      if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        raise InputError(f'--workdir: {os.path.dirname(path)} is in use by '
                         f'{describe(holder)} (its lock: {path}); wait for it to end, '
                         'or use another --workdir') from None
      raise
    try:
      same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
      same_file = False
    if not same_file:  # Released (removed) between our open and our flock: again.
      os.close(fd)
      continue
    holder = _read(fd)
    if holder:  # Left by a process that did not release it.
      if holder.get('host') != host:
        os.close(fd)
        raise InputError(f'--workdir: {os.path.dirname(path)} is locked by '
                         f'{describe(holder)}, which cannot be checked from {host}; if '
                         f'that process is gone, remove {path}')
      if _alive(holder) and holder.get('pid') != os.getpid():
        os.close(fd)
        raise InputError(f'--workdir: {os.path.dirname(path)} is in use by '
                         f'{describe(holder)} (its lock: {path}); wait for it to end, '
                         'or use another --workdir')
      warn(f'warning: taking over the lock of {describe(holder)}, which is gone '
           f'({path})')
    me = {'pid': os.getpid(), 'host': host, 'since': time.time(),
          'start_ticks': _start_ticks(os.getpid())}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(me).encode())
    os.fsync(fd)
    return Lock(path, fd, created)
  raise InputError(f'--workdir: could not lock {path}: other processes keep taking and '
                   'releasing it')


def acquire_once(workdir: str, *, check=None, warn=print):
  """`check(workdir)`, then `acquire`, on process 0 of a (possibly multi-process) sweep;
  every process raises the same InputError when either fails. Returns a `Lock`
  (process 0) or a `NoLock`."""
  import jax  # pylint: disable=g-import-not-at-top
  check = check or (lambda _: None)
  if jax.process_count() == 1:
    check(workdir)
    return acquire(workdir, warn=warn)
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  lock, problem = NoLock(), ''
  if jax.process_index() == 0:
    try:
      check(workdir)
      lock = acquire(workdir, warn=warn)
    except InputError as e:
      problem = str(e)
    except OSError as e:
      problem = f'--workdir: cannot lock {workdir} ({e.strerror})'
  message = np.zeros(1024, np.uint8)
  encoded = problem.encode()[:1024]
  message[:len(encoded)] = np.frombuffer(encoded, np.uint8)
  message = multihost_utils.broadcast_one_to_all(message)
  problem = bytes(np.asarray(message)).rstrip(b'\0').decode(errors='replace')
  if problem:
    raise InputError(problem)
  return lock
