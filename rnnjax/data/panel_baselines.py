"""A panel's benchmarks, forecast and scored as the competitions score them.

On validation (each series' part before its validation origin -> the next `horizon`
points) and on test (the whole train part -> the test part): the naive forecast, the
seasonal naive (with a season), Naive2 (M3/M4's seasonally adjusted naive, the OWA
reference), statsforecast's AutoETS, AutoTheta and AutoARIMA fitted per series (the
optional `rnnjax[classical]`; on validation too, so that a sweep can be compared
with them without looking at test), and on test, where a bundled panel has them, the
M3 competitors' submitted forecasts. Scores: competition.py's sMAPE, MASE and OWA,
averaged over the series a split weighs (validation leaves out series too short to
have one, see panel.py).

The statistical fits take minutes on a large panel (one model per series and method),
and give the same forecasts for the same series: they are kept in a cache
(`cache_dir()`, keyed by the series, horizon, season, methods and statsforecast's
version), so a flagfile run again, or another lookback of the same sweep, reads them.
"""

import hashlib
import importlib.metadata
import importlib.resources
import os
import time

import numpy as np

from rnnjax.data import competition
from rnnjax.data import statistical as statistical_lib

SUBMITTED = 'm3_competition_forecasts.csv'
# Submitted methods shown beside the networks: the M3 winner, the best commercial
# package, the competition's neural network and its reference.
SHOWN = ('THETA', 'ForecastPro', 'Auto-ANN', 'NAIVE2')
SERIAL_BELOW = 64  # Series; fewer are fitted in this process.


def _naive_forecasts(parts, horizon, season) -> dict:
  out = {'naive': np.stack([competition.naive(p, horizon) for p in parts]),
         'naive2': np.stack([competition.naive2(p, horizon, season) for p in parts])}
  if season > 1:
    out['seasonal_naive'] = np.stack([competition.seasonal_naive(p, horizon, season)
                                      for p in parts])
  return out


def cache_dir() -> str:
  """$RNNJAX_BASELINE_CACHE_DIR, else $XDG_CACHE_HOME/rnnjax/baselines, else
  ~/.cache/rnnjax/baselines ('' in the variable: no cache)."""
  if 'RNNJAX_BASELINE_CACHE_DIR' in os.environ:
    return os.environ['RNNJAX_BASELINE_CACHE_DIR']
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'rnnjax', 'baselines')


def statistical(parts, horizon: int, season: int,
                methods=statistical_lib.METHODS, ids=None) -> tuple[dict, tuple]:
  """statistical.fit's forecasts of `parts` by `methods`, through the cache."""
  methods = tuple(methods)
  try:
    version = importlib.metadata.version('statsforecast')
  except importlib.metadata.PackageNotFoundError:
    return statistical_lib.fit(parts, horizon, season, methods, ids=ids)  # A note says so.
  key = hashlib.sha256(repr((methods, horizon, season, version)).encode())
  if ids is not None:  # Named in the notes.
    key.update(repr(tuple(str(k) for k in ids)).encode())
  for v in parts:
    key.update(np.asarray(v, np.float64).tobytes() + b'|')
  directory = cache_dir()
  path = os.path.join(directory, key.hexdigest()[:32] + '.npz') if directory else ''
  if path and os.path.exists(path):
    with np.load(path, allow_pickle=False) as cached:
      notes = tuple(str(n) for n in cached['notes'])
      return {k: cached[k] for k in cached.files if k != 'notes'}, notes + (
          f'{", ".join(methods)}: read from the cache {path}',)
  start = time.perf_counter()
  # A few series fit faster here than through processes that import statsforecast anew.
  forecasts, notes = statistical_lib.fit(parts, horizon, season, methods, ids=ids,
                                        n_jobs=1 if len(parts) < SERIAL_BELOW else None)
  notes = tuple(notes) + (f'{", ".join(forecasts)} fitted on {len(parts)} series in '
                          f'{time.perf_counter() - start:.0f} s',)
  if path and forecasts:
    try:
      os.makedirs(directory, exist_ok=True)
      tmp = f'{path}.{os.getpid()}.tmp.npz'
      np.savez(tmp, notes=np.asarray(notes[:-1], dtype=str), **forecasts)
      os.replace(tmp, path)
    except OSError:
      pass  # A cache that cannot be written is no cache; the forecasts stand.
  return forecasts, notes


def baselines(panel, arrays, *, horizon: int, season: int, dataset: str = '',
              methods=statistical_lib.METHODS) -> tuple[dict, dict, tuple, dict]:
  """(name -> split -> {'smape', 'mase', 'owa'}, split -> <float32>[2] Naive2's sMAPE
  and MASE (the OWA reference the task's scores use), notes, name -> <float64>[S,
  horizon] each benchmark's forecasts of the test part, for each series' scores).

  arrays: panel_windows.windows' splits (their y, mase_denom and weight are what is scored).
  methods: the statsforecast models fitted on each split (none: no statistical fits).
  """
  origin = lambda v: len(v) - horizon
  parts = {'val': [v[:max(1, origin(v))] for v in panel.train], 'test': list(panel.train)}
  table, reference, notes = {}, {}, ()
  for split, fitted in parts.items():
    y = arrays[split]['y'][..., 0].astype(np.float64)
    keep = arrays[split]['weight'] > 0
    scales = arrays[split]['mase_denom'].astype(np.float64)
    forecasts = _naive_forecasts(fitted, horizon, season)
    if methods:
      fitted_stat, stat_notes = statistical(fitted, horizon, season, methods, panel.ids)
      forecasts.update(fitted_stat)
      notes += tuple(f'{split}: {n}' for n in stat_notes)
    if split == 'test':
      if dataset.startswith('m3_'):
        path = importlib.resources.files('rnnjax.data') / 'panels' / SUBMITTED
        given = competition.submitted(str(path), panel.ids, horizon)
        forecasts.update({name: f for name, f in given.items() if name in SHOWN})
    scored = competition.scores({k: f[keep] for k, f in forecasts.items()}, y[keep],
                                scales[keep], reference='naive2')
    for name, metrics in scored.items():
      table.setdefault(name, {})[split] = metrics
    reference[split] = np.asarray([scored['naive2']['smape'], scored['naive2']['mase']],
                                  np.float32)
  return table, reference, notes, forecasts  # The loop's last split: test.
