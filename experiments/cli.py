"""What the entry points share: SIGINT and SIGTERM noted from a command's first line,
and absl's flag parsing with one-line errors. Nothing heavy is imported here (absl only
once flags are parsed), so that an entry point imports this before anything else."""

import errno
import os
import re
import signal
import sys


def note_signals() -> tuple[dict, list]:
  """SIGINT and SIGTERM noted, not acted on, from the first moment of a command until
  its main's own watch takes over (and acts on one noted): raised while JAX is imported
  and starts, a Ctrl-C can land in a garbage-collection callback, where Python drops it
  (a traceback, and the command ran to its end), and a SIGTERM ended the process without
  a word. A signal the process was started to ignore (nohup, a script's background job)
  stays ignored.

  Returns (signal -> its handler before, to give back; the signals noted, in order of
  arrival: a list that grows as they come).
  """
  noted = []
  before = {s: signal.signal(s, lambda signum, frame: noted.append(signum))
            for s in (signal.SIGINT, signal.SIGTERM)
            if signal.getsignal(s) is not signal.SIG_IGN}
  return before, noted


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    argv = flags.FLAGS(argv)
  except UnicodeDecodeError:  # absl reads a flagfile as text, and lets this through.
    path = _undecodable(argv)
    print(f'error: --flagfile: {path}: is not UTF-8' if path else
          'error: --flagfile: a flagfile it names is not UTF-8', file=sys.stderr)
    sys.exit(2)
  except flags.CantOpenFlagFileError as e:
    cause = e.__context__
    if not isinstance(cause, OSError) or cause.filename is None:
      raise
    what = {errno.ENOENT: 'no such file', errno.EISDIR: 'is a directory, not a flagfile'}
    hint = (f' (did you mean {cause.filename}.flags?)' if cause.errno == errno.ENOENT
            and os.path.isfile(f'{cause.filename}.flags') else '')
    print(f'error: --flagfile: {cause.filename}: '
          f'{what.get(cause.errno, (cause.strerror or str(cause)).lower())}{hint}',
          file=sys.stderr)
    sys.exit(2)
  except flags.Error as e:
    # Python's words for a bad number, in the user's: "flag --val_size=0.5: '0.5' is not
    # a whole number".
    message = re.sub(r"invalid literal for int\(\) with base 10: ('.*')",
                     r'\1 is not a whole number', str(e))
    message = re.sub(r"could not convert string to float: ('.*')", r'\1 is not a number',
                     message)
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
  if len(argv) > 1:  # A flagfile line without its leading --, or a stray word.
    print(f'error: not a flag: {argv[1]!r} (flags look like --name=value)', file=sys.stderr)
    sys.exit(2)
  return argv


def _undecodable(argv) -> str | None:
  """The first flagfile named on the command line, or inside one, that is not UTF-8."""
  todo = [a.split('=', 1)[1] for a in argv[1:] if re.match(r'--?flagfile=', a)]
  seen = set()
  while todo:
    path = todo.pop(0)
    if path in seen:
      continue
    seen.add(path)
    try:
      with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    except UnicodeDecodeError:
      return path
    except OSError:
      continue
    todo += [l.strip().split('=', 1)[1] for l in lines
             if re.match(r'\s*--?flagfile=', l)]
  return None
