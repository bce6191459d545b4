"""The end of a sweep: every member's scores, the ranking, the final model, test scores.

Validation scores come from each member's validation-best parameters (a diverged member's
too: the best it reached before diverging). TEST is scored once, at the end, never used
to choose: for the final model (`final`: the best member, or an ensemble of the best
members chosen on validation, see ensemble.py), for the top `TEST_TOP` members of the
ranking (the single best first), and for the member validation would choose under each
value of each swept hyperparameter (`best_by`, e.g. the best member with forget bias 0
and the best with 1). `configs` ranks configurations by their mean over seeds (and
cross-validation folds), with the spread, so that a lucky seed shows as one. With folds,
the ranking holds the last fold's members (the usual split) in the order of their
configurations, and the final model is drawn from them. Above member_table.MAX_RECORDS
members the records, ranking and configurations are built as columns instead
(summary_columns.py; written to members.npz, see member_table.py).
"""

import os

import jax
import numpy as np

from rnnjax import distributed
from rnnjax import ensemble
from rnnjax import gather
from rnnjax import generate
from rnnjax import hparams
from rnnjax import member_table
from rnnjax import population as pop
from rnnjax import sharding
from rnnjax import tasks
from rnnjax.data import text

TEST_TOP = 5


def rows_of(run, rows, mesh):
  """Members `rows` of a run's best parameters as a small population (padded with
  copies of the first to a multiple of the device count), gathered on the devices."""
  index = list(rows) + [rows[0]] * (-len(rows) % mesh.size)
  return gather.compact(run.state.best_params, index,
                          sharding=sharding.members_sharding(mesh))


def summarise(spec, plan, runs, retired: dict, data, splits, *, mesh, group_size,
              rename) -> dict:
  """The summary of a finished sweep (see the module docstring).

  runs: the sweep's final runs (sweep.Run); retired: uid -> record of members that
  adaptive search took out of the population before the end; splits: a run's data key
  -> device arrays of its 'val' and 'test'; rename: maps metric names (e.g. per target
  column).
  """
  task = tasks.TASKS[spec.task]
  fetched = {}
  for r, run in enumerate(runs):
    if run.state is None:
      continue
    eval_fn = pop.population_eval_fn(run.cfg, mesh, group_size)
    fetched[r] = distributed.fetch((
        eval_fn(run.state.best_params, splits[run.data_key]['val']), run.state.status,
        run.state.best_step, run.state.step, run.hp))
  if member_table.columnar(plan.num_members):
    from rnnjax import summary_columns  # pylint: disable=g-import-not-at-top
    return summary_columns.summarise(spec, plan, runs, fetched, retired, data, splits,
                                     mesh=mesh, group_size=group_size, rename=rename)
  by_uid = {m.uid: m for m in plan.members}
  records, where = [], {}
  for r, (val, status, best_step, steps, host_hp) in fetched.items():
    run = runs[r]
    for i, uid in enumerate(run.uids):
      if uid < 0:
        continue
      records.append(member_record(by_uid[uid], host_hp, i, pop.STATUS_NAMES[status[i]],
                                   best_step=int(best_step[i]), steps=int(steps[i]),
                                   val=rename({k: v[i] for k, v in val.items()})))
      where[uid] = (r, i)
  records += [dict(rec, val=rename(rec['val'])) for rec in retired.values()]
  records.sort(key=lambda rec: rec['uid'])
  key = lambda rec: rec['val'][task.selection]
  configs = config_table(records, task.selection, task.display)
  # A diverged member is ranked by the best parameters it reached before diverging.
  ranked = sorted((rec for rec in records if np.isfinite(key(rec))), key=key)
  if spec.folds > 1:
    # Cross-validated: the last fold's members (the usual split), in the order of their
    # configurations' means over every fold and seed, then by their own validation.
    place = {c['config']: i for i, c in enumerate(configs)}
    ranked = sorted((rec for rec in ranked if rec['fold'] == spec.folds - 1),
                    key=lambda rec: (place[rec['config']], key(rec)))
  # Members retired by halving have no parameters left to test.
  testable = [rec for rec in ranked if rec['uid'] in where]
  best_by = _best_by(testable, plan.swept)
  chosen = {rec['uid'] for rec in testable[:TEST_TOP]} | {
      uid for by_value in best_by.values() for uid in by_value.values()}
  top = [rec for rec in testable if rec['uid'] in chosen]
  for r, run in enumerate(runs):
    tested = [rec for rec in top if where[rec['uid']][0] == r]
    if not tested:
      continue
    params = rows_of(run, [where[rec['uid']][1] for rec in tested], mesh)
    test = distributed.fetch(pop.population_eval_fn(run.cfg, mesh, group_size)(
        params, splits[run.data_key]['test']))
    for k, rec in enumerate(tested):
      rec['test'] = rename({name: float(v[k]) for name, v in test.items()})
  final = None
  if testable:
    final = final_model(spec, [rec['uid'] for rec in testable], runs, where, splits,
                         mesh=mesh, group_size=group_size, rename=rename)
  return {'task': spec.task, 'search': spec.search,
          'selection': {'metric': task.selection, 'mode': 'min'},
          'display': task.display, 'display_mode': task.display_mode,
          'members': records, 'ranking': [rec['uid'] for rec in ranked],
          'best': dict(testable[0]) if testable else None, 'final': final,
          'configs': configs,
          'best_by': best_by, 'baselines': data.baselines, 'data': data.info}


def final_model(spec, ranked_uids, runs, where, splits, *, mesh, group_size, rename):
  """The model the sweep hands back (see ensemble.py), chosen on validation and scored
  once on test: {'kind', 'members': uids (repeats: weight), 'val', 'test'}."""
  task = tasks.TASKS[spec.task]
  cfg = next(run.cfg for run in runs if run.state is not None)
  score = jax.jit(lambda outputs, split: task.score(cfg, outputs, split))
  data_key = runs[where[ranked_uids[0]][0]].data_key  # Every bucket has the same targets.
  pool = ranked_uids[:max(1, spec.ensemble_size)]
  val = ensemble.pool_outputs(runs, where, pool, splits, 'val', mesh, group_size)
  val_split = splits[data_key]['val']
  picks = ensemble.choose(val, lambda o: float(score(o, val_split)[task.selection]),
                          kind=spec.ensemble, size=spec.ensemble_size)
  members = [pool[j] for j in picks]
  distinct = sorted(set(members), key=members.index)
  test = ensemble.pool_outputs(runs, where, distinct, splits, 'test', mesh, group_size)
  weights = [members.count(u) for u in distinct]
  as_dict = lambda metrics: rename({k: float(v) for k, v in metrics.items()})
  return {'kind': 'single' if len(distinct) == 1 else 'ensemble', 'members': members,
          'val': as_dict(score(ensemble.mean_outputs(val, picks), val_split)),
          'test': as_dict(score(np.average(test.astype(np.float64), axis=0,
                                           weights=weights), splits[data_key]['test']))}


def config_table(records, selection: str, display: str) -> list:
  """Configurations (a configuration's seeds, and folds, share its values), ranked by
  their mean validation selection metric over the members with a finite one: per
  configuration its uids, mean and standard deviation of `selection` and `display`."""
  by_config = {}
  for rec in records:
    by_config.setdefault(rec['config'], []).append(rec)
  table = []
  for config, recs in by_config.items():
    usable = [r for r in recs if np.isfinite(r['val'][selection])]
    stats = {}
    for metric in dict.fromkeys((selection, display)):
      values = np.asarray([r['val'][metric] for r in usable], np.float64)
      stats[metric] = {'mean': float(values.mean()) if len(values) else None,
                       'sd': float(values.std(ddof=1)) if len(values) > 1 else None}
    table.append({'config': config, 'uids': [r['uid'] for r in recs],
                  'usable': len(usable), 'val': stats})
  table.sort(key=lambda c: (c['val'][selection]['mean'] is None,
                            c['val'][selection]['mean'] or 0.0))
  return table


def _best_by(ranked, swept) -> dict:
  """axis -> {value: uid of the validation-best member with that value}: the chosen
  member under each value of each swept hyperparameter (tested too, for tables)."""
  best_by = {}
  for axis in swept:
    by_value = {}
    for rec in ranked:  # Best first.
      by_value.setdefault(str(rec['hparams'].get(axis)), rec['uid'])
    best_by[axis] = by_value
  return best_by


def member_record(member, hp, i: int, status: str, *, best_step: int, steps: int,
                  val: dict, stopped_by: str = '') -> dict:
  """One member's summary record. hp: the host HParams of its run, row i: PBT changes
  values while training, so a record holds the values the member ENDED with (the
  history is in metrics.jsonl); a value that did not change keeps its exact spelling."""
  values = dict(member.hparams)
  per_layer = any(hparams.layer_of(name) is not None for name in values)
  # With per-layer rates (`dropout_l`), `dropout` is not a rate any layer uses.
  final = hparams.read_row(hp, [name for name in values
                                if (name in hparams.TRACED
                                    and not (per_layer and name == 'dropout'))
                                or hparams.layer_of(name) is not None], i)
  for name, value in final.items():
    if np.float32(values[name]) != value:
      values[name] = float(value)
  record = {'uid': member.uid, 'bucket': member.bucket, 'config': member.config,
            'seed': member.seed, 'fold': member.fold, 'hparams': values,
            'status': status}
  if stopped_by:
    record['stopped_by'] = stopped_by
  return {**record, 'best_step': best_step, 'steps': steps,
          'val': {k: float(v) for k, v in val.items()}}


def write_sample(spec, runs, best: dict, data, workdir: str | None, mesh) -> dict:
  """The best language model writes `spec.sample_chars` characters, primed with the
  start of the validation text, to WORKDIR/sample.txt (None: write nothing)."""
  for run in runs:
    if run.state is not None and best['uid'] in run.uids:
      rows = distributed.fetch(rows_of(run, [run.uids.index(best['uid'])], mesh))
      params = jax.tree.map(lambda a: a[0], rows)
      break
  else:
    return {}
  prime = np.asarray(data.prime)
  tokens = generate.sample(run.cfg.model, params, key=jax.random.key(spec.seed),
                           num_chars=spec.sample_chars, temperature=spec.temperature,
                           prime=prime)
  prime_text = text.decode(prime, data.vocab)
  sample = text.decode(np.asarray(tokens), data.vocab)
  if workdir is not None:
    path = os.path.join(workdir, 'sample.txt')
    with open(path + '.tmp', 'w') as f:
      f.write(prime_text + sample)
    os.replace(path + '.tmp', path)
  return {'path': 'sample.txt', 'uid': best['uid'], 'temperature': spec.temperature,
          'prime': prime_text, 'num_chars': spec.sample_chars}
