"""Members' summary records made as columns (member_table.MemberTable) from arrays.

`of_run` makes the records of some rows of a run, scored on validation: the summary's
records of every run at the end (summary.py), and of the members halving retires
(searcher.py). `concat` and `take` join and reorder tables. No dict per member.
"""

import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.results import member_table
from rnnjax.search import hparams

_NAMES = np.asarray(pop.STATUS_NAMES)


def _hparam_columns(plan, uids, host_hp, rows) -> dict:
  """name -> (kind, <[n]>) values members `uids` (rows `rows` of their run's host
  HParams) ended with: PBT changes values while training, so a traced value that changed
  is the float it became (the history is in metrics.jsonl); an unchanged one keeps the
  plan's exact spelling."""
  names = list(plan.columns)
  per_layer = hparams.has_layers(names)
  # With per-layer rates (`dropout_l`), `dropout` is not a rate any layer uses.
  traced = {n for n in names if (n in hparams.TRACED and not (per_layer and n == 'dropout'))
            or hparams.layer_of(n) is not None}
  config = uids // (plan.num_seeds * plan.num_folds)
  out = {}
  for name in names:
    column = plan.columns[name]
    kind, values = member_table.hparam_column([column[c] for c in config.tolist()])
    if name in traced:
      final = hparams.read(host_hp, [name])[name][rows]
      if kind == 'str':
        changed = np.zeros(len(rows), bool)
      elif kind == 'json':
        changed = np.asarray([np.float32(v) != f for v, f in
                              zip(member_table.hparam_values(kind, values), final)], bool)
      else:
        changed = np.float32(values) != final
      if changed.any():
        if kind == 'float':
          values = np.where(changed, final.astype(np.float64), values)
        else:  # An int or bool that became a float: each value keeps its own type.
          mixed = member_table.hparam_values(kind, values)
          for i in np.flatnonzero(changed):
            mixed[i] = float(final[i])
          kind, values = member_table.hparam_column(mixed)
    out[name] = (kind, values)
  return out


def of_run(plan, run, rows, val_split, *, mesh, group_size: int, rename=dict,
           stopped_by: str = '') -> member_table.MemberTable:
  """The records of rows `rows` <int>[n] of a run (sweep.Run), scored on `val_split`
  (device arrays) at their best parameters. rename: maps metric names (e.g. per target
  column); stopped_by: why these members left the population early (halving), '' for
  none: an 'ok' member that left is 'stopped'."""
  eval_fn = pop.population_eval_fn(run.cfg, mesh, group_size)
  val, status, best_step, steps, host_hp = distributed.fetch((
      eval_fn(run.state.best_params, val_split), run.state.status, run.state.best_step,
      run.state.step, run.hp))
  val = rename(val)
  rows = np.asarray(rows, np.int64)
  uids = np.asarray(run.uids)[rows]
  config = uids // (plan.num_seeds * plan.num_folds)
  names = _NAMES[np.asarray(status)[rows]]
  if stopped_by:
    names = np.where(names == 'ok', 'stopped', names)
  return member_table.MemberTable(
      {'uid': uids, 'bucket': plan.config_bucket[config].astype(np.int64),
       'config': config, 'seed': (uids // plan.num_folds) % plan.num_seeds,
       'fold': uids % plan.num_folds,
       'best_step': np.asarray(best_step)[rows].astype(np.int64),
       'steps': np.asarray(steps)[rows].astype(np.int64)},
      {'status': names, 'stopped_by': np.full(len(rows), stopped_by)},
      _hparam_columns(plan, uids, host_hp, rows),
      {k: np.asarray(v, np.float64)[rows] for k, v in val.items()}, {},
      np.zeros(len(rows), bool))


def concat(tables: list) -> member_table.MemberTable:
  """One table of several, in their order."""
  if len(tables) == 1:
    return tables[0]
  join = lambda columns: {k: np.concatenate([c[k] for c in columns]) for k in columns[0]}
  hp = {}
  for name in tables[0].hparams:
    parts = [t.hparams[name] for t in tables]
    if len({kind for kind, _ in parts}) == 1:
      hp[name] = (parts[0][0], np.concatenate([values for _, values in parts]))
    else:
      hp[name] = member_table.hparam_column(
          [v for kind, values in parts for v in member_table.hparam_values(kind, values)])
  nan_fill = lambda t, split, m, n: getattr(t, split).get(m, np.full(n, np.nan))
  metrics = {s: list(dict.fromkeys(m for t in tables for m in getattr(t, s)))
             for s in ('val', 'test')}
  return member_table.MemberTable(
      join([t.ints for t in tables]), join([t.strs for t in tables]), hp,
      *({m: np.concatenate([nan_fill(t, s, m, len(t)) for t in tables])
         for m in metrics[s]} for s in ('val', 'test')),
      np.concatenate([t.tested for t in tables]))


def take(table, index) -> member_table.MemberTable:
  """Rows `index` of a table, in that order."""
  return member_table.MemberTable(
      {k: v[index] for k, v in table.ints.items()},
      {k: v[index] for k, v in table.strs.items()},
      {n: (kind, v[index]) for n, (kind, v) in table.hparams.items()},
      {m: v[index] for m, v in table.val.items()},
      {m: v[index] for m, v in table.test.items()}, table.tested[index])
