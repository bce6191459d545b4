"""Every task's data as the training engine sees it: split arrays and their shapes.

`load(...)` reads a task's data (forecast.py, classify.py, text.py) and returns a
`TaskData`: per split a dict of NumPy arrays in the layout rnnjax/engine/tasks.py documents,
the model's input and output sizes, the baselines and what the summary records.

Each task's loader takes exactly its own keyword options, and `options(task)` names them
(read from the loader's signature), so a caller passes those and no others:
`load(task=t, ..., **{name: getattr(spec, name) for name in options(t)})`.
"""

import dataclasses
import inspect
import math

import numpy as np

from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data import forecast
from rnnjax.data import panel
from rnnjax.data import panel_baselines
from rnnjax.data import panel_windows
from rnnjax.data import text
from rnnjax.data.time import column as times
from rnnjax.errors import InputError

TASKS = ('forecast', 'classify', 'charlm', 'panel')
DEFAULT_DATASET = {'forecast': 'wineind_sales', 'classify': 'ItalyPowerDemand',
                   'charlm': 'shakespeare', 'panel': 'm3_other'}
POOLINGS = {'last': 'last_valid', 'mean': 'mean'}
# Split arrays with one row per example (the rest are per split, e.g. forecasting's
# per-column statistics).
PER_EXAMPLE = ('x', 'y', 'length', 'level', 'mase_denom', 'rmsse_denom', 'seasonal')
# Streams a language model's validation / test part is cut into for evaluation, at most.
EVAL_STREAMS = 256


@dataclasses.dataclass(frozen=True)
class TaskData:
  task: str
  arrays: dict        # split -> {name: array}, see tasks.py.
  input_size: int
  output_size: int
  readout: str        # model.ModelConfig.readout.
  seq_len: int        # Steps of a training example (for memory estimates).
  num_train: int      # Training examples (windows, sequences or window starts).
  num_targets: int = 1
  baselines: dict = dataclasses.field(default_factory=dict)
  # A panel's benchmarks' forecasts of the test part: name -> <float64>[S, horizon].
  benchmark_forecasts: dict = dataclasses.field(default_factory=dict)
  info: dict = dataclasses.field(default_factory=dict)  # JSON-ready, for the summary.
  notes: tuple = ()   # Lines to log (e.g. gaps filled).
  metric_names: dict = dataclasses.field(default_factory=dict)  # e.g. rmse_0 -> rmse[Sales]
  vocab: str = ''     # charlm: the characters, for sampling,
  prime: np.ndarray = None  # and the start of the validation text, to prime it.
  # What a saved model needs to use new data as this data was used (rnnjax/final/saved/export.py):
  # scaling statistics, columns, windows, class labels, vocabulary (arrays allowed).
  transform: dict = dataclasses.field(default_factory=dict)


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
  One fold comes back as it is."""
  if len(folds) == 1:
    return list(folds)
  most = max(len(d.arrays['train']['x']) for d in folds)
  out = []
  for data in folds:
    train = data.arrays['train']
    pad = lambda a, fill=0: np.concatenate([a, np.full((most - len(a),) + a.shape[1:],
                                                       fill, a.dtype)])
    padded = {k: pad(v) if k in PER_EXAMPLE else v for k, v in train.items()}
    if 'age' in train:  # A panel's windows by age (data/panel_windows.py): padding is never recent.
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


def _filled_note(counts: dict, path: str) -> tuple:
  """The sweep's note of its data's empty cells filled, by column and how
  (common.fill_counts)."""
  return tuple(filter(None, [common.filled_note(counts or {}, path)]))


def _cases_filled(missing: dict) -> tuple:
  """The note of a classification's empty values filled, counted by file."""
  total = missing['train_file'] + missing['test_file']
  return (f'filled {total} missing values by linear interpolation ({missing["train_file"]} '
          f'in the training file, {missing["test_file"]} in the test file)',) if total else ()


def _load_forecast(*, dataset, seed, val_size, test_size, csv_path='', time_column='',
                   target_columns=(), input_columns=(), lookback=24, horizon=1,
                   season=-1, difference=False, classical_baselines=True, fill='linear',
                   origin_back=0):
  del seed  # Forecast splits are chronological: nothing is drawn.
  if not csv_path and dataset in panel.PANELS:
    raise InputError(f'--dataset: {dataset} is a panel of many series; add --task=panel')
  data = forecast.load(dataset='' if csv_path else dataset, csv_path=csv_path,
                       time_column=time_column, target_columns=target_columns,
                       input_columns=input_columns, lookback=lookback, horizon=horizon,
                       val_size=val_size, test_size=test_size, season=season,
                       difference=difference, classical_baselines=classical_baselines,
                       origin_back=origin_back, fill=fill)
  # mase_scale: MASE's denominators, from the training part (engine/tasks/forecast.py `score`).
  arrays = {split: {'x': data.x[split], 'y': data.y[split], 'mean': data.mean,
                    'std': data.std, 'mase_scale': data.mase_scale.astype(np.float32)}
            for split in common.SPLITS + ('refit',)}
  targets = tuple(data.target_columns)
  names = {}
  if len(targets) > 1:
    for c, column in enumerate(targets):
      names.update({f'{metric}_{c}': f'{metric}[{column}]'
                    for metric in ('rmse', 'mae', 'mase')})
  return TaskData(
      task='forecast', arrays=arrays, input_size=data.x['train'].shape[-1],
      output_size=data.y['train'].shape[1] * data.y['train'].shape[2], readout='last',
      seq_len=lookback, num_train=len(data.x['train']), num_targets=len(targets),
      baselines=data.baselines, metric_names=names,
      info={'num_filled': data.num_filled, 'split_points': data.split_points,
            'target_columns': list(targets),
            'input_columns': list(data.input_columns), 'difference': difference,
            'season': data.season,
            'windows': {k: len(data.x[k]) for k in common.SPLITS}},
      notes=_filled_note(data.filled, csv_path or forecast.bundled_path(dataset)) +
      data.notes,
      transform={'target_columns': list(targets), 'input_columns': list(data.input_columns),
                 'lookback': lookback, 'horizon': horizon, 'difference': difference,
                 'x_mean': data.x_mean, 'x_std': data.x_std, 'mean': data.mean,
                 'std': data.std, 'mase_scale': data.mase_scale, 'season': data.season,
                 'split_points': list(data.split_points), 'series': data.series,
                 'path': csv_path or forecast.bundled_path(dataset), 'fill': fill,
                 'flag_columns': list(data.flag_columns),
                 'time_column': (time_column if csv_path else
                                 forecast.DATASETS[dataset][1])})


def _load_classify(*, dataset, seed, val_size, test_size, train_path='', test_path='',
                   id_column='', time_column='', target_columns=(), input_columns=(),
                   pooling='last', fold=0, folds=1):
  if test_size:
    raise InputError('--test_size: classification scores the whole TEST file; leave it 0')
  if pooling not in POOLINGS:
    raise InputError(f'--pooling: {pooling!r}; expected one of {", ".join(POOLINGS)}')
  data = classify.load(dataset='' if train_path or test_path else dataset,
                       train_path=train_path, test_path=test_path,
                       val_size=val_size or 0.2, seed=seed, fold=fold, folds=folds,
                       id_column=id_column, time_column=time_column,
                       target_columns=tuple(target_columns),
                       input_columns=tuple(input_columns))
  arrays = {split: {'x': data.x[split], 'length': data.length[split], 'y': data.y[split]}
            for split in common.SPLITS}
  baselines = data.baselines
  # A long CSV's columns, which the saved model reads new cases by (final/saved/cases.py).
  columns = data.info.get('columns', {})
  read_note = (f'note: channels read from {train_path}: '
               f'{", ".join(columns["input_columns"])} (every column but '
               f'{", ".join(c for c in (id_column, time_column, target_columns[0]) if c)}; '
               '--input_columns chooses)',) if columns and not input_columns else ()
  return TaskData(
      task='classify', arrays=arrays, input_size=data.x['train'].shape[-1],
      output_size=len(data.classes), readout=POOLINGS[pooling],
      seq_len=data.x['train'].shape[1], num_train=len(data.y['train']),
      baselines=baselines, info=dict(data.info, classes=list(data.classes)),
      notes=read_note + _cases_filled(data.info['missing']) + classify.class_notes(
          data, fold, folds),
      transform={'classes': list(data.classes), 'mean': data.mean, 'std': data.std,
                 'channels': int(data.x['train'].shape[2]),
                 'max_length': int(data.x['train'].shape[1]), 'pooling': pooling,
                 **columns})


def _load_charlm(*, dataset, seed, val_size, test_size, text_path='', seq_len=64):
  del seed  # The splits are contiguous parts of the text: nothing is drawn.
  if seq_len < 1:
    raise InputError(f'--seq_len: {seq_len} must be >= 1')
  data = text.load(dataset='' if text_path else dataset, text_path=text_path,
                   val_size=val_size, test_size=test_size)
  train = data.tokens['train']
  if len(train) <= seq_len + 1:
    raise InputError(f'--seq_len: {seq_len} is not shorter than the training text '
                     f'({len(train)} characters)')
  arrays = {'train': {'tokens': train}}
  for split in ('val', 'test'):
    x, y, mask = text.streams(data.tokens[split],
                              text.num_streams(len(data.tokens[split]), EVAL_STREAMS))
    arrays[split] = {'x': x, 'y': y, 'mask': mask}
  vocab = len(data.vocab)
  # Unigram: each character's training frequency (add-one smoothed).
  counts = np.bincount(train, minlength=vocab) + 1.0
  log_p = np.log2(counts / counts.sum())
  unigram = {s: {'bpc': float(-np.mean(log_p[data.tokens[s][1:]]))} for s in ('val', 'test')}
  uniform = {s: {'bpc': math.log2(vocab)} for s in ('val', 'test')}
  return TaskData(
      task='charlm', arrays=arrays, input_size=vocab, output_size=vocab, readout='all',
      seq_len=seq_len, num_train=len(train) - seq_len,
      baselines={'uniform': uniform, 'unigram': unigram},
      info=dict(data.info, eval_streams=int(arrays['val']['x'].shape[0]),
                unseen_in_train=text.unseen_in_train(data)),
      notes=text.notes(data), vocab=data.vocab, prime=data.tokens['val'][:seq_len],
      transform={'vocab': data.vocab, 'eval_streams': EVAL_STREAMS, 'seq_len': seq_len,
                 'prime': text.decode(data.tokens['val'][:seq_len], data.vocab)})


def _load_panel(*, dataset, seed, val_size, test_size, csv_path='', test_path='',
                id_column='', time_column='', target_columns=(), input_columns=(),
                future_columns=(), lookback=24, horizon=1, season=-1,
                classical_baselines=True,
                benchmarks=('AutoETS', 'AutoTheta', 'AutoARIMA'), fill='linear',
                origin_back=0):
  """Many series, one global model (data/panel.py): the M protocol's splits, each
  series' validation and test the `horizon` points after its origin."""
  del seed  # Splits are chronological: nothing is drawn.
  if val_size or test_size:
    raise InputError(f'--{"val_size" if val_size else "test_size"}: a panel validates '
                     'and tests on the --horizon points after each series\' origin; '
                     'leave it 0')
  if len(target_columns) > 1:
    raise InputError(f'--target_columns: a panel forecasts one column; got '
                     f'{list(target_columns)}')
  if test_path and not csv_path:
    raise InputError('--test_path: the future part of --csv_path; a bundled panel has '
                     'its own')
  whole = panel.load(dataset='' if csv_path else dataset, csv_path=csv_path,
                     test_path=test_path, id_column=id_column, time_column=time_column,
                     target_column=target_columns[0] if target_columns else '',
                     input_columns=input_columns, future_columns=future_columns,
                     horizon=horizon, fill=fill)
  default_season = (0 if csv_path else forecast.DATASETS[dataset][3]
                    if dataset in forecast.DATASETS else panel.PANELS[dataset][0])
  notes = whole.notes
  if season < 0 and csv_path and time_column:
    season, note = times.infer_season(max(whole.times, key=len), time_column)
    notes += (note,)
  elif season < 0:
    season = default_season
  elif csv_path and time_column:
    notes += tuple(filter(None, [times.given_season_note(
        season, max(whole.times, key=len), time_column)]))
  data = panel.earlier(whole, origin_back, horizon)
  arrays, window_notes = panel_windows.windows(data, lookback=lookback, horizon=horizon,
                                       season=season)
  baselines, reference, baseline_notes, forecasts = panel_baselines.baselines(
      data, arrays, horizon=horizon, season=season, dataset='' if csv_path else dataset,
      methods=tuple(benchmarks) if classical_baselines and not origin_back else ())
  for split, scores in reference.items():
    arrays[split]['naive2'] = scores
  return TaskData(
      task='panel', arrays=arrays, output_size=horizon, readout='last',
      input_size=1 + len(whole.input_columns) + len(whole.future_columns),
      seq_len=lookback, num_train=len(arrays['train']['x']), baselines=baselines,
      benchmark_forecasts=forecasts,
      info={'series': len(whole.ids), 'num_filled': whole.num_filled, 'season': season,
            'horizon': horizon, 'windows': {k: len(v['x']) for k, v in arrays.items()},
            'validated_series': int(arrays['val']['weight'].sum()),
            'nonpositive': panel.nonpositive(data.ids, data.train, data.times, whole.path)},
      notes=(_filled_note(whole.filled, whole.path) + notes +
             window_notes + baseline_notes),
      transform={'ids': list(whole.ids), 'lookback': lookback, 'horizon': horizon,
                 'season': season, 'path': whole.path, 'fill': fill,
                 'flag_columns': list(whole.flag_columns),
                 'input_columns': list(whole.input_columns),
                 'future_columns': list(whole.future_columns),
                 **dict(zip(('id_column', 'time_column', 'target_column'), whole.columns))})


# After the loaders it names; `options` reads their signatures.
_LOADERS = {'forecast': _load_forecast, 'classify': _load_classify, 'charlm': _load_charlm,
            'panel': _load_panel}
# A fold's loader options, for the tasks that have folds.
_FOLDED = {'forecast': lambda fold, folds: {'origin_back': folds - 1 - fold},
           'classify': lambda fold, folds: {'fold': fold, 'folds': folds},
           'panel': lambda fold, folds: {'origin_back': folds - 1 - fold}}
# Loader arguments that `load` sets for a fold, not options a spec gives.
_FOLD_ARGS = ('origin_back', 'fold', 'folds')
