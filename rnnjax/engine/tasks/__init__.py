"""What differs between tasks, on the device: batches, the loss, and evaluation.

A `Task` is a row of plain functions, written for one member (a population vmaps them);
each task's live in its own module here (forecast, classify, charlm, panel), and
`common` holds what they share:

  batch(cfg, train, key) -> batch          a training batch drawn from the train arrays
  loss(cfg, params, hp, batch, key)        the training loss on it (dropout from `key`)
  evaluate(cfg, params, split) -> metrics  scalar metrics on a WHOLE split (no dropout)

and which metric the sweep minimises (`selection`: early stopping, best parameters,
ranking; `selection_of` names the one exception), which it shows people in progress
lines and ranked tables (`display`, better when `display_mode`), and which figures draw
(`plotted`, lower is better): one that orders members as the ranking does, or a figure's
outlined best would not be the best it draws. Classification shows accuracy (its
baselines have no other score) but draws cross-entropy: accuracy ties at 1.0 on a
validation split of a dozen cases. For the final model, which may average several
members (an ensemble), two more:

  outputs(cfg, params, split) -> outputs   what an ensemble averages, for a WHOLE split:
                                           forecast: scaled predictions; classify and
                                           charlm: probabilities
  score(cfg, outputs, split) -> metrics    the metrics of (averaged) outputs

Split arrays (see rnnjax/data/task_data.py):
  Training splits of cross-validation folds may end in padding; then `count` <int32>[]
  says how many examples are real (see data/task_data.py `same_shapes`).

  forecast: x <float32>[N, lookback, C_in], y <float32>[N, horizon, C_out] (scaled;
            changes with TrainConfig.difference), mean, std <float32>[C_out] (to
            report errors in original units); where some target was empty (filled),
            observed: train and refit <bool>, validation and test <float32>, as y,
            the cells the loss or the scores read.
  classify: x <float32>[N, T, C] zero after each end, length <int32>[N], y <int32>[N].
            The readout sees each sequence's last valid step (or the mean of its valid
            steps), so padding changes nothing (see model.apply).
  charlm:   train: tokens <int32>[N]; val/test: x, y <int32>[S, L] and mask
            <float32>[S, L]: the part cut into S streams, every next-character
            prediction once (data/text.py `streams`). Inputs are one-hot characters.
  panel:    x <float32>[N, lookback, 1 + C] (the target in original units, then the
            input columns standardised), y <float32>[N, horizon, 1] in original units,
            level <float32>[N, 2], mase_denom, rmsse_denom <float32>[N] (MASE's and
            RMSSE's scales), seasonal <float32>[N, lookback + horizon]; train and refit
            also by_age, age <int32>[N] (the windows newest first, for `history`)
            and, where some target was empty (filled), observed <bool>[N, horizon]
            (the cells the loss reads; validation's and test's <float32>[S, horizon]:
            the cells scored);
            validation and test also weight <float32>[S] and naive2 <float32>[2]
            (data/windows/panel_windows.py).
"""

from typing import Callable, NamedTuple

from rnnjax.engine.tasks import charlm
from rnnjax.engine.tasks import classify
from rnnjax.engine.tasks import forecast
from rnnjax.engine.tasks import panel
from rnnjax.engine.tasks.panel import LOSSES, NORMALIZATIONS  # The panel task's choices.


class Task(NamedTuple):
  batch: Callable
  loss: Callable
  evaluate: Callable
  outputs: Callable
  score: Callable
  selection: str     # Metric minimised: early stopping, best parameters, ranking.
  display: str       # Metric shown in progress lines and tables.
  display_mode: str  # 'min' or 'max': which way `display` is better.
  plotted: str       # Metric figures draw (lower is better), in the ranking's order.


# The validation metrics `--selection` may name instead of a task's own.
SELECTABLE = {'forecast': ('mse', 'rmse', 'mae', 'mase'),
              'classify': ('ce', 'balanced_ce'),
              'panel': ('owa', 'smape', 'mase', 'rmsse')}


def selection_of(task: str, difference: bool, selection: str = '') -> str:
  """The validation metric that ranks a sweep's members and chooses its final model:
  `selection` where given (--selection, one of SELECTABLE[task]), else the
  task's own, but for a forecast of the differenced series (`difference`) the RMSE of
  the levels in original units. The model is used in levels, and that RMSE is what
  tables and figures show; the MSE of the standardised changes it trained on orders
  members differently."""
  if selection:
    return selection
  return 'rmse' if task == 'forecast' and difference else TASKS[task].selection


def shown_of(task: str, selection: str = '') -> tuple[str, str]:
  """(metric, 'min' or 'max'): what progress lines and a sweep's closing lines show: the
  metric `selection` (--selection) names, which is what ranks, else the task's display."""
  if selection:
    return selection, 'min'
  return TASKS[task].display, TASKS[task].display_mode


# The display metric that goes with a --selection: a classifier ranked by its balanced
# cross-entropy (every class alike) is shown by its balanced accuracy, not by an accuracy
# the common class makes.
DISPLAY_OF_SELECTION = {('classify', 'balanced_ce'): ('balanced_accuracy', 'max')}


def display_of(task: str, selection: str = '') -> tuple[str, str]:
  """(metric, 'min' or 'max'): what a sweep's tables and test lines show of each member
  and configuration: the task's display metric, or the one that goes with --selection
  (DISPLAY_OF_SELECTION)."""
  return DISPLAY_OF_SELECTION.get((task, selection),
                                  (TASKS[task].display, TASKS[task].display_mode))


def ranked_beside(task: str, difference: bool, selection: str = '') -> str | None:
  """The metric that ranks, where a progress line names it beside the one it shows
  (`shown_of`) because the best value shown is not the best-ranked member's: a
  classifier's accuracy beside the cross-entropy that ranks, a panel's sMAPE beside
  OWA. None where the metric shown ranks, or ranks as the one that does (forecasting's
  RMSE and MSE)."""
  rank, (shown, _) = selection_of(task, difference, selection), shown_of(task, selection)
  return None if rank == shown or (rank, shown) == ('mse', 'rmse') else rank


def _row(module, **metrics) -> Task:
  return Task(module.batch, module.loss, module.evaluate, module.outputs, module.score,
              **metrics)


TASKS = {
    'forecast': _row(forecast, selection='mse', display='rmse', display_mode='min',
                     plotted='rmse'),
    'classify': _row(classify, selection='ce', display='accuracy', display_mode='max',
                     plotted='ce'),
    'panel': _row(panel, selection='owa', display='smape', display_mode='min',
                  plotted='owa'),
    'charlm': _row(charlm, selection='bpc', display='bpc', display_mode='min',
                   plotted='bpc'),
}
