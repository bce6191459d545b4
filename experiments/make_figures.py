r"""Paper figures and tables from a finished sweep's work directory.

  python -m experiments.make_figures --workdir=runs/quickstart
  python -m experiments.make_figures --compare=runs/lstm,runs/gru --out_dir=paper/

Writes PNG and PDF figures, importance.json, table.md, table.tex and configs.csv into
WORKDIR/figures/ (or --out_dir). Reads only the work directory's files; a few seconds.
With --compare: finished sweeps side by side (compare.md, compare.csv and the figure
compare.png, .pdf in --out_dir).
"""

from absl import app
from absl import flags

from experiments import cli
from rnnjax.errors import InputError

WORKDIR = flags.DEFINE_string('workdir', '', 'Work directory of a finished sweep.')
DIVERGED = flags.DEFINE_enum('diverged', 'drop', ['drop', 'cap'], 'Importance analysis: '
                             'drop diverged members, or cap them at the worst finite value.')
GROUP_BY = flags.DEFINE_string('group_by', '', 'Sensitivity: the swept hyperparameter drawn '
                               'as one line per value, a listed one of 2 to 7 values '
                               '(default: hidden_size where so swept, else the structural '
                               'axis of most such values, else none).')
METRIC = flags.DEFINE_string('metric', '', 'The validation metric the figures draw (default: '
                             'the one that ranks, e.g. ce for a classifier), e.g. accuracy.')
OUT_DIR = flags.DEFINE_string('out_dir', '', 'Where the figures and tables go (default: '
                              'WORKDIR/figures), e.g. to keep variants side by side.')
COMPARE = flags.DEFINE_list('compare', [], 'Instead of one sweep\'s figures: finished sweeps '
                            'side by side, e.g. runs/lstm,runs/gru: prints a table of where '
                            'they differ, their best configuration and final model on '
                            'validation and test (test never ranks them; --metric picks the '
                            'metric shown), and writes it to --out_dir (compare.md, '
                            'compare.csv) when given, with compare.png and .pdf: the '
                            'validation metric against each hyperparameter two or more '
                            'of them swept, a line per sweep.')


def main(argv):
  del argv  # parse_flags refuses positional arguments.
  with cli.exits():
    from rnnjax import figures  # pylint: disable=g-import-not-at-top
    from rnnjax.run import stop  # pylint: disable=g-import-not-at-top
    if COMPARE.value:
      if WORKDIR.value:
        raise InputError('--compare: give the work directories there, without --workdir')
      if GROUP_BY.value:
        raise InputError('--group_by: draws one sweep\'s figures; --compare draws none')
      with stop.raising('comparing sweeps'):
        text, paths = figures.compare(COMPARE.value, out_dir=OUT_DIR.value,
                                      metric=METRIC.value)
      print(text)
      if paths:
        print(f'wrote {", ".join(paths)}')
      return
    if not WORKDIR.value:
      raise InputError('--workdir: required (the work directory of a finished sweep)')
    with stop.raising('drawing figures'):  # Each file is whole or not written (style.save).
      paths = figures.make_all(WORKDIR.value, diverged=DIVERGED.value,
                               group_by=GROUP_BY.value, out_dir=OUT_DIR.value,
                               metric=METRIC.value)
    print(f'{len(paths)} files in {OUT_DIR.value or WORKDIR.value + "/figures"}')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
