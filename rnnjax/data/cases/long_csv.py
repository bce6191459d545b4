"""Sequence-classification cases from a long CSV: `read_long_csv` reads one into a
`ts_file.TsFile`, as `read_ts` reads a `.ts` file, so classify.py splits, scales and
pads both alike.

One row per step of a case: the case column (`--id_column`) names the case each row
belongs to (cases in order of first appearance; ids as written, text), the label column
(`--target_columns`, one) its class (text, as a `.ts` file's labels; every row of a case
carries the same one), the time column (`--time_column`, optional: numbers or ISO dates)
orders each case's rows (else file order), and the channel columns (`--input_columns`;
default every other column) hold numbers. Cases may differ in length. Empty cells are
gaps, filled by linear interpolation within their channel as a `.ts` file's `?` are
(gap_fill.fill_gaps) and counted; a cell that is not a number, or not finite, is refused
naming its line and column.
"""

import os

import numpy as np

from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.data.cases import ts_file
from rnnjax.data.time import column as times
from rnnjax.errors import InputError


def is_csv(path: str, flag: str) -> bool:
  """Whether `path` is read as a long CSV rather than a `.ts` file: by its extension
  (.csv, .ts), else by its content (a `.ts` file opens with `@` header lines, after any
  `#` comments; common.file_kind)."""
  return common.file_kind(path, flag=flag) == 'csv'  # '' (empty): the .ts reader says so.


def order(cells, where: str, column: str, lines=None, unit: str = 'line') -> np.ndarray:
  """<int>[n]: the positions of a case's time cells in time order (stable). Cells are
  numbers or ISO dates (time/column.py `parse`), read as text where they are not
  numbers already (a DataFrame's); an empty or unreadable cell, or two rows at one time,
  is refused naming `where`, `column` and the rows' `lines` (file lines; default their
  positions, as `unit` 'row')."""
  cells = np.asarray(cells)
  lines = list(range(len(cells))) if lines is None else list(lines)
  row = lambda i: f'{unit} {lines[i]}'
  if cells.dtype.kind in 'iufM':  # Numbers or datetimes already (a DataFrame).
    keys = cells
    bad = np.flatnonzero(np.isnat(keys) if keys.dtype.kind == 'M' else ~np.isfinite(keys))
    if len(bad):
      raise InputError(f'{where}: {row(bad[0])}: empty or not finite {column!r} '
                       f'{str(cells[bad[0]])!r}')
  else:
    text = [str(c).strip() for c in cells]
    numbers, dates = [_float(c) for c in text], [times.parse(c) for c in text]
    bad = [i for i, (n, d) in enumerate(zip(numbers, dates)) if n is None and d is None]
    if bad:
      raise InputError(f'{where}: {row(bad[0])}: {column!r} {text[bad[0]]!r} is neither a '
                       'number nor an ISO date (2024-01-31); it orders the case\'s rows')
    if all(n is not None for n in numbers):
      keys = np.array(numbers)
    elif all(d is not None for d in dates):
      keys = np.array(dates)
    else:
      i = next(i for i, d in enumerate(dates) if d is None)
      raise InputError(f'{where}: {row(i)}: {column!r} {text[i]!r} is a number among '
                       'dates; a case\'s times are all numbers or all dates')
  positions = np.argsort(keys, kind='stable')
  same = np.flatnonzero(keys[positions][1:] == keys[positions][:-1])
  if len(same):
    a, b = sorted((positions[same[0]], positions[same[0] + 1]))
    raise InputError(f'{where}: {row(a)} and {row(b)} are both at {column!r} '
                     f'{str(cells[a])!r}; a case has one row per step')
  return positions


def _float(cell: str):
  """A finite number's value, else None."""
  try:
    value = float(cell)
  except ValueError:
    return None
  return value if np.isfinite(value) else None


# How the sweep's errors name each column of a long CSV: by its flag.
FLAGS = {'id': '--id_column', 'time': '--time_column', 'target': '--target_columns',
         'input': '--input_columns'}


class _Said:
  """read_long_csv's words for its columns in errors: the sweep's flags, or a caller's."""

  def __init__(self, names: dict | None, flag: str):
    self.words, self._own, self._flag = names or FLAGS, names is not None, flag

  def error(self, role: str, text: str) -> InputError:
    """An error about the `role` column: led by its flag, or by the file's `flag` with
    the caller's words after it."""
    if self._own:
      return InputError(f'{self._flag}: {text} ({self.words[role]})')
    return InputError(f'{self.words[role]}: {text}')

  def empty_label(self, path: str, line: int, column: str) -> InputError:
    return InputError(f'{path}: line {line}: empty {self.column("target", column)} (every '
                      'row of a case carries its label)')

  def column(self, role: str, column: str) -> str:
    """The `role` column named inside a line: "--id_column 'sid'", or "'sid' (words)"."""
    if self._own:
      return f'{column!r} ({self.words[role]})'
    return f'{self.words[role]} {column!r}'


def read_long_csv(path: str, *, id_column: str, target_column: str = '',
                  time_column: str = '', input_columns=(), flag: str = '',
                  labelled: bool = True, channels_of: str = '',
                  names: dict | None = None) -> ts_file.TsFile:
  """Reads a long CSV of cases; see the module docstring.

  `flag` (e.g. '--train_path') is named when the file cannot be read. labelled=False
  reads the label and time columns only where the file has them (labels then None per
  case where the label column is absent or empty, or empty in every row of that case;
  rows in file order without the time column). `input_columns` empty: every column but
  the case, time and label columns; where they are another file's (`channels_of`, e.g.
  '--train_path'), a missing one is refused naming that file's flag. names: how errors
  name each column, {'id', 'time', 'target', 'input'} -> words; by default the sweep's
  flags (FLAGS), each leading its column's errors. A caller whose columns come from
  elsewhere (predict's, a saved model's) gives its own words: its `flag` then leads, and
  the words follow the column ("--csv_path: FILE has no column 'sid'; columns are [...]
  (the model's case column)").
  """
  said = _Said(names, flag)
  rows = common.csv_rows(common.read_file(path, flag=flag, kind='a CSV file'), path, flag)
  if len(rows) < 2:
    raise InputError(f'{flag}: {path} has no rows')
  header = [h.strip() for h in rows[0]]
  if not labelled:  # New cases: their labels and times where the file has them.
    target_column, time_column = (c if c in header else '' for c in (target_column,
                                                                     time_column))
    if target_column:  # A label column left empty: cases whose labels are not known.
      i = header.index(target_column)
      if not any(row[i].strip() for row in rows[1:] if i < len(row)):
        target_column = ''
  named = [('id', id_column), ('time', time_column), ('target', target_column)]
  named += [('input', c) for c in input_columns]
  common.check_roles([(said.words[role], c) for role, c in named],
                     'case, time, label or channel')
  roles = {column for _, column in named}
  for role, column in named:
    if column and column not in header:
      if role == 'input' and channels_of:
        raise InputError(f'{flag}: {path} has no column {column!r} (a channel of '
                         f'{channels_of}); {common.columns_are(header)}')
      raise said.error(role, f'{path} has no column {column!r}; '
                       f'{common.columns_are(header)}')
  channels = tuple(input_columns) or tuple(h for h in header if h and h not in roles)
  if not channels:
    raise said.error('input', f'{path} has no column besides its case, time and label '
                     f'columns ({header}); a case needs a channel of numbers')
  common.check_once(header, (id_column, time_column, target_column, *channels), path,
                    flag)
  i_id, i_time, i_label = (header.index(c) if c else None
                           for c in (id_column, time_column, target_column))
  i_channels = [header.index(c) for c in channels]
  shown = f'{flag}: {path}' if flag else path  # A cell's errors name the file's flag too.
  values, labels, stamps, lines, blank = {}, {}, {}, {}, {}
  for r, row in enumerate(rows[1:]):
    line = r + 2
    if not any(cell.strip() for cell in row):
      continue
    cell = lambda i: row[i].strip() if i is not None and i < len(row) else ''
    key = row[i_id] if i_id < len(row) else ''  # As written: ' a' and 'a' are two cases.
    if not key.strip():
      raise InputError(f'{shown}: line {line}: empty {said.column("id", id_column)}')
    if i_label is not None:
      label = cell(i_label)
      if not label and labelled:
        raise said.empty_label(shown, line, target_column)
      if not label:  # New cases: one not labelled in any row is a case to predict.
        blank.setdefault(key, line)
      elif key in labels and labels[key][0] != label:
        raise InputError(f'{shown}: line {line}: case {key!r} is labelled {label!r}, on '
                         f'line {labels[key][1]} {labels[key][0]!r}; a case has one label')
      else:
        labels.setdefault(key, (label, line))
    try:
      read = [common.number(cell(i), shown, line, c) for i, c in zip(i_channels, channels)]
    except InputError as error:  # A column of text read as a channel by default: said.
      if input_columns:
        raise
      raise InputError(f'{error} (every column but the case, time and label columns is '
                       'read as a channel: --input_columns names the channels, '
                       '--time_column a column of times)') from None
    values.setdefault(key, []).append(read)
    stamps.setdefault(key, []).append(cell(i_time))
    lines.setdefault(key, []).append(line)
  if not values:
    raise InputError(f'{flag}: {path} has no rows')
  half = [k for k in blank if k in labels]  # Labelled in some rows, empty in others.
  if half:
    raise said.empty_label(shown, blank[half[0]], target_column)
  series, num_missing = [], 0
  for key, rows_of in values.items():
    case = np.asarray(rows_of, np.float64).reshape(len(rows_of), len(channels))
    where = f'{shown}: case {key!r}'
    if time_column:
      case = case[order(stamps[key], where, time_column, lines[key])]
    num_missing += int(np.isnan(case).sum())
    series.append(gap_fill.fill_gaps(case, [f'column {c!r}' for c in channels], where))
  ids = tuple(values)
  case_labels = [labels[k][0] if k in labels else None for k in ids]
  return ts_file.TsFile(
      series=series, labels=case_labels,
      class_labels=ts_file.sort_labels(set(case_labels) - {None}),
      name=os.path.splitext(os.path.basename(path))[0], num_missing=num_missing,
      ids=ids, channels=channels)


def read_pair(train_path: str, test_path: str, *, flags=('--train_path', '--test_path'),
              id_column: str, time_column: str = '', target_columns=(),
              input_columns=()) -> tuple:
  """(train, test) TsFiles of a training and a test CSV, read with the columns the
  sweep's flags name: the case column and one label column required; the test file's
  channels are the training file's."""
  if not id_column:
    raise InputError(f'--id_column: required for a CSV --train_path ({train_path}): name '
                     'the column that says which case each row belongs to')
  if len(target_columns) != 1:
    raise InputError('--target_columns: ' + (
        f'a case has one class label; got {list(target_columns)}' if target_columns else
        f'required for a CSV --train_path ({train_path}): name the class label column'))
  read = dict(id_column=id_column, time_column=time_column,
              target_column=target_columns[0])
  train = read_long_csv(train_path, flag=flags[0], input_columns=input_columns, **read)
  test = read_long_csv(test_path, flag=flags[1], input_columns=train.channels,
                       channels_of='' if input_columns else flags[0], **read)
  return train, test  # Ids are each file's own: both may number their cases from 0.

