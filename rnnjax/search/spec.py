"""A sweep's specification: one field per sweep-defining flag, checked, turned into a plan.

`SweepSpec` is what `experiments/population_sweep.py` builds from its flags;
`make_plan` turns it into members and buckets (choosing masked or bucketed hidden
sizes for `--hidden_mode=auto` by `plan_cost_s`); `load_data` reads the task's data.
Which settings a sweep takes together is rules.py's (`rules.check`).
"""

import dataclasses

from rnnjax.data import task_data
from rnnjax.engine import model
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import plan as search_plan
from rnnjax.search import planner
from rnnjax.search import space


def _setting(default, help_text):
  return dataclasses.field(default=default, metadata={'help': help_text})


@dataclasses.dataclass(frozen=True)
class SweepSpec(hparams.SpecStrings):
  """A sweep: one field per flag of `experiments/population_sweep.py` that defines the
  sweep; the command defines those flags from these fields (names, types, defaults and
  help texts). Its other flags are how a sweep runs (`run.sweep.run_sweep`'s keyword
  arguments: --overwrite, --dry_run, --max_memory_gb, ...) or what the command does
  around it (devices, compile cache, figures, tracking), never part of a spec.

  Besides the settings below, one spec string per hyperparameter of hparams.TABLE
  (inherited from `hparams.SpecStrings`).
  """
  task: str = _setting('forecast', 'forecast (one series), panel (many series, one '
                       'global model), classify or charlm.')
  dataset: str = _setting('', "Bundled data by name (empty: the task's default: forecast "
                          'wineind_sales, panel m3_other, classify ItalyPowerDemand, '
                          'charlm shakespeare).')
  val_size: int = _setting(0, 'Validation part, a whole number: time points (forecast, '
                           '0: 15%), TRAIN cases carved out (classify, 0: 20%) or '
                           'characters (charlm, 0: 2%); panel: leave 0 (each series '
                           "validates on the --horizon points before its test part).")
  test_size: int = _setting(0, 'Test part: the last time points (forecast, 0: 15%) or '
                            'characters (charlm, 0: 2%); classify tests on TEST; panel: '
                            'leave 0 (each series '
                            'tests on its --horizon points after its train part).')
  # forecast
  csv_path: str = _setting('', 'A CSV file of your own (instead of --dataset).')
  time_column: str = _setting('', 'Time column of --csv_path (dates, quarters or step '
                              'numbers): each series\' rows are sorted by it, and periods '
                              'absent from it put back as empty cells, then filled; '
                              'classify: orders each case\'s rows of a CSV (numbers or '
                              'dates; else file order).')
  id_column: str = _setting('', 'Series id column of a long-format --csv_path (panel; '
                            'empty: the file is one series); classify: the case column '
                            'of a CSV --train_path and --test_path (required there).')
  target_columns: tuple = _setting((), 'Columns of --csv_path to forecast; classify: '
                                   'the class label column of a CSV --train_path.')
  input_columns: tuple = _setting((), 'Extra input columns of --csv_path (their past '
                                  'values are read); classify: the channel columns of a '
                                  'CSV --train_path (default: every other column).')
  future_columns: tuple = _setting((), 'Input columns of a panel known in advance (a '
                                   'promotion plan, prices set ahead, holidays): read '
                                   'over each window\'s horizon too; their values after '
                                   'the data come from --test_path, or predict\'s '
                                   '--future_path.')
  fill: str = _setting('linear', 'How the target\'s gaps (empty cells, and periods absent '
                       'from --time_column) are filled: linear (interpolated in time) or '
                       'zero (a sales export that leaves out a week sold nothing that '
                       'week). Input columns are interpolated; one of 0s and 1s (a '
                       'flag) holds its last value.')
  horizon: int = _setting(1, 'Steps forecast ahead from each window.')
  season: int = _setting(-1, 'Season length for the seasonal-naive, ETS and ARIMA '
                         "baselines and MASE (-1: the bundled series' own, or inferred "
                         'from a regular --time_column of --csv_path: hourly 24, daily 7, '
                         'business days 5, weekly 52, monthly 12, quarterly 4, else none; '
                         '0: none).')
  difference: bool = _setting(False, 'Model the changes of the targets (v[t] - v[t-1]) '
                              'instead of their levels: for series with a trend. Errors '
                              'are still reported on the levels.')
  classical_baselines: bool = _setting(True, 'Also fit AutoETS and AutoARIMA '
                                       '(statsforecast, when installed) as baselines (a '
                                       'panel: --benchmarks); false skips them (minutes on '
                                       'long seasonal series).')
  benchmarks: tuple = _setting(('AutoETS', 'AutoTheta', 'AutoARIMA'), 'statsforecast models '
                               'fitted per series as a panel\'s benchmarks on validation '
                               'and test (with --classical_baselines): some of AutoETS, '
                               'AutoTheta, AutoARIMA (minutes on a large monthly panel) '
                               'and, for sales with many zeros, CrostonOptimized, ADIDA, '
                               'IMAPA.')
  # classify
  train_path: str = _setting('', 'Your own training file: a UCR/UEA .ts file, or a long '
                             'CSV of cases (a row per step; --id_column, '
                             '--target_columns).')
  test_path: str = _setting('', 'Your own test file, as --train_path (classify), or the '
                            'future part of --csv_path, each series\' next --horizon '
                            'points or more (panel).')
  pooling: str = _setting('last', 'Readout of a sequence: last (its last valid step) or '
                          'mean (of its valid steps).')
  # charlm
  text_path: str = _setting('', 'Your own UTF-8 text file.')
  seq_len: int = _setting(64, 'Characters per training window.')
  sample_chars: int = _setting(1000, 'Characters the best model writes to '
                               'WORKDIR/sample.txt (0: none).')
  temperature: float = _setting(0.8, 'Sampling temperature (>= 0; 0: the most likely '
                                'character each step).')
  # model and search
  dropout_per_layer: str = _setting('', 'One dropout spec per layer, separated by ";" '
                                    '(then leave --dropout out), e.g. "grid(0,0.2);0.5".')
  variational_dropout: bool = _setting(False, 'Draw each input / between-layer dropout '
                                       'mask once per sequence.')
  hidden_mode: str = _setting('auto', 'masked: hidden sizes share one program, padded '
                              'and masked; bucket: one program each; auto: whichever is '
                              'estimated cheaper (padding arithmetic against compiles).')
  search: str = _setting('grid', 'grid (cross every list), random, halving (successive '
                         'halving), pbt (population-based training) or tpe (Optuna\'s '
                         'TPE sampler, in --rounds).')
  num_members: int = _setting(0, 'Configurations: random draws that many (>= 1); halving '
                              'and pbt start from that many random draws (0: from the '
                              'grid); tpe proposes that many each round (>= 1); grid: '
                              'leave 0.')
  num_seeds: int = _setting(1, 'Repeats of every configuration.')
  train_steps: int = _setting(500, 'Training steps per member.')
  eval_every: int = _setting(100, 'Steps per chunk; validation after each.')
  patience: int = _setting(0, 'Evaluations without improvement before a member stops '
                           'early (0: never).')
  eta: int = _setting(3, 'Halving: the best 1/eta go on at each rung.')
  min_steps: int = _setting(0, 'Halving: steps before the first rung (0: --eval_every); '
                            'rungs at min_steps * eta^k.')
  pbt_interval: int = _setting(0, 'PBT: steps between exploit/explore (0: --eval_every).')
  pbt_fraction: float = _setting(0.25, 'PBT: the bottom fraction copies the top fraction.')
  rounds: int = _setting(0, 'TPE: rounds of --num_members configurations, each '
                         'proposed from the results of every earlier round (--search=tpe '
                         'needs >= 1; 0, the default, given or not: search_comparison\'s '
                         'TPE runs 3 rounds).')
  last_round: int = _setting(0, 'TPE: configurations of the last round (0: --num_members '
                             'like every other; search_comparison sets it where its '
                             'budget of members is no multiple of --rounds).')
  seed: int = _setting(0, 'Base random seed (members: fold_in(seed, uid)).')
  folds: int = _setting(1, 'Cross-validation folds, trained as members of the same '
                        'programs: forecast: rolling origins, each a validation block '
                        'earlier; panel: rolling origins, each a --horizon earlier; '
                        'classify: disjoint stratified validation parts of '
                        'TRAIN. Configurations rank by their mean over folds and seeds; '
                        'the last fold is the usual split and its members form the final '
                        'model. grid, random and tpe search only; not for charlm.')
  selection: str = _setting('', 'The validation metric that ranks members, keeps each '
                            "one's best step, stops it early and chooses the final model "
                            "(empty: the task's own: forecast mse, with --difference the "
                            "levels' rmse; panel owa, classify ce, charlm bpc). forecast: "
                            'mse, rmse, mae or mase; panel: owa, smape, mase or rmsse '
                            "(M5's root mean squared scaled error: on sales mostly 0 the "
                            'other three favour forecasts of 0; train with --loss=mse and '
                            'rank by rmsse there); classify: ce or balanced_ce (the mean of '
                            "each class's cross-entropy: for imbalanced classes); charlm takes "
                            'none (bpc always ranks).')
  # the final model
  ensemble: str = _setting('top', 'The model the sweep hands back, chosen on validation: '
                           'top (the k best members averaged, k chosen on validation), '
                           'fixed (the --ensemble_size best, none left out), greedy '
                           '(ensemble selection, Caruana et al. 2004) or single (the best '
                           'member).')
  ensemble_size: int = _setting(16, 'Most members in the final model (top: the pool k '
                                'is chosen from; fixed: its members; greedy: the most '
                                'picks).')
  combine: str = _setting('mean', 'How the final model combines its members\' outputs: '
                          'mean, or median (forecast, panel: robust to a stray member; '
                          'with --difference, the median of their forecast levels).')
  refit: int = _setting(0, 'Train the final model\'s members again on train + validation '
                        'for the steps at which each was best, this many seeds each, '
                        'before the test score (0: no refit). Not for charlm.')

  def to_json(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}

  def axes(self) -> dict:
    """name -> space.Axis of every hyperparameter of this sweep."""
    return space.axes_of(dataclasses.asdict(self), task=self.task,
                          dropout_per_layer=self.dropout_per_layer)


# The settings only the end of a sweep reads (run/finish.py: the final model's choice,
# combination and refit, a charlm's sample, and the baselines set beside it, which the
# data fits as it loads): a finished sweep that differs in these alone has the members
# they need in its last checkpoint (run_sweep's `remake_final`).
FINAL_SETTINGS = ('ensemble', 'ensemble_size', 'combine', 'refit', 'sample_chars',
                  'temperature', 'classical_baselines', 'benchmarks')


def make_plan(spec: SweepSpec, configs=None) -> search_plan.Plan:
  """configs: a round of tpe (see planner.make_plan)."""
  axes = spec.axes()
  make = lambda mode: planner.make_plan(axes, search=spec.search,
                                        num_members=spec.num_members,
                                        num_seeds=spec.num_seeds, seed=spec.seed,
                                        hidden_mode=mode, num_folds=spec.folds,
                                        configs=configs)
  if spec.hidden_mode == 'auto':
    masked, bucketed = make('masked'), make('bucket')
    plan = masked if plan_cost_s(masked, spec) <= plan_cost_s(bucketed, spec) else bucketed
  else:
    plan = make(spec.hidden_mode)
  if spec.dropout_per_layer:
    layers = len(hparams.layer_specs(spec.dropout_per_layer))
    for structure in plan.buckets:
      if structure['num_layers'] != layers:
        if 'num_layers' in plan.swept:
          raise InputError(f'--dropout_per_layer: {layers} spec(s), one per layer, in a '
                           f'sweep over --num_layers={spec.num_layers}: per-layer rates '
                           'need one depth: sweep --num_layers with --dropout (one rate '
                           'for every layer), or run a sweep per depth')
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


def plan_cost_s(plan: search_plan.Plan, spec: SweepSpec) -> float:
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
    total += COMPILE_S + len(plan.bucket_uids(b)) * spec.train_steps * (
        MEMBER_STEP_S + flops / TRAIN_FLOPS_PER_S)
  return total


def load_data(spec: SweepSpec, lookback: int | None = None,
              fold: int | None = None) -> task_data.TaskData:
  """The task's data; forecasting's windows for `lookback` (one value of the axis); of
  cross-validation fold `fold` (None: the last, the usual split)."""
  options = {name: getattr(spec, name) for name in task_data.options(spec.task)}
  if 'lookback' in options:  # The spec's lookback is an axis: one value per bucket.
    options['lookback'] = lookback or 1
  return task_data.load(task=spec.task, dataset=spec.dataset, seed=spec.seed,
                        val_size=spec.val_size, test_size=spec.test_size,
                        fold=spec.folds - 1 if fold is None else fold, folds=spec.folds,
                        **options)
