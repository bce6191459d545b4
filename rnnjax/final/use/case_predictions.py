"""What `experiments/predict.py` does with a classifier (predictions.py `run`): reads the
cases of a `.ts` file (`--ts_path`) or a long CSV (`--csv_path`, read as the sweep read
its CSV: the model's case and channel columns, its time and label columns where the
file has them), predicts every case, and returns the lines to print (with the accuracy
over the cases the file labels, and a note of how many it does not) and predictions.csv's
rows.
"""

import os

import numpy as np

from rnnjax.data import classify
from rnnjax.data.cases import long_csv
from rnnjax.errors import InputError
from rnnjax.results.printed import words


def read(model, ts_path: str, csv_path: str) -> tuple:
  """(cases [T_i, C], labels or None, case names) of the file given, checked against
  the model; a `.ts` file's cases are named by their position."""
  if ts_path and csv_path:
    raise InputError('--csv_path: give the cases in one file: --ts_path (a .ts file) or '
                     '--csv_path (a long CSV), not both')
  for flag, path, other, csv in (('--ts_path', ts_path, '--csv_path', True),
                                 ('--csv_path', csv_path, '--ts_path', False)):
    # By its extension, as the sweep tells its files apart (long_csv.is_csv).
    if path and os.path.splitext(path)[1].lower() == ('.csv' if csv else '.ts'):
      raise InputError(f'{flag}: {path} is {"a CSV" if csv else "a .ts file"}; give it as '
                       f'{other}')
  if csv_path:
    return read_csv(model, csv_path)
  if not ts_path:
    raise InputError('--ts_path: required for a classification model (a .ts file of '
                     'cases, or --csv_path: a long CSV of them)')
  cases, labels = read_ts(model, ts_path)
  return cases, labels, list(range(len(cases)))


def read_csv(model, csv_path: str) -> tuple:
  """(cases, labels or None, case ids) of a long CSV: its rows read by the model's
  columns (a model of a `.ts` file's: a `case` column, every other column a channel);
  its time and label columns where the file has them (a case whose label cells are all
  empty is not labelled: None among the labels)."""
  transform = model.transform
  channels = tuple(transform.get('input_columns') or ())
  # The model's columns were its sweep's flags; here they are the file's to hold.
  cases = long_csv.read_long_csv(
      csv_path, flag='--csv_path', id_column=transform.get('id_column') or 'case',
      time_column=transform.get('time_column', ''),
      target_column=transform.get('target_column', ''), input_columns=channels,
      labelled=False, channels_of='the model' if channels else '',
      names={**{role: f"the model's {kind} column: its sweep's {long_csv.FLAGS[role]}"
                for role, kind in (('id', 'case'), ('time', 'time'), ('target', 'label'))},
             'input': f"the model reads {transform['channels']} channel(s)"})
  if cases.series[0].shape[1] != transform['channels']:
    # A .ts model's channels are every column but the case column.
    ts = '' if channels else (
        ': a model of .ts files reads every column but `case` as a channel, in order; give '
        f'it only the `case` column and {transform["channels"]} channel column(s)')
    raise InputError(f'--csv_path: {csv_path} has {cases.series[0].shape[1]} channel '
                     f'column(s) ({", ".join(cases.channels)}); the model reads '
                     f'{transform["channels"]}{ts}')
  # Labels where some cases have them (None for the rest), else None.
  labels = list(cases.labels) if any(l is not None for l in cases.labels) else None
  return cases.series, labels, list(cases.ids)


def read_ts(model, ts_path: str):
  """(cases [T_i, C], labels or None) of a .ts file, checked against the model."""
  channels = model.transform['channels']
  read = lambda unlabelled: classify.read_ts(ts_path, flag='--ts_path', labelled=False,
                                             unlabelled_default=unlabelled)
  try:
    ts, error = read(False), None
  except InputError as e:
    ts, error = None, e
  if ts is None or ts.series[0].shape[1] != channels:
    # A header without @classLabel: the cases may be unlabelled (their last field then a
    # channel, not a label); taken so where that matches the model's channels.
    try:
      other = read(True)
      if other.series[0].shape[1] == channels:
        ts, error = other, None
    except InputError:
      pass
  if error is not None:
    raise error if str(error).startswith('--ts_path') else InputError(
        f'--ts_path: {error}') from None
  if ts.series[0].shape[1] != channels:
    raise InputError(f'--ts_path: {ts_path} has {ts.series[0].shape[1]} channel(s) per case; '
                     f'the model reads {channels} (a file of unlabelled cases says '
                     '@classLabel false)')
  return ts.series, None if ts.labels[0] is None else ts.labels


def rows(model, probs, labels, ids) -> tuple[list, list]:
  """predictions.csv's header and rows: each case's name, predicted class, label (where
  the cases have them) and class probabilities."""
  classes = model.transform['classes']
  header = ['case', 'predicted'] + (['label'] if labels else []) + [f'p_{c}' for c in classes]
  out = []
  for i, p in enumerate(probs):
    label = [labels[i] if labels[i] is not None else ''] if labels else []
    out.append([ids[i], classes[int(np.argmax(p))]] + label +
               [float(v) for v in p])
  return header, out


def predict(model, cases, labels, ids) -> tuple[list, list, list, list | None]:
  """(lines to print, header, rows, confusion) of the model's predictions of `cases`;
  confusion: where some are labelled with a class of the model, their counts by true
  (rows) and predicted class (columns), in the model's order of classes (data/classify.py
  `confusion`), else None."""
  probs = model.predict_proba(cases)
  header, table = rows(model, probs, labels, ids)
  predicted = [row[1] for row in table]
  classes = model.transform['classes']
  lines = [f'{len(table)} cases, predicted: ' + ', '.join(
      f'{c}: {predicted.count(c)}' for c in classes)]
  if labels:
    known = [(p, l) for p, l in zip(predicted, labels) if l in classes]
    unlabelled = sum(l is None for l in labels)
    unknown = sorted(set(labels) - set(classes) - {None})
    if unlabelled:
      lines.append(f'note: {unlabelled} of {len(labels)} case(s) have no label in the file: '
                   'predicted, left out of the accuracy')
    if unknown:
      lines.append(f'note: {len(labels) - unlabelled - len(known)} case(s) labelled '
                   f'{unknown}, not a class of the model ({", ".join(classes)}): predicted, '
                   'left out of the accuracy')
    if known:
      accuracy = sum(p == l for p, l in known) / len(known)
      # Per class present: how many of its cases were found (a rare class's 0 would hide
      # in the accuracy), and their mean, the balanced accuracy.
      per_class = classify.per_class(*zip(*known), classes)
      lines.append(f'accuracy against the file\'s labels: {accuracy:.4f}' + (
          f' ({len(known)} cases)' if unknown or unlabelled else '') + f'; balanced accuracy '
          f'{classify.balanced(per_class):.4f}; found per class: ' +
          words.found_per_class(per_class))
      index = {c: i for i, c in enumerate(classes)}
      return lines, header, table, classify.confusion(
          [index[p] for p, _ in known], [index[l] for _, l in known], len(classes))
  return lines, header, table, None
