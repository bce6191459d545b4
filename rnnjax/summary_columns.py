"""summary.summarise for a large sweep: the same summary, its tables as columns.

Above member_table.MAX_RECORDS members the member records, ranking and configuration
table are built as arrays (member_table.MemberTable, ConfigTable) straight from the
runs' arrays: no dict per member. What they hold, and how members are ranked, tested
and chosen, is summary.py's (its module docstring); tests/test_summary.py checks that
both forms agree.
"""

import numpy as np

from rnnjax import distributed
from rnnjax import hparams
from rnnjax import member_table
from rnnjax import population as pop
from rnnjax import summary as summary_lib
from rnnjax import tasks

_NAMES = np.asarray(pop.STATUS_NAMES)


def _hparam_columns(plan, typed: dict, uids, host_hp, rows) -> dict:
  """name -> (kind, <[n]>) values members `uids` (rows `rows` of their run's host
  HParams) ended with, as member_record holds them: a traced value that changed (PBT)
  is the float it became; an unchanged one keeps the plan's spelling. typed: the plan's
  columns as `member_table.hparam_column`s."""
  names = list(plan.columns)
  per_layer = any(hparams.layer_of(n) is not None for n in names)
  traced = {n for n in names if (n in hparams.TRACED and not (per_layer and n == 'dropout'))
            or hparams.layer_of(n) is not None}
  config = uids // (plan.num_seeds * plan.num_folds)
  out = {}
  for name in names:
    kind, by_config = typed[name]
    values = by_config[config]
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


def _concat(tables: list) -> member_table.MemberTable:
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
  table = member_table.MemberTable(
      join([t.ints for t in tables]), join([t.strs for t in tables]), hp,
      *({m: np.concatenate([nan_fill(t, s, m, len(t)) for t in tables])
         for m in metrics[s]} for s in ('val', 'test')),
      np.concatenate([t.tested for t in tables]))
  return table


def _take(table, index) -> member_table.MemberTable:
  return member_table.MemberTable(
      {k: v[index] for k, v in table.ints.items()},
      {k: v[index] for k, v in table.strs.items()},
      {n: (kind, v[index]) for n, (kind, v) in table.hparams.items()},
      {m: v[index] for m, v in table.val.items()},
      {m: v[index] for m, v in table.test.items()}, table.tested[index])


def summarise(spec, plan, runs, fetched: dict, retired: dict, data, splits, *, mesh,
              group_size, rename) -> dict:
  """summary.summarise's summary with 'members' a MemberTable and 'configs' a
  ConfigTable. fetched: run index -> its host (val, status, best_step, steps, hp)."""
  task = tasks.TASKS[spec.task]
  per_member = plan.num_seeds * plan.num_folds
  typed = {n: member_table.hparam_column(v) for n, v in plan.columns.items()}
  tables, where_run, where_row = [], [], []
  for r, (val, status, best_step, steps, host_hp) in fetched.items():
    uids = np.asarray(runs[r].uids)
    rows = np.flatnonzero(uids >= 0)
    uids = uids[rows]
    config = uids // per_member
    tables.append(member_table.MemberTable(
        {'uid': uids, 'bucket': plan.config_bucket[config].astype(np.int64),
         'config': config, 'seed': (uids // plan.num_folds) % plan.num_seeds,
         'fold': uids % plan.num_folds,
         'best_step': np.asarray(best_step)[rows].astype(np.int64),
         'steps': np.asarray(steps)[rows].astype(np.int64)},
        {'status': _NAMES[np.asarray(status)[rows]],
         'stopped_by': np.full(len(rows), '')},
        _hparam_columns(plan, typed, uids, host_hp, rows),
        {k: np.asarray(v, np.float64)[rows] for k, v in rename(val).items()}, {},
        np.zeros(len(rows), bool)))
    where_run.append(np.full(len(rows), r))
    where_row.append(rows)
  if retired:
    tables.append(member_table.MemberTable.from_records(
        [dict(rec, val=rename(rec['val'])) for rec in retired.values()]))
    where_run.append(np.full(len(retired), -1))
    where_row.append(np.full(len(retired), -1))
  table = _concat(tables)
  order = np.argsort(table.uids, kind='stable')
  table = _take(table, order)
  run_of = np.concatenate(where_run)[order]
  row_of = np.concatenate(where_row)[order]
  configs = member_table.ConfigTable.of(table, task.selection, task.display)

  # The ranking: rows with a finite selection metric, best first (uid breaks ties).
  value = table.val[task.selection]
  finite = np.flatnonzero(np.isfinite(value))
  ranked = finite[np.argsort(value[finite], kind='stable')]
  if spec.folds > 1:
    place = np.zeros(table.ints['config'].max() + 1, np.int64)
    place[configs.config] = np.arange(len(configs))
    ranked = ranked[table.ints['fold'][ranked] == spec.folds - 1]
    ranked = ranked[np.lexsort((value[ranked], place[table.ints['config'][ranked]]))]
  testable = ranked[run_of[ranked] >= 0]  # Retired members have no parameters left.
  testable_uids = table.uids[testable].tolist()
  best_by = {}
  for axis in plan.swept:
    by_value = {}
    kind, column = table.hparams[axis]
    for v, uid in zip(member_table.hparam_values(kind, column[testable]), testable_uids):
      by_value.setdefault(str(v), uid)
    best_by[axis] = by_value
  chosen = np.zeros(len(table), bool)
  chosen[testable[:summary_lib.TEST_TOP]] = True
  chosen[table.uids.searchsorted(
      [u for by_value in best_by.values() for u in by_value.values()])] = True
  for r, run in enumerate(runs):
    tested = np.flatnonzero(chosen & (run_of == r))
    if not len(tested):
      continue
    params = summary_lib.rows_of(run, row_of[tested].tolist(), mesh)
    test = distributed.fetch(pop.population_eval_fn(run.cfg, mesh, group_size)(
        params, splits[run.data_key]['test']))
    for name, v in rename(test).items():
      column = table.test.setdefault(name, np.full(len(table), np.nan))
      column[tested] = np.asarray(v, np.float64)[:len(tested)]
    table.tested[tested] = True
  final = None
  if len(testable):
    where = {u: (int(r), int(i)) for u, r, i in zip(
        table.uids.tolist(), run_of.tolist(), row_of.tolist()) if r >= 0}
    final = summary_lib.final_model(spec, testable_uids, runs, where, splits, mesh=mesh,
                                    group_size=group_size, rename=rename)
  return {'task': spec.task, 'search': spec.search,
          'selection': {'metric': task.selection, 'mode': 'min'},
          'display': task.display, 'display_mode': task.display_mode,
          'members': table, 'ranking': table.uids[ranked].tolist(),
          'best': _best(table, testable), 'final': final, 'configs': configs,
          'best_by': best_by, 'baselines': data.baselines, 'data': data.info}


def _best(table, testable):
  """The best member's record, its values as the small form holds them (NaN, not None:
  the JSON writer turns them to null)."""
  if not len(testable):
    return None
  i = int(testable[0])
  record = table[i]
  record['val'] = {m: float(v[i]) for m, v in table.val.items()}
  if table.tested[i]:
    record['test'] = {m: float(v[i]) for m, v in table.test.items()}
  return record
