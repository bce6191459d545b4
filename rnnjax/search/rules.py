"""Which settings a sweep takes together: `check(spec)` refuses, in one line naming the
flag, bad budgets, search settings of another search's kind, settings of another task
(its data files, columns, table axes), and a --dropout that --dropout_per_layer leaves
unused; `applies(name, task)` says whether a task reads a setting (MLflow's parameters
are those)."""

import dataclasses
import os

import numpy as np

from rnnjax.data import gap_fill
from rnnjax.data import statistical
from rnnjax.data import task_data
from rnnjax.data import text as text_lib
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import planner
from rnnjax.search import space
from rnnjax.search.spec import SweepSpec
from rnnjax.search.strategies import halving
from rnnjax.search.strategies import pbt

# --ensemble: how the final model is made of the members (final/choice/ensemble.py).
ENSEMBLES = ('top', 'fixed', 'greedy', 'single')
COMBINE = ('mean', 'median')
# The data file flags each task reads (a sweep refuses the others rather than ignore them).
DATA_FILES = {'forecast': ('csv_path',), 'panel': ('csv_path', 'test_path'),
              'classify': ('train_path', 'test_path'), 'charlm': ('text_path',)}
FILE_FIELDS = frozenset().union(*DATA_FILES.values())


def _shown(value) -> str:
  """`value` as an error shows it: its repr when short, else its kind and size (an array
  or a DataFrame given where a path goes prints as every row)."""
  text = repr(value)
  if '\n' not in text and len(text) <= 60:
    return text
  shape = getattr(value, 'shape', None)
  return (f'a value of shape {tuple(shape)}' if shape is not None else
          f'{text.splitlines()[0][:50]}...')


def with_paths(spec: SweepSpec) -> SweepSpec:
  """`spec` with its data file paths as text (a pathlib.Path given from Python)."""
  paths = {f: str(getattr(spec, f)) for f in FILE_FIELDS
           if isinstance(getattr(spec, f), os.PathLike)}
  return dataclasses.replace(spec, **paths) if paths else spec


def check_types(spec: SweepSpec) -> None:
  """InputError naming the field for a value of another type than its default's (a spec
  built in Python: a str of column names would read as its characters, a list of rates
  as text); a spec string may be given as a number."""
  for field in dataclasses.fields(spec):
    value, default = getattr(spec, field.name), field.default
    kind = type(default)
    if kind is bool:
      ok = isinstance(value, (bool, np.bool_))
    elif kind is int:
      ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    elif kind is float:
      ok = (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))
    elif kind is tuple:
      ok = isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)
    elif field.name in FILE_FIELDS:  # A path (with_paths makes it text).
      ok = isinstance(value, (str, os.PathLike))
    else:  # A spec string; a number is read as its text (lookback=4).
      ok = isinstance(value, str) or (isinstance(value, (int, float, np.number)) and
                                      not isinstance(value, (bool, np.bool_)))
    if not ok:
      wanted = {tuple: "a tuple of names, e.g. ('sales',)", bool: 'True or False',
                int: 'a whole number (int)', float: 'a number'}.get(kind, 'a str')
      if field.name in FILE_FIELDS:
        wanted = 'a path (a str or pathlib.Path)' + (
            '; a sweep reads its data from files: write it to one first (DataFrame.to_csv)'
            if hasattr(value, 'shape') else '')
      elif field.name in hparams.BY_NAME and isinstance(value, (list, tuple)):
        wanted += f": 'grid({','.join(map(str, value))})'"
      elif field.name == 'dropout_per_layer' and isinstance(value, (list, tuple)):
        wanted += f": {';'.join(map(str, value))!r}"
      raise InputError(f'--{field.name}: {_shown(value)} ({type(value).__name__}) must be '
                       f'{wanted}')


def check(spec: SweepSpec):
  """Raises InputError, one line naming the flag, for settings no sweep runs with (see
  the module docstring); returns None for a spec that can run."""
  check_types(spec)
  for flag in ('train_steps', 'eval_every', 'horizon'):
    if getattr(spec, flag) < 1:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 1')
  # Counts whose 0 means "the default" or "none": a negative one would be read as that
  # (or fail only after training, as --sample_chars did), so it is refused here.
  for flag in ('val_size', 'test_size', 'patience', 'seed', 'sample_chars'):
    if getattr(spec, flag) < 0:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 0')
  if spec.sample_chars > text_lib.MAX_DRAWN:
    raise InputError(f'--sample_chars: {spec.sample_chars} is more than a sample draws '
                     f'({text_lib.MAX_DRAWN:,} at most, as predict --num_chars)')
  if spec.season < -1:
    raise InputError(f'--season: {spec.season}; expected a season length >= 1, 0 for none '
                     'or -1 for the data\'s own')
  if spec.train_steps % spec.eval_every:
    raise InputError(f'--train_steps: {spec.train_steps} is not a multiple of '
                     f'--eval_every={spec.eval_every}')
  if spec.task not in tasks.TASKS:
    raise InputError(f'--task: unknown task {spec.task!r}; expected one of '
                     f'{", ".join(tasks.TASKS)}')
  for row in hparams.TABLE:  # A task's own axes (a panel's normalisation) elsewhere.
    if row.tasks and spec.task not in row.tasks and not _is_default(
        row, str(getattr(spec, row.name))):
      raise InputError(f'--{row.name}: for --task={" or ".join(row.tasks)} only (this sweep '
                       f'is --task={spec.task}); leave it out')
  own = DATA_FILES[spec.task]
  for flag in ('csv_path', 'test_path', 'train_path', 'text_path'):
    if getattr(spec, flag) and flag not in own:
      raise InputError(f'--{flag}: --task={spec.task} reads no --{flag} (its files: '
                       f'{", ".join("--" + f for f in own)}); leave it out')
  if spec.future_columns and spec.task != 'panel':
    raise InputError(f'--future_columns: for --task=panel only (this sweep is '
                     f'--task={spec.task}); --input_columns reads past values, and one '
                     'series with columns known in advance is a panel of one: --task=panel '
                     'without --id_column')
  if spec.selection and spec.selection not in tasks.SELECTABLE.get(spec.task, ()):
    choices = tasks.SELECTABLE.get(spec.task)
    raise InputError(f'--selection: {spec.selection!r}; ' + (
        f'expected one of {", ".join(choices)} for --task={spec.task}' if choices else
        f'--task={spec.task} ranks by its own metric; leave it out'))
  if spec.fill not in gap_fill.FILLS:
    raise InputError(f'--fill: {spec.fill!r}; expected one of {", ".join(gap_fill.FILLS)}')
  if spec.fill != 'linear' and spec.task not in ('forecast', 'panel'):
    raise InputError(f'--fill: for --task=forecast or panel only (this sweep is '
                     f'--task={spec.task}); leave it out')
  both = set(spec.future_columns) & set(spec.input_columns)
  if both:
    raise InputError(f'--future_columns: {sorted(both)[0]!r} is in --input_columns too; '
                     'name each column once')
  for flag, names in (('--input_columns', spec.input_columns),
                      ('--future_columns', spec.future_columns)):
    target = [c for c in names if c in spec.target_columns]
    if spec.task == 'panel' and target:  # A target read ahead would be its own answer.
      raise InputError(f'{flag}: {target[0]!r} is the target column; an input column is '
                       'another column of the file')
  if spec.task == 'panel' and spec.difference:
    raise InputError('--difference: not for --task=panel (each window is normalised by '
                     'itself, as --normalization says)')
  known = statistical.METHODS + statistical.INTERMITTENT
  unknown = [m for m in spec.benchmarks if m not in known]
  if unknown:
    raise InputError(f'--benchmarks: unknown model {unknown[0]!r}; expected some of '
                     f'{", ".join(known)}')
  if spec.id_column and spec.task not in ('panel', 'classify'):
    raise InputError(f'--id_column: a long CSV of many series is a panel; add --task=panel '
                     f'(or --task=classify for cases with a label; this sweep is '
                     f'--task={spec.task})')
  if spec.ensemble not in ENSEMBLES:
    raise InputError(f'--ensemble: {spec.ensemble!r}; expected one of '
                     f'{", ".join(ENSEMBLES)}')
  if spec.combine not in COMBINE or (spec.combine == 'median' and
                                     spec.task not in ('forecast', 'panel')):
    raise InputError(f'--combine: {spec.combine!r}; expected mean, or median for forecast '
                     'and panel (probabilities are averaged)')
  if spec.ensemble_size < 1:
    raise InputError(f'--ensemble_size: {spec.ensemble_size} must be >= 1')
  if spec.refit < 0 or (spec.refit and spec.task == 'charlm'):
    raise InputError(f'--refit: {spec.refit}; expected seeds >= 0, and 0 for charlm '
                     '(its training text is one contiguous part)')
  if spec.folds < 1:
    raise InputError(f'--folds: {spec.folds} must be >= 1')
  if spec.folds > 1 and spec.search in planner.ADAPTIVE:
    raise InputError(f'--folds: cross-validation ranks finished members; --search='
                     f'{spec.search} decides while they train (use grid, random or tpe)')
  if spec.folds > 1 and spec.task == 'charlm':
    raise InputError('--folds: charlm has no folds (its text splits in one order); leave '
                     'it 1')
  if not spec.temperature >= 0:
    raise InputError(f'--temperature: {spec.temperature} must be >= 0 (0: the most likely '
                     'character each step)')
  _check_dropout(spec)
  if spec.search == 'halving':
    halving.settings(spec)  # Its rungs, or the flag that makes none.
  if spec.search == 'pbt':
    pbt.settings(spec)  # Its steps, or the flag that makes none.
    if not 0 < spec.pbt_fraction <= 0.5:
      raise InputError(f'--pbt_fraction: {spec.pbt_fraction} must be in (0, 0.5]')
  if spec.search != 'tpe' and spec.rounds:
    raise InputError(f'--rounds: {spec.rounds}, but rounds are for --search=tpe only '
                     f'(this sweep is --search={spec.search})')
  if spec.search == 'tpe' and (spec.rounds < 1 or spec.num_members < 1):
    flag, value = ('rounds', spec.rounds) if spec.rounds < 1 else (
        'num_members', spec.num_members)
    raise InputError(f'--{flag}: {value}; --search=tpe needs --rounds >= 1 of '
                     '--num_members >= 1 configurations each')
  if spec.last_round < 0 or (spec.last_round and spec.search != 'tpe'):
    raise InputError(f'--last_round: {spec.last_round}; it is the configurations of '
                     "TPE's last round, >= 0 (0: --num_members), for --search=tpe only")
  for flag in ('min_steps', 'pbt_interval'):  # Their searches' own checks came first.
    if getattr(spec, flag) < 0:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 0')
  defaults = SweepSpec()
  for name, owners in _task_settings().items():  # Read by other tasks only: not silently.
    value = getattr(spec, name)  # A list where the spec was read back from JSON.
    if name in hparams.BY_NAME:  # A row: its default however written (`24.0`).
      same = _is_default(hparams.BY_NAME[name], str(value))
    else:
      same = (tuple(value) if isinstance(value, list) else value) == getattr(defaults, name)
    # classical_baselines turned off changes nothing where a task fits none.
    if spec.task not in owners and name != 'classical_baselines' and not same:
      raise InputError(f'--{name}: for --task={" or ".join(owners)} only (this sweep is '
                       f'--task={spec.task}); leave it out')


def notes(spec: SweepSpec) -> list[str]:
  """What the sweep's log says of its settings: a --dataset given beside the user's own
  file that replaces it (a flagfile's bundled set, pointed at another file), and settings
  given that do nothing here (--combine of a one-member final model, --variational_dropout
  without dropout), and a forecast's input columns read as past values alone."""
  out = []
  given = [f for f in DATA_FILES[spec.task] if getattr(spec, f)]
  if spec.dataset and given:
    out.append(f'note: --{given[0]}={getattr(spec, given[0])} is read; --dataset='
               f'{spec.dataset} is not')
  if spec.ensemble == 'single' and spec.refit <= 1 and spec.combine != 'mean':
    out.append(f'note: --combine={spec.combine} does nothing with --ensemble=single: the '
               'final model is one member (with --refit above 1, its refit copies are '
               'combined so)')
  if spec.task == 'forecast' and spec.input_columns:
    names = ','.join(spec.input_columns)
    out.append(f'note: --input_columns={names}: each window reads their past values, up to '
               'the step before the one it forecasts; columns known in advance (a promotion '
               'plan, prices set ahead) are read over the forecast\'s own steps by '
               '--task=panel --future_columns (one series is a panel of one)')
  if spec.variational_dropout and not _any_dropout(spec):
    out.append('note: --variational_dropout does nothing: no member has dropout (give '
               '--dropout or --dropout_per_layer a rate above 0)')
  return out


def _any_dropout(spec: SweepSpec) -> bool:
  """Whether some member of the sweep may draw a dropout rate above 0."""
  specs = (spec.dropout_per_layer.split(';') if spec.dropout_per_layer
           else [str(spec.dropout)])
  return any(v > 0 for text in specs
             for v in space.parse_axis('dropout', text.strip()).values)


def _is_default(row: hparams.HParam, given: str) -> bool:
  """Whether a spec string means the row's default (`0.0` and `grid(0)` are `0`)."""
  try:
    return space.parse_axis(row.name, given) == space.parse_axis(row.name, row.default)
  except InputError:  # Not even a value of the row: not its default either.
    return False


def _check_dropout(spec: SweepSpec) -> None:
  """--dropout beside --dropout_per_layer: every layer has its own rate then, so a
  --dropout other than its default would be a rate no layer uses, recorded as if it
  were (trials.csv, summary.json)."""
  if not spec.dropout_per_layer:
    return
  default = space.parse_axis('dropout', hparams.BY_NAME['dropout'].default)
  if space.parse_axis('dropout', str(spec.dropout)) != default:
    raise InputError(f'--dropout: {spec.dropout!r} is not used with --dropout_per_layer '
                     '(which gives every layer its own rate); leave --dropout out')


def applies(name: str, task: str) -> bool:
  """Whether a sweep of `task` reads setting `name` (not a row or a data setting that
  only other tasks read)."""
  row = hparams.BY_NAME.get(name)
  owners = row.tasks if row is not None else _task_settings().get(name)
  return not owners or task in owners


def _task_settings() -> dict:
  """setting -> the tasks that read it: their data loaders' options, and the sample a
  language model writes."""
  out = {'sample_chars': ('charlm',), 'temperature': ('charlm',)}
  for task in tasks.TASKS:
    for name in task_data.options(task):
      out[name] = out.get(name, ()) + (task,)
  return out
