"""What the entry points share: absl's flag parsing with one-line errors."""

import sys

from absl import flags


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  if len(argv) > 1:  # A flagfile line without its leading --, or a stray word.
    print(f'error: not a flag: {argv[1]!r} (flags look like --name=value)', file=sys.stderr)
    sys.exit(2)
  return argv
