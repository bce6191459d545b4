"""Compile once per machine: JAX's persistent compilation cache, and what it saved.

A sweep compiles one training program per bucket (10-17 s each for the full sweep on a
2-core VM) and pays it again on every resume and every repeat of a flagfile. With the
cache on, a program compiled once is read back from disk by any later process on the
same machine (same jax, same XLA flags, same shapes): `configure(directory)` turns it on
for this process, before its first compile; `default_dir()` is the per-user place.

`measure()` counts, per block of code, the seconds spent compiling (or reading a compiled
program back) and the cache's hits and misses, from `jax.monitoring` events; the sweep
reports them per bucket in summary.json.
"""

import contextlib
import dataclasses
import errno
import os
import threading

ENV = 'RNNJAX_COMPILE_CACHE_DIR'
_COMPILE_EVENT = '/jax/core/compile/backend_compile_duration'
_HIT = '/jax/compilation_cache/cache_hits'
_MISS = '/jax/compilation_cache/cache_misses'
# A hit's: its program's compile when it was cached (in whole seconds, as JAX records it)
# less the read, and the read.
_SAVED = '/jax/compilation_cache/compile_time_saved_sec'
_READ = '/jax/compilation_cache/cache_retrieval_time_sec'


def default_dir() -> str:
  """$RNNJAX_COMPILE_CACHE_DIR, else $XDG_CACHE_HOME/rnnjax/jax, else ~/.cache/rnnjax/jax."""
  if os.environ.get(ENV):
    return os.environ[ENV]
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'rnnjax', 'jax')


def configure(directory: str) -> None:
  """Persistent compilation cache in `directory` ('' turns it off). Before any compile.

  Every program is cached, however small or quick to compile: a sweep's evaluation and
  initialisation programs take about a second each, and a resumed sweep needs them all.
  """
  import jax  # pylint: disable=g-import-not-at-top
  if not directory:
    jax.config.update('jax_enable_compilation_cache', False)
    return
  os.makedirs(directory, exist_ok=True)  # OSError where it cannot be made.
  if not os.access(directory, os.W_OK | os.X_OK):
    raise PermissionError(errno.EACCES, 'not writable', directory)
  jax.config.update('jax_enable_compilation_cache', True)
  jax.config.update('jax_compilation_cache_dir', directory)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  jax.config.update('jax_persistent_cache_min_entry_size_bytes', -1)


@dataclasses.dataclass
class Compiles:
  """What the compiles of one block of code cost: seconds (compiling, or reading a
  cached program back), programs read from the cache, programs compiled afresh, and
  cold_s: the seconds the hits' programs took to compile when they were cached (whole
  seconds, as JAX records them: a program under a second counts 0), what compiling them
  afresh would take, about; read_s: the seconds reading them back took."""
  seconds: float = 0.0
  cache_hits: int = 0
  cache_misses: int = 0
  cold_s: float = 0.0
  read_s: float = 0.0

  def add(self, other: 'Compiles') -> None:
    self.seconds += other.seconds
    self.cache_hits += other.cache_hits
    self.cache_misses += other.cache_misses
    self.cold_s += other.cold_s
    self.read_s += other.read_s

  def to_json(self) -> dict:
    return {'compile_s': round(self.seconds, 3), 'cache_hits': self.cache_hits,
            'cache_misses': self.cache_misses}


_local = threading.local()  # The Compiles being counted in this thread, innermost last.
_registered = []


def _active():
  return getattr(_local, 'stack', [])


def _on_event(event: str, **kwargs) -> None:
  del kwargs
  for counts in _active():
    if event == _HIT:
      counts.cache_hits += 1
    elif event == _MISS:
      counts.cache_misses += 1


def _on_duration(event: str, seconds: float, **kwargs) -> None:
  del kwargs
  if event in (_COMPILE_EVENT, _SAVED, _READ):
    for counts in _active():
      if event == _COMPILE_EVENT:
        counts.seconds += seconds
      else:  # The compile saved and the read: the compile recorded.
        counts.cold_s += seconds
        counts.read_s += seconds if event == _READ else 0.0


def _register() -> None:
  if not _registered:
    from jax import monitoring  # pylint: disable=g-import-not-at-top
    monitoring.register_event_listener(_on_event)
    monitoring.register_event_duration_secs_listener(_on_duration)
    _registered.append(True)


@contextlib.contextmanager
def measure():
  """`with measure() as compiles:` counts the compiles this thread runs in the block
  (nested blocks each count theirs)."""
  _register()
  counts = Compiles()
  _local.stack = _active() + [counts]
  try:
    yield counts
  finally:
    _local.stack = [c for c in _active() if c is not counts]
