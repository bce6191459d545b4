"""A sweep's final model, loaded: forecast, classify, score and sample new data.

  model = rnnjax.load('runs/quickstart')          # reads WORKDIR/model/ (model_files.py)
  fc = model.forecast(history, steps=12)          # forecasting: points and intervals
  model.predict_proba(sequences), model.predict(sequences)   # classification
  model.sample(prompt, num_chars=200), model.bits_per_char(text)  # character LM

Every member's outputs come from the engine's own program (population.py
`population_outputs_fn`: jitted, the members as one population on whatever devices JAX
sees, each call one batch of every example given), and the model averages them with
the members' weights as the sweep's summary did (forecasts: scaled predictions;
classes and characters: probabilities), so scoring the test part here gives the
summary's test figures.

Forecasting past the horizon feeds forecasts back: the model forecasts `horizon` steps
from the last `lookback` points, appends them to the history as if observed, and goes
on. With input columns, their future values must be given (`future_inputs`).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.data import classify
from rnnjax.data import text
from rnnjax.engine import distributed
from rnnjax.engine import generate
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.final import model_files
from rnnjax.results import files

DEFAULT_LEVELS = (0.8, 0.95)


def load(workdir: str) -> 'TunedModel':
  """The final model of the finished sweep in `workdir`; InputError when there is none
  or its files are damaged. Messages name the argument (`workdir: ...`), as every
  InputError of this module does; experiments/predict.py turns names into flags."""
  if not os.path.isdir(workdir):
    problem = 'not a directory' if os.path.exists(workdir) else 'no such directory'
    raise InputError(f'workdir: {workdir}: {problem}')
  if not os.path.exists(os.path.join(workdir, files.SUMMARY)):
    raise InputError(f'workdir: {workdir} holds no finished sweep (no {files.SUMMARY}); '
                     'run python -m experiments.population_sweep on it first')
  path = os.path.join(workdir, model_files.DIRNAME)
  if not os.path.exists(os.path.join(path, model_files.MANIFEST)):
    raise InputError(f'workdir: {workdir} holds no saved model ({model_files.DIRNAME}/'
                     f'{model_files.MANIFEST}): its sweep found no usable member, or ran before '
                     'models were saved (run it again with --overwrite)')
  try:
    return TunedModel(*model_files.read(path))
  except InputError as e:
    # The sweep writes the model once, at its end: nothing short of a copy restores it.
    raise InputError(f'workdir: {e}; restore the file, or run the sweep again with '
                     '--overwrite to save its model anew') from None


class TunedModel:
  """A final model (one member, an ensemble or a refit) and its data transforms.

  manifest: export.manifest's dict; groups: [model_files.Group]; arrays: forecasting's series,
  times and calibration residuals (model_files.py).
  """

  def __init__(self, manifest: dict, groups, arrays: dict | None = None):
    self.manifest = manifest
    self.task = manifest['task']
    self.kind = manifest['kind']
    self.transform = manifest['data']
    self.arrays = arrays or {}
    self._mesh = sharding.population_mesh(jax.local_devices())
    self._groups = groups
    self._weights = np.concatenate([np.asarray(g.weights, np.float64) for g in groups])
    self._device = [self._on_devices(g.params) for g in groups]
    cfg = groups[0].cfg
    task = tasks.TASKS[self.task]
    self._score = jax.jit(lambda outputs, split: task.score(cfg, outputs, split))

  def _on_devices(self, params):
    """Host rows <[M, ...]> -> a population padded to the devices, sharded."""
    n = jax.tree.leaves(params)[0].shape[0]
    index = np.arange(n).tolist() + [0] * (-n % self._mesh.size)
    return distributed.put(jax.tree.map(lambda a: np.asarray(a)[np.asarray(index)], params),
                           sharding.members_sharding(self._mesh))

  def __repr__(self):
    widths = ', '.join(f'{g.cfg.model.cell} {g.cfg.model.num_layers}x'
                       f'{g.cfg.model.hidden_size} ({len(g.uids)})' for g in self._groups)
    return f'TunedModel({self.task}, {self.kind}: {widths})'

  @property
  def test(self) -> dict:
    """The test figures the sweep's summary reported for this model."""
    return dict(self.manifest['test'] or {})

  # What every task shares: averaged outputs, and their metrics.

  def outputs(self, make_split) -> np.ndarray:
    """<float64>[...]: the members' outputs (tasks.Task.outputs) on the split that
    `make_split(group)` builds for each group, averaged with the members' weights."""
    rows = []
    for group, params in zip(self._groups, self._device):
      split = jax.tree.map(_device_dtype, make_split(group))
      split = distributed.put(split, sharding.replicated(self._mesh))
      out = pop.population_outputs_fn(group.cfg, self._mesh)(params, split)
      rows.append(np.asarray(distributed.fetch(out))[:len(group.uids)])
    stacked = np.concatenate(rows).astype(np.float64)
    weights = self._weights.reshape((-1,) + (1,) * (stacked.ndim - 1))
    return np.sum(stacked * weights, axis=0) / self._weights.sum()

  def _metrics(self, outputs, split) -> dict:
    names = self.manifest.get('metric_names', {})
    metrics = self._score(outputs, jax.tree.map(_device_dtype, split))
    return {names.get(k, k): float(v) for k, v in metrics.items()}

  # Forecasting.

  @property
  def num_targets(self) -> int:
    return len(self.transform['target_columns'])

  @property
  def columns(self) -> list:
    """The columns a history holds, in order: the targets, then the input columns."""
    return list(self.transform['target_columns']) + list(self.transform['input_columns'])

  def _need(self) -> int:
    """Points of history a forecast reads: the longest lookback (+1 when differenced)."""
    return max(g.lookback or self.transform['lookback'] for g in self._groups) + int(
        self.transform['difference'])

  def _windows(self, values, ends, lookback):
    """<float32>[W, lookback, C_in]: scaled input windows ending before each of `ends`,
    computed from levels <float64>[N, C_in] exactly as data/forecast.py `prepare` does."""
    c_out, diff = self.num_targets, self.transform['difference']
    rows = ends[:, None] + np.arange(-lookback - int(diff), 0)
    window = values[rows]
    if diff:
      window = window.copy()
      window[:, 1:, :c_out] = window[:, 1:, :c_out] - window[:, :-1, :c_out]
      window = window[:, 1:]
    mean = np.asarray(self.transform['x_mean'], np.float64)
    std = np.asarray(self.transform['x_std'], np.float64)
    return ((window - mean) / std).astype(np.float32)

  def _scaled_forecasts(self, values, ends) -> np.ndarray:
    """<float64>[W, horizon, C_out]: the model's scaled outputs from each origin."""
    return self.outputs(lambda g: {'x': self._windows(
        values, ends, g.lookback or self.transform['lookback'])})

  def _paths(self, values, origins, steps: int) -> np.ndarray:
    """<float64>[W, steps, C_out]: forecasts (levels) of the `steps` points from each
    origin t, from the history values[:t]; past the horizon the forecasts are fed back.
    values: <float64>[N', C_in] with, for input columns, the values at every forecast
    step (target columns there are overwritten)."""
    c_out, horizon = self.num_targets, self.transform['horizon']
    need = self._need()
    origins = np.asarray(origins)
    width = need + steps
    extra = max(0, int(origins.max()) + steps - len(values))
    padded = np.concatenate([values, np.full((extra, values.shape[1]), np.nan)])
    ctx = padded[origins[:, None] + np.arange(-need, steps)].copy()
    mean = np.asarray(self.transform['mean'], np.float64)
    std = np.asarray(self.transform['std'], np.float64)
    done = 0
    while done < steps:
      ends = np.full(len(origins), need + done)
      flat = ctx.reshape(len(origins) * width, -1)
      starts = np.arange(len(origins)) * width + ends
      changes = self._scaled_forecasts(flat, starts) * std + mean
      if self.transform['difference']:
        changes = ctx[:, need + done - 1, None, :c_out] + np.cumsum(changes, axis=1)
      take = min(horizon, steps - done)
      ctx[:, need + done:need + done + take, :c_out] = changes[:, :take]
      done += take
    return ctx[:, need:, :c_out]

  def check_history(self, history, *, what='history'):
    """<float64>[N, C]: `history` checked (columns, enough finite rows); `what` names it."""
    values = np.asarray(history, np.float64)
    if values.ndim == 1:
      values = values[:, None]
    columns = self.columns
    if values.ndim != 2 or values.shape[1] != len(columns):
      raise InputError(f'{what}: expected {len(columns)} column(s) {columns}, got an array '
                       f'of shape {np.shape(history)}')
    if len(values) < self._need():
      raise InputError(f'{what}: {len(values)} rows are too few: the model reads the last '
                       f'{self._need()} (lookback {self._need() - int(self.transform["difference"])}'
                       f'{" + 1 to difference" if self.transform["difference"] else ""})')
    if not np.all(np.isfinite(values[-self._need():])):
      raise InputError(f'{what}: the last {self._need()} rows hold missing or non-finite values')
    return values

  def forecast(self, history, steps: int, *, future_inputs=None, levels=DEFAULT_LEVELS):
    """Forecasts the `steps` points after `history`, with prediction intervals.

    Args:
      history: <float>[N, C] levels in original units, columns `self.columns` (targets,
        then input columns); one target and no inputs may be <float>[N].
      steps: >= 1. Past the model's horizon, forecasts are fed back (see the module
        docstring).
      future_inputs: <float>[steps, C_in - C_out], the input columns over the forecast
        steps; required when the model has input columns.
      levels: coverage of each interval, in (0, 1).
    Returns:
      {'point': <float64>[steps, C_out], 'lower' and 'upper': {level: <float64>[steps,
      C_out]}, 'notes': [str]} (see intervals.py for how the intervals are made).
    """
    from rnnjax.final import intervals  # pylint: disable=g-import-not-at-top
    if self.task != 'forecast':
      raise InputError(f'forecast: this is a {self.task} model')
    if int(steps) < 1:
      raise InputError(f'steps: {steps} must be >= 1')
    for level in levels:
      if not 0 < level < 1:
        raise InputError(f'levels: {level:g} must lie in (0, 1)')
    values = self.check_history(history)
    inputs = self.transform['input_columns']
    if inputs:
      if future_inputs is None:
        raise InputError(f'future_inputs: the model reads input columns {inputs}; give '
                         f'their values for the {steps} steps ahead')
      future = np.asarray(future_inputs, np.float64).reshape(-1, len(inputs))
      if len(future) < steps or not np.all(np.isfinite(future[:steps])):
        raise InputError(f'future_inputs: {len(future)} finite rows of {inputs}, '
                         f'{steps} needed')
      ahead = np.concatenate([np.full((steps, self.num_targets), np.nan), future[:steps]], 1)
    else:
      ahead = np.full((steps, values.shape[1]), np.nan)
    point = self._paths(np.concatenate([values, ahead]), [len(values)], steps)[0]
    lower, upper, notes = {}, {}, []
    if 'residuals' in self.arrays:
      for level in levels:
        width, note = intervals.widths(self.arrays['residuals'], level, steps)
        lower[level], upper[level] = point - width, point + width
        notes += [n for n in note if n not in notes]
    if steps > self.transform['horizon']:
      notes.append(f'steps past the horizon ({self.transform["horizon"]}) feed the '
                   'forecasts back as history')
    return {'point': point, 'lower': lower, 'upper': upper, 'notes': notes}

  def test_coverage(self, levels=DEFAULT_LEVELS) -> dict:
    """Coverage on the sweep's test part of the intervals at `levels` (the dict of
    intervals.coverage_on_test, levels keyed '0.8'): the manifest's figures where it
    holds every level, else computed as the sweep computed them. The test part only
    reports here: the widths come from validation's errors. {} without intervals."""
    from rnnjax.final import intervals  # pylint: disable=g-import-not-at-top
    if 'residuals' not in self.arrays:
      return {}
    saved = self.manifest.get('intervals', {}).get('test_coverage', {})
    keys = [f'{level:g}' for level in levels]
    if all(k in saved for k in keys):
      return {k: saved[k] for k in ['steps', 'origins'] + keys}
    return intervals.coverage_on_test(self, levels)

  def backtest(self, values, origins, steps: int = 1) -> np.ndarray:
    """<float64>[W, steps, C_out]: forecasts from each origin t in `origins` (from
    values[:t], as `forecast` would) of the next `steps` points, inside `values`."""
    values = self.check_history(values, what='series')
    return self._paths(values, np.asarray(origins), steps)

  def evaluate_series(self, values, start: int) -> dict:
    """The summary's metrics of the model on the windows whose targets lie in
    values[start:] (the test part: start = the second split point)."""
    values = self.check_history(values, what='series')
    horizon, c_out = self.transform['horizon'], self.num_targets
    ends = np.arange(max(start, self._need()), len(values) - horizon + 1)
    outputs = self._scaled_forecasts(values, ends)
    # The targets as `prepare` scales them: the next `horizon` rows' (changes of) levels.
    y = self._windows(values, ends + horizon, horizon)[..., :c_out]
    split = {'y': y, 'mean': np.asarray(self.transform['mean']),
             'std': np.asarray(self.transform['std']),
             'mase_scale': np.asarray(self.transform['mase_scale'], np.float64)}
    return self._metrics(outputs, split)

  # Classification.

  def _sequences(self, sequences, what='sequences'):
    if self.task != 'classify':
      raise InputError(f'{what}: this is a {self.task} model, not a classifier')
    channels = self.transform['channels']
    expected = (f'pass a list of cases, each <float>[T_i, {channels}] or [T_i] ([x] for '
                f'one case), or one array <float>[N, T, {channels}]')
    # A bare [T, C] array would iterate as T cases (and a 2-D array may as well be
    # [N, T] cases of one channel): refused, not guessed.
    if hasattr(sequences, 'ndim') and getattr(sequences, 'dtype', None) != object:
      if sequences.ndim != 3:
        raise InputError(f'{what}: an array of shape {tuple(np.shape(sequences))} is not '
                         f'a list of cases; {expected}')
      sequences = list(np.asarray(sequences))
    cases = []
    for i, s in enumerate(sequences):
      s = np.asarray(s, np.float64)
      if s.ndim == 0:
        raise InputError(f'{what}: case {i} is a number, not a sequence; {expected}')
      s = s[:, None] if s.ndim == 1 else s
      if s.ndim != 2 or s.shape[1] != channels or not len(s):
        raise InputError(f'{what}: case {i} has shape {np.shape(s)}; the model reads '
                         f'{channels} channel(s) per step')
      cases.append((s - np.asarray(self.transform['mean'])) / np.asarray(self.transform['std']))
    if not cases:
      raise InputError(f'{what}: no cases')
    # Padded as the sweep padded (its longest case), so each case's computation is the
    # one the sweep scored; longer cases pad further.
    return classify.pad(cases, max(self.transform['max_length'], max(map(len, cases))))

  def predict_proba(self, sequences) -> np.ndarray:
    """<float64>[N, K]: class probabilities of N cases, given as a list of <float>[T_i,
    C] (or [T_i]) or as one array <float>[N, T, C]; one case alone is [x]."""
    x, length = self._sequences(sequences)
    return self.outputs(lambda g: {'x': x, 'length': length})

  def predict(self, sequences) -> list:
    """The most probable class label of each case (labels as in the training file)."""
    classes = self.transform['classes']
    return [classes[k] for k in np.argmax(self.predict_proba(sequences), axis=-1)]

  def evaluate_cases(self, sequences, labels) -> dict:
    """Cross-entropy and accuracy on labelled cases (labels: strings of the classes)."""
    index = {c: i for i, c in enumerate(self.transform['classes'])}
    unknown = sorted({str(l) for l in labels} - set(index))
    if unknown:
      raise InputError(f'labels {unknown} are not classes of the model '
                       f'({", ".join(index)})')
    probs = self.predict_proba(sequences)
    if len(probs) != len(labels):
      raise InputError(f'labels: {len(probs)} cases but {len(labels)} labels')
    return self._metrics(probs, {'y': np.asarray([index[str(l)] for l in labels], np.int32)})

  # Character language model.

  def _tokens(self, chars: str, what: str):
    if self.task != 'charlm':
      raise InputError(f'{what}: this is a {self.task} model, not a character model')
    return text.encode(chars, self.transform['vocab'], what=what)

  def bits_per_char(self, chars: str) -> float:
    """Bits per character of the model on `chars` (>= 2 characters), scored as the
    sweep scored its validation and test parts (data/text.py `streams`)."""
    return self.evaluate_text(chars)['bpc']

  def evaluate_text(self, chars: str) -> dict:
    tokens = self._tokens(chars, 'text')
    if len(tokens) < 2:
      raise InputError('text: needs at least 2 characters')
    x, y, mask = text.streams(tokens, min(self.transform['eval_streams'], len(tokens) - 1))
    probs = self.outputs(lambda g: {'x': x})
    return self._metrics(probs, {'y': y, 'mask': mask})

  def sample(self, prompt: str = '', num_chars: int = 200, temperature: float = 0.8,
             seed: int = 0) -> str:
    """`num_chars` characters after `prompt` (empty: the sweep's own prime), drawn from
    the members' averaged next-character probabilities sharpened by `temperature`."""
    prompt = prompt or self.transform['prime']
    tokens = self._tokens(prompt, 'prompt')
    if not len(tokens):
      raise InputError('prompt: needs at least one character')
    if not temperature > 0:
      raise InputError(f'temperature: {temperature} must be > 0')
    if num_chars < 0:
      raise InputError(f'num_chars: {num_chars} must be >= 0')
    cfgs = tuple(g.cfg.model for g in self._groups)
    params = tuple(jax.tree.map(jnp.asarray, g.params) for g in self._groups)
    weights = tuple(jnp.asarray(np.asarray(g.weights) / self._weights.sum(), jnp.float32)
                    for g in self._groups)
    out = generate.sample_ensemble(cfgs, params, weights, key=jax.random.key(seed),
                                   num_chars=int(num_chars), temperature=temperature,
                                   prime=tokens)
    return text.decode(np.asarray(out), self.transform['vocab'])


def _device_dtype(a):
  """Host arrays as the sweep put them on the devices: floats float32, ints int32."""
  a = np.asarray(a)
  return a.astype(np.int32 if np.issubdtype(a.dtype, np.integer) else np.float32)
