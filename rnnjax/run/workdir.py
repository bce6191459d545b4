"""The work directory of a sweep: what state it is in, and what may be done to it.

A work directory is new (absent or empty), holds this sweep unfinished (resume), holds
this sweep finished (report it), holds it finished with other final-model settings
(remake its final model, when asked), or holds another sweep (refuse, unless
overwriting). With several processes, `check_shared_dir` checks that every one sees it
(a token file process 0 writes and the others read back).
Nothing here writes until the caller has checked every input.
"""

import json
import os
import secrets
import shutil
import tempfile
import time

import jax
from jax.experimental import multihost_utils
import numpy as np

from rnnjax.engine import distributed
from rnnjax.errors import InputError
from rnnjax.results import files
from rnnjax.search import hparams
from rnnjax.search import space

NEW, RESUME, FINISHED, REMAKE = 'new', 'resume', 'finished', 'remake'

TOKEN = '.rnnjax-shared-check'  # check_shared_dir's, removed once read.


def state_of(workdir: str, spec_json: dict, *, overwrite: bool,
             defaults: dict | None = None, digests: dict | None = None,
             remake_final: bool = False, final: tuple = ()) -> str:
  """NEW, RESUME, FINISHED or REMAKE; raises InputError for a directory that is not this
  sweep's.

  `final`: the settings only the final model reads (spec.FINAL_SETTINGS). A finished
  sweep that differs in these alone is REMAKE with `remake_final` (its final model made
  again from its trained members), else refused with a line that says so; an unfinished
  one is RESUME, its final model not yet made (`final_changes` says which changed).

  With `overwrite`, an existing sweep counts as NEW (`clear` removes it). `defaults`: the
  value a setting missing from an older sweep.json had (a field added since, e.g. folds).
  `digests`: files.data_digests of the data files the spec names now; one that differs
  from sweep.json's (a user's export updated at the same path) is another sweep.
  """
  if not os.path.exists(workdir):
    return NEW
  if not os.path.isdir(workdir):
    raise InputError(f'--workdir: {workdir} is a file, not a directory')
  sweep_path = os.path.join(workdir, files.SWEEP)
  if not os.path.exists(sweep_path):
    if set(os.listdir(workdir)) - {files.LOCK}:
      raise InputError(f'--workdir: {workdir} is not empty and holds no rnnjax sweep')
    return NEW
  if overwrite:
    return NEW
  try:
    stored = files.read_json(sweep_path)
    old, old_digests = stored['spec'], stored.get('data_digests', {})
  except (OSError, ValueError, KeyError) as e:
    raise InputError(f'--workdir: {sweep_path} is unreadable ({e}); use --overwrite'
                     ) from None
  old = _with_defaults(old, spec_json, defaults)
  differ = _differing(old, spec_json)
  finished = os.path.exists(os.path.join(workdir, files.SUMMARY))
  trained = [k for k in differ if k not in final]
  if remake_final and finished and differ and trained:
    k, more = trained[0], trained[1:]
    also = f'; also {", ".join(more)}' if more else ''
    raise InputError(f'--remake_final: {workdir} holds a sweep trained with other settings '
                     f'({k}: {old.get(k)!r} there, {spec_json.get(k)!r} now{also}); only '
                     f'the final model\'s ({", ".join(final)}) change without training: '
                     'use another --workdir or --overwrite')
  if trained:
    k, more = differ[0], differ[1:]
    also = f'; also {", ".join(more)}' if more else ''
    # What a researcher changes to add values or seeds: say that a sweep does not grow.
    searched = all(d in hparams.BY_NAME or d in ('num_seeds', 'dropout_per_layer')
                   for d in trained)
    raise InputError(f'--workdir: {workdir} holds a different sweep ({k}: '
                     f'{old.get(k)!r} there, {spec_json.get(k)!r} now{also}); '
                     + ('a sweep is not extended in place: ' if searched else '')
                     + 'use another --workdir' + (
                         ' (make_figures --compare sets sweeps side by side)'
                         if searched else '') + ' or --overwrite')
  changed = [k for k in old_digests if k in (digests or {}) and old_digests[k] != digests[k]]
  if changed:
    raise InputError(f'--{changed[0]}: {spec_json[changed[0]]} has changed since the sweep '
                     f'in {workdir} read it; use --overwrite to run that sweep again on '
                     'it, or another --workdir')
  if differ and finished:  # Final-model settings alone.
    if not remake_final:
      raise InputError(
          f'--workdir: {workdir} holds this sweep finished with other final-model settings '
          f'({"; ".join(f"{k}: {old.get(k)!r} there, {spec_json.get(k)!r} now" for k in differ)}'
          '); --remake_final remakes the final model from the trained members without '
          'training (or use another --workdir, or --overwrite)')
    return REMAKE
  return FINISHED if finished else RESUME  # Unfinished: final-model settings may change.


def final_changes(workdir: str, spec_json: dict, *, defaults: dict | None = None,
                  final: tuple = ()) -> dict:
  """The final-model settings (`final`) `spec_json` changes from those the sweep in
  `workdir` recorded, name -> new value: what an unfinished sweep resumes with."""
  old = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  return {k: spec_json[k] for k in _differing(_with_defaults(old, spec_json, defaults),
                                              spec_json) if k in final}


def _with_defaults(old: dict, spec_json: dict, defaults: dict | None) -> dict:
  return {**{k: v for k, v in (defaults or {}).items() if k in spec_json}, **old}


def _differing(old: dict, spec_json: dict) -> list:
  """The settings that differ, however each is written (space.spec_key)."""
  return [k for k in sorted(set(old) | set(spec_json))
          if old.get(k) != spec_json.get(k)
          and space.spec_key(k, old.get(k)) != space.spec_key(k, spec_json.get(k))]


def holds_other(workdir: str, spec_json: dict, *, defaults: dict | None = None,
                digests: dict | None = None) -> bool:
  """Whether `workdir` holds something `state_of` refuses without `overwrite` (another
  sweep, one on changed data, an unreadable sweep.json): what a search comparison's
  --overwrite replaces, keeping a sweep of its own settings to resume."""
  try:
    state_of(workdir, spec_json, overwrite=False, defaults=defaults, digests=digests)
  except InputError:
    return True
  return False


def check_plan(workdir: str, plan_json: dict) -> None:
  """Raises InputError unless the unfinished sweep in `workdir` was planned with the
  configurations this version makes of the same spec (`plan_json`, as plan.json holds
  it). A random search begun with an older rnnjax, which drew differently, would
  otherwise resume training one set of values and report another."""
  path = os.path.join(workdir, files.PLAN)
  try:
    stored = _drawn(files.read_json(path))
  except (OSError, ValueError, AttributeError, TypeError) as e:
    raise InputError(f'--workdir: {path} is unreadable ({e}); use --overwrite') from None
  if stored != _drawn(json.loads(json.dumps(files.clean(plan_json)))):
    raise InputError(f'--workdir: {workdir} holds a sweep whose configurations this version '
                     'of rnnjax draws differently (a random search begun with an older '
                     'version); finish it with that version, or use --overwrite')


def _drawn(plan: dict) -> dict | None:
  """What a plan's search drew: its configurations' buckets and swept axes' values (the
  rest follows from the spec, which sweep.json holds; older versions listed less)."""
  configs = plan.get('configs')
  if configs is None:
    return None
  swept = set(plan.get('swept', ()))
  # 'config' (rows that repeat an earlier row's values) follows from the values.
  return {**{k: v for k, v in configs.items() if k not in ('fixed', 'config')},
          'swept': {n: v for n, v in configs['swept'].items() if n in swept}}


def check_usable(workdir: str) -> None:
  """Raises InputError unless `workdir` is a directory this process can write in, or
  can be created; writes nothing (a probe file is created and removed). Cheap: run it
  before any data is loaded or compiled."""
  if not workdir:
    raise InputError('--workdir: empty')
  path = os.path.abspath(workdir)
  if os.path.lexists(path) and not os.path.isdir(path):
    what = 'a broken link' if os.path.islink(path) else 'a file'
    raise InputError(f'--workdir: {workdir} is {what}, not a directory')
  existing = path
  while not os.path.lexists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    what = 'a broken link' if os.path.islink(existing) else 'a file'
    raise InputError(f'--workdir: cannot create {workdir}: {existing} is {what}, not a '
                     'directory')
  try:
    fd, probe = tempfile.mkstemp(dir=existing, prefix='.rnnjax-probe-')
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    verb = 'write in' if existing == path else f'create {workdir} in'
    raise InputError(f'--workdir: cannot {verb} {existing} ({e.strerror})') from None
  if existing == path:
    for entry in files.OWN_ENTRIES:
      inside = os.path.join(path, entry)
      wanted_dir = '.' not in entry
      if os.path.lexists(inside) and os.path.isdir(inside) != wanted_dir:
        raise InputError(f'--workdir: {inside} is in the way (a '
                         f'{"file" if wanted_dir else "directory"} where the sweep '
                         f'writes its {entry} {"directory" if wanted_dir else "file"})')


def clear(workdir: str) -> None:
  """Removes the files a sweep writes (and nothing else) from the work directory."""
  for entry in files.OWN_ENTRIES:
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


def check_shared_dir(path: str) -> None:
  """Raises InputError on every process unless all of them see `path` as one directory.

  Process 0 creates `path` and writes a token with a fresh random value there; after
  a barrier every other process reads it back. Checkpoints (orbax writes each process's
  shards itself) and the resume logic need this. With one process it does nothing.
  """
  if jax.process_count() == 1:
    return
  token = os.path.join(path, TOKEN)
  value = np.frombuffer(secrets.token_bytes(8), np.uint32)
  value = multihost_utils.broadcast_one_to_all(value)  # Process 0's value, everywhere.
  problem = ''
  if distributed.is_main():
    try:
      os.makedirs(path, exist_ok=True)
      with open(token, 'w', encoding='utf-8') as f:
        f.write(value.tobytes().hex())
    except OSError as e:
      problem = f'process 0 cannot write there ({e.strerror})'
  distributed.sync('rnnjax-shared-dir-written')
  if not distributed.is_main():
    problem = _read_token(token, value.tobytes().hex())
  failed = multihost_utils.process_allgather(np.int32(bool(problem)))
  distributed.sync('rnnjax-shared-dir-read')
  if distributed.is_main() and os.path.exists(token):
    os.unlink(token)
  # No process looks at the directory before the token is gone.
  distributed.sync('rnnjax-shared-dir-done')
  if failed.any():
    who = [int(i) for i in np.flatnonzero(failed)]
    detail = f'; here: {problem}' if problem else ''
    raise InputError(f'--workdir: {path} is not one directory shared by every process '
                     f'(processes {who} do not see process 0\'s files{detail}); put it '
                     'on a file system every host mounts')


def _read_token(token: str, expected: str, tries: int = 20) -> str:
  """'' once `token` holds `expected`, else what is wrong. Retries for a few seconds:
  NFS clients may cache a directory listing from before process 0 wrote the file."""
  problem = ''
  for attempt in range(tries):
    try:
      with open(token, encoding='utf-8') as f:
        if f.read() == expected:
          return ''
      problem = 'it holds a different token from process 0\'s'
    except OSError:
      problem = 'process 0\'s token is not there'
    if attempt < tries - 1:
      time.sleep(0.5)
  return problem
