"""What `experiments/predict.py` does with a finished sweep's model: `run` reads the new
data, predicts, writes a CSV (or a sample) and returns the lines to print and the
figure to draw (a forecaster's parts: series_predictions.py; a panel model's:
panel_predictions.py; a classifier's: case_predictions.py). Everything is checked
and computed before anything is written, so bad
input (InputError) writes nothing. Its messages name flags: the model's (tuned.py),
which name the Python arguments, are translated (`prompt: ...` -> `--prompt: ...`).
"""

import contextlib
import csv
import io
import math
import os
import re
import time


from rnnjax.data import text as text_lib
from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import model_files
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.saved import panel_histories
from rnnjax.final.use import case_predictions
from rnnjax.final.use import panel_predictions
from rnnjax.final.use import panel_shown
from rnnjax.final.use import series_predictions
from rnnjax.results import files


# The model's argument names that are this command's flags, and the flag of each.
FLAGS = {'workdir': 'workdir', 'steps': 'steps_ahead', 'levels': 'levels',
         'prompt': 'prompt', 'num_chars': 'num_chars', 'temperature': 'temperature',
         'future_inputs': 'future_path', 'seed': 'seed'}


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
  """The loaded model's check of `levels` (inside `flag_names`: it names --levels), and
  at least one."""
  levels = arguments.levels(levels)
  if not levels:
    raise InputError('--levels: give at least one level, e.g. 0.8,0.95')
  return levels


def _future_what(future_path: str) -> str:
  """What the model's InputErrors call the future rows: the file they were read from
  (without one, the sweep's saved rows: its argument's name, said as the flag)."""
  return f'--future_path {future_path}' if future_path else 'future_inputs'


def _steps(model, steps) -> int:
  steps = model.transform['horizon'] if steps is None else int(steps)
  if steps < 1:
    raise InputError(f'--steps_ahead: {steps} must be >= 1')
  return steps


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` (its folder made), whole or not at all (a file beside it,
  renamed: a Ctrl-C while writing leaves no part of a forecast); InputError naming
  --out_dir if the machine refuses."""
  tmp = f'{path}.{os.getpid()}.part'
  try:
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    with open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)
    os.replace(tmp, path)
  except OSError as e:
    raise InputError(f'--out_dir: {path} cannot be written ({e.strerror})') from None
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def write_csv(path: str, header, rows) -> None:
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator='\n')
  writer.writerow(header)
  writer.writerows([[f'{v:.9g}' if isinstance(v, float) else v for v in row]
                    for row in rows])
  write_text(path, buffer.getvalue())


# How a figure's caption names the final model, by its kind (export.py's manifest).
FINAL_WORDS = {'single': 'The final model (the best member)',
               'ensemble': 'The final model (an ensemble of members)',
               'refit': 'The final model (refit on train + validation)'}


# The caption's sentence where a figure draws empty cells as gaps: the sweep's, a CSV's.
GAPS = ('Gaps in the line: cells that were empty (filled for the model: history alone, '
        'never trained towards nor scored).')
GAPS_CSV = ('Gaps in the line: the CSV\'s empty cells (filled for the model as the sweep '
            'filled its own).')


def _final_words(model) -> str:
  return FINAL_WORDS.get(model.kind, f'The {model.kind} final model')


def stale_figures_note(out_dir: str, name: str = 'forecast', csv: str = 'forecast',
                       reason: str = '--figures=false') -> str:
  """The note for predictions written without their figure (`reason`) beside an earlier
  run's NAME.png / NAME.pdf, which does not draw CSV.csv ('' where none)."""
  old = [f'{name}.{ext}' for ext in ('png', 'pdf')
         if os.path.exists(os.path.join(out_dir, f'{name}.{ext}'))]
  if not old:
    return ''
  return (f'note: {" and ".join(old)} in {out_dir} {"are" if len(old) > 1 else "is"} an '
          f'earlier run\'s, not redrawn ({reason}): not this {csv}.csv\'s')


def _check_writable(out_dir: str) -> None:
  """InputError naming --out_dir unless it is, or can be made, a writable directory
  (checked before anything is computed; nothing is created here)."""
  path = os.path.abspath(out_dir)
  while not os.path.exists(path):
    path = os.path.dirname(path)
  if not os.path.isdir(path):
    above = '' if path == os.path.abspath(out_dir) else f': {path} above it'
    raise InputError(f'--out_dir: {out_dir}{above} is a file, not a directory')
  if not os.access(path, os.W_OK | os.X_OK):
    raise InputError(f'--out_dir: {out_dir}: {path} is not writable')


def run(workdir: str, *, steps_ahead=None, csv_path: str = '', future_path: str = '',
        levels=None, ts_path: str = '', prompt: str = '', num_chars=None,
        temperature=None, seed=None, out_dir: str = '', figures: bool = True) -> dict:
  """Predicts with WORKDIR's final model; returns {'lines': [str], 'paths': written (the
  CSV first), 'figure': the figure's name (forecast, confusion; None for a sample),
  'plot': keyword arguments of figures.plots.forecast_plot.plot_forecast (a panel's:
  plot_panel, and 'panel': True), of figures.plots.confusion.draw for classified cases
  with labels, or None}.

  Forecast (steps_ahead: default the horizon; csv_path, future_path, levels: default
  arguments.LEVELS), classify (ts_path) or sample (prompt, num_chars, temperature,
  seed: default arguments.NUM_CHARS, TEMPERATURE, 0), by the model's task; another
  task's argument given is refused. out_dir: default WORKDIR/predictions. figures:
  whether the caller draws 'plot' (a panel's table names the series forecast.png draws
  only then).
  """
  if not workdir:
    raise InputError('--workdir: required (the work directory of a finished sweep)')
  start = time.perf_counter()
  with flag_names():
    model = model_files.load(workdir)
  loaded = time.perf_counter() - start
  out_dir = out_dir or os.path.join(workdir, files.PREDICTIONS)
  _check_writable(out_dir)
  sampling = ('prompt', 'num_chars', 'temperature', 'seed')
  foreign = {'forecast': ('ts_path',) + sampling,
             'panel': ('ts_path',) + sampling,
             'classify': ('steps_ahead', 'future_path', 'levels') + sampling,
             'charlm': ('steps_ahead', 'csv_path', 'future_path', 'levels',
                        'ts_path')}[model.task]
  given = dict(steps_ahead=steps_ahead, csv_path=csv_path, future_path=future_path,
               levels=levels, ts_path=ts_path, prompt=prompt, num_chars=num_chars,
               temperature=temperature, seed=seed)
  levels = arguments.LEVELS if levels is None else levels
  num_chars = arguments.NUM_CHARS if num_chars is None else num_chars
  temperature = arguments.TEMPERATURE if temperature is None else temperature
  seed = 0 if seed is None else seed
  for name in foreign:
    if given[name] not in (None, ''):
      raise InputError(f'--{name}: {workdir} holds a {model.task} model, which takes no '
                       f'--{name}')
  with flag_names():
    if model.task == 'forecast':
      return _forecast(model, out_dir, loaded, steps_ahead, csv_path, future_path, levels)
    if model.task == 'panel':
      return _panel(model, out_dir, loaded, steps_ahead, csv_path, future_path, levels,
                    figures)
    if model.task == 'classify':
      return _classify(model, out_dir, ts_path, csv_path)
    return _sample(model, out_dir, prompt, num_chars, temperature, seed)


def _forecast(model, out_dir, loaded, steps, csv_path, future_path, levels):
  steps, levels = _steps(model, steps), check_levels(levels)
  read_notes = []
  times, values, test_start, observed = series_predictions.history(model, csv_path,
                                                                   read_notes)
  with arguments.plan_noted(read_notes):  # Rows without a target read as history: said.
    future = series_predictions.future_inputs(model, future_path, steps, times, read_notes)
    start = time.perf_counter()
    fc = model.forecast(values, steps, future_inputs=future, levels=levels,
                        future_what=_future_what(future_path))
  took = time.perf_counter() - start
  ahead = time_grid.future_times([times], steps)[0]
  header, rows = series_predictions.forecast_rows(model, ahead, fc['point'], fc['lower'], fc['upper'])
  test_pred = None
  if test_start is not None:
    test_pred = model.backtest(values, range(test_start, len(values)), 1)[:, 0]
  lines = [series_predictions.forecast_table(model, header, rows)] + [
      f'note: {n}' for n in read_notes + fc['notes']]
  coverage = coverage_lines(model, levels, csv_path)
  lines += coverage
  lines.append(f'model loaded in {loaded:.2f} s, forecast in {took:.2f} s')
  path = os.path.join(out_dir, 'forecast.csv')
  write_csv(path, header, rows)
  notes = ' '.join(n[0].upper() + n[1:] + '.' for n in fc['notes'])
  drawn, gaps = series_predictions.drawn_history(model, values, test_start, observed)
  if gaps:
    notes += ' ' * bool(notes) + (GAPS_CSV if csv_path else GAPS)
  plot = dict(out_dir=out_dir, columns=model.transform['target_columns'], times=times,
              history=drawn, future_times=ahead, point=fc['point'],
              bands={l: (fc['lower'][l], fc['upper'][l]) for l in levels},
              test_start=test_start, test_pred=test_pred,
              note=f'{_final_words(model)}. Intervals: split conformal on validation '
                   f'errors, per step ahead (never narrower than an earlier step\'s).'
                   f'{caption_notes(coverage)} {notes}'.rstrip())
  return {'lines': lines, 'paths': [path], 'plot': plot, 'figure': 'forecast'}


def coverage_lines(model, levels, csv_path: str = '') -> list:
  """The intervals' coverage on the sweep's test part, at the levels asked (saved, or
  computed now), said to be the sweep's where the forecast is of `csv_path`'s series;
  [] for a model without intervals."""
  coverage = model.test_coverage(levels)
  if not coverage:
    return []
  horizon = model.transform['horizon']
  first = '1 step' if horizon == 1 else f'1-{horizon} steps'
  part = ("the sweep's test part" if csv_path else 'the test part')
  if model.task == 'panel':  # One forecast per series, of the horizon.
    lines = [f'coverage on {part} ({coverage["origins"]} series, {first} ahead'
             f'{"; not on --csv_path" if csv_path else ""}): ' +
             ', '.join(f'{level * 100:g}% intervals {coverage[f"{level:g}"]["all_steps"]:.0%}'
                       for level in levels)]
  else:
    lines = [f'coverage on {part} ({first} ahead / 1-{coverage["steps"]} steps '
             f'ahead{"; not on --csv_path" if csv_path else ""}): ' + ', '.join(
                 f'{level * 100:g}% intervals {c["first_steps"]:.0%} / {c["all_steps"]:.0%}'
                 for level, c in ((l, coverage[f'{l:g}']) for l in levels))]
  return lines + undercovered_note(coverage, levels, trend=(
      model.task == 'forecast' and not model.transform.get('difference')), part=part)


def caption_notes(lines) -> str:
  """`coverage_lines`' notes as the figure's caption says them (' The intervals are too
  narrow ...'), so that a figure read without the printed lines says it too."""
  return ''.join(f' {n[6].upper()}{n[7:]}.' for n in lines if n.startswith('note: '))


def undercovered_note(coverage: dict, levels, trend: bool = False,
                      part: str = 'the test part') -> list:
  """[a note where the test part's coverage (`model.test_coverage`) of any level lies
  more than two binomial standard errors below it, over its origins (a panel's series;
  a conservative count: the steps of one origin are not independent)], else []. The
  intervals are calibrated on validation's errors; a trend that leaves the training range
  (`trend`: a forecast of levels, not --difference) makes test's larger. part: whose test
  part ("the sweep's" where the forecast is of a --csv_path)."""
  n = coverage['origins']
  low = [(level, c) for level in levels
         for c in [min(coverage[f'{level:g}'].values())]
         if c < level - 2 * math.sqrt(level * (1 - level) / max(n, 1))]
  if not low:
    return []
  held = ', '.join(f'{level * 100:g}% intervals held {c:.0%}' for level, c in low)
  return [f'note: the intervals are too narrow on {part} ({held} of its points): '
          'its errors outgrew the validation errors that calibrate them' + (
              '; a trend past the training range does this: --difference models the '
              'changes' if trend else '')]


def _panel(model, out_dir, loaded, steps, csv_path, future_path, levels, figures=True):
  steps, levels = _steps(model, steps), check_levels(levels)
  read_notes = []
  source = panel_predictions.histories(model, csv_path, read_notes)
  ids, values, times, inputs, _ = source
  with arguments.plan_noted(read_notes):  # Rows without a target read as history: said.
    future = panel_predictions.future(model, ids, steps, csv_path, future_path, times,
                                      read_notes)
    start = time.perf_counter()
    fc = model.forecast(panel_predictions.stacked(ids, values, inputs), steps,
                        future_inputs=future, levels=levels,
                        future_what=_future_what(future_path))
  took = time.perf_counter() - start
  # The model's notes name its argument; here the histories are a file or the sweep's.
  source_name = f'--csv_path {csv_path}' if csv_path else "the sweep's series"
  fc['notes'] = [source_name + n[len('history'):] if n.startswith('history: ') else n
                 for n in fc['notes']]
  ahead = time_grid.future_times([t or [] for t in times], steps,  # '+1', ... untimed.
                                 panel_histories.data_times(model.arrays))
  fc['notes'] += panel_forecasting.ended_early_note(ids, times, source_name)
  header, rows = panel_predictions.rows(fc, ahead)
  tests = panel_shown.tested(model)
  metric = panel_shown.shown_metric(model)
  picks = panel_shown.shown(ids, {k: v[2][metric] for k, v in tests.items()},
                                  metric=metric, new_data=bool(csv_path))
  lines = [panel_shown.table(
      header, rows, [k for k, _ in picks], total=len(ids), figures=figures,
      scored=any(label.startswith(('best', 'worst')) for _, label in picks))]
  coverage = coverage_lines(model, levels, csv_path)
  lines += [f'note: {n}' for n in read_notes + fc['notes']] + coverage
  if not csv_path and model.manifest['panel']['forecast_from'] == 'train_end':
    lines.append('note: forecast from the end of each series\' train part: the sweep\'s '
                 'test part was given (--test_path, or a bundled panel\'s), so these steps '
                 'are its period; --csv_path with the newest points forecasts past them')
  lines.append(f'{len(ids)} series x {steps} steps; model loaded in {loaded:.2f} s, '
               f'forecast in {took:.2f} s')
  path = os.path.join(out_dir, 'forecast.csv')
  write_csv(path, header, rows)
  where = (f'the end of {csv_path}' if csv_path else
           'the end of each train part (the test part was given: it is the future)'
           if model.manifest['panel']['forecast_from'] == 'train_end' else
           'the end of each series (its held-out test part, the newest points, included)')
  notes = [n[0].upper() + n[1:] + '.' for n in fc['notes']]
  if csv_path and any(k in tests for k, _ in picks):
    notes.append(f'Sweep-test {metric}: the final model\'s score on the sweep\'s own test '
                 'part of that series, not on this forecast.')
  series = panel_shown.plot_series(model, source, fc, ahead, picks, tests,
                                   from_saved=not csv_path)
  if panel_shown.has_gaps(series):
    notes.append(GAPS_CSV if csv_path else GAPS)
  plot = dict(out_dir=out_dir, series=series,
              note=f'{_final_words(model)}, forecast from {where}. Intervals: split '
                   'conformal on validation errors scaled per series, per step ahead '
                   '(never narrower than an earlier step\'s).' + caption_notes(coverage) +
                   ''.join(' ' + n for n in notes))
  return {'lines': lines, 'paths': [path], 'plot': plot, 'figure': 'forecast',
          'panel': True}


def _classify(model, out_dir, ts_path, csv_path):
  cases, labels, ids = case_predictions.read(model, ts_path, csv_path)
  lines, header, rows, counts = case_predictions.predict(model, cases, labels, ids)
  path = os.path.join(out_dir, 'predictions.csv')
  write_csv(path, header, rows)
  plot = dict(out_dir=out_dir, counts=counts, classes=model.transform['classes'],
              what=f'The model on {os.path.basename(ts_path or csv_path)}') if counts else None
  return {'lines': lines, 'paths': [path], 'plot': plot, 'figure': 'confusion'}


def _sample(model, out_dir, prompt, num_chars, temperature, seed):
  sample = model.sample(prompt, num_chars=num_chars, temperature=temperature, seed=seed)
  # A command line's non-UTF-8 byte (a lone surrogate) is written as the model read it.
  written = re.sub('[\ud800-\udfff]', text_lib.UNKNOWN,
                   prompt or model.transform['prime']) + sample
  path = os.path.join(out_dir, 'sample.txt')
  write_text(path, written)
  chars, count = text_lib.outside(prompt, model.vocab)
  notes = [f'note: --prompt holds {len(chars)} character(s) the model\'s vocabulary lacks '
           f'({text_lib.shown(chars)}; {count} occurrence(s)): read as '
           f'{text_lib.SHOWN_UNKNOWN}, its token for any other character'] if count else []
  return {'lines': notes + [written], 'paths': [path], 'plot': None, 'figure': None}
