"""A panel's benchmarks, forecast and scored as the competitions score them.

On validation (each series' part before its validation origin -> the next `horizon`
points) and on test (the whole train part -> the test part): the naive forecast, the
seasonal naive (with a season), Naive2 (M3/M4's seasonally adjusted naive, the OWA
reference), where some series are mostly 0 (slow movers) a forecast of 0 (`zero`: what
MASE and sMAPE favour there, so that a model that forecasts next to nothing is seen to
score as one that does), statsforecast's AutoETS, AutoTheta and AutoARIMA fitted per series (the
optional `rnnjax[classical]`; on validation too, so that a sweep can be compared
with them without looking at test), and on test, where a bundled panel has them, the
M3 competitors' submitted forecasts. Scores: scores/competition.py's sMAPE, MASE, OWA and RMSSE,
averaged over the series a split weighs (validation leaves out series too short to
have one, see panel.py).

The statistical fits take minutes on a large panel (one model per series and method),
hours on long hourly series, and give the same forecasts for the same series: each
series' fits are kept in a cache as soon as they are made (`cache_dir()`, keyed by the
series, horizon, season, methods and statsforecast's version), so a flagfile run again,
or a run stopped part-way, reads them; another lookback or fold of the same sweep takes
this process's last fits (`_LAST_FITS`), with the cache or without it. Inside
`common.reporting(say)` the fits say how far they are, and about how long the rest will
take.
"""

import hashlib
import importlib.metadata
import importlib.resources
import os
import time

import numpy as np

from rnnjax.data import common
from rnnjax.data.scores import competition
from rnnjax.data import statistical as statistical_lib

_SPLITS = {'val': 'validation', 'test': 'test'}
SUBMITTED = 'm3_competition_forecasts.csv'
# Submitted methods shown beside the networks: the M3 winner, the best commercial
# package, the competition's neural network and its reference.
SHOWN = ('THETA', 'ForecastPro', 'Auto-ANN', 'NAIVE2')
# Fewer series than this, of fewer points in all, are fitted in this process (faster
# than processes that import statsforecast anew); long hourly series are not.
SERIAL_BELOW, SERIAL_POINTS = 64, 20_000
# The benchmark that forecasts 0 everywhere, shown where some series are mostly 0
# (competition.mostly_zero): the score of a model that forecasts nothing.
ZERO = 'zero'
PROGRESS_S, FIRST_S = 30.0, 10.0  # Seconds between progress lines, and to the first.
# The time left is estimated from the pace after the first series fitted (start-up
# left out), once this many more are fitted or this many seconds have passed.
ESTIMATE_AFTER, ESTIMATE_S = 3, 30.0
# This process's last fits, by every series fitted, the horizon, season, methods and
# statsforecast's version: a sweep's every lookback and fold scores the same series, and
# with the cache off (an empty $RNNJAX_BASELINE_CACHE_DIR) each fitted them all again
# (hours on 30,000 weekly series); with it on, each read one file per series again.
_LAST_FITS, _LAST_FITS_SIZE = {}, 2


def _naive_forecasts(parts, horizon, season) -> dict:
  out = {'naive': np.stack([competition.naive(p, horizon) for p in parts]),
         'naive2': np.stack([competition.naive2(p, horizon, season) for p in parts])}
  if season > 1:
    out['seasonal_naive'] = np.stack([competition.seasonal_naive(p, horizon, season)
                                      for p in parts])
  return out


def _zero_note(ids, sparse, horizon) -> str:
  """The log line saying why a panel of slow movers is scored beside forecasts of 0."""
  named = ', '.join(repr(ids[i]) for i in np.flatnonzero(sparse)[:3])
  return (f'{int(sparse.sum())} of {len(sparse)} series are 0 at half or more of their '
          f'points before test (e.g. {named}): a forecast of 0 has their least absolute '
          f'error, so MASE scores it well and sMAPE best (0 at each zero, 200 at any other '
          f'forecast), whatever they sell; the {ZERO!r} row forecasts 0 for every series. A '
          f'model trained on --loss=mae or mase drifts towards it, and ranking by MASE, '
          f'sMAPE or OWA favours the members that forecast least: such a model forecasts '
          f'less than they sell, which the test volume line shows (the {horizon} steps\' '
          f'total against the actual one); --loss=mse trains towards the mean, --loss=rmsse '
          f'on M5\'s scaled squared error, and --selection=rmsse ranks by that score (RMSSE, '
          f'in the tables)')


def cache_dir() -> str:
  """$RNNJAX_BASELINE_CACHE_DIR, else $XDG_CACHE_HOME/rnnjax/baselines, else
  ~/.cache/rnnjax/baselines ('' in the variable: no cache)."""
  if 'RNNJAX_BASELINE_CACHE_DIR' in os.environ:
    return os.environ['RNNJAX_BASELINE_CACHE_DIR']
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'rnnjax', 'baselines')


class _Progress:
  """report(done, total) for statistical.fit: a line at most every PROGRESS_S seconds
  (the first after FIRST_S, once a series is fitted), with an estimate of the time left,
  `later` series of the next split included. The estimate is the pace since the first
  series was fitted, not since the start: the first waits on the fitting processes'
  start-up (a 3-minute fit was once said to have 28 min left). It is given once
  ESTIMATE_AFTER more series are fitted, or ESTIMATE_S seconds have passed, since."""

  def __init__(self, say, methods, split: str, later: int):
    self._say, self._methods, self._split, self._later = say, methods, split, later
    self._start = self._last = time.monotonic()
    self._said = False
    self._first = None  # (time, done) when a series was first seen fitted.

  def __call__(self, done: int, total: int) -> None:
    now = time.monotonic()
    elapsed = now - self._start
    if done and self._first is None:
      self._first = (now, done)
    due = (now - self._last >= PROGRESS_S) or (not self._said and done and elapsed >= FIRST_S)
    if done == total or not due:
      return
    self._last, self._said = now, True
    where = f' on {self._split}' if self._split else ''
    line = (f'{", ".join(self._methods)}{where}: {done} of {total} series fitted in '
            f'{common.duration(elapsed)}')
    since, more = (now - self._first[0], done - self._first[1]) if self._first else (0, 0)
    if more and (more >= ESTIMATE_AFTER or since >= ESTIMATE_S):
      left = since / more * (total - done + self._later)
      line += f', about {common.duration(left)} left' + (
          f' (with the next split\'s {self._later})' if self._later else '')
    elif done:
      line += ', the time left said once a few more are fitted'
    self._say(line + '; --classical_baselines=false skips them' + (
        ', --benchmarks without AutoARIMA (most of their time) speeds them'
        if 'AutoARIMA' in self._methods and len(self._methods) > 1 else '') +
              ' (the series fitted so far are cached)')


def statistical(parts, horizon: int, season: int, methods=statistical_lib.METHODS,
                ids=None, *, split: str = '', later: int = 0) -> tuple[dict, tuple]:
  """statistical.fit's forecasts of `parts` by `methods`, each series through the cache
  (so that fits stopped part-way keep the series they finished). `split` and `later`
  (series of the next split still to fit) are for the progress lines (`common.reporting`)."""
  methods = tuple(methods)
  try:
    version = importlib.metadata.version('statsforecast')
  except importlib.metadata.PackageNotFoundError:
    return statistical_lib.fit(parts, horizon, season, methods, ids=ids)  # A note says so.
  key = common.values_key((methods, horizon, season, version, ids), parts)
  estimate = common.estimate('benchmarks', Estimate)
  if estimate is not None:  # A dry run's: timed, not fitted.
    if key not in _LAST_FITS:  # (This process's fits are not fitted again.)
      estimate.add(key, parts, horizon, season, methods, version, split)
    return {}, ()
  forecasts, notes = common.kept(
      _LAST_FITS, _LAST_FITS_SIZE, key, lambda: _through_cache(
          parts, horizon, season, methods, ids, version, split=split, later=later))
  return {m: np.array(f) for m, f in forecasts.items()}, notes


class Estimate:
  """What `statistical`'s fits would take, estimated inside `common.estimating` (a dry
  run's): `seconds` in all, `spent` in the estimate itself (its sample's fits), and
  `note()` to say so."""

  def __init__(self):
    self.seconds = self.spent = 0.0
    self.methods, self.splits, self.fitted, self._warm_s, self._keys = (), [], 0, None, set()

  def add(self, key, parts, horizon, season, methods, version, split) -> None:
    """Counts one `statistical` call's fits (once per `key`: each lookback's data asks
    for the same): its series not in the cache, timed (statistical.estimate) with the
    processes `_through_cache` would fit them in."""
    if key in self._keys:
      return
    start = time.perf_counter()
    self._keys.add(key)
    directory = cache_dir()
    todo = [v for v in parts if not (directory and os.path.exists(
        _series_path(directory, v, methods, horizon, season, version)))]
    serial = len(todo) < SERIAL_BELOW and sum(map(len, todo)) < SERIAL_POINTS
    seconds, fitted, self._warm_s = statistical_lib.estimate(
        todo, horizon, season, methods, n_jobs=1 if serial else None, warm_s=self._warm_s)
    self.seconds, self.fitted = self.seconds + seconds, self.fitted + fitted
    self.methods = tuple(dict.fromkeys(self.methods + tuple(methods)))
    self.splits.append((_SPLITS.get(split, split), len(todo), len(parts)))
    self.spent += time.perf_counter() - start

  def note(self) -> str:
    """The dry run's line on the benchmarks ('' where none would be fitted)."""
    if not self.splits:
      return ''
    parts = ', '.join(f'{n} of {total} series\' {split} parts' if split else f'{n} of {total}'
                      for split, n, total in self.splits)
    named = ', '.join(self.methods)
    if not any(n for _, n, _ in self.splits):
      return (f'the benchmarks ({named}): every series\' fits are in the cache '
              f'{cache_dir()}, read, not fitted ({parts} to fit)')
    kept = ('each series is cached once fitted, and read, not fitted, the next time'
            if cache_dir() else 'no cache ($RNNJAX_BASELINE_CACHE_DIR is empty): fitted '
            'again on every run')
    return (f'the benchmarks ({named}) are not fitted in a dry run: {parts} to fit, about '
            f'{common.duration(self.seconds)} (timed on {self.fitted} of them here); {kept}')


def _through_cache(parts, horizon, season, methods, ids, version, *, split, later):
  directory = cache_dir()
  paths = [_series_path(directory, v, methods, horizon, season, version) if directory
           else '' for v in parts]
  known = {}
  for i, path in enumerate(paths):
    fitted = _read(path, methods) if path else None
    if fitted is not None:
      known[i] = fitted

  def keep(i, fitted):
    if paths[i]:
      _write(paths[i], fitted)

  todo = [v for i, v in enumerate(parts) if i not in known]
  serial = len(todo) < SERIAL_BELOW and sum(map(len, todo)) < SERIAL_POINTS
  start = time.perf_counter()
  say = common.progress_say()
  report = _Progress(say, methods, split, later) if say and todo else None
  forecasts, notes = statistical_lib.fit(parts, horizon, season, methods, ids=ids,
                                         n_jobs=1 if serial else None, known=known,
                                         on_fit=keep, report=report)
  cached = f'read from the cache {directory}'
  if not todo:
    return forecasts, notes + (f'{", ".join(methods)}: {cached}',)
  return forecasts, notes + (
      f'{", ".join(forecasts) or ", ".join(methods)} fitted on {len(todo)} series in '
      f'{time.perf_counter() - start:.0f} s' + (f' ({len(known)} {cached})' if known else ''),)


def _series_path(directory, values, methods, horizon, season, version) -> str:
  key = hashlib.sha256(repr((methods, horizon, season, version)).encode())
  key.update(np.asarray(values, np.float64).tobytes())
  return os.path.join(directory, key.hexdigest()[:32] + '.npz')


def _read(path: str, methods) -> dict | None:
  """{method: <float64>[h] or an error's text} cached at `path`, or None."""
  if not os.path.exists(path):
    return None
  try:
    with np.load(path, allow_pickle=False) as cached:
      return {m: str(cached[m]) if cached[m].dtype.kind == 'U' else cached[m]
              for m in methods}
  except Exception:  # pylint: disable=broad-except  # A damaged entry is fitted again.
    return None


def _write(path: str, fitted: dict) -> None:
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp.npz'
    np.savez(tmp, **{m: np.asarray(f) for m, f in fitted.items()})
    os.replace(tmp, path)
  except OSError:
    pass  # A cache that cannot be written is no cache; the forecasts stand.


def baselines(panel, arrays, *, horizon: int, season: int, dataset: str = '',
              methods=statistical_lib.METHODS) -> tuple[dict, dict, tuple, dict]:
  """(name -> split -> {'smape', 'mase', 'owa', 'rmsse'}, split -> <float32>[2] Naive2's sMAPE
  and MASE (the OWA reference the task's scores use), notes, name -> <float64>[S,
  horizon] each benchmark's forecasts of the test part, for each series' scores).

  arrays: panel_windows.windows' splits (their y, mase_denom, rmsse_denom and weight are
  what is scored; a step of a split's `observed`, where it has one, only where it is 1:
  Naive2's validation reference too).
  methods: the statsforecast models fitted on each split (none: no statistical fits).
  """
  origin = lambda v: len(v) - horizon
  parts = {'val': [v[:max(1, origin(v))] for v in panel.train], 'test': list(panel.train)}
  table, reference, notes = {}, {}, ()
  sparse = competition.mostly_zero(panel.train)
  if sparse.any():
    notes += (_zero_note(panel.ids, sparse, horizon),)
  for split, fitted in parts.items():
    y = arrays[split]['y'][..., 0].astype(np.float64)
    keep = arrays[split]['weight'] > 0
    scales = arrays[split]['mase_denom'].astype(np.float64)
    forecasts = _naive_forecasts(fitted, horizon, season)
    if sparse.any():
      forecasts[ZERO] = np.zeros((len(fitted), horizon))
    if methods:
      fitted_stat, stat_notes = statistical(
          fitted, horizon, season, methods, panel.ids, split=_SPLITS[split],
          later=len(parts['test']) if split == 'val' else 0)
      forecasts.update(fitted_stat)
      notes += tuple(f'{split}: {n}' for n in stat_notes)
    if split == 'test':
      if dataset.startswith('m3_'):
        path = importlib.resources.files('rnnjax.data') / 'panels' / SUBMITTED
        given = competition.submitted(str(path), panel.ids, horizon)
        forecasts.update({name: f for name, f in given.items() if name in SHOWN})
    # The targets are held in float32 (panel_windows): forecasts are scored as float32
    # too, so that one repeating a value exactly (Naive2 of a constant series) scores 0,
    # not float32's rounding of that value (an OWA of 1e5 instead of an undefined one).
    forecasts = {k: np.asarray(f, np.float32).astype(np.float64)
                 for k, f in forecasts.items()}
    observed = arrays[split].get('observed')  # Empty cells (filled): not scored.
    scored = competition.scores(
        {k: f[keep] for k, f in forecasts.items()}, y[keep], scales[keep], reference='naive2',
        rmsse_scales=arrays[split]['rmsse_denom'][keep].astype(np.float64),
        observed=None if observed is None else observed[keep])
    for name, metrics in scored.items():
      table.setdefault(name, {})[split] = metrics
    reference[split] = np.asarray([scored['naive2']['smape'], scored['naive2']['mase']],
                                  np.float32)
  return table, reference, notes, forecasts  # The loop's last split: test.
