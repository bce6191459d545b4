"""The end of a sweep: every member's scores, the ranking, the final model, test scores.

Validation scores come from each member's validation-best parameters (a diverged member's
too: the best it reached before diverging). TEST is scored once, at the end, never used
to choose: for the final model (`final`: the best member, or an ensemble of the best
members chosen on validation, see ensemble.py), for the top `member_table.TEST_TOP`
members of the ranking (the single best first), and for the member validation would
choose under each value of each swept hyperparameter with few values (`best_by`, e.g.
the best member with forget bias 0 and the best with 1; see `best_by`), and for every
seed of the configuration with the best mean (`configs[0]`, its last fold's members: a
paper's mean and spread on test).
`configs` ranks configurations by their mean over seeds (and cross-validation folds),
with the spread, so that a lucky seed shows as one. With folds, the ranking holds the
last fold's members (the usual split) in the order of their configurations, and the
final model is drawn from them.

Members rank by the validation metric `tasks.selection_of` names: the task's selection
metric, but for a forecast of the differenced series the RMSE of the levels, which the
tables and figures show (each member's best step is still the one its training chose).

Records and configurations are columns (member_scores.py, member_table.py,
config_table.py) whatever the sweep's size: the summary holds them as a MemberTable and
a ConfigTable, sequences of records; summary_file.write_summary decides how summary.json
lists them.
"""

import os

import jax
import numpy as np

from rnnjax.data import text
from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import generate
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.final.choice import ensemble
from rnnjax.results import config_table
from rnnjax.results import files
from rnnjax.results import member_scores
from rnnjax.results import member_table
from rnnjax.search import hparams

BEST_BY_MAX_VALUES = 16


def summarise(spec, plan, runs, retired: dict, data, splits, *, mesh, group_size,
              rename, tree=None) -> dict:
  """The summary of a finished sweep (see the module docstring).

  runs: the sweep's final runs (sweep.Run); retired: uid -> record of members that
  adaptive search took out of the population before the end; splits: a run's data key
  -> device arrays of its 'val' and 'test'; rename: maps metric names (e.g. per target
  column); tree: a PBT sweep's lineage.Lineage (its members' values are those that
  trained their best weights).
  """
  task = tasks.TASKS[spec.task]
  selection = tasks.selection_of(spec.task, spec.difference, spec.selection)
  tables, run_of, row_of = [], [], []
  for r, run in enumerate(runs):
    if run.state is None:
      continue
    rows = np.flatnonzero(np.asarray(run.uids) >= 0)
    tables.append(member_scores.of_run(plan, run, rows, splits[run.data_key]['val'],
                                        mesh=mesh, group_size=group_size, rename=rename,
                                        tree=tree, budget=spec.train_steps))
    run_of.append(np.full(len(rows), r))
    row_of.append(rows)
  if retired:
    tables.append(member_table.MemberTable.from_records(
        [dict(rec, val=rename(rec['val'])) for rec in retired.values()]))
    run_of.append(np.full(len(retired), -1))
    row_of.append(np.full(len(retired), -1))
  order = np.argsort(np.concatenate([t.uids for t in tables]), kind='stable')
  table = member_scores.take(member_scores.concat(tables), order)
  run_of, row_of = np.concatenate(run_of)[order], np.concatenate(row_of)[order]
  # After PBT a member's seeds went their own ways: each member is its own row.
  display, display_mode = tasks.display_of(spec.task, spec.selection)
  configs = config_table.ConfigTable.of(table, selection, display, per_member=bool(tree))
  ranked = _rank(spec, table, configs, selection)
  testable = ranked[run_of[ranked] >= 0]  # Members retired by halving have no parameters.
  # PBT's explored values are the floats the copies made, and a random search's ranges
  # drawn values: no value names a member.
  axes = spec.axes()
  fixed = [a for a in plan.swept if not (tree and hparams.is_explorable(a))
           and not (a in axes and axes[a].is_random)]
  by_value = best_by(table, testable, fixed)
  by_config = {} if tree else best_config_by(table, configs, by_value)
  chosen = np.zeros(len(table), bool)
  chosen[testable[:member_table.TEST_TOP]] = True
  # Every seed of the best configuration (the last fold's), overall and under each value
  # of each axis best_by lists: their spread on test (a paper's mean +- sd per cell).
  for uids in [configs[0]['uids']] * bool(len(configs)) + [
      u for values in by_config.values() for u in values.values()]:
    rows = table.uids.searchsorted(uids)
    chosen[rows[(run_of[rows] >= 0) & (table.ints['fold'][rows] == spec.folds - 1)]] = True
  chosen[table.uids.searchsorted(
      [u for uids in by_value.values() for u in uids.values()])] = True
  for r, run in enumerate(runs):
    tested = np.flatnonzero(chosen & (run_of == r))
    if not len(tested):
      continue
    params = gather.rows_on_devices(run.state.best_params, row_of[tested].tolist(), mesh)
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
    final = final_model(spec, table.uids[testable].tolist(), runs, where, splits,
                        mesh=mesh, group_size=group_size, rename=rename)
  # What figures draw, where it is not what tables show (engine/tasks/): the metric that
  # ranked, where --selection named one.
  plotted = selection if spec.selection else task.plotted
  summary = {'task': spec.task, 'search': spec.search,
             'selection': _selection(spec, selection),
             'display': display, 'display_mode': display_mode,
             **({'plotted': plotted} if plotted != display else {}),
             'members': table, 'ranking': table.uids[ranked].tolist(),
             'best': _best(table, testable), 'final': final, 'configs': configs,
             'best_by': by_value, 'best_config_by': by_config,
             'baselines': data.baselines, 'data': data.info}
  return summary


def _selection(spec, metric: str) -> dict:
  """summary['selection']: the metric that ranked (and chose each member's best step,
  early stopping and the adaptive searches' decisions), and for a differenced forecast
  the scale it is on (tasks.selection_of); `named` where --selection named it."""
  out = {'metric': metric, 'mode': 'min', **({'named': True} if spec.selection else {})}
  if spec.task == 'forecast' and spec.difference and metric != 'mse':  # Not the changes'.
    out.update(scale='levels')
  return out


def _rank(spec, table, configs, selection: str) -> np.ndarray:
  """<int>[n] rows of the table with a finite selection metric, best first (a diverged
  member by the best parameters it reached before diverging; uid breaks ties). With
  folds, the last fold's members (the usual split) in the order of their configurations'
  means over every fold and seed, then by their own validation."""
  value = table.val[selection]
  finite = np.flatnonzero(np.isfinite(value))
  # Tied with the member whose row trained the same weights, a PBT copy ranks after it.
  ranked = finite[np.lexsort((table.ints['best_of'][finite] != table.uids[finite],
                              value[finite]))]
  if spec.folds > 1:
    place = np.zeros(table.ints['config'].max() + 1, np.int64)
    place[configs.config] = np.arange(len(configs))
    ranked = ranked[table.ints['fold'][ranked] == spec.folds - 1]
    ranked = ranked[np.lexsort((value[ranked], place[table.ints['config'][ranked]]))]
  return ranked


def best_by(table, testable, swept) -> dict:
  """axis -> {value: uid of the validation-best member with that value}: the chosen
  member under each value of each swept hyperparameter (tested too, for tables).
  testable: <int>[n] rows of the table, best first. `swept`: the axes of listed values
  (`summarise` leaves out a random search's ranges and PBT's perturbed values, which
  would name, and test, nearly every member); of those, only axes whose members hold at
  most BEST_BY_MAX_VALUES distinct values are listed."""
  out = {}
  uids = table.uids[testable]
  for axis in swept:
    kind, column = table.hparams[axis]
    if len(np.unique(column)) > BEST_BY_MAX_VALUES:
      continue
    _, first = np.unique(column[testable], return_index=True)
    first = np.sort(first)  # In the order the values first appear in the ranking.
    values = member_table.hparam_values(kind, column[testable][first])
    out[axis] = {str(v): int(u) for v, u in zip(values, uids[first])}
  return out


def best_config_by(table, configs, by_value: dict) -> dict:
  """axis -> {value: uids of the best configuration with that value}: under each value of
  each axis `best_by` lists, the configuration ranked first by its mean over seeds (and
  folds) among those with the value; {} with one seed per configuration (best_by's
  member is the configuration then)."""
  if not len(configs) or not (np.diff(configs.offsets) > 1).any():
    return {}
  first_row = table.uids.searchsorted(configs.uids[configs.offsets[:-1]])
  out = {}
  for axis in by_value:
    kind, column = table.hparams[axis]
    values = [str(v) for v in member_table.hparam_values(kind, column[first_row])]
    first = {}
    for c, v in enumerate(values):  # configs: best mean first.
      first.setdefault(v, c)
    out[axis] = {v: configs.uids[configs.offsets[c]:configs.offsets[c + 1]].tolist()
                 for v, c in first.items()}
  return out


def _best(table, testable):
  """The best member's record (NaN, not None, where a score is not finite: the JSON
  writer turns them to null)."""
  if not len(testable):
    return None
  i = int(testable[0])
  record = table[i]
  record['val'] = {m: float(v[i]) for m, v in table.val.items()}
  if table.tested[i]:
    record['test'] = {m: float(v[i]) for m, v in table.test.items()}
  return record


def final_model(spec, ranked_uids, runs, where, splits, *, mesh, group_size, rename):
  """The model the sweep hands back (see ensemble.py), chosen on validation and scored
  once on test: {'kind', 'members': uids (repeats: weight), 'val', 'test'}."""
  selection = tasks.selection_of(spec.task, spec.difference, spec.selection)
  cfg = next(run.cfg for run in runs if run.state is not None)
  score = ensemble.scorer(spec.task, cfg)
  data_key = runs[where[ranked_uids[0]][0]].data_key  # Every bucket has the same targets.
  pool, val, same, start = [], [], [], 0
  size = max(1, spec.ensemble_size)
  # The best-ranked members, each once: one whose validation outputs are those of a
  # better-ranked one holds its weights (PBT copies a source's best with its state) and
  # would only weigh them twice; the next in the ranking takes its place.
  while len(pool) < size and start < len(ranked_uids):
    batch = ranked_uids[start:start + size - len(pool)]
    start += len(batch)
    for u, out in zip(batch, ensemble.pool_outputs(runs, where, batch, splits, 'val', mesh,
                                                   group_size)):
      if any(np.array_equal(out, v) for v in val):
        same.append(u)
      else:
        pool.append(u)
        val.append(out)
  val = np.stack(val)
  val_split = splits[data_key]['val']
  how, paths = spec.combine, cfg.difference
  scores = ensemble.selection_scorer(spec.task, cfg, selection)
  picks = ensemble.choose(val, lambda o: scores(o, val_split), kind=spec.ensemble,
                          size=spec.ensemble_size, how=how, paths=paths)
  members = [pool[j] for j in picks]
  distinct = sorted(set(members), key=members.index)
  test = ensemble.pool_outputs(runs, where, distinct, splits, 'test', mesh, group_size)
  weights = [members.count(u) for u in distinct]
  as_dict = lambda metrics: rename({k: float(v) for k, v in metrics.items()})
  return {'kind': 'single' if len(distinct) == 1 else 'ensemble', 'members': members,
          'val': as_dict(score(ensemble.mean_outputs(val, picks, how, paths), val_split)),
          'test': as_dict(score(ensemble.combine(test, weights, how, paths),
                                splits[data_key]['test'])),
          **({'same_weights': same} if same else {})}


def write_sample(spec, runs, best: dict, data, workdir: str | None, mesh) -> dict:
  """The best language model writes `spec.sample_chars` characters, primed with the
  start of the validation text, to WORKDIR/sample.txt (None: write nothing)."""
  for run in runs:
    if run.state is not None and best['uid'] in run.uids:
      rows = distributed.fetch(gather.rows_on_devices(
          run.state.best_params, [run.uids.index(best['uid'])], mesh))
      params = jax.tree.map(lambda a: a[0], rows)
      break
  else:
    return {}
  prime = np.asarray(data.prime)
  tokens = generate.sample(run.cfg.model, params, key=jax.random.key(spec.seed),
                           num_chars=spec.sample_chars, temperature=spec.temperature,
                           prime=prime, never=text.unknown_token(data.vocab))
  prime_text = text.decode(prime, data.vocab)
  sample = text.decode(np.asarray(tokens), data.vocab)
  if workdir is not None:
    with files.atomic(os.path.join(workdir, files.SAMPLE)) as tmp, open(
        tmp, 'w', encoding='utf-8') as f:
      f.write(prime_text + sample)
  return {'path': files.SAMPLE, 'uid': best['uid'], 'temperature': spec.temperature,
          'seed': spec.seed, 'prime': prime_text, 'num_chars': spec.sample_chars}
