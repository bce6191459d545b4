"""The final model saved: what goes into WORKDIR/model/ (model_files.py writes it).

At the end of a sweep `save` writes the model that was scored on test (one member, an
ensemble or a refit; summary['final']), calibrates its intervals on validation and
records their coverage on test. A group's parameters keep the width of the bucket they
trained in (a member of a masked bucket is padded with exact zeros, see model.py); its
TrainConfig is that bucket's, so the parameters and the config agree. `rnnjax.load`
(tuned.py) reads it.
"""

import dataclasses
import os

import jax
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.final import intervals
from rnnjax.final import model_files
from rnnjax.final import tuned
from rnnjax.final.model_files import Group
from rnnjax.results import files


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
    params = distributed.fetch(gather.rows_on_devices(
        run.state.best_params, [run.uids.index(u) for u in mine], mesh))
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
      'format': model_files.FORMAT, 'task': spec.task, 'kind': final['kind'],
      'members': list(final['members']),
      'groups': [{'train_config': model_files.config_json(g.cfg), 'lookback': g.lookback,
                  'uids': list(g.uids), 'weights': list(g.weights)} for g in groups],
      'data': _json_ready(transform),
      'metric_names': dict(data.metric_names),
      'val': final.get('val'), 'test': final.get('test'),
      'display': summary.get('display'), 'selection': summary.get('selection'),
      'sweep': spec.to_json(),  # Where it came from; nothing here reads it back.
      'versions': files.versions(),
  }


def series_arrays(data) -> dict:
  """Forecasting: the series and its times, to forecast from its end (else {})."""
  if data.task != 'forecast':
    return {}
  from rnnjax.data import times as times_lib  # pylint: disable=g-import-not-at-top
  transform = data.transform
  times = times_lib.read_times(transform['path'], transform['time_column'])
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
    # A refit trained on validation: its residuals there are in-sample; the model it
    # refits (same members, trained on train alone) gives honest ones.
    residuals = tuned.TunedModel(info, before, arrays).validation_residuals()
    arrays['residuals'] = residuals
    info['intervals'] = intervals.describe(residuals, refit=final['kind'] == 'refit')
    # The manifest holds no coverage yet: computed, at tuned.DEFAULT_LEVELS.
    info['intervals']['test_coverage'] = tuned.TunedModel(info, groups,
                                                          arrays).test_coverage()
  model_files.write(os.path.join(workdir, model_files.DIRNAME), info, groups, arrays)
  log(f'final model saved to {os.path.join(workdir, model_files.DIRNAME)}: use it with python -m '
      f'experiments.predict --workdir={workdir}, or rnnjax.load({workdir!r})')
  return info
