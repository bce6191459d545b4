"""Checkpoints of a running sweep with orbax, so a killed sweep resumes exactly.

After every chunk the sweep saves, as one orbax step numbered by chunks done:
  states    a pytree: the population state and hyperparameters of every live run (a
            bucket's wave); halving and PBT change both, so both are saved
  progress  JSON: the position reached in the sweep's order of chunks, the members of
            each run (their number fixes the shapes to restore), what adaptive search
            decided so far, and the byte length of metrics.jsonl that this checkpoint
            covers (records are written and flushed BEFORE the save, so on resume the
            file is truncated to exactly what the state has seen)

Nothing random lives in the state (keys come from seed, uid and step), so a restored
population continues bit for bit. Every leaf of `states` has the member axis first, and
they are saved packed: one <[P, N]> array per dtype and population size P (runs of a
structural random search differ in size), each leaf flattened to its columns.
Orbax pays about 2 ms per array written (a small sweep's 60 leaves took 200 ms a save,
packed 70 ms). Orbax writes each step to a temporary directory and renames it when
complete; a step that fails to restore (killed mid-write, corrupted) is skipped with a
warning for the one before it. A checkpoint of another format (`FORMAT` in its
progress; older ones were unpacked, packed by dtype alone, or held a TrainState without
best_uid) is refused in one line: it cannot continue bit for bit. One whose format
differs only by leaves added since (`ADDED`: format 3 had no hyperparameter
class_balance) restores with those leaves at the value every member had then.

A save that fails for want of space (or of its directory) raises `WriteError`, one line
naming the step and the last complete checkpoint, which stays intact; the failed step's
temporary directory is removed, and any left by a process killed mid-save are removed
when the manager opens.
"""

import contextlib
import gc
import glob
import logging
import os
import re
import shutil
import sys
import threading
import time
import traceback

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from rnnjax import errors
from rnnjax.errors import InputError
from rnnjax.results import files

DIRNAME = files.CHECKPOINTS
# What a checkpoint holds: states packed by dtype and population size, each run's
# population.TrainState with best_uid.
FORMAT = 4
# Format -> {leaf name: value}: the leaves (population.HParams fields) a checkpoint of that
# format lacks, with the value every member then had (restore_latest puts them back).
ADDED = {3: {'class_balance': 0.0}}


def manager(workdir: str, *, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False,
                                         cleanup_tmp_directories=True)
  directory = os.path.abspath(os.path.join(workdir, DIRNAME))
  with errors.writing(f'the checkpoint directory {directory}'):
    mngr = ocp.CheckpointManager(directory, options=options)
    # Orbax removes a killed save's temporary directories in a thread of its own, and
    # close() does not wait for it: a resume that finds no checkpoint and clears the
    # directory raced it (the thread's traceback, FileNotFoundError, printed mid-sweep).
    wait = getattr(mngr, '_maybe_await_cleanup_tmp_directory', None)
    if wait is not None:
      wait()
    return mngr


def save(mngr: ocp.CheckpointManager, step: int, states: dict, progress: dict) -> None:
  """Saves `step`; raises `errors.WriteError` when it cannot be written."""
  try:
    with _quiet_orbax_errors():
      mngr.save(step, args=ocp.args.Composite(
          states=ocp.args.StandardSave(_pack(states)),
          progress=ocp.args.JsonSave({**progress, 'format': FORMAT})))
      mngr.wait_until_finished()
  except Exception as e:  # pylint: disable=broad-except
    reason = errors.write_failure(e)
    if reason is None:
      raise
    directory = str(mngr.directory)
    for tmp in glob.glob(os.path.join(directory, f'{step}.orbax-checkpoint-tmp*')):
      shutil.rmtree(tmp, ignore_errors=True)  # Its partial files hold the space.
    kept = [s for s in _steps(directory) if s != step]
    last = (f'the last complete checkpoint, {max(kept)}, is kept' if kept
            else 'no earlier checkpoint exists')
    raise errors.WriteError(f'--workdir: could not write checkpoint {step} in {directory} '
                            f'({reason}); {last}: make room and run the same command to '
                            'resume') from None


def _groups(leaves) -> dict:
  """Group name -> indices of the leaves packed side by side, in tree order: one group
  per dtype and leading (population) size."""
  groups = {}
  for i, leaf in enumerate(leaves):
    groups.setdefault(f'{np.dtype(leaf.dtype).name}_{leaf.shape[0]}', []).append(i)
  return groups


def _columns(leaf) -> int:
  return int(np.prod(leaf.shape[1:], dtype=np.int64))


@jax.jit
def _pack(states):
  """states (leaves <[P, ...]>, sharded on P) -> {dtype: <[P, N]>}: each leaf's columns
  side by side, in tree order."""
  leaves = jax.tree.leaves(states)
  return {name: jnp.concatenate([leaves[i].reshape(leaves[i].shape[0], -1) for i in idx],
                                axis=1)
          for name, idx in _groups(leaves).items()}


def _packed_like(target):
  """The packed form of `target` (jax.ShapeDtypeStructs with shardings)."""
  leaves = jax.tree.leaves(target)
  return {name: jax.ShapeDtypeStruct(
              (leaves[idx[0]].shape[0], sum(_columns(leaves[i]) for i in idx)),
              leaves[idx[0]].dtype, sharding=leaves[idx[0]].sharding)
          for name, idx in _groups(leaves).items()}


def _unpack(arrays: dict, target):
  """`_pack`'s inverse: the tree of `target`, each leaf with its target's sharding."""
  leaves, treedef = jax.tree.flatten(target)
  groups = _groups(leaves)

  def split(arrays):
    out = [None] * len(leaves)
    for name, idx in groups.items():
      start = 0
      for i in idx:
        width = _columns(leaves[i])
        out[i] = arrays[name][:, start:start + width].reshape(leaves[i].shape)
        start += width
    return jax.tree.unflatten(treedef, out)
  return jax.jit(split, out_shardings=jax.tree.unflatten(
      treedef, [leaf.sharding for leaf in leaves]))(arrays)


def latest(workdir: str) -> int | None:
  """The newest complete checkpoint of `workdir` (chunks done), None where there is none."""
  return max(_steps(os.path.join(workdir, DIRNAME)), default=None)


def _steps(directory: str) -> list:
  """Complete steps on disk (orbax renames a step's directory to its number when done)."""
  try:
    return [int(d) for d in os.listdir(directory) if d.isdigit()]
  except OSError:
    return []


class _Collect(logging.Filter):
  def __init__(self):
    super().__init__()
    self.records = []

  def filter(self, record):
    if record.levelno >= logging.ERROR:
      self.records.append(record)
      return False
    return True


@contextlib.contextmanager
def _quiet_orbax_errors(wait_s: float = 5.0):
  """A failed save is reported in one line (errors.WriteError), so what orbax says of
  it otherwise is held back: the tracebacks it logs from each of its threads, and the
  exceptions Python can only print (seen under load: 'RuntimeError: Event loop is
  closed' from a worker that finished after its event loop had closed). After a failure
  the threads the save started are given up to `wait_s` to end, with the same held back;
  after a success what was held is let through."""
  logger, collect = logging.getLogger('absl'), _Collect()
  unraisable, uncaught = [], []
  hooks = sys.unraisablehook, threading.excepthook
  before = set(threading.enumerate())
  logger.addFilter(collect)
  sys.unraisablehook, threading.excepthook = unraisable.append, uncaught.append
  try:
    yield
  except BaseException:
    deadline = time.monotonic() + wait_s
    for thread in set(threading.enumerate()) - before:
      thread.join(max(0.0, deadline - time.monotonic()))
    gc.collect()  # What the failed write's objects say as they are freed.
    raise
  finally:
    logger.removeFilter(collect)
    sys.unraisablehook, threading.excepthook = hooks
  for record in collect.records:
    logger.handle(record)
  for args in unraisable:
    hooks[0](args)
  for args in uncaught:
    hooks[1](args)


_FAILED_READ = 'Encountered error while reading array index'


def _after_failed_read(args) -> bool:
  """Whether an unraisable exception is one of an orbax array read that failed (a
  damaged step, said in one line): the read's error in the coroutines that outlive it,
  or a TensorStore thread calling back into the event loop the failed restore closed."""
  if _FAILED_READ in str(args.exc_value):
    return True
  frames = [frame.name for frame in traceback.extract_tb(args.exc_traceback)]
  return (isinstance(args.exc_value, RuntimeError)
          and str(args.exc_value) == 'Event loop is closed'
          and 'call_soon_threadsafe' in frames)


def _unsaid_failed_reads() -> None:
  """From now on, what Python prints of a failed orbax array read besides our one-line
  warning (`_after_failed_read`: 'Exception ignored in: <coroutine ...>' with
  TensorStore's specs of every store, some as the interpreter ends, and 'RuntimeError:
  Event loop is closed' tracebacks) is not printed. Set before the first restore: the
  read's other threads call back as soon as it fails."""
  previous = sys.unraisablehook
  if getattr(previous, 'unsaid_failed_reads', False):
    return

  def hook(args):
    if not _after_failed_read(args):
      previous(args)

  hook.unsaid_failed_reads = True
  sys.unraisablehook = hook


def _filled(leaf, value):
  """An array of `leaf`'s shape, dtype and sharding (a ShapeDtypeStruct) holding `value`."""
  return jax.make_array_from_callback(
      leaf.shape, leaf.sharding, lambda index: np.full(leaf.shape, value, leaf.dtype)[index])


@contextlib.contextmanager
def held_back():
  """Holds back the errors orbax logs (it logs a step whose files are damaged when a
  manager opens the directory, and again when it restores); `restore_latest(held=...)`
  drops those of each step that does not restore, whose one-line warning says it. What
  is left is let through at the end."""
  absl_logger, collect = logging.getLogger('absl'), _Collect()
  absl_logger.addFilter(collect)
  try:
    yield collect
  finally:
    absl_logger.removeFilter(collect)
    for record in collect.records:
      absl_logger.handle(record)


def restore_latest(mngr: ocp.CheckpointManager, target_of, log=print, held=None):
  """(states, progress) of the newest step that restores, or None when there is none.

  target_of(progress) -> the states pytree of `jax.ShapeDtypeStruct`s (with shardings)
  that step's progress describes. held: `held_back()`'s, opened before the manager was;
  without it, one is opened here.
  """
  if held is None:
    with held_back() as held:
      return restore_latest(mngr, target_of, log, held)
  _unsaid_failed_reads()
  for step in sorted(mngr.all_steps(), reverse=True):
    try:
      progress = mngr.restore(step, args=ocp.args.Composite(
          progress=ocp.args.JsonRestore()))['progress']
      if progress.get('format') != FORMAT and progress.get('format') not in ADDED:
        raise InputError(f'--workdir: checkpoint {step} in {mngr.directory} was written '
                         'by an older rnnjax, whose training state this one cannot '
                         'continue; resume it with that version, or start again with '
                         '--overwrite')
      paths, treedef = jax.tree_util.tree_flatten_with_path(target_of(progress))
      added = {} if progress['format'] == FORMAT else ADDED[progress['format']]
      name = lambda path: getattr(path[-1], 'name', None)
      stored = [leaf for path, leaf in paths if name(path) not in added]
      arrays = mngr.restore(step, args=ocp.args.Composite(
          states=ocp.args.StandardRestore(_packed_like(stored))))['states']
      restored = iter(_unpack(arrays, stored))
      states = jax.tree.unflatten(treedef, [
          _filled(leaf, added[name(path)]) if name(path) in added else next(restored)
          for path, leaf in paths])
    except InputError:
      raise  # target_of refused the checkpoint's shapes: resuming here cannot work.
    except Exception as e:  # pylint: disable=broad-except
      message = str(e).splitlines()[0] if str(e) else type(e).__name__
      # TensorStore appends to a damaged array's error a bound method's repr, or the
      # JSON spec of every store it opened: not words for the line.
      message = re.split(r' See full TensorStore details| \[tensorstore_spec', message)[0]
      log(f'warning: checkpoint {step} does not restore ({message}); trying an older one')
      logging.debug('checkpoint %d failed to restore', step, exc_info=True)
      held.records.clear()  # What orbax said of it (and of newer ones, which failed too).
      continue
    return states, progress
  return None
