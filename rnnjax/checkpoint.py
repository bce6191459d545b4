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
"""

import logging
import os

import orbax.checkpoint as ocp

from rnnjax.errors import InputError

DIRNAME = 'checkpoints'


def manager(workdir: str, *, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, DIRNAME)),
                               options=options)


def save(mngr: ocp.CheckpointManager, step: int, states: dict, progress: dict) -> None:
  mngr.save(step, args=ocp.args.Composite(states=ocp.args.StandardSave(states),
                                          progress=ocp.args.JsonSave(progress)))
  mngr.wait_until_finished()


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
