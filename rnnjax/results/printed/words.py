"""How the printed tables put a sweep in words: a number, a mean +- sd, a summary's
metrics, a member's swept values and what the final model is (report.py, side_by_side.py)."""

import numpy as np


def fmt(x):
  return '-' if x is None else f'{x + 0.0:.4g}'  # + 0.0: a loss of -0.0 reads 0.


def mean_sd(values) -> dict:
  """{'mean', 'sd'} of values as a configuration table holds them (sd None for one)."""
  v = np.asarray(values, np.float64)
  return {'mean': float(v.mean()), 'sd': float(v.std(ddof=1)) if len(v) > 1 else None}


def spread(stat: dict) -> str:
  return fmt(stat['mean']) + (f' +- {fmt(stat["sd"])}' if stat['sd'] is not None else '')


def metrics_of(summary):
  """(selection, display) metric names of a summary (older ones: forecasting's)."""
  return summary.get('selection', {}).get('metric', 'mse'), summary.get('display', 'rmse')


def scores(task: str, values: dict) -> str:
  """'mae 86.6 mase 1.346 mse (scaled) 1.449 rmse 104.3': a forecast's MSE is of the
  standardised series (what trains and selects), beside errors in original units."""
  scaled = lambda k: task == 'forecast' and (k == 'mse' or k.startswith('mse['))
  return ' '.join(f'{k}{" (scaled)" * scaled(k)} {fmt(v)}' for k, v in values.items())


def found_per_class(per_class: dict) -> str:
  """'ramp: 2 of 2 (3 predicted), flat: 0 of 3': of each class's cases
  (`data/classify.per_class`'s 'cases'), how many were found, and where it is given how
  many cases were predicted to be of it (the found ones and the false alarms: a rare
  class found every time by a model that names it often is no success); a class
  neither present nor predicted is left out."""
  return ', '.join(
      f'{c}: {v["found"]} of {v["cases"]}' + (f' ({v["predicted"]} predicted)'
                                             if 'predicted' in v else '')
      for c, v in per_class.items() if v['cases'] or v.get('predicted'))


def describe_final(final: dict) -> str:
  """What a summary's final model is: 'ensemble of 3: uids 4 x2,7,9', 'the single best, uid 4'."""
  if final['kind'] == 'refit':
    before = final['before_refit']
    return (f'{describe_final({**final, "kind": before["kind"]})}, refit on train + '
            f'validation x {final["seeds"]} seed{"s" if final["seeds"] != 1 else ""}')
  same = final.get('same_weights')
  same = (f'; uids {",".join(map(str, same))} left out, holding a better-ranked member\'s '
          'weights' if same else '')
  if final['kind'] == 'single':
    return f'the single best, uid {final["members"][0]}{same}'
  distinct = sorted(set(final['members']), key=final['members'].index)
  # A greedy ensemble picks a member again to weigh it more: its count is its weight.
  count = lambda u: final['members'].count(u)
  uids = ','.join(f'{u} x{count(u)}' if count(u) > 1 else str(u) for u in distinct)
  return f'ensemble of {len(distinct)}: uids {uids}{same}'


def swept(members) -> list:
  """The hyperparameters whose values differ among a summary's members."""
  return [k for k, (_, v) in members.hparams.items() if len(np.unique(v)) > 1]


def named(values: dict, axes: list) -> str:
  """'cell=gru hidden_size=64': a member's values of `axes` (those it has)."""
  return ' '.join(f'{k}={values[k]:.3g}' if isinstance(values[k], float) else
                  f'{k}={values[k]}' for k in axes if k in values)
