"""A loaded model's arguments, checked: a one-line InputError naming the argument, never
a traceback from inside NumPy or JAX (tuned.py's methods call these first).
"""

import contextlib
import numbers

import jax
import numpy as np

from rnnjax.data import text as text_lib
from rnnjax.errors import InputError
from rnnjax.errors import RowsAheadError

FLOAT32_MAX = float(np.finfo(np.float32).max)
# A loaded model's defaults, wherever it is called from (Python, predict, MLflow).
LEVELS = (0.8, 0.95)  # Prediction intervals' coverages.
NUM_CHARS = 200  # Characters a character model writes,
TEMPERATURE = 0.8  # at this sampling temperature.
MAX_NUM_CHARS = text_lib.MAX_DRAWN  # At most, as the sweep's --sample_chars.
MAX_SEED = 2 ** 32 - 1  # jax.random.key keeps a seed's low 32 bits: larger ones repeat.
# The advice of a history ending in rows without a target (forecasting.trailing_note,
# panel_histories.trailing_note), which `plan_noted` finds among the notes.
PLAN_AHEAD = ('where those rows are a plan of the inputs ahead, give them in future_inputs '
              '(--future_path) instead')


@contextlib.contextmanager
def plan_noted(notes: list):
  """A RowsAheadError raised inside (the input columns' rows ahead missing, short or
  not starting after the history) ends with the note in `notes` of a history ending in
  rows without a target: a plan of the inputs appended to the history was read as
  history, which the error alone hides (the note is printed only with a forecast).
  Other errors (a file's form, a series' id) are raised as they are."""
  try:
    yield
  except RowsAheadError as error:
    plan = [n for n in notes if n.endswith(PLAN_AHEAD)]
    if not plan:
      raise
    raise InputError(f'{error}. Note: {plan[0]}') from None


def _scalar(value, name: str):
  """A 0-d NumPy or JAX array as its Python number (a traced one refused)."""
  concrete(value, name)
  if hasattr(value, 'dtype') and np.ndim(value) == 0:
    return np.asarray(value).item()
  return value


def whole(value, name: str, minimum: int = 0, maximum: int | None = None) -> int:
  """`value` as an int: a whole number (not a bool) in [minimum, maximum]."""
  value = _scalar(value, name)
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum
      or (maximum is not None and value > maximum)):
    bound = f'>= {minimum}' if maximum is None else f'in [{minimum}, {maximum}]'
    raise InputError(f'{name}: {value!r} must be a whole number {bound}')
  return int(value)


def temperature(value, name: str = 'temperature') -> float:
  """A sampling temperature: a float in [0, FLOAT32_MAX]; 0 draws the most likely
  character each step (greedy)."""
  value = _scalar(value, name)
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not 0 <= value <= FLOAT32_MAX):
    raise InputError(f'{name}: {value!r} must be a number >= 0 (0: the most likely '
                     f'character each step; at most {FLOAT32_MAX:.3g})')
  return float(value)


def levels(value) -> tuple:
  """The coverages asked for: a number in (0, 1), or a sequence of them (NumPy or JAX
  arrays too)."""
  concrete(value, 'levels')
  if hasattr(value, 'dtype') and hasattr(value, 'tolist'):
    array = np.asarray(value)
    value = ([_decimal(v) for v in array] if array.ndim == 1 else
             _decimal(array[()]) if array.ndim == 0 else array.tolist())
  if isinstance(value, numbers.Real) and not isinstance(value, bool):
    value = (value,)
  if isinstance(value, (str, bytes)) or not hasattr(value, '__iter__'):
    raise InputError(f'levels: {value!r} must be numbers in (0, 1), e.g. (0.8, 0.95)')
  out = []
  for level in map(_decimal, value):
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
      raise InputError(f'levels: {level!r} must lie in (0, 1)')
    out.append(float(level))
  return tuple(dict.fromkeys(out))  # A level asked twice is one level (one column).


def _decimal(value):
  """A NumPy number as Python's, a float as the decimal it prints as in its own
  precision: np.float32(0.8) is the level 0.8 its user wrote, not 0.800000011920929 (a
  key no one would look up)."""
  if isinstance(value, jax.Array) and value.ndim == 0:  # jnp.float32(0.8) in a list.
    value = np.asarray(value)[()]
  if isinstance(value, np.floating):
    return float(str(value))
  return value.item() if isinstance(value, np.generic) else value


def string_keys(given: dict, what: str) -> dict:
  """`given` keyed by str(key), its order kept (series ids are text: a key 7 is '7');
  InputError naming `what` where two keys are written alike (7 and '7')."""
  out, first = {}, {}
  for key, value in given.items():
    text = str(key)
    if text in out:
      raise InputError(f'{what}: keys {first[text]!r} and {key!r} both name series '
                       f'{text!r} (ids are read as text); give each series once')
    out[text], first[text] = value, key
  return out


def concrete(value, what: str) -> None:
  """InputError for a traced array: the model runs its own compiled programs on
  concrete values, and cannot be traced through."""
  if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value)):
    raise InputError(f'{what}: a traced JAX array (inside jax.jit, vmap or grad); a loaded '
                     'model runs its own compiled programs on concrete arrays: call it '
                     'outside the transformation')


def floats(given, what: str) -> np.ndarray:
  """<float64> of `given`; InputError naming `what` for what is not numbers (text, an
  integer past float64), and the first such cell's row where it is found."""
  try:
    return np.asarray(given, np.float64)
  except (TypeError, ValueError, OverflowError) as e:
    raise InputError(f'{what}: holds values that are not numbers '
                     f'({_first_not_a_number(given) or e})') from None


def cells(frame) -> np.ndarray:
  """The cells of a DataFrame (or one of its columns) as a NumPy array, where a column
  of pandas' nullable or Arrow dtypes (`pd.read_csv(..., dtype_backend=...)`, 'Int64'),
  or of objects (`pd.DataFrame({'x': [1.5, pd.NA]})`), holds pd.NA for a gap: NaN
  there, a gap as NumPy's columns hold it. Every DataFrame a loaded model reads (its
  histories, future inputs, cases) is read by this."""
  dtypes = list(frame.dtypes) if hasattr(frame, 'columns') else [frame.dtype]
  if all(isinstance(d, np.dtype) and d != object for d in dtypes):
    return frame.to_numpy()
  return frame.astype(object).where(frame.notna(), np.nan).to_numpy()


def text_cells(column) -> np.ndarray:
  """<object>[rows] of str: a DataFrame column's cells as a CSV holds them, read as the
  sweep read its file: an empty cell (NaN, None, pd.NA, NaT) is '', a whole number stored
  as a float is written whole (pd.read_csv reads a column of step numbers or ids with one
  empty cell as floats: 3.0 is '3', as the file wrote it)."""
  empty = column.isna().to_numpy()
  text = column.astype(str).to_numpy().astype(object)
  if getattr(column.dtype, 'kind', 'O') == 'f':
    numbers = np.where(empty, 0.0, np.asarray(cells(column), np.float64))
    whole = np.isfinite(numbers) & (np.abs(numbers) < 2.0 ** 53) & (numbers % 1 == 0)
    text[whole] = [str(int(n)) for n in numbers[whole]]
  text[empty] = ''
  return text


def id_cells(frame, id_column: str, what: str) -> np.ndarray:
  """<object>[rows] of str: a DataFrame's id column (`text_cells`); InputError naming `what`
  and the first row (by position) whose id is empty, as the sweep refuses a file's."""
  keys = text_cells(frame[id_column])
  empty = np.flatnonzero(keys == '')
  if len(empty):
    more = f' ({len(empty)} such rows)' if len(empty) > 1 else ''
    raise InputError(f'{what}: row {empty[0]}: its id column {id_column!r} is empty{more}')
  return keys


def _first_not_a_number(given) -> str:
  """"row i: 'n/a'" for the first cell of rows `given` that float() refuses, else ''."""
  try:
    rows = list(given)
  except TypeError:
    return ''
  for i, row in enumerate(rows):
    for cell in (row if isinstance(row, (list, tuple, np.ndarray)) else [row]):
      try:
        float(cell)
      except (TypeError, ValueError, OverflowError):
        return f'row {i}: {cell!r}'
  return ''


def representable(values: np.ndarray, what: str) -> None:
  """InputError for finite values past float32's range, which the networks read."""
  finite = np.abs(values[np.isfinite(values)])
  if finite.size and finite.max() > FLOAT32_MAX:
    raise InputError(f'{what}: {finite.max():.3g} is past the range of float32 '
                     f'(|x| <= {FLOAT32_MAX:.3g}), in which the model computes')


def origins(given, length: int, need: int, steps: int) -> np.ndarray:
  """<int64>[W]: forecast origins t inside a series of `length` points: each reads the
  `need` points before it and forecasts `steps` points from it, all inside."""
  values = np.asarray(given)
  if values.ndim == 0:
    values = values[None]
  if values.ndim != 1 or not len(values) or not np.issubdtype(values.dtype, np.integer):
    raise InputError(f'origins: {given!r} must be a non-empty list of whole numbers')
  outside = values[(values < need) | (values > length - steps)]
  if len(outside):
    raise InputError(f'origins: {int(outside[0])} is outside [{need}, {length - steps}]: '
                     f'an origin reads the {need} points before it and forecasts {steps} '
                     f'inside the {length} given')
  return values.astype(np.int64)
