"""What `experiments/predict.py` does with a panel model (many series, one model), in
parts that predictions.py puts together: the histories it forecasts from, the long
forecast table, the few series it prints and draws.

  histories   the sweep's series (from the end of its data, export.py's choice: each
              train part where the test part was given, each whole series where it was
              held out), or every series of a long --csv_path with the model's columns
  rows        forecast.csv: unique_id, ds (continuing each series' time column),
              forecast, lower_80, upper_80, lower_95, upper_95 (the levels asked)
  tested      the final model's forecast of each series' test part from its end of
              train, and its sMAPE, MASE and RMSSE there (for choosing what to show, never
              the model)
  shown       best and worst series by that sMAPE (by MASE or RMSSE for a model whose
              sweep was ranked by it: --selection=mase, rmsse), and random ones (four in all,
              all random where the sweep scored none); every series where there are
              no more than that

A model with input columns reads their past values with the target's (its histories
hold them: the saved series', or the CSV's columns); their values after the histories
(`future_rows`, from --future_path) are read past the horizon, and over it for the
columns known in advance (where the sweep's test part was given, its rows serve for the
forecast from each train part's end).
"""

import csv
import io

import numpy as np

from rnnjax.data import common
from rnnjax.data import competition
from rnnjax.data import panel
from rnnjax.data import panel_windows
from rnnjax.data.time import follows
from rnnjax.errors import InputError
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.saved import panel_histories
from rnnjax.final.saved import panel_future
from rnnjax.results import series_scores

RANDOM_SHOWN = 2  # Series drawn at random, besides the best and the worst (or in their
# place, where the sweep scored none of them).
_COLUMN_FLAGS = {'--id_column': 'id', '--time_column': 'time', '--target_columns': 'target',
                 '--input_columns': 'input', '--future_columns': 'input'}


def histories(model, csv_path: str = '',
              notes: list | None = None) -> tuple[list, list, list, list | None]:
  """(ids, values [<float64>[n_i]], times [[str]], inputs [<float64>[n_i, C]] or None
  without input columns) to forecast from the end of (see the module docstring); a
  CSV's gaps filled (what was sorted, put back or filled appended to `notes`), its bad
  columns or empty series refused."""
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
            panel_forecasting.saved_inputs(model.arrays, with_test=data_end))
  transform = model.transform
  ids, values, times, _, grid_note = _read(
      csv_path, '--csv_path', id_column=transform['id_column'],
      time_column=transform['time_column'], target_column=transform['target_column'],
      input_columns=transform.get('input_columns', ()),
      future_columns=transform.get('future_columns', ()),
      to_end=transform.get('fill') == 'zero')
  panel_histories.check_data_step(transform, model.arrays, times, f'--csv_path: {csv_path}',
                                  notes)
  if grid_note and notes is not None:
    notes.append(grid_note)
  ids, values, _, inputs = panel_histories.panel_histories(
      transform, dict(zip(ids, values)), what=f'--csv_path: {csv_path}', notes=notes,
      times=times, said='--csv_path')
  return ids, values, times, inputs


def left_out_note(ids, horizon: int) -> str:
  """The note saying which series of the sweep's file it left out (too short to hold out
  a test part), so are not among the forecasts of its own series."""
  return (f"{len(ids)} series of the sweep's file are not forecast: with at most {horizon} "
          f'points they were left out of the sweep ({panel.some_ids(ids)}); --csv_path=FILE '
          'forecasts every series of FILE, these too, from what they have')


def _read(path: str, flag: str, **columns) -> tuple:
  """panel.read_long of a file given by `flag`, a missing column named as the model's."""
  try:
    return panel.read_long(path, flag=flag, **columns)
  except InputError as e:
    name, _, rest = str(e).partition(': ')
    if name not in _COLUMN_FLAGS:
      raise
    raise InputError(f'{flag}: {rest} (the model\'s {_COLUMN_FLAGS[name]} column)') from None


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
  text = common.read_file(path, flag='--future_path', kind='a CSV file')
  header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
  panel_future.check_columns(transform, steps, header, '--future_path', path)
  present = [c for c in past if c in header]
  ids, rows, times, _, grid_note = _read(path, '--future_path', id_column=transform['id_column'],
                                 time_column=transform['time_column'], target_column='',
                                 input_columns=present, future_columns=known)
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
    notes.append(grid_note.replace('--time_column', '--future_path: --time_column', 1))
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
                       None if times is None else dict(zip(ids, times)), notes,
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


def tested(model) -> dict:
  """id -> (forecast <float64>[h], test part <float64>[h], {'sMAPE', 'MASE', 'RMSSE'}) of
  the sweep's test part, forecast by the final model from each series' end of train."""
  ids, values, _ = panel_forecasting.saved_series(model.arrays)
  ahead = panel_forecasting.saved_ahead(model.arrays)
  point = model.forecast(stacked(ids, values, panel_forecasting.saved_inputs(model.arrays)),
                         model.transform['horizon'], levels=(),
                         future_inputs=None if ahead is None else dict(zip(ids, ahead)))['point']
  truth = model.arrays['test']
  scores = competition.series_scores(
      {'final': point}, truth, panel_forecasting.panel_scales(model.transform, values),
      [panel_windows.rmsse_scale(v) for v in values])['final']
  return {k: (p, t, {name: scores[metric][i] for metric, name in series_scores.NAMES.items()})
          for i, (k, p, t) in enumerate(zip(ids, point, truth))}


def shown_metric(model) -> str:
  """The test score `shown` picks by: MASE or RMSSE where the sweep ranked by it, else
  sMAPE."""
  ranked = (model.manifest.get('selection') or {}).get('metric')
  return series_scores.NAMES[series_scores.ranked_by(ranked, 'smape')]


def shown(ids, scores: dict, *, seed: int = 0, metric: str = 'sMAPE',
          new_data: bool = False) -> list:
  """[(id, label)]: the series with the best and the worst test `metric` (`scores`, id
  -> its value; only the ids it holds), then others drawn with `seed` up to 2 +
  RANDOM_SHOWN in all (where none is scored, a --csv_path of new series: that many
  drawn); with no more than that many series, all of them (one alone labelled by its
  score, not as the best). new_data: the forecasts are
  from other histories (--csv_path): a label's score is named the sweep's
  ('sweep-test')."""
  ranked = sorted((k for k in ids if k in scores), key=scores.get)
  digits = 1 if metric == 'sMAPE' else 3
  test = 'sweep-test' if new_data else 'test'
  value = lambda k: f'{test} {metric} {scores[k]:.{digits}f}'
  picks = {}
  # One series (a panel of one) is no best nor worst: its score alone.
  for key, which in ((ranked[:1], 'best'), (ranked[-1:], 'worst')) * (len(ids) > 1):
    for k in key:
      picks.setdefault(k, f'{which} {value(k)}')
  rest = [k for k in ids if k not in picks]
  if len(ids) <= 2 + RANDOM_SHOWN:  # Few: every one, none left out at random.
    picks.update((k, value(k) if k in scores else '') for k in rest)
    return list(picks.items())
  rng = np.random.default_rng(seed)
  free = 2 + RANDOM_SHOWN - len(picks)  # The best's and worst's slots too, where empty.
  for i in sorted(rng.choice(len(rest), min(free, len(rest)), replace=False)):
    k = rest[i]
    picks[k] = 'random' + (f', {value(k)}' if k in scores else '')
  return list(picks.items())


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


def table(header, rows_, ids, *, total: int, max_rows: int = 24, scored: bool = True,
          figures: bool = True) -> str:
  """The rows of the series `ids` (in that order, whole series, the first always, then
  as many as `max_rows` holds) as a small text table, and a line saying how many of
  the `total` series it shows where not all. scored: whether `ids` (`shown`'s) hold the
  best and worst by the sweep's test score (else they were drawn at random: series
  the sweep did not score). figures: whether forecast.png is drawn (predict
  --figures=false: the line names no figure)."""
  levels = [h[6:] for h in header[3::2]]
  lines = [f'{"unique_id":>12}  {"ds":>10}  {"forecast":>11}' +
           ''.join(f'  {level + "% interval":>24}' for level in levels)]
  by_id = {}
  for row in rows_:
    by_id.setdefault(row[0], []).append(row)
  shown_ids, count = [], 0
  for key in ids:
    if shown_ids and count + len(by_id.get(key, ())) > max_rows:
      break
    shown_ids.append(key)
    count += len(by_id.get(key, ()))
  for row in [r for key in shown_ids for r in by_id.get(key, [])]:
    bounds = ''.join(f'  {f"[{row[3 + 2 * i]:.6g}, {row[4 + 2 * i]:.6g}]":>24}'
                     for i in range(len(levels)))
    lines.append(f'{row[0]:>12}  {row[1]:>10}  {row[2]:11.6g}' + bounds)
  if len(shown_ids) < total:
    drawn = ('every one' if len(ids) >= total else
             'the best and worst by the sweep\'s test score, and random ones' if scored else
             'at random, none scored by the sweep')
    if not figures:
      lines.append(f'({len(shown_ids)} of {total} series shown; every series is in '
                   'forecast.csv)')
    else:
      lines.append(f'({len(shown_ids)} of {total} series shown, {len(ids)} drawn in '
                   f'forecast.png: {drawn}; every series is in forecast.csv)')
  return '\n'.join(lines)


def plot_series(model, source, fc, future_times, picks, tests: dict,
                from_saved: bool) -> list:
  """figures.plots.forecast_plot.plot_panel's `series` for the `picks` [(id, label)]. source:
  `histories`' triple; tests: `tested`; from_saved: the histories are the sweep's
  (its test part is drawn: after the history where given, its end where held out)."""
  ids, values, times, _ = source
  horizon = model.transform['horizon']
  out = []
  for key, label in picks:
    i = ids.index(key)
    n = len(values[i])
    test = None
    if from_saved and key in tests:
      pred, truth, _ = tests[key]
      data_end = model.manifest['panel']['forecast_from'] == 'data_end'
      test = {'start': n - horizon if data_end else n, 'truth': truth, 'pred': pred}
    out.append({'title': f'{key}: {label}' if label else key, 'times': times[i],
                'history': values[i],
                'future_times': future_times[i], 'point': fc['point'][i],
                'bands': {l: (fc['lower'][l][i], fc['upper'][l][i]) for l in fc['lower']},
                'test': test})
  return out
