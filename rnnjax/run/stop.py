"""Stopping a sweep on SIGINT / SIGTERM at a safe point, so that it resumes exactly.

Ctrl-C sends SIGINT; Slurm and Kubernetes send SIGTERM some time before they kill. Inside
`Stop()` neither raises: the first one is noted (and said at once on stderr, even while
the main thread waits on a compiled chunk), and the sweep asks `stop.check(where)` at
its safe points: after a chunk's checkpoint, and before the first chunk. `check`
raises `Stopped`, whose one-line message says where the sweep stopped and that the
same command resumes it; its `exit_code` is 128 + the signal's number (130 for SIGINT,
143 for SIGTERM), as a shell reports a process killed by that signal.

Work before the first chunk that writes nothing and may take hours (fitting a panel's
statsforecast benchmarks) runs inside `Stop.at_once`: there a signal raises `Stopped` at
once, with a line saying what is kept.

A second signal ends the process at once with that code (`os._exit`), unless it is the
first one delivered twice (`timeout` sends its signal to the process, then to the
process group): the same signal within `REPEAT_S` of the first counts once. That
corrupts nothing, for the same reasons a `kill -9` does not (see checkpoint.py):
checkpoints are written to a temporary directory and renamed when complete, JSON files
are replaced atomically, and metrics.jsonl is cut back on resume to what the last
checkpoint covers.

With several processes (distributed.py) every process must stop at the same chunk:
`check` is then a collective, and a signal received by any process stops them all.
Outside the main thread (no signal handlers can be set there) `Stop` does nothing, and a
signal the process was started to ignore stays ignored.

A signal noted while a sweep ends (after its last check: saving the final model) is left
for its caller: `unheeded()` gives it, and a comparison stops before its next sweep.

Work after a finished sweep (figures, tracking) has nothing to checkpoint: inside
`raising(doing)` either signal raises `Stopped` at once, its files are left whole
(files.atomic), and the same command writes them again.
"""

import contextlib
import os
import select
import signal
import sys
import threading
import time

import numpy as np

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The same signal again within this many seconds is the first one delivered twice (by
# `timeout`, microseconds apart), not a second request; a person's second Ctrl-C after
# reading the notice comes later.
REPEAT_S = 0.2


# The signal the last `Stop` noted and never raised, its body having ended first (a
# sweep finishing after it): see `unheeded`.
_unheeded = 0


def unheeded() -> int:
  """The signal the last `Stop` to end noted but never raised (0: none), forgotten once
  read: a caller that runs sweeps one after another (compare.py) stops before the next,
  where the sweep that noted it would only have stopped at its next chunk."""
  global _unheeded
  signum, _unheeded = _unheeded, 0
  return signum


class Stopped(BaseException):
  """The sweep stopped at a safe point on a signal; `exit_code` = 128 + signal number.
  Like KeyboardInterrupt, not an `Exception`: no `except Exception` that carries on
  past one failed figure or tracking call carries on past a stop."""

  def __init__(self, message: str, signum: int):
    super().__init__(message)
    self.exit_code = 128 + signum


def name(signum: int) -> str:
  return signal.Signals(signum).name


class Stop:
  """Context manager: SIGINT and SIGTERM noted, not raised; see the module docstring.

  on_exit: called (with no argument) just before a second signal ends the process, e.g.
    to release the work directory's lock.
  notify: where the first signal's notice goes (the sweep's log); the line of a second
    signal goes to stderr, the last thing the process says.
  until: where the notice says the process will stop.
  """

  def __init__(self, *, on_exit=None, notify=None,
               until: str = 'after the current chunk and its checkpoint'):
    self._on_exit = on_exit or (lambda: None)
    self._notify = notify or _to_stderr
    self._until = until  # Where the first signal's notice says the sweep will stop.
    self.signum = 0     # The first signal's number (0: none yet).
    self._seen = 0      # Signals the watching thread has read.
    self._first_at = 0.0  # When it read the first (time.monotonic()).
    self._active = False
    self._now = ''  # Inside `at_once`: the message a signal raises at once.
    self._raised = False
    self._kept = 'the last complete checkpoint is kept; run the same command to resume'

  @contextlib.contextmanager
  def at_once(self, where: str, then: str):
    """Inside, a signal raises `Stopped` at once in the main thread: "stopped by SIGTERM
    <where>; <then>", for work that writes nothing and may take long (fitting a panel's
    benchmarks before the first chunk). One noted before is raised on entry. One raised
    where Python drops it (a garbage-collection callback) is raised again by the next
    Python function called (`_raised_again`), and at the latest as the body ends. With
    several processes (every one must stop at the same point) signals stay noted."""
    if not self._active or self._several():
      yield
      return
    message, kept = self._now, self._kept
    self._now, self._kept = f'{where}; {then}', then
    try:
      if self.signum:
        self._raise(self.signum)
      with _raised_again() as pending:
        yield
      if pending:  # Raised where Python dropped it, and not again since.
        raise pending[0]
    finally:
      self._now, self._kept = message, kept

  @staticmethod
  def _several() -> bool:
    import jax  # pylint: disable=g-import-not-at-top
    return jax.process_count() > 1

  def _raise(self, signum):
    raise Stopped(f'stopped by {name(signum)} {self._now}', signum)

  def stopping(self, until: str) -> None:
    """Where a first signal's notice says the process will stop from now on (after
    training: `finish`'s safe points, not a chunk's)."""
    self._until = until

  def __enter__(self):
    if threading.current_thread() is not threading.main_thread():
      return self
    self._active = True
    # The C-level handler writes each signal's number to this pipe, even while the main
    # thread waits inside XLA (where Python handlers cannot run); a thread reads it.
    self._read, write = os.pipe()
    os.set_blocking(write, False)
    self._write = write
    self._quit_read, self._quit_write = os.pipe()
    # A signal the process was started to ignore (a script's background job ignores
    # SIGINT, as Python itself leaves it) stays ignored.
    self._old = {s: signal.signal(s, self._handler) for s in SIGNALS
                 if signal.getsignal(s) is not signal.SIG_IGN}
    self._old_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    self._thread = threading.Thread(target=self._watch, name='rnnjax-stop', daemon=True)
    self._thread.start()
    return self

  def __exit__(self, *exc):
    global _unheeded
    if not self._active:
      return False
    self._active = False
    _unheeded = self.signum if exc[0] is None else 0
    signal.set_wakeup_fd(self._old_wakeup)
    for s, old in self._old.items():
      signal.signal(s, old)
    os.write(self._quit_write, b'x')
    self._thread.join()
    for fd in (self._read, self._write, self._quit_read, self._quit_write):
      os.close(fd)
    return False

  def _handler(self, signum, frame):
    del frame  # Runs in the main thread, at once unless it waits inside XLA.
    self.signum = self.signum or signum
    if self._now and not self._raised:
      self._raised = True  # Once: a signal delivered twice must not cut the clean-up short.
      self._raise(self.signum)

  def _watch(self):
    while True:
      ready, _, _ = select.select([self._read, self._quit_read], [], [])
      if self._quit_read in ready:
        return
      for signum in os.read(self._read, 64):
        if signum not in SIGNALS:
          continue
        now = time.monotonic()
        if self._seen and signum == self.signum and now - self._first_at < REPEAT_S:
          continue
        self._seen += 1
        if self._seen == 1:
          self._first_at = now
          self.signum = self.signum or signum
          # Else the main thread raises (or raised: `at_once` may have ended before this
          # thread read the signal), and its line says so.
          if not self._now and not self._raised:
            self._say(self._notify, f'{name(signum)} received: stopping {self._until} '
                      '(send it again to stop at once)')
        else:
          self._say(_to_stderr, f'rnnjax: {name(signum)} received again: stopped at once; '
                    f'{self._kept}')
          try:
            self._on_exit()
          finally:
            os._exit(128 + signum)  # pylint: disable=protected-access

  @staticmethod
  def _say(say, line):
    try:
      say(line)
      sys.stdout.flush()  # Seen at once, also in a log file.
    except (OSError, ValueError):
      pass  # A closed stderr must not keep the sweep from stopping.

  def requested(self) -> int:
    """The first signal's number, on any process of the sweep (0: none)."""
    import jax  # pylint: disable=g-import-not-at-top
    if jax.process_count() == 1:
      return self.signum
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    return int(np.max(multihost_utils.process_allgather(np.int32(self.signum))))

  def check(self, where: str) -> None:
    """Raises `Stopped` if a signal came: "stopped by SIGTERM <where>; ..."."""
    signum = self.requested()
    if signum:
      raise Stopped(f'stopped by {name(signum)} {where}; run the same command to resume',
                    signum)


@contextlib.contextmanager
def raising(doing: str):
  """SIGINT and SIGTERM raise `Stopped` at once: "SIGTERM received while <doing>; ...".

  A handler runs wherever the main thread is, also inside a garbage-collection or weakref
  callback, whose exception Python drops ("Exception ignored in ...") and carries on: such
  a `Stopped` is raised again by the next Python function called (a one-shot trace
  function), and in any case when the body ends, so a signal never ends in exit status 0.
  """
  fired = []
  said = lambda signum: Stopped(f'{name(signum)} received while {doing}; the sweep\'s '
                                'results are saved: run the same command to write the rest',
                                signum)

  def handler(signum, frame):
    del frame
    fired.append(signum)
    raise said(signum)

  old = {}
  main = threading.current_thread() is threading.main_thread()
  if main:
    old = {s: signal.signal(s, handler) for s in SIGNALS
           if signal.getsignal(s) is not signal.SIG_IGN}
  try:
    with _raised_again(main):
      yield
  finally:
    for s, handler_before in old.items():
      signal.signal(s, handler_before)
  if fired:  # Raised where Python dropped it, and not again since: the body went on.
    raise said(fired[0])


@contextlib.contextmanager
def _raised_again(main: bool = True):
  """Inside, a `Stopped` that Python drops (raised by a signal handler inside a
  garbage-collection or weakref callback: "Exception ignored in ...") is raised again by
  the next Python function called (a one-shot trace function), not printed as a
  traceback and forgotten. Only in the main thread, where handlers run. Yields the list
  of those dropped and not yet raised again."""
  pending = []  # Dropped and not raised again yet: what the caller may raise at its end.
  if not main:
    yield pending
    return
  hook_before = sys.unraisablehook

  def dropped(unraisable):
    if not isinstance(unraisable.exc_value, Stopped):
      hook_before(unraisable)
      return
    exc, trace_before = unraisable.exc_value, sys.gettrace()
    pending.append(exc)

    def again(frame, event, arg):
      del frame, event, arg
      sys.settrace(trace_before)
      pending.remove(exc)
      raise exc
    sys.settrace(again)

  sys.unraisablehook = dropped
  try:
    yield pending
  finally:
    sys.unraisablehook = hook_before


def _to_stderr(line: str) -> None:
  print(line, file=sys.stderr, flush=True)


class Never:
  """A `Stop` that never stops (for callers that handle signals themselves)."""
  signum = 0

  def check(self, where: str) -> None:
    del where

  def stopping(self, until: str) -> None:
    del until

  def at_once(self, where: str, then: str):
    del where, then
    return contextlib.nullcontext()
