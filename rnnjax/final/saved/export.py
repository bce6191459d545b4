"""The final model saved: what goes into WORKDIR/model/ (model_files.py writes it).

At the end of a sweep `save` writes the model that was scored on test (one member, an
ensemble or a refit; summary['final']), calibrates its intervals on validation and
records their coverage on test. A group's parameters keep the width of the bucket they
trained in (a member of a masked bucket is padded with exact zeros, see model.py); its
TrainConfig is that bucket's, so the parameters and the config agree. `rnnjax.load`
(tuned.py) reads it.

A panel's model keeps every series of the sweep's data (`panel_arrays`): each train
part, its times and its test part. `predict` forecasts from the end of the sweep's data:
where the test part was given (a bundled competition panel, or --test_path) that is
the end of each train part, the test part being the future the competition scores;
where it was held out (a user's CSV without --test_path: each series' last `horizon`
points) the held-out points are the newest data, and it forecasts from the end of the
whole file (manifest['panel']['forecast_from']). Its intervals are calibrated on the
validation windows of the model before any refit, each error divided by its series'
MASE scale (intervals.py); with --folds, also on each earlier fold's validation windows,
forecast by the same members as trained on that fold (`fold_groups`), which never saw them.
"""

import dataclasses
import os

import jax
import numpy as np

from rnnjax.data import classify
from rnnjax.data import forecast
from rnnjax.data import long_rows
from rnnjax.data import panel
from rnnjax.data import task_data
from rnnjax.data.time import grid as time_grid
from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.final.saved import intervals
from rnnjax.final.saved import model_files
from rnnjax.final.saved import panel_histories
from rnnjax.final.saved import tuned
from rnnjax.final.saved.model_files import Group
from rnnjax.results import files
from rnnjax.results import series_scores


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


def refit_groups(parts, datas, seeds: int) -> list:
  """The Groups of refit.refit's parameters (see its docstring), each seed weighing its
  member's count in the final model, as refit.py combines them (a median needs counts)."""
  groups = []
  for part in parts:
    n = len(part['uids'])
    params = distributed.fetch(part['params'])
    groups.append(Group(_config(part['cfg']), _lookback(datas, part['data_key']),
                        tuple(part['uids']),
                        tuple(float(round(w * seeds)) for w in part['weights']),
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
      'combine': spec.combine,  # Of the members' outputs: ensemble.combine.
      # A --difference median is of the members' level paths (ensemble.combine paths=);
      # a model saved before this key combined the changes, and still does.
      'combine_paths': bool(groups[0].cfg.difference),
      'groups': [{'train_config': model_files.config_json(g.cfg), 'lookback': g.lookback,
                  'uids': list(g.uids), 'weights': list(g.weights)} for g in groups],
      'data': _json_ready(transform),
      'metric_names': dict(data.metric_names),
      'val': final.get('val'), 'test': final.get('test'),
      'display': summary.get('display'), 'selection': summary.get('selection'),
      'sweep': spec.to_json(),  # Where it came from; nothing here reads it back.
      # How a panel member scales a window ending on 0 (--normalization=last): by its
      # mean |value| (engine/tasks/panel.py, since 5ec81b0); a model saved before this
      # key may have been trained reading it in units, and its forecasts say so there.
      'zero_window_scale': 'mean_abs',
      'versions': files.versions(),
  }


def series_arrays(data) -> tuple[dict, list, np.ndarray | None]:
  """Forecasting: the series and its times, to forecast from its end, and where some
  target cell of its test part was empty (filled; left out of the test scores,
  data/windows/series_windows.py `test_observed`) test_observed <bool>[N, C_out], false at
  those cells alone (else {}), and observed <bool>[N, C_out] where some target cell of the
  series was (not with --fill=zero: drawn as gaps); [rows, first time] where its last rows
  had no target (filled; predict says so), else []; and where some cell of its validation
  part was empty (data/windows/series_windows.py `val_observed`) <bool>[N, C_out] false at
  those alone, which calibrate no interval (else None). The file read once, as the loader
  read it."""
  if data.task != 'forecast':
    return {}, [], None
  transform = data.transform
  # The series' times on their grid, as the loader read them (forecast.read_series).
  raw, _, times, _ = forecast.read_series(
      transform['path'], transform['target_columns'], time_column=transform['time_column'],
      input_columns=transform['input_columns'])
  targets = len(transform['target_columns'])
  empty = np.isnan(raw[:, :targets]).all(axis=1)
  ends = panel_histories.trailing_ends([None], [np.where(empty, np.nan, 0.0)], [times])
  arrays = {'series': np.asarray(transform['series'], np.float64),
            'times': np.asarray(times, dtype=str)}
  held = ~np.isnan(raw[:len(arrays['series']), :targets])  # Which cells held a value.
  only = lambda start, stop: np.concatenate([np.ones_like(held[:start]), held[start:stop],
                                              np.ones_like(held[stop:])])
  masked = lambda part: 'observed' in data.arrays.get(part, {})  # Some cell was empty.
  if masked('test'):
    arrays['test_observed'] = only(transform['split_points'][1], len(held))
  if transform.get('fill') != 'zero' and not held.all():  # forecast.png draws them as gaps.
    arrays['observed'] = held
  val = only(*transform['split_points']) if masked('val') else None
  return arrays, ends[0][1:] if ends else [], val


def panel_arrays(spec, data) -> tuple[dict, dict]:
  """(arrays, manifest['panel']) of a panel sweep (see the module docstring): ids
  <str>[S], values <float64>[sum n_i] the train parts (gap-filled) end to end, offsets
  <int64>[S + 1], times <str>[sum n_i], test <float64>[S, horizon] and its test_times
  <str>[S, horizon], test_observed <bool>[S, horizon] where some test cells (held out or
  given) were empty (filled; not scored: panel.test_observed), observed <bool>[sum n_i]
  (beside values) where some train cell was (panel.observed: drawn as gaps), naive2
  <float64>[2] (Naive2's test sMAPE and MASE, for the OWA);
  with input columns, inputs <float64>[sum n_i, C] (beside values) and, where the test
  part was held out (the model forecasts from the data's end) or the model reads future
  columns from the given one, test_inputs <float64>[S, horizon, C] (data/panel.py's).
  manifest['panel'] holds left_out where the file's series too short to hold out a test
  part were left out of the sweep (predict names them), and filled_ends
  (panel_histories.trailing_ends) where series of the file end with rows without a
  target, filled (predict says so where it forecasts from their end)."""
  transform, horizon = data.transform, data.transform['horizon']
  columns = {k: transform[k] for k in ('id_column', 'time_column', 'target_column')}
  dataset = '' if spec.csv_path else spec.dataset or task_data.DEFAULT_DATASET['panel']
  whole = panel.load(dataset=dataset, csv_path=spec.csv_path, test_path=spec.test_path,
                     horizon=horizon, input_columns=transform.get('input_columns', ()),
                     future_columns=transform.get('future_columns', ()),
                     fill=transform.get('fill', 'linear'), **columns)
  held_out = not spec.test_path and (bool(spec.csv_path) or dataset not in panel.PANELS)
  # The test part's times: the file's last cells (held out), or the test file's first;
  # the series whose last rows had no target (filled), which predict says.
  ends = []
  try:
    ids, raw, times, _, _ = long_rows.read_long(
        whole.path, flag='--csv_path', to_end=transform.get('fill') == 'zero', **columns)
    kept = set(whole.ids)
    ends = [e for e in panel_histories.trailing_ends(ids, raw, times) if e[0] in kept]
    if not held_out:
      ids, _, times, _, _ = long_rows.read_long(
          spec.test_path or panel.bundled_paths(dataset)[1], flag='--test_path', **columns)
    test_times = dict(zip(ids, times))
  except InputError:  # Columns the transform does not name: the labels predict would give.
    test_times = dict(zip(whole.ids, time_grid.future_times(whole.times, horizon)))
  arrays = {
      'ids': np.asarray(whole.ids, str),
      'offsets': np.cumsum([0] + [len(v) for v in whole.train]).astype(np.int64),
      'values': np.concatenate(whole.train).astype(np.float64),
      'times': np.asarray([t for part in whole.times for t in part], str),
      'test': np.stack(whole.test).astype(np.float64),
      'test_times': np.asarray([test_times[k][-horizon:] if held_out else
                                test_times[k][:horizon] for k in whole.ids], str)}
  if whole.inputs is not None:  # Read with the target's points (and over the horizon).
    arrays['inputs'] = np.concatenate(whole.inputs).astype(np.float64)
    if whole.test_inputs is not None:
      arrays['test_inputs'] = np.stack(whole.test_inputs).astype(np.float64)
  if whole.test_observed is not None:  # Its empty cells, filled, are not scored.
    arrays['test_observed'] = np.stack(whole.test_observed)
  if whole.observed is not None:  # Its train parts' empty cells: gaps in forecast.png.
    arrays['observed'] = np.concatenate(whole.observed)
  if 'naive2' in data.arrays['test']:
    arrays['naive2'] = np.asarray(data.arrays['test']['naive2'], np.float64)
  info = {'test_part': 'held_out' if held_out else 'given',
          'forecast_from': 'data_end' if held_out else 'train_end'}
  if whole.left_out:  # Not in the model's arrays: predict says they are not forecast.
    info['left_out'] = list(whole.left_out)
  if ends:
    info['filled_ends'] = ends
  return arrays, info


def panel_intervals(info, before, groups, arrays, datas, folds: int, refit: bool,
                    earlier=()) -> None:
  """Adds the calibration residuals to `arrays` and their description and coverage on
  test to info['intervals'] (see the module docstring). before: the final model's
  Groups before any refit; datas: the sweep's data by data key (lookback, fold);
  earlier: [(fold, Groups)], the final model's members as trained on each earlier fold
  (`fold_groups`), whose errors on their own validation windows join the last fold's."""
  def scaled_errors(fold, fold_groups_):
    val_of = {d.transform['lookback']: d.arrays['val']
              for (_, f), d in datas.items() if f == fold}
    val = next(iter(val_of.values()))  # Targets, scales and weights: every lookback's.
    forecasts = tuned.TunedModel(info, fold_groups_, arrays).outputs(
        lambda g: {k: val_of[g.lookback][k] for k in ('x', 'level', 'seasonal', 'floor')})
    truth = val['y'][..., 0].astype(np.float64)
    if 'observed' in val:  # An empty cell (filled) calibrates nothing: NaN, skipped.
      truth = np.where(val['observed'] > 0, truth, np.nan)
    return intervals.scaled_residuals(truth, forecasts, val['mase_denom'], val['weight'])

  arrays['residuals'] = np.concatenate(
      [scaled_errors(folds - 1, before)] + [scaled_errors(f, g) for f, g in earlier], axis=1)
  info['intervals'] = intervals.describe(arrays['residuals'], refit=refit, scaled=True,
                                         folds=1 + len(earlier))
  info['intervals']['test_coverage'] = tuned.TunedModel(info, groups,
                                                        arrays).test_coverage()


def fold_groups(runs, uids, mesh, datas, folds: int) -> list:
  """[(fold, Groups)] for each fold f < folds - 1: the members `uids` of the last fold
  (uid = seed_uid * folds + folds - 1; repeats: weight) as trained on fold f, the same
  configuration and seed with uid seed_uid * folds + f (`groups_of`). Each trained up to
  its fold's origin and never saw the validation block after it. Every process must
  call it. A fold whose members are not all held (no state) is left out."""
  out = []
  for f in range(folds - 1):
    siblings = [u // folds * folds + f for u in uids]
    groups = groups_of(runs, siblings, mesh, datas)
    if sum(len(g.uids) for g in groups) == len(set(siblings)):
      out.append((f, groups))
  return out


def write_series_scores(workdir: str, model, data, log=print) -> dict:
  """WORKDIR/series_scores.csv of the final model's (`model`'s) test forecasts and every
  benchmark's (results/series_scores.py `write_scored`: its log lines, and the paired
  differences it returns); the wins counted by the metric the sweep ranked by (MASE
  for OWA)."""
  forecasts, split = model.panel_test_forecasts()
  counted = series_scores.ranked_by((model.manifest.get('selection') or {}).get('metric'),
                                    'mase')
  return series_scores.write_scored(
      workdir, data.transform['ids'], {series_scores.FINAL: forecasts,
                                       **data.benchmark_forecasts}, split, counted, log)


def save(workdir: str | None, sweep, runs, summary: dict, refitted=None, log=print):
  """Writes WORKDIR/model/ for summary['final'] (nothing without one), and for a panel
  WORKDIR/series_scores.csv and summary['test_paired'] (write_series_scores). Every process
  calls it (parameters are gathered across processes); only where `workdir` is given
  (process 0) are files written. refitted: refit.refit's parameters, for a refit."""
  final = summary.get('final')
  if not final:
    return None
  mesh = sweep.mesh
  before = groups_of(runs, list(final['members']), mesh, sweep.datas)
  groups = (refit_groups(refitted, sweep.datas, final['seeds'])
            if final['kind'] == 'refit' else before)
  earlier = (fold_groups(runs, list(final['members']), mesh, sweep.datas, sweep.spec.folds)
             if sweep.spec.task == 'panel' else [])
  if workdir is None:
    return None
  data = sweep.data  # The usual split (with folds: the last fold's), as the final model's.
  info = manifest(sweep.spec, summary, data, groups)
  arrays, ends, val_cells = series_arrays(data)
  if ends:
    info['filled_end'] = ends
  if sweep.spec.task == 'panel':
    arrays, info['panel'] = panel_arrays(sweep.spec, data)
    panel_intervals(info, before, groups, arrays, sweep.datas, sweep.spec.folds,
                    refit=final['kind'] == 'refit', earlier=earlier)
    log(intervals.panel_calibration_line(arrays['residuals'], tuned.DEFAULT_LEVELS,
                                         folds=sweep.spec.folds))
  if sweep.spec.task == 'forecast':
    # A refit trained on validation: its residuals there are in-sample; the model it
    # refits (same members, trained on train alone) gives honest ones.
    residuals = tuned.TunedModel(info, before, arrays).validation_residuals(
        observed=val_cells)
    arrays['residuals'] = residuals
    info['intervals'] = intervals.describe(residuals, refit=final['kind'] == 'refit')
    # The manifest holds no coverage yet: computed, at tuned.DEFAULT_LEVELS.
    info['intervals']['test_coverage'] = tuned.TunedModel(info, groups,
                                                          arrays).test_coverage()
  model_files.write(os.path.join(workdir, model_files.DIRNAME), info, groups, arrays)
  if sweep.spec.task == 'classify':  # Per class, where an accuracy hides a rare one's.
    test, classes = data.arrays['test'], data.transform['classes']
    probs = tuned.TunedModel(info, groups, arrays).outputs(
        lambda g: {'x': test['x'], 'length': test['length']})
    predicted = np.argmax(probs, -1)
    final['test_per_class'] = classify.per_class(
        np.asarray(classes)[predicted], np.asarray(classes)[test['y']], classes)
    final['test_confusion'] = classify.confusion(predicted, test['y'], len(classes))
  if sweep.spec.task == 'panel':
    summary['test_paired'] = write_series_scores(
        workdir, tuned.TunedModel(info, groups, arrays), data, log)
  log(f'final model saved to {os.path.join(workdir, model_files.DIRNAME)}: use it with python -m '
      f'experiments.predict --workdir={workdir}, or rnnjax.load({workdir!r})')
  return info
