"""The final model in MLflow, as a pyfunc model that predicts the way `rnnjax.load` does.

mlflow_packaging.log_model (given to mlflow_log.log_sweep) logs WORKDIR/model/
(model_files.py) as the artifact of a pyfunc model named `model` of the run, with the
rnnjax sources beside it and code that serves it as this module's TunedPyfunc, so that a
process with jax, flax and optax (its requirements.txt) but no rnnjax loads it:

  model = mlflow.pyfunc.load_model(f'runs:/{run_id}/model')
  model.predict(history, params={'steps': 12})      # forecaster
  model.predict(cases)                              # classifier
  model.predict(['ROMEO:'], params={'num_chars': 200})  # character model

What `predict` takes and returns, by the model's task (tuned.TunedModel does the work):
  forecast  history: a DataFrame with the model's columns (targets, then input columns;
            by name, original units), oldest row first, or in any order with the
            model's time column (then read as the sweep read its file: sorted, absent
            periods put back and filled, two rows at one time refused). With input
            columns, it ends with
            `steps` rows whose targets are empty and whose inputs hold their future
            values. params: steps (default the horizon), levels (default 0.8, 0.95).
            Returns a DataFrame: step (1, 2, ...), then per target the forecast and each
            level's bounds, named as in experiments/predict.py's forecast.csv.
  panel     histories: a long DataFrame with the model's id, time, target and input
            columns (each series' rows oldest first), or a dict id -> values. params as
            for a forecaster. With input columns, each series may end with rows whose
            target is empty and whose inputs hold their values over the steps ahead
            (needed for columns known in advance, and past the horizon): as many as the
            forecast reads (`steps`; a whole horizon of columns known in advance) are
            read so; empty targets before those are the history's gaps. Returns
            forecast.csv's long table: unique_id, ds (each series' time column
            continued; +1, +2, ... without one), forecast, bounds.
  classify  cases: a list of arrays <float>[T_i, C] (or [T_i]), an array [N, T, C], or a
            long DataFrame with a `case` column (or the sweep's own case column) and one
            column per channel (by name, for a model of a CSV). Returns a
            DataFrame: predicted (the class label), then p_<class> per class.
  charlm    prompts: a string, a list of them, or a DataFrame whose first column holds
            them ('' is the sweep's own prime). params: num_chars (200), temperature
            (0.8), seed (0). Returns a DataFrame: prompt, text (the prompt and its sample).

MLflow is imported by this module at the top: only mlflow_packaging imports it (itself
imported by the sweep's entry point, lazily), and MLflow when it loads a logged model.
"""

import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
import numpy as np
import pandas as pd

from rnnjax.data.time import grid as time_grid
from rnnjax.errors import InputError
from rnnjax.final.saved import arguments
from rnnjax.final.saved import cases as cases_lib
from rnnjax.final.saved import forecasting
from rnnjax.final.saved import model_files
from rnnjax.final.saved import panel_future
from rnnjax.final.saved import tuned
from rnnjax.final.use import panel_predictions
from rnnjax.final.use import series_predictions

ARTIFACT = 'workdir_model'  # WORKDIR/model/, in the pyfunc model's artifacts.
CHARLM_DEFAULTS = {'num_chars': arguments.NUM_CHARS, 'temperature': arguments.TEMPERATURE,
                   'seed': 0}


class TunedPyfunc(mlflow.pyfunc.PythonModel):
  """A TunedModel behind MLflow's pyfunc interface (see the module docstring)."""

  # MLflow would wrap `predict` to validate its input against type hints, and warn that
  # it has none: its inputs are of several kinds, checked by the functions below.
  _skip_type_hint_validation = True

  def load_context(self, context):
    self.model = tuned.TunedModel(*model_files.read(context.artifacts[ARTIFACT]))

  def predict(self, context, model_input, params=None):
    del context  # The model was read in load_context.
    task = {'forecast': forecast, 'panel': panel_forecast, 'classify': classify,
            'charlm': sample}[self.model.task]
    try:
      return task(self.model, model_input, params or {})
    except InputError as e:
      raise ServedInputError(str(e)) from None


class ServedInputError(InputError, MlflowException):
  """Bad input to the served model: an InputError (as a Python caller catches it) that
  MLflow's scoring server answers as the client's error, HTTP 400 with the one line in
  its message (any other exception it answers as 'an unexpected error', the line only
  at the end of a traceback)."""

  def __init__(self, message: str):
    MlflowException.__init__(self, message, error_code=INVALID_PARAMETER_VALUE)


def forecast(model, history, params: dict) -> pd.DataFrame:
  """The forecast table of the `steps` points after `history` (module docstring)."""
  steps = params.get('steps')
  steps = model.transform['horizon'] if steps is None else arguments.whole(steps, 'steps', 1)
  levels = arguments.levels(params.get('levels', tuned.DEFAULT_LEVELS))
  time_column = model.transform.get('time_column')
  dated = (isinstance(history, pd.DataFrame) and bool(time_column) and
           time_column in history.columns)
  if dated:  # Rows in time order; the forecaster puts them on the time grid.
    when = time_grid.positions(arguments.text_cells(history[time_column]).tolist())
    if when is not None:
      history = history.iloc[np.argsort(when, kind='stable')]
  values = forecasting.numbers(history, model.columns, 'history')
  future, inputs = None, model.transform['input_columns']
  if inputs:
    # Trailing rows without any target: the input columns over the forecast steps.
    known = np.flatnonzero(np.any(np.isfinite(values[:, :model.num_targets]), axis=1))
    cut = known[-1] + 1 if len(known) else 0
    need, given = forecasting.rows_read(model.transform, steps), len(values) - cut
    if given < need:  # In the caller's terms: it passed no future_inputs.
      raise InputError(f'history: the model reads input columns {inputs}, and past its '
                       f'horizon feeds forecasts back with their values: end the history '
                       f'with {need} rows whose targets are empty and whose inputs hold '
                       f'their values after it{f" (it ends with {given})" if given else ""}')
    future = values[cut:, model.num_targets:] if cut < len(values) else None
    values = values[:cut]
    if dated:
      history = history.iloc[:cut]
  fc = model.forecast(history if dated else values, steps, future_inputs=future,
                      levels=levels, future_what=_rows_ahead('history'))
  header, rows = series_predictions.forecast_rows(model, list(range(1, steps + 1)), fc['point'],
                                           fc['lower'], fc['upper'])
  return pd.DataFrame(rows, columns=['step'] + header[1:])


def panel_forecast(model, histories, params: dict) -> pd.DataFrame:
  """A panel model's long forecast table of many histories (module docstring)."""
  steps = params.get('steps')
  steps = model.transform['horizon'] if steps is None else arguments.whole(steps, 'steps', 1)
  levels = arguments.levels(params.get('levels', tuned.DEFAULT_LEVELS))
  future = None
  if isinstance(histories, pd.DataFrame):
    # The rows a forecast of `steps` reads after each history: a whole horizon of the
    # columns known in advance even for fewer steps.
    need = max(panel_future.rows_needed(model.transform, steps))
    histories, future = _panel_future(model.transform, histories, steps, need)
  fc = model.forecast(histories, steps, future_inputs=future, levels=levels,
                      future_what=_rows_ahead('history'))
  header, rows = panel_predictions.rows(fc, fc['times'])
  return pd.DataFrame(rows, columns=header)


def _panel_future(transform, frame, steps: int, need: int):
  """(the histories, id -> their input rows after them, or None): each series' last
  rows whose target is empty, at most max(steps, need) (`need`: the rows a forecast of
  `steps` reads), hold its input columns' values over the steps ahead; empty targets
  before them are the history's own gaps. A series with fewer than `need` is refused in
  the caller's terms."""
  columns = panel_future.input_columns(transform)
  target, id_column = transform['target_column'], transform['id_column']
  if not columns or target not in frame.columns:
    return frame, None
  keys = (pd.Series(arguments.id_cells(frame, id_column, 'history'), index=frame.index)
          if id_column in frame.columns else
          pd.Series(str(transform['ids'][0]), index=frame.index))
  when = (time_grid.positions(arguments.text_cells(frame[transform['time_column']]).tolist())
          if transform['time_column'] in frame.columns else None)
  if when is not None:  # Each series' rows in time order (series in order of first row).
    order = np.lexsort((when, pd.factorize(keys)[0]))
    frame, keys = frame.iloc[order], keys.iloc[order]
  known = frame[target].notna()
  # A row is ahead of its series' history when no later row of the series has a target.
  later = known[::-1].groupby(keys[::-1]).cummax()[::-1]
  from_end = known.groupby(keys, sort=False).cumcount(ascending=False)
  ahead = ~later & (from_end < max(steps, need))
  given = ahead.groupby(keys, sort=False).sum()
  if (given < need).any():
    key, n = given.index[given < need][0], int(given[given < need].iloc[0])
    raise InputError(
        f'history: series {key!r} ends with {n} row{"s" * (n != 1)} whose target is '
        f'empty; for {steps} step{"s" * (steps != 1)} the model reads '
        f'{panel_future.describe_reads(transform, steps)}: end each series with {need} rows '
        'whose target is empty and whose input columns hold their values after its history')
  future = {k: arguments.cells(rows) for k, rows in frame.loc[ahead, columns].groupby(
      keys[ahead], sort=False)}
  return frame.loc[~ahead], (future or None)


def _rows_ahead(what: str) -> str:
  """What the model's InputErrors call the future_inputs made here (the caller passed
  none): the rows of `what` whose target is empty."""
  return f'{what}: its rows whose target is empty (the inputs ahead)'


def classify(model, cases, params: dict) -> pd.DataFrame:
  """Each case's predicted class and class probabilities (module docstring)."""
  del params  # A classifier takes none.
  if isinstance(cases, pd.DataFrame):
    cases = cases_lib.long_cases(cases, 'cases', model.transform)
  probs = model.predict_proba(cases)  # A bare 2-D array is refused there, not split.
  classes = model.transform['classes']
  table = pd.DataFrame(probs, columns=[f'p_{c}' for c in classes])
  table.insert(0, 'predicted', [classes[k] for k in np.argmax(probs, axis=-1)])
  return table


def sample(model, prompts, params: dict) -> pd.DataFrame:
  """A sample after each prompt (module docstring)."""
  if isinstance(prompts, pd.DataFrame):
    prompts = prompts['prompt' if 'prompt' in prompts.columns else prompts.columns[0]]
  prompts = [prompts] if isinstance(prompts, str) else [str(p) for p in prompts]
  kw = {k: type(v)(params.get(k, v)) for k, v in CHARLM_DEFAULTS.items()}
  return pd.DataFrame({'prompt': prompts,
                       'text': [model.sample(p, **kw) for p in prompts]})
