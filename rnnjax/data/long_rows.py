"""A long CSV read into series (panel.py's panels; predict's histories and plans): one
row per observation, the series named by an id column (`read_long`; `read_table` for a
caller that needs the header first).

A retailer's export of 30,000 weekly series is 3 million rows: read a row at a time in
Python (each cell checked as it comes, so an error names its line) that took about a
minute on a 2-core CPU. `group` converts each column in one pass and groups the rows by
id with one stable sort, in file order within a series and series in order of first
appearance, as the row-at-a-time reading groups them. Whatever that reading says more
than this one (a ragged or blank row, an empty id, a cell that is not a number or is
infinite) `group` leaves to it: it returns None, and the file is read a row at a time,
which names the line. A sweep reads its panel once per lookback and again to save its
model: `read_long` keeps its last two results.
"""

import hashlib

import numpy as np

from rnnjax.data import common
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError

# read_long's last results, by the file's text and the arguments: a sweep reads its CSV
# once per lookback and fold, and once more to save its model (a minute each on 30,000
# series); a copy of what was read is handed out each time.
_READ_CACHE, _READ_CACHE_SIZE = {}, 2


def group(rows, *, i_id, i_time, read, key: str):
  """(ids, per series <float64>[n_i, len(read)] values with NaN gaps, per series its
  time cells (stripped; '' without a time column)) of `rows` (the CSV's rows after its
  header), or None where a row needs the row-at-a-time reading (module docstring).

  i_id, i_time: the id and time columns' indices (None: none; without an id, every row
  is series `key`); read: the indices of the columns read as numbers (None: a column the
  file lacks, read as empty)."""
  width = 1 + max([i for i in (i_id, i_time, *read) if i is not None])
  if not rows or any(len(row) < width for row in rows):
    return None
  columns = list(zip(*rows))
  if i_id is None:
    if any(not ''.join(row).strip() for row in rows):  # A blank row: skipped there.
      return None
    codes, ids = np.zeros(len(rows), np.int64), (key,)
  else:
    index = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in columns[i_id]),
                        np.int64, len(rows))
    ids = tuple(index)
    if any(not k.strip() for k in ids):
      return None
  try:
    values = np.stack([np.fromiter(_numbers(columns[i]), np.float64, len(rows))
                       if i is not None else np.full(len(rows), np.nan) for i in read],
                      axis=1)
  except ValueError:
    return None
  if np.isinf(values).any():
    return None
  times = ([c.strip() for c in columns[i_time]] if i_time is not None
           else [''] * len(rows))
  order = np.argsort(codes, kind='stable')
  ends = np.cumsum(np.bincount(codes, minlength=len(ids)))
  starts = ends - np.bincount(codes, minlength=len(ids))
  per_series = [order[s:e] for s, e in zip(starts, ends)]
  return (ids, [values[o] for o in per_series],
          [[times[j] for j in o.tolist()] for o in per_series])


def _numbers(cells):
  missing = common.MISSING
  for cell in cells:
    cell = cell.strip()
    yield np.nan if cell in missing else float(cell)


# How the sweep's errors name each column of a long CSV: by its flag.
FLAGS = {'id': '--id_column', 'time': '--time_column', 'target': '--target_columns',
         'input': '--input_columns', 'future': '--future_columns'}


def read_table(path: str, flag: str) -> tuple[list, list]:
  """(header, rows) of a CSV given by `flag`: its column names (stripped), and every
  line as cells (the header's first), as read_long reads them; a caller that needs the
  header first (predict: which of the model's columns the file has) reads the file once
  and gives read_long both."""
  return _table(common.read_csv_text(path, flag=flag), path, flag)


def _table(text: str, path: str, flag: str) -> tuple[list, list]:
  rows = common.csv_rows(text, path, flag)
  return ([h.strip() for h in rows[0]] if rows else []), rows


def read_long(path: str, *, id_column: str, time_column: str, target_column: str,
              flag: str, input_columns=(), future_columns=(), to_end: bool = False,
              short: int = 0, names: dict | None = None, table: tuple | None = None) -> tuple:
  """(ids, values, times, gaps, note) of a long CSV: per series (in order of first
  appearance) <float64>[n_i] with NaN gaps (with input or future columns, [n_i, 1 + C]:
  the target, then those columns) and its time cells, put on the time column's grid
  (time/grid.py: sorted, absent periods put back empty, with `to_end` up to the file's
  last time too; the note says so, not counting series of `short` points or fewer), and
  the number of empty target cells; `id_column` '' reads the whole file as one series
  named after the file. `table`: the file's read_table, where the caller has read it.
  Read without it, a file's result is kept (the last two, by its text's hash and the
  arguments; copies handed out): a sweep reads its panel once per lookback and again to
  save its model.

  names: how errors and the note name each column, {'id', 'time', 'target', 'input',
  'future'} -> words; by default the sweep's flags (FLAGS), each leading its column's
  errors. A caller whose columns come from elsewhere (predict's, a saved model's) gives
  its own words: the file's `flag` then leads, and the words follow ("--csv_path: FILE
  has no column 'sid'; columns are [...] (the model's id column)"; the time grid's
  errors and note name the file's flag and its time column, time/grid.py)."""
  how = dict(id_column=id_column, time_column=time_column, target_column=target_column,
             flag=flag, input_columns=tuple(input_columns),
             future_columns=tuple(future_columns), to_end=to_end, short=short, names=names)
  if table is not None:
    return _read_long(table, path, **how)
  text = common.read_csv_text(path, flag=flag)
  key = (hashlib.blake2b(text.encode(), digest_size=20).digest(), path,
         *(v for k, v in how.items() if k != 'names'), tuple(sorted((names or {}).items())))
  ids, arrays, cells, gaps, note = common.kept(
      _READ_CACHE, _READ_CACHE_SIZE, key, lambda: _read_long(_table(text, path, flag), path, **how))
  return ids, [a.copy() for a in arrays], [list(c) for c in cells], gaps, note


def _read_long(table: tuple, path: str, *, id_column, time_column, target_column, flag,
               input_columns, future_columns, to_end, short, names) -> tuple:
  every = tuple(input_columns) + tuple(future_columns)
  header, rows = table
  if len(rows) < 2:
    raise InputError(f'{flag}: {path} has no rows')
  words = names or FLAGS
  named = [('id', id_column), ('time', time_column), ('target', target_column)]
  named += [('future' if c in future_columns else 'input', c) for c in every]
  common.check_roles([(words[role], c) for role, c in named], 'id, time, target or input')
  for role, column in named:
    if column and column not in header:
      parts = [c.strip() for c in column.split(',')]
      if names is None and role == 'id' and len(parts) > 1 and set(parts) <= set(header):
        joined = " + '/' + ".join(f"df[{c!r}]" for c in parts)
        raise InputError(f'{FLAGS["id"]}: {path} has no column {column!r}; a series is '
                         f"named by one column: join these into one, e.g. in pandas df = "
                         f"pd.read_csv(path, dtype=str); df['id'] = {joined}; "
                         "df.to_csv('joined.csv', index=False), then --csv_path=joined.csv "
                         f"{FLAGS['id']}=id")
      missing = f'{path} has no column {column!r}; {common.columns_are(header)}'
      raise InputError(f'{flag}: {missing} ({names[role]})' if names else
                       f'{FLAGS[role]}: {missing}')
  common.check_once(header, [column for _, column in named], path, flag)
  get = lambda column: header.index(column) if column else None
  i_id, i_time = get(id_column), get(time_column)
  read = [(get(c), c) for c in (target_column,) + every]
  name = path.rsplit('/', 1)[-1].rsplit('.', 1)[0]
  grouped = group(rows[1:], i_id=i_id if id_column else None, i_time=i_time,
                            read=[i for i, _ in read], key=name)
  ids, values, times = grouped or _read_rows(rows, path, flag, id_column, i_id, i_time,
                                             read, name)
  unread = [h for h in header if h and h not in {column for _, column in named}]
  # Perhaps a panel read as one (the sweep's --csv_path: predict's reads the model's).
  one_of_many = not id_column and unread and flag == '--csv_path' and names is None
  arrays, cells, note = time_grid.regularize(
      ids, values, times, path=path, column=time_column, to_end=to_end, short=short,
      flag=flag if names else '', two_rows=(
          f'; a file of many series names their id column with --id_column (columns not '
          f'read: {unread})' if one_of_many else ''))
  gaps = int(sum(np.isnan(a[:, 0]).sum() for a in arrays))
  if not every:
    arrays = [a[:, 0] for a in arrays]
  if one_of_many:
    note = '; '.join(filter(None, [note, (
        f'{flag}: {path} is read as one series (no --id_column); its columns {unread} '
        'are not read')]))
  elif unread and id_column and flag == '--csv_path' and names is None:
    note = '; '.join(filter(None, [note, common.unread_note(
        path, unread, time_column=time_column,
        others='--input_columns reads past values, --future_columns a plan known ahead')]))
  return ids, arrays, cells, gaps, note


def _read_rows(rows, path, flag, id_column, i_id, i_time, read, name) -> tuple:
  """(ids, per series values, per series time cells) of the rows after the header, a
  row at a time: what long_rows.group leaves (a ragged or blank row, a line to name)."""
  values, times = {}, {}
  for r, row in enumerate(rows[1:]):
    if not any(cell.strip() for cell in row):
      continue
    cell = lambda i: row[i].strip() if i is not None and i < len(row) else ''
    # An id as written: ' a' and 'a' are two series, as pandas reads them.
    key = (row[i_id] if i_id < len(row) else '') if id_column else name
    if id_column and not key.strip():
      raise InputError(f'{flag}: {path}: line {r + 2}: its id column {id_column!r} is empty')
    point = [common.number(cell(i), path, r + 2, column, flag) for i, column in read]
    values.setdefault(key, []).append(point)
    times.setdefault(key, []).append(cell(i_time))
  ids = tuple(values)
  return ids, [np.asarray(values[k], np.float64) for k in ids], [times[k] for k in ids]
