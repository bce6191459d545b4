"""A saved classifier's cases (tuned.py `predict_proba`): checked, standardised with
the training statistics and padded as the sweep padded them, so that each case's
computation is the one the sweep scored; and their labels (`evaluate_cases`) as class
indices.
"""

import numpy as np

from rnnjax.data import classify
from rnnjax.data import gap_fill
from rnnjax.data.cases import long_csv
from rnnjax.errors import InputError
from rnnjax.final.saved import arguments


def padded(transform, sequences, what='sequences') -> tuple[np.ndarray, np.ndarray]:
  """(x <float32>[N, T, C], lengths <int32>[N]) of the cases `sequences`: a list of
  <float>[T_i, C] (or [T_i]), one array <float>[N, T, C], or a long DataFrame
  (`long_cases`); `what` names them in the InputError. T: the longest case of
  the sweep's training file, or a longer one of these. Missing values (NaN) are filled
  per channel by linear interpolation, as the .ts reader fills a file's `?`
  (ts_file.py); infinite values are refused."""
  channels = transform['channels']
  expected = (f'pass a list of cases, each <float>[T_i, {channels}] or [T_i] ([x] for '
              f'one case), or one array <float>[N, T, {channels}]')
  arguments.concrete(sequences, what)
  if hasattr(sequences, 'columns') and hasattr(sequences, 'groupby'):
    sequences = long_cases(sequences, what, transform)
  if isinstance(sequences, (str, bytes)) or not hasattr(sequences, '__iter__'):
    raise InputError(f'{what}: {type(sequences).__name__} is not a list of cases; {expected}')
  # A bare [T, C] array would iterate as T cases (and a 2-D array may as well be
  # [N, T] cases of one channel): refused, not guessed.
  if hasattr(sequences, 'ndim') and getattr(sequences, 'dtype', None) != object:
    if sequences.ndim != 3:
      raise InputError(f'{what}: an array of shape {tuple(np.shape(sequences))} is not '
                       f'a list of cases; {expected}')
    sequences = list(np.asarray(sequences))
  cases = []
  for i, s in enumerate(sequences):
    try:
      s = np.asarray(arguments.cells(s) if hasattr(s, 'to_numpy') else s, np.float64)
    except (TypeError, ValueError, OverflowError) as e:
      raise InputError(f'{what}: case {i} is not numbers ({e})') from None
    if s.ndim == 0:
      raise InputError(f'{what}: case {i} is a number, not a sequence; {expected}')
    s = s[:, None] if s.ndim == 1 else s
    if s.ndim == 2 and not len(s):
      raise InputError(f'{what}: case {i} has no steps; a case needs at least one')
    if s.ndim != 2 or s.shape[1] != channels:
      raise InputError(f'{what}: case {i} has shape {np.shape(s)}; the model reads '
                       f'{channels} channel(s) per step')
    if np.isinf(s).any():
      raise InputError(f'{what}: case {i} holds an infinite value')
    arguments.representable(s, f'{what}: case {i}')
    if np.isnan(s).any():
      s = gap_fill.fill_gaps(s, [f'channel {c}' for c in range(s.shape[1])],
                           f'{what}: case {i}')
    cases.append((s - np.asarray(transform['mean'])) / np.asarray(transform['std']))
  if not cases:
    raise InputError(f'{what}: no cases')
  # Padded as the sweep padded its training cases (the training file's longest), and
  # longer cases further, as the sweep padded a longer test file's: each case's outputs
  # are those it gets alone (the padded steps are masked).
  return classify.pad(cases, max(transform['max_length'], max(map(len, cases))))


def long_cases(frame, what: str = 'cases', transform=None) -> list:
  """A long DataFrame's cases, <float64>[T_i, C] each, in order of first appearance: a
  row per step, its case column (the sweep's --id_column, or `case`) naming each row's
  case. The channels are the sweep's channel columns by name where its data were a CSV
  (`transform` holds them, and its time column orders each case's rows where the frame
  has it), else every column but the case column (a model of a `.ts` file's)."""
  transform = transform or {}
  named = transform.get('id_column', '')
  case = named if named in frame.columns else 'case'
  if case not in frame.columns:
    also = f'{named!r} (the sweep\'s case column) or ' if named not in ('', 'case') else ''
    raise InputError(f'{what}: a DataFrame of cases needs a {also}`case` column (long '
                     'format: one row per step, one column per channel)')
  if frame[case].isna().any():  # groupby would drop those rows without a word.
    raise InputError(f'{what}: the `{case}` column is empty in '
                     f'{int(frame[case].isna().sum())} row(s); name each row\'s case')
  channels = list(transform.get('input_columns') or [])
  missing = [c for c in channels if c not in frame.columns]
  if missing:
    raise InputError(f'{what}: no column {missing[0]!r} (a channel of the model: '
                     f'{", ".join(channels)}); columns are {list(frame.columns)}')
  time = transform.get('time_column', '')
  time = time if time and time in frame.columns else ''
  if not channels:  # A .ts model's: every other column, in order.
    channels = [c for c in frame.columns if c != case]
    want = transform.get('channels')
    if want is not None and len(channels) != want:
      raise InputError(f'{what}: a model of .ts files reads every column but `{case}` as a '
                       f'channel, in order, and reads {want}: this DataFrame has '
                       f'{len(channels)} ({", ".join(map(repr, channels))}); give it only '
                       f'the `{case}` column and {want} channel column(s)')
  frame = frame.reset_index(drop=True)  # Rows named by position in what is refused.
  out = []
  try:
    for key, group in frame.groupby(case, sort=False):
      if time:
        group = group.iloc[long_csv.order(group[time].to_numpy(), f'{what}: case {key!r}',
                                          time, list(group.index), unit='row')]
      out.append(arguments.cells(group[channels]).astype(np.float64))
  except InputError:
    raise
  except (TypeError, ValueError) as e:
    raise InputError(f'{what}: a long DataFrame: one row per step, its `{case}` column the '
                     'case it belongs to (a name or number), one column of numbers per '
                     f'channel ({e})') from None
  return out


def label_indices(transform, labels) -> np.ndarray:
  """<int32>[N]: each of `labels` (strings of the classes, as in the training file) as
  the index of its class; InputError for anything else."""
  if isinstance(labels, (str, bytes)) or not hasattr(labels, '__len__'):
    raise InputError(f'labels: a list of class labels, one per case, not '
                     f'{type(labels).__name__}')
  index = {c: i for i, c in enumerate(transform['classes'])}
  # A case without a label (None, NaN, '': a file's empty cell) is no class: scored
  # cases need theirs (predict leaves such cases out of its accuracy, with a note).
  missing = [i for i, l in enumerate(labels) if l is None or str(l).strip() == '' or (
      isinstance(l, float) and l != l) or type(l).__name__ == 'NAType']
  if missing:
    raise InputError(f'labels: {len(missing)} case(s) have no label (e.g. case {missing[0]}: '
                     f'{labels[missing[0]]!r}); give only labelled cases')
  unknown = sorted({str(l) for l in labels} - set(index))
  if unknown:
    raise InputError(f'labels: {unknown} are not classes of the model '
                     f'({", ".join(index)})')
  return np.asarray([index[str(l)] for l in labels], np.int32)
