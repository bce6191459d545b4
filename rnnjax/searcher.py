"""The sweep's adaptive search between chunks: what `--search` decides, and its record.

A `Searcher` sees every run's validation table after each chunk (`observe`) and, once
every run has reached a step (`decide`), applies its strategy to the runs in place:

  grid, random  nothing.
  halving       at each rung (adaptive.rungs) the best 1/eta of the members still OK,
                ranked by best validation metric across ALL runs (buckets and waves),
                go on; each run's survivors are compacted into a smaller population
                (adaptive.compact_members); a run with none left ends. Cut members
                are `retired`: their record (validation at their best parameters)
                goes to the summary.
  pbt           every `pbt_interval` steps, in each run (members of one shape): the
                bottom fraction copies a top member's state and hyperparameters and
                perturbs them (adaptive.pbt_sources / exploit / explore). Lineage and
                new values go to metrics.jsonl (split 'lineage' / 'hparams').

Decisions depend on the metric tables, the seed and the step only, so a resumed sweep
decides exactly as an uninterrupted one; what must survive a restart (`retired`) is in
`progress()`, saved with every checkpoint.
"""

import numpy as np

from rnnjax import adaptive
from rnnjax import distributed
from rnnjax import population as pop
from rnnjax import search
from rnnjax import sharding


class Searcher:

  def __init__(self, spec, plan, val_splits: dict, mesh, group_size: int = 0):
    """val_splits: a run's data key (sweep.Run.data_key) -> its validation arrays."""
    self._spec, self._mesh, self._group = spec, mesh, group_size
    self._val = val_splits
    self._by_uid = {m.uid: m for m in plan.members}
    # run -> (best_val, status, uids, latest selection metric), each <[P]>, after the
    # run's latest chunk; halving ranks by the best so far, PBT by the latest.
    self._tables = {}
    self.retired = {}   # uid -> summary record of a member halving took out.
    self._rungs = set()
    self._pbt_steps = set()
    if spec.search == 'halving':
      self._rungs = set(adaptive.rungs(
          train_steps=spec.train_steps, min_steps=spec.min_steps or spec.eval_every,
          eta=spec.eta, eval_every=spec.eval_every))
    elif spec.search == 'pbt':
      self._pbt_steps = set(adaptive.pbt_steps(
          train_steps=spec.train_steps, pbt_interval=spec.pbt_interval or spec.eval_every,
          eval_every=spec.eval_every))
      axes = {name: search.parse_axis(name, getattr(spec, name))
              for name in adaptive.EXPLORABLE if getattr(spec, name)}
      if spec.dropout_per_layer:
        for layer, text in enumerate(spec.dropout_per_layer.split(';'), 1):
          axes[f'dropout_{layer}'] = search.parse_axis(f'dropout_{layer}', text,
                                                       like='dropout')
      self._space = adaptive.search_space(axes)

  def observe(self, r: int, uids, values, status, best_val) -> None:
    """Run r's members after a chunk, each <[P]>: the selection metric of the current
    weights, status, and the best selection metric so far."""
    self._tables[r] = (np.asarray(best_val, np.float64), np.asarray(status),
                       np.asarray(uids), np.asarray(values, np.float64))

  def decide(self, runs, step: int) -> list[dict]:
    """Applies the strategy to `runs` (in place) once all have reached `step`; returns
    the records to append to metrics.jsonl."""
    if step in self._rungs:
      self._halve(runs, step)
    if step in self._pbt_steps:
      return self._pbt(runs, step)
    return []

  def _halve(self, runs, step):
    live = [r for r, run in enumerate(runs) if run.state is not None and r in self._tables]
    values = np.concatenate([self._tables[r][0] for r in live])
    status = np.concatenate([np.where(self._tables[r][2] >= 0, self._tables[r][1],
                                      pop.STOPPED) for r in live])
    keep = adaptive.halving_keep(values, status, self._spec.eta)
    shard = sharding.members_sharding(self._mesh)
    start = 0
    for r in live:
      run = runs[r]
      size = len(run.uids)
      kept, cut = keep[start:start + size], np.asarray(run.uids) >= 0
      cut &= ~kept
      start += size
      if cut.any():
        self._retire(run, np.flatnonzero(cut), step)
      if not kept.any():
        run.state, run.uids = None, []
        continue
      run.state, run.hp, index = adaptive.compact_members(
          run.state, run.hp, kept, multiple=self._mesh.size, sharding=shard)
      uids = [run.uids[i] for i in index[:int(kept.sum())]]
      run.uids = uids + [-1 - k for k in range(len(index) - len(uids))]
      del self._tables[r]

  def _retire(self, run, rows, step):
    """Records of members cut at `step`: their scores at their best parameters."""
    eval_fn = pop.population_eval_fn(run.cfg, self._mesh, self._group)
    val, status, best_step, steps = distributed.fetch((
        eval_fn(run.state.best_params, self._val[run.data_key]), run.state.status,
        run.state.best_step, run.state.step))
    for i in rows:
      member = self._by_uid[run.uids[i]]
      name = pop.STATUS_NAMES[status[i]]
      self.retired[member.uid] = {
          'uid': member.uid, 'bucket': member.bucket, 'config': member.config,
          'seed': member.seed, 'hparams': dict(member.hparams),
          'status': 'stopped' if name == 'ok' else name, 'stopped_by': f'halving at {step}',
          'best_step': int(best_step[i]), 'steps': int(steps[i]),
          'val': {k: float(v[i]) for k, v in val.items()}}

  def _pbt(self, runs, step):
    records = []
    shard = sharding.members_sharding(self._mesh)
    for r, run in enumerate(runs):
      if run.state is None or r not in self._tables:
        continue
      # PBT ranks the weights it would copy: their latest validation, not the best.
      values = self._tables[r][3]
      uids = np.asarray(run.uids)
      status = np.where(uids >= 0, self._tables[r][1], pop.STOPPED)
      rng = np.random.default_rng((self._spec.seed, step, r))
      src = adaptive.pbt_sources(values, status, self._spec.pbt_fraction, rng)
      src = np.where(uids >= 0, src, np.arange(len(uids)))  # Padding stays put.
      run.state, run.hp = adaptive.exploit(run.state, run.hp, src, sharding=shard)
      copied = src != np.arange(len(uids))
      if self._space:
        values_now = adaptive.hparam_values(run.hp, list(self._space))
        explored = adaptive.explore(values_now, copied, self._space, rng)
        run.hp = adaptive.with_hparams(run.hp, explored, sharding=shard)
      else:
        explored = {}
      records += adaptive.lineage_records(uids, uids[src], step, explored,
                                          bucket=run.bucket)
    return records

  def progress(self) -> dict:
    """JSON of what a restart needs: retired members, and the tables of runs that have
    reached a step the others have not (non-finite values as None)."""
    finite = lambda a: [float(v) if np.isfinite(v) else None for v in a]
    return {'retired': {str(k): v for k, v in self.retired.items()},
            'tables': {str(r): [finite(best), [int(s) for s in status],
                                [int(u) for u in uids], finite(values)]
                       for r, (best, status, uids, values) in self._tables.items()}}

  def restore(self, progress: dict) -> None:
    self.retired = {int(k): v for k, v in progress['retired'].items()}
    number = lambda a: np.asarray([np.inf if v is None else v for v in a], np.float64)
    self._tables = {int(r): (number(best), np.asarray(status), np.asarray(uids),
                             number(values))
                    for r, (best, status, uids, values) in progress['tables'].items()}

  def member_steps(self, members, grid_budget: int) -> dict:
    """Training steps members really took (stopped, diverged and cut members take no
    more), against what the same members would take trained to the end."""
    return {'useful': sum(m['steps'] for m in members), 'budget': grid_budget}
