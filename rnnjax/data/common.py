"""What the loaders (forecast.py, classify.py, text.py) share: split names, held-out sizes,
reading a user's file (its text, its kind, or a CSV's named numeric columns); filling
gaps is gap_fill.py's.

Errors are one-line `InputError`s that name the flag (when given) and the file, so an
entry point can print them as they are.
"""

import contextlib
import csv
import hashlib
import io
import os
import re

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


_estimates = None  # Set by `estimating` (a dry run's); None: slow data work is done.


@contextlib.contextmanager
def estimating():
  """Inside, slow data work (a panel's statistical benchmarks, a single series' ETS and
  ARIMA) is not done but estimated: each kind adds what it would take to its estimate
  (`estimate`) in the dict this yields, {kind: its estimate}, each with `seconds`,
  `spent` (the estimate's own time) and `note()`."""
  global _estimates
  before, _estimates = _estimates, {}
  try:
    yield _estimates
  finally:
    _estimates = before


def estimate(kind: str, make):
  """The innermost `estimating`'s estimate of `kind` (made by `make()` the first time),
  or None outside it: the work is to be done."""
  if _estimates is None:
    return None
  if kind not in _estimates:
    _estimates[kind] = make()
  return _estimates[kind]


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
    with open(path, 'rb') as f:  # A compressed file: said (the bundled texts are .gz).
      head = f.read(6)
    packed = next((kind for magic, kind in ((b'\x1f\x8b', 'a gzip'), (b'PK\x03\x04', 'a zip'),
                                            (b'BZh', 'a bzip2'), (b'\xfd7zXZ\x00', 'an xz'))
                   if head.startswith(magic)), '')
    hint = f'; it is {packed} file: decompress it first' if packed else ''
    raise InputError(f'{where}: is not UTF-8 text ({e.reason} at byte {e.start}){hint}'
                     ) from None
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


def values_key(head, *groups) -> bytes:
  """A digest of `head` (by its repr) and of each group of arrays by shapes and values
  (as float64): the key of `kept` results, for data read again (the panel of the next
  lookback is a new object with the same values)."""
  h = hashlib.blake2b(repr(head).encode(), digest_size=20)
  for group in groups:
    h.update(np.asarray([np.shape(v) for v in group], np.int64).tobytes())
    for v in group:
      h.update(np.ascontiguousarray(v, np.float64).tobytes())
  return h.digest()


def kept(cache: dict, size: int, key, make):
  """`cache[key]`, made by `make()` the first time: a process's last `size` results (the
  oldest dropped first), for work a sweep repeats per lookback or fold on the same data."""
  if key not in cache:
    value = make()
    while len(cache) >= size:
      del cache[next(iter(cache))]
    cache[key] = value
  return cache[key]


def columns_are(header) -> str:
  """'columns are [...]', for the message of a column a CSV lacks; where its header, the
  file's first line, opens with '#' (a comment an export tool wrote above the real
  header, most often), the message says how that line was read; where the header is one
  column holding ';', a tab or '|', that the file is not separated by commas (a
  spreadsheet's export where ',' is the decimal mark)."""
  said = f'columns are {header}'
  if header and header[0].startswith('#'):
    said += (" (the file's first line, read as its header, opens with '#': a comment "
             'line above the header must be removed)')
  elif len(header) == 1:  # A spreadsheet's CSV in a locale whose decimal mark is ','.
    sep = next((c for c in (';', '\t', '|') if c in header[0]), None)
    if sep:
      said += (f' (one column: the file separates its columns by {sep!r}, not by commas: '
               "save it with ',' between columns" + (", '.' as the decimal mark" if sep == ';'
                                                    else '') + ')')
  return said


def csv_rows(text: str, path: str, flag: str = '') -> list:
  """A CSV's lines as cells (the header's first), as every reader of a user's CSV takes
  them: blank lines at its end dropped (an editor's, or a spreadsheet's rows of empty
  cells: not periods).
  Refused in one line naming `flag`: a row with more cells than the header names (a
  number written with a decimal comma, 108,2, is two cells: the second would be dropped
  without a word; empty extra cells, a trailing comma, pass). A header that opens with
  '#', or of one column holding ';', a tab or '|', is left to `columns_are` to explain."""
  rows = list(csv.reader(io.StringIO(text, newline='')))
  while len(rows) > 1 and not any(c.strip() for c in rows[-1]):  # '', ',,', '  '.
    rows.pop()
  if not rows:
    return rows
  lead = f'{flag}: ' if flag else ''
  header = [h.strip() for h in rows[0]]
  if not any(header):
    raise InputError(f'{lead}{path}: its first line is empty, where the header naming the '
                     'columns belongs (remove the blank lines above it)')
  if header[0].startswith('#') or len(header) == 1 and any(
      sep in header[0] for sep in (';', '\t', '|')):
    return rows
  for r, row in enumerate(rows[1:]):
    if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
      raise InputError(f'{lead}{path}: line {r + 2} has {len(row)} cells where the header '
                       f'names {len(header)} columns ({",".join(row)!r}): a number written '
                       "with a decimal comma (108,2) is two cells; write it with '.' (a "
                       'text cell holding a comma: quote it)')
  return rows


def check_once(header, read, path: str, flag: str = '') -> None:
  """Refuses, in one line naming `flag`, a column `read` that the `header` names twice:
  which of them is meant? (`header.index` would read the first without a word.)"""
  for name in read:
    at = [i + 1 for i, h in enumerate(header) if h == name]
    if name and len(at) > 1:
      raise InputError(f'{flag + ": " if flag else ""}{path}: its header names column '
                       f'{name!r} {len(at)} times (columns {", ".join(map(str, at))}): '
                       'rename all but one')


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
  rows = csv_rows(read_csv_text(path, flag=flag), path, flag)
  if not rows:
    raise InputError(f'{path}: empty file')
  if len(rows) < 2:
    raise InputError(f'{flag + ": " if flag else ""}{path} has no rows (a header alone)')
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
  check_once(header, (*columns, time_column), path, flag)
  index = [header.index(c) for c in columns]
  values = np.full((len(rows) - 1, len(columns)), np.nan)
  for r, row in enumerate(rows[1:]):
    for c, i in enumerate(index):
      values[r, c] = number(row[i].strip() if i < len(row) else '', path, r + 2, columns[c],
                            flag)
  return values, int(np.isnan(values).sum())


def unread_note(path: str, unread, *, time_column: str, others: str) -> str:
  """The note naming the columns `unread` of a user's file (--csv_path) that no flag
  reads, and the flags that would: --time_column where none is named (`time_column`),
  then `others` ('--input_columns reads past values', ...)."""
  return (f'--csv_path: {path}: its column{"s" * (len(unread) > 1)} {list(unread)} '
          f'{"are" if len(unread) > 1 else "is"} not read'
          + ('' if time_column else ' (--time_column reads times: it dates the forecasts '
             'and infers the season)') + f' ({others})')


def check_roles(named, roles: str) -> None:
  """Refuses, in one line naming the flag, a column that [(flag, column)] `named` gives
  two roles (columns '' are not given); `roles` lists the roles for the message."""
  seen = {}
  for name, column in named:
    if column and column in seen:
      raise InputError(f'{name}: {column!r} is also {seen[column]}; a column has one '
                       f'role ({roles})')
    seen[column] = name


def number(cell: str, path: str, line: int, column: str, flag: str = '') -> float:
  """A CSV cell's value: NaN where it is missing (MISSING); an InputError naming the
  file (after `flag`, the one that gave it), line and column for one that is not a
  number (what a ',' in it likely is, said), or not finite ('inf': a gap would hide it,
  and a scale or a forecast would be infinite)."""
  if cell in MISSING:
    return np.nan
  where = f'{flag + ": " if flag else ""}{path}: line {line}, column {column!r}'
  try:
    value = float(cell)
  except ValueError:
    comma = (" (',' in a number: save the file with numbers written plainly, '.' as the "
             'decimal mark and no thousands separators)'
             if re.fullmatch(r'[+-]?[\d.]*\d,[\d,.]*', cell) else '')
    raise InputError(f'{where}: {cell!r} is not a number{comma}') from None
  if np.isinf(value):
    raise InputError(f'{where}: {cell!r} is not finite')
  return value
