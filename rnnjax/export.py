"""The final model on disk: WORKDIR/model/, everything needed to use it without flags.

At the end of a sweep `save` writes the model that was scored on test (one member, an
ensemble or a refit; summary['final']):

  model/manifest.json    task, kind, members, per group of members of one structure its
                         TrainConfig (cell, widths, layers, readout, ...), uids and
                         weights; the data transforms (scaling statistics, differencing,
                         lookback, horizon, columns, class labels, vocabulary); the test
                         figures the model reached, interval coverage, versions
  model/params.msgpack   each group's parameters <[M_g, ...]> (flax.serialization)
  model/arrays.npz       forecasting: the series (levels, gap-filled), its times, and
                         the validation residuals the intervals are calibrated on

A group's parameters keep the width of the bucket they trained in (a member of a
masked bucket is padded with exact zeros, see model.py); its TrainConfig is that
bucket's, so the parameters and the config agree. `rnnjax.load` (tuned.py) reads it.
"""

import dataclasses
import json
import os
import shutil
import zipfile

import flax.serialization
import jax
import numpy as np

from rnnjax import distributed
from rnnjax import gather
from rnnjax import model
from rnnjax import population as pop
from rnnjax import results
from rnnjax import sharding
from rnnjax import workdir as workdir_lib
from rnnjax.errors import InputError

DIRNAME = 'model'
MANIFEST, PARAMS, ARRAYS = 'manifest.json', 'params.msgpack', 'arrays.npz'
FORMAT = 1


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


def _lookback(datas, data_key):
  return datas[data_key].transform.get('lookback')


def _config(cfg: pop.TrainConfig) -> pop.TrainConfig:
  # Folds only shape training draws; the saved model is one model (see population.py).
  return dataclasses.replace(cfg, num_folds=1) if hasattr(cfg, 'num_folds') else cfg


def groups_of(runs, uids, mesh, datas) -> list:
  """The Groups of members `uids` (repeats: weight) at their validation-best parameters,
  one per run that holds some, in the order of `uids`. datas: the sweep's data by data
  key. Every process must call it (it gathers rows across processes)."""
  counts = {u: uids.count(u) for u in uids}
  distinct = list(counts)
  groups = []
  for run in runs:
    if run.state is None:
      continue
    mine = [u for u in distinct if u in run.uids]
    if not mine:
      continue
    rows = [run.uids.index(u) for u in mine]
    index = rows + [rows[0]] * (-len(rows) % mesh.size)
    params = distributed.fetch(gather.compact(run.state.best_params, index,
                                              sharding=sharding.members_sharding(mesh)))
    groups.append(Group(_config(run.cfg), _lookback(datas, run.data_key), tuple(mine),
                        tuple(float(counts[u]) for u in mine),
                        jax.tree.map(lambda a, n=len(mine): np.asarray(a[:n]), params)))
  return groups


def refit_groups(parts, datas) -> list:
  """The Groups of refit.refit's parameters (see its docstring)."""
  groups = []
  for part in parts:
    n = len(part['uids'])
    params = distributed.fetch(part['params'])
    groups.append(Group(_config(part['cfg']), _lookback(datas, part['data_key']),
                        tuple(part['uids']),
                        tuple(part['weights']),
                        jax.tree.map(lambda a, n=n: np.asarray(a[:n]), params)))
  return groups


def config_json(cfg: pop.TrainConfig) -> dict:
  return dataclasses.asdict(cfg)


def config_from_json(obj: dict) -> pop.TrainConfig:
  return pop.TrainConfig(**{**obj, 'model': model.ModelConfig(**obj['model'])})


def _json_ready(value):
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, dict):
    return {k: _json_ready(v) for k, v in value.items()}
  return value


def manifest(spec, summary: dict, data, groups) -> dict:
  """The manifest of a final model (see the module docstring). data: its TaskData."""
  final = summary['final']
  transform = {k: v for k, v in data.transform.items() if k not in ('series', 'path')}
  return {
      'format': FORMAT, 'task': spec.task, 'kind': final['kind'],
      'members': list(final['members']),
      'groups': [{'train_config': config_json(g.cfg), 'lookback': g.lookback,
                  'uids': list(g.uids), 'weights': list(g.weights)} for g in groups],
      'data': _json_ready(transform),
      'metric_names': dict(data.metric_names),
      'val': final.get('val'), 'test': final.get('test'),
      'display': summary.get('display'), 'selection': summary.get('selection'),
      'sweep': spec.to_json(),  # Where it came from; nothing here reads it back.
      'versions': workdir_lib.versions(),
  }


def series_arrays(data) -> dict:
  """Forecasting: the series and its times, to forecast from its end (else {})."""
  if data.task != 'forecast':
    return {}
  from rnnjax.data import forecast  # pylint: disable=g-import-not-at-top
  transform = data.transform
  times = forecast.read_times(transform['path'], transform['time_column'])
  return {'series': np.asarray(transform['series'], np.float64),
          'times': np.asarray(times, dtype=str)}


def save(workdir: str | None, sweep, runs, summary: dict, refitted=None, log=print):
  """Writes WORKDIR/model/ for summary['final'] (nothing without one). Every process
  calls it (parameters are gathered across processes); only where `workdir` is given
  (process 0) are files written. refitted: refit.refit's parameters, for a refit."""
  final = summary.get('final')
  if not final:
    return None
  mesh = sweep.mesh
  before = groups_of(runs, list(final['members']), mesh, sweep.datas)
  groups = refit_groups(refitted, sweep.datas) if final['kind'] == 'refit' else before
  if workdir is None:
    return None
  data = sweep.data  # The usual split (with folds: the last fold's), as the final model's.
  info = manifest(sweep.spec, summary, data, groups)
  arrays = series_arrays(data)
  if sweep.spec.task == 'forecast':
    # Imported here: the intervals need the model, which needs this module.
    from rnnjax import intervals  # pylint: disable=g-import-not-at-top
    from rnnjax import tuned  # pylint: disable=g-import-not-at-top
    # A refit trained on validation: its residuals there are in-sample; the model it
    # refits (same members, trained on train alone) gives honest ones.
    calibrating = tuned.TunedModel(info, before, arrays)
    residuals = intervals.validation_residuals(calibrating)
    arrays['residuals'] = residuals
    info['intervals'] = intervals.describe(residuals, refit=final['kind'] == 'refit')
    model_ = tuned.TunedModel(info, groups, arrays)
    info['intervals']['test_coverage'] = intervals.coverage_on_test(model_)
  write(os.path.join(workdir, DIRNAME), info, groups, arrays)
  log(f'final model saved to {os.path.join(workdir, DIRNAME)}: use it with python -m '
      f'experiments.predict --workdir={workdir}, or rnnjax.load({workdir!r})')
  return info


def write(path: str, info: dict, groups, arrays: dict) -> None:
  """Writes the three files into `path`, replacing what was there, atomically enough
  that a reader sees either no manifest or a complete model (manifest written last)."""
  tmp = path + '.tmp'
  if os.path.exists(tmp):
    shutil.rmtree(tmp)
  os.makedirs(tmp)
  with open(os.path.join(tmp, PARAMS), 'wb') as f:
    f.write(flax.serialization.to_bytes([g.params for g in groups]))
  if arrays:
    np.savez(os.path.join(tmp, ARRAYS), **arrays)
  results.write_json(os.path.join(tmp, MANIFEST), info)
  if os.path.exists(path):
    shutil.rmtree(path)
  os.replace(tmp, path)


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


def read(path: str):
  """(manifest, [Group], arrays) of a model directory written by `write`. InputError
  naming the file when one is missing or damaged (messages without the directory's
  owner: tuned.load adds it)."""
  info = _load(path, MANIFEST, json.load)
  where = os.path.join(path, MANIFEST)
  if not isinstance(info, dict) or not isinstance(info.get('groups'), list):
    raise InputError(f'{where} is not a model manifest (no list of groups)')
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
  arrays = {}
  if task == 'forecast' or os.path.exists(os.path.join(path, ARRAYS)):
    arrays = _load(path, ARRAYS, _npz)
  # Forecasting reads its series from here (residuals: only a model with intervals).
  missing = sorted({'series', 'times'} - set(arrays)) if task == 'forecast' else []
  if missing:
    raise InputError(f'{os.path.join(path, ARRAYS)} lacks {", ".join(missing)}')
  return info, groups, arrays
