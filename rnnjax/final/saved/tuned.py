"""A sweep's final model, loaded: forecast, classify, score and sample new data.

  model = rnnjax.load('runs/quickstart')          # reads WORKDIR/model/ (model_files.py)
  fc = model.forecast(history, steps=12)          # forecasting: points and intervals
  fc = model.forecast({'a': a, 'b': b}, steps=8)  # a panel: many series (or a long DataFrame)
  model.predict_proba(sequences), model.predict(sequences)   # classification
  model.sample(prompt, num_chars=200), model.bits_per_char(text)  # character LM

The members' outputs, combined with their weights as the sweep's summary combined them
(forecasts: scaled predictions, a panel's in original units; classes and characters:
probabilities), come from members.py, what every task shares; so scoring the test part
here gives the summary's test figures.

Forecasting past the horizon feeds forecasts back: the model forecasts `horizon` steps
from the last `lookback` points, appends them to the history as if observed, and goes
on. With input columns, their future values must be given (`future_inputs`). A panel
model forecasts every series given from its end the same way (panel_forecasting.py).

The class is the face; the work is done by arrays-only functions: forecasting.py
(histories, windows, forecasts fed back), panel_forecasting.py (a panel's; its histories
read in panel_histories.py), cases.py (a classifier's cases and labels), characters.py (a
character model's text and samples), intervals.py (the prediction intervals, from this
model's backtests).
"""

import numpy as np

from rnnjax.errors import InputError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import cases
from rnnjax.final.saved import characters
from rnnjax.final.saved import forecasting
from rnnjax.final.saved import intervals
from rnnjax.final.saved import members
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.saved import panel_future

DEFAULT_LEVELS = arguments.LEVELS


class TunedModel(members.Members):
  """A final model (one member, an ensemble or a refit) and its data transforms, with
  each task's methods (members.Members: what every task shares, its outputs and metrics).
  """

  # Forecasting.

  @property
  def num_targets(self) -> int:
    self._task_is(('forecast', 'panel'), 'num_targets')
    return 1 if self.task == 'panel' else len(self.transform['target_columns'])

  @property
  def columns(self) -> list:
    """The columns a history holds, in order: the targets, then the input columns (a
    panel's: its target, then its past and its future input columns)."""
    self._task_is(('forecast', 'panel'), 'columns')
    if self.task == 'panel':
      return ([self.transform['target_column']]
              + panel_future.input_columns(self.transform))
    return forecasting.columns(self.transform)

  def _need(self) -> int:
    return forecasting.points_needed(self.transform, [g.lookback for g in self._groups])

  def _scaled_forecasts(self, values, ends) -> np.ndarray:
    """<float64>[W, horizon, C_out]: the model's scaled outputs from each origin."""
    return self.outputs(lambda g: {'x': forecasting.windows(
        self.transform, values, ends, g.lookback or self.transform['lookback'])})

  def _paths(self, values, origins, steps: int) -> np.ndarray:
    """forecasting.paths: forecasts of `steps` points from each origin."""
    return forecasting.paths(self.transform, self._need(), self._scaled_forecasts, values,
                             origins, steps)

  def check_history(self, history, *, what='history', notes: list | None = None):
    """<float64>[N, C]: `history` checked (columns, enough finite rows); `what` names it."""
    self._task_is(('forecast',), what)
    return forecasting.check_history(self.transform, self._need(), history, what, notes)

  def forecast(self, history, steps: int, *, future_inputs=None, levels=DEFAULT_LEVELS,
               future_what: str = 'future_inputs'):
    """Forecasts the `steps` points after `history`, with prediction intervals.
    A panel model takes many histories, a long DataFrame or a dict id -> <float>[n_i]
    ([n_i, 1 + C] with input columns: the target, then the input columns and the
    future columns), its `future_inputs` a dict id -> <float>[rows, C] (the inputs
    after each history: read past the horizon, and over it for future columns;
    panel_future.rows_needed), and returns {'ids', 'point' <float64>[S, steps],
    'lower', 'upper', 'notes', 'times'} ('times': each series' next `steps` time labels,
    continuing a DataFrame's time column, else '+1', '+2', ...):
    panel_forecasting.panel_forecast.

    Args:
      history: <float>[N, C] levels in original units, columns `self.columns` (targets,
        then input columns; one target and no inputs may be <float>[N]), or a DataFrame
        holding those columns.
      steps: a whole number >= 1. Past the model's horizon, forecasts are fed back (see
        the module docstring).
      future_inputs: <float>[rows, C_in - C_out] or a DataFrame: the input columns' rows
        after the history, of which `forecasting.rows_read` are read (those fed back past
        the horizon; none within it).
      levels: coverage of each interval, in (0, 1).
      future_what: what an InputError about `future_inputs` calls them (a caller that
        made them from its own input names that: 'history: its rows whose target is
        empty').
    Returns:
      {'point': <float64>[steps, C_out], 'lower' and 'upper': {level: <float64>[steps,
      C_out]}, 'notes': [str], 'times': the `steps` time labels after a DataFrame's
      time column (else '+1', '+2', ...)} (see intervals.py for how the intervals are
      made).
    """
    self._task_is(('forecast', 'panel'), 'forecast')
    steps, levels = arguments.whole(steps, 'steps', 1), arguments.levels(levels)
    if self.task == 'panel':
      return panel_forecasting.panel_forecast(self.transform, self.arrays,
                                              self._panel_outputs, history, int(steps),
                                              levels, future_inputs=future_inputs,
                                              future_what=future_what,
                                              lookback=max(g.lookback or 0
                                                           for g in self._groups))
    return forecasting.series_forecast(self.transform, self.arrays, self._need(),
                                       self._scaled_forecasts, history, steps, levels,
                                       future_inputs, future_what)

  def _backtests(self, start: int, stop: int, steps: int):
    """(origins, forecasts <float64>[W, K, C_out]) of the saved series from every
    origin in [start, stop), of as many of `steps` points as [start, stop) holds
    (intervals.backtest_origins)."""
    origins, steps = intervals.backtest_origins(start, stop, self._need(), steps)
    return origins, self._paths(self.arrays['series'], origins, steps)

  def validation_residuals(self, max_steps: int = intervals.MAX_STEPS,
                           observed=None) -> np.ndarray:
    """<float64>[K, W, C_out]: the errors the intervals are calibrated on: forecasts of
    up to max(max_steps, horizon) points from every validation origin of the saved
    series (intervals.validation_residuals); NaN (calibrating nothing) at a target cell
    that `observed` <bool>[N, C_out] marks false (empty, filled; export.series_arrays)."""
    self._task_is(('forecast',), 'validation_residuals')
    max_steps = arguments.whole(max_steps, 'max_steps', 1)
    train_end, val_end = self.transform['split_points']
    origins, forecasts = self._backtests(train_end, val_end,
                                         max(max_steps, self.transform['horizon']))
    series = self.arrays['series']
    if observed is not None:
      series = series.copy()
      c_out = self.num_targets
      series[:, :c_out] = np.where(observed, series[:, :c_out], np.nan)
    return intervals.validation_residuals(series, origins, forecasts, val_end)

  def test_coverage(self, levels=DEFAULT_LEVELS) -> dict:
    """Coverage on the sweep's test part of the intervals at `levels` (the dict of
    intervals.coverage_on_test, levels keyed '0.8'): the manifest's figures where it
    holds every level, else computed as the sweep computed them. The test part only
    reports here: the widths come from validation's errors. {} without intervals."""
    self._task_is(('forecast', 'panel'), 'test_coverage')
    levels = arguments.levels(levels)
    if 'residuals' not in self.arrays:
      return {}
    saved = intervals.saved_coverage(self.manifest, levels)
    if saved is not None:
      return saved
    if self.task == 'panel':
      return panel_forecasting.panel_coverage(self.transform, self.arrays,
                                              self._panel_outputs, levels)
    series, residuals = self.arrays.get('series'), self.arrays['residuals']
    origins, forecasts = self._backtests(self.transform['split_points'][1], len(series),
                                         residuals.shape[0])
    truth = series
    if 'test_observed' in self.arrays:  # An empty test cell (filled) is not counted: NaN.
      truth = series.copy()
      c_out = self.num_targets
      truth[:, :c_out] = np.where(self.arrays['test_observed'], series[:, :c_out], np.nan)
    return intervals.coverage_on_test(truth, origins, forecasts, residuals,
                                      self.transform['horizon'], levels)

  def backtest(self, values, origins, steps: int = 1) -> np.ndarray:
    """<float64>[W, steps, C_out]: forecasts from each origin t in `origins` (from
    values[:t], as `forecast` would) of the next `steps` points, inside `values`."""
    values = self.check_history(values, what='series')
    steps = arguments.whole(steps, 'steps', 1)
    origins = arguments.origins(origins, len(values), self._need(), steps)
    if not np.isfinite(values[origins.min() - self._need():origins.max() + steps]).all():
      raise InputError('series: holds missing or non-finite values between the first '
                       'origin\'s history and the last forecast')
    return self._paths(values, origins, steps)

  def evaluate_series(self, values, start: int, observed=None) -> dict:
    """The summary's metrics of the model on the windows whose targets lie in
    values[start:] (the test part: start = the second split point). observed: <bool>[N,
    C_out] which target cells of `values` are scored (false: filled, left out of every
    mean), or None: every one. The summary's test figures: values=arrays['series'],
    start=the second split point, observed=arrays.get('test_observed') (where some test
    cell of the sweep's series was empty)."""
    values = self.check_history(values, what='series')
    observed = forecasting.observed_cells(self.transform, observed, len(values))
    last = len(values) - self.transform['horizon']
    start = arguments.whole(start, 'start', 0, last)
    ends = np.arange(max(start, self._need()), last + 1)
    if not len(ends):
      raise InputError(f'start: {start}: no window has its {self._need()} points of '
                       'history and its targets inside values')
    outputs = self._scaled_forecasts(values, ends)
    return self._metrics(outputs, forecasting.target_split(self.transform, values, ends,
                                                           observed))

  # Panels (many series, one model).

  def _panel_outputs(self, histories, inputs=None, ahead=None) -> np.ndarray:
    """<float64>[S, horizon]: the forecasts from the end of each history <[n_i]> (and
    its input columns <[n_i, C]>, and their rows over the horizon <[horizon, C]>). The
    inputs are built once per lookback, whatever the groups (buckets) reading them: on
    30,000 series each build took ~1 s, and a sweep's final model has a group per
    normalisation and loss too."""
    built = {}

    def split(group):
      if group.lookback not in built:
        built[group.lookback] = panel_forecasting.panel_inputs(
            self.transform, histories, group.lookback, inputs, ahead)
      return built[group.lookback]
    return self.outputs(split)

  def panel_test_forecasts(self) -> tuple[np.ndarray, dict]:
    """(<float64>[S, horizon], the split they are scored on): the forecasts of the
    sweep's test part from the end of each train part, which the summary scored."""
    self._task_is(('panel',), 'panel_test_forecasts')
    values, inputs, ahead, split = panel_forecasting.panel_scored(self.transform,
                                                                 self.arrays)
    return self._panel_outputs(values, inputs, ahead), split

  def evaluate_panel(self, histories=None, futures=None, future_inputs=None) -> dict:
    """The summary's metrics (sMAPE, MASE, RMSSE) of forecasts from the end of each history
    (as `forecast` takes them) of the next `horizon` points, `futures` (id -> values;
    `future_inputs` as `forecast`'s, for a model with future columns). Neither given:
    the sweep's test part from the end of each train part, with its OWA: the summary's
    final test figures."""
    self._task_is(('panel',), 'evaluate_panel')
    values, inputs, ahead, split = panel_forecasting.panel_scored(
        self.transform, self.arrays, histories, futures, future_inputs)
    return self._metrics(self._panel_outputs(values, inputs, ahead), split)

  # Classification.

  def _sequences(self, sequences, what='sequences'):
    self._task_is(('classify',), what)
    return cases.padded(self.transform, sequences, what)

  @property
  def classes(self) -> list:
    """A classifier's class labels, in the order of `predict_proba`'s columns."""
    self._task_is(('classify',), 'classes')
    return list(self.transform['classes'])

  def predict_proba(self, sequences) -> np.ndarray:
    """<float64>[N, K]: class probabilities of N cases (columns: `classes`), given as a
    list of <float>[T_i, C] (or [T_i]), one array <float>[N, T, C] or a long DataFrame
    with a `case` column or the sweep's own (cases.long_cases); one case alone is [x]."""
    x, length = self._sequences(sequences)
    return self.outputs(lambda g: {'x': x, 'length': length})

  def predict(self, sequences) -> list:
    """The most probable class label of each case (labels as in the training file)."""
    probs = self.predict_proba(sequences)
    return [self.transform['classes'][k] for k in np.argmax(probs, axis=-1)]

  def evaluate_cases(self, sequences, labels) -> dict:
    """Cross-entropy, accuracy and balanced accuracy on labelled cases (labels: strings
    of the classes)."""
    self._task_is(('classify',), 'sequences')
    y = cases.label_indices(self.transform, labels)
    probs = self.predict_proba(sequences)
    if len(probs) != len(labels):
      raise InputError(f'labels: {len(probs)} cases but {len(labels)} labels')
    return self._metrics(probs, {'y': y})

  # Character language model.

  def _tokens(self, chars: str, what: str):
    self._task_is(('charlm',), what)
    return characters.tokens(self.transform, chars, what)

  @property
  def vocab(self) -> str:
    """A character model's vocabulary: the characters it has probabilities for (those of
    the sweep's training and validation parts, and U+FFFD), sorted, in the order of its
    tokens. A text or prompt's other characters are read as U+FFFD, the unknown
    character's token, as the sweep read its test part's (rnnjax.data.text.outside
    finds them); a sample never draws it. (A model saved before U+FFFD was added refuses
    them.)"""
    self._task_is(('charlm',), 'vocab')
    return self.transform['vocab']

  def bits_per_char(self, text: str) -> float:
    """Bits per character of the model on `text` (>= 2 characters; any outside `vocab`
    read as U+FFFD), scored as the sweep scored its validation and test parts
    (data/text.py `streams`)."""
    return self.evaluate_text(text)['bpc']

  def evaluate_text(self, text: str) -> dict:
    """The sweep's metrics of the model on `text` (bits per character among them)."""
    tokens = self._tokens(text, 'text')
    if len(tokens) < 2:
      raise InputError('text: needs at least 2 characters')
    padded, y, mask, steps = characters.scored_streams(self.transform, tokens)
    probs = self.outputs(lambda g: {'x': padded})[:, :steps]
    return self._metrics(probs, {'y': y, 'mask': mask})

  def sample(self, prompt: str = '', num_chars: int = arguments.NUM_CHARS,
             temperature: float = arguments.TEMPERATURE,
             seed: int = 0) -> str:
    """`num_chars` characters drawn after `prompt` (empty: the sweep's own prime) from
    the members' averaged next-character probabilities sharpened by `temperature`: the
    continuation alone, without the prompt."""
    prompt = prompt or self.transform['prime']
    tokens = self._tokens(prompt, 'prompt')
    if not len(tokens):
      raise InputError('prompt: needs at least one character')
    temperature = arguments.temperature(temperature)
    num_chars = arguments.whole(num_chars, 'num_chars', 0, arguments.MAX_NUM_CHARS)
    seed = arguments.whole(seed, 'seed', 0, arguments.MAX_SEED)
    return characters.sample(self._groups, self.transform['vocab'], tokens,
                             num_chars=int(num_chars), temperature=temperature, seed=seed,
                             by_prompt=self.transform.get('key_by_prompt', False))
