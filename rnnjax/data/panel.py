"""Panels: many series of one quantity (every product of a shop, the M competitions'
series), read for one global model that trains over all of them (its windows:
windows/panel_windows.py).

A panel is a long-format CSV, one row per observation: a series id column, a time
column, the target column and any input columns (`--id_column`, `--time_column`,
`--target_columns`, `--input_columns`: a product's price; `--future_columns`: those
known in advance, a promotion plan); a series' rows are put on the time column's grid
(time/grid.py: sorted, absent periods put back empty), its gaps (empty cells) filled by
linear interpolation within the series (or, `fill='zero'`, the target's with 0), a 0/1
flag column's (a holiday) with its last value before (common.fill_gaps). A file
without an id column is a panel of one series. The bundled panels (`PANELS`: the M1 and
M3 competitions' yearly, quarterly, monthly and other series, see panels/README.md) come
with their test part, the h points after each series' train part; a user's CSV gets one
with `--test_path` (each series' next points: its target, and its future columns, which
a test window reads; the other input columns are not read), else its last `horizon`
points per series are held out as test (splits/test_part.py checks either).
"""

import csv
import dataclasses
import hashlib
import importlib.resources
import io

import numpy as np

from rnnjax.data import common
from rnnjax.data import forecast
from rnnjax.data import long_rows
from rnnjax.data.splits import test_part
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError

# Bundled panels: name -> (season, horizon). Files panels/{name}_{train,test}.csv.
PANELS = {'m1_monthly': (12, 18), 'm1_quarterly': (4, 8), 'm1_yearly': (0, 6),
          'm3_yearly': (0, 6), 'm3_other': (0, 8)}
BUNDLED_COLUMNS = ('unique_id', 'ds', 'y')
# A share of the targets' cells interpolated that --fill=zero may have been meant for.
MOSTLY_ABSENT = 0.25
# read_long's last results, by the file's text and the arguments: a sweep reads its CSV
# once per lookback and fold, and once more to save its model (a minute each on 30,000
# series); a copy of what was read is handed out each time.
_READ_CACHE, _READ_CACHE_SIZE = {}, 2


@dataclasses.dataclass(frozen=True)
class Panel:
  """Series by id: `train[i]` <float64>[n_i] gap-filled, `times[i]` its time column's
  cells (strings; '' without a time column), `test[i]` the given future part or None."""
  ids: tuple
  train: tuple
  times: tuple
  test: tuple | None
  num_filled: int = 0
  filled: dict | None = None  # common.fill_counts: the empty cells filled, by column.
  flag_columns: tuple = ()  # Input columns of 0s and 1s (common.flag_columns), by name.
  path: str = ''
  notes: tuple = ()
  columns: tuple = ('', '', '')  # The id, time and target columns read ('': none).
  input_columns: tuple = ()
  future_columns: tuple = ()  # Input columns known in advance (after input_columns).
  # Per series <float64>[n_i, C] the input columns, then the future columns, of the
  # train part, gap-filled; <float64>[horizon, C] of the test part: all of them where it
  # was held out, the future columns' where it was given (NaN in the others); None
  # where no column of the test part is read (no future columns in a given test file).
  inputs: tuple | None = None
  test_inputs: tuple | None = None
  # Ids of the file's series too short to hold out a test part (no test file): left out.
  left_out: tuple = ()


def bundled_paths(dataset: str) -> tuple[str, str]:
  if dataset not in PANELS:
    raise InputError(f'--dataset: unknown panel {dataset!r}; bundled: '
                     f'{", ".join(PANELS)} (and the single series {", ".join(forecast.DATASETS)})')
  root = importlib.resources.files('rnnjax.data') / 'panels'
  return str(root / f'{dataset}_train.csv'), str(root / f'{dataset}_test.csv')


# How the sweep's errors name each column of a long CSV: by its flag.
FLAGS = {'id': '--id_column', 'time': '--time_column', 'target': '--target_columns',
         'input': '--input_columns', 'future': '--future_columns'}


def read_table(path: str, flag: str) -> tuple[list, list]:
  """(header, rows) of a CSV given by `flag`: its column names (stripped), and every
  line as cells (the header's first), as read_long reads them; a caller that needs the
  header first (predict: which of the model's columns the file has) reads the file once
  and gives read_long both."""
  return _table(common.read_csv_text(path, flag=flag))


def _table(text: str) -> tuple[list, list]:
  rows = list(csv.reader(io.StringIO(text, newline='')))
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
  if key not in _READ_CACHE:
    read = _read_long(_table(text), path, **how)
    while len(_READ_CACHE) >= _READ_CACHE_SIZE:
      del _READ_CACHE[next(iter(_READ_CACHE))]
    _READ_CACHE[key] = read
  ids, arrays, cells, gaps, note = _READ_CACHE[key]
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
  get = lambda column: header.index(column) if column else None
  i_id, i_time = get(id_column), get(time_column)
  read = [(get(c), c) for c in (target_column,) + every]
  name = path.rsplit('/', 1)[-1].rsplit('.', 1)[0]
  grouped = long_rows.group(rows[1:], i_id=i_id if id_column else None, i_time=i_time,
                            read=[i for i, _ in read], key=name)
  ids, values, times = grouped or _read_rows(rows, path, flag, id_column, i_id, i_time,
                                             read, name)
  arrays, cells, note = time_grid.regularize(
      ids, values, times, path=path, column=time_column, to_end=to_end, short=short,
      flag=flag if names else '')
  gaps = int(sum(np.isnan(a[:, 0]).sum() for a in arrays))
  if not every:
    arrays = [a[:, 0] for a in arrays]
  unread = [h for h in header if h and h not in {column for _, column in named}]
  # Perhaps a panel read as one (the sweep's --csv_path: predict's reads the model's).
  if not id_column and unread and flag == '--csv_path' and names is None:
    note = '; '.join(filter(None, [note, (
        f'{flag}: {path} is read as one series (no --id_column); its columns {unread} '
        'are not read')]))
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
    point = [common.number(cell(i), path, r + 2, column) for i, column in read]
    values.setdefault(key, []).append(point)
    times.setdefault(key, []).append(cell(i_time))
  ids = tuple(values)
  return ids, [np.asarray(values[k], np.float64) for k in ids], [times[k] for k in ids]


def load(*, dataset: str = '', csv_path: str = '', test_path: str = '',
         id_column: str = '', time_column: str = '', target_column: str = '',
         input_columns=(), future_columns=(), horizon: int, fill: str = 'linear') -> Panel:
  """A bundled panel by name, or a user's long CSV (and its `test_path`: the target,
  and the future columns, whose values over the test part a test window reads).
  `fill`: 'linear' interpolates the target's gaps, 'zero' makes them 0; an input
  column's are interpolated, a 0/1 flag's hold its last value (common.fill_gaps)."""
  past, future_columns = tuple(input_columns), tuple(future_columns)
  every = past + future_columns  # Each series' input rows hold these, in this order.
  if csv_path:
    if not target_column:
      raise InputError('--target_columns: name the column of --csv_path to forecast')
    columns = dict(id_column=id_column, time_column=time_column,
                   target_column=target_column)
    train_path, flag = csv_path, '--csv_path'
  elif dataset in forecast.DATASETS:  # A bundled single series: a panel of one.
    file, time_column, target_column, _ = forecast.DATASETS[dataset]
    train_path, flag = forecast.bundled_path(dataset), '--dataset'
    columns = dict(id_column='', time_column=time_column, target_column=target_column)
  else:
    train_path, test_path = bundled_paths(dataset)
    columns = dict(zip(('id_column', 'time_column', 'target_column'), BUNDLED_COLUMNS))
    flag = '--dataset'
  # --fill=zero: a product's absent last weeks sold nothing, as its absent middle ones.
  ids, values, times, _, grid_note = read_long(
      train_path, flag=flag, input_columns=past, future_columns=future_columns,
      to_end=fill == 'zero', short=0 if test_path else horizon, **columns)
  notes, left_out = (), ()
  if not test_path:  # Too short to hold out a test part: left out, said.
    keep = [i for i, v in enumerate(values) if len(v) > horizon]
    if not keep:
      raise InputError(f'--horizon: every series of {train_path} has at most {horizon} '
                       f'points, too few to hold out {horizon} as test (give --test_path, '
                       'or a shorter --horizon)')
    if len(keep) < len(ids):
      kept = set(keep)
      left_out = tuple(k for i, k in enumerate(ids) if i not in kept)
      notes += (f'--horizon: {len(left_out)} series of {train_path} with at most {horizon} '
                f'points (too few to hold out {horizon} as test) left out, neither trained '
                f'on nor scored: {some_ids(left_out)}; predict --csv_path forecasts them from '
                'what they have',)
      pick = lambda seq: tuple(seq[i] for i in keep)
      ids, values, times = pick(ids), pick(values), pick(times)
  if not test_path and fill != 'zero':
    test_part.check_held_out(ids, values, times, horizon, flag, train_path)
  names = ['the target'] + [f'input column {c!r}' for c in every]
  flags = common.flag_columns(values, 1)  # Over every series: one rule per column.
  counts = common.add_counts(*(common.fill_counts(v, names, fill=fill, targets=1,
                                                  flags=flags) for v in values))
  notes += _interpolated_note(counts, sum(len(v) for v in values), train_path)
  filled = [common.fill_gaps(v.reshape(len(v), -1), names, f'{train_path}: series {k!r}',
                             fill=fill, targets=1, flags=flags) for k, v in zip(ids, values)]
  train = tuple(v[:, 0] for v in filled)
  inputs = tuple(v[:, 1:] for v in filled) if every else None
  test, test_inputs = None, None
  if test_path:
    test_ids, test_values, test_times, test_gaps, _ = read_long(
        test_path, flag='--test_path' if csv_path else flag,
        future_columns=future_columns, **columns)
    if not columns['id_column']:  # A panel of one: the test file's rows are its series'.
      test_ids = ids
    test, test_inputs, given_notes = test_part.given(
        ids, times, test_ids, test_values, test_times, test_gaps, path=test_path,
        horizon=horizon, time_column=columns['time_column'],
        future_columns=future_columns, num_inputs=len(every), flags=flags, fill=fill)
    notes += given_notes
  else:
    train, test, inputs, test_inputs, times, held_notes = test_part.held_out(
        train, inputs, times, horizon)
    notes += held_notes
  return Panel(ids=ids, train=train, times=tuple(tuple(t) for t in times), test=test,
               num_filled=sum(counts.values()), filled=counts, path=train_path,
               notes=((grid_note,) if grid_note else ()) + notes,
               columns=tuple(columns[k] for k in ('id_column', 'time_column',
                                                   'target_column')),
               input_columns=past, future_columns=future_columns, inputs=inputs,
               test_inputs=test_inputs, flag_columns=tuple(every[c - 1] for c in flags),
               left_out=left_out)


def _interpolated_note(counts: dict, cells: int, path: str) -> tuple:
  """A note where a large share (MOSTLY_ABSENT) of the targets' `cells` were absent and
  interpolated (common.fill_counts' `counts`): an export of sale days only."""
  n = counts.get(('the target', common.LINEAR), 0)
  if n < MOSTLY_ABSENT * cells:
    return ()
  return (f'{n} of the {cells} target cells of {path} ({n / cells:.0%}) were empty or '
          'without a row and are interpolated between the values around them: where a '
          'period without a row sold nothing (an export of the days or weeks with sales '
          'only), --fill=zero reads it as 0',)


def some_ids(ids, shown: int = 5) -> str:
  """'a', 'b', 'c' (up to `shown` ids, then how many more)."""
  listed = ', '.join(repr(k) for k in ids[:shown])
  return listed + (f' and {len(ids) - shown} more' if len(ids) > shown else '')


def nonpositive(ids, values, times=None, path: str = '') -> str:
  """Where the first series holding a value <= 0 has it ("series 'a' of PATH has 0 at
  2020-03": its time cell, else "at point 4", 1-based), or '' when every value is > 0:
  what a member that takes logs (normalization 'log') cannot read."""
  for i, (key, v) in enumerate(zip(ids, values)):
    bad = np.flatnonzero(~(np.asarray(v) > 0))
    if len(bad):
      t = bad[0]
      when = (f'at {times[i][t]}' if times is not None and times[i] is not None
              and t < len(times[i]) and times[i][t] else f'at point {t + 1}')
      return f'series {key!r}{f" of {path}" if path else ""} has {v[t]:g} {when}'
  return ''


def earlier(panel: Panel, origin_back: int, horizon: int) -> Panel:
  """The panel as if every series' train part ended `origin_back` horizons earlier
  (a cross-validation fold's; at least one point is kept)."""
  if not origin_back:
    return panel
  cut = lambda v: v[:max(1, len(v) - origin_back * horizon)]
  inputs = test_inputs = None
  if panel.inputs is not None:  # The input rows after the cut are its test part's.
    inputs = tuple(cut(v) for v in panel.inputs)
    after = lambda u, v: v[len(u):len(u) + horizon]
    test_inputs = tuple(np.concatenate([after(u, v), np.repeat(
        v[-1:], horizon - len(after(u, v)), axis=0)]) for u, v in zip(inputs, panel.inputs))
  return dataclasses.replace(panel, train=tuple(cut(v) for v in panel.train),
                             times=tuple(cut(t) for t in panel.times),
                             inputs=inputs, test_inputs=test_inputs)
