"""The sweep's loop over chunks: every (run, chunk) in order, from where it stands.

For each position of the order (waves.chunk_order: run by run, or chunk by chunk for an
adaptive search), the loop trains the chunk (the engine's jitted population chunk), lets
the search decide (search/strategies/strategy.py: an adaptive search once every run has
reached the step), at a round's end lets the search ask for the next round and plans it
after the others (`ask_round`, also the sweep's first ask), writes the chunk's records
and saves a checkpoint that covers them (what resume.py reads back). Runs left with no
member to train are skipped, and the progress's total says so; a skipped position that
writes nothing saves no checkpoint (a resume from the one before skips it again), a
round's last always does. sweep.py starts or resumes the sweep and calls `train`;
finish.py takes what it returns.
"""

import dataclasses
import itertools
import os

import numpy as np

from rnnjax.engine import compile_cache
from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_scores
from rnnjax.run import checkpoint
from rnnjax.run import prepare as prepare_lib
from rnnjax.search import planner
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import strategy as searcher_lib


def train(sweep: prepare_lib.Prepared, runs: list, search_state, start: int, *, workdir,
          mngr, out, bar, stopper, rename, max_memory_gb, group_size, log):
  """Every (run, chunk) from position `start` of the order on: trains it; lets the
  search decide (an adaptive search once every run has reached the step); at a round's
  end, lets the search ask another round and plans it after the others; writes the
  chunk's records and a checkpoint (not at a skipped run's position that writes
  nothing). Returns (sweep, runs, search state, compiles)."""
  spec = sweep.spec
  rules = searcher_lib.strategy(spec)
  adaptive = spec.search in planner.ADAPTIVE
  order = plan_lib.chunk_order(len(runs), sweep.num_chunks, chunk_major=adaptive)
  compiles = {}
  # Runs whose every member halving cut, or whose every member stopped early or
  # diverged (after the search decided: PBT copies into a stopped member from one of
  # its run that trains on, none where every one stopped): they train no more chunks.
  emptied = set()
  saved = start  # The newest checkpoint.
  _drop_emptied(bar, runs, order, start - 1, emptied, log=log, stopped=_stopped_runs(runs),
                folds=spec.folds)
  for position in itertools.count(start):  # A round asked lengthens `order`.
    if position == len(order):
      break
    r, c = order[position]
    step = (c + 1) * spec.eval_every
    records, evaluation = [], None
    if r not in emptied and _has_members(runs[r]):
      with compile_cache.measure() as counted:  # This process's compiles, per bucket.
        runs[r], table, evaluation = _train_chunk(sweep, runs[r], group_size, rename, bar,
                                                  step, where=place(runs, r, spec.folds))
      compiles.setdefault(runs[r].bucket, compile_cache.Compiles()).add(counted)
      search_state = searcher_lib.observe(search_state, r, table)
    elif adaptive and _has_members(runs[r]) and runs[r].state is not None:
      # A run whose every member stopped trains no more, but its search still decides
      # on it: halving ranks its members at each rung (cutting those not among the
      # best), as it would after a chunk that changed none of them.
      search_state = searcher_lib.observe(search_state, r, _resting_table(runs[r]))
    if r == len(runs) - 1 or not adaptive:
      retired, whys = set(search_state.retired), []

      def retire(run, rows, why):  # The members a decision takes out, and why.
        whys.append(why)
        return member_scores.of_run(
            sweep.plan, run, rows, sweep.device_data[run.data_key]['val'],
            mesh=sweep.mesh, group_size=group_size, stopped_by=why)

      search_state, runs, records = searcher_lib.decide(
          rules, search_state, runs, step, mesh=sweep.mesh, retire=retire)
      _say_cuts(whys, [rec for u, rec in search_state.retired.items() if u not in retired],
                runs, log)
      # The table of the chunk just trained says whether any of its members trains on;
      # an adaptive search's runs, once it decided at the step they have all reached.
      _drop_emptied(bar, runs, order, position, emptied, log=log, folds=spec.folds, stopped=(
          _stopped_runs(runs) if adaptive else {r} if (
              evaluation is not None and _all_stopped(table.uids, table.status)) else set()))
    last = position == len(order) - 1
    if last:  # A round's last chunk.
      sweep, search_state, asked = ask_round(sweep, workdir, search_state,
                                             max_memory_gb, group_size, log)
      if asked:
        runs += sweep.runs[len(runs):]
        order = plan_lib.chunk_order(len(runs), sweep.num_chunks, chunk_major=adaptive)
        out.add_members(sweep.plan)
        # The first round's runs stood for every round's: estimated again.
        left, buckets, later = estimate(sweep, len(search_state.rounds), runs, order,
                                        position + 1, emptied)
        bar.recount(bar.done + left, buckets, later)
    # A skipped run's position that wrote nothing saves no checkpoint (a tenth of a
    # second each; a resume from the one before skips it again); a round's last does,
    # so that the newest covers every chunk (--remake_final).
    if evaluation is not None or records or last:
      out.write(records, evaluation, position)  # Before the checkpoint that covers them.
      _save(mngr, position, runs, search_state, metrics_bytes=out.tell(),
            timing=bar.spent(), done=bar.done)
      saved = position + 1
    stopper.check(f'after chunk {bar.done} of {bar.total} (checkpoint {saved}'
                  f' in {os.path.join(workdir, checkpoint.DIRNAME)})')
  return sweep, runs, search_state, compiles


def _say_cuts(whys: list, retired: list, runs, log) -> None:
  """A search's decisions that took members out (`whys`, each its `stopped_by`, such
  as halving's 'halving at 100'; `retired`: the records of those taken out), said as
  they happen (the progress line's counts only fell): the members each cut, not those
  early stopping or divergence had stopped that left with them."""
  for why in dict.fromkeys(whys):
    cut = sum(rec.get('stopped_by') == why for rec in retired)
    if cut:
      kept = sum(int(((np.asarray(run.uids) >= 0) & (np.asarray(distributed.fetch(
          run.state.status)) == pop.OK)).sum()) for run in runs if run.state is not None)
      log(f'{why}: {cut} member{"s" * (cut != 1)} cut, {kept} train{"s" * (kept == 1)} '
          'on (each cut one\'s stopped_by in trials.csv)')


def estimate(sweep, asked: int, runs, order, start: int, emptied=frozenset()) -> tuple:
  """The progress's estimate from position `start` of `order` on: (its chunks, less the
  runs `emptied`, and those of the rounds still to ask, at the pace of the `asked` of
  `spec.rounds` asked so far (0: a search without rounds); the buckets those chunks
  train; the buckets of the rounds still to ask)."""
  ahead = [(r, c) for r, c in order[start:] if r not in emptied]
  left = _rounds_left(sweep, asked)
  return (len(ahead) + round(left * len(runs) * sweep.num_chunks),
          plan_lib.buckets_from(runs, ahead, 0), left * len(sweep.plan.buckets))


def _rounds_left(sweep, asked: int) -> float:
  """The rounds still to ask per round asked (0: a search without rounds)."""
  return max(sweep.spec.rounds - asked, 0) / asked if asked else 0


def counted(sweep, runs, start: int, asked: int = 0, done: int | None = None) -> int:
  """The chunks a resume from position `start` counts in all, as its progress will:
  the `done` ones (trained; `start` where None), those ahead of the runs that train on
  (not those whose every member halving cut, or stopped early or diverged), and those
  of the rounds still to ask at the pace of the `asked` so far (`estimate`)."""
  adaptive = sweep.spec.search in planner.ADAPTIVE
  gone = _stopped_runs(runs) | {r for r, run in enumerate(runs) if not _has_members(run)}
  order = plan_lib.chunk_order(len(runs), sweep.num_chunks, chunk_major=adaptive)
  ahead = sum(1 for r, _ in order[start:] if r not in gone)
  return ((start if done is None else done) + ahead
          + round(_rounds_left(sweep, asked) * len(runs) * sweep.num_chunks))


def _has_members(run) -> bool:
  """Whether a run holds a real member (uid >= 0): halving may have cut every one."""
  return bool(run.uids) and max(run.uids) >= 0


def _stopped_runs(runs) -> set:
  """The runs whose every member stopped early or diverged (a search's decisions made:
  halving's cut members are padding, and PBT has none left to copy from)."""
  return {r for r, run in enumerate(runs) if run.state is not None and _has_members(run)
          and _all_stopped(run.uids, distributed.fetch(run.state.status))}


def _resting_table(run) -> searcher_lib.Table:
  """The searcher table of a run none of whose members trains: what a chunk would give
  (best values and status unchanged; its latest value, which halving does not read, its
  best: PBT copies from none of them)."""
  best_val, status = distributed.fetch((run.state.best_val, run.state.status))
  best_val = np.asarray(best_val, np.float64)
  return searcher_lib.Table(best_val, np.asarray(status), np.asarray(run.uids), best_val)


def _all_stopped(uids, status) -> bool:
  """Whether no real member (uid >= 0) of a run is still training (OK)."""
  return not (np.asarray(status)[np.asarray(uids) >= 0] == pop.OK).any()


def _drop_emptied(bar, runs, order, position: int, emptied: set, *, log=print,
                  stopped=(), folds: int = 1) -> None:
  """Takes off the progress's total the chunks after `position` of the order that runs
  with no member left will not train, once per run (`emptied`: those already taken),
  and those of the runs `stopped` (every member stopped early or diverged; logged, the
  run named as the progress names it: `place` of the sweep's `folds`)."""
  for r, run in enumerate(runs):
    if r in emptied:
      continue
    if r in stopped or not _has_members(run):
      emptied.add(r)
      left = sum(1 for k, _ in order[position + 1:] if k == r)
      bar.drop(left)
      if r in stopped and left:
        log(f'bucket {run.bucket}{place(runs, r, folds)}: every member stopped early or '
            f'diverged; its {left} chunk(s) left are skipped')


def ask_round(sweep: prepare_lib.Prepared, workdir: str, search_state,
               max_memory_gb: float, group_size: int, log):
  """The search's ask at the sweep's start and at a round's end (strategy.ask_round): a
  round it asks is planned after the earlier ones, and plan.json rewritten; the log
  notes the first round that trains a configuration again. Returns (sweep, search
  state, whether a round was asked)."""
  search_state, asked = searcher_lib.ask_round(
      sweep.spec, search_state, workdir, {m.uid: m.config for m in sweep.plan.members})
  if asked is None:
    return sweep, search_state, False
  note = searcher_lib.round_note(sweep.spec, search_state.rounds)
  if note:
    log(note)
  before = len(sweep.plan_json['buckets'])
  sweep = prepare_lib.with_rounds(sweep, search_state.rounds, max_memory_gb, group_size,
                                   log)
  for line in plan_lib.kept_over_notes(sweep.plan_json['buckets'][before:], max_memory_gb):
    log(line)
  files.write_json(os.path.join(workdir, files.PLAN), sweep.plan_json)
  return sweep, search_state, True


def _save(mngr, position: int, runs: list, search_state, *, metrics_bytes: int,
          timing: dict, done: int) -> None:
  """Checkpoint `position + 1`: each started run's (state, hp), and the progress that
  resume.py reads back (the members of every run, the search state, the length of
  metrics.jsonl that the checkpoint covers, the wall time spent so far: `timing`,
  Progress.spent, and the chunks the progress counted `done`: those trained, not
  the positions of runs skipped, whose chunks it took off its total)."""
  started = {r: run for r, run in enumerate(runs) if run.state is not None}
  checkpoint.save(mngr, position + 1,
                  {str(r): (run.state, run.hp) for r, run in started.items()},
                  {'position': position, 'metrics_bytes': metrics_bytes,
                   'uids': [list(run.uids) for run in runs],
                   'searcher': search_state.to_json(),
                   'started': [str(r) for r in started], 'timing': timing,
                   'done': done})


def wave_of(runs, r: int) -> tuple | None:
  """(k, n): run `r` is the k-th wave of n of its bucket's members (of its fold, each
  fold's members waved apart), or None where they train in one."""
  same = lambda run: (run.bucket, run.data_key[1]) == (runs[r].bucket, runs[r].data_key[1])
  mine = [i for i, run in enumerate(runs) if same(run)]
  return (mine.index(r) + 1, len(mine)) if len(mine) > 1 else None


def place(runs, r: int, folds: int = 1) -> str:
  """Which of its bucket's runs run `r` is, as the progress line names it after the
  bucket: ' fold 2/3' (of --folds, each fold's members a run of their own), ' wave 1/2'
  (`wave_of`), both, or ''."""
  wave = wave_of(runs, r)
  return (f' fold {runs[r].data_key[1] + 1}/{folds}' * (folds > 1)
          + (f' wave {wave[0]}/{wave[1]}' if wave else ''))


def _train_chunk(sweep: prepare_lib.Prepared, run, group_size, rename, bar, step,
                 where=''):
  """One chunk of one run (`where`: which of its bucket's runs, `place`, said in the
  progress). Returns (run, its searcher table, its evaluation)."""
  cfg, mesh = run.cfg, sweep.mesh
  state = run.state
  if state is None:
    state = pop.population_init_fn(cfg, mesh)(run.hp, sweep.base_key)
  before = distributed.fetch(state.status)
  state, metrics = pop.population_chunk_fn(cfg, mesh, group_size)(
      state, run.hp, sweep.device_data[run.data_key], sweep.base_key)
  metrics, steps, status, best_val = distributed.fetch(
      (metrics, state.step, state.status, state.best_val))
  # Recorded: the real members that trained in this chunk (one stopped or diverged
  # before it has its records already).
  live = (np.asarray(run.uids) >= 0) & (np.asarray(before) == pop.OK)
  evaluation = evaluations.Evaluation(
      run.bucket, np.asarray(run.uids)[live], np.asarray(steps)[live],
      {'train/loss': metrics['train_loss'][live],
       **{f'val/{k}': v[live] for k, v in rename(metrics['val']).items()}})
  selection = tasks.selection_of(sweep.spec.task, sweep.spec.difference,
                                 sweep.spec.selection)
  table = searcher_lib.Table(np.asarray(best_val, np.float64), np.asarray(status),
                             np.asarray(run.uids),
                             np.asarray(metrics['val'][selection], np.float64))
  real = np.asarray(run.uids) >= 0
  shown, mode = tasks.shown_of(sweep.spec.task, sweep.spec.selection)
  rank = tasks.ranked_beside(sweep.spec.task, sweep.spec.difference, sweep.spec.selection)
  bar.chunk(run.bucket, step, metrics['val'][shown][real], status[real], metric=shown,
            mode=mode, ranked=(rank, metrics['val'][rank][real]) if rank else None,
            where=where, fold=run.data_key[1])
  return dataclasses.replace(run, state=state), table, evaluation
