"""Classical forecasting baselines: automatic ETS and ARIMA, as a forecasting user would fit.

Hyndman & Khandakar (2008), "Automatic time series forecasting: the forecast package
for R", through statsforecast's AutoETS and AutoARIMA (the optional extra
`rnnjax[classical]`; without it there are no classical baselines and one note says so).

One univariate model per target column. Its form and parameters are chosen once on a
fitting part of the series (the training part for validation windows; training and
validation for test windows) and then held fixed: for each window the model's state is
run over the actual observations up to the window's origin t (the model's `forward`),
and it forecasts the `horizon` points from t on, as the networks do. Nothing is refitted
on the part being scored.
"""

import time
import warnings

import numpy as np

from rnnjax.data import common

MODELS = ('ets', 'arima')
INSTALL_HINT = 'pip install "rnnjax[classical]"'
# ETS keeps at most 24 seasonal states (forecast::ets refuses longer seasons alike);
# a longer season is fitted without a seasonal component, and a note says so.
ETS_MAX_SEASON = 24
# AutoARIMA's seasonal search with a longer season runs Kalman filters of more than
# `season` states over thousands of points: co2_weekly (52) took 38 s a fit (two fits:
# validation, test), sunspots_monthly (132) over 5 minutes. Above it ARIMA is fitted
# non-seasonal (seconds), and a note says so.
ARIMA_MAX_SEASON = 24
# Seconds between progress lines while a model forecasts from its origins: an hourly
# year's seasonal ARIMA (season 24) runs ~0.13 s an origin, 7 minutes over ~3,000 origins.
PROGRESS_S = 30.0


class _Progress:
  """tick(n): n more origins of `total` forecast by `name`; a line at most every
  PROGRESS_S seconds, with the time left at the pace so far."""

  def __init__(self, name: str, total: int):
    self._name, self._total, self._done = name, total, 0
    self._start = self._last = time.monotonic()

  def __call__(self, n: int = 1) -> None:
    self._done += n
    now = time.monotonic()
    say = common.progress_say()
    if say is None or self._done >= self._total or now - self._last < PROGRESS_S:
      return
    self._last, elapsed = now, now - self._start
    left = elapsed / self._done * (self._total - self._done)
    say(f'{self._name} baseline: forecasts from {self._done:,} of {self._total:,} origins '
        f'in {common.duration(elapsed)}, about {common.duration(left)} left; '
        '--classical_baselines=false skips the classical baselines')


def forecasts(series, starts, fit_ends, *, horizon, season):
  """ETS and ARIMA forecasts of every window, and notes.

  Args:
    series: <float64>[N, C] the target columns in original units, gap-free.
    starts: split -> <int>[W] window origins t (targets t .. t + horizon - 1).
    fit_ends: split -> the number of leading points the split's models are fitted on
      (every origin of the split is at or after it).
    season: the season length; 0 or 1 for none.

  Returns:
    ({name: {split: <float64>[W, horizon, C]}}, notes): a model that cannot be fitted
    to some column is left out, with a note.
  """
  try:
    from statsforecast import models as sf_models  # Optional; slow to import (~3 s).
  except ImportError:
    return {}, (f'classical baselines (ETS, ARIMA) skipped: statsforecast is not '
                f'installed ({INSTALL_HINT})',)
  series = np.asarray(series, np.float64)
  season = max(int(season), 1)
  notes = []
  make = {
      'ets': lambda: sf_models.AutoETS(
          season_length=season if season <= ETS_MAX_SEASON else 1),
      # approximation=None: CSS during the search for long series, as auto.arima.
      'arima': lambda: sf_models.AutoARIMA(
          season_length=season if season <= ARIMA_MAX_SEASON else 1,
          approximation=None),
  }
  for name, limit in (('ets', ETS_MAX_SEASON), ('arima', ARIMA_MAX_SEASON)):
    if season > limit:
      notes.append(f'{name} baseline: season {season} > {limit}, fitted without a '
                   f'seasonal component')
  out = {}
  for name in MODELS:
    tick = _Progress(name.upper(), series.shape[1] * sum(len(t) for t in starts.values()))
    try:
      out[name] = {split: np.stack(
          [_forecast_column(make[name], series[:, c], t, fit_ends[split], horizon,
                            one_pass=name == 'ets', tick=tick)
           for c in range(series.shape[1])], axis=-1)
          for split, t in starts.items()}
    except Exception as err:  # A baseline must not stop the sweep; say why it is missing.
      notes.append(f'{name} baseline skipped: {type(err).__name__}: {err}')
  return out, tuple(notes)


def _forecast_column(make, y, t, fit_end, horizon, *, one_pass, tick=lambda n=1: None):
  """<float64>[W, horizon]: forecasts from each origin in `t` of one model fitted on
  y[:fit_end] and run forward, parameters fixed, over y[:t].

  one_pass: for horizon 1, read the fitted values of one forward run. They are ETS's
  one-step forecasts exactly; ARIMA's fitted values come from its residuals, which
  differ from its Kalman-state forecasts (by ~1e-4 relative on a seasonal model), so
  ARIMA forecasts from each origin. tick(n): n more origins forecast (`_Progress`).
  """
  with warnings.catch_warnings():
    # The search tries models with as many parameters as points (aicc: 0 / 0 on a
    # short series) and discards them, and ARIMA's "possible convergence problem"
    # (a UserWarning) comes with candidates it also weighs: noise in the log.
    warnings.simplefilter('ignore', RuntimeWarning)
    warnings.simplefilter('ignore', UserWarning)
    model = make().fit(y[:fit_end])
  if horizon == 1 and one_pass:
    # One pass: the fitted values of a forward run are the one-step forecasts, each
    # from the state after the observations before it.
    fitted = model.forward(y[:t.max() + 1], h=1, fitted=True)['fitted']
    tick(len(t))
    return np.asarray(fitted, np.float64)[t][:, None]
  out = []
  for origin in t:
    out.append(np.asarray(model.forward(y[:origin], h=horizon)['mean'], np.float64))
    tick()
  return np.stack(out)
