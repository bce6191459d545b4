"""The exception types for bad user input (flags, specs, files) and for a work directory
that cannot be written (full disk, removed directory, read-only file system).

Entry points print them as a single line and exit with status 2; everything else is a
bug and keeps its traceback.
"""

import contextlib
import errno
import os
import re


class InputError(ValueError):
  """Bad user input. The message names the flag or file and what was wrong with it."""


class RowsAheadError(InputError):
  """A forecast's rows ahead (the input columns' values after a history) missing, too
  few, or not starting the step after it: where the history ends in rows without a
  target, they may be those rows (final/saved/arguments.plan_noted says so)."""


class WriteError(InputError):
  """A file of the work directory could not be written; the message names it, why, and
  what is left intact."""


# Failures of the machine's storage rather than of the program: reported in one line.
_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOENT, errno.EROFS, errno.EACCES,
           errno.EPERM, errno.EIO, errno.ENOTDIR, errno.EISDIR, errno.ESTALE, errno.EFBIG}
# Orbax (through TensorStore) reports them inside a ValueError's text.
_OS_CODE = re.compile(r"os_error_code='?(\d+)")
_STATUS = {'RESOURCE_EXHAUSTED': errno.ENOSPC, 'NOT_FOUND': errno.ENOENT,
           'PERMISSION_DENIED': errno.EACCES}


def write_failure(e: BaseException) -> str | None:
  """Why a write failed ('No space left on device'), if `e` (or what caused it) is a
  failure of storage; None for anything else."""
  failure = _failure(e)
  return failure and failure[1]


def _failure(e: BaseException) -> tuple[int, str] | None:
  """(errno, why) of `write_failure`, None for anything else."""
  seen = set()
  while e is not None and id(e) not in seen:
    seen.add(id(e))
    if isinstance(e, OSError) and e.errno in _ERRNOS:
      return e.errno, e.strerror or os.strerror(e.errno)
    text = str(e)
    if (match := _OS_CODE.search(text)) and int(match.group(1)) in _ERRNOS:
      return int(match.group(1)), os.strerror(int(match.group(1)))
    for status, code in _STATUS.items():
      if text.startswith(status):
        return code, os.strerror(code)
    e = e.__cause__ or e.__context__
  return None


@contextlib.contextmanager
def writing(what: str, *, under: str = ''):
  """Turns a storage failure inside the block into a one-line `WriteError` about `what`.

  under: only for failures of files in this directory (or of no file named).
  """
  try:
    yield
  except WriteError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    failure = _failure(e)
    where = getattr(e, 'filename', None)
    if failure is None or (under and where and not os.path.abspath(str(where)).startswith(
        os.path.abspath(under))):
      raise
    code, reason = failure
    where = f' at {where}' if where and where not in what else ''
    fix = ('make the directory writable (or choose another)'
           if code in (errno.EACCES, errno.EPERM, errno.EROFS) else
           'make room (or restore the directory)')
    raise WriteError(f'--workdir: could not write {what}{where} ({reason}); {fix} and run '
                     'the same command to resume') from None
