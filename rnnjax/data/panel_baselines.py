"""A panel's benchmarks, forecast and scored as the competitions score them.

On validation (each series' part before its validation origin -> the next `horizon`
points) and on test (the whole train part -> the test part): the naive forecast, the
seasonal naive (with a season), Naive2 (M3/M4's seasonally adjusted naive, the OWA
reference); on test also statsforecast's AutoETS, AutoTheta and AutoARIMA fitted per
series (the optional `rnnjax[classical]`), and where a bundled panel has them the M3
competitors' submitted forecasts. Scores: competition.py's sMAPE, MASE and OWA,
averaged over the series a split weighs (validation leaves out series too short to
have one, see panel.py).
"""

import importlib.resources

import numpy as np

from rnnjax.data import competition

SUBMITTED = 'm3_competition_forecasts.csv'
# Submitted methods shown beside the networks: the M3 winner, the best commercial
# package, the competition's neural network and its reference.
SHOWN = ('THETA', 'ForecastPro', 'AUTOANN', 'NAIVE2')


def _naive_forecasts(parts, horizon, season) -> dict:
  out = {'naive': np.stack([competition.naive(p, horizon) for p in parts]),
         'naive2': np.stack([competition.naive2(p, horizon, season) for p in parts])}
  if season > 1:
    out['seasonal_naive'] = np.stack([competition.seasonal_naive(p, horizon, season)
                                      for p in parts])
  return out


def baselines(panel, arrays, *, horizon: int, season: int, dataset: str = '',
              classical: bool = True) -> tuple[dict, dict, tuple]:
  """(name -> split -> {'smape', 'mase', 'owa'}, split -> <float32>[2] Naive2's sMAPE
  and MASE (the OWA reference the task's scores use), notes).

  arrays: panel.windows' splits (their y, mase_scale and weight are what is scored).
  """
  origin = lambda v: len(v) - horizon
  parts = {'val': [v[:max(1, origin(v))] for v in panel.train], 'test': list(panel.train)}
  table, reference, notes = {}, {}, ()
  for split, fitted in parts.items():
    y = arrays[split]['y'][..., 0].astype(np.float64)
    keep = arrays[split]['weight'] > 0
    scales = arrays[split]['mase_denom'].astype(np.float64)
    forecasts = _naive_forecasts(fitted, horizon, season)
    if split == 'test':
      if classical:
        fitted_stat, stat_notes = competition.statistical(fitted, horizon, season)
        forecasts.update(fitted_stat)
        notes += tuple(stat_notes)
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
  return table, reference, notes
