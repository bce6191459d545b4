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
population continues bit for bit. Orbax writes each step to a temporary directory and
renames it when complete; a step that fails to restore (killed mid-write, corrupted)
is skipped with a warning for the one before it.

A save that fails for want of space (or of its directory) raises `WriteError`, one line
naming the step and the last complete checkpoint, which stays intact; the failed step's
temporary directory is removed, and any left by a process killed mid-save are removed
when the manager opens.
"""

import contextlib
import glob
import logging
import os
import shutil

import orbax.checkpoint as ocp

from rnnjax import errors
from rnnjax.errors import InputError

DIRNAME = 'checkpoints'


def manager(workdir: str, *, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False,
                                         cleanup_tmp_directories=True)
  directory = os.path.abspath(os.path.join(workdir, DIRNAME))
  with errors.writing(f'the checkpoint directory {directory}'):
    return ocp.CheckpointManager(directory, options=options)


def save(mngr: ocp.CheckpointManager, step: int, states: dict, progress: dict) -> None:
  """Saves `step`; raises `errors.WriteError` when it cannot be written."""
  try:
    with _quiet_orbax_errors():
      mngr.save(step, args=ocp.args.Composite(states=ocp.args.StandardSave(states),
                                              progress=ocp.args.JsonSave(progress)))
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
def _quiet_orbax_errors():
  """Orbax logs a failed write's traceback from each of its threads, then raises; the
  raised error is reported in one line, so its logged copies are held back (and logged
  after all if the save succeeds)."""
  logger, collect = logging.getLogger('absl'), _Collect()
  logger.addFilter(collect)
  try:
    yield
  except BaseException:
    logger.removeFilter(collect)
    raise
  logger.removeFilter(collect)
  for record in collect.records:
    logger.handle(record)


def restore_latest(mngr: ocp.CheckpointManager, target_of, log=print):
  """(states, progress) of the newest step that restores, or None when there is none.

  target_of(progress) -> the states pytree of `jax.ShapeDtypeStruct`s (with shardings)
  that step's progress describes.
  """
  for step in sorted(mngr.all_steps(), reverse=True):
    try:
      progress = mngr.restore(step, args=ocp.args.Composite(
          progress=ocp.args.JsonRestore()))['progress']
      states = mngr.restore(step, args=ocp.args.Composite(
          states=ocp.args.StandardRestore(target_of(progress))))['states']
    except InputError:
      raise  # target_of refused the checkpoint's shapes: resuming here cannot work.
    except Exception as e:  # pylint: disable=broad-except
      message = str(e).splitlines()[0] if str(e) else type(e).__name__
      log(f'warning: checkpoint {step} does not restore ({message}); trying an older one')
      logging.warning('checkpoint %d failed to restore', step, exc_info=True)
      continue
    return states, progress
  return None
