"""statsforecast's automatic models fitted to every series of a panel alone, in parallel.

AutoETS, AutoTheta and AutoARIMA (Hyndman & Khandakar 2008; Assimakopoulos & Nikolopoulos
2000), the statistics a global network is measured against, and the models for
intermittent series (sales with many zeros), from the optional extra `rnnjax[classical]`.
A panel's benchmarks (panel_baselines.py) fit them through a cache; competition.py scores
their forecasts.
"""

import concurrent.futures
import multiprocessing
import os
import warnings

import numpy as np

from rnnjax.data import classical
from rnnjax.data import competition

METHODS = ('AutoETS', 'AutoTheta', 'AutoARIMA')
# statsforecast's models for intermittent series (sales with many zeros: Croston's method
# with its smoothing optimised, and the temporal aggregations ADIDA and IMAPA), which
# --benchmarks may name beside them.
INTERMITTENT = ('CrostonOptimized', 'ADIDA', 'IMAPA')


def fit(trains, h, season, methods=METHODS, *, n_jobs=None, ids=None):
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
  n_jobs = max(1, min(n_jobs or os.cpu_count() or 1, len(trains)))
  # Interleaved chunks, a few per process, so that long and short series spread evenly.
  chunks = [list(range(len(trains)))[i::4 * n_jobs] for i in range(4 * n_jobs)]
  chunks = [c for c in chunks if c] if n_jobs > 1 else [list(range(len(trains)))]
  tasks = [(m, season, h, [trains[i] for i in c]) for m in methods for c in chunks]
  if n_jobs == 1:
    results = [_fit_chunk(*task) for task in tasks]
  else:
    with concurrent.futures.ProcessPoolExecutor(
        n_jobs, mp_context=multiprocessing.get_context('spawn')) as pool:
      results = list(pool.map(_fit_chunk, *zip(*tasks)))
  out = {}
  for k, method in enumerate(methods):
    fits = [None] * len(trains)
    for chunk, result in zip(chunks, results[k * len(chunks):(k + 1) * len(chunks)]):
      for i, fit in zip(chunk, result):
        fits[i] = fit
    failed = [i for i, fit in enumerate(fits) if isinstance(fit, str)]
    if len(failed) == len(trains):
      notes.append(f'{method} skipped: it fitted no series ({fits[0]})')
      continue
    if failed:
      named = ([str(ids[i]) for i in failed[:10]] if ids is not None else failed[:10])
      notes.append(f'{method}: no forecast for {len(failed)} of {len(trains)} series '
                   f'({"ids" if ids is not None else "positions"} {named}'
                   f'{" ..." if len(failed) > 10 else ""}; first: {fits[failed[0]]}): the '
                   'naive forecast in their place')
    out[method] = np.stack([competition.naive(trains[i], h) if isinstance(fit, str) else fit
                            for i, fit in enumerate(fits)])
  return out, tuple(notes)


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
