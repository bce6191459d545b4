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
  make = _models(sf_models, season)
  estimate = common.estimate('classical', Estimate)
  if estimate is not None:  # A dry run's: timed, not fitted.
    estimate.add(make, series, starts, fit_ends, horizon)
    return {}, ()
  notes = []
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


def _models(sf_models, season: int) -> dict:
  """name -> a function making the model (statsforecast's `models` module given)."""
  return {
      'ets': lambda: sf_models.AutoETS(
          season_length=season if season <= ETS_MAX_SEASON else 1),
      # approximation=None: CSS during the search for long series, as auto.arima.
      'arima': lambda: sf_models.AutoARIMA(
          season_length=season if season <= ARIMA_MAX_SEASON else 1,
          approximation=None),
  }


ORIGINS = 5  # Origins an estimate forecasts from, a model.


class Estimate:
  """What `forecasts` would take, estimated inside `common.estimating` (a dry run's):
  `seconds` in all, `spent` in the estimate itself, and `note()` to say so. Each call counts (a
  sweep's every lookback and fold fits its own); each model is timed once a series."""

  def __init__(self):
    self.seconds = self.spent = 0.0
    self.origins = self.calls = 0
    self._timed, self._warm = {}, False

  def add(self, make, series, starts, fit_ends, horizon) -> None:
    """Counts one `forecasts` call: each model fitted on the first split's fitting part
    and run forward from up to ORIGINS of its origins spread over them, timed (the first
    time the models are made here, after a fit of each on a short part: statsforecast's
    compilation, which the sweep's process pays once, counted once), times the splits and
    origins of every column."""
    start = time.perf_counter()
    first = min(fit_ends, key=fit_ends.get)
    y, origins = series[:, 0], np.sort(np.concatenate(list(starts.values())))
    if not len(origins):  # No window to forecast: nothing fitted.
      return
    key = common.values_key((fit_ends[first], horizon), [y])
    if not self._warm:
      self._warm = True
      self.seconds += _timed(lambda: [_time_model(f, y, min(fit_ends[first], 64), origins[:0],
                                                  horizon, one_pass=False)
                                      for f in make.values()])
    if key not in self._timed:
      picks = origins[np.linspace(0, len(origins) - 1, min(ORIGINS, len(origins))).astype(int)]
      self._timed[key] = {name: _time_model(f, y, fit_ends[first], picks, horizon,
                                            one_pass=name == 'ets')
                          for name, f in make.items()}
    for fit_s, origin_s, one_pass in self._timed[key].values():
      self.seconds += series.shape[1] * sum(
          fit_s + (origin_s if one_pass else origin_s * len(t)) for t in starts.values())
    self.origins += series.shape[1] * len(origins)
    self.calls += 1
    self.spent += time.perf_counter() - start

  def note(self) -> str:
    """The dry run's line on the classical baselines ('' where none would be fitted)."""
    if not self.calls:
      return ''
    return (f'the classical baselines (ETS, ARIMA) are not fitted in a dry run: fitted on '
            f'{self.calls} data set{"s" * (self.calls != 1)} (a lookback and fold each), '
            f'forecasting from {self.origins:,} origins, about '
            f'{common.duration(self.seconds)} (timed here on a fit and up to {ORIGINS} '
            'origins of each); --classical_baselines=false skips them')


def _timed(work) -> float:
  start = time.perf_counter()
  work()
  return time.perf_counter() - start


def _fit(make, y):
  """A model made by `make`, fitted to `y`."""
  with warnings.catch_warnings():
    # The search tries models with as many parameters as points (aicc: 0 / 0 on a
    # short series) and discards them, and ARIMA's "possible convergence problem"
    # (a UserWarning) comes with candidates it also weighs: noise in the log.
    warnings.simplefilter('ignore', RuntimeWarning)
    warnings.simplefilter('ignore', UserWarning)
    return make().fit(y)


def _time_model(make, y, fit_end, origins, horizon, *, one_pass) -> tuple:
  """(the fit's seconds, a forecast's from an origin (one_pass, at horizon 1: the one
  forward run's, over the latest origin), one_pass) of a model made by `make`, as
  `_forecast_column` fits it and runs it forward. A model that cannot be fitted: its
  seconds until it failed, none after (`forecasts` leaves it out)."""
  start = time.perf_counter()
  try:
    model = _fit(make, y[:fit_end])
  except Exception:  # pylint: disable=broad-except  # As `forecasts`: said when it runs.
    return time.perf_counter() - start, 0.0, True
  fit_s = time.perf_counter() - start
  if horizon == 1 and one_pass:
    return fit_s, _timed(lambda: model.forward(y[:origins.max() + 1], h=1, fitted=True)), True
  try:
    each = _timed(lambda: [model.forward(y[:t], h=horizon) for t in origins])
  except Exception:  # pylint: disable=broad-except
    each = 0.0
  return fit_s, each / max(len(origins), 1), False


def _forecast_column(make, y, t, fit_end, horizon, *, one_pass, tick=lambda n=1: None):
  """<float64>[W, horizon]: forecasts from each origin in `t` of one model fitted on
  y[:fit_end] and run forward, parameters fixed, over y[:t].

  one_pass: for horizon 1, read the fitted values of one forward run. They are ETS's
  one-step forecasts exactly; ARIMA's fitted values come from its residuals, which
  differ from its Kalman-state forecasts (by ~1e-4 relative on a seasonal model), so
  ARIMA forecasts from each origin. tick(n): n more origins forecast (`_Progress`).
  """
  model = _fit(make, y[:fit_end])
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
