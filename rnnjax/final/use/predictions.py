"""What `experiments/predict.py` does with a finished sweep's model: `run` reads the new
data, predicts, writes a CSV (or a sample) and returns the lines to print and the
figure to draw (a panel model's parts: panel_predictions.py). Everything is checked
and computed before anything is written, so bad
input (InputError) writes nothing. Its messages name flags: the model's (tuned.py),
which name the Python arguments, are translated (`prompt: ...` -> `--prompt: ...`).
"""

import contextlib
import csv
import io
import os
import time

import numpy as np

from rnnjax.data import classify
from rnnjax.data import common
from rnnjax.data import forecast as forecast_data
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError
from rnnjax.final.saved import forecasting
from rnnjax.final.saved import model_files
from rnnjax.final.use import panel_predictions
from rnnjax.results import files


# The model's argument names that are this command's flags, and the flag of each.
FLAGS = {'workdir': 'workdir', 'steps': 'steps_ahead', 'levels': 'levels',
         'prompt': 'prompt', 'num_chars': 'num_chars', 'temperature': 'temperature',
         'future_inputs': 'future_path'}


@contextlib.contextmanager
def flag_names():
  """Re-raises the model's InputErrors that begin with one of its arguments (FLAGS) as
  the same message naming the flag."""
  try:
    yield
  except InputError as e:
    name, colon, rest = str(e).partition(': ')
    if not colon or name not in FLAGS:
      raise
    raise InputError(f'--{FLAGS[name]}: {rest}') from None


def check_levels(levels) -> tuple:
  levels = tuple(float(l) for l in levels)
  if not levels:
    raise InputError('--levels: give at least one level, e.g. 0.8,0.95')
  for level in levels:
    if not 0 < level < 1:
      raise InputError(f'--levels: {level:g} must lie in (0, 1)')
  return levels


def history(model, csv_path: str = '', notes: list | None = None):
  """(times [N] strings, values <float64>[N, C], test_start or None): the work
  directory's series (its test part known), or a CSV of the same columns (what was
  sorted, put back or filled in it appended to `notes`)."""
  if not csv_path:
    series = model.arrays['series']
    return list(model.arrays['times']), series, model.transform['split_points'][1]
  targets, inputs = model.transform['target_columns'], model.transform['input_columns']
  time_column = model.transform.get('time_column', '')
  text = common.read_file(csv_path, flag='--csv_path', kind='a CSV file')
  header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
  values, gaps, times, grid_note = forecast_data.read_series(
      csv_path, targets, input_columns=inputs, flag='--csv_path', the_models=True,
      time_column=time_column if time_column in header else '')
  _say(notes, grid_note, gaps, model.transform.get('fill', 'linear'))
  values = common.fill_gaps(values, [f'column {c!r}' for c in model.columns], csv_path,
                            fill=model.transform.get('fill', 'linear'), targets=len(targets))
  model.check_history(values, what=f'--csv_path: {csv_path}')
  if time_column not in header:
    times = [str(i) for i in range(len(values))]
  return times, values, None


def _say(notes, grid_note: str, gaps: int, fill: str) -> None:
  """Appends to `notes` (where given) what reading a history's CSV did to it."""
  if notes is None:
    return
  notes += [grid_note] if grid_note else []
  if gaps:
    how = ('the targets\' with 0, the inputs\' by linear interpolation' if fill == 'zero'
           else 'by linear interpolation')
    notes.append(f'{gaps} empty cell{"s" * (gaps != 1)} of --csv_path filled ({how}), as '
                 'the sweep filled its data')


def future_inputs(model, path: str, steps: int, times=()):
  """<float64>[rows, C_in - C_out] from `path` (--future_path), or None where none are
  given and none are read (no input columns, or `steps` within the horizon);
  InputError when they are needed and missing or short (forecasting.rows_read), or
  when the file has the model's time column and its rows do not start the step after
  `times` (the history's) end."""
  inputs = model.transform['input_columns']
  if not inputs:
    if path:
      raise InputError('--future_path: the model reads no input columns')
    return None
  need = forecasting.rows_read(model.transform, steps)
  if not path:
    if not need:
      return None
    raise InputError(f'--future_path: the model reads input columns {inputs}, and past '
                     f'its horizon ({model.transform["horizon"]}) feeds forecasts back with '
                     f'their values: give a CSV with them for the {need} steps after the '
                     'history')
  time_column = model.transform.get('time_column', '')
  text = common.read_file(path, flag='--future_path', kind='a CSV file')
  if time_column not in [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]:
    time_column = ''
  values, _, cells, _ = forecast_data.read_series(path, (), input_columns=inputs,
                                                  time_column=time_column,
                                                  flag='--future_path', the_models=True)
  if time_column and len(times):
    time_grid.check_follows([None], [list(times)], [cells], path=path, flag='--future_path',
                            last="the history's last time")
  complete = np.isfinite(values[:need]).all(axis=1)
  if len(values) < need or not complete.all():
    raise InputError(f'--future_path: {path} has {len(values)} rows of {inputs}, '
                     f'{int(complete.sum())} of the first {need} complete; {steps} steps '
                     f'read {need} (past the horizon, {model.transform["horizon"]}, '
                     'forecasts are fed back with them)')
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
  several targets, the first level's only, to keep it narrow; forecast.csv has all)."""
  targets = model.transform['target_columns']
  prefix = '' if len(targets) == 1 else '{}_'
  shown = []  # (title, forecast column, [(lower, upper) columns]).
  for target in targets:
    p = prefix.format(target)
    levels = [h[len(p) + 6:] for h in header if h.startswith(f'{p}lower_')]
    levels = levels if len(targets) == 1 else levels[:1]
    shown.append((f'{p}forecast', header.index(f'{p}forecast'), [
        (f'{p}{level}% interval', header.index(f'{p}lower_{level}'),
         header.index(f'{p}upper_{level}')) for level in levels]))
  lines = [f'{"time":>12}' + ''.join(
      f'  {title:>12}' + ''.join(f'  {name:>24}' for name, _, _ in bands)
      for title, _, bands in shown)]
  for row in rows[:max_rows]:
    lines.append(f'{row[0]:>12}' + ''.join(
        f'  {row[i]:12.6g}' + ''.join(f'  {f"[{row[lo]:.6g}, {row[hi]:.6g}]":>24}'
                                      for _, lo, hi in bands)
        for _, i, bands in shown))
  return '\n'.join(lines)


def read_cases(model, ts_path: str):
  """(cases [T_i, C], labels or None) of a .ts file, checked against the model."""
  ts = classify.read_ts(ts_path, flag='--ts_path', labelled=False)
  channels = model.transform['channels']
  if ts.series[0].shape[1] != channels:
    raise InputError(f'--ts_path: {ts_path} has {ts.series[0].shape[1]} channel(s) per case; '
                     f'the model reads {channels}')
  labels = None if ts.labels[0] is None else ts.labels
  if labels is not None:
    unknown = sorted(set(labels) - set(model.transform['classes']))
    if unknown:
      raise InputError(f'--ts_path: {ts_path}: labels {unknown} are not classes of the '
                       f'model ({", ".join(model.transform["classes"])})')
  return ts.series, labels


def class_rows(model, probs, labels) -> tuple[list, list]:
  classes = model.transform['classes']
  header = ['case', 'predicted'] + (['label'] if labels else []) + [f'p_{c}' for c in classes]
  rows = []
  for i, p in enumerate(probs):
    rows.append([i, classes[int(np.argmax(p))]] + ([labels[i]] if labels else []) +
                [float(v) for v in p])
  return header, rows


def write_csv(path: str, header, rows) -> None:
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator='\n')
  writer.writerow(header)
  writer.writerows([[f'{v:.9g}' if isinstance(v, float) else v for v in row]
                    for row in rows])
  with open(path, 'w', encoding='utf-8') as f:
    f.write(buffer.getvalue())


def run(workdir: str, *, steps_ahead=None, csv_path: str = '', future_path: str = '',
        levels=(0.8, 0.95), ts_path: str = '', prompt: str = '', num_chars: int = 500,
        temperature: float = 0.8, seed: int = 0, out_dir: str = '') -> dict:
  """Predicts with WORKDIR's final model; returns {'lines': [str], 'paths': written,
  'plot': keyword arguments of figures.forecast_plot.plot_forecast (a panel's:
  plot_panel, and 'panel': True) or None}.

  Forecast (steps_ahead: default the horizon; csv_path, future_path, levels),
  classify (ts_path) or sample (prompt, num_chars, temperature, seed), by the model's
  task. out_dir: default WORKDIR/predictions.
  """
  if not workdir:
    raise InputError('--workdir: required (the work directory of a finished sweep)')
  start = time.perf_counter()
  with flag_names():
    model = model_files.load(workdir)
  loaded = time.perf_counter() - start
  out_dir = out_dir or os.path.join(workdir, files.PREDICTIONS)
  foreign = {'forecast': ('ts_path', 'prompt'),
             'panel': ('ts_path', 'prompt'),
             'classify': ('steps_ahead', 'csv_path', 'future_path', 'prompt'),
             'charlm': ('steps_ahead', 'csv_path', 'future_path', 'ts_path')}[model.task]
  given = dict(steps_ahead=steps_ahead, csv_path=csv_path, future_path=future_path,
               ts_path=ts_path, prompt=prompt)
  for name in foreign:
    if given[name] not in (None, ''):
      raise InputError(f'--{name}: {workdir} holds a {model.task} model, which takes no '
                       f'--{name}')
  with flag_names():
    if model.task == 'forecast':
      return _forecast(model, out_dir, loaded, steps_ahead, csv_path, future_path, levels)
    if model.task == 'panel':
      return _panel(model, out_dir, loaded, steps_ahead, csv_path, future_path, levels)
    if model.task == 'classify':
      return _classify(model, out_dir, ts_path)
    return _sample(model, out_dir, prompt, num_chars, temperature, seed)


def _forecast(model, out_dir, loaded, steps, csv_path, future_path, levels):
  steps = model.transform['horizon'] if steps is None else int(steps)
  if steps < 1:
    raise InputError(f'--steps_ahead: {steps} must be >= 1')
  levels = check_levels(levels)
  read_notes = []
  times, values, test_start = history(model, csv_path, read_notes)
  future = future_inputs(model, future_path, steps, times)
  start = time.perf_counter()
  fc = model.forecast(values, steps, future_inputs=future, levels=levels)
  took = time.perf_counter() - start
  ahead = time_grid.future_times([times], steps)[0]
  header, rows = forecast_rows(model, ahead, fc['point'], fc['lower'], fc['upper'])
  test_pred = None
  if test_start is not None:
    test_pred = model.backtest(values, range(test_start, len(values)), 1)[:, 0]
  lines = [forecast_table(model, header, rows)] + [
      f'note: {n}' for n in read_notes + fc['notes']]
  lines += coverage_lines(model, levels)
  lines.append(f'model loaded in {loaded:.2f} s, forecast in {took:.2f} s')
  path = os.path.join(out_dir, 'forecast.csv')
  write_csv(path, header, rows)
  c_out = model.num_targets
  notes = ' '.join(n[0].upper() + n[1:] + '.' for n in fc['notes'])
  plot = dict(out_dir=out_dir, columns=model.transform['target_columns'], times=times,
              history=values[:, :c_out], future_times=ahead, point=fc['point'],
              bands={l: (fc['lower'][l], fc['upper'][l]) for l in levels},
              test_start=test_start, test_pred=test_pred,
              note=f'{model.kind} final model. Intervals: split conformal on validation '
                   f'errors, per step ahead. {notes}')
  return {'lines': lines, 'paths': [path], 'plot': plot}


def coverage_lines(model, levels) -> list:
  """The intervals' coverage on the sweep's test part, at the levels asked (saved, or
  computed now); [] for a model without intervals."""
  coverage = model.test_coverage(levels)
  if not coverage:
    return []
  horizon = model.transform['horizon']
  first = '1 step' if horizon == 1 else f'1-{horizon} steps'
  if model.task == 'panel':  # One forecast per series, of the horizon.
    return [f'coverage on the test part ({coverage["origins"]} series, {first} ahead): ' +
            ', '.join(f'{level * 100:g}% intervals {coverage[f"{level:g}"]["all_steps"]:.0%}'
                      for level in levels)]
  return [f'coverage on the test part ({first} ahead / 1-{coverage["steps"]} steps '
          'ahead): ' + ', '.join(
              f'{level * 100:g}% intervals {c["first_steps"]:.0%} / {c["all_steps"]:.0%}'
              for level, c in ((l, coverage[f'{l:g}']) for l in levels))]


def _panel(model, out_dir, loaded, steps, csv_path, future_path, levels):
  steps = model.transform['horizon'] if steps is None else int(steps)
  if steps < 1:
    raise InputError(f'--steps_ahead: {steps} must be >= 1')
  levels = check_levels(levels)
  read_notes = []
  source = panel_predictions.histories(model, csv_path, read_notes)
  ids, values, times, inputs = source
  future = panel_predictions.future(model, ids, steps, csv_path, future_path, times)
  start = time.perf_counter()
  fc = model.forecast(panel_predictions.stacked(ids, values, inputs), steps,
                      future_inputs=future, levels=levels)
  took = time.perf_counter() - start
  ahead = time_grid.future_times(times, steps)
  header, rows = panel_predictions.rows(fc, ahead)
  tests = panel_predictions.tested(model)
  metric = panel_predictions.shown_metric(model)
  picks = panel_predictions.shown(ids, {k: v[2][metric] for k, v in tests.items()},
                                  metric=metric)
  lines = [panel_predictions.table(header, rows, [k for k, _ in picks])]
  lines += [f'note: {n}' for n in read_notes + fc['notes']] + coverage_lines(model, levels)
  lines.append(f'{len(ids)} series x {steps} steps; model loaded in {loaded:.2f} s, '
               f'forecast in {took:.2f} s')
  path = os.path.join(out_dir, 'forecast.csv')
  write_csv(path, header, rows)
  where = (f'the end of {csv_path}' if csv_path else
           'the end of each train part (the test part was given: it is the future)'
           if model.manifest['panel']['forecast_from'] == 'train_end' else
           'the end of each series (its held-out test part, the newest points, included)')
  notes = ' '.join(n[0].upper() + n[1:] + '.' for n in fc['notes'])
  plot = dict(out_dir=out_dir, series=panel_predictions.plot_series(
      model, source, fc, ahead, picks, tests, from_saved=not csv_path),
              note=f'{model.kind} final model, forecast from {where}. Intervals: split '
                   'conformal on validation errors scaled per series, per step ahead. '
                   f'{notes}')
  return {'lines': lines, 'paths': [path], 'plot': plot, 'panel': True}


def _classify(model, out_dir, ts_path):
  if not ts_path:
    raise InputError('--ts_path: required for a classification model (a .ts file of cases)')
  cases, labels = read_cases(model, ts_path)
  probs = model.predict_proba(cases)
  header, rows = class_rows(model, probs, labels)
  predicted = [row[1] for row in rows]
  lines = [f'{len(rows)} cases: ' + ', '.join(
      f'{c}: {predicted.count(c)}' for c in model.transform['classes'])]
  if labels:
    accuracy = sum(p == l for p, l in zip(predicted, labels)) / len(labels)
    lines.append(f'accuracy against the file\'s labels: {accuracy:.4f}')
  path = os.path.join(out_dir, 'predictions.csv')
  write_csv(path, header, rows)
  return {'lines': lines, 'paths': [path], 'plot': None}


def _sample(model, out_dir, prompt, num_chars, temperature, seed):
  sample = model.sample(prompt, num_chars=num_chars, temperature=temperature, seed=seed)
  written = (prompt or model.transform['prime']) + sample
  path = os.path.join(out_dir, 'sample.txt')
  os.makedirs(out_dir, exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(written)
  return {'lines': [written], 'paths': [path], 'plot': None}
