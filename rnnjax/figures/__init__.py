"""Paper figures and tables from a finished sweep's work directory (its files alone).

  paths = rnnjax.figures.make_all(workdir)   # -> WORKDIR/figures/*.png, *.pdf, table.md ...
  text, paths = rnnjax.figures.compare([workdir_a, workdir_b], out_dir=...)  # side by side

  load        the results table, read from the work directory alone
  member_values  its members' validation values and its configurations' statistics
  labels      how figures and tables write hyperparameters, metrics and values
  style       one look for every figure: sizes, colours, PNG and PDF
  tables      the cell x depth x width table (table.md, table.tex); configs.csv
  analysis/   what is computed, not drawn: `importance` (functional ANOVA, no I/O) and
              `anova` (its arithmetic)
  plots/      one module per figure: `sensitivity`, `heatmap`, `curves` (which reads the
              learning curves), `importance_plot`, `schedules` for PBT (which reads its
              records), `confusion` for a classifier's (and predict's labelled cases),
              `forecast_plot` for experiments/predict.py, `comparison` for
              experiments/search_comparison.py, `compare_plot` for `compare`
"""

import csv
import dataclasses
import itertools
import math
import os
import tempfile
import time
import traceback

import numpy as np

from rnnjax.figures import load
from rnnjax.figures import style
from rnnjax.figures import tables
from rnnjax.figures.analysis import importance
from rnnjax.figures.plots import compare_plot
from rnnjax.figures.plots import confusion
from rnnjax.figures.plots import curves
from rnnjax.figures.plots import heatmap
from rnnjax.figures.plots import importance_plot
from rnnjax.figures.plots import schedules
from rnnjax.figures.plots import sensitivity
from rnnjax.errors import InputError
from rnnjax.errors import WriteError
from rnnjax.results import files
from rnnjax.results.printed import side_by_side

FIGURES_DIR = files.FIGURES
COMPARE = 'compare'  # compare.md and compare.csv: sweeps side by side (`compare`).
HEATMAP_AXES = 3   # Heatmaps for every pair of the three most important axes (the
# first three the sweep lists where importance is not attributed, and the caption says so).


def make_all(workdir: str, *, log=print, diverged: str = 'drop', group_by: str = '',
             out_dir: str = '', metric: str = '') -> list:
  """Writes every figure and table into `out_dir` (default WORKDIR/figures/); returns
  the paths written.

  A figure that does not apply (say, a heatmap with one swept axis) is skipped with a
  logged reason. A figure that fails is logged with its traceback and the rest are still
  made: the sweep's results are already safe on disk. Raises InputError when the work
  directory holds no readable summary.json, or `group_by` (the sensitivity figure's line
  axis) is not a listed axis of this sweep with a few values, or `metric` (the
  validation metric drawn, default what ranks: load.Table.shown) is not one it recorded.
  """
  try:
    table = load.load(workdir)
  except InputError as e:  # A file of its: the flag that named it, then the file.
    raise InputError(str(e) if str(e).startswith('--') else f'--workdir: {e}') from None
  if metric:
    recorded = sorted({k for m in table.members for k in m['val']})
    if metric not in recorded:
      raise InputError(f'--metric: {metric!r} is not a validation metric of this sweep '
                       f'(recorded: {", ".join(recorded)})')
    table = dataclasses.replace(table, shown=metric, shown_mode=(
        'max' if metric in load.HIGHER_IS_BETTER else 'min'))
  if group_by and group_by not in table.axes:
    raise InputError(f'--group_by: {group_by!r} is not a swept hyperparameter of this '
                     f'sweep (swept: {", ".join(table.axes)})')
  if group_by and sensitivity.group_axis(table, group_by) is not table.axes[group_by]:
    raise InputError(f'--group_by: {group_by!r}: drawn as one line per value, it needs a '
                     f'listed axis of 2 to {len(style.OKABE_ITO) - 1} values')
  out_dir = out_dir or os.path.join(workdir, FIGURES_DIR)
  _make_out_dir(out_dir)
  try:
    result = importance.analyse(table, diverged=diverged, metric=metric)
  except Exception:  # pylint: disable=broad-except
    log(f'figures: importance analysis failed:\n{traceback.format_exc()}')
    result = {'axes': list(table.axes), 'skipped': 'the analysis failed'}
  top = importance.top_axes(result, HEATMAP_AXES)
  # Without importance the pairs are the first axes as the sweep lists them: said.
  unranked = ('' if 'main' in result and 'not_attributed' not in result else
              'Pairs of the first swept hyperparameters in the order the sweep lists '
              'them, importance not attributed: '
              f'{result.get("not_attributed") or result.get("skipped", "")}.')
  if unranked and len(table.axes) > HEATMAP_AXES:
    log(f'figures: heatmaps: {unranked}')
  jobs = (
      ('sensitivity', lambda: sensitivity.plot_sensitivity(table, out_dir, group_by=group_by,
                                                           log=log)),
      ('heatmap', lambda: heatmap.plot_heatmaps(
          table, out_dir, list(itertools.combinations(top, 2)), log=log,
          order=unranked if len(table.axes) > HEATMAP_AXES else '')),
      ('learning curves', lambda: curves.plot_learning_curves(table, out_dir, log=log)),
      ('importance', lambda: importance_plot.plot_importance(table, out_dir, result,
                                                             log=log)),
      ('tables', lambda: tables.write_tables(table, out_dir, log=log)),
      ('confusion', lambda: confusion.plot_confusion(table, out_dir, log=log)),
  ) + ((('PBT schedules', lambda: schedules.plot_schedules(table, out_dir, log=log)),)
       if table.search == 'pbt' else ())
  paths = []
  for name, job in jobs:
    try:
      paths += job()
    except WriteError:  # A full disk: one line, for the entry point; the rest unwritten.
      raise
    except Exception:  # pylint: disable=broad-except
      log(f'figures: {name} failed:\n{traceback.format_exc()}')
  return paths


def estimate_s(axes, search: str, task: str = '') -> float:
  """Seconds `make_all` may take on a sweep of these swept axes, search and task (a dry
  run's estimate): one figure (`_one_figure_s`) for each it draws (sensitivity, learning
  curves, importance, a heatmap for each pair of the HEATMAP_AXES most important axes,
  PBT's schedules, a classifier's confusion)."""
  count = (3 + math.comb(min(len(axes), HEATMAP_AXES), 2) + (search == 'pbt') +
           (task == 'classify'))
  return count * _one_figure_s(len(axes))


def _one_figure_s(lines: int) -> float:
  """Seconds drawing a figure of `lines` lines (at least one) and writing it as every
  figure is (PNG and PDF, here in a temporary directory)."""
  start = time.perf_counter()
  with tempfile.TemporaryDirectory(prefix='rnnjax-figures-') as out_dir, style.context():
    fig = style.new_figure()
    ax = fig.subplots()
    for k in range(max(1, lines)):
      ax.plot(np.arange(100), np.sin(np.arange(100) / (k + 1)), label=f'line {k}')
    ax.legend()
    style.save(fig, out_dir, 'estimate')
  return time.perf_counter() - start


def _make_out_dir(path: str) -> None:
  """Makes --out_dir; InputError in one line where it cannot be a directory."""
  try:
    os.makedirs(path, exist_ok=True)
  except FileExistsError:
    raise InputError(f'--out_dir: {path} is a file, not a directory') from None
  except OSError as e:
    raise InputError(f'--out_dir: {path} cannot be a directory '
                     f'({e.strerror or type(e).__name__})') from None


def compare(workdirs: list, *, out_dir: str = '', metric: str = '',
            log=print) -> tuple[str, list]:
  """Finished sweeps side by side, a row each in the order given
  (results/printed/side_by_side.py `runs_table`: where they differ, their best
  configuration and final model on validation and test, and notes where their test parts
  differ). Returns (the Markdown table, the paths written): OUT_DIR/compare.md and
  compare.csv when `out_dir` is given, and compare.png and .pdf: the validation metric
  against each hyperparameter two or more of them swept, a line per sweep
  (plots/compare_plot.py; skipped with a logged reason where none is shared or their
  validation figures differ in kind). InputError naming --compare or the work
  directory's file that is missing or bad."""
  workdirs = [w for w in workdirs if w]
  if len(workdirs) < 2:
    raise InputError('--compare: name two or more work directories of finished sweeps, '
                     'comma-separated')
  real = [os.path.realpath(w) for w in workdirs]
  twice = [w for w, r in zip(workdirs, real) if real.count(r) > 1]
  if twice:
    raise InputError(f'--compare: {twice[0]} is named twice; name each sweep once')
  names = [os.path.basename(os.path.normpath(w)) for w in workdirs]
  labels = names if len(set(names)) == len(names) else list(workdirs)
  runs = []
  for label, w in zip(labels, workdirs):
    try:
      runs.append((label, load.sweep_of(w), load.summary_of(w, '--compare')))
    except InputError as e:  # A file of its: the flag that named it, then the file.
      raise InputError(str(e) if str(e).startswith('--') else f'--compare: {e}') from None
  rows, notes = side_by_side.runs_table(runs, metric)
  text, paths = side_by_side.runs_markdown(rows, notes), []
  if out_dir:
    _make_out_dir(out_dir)
    md, table = (os.path.join(out_dir, f'{COMPARE}.{ext}') for ext in ('md', 'csv'))
    with files.atomic(md) as tmp, open(tmp, 'w', encoding='utf-8') as f:
      f.write(text + '\n')
    with files.atomic(table) as tmp, open(tmp, 'w', newline='', encoding='utf-8') as f:
      writer = csv.writer(f)
      flat = [{**{k: v for k, v in r.items() if k not in ('best_val', 'best_test')},
               **{f'{k}_{s}': (r[k] or {}).get(s) for k in ('best_val', 'best_test')
                  for s in ('mean', 'sd')}} for r in rows]
      writer.writerow(list(flat[0]))
      # Floats as scores are read: to float32's precision, its shortest decimals.
      cell = lambda v: (files.short_float(float(np.float32(v))) if isinstance(v, float)
                        else v)
      writer.writerows([[cell(v) for v in r.values()] for r in flat])
    paths = [md, table]
    tables = [load.load(w) for w in workdirs]
    if metric:  # runs_table has checked that every sweep recorded it.
      tables = [dataclasses.replace(t, shown=metric, shown_mode=(
          'max' if metric in load.HIGHER_IS_BETTER else 'min')) for t in tables]
    try:
      paths += compare_plot.plot_compare(
          list(zip(labels, tables)), out_dir, log=log,
          val_kinds={r['run']: r['val_kind'] for r in rows})
    except Exception:  # pylint: disable=broad-except
      log(f'figures: compare figure failed:\n{traceback.format_exc()}')
  return text, paths
