"""A saved model's files: WORKDIR/model/, everything needed to use it without flags.

  model/manifest.json    task, kind, members, per group of members of one structure its
                         TrainConfig (cell, widths, layers, readout, ...), uids and
                         weights; the data transforms (scaling statistics, differencing,
                         lookback, horizon, columns, class labels, vocabulary); the test
                         figures the model reached, interval coverage, versions
  model/params.msgpack   each group's parameters <[M_g, ...]> (flax.serialization)
  model/arrays.npz       forecasting: the series (levels, gap-filled), its times (which
                         target cells of its test part are scored, where some were
                         empty), and the validation residuals the intervals are
                         calibrated on; a
                         panel: every series' train part, times and test part (which
                         of its cells are scored, where some were empty), and the
                         residuals (export.panel_arrays)

`write` writes them (export.py decides what), `read` reads them back, each damaged or
missing file refused in one line naming it; `load` (`rnnjax.load`) makes a finished
work directory's saved model a TunedModel (tuned.py).
"""

import dataclasses
import json
import os
import zipfile

import flax.serialization
import jax
import numpy as np

from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.final.saved import members
from rnnjax.final.saved import tuned
from rnnjax.results import files

DIRNAME = files.MODEL
MANIFEST, PARAMS, ARRAYS = 'manifest.json', 'params.msgpack', 'arrays.npz'
FORMAT = 1
# The arrays a task's model cannot do without.
NEEDS = {'forecast': ('series', 'times'),
         'panel': ('ids', 'offsets', 'values', 'times', 'test', 'test_times')}


@dataclasses.dataclass(frozen=True)
class Group:
  """Members of one structure: their static config and stacked host parameters.

  lookback: forecasting's lookback (the windows the group reads), else None.
  weights: <float64>[M]: each member's share of the average (normalised by the sum).
  params: the members' parameters, every leaf <[M, ...]> (numpy).
  """
  cfg: pop.TrainConfig
  lookback: int | None
  uids: tuple
  weights: tuple
  params: dict


def config_json(cfg: pop.TrainConfig) -> dict:
  return dataclasses.asdict(cfg)


def config_from_json(obj: dict) -> pop.TrainConfig:
  return pop.TrainConfig(**{**obj, 'model': model.ModelConfig(**obj['model'])})


def write(path: str, info: dict, groups, arrays: dict) -> None:
  """Writes the three files into `path`, replacing what was there, atomically enough
  that a reader sees either no manifest or a complete model (manifest written last,
  with the other files' digests: `read` refuses a file changed since)."""
  with files.atomic(path) as tmp:
    os.makedirs(tmp)
    with open(os.path.join(tmp, PARAMS), 'wb') as f:
      f.write(flax.serialization.to_bytes([g.params for g in groups]))
    if arrays:
      np.savez(os.path.join(tmp, ARRAYS), **arrays)
    digests = {name: files.digest(os.path.join(tmp, name)) for name in (PARAMS, ARRAYS)
               if os.path.exists(os.path.join(tmp, name))}
    files.write_json(os.path.join(tmp, MANIFEST), {**info, 'digests': digests})


def _lists(tree):
  """msgpack_restore's dicts keyed '0', '1', ... back into the lists they were."""
  if isinstance(tree, dict):
    if tree and all(k.isdigit() for k in tree) and sorted(map(int, tree)) == list(
        range(len(tree))):
      return [_lists(tree[str(i)]) for i in range(len(tree))]
    return {k: _lists(v) for k, v in tree.items()}
  return tree


def _load(path: str, name: str, parse):
  """parse(binary file) of `name` in the model directory `path`; InputError naming the
  file and what is wrong when it is missing, unreadable or not what `write` wrote."""
  where = os.path.join(path, name)
  try:
    with open(where, 'rb') as f:
      return parse(f)
  except FileNotFoundError:
    raise InputError(f'{where} is missing') from None
  except OSError as e:
    raise InputError(f'{where} cannot be read ({e.strerror})') from None
  except json.JSONDecodeError as e:
    raise InputError(f'{where} is not valid JSON ({e.msg}: line {e.lineno} column '
                     f'{e.colno}): it is truncated or damaged') from None
  # What msgpack, zipfile and numpy raise on truncated or foreign bytes.
  except (ValueError, EOFError, zipfile.BadZipFile) as e:
    why = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise InputError(f'{where} is damaged, truncated or not written by rnnjax '
                     f'({why})') from None


def _npz(f) -> dict:
  with np.load(f, allow_pickle=False) as npz:
    return {k: npz[k] for k in npz.files}


def _check_shapes(group: Group, where: str) -> None:
  """InputError naming `where` unless the group's parameters have the shapes its
  config gives (leaves <[M, ...]>, M its members): the files of another model are
  refused here, not at the first forecast."""
  one = jax.eval_shape(lambda key: model.init_params(group.cfg.model, key),
                       jax.random.key(0))
  try:
    leaves, tree = jax.tree.flatten(group.params)
    same = tree == jax.tree.structure(one) and all(
        np.shape(a) == (len(group.uids),) + b.shape
        for a, b in zip(leaves, jax.tree.leaves(one)))
  except (TypeError, ValueError):
    same = False
  if not same:
    raise InputError(f'{where}: its parameters are not the shapes of the '
                     f'{len(group.uids)} member(s) of {group.cfg.model.cell} '
                     f'{group.cfg.model.num_layers}x{group.cfg.model.hidden_size} '
                     f'{MANIFEST} describes (the files of another model?)')


def _check_scaling(data: dict, groups, where: str) -> None:
  """InputError naming `where` unless a forecaster's scaling statistics are positive
  finite numbers, one per input column (targets first) and one per target, and every
  group reads that many columns."""
  columns = [data.get('target_columns'), data.get('input_columns')]
  if not all(isinstance(c, list) and all(isinstance(n, str) for n in c) for c in columns):
    raise InputError(f'{where} is not a model manifest (target_columns and input_columns '
                     f'must be lists of column names)')
  c_out, c_in = len(columns[0]), len(columns[0]) + len(columns[1])
  for name, size in [('x_mean', c_in), ('x_std', c_in), ('mean', c_out), ('std', c_out),
                     ('mase_scale', c_out)]:
    value = data.get(name)
    try:
      numbers = np.asarray([np.nan if v is None else v for v in value], np.float64)
      # A target flat over the training part has no MASE scale (NaN, written null).
      ok = (isinstance(value, list) and len(value) == size and
            (np.isfinite(numbers) | (np.isnan(numbers) & (name == 'mase_scale'))).all())
    except (TypeError, ValueError):
      ok = False
    if ok and name in ('x_std', 'std'):
      ok = bool((np.asarray(value, np.float64) > 0).all())
    if not ok:
      raise InputError(f'{where} is not a model manifest ({name} must be {size} finite '
                       f'number(s){", each > 0" if "std" in name else ""}, one per '
                       f'{"input" if name.startswith("x_") else "target"} column; got '
                       f'{str(value)[:60]})')
  sizes = sorted({g.cfg.model.input_size for g in groups} - {c_in})
  if sizes:
    raise InputError(f'{where} is not a model manifest (its models read {sizes[0]} '
                     f'column(s), its data transforms {c_in})')


def read(path: str):
  """(manifest, [Group], arrays) of a model directory written by `write`. InputError
  naming the file when one is missing or damaged (messages without the directory's
  owner: `load` adds it)."""
  info = _load(path, MANIFEST, json.load)
  where = os.path.join(path, MANIFEST)
  if not isinstance(info, dict) or not isinstance(info.get('groups'), list):
    raise InputError(f'{where} is not a model manifest (no list of groups)')
  if info.get('format') != FORMAT:
    raise InputError(f'{where} is format {info.get("format")!r}; this rnnjax reads '
                     f'format {FORMAT}')
  missing = [k for k in ('task', 'kind', 'data') if k not in info]
  if missing:
    raise InputError(f'{where} is not a model manifest (no {", ".join(missing)})')
  if info['task'] not in members.KINDS or not isinstance(info['data'], dict):
    raise InputError(f'{where} is not a model manifest (task {info["task"]!r}: one of '
                     f'{", ".join(members.KINDS)}, with a dict of data transforms)')
  params = _load(path, PARAMS, lambda f: _lists(flax.serialization.msgpack_restore(
      f.read())))
  if not isinstance(params, list) or len(params) != len(info['groups']):
    raise InputError(f'{os.path.join(path, PARAMS)} does not hold the '
                     f'{len(info["groups"])} group(s) of parameters {MANIFEST} lists')
  try:
    groups = [Group(config_from_json(g['train_config']), g['lookback'], tuple(g['uids']),
                    tuple(g['weights']), p) for g, p in zip(info['groups'], params)]
    task = info['task']
  except (KeyError, TypeError) as e:
    raise InputError(f'{where} is not a model manifest ({type(e).__name__}: '
                     f'{e})') from None
  for k, group in enumerate(groups):
    _check_shapes(group, f'{os.path.join(path, PARAMS)} group {k}')
    if len(group.weights) != len(group.uids):
      raise InputError(f'{where} is not a model manifest (group {k}: {len(group.weights)} '
                       f'weights for {len(group.uids)} members)')
  if task in ('forecast', 'panel'):  # Whole numbers a forecast loops over.
    counts = [info['data'].get('horizon'), info['data'].get('lookback')] + [
        g.lookback for g in groups]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in counts):
      raise InputError(f'{where} is not a model manifest (horizon and lookbacks must be '
                       f'whole numbers >= 1; got {counts})')
  if task == 'forecast':
    _check_scaling(info['data'], groups, where)
  arrays = {}
  if task in NEEDS or os.path.exists(os.path.join(path, ARRAYS)):
    arrays = _load(path, ARRAYS, _npz)
  # Forecasting reads its series from here (residuals: only a model with intervals).
  missing = sorted(set(NEEDS.get(task, ())) - set(arrays))
  if missing:
    raise InputError(f'{os.path.join(path, ARRAYS)} lacks {", ".join(missing)}')
  _check_digests(path, info.get('digests'))
  return info, groups, arrays


def _check_digests(path: str, digests) -> None:
  """InputError where a file that still reads is not the one `write` wrote (a model of
  an earlier rnnjax records no digests): a changed weight would forecast, classify or
  write nonsense without a word. Checked after the files' own checks, which say more."""
  for name, want in (digests if isinstance(digests, dict) else {}).items():
    where = os.path.join(path, name)
    if name in (PARAMS, ARRAYS) and os.path.exists(where) and files.digest(where) != want:
      raise InputError(f'{where} is not the file rnnjax wrote (its digest differs from '
                       f'the one {MANIFEST} records: changed or damaged since)')


def load(workdir: str) -> tuned.TunedModel:
  """The final model of the finished sweep in `workdir` (or `workdir` the model's folder
  itself, WORKDIR/model copied away); InputError when there is none or its files are
  damaged. Messages name the argument (`workdir: ...`), as every
  InputError of tuned.py does; experiments/predict.py turns names into flags."""
  if not isinstance(workdir, (str, os.PathLike)):
    raise InputError(f'workdir: a path (str), not {type(workdir).__name__}')
  workdir = os.fspath(workdir)
  if not os.path.isdir(workdir):
    problem = 'not a directory' if os.path.exists(workdir) else 'no such directory'
    raise InputError(f'workdir: {workdir}: {problem}')
  path = os.path.join(workdir, DIRNAME)
  if os.path.exists(os.path.join(workdir, MANIFEST)):  # A model folder of its own.
    path = workdir
  elif (not os.path.exists(os.path.join(workdir, files.SUMMARY)) and
        not os.path.exists(os.path.join(path, MANIFEST))):
    if os.path.exists(os.path.join(workdir, files.LOCK)):  # Its sweep runs (or was killed).
      raise InputError(f'workdir: {workdir} holds no finished sweep yet: a sweep holds it '
                       f'({files.LOCK}: running, or stopped by kill -9); use it once the '
                       'sweep has finished (a stopped one resumes when its command is run '
                       'again)')
    raise InputError(f'workdir: {workdir} holds no finished sweep (no {files.SUMMARY}) '
                     f'and no model ({MANIFEST}); run python -m experiments.population_sweep '
                     'on it first')
  if not os.path.exists(os.path.join(path, MANIFEST)):
    raise InputError(f'workdir: {workdir} holds no saved model ({DIRNAME}/'
                     f'{MANIFEST}): its sweep found no usable member, or ran before '
                     'models were saved (run it again with --overwrite)')
  try:
    return tuned.TunedModel(*read(path))
  except InputError as e:
    # The sweep writes the model once, at its end: nothing short of a copy restores it.
    raise InputError(f'workdir: {e}; restore the file, or run the sweep again with '
                     '--overwrite to save its model anew') from None
