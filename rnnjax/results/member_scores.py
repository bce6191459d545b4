"""Members' summary records made as columns (member_table.MemberTable) from arrays.

`of_run` makes the records of some rows of a run, scored on validation: the summary's
records of every run at the end (summary.py), and of the members halving retires
(run/chunks.py, for search/strategies/strategy.py `decide`). `concat` and `take` join and
reorder tables. No dict per member.
"""

import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.results import member_table
from rnnjax.search import plan as search_plan

_NAMES = np.asarray(pop.STATUS_NAMES)


def _hparam_columns(plan, uids, best_of, best_step, tree) -> dict:
  """name -> (kind, <[n]>) the values that trained members `uids`' best weights: their
  configuration's, or for a PBT sweep (`tree`: lineage.Lineage of its copies) the values
  in effect when the row that trained them (`best_of`) reached `best_step`, explored
  names as the floats they became (lineage.py; the history is in metrics.jsonl)."""
  if not tree:
    rows = (uids // (plan.num_seeds * plan.num_folds)).tolist()
    return {name: member_table.hparam_column([column[c] for c in rows])
            for name, column in plan.columns.items()}
  start_of = lambda uid: plan.members[uid].hparams
  trained = [tree.schedule(u, s, start_of)[-1][1]
             for u, s in zip(best_of.tolist(), best_step.tolist())]
  return {name: member_table.hparam_column([t[name] for t in trained])
          for name in plan.columns}


def of_run(plan, run, rows, val_split, *, mesh, group_size: int, rename=dict,
           stopped_by: str = '', tree=None, budget: int = 0) -> member_table.MemberTable:
  """The records of rows `rows` <int>[n] of a run (sweep.Run), scored on `val_split`
  (device arrays) at their best parameters. rename: maps metric names (e.g. per target
  column); stopped_by: why these members left the population early (halving), '' for
  none: an 'ok' member that left is 'stopped' (a diverged one has no stopped_by; one
  the engine stopped, 'early stopping at step S'); tree:
  a PBT sweep's lineage.Lineage (each member's values, those that trained its best
  weights; `best_of`, whose row did); budget: the sweep's --train_steps (0: none), which
  a member the engine stopped at its last evaluation trained to the end: 'ok'."""
  eval_fn = pop.population_eval_fn(run.cfg, mesh, group_size)
  val, status, best_step, steps, best_of = distributed.fetch((
      eval_fn(run.state.best_params, val_split), run.state.status, run.state.best_step,
      run.state.step, run.state.best_uid))
  val = rename(val)
  rows = np.asarray(rows, np.int64)
  uids = np.asarray(run.uids)[rows]
  plan_rows = uids // (plan.num_seeds * plan.num_folds)
  names = _NAMES[np.asarray(status)[rows]]
  steps = np.asarray(steps)[rows].astype(np.int64)
  if budget:  # --patience ran out at the last evaluation: nothing was left to skip.
    names = np.where((names == 'stopped') & (steps >= budget), 'ok', names)
  # A member that diverged stopped for that, whenever the search retired it; one the
  # engine stopped itself (before the search retired it, or never) found no better
  # validation in --patience evaluations.
  early = np.where(names == 'stopped', np.asarray(
      [f'early stopping at step {s}' for s in steps.tolist()], str), '')
  if stopped_by:
    names = np.where(names == 'ok', 'stopped', names)
  stopped_by = np.where(early != '', early, np.where(names == 'stopped', stopped_by or '', ''))
  best_step = np.asarray(best_step)[rows].astype(np.int64)
  best_of = np.asarray(best_of)[rows].astype(np.int64)
  return member_table.MemberTable(
      {'uid': uids, 'bucket': plan.config_bucket[plan_rows].astype(np.int64),
       'config': plan.config_numbers(uids), 'seed': plan.seed_numbers(uids),
       'fold': search_plan.fold_of(uids, plan.num_folds),
       'best_step': best_step, 'steps': steps,
       'best_of': best_of},
      {'status': names, 'stopped_by': stopped_by},
      _hparam_columns(plan, uids, best_of, best_step, tree),
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
