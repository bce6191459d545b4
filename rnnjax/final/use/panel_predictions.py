"""What `experiments/predict.py` does with a panel model (many series, one model), in
parts that predictions.py puts together: the histories it forecasts from, the input rows
after them, the long forecast table (panel_shown.py: the few series it prints and draws).

  histories   the sweep's series (from the end of its data, export.py's choice: each
              train part where the test part was given, each whole series where it was
              held out), or every series of a long --csv_path with the model's columns
  rows        forecast.csv: unique_id, ds (continuing each series' time column),
              forecast, lower_80, upper_80, lower_95, upper_95 (the levels asked)

A model with input columns reads their past values with the target's (its histories
hold them: the saved series', or the CSV's columns); their values after the histories
(`future_rows`, from --future_path) are read past the horizon, and over it for the
columns known in advance (where the sweep's test part was given, its rows serve for the
forecast from each train part's end).
"""

import numpy as np

from rnnjax.data import long_rows
from rnnjax.data import panel
from rnnjax.data.time import follows
from rnnjax.errors import InputError
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.saved import panel_histories
from rnnjax.final.saved import panel_future

# How predict's errors name a column of its CSVs (long_rows.read_long's `names`): as the
# model's, after the file's flag, for the sweep's flags are not predict's.
_WORDS = {'id': "the model's id column", 'time': "the model's time column",
          'target': "the model's target column", 'input': "the model's input column",
          'future': "the model's input column"}


def histories(model, csv_path: str = '',
              notes: list | None = None) -> tuple:
  """(ids, values [<float64>[n_i]], times [[str], or None per series of a CSV without the
  model's time column: read in file order, as a DataFrame's, said in `notes`], inputs
  [<float64>[n_i, C]] or None without input columns, observed [<bool>[n_i]: a CSV's
  target cells that held a value] or None: the sweep's) to forecast from the end of
  (see the module docstring); a CSV's gaps filled (what was sorted, put back or filled
  appended to `notes`), its bad columns or empty series refused."""
  if not csv_path:
    info = model.manifest['panel']
    data_end = info['forecast_from'] == 'data_end'
    if notes is not None and info.get('left_out'):
      notes.append(left_out_note(info['left_out'], model.transform['horizon']))
    if notes is not None and info.get('filled_ends'):  # Saved filled: said as a CSV's are.
      notes.append(panel_histories.trailing_note(
          info['filled_ends'], model.transform.get('fill', 'linear'), "the sweep's series",
          inputs=bool(panel_future.input_columns(model.transform))))
    return (*panel_forecasting.saved_series(model.arrays, with_test=data_end),
            panel_forecasting.saved_inputs(model.arrays, with_test=data_end), None)
  transform = model.transform
  table = long_rows.read_table(csv_path, '--csv_path')
  # Without the model's time column, read in file order as a DataFrame without it is.
  time_column = panel_histories.time_column_read(
      transform, table[0], f'--csv_path {csv_path}', notes)
  ids, values, times, _, grid_note = long_rows.read_long(
      csv_path, flag='--csv_path', table=table, names=_WORDS,
      id_column=transform['id_column'], time_column=time_column,
      target_column=transform['target_column'],
      input_columns=transform.get('input_columns', ()),
      future_columns=transform.get('future_columns', ()),
      to_end=transform.get('fill') == 'zero')
  times = times if time_column else [None] * len(ids)
  panel_histories.check_data_step(transform, model.arrays, times, f'--csv_path: {csv_path}',
                                  notes)
  if grid_note and notes is not None:
    notes.append(grid_note)
  if notes is not None and transform['id_column']:
    notes += [n for n in [absent_note(model.arrays['ids'], ids)] if n]
  observed = dict(zip(ids, (~np.isnan(np.reshape(v, (len(v), -1))[:, 0]) for v in values)))
  ids, values, _, inputs = panel_histories.panel_histories(
      transform, dict(zip(ids, values)), what=f'--csv_path: {csv_path}', notes=notes,
      times=times, said='--csv_path')
  return ids, values, times, inputs, [observed[k] for k in ids]


def absent_note(swept, given) -> str:
  """The note saying which of the sweep's series a --csv_path lacks (their forecasts are
  not made; a file of the same panel with a series dropped by mistake would otherwise pass
  unsaid), or '' where it holds every one or none (a panel of new series)."""
  swept = [str(k) for k in swept]
  held = set(map(str, given))
  absent = [k for k in swept if k not in held]
  if not absent or len(absent) == len(swept):
    return ''
  new = len(held - set(swept))
  one = len(absent) == 1
  return (f"{len(absent)} of the sweep's {len(swept)} series {'is' if one else 'are'} not in "
          f"--csv_path, so not forecast ({panel.some_ids(absent)}); the {len(held)} series "
          f"it holds {'is' if len(held) == 1 else 'are'} forecast"
          + (f', {new} of them new' if new else ''))


def left_out_note(ids, horizon: int) -> str:
  """The note saying which series of the sweep's file it left out (too short to hold out
  a test part), so are not among the forecasts of its own series."""
  one = len(ids) == 1
  return (f"{len(ids)} series of the sweep's file {'is' if one else 'are'} not forecast: with "
          f"at most {horizon} points {'it was' if one else 'they were'} left out of the sweep "
          f"({panel.some_ids(ids)}); --csv_path=FILE forecasts every series of FILE, "
          f"{'this one' if one else 'these'} too, from what {'it has' if one else 'they have'}")


def future_rows(model, path: str, steps: int, histories: dict | None = None,
                notes: list | None = None, fill: str = '') -> dict:
  """id -> <float64>[rows, C]: the input columns' values after each series, from a long
  CSV (the model's id and time columns and the input columns `steps` steps read: the
  future columns always, the past ones only past the horizon, NaN where the file has
  none; panel_future.check_columns). Each series' rows must start the step after its
  history's times (`histories`: id -> time cells) end, where both are times (time/follows.py
  check_follows: a file whose times are not read as times after histories whose are is
  refused; `fill`: the flag whose file the histories came from, for the advice where
  they end early). Where neither are, its rows are read in file order, said in `notes`
  as --csv_path's are."""
  transform = model.transform
  past, known = transform.get('input_columns', []), transform.get('future_columns', [])
  table = long_rows.read_table(path, '--future_path')
  panel_future.check_columns(transform, steps, table[0], '--future_path', path)
  present = [c for c in past if c in table[0]]
  ids, rows, times, _, grid_note = long_rows.read_long(
      path, flag='--future_path', table=table, names=_WORDS,
      id_column=transform['id_column'], time_column=transform['time_column'],
      target_column='', input_columns=present, future_columns=known)
  if histories and transform['time_column']:
    if not transform['id_column'] and len(histories) == 1:  # A panel of one.
      ids = list(histories)
    both = [k for k in ids if k in histories]
    follows.check_follows(both, [histories[k] for k in both],
                          [times[ids.index(k)] for k in both], path=path,
                          flag='--future_path', column=transform['time_column'],
                          last="its history's last time", rows='future rows', fill=fill,
                          zero=transform.get('fill') != 'zero')
  if grid_note and notes is not None:
    notes.append(grid_note)
  out = {}
  for key, v in zip(ids, rows):
    full = np.full((len(v), len(past) + len(known)), np.nan)
    full[:, [past.index(c) for c in present]] = v[:, 1:1 + len(present)]
    full[:, len(past):] = v[:, 1 + len(present):]
    out[key] = full
  return out


def future(model, ids, steps: int, csv_path: str = '', future_path: str = '', times=None,
           notes: list | None = None):
  """The input rows after each history (`future_rows` of --future_path, its rows
  checked against the histories' `times`; else, for the sweep's own series forecast
  from each train part's end, its given test part's rows where it saved them, which
  cover `horizon` steps), or None. What reading --future_path put in order, or could
  not, is appended to `notes`."""
  if future_path:
    if not panel_future.input_columns(model.transform):
      raise InputError('--future_path: this model was swept without input columns: it '
                       'reads its target alone, and takes no --future_path')
    rows = future_rows(model, future_path, steps,
                       # Histories read in file order have no times to follow.
                       dict(zip(ids, times)) if times and all(times) else None, notes,
                       # From the saved series, the sweep's file given again with the
                       # missing rows is the way to a history that ends where the rows begin.
                       fill=f'--csv_path {csv_path}' if csv_path else
                       "--csv_path=<the sweep's file>")
    if not model.transform['id_column'] and len(ids) == 1:  # A panel of one: its rows.
      return {ids[0]: next(iter(rows.values()))}
    return rows
  ahead = panel_forecasting.saved_ahead(model.arrays)
  if csv_path or ahead is None or model.manifest['panel']['forecast_from'] != 'train_end':
    return None
  need = max(panel_future.rows_needed(model.transform, steps))
  if need > len(ahead[0]):
    raise InputError(f'--future_path: the sweep\'s test part holds the input columns\' '
                     f'values over its {len(ahead[0])} steps, and {steps} steps read '
                     f'{need} rows; give them with --future_path (a long CSV)')
  return dict(zip(ids, ahead))


def stacked(ids, values, inputs) -> dict:
  """The histories as TunedModel.forecast takes them: id -> <float64>[n_i], or with
  input columns [n_i, 1 + C]."""
  if inputs is None:
    return dict(zip(ids, values))
  return {k: np.concatenate([v[:, None], u], axis=1) for k, v, u in zip(ids, values, inputs)}


def rows(fc, future_times) -> tuple[list, list]:
  """(header, rows) of forecast.csv: a row per series and step (module docstring)."""
  levels = list(fc['lower'])
  header = ['unique_id', 'ds', 'forecast'] + [
      f'{side}_{level * 100:g}' for level in levels for side in ('lower', 'upper')]
  out = []
  for i, key in enumerate(fc['ids']):
    for k, when in enumerate(future_times[i]):
      row = [key, when, fc['point'][i, k]]
      for level in levels:
        row += [fc['lower'][level][i, k], fc['upper'][level][i, k]]
      out.append(row)
  return header, out
