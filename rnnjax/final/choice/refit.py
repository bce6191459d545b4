"""Refit: the final model's members trained again on train + validation, then tested.

Validation has done its job once it has chosen the final model (which members, and for
how many steps each trained best). A forecaster then refits on everything before the
test part: here each chosen member's configuration trains again on the training and
validation parts together (every window before the test part), for exactly the steps
at which it was best (no early stopping: validation is in its training data), as
`seeds` new members (uids REFIT_UID + member uid * seeds + seed, so their initial
weights, batches and dropout masks are their own). The refit model combines their
outputs as the final model did (`--combine`), each chosen member weighing as much as in
the final model; TEST scores it once. After PBT a
member's configuration is the schedule of values that trained its best weights,
started by the member that began them (search/strategies/lineage.py): the refit replays it,
changing values at the steps the copies did.

Standardisation is the training part's (a fixed affine map, so the validation part
joins the training windows as it is). Not for the character language model, whose
training text is one contiguous part.
"""

import dataclasses

import jax
import numpy as np

from rnnjax.data import task_data
from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.final.choice import ensemble
from rnnjax.search import hparams

REFIT_UID = 1 << 24


def train_and_val(arrays: dict) -> dict:
  """The split arrays with 'train' = the training and validation examples together: a
  forecast's or panel's 'refit' windows where the data has them (every window whose
  targets lie before the test part, those across the end of training too), else the
  training and validation examples (classification's)."""
  if 'refit' in arrays:
    return {**arrays, 'train': arrays['refit']}
  train, val = arrays['train'], arrays['val']
  # `count` (folds' padding, see task_data.same_shapes) would hide the validation part.
  merged = {k: np.concatenate([train[k][:train.get('count')], val[k]])
            if k in task_data.PER_EXAMPLE else train[k] for k in train if k != 'count'}
  return {**arrays, 'train': merged}


def _described(uid: int, schedule: list, record: dict, tree) -> dict:
  """summary.json's account of a member's PBT schedule: 'from', the member whose
  starting values (and initial weights' values) it begins with, and 'changes', [step,
  the values changed from those] at each copy along the way."""
  root = tree.chain(record.get('best_of', uid), record['best_step'])[-1][0]
  start = schedule[0][1]
  return {'from': root, 'changes': [[since, {k: v for k, v in values.items()
                                              if start.get(k) != v}]
                                    for since, values in schedule[1:]]}


@jax.jit
def _keep_at(snapshot, params, hit):
  pick = lambda new, old: jax.numpy.where(
      hit.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)
  return jax.tree.map(pick, params, snapshot)


def schedules(uids, records: dict, members, tree) -> dict:
  """uid -> [(since_step, values)], oldest first: the values that trained member uid's
  best weights (lineage.py), from its configuration's for a member no PBT copy touched.
  members: uid -> plan member; records: uid -> summary member record."""
  if not tree:
    return {u: [(0, members[u].hparams)] for u in uids}
  start_of = lambda u: members[u].hparams
  return {u: tree.schedule(records[u].get('best_of', u), records[u]['best_step'], start_of)
          for u in uids}


def _values_at(schedule, step: int) -> dict:
  """The values a schedule trains under in the steps after `step`."""
  return next(values for since, values in reversed(schedule) if since <= step)


def refit(sweep, runs, final: dict, records: dict, *, seeds: int, group_size: int = 0,
          rename=lambda metrics: metrics, log=print, tree=None, check=lambda: None) -> dict:
  """(The refit final model: {'kind': 'refit', 'members', 'seeds', 'steps', 'test',
  'before_refit': the final model it refits}, its parameters: per bucket a dict of
  'cfg', 'data_key', 'uids' (the refit members'), 'weights' (each one's share of the
  average, before normalising) and 'params' (their population, padded; see export.py)).

  sweep: prepare.Prepared; runs: the sweep's final runs (their TrainConfigs); final:
  summary['final']; records: uid -> summary member record (its bucket and best step);
  tree: a PBT sweep's lineage.Lineage: each member trains again under the schedule of
  values that trained its best weights, from the start of the member that began them
  (its width and initial values too), changing where the copies changed them. check:
  called after every chunk (the sweep's stop.check: a signal stops it there).
  """
  spec, mesh = sweep.spec, sweep.mesh
  weights = {u: final['members'].count(u) for u in final['members']}
  plan = schedules(list(weights), records, sweep.plan.members, tree)
  # The final model's members train on the last fold, the usual split, each for its
  # steps: no early stopping (the validation part is in the refit's training data).
  cfg_of = {run.bucket: (dataclasses.replace(run.cfg, num_folds=1, patience=0),
                         run.data_key)
            for run in runs if run.data_key[1] == spec.folds - 1}
  shard = sharding.members_sharding(mesh)
  pooled, counts, test_split, score_cfg = [], [], None, None
  by_bucket, parts = {}, []
  for uid in weights:
    by_bucket.setdefault(records[uid]['bucket'], []).append(uid)
  for bucket, uids in sorted(by_bucket.items()):
    cfg, key = cfg_of[bucket]
    data = sweep.datas[key]
    device = distributed.put(
        sharding.device_dtypes({'train': train_and_val(data.arrays)['train'],
                                'val': data.arrays['val'], 'test': data.arrays['test']}),
        sharding.replicated(mesh))
    rows = [(u, s) for u in uids for s in range(seeds)]
    size = sharding.padded_size(len(rows), mesh)
    hp_at = lambda step: distributed.put(hparams.stack(
        [_values_at(plan[u], step) for u, _ in rows],
        [REFIT_UID + u * seeds + s for u, s in rows], size, cfg.model.num_layers), shard)
    changes = sorted({since for u in uids for since, _ in plan[u][1:]})
    target = np.asarray([records[u]['best_step'] for u, _ in rows] +
                        [0] * (size - len(rows)))
    replayed = f', under their PBT schedules ({len(changes)} change(s))' if changes else ''
    log(f'refit: {len(uids)} member(s) of bucket {bucket} x {seeds} seed(s) on train + '
        f'validation, {int(target.max())} steps at most{replayed}')
    hp = hp_at(0)
    state = pop.population_init_fn(cfg, mesh)(hp, sweep.base_key)
    # Training steps only: the validation part is in the refit's training data.
    chunk = pop.population_chunk_fn(cfg, mesh, group_size, validate=False)
    snapshot = jax.tree.map(jax.numpy.copy, state.params)  # The chunk donates state.
    for k in range(-(-int(target.max()) // spec.eval_every)):
      if k and k * spec.eval_every in changes:  # PBT copies fall on evaluation steps.
        hp = hp_at(k * spec.eval_every)
      state, _ = chunk(state, hp, device, sweep.base_key)
      check()  # A signal stops the sweep here (run/stop.py); nothing of the refit is kept.
      steps = distributed.fetch(state.step)
      # Until its target; a member that diverged first keeps its last finite weights.
      snapshot = _keep_at(snapshot, state.params, distributed.put(steps <= target, shard))
    outputs = distributed.fetch(pop.population_outputs_fn(cfg, mesh, group_size)(
        snapshot, device['test']))[:len(rows)]
    weight = np.asarray([weights[u] / seeds for u, _ in rows])[:, None]
    pooled.append(outputs)
    counts += [weights[u] for u, _ in rows]  # Each seed counts as its member does.
    test_split, score_cfg = device['test'], cfg
    parts.append({'cfg': cfg, 'data_key': key, 'weights': weight[:, 0].tolist(),
                  'uids': [REFIT_UID + u * seeds + s for u, s in rows], 'params': snapshot})
  combined = ensemble.combine(np.concatenate(pooled), counts, spec.combine,
                              score_cfg.difference)
  test = ensemble.scorer(spec.task, score_cfg)(combined, test_split)
  return ({'kind': 'refit', 'members': final['members'], 'seeds': seeds,
          'steps': {str(u): records[u]['best_step'] for u in weights},
          **({'schedules': {str(u): _described(u, plan[u], records[u], tree)
                            for u in weights}} if tree else {}),
          **({'same_weights': final['same_weights']} if 'same_weights' in final else {}),
          'val': final['val'],  # The refit trains on validation: its own is no measure.
          'test': rename({k: float(v) for k, v in test.items()}),
          'before_refit': {k: final[k] for k in ('kind', 'test')}}, parts)
