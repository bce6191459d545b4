"""A sweep's specification: one field per flag, checked, and turned into a plan.

`SweepSpec` is what `experiments/population_sweep.py` builds from its flags;
`make_plan` turns it into members and buckets (choosing masked or bucketed hidden
sizes for `--hidden_mode=auto` by `plan_cost_s`); `check` refuses bad budgets and
search settings in one line; `load_data` reads the task's data.
"""

import dataclasses

from rnnjax import adaptive
from rnnjax import model
from rnnjax import search
from rnnjax import tasks
from rnnjax.data import task_data
from rnnjax.errors import InputError


@dataclasses.dataclass(frozen=True)
class SweepSpec:
  """A sweep, one field per flag of `experiments/population_sweep.py`.

  Hyperparameter fields hold spec strings (see `rnnjax.search`); an empty momentum or
  beta2 takes the optimizer family's usual value.
  """
  task: str = 'forecast'
  dataset: str = ''             # '' : the task's default (task_data.DEFAULT_DATASET).
  val_size: int = 0
  test_size: int = 0
  # forecast
  csv_path: str = ''
  time_column: str = ''
  target_columns: tuple = ()
  input_columns: tuple = ()
  lookback: str = '24'          # A spec: grid(12,24) sweeps it (one bucket each).
  horizon: int = 1
  season: int = -1
  difference: bool = False
  # classify
  train_path: str = ''
  test_path: str = ''
  pooling: str = 'last'
  # charlm
  text_path: str = ''
  seq_len: int = 64
  sample_chars: int = 1000
  temperature: float = 0.8
  cell: str = 'lstm'
  hidden_size: str = '32'
  num_layers: str = '1'
  batch_size: str = '32'
  optimizer: str = 'adam'
  learning_rate: str = '1e-3'
  weight_decay: str = '0'
  clip_norm: str = '1'
  momentum: str = ''
  beta2: str = ''
  input_dropout: str = '0'
  dropout: str = '0'
  dropout_per_layer: str = ''   # One spec per layer, ';'-separated; overrides dropout.
  variational_dropout: bool = False
  hidden_mode: str = 'auto'     # masked or bucket, whichever plan_cost_s finds cheaper.
  forget_bias: str = '1'
  init_scale: str = '1'
  search: str = 'grid'
  num_members: int = 0
  num_seeds: int = 1
  train_steps: int = 500
  eval_every: int = 100
  patience: int = 0
  eta: int = 3
  min_steps: int = 0
  pbt_interval: int = 0
  pbt_fraction: float = 0.25
  seed: int = 0

  def to_json(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}


def make_plan(spec: SweepSpec) -> search.Plan:
  axes = {name: search.parse_axis(name, str(getattr(spec, name))) for name in search.AXES
          if not (name in search.FAMILY_DEFAULTS and not getattr(spec, name))
          and not (name == 'lookback' and spec.task != 'forecast')}
  if spec.dropout_per_layer:
    for layer, text in enumerate(spec.dropout_per_layer.split(';'), 1):
      name = f'dropout_{layer}'
      axes[name] = search.parse_axis(name, text, like='dropout')
  make = lambda mode: search.make_plan(axes, search=spec.search,
                                      num_members=spec.num_members,
                                      num_seeds=spec.num_seeds, seed=spec.seed,
                                      hidden_mode=mode)
  if spec.hidden_mode == 'auto':
    masked, bucketed = make('masked'), make('bucket')
    plan = masked if plan_cost_s(masked, spec) <= plan_cost_s(bucketed, spec) else bucketed
  else:
    plan = make(spec.hidden_mode)
  if spec.dropout_per_layer:
    layers = spec.dropout_per_layer.count(';') + 1
    for structure in plan.buckets:
      if structure['num_layers'] != layers:
        raise InputError(f'--dropout_per_layer: {layers} spec(s) for a '
                         f'{structure["num_layers"]}-layer network')
  return plan


# What `--hidden_mode=auto` weighs: a compile per bucket against the arithmetic spent on
# padding. Fitted to two measured runs of seed_full_sweep.flags on the 2-core VM (masked:
# 6 buckets, 587 s of training; bucketed: 18 buckets, 631 s), with a compile of 13 s
# (the first chunk of its small buckets): a member-step costs a fixed 2.7 ms (gate
# arithmetic, validation, dispatch) plus its recurrent arithmetic at 234 GFLOP/s.
COMPILE_S = 13.0
MEMBER_STEP_S = 2.7e-3
TRAIN_FLOPS_PER_S = 234e9


def plan_cost_s(plan: search.Plan, spec: SweepSpec) -> float:
  """Estimated seconds of a plan: a compile per bucket, and per member-step a fixed cost
  plus the recurrent arithmetic at the bucket's (padded) width: 6 x batch x time steps x
  G H (I + H) per layer (forward and backward)."""
  total = 0.0
  for b, structure in enumerate(plan.buckets):
    cfg = model.ModelConfig(cell=structure['cell'], input_size=1,
                            hidden_size=structure['hidden_size'],
                            num_layers=structure['num_layers'], output_size=1)
    flops = 6 * structure['batch_size'] * model.recurrent_cost(
        cfg, structure['hidden_size']) * int(structure.get('lookback', spec.seq_len))
    total += COMPILE_S + len(plan.bucket_members(b)) * spec.train_steps * (
        MEMBER_STEP_S + flops / TRAIN_FLOPS_PER_S)
  return total


def check(spec: SweepSpec):
  for flag in ('train_steps', 'eval_every', 'horizon'):
    if getattr(spec, flag) < 1:
      raise InputError(f'--{flag}: {getattr(spec, flag)} must be >= 1')
  if spec.train_steps % spec.eval_every:
    raise InputError(f'--train_steps: {spec.train_steps} is not a multiple of '
                     f'--eval_every={spec.eval_every}')
  if spec.task not in tasks.TASKS:
    raise InputError(f'--task: unknown task {spec.task!r}; expected one of '
                     f'{", ".join(tasks.TASKS)}')
  if spec.temperature <= 0:
    raise InputError(f'--temperature: {spec.temperature} must be > 0')
  if spec.search == 'halving':
    adaptive.rungs(train_steps=spec.train_steps, min_steps=spec.min_steps or spec.eval_every,
                   eta=spec.eta, eval_every=spec.eval_every)
  if spec.search == 'pbt':
    interval = spec.pbt_interval or spec.eval_every
    if interval % spec.eval_every or interval >= spec.train_steps:
      raise InputError(f'--pbt_interval: {interval} must be a multiple of --eval_every='
                       f'{spec.eval_every} and less than --train_steps={spec.train_steps}')
    if not 0 < spec.pbt_fraction <= 0.5:
      raise InputError(f'--pbt_fraction: {spec.pbt_fraction} must be in (0, 0.5]')


def load_data(spec: SweepSpec, lookback: int | None = None) -> task_data.TaskData:
  """The task's data; forecasting's windows for `lookback` (one value of the axis)."""
  return task_data.load(
      task=spec.task, dataset=spec.dataset, seed=spec.seed, val_size=spec.val_size,
      test_size=spec.test_size, csv_path=spec.csv_path, time_column=spec.time_column,
      target_columns=spec.target_columns, input_columns=spec.input_columns,
      lookback=lookback or 1, horizon=spec.horizon, season=spec.season,
      difference=spec.difference,
      train_path=spec.train_path, test_path=spec.test_path, pooling=spec.pooling,
      text_path=spec.text_path, seq_len=spec.seq_len)
