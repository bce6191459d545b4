"""The one table of hyperparameters, and the one way members' values become `HParams`.

Each row of `TABLE` says everything the rest of the code needs to know about a
hyperparameter: its flag (and `SweepSpec` field) name, default spec and help text, the
type and range of its values, whether it is structural (a shape: members with different
values need different programs, so they land in different buckets) or traced (a
per-member value of `population.HParams`), and whether PBT may perturb it. The spec
parser, the flags, the plan, PBT, the summary and the figures all read these rows; none
keeps a list of its own. Adding a hyperparameter is one row (plus its use in the engine).

Per-layer dropout, known here alone: `--dropout_per_layer="a;b"` gives layer l the axis
`dropout_l` (`layer_specs`, `layer_name`, `layer_of`), checked like `dropout` (`row`);
`HParams.dropout_rates` holds one rate per layer (`stack`, `read`, `replaced`), and a
sweep with per-layer axes uses no `dropout` rate (`has_layers`).
"""

import dataclasses
import math
import re
from typing import Callable

import numpy as np

from rnnjax.engine import cells
from rnnjax.engine import optim
from rnnjax.engine import population as pop
from rnnjax.engine import tasks

SPEC_HELP = ('Spec string: a value, a,b,.. or grid(a,b,..) (also choice(a,b,..)), '
             'uniform/loguniform/randint(lo,hi).')


@dataclasses.dataclass(frozen=True)
class HParam:
  name: str             # Flag, SweepSpec field and axis name; also its HParams field
                        # when traced (dropout: layer rates in HParams.dropout_rates).
  type: type            # float, int or str
  default: str          # Default spec string ('' : by optimizer family, see below).
  help: str
  expect: str           # What a valid value is, for error messages.
  valid: Callable
  structural: bool = False  # A shape: one bucket (compiled program) per value.
  explorable: bool = False  # PBT may perturb it (init-time values and shapes may not).
  short: str = ''       # How figures and tables label it when space is short.
  tasks: tuple = ()     # Only for these tasks (() : every task).
  by_family: dict = None    # Unset: the optimizer family's usual value.


TABLE = (
    HParam('cell', str, 'lstm', 'Cell: rnn_tanh, rnn_relu, lstm, gru.',
           f'one of {sorted(cells.CELLS)}', lambda v: v in cells.CELLS, structural=True,
           short='cell'),
    HParam('optimizer', str, 'adam', 'sgd, adam, adamw, rmsprop.',
           f'one of {list(optim.FAMILIES)}', lambda v: v in optim.FAMILIES,
           structural=True, short='opt'),
    HParam('hidden_size', int, '32', 'Hidden units per layer.', 'an integer >= 1',
           lambda v: v >= 1, structural=True, short='H'),
    HParam('num_layers', int, '1', 'Stacked recurrent layers.', 'an integer >= 1',
           lambda v: v >= 1, structural=True, short='L'),
    HParam('batch_size', int, '32', 'Windows per training batch.', 'an integer >= 1',
           lambda v: v >= 1, structural=True, short='B'),
    # Forecasting's input window: each value brings its own windows of the series.
    HParam('lookback', int, '24', 'Input window length, in time steps (forecast, panel).',
           'an integer >= 1', lambda v: v >= 1, structural=True,
           tasks=('forecast', 'panel'), short='lookback'),
    # A panel's global model (engine/tasks/panel.py): how windows are scaled, what it minimises.
    HParam('normalization', str, 'last', 'How a panel member scales each window: '
           'series, last, mean, robust, log (of positive series), none (panel).',
           f'one of {list(tasks.NORMALIZATIONS)}', lambda v: v in tasks.NORMALIZATIONS,
           structural=True, tasks=('panel',), short='norm'),
    HParam('loss', str, 'mae', 'A panel member\'s training loss: mse, mae (on the '
           'normalised window), smape, mase, rmsse (M5\'s scaled squared error; panel).',
           f'one of {list(tasks.LOSSES)}',
           lambda v: v in tasks.LOSSES, structural=True, tasks=('panel',), short='loss'),
    HParam('deseasonalize', int, '0', 'A panel member divides each seasonal series\' '
           'windows by its multiplicative seasonal indices, as Naive2 and Theta do, and '
           'multiplies its forecasts by them: 1, or 0 for the raw values (panel).',
           '0 or 1', lambda v: v in (0, 1), structural=True, tasks=('panel',),
           short='deseas'),
    HParam('history', float, '0', 'A panel member trains only on the windows whose '
           'targets end within the last history x horizon points of their series\' known '
           'part, as N-BEATS samples (its M4 setting: 1.5); 0 trains on every window (panel).',
           '0, or a number >= 1 (horizons)', lambda v: v == 0 or v >= 1, structural=True,
           tasks=('panel',), short='hist'),
    HParam('learning_rate', float, '1e-3', 'Learning rate.', '> 0', lambda v: v > 0,
           explorable=True, short='lr'),
    HParam('weight_decay', float, '0', 'L2: weight_decay x weights added to the gradient '
           'before the --clip_norm clip (PyTorch adds it after); decoupled for adamw, '
           'each step shrinking the weights by learning_rate x weight_decay.', '>= 0',
           lambda v: v >= 0, explorable=True, short='wd'),
    HParam('clip_norm', float, '1', 'Global gradient-norm clip, 0 = off.',
           '>= 0 (0 turns clipping off)', lambda v: v >= 0, explorable=True, short='clip'),
    HParam('momentum', float, '', 'SGD/RMSProp momentum, Adam beta1 (empty: the '
           'optimizer\'s usual value).', 'in [0, 1)', lambda v: 0 <= v < 1,
           explorable=True, by_family=optim.DEFAULT_MOMENTUM, short='mom'),
    HParam('beta2', float, '', 'Adam beta2, RMSProp decay (empty: usual).', 'in [0, 1)',
           lambda v: 0 <= v < 1, explorable=True, by_family=optim.DEFAULT_BETA2, short='b2'),
    HParam('input_dropout', float, '0', 'Dropout on the inputs.', 'in [0, 1)',
           lambda v: 0 <= v < 1, explorable=True, short='in drop'),
    HParam('dropout', float, '0', 'Dropout between layers and before the readout.',
           'in [0, 1)', lambda v: 0 <= v < 1, explorable=True, short='drop'),
    # Act at init only: inherited with the state by PBT, never explored.
    HParam('forget_bias', float, '1', 'LSTM forget-gate bias at init.', 'a finite number',
           math.isfinite, short='fbias'),
    HParam('init_scale', float, '1', 'Weights ~ U(+-scale/sqrt(H)).', '> 0',
           lambda v: v > 0, short='init'),
    # Imbalanced classes: the loss's weight of a case is its class's share ** -value.
    HParam('class_balance', float, '0', 'A classifier\'s loss weighs each training case '
           'by its class\'s share of the training cases to the power -this: 0 every case '
           'alike, 1 every class alike in total (scikit-learn\'s balanced), between the two '
           'in part (classify).', 'in [0, 2]', lambda v: 0 <= v <= 2, explorable=True,
           tasks=('classify',), short='cbal'),
)
BY_NAME = {h.name: h for h in TABLE}
STRUCTURAL = tuple(h.name for h in TABLE if h.structural)
TRACED = tuple(h.name for h in TABLE if not h.structural)
EXPLORABLE = tuple(h.name for h in TABLE if h.explorable)

_LAYER = re.compile(r'dropout_(\d+)')


def row(name: str) -> HParam:
  """The row of `name`; per-layer axes (`dropout_2`) are read like `dropout`."""
  return BY_NAME['dropout' if _LAYER.fullmatch(name) else name]


def layer_of(name: str):
  """0-based layer of a per-layer dropout axis (`dropout_2` -> 1); None otherwise."""
  match = _LAYER.fullmatch(name)
  return int(match.group(1)) - 1 if match else None


def layer_name(layer: int) -> str:
  """The axis of 0-based layer `layer`'s dropout rate: 0 -> 'dropout_1' (see layer_of)."""
  return f'dropout_{layer + 1}'


def layer_specs(dropout_per_layer: str) -> dict:
  """`dropout_l` -> spec string of each layer of `--dropout_per_layer` ('a;b': layer 1
  a, layer 2 b); {} when it is empty."""
  if not dropout_per_layer:
    return {}
  return {layer_name(l): text for l, text in enumerate(dropout_per_layer.split(';'))}


def has_layers(names) -> bool:
  """Whether any of `names` is a per-layer dropout axis; then `dropout` is not a rate
  any layer uses (it only fills layers the sweep gives no axis, see `stack`)."""
  return any(layer_of(name) is not None for name in names)


def is_explorable(name: str) -> bool:
  return name in BY_NAME and BY_NAME[name].explorable or layer_of(name) is not None


# The spec's hyperparameter fields: one spec string per row, named like the flag.
SpecStrings = dataclasses.make_dataclass(
    'SpecStrings',
    [(h.name, str, dataclasses.field(default=h.default,
                                     metadata={'help': f'{h.help} {SPEC_HELP}'}))
     for h in TABLE], frozen=True)
SpecStrings.__doc__ = 'One spec string per hyperparameter (see rnnjax.search.space).'


def member_values(*, optimizer: str = 'adam', **values) -> dict:
  """One member's values: the table's defaults (the family's, where a row has one),
  overridden by `values`; for benchmarks and tests that build populations by hand."""
  out = {h.name: (h.by_family[optimizer] if h.by_family else
                  h.default if h.type is str else h.type(float(h.default)))
         for h in TABLE}
  return {**out, 'optimizer': optimizer, **values}


def stack(values: list, uids: list, size: int, num_layers: int) -> pop.HParams:
  """The members' values as a population `HParams` (host arrays) of `size` rows.

  values: per member, a dict axis name -> value (every traced axis, `hidden_size`, and
    optionally `dropout_l` for layer l, which overrides `dropout`).
  uids: the members' uids. Rows past the members are dead copies of the first member,
    with uids -1, -2, ... (padding to a multiple of the device count).
  """
  return stack_from(lambda name: ([v.get(name, v['dropout']) for v in values]
                                   if layer_of(name) is not None else
                                   [v[name] for v in values] if name in values[0] else
                                   None), uids, size, num_layers)


def stack_from(column, uids, size: int, num_layers: int) -> pop.HParams:
  """`stack` for values read by column: `column(name)` -> <[n]> the n members' values
  of `name`, None for a per-layer axis `dropout_l` the sweep does not have (`dropout`
  then applies). What a plan of many members uses (plan.Plan.column)."""
  n = len(uids)
  pad = lambda a: np.concatenate([a, np.repeat(a[:1], size - n, axis=0)])

  def as32(name):  # A row only some tasks have (class_balance): its default elsewhere.
    values = column(name)
    return pad(np.asarray(np.full(n, float(BY_NAME[name].default)) if values is None
                          else values, np.float32))
  layers = [column(layer_name(l)) for l in range(num_layers)]
  dropout = column('dropout')
  rates = np.stack([np.asarray(dropout if r is None else r, np.float32) for r in layers],
                   axis=1)
  return pop.HParams(
      uid=np.concatenate([np.asarray(uids, np.int32), -1 - np.arange(size - n, dtype=np.int32)]),
      hidden_units=pad(np.asarray(column('hidden_size'), np.int32)),
      dropout_rates=pad(rates),
      **{name: as32(name) for name in TRACED if name != 'dropout'})


def _column(hp, name: str):
  """<[P]> view of `name` in host `HParams`: 'dropout' is layer 1's rate, 'dropout_l'
  layer l's."""
  layer = 0 if name == 'dropout' else layer_of(name)
  return hp.dropout_rates[:, layer] if layer is not None else getattr(hp, name)


def read(hp, names) -> dict:
  """name -> <float>[P] numpy values (copies) of host `HParams` (see
  `distributed.fetch`); 'dropout' reads layer 1's rate, 'dropout_l' layer l's."""
  return {name: np.array(_column(hp, name)) for name in names}


def replaced(hp, values: dict, rates) -> dict:
  """The HParams fields (numpy) that `values` (name -> <[P]>) change, given the current
  <[P, L]> dropout `rates`: 'dropout' sets every layer's rate, 'dropout_l' (applied
  after it) layer l's."""
  fields, rates = {}, np.array(rates)
  for name in sorted(values, key=lambda n: n != 'dropout'):
    layer = layer_of(name)
    if name == 'dropout':
      rates[:] = np.asarray(values[name])[:, None]
    elif layer is not None:
      rates[:, layer] = values[name]
    else:
      fields[name] = np.asarray(values[name], getattr(hp, name).dtype)
  if 'dropout' in values or has_layers(values):
    fields['dropout_rates'] = rates
  return fields
