"""The results table of a finished sweep, read from its work directory alone.

`load(workdir)` reads `summary.json` (required), `sweep.json` and `plan.json` (optional:
axis kinds and the swept list; guessed from the members when absent). Every figure, the
importance analysis and the tables start from the `Table` it returns, and from its
members' validation values and configurations (member_values.py: `values`, `usable`,
`config_stats`, ...).
The learning curves are read on demand by plots/curves.py, PBT's records by plots/schedules.py.

An axis is drawn on one of three scales: 'log' (loguniform draws, and grids whose values
are positive and roughly geometric), 'linear', or 'category' (names, and numeric grids
that are neither geometric nor evenly spaced, such as weight decay 0, 1e-5, 1e-4).
"""

import dataclasses
import json
import math
import os

import numpy as np

from rnnjax.errors import InputError
from rnnjax.results import files
from rnnjax.results import summary_file
from rnnjax.search import space

SUMMARY, SWEEP, PLAN = files.SUMMARY, files.SWEEP, files.PLAN
# Older summaries name neither; they selected on MSE and showed RMSE.
DEFAULT_SELECTION = {'metric': 'mse', 'mode': 'min'}
DEFAULT_DISPLAY = 'rmse'
HIGHER_IS_BETTER = ('accuracy', 'balanced_accuracy', 'acc', 'r2')  # For summaries that omit display_mode.


@dataclasses.dataclass(frozen=True)
class AxisInfo:
  """A swept hyperparameter: its observed values and how to draw it."""
  name: str
  kind: str            # 'grid', 'uniform', 'loguniform' or 'randint'
  values: tuple        # distinct values seen, sorted
  scale: str           # 'log', 'linear' or 'category'

  @property
  def continuous(self) -> bool:
    """Drawn at random from a range: bin it rather than list its values."""
    return self.kind != 'grid'


@dataclasses.dataclass(frozen=True)
class Table:
  """One sweep's members with their hyperparameters, status and validation metrics.

  `members`: summary member dicts, with `val` values as floats (NaN for null); after PBT
  each is its own configuration, and copies of a better-ranked one's weights are left out
  (`copies` counts them; `ranking` is the summary's, theirs included).
  `axes`: swept axes in plan order. `metric`/`mode`: what the sweep selected on;
  `shown`/`shown_mode`: what figures draw: the metric the summary names `plotted` (one
  that orders members as the ranking does, where the display metric does not: engine/tasks/),
  else the display metric when recorded.
  """
  workdir: str
  task: str
  search: str
  members: tuple
  axes: dict
  metric: str
  mode: str
  shown: str
  shown_mode: str
  ranking: tuple
  chance: dict = dataclasses.field(default_factory=dict)  # metric -> a no-skill value
  copies: int = 0      # PBT: members left out, holding a better-ranked one's weights
  train_steps: int = 0  # The sweep's --train_steps (0 where sweep.json does not say).
  # The summary's record of the final model (its members, test scores; a classifier's
  # test_per_class and test_confusion): {} before it is made.
  final: dict = dataclasses.field(default_factory=dict)

  @property
  def uids(self) -> np.ndarray:
    return np.array([m['uid'] for m in self.members])

  @property
  def status(self) -> np.ndarray:
    return np.array([m['status'] for m in self.members])


def _read(path: str, required: bool = True):
  if not os.path.exists(path):
    if required:
      raise InputError(f'{path}: no such file (has the sweep finished?)')
    return None
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise InputError(f'{path}: unreadable JSON ({e})') from None


def _float(v) -> float:
  return math.nan if v is None else float(v)


def _spec_axes(spec: dict) -> dict:
  """name -> space.Axis from sweep.json's spec ({} without one, or if it no longer
  parses)."""
  if not spec:
    return {}
  try:
    return space.axes_of(spec, task=spec.get('task', ''),
                          dropout_per_layer=spec.get('dropout_per_layer', ''))
  except InputError:
    return {}


def _kind(axis, values: list, num_configs: int) -> tuple:
  """(kind, (lo, hi) or None) from the spec's axis, or guessed from the values seen."""
  numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
  if (axis is not None and axis.kind == 'grid' and numeric
      and not set(values) <= set(axis.values)):
    # PBT moved members off the grid: their values span its range (pbt.search_space).
    lo, hi = min(axis.values), max(axis.values)
    return ('loguniform' if lo > 0 and hi >= 10 * lo else 'uniform'), (lo, hi)
  if axis is not None:
    return axis.kind, (axis.values if axis.is_random else None)
  if numeric and len(values) > 12 and len(values) > num_configs / 2:
    return ('randint' if all(isinstance(v, int) for v in values) else 'uniform'), None
  return 'grid', None


def choose_scale(kind: str, values, bounds=None) -> str:
  """'log', 'linear' or 'category' for an axis of this kind with these distinct values."""
  if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
    return 'category'
  v = np.array(sorted(values), np.float64)
  lo, hi = (bounds if bounds else (v.min(), v.max()))
  if kind == 'loguniform':
    return 'log'
  if kind in ('uniform', 'randint'):
    return 'log' if kind == 'randint' and lo > 0 and hi / lo >= 8 else 'linear'
  if len(v) < 2:
    return 'linear'
  steps = np.diff(v)
  if len(v) == 2:
    return 'log' if v[0] > 0 and v[1] / v[0] >= 4 else 'linear'
  if steps.max() <= 1.5 * steps.min():
    return 'linear'
  if v[0] > 0:
    log_steps = np.diff(np.log(v))
    if log_steps.max() <= 3 * log_steps.min():
      return 'log'
  return 'category'


def _swept(plan, hparams: list) -> list:
  keys = list(hparams[0]) if hparams else []
  if plan and 'swept' in plan:
    return [a for a in plan['swept'] if a in keys]
  return [k for k in keys if len({json.dumps(h[k]) for h in hparams}) > 1]


def summary_of(workdir: str, flag: str = '--workdir') -> dict:
  """A finished sweep's summary in memory (summary_file.read: its tables read from
  members.npz where it points); InputError naming `flag` or the missing/bad file."""
  if not os.path.isdir(workdir):
    raise InputError(f'{flag}: {workdir} is not a directory')
  if (not os.path.exists(os.path.join(workdir, SUMMARY)) and
      os.path.exists(os.path.join(workdir, 'comparison.json'))):
    sweeps = sorted(d for d in os.listdir(workdir)
                    if os.path.exists(os.path.join(workdir, d, SUMMARY)))
    raise InputError(f'{flag}: {workdir} holds a search comparison, whose figure is its '
                     'comparison.png; the figures of one of its sweeps: '
                     f'{flag}={os.path.join(workdir, sweeps[0] if sweeps else "grid-0")}')
  summary = _read(os.path.join(workdir, SUMMARY))
  if not isinstance(summary, dict) or not (summary.get('members') or 'columns' in summary):
    raise InputError(f'{os.path.join(workdir, SUMMARY)}: no members')
  try:  # Its records and configurations as tables, read from members.npz where it points.
    summary = summary_file.read(workdir, summary)
  except (OSError, ValueError, KeyError) as e:
    raise InputError(f'{os.path.join(workdir, summary.get("columns", SUMMARY))}: '
                     f'unreadable ({e})') from None
  if not summary['members']:
    raise InputError(f'{os.path.join(workdir, SUMMARY)}: no members')
  return summary


def sweep_of(workdir: str) -> dict:
  """sweep.json ({} where a work directory has none)."""
  return _read(os.path.join(workdir, SWEEP), required=False) or {}


def load(workdir: str) -> Table:
  """Reads a work directory's results; raises InputError naming a missing/bad file."""
  summary = summary_of(workdir)
  sweep = sweep_of(workdir)
  plan = _read(os.path.join(workdir, PLAN), required=False)
  spec = sweep.get('spec', {})
  members = []
  for m in summary['members']:
    members.append({**m, 'val': {k: _float(v) for k, v in m.get('val', {}).items()},
                    'config': m.get('config', m['uid'])})
  search = spec.get('search')
  members, copies = _own_weights(members, summary.get('ranking', ())) if search == 'pbt' \
      else (members, 0)
  hparams = [m['hparams'] for m in members]
  num_configs = len({m['config'] for m in members})
  axes, spec_axes = {}, _spec_axes(spec)
  for name in _swept(plan, hparams):
    values = sorted({h[name] for h in hparams}, key=lambda v: (isinstance(v, str), v))
    kind, bounds = _kind(spec_axes.get(name), values, num_configs)
    axes[name] = AxisInfo(name, kind, tuple(values), choose_scale(kind, values, bounds))
  selection = summary.get('selection') or DEFAULT_SELECTION
  metric, mode = selection.get('metric', 'mse'), selection.get('mode', 'min')
  display = summary.get('display', DEFAULT_DISPLAY if 'selection' not in summary else metric)
  display_mode = summary.get('display_mode', mode if display == metric else
                             'max' if display in HIGHER_IS_BETTER else 'min')
  # Older classification summaries name none; they ranked on cross-entropy too.
  plotted = summary.get('plotted', 'ce' if summary.get('task') == 'classify' else None)
  if plotted:
    display, display_mode = plotted, 'min'
  if not any(display in m['val'] for m in members):
    display, display_mode = metric, mode
  random = any(a.continuous for a in axes.values())
  return Table(workdir=workdir, task=summary.get('task', spec.get('task', 'forecast')),
               search=search or ('random' if random else 'grid'), copies=copies,
               members=tuple(members), axes=axes, metric=metric, mode=mode,
               shown=display, shown_mode=display_mode,
               ranking=tuple(summary.get('ranking', ())), chance=_chance(summary),
               train_steps=int(spec.get('train_steps') or 0),
               final=summary.get('final') or {})


def _own_weights(members: list, ranking) -> tuple[list, int]:
  """PBT's members as figures draw them: each its own configuration (its seeds, if any,
  went their own ways), and a member whose best weights a better-ranked one holds (a
  copy: the same best_of and best_step) left out. Returns (members, how many left)."""
  place = {uid: k for k, uid in enumerate(ranking)}
  seen, kept = set(), []
  for m in sorted(members, key=lambda m: (place.get(m['uid'], len(place)), m['uid'])):
    weights = (m.get('best_of', m['uid']), m.get('best_step'))
    if m['uid'] in place and weights in seen:
      continue
    seen.add(weights)
    kept.append({**m, 'config': m['uid']})
  return sorted(kept, key=lambda m: m['uid']), len(members) - len(kept)


def _chance(summary: dict) -> dict:
  """metric -> the validation value of a model that learned nothing, where the task
  defines one: a uniform character model (charlm), uniform class scores (classify)."""
  if summary.get('task') == 'charlm':
    bpc = summary.get('baselines', {}).get('uniform', {}).get('val', {}).get('bpc')
    return {} if bpc is None else {'bpc': bpc, 'nats': bpc * math.log(2)}
  if summary.get('task') == 'classify':
    num_classes = len(summary.get('data', {}).get('classes', ()))
    return {'ce': math.log(num_classes)} if num_classes > 1 else {}
  return {}
