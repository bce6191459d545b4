r"""Paper figures and tables from a finished sweep's work directory.

  python -m experiments.make_figures --workdir=runs/quickstart

Writes PNG and PDF figures, importance.json, table.md and table.tex into
WORKDIR/figures/. Reads only the work directory's JSON files; a few seconds.
"""

import sys

from absl import app
from absl import flags

WORKDIR = flags.DEFINE_string('workdir', '', 'Work directory of a finished sweep.')
DIVERGED = flags.DEFINE_enum('diverged', 'drop', ['drop', 'cap'], 'Importance analysis: '
                             'drop diverged members, or cap them at the worst finite value.')
GROUP_BY = flags.DEFINE_string('group_by', '', 'Sensitivity: the swept hyperparameter drawn '
                               'as one line per value (default: hidden_size).')


def main(argv):
  del argv  # parse_flags refuses positional arguments.
  from rnnjax import figures  # pylint: disable=g-import-not-at-top
  from rnnjax.errors import InputError  # pylint: disable=g-import-not-at-top
  try:
    if not WORKDIR.value:
      raise InputError('--workdir: required (the work directory of a finished sweep)')
    paths = figures.make_all(WORKDIR.value, diverged=DIVERGED.value,
                             group_by=GROUP_BY.value)
  except InputError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  print(f'{len(paths)} files in {WORKDIR.value}/figures')


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  if len(argv) > 1:
    print(f'error: not a flag: {argv[1]!r} (flags look like --name=value)', file=sys.stderr)
    sys.exit(2)
  return argv


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
