"""What the entry points share: SIGINT and SIGTERM noted from a command's first line,
absl's flag parsing with one-line errors, and how a command ends on an error, a signal
or a closed output (`exits`). Nothing heavy is imported here (absl only once flags are
parsed, the rest once main runs), so that an entry point imports this before anything
else."""

import contextlib
import errno
import os
import re
import signal
import sys
import traceback


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


def act_on_noted(before: dict, noted: list) -> None:
  """For a command with nothing to resume (predict): gives back the handlers note_signals
  replaced, then acts on the first signal noted as it would have acted, now that JAX is
  up: SIGINT raises KeyboardInterrupt here (`exits` says it), SIGTERM ends the process."""
  for s, handler in before.items():
    signal.signal(s, handler)
  if noted:
    signal.raise_signal(noted[0])


def process_age() -> float:
  """Seconds since this process started (its interpreter and imports included, which a
  dry run's estimate counts as the command's start-up), read from Linux's /proc; 0.0
  where it cannot be read (another system: the estimate leaves start-up out)."""
  try:
    with open('/proc/self/stat', encoding='ascii') as stat, open('/proc/uptime',
                                                                  encoding='ascii') as up:
      # Field 22, the start in clock ticks after boot, counted after the ")" that ends
      # the command's name (which may hold spaces).
      started = int(stat.read().rsplit(')', 1)[1].split()[19]) / os.sysconf('SC_CLK_TCK')
      return max(0.0, float(up.read().split()[0]) - started)
  except (OSError, ValueError, IndexError):
    return 0.0


def _refuse(message):
  """Bad input, said as every command says it: `error: <message>` on stderr, status 2."""
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


@contextlib.contextmanager
def exits(kept: str = 'run the same command again', *, lost=None):
  """How a command's main ends other than by finishing, in one line on stderr each:

  - bad input (InputError): `error: <it>`, status 2; a work directory that cannot be
    written (WriteError): the same, and out at once;
  - a signal inside a watch (stop.Stopped): `rnnjax: <where it stopped>`, 128 + its number;
  - Ctrl-C outside one: `rnnjax: interrupted; <kept>`, 130;
  - a closed output (`... | head`), also as the body ends: `rnnjax: stopped: the output's
    reader closed it (a pipe into head?); <kept>`, 1;
  - an error `lost` names: its traceback, then `error: <lost's line>`, 1, out at once.

  kept: what is kept and how to go on.
  lost: an Exception -> the line saying why the process must end at once (a peer process
    of a distributed run gone: the runtime aborts this one within seconds), or None: a
    bug, raised on with its traceback.
  """
  from rnnjax.errors import InputError, WriteError  # pylint: disable=g-import-not-at-top
  from rnnjax.run import stop  # pylint: disable=g-import-not-at-top
  try:
    yield
    sys.stdout.flush()  # What is still buffered meets a closed pipe here, not at exit.
  except InputError as e:
    if isinstance(e, WriteError):
      # Orbax's threads, stopped mid-write, print tracebacks of their own while the
      # interpreter shuts down; there is nothing left to write, so leave at once.
      _leave_now(f'error: {e}', 2)
    _refuse(e)
  except stop.Stopped as e:  # Stopped at a checkpoint, or after.
    print(f'rnnjax: {e}', file=sys.stderr)
    for s in stop.SIGNALS:  # One more while exiting would only print a traceback.
      signal.signal(s, signal.SIG_IGN)
    sys.exit(e.exit_code)
  except KeyboardInterrupt:  # Ctrl-C outside a watch (start-up, between sweeps).
    print(f'rnnjax: interrupted; {kept}', file=sys.stderr)
    sys.exit(130)
  except BrokenPipeError:
    # Whatever is still buffered for it would raise again as Python exits.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print('rnnjax: stopped: the output\'s reader closed it (a pipe into head?); '
          f'{kept}', file=sys.stderr)
    sys.exit(1)
  except Exception as e:  # pylint: disable=broad-except
    line = lost(e) if lost else None
    if line is None:
      raise
    sys.stderr.write(traceback.format_exc())  # Kept for a report.
    _leave_now(f'error: {line}', 1)


def _leave_now(line: str, code: int) -> None:
  """`line` on stderr, then out with `code` at once (its output flushed), before the
  interpreter's shutdown or the runtime's abort can say more."""
  print(line, file=sys.stderr)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)  # pylint: disable=protected-access


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    argv = flags.FLAGS(argv)
  except UnicodeDecodeError:  # absl reads a flagfile as text, and lets this through.
    path = _undecodable(argv)
    _refuse(f'--flagfile: {path}: is not UTF-8' if path else
            '--flagfile: a flagfile it names is not UTF-8')
  except flags.CantOpenFlagFileError as e:
    cause = e.__context__
    if not isinstance(cause, OSError) or cause.filename is None:
      raise
    what = {errno.ENOENT: 'no such file', errno.EISDIR: 'is a directory, not a flagfile'}
    hint = (f' (did you mean {cause.filename}.flags?)' if cause.errno == errno.ENOENT
            and os.path.isfile(f'{cause.filename}.flags') else '')
    _refuse(f'--flagfile: {cause.filename}: '
            f'{what.get(cause.errno, (cause.strerror or str(cause)).lower())}{hint}')
  except flags.Error as e:
    # Python's words for a bad number, in the user's: "flag --val_size=0.5: '0.5' is not
    # a whole number".
    message = re.sub(r"invalid literal for int\(\) with base 10: ('.*')",
                     r'\1 is not a whole number', str(e))
    message = re.sub(r"could not convert string to float: ('.*')", r'\1 is not a number',
                     message)
    # `--train_steps = 1000` (a flagfile's line, most often): absl reads a flag named
    # 'train_steps ', whose trailing space its message does not show.
    spaced = re.search(r"Unknown command line flag '(\S+)\s+'", message)
    if spaced:
      message = (f'--{spaced.group(1)}: a flag takes no spaces around its \'=\' (write '
                 f'--{spaced.group(1)}=VALUE, also in a flagfile)')
    _refuse(message)
  if len(argv) > 1:  # A flagfile line without its leading --, or a stray word.
    _refuse(f'not a flag: {argv[1]!r} (flags look like --name=value)')
  _expand_home(flags.FLAGS)
  return argv


def _expand_home(flag_values) -> None:
  """`~` (and `~user`) at the start of a path flag's value read as the home directory,
  as a shell reads it in `--workdir ~/x` but not in `--workdir=~/x`: a directory named
  `~` under the current one is no one's wish (and `rm -rf ~` to remove it, a disaster)."""
  for name in list(flag_values):
    holder = flag_values[name]
    if not (name.endswith(('_path', '_dir', 'workdir')) or name == 'compare'):
      continue
    value = holder.value
    if isinstance(value, str) and value.startswith('~'):
      holder.value = os.path.expanduser(value)
    elif isinstance(value, list) and any(str(v).startswith('~') for v in value):
      holder.value = [os.path.expanduser(v) if str(v).startswith('~') else v for v in value]


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
