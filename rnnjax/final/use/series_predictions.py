"""What `experiments/predict.py` does with a single-series forecaster, in parts that
predictions.py puts together: the history it forecasts from (the sweep's series, or a
--csv_path read as the sweep read its data), the input columns' rows after it
(--future_path), forecast.csv's rows and the table printed.
"""

import csv
import io

import numpy as np

from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.data import forecast as forecast_data
from rnnjax.data.time import follows
from rnnjax.data.time import periods
from rnnjax.errors import InputError
from rnnjax.errors import RowsAheadError
from rnnjax.final.saved import forecasting


def history(model, csv_path: str = '', notes: list | None = None):
  """(times [N] strings, values <float64>[N, C], test_start or None, <bool>[N, C_out]
  a CSV's target cells that held a value, or None): the work directory's series (its
  test part known; its empty cells in model.arrays), or a CSV of the same columns
  (filled; what was sorted, put back or filled in it appended to `notes`)."""
  if not csv_path:
    series = model.arrays['series']
    if notes is not None and model.manifest.get('filled_end'):  # Saved filled: said.
      k, first = model.manifest['filled_end']
      how = 'with 0' if model.transform.get('fill') == 'zero' else 'with its last value'
      notes.append(f"the sweep's series ends with {k} row{'s' * (k > 1)} without a target"
                   f'{f" (from {first})" if first else ""}, filled {how}: the forecast '
                   'starts after them')
    return list(model.arrays['times']), series, model.transform['split_points'][1], None
  targets, inputs = model.transform['target_columns'], model.transform['input_columns']
  time_column = model.transform.get('time_column', '')
  text = common.read_file(csv_path, flag='--csv_path', kind='a CSV file')
  header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
  values, _, times, grid_note = forecast_data.read_series(
      csv_path, targets, input_columns=inputs, flag='--csv_path', the_models=True,
      time_column=time_column if time_column in header else '')
  fill = model.transform.get('fill', 'linear')
  flags = gap_fill.flags_of(model.columns, len(targets), model.transform.get('flag_columns'))
  counts = gap_fill.fill_counts(values, forecasting.labels(model.transform), fill=fill,
                              targets=len(targets), flags=flags)
  step_note = ''
  if time_column and time_column in header and 'times' in model.arrays:  # As swept?
    step_note = periods.check_step([times], [list(model.arrays['times'])],
                                     what=f'--csv_path: {csv_path}')
  end_note = forecasting.trailing_note(
      model.transform, values, times if time_column in header else None,
      f'--csv_path {csv_path}')
  if notes is not None:  # What reading the CSV did to it.
    notes += [n for n in (grid_note, step_note,
                          gap_fill.filled_note(counts, '--csv_path', as_sweep=True), end_note)
              if n]
  observed = ~np.isnan(values[:, :len(targets)])
  values = gap_fill.fill_gaps(values, [f'column {c!r}' for c in model.columns], csv_path,
                            fill=fill, targets=len(targets), flags=flags)
  model.check_history(values, what=f'--csv_path: {csv_path}')
  if time_column not in header:
    times = [str(i) for i in range(len(values))]
    if time_column and notes is not None:  # A dated model: say the rows were not.
      notes.append(f'--csv_path {csv_path} has no column {time_column!r} (the model\'s '
                   'time column): its rows are read in file order, neither sorted nor '
                   'checked for absent periods, and the forecast\'s times are row numbers')
  return times, values, None, observed


def future_inputs(model, path: str, steps: int, times=(), notes: list | None = None):
  """<float64>[rows, C_in - C_out] from `path` (--future_path), or None where none are
  given and none are read (no input columns, or `steps` within the horizon);
  InputError when they are needed and missing or short (forecasting.rows_read), or
  when the file has the model's time column and its rows do not start the step after
  `times` (the history's) end. A file given where no row of it is read is said in
  `notes` (a plan of next quarter's prices changes nothing within the horizon)."""
  inputs = model.transform['input_columns']
  if not inputs:
    if path:
      raise InputError('--future_path: the model reads no input columns')
    return None
  need = forecasting.rows_read(model.transform, steps)
  if not path:
    if not need:
      return None
    raise RowsAheadError(f'--future_path: the model reads input columns {inputs}, and past '
                         f'its horizon ({model.transform["horizon"]}) feeds forecasts back '
                         f'with their values: give a CSV with them for the {need} steps '
                         'after the history')
  time_column = model.transform.get('time_column', '')
  text = common.read_file(path, flag='--future_path', kind='a CSV file')
  if time_column not in [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]:
    time_column = ''
  values, _, cells, _ = forecast_data.read_series(path, (), input_columns=inputs,
                                                  time_column=time_column,
                                                  flag='--future_path', the_models=True)
  if time_column and len(times):
    follows.check_follows([None], [list(times)], [cells], path=path, flag='--future_path',
                          column=time_column, last="the history's last time",
                          rows='future rows')
  complete = np.isfinite(values[:need]).all(axis=1)
  if len(values) < need or not complete.all():
    raise RowsAheadError(f'--future_path: {path} has {len(values)} rows of {inputs}, '
                         f'{int(complete.sum())} of the first {need} complete'
                         f'{forecasting.first_empty(values[:need], inputs)}; {steps} steps '
                         f'read {need} (past the horizon, {model.transform["horizon"]}, '
                         'forecasts are fed back with them)')
  if not need and notes is not None:
    notes.append(f'--future_path: {path} is not read: {steps} step{"s" * (steps != 1)} '
                 f'within the horizon ({model.transform["horizon"]}) read {inputs} of the '
                 'history alone (its rows are read past the horizon, where forecasts are '
                 'fed back; a panel model reads columns known in advance over its horizon: '
                 '--task=panel --future_columns)')
  return values


def forecast_rows(model, times, point, lower, upper) -> tuple[list, list]:
  """(header, rows): time, then per target the forecast and each level's bounds."""
  columns = model.transform['target_columns']
  prefix = (lambda c: '') if len(columns) == 1 else (lambda c: f'{c}_')
  header = ['time']
  for column in columns:
    header.append(f'{prefix(column)}forecast')
    for level in lower:
      header += [f'{prefix(column)}lower_{level * 100:g}', f'{prefix(column)}upper_{level * 100:g}']
  rows = []
  for k, when in enumerate(times):
    row = [when]
    for c in range(len(columns)):
      row.append(point[k, c])
      for level in lower:
        row += [lower[level][k, c], upper[level][k, c]]
    rows.append(row)
  return header, rows


def forecast_table(model, header, rows, *, max_rows: int = 24) -> str:
  """The forecast as a small text table: per target its forecast and intervals (with
  several targets, the first level's only, to keep it narrow), its first `max_rows` steps,
  a line saying so where there are more (forecast.csv has all)."""
  targets = model.transform['target_columns']
  prefix = '' if len(targets) == 1 else '{}_'
  shown, cut = [], []  # (title, forecast column, [(lower, upper) columns]); levels left.
  for target in targets:
    p = prefix.format(target)
    levels = [h[len(p) + 6:] for h in header if h.startswith(f'{p}lower_')]
    cut = levels[1:] if len(targets) > 1 else []
    levels = levels if len(targets) == 1 else levels[:1]
    shown.append((f'{p}forecast', header.index(f'{p}forecast'), [
        (f'{p}{level}% interval', header.index(f'{p}lower_{level}'),
         header.index(f'{p}upper_{level}')) for level in levels]))
  width = max([12] + [len(str(row[0])) for row in rows[:max_rows]])  # '2024-03-31T02:00+01:00'
  lines = [f'{"time":>{width}}' + ''.join(
      f'  {title:>12}' + ''.join(f'  {name:>24}' for name, _, _ in bands)
      for title, _, bands in shown)]
  for row in rows[:max_rows]:
    lines.append(f'{row[0]:>{width}}' + ''.join(
        f'  {row[i]:12.6g}' + ''.join(f'  {f"[{row[lo]:.6g}, {row[hi]:.6g}]":>24}'
                                      for _, lo, hi in bands)
        for _, i, bands in shown))
  if len(rows) > max_rows:
    lines.append(f'(the first {max_rows} of {len(rows)} steps shown; forecast.csv has all)')
  if cut:
    lines.append(f'({len(targets)} targets: the {levels[0]}% intervals shown; '
                 f'{", ".join(l + "%" for l in cut)} in forecast.csv)')
  return '\n'.join(lines)


def drawn_history(model, values, test_start, observed=None) -> tuple:
  """(<float64>[N, C_out] the targets as forecast.png draws them, whether some are left
  out): the series with its empty target cells as NaN, gaps in the line (the sweep's,
  filled for the model: history alone, never trained towards nor scored;
  arrays['observed'], or a model saved before it kept them, its test part's,
  arrays['test_observed']; a --csv_path's, test_start None: `observed`, `history`'s);
  the last point, where the forecast starts, always drawn."""
  drawn = np.array(values[:, :model.num_targets], np.float64)
  if test_start is not None:
    observed = model.arrays.get('observed', model.arrays.get('test_observed'))
  if observed is None or len(observed) != len(drawn):
    return drawn, False
  empty = ~np.asarray(observed, bool)
  if test_start is not None and 'observed' not in model.arrays:
    empty[:test_start] = False  # Its test part's alone.
  empty[-1] = False
  drawn[empty] = np.nan
  return drawn, bool(empty.any())
