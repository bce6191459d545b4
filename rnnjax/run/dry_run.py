"""The dry run: a prepared sweep's plan, each bucket compiled and timed, printed as a
table (`plan_table`) with its time estimate, training and what follows it (the scores,
the refit, a character model's sample, the command's figures) apart; nothing is trained
or written.

A search that asks rounds (tpe) is described by its largest round, whose waves and
memory are the most the sweep needs: the first, or the last where --last_round is
larger (`strategy.largest_round`).
"""

import contextlib
import itertools
import math
import os
import tempfile
import time

import jax
import numpy as np

from rnnjax.engine import generate
from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.run import checkpoint
from rnnjax.run import prepare as prepare_lib
from rnnjax.search import probe
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import halving
from rnnjax.search.strategies import strategy as searcher_lib
from rnnjax.search.strategies import tpe


def describe_plan(sweep: prepare_lib.Prepared, group_size: int = 0, log=print,
                  max_memory_gb: float = 0.0, figures=None,
                  before_s: float = 0.0, startup_s: float = 0.0,
                  baselines_s: float = 0.0) -> dict:
  """Compiles every bucket's program (a chunk of a few steps) and times it, prints the
  plan with its time estimate, and returns it; trains and writes nothing. A search of
  rounds of unequal sizes is planned from its largest (see the module docstring), and
  each round's chunks are counted in proportion to its configurations. `figures`: where
  the caller draws figures after the sweep (the command's --figures), (swept axes,
  search) -> the seconds they take, which the estimate counts (None: none drawn; the
  library draws no figure). `before_s`: the seconds the caller took to load and prepare
  the data, as the sweep does before training, and `baselines_s` those it would take to
  fit the statistical baselines (data/common.py `estimating`: a panel's benchmarks, 0
  for those in the cache, and a single series' ETS and ARIMA).
  `startup_s`: the seconds the calling command took to start before it (its interpreter
  and imports: a command's own, which a library call's estimate leaves out)."""
  if jax.process_count() > 1:
    raise InputError('--dry_run: run it in one process (without --distributed)')
  largest = searcher_lib.largest_round(sweep.spec)
  if largest is not None:
    sweep = prepare_lib.with_rounds(sweep, [largest], max_memory_gb, group_size, log)
  first_waves = {run.bucket: run for run in reversed(sweep.runs)}
  firsts = [first_waves[b] for b in range(len(sweep.plan.buckets))]
  plan_json = dict(sweep.plan_json, num_devices=sweep.mesh.size, before_s=before_s,
                   startup_s=startup_s, baselines_s=baselines_s)
  with _checkpoints() as save, _others_busy(plan_json):
    probed = probe.probe_all(
        [(run.cfg, run.uids, run.hp, sweep.device_data[run.data_key]) for run in firsts],
        sweep.base_key, sweep.mesh, group_size, save=save,
        tests=[prepare_lib.device_data(sweep.datas[run.data_key], ('test',),
                                       sweep.mesh)['test'] for run in firsts])
  for b, measured in enumerate(probed):
    plan_json['buckets'][b].update(measured)
    for key in ('chunk_s', 'validation_s', 'save_s'):  # Each wave's chunks, each saved.
      plan_json['buckets'][b][key] *= plan_json['buckets'][b]['num_waves']
  _after_training(plan_json, sweep.spec, sample_s=_sample_s(sweep, firsts[0]))
  if figures:
    plan_json['figures_s'] = figures(sweep.plan.swept, sweep.spec.search, sweep.spec.task)
  spec = sweep.spec
  if spec.search == 'halving':  # Members cut at the rungs train no more chunks.
    members, min_steps = len(sweep.plan.members), spec.min_steps or spec.eval_every
    rungs = halving.rungs(train_steps=spec.train_steps, min_steps=min_steps, eta=spec.eta,
                          eval_every=spec.eval_every)
    plan_json['trained_fraction'] = halving.budget(
        members, train_steps=spec.train_steps, rung_steps=rungs, eta=spec.eta) / (
            members * spec.train_steps)
    plan_json['recompiles'] = len(rungs)  # Each cut leaves a population of a new size.
  if spec.search == 'tpe' and spec.rounds > 1:  # Later rounds are asked as earlier end.
    plan_json['rounds'] = spec.rounds
    sizes = [tpe.round_size(spec, k) for k in range(spec.rounds)]
    if len(set(sizes)) > 1:  # --last_round
      plan_json['round_sizes'] = sizes
  log(plan_table(plan_json, sweep.num_chunks, max_memory_gb))
  return plan_json


def _sample_s(sweep: prepare_lib.Prepared, run) -> float:
  """Seconds of a character model's sample after training (--sample_chars): drawn here
  once by the first bucket's network from parameters of zeros, its program compiled and
  run, as the best member's is (0: no sample)."""
  spec = sweep.spec
  if spec.task != 'charlm' or not spec.sample_chars:
    return 0.0
  shapes = jax.eval_shape(pop.population_init_fn(run.cfg, sweep.mesh), run.hp,
                          sweep.base_key)
  params = jax.tree.map(lambda s: np.zeros(s.shape[1:], s.dtype), shapes.params)
  start = time.perf_counter()
  jax.block_until_ready(generate.sample(
      run.cfg.model, params, key=jax.random.key(spec.seed), num_chars=spec.sample_chars,
      temperature=spec.temperature, prime=np.asarray(sweep.data.prime)))
  return time.perf_counter() - start


def _after_training(plan: dict, spec, sample_s: float) -> None:
  """Adds to the probed plan what follows training (seconds): per bucket scores_s, its
  members scored (final/choice/summary.py): each wave's on validation, the chosen on
  test, and the final model's outputs on both, four programs compiled (an outputs
  program taken to compile as long as the metrics' of its split, which share the
  network's pass), and refit_s, the final model's refit (--refit; refit.py): its
  programs (the probe's training, initialisation and test evaluation) compiled where a
  member of the final model may lie (the final model's members x seeds spread over the
  buckets as their members), its members trained for --train_steps (the most it
  trains; a member stops at its best step), a device's vmap groups of them one after
  another as a wave's, and refit_least_s, the same trained to the first evaluation
  (--eval_every: the least a best step is but for a member that diverged before it);
  and the plan's sample_s (`_sample_s`)."""
  members, devices = plan['num_members'], plan['num_devices']
  refit = min(members, 1 if spec.ensemble == 'single' else spec.ensemble_size) * spec.refit
  for b in plan['buckets']:
    compiles = b['compiles']
    b['scores_s'] = (2 * (compiles['validation'] + compiles['test']) + b['validation_s']
                     + b['test_s'])
    share = refit * b['num_members'] / members  # The refit's members in this bucket.
    groups = math.ceil(share / devices / b['group_size']) / (
        b['wave_size'] / devices / b['group_size'])
    refit_s = lambda steps: min(1.0, share) * (
        compiles['chunk'] + compiles['init'] + compiles['test']
        + b['step_s'] * steps * min(1.0, groups))
    b['refit_s'] = refit_s(spec.train_steps)
    b['refit_least_s'] = refit_s(min(spec.eval_every, spec.train_steps))
  plan['sample_s'] = sample_s


@contextlib.contextmanager
def _checkpoints():
  """Yields save(state, hp): a checkpoint of a wave, as the sweep saves after each chunk
  (run/chunks.py), in a temporary directory removed on exit: a dry run writes nothing in
  the work directory."""
  with tempfile.TemporaryDirectory(prefix='rnnjax-dry-run-') as directory:
    mngr = checkpoint.manager(directory, keep=1)
    steps = itertools.count(1)
    try:
      yield lambda state, hp: checkpoint.save(mngr, next(steps), {'0': (state, hp)},
                                              {'position': 0})
    finally:
      mngr.close()


# The seconds of compiling read from the cache under which the dry run says nothing of it.
NOTE_COLD_S = 1.0


def _fmt(x):
  return '-' if x is None else f'{x + 0.0:.4g}'  # + 0.0: a loss of -0.0 reads 0.


def _secs(x: float) -> str:
  """Seconds as read: whole from 1 s, tenths below it ("0.3"), "<0.1" for less (a part
  that takes a moment is not said to take "0 s")."""
  return f'{x:.0f}' if x >= 0.95 else f'{x:.1f}' if x >= 0.05 else '<0.1'


def _seconds(least: float, most: float) -> str:
  """Seconds as a range where its ends differ ("12-30 s"), else one figure."""
  return f'{_secs(least)}-{_secs(most)} s' if _secs(least) != _secs(most) else (
      f'{_secs(most)} s')


def _after(plan: dict) -> str:
  """What the plan's time after training holds, each part's seconds."""
  buckets = plan['buckets']
  total = lambda key: sum(b.get(key, 0.0) for b in buckets)
  parts = [('scores', total('scores_s'), total('scores_s')),
           # Each member of the refit trains to its best step: at least to the first
           # evaluation, at most every step.
           ('the refit', total('refit_least_s'), total('refit_s')),
           ('the sample', plan.get('sample_s', 0.0), plan.get('sample_s', 0.0)),
           ('figures', plan.get('figures_s', 0.0), plan.get('figures_s', 0.0))]
  return ', '.join(f'{name} {_seconds(least, most)}' for name, least, most in parts if most)


def _cached_note(plan: dict) -> list:
  """A line where the probe read its training programs from the compile cache, which
  the estimate then counts as read: the sweep's own programs are others (their chunks'
  steps, all their members), which a dry run does not compile, so a sweep whose own are
  not cached yet (the first after a dry run run twice, or after another sweep of these
  shapes) compiles for about as long as the probe's took when they were cached
  (`compile_cold_s`)."""
  cold = sum(b.get('compile_cold_s', 0.0) for b in plan['buckets'])
  if cold < NOTE_COLD_S:
    return []
  cuts = plan.get('recompiles', 0)
  return [f'note: the probe read its training programs from the compile cache, and the '
          f'estimate counts the sweep\'s as read too; where they are not cached yet (its '
          f'first run), compiling its training programs adds about {_secs(cold)} s' + (
              f', up to {_secs(cold * cuts)} s more for halving\'s {cuts} cuts (each a '
              'population of a new size)' if cuts else '') + ', its other programs some more']


# Cores' worth of CPU that other processes use while the probe runs, from which a note
# says its figures are of that load (on a 2-core VM, a second sweep beside a dry run
# doubled its estimate: 101 s, then 44 s idle, for sweeps of 74-90 s).
OTHERS_NOTE_CORES = 0.5


def _busy_s() -> float | None:
  """Seconds of CPU the machine's processes have used since boot (Linux's /proc/stat:
  user, nice, system, irq and softirq time; not idle, I/O wait, nor a hypervisor's
  steal), None where it cannot be read."""
  try:
    with open('/proc/stat', encoding='ascii') as f:
      fields = [int(v) for v in f.readline().split()[1:8]]
    return (sum(fields[:3]) + sum(fields[5:7])) / os.sysconf('SC_CLK_TCK')
  except (OSError, ValueError, IndexError):
    return None


@contextlib.contextmanager
def _others_busy(plan_json: dict):
  """Sets plan_json['others_busy'], the cores' worth of CPU other processes used while
  inside (the machine's busy time less this process's, over the wall time), where it
  can be read."""
  busy, own, start = _busy_s(), time.process_time(), time.perf_counter()
  yield
  after, wall = _busy_s(), time.perf_counter() - start
  if busy is not None and after is not None and wall > 0:
    plan_json['others_busy'] = max(0.0, (after - busy - (time.process_time() - own)) / wall)


def _busy_note(plan: dict) -> list:
  """The note of a probe timed while other processes kept a core or part of one busy
  (`OTHERS_NOTE_CORES`): its figures, and the estimate, are of that load."""
  others = plan.get('others_busy', 0.0)
  if others < OTHERS_NOTE_CORES:
    return []
  return [f'note: other processes kept about {others:.1f} of this machine\'s '
          f'{os.cpu_count()} cores busy while the probe was timed: its figures and the '
          'estimate are of that load (the sweep runs faster on an idle machine)']


def _kept_note(plan: dict) -> list:
  """Where a bucket trains in several waves, the note of what every member keeps once
  trained (its parameters, optimizer state and best parameters, the probe's
  state_bytes_per_member), which stays in memory beside a wave's budget until the sweep
  ends: the budget bounds a wave's training, not the sweep."""
  waved = [b for b in plan['buckets'] if b.get('num_waves', 1) > 1]
  if not waved or any('state_bytes_per_member' not in b for b in plan['buckets']):
    return []
  kept = sum(b['num_members'] * b['state_bytes_per_member'] for b in plan['buckets'])
  return ['note: the memory budget bounds a wave\'s training; each member\'s state once '
          'trained (parameters, optimizer state, best parameters) stays in memory until '
          'the sweep ends, beside it: at least '
          + (f'{kept / 2**30:.2g} GB' if kept >= 2**30 else f'{kept / 2**20:.3g} MB')
          + f' for the {plan["num_members"]} members']


def plan_table(plan: dict, num_chunks: int, max_memory_gb: float = 0.0) -> str:
  """The plan as a table: one row per bucket, with the probe's figures when present."""
  rounds, sizes = plan.get('rounds', 1), plan.get('round_sizes')
  which = f' (round 1 of {rounds})' if rounds > 1 else ''
  if sizes:  # The largest round is described; every round counts by its configurations.
    which = (f' (round {sizes.index(max(sizes)) + 1} of {rounds}, the largest: '
             f'{", ".join(map(str, sizes))} configurations)')
  members, devices = plan['num_members'], plan.get('num_devices')
  on = f' on {devices} device(s)' if devices else ''
  lines = [f'{members} member{"s" * (members != 1)} in {len(plan["buckets"])} bucket(s){which}'
           f'{on}; '
           f'bucketed: {", ".join(plan["bucketed_axes"]) or "-"}; '
           f'masked: {", ".join(plan["masked_axes"]) or "-"}; '
           f'vmapped: {", ".join(plan["vmapped_axes"]) or "-"}',
           f'{"bucket":>6} {"members":>7} {"waves":>5} {"group":>5} {"width":>5} '
           f'{"padding":>7} '
           f'{"params/member":>15} '
           f'{"MiB/member":>10} {"budgeted":>8} {"compile s":>9} {"chunk s":>8} '
           f'{"save s":>6} {"est. s":>7} {"after s":>7}  structure']
  total, after = 0.0, plan.get('sample_s', 0.0) + plan.get('figures_s', 0.0)
  for b in plan['buckets']:
    counts = b['params_per_member']
    params = str(counts[0]) if len(counts) == 1 else f'{counts[0]}-{counts[-1]}'
    mib = b.get('bytes_per_member')
    est = then = None
    if 'chunk_s' in b:
      est = (b['compile_s'] * (1 + plan.get('recompiles', 0)) + b.get('warmup_s', 0.0)
             + (b['chunk_s'] + b.get('save_s', 0.0)) * num_chunks
             * plan.get('trained_fraction', 1)
             * (sum(sizes) / max(sizes) if sizes else rounds))
      then = b.get('scores_s', 0.0) + b.get('refit_s', 0.0)
      total, after = total + est, after + then
    structure = ' '.join(f'{k}={v}' for k, v in b['structure'].items())
    lines.append(f'{b["bucket"]:>6} {b["num_members"]:>7} {b.get("num_waves", 1):>5} '
                 f'{b.get("group_size", "-"):>5} '
                 f'{b["padded_width"]:>5} '
                 f'{b["padding_fraction"]:>7.0%} {params:>15} '
                 f'{_fmt(mib and mib / 2**20):>10} '
                 f'{_fmt(b["estimated_bytes_per_member"] / 2**20):>8} '
                 f'{_fmt(b.get("compile_s")):>9} '
                 f'{_fmt(b.get("chunk_s")):>8} {_fmt(b.get("save_s")):>6} '
                 f'{_fmt(est):>7} {_fmt(then):>7}  {structure}')
  lines += plan_lib.wave_notes(plan, max_memory_gb)
  lines += _kept_note(plan)
  lines += _busy_note(plan)
  lines += _cached_note(plan)
  if total:
    fraction = plan.get('trained_fraction', 1)
    startup, before = plan.get('startup_s', 0.0), plan.get('before_s', 0.0)
    fits = plan.get('baselines_s', 0.0)
    whole = startup + before + fits + total + after
    least = whole - sum(b.get('refit_s', 0.0) - b.get('refit_least_s', 0.0)
                        for b in plan['buckets'])
    minutes = (f'{least / 60:.1f}-{whole / 60:.1f}' if f'{least / 60:.1f}' != f'{whole / 60:.1f}'
               else f'{whole / 60:.1f}')
    lines.append(f'estimated time: {_seconds(least, whole)} ({minutes} min)' + (
        f': {f"start-up {_secs(startup)} s, " if startup else ""}'
        f'{f"the data {_secs(before)} s, " if before else ""}'
        f'{f"the baselines {_secs(fits)} s, " if fits else ""}training {_secs(total)} s, '
        f'after training {_seconds(after - whole + least, after)} ({_after(plan)})'
        if after else '') + (
        f'; halving trains about {fraction:.0%} of the member-steps of every member to '
        'the end, spread over the buckets as it cuts, and compiles again after each cut'
        if fraction < 1 else '') + (
        f'; tpe asks each of its {rounds} rounds as the last ends: all {rounds} trained '
        'as this one' + (', in proportion to their configurations' if sizes else '')
        + ', each bucket compiled once (a later round\'s bucket of a new structure '
        'or size compiles then)' if rounds > 1 else ''))
  return '\n'.join(lines)
