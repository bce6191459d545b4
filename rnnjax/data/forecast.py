"""Time-series forecasting data: a series read on its time grid, its gaps filled, then
split, scaled and windowed with its baselines (windows/series_windows.py `prepare`).

The columns are read by common.py's `read_csv`, and the rows put on the time column's grid
(`read_series`, time/grid.py: sorted, absent periods put back as empty cells). Gaps (empty
cells) are filled by linear interpolation in time (or, with `fill='zero'`, the targets' with
0; a 0/1 flag column's with its last value before; gap_fill.py `fill_gaps`) and counted by
column (`filled`). An empty target cell of the test part, filled (not with 'zero'), is
left out of every test score (`test_observed`; the model's, engine/tasks/forecast.py).
Several target columns may be read at once, with extra `input_columns`, every column
gap-filled alike.

Cross-validation (`origin_back`): rolling-origin folds. Fold `f` of `K` is the split the
series would have had if it ended `K - 1 - f` validation blocks earlier: it trains on
the points before its own origin and validates on the block after it, so the last fold
is the usual split. The holdout sizes are the whole series' in every fold.

The season of a user's file, unless given, is inferred from its time column where every
step is one hour, day, week, month, quarter or year (time/column.py's `infer_season`); a note
says what was chosen and from what. Bundled series keep the season they declare.
"""

import csv
import dataclasses
import importlib.resources

import numpy as np

from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.data.time import column as times
from rnnjax.data.time import grid as time_grid
from rnnjax.data.windows import series_windows
from rnnjax.errors import InputError

# Bundled series: name -> (file, time column, value column, season length).
DATASETS = {
    'shampoo_sales': ('shampoo_sales.csv', 'Time', 'Sales', 12),
    'wineind_sales': ('wineind_sales.csv', 'Month', 'Sales', 12),
    'airline': ('airline.csv', 'Date', 'Passengers', 12),
    'sunspots_monthly': ('sunspots_monthly.csv', 'Month', 'Sunspots', 132),
    'taylor_electricity': ('taylor_electricity.csv', 'Step', 'Demand', 48),
    'co2_weekly': ('co2_weekly.csv', 'Week', 'co2', 52),
}


def bundled_path(dataset: str) -> str:
  if dataset not in DATASETS:
    raise InputError(f'--dataset: unknown series {dataset!r}; bundled: {", ".join(DATASETS)}')
  root = importlib.resources.files('rnnjax.data') / 'forecasting'
  return str(root / DATASETS[dataset][0])


def read_series(path: str, columns, *, time_column: str = '', input_columns=(),
                flag: str = '', the_models: bool = False) -> tuple:
  """(values <float64>[N, C] with NaN gaps, gaps, times [N] strings, note): `common.read_csv`'s
  columns and the time column's cells, on its grid (time/grid.py: rows sorted by time,
  absent periods put back as empty cells, which the note counts)."""
  raw, _ = common.read_csv(path, columns, time_column=time_column, input_columns=input_columns,
                    flag=flag, the_models=the_models)
  cells = times.read_times(path, time_column) or [''] * len(raw)
  [raw], [cells], note = time_grid.regularize([None], [raw], [cells], path=path,
                                              column=time_column,
                                              flag=flag if the_models else '')
  return raw, int(np.isnan(raw).sum()), list(cells), note


def _unread_note(path: str, read, time_column: str) -> tuple:
  """(the note naming the columns of a user's file that no flag reads,) or (): a date
  column without --time_column leaves the forecasts undated and the season unknown."""
  first = common.read_csv_text(path, flag='--csv_path').split('\n', 1)[0]
  header = [h.strip() for h in next(csv.reader([first]), [])]
  unread = [h for h in header if h and h not in read]
  return (common.unread_note(path, unread, time_column=time_column,
                             others='--input_columns reads past values'),) if unread else ()


def _check_test_part(observed, cells, columns, *, path: str, flag: str, horizon: int,
                     val_size: int, test_size: int) -> None:
  """Refuses, in one line, a series whose test part (its last points, as
  series_windows.prepare sizes it) holds no value of a target column (`observed`:
  <bool>[N, C], which cells held one before filling): nothing to score there, only the
  last value repeated (a plan of the inputs ahead appended to the file, its target left
  empty)."""
  _, test = common.holdout_sizes(len(observed), val_size, test_size,
                                 fraction=series_windows.DEFAULT_HOLDOUT_FRACTION,
                                 minimum=horizon)
  empty = [c for c, seen in zip(columns, observed[len(observed) - test:].any(axis=0))
           if not seen]
  if empty:
    first = cells[len(observed) - test] if len(cells) == len(observed) else ''
    raise InputError(
        f'{flag}: {path}: target column {empty[0]!r} has no value in the last {test} '
        f'points, the test part{f" (from {first!r})" if first else ""}: nothing to score; '
        'leave rows without a target (a plan of the inputs ahead) out of the file '
        '(predict --future_path reads them), or give --test_size')


# The share of a target's validation points outside its train part's range from which
# a note says --difference (the bundled airline, CO2 and shampoo series, 0.27-0.66,
# take it in their flagfiles; wine sales, 0, do not).
BEYOND_TRAIN = 0.25


def _beyond_train(targets, train_end: int, columns) -> tuple:
  """A note where much of a target's validation part lies outside the range of its
  train part (a trend): a model of levels extrapolates them poorly. Validation alone,
  which a sweep may look at."""
  for c, column in enumerate(columns):
    train, val = targets[:train_end, c], targets[train_end:, c]
    low, high = np.nanmin(train), np.nanmax(train)
    outside = int(np.sum((val < low) | (val > high)))
    if len(val) and outside >= BEYOND_TRAIN * len(val):
      return (f'validation: {outside} of the {len(val)} values of {column!r} lie outside '
              f'the range of its train part ({low:.4g} to {high:.4g}), as a trend\'s do: '
              'a model of the levels forecasts poorly beyond what it trained on; '
              '--difference models the changes',)
  return ()


def load(*, dataset: str = '', csv_path: str = '', time_column: str = '',
         target_columns=(), input_columns=(), lookback: int, horizon: int,
         val_size: int = 0, test_size: int = 0, season: int = -1,
         difference: bool = False, classical_baselines: bool = True,
         origin_back: int = 0, fill: str = 'linear') -> series_windows.ForecastData:
  """A bundled series by name, or a user's CSV by path and column names.

  `input_columns`: further columns of the same file fed as inputs, not forecast.
  `season=-1` takes the bundled series' own season length, or for a user's file the one
  `times.infer_season` reads from `time_column` (none without one), with a note;
  `season=0` turns the seasonal-naive baseline off and makes ETS and ARIMA
  non-seasonal. `origin_back`: split as if the series ended this many validation
  blocks earlier (a cross-validation fold; classical baselines only for 0). `fill`:
  'linear' interpolates the targets' gaps, 'zero' makes them 0 (gap_fill.fill_gaps).
  """
  if csv_path:
    path, flag, columns = csv_path, '--csv_path', tuple(target_columns)
    if not columns:
      raise InputError('--target_columns: name at least one column of --csv_path')
    twice = [c for i, c in enumerate(columns) if c in columns[:i]]
    if twice:
      raise InputError(f'--target_columns: {twice[0]!r} is named twice (a column is a '
                       'target once)')
  else:
    path, flag = bundled_path(dataset), '--dataset'
    _, _, value_column, default_season = DATASETS[dataset]
    columns = (value_column,)
  inputs = tuple(input_columns)
  repeated = [c for i, c in enumerate(inputs) if c in columns or c in inputs[:i]]
  if repeated:
    raise InputError(f'--input_columns: {repeated[0]!r} is named twice (a column is a '
                     f'target or an input, once); targets are {list(columns)}')
  raw, num_filled, cells, grid_note = read_series(
      path, columns, time_column=time_column, input_columns=inputs, flag=flag)
  notes = (grid_note,) if grid_note else ()
  if csv_path:
    notes += _unread_note(path, columns + inputs + (time_column,), time_column)
  if csv_path and season < 0:
    if time_column:  # From the whole column: every fold gets the same season.
      season, note = times.infer_season(cells, time_column)
    else:
      season, note = 0, 'season: none, not inferred without --time_column; --season sets it'
    notes += (note,)
  elif season < 0:
    season = default_season
  elif csv_path and time_column:
    notes += tuple(filter(None, [times.given_season_note(season, cells, time_column)]))
  if origin_back:  # A fold: the series as if it ended earlier, nothing after read.
    val_size, test_size = common.holdout_sizes(
        len(raw), val_size, test_size, fraction=series_windows.DEFAULT_HOLDOUT_FRACTION,
        minimum=horizon)
    if origin_back * val_size >= len(raw):
      raise InputError(f'series of {len(raw)} points is too short to move its split '
                       f'back {origin_back} validation blocks of {val_size} points')
    classical_baselines = False
  end = len(raw) - origin_back * val_size
  # Validation and test filled on from the points before each, none of which reads them.
  validated, tested = common.holdout_sizes(end, val_size, test_size,
                                           fraction=series_windows.DEFAULT_HOLDOUT_FRACTION,
                                           minimum=horizon)
  # Which input columns are 0/1 flags, from the training part alone (as its scaling):
  # a value of the validation or test part decides nothing of how training is filled.
  flags = gap_fill.flag_columns([raw[:end - tested - validated]], len(columns))
  filled = gap_fill.fill_gaps_before(
      raw[:end], (end - tested - validated, end - tested),
      [f'column {c!r}' for c in columns + inputs], path, fill=fill, targets=len(columns),
      flags=flags)
  counts = gap_fill.fill_counts(raw[:end], [f'target column {c!r}' for c in columns] +
                                [f'input column {c!r}' for c in inputs], fill=fill,
                                targets=len(columns), flags=flags,
                                ends=(end - tested - validated, end - tested))
  # Empty target cells in the test part: filled as every gap is (history to the windows
  # after them), and left out of every test score (--fill=zero: an empty cell is a 0, as
  # a shop's absent sales, and scored).
  observed = None if fill == 'zero' else ~np.isnan(raw[:len(filled), :len(columns)])
  if observed is not None:
    _check_test_part(observed, cells, columns, path=path, flag=flag, horizon=horizon,
                     val_size=val_size, test_size=test_size)
  data = series_windows.prepare(
      filled, lookback=lookback, horizon=horizon, val_size=val_size, test_size=test_size,
      num_targets=len(columns), season=season, target_columns=columns, num_filled=num_filled,
      input_columns=inputs, difference=difference, classical_baselines=classical_baselines,
      observed=observed)
  train_end, val_end = data.split_points
  if data.val_observed is not None:
    unseen = [c for c, seen in zip(columns, data.val_observed.any(axis=(0, 1))) if not seen]
    if unseen:
      raise InputError(f'{flag}: {path}: target column {unseen[0]!r} has no value in the '
                       f'validation part (points {train_end + 1} to {val_end}): nothing to '
                       'choose members on; give --val_size')
    notes += (f'validation: {int(np.sum(~observed[train_end:val_end]))} empty target '
              f'cell(s) of its {val_end - train_end} points are filled (--fill={fill}) and '
              'left out of the validation scores, the model\'s and every baseline\'s (the '
              'members, their best steps and early stopping are chosen on the observed '
              'cells)',)
  if data.test_observed is not None:
    empty = int(np.sum(~observed[data.split_points[1]:]))
    notes += (f'test: {empty} empty target cell(s) of its last '
              f'{len(filled) - data.split_points[1]} points are filled (--fill={fill}) and '
              'left out of the test scores, the model\'s and every baseline\'s (RMSE, MAE, '
              'MASE and the intervals\' coverage: means over the observed cells)',)
  if not difference and not origin_back:
    notes += _beyond_train(filled[:val_end, :len(columns)], train_end, columns)
  k = int(bool(grid_note))  # What was filled, after what was put back to be filled.
  flagged = tuple(inputs[c - len(columns)] for c in flags)
  notes = (notes[:k] + gap_fill.inputs_note(inputs, (), flagged) +
           gap_fill.sweep_note(counts, path, fill) + notes[k:])
  return dataclasses.replace(data, notes=notes + data.notes, filled=counts,
                             flag_columns=flagged)
