"""What `experiments/predict.py` shows of a panel model's forecasts (panel_predictions.py
reads the histories and writes every series to forecast.csv): the few series it prints
and draws, picked by the sweep's test score, as a table and as forecast.png's panels.

  tested      the final model's forecast of each series' test part from its end of
              train, and its sMAPE, MASE and RMSSE there (for choosing what to show, never
              the model)
  shown       best and worst series by that sMAPE (by MASE or RMSSE for a model whose
              sweep was ranked by it: --selection=mase, rmsse), and random ones (four in all,
              all random where the sweep scored none); every series where there are
              no more than that
  table, plot_series  those series' rows as text, and as the figure's panels
"""

import numpy as np

from rnnjax.data.scores import competition
from rnnjax.data.windows import series_scales
from rnnjax.final.saved import panel_forecasting
from rnnjax.final.use import panel_predictions
from rnnjax.results import series_scores

RANDOM_SHOWN = 2  # Series drawn at random, besides the best and the worst (or in their
# place, where the sweep scored none of them).


def tested(model) -> dict:
  """id -> (forecast <float64>[h], test part <float64>[h], {'sMAPE', 'MASE', 'RMSSE'}) of
  the sweep's test part, forecast by the final model from each series' end of train (a
  cell that was empty, filled: NaN in the test part, and not scored)."""
  ids, values, _ = panel_forecasting.saved_series(model.arrays)
  ahead = panel_forecasting.saved_ahead(model.arrays)
  histories = panel_predictions.stacked(ids, values,
                                        panel_forecasting.saved_inputs(model.arrays))
  point = model.forecast(histories, model.transform['horizon'], levels=(),
                         future_inputs=None if ahead is None else dict(zip(ids, ahead)))['point']
  truth, observed = model.arrays['test'], model.arrays.get('test_observed')
  scores = competition.series_scores(
      {'final': point}, truth, panel_forecasting.panel_scales(model.transform, values),
      [series_scales.rmsse_scale(v) for v in values], observed)['final']
  if observed is not None:
    truth = np.where(observed, truth, np.nan)
  return {k: (p, t, {name: scores[metric][i] for metric, name in series_scores.NAMES.items()})
          for i, (k, p, t) in enumerate(zip(ids, point, truth))}


def shown_metric(model) -> str:
  """The test score `shown` picks by: MASE or RMSSE where the sweep ranked by it, else
  sMAPE."""
  ranked = (model.manifest.get('selection') or {}).get('metric')
  return series_scores.NAMES[series_scores.ranked_by(ranked, 'smape')]


def shown(ids, scores: dict, *, seed: int = 0, metric: str = 'sMAPE',
          new_data: bool = False) -> list:
  """[(id, label)]: the series with the best and the worst test `metric` (`scores`, id
  -> its value; only the ids it holds), then others drawn with `seed` up to 2 +
  RANDOM_SHOWN in all (where none is scored, a --csv_path of new series: that many
  drawn); with no more than that many series, all of them (one alone labelled by its
  score, not as the best). new_data: the forecasts are
  from other histories (--csv_path): a label's score is named the sweep's
  ('sweep-test')."""
  ranked = sorted((k for k in ids if k in scores), key=scores.get)
  digits = 1 if metric == 'sMAPE' else 3
  test = 'sweep-test' if new_data else 'test'
  value = lambda k: f'{test} {metric} {scores[k]:.{digits}f}'
  picks = {}
  # One series (a panel of one) is no best nor worst: its score alone.
  for key, which in ((ranked[:1], 'best'), (ranked[-1:], 'worst')) * (len(ids) > 1):
    for k in key:
      picks.setdefault(k, f'{which} {value(k)}')
  rest = [k for k in ids if k not in picks]
  if len(ids) <= 2 + RANDOM_SHOWN:  # Few: every one, none left out at random.
    picks.update((k, value(k) if k in scores else '') for k in rest)
    return list(picks.items())
  rng = np.random.default_rng(seed)
  free = 2 + RANDOM_SHOWN - len(picks)  # The best's and worst's slots too, where empty.
  for i in sorted(rng.choice(len(rest), min(free, len(rest)), replace=False)):
    k = rest[i]
    picks[k] = 'random' + (f', {value(k)}' if k in scores else '')
  return list(picks.items())


def table(header, rows_, ids, *, total: int, max_rows: int = 24, scored: bool = True,
          figures: bool = True) -> str:
  """The rows of the series `ids` (in that order, whole series, the first always, then
  as many as `max_rows` holds) as a small text table, and a line saying how many of
  the `total` series it shows where not all. scored: whether `ids` (`shown`'s) hold the
  best and worst by the sweep's test score (else they were drawn at random: series
  the sweep did not score). figures: whether forecast.png is drawn (predict
  --figures=false: the line names no figure)."""
  levels = [h[6:] for h in header[3::2]]
  lines = [f'{"unique_id":>12}  {"ds":>10}  {"forecast":>11}' +
           ''.join(f'  {level + "% interval":>24}' for level in levels)]
  by_id = {}
  for row in rows_:
    by_id.setdefault(row[0], []).append(row)
  shown_ids, count = [], 0
  for key in ids:
    if shown_ids and count + len(by_id.get(key, ())) > max_rows:
      break
    shown_ids.append(key)
    count += len(by_id.get(key, ()))
  for row in [r for key in shown_ids for r in by_id.get(key, [])]:
    bounds = ''.join(f'  {f"[{row[3 + 2 * i]:.6g}, {row[4 + 2 * i]:.6g}]":>24}'
                     for i in range(len(levels)))
    lines.append(f'{row[0]:>12}  {row[1]:>10}  {row[2]:11.6g}' + bounds)
  if len(shown_ids) < total:
    drawn = ('every one' if len(ids) >= total else
             'the best and worst by the sweep\'s test score, and random ones' if scored else
             'at random, none scored by the sweep')
    if not figures:
      lines.append(f'({len(shown_ids)} of {total} series shown; every series is in '
                   'forecast.csv)')
    else:
      lines.append(f'({len(shown_ids)} of {total} series shown, {len(ids)} drawn in '
                   f'forecast.png: {drawn}; every series is in forecast.csv)')
  return '\n'.join(lines)


def plot_series(model, source, fc, future_times, picks, tests: dict,
                from_saved: bool) -> list:
  """figures.plots.forecast_plot.plot_panel's `series` for the `picks` [(id, label)]. source:
  `histories`' tuple; tests: `tested`; from_saved: the histories are the sweep's
  (its test part is drawn: after the history where given, its end where held out).
  Empty cells, filled for the model (the sweep's, or a CSV's), are drawn as gaps: NaN."""
  ids, values, times, _, csv_observed = source
  horizon = model.transform['horizon']
  data_end = from_saved and model.manifest['panel']['forecast_from'] == 'data_end'
  # Empty cells (filled for the model) drawn as gaps; the last point, where the forecast
  # starts, always drawn.
  observed = (panel_forecasting.saved_observed(model.arrays, with_test=data_end)
              if from_saved else csv_observed)
  out = []
  for key, label in picks:
    i = ids.index(key)
    n = len(values[i])
    history = values[i]
    if observed is not None and len(observed[i]) == n:
      history = np.where(np.append(observed[i][:-1], True), history, np.nan)
    test = None
    if from_saved and key in tests:
      pred, truth, _ = tests[key]
      test = {'start': n - horizon if data_end else n, 'truth': truth, 'pred': pred}
    # Rows read in file order: counted back from the last, as '+1', ... count on.
    out.append({'title': f'{key}: {label}' if label else key,
                'times': times[i] or [str(k - n + 1) for k in range(n)],
                'history': history,
                'future_times': future_times[i], 'point': fc['point'][i],
                'bands': {l: (fc['lower'][l][i], fc['upper'][l][i]) for l in fc['lower']},
                'test': test})
  return out


def has_gaps(series: list) -> bool:
  """Whether `plot_series`' panels draw an empty cell as a gap (NaN in a history or a
  test part)."""
  return any(np.isnan(s['history']).any() or
             (s['test'] is not None and np.isnan(s['test']['truth']).any()) for s in series)
