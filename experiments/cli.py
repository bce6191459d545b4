"""What the entry points share: absl's flag parsing with one-line errors."""

import re
import sys

from absl import flags


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  try:
    argv = flags.FLAGS(argv)
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
