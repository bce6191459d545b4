"""What a run of several processes checks as it starts, and how a lost peer is told apart.

`distributed.initialize` calls these around `jax.distributed.initialize`, whose own
failures end a process in C++ (a segfault, an abort) rather than in one line:

  check_manual_flags_unused(mode, ...)  before: --distributed=manual's flags given
                                        without it (N separate sweeps) are refused
  check_port_free(address)              before, on process 0: the coordinator's port is free
  exit_unless_joined(mode, timeout_s)   while joining: one line where not every process
                                        joins in time, before the runtime's abort; exit 2
                                        should the runtime hang instead
  check_process_count(given, ...)       after: every process gave the same --num_processes
  peer_lost(error, processes)           mid-run: whether a collective failed because
                                        another process stopped

Nothing here starts a JAX backend.
"""

import contextlib
import errno
import os
import socket
import sys
import threading

import jax

from rnnjax.errors import InputError


def check_manual_flags_unused(mode: str, *, coordinator_address: str = '',
                              num_processes: int = 0, process_id: int = -1) -> None:
  """Raises InputError where a flag of --distributed=manual is given with another mode,
  which would ignore it (a loop that forgets --distributed runs N separate sweeps)."""
  given = [flag for flag, value, unset in (
      ('--coordinator_address', coordinator_address, ''),
      ('--num_processes', num_processes, 0), ('--process_id', process_id, -1))
           if value != unset]
  if not given:
    return
  what = ('runs one process' if mode == 'off'
          else "reads the processes from the cluster's environment")
  raise InputError(f'{", ".join(given)}: given with --distributed={mode}, which {what} '
                   f'and would ignore {"it" if len(given) == 1 else "them"}; add '
                   '--distributed=manual (on every process), or leave '
                   f'{"it" if len(given) == 1 else "them"} out')


def check_port_free(coordinator_address: str) -> None:
  """Raises InputError unless process 0 can serve the coordinator at the address's port.

  The coordinator binds every address of this host at that port (`[::]:PORT`, or
  $JAX_COORDINATOR_BIND_ADDRESS); taken, gRPC fails in C++ ("Failed to add port") and
  the process crashes. The test binds the same way (SO_REUSEADDR, as gRPC does) and
  closes at once: a socket that never listened or connected leaves no TIME_WAIT, so
  the port stays free for the coordinator.
  """
  host, _, port_text = coordinator_address.rpartition(':')
  if not port_text.isdigit() or not 0 < int(port_text) < 65536:
    raise InputError(f'--coordinator_address: {coordinator_address!r}: the port '
                     f'{port_text!r} is not a number in 1..65535')
  bind = os.environ.get('JAX_COORDINATOR_BIND_ADDRESS') or f'[::]:{port_text}'
  bind_host, _, bind_port = bind.rpartition(':')
  bind_host = bind_host.strip('[]')
  if not bind_port.isdigit():
    return  # Let JAX judge a bind address it was given.
  try:
    infos = socket.getaddrinfo(bind_host or None, int(bind_port), type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
  except OSError:
    return
  if bind_host in ('::', '') and socket.has_ipv6:
    # Without IPv6 on the host, gRPC falls back to IPv4's wildcard, as this does.
    infos.append((socket.AF_INET, socket.SOCK_STREAM, 0, '', ('0.0.0.0', int(bind_port))))
  for family, kind, proto, _, address in infos:
    try:
      s = socket.socket(family, kind, proto)
    except OSError:
      continue
    with s:
      s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      if family == socket.AF_INET6:  # Both IPv6 and IPv4, as gRPC's [::] listener.
        try:
          s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        except OSError:
          pass
      try:
        s.bind(address)
      except PermissionError:
        raise InputError(f'--coordinator_address: port {bind_port} on {host} needs '
                         'privileges to serve; choose a port above 1023') from None
      except OSError as e:
        if e.errno == errno.EADDRINUSE:
          raise InputError(f'--coordinator_address: port {bind_port} on {host} is in use: '
                           'is another run\'s coordinator there? choose another port'
                           ) from None
        continue  # This family is not usable here (no IPv6): try the next.
      return


def check_process_count(given: list, count: int, index: int) -> None:
  """Raises InputError where the processes' --num_processes (`given`, by process) are
  not all `count`, the number the coordinator (process 0) started the run with.
  `index`: this process; the message says whether its own flag is the odd one."""
  wrong = [i for i, n in enumerate(given) if n != count]
  if not wrong:
    return
  if index in wrong:
    raise InputError(f'--num_processes: {given[index]} here (process {index}), but '
                     f'process 0 started the run with {count} processes; give every '
                     'process the same --num_processes')
  raise InputError(f'--num_processes: process(es) {wrong} were started with '
                   f'--num_processes={given[wrong[0]]}, this run has {count} processes; '
                   'give every process the same --num_processes')


# What the runtime's errors say when a collective lost a process (Gloo's TCP pairs, the
# coordination service's heartbeats), as against, say, a device out of memory; words
# as broad as 'unavailable' or 'barrier' would also take other failures for a lost peer.
_PEER_SIGNS = ('gloo', 'closed by peer', 'connection reset', 'heartbeat',
               'coordination service')


def peer_lost(error: BaseException, processes: int) -> str | None:
  """The first line of `error` where it is a collective's failure for want of another
  process (one died or was killed), in a run of several (`processes`, counted once
  joined: not asked of jax here, while handling a failure of its own); None for
  anything else, which keeps its traceback."""
  if processes < 2 or not isinstance(error, jax.errors.JaxRuntimeError):
    return None
  text = str(error).lower()
  return first_line(error) if any(sign in text for sign in _PEER_SIGNS) else None


# How long after its deadline the timer leaves the runtime to end a process that was
# not joined (jax 0.10 aborts about 5 s after it; other versions may take longer, and
# the deadline starts only once jax.distributed.initialize begins, after the timer):
# the timer is a fallback for a runtime that hangs instead, never ahead of it.
FALLBACK_MARGIN_S = 30


def _not_joined_text(mode: str, timeout_s: float) -> str:
  if mode == 'manual':
    return ('--num_processes, --process_id: not every process joined the run within '
            f'{timeout_s} s: check both on every process, and that each one was started')
  return (f'--distributed={mode}: not every task of the cluster job joined within '
          f'{timeout_s} s')


def _not_joined(joined: threading.Event, mode: str, timeout_s: float,
                final: bool) -> None:
  """The initialization timers: at the deadline, one line saying why the runtime's
  abort that follows comes (the process may yet join, or be ended by the runtime);
  `final`, the fallback, well after it: the same line, and exit 2."""
  if joined.is_set():
    return
  what = _not_joined_text(mode, timeout_s)
  if not final:
    print(f'rnnjax: {what}; the runtime ends this process unless they join now',
          file=sys.stderr, flush=True)
    return
  print(f'error: {what}', file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(2)  # pylint: disable=protected-access


@contextlib.contextmanager
def exit_unless_joined(mode: str, timeout_s: float):
  """Within it, a process not joined `timeout_s` s on says why in one line; one not
  ended by the runtime `FALLBACK_MARGIN_S` s later prints it as an error and exits 2.

  A process that does not join in time (too few started, --num_processes or
  --process_id differing between them) is ended by the runtime itself, in C++
  (DEADLINE_EXCEEDED ... RegisterTask, then an abort with a stack trace), not by an
  exception; the runtime releases the GIL while it waits, so timers can say why. The
  runtime's deadline starts after these timers, so the first only speaks (a slow join
  may still succeed) and the second cannot fire before the runtime would.
  """
  joined = threading.Event()
  timers = [threading.Timer(timeout_s, _not_joined, (joined, mode, timeout_s, False)),
            threading.Timer(timeout_s + FALLBACK_MARGIN_S, _not_joined,
                            (joined, mode, timeout_s, True))]
  for timer in timers:
    timer.daemon = True
    timer.start()
  try:
    yield
  finally:
    joined.set()
    for timer in timers:
      timer.cancel()


def first_line(e: BaseException) -> str:
  """The first line of an error's text, as the one-line messages here quote it."""
  text = str(e).strip()
  return text.splitlines()[0] if text else type(e).__name__
