"""Resuming a sweep from its newest checkpoint that restores.

A checkpoint holds each started run's (state, hp) and, as JSON, its progress: the
position reached in the order of chunks, each run's members, the search state. `resume`
rebuilds the sweep that progress describes (the rounds its search state holds: see
search/strategies/strategy.py), restores it, and cuts metrics.jsonl, the evaluations and the
study's journal back to what it covers, so that the sweep goes on, and its search
decides and asks, exactly as if it had never stopped.
"""

import dataclasses
import os

import jax

from rnnjax.engine import distributed
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.run import checkpoint
from rnnjax.run import chunks
from rnnjax.run import prepare as prepare_lib
from rnnjax.run import workdir as workdir_lib
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import strategy as searcher_lib
from rnnjax.search.strategies import tpe


def resume(sweep: prepare_lib.Prepared, workdir: str, *, keep: int, log,
           max_memory_gb: float, group_size: int, whole: bool = False):
  """(checkpoint manager, sweep, runs, search state, next position, the chunks the
  progress counted done (trained: a skipped run's positions are not), the wall time the
  processes before spent up to that checkpoint: Progress.spent, None in a checkpoint
  older than it) from the newest checkpoint that restores; None (its manager closed)
  when there is none.

  Raises InputError before anything is restored when the work directory planned other
  configurations of the spec than this version does (workdir.check_plan); a search that
  asks its rounds plans the ones its checkpoint holds, so there is nothing to check.
  `whole` (a finished sweep's final model remade: --remake_final): raises InputError,
  before anything is cut back, unless a checkpoint restores and covers every chunk.

  The sweep resumes in the waves it began with (`_began_waves`), whatever
  `max_memory_gb` and this machine's memory would plan; a note says where they differ.
  The rounds its search asks after are planned by the budget it began with.
  """
  if not searcher_lib.asks_rounds(sweep.spec):
    workdir_lib.check_plan(workdir, sweep.plan_json)
  wave_sizes, began_gb = _began_waves(workdir)
  sweep = dataclasses.replace(sweep, wave_sizes=wave_sizes, began_gb=began_gb)
  for size in sweep.wave_sizes:  # Also those of runs not started: planned before restoring.
    _check_shares(size, sweep.mesh)
  at = lambda progress: prepare_lib.with_rounds(
      sweep, searcher_lib.SearchState.from_json(progress['searcher']).rounds,
      max_memory_gb, group_size)
  with checkpoint.held_back() as held:  # Orbax's own errors of damaged steps: one line.
    mngr = checkpoint.manager(workdir, keep=keep)
    restored = checkpoint.restore_latest(
        mngr, lambda progress: abstract(at(progress), progress), log=log, held=held)
  where = os.path.join(workdir, checkpoint.DIRNAME)
  gone = ': the trained members are gone; use --overwrite to train the sweep again'
  if restored is None:
    mngr.close()
    if whole:
      raise InputError(f'--remake_final: {where} holds no checkpoint that restores{gone}')
    return None
  trees, progress = restored
  sweep = at(progress)
  total = len(sweep.runs) * sweep.num_chunks
  if whole and progress['position'] + 1 < total:
    mngr.close()
    raise InputError(f'--remake_final: the newest checkpoint that restores in {where} '
                     f'covers {progress["position"] + 1} of {total} chunks{gone}')
  search_state = searcher_lib.SearchState.from_json(progress['searcher'])
  runs = []
  for r, run in enumerate(sweep.runs):
    state, hp = trees.get(str(r), (None, run.hp))
    runs.append(dataclasses.replace(run, uids=tuple(progress['uids'][r]), state=state,
                                    hp=hp))
  if distributed.is_main():
    workdir_lib.truncate(os.path.join(workdir, files.METRICS), progress['metrics_bytes'])
    workdir_lib.truncate(os.path.join(workdir, tpe.JOURNAL), search_state.journal_bytes)
    evaluations.truncate(workdir, progress['position'])
  start = progress['position'] + 1
  # The chunks trained (a checkpoint of an older rnnjax: every position before `start`).
  done = progress.get('done', start)
  asked, rounds = len(search_state.rounds), sweep.spec.rounds
  more = f' (rounds asked so far: {asked} of {rounds})' if rounds and asked < rounds else ''
  log(f'restoring the trained members of {workdir} ({done} of {done} chunks)' if whole
      else f'resuming {workdir}: {done} of '
           f'{chunks.counted(sweep, runs, start, asked if rounds else 0, done)} chunks '
           f'were done{more}')
  # A remake trains nothing: what the budget would plan does not matter to it.
  for note in ('' if whole else _waves_note(sweep, max_memory_gb),
               _rounding_note(workdir, sweep)):
    if note:
      log(note)
  if distributed.is_main():
    _record_devices(workdir, start)
  return mngr, sweep, runs, search_state, start, done, progress.get('timing')


def _began_waves(workdir: str) -> tuple:
  """(each bucket's wave size, the memory budget in GB that planned them) as the sweep
  in `workdir` began (plan.json's, rewritten with each round a search asks; ((), 0.0)
  where unreadable, a budget of 0.0 where older versions left it out). plan.json rather
  than the checkpoint's members: halving's cuts shrink a run's members, folds interleave
  them, and a run halving emptied holds none; plan.json says each bucket's size once."""
  try:
    plan = files.read_json(os.path.join(workdir, files.PLAN))
    return (tuple(int(b['wave_size']) for b in plan['buckets']),
            float(plan.get('memory_budget_gb', 0.0)))
  except (OSError, ValueError, KeyError, TypeError, AttributeError):
    return (), 0.0  # Planned by the budget: `abstract` refuses other waves than the checkpoint's.


def _waves_note(sweep: prepare_lib.Prepared, max_memory_gb: float) -> str:
  """A note where the memory budget now would plan other waves than those the sweep
  began with, which it resumes in (waves.make_runs: `budget_plans`), and where those are
  estimated over it."""
  kept = [b for b in sweep.plan_json['buckets'] if 'budget_plans' in b]
  if not kept:
    return ''
  waves = lambda b: f'{b["num_waves"]} wave{"s" * (b["num_waves"] != 1)} of {b["wave_size"]}'
  budget = plan_lib.budget_words(max_memory_gb)
  over = [f'; bucket {b["bucket"]}\'s are '
          + plan_lib.over_words(b['budget_plans']['over_budget_gb'], 'it')
          for b in kept if 'over_budget_gb' in b['budget_plans']]
  return ('note: resuming in the waves it began with ('
          + '; '.join(f'bucket {b["bucket"]}: {waves(b)}' for b in kept)
          + f'); {budget} would plan '
          + ', '.join(waves(b['budget_plans']) for b in kept)
          + ' respectively' * (len(kept) > 1) + ''.join(over))


def _rounding_note(workdir: str, sweep: prepare_lib.Prepared) -> str:
  """A note where the sweep resumes on another number of devices or in other vmap
  groups than it began with: float rounding differs, and training can amplify it."""
  began = files.read_json(os.path.join(workdir, files.SWEEP)).get('devices') or []
  then = [b.get('group_size') for b in
          files.read_json(os.path.join(workdir, files.PLAN)).get('buckets', ())]
  now = [b.get('group_size') for b in sweep.plan_json.get('buckets', ())]
  changed = []
  if began and len(began) != jax.device_count():
    changed.append(f'{jax.device_count()} device(s) (it began on {len(began)})')
  common = min(len(then), len(now))
  if then[:common] != now[:common]:
    changed.append(f'vmap groups of {now[:common]} members (it began with {then[:common]})')
  if not changed:
    return ''
  return (f'note: resumed on {" and ".join(changed)}: float rounding differs with them, and '
          'training can amplify it; the rest trains as it would have, to float rounding, '
          'not bit for bit (docs/distributed.md)')


def _record_devices(workdir: str, start: int) -> None:
  """Adds this resume's devices and process count to sweep.json's `resumed` list; its
  `devices` and `processes` stay those the sweep began on (_rounding_note reads them)."""
  path = os.path.join(workdir, files.SWEEP)
  stored = files.read_json(path)
  stored['resumed'] = stored.get('resumed', []) + [
      {'after_chunks': start, 'devices': [str(d) for d in jax.devices()],
       'processes': jax.process_count()}]
  files.write_json(path, stored)


def abstract(sweep: prepare_lib.Prepared, progress):
  """The checkpoint's tree: (state, hp) of each started run, at its size then."""
  mesh, runs = sweep.mesh, sweep.runs
  if len(progress['uids']) != len(runs):  # The waves plan.json's wave sizes make.
    raise InputError(f'--workdir: this sweep\'s checkpoint holds {len(progress["uids"])} '
                     f'waves, and its plan.json makes {len(runs)}: the work directory is '
                     'damaged; use --overwrite to train the sweep again')
  tree = {}
  for r, run in enumerate(runs):
    if str(r) not in progress['started']:
      continue
    size = len(progress['uids'][r])
    _check_shares(size, mesh)
    shard = sharding.members_sharding(mesh)
    hp = jax.tree.map(lambda a: jax.ShapeDtypeStruct((size,) + a.shape[1:], a.dtype,
                                                     sharding=shard), run.hp)
    state = jax.eval_shape(pop.population_init_fn(run.cfg, mesh), hp, sweep.base_key)
    state = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=shard),
                         state)
    tree[str(r)] = (state, hp)
  return tree


def _check_shares(size: int, mesh) -> None:
  """Raises InputError (`uneven_devices`) unless the mesh's devices share populations of
  `size` rows equally."""
  if size % mesh.size:
    raise InputError(uneven_devices(size, devices=mesh.size, processes=jax.process_count(),
                                    platform=jax.default_backend()))


# How to show JAX one device, by platform (jax.default_backend()).
_ONE_DEVICE = {
    'cpu': '--cpu_devices=1',
    'gpu': 'CUDA_VISIBLE_DEVICES=0 (ROCm: HIP_VISIBLE_DEVICES=0)',
    'tpu': 'TPU_VISIBLE_CHIPS=0 TPU_CHIPS_PER_PROCESS_BOUNDS=1,1,1 TPU_PROCESS_BOUNDS=1,1,1',
}


def uneven_devices(size: int, *, devices: int, processes: int, platform: str) -> str:
  """Why a checkpoint's populations of `size` rows cannot restore on `devices` devices
  (of `processes` processes), naming what set the count (--cpu_devices alone counts one
  process's devices; off CPU, what the machine shows JAX), and how to show JAX one
  device on `platform`; several processes are told to resume in one."""
  per = devices // processes
  cpu = platform == 'cpu'
  one = _ONE_DEVICE.get(platform, 'one device visible to JAX')
  if processes > 1:
    flag = '--distributed' + (', --cpu_devices' if cpu else '')
    what = (f'{devices} devices ({processes} processes x {per} device{"s" * (per > 1)} '
            'each)')
    fix = f'e.g. one process, --distributed=off, with {one}'
  else:
    flag = '--cpu_devices' if cpu else '--workdir'
    what = f'{devices} {"devices" if cpu else platform.upper() + "s"}'
    fix = f'e.g. {one}'
  return (f'{flag}: this sweep\'s checkpoint holds populations of {size} rows, which '
          f'{what} cannot share equally; resume it on a number of devices that divides '
          f'it (1 always does: {fix})')
