"""Sequence-classification data from UCR/UEA `.ts` files or long CSVs: splits, scaling,
baselines.

The files are read by cases/ts_file.py (`read_ts`, also importable from here) and
cases/long_csv.py, alike: each fills missing values and counts them.

Validation cases are carved from the training file, stratified by class and seeded; the
test file is kept whole (a class too rare to reach the validation part is named in a note:
`class_notes`). Cross-validation (`fold` of `folds`, see splits/stratified.py): the last
fold is that split, and each other fold validates on its own stratified part of the
cases the last fold trains on, disjoint from every other fold's. Per-channel statistics
come from the remaining training cases alone, over their valid steps. The training and
validation cases are right-padded with zeros to the training file's longest case (so the
test file cannot change the program that trains and validates, or, through float
rounding, what validation chooses), the test cases to theirs where that is longer;
`length` says where each case ends.
"""

import dataclasses
import importlib.resources

import numpy as np

from rnnjax.data import common
from rnnjax.data.cases import long_csv
from rnnjax.data.cases import ts_file
from rnnjax.data.splits import stratified
from rnnjax.errors import InputError

DATASETS = ('ItalyPowerDemand', 'GunPoint', 'ArrowHead', 'BasicMotions', 'JapaneseVowels',
            'DNA')

# The reader of `.ts` files, here too: README and users call classify.read_ts
# (`from rnnjax.data import classify`).
read_ts = ts_file.read_ts


@dataclasses.dataclass(frozen=True)
class ClassifyData:
  """Padded, z-normalised cases in three splits.

  `x[split]`: <float32>[N, T_max, C], zero after each case's end; `length[split]`:
  <int32>[N] valid steps (>= 1); `y[split]`: <int32>[N] indices into `classes`.
  `mean`, `std`: <float64>[C] from the training part's valid steps (std 1 for a constant
  channel). `baselines[name][split]`: {'accuracy', 'balanced_accuracy'} on 'val' and
  'test' (`scores`). `info`: JSON-ready summary (dataset, files, sizes, class counts,
  channels, lengths).
  """
  x: dict
  length: dict
  y: dict
  classes: tuple
  mean: np.ndarray
  std: np.ndarray
  baselines: dict
  num_missing: int
  info: dict


def bundled_path(dataset: str, split: str) -> str:
  """The bundled `.ts` file of `dataset` for split 'train' or 'test'."""
  if dataset not in DATASETS:
    raise InputError(f'--dataset: unknown classification dataset {dataset!r}; '
                     f'bundled: {", ".join(DATASETS)}')
  root = importlib.resources.files('rnnjax.data') / 'classification'
  return str(root / f'{dataset}_{split.upper()}.ts')


def channel_stats(series) -> tuple[np.ndarray, np.ndarray]:
  """Per-channel mean and std <float64>[C] over every step of `series` [T_i, C]; a
  constant channel gets its value and std 1, so it scales to exactly 0."""
  steps = np.concatenate(series, axis=0)
  constant = steps.max(axis=0) == steps.min(axis=0)
  mean = np.where(constant, steps[0], steps.mean(axis=0))
  return mean, np.where(constant, 1.0, steps.std(axis=0))


def pad(series, t_max: int) -> tuple[np.ndarray, np.ndarray]:
  """(<float32>[N, t_max, C] zero after each end, <int32>[N] lengths)."""
  x = np.zeros((len(series), t_max, series[0].shape[1]), np.float32)
  for i, s in enumerate(series):
    x[i, :len(s)] = s
  return x, np.array([len(s) for s in series], np.int32)


def resample(s: np.ndarray, t: int) -> np.ndarray:
  """<float64>[t, C]: `s` [T, C] linearly interpolated onto t evenly spaced points."""
  grid = np.linspace(0, len(s) - 1, t)
  return np.stack([np.interp(grid, np.arange(len(s)), s[:, c]) for c in range(s.shape[1])], 1)


def nearest_neighbour(train_x, train_y, x) -> np.ndarray:
  """Labels <[N]> of the nearest (Euclidean) rows of `train_x` [M, D] to `x` [N, D]."""
  d = ((x ** 2).sum(1)[:, None] - 2 * x @ train_x.T) + (train_x ** 2).sum(1)[None, :]
  return train_y[np.argmin(d, axis=1)]


def per_class(predicted, y, classes) -> dict:
  """Each of `classes` -> {'cases': its cases in `y`, 'found': how many of them
  `predicted` names it, 'predicted': how many cases `predicted` names it}: the counts a
  balanced accuracy averages, and a rare class's misses and false alarms. `predicted`
  and `y` hold labels or class indices alike, as `classes` does."""
  predicted, y = np.asarray(predicted), np.asarray(y)
  return {str(c): {'cases': int((y == c).sum()), 'found': int(((y == c) & (predicted == c)).sum()),
                   'predicted': int((predicted == c).sum())} for c in classes}


def confusion(predicted, y, num_classes: int) -> list:
  """[[int]]: row i, column j counts the cases of class i (`y`, class indices) that
  `predicted` names class j; the diagonal is `per_class`'s 'found', a column's sum its
  'predicted', a row's its 'cases'."""
  counts = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(counts, (np.asarray(y, np.int64), np.asarray(predicted, np.int64)), 1)
  return counts.tolist()


def balanced(counts: dict) -> float:
  """The balanced accuracy of `per_class`'s counts: the mean over the classes present of
  the share of their cases found."""
  return float(np.mean([v['found'] / v['cases'] for v in counts.values() if v['cases']]))


def scores(predicted: np.ndarray, y: np.ndarray) -> dict:
  """A baseline's accuracy and balanced accuracy (`balanced`), as engine/tasks/classify.py
  scores a model."""
  return {'accuracy': float(np.mean(np.asarray(predicted) == np.asarray(y))),
          'balanced_accuracy': balanced(per_class(predicted, y, np.unique(y)))}


def prepare(train: ts_file.TsFile, test: ts_file.TsFile, *,
            val_size=stratified.DEFAULT_VAL_FRACTION,
            seed: int = 0, name: str = '', files=None, fold: int = 0,
            folds: int = 1, flags=('--train_path', '--test_path')) -> ClassifyData:
  """Splits, scales and pads two read files; computes the baselines.

  Baselines (`scores` of each, per split): 'majority' predicts the training part's most
  common class; '1nn_euclidean' is 1-NN under Euclidean distance between z-normalised cases, all resampled by linear
  interpolation to T_max steps when lengths differ (so a case is compared shape to shape,
  not against the other's zero padding).
  """
  files = files or {}
  said = {split: f'{flag}: {files[split]}' if split in files else f'{split} file'
          for split, flag in zip(('train', 'test'), flags)}
  if test.series[0].shape[1] != train.series[0].shape[1]:
    raise InputError(f'{said["test"]}: {test.series[0].shape[1]} channels per case, the '
                     f'training file has {train.series[0].shape[1]}')
  unseen = sorted(set(test.labels) - set(train.labels))
  if unseen:
    raise InputError(f'{said["test"]}: labels {unseen} never occur in the training file')
  if len(set(train.labels)) < 2:
    raise InputError(f'{said["train"]}: every case is labelled '
                     f'{train.labels[0]!r}: classification needs at least 2 classes')
  classes = tuple(train.class_labels)
  index = {label: i for i, label in enumerate(classes)}
  y_all = np.array([index[label] for label in train.labels], np.int32)
  train_idx, val_idx = stratified.fold_split(y_all, val_size, seed, fold, folds)
  raw = {'train': [train.series[i] for i in train_idx], 'val': [train.series[i] for i in val_idx],
         'test': test.series}
  y = {'train': y_all[train_idx], 'val': y_all[val_idx],
       'test': np.array([index[label] for label in test.labels], np.int32)}
  mean, std = channel_stats(raw['train'])
  lengths = [len(s) for split in common.SPLITS for s in raw[split]]
  # Training and validation cases are padded to the training file's longest, whatever the
  # test file holds: its cases' lengths must not change the program that trains and
  # validates (and so, through float rounding, what validation chooses). Test cases pad
  # to their own longest where that is longer (scored by a program of their own).
  t_max = max(len(s) for s in train.series)
  x, length = {}, {}
  for split in common.SPLITS:
    x[split], length[split] = pad([(s - mean) / std for s in raw[split]],
                                  max(t_max, *map(len, raw[split])))
  if min(lengths) == max(lengths):
    features = {split: x[split].reshape(len(x[split]), -1).astype(np.float64)
                for split in common.SPLITS}
  else:
    features = {split: np.stack([resample((s - mean) / std, t_max).ravel() for s in raw[split]])
                for split in common.SPLITS}
  majority = np.argmax(np.bincount(y['train'], minlength=len(classes)))
  baselines = {'majority': {}, '1nn_euclidean': {}}
  for split in ('val', 'test'):
    baselines['majority'][split] = scores(np.full(len(y[split]), majority), y[split])
    baselines['1nn_euclidean'][split] = scores(
        nearest_neighbour(features['train'], y['train'], features[split]), y[split])
  info = {
      'dataset': name or train.name, 'files': dict(files),
      'num': {split: len(y[split]) for split in common.SPLITS},
      'class_counts': {split: {c: int(n) for c, n in zip(classes, np.bincount(
          y[split], minlength=len(classes)))} for split in common.SPLITS},
      'classes': list(classes), 'channels': int(x['train'].shape[2]),
      'max_length': int(max(lengths)), 'min_length': int(min(lengths)),
      'num_missing': train.num_missing + test.num_missing,
      'missing': {'train_file': train.num_missing, 'test_file': test.num_missing},
      'seed': int(seed)}
  return ClassifyData(x=x, length=length, y=y, classes=classes, mean=mean, std=std,
                      baselines=baselines, num_missing=info['num_missing'], info=info)


def load(*, dataset: str = '', train_path: str = '', test_path: str = '',
         val_size=stratified.DEFAULT_VAL_FRACTION, seed: int = 0, fold: int = 0,
         folds: int = 1,
         id_column: str = '', time_column: str = '', target_columns=(),
         input_columns=()) -> ClassifyData:
  """A bundled dataset by name, or a user's pair of files (which take precedence):
  `.ts` files, or long CSVs (cases/long_csv.py) read with the columns given, the
  file's extension (else its content) telling which.

  `val_size`: a fraction in (0, 1) of the training file's cases, a whole number >= 1 of
  them, or 0 for the default 20%; carved per class (see splits/stratified.py).
  """
  flags = ('--train_path', '--test_path')  # Named when a file cannot be read.
  columns = {'--id_column': id_column, '--time_column': time_column,
             '--target_columns': ','.join(target_columns),
             '--input_columns': ','.join(input_columns)}
  given = [flag for flag, value in columns.items() if value]
  if train_path or test_path:
    for flag, path in zip(flags, (train_path, test_path)):
      if not path:
        raise InputError(f'{flag}: required: give both --train_path and --test_path')
    name = ''
  elif not dataset:
    raise InputError(f'--dataset: name a bundled dataset ({", ".join(DATASETS)}) or give '
                     '--train_path and --test_path')
  elif given:
    raise InputError(f'{given[0]}: names a column of a CSV --train_path and --test_path; '
                     f'the bundled {dataset} is a .ts file; leave it out')
  else:
    train_path, test_path, name = (bundled_path(dataset, 'train'),
                                   bundled_path(dataset, 'test'), dataset)
    flags = ('--dataset', '--dataset')
  files = {'train': train_path, 'test': test_path}
  kinds = [long_csv.is_csv(path, flag) for flag, path in zip(flags, files.values())]
  if kinds[0] != kinds[1]:
    raise InputError(f'--test_path: {test_path} is {"a CSV" if kinds[1] else "a .ts file"}, '
                     f'--train_path {"a CSV" if kinds[0] else "a .ts file"}; give both '
                     'files in one format')
  if not kinds[0]:
    if given:
      raise InputError(f'{given[0]}: {train_path} is a .ts file, which has no columns; '
                       'leave it out (it names a column of a CSV)')
    return prepare(read_ts(train_path, flag=flags[0]), read_ts(test_path, flag=flags[1]),
                   val_size=val_size, seed=seed, name=name, fold=fold, folds=folds,
                   files=files, flags=flags)
  train, test = long_csv.read_pair(
      train_path, test_path, flags=flags, id_column=id_column, time_column=time_column,
      target_columns=target_columns, input_columns=input_columns)
  data = prepare(train, test, val_size=val_size, seed=seed, fold=fold, folds=folds,
                 files=files, flags=flags)
  data.info['columns'] = {'id_column': id_column, 'time_column': time_column,
                          'target_column': target_columns[0],
                          'input_columns': list(train.channels)}
  return data


# Fewer validation cases of a class than this, and under a third of the commonest's:
# said (`class_notes`).
FEW_VAL_CASES = 5


def class_notes(data: ClassifyData, fold: int, folds: int) -> tuple:
  """Notes naming the classes of the training part that its validation part holds no
  case of (too few cases to stratify: nothing chosen on validation saw them), the rare
  ones it holds fewer than FEW_VAL_CASES of (a balanced score's choice rests on a few
  cases' luck), and the classes the training file declares and holds no case of."""
  counts = np.bincount(data.y['val'], minlength=len(data.classes))
  known = np.bincount(data.y['train'], minlength=len(data.classes))
  missing = [(c, int(n)) for c, v, n in zip(data.classes, counts, known) if not v and n]
  where = f' of fold {fold + 1} of {folds}' if folds > 1 else ''
  few = [(c, int(v)) for c, v in zip(data.classes, counts)  # Rare beside the others.
         if 0 < v < FEW_VAL_CASES and 3 * v < counts.max()]
  said = ((f'note: the validation part{where} holds fewer than {FEW_VAL_CASES} cases of '
           'class(es) ' + ', '.join(f'{c!r} ({n})' for c, n in few) + ': what a balanced '
           'score (--selection=balanced_ce, balanced accuracy) chooses rests on those few '
           'cases',) if few else ())
  # A class the header declares and no case of the training file holds is never learnt.
  unseen = [c for c, v, n in zip(data.classes, counts, known) if not v and not n]
  return said + ((f'note: the validation part{where} holds no case of class(es) '
           + ', '.join(f'{c!r} ({n} training case{"s" * (n != 1)})' for c, n in missing)
           + ': members and the final model are chosen without them',) if missing else ()) + (
      (f'note: class(es) {", ".join(map(repr, unseen))} of the training file\'s '
       '@classLabel line have no case in it: the model never learns them (their '
       'probabilities are trained towards 0)',) if unseen else ())
