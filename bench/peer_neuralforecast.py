"""The peer on rnnjax's own panels: neuralforecast's global N-BEATS and LSTM, defaults.

neuralforecast (Olivares et al., Nixtla) fits one model over every series of a panel, as
a panel sweep does; its N-BEATS (Oreshkin et al. 2020, "N-BEATS: Neural basis expansion
analysis for interpretable time series forecasting") with its defaults is the peer a
tuned rnnjax ensemble has to beat. This fits NBEATS and LSTM on each bundled panel's
train part with neuralforecast's defaults except what the protocol requires, forecasts
the h test points of every series from the end of its train part, and scores them with
rnnjax's own scorer on the sweep's own test arrays (panel_windows.windows' y and
mase_denom; competition.scores against Naive2), so the figures sit beside a flagfile's
header. Nothing is chosen: no validation, no early stopping, the defaults' 1,000 steps.

Set, and nothing else: h = the panel's horizon; NBEATS's input_size (it has no default)
= 2h, the lower end of N-BEATS's own lookbacks 2h-7h, and start_padding_enabled=True
where neuralforecast refuses the panel without it (a series shorter than 2h: the M1
panels; their starts are padded with zeros); LSTM keeps its default input_size
(-1, which neuralforecast 3.3 makes 3h); random_seed per run; freq=1 (the bundled panels count
periods 1, 2, ...). The trainer is kept quiet (no progress bar, logger or model
summary), which changes no fit.

Run by hand in a separate environment (neuralforecast pulls in torch and Lightning),
never in the test suite; neuralforecast is imported only here:

  python3 -m venv /tmp/nfvenv && /tmp/nfvenv/bin/pip install -e ".[peer]"
  /tmp/nfvenv/bin/python -m bench.peer_neuralforecast --out=runs/peer

prints a table (panel, model, sMAPE, MASE, OWA, fit seconds: the mean over seeds and
their spread) and writes OUT/runs.csv (one row per panel, model and seed, appended as
each fit ends; a run found there is not fitted again) and OUT/summary.csv (the table).
On a 2-core VM shared with other work, --threads=1: torch's two threads then wait on
each other (20 N-BEATS steps on M1 yearly: 20.4 s with 2 threads, 4.1 s with 1).
"""

import csv
import os
import time

from absl import app
from absl import flags
import numpy as np

from rnnjax.data.scores import competition
from rnnjax.data import panel as panel_lib
from rnnjax.data.windows import panel_windows

PANELS = tuple(panel_lib.PANELS)
MODELS = ('NBEATS', 'LSTM')
OUT = flags.DEFINE_string('out', 'runs/peer_neuralforecast', 'Folder for the CSVs.')
PANEL_NAMES = flags.DEFINE_list('panels', list(PANELS), 'Bundled panels to fit.')
MODEL_NAMES = flags.DEFINE_list('models', list(MODELS), 'neuralforecast models to fit.')
SEEDS = flags.DEFINE_list('seeds', ['1', '2', '3'], 'random_seed of each run.')
THREADS = flags.DEFINE_integer('threads', 2, 'torch threads (0: torch\'s default).')

RUN_COLUMNS = ('panel', 'model', 'seed', 'smape', 'mase', 'owa', 'fit_s', 'predict_s',
               'negative', 'input_size', 'padded')
METRICS = ('smape', 'mase', 'owa', 'fit_s')


def test_arrays(name: str):
  """(panel, y <float64>[S, h], scales <float64>[S], Naive2 <float64>[S, h]): the test
  values and MASE scales exactly as a sweep scores them (float32 in its arrays)."""
  season, horizon = panel_lib.PANELS[name]
  panel = panel_lib.load(dataset=name, horizon=horizon)
  arrays, _ = panel_windows.windows(panel, lookback=1, horizon=horizon, season=season)
  test = arrays['test']
  if not np.all(test['weight'] > 0):
    raise SystemExit(f'{name}: a test window of weight 0; the sweep scores every series')
  naive2 = np.stack([competition.naive2(v, horizon, season) for v in panel.train])
  return (panel, test['y'][..., 0].astype(np.float64),
          test['mase_denom'].astype(np.float64), naive2)


def long_frame(panel):
  """The train parts as neuralforecast reads them: unique_id, ds (1, 2, ...), y."""
  import pandas as pd  # pylint: disable=g-import-not-at-top
  return pd.DataFrame({
      'unique_id': np.repeat(panel.ids, [len(v) for v in panel.train]),
      'ds': np.concatenate([np.arange(1, len(v) + 1) for v in panel.train]),
      'y': np.concatenate(panel.train)})


def make_model(model: str, horizon: int, seed: int, shortest: int):
  """The model with its defaults; start_padding_enabled where neuralforecast refuses the
  panel without it (a train part shorter than the model's input_size)."""
  from neuralforecast import models  # pylint: disable=g-import-not-at-top
  quiet = dict(enable_progress_bar=False, enable_model_summary=False, logger=False)
  if model == 'NBEATS':
    make = lambda **kw: models.NBEATS(h=horizon, input_size=2 * horizon, random_seed=seed,
                                      **quiet, **kw)
  else:
    make = lambda **kw: models.LSTM(h=horizon, random_seed=seed, **quiet, **kw)
  built = make()
  return make(start_padding_enabled=True) if built.input_size > shortest else built


def fit_forecast(frame, ids, model: str, horizon: int, seed: int):
  """(forecasts <float64>[S, h] in the order of `ids`, fit seconds, predict seconds,
  the model's input_size, whether its series' starts were padded)."""
  from neuralforecast import NeuralForecast  # pylint: disable=g-import-not-at-top
  shortest = int(frame.groupby('unique_id').size().min())
  built = make_model(model, horizon, seed, shortest)
  nf = NeuralForecast(models=[built], freq=1)
  start = time.perf_counter()
  nf.fit(df=frame)
  fitted = time.perf_counter()
  out = nf.predict()
  done = time.perf_counter()
  out = out.reset_index() if 'unique_id' not in out.columns else out
  out = out.sort_values(['unique_id', 'ds'])
  by_id = {uid: g[model].to_numpy(np.float64) for uid, g in out.groupby('unique_id')}
  forecasts = np.stack([by_id[uid] for uid in ids])
  if forecasts.shape != (len(ids), horizon):
    raise SystemExit(f'{model}: forecasts of shape {forecasts.shape}')
  return (forecasts, fitted - start, done - fitted, built.input_size,
          built.start_padding_enabled)


def read_runs(path: str) -> list:
  if not os.path.exists(path):
    return []
  with open(path, encoding='utf-8', newline='') as f:
    return list(csv.DictReader(f))


def summarise(runs: list) -> list:
  """Per panel and model: the mean over seeds of each metric, and its min and max."""
  rows = []
  for name in PANELS:
    for model in MODELS:
      mine = [r for r in runs if r['panel'] == name and r['model'] == model]
      if not mine:
        continue
      row = {'panel': name, 'model': model, 'seeds': len(mine)}
      for m in METRICS:
        v = np.array([float(r[m]) for r in mine])
        row.update({m: v.mean(), f'{m}_min': v.min(), f'{m}_max': v.max()})
      rows.append(row)
  return rows


def print_table(rows: list) -> None:
  print(f'{"panel":<13} {"model":<7} seeds   sMAPE (min-max)        MASE (min-max)'
        f'         OWA (min-max)          fit s')
  for r in rows:
    print(f'{r["panel"]:<13} {r["model"]:<7} {r["seeds"]:5d} ' + ' '.join(
        f'{r[m]:7.3f} ({r[m + "_min"]:.3f}-{r[m + "_max"]:.3f})' for m in METRICS[:3])
          + f' {r["fit_s"]:6.1f}')


def main(argv):
  del argv
  if THREADS.value:
    import torch  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(THREADS.value)
  os.makedirs(OUT.value, exist_ok=True)
  runs_path = os.path.join(OUT.value, 'runs.csv')
  runs = read_runs(runs_path)
  done = {(r['panel'], r['model'], r['seed']) for r in runs}
  data = {}  # Each panel read once; runs go seed by seed, so a first seed covers every panel.
  for seed in SEEDS.value:
    for model in MODEL_NAMES.value:
      for name in PANEL_NAMES.value:
        if (name, model, seed) in done:
          continue
        if name not in data:
          panel, y, scales, naive2 = test_arrays(name)
          data[name] = panel, y, scales, naive2, long_frame(panel)
        panel, y, scales, naive2, frame = data[name]
        _, horizon = panel_lib.PANELS[name]
        forecasts, fit_s, predict_s, input_size, pad = fit_forecast(
            frame, panel.ids, model, horizon, int(seed))
        scored = competition.scores({'Naive2': naive2, model: forecasts}, y, scales)
        row = {'panel': name, 'model': model, 'seed': seed, **scored[model],
               'fit_s': fit_s, 'predict_s': predict_s,
               'negative': int(np.sum(forecasts < 0)),
               'input_size': input_size, 'padded': pad}
        print(f'{name} {model} seed {seed}: sMAPE {row["smape"]:.2f} MASE '
              f'{row["mase"]:.3f} OWA {row["owa"]:.3f} (Naive2 '
              f'{scored["Naive2"]["smape"]:.2f} / {scored["Naive2"]["mase"]:.3f}); fit '
              f'{fit_s:.1f} s', flush=True)
        new = not os.path.exists(runs_path)
        with open(runs_path, 'a', encoding='utf-8', newline='') as f:
          writer = csv.DictWriter(f, RUN_COLUMNS)
          if new:
            writer.writeheader()
          writer.writerow(row)
        runs.append({k: str(v) for k, v in row.items()})
  rows = summarise(runs)
  with open(os.path.join(OUT.value, 'summary.csv'), 'w', encoding='utf-8',
            newline='') as f:
    writer = csv.DictWriter(f, list(rows[0]) if rows else ['panel'])
    writer.writeheader()
    writer.writerows(rows)
  print_table(rows)


if __name__ == '__main__':
  app.run(main)
