"""The forecasting tasks' data as the engine sees it (task_data.py picks the loader): one
series or a few target columns (forecast.py), and a panel of many series for one global
model (panel.py, windows/, panel_baselines.py).
"""

import numpy as np

from rnnjax.data import common
from rnnjax.data import forecast
from rnnjax.data import panel
from rnnjax.data import panel_baselines
from rnnjax.data.windows import panel_windows
from rnnjax.data.loaders import loaded
from rnnjax.data.time import column as times
from rnnjax.errors import InputError


def load_forecast(*, dataset, seed, val_size, test_size, csv_path='', time_column='',
                  target_columns=(), input_columns=(), lookback=24, horizon=1,
                  season=-1, difference=False, classical_baselines=True, fill='linear',
                  origin_back=0):
  del seed  # Forecast splits are chronological: nothing is drawn.
  if not csv_path and dataset in panel.PANELS:
    raise InputError(f'--dataset: {dataset} is a panel of many series; add --task=panel')
  data = forecast.load(dataset='' if csv_path else dataset, csv_path=csv_path,
                       time_column=time_column, target_columns=target_columns,
                       input_columns=input_columns, lookback=lookback, horizon=horizon,
                       val_size=val_size, test_size=test_size, season=season,
                       difference=difference, classical_baselines=classical_baselines,
                       origin_back=origin_back, fill=fill)
  # mase_scale: MASE's denominators, from the training part (engine/tasks/forecast.py `score`).
  arrays = {split: {'x': data.x[split], 'y': data.y[split], 'mean': data.mean,
                    'std': data.std, 'mase_scale': data.mase_scale.astype(np.float32)}
            for split in common.SPLITS + ('refit',)}
  # Empty validation or test cells (filled): left out of their part's scores.
  # Empty training targets (filled): not trained towards.
  for split, observed in (('val', data.val_observed), ('test', data.test_observed),
                          *data.train_observed.items()):
    if observed is not None:
      arrays[split]['observed'] = observed
  targets = tuple(data.target_columns)
  names = {}
  if len(targets) > 1:
    for c, column in enumerate(targets):
      names.update({f'{metric}_{c}': f'{metric}[{column}]'
                    for metric in ('rmse', 'mae', 'mase')})
  return loaded.TaskData(
      task='forecast', arrays=arrays, input_size=data.x['train'].shape[-1],
      output_size=data.y['train'].shape[1] * data.y['train'].shape[2], readout='last',
      seq_len=lookback, num_train=len(data.x['train']), num_targets=len(targets),
      baselines=data.baselines, metric_names=names,
      info={'num_filled': data.num_filled, 'split_points': data.split_points,
            'target_columns': list(targets),
            'input_columns': list(data.input_columns), 'difference': difference,
            'season': data.season,
            'windows': {k: len(data.x[k]) for k in common.SPLITS}},
      notes=data.notes,
      transform={'target_columns': list(targets), 'input_columns': list(data.input_columns),
                 'lookback': lookback, 'horizon': horizon, 'difference': difference,
                 'x_mean': data.x_mean, 'x_std': data.x_std, 'mean': data.mean,
                 'std': data.std, 'mase_scale': data.mase_scale, 'season': data.season,
                 'split_points': list(data.split_points), 'series': data.series,
                 'path': csv_path or forecast.bundled_path(dataset), 'fill': fill,
                 'flag_columns': list(data.flag_columns),
                 'time_column': (time_column if csv_path else
                                 forecast.DATASETS[dataset][1])})


def load_panel(*, dataset, seed, val_size, test_size, csv_path='', test_path='',
               id_column='', time_column='', target_columns=(), input_columns=(),
               future_columns=(), lookback=24, horizon=1, season=-1,
               classical_baselines=True,
               benchmarks=('AutoETS', 'AutoTheta', 'AutoARIMA'), fill='linear',
               origin_back=0):
  """Many series, one global model (data/panel.py): the M protocol's splits, each
  series' validation and test the `horizon` points after its origin."""
  del seed  # Splits are chronological: nothing is drawn.
  if val_size or test_size:
    raise InputError(f'--{"val_size" if val_size else "test_size"}: a panel validates '
                     'and tests on the --horizon points after each series\' origin; '
                     'leave it 0')
  if len(target_columns) > 1:
    raise InputError(f'--target_columns: a panel forecasts one column; got '
                     f'{list(target_columns)}')
  if test_path and not csv_path:
    raise InputError('--test_path: the future part of --csv_path; a bundled panel has '
                     'its own')
  whole = panel.load(dataset='' if csv_path else dataset, csv_path=csv_path,
                     test_path=test_path, id_column=id_column, time_column=time_column,
                     target_column=target_columns[0] if target_columns else '',
                     input_columns=input_columns, future_columns=future_columns,
                     horizon=horizon, fill=fill)
  default_season = (0 if csv_path else forecast.DATASETS[dataset][3]
                    if dataset in forecast.DATASETS else panel.PANELS[dataset][0])
  notes = whole.notes
  if season < 0 and csv_path and time_column:
    longest = max(range(len(whole.times)), key=lambda i: len(whole.times[i]))
    season, note = times.infer_season(whole.times[longest], time_column,
                                      whole.ids[longest] if id_column else None)
    notes += (note,)
  elif season < 0:
    season = default_season
  elif csv_path and time_column:
    notes += tuple(filter(None, [times.given_season_note(
        season, max(whole.times, key=len), time_column)]))
  data = panel.earlier(whole, origin_back, horizon)
  arrays, window_notes = panel_windows.windows(data, lookback=lookback, horizon=horizon,
                                               season=season, earlier=bool(origin_back))
  baselines, reference, baseline_notes, forecasts = panel_baselines.baselines(
      data, arrays, horizon=horizon, season=season, dataset='' if csv_path else dataset,
      methods=tuple(benchmarks) if classical_baselines and not origin_back else ())
  for split, scores in reference.items():
    arrays[split]['naive2'] = scores
  return loaded.TaskData(
      task='panel', arrays=arrays, output_size=horizon, readout='last',
      input_size=1 + len(whole.input_columns) + len(whole.future_columns),
      seq_len=lookback, num_train=len(arrays['train']['x']), baselines=baselines,
      benchmark_forecasts=forecasts,
      info={'series': len(whole.ids), 'num_filled': whole.num_filled, 'season': season,
            'horizon': horizon, 'windows': {k: len(v['x']) for k, v in arrays.items()},
            'validated_series': int(arrays['val']['weight'].sum()),
            'nonpositive': panel.nonpositive(data.ids, data.train, data.times, whole.path)},
      notes=notes + window_notes + baseline_notes,
      transform={'ids': list(whole.ids), 'lookback': lookback, 'horizon': horizon,
                 'season': season, 'path': whole.path, 'fill': fill,
                 'flag_columns': list(whole.flag_columns),
                 'input_columns': list(whole.input_columns),
                 'future_columns': list(whole.future_columns),
                 **dict(zip(('id_column', 'time_column', 'target_column'), whole.columns))})
