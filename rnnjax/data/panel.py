"""Panels: many series of one quantity (every product of a shop, the M competitions'
series), read for one global model that trains over all of them.

A panel is a long-format CSV, one row per observation: a series id column, a time
column, the target column and any input columns (`--id_column`, `--time_column`,
`--target_columns`, `--input_columns`: a product's price, a promotion flag); a series'
rows are in time order, its gaps (empty cells) filled by linear interpolation within
the series. A file without an id column is a panel of one series. The bundled
panels (`PANELS`: the M1 and M3 competitions' yearly, quarterly, monthly and other
series, see panels/README.md) come with their test part, the h points after each
series' train part; a user's CSV gets one with `--test_path` (same columns, each
series' next points), else its last `horizon` points per series are held out as test.

The M protocol: TEST is the `horizon` points after each series' train part, forecast
from the end of train; validation is the last `horizon` points of train, forecast from
`horizon` points earlier (with `origin_back = k`: from k more horizons earlier, the
rolling origins of cross-validation); training windows have their targets before the
validation origin. A window's inputs are the `lookback` points before its origin (the target's, and each
input column's standardised by the series' own mean and standard deviation before its
validation origin, as a forecast from the end of a history standardises them: past
values only, as in forecasting); where a series is shorter, they are padded on the left
with its first value, so no series is refused for its length. A series without a single point before its validation origin
(a train part of at most `horizon` points) is left out of validation and training, with
a note; it is still forecast and scored on test.

`windows` returns every split as the panel task reads it (engine/tasks/panel.py): raw values
in original units (the task normalises each window itself, as its member's
`normalization` says), each window's series statistics, MASE scale and seasonal
indices (for a member that `deseasonalize`s, as Naive2 and Theta do: a seasonal series'
windows divided by its multiplicative indices, its forecasts multiplied by them), and
per validation / test window the series it belongs to and its weight (0: a series
left out).
"""

import csv
import dataclasses
import importlib.resources
import io

import numpy as np

from rnnjax.data import common
from rnnjax.data import competition
from rnnjax.data import forecast
from rnnjax.errors import InputError

# Bundled panels: name -> (season, horizon). Files panels/{name}_{train,test}.csv.
PANELS = {'m1_monthly': (12, 18), 'm1_quarterly': (4, 8), 'm1_yearly': (0, 6),
          'm3_yearly': (0, 6), 'm3_other': (0, 8)}
BUNDLED_COLUMNS = ('unique_id', 'ds', 'y')


@dataclasses.dataclass(frozen=True)
class Panel:
  """Series by id: `train[i]` <float64>[n_i] gap-filled, `times[i]` its time column's
  cells (strings; '' without a time column), `test[i]` the given future part or None."""
  ids: tuple
  train: tuple
  times: tuple
  test: tuple | None
  num_filled: int = 0
  path: str = ''
  notes: tuple = ()
  columns: tuple = ('', '', '')  # The id, time and target columns read ('': none).
  input_columns: tuple = ()
  # Per series <float64>[n_i, C] the input columns of the train part, gap-filled, and
  # <float64>[horizon, C] of the test part where its rows hold them (else None).
  inputs: tuple | None = None
  test_inputs: tuple | None = None


def bundled_paths(dataset: str) -> tuple[str, str]:
  if dataset not in PANELS:
    raise InputError(f'--dataset: unknown panel {dataset!r}; bundled: '
                     f'{", ".join(PANELS)} (and the single series {", ".join(forecast.DATASETS)})')
  root = importlib.resources.files('rnnjax.data') / 'panels'
  return str(root / f'{dataset}_train.csv'), str(root / f'{dataset}_test.csv')


def read_long(path: str, *, id_column: str, time_column: str, target_column: str,
              flag: str, input_columns=()) -> tuple:
  """(ids, values, times, gaps) of a long CSV: per series (in order of first
  appearance) <float64>[n_i] with NaN gaps (with `input_columns`, [n_i, 1 + C]: the
  target, then those columns) and its time cells, and the number of empty target cells;
  `id_column` '' reads the whole file as one series named after the file."""
  text = common.read_file(path, flag=flag, kind='a CSV file')
  rows = list(csv.reader(io.StringIO(text, newline='')))
  if len(rows) < 2:
    raise InputError(f'{flag}: {path} has no rows')
  header = [h.strip() for h in rows[0]]
  named = [('--id_column', id_column), ('--time_column', time_column),
           ('--target_columns', target_column)]
  for name, column in named + [('--input_columns', c) for c in input_columns]:
    if column and column not in header:
      raise InputError(f'{name}: {path} has no column {column!r}; columns are {header}')
  get = lambda column: header.index(column) if column else None
  i_id, i_time = get(id_column), get(time_column)
  read = [(get(c), c) for c in (target_column,) + tuple(input_columns)]
  values, times = {}, {}
  for r, row in enumerate(rows[1:]):
    if not any(cell.strip() for cell in row):
      continue
    cell = lambda i: row[i].strip() if i is not None and i < len(row) else ''
    key = cell(i_id) if id_column else path.rsplit('/', 1)[-1].rsplit('.', 1)[0]
    if id_column and not key:
      raise InputError(f'{path}: line {r + 2}: empty --id_column {id_column!r}')
    point = []
    for i, column in read:
      y = cell(i)
      try:
        point.append(np.nan if y in ('', 'NA', 'NaN', 'nan') else float(y))
      except ValueError:
        raise InputError(f'{path}: line {r + 2}, column {column!r}: {y!r} is not '
                         'a number') from None
    values.setdefault(key, []).append(point)
    times.setdefault(key, []).append(cell(i_time))
  ids = tuple(values)
  arrays = [np.asarray(values[k], np.float64) for k in ids]
  gaps = int(sum(np.isnan(a[:, 0]).sum() for a in arrays))
  if not input_columns:
    arrays = [a[:, 0] for a in arrays]
  return ids, arrays, [times[k] for k in ids], gaps


def load(*, dataset: str = '', csv_path: str = '', test_path: str = '',
         id_column: str = '', time_column: str = '', target_column: str = '',
         input_columns=(), horizon: int) -> Panel:
  """A bundled panel by name, or a user's long CSV (and its `test_path`, which needs
  only the target: a forecast reads past inputs alone)."""
  input_columns = tuple(input_columns)
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
  ids, values, times, gaps = read_long(train_path, flag=flag, input_columns=input_columns,
                                       **columns)
  names = ['the target'] + [f'input column {c!r}' for c in input_columns]
  filled = [common.fill_gaps(v.reshape(len(v), -1), names, f'{train_path}: series {k!r}')
            for k, v in zip(ids, values)]
  train = tuple(v[:, 0] for v in filled)
  inputs = tuple(v[:, 1:] for v in filled) if input_columns else None
  test, test_inputs, notes = None, None, ()
  if test_path:
    test_ids, test_values, _, test_gaps = read_long(
        test_path, flag='--test_path' if csv_path else flag, **columns)
    given = dict(zip(test_ids, test_values))
    missing = [k for k in ids if k not in given]
    if missing:
      raise InputError(f'--test_path: {test_path} has no rows for series {missing[0]!r} '
                       f'({len(missing)} of {len(ids)} series missing)')
    short = [k for k in ids if len(given[k]) < horizon]
    if short:
      raise InputError(f'--test_path: series {short[0]!r} has {len(given[short[0]])} '
                       f'test points in {test_path}, fewer than --horizon={horizon}')
    if test_gaps and any(np.isnan(given[k][:horizon]).any() for k in ids):
      raise InputError(f'--test_path: {test_path} has empty target cells; a test part '
                       'is scored as given, not filled')
    test = tuple(given[k][:horizon] for k in ids)
  else:
    short = [k for k, v in zip(ids, train) if len(v) <= horizon]
    if short:
      raise InputError(f'--horizon: series {short[0]!r} of {train_path} has '
                       f'{len(train[ids.index(short[0])])} points, too few to hold out '
                       f'{horizon} as test (give --test_path, or a shorter --horizon)')
    test = tuple(v[-horizon:] for v in train)
    train = tuple(v[:-horizon] for v in train)
    if inputs is not None:
      test_inputs = tuple(v[-horizon:] for v in inputs)
      inputs = tuple(v[:-horizon] for v in inputs)
    times = [t[:-horizon] for t in times]
    notes = (f'test: the last {horizon} points of each series (no --test_path)',)
  if input_columns:  # Empty input cells are filled (and counted) as the target's.
    gaps += int(sum(np.isnan(v[:, 1:]).sum() for v in values))
  return Panel(ids=ids, train=train, times=tuple(tuple(t) for t in times), test=test,
               num_filled=gaps, path=train_path, notes=notes,
               columns=tuple(columns[k] for k in ('id_column', 'time_column',
                                                   'target_column')),
               input_columns=input_columns, inputs=inputs, test_inputs=test_inputs)


def mase_scale(train: np.ndarray, season: int) -> float:
  """MASE's denominator for one series: the in-sample mean |v[t] - v[t - m]|, m the
  season when the series is longer than one (else 1); where that is 0 or undefined (a
  constant or one-point series), the mean |v| (1 for a zero series), so that the
  scaled errors stay finite."""
  m = season if 1 <= season < len(train) else 1
  scale = float(np.mean(np.abs(train[m:] - train[:-m]))) if len(train) > m else 0.0
  if not scale > 0:
    scale = float(np.mean(np.abs(train))) or 1.0
  return scale


def _window(series: np.ndarray, origin: int, lookback: int) -> np.ndarray:
  """The `lookback` points (rows) before `origin`, left-padded with the series' first."""
  start = origin - lookback
  if start >= 0:
    return series[start:origin]
  return np.concatenate([np.repeat(series[:1], -start, axis=0), series[:origin]])


def _x(series, inputs, origin: int, lookback: int, stats) -> np.ndarray:
  """<float64>[lookback, 1 + C]: a window's target points, then its input columns
  standardised by `stats` (`input_level`); [lookback, 1] without inputs."""
  x = _window(series, origin, lookback)[:, None]
  if inputs is None:
    return x
  return np.concatenate([x, (_window(inputs, origin, lookback) - stats[0]) / stats[1]], 1)


def input_level(inputs, horizon: int):
  """(mean, standard deviation) <float64>[C] of a series' input columns over its points
  before its validation origin (all of them when it has at most `horizon`; a standard
  deviation of 0 becomes 1), as `level_of` the target's; None without inputs."""
  if inputs is None:
    return None
  known = inputs[:len(inputs) - horizon] if len(inputs) > horizon else inputs
  std = known.std(axis=0)
  return known.mean(axis=0), np.where(std > 0, std, 1.0)


def level_of(series: np.ndarray, horizon: int) -> np.ndarray:
  """<float64>[2]: the mean and standard deviation (1 where 0) of a series' points before
  its validation origin (all of them when it has at most `horizon`): what the 'series'
  normalisation scales its windows by, in training and when forecasting from its end."""
  known = series[:len(series) - horizon] if len(series) > horizon else series
  return np.array([known.mean(), known.std() or 1.0])


def seasonal_figure(known: np.ndarray, season: int) -> np.ndarray | None:
  """<float64>[season]: the multiplicative seasonal indices of a series' known part, as
  Naive2 and Theta deseasonalise (competition.seasonal_indices), where it passes M4's
  seasonality test and is positive; None otherwise (not adjusted)."""
  if season <= 1 or not np.all(known > 0) or not competition.is_seasonal(known, season):
    return None
  return competition.seasonal_indices(known, season)


def seasonal_factors(figure, origin: int, lookback: int, horizon: int) -> np.ndarray:
  """<float64>[lookback + horizon]: the seasonal index of each input and target point of
  the window with this origin (ones for figure None). Left padding (points before the
  series' start) takes the first point's index, as it takes its value."""
  if figure is None:
    return np.ones(lookback + horizon)
  positions = np.maximum(np.arange(origin - lookback, origin + horizon), 0)
  return figure[positions % len(figure)]


def forecast_inputs(histories, *, lookback: int, horizon: int, season: int = 0,
                    inputs=None) -> dict:
  """The arrays the panel task forecasts from the end of each history (<[n_i]> in
  original units; `inputs`, per history its input columns <[n_i, C]>, or None): x
  <float32>[S, lookback, 1 + C] (left-padded), level <float32>[S, 2] and seasonal
  <float32>[S, lookback + horizon] (the history's own seasonal indices); what the test
  split holds, and what a saved model reads from new histories."""
  inputs = [None] * len(histories) if inputs is None else inputs
  return {'x': np.stack([_x(h, u, len(h), lookback, input_level(u, horizon))
                         for h, u in zip(histories, inputs)]).astype(np.float32),
          'level': np.stack([level_of(h, horizon) for h in histories]).astype(np.float32),
          'seasonal': np.stack([seasonal_factors(seasonal_figure(h, season), len(h),
                                                 lookback, horizon)
                                for h in histories]).astype(np.float32)}


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
  return dataclasses.replace(panel, train=tuple(cut(v) for v in panel.train),
                             times=tuple(cut(t) for t in panel.times),
                             inputs=None if panel.inputs is None else tuple(
                                 cut(v) for v in panel.inputs))


def windows(panel: Panel, *, lookback: int, horizon: int,
            season: int) -> tuple[dict, tuple]:
  """(split -> arrays, notes): the panel's windows (see the module docstring).

  Every split: x <float32>[N, lookback, 1 + C] (the target in original units, then the
  C input columns standardised per series, `input_level`) and y <float32>[N, horizon, 1]
  in original units, level <float32>[N, 2] (the series' mean and standard deviation before the
  validation origin), mase_denom <float32>[N] (`mase_scale` of the part before the
  window's split: before the validation origin for train and validation, the whole
  train part for test and refit), seasonal <float32>[N, lookback + horizon] (each
  point's seasonal index, `seasonal_factors`, from that same part). Validation and
  test also: series <int32>[S], weight <float32>[S] (one window per series, 0 for one
  left out). 'refit': the training windows of the whole train part (targets up to its
  end), for a refit. Train and refit also: by_age <int32>[N] (the windows, newest
  first) and age <int32>[N] (theirs, ascending: the points between a window's last
  target and the end of its series' part), for a member's `history`.
  """
  per_window = ('x', 'y', 'level', 'mase_denom', 'seasonal')
  splits = {name: {k: [] for k in per_window} for name in ('train', 'refit')}
  for name in ('val', 'test'):
    splits[name] = {k: [] for k in per_window + ('series', 'weight')}
  ages = {'train': [], 'refit': []}
  left_out = seasonal = 0
  all_inputs = panel.inputs or [None] * len(panel.train)
  for i, (series, test, inputs) in enumerate(zip(panel.train, panel.test, all_inputs)):
    origin = len(series) - horizon  # The validation origin.
    stats = input_level(inputs, horizon)
    usable = origin >= 1
    left_out += not usable
    known = series[:origin] if usable else series
    level = level_of(series, horizon)
    scale_val = mase_scale(known, season)
    scale_test = mase_scale(series, season)
    figure_val, figure_test = seasonal_figure(known, season), seasonal_figure(series, season)
    seasonal += figure_test is not None
    def add(split, t, y, scale, figure):
      for k, v in (('x', _x(series, inputs, t, lookback, stats)), ('y', y),
                   ('level', level), ('mase_denom', scale),
                   ('seasonal', seasonal_factors(figure, t, lookback, horizon))):
        splits[split][k].append(v)
    if usable:
      for t in range(1, origin - horizon + 1):
        add('train', t, series[t:t + horizon], scale_val, figure_val)
        ages['train'].append(origin - t - horizon)
    for t in range(1, len(series) - horizon + 1):
      add('refit', t, series[t:t + horizon], scale_test, figure_test)
      ages['refit'].append(len(series) - t - horizon)
    val_origin = origin if usable else len(series) - 1
    val_y = series[val_origin:val_origin + horizon]
    add('val', val_origin, np.concatenate([val_y, np.full(horizon - len(val_y), val_y[-1])]),
        scale_val, figure_val)
    add('test', len(series), np.asarray(test[:horizon]), scale_test, figure_test)
    for name, weight in (('val', float(usable)), ('test', 1.0)):
      splits[name]['series'].append(i)
      splits[name]['weight'].append(weight)
  if not splits['train']['x']:
    raise InputError(f'--lookback/--horizon: no series of {panel.path} is long enough for '
                     f'a training window of horizon {horizon} before its validation part')
  dtypes = {'series': np.int32}
  out = {name: {k: np.asarray(v, dtypes.get(k, np.float32)) for k, v in arrays.items()}
         for name, arrays in splits.items()}
  for arrays in out.values():
    arrays['y'] = arrays['y'][..., None]
  for name, age in ages.items():
    order = np.argsort(np.asarray(age, np.int64), kind='stable')
    out[name]['by_age'] = order.astype(np.int32)
    out[name]['age'] = np.asarray(age, np.int32)[order]
  notes = ((f'{left_out} series with at most {horizon} points before the test part: '
            'left out of training and validation, forecast on test',) if left_out else ())
  if season > 1:
    notes += (f'{seasonal} of {len(panel.train)} series pass the seasonality test at season '
              f'{season}: --deseasonalize adjusts those',)
  return out, notes
