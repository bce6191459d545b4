"""Each series' test scores of a panel sweep: WORKDIR/series_scores.csv.

A panel's table (report.test_scores) averages sMAPE, MASE and RMSSE over series, and an
average hides where a model wins and where it loses: a few series with a large MASE
can outweigh many small wins. This file holds every series' test scores of the final
model and of each benchmark, by the code that averages them (data/scores/competition.py), in
long format: `unique_id,method,smape,mase,rmsse`, one row per series and method, the final
model first (data/scores/competition.py `series_scores` gives `write` its scores).
`pandas.read_csv(...).pivot(index='unique_id', columns='method')` puts the methods side
by side. `wins` counts the series on which the final model's score is below each
benchmark's; `paired_intervals` says how sure a difference of the means is: the mean over
series of the final model's score minus a benchmark's, with a 95 % interval from a
paired bootstrap over series (series drawn with replacement, both methods' scores of a
series kept together). On one split of a panel of a few hundred series, a difference of
the means can be much smaller than that interval. `describe_volumes` sets each method's
forecasts, summed over every series and step, beside the test part's actual total: a
score averaged over series can favour a model that forecasts far less than is sold
(MASE and sMAPE do, for series that are mostly 0: competition.mostly_zero).
"""

import csv
import os

import numpy as np

from rnnjax.data.scores import competition
from rnnjax.results import files

FINAL = 'final'  # The final model's method name in the file.
RESAMPLES = 5000  # Bootstrap samples of `paired_intervals`.
_CHUNK = 250  # Samples drawn at a time (memory: _CHUNK x series indices).
# Each series' scores as the file's columns (in order) and as lines and figures name them.
NAMES = {'smape': 'sMAPE', 'mase': 'MASE', 'rmsse': 'RMSSE'}


def ranked_by(selection: str | None, default: str) -> str:
  """The per-series score that follows a sweep's --selection (`selection`: the metric
  that ranked it) where it is one of NAMES, else `default` (OWA has no per-series
  value): what the log counts wins by and predict picks series by."""
  return selection if selection in NAMES else default


def wins(by_method: dict, metric: str = 'mase') -> dict:
  """{benchmark: (series where FINAL's `metric` is lower, series scored)}."""
  final = by_method[FINAL][metric]
  return {name: (int(np.sum(final < s[metric])), len(final))
          for name, s in by_method.items() if name != FINAL}


def paired_intervals(by_method: dict, metric: str = 'mase', resamples: int = RESAMPLES,
                     seed: int = 0) -> dict:
  """{benchmark: (mean, low, high)}: the mean over series of FINAL's `metric` minus the
  benchmark's, and the 2.5 % and 97.5 % quantiles of that mean over `resamples` paired
  bootstrap samples of the series. Series where either score is not finite are left
  out (all nan where none is left; low and high nan where one is: resampling one series
  gives it back every time, an interval of no width). The same `seed` gives the same
  intervals."""
  final = np.asarray(by_method[FINAL][metric], np.float64)
  out = {}
  for name, s in by_method.items():
    if name == FINAL:
      continue
    d = final - np.asarray(s[metric], np.float64)
    d = d[np.isfinite(d)]
    if len(d) < 2:
      out[name] = (float(d.mean()) if len(d) else np.nan, np.nan, np.nan)
      continue
    rng = np.random.default_rng(seed)
    draws = (rng.integers(0, len(d), (min(_CHUNK, resamples - k), len(d)))
             for k in range(0, resamples, _CHUNK))
    means = np.concatenate([d[i].mean(axis=1) for i in draws])
    low, high = np.quantile(means, [0.025, 0.975])
    out[name] = (float(d.mean()), float(low), float(high))
  return out


def write(workdir: str, ids, by_method: dict) -> str:
  """Writes WORKDIR/series_scores.csv (see the module docstring; a score that is not
  finite is an empty cell); returns its path."""
  cell = lambda v: f'{v:.6g}' if np.isfinite(v) else ''
  metrics = [m for m in NAMES if all(m in s for s in by_method.values())]
  path = os.path.join(workdir, files.SERIES_SCORES)
  with files.atomic(path) as tmp, open(tmp, 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(['unique_id', 'method'] + metrics)
    for i, key in enumerate(ids):
      for name, s in by_method.items():
        writer.writerow([key, name] + [cell(s[m][i]) for m in metrics])
  return path


def write_scored(workdir: str, ids, forecasts: dict, split: dict, counted: str = 'mase',
                 log=print) -> dict:
  """Scores each method's test `forecasts` ({method: <float>[S, h]}, the final model
  first) on the `split` they forecast (its y, mase_denom, rmsse_denom and, where it has
  one, `observed`: the steps scored, the others left out of volumes too), writes them
  (`write`) and logs what they say: the wins by `counted`, the volumes, and each
  metric's paired differences. Returns {metric: {benchmark: {mean, low, high}}}: the
  final model's mean difference from each benchmark with its 95 % interval, as logged."""
  y, observed = split['y'][..., 0], split.get('observed')
  by_method = competition.series_scores(forecasts, y, split['mase_denom'],
                                        split['rmsse_denom'], observed)
  path = write(workdir, ids, by_method)
  log(f'{path}: each series\' test scores; {describe(by_method, counted)}')
  log(describe_volumes(volumes(forecasts, y if observed is None else np.where(
      np.asarray(observed) > 0, y, np.nan))))
  paired = {}
  for metric in ('mase', 'smape', 'rmsse'):
    intervals = paired_intervals(by_method, metric)
    log(describe_differences(intervals, metric))
    paired[metric] = {name: dict(zip(('mean', 'low', 'high'), v))
                      for name, v in intervals.items()}
  return paired


def describe(by_method: dict, metric: str = 'mase') -> str:
  """One line: on how many series the final model beats each benchmark's `metric`."""
  counts = wins(by_method, metric)
  total = next(iter(counts.values()))[1] if counts else 0
  return (f'the final model\'s test {NAMES.get(metric, metric)} is lower than ' + ', '.join(
      f'{name}\'s on {n}' for name, (n, _) in counts.items()) + f' of {total} series')


def describe_differences(intervals: dict, metric: str = 'mase') -> str:
  """One line: `intervals` (`paired_intervals(by_method, metric)`) of every benchmark."""
  return (f'test {NAMES.get(metric, metric)}, the final model minus each benchmark '
          '(mean over series; 95 % paired bootstrap interval): ' + ', '.join(
              f'{name} {m:+.3g} ' + (f'[{lo:+.3g}, {hi:+.3g}]' if np.isfinite(lo) else
                                     '(no interval: one series)')
              if np.isfinite(m) else f'{name} nan' for name, (m, lo, hi) in intervals.items()))


def volumes(forecasts: dict, y) -> dict:
  """{method: (forecast total, actual total)}: each method's forecasts <[S, h]> summed over
  every series and step, and the test values `y` <[S, h]> summed alike (a step where y is
  not finite is left out of both, so every method has the same actual total)."""
  y = np.asarray(y, np.float64)
  ok = np.isfinite(y)
  actual = float(y[ok].sum())
  return {name: (float(np.asarray(f, np.float64)[ok].sum()), actual)
          for name, f in forecasts.items()}


def describe_volumes(totals: dict) -> str:
  """One line: `totals` (`volumes(...)`), each method's total and its difference from the
  actual one in per cent."""
  actual = next(iter(totals.values()))[1] if totals else 0.0
  share = lambda f, a: f' ({_percent(100 * (f - a) / a)})' if a else ''
  return ('test volume, the forecasts summed over every series and step against the '
          f'actual {_total(actual)}: ' + ', '.join(
              f'{name} {_total(f)}{share(f, a)}' for name, (f, a) in totals.items()))


def _percent(p: float) -> str:
  """+11 %, -0.3 % under 1 %, 0 % under 0.05 % (never '-0 %')."""
  if abs(p) < 0.05:
    return '0 %'
  return f'{p:+.1f} %' if abs(p) < 1 else f'{p:+.0f} %'


def _total(v: float) -> str:
  """6,687,240 for a large total (as a planner reads units), 3.5 or 0.0123 for a small one."""
  return f'{v:,.0f}' if abs(v) >= 1000 else f'{v:.4g}'
