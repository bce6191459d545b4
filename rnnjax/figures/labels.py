"""How figures and tables write hyperparameters and metrics: axis labels, short names
(the hyperparameter table's `short`), and values in a few characters."""

import math

import numpy as np

from rnnjax.figures import member_values
from rnnjax.search import hparams


SHORT = {row.name: row.short for row in hparams.TABLE}
# What a metric is measured on, where its name does not say: a forecast's errors are of
# the levels in original units, also when the networks forecast the differences.
SCALES = {('forecast', 'rmse'): 'levels, original units',
          ('forecast', 'mae'): 'levels, original units'}


def label(name: str) -> str:
  """A human axis label: 'learning_rate' -> 'learning rate'."""
  layer = hparams.layer_of(name)
  if layer is not None:
    return f'dropout (layer {layer + 1})'
  return name.replace('_', ' ')


def short(name: str) -> str:
  """A legend's or a bar's short name (the table's `short`): 'hidden_size' -> 'H',
  'dropout_2' -> 'drop 2'."""
  layer = hparams.layer_of(name)
  if layer is not None:
    return f'{SHORT["dropout"]} {layer + 1}'
  return SHORT.get(name, name)


def short_key(names) -> str:
  """The caption's key to the short names of `names` that differ from their labels
  ('Short names: H, hidden size; L, num layers.'), '' where none does."""
  pairs = {short(n): label(n) for n in names if short(n) != label(n)}
  return ('Short names: ' + '; '.join(f'{s}, {l}' for s, l in pairs.items()) + '.'
          if pairs else '')


def fmt(value, digits: int = 4, *, exponent: bool = False) -> str:
  """A hyperparameter value, short: 0.001 -> '1e-3', 64 -> '64' (`digits` significant);
  `exponent`: a non-zero float in the '3e-2' form whatever its size."""
  if isinstance(value, str):
    return value
  if isinstance(value, (bool, np.bool_)):
    return str(value)
  if isinstance(value, (int, np.integer)):
    return str(int(value))
  value = float(value)
  if not math.isfinite(value):
    return str(value)
  if value != 0 and (exponent or abs(value) < 1e-2 or abs(value) >= 1e5):
    mantissa, exponent = f'{value:.{min(digits, 3) - 1}e}'.split('e')
    mantissa = mantissa.rstrip('0').rstrip('.')
    return f'{mantissa}e{int(exponent)}'
  if abs(value) >= 10 ** digits:
    return str(round(value))
  return f'{value:.{digits}g}'


def _needs_exponent(value) -> bool:
  return (isinstance(value, (float, np.floating)) and math.isfinite(value) and value != 0
          and (abs(value) < 1e-2 or abs(value) >= 1e5))


def fmt_all(values, digits: int = 4) -> list:
  """`fmt` of each value, in one form for all: where any needs the exponent form
  ('3e-3'), the others take it too ('3e-2', not '0.03')."""
  exponent = any(_needs_exponent(v) for v in values)
  return [fmt(v, digits, exponent=exponent and not isinstance(v, (int, np.integer)))
          for v in values]


def budgets(members, train_steps: int = 0) -> str:
  """A caption's sentence where members were scored after different numbers of steps
  (successive halving or --patience stopped some early; `members`: load.Table.members;
  `train_steps`: the sweep's budget, load.Table.train_steps, 0 where unknown: then the
  most any member trained), else ''."""
  stopped = [m for m in members if m.get('status') == 'stopped']
  steps = [m['steps'] for m in members if m.get('steps') is not None]
  if not stopped or not steps:
    return ''
  halved = sum(str(m.get('stopped_by', '')).startswith('halving') for m in stopped)
  why = (' by successive halving' if halved == len(stopped) else
         f' ({halved} by successive halving, {len(stopped) - halved} by --patience)'
         if halved else '')
  early = sorted({m['steps'] for m in stopped if m.get('steps') is not None})
  total = max([train_steps] + steps)
  at = f' after {" or ".join(str(s) for s in early)} of {total} steps' if early else ''
  by_config = {}
  for m in members:
    by_config.setdefault(m.get('config', m['uid']), set()).add(m.get('steps'))
  mixed = any(len(s) > 1 for s in by_config.values())
  mix = " (one configuration's seeds can mix budgets)" if mixed else ''
  beside = ('; they are shown beside members trained in full' if len(stopped) < len(members)
            else '')
  return (f'Scored at different budgets: {len(stopped)} of {len(members)} members were '
          f'stopped early{why}{"," if at else ""}{at}{beside}{mix}.')


def diverged(table, verb: str = 'drawn') -> str:
  """A caption's sentence on the members that diverged with a finite value (`table`: a
  load.Table): they count, at the best they reached before diverging, as the sweep ranks
  them (member_values.usable), a member that diverged before its first evaluation at
  its untrained weights' (said); '' where none did."""
  counted = (table.status == 'diverged') & member_values.usable(table)
  n = int(counted.sum())
  # Diverged before its first evaluation: its best weights are those it started with.
  untrained = sum(m.get('best_step') == 0 for m, c in zip(table.members, counted) if c)
  first = (f' ({untrained} of them the untrained network\'s: diverged before their first '
           'evaluation)' if untrained else '')
  return (f'{n} diverged member(s) {verb} at their best value before diverging{first}.'
          if n else '')


def replicates(members, count: int = 0) -> str:
  """How captions name a configuration's replicates (`members`: load.Table.members):
  'seeds'; after a sweep with --folds, 'seeds (each its mean over 3 folds)': a seed's
  cross-validated value is one replicate (member_values.replicate_values). With `count`:
  '2 seeds', '1 seed (its mean over 3 folds)'."""
  folds = member_values.num_folds(members)
  word = 'seed' if count == 1 else 'seeds'
  each = '' if folds < 2 else f' ({"its" if count == 1 else "each its"} mean over {folds} folds)'
  return f'{count} {word}{each}' if count else f'{word}{each}'


def fmt_metric(value: float, digits: int = 3) -> str:
  """A metric value to `digits` significant digits, trailing zeros kept so that
  neighbours read alike: 0.1748 -> '0.175', 0.6 -> '0.600' (beside '0.595'), 2252.9 ->
  '2253' (a whole number under 1e5 keeps its digits)."""
  if not math.isfinite(value):
    return '-'
  # Rounded to `digits`, 999.7 is 1000: a whole number too (not '1.00e+03').
  if abs(float(f'{value:.{digits}g}')) >= 10 ** digits and abs(value) < 1e5:
    return f'{value:.0f}'
  return f'{value:#.{digits}g}'.rstrip('.')


def fmt_metrics(values, most: int = 5) -> list:
  """`fmt_metric` of each value, all to the fewest significant digits (3 to `most`)
  at which values that differ read apart: 16.485 and 16.497, both '16.5' to 3, are
  '16.48' and '16.50' (values alike to `most` digits, such as two that differ in
  their last bit, are alike)."""
  values = [float(v) for v in values]
  apart = len({fmt_metric(v, most) for v in values})
  for digits in range(3, most + 1):
    shown = [fmt_metric(v, digits) for v in values]
    if len(set(shown)) == apart:
      break
  return shown
