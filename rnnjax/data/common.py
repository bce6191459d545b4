"""What the loaders (forecast.py, classify.py, text.py) share: split names, held-out sizes,
reading a user's file (its text, its kind, or a CSV's named numeric columns), and filling gaps.

Errors are one-line `InputError`s that name the flag (when given) and the file, so an
entry point can print them as they are.
"""

import contextlib
import csv
import io
import os

import numpy as np

from rnnjax.errors import InputError

SPLITS = ('train', 'val', 'test')
# A CSV's cells read as missing (empty, filled and counted): pandas.read_csv's defaults,
# so a file reads here as it does there.
MISSING = frozenset(('', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan',
                     '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a',
                     'nan', 'null'))


_say = None  # Set by `reporting` (the sweep's log); None: slow data work says nothing.


@contextlib.contextmanager
def reporting(say):
  """Inside, `say` gets the progress lines of slow work while the data load (statsforecast
  fitting a panel's series, a single series' ETS / ARIMA forecasting from every origin):
  how far it is, and about how long the rest will take."""
  global _say
  before, _say = _say, say
  try:
    yield
  finally:
    _say = before


def progress_say():
  """The `say` of the innermost `reporting`, or None outside it."""
  return _say


def duration(seconds: float) -> str:
  """'45 s', '12 min' or '2.5 h': a time left or taken, as progress lines give it."""
  if seconds < 90:
    return f'{seconds:.0f} s'
  if seconds < 5400:
    return f'{seconds / 60:.0f} min'
  return f'{seconds / 3600:.1f} h'


def holdout_sizes(n: int, val_size: int, test_size: int, *, fraction: float,
                  minimum: int) -> tuple[int, int]:
  """(val_size, test_size) of n points (or characters) split in order: each as given when
  > 0, else round(fraction * n), and at least `minimum`."""
  size = lambda given: given if given > 0 else max(minimum, int(round(fraction * n)))
  return size(val_size), size(test_size)


def read_file(path: str, *, flag: str = '', kind: str = 'a text file') -> str:
  """The text of a UTF-8 file, newlines untouched (a leading byte-order mark is dropped).

  A missing, unreadable or non-UTF-8 file raises InputError naming `flag` (the one that
  gave the path, if any) and `path`; `kind` says what a directory should have been.
  """
  where = f'{flag}: {path}' if flag else path
  if os.path.isdir(path):
    raise InputError(f'{where}: is a directory, not {kind}')
  if not os.path.isfile(path):
    raise InputError(f'{where}: no such file')
  try:
    with open(path, encoding='utf-8-sig', newline='') as f:
      return f.read()
  except UnicodeDecodeError as e:
    raise InputError(f'{where}: is not UTF-8 text ({e.reason} at byte {e.start})') from None
  except OSError as e:
    raise InputError(f'{where}: cannot read ({e.strerror})') from None


def file_kind(path: str, *, flag: str = '', text: str | None = None) -> str:
  """'csv', 'ts', or '' (nothing tells: empty, or `#` lines alone): a data file's kind by
  its extension (.csv, .ts), else by its content as the .ts reader reads one (`#`
  comment lines, then `@` header lines: cases/ts_file.py). A file of neither extension
  that opens with `#` lines and goes on with anything but an `@` line is refused in one
  line naming `flag`: as a CSV, its first line, the `#` one, would be its header."""
  extension = os.path.splitext(path)[1].lower()
  if extension in ('.csv', '.ts'):
    return extension[1:]
  if text is None:
    text = read_file(path, flag=flag, kind='a .ts or CSV file')
  commented = False
  for line in io.StringIO(text, newline=None):  # A long CSV is told by its first lines.
    line = line.strip()
    if line.startswith('#'):
      commented = True
    elif line.startswith('@'):
      return 'ts'
    elif line and commented:
      raise InputError(f'{flag + ": " if flag else ""}{path}: opens with \'#\' lines that no '
                       '@ header line follows (a .ts file\'s would), and a CSV\'s first line '
                       'names its columns: remove the \'#\' lines, or name the file .csv to '
                       'read the first as its header')
    elif line:
      return 'csv'
  return ''


def read_csv_text(path: str, *, flag: str = '') -> str:
  """The text of a CSV file (`read_file`); a file `file_kind` finds to be a .ts file is
  refused in one line naming `flag`."""
  text = read_file(path, flag=flag, kind='a CSV file')
  if file_kind(path, flag=flag, text=text) == 'ts':
    raise InputError(f'{flag + ": " if flag else ""}{path}: is a .ts file, not a CSV (a '
                     'first line naming its columns); --task=classify reads .ts files of '
                     'cases (--train_path, --test_path)')
  return text


def columns_are(header) -> str:
  """'columns are [...]', for the message of a column a CSV lacks; where its header, the
  file's first line, opens with '#' (a comment an export tool wrote above the real
  header, most often), the message says how that line was read."""
  said = f'columns are {header}'
  if header and header[0].startswith('#'):
    said += (" (the file's first line, read as its header, opens with '#': a comment "
             'line above the header must be removed)')
  return said


def read_csv(path: str, columns, *, time_column: str = '', input_columns=(),
             flag: str = '', the_models: bool = False) -> tuple[np.ndarray, int]:
  """Reads named numeric columns. Returns (<float64>[N, C] with NaN gaps, gaps).

  The C = len(columns) + len(input_columns) columns come in that order. Rows are taken
  in file order; `time_column`, when named, must exist but is not parsed. `flag` (e.g.
  '--csv_path') is named when the file cannot be read. A missing column is named with
  the flag that named it (--target_columns, --time_column, --input_columns), or, where
  `the_models` (a saved model's columns, in predict's files), with `flag` and the kind
  of column it is to the model.
  """
  # newline='' as the csv module asks, so a quoted field may hold a line break.
  text = read_csv_text(path, flag=flag)
  rows = list(csv.reader(io.StringIO(text, newline='')))
  if not rows:
    raise InputError(f'{path}: empty file')
  header = [h.strip() for h in rows[0]]
  for name, kind, group in (('--target_columns', 'target', columns),
                            ('--time_column', 'time', [time_column] if time_column else []),
                            ('--input_columns', 'input', input_columns)):
    missing = [c for c in group if c not in header]
    if missing and the_models:
      raise InputError(f'{flag}: {path} has no column {missing[0]!r} (the model\'s {kind} '
                       f'column); {columns_are(header)}')
    if missing:
      raise InputError(f'{name}: {path} has no column {missing[0]!r}; '
                       f'{columns_are(header)}')
  columns = (*columns, *input_columns)
  index = [header.index(c) for c in columns]
  values = np.full((len(rows) - 1, len(columns)), np.nan)
  for r, row in enumerate(rows[1:]):
    for c, i in enumerate(index):
      values[r, c] = number(row[i].strip() if i < len(row) else '', path, r + 2, columns[c])
  return values, int(np.isnan(values).sum())


def check_roles(named, roles: str) -> None:
  """Refuses, in one line naming the flag, a column that [(flag, column)] `named` gives
  two roles (columns '' are not given); `roles` lists the roles for the message."""
  seen = {}
  for name, column in named:
    if column and column in seen:
      raise InputError(f'{name}: {column!r} is also {seen[column]}; a column has one '
                       f'role ({roles})')
    seen[column] = name


def number(cell: str, path: str, line: int, column: str) -> float:
  """A CSV cell's value: NaN where it is missing (MISSING); an InputError naming the
  file, line and column for one that is not a number, or not finite ('inf': a gap
  would hide it, and a scale or a forecast would be infinite)."""
  if cell in MISSING:
    return np.nan
  try:
    value = float(cell)
  except ValueError:
    raise InputError(f'{path}: line {line}, column {column!r}: {cell!r} is not a '
                     'number') from None
  if np.isinf(value):
    raise InputError(f'{path}: line {line}, column {column!r}: {cell!r} is not finite')
  return value


FILLS = ('linear', 'zero')  # --fill: how a forecast's target gaps are filled.
# How `fill_gaps` fills a column's gaps, as the notes say it.
ZERO, LINEAR, LAST = 'with 0', 'by linear interpolation', 'with the last value before'
# A linear fill's cells before a series' first value, and after its last, hold that value.
START, END = 'before its first value (given that value)', 'after its last value (given that value)'


def flag_columns(series, targets: int) -> tuple:
  """The indices of the input columns (index >= `targets`) of `series` (each <float64>[T_i,
  C] or [T_i], with NaN gaps) whose observed values, over every series, are all 0 or 1:
  flags (a holiday, a promotion), whose gaps `fill_gaps` fills with the last value, not
  a fraction of one. Decided once over a sweep's data and kept with its model (its
  transform's 'flag_columns'), so that a history is filled as the sweep's data was."""
  stacked = np.concatenate([np.asarray(v, np.float64).reshape(len(v), -1) for v in series])
  flags = []
  for c in range(targets, stacked.shape[1]):
    seen = stacked[:, c][~np.isnan(stacked[:, c])]
    if len(seen) and ((seen == 0) | (seen == 1)).all():
      flags.append(c)
  return tuple(flags)


def flags_of(columns, targets: int, flag_columns) -> tuple:
  """The indices of `columns` (names, the `targets` targets first) that are among a
  saved model's `flag_columns` (its sweep's `flag_columns`, by name; a model saved before
  there were any: none, every input column interpolated as it was trained)."""
  flagged = set(flag_columns or ())
  return tuple(c for c, name in enumerate(columns) if c >= targets and name in flagged)


def fill_how(c: int, fill: str, targets: int, flags=()) -> str:
  """How `fill_gaps` fills the gaps of column `c` (ZERO, LINEAR or LAST): a target
  (c < targets) as `fill` says, even one of 0s and 1s (a slow seller's weekly sales); an
  input column in `flags` (`flag_columns`) with its last value."""
  if c < targets:
    return ZERO if fill == 'zero' else LINEAR
  return LAST if c in flags else LINEAR


def fill_counts(values, names, *, fill: str = 'linear', targets: int = 0,
                flags=()) -> dict:
  """{(names[c], how): empty cells} of <float64>[T, C] (or [T]), as `fill_gaps` fills
  them (how: ZERO, LINEAR, LAST, or START / END for the cells before a column's first
  value, which hold it, and a linear fill's after its last); add the counts of many
  series with `add_counts`."""
  values = np.asarray(values, np.float64).reshape(len(values), -1)
  out = {}
  for c in range(values.shape[1]):
    missing = np.isnan(values[:, c])
    if not missing.any() or missing.all():
      continue
    how = fill_how(c, fill, targets, flags)
    counts = {how: int(missing.sum())}
    first, last = np.flatnonzero(~missing)[[0, -1]]
    if how == LINEAR:  # np.interp's ends: the nearest value, not an interpolation.
      counts = {START: int(first), LINEAR: int(missing[first:last].sum()),
                END: int(len(missing) - 1 - last)}
    elif how == LAST:  # Before the first value there is no value before: the first.
      counts = {START: int(first), LAST: int(missing[first:].sum())}
    for how, n in counts.items():
      if n:
        out[(names[c], how)] = out.get((names[c], how), 0) + n
  return out


def add_counts(*counts) -> dict:
  """The sum of `fill_counts`' dicts (of many series)."""
  out = {}
  for count in counts:
    for key, n in count.items():
      out[key] = out.get(key, 0) + n
  return out


def filled_note(counts: dict, where: str, *, as_sweep: bool = False) -> str:
  """The note of the empty cells of `where` that `fill_gaps` filled ('' for none), by
  column and how (`fill_counts`): '894 empty cells of f.csv filled: 348 of the target by
  linear interpolation, ..., 276 of input column 'holiday' (a 0/1 flag) with the last
  value before'. as_sweep: a saved model's reading, said to be the sweep's."""
  total = sum(counts.values())
  if not total:
    return ''
  parts = ', '.join(f'{n} of {name}{" (a 0/1 flag)" * (how == LAST)} {how}'
                    for (name, how), n in counts.items())
  return (f'{total} empty cell{"s" * (total != 1)} of {where} filled'
          f'{", as the sweep filled its data" * as_sweep}: {parts}')


def fill_gaps(values: np.ndarray, names, where: str, *, fill: str = 'linear',
              targets: int = 0, flags=()) -> np.ndarray:
  """<float64>[T, C]: NaN gaps interpolated linearly in time per column; ends hold the
  nearest value. An input column in `flags` (`flag_columns`: its values all 0 or 1)
  holds the last value before each gap instead (the first after, before any), never a
  fraction. With `fill` 'zero' (--fill=zero: a sales export's absent week sold nothing)
  the first `targets` columns' gaps are 0 instead. The input is left alone;
  `fill_counts` counts what this fills, and how.

  A column with no value at all raises InputError '{where}: {names[c]} has no values'
  (whatever `fill`).
  """
  filled = values.copy()
  t = np.arange(len(values))
  for c in range(values.shape[1]):
    ok = ~np.isnan(values[:, c])
    if not ok.any():  # With --fill=zero too: nothing says it ever sold, or existed.
      raise InputError(f'{where}: {names[c]} has no values')
    if ok.all():  # A gap-free column is copied.
      continue
    how = fill_how(c, fill, targets, flags)
    if how == ZERO:
      filled[:, c] = np.where(ok, values[:, c], 0.0)
    elif how == LAST:  # A holiday's gap is a holiday or not, not half of one.
      before = np.maximum.accumulate(np.where(ok, t, -1))
      filled[:, c] = values[np.where(before < 0, np.argmax(ok), before), c]
    else:
      filled[:, c] = np.interp(t, t[ok], values[ok, c])
  return filled
