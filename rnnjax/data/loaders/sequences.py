"""The sequence tasks' data as the engine sees it (task_data.py picks the loader):
classification of cases (classify.py) and character-level language modelling (text.py).
"""

import math

import numpy as np

from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data import text
from rnnjax.data.loaders import loaded
from rnnjax.errors import InputError

POOLINGS = {'last': 'last_valid', 'mean': 'mean'}
# Streams a language model's validation / test part is cut into for evaluation, at most.
EVAL_STREAMS = 256


def _cases_filled(missing: dict) -> tuple:
  """The note of a classification's empty values filled, counted by file."""
  total = missing['train_file'] + missing['test_file']
  return (f'filled {total} missing values by linear interpolation ({missing["train_file"]} '
          f'in the training file, {missing["test_file"]} in the test file)',) if total else ()


def load_classify(*, dataset, seed, val_size, test_size, train_path='', test_path='',
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
  return loaded.TaskData(
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


def load_charlm(*, dataset, seed, val_size, test_size, text_path='', seq_len=64):
  del seed  # The splits are contiguous parts of the text: nothing is drawn.
  if seq_len < 1:
    raise InputError(f'--seq_len: {seq_len} must be >= 1')
  data = text.load(dataset='' if text_path else dataset, text_path=text_path,
                   val_size=val_size, test_size=test_size)
  train = data.tokens['train']
  if len(train) <= seq_len + 1:
    n = data.info['characters']
    raise InputError(f'--seq_len: {seq_len} is not shorter than the training text '
                     f'({len(train)} characters: {data.info["source"]} holds '
                     f'{sum(n.values()):,}, validation and test take {n["val"]:,} and '
                     f'{n["test"]:,}); a longer text, or a shorter --seq_len')
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
  return loaded.TaskData(
      task='charlm', arrays=arrays, input_size=vocab, output_size=vocab, readout='all',
      seq_len=seq_len, num_train=len(train) - seq_len,
      baselines={'uniform': uniform, 'unigram': unigram},
      info=dict(data.info, eval_streams=int(arrays['val']['x'].shape[0])),
      notes=text.notes(data), vocab=data.vocab, prime=data.tokens['val'][:seq_len],
      # key_by_prompt: a sample's key folded with its prompt (engine/generate.py).
      transform={'vocab': data.vocab, 'eval_streams': EVAL_STREAMS, 'seq_len': seq_len,
                 'key_by_prompt': True,
                 'prime': text.decode(data.tokens['val'][:seq_len], data.vocab)})
