"""Every task's data as the training engine sees it: split arrays and their shapes.

`load(...)` reads a task's data by its task's loader (loaders/series.py: forecast.py's
and panel.py's; loaders/sequences.py: classify.py's and text.py's) and returns a
`TaskData`: per split a dict of NumPy arrays in the layout rnnjax/engine/tasks.py documents,
the model's input and output sizes, the baselines and what the summary records.

Each task's loader takes exactly its own keyword options, and `options(task)` names them
(read from the loader's signature), so a caller passes those and no others:
`load(task=t, ..., **{name: getattr(spec, name) for name in options(t)})`.
"""

import dataclasses
import inspect

import numpy as np

from rnnjax.data.loaders import loaded
from rnnjax.data.loaders import sequences
from rnnjax.data.loaders import series
from rnnjax.errors import InputError

TASKS = ('forecast', 'classify', 'charlm', 'panel')
DEFAULT_DATASET = {'forecast': 'wineind_sales', 'classify': 'ItalyPowerDemand',
                   'charlm': 'shakespeare', 'panel': 'm3_other'}
# Split arrays with one row per example (the rest are per split, e.g. forecasting's
# per-column statistics).
PER_EXAMPLE = ('x', 'y', 'length', 'level', 'mase_denom', 'rmsse_denom', 'seasonal',
               'observed')
# What `load` returns (loaders/loaded.py), here too: callers name it task_data.TaskData.
TaskData = loaded.TaskData


def load(*, task: str, dataset: str = '', seed: int = 0, val_size: int = 0,
         test_size: int = 0, fold: int = 0, folds: int = 1, **task_options) -> TaskData:
  """A task's data. `task_options`: any of `options(task)`; another name raises TypeError
  (a caller's bug, not bad input).

  fold, folds: cross-validation fold `fold` of `folds` (the last fold is the usual
  split): forecasting's rolling origins (forecast.py), classification's stratified parts
  of TRAIN (splits/stratified.py `fold_split`); not for charlm.
  """
  allowed = options(task)  # InputError for an unknown task.
  unknown = [name for name in task_options if name not in allowed]
  if unknown:
    raise TypeError(f'task_data.load: task {task!r} takes no option {unknown[0]!r}; its '
                    f'options are {", ".join(allowed)}')
  if folds < 1 or not 0 <= fold < folds:
    raise InputError(f'--folds: {folds} must be >= 1')
  if folds > 1 and task not in _FOLDED:
    raise InputError(f'--folds: {task} has no folds (its text splits in one order); '
                     'leave it 1')
  fold_options = {} if folds == 1 else _FOLDED[task](fold, folds)
  try:
    return _LOADERS[task](dataset=dataset or DEFAULT_DATASET[task], seed=seed,
                          val_size=val_size, test_size=test_size, **fold_options,
                          **task_options)
  except InputError as e:
    if fold == folds - 1 or str(e).startswith('--folds'):
      raise
    raise InputError(f'--folds: fold {fold + 1} of {folds}: {e}') from None


def same_shapes(folds: list) -> list:
  """The folds' data (`load` for each fold) with equal shapes, so that one compiled
  program trains every fold: training windows padded at the end to the most any fold
  has, with `count` <int32>[] saying how many are real (tasks.py draws from those).
  Where some fold's training or validation part has empty target cells (`observed`),
  every fold's gets the key (1s: every cell read), so one program trains and scores
  them all. One fold comes back as it is."""
  if len(folds) == 1:
    return list(folds)
  most = max(len(d.arrays['train']['x']) for d in folds)
  out = []
  for data in folds:
    for split, dtype in (('train', bool), ('val', np.float32)):
      part = data.arrays[split]
      if 'observed' not in part and any('observed' in d.arrays[split] for d in folds):
        # A panel's: <[N, horizon]>; a series': as its y <[W, horizon, C_out]>.
        ones = np.ones(part['y'].shape[:2] if data.task == 'panel' else part['y'].shape,
                       dtype)
        data = dataclasses.replace(data, arrays={**data.arrays,
                                                 split: {**part, 'observed': ones}})
    train = data.arrays['train']
    pad = lambda a, fill=0: np.concatenate([a, np.full((most - len(a),) + a.shape[1:],
                                                       fill, a.dtype)])
    padded = {k: pad(v) if k in PER_EXAMPLE else v for k, v in train.items()}
    # A panel's windows by age (data/windows/panel_windows.py): padding is never recent.
    if 'age' in train:
      padded['by_age'], padded['age'] = pad(train['by_age']), pad(
          train['age'], np.iinfo(np.int32).max)
    padded['count'] = np.int32(len(train['x']))
    out.append(dataclasses.replace(data, arrays={**data.arrays, 'train': padded}))
  return out


def options(task: str) -> tuple[str, ...]:
  """The keyword options `task`'s loader takes beyond `load`'s own (dataset, seed,
  val_size, test_size), in the loader's order."""
  if task not in TASKS:
    raise InputError(f'--task: unknown task {task!r}; expected one of {", ".join(TASKS)}')
  shared = inspect.signature(load).parameters
  return tuple(name for name in inspect.signature(_LOADERS[task]).parameters
               if name not in shared and name not in _FOLD_ARGS)


# The tasks' loaders (loaders/); `options` reads their signatures.
_LOADERS = {'forecast': series.load_forecast, 'classify': sequences.load_classify,
            'charlm': sequences.load_charlm, 'panel': series.load_panel}
# A fold's loader options, for the tasks that have folds.
_FOLDED = {'forecast': lambda fold, folds: {'origin_back': folds - 1 - fold},
           'classify': lambda fold, folds: {'fold': fold, 'folds': folds},
           'panel': lambda fold, folds: {'origin_back': folds - 1 - fold}}
# Loader arguments that `load` sets for a fold, not options a spec gives.
_FOLD_ARGS = ('origin_back', 'fold', 'folds')
