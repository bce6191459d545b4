"""statsforecast's automatic models fitted to every series of a panel alone, in parallel.

AutoETS, AutoTheta and AutoARIMA (Hyndman & Khandakar 2008; Assimakopoulos & Nikolopoulos
2000), the statistics a global network is measured against, and the models for
intermittent series (sales with many zeros), from the optional extra `rnnjax[classical]`.
A panel's benchmarks (panel_baselines.py) fit them through a cache; scores/competition.py scores
their forecasts.
"""

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import time
import warnings

import numpy as np

from rnnjax.data import classical
from rnnjax.data.scores import competition

METHODS = ('AutoETS', 'AutoTheta', 'AutoARIMA')
# statsforecast's models for intermittent series (sales with many zeros: Croston's method
# with its smoothing optimised, and the temporal aggregations ADIDA and IMAPA), which
# --benchmarks may name beside them.
INTERMITTENT = ('CrostonOptimized', 'ADIDA', 'IMAPA')
POLL_S = 1.0  # Seconds between `report` calls while processes fit.
# `estimate` fits at most this many series, and stops after about this many seconds.
SAMPLE, SAMPLE_S = 8, 3.0


def fit(trains, h, season, methods=METHODS, *, n_jobs=None, ids=None, known=None,
        on_fit=None, report=None):
  """statsforecast's automatic models fitted to each series alone, and notes.

  Args:
    trains: S 1-D arrays, the train parts (any lengths).
    h: the steps to forecast from the end of each.
    season: the season length (0 or 1: none). ETS and ARIMA keep at most
      classical.ETS_MAX_SEASON / ARIMA_MAX_SEASON seasonal states; a longer season is fitted
      without a seasonal component, with a note.
    methods: names among METHODS and INTERMITTENT.
    ids: the series' names, for the notes (default: their positions).
    n_jobs: processes (default: every core); 1 fits in this process. Workers are spawned, not
      forked, so that a caller that has started JAX's threads can use them; a script that
      calls this needs the `if __name__ == '__main__':` guard (absl's entry points have it).
    known: {position: {method: <float64>[h] or an error's text}}, series already fitted (a
      cache's): not fitted again, and noted as if they were.
    on_fit: called with (position, {method: forecast or error text}) as each series is
      fitted (in this process), e.g. to cache it at once.
    report: called with (series fitted, series to fit) after each series, and about every
      POLL_S seconds while processes fit, e.g. to say how far the fits are.

  Cost, CPU-seconds over both processes of a 2-core EPYC (the wall is about half on an idle
  machine): M1 monthly (617 series, h 18, season 12) AutoETS 75, AutoTheta 14, AutoARIMA 800;
  M3 yearly (645, h 6) 12, 12, 200; M1 quarterly (203, h 8, season 4) 21, 10, 155. AutoARIMA's
  approximation=True halves its time but was worse than Naive2 on M1 monthly's validation parts.

  Returns:
    ({method: <float64>[S, h]}, notes). A series a model cannot fit (an error or non-finite
    forecasts) gets the naive forecast, with a note; a model that fits no series is left out,
    with a note. Without statsforecast: ({}, (a note saying how to install it,)).
  """
  unknown = [m for m in methods if m not in METHODS + INTERMITTENT]
  if unknown:
    raise ValueError(f'fit: unknown methods {unknown}; known: '
                     f'{", ".join(METHODS + INTERMITTENT)}')
  try:
    import statsforecast  # pylint: disable=g-import-not-at-top  # Optional.
    del statsforecast  # Only whether it is there: the fits import its models.
  except ImportError:
    return {}, (f'{", ".join(methods)} skipped: statsforecast is not installed '
                f'({classical.INSTALL_HINT})',)
  trains = [competition.series(v) for v in trains]
  season = max(int(season), 1)
  notes = [f'{m}: season {season} > {limit}, fitted without a seasonal component'
           for m, limit in (('AutoETS', classical.ETS_MAX_SEASON),
                            ('AutoARIMA', classical.ARIMA_MAX_SEASON))
           if m in methods and season > limit]
  todo = [i for i in range(len(trains)) if i not in (known or {})]
  fits = {i: dict(known[i]) for i in (known or {})}
  n_jobs = max(1, min(n_jobs or os.cpu_count() or 1, len(todo)))
  with contextlib.closing(_fit_each([trains[i] for i in todo], h, season, methods, n_jobs,
                                    report or (lambda done, total: None))) as each:
    for i, fitted in each:
      fits[todo[i]] = fitted
      if on_fit is not None:
        on_fit(todo[i], fitted)
  out = {}
  for method in methods:
    per_series = [fits[i][method] for i in range(len(trains))]
    failed = [i for i, fit in enumerate(per_series) if isinstance(fit, str)]
    if len(failed) == len(trains):
      notes.append(f'{method} skipped: it fitted no series ({per_series[0]})')
      continue
    if failed:
      named = ([str(ids[i]) for i in failed[:10]] if ids is not None else failed[:10])
      sizes = sorted(len(trains[i]) for i in failed)  # Often too short for the method.
      points = (f'{sizes[0]}' if sizes[0] == sizes[-1] else f'{sizes[0]} to {sizes[-1]}')
      notes.append(f'{method}: no forecast for {len(failed)} of {len(trains)} series '
                   f'({"ids" if ids is not None else "positions"} {named}'
                   f'{" ..." if len(failed) > 10 else ""}, of {points} points; first: '
                   f'{per_series[failed[0]]}): the naive forecast in their place')
    out[method] = np.stack([competition.naive(trains[i], h) if isinstance(fit, str) else fit
                            for i, fit in enumerate(per_series)])
  return out, tuple(notes)


def estimate(trains, h, season, methods=METHODS, *, n_jobs=None, warm_s=None) -> tuple:
  """(seconds, series fitted here, warm_s): about how long `fit` would take on `trains`
  with `n_jobs` processes (1: in this process; default every core), from a few of them
  fitted here (nothing kept): up to SAMPLE spread over their lengths (a fit's time grows
  with its series'), from the median out, until about SAMPLE_S seconds are spent. Before
  them the shortest is fitted unless `warm_s` is given: its time, statsforecast's import and
  numba's compilation, which every fitting process pays first, is counted once for the
  processes (they start together), and once for this process where `warm_s` was not
  given (later calls fit in a warm process). (0, 0, warm_s) without statsforecast."""
  try:
    import statsforecast  # pylint: disable=g-import-not-at-top  # Optional.
    del statsforecast
  except ImportError:
    return 0.0, 0, warm_s or 0.0
  trains = sorted((competition.series(v) for v in trains), key=len)
  if not trains:
    return 0.0, 0, warm_s or 0.0
  season, k = max(int(season), 1), min(SAMPLE, len(trains))
  picks = [trains[(len(trains) - 1) * i // max(k - 1, 1)] for i in range(k)]
  first = warm_s is None
  if first:  # The shortest: the start-up, and as little of a fit as there is.
    start = time.perf_counter()
    _fit_series(methods, season, h, picks[0])
    warm_s = time.perf_counter() - start
  # The median length first, then pairs about it: where SAMPLE_S cuts the sample short
  # (long series, minutes a fit), what was fitted is typical, not the short or long end.
  picks = [picks[i] for i in sorted(range(k), key=lambda i: abs(i - (k - 1) / 2))]
  spent = fitted = 0
  for v in picks:
    if fitted and spent >= SAMPLE_S:
      break
    start = time.perf_counter()
    _fit_series(methods, season, h, v)
    spent, fitted = spent + time.perf_counter() - start, fitted + 1
  jobs = max(1, min(n_jobs or os.cpu_count() or 1, len(trains)))
  return (len(trains) * spent / fitted / jobs + (warm_s if jobs > 1 or first else 0.0),
          fitted, warm_s)


def _fit_each(trains, h, season, methods, n_jobs, report):
  """Yields (i, {method: <float64>[h] or the error's text}) as each series is fitted, in
  this process (n_jobs 1) or in `n_jobs` spawned ones; `report(done, total)` is called
  after each series and, while processes fit, about every POLL_S seconds. On any
  exception here (a stop signal's, a Ctrl-C's) the processes are ended at once, not left
  to finish the queue."""
  total = len(trains)
  if n_jobs == 1:
    for i, v in enumerate(trains):
      yield i, _fit_series(methods, season, h, v)
      report(i + 1, total)
    return
  pool = concurrent.futures.ProcessPoolExecutor(
      n_jobs, mp_context=multiprocessing.get_context('spawn'), initializer=_worker_start)
  try:
    # Longest first, so that the last series to finish are short ones.
    order = sorted(range(total), key=lambda i: -len(trains[i]))
    pending = {pool.submit(_fit_series, methods, season, h, trains[i]): i for i in order}
    done = 0
    while pending:
      finished, _ = concurrent.futures.wait(
          pending, timeout=POLL_S, return_when=concurrent.futures.FIRST_COMPLETED)
      for future in finished:
        done += 1
        yield pending.pop(future), future.result()
      report(done, total)
  except BaseException:
    # A fit mid-way takes minutes on a long series: its process is ended, not waited for.
    processes = list((getattr(pool, '_processes', None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
      process.terminate()
    raise
  pool.shutdown(wait=True)


def _worker_start():
  # A Ctrl-C reaches the whole process group: the parent stops, and ends the workers.
  signal.signal(signal.SIGINT, signal.SIG_IGN)


def _fit_series(methods, season, h, v):
  """{method: <float64>[h] or the error's text} of each of `methods` fitted to `v`."""
  return {m: _fit_chunk(m, season, h, [v])[0] for m in methods}


def _fit_chunk(method, season, h, chunk):
  """[<float64>[h] or the error's text] of `method` fitted to each series of `chunk`."""
  from statsforecast import models as sf_models  # pylint: disable=g-import-not-at-top
  make = {
      'AutoETS': lambda: sf_models.AutoETS(
          season_length=season if season <= classical.ETS_MAX_SEASON else 1),
      'AutoTheta': lambda: sf_models.AutoTheta(season_length=season),
      # approximation=None: as auto.arima (and classical.py), CSS in the search for long series.
      'AutoARIMA': lambda: sf_models.AutoARIMA(
          season_length=season if season <= classical.ARIMA_MAX_SEASON else 1,
          approximation=None),
      'CrostonOptimized': sf_models.CrostonOptimized, 'ADIDA': sf_models.ADIDA,
      'IMAPA': sf_models.IMAPA,
  }[method]
  out = []
  for v in chunk:
    try:
      with warnings.catch_warnings():
        # The searches try and discard models with as many parameters as points (and
        # AutoARIMA says when it differences 3 times or stops at nmodels): clutter.
        warnings.simplefilter('ignore', RuntimeWarning)
        warnings.simplefilter('ignore', UserWarning)
        f = np.asarray(make().forecast(y=v, h=h)['mean'], np.float64)
      out.append(f if f.shape == (h,) and np.isfinite(f).all() else
                 f'non-finite or misshapen forecasts {f.shape}')
    except Exception as err:  # pylint: disable=broad-except  # One series must not stop a panel.
      out.append(f'{type(err).__name__}: {err}')
  return out
