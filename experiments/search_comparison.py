r"""Grid vs random vs successive halving vs PBT vs TPE at equal compute; see
rnnjax/run/compare.py.

  python -m experiments.search_comparison --flagfile=experiments/flagfiles/search_comparison.flags

Takes every flag of experiments/population_sweep.py for the task and the fixed
settings, plus the searched space (--space, in the spec language of the sweep's flags:
learning_rate=loguniform(1e-4,1e-1),dropout=uniform(0,0.5)) and the comparison's own
flags below. Writes WORKDIR/comparison.{json,md,png,pdf} and one work directory per
sweep. The flags a comparison sets for each sweep itself (--search, --num_members,
--last_round, --num_seeds, --seed) or does not do (--dry_run, --mlflow_uri,
--wandb_project, --distributed) are refused, as is a hyperparameter's flag that --space
also searches, unless typed at its default value (the search would replace it).

--overwrite replaces only the sweeps whose folders hold different settings (another
comparison's); this comparison's own, finished or not, are kept, so that the same
command, --overwrite and all, resumes a stopped comparison.
"""

from experiments import cli

# Run as a command, SIGINT and SIGTERM are noted from here, as population_sweep does
# (main acts on them): see cli.note_signals.
_EARLY, _NOTED = {}, []  # signal -> its handler before; the signals noted
if __name__ == '__main__':
  _EARLY, _NOTED = cli.note_signals()

import logging  # pylint: disable=g-import-not-at-top,wrong-import-position
import os  # pylint: disable=g-import-not-at-top,wrong-import-position
import re  # pylint: disable=g-import-not-at-top,wrong-import-position
import signal  # pylint: disable=g-import-not-at-top,wrong-import-position

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging as absl_logging

from experiments import population_sweep
from rnnjax.errors import InputError

SPACE = flags.DEFINE_string('space',
                            'learning_rate=loguniform(1e-4,1e-1),dropout=uniform(0,0.5)',
                            'Searched hyperparameters: name=uniform(lo,hi) or '
                            'name=loguniform(lo,hi), in the spec language of the sweep\'s '
                            'flags, comma-separated (traced ones; a structural list such '
                            'as --cell=grid(lstm,gru) is searched by its own flag).')
STRATEGIES = flags.DEFINE_list('strategies', ['grid', 'random', 'halving', 'pbt', 'tpe'],
                               'Search strategies to compare, some of grid, random, '
                               'halving (successive halving), pbt (population-based '
                               'training), tpe (Optuna\'s TPE, in --rounds rounds; 3 if 0); '
                               'each runs one sweep per --search_seeds seed, in '
                               'WORKDIR/<strategy>-<seed>.')
SEARCH_SEEDS = flags.DEFINE_list('search_seeds', ['0', '1', '2'],
                                  "Seeds of the searches: each sweep's --seed (its draws "
                                  "and initial weights; a classifier's validation cases "
                                  'too, the same for every search of one seed).')
BUDGET_MEMBERS = flags.DEFINE_integer('budget_members', 27, 'Budget: this many members '
                                      'trained for --train_steps (member-steps = both).')


# population_sweep's flags that a comparison sets itself or does not do: given, each is
# refused in one line rather than silently ignored (a --dry_run would train every sweep).
_NOT_TAKEN = {
    'dry_run': 'a comparison trains every sweep; plan one with population_sweep --dry_run',
    'search': 'each sweep searches by one of --strategies',
    'num_members': "each search's members follow from --budget_members",
    'last_round': "TPE's rounds follow from --budget_members and --rounds",
    'num_seeds': 'each configuration trains once; --search_seeds repeats the searches',
    'seed': "each sweep's seed is one of --search_seeds",
    'mlflow_uri': 'a comparison is not logged to MLflow',
    'wandb_project': 'a comparison is not logged to Weights & Biases',
    'distributed': 'a comparison runs in one process',
}


def _refuse_flags_not_taken():
  for name, why in _NOT_TAKEN.items():
    holder = flags.FLAGS[name]
    if holder.present and holder.value != holder.default:
      raise InputError(f'--{name}: not taken by search_comparison ({why})')


def _seeds(values) -> list[int]:
  """--search_seeds as integers, checked."""
  try:
    seeds = [int(s) for s in values]
  except ValueError:
    raise InputError(f'--search_seeds: {values} are not integers') from None
  if not seeds:
    raise InputError('--search_seeds: name at least one seed')
  if min(seeds) < 0:
    raise InputError(f'--search_seeds: {min(seeds)} must be >= 0')
  twice = [s for s in seeds if seeds.count(s) > 1]
  if twice:  # Its sweeps are one: the medians would be over fewer seeds than named.
    raise InputError(f'--search_seeds: {twice[0]} is given twice')
  return seeds


# The kinds of space.parse_axis that --space takes -> whether on a log scale: ranges, as
# compare.Range holds them (the grid spaces its points from lo to hi, the others draw).
_RANGES = {'uniform': False, 'loguniform': True}
_OLD = re.compile(r'^([^:]+):([^:]+?)(:log)?$')  # lo:hi[:log], --space's form before.


def _space(entries, task: str = '') -> dict:
  """--space's entries (space.split_entries) as name -> compare.Range, each parsed by the
  sweep's spec language (space.parse_axis). Refused in one line naming --space and the
  entry: a name --space cannot search, a kind other than a range, the old lo:hi[:log]
  form (with its spelling in the spec language)."""
  from rnnjax.run import compare  # pylint: disable=g-import-not-at-top
  from rnnjax.search import space as space_lib  # pylint: disable=g-import-not-at-top
  space = {}
  for entry in entries:
    name, equals, text = (part.strip() for part in entry.partition('='))
    if not name or not equals:
      raise InputError(f'--space: {entry!r} is not name=uniform(lo,hi) or '
                       'name=loguniform(lo,hi)')
    if name in space:
      raise InputError(f'--space: {name!r} is given twice')
    compare.check_name(name, task)
    old = _OLD.match(text)
    if old:
      lo, hi, log = old.groups()
      raise InputError(f'--space: {entry!r} is the old form; write '
                       f'{name}={"loguniform" if log else "uniform"}({lo.strip()},'
                       f'{hi.strip()})')
    try:
      axis = space_lib.parse_axis(name, text)
    except InputError as e:
      raise InputError(f'--space: {entry!r}: {str(e).removeprefix(f"--{name}: ")}'
                       ) from None
    if axis.kind not in _RANGES:
      raise InputError(f'--space: {entry!r} is not a range; --space takes '
                       'name=uniform(lo,hi) or name=loguniform(lo,hi) (listed values are '
                       f'searched by their own flag, --{name}=grid(a,b))')
    space[name] = compare.Range(*axis.values, log=_RANGES[axis.kind])
  return space


def _refuse_flags_searched(space: dict, entries) -> None:
  """A hyperparameter --space searches and its own flag sets too (a sweep's flagfile's
  --learning_rate=grid(...), or --dropout=0.1) would be replaced by the search: refused
  in one line. Its flag typed at its default value (--dropout=0.0, a flagfile's
  --learning_rate=1e-3) asks for nothing the search replaces: taken."""
  from rnnjax.search import hparams  # pylint: disable=g-import-not-at-top
  from rnnjax.search import space as space_lib  # pylint: disable=g-import-not-at-top
  for name, entry in zip(space, entries):
    holder = population_sweep.SPEC_FLAGS.get(name)
    # A name --space cannot search is refused as such by compare.check.
    if holder is None or not holder.present or name not in hparams.TRACED:
      continue
    axis = space_lib.parse_axis(name, holder.value)  # A bad value: its one line.
    if (axis.is_random or len(axis.values) > 1
        or axis.values != space_lib.parse_axis(name, holder.default).values):
      raise InputError(f'--{name}: {holder.value!r} is also searched by --space '
                       f'({entry}), which would replace it; drop one of them')


def _terminated(signum, frame):
  """SIGTERM outside a sweep's watch (between sweeps): one line, as Ctrl-C's."""
  del frame
  from rnnjax.run import stop  # pylint: disable=g-import-not-at-top
  raise stop.Stopped(f'stopped by {stop.name(signum)} between sweeps; the finished '
                     'sweeps are kept whole: run the same command to resume', signum)


def main(argv):
  del argv
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.ERROR)
  absl_logging.set_verbosity(absl_logging.WARNING)
  with cli.exits('the finished sweeps are kept whole: run the same command to resume'):
    _refuse_flags_not_taken()
    population_sweep.configure_devices()
    population_sweep.configure_compile_cache()
    from rnnjax.run import compare  # pylint: disable=g-import-not-at-top
    from rnnjax.run import stop  # pylint: disable=g-import-not-at-top
    seeds = _seeds(SEARCH_SEEDS.value)
    workdir = population_sweep.WORKDIR.value or population_sweep.default_workdir()
    from rnnjax.search import space as space_lib  # pylint: disable=g-import-not-at-top
    entries = space_lib.split_entries(SPACE.value)
    space = _space(entries, population_sweep.SPEC_FLAGS['task'].value)
    _refuse_flags_searched(space, entries)
    # Ctrl-C between sweeps is a KeyboardInterrupt (said by cli.exits); SIGTERM would end
    # the process without a word. Each sweep watches both itself (and gives this back).
    # One the process was started to ignore stays ignored, as a sweep leaves it (stop.py).
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
      signal.signal(signal.SIGTERM, _terminated)
    if signal.SIGINT in _EARLY:
      signal.signal(signal.SIGINT, _EARLY[signal.SIGINT])
    if _NOTED:
      raise stop.Stopped(f'stopped by {stop.name(_NOTED[0])} while starting, before '
                         'anything was written; run the same command again', _NOTED[0])
    out = compare.compare(
        population_sweep.spec_from_flags(), space, workdir,
        num_members=BUDGET_MEMBERS.value, search_seeds=seeds, strategies=STRATEGIES.value,
        eta=population_sweep.SPEC_FLAGS['eta'].value,
        min_steps=population_sweep.SPEC_FLAGS['min_steps'].value,
        pbt_interval=population_sweep.SPEC_FLAGS['pbt_interval'].value,
        rounds=population_sweep.SPEC_FLAGS['rounds'].value or 3,
        group_size=population_sweep.GROUP_SIZE.value,
        overwrite=population_sweep.OVERWRITE.value,
        keep_checkpoints=population_sweep.KEEP_CHECKPOINTS.value,
        max_memory_gb=population_sweep.MAX_MEMORY_GB.value)
    with stop.raising('drawing the comparison'):
      from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
      paths = comparison.plot(out, workdir)
    print(f'wrote {", ".join(os.path.basename(p) for p in paths)}, comparison.md and '
          f'comparison.json in {workdir}')


if __name__ == '__main__':
  app.run(main, flags_parser=population_sweep.parse_flags)
