"""The work directory of a sweep: what state it is in, and what may be done to it.

A work directory is new (absent or empty), holds this sweep unfinished (resume), holds
this sweep finished (report it), or holds another sweep (refuse, unless overwriting).
Nothing here writes until the caller has checked every input.
"""

import os
import platform
import shutil
import subprocess

import jax
import numpy as np

import rnnjax
from rnnjax import results
from rnnjax.errors import InputError

NEW, RESUME, FINISHED = 'new', 'resume', 'finished'


def state_of(workdir: str, spec_json: dict, *, overwrite: bool) -> str:
  """NEW, RESUME or FINISHED; raises InputError for a directory that is not this sweep's.

  With `overwrite`, an existing sweep counts as NEW (`clear` removes it).
  """
  if not os.path.exists(workdir):
    return NEW
  if not os.path.isdir(workdir):
    raise InputError(f'--workdir: {workdir} is a file, not a directory')
  sweep_path = os.path.join(workdir, results.SWEEP)
  if not os.path.exists(sweep_path):
    if os.listdir(workdir):
      raise InputError(f'--workdir: {workdir} is not empty and holds no rnnjax sweep')
    return NEW
  if overwrite:
    return NEW
  try:
    old = results.read_json(sweep_path)['spec']
  except (OSError, ValueError, KeyError) as e:
    raise InputError(f'--workdir: {sweep_path} is unreadable ({e}); use --overwrite'
                     ) from None
  differ = [k for k in sorted(set(old) | set(spec_json)) if old.get(k) != spec_json.get(k)]
  if differ:
    k = differ[0]
    raise InputError(f'--workdir: {workdir} holds a different sweep ({k}: '
                     f'{old.get(k)!r} there, {spec_json.get(k)!r} now); use another '
                     '--workdir or --overwrite')
  return FINISHED if os.path.exists(os.path.join(workdir, results.SUMMARY)) else RESUME


def clear(workdir: str) -> None:
  """Removes the files a sweep writes (and nothing else) from the work directory."""
  for entry in results.OWN_ENTRIES:
    path = os.path.join(workdir, entry)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.exists(path):
      os.unlink(path)


def truncate(path: str, size: int) -> None:
  """Cuts an append-only file back to `size` bytes (what a checkpoint covers)."""
  if os.path.exists(path):
    with open(path, 'r+b') as f:
      f.truncate(size)


def versions() -> dict:
  try:
    git = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                         cwd=os.path.dirname(__file__), timeout=5).stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    git = None
  import flax, optax, orbax.checkpoint  # pylint: disable=g-import-not-at-top,multiple-imports
  return {'rnnjax': rnnjax.__version__, 'jax': jax.__version__, 'flax': flax.__version__,
          'optax': optax.__version__, 'orbax': orbax.checkpoint.__version__,
          'numpy': np.__version__, 'python': platform.python_version(), 'git': git}
