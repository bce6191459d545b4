"""The dry run: a prepared sweep's plan, each bucket compiled and timed, printed as a
table (`plan_table`) with its time estimate; nothing is trained or written.

A search that asks rounds (tpe) is described by its largest round, whose waves and
memory are the most the sweep needs: the first, or the last where --last_round is
larger (`strategy.largest_round`).
"""

import contextlib
import itertools
import tempfile

import jax

from rnnjax.errors import InputError
from rnnjax.run import checkpoint
from rnnjax.run import prepare as prepare_lib
from rnnjax.search import probe
from rnnjax.search import waves as plan_lib
from rnnjax.search.strategies import halving
from rnnjax.search.strategies import strategy as searcher_lib
from rnnjax.search.strategies import tpe


def describe_plan(sweep: prepare_lib.Prepared, group_size: int = 0, log=print,
                  max_memory_gb: float = 0.0) -> dict:
  """Compiles every bucket's program (a chunk of a few steps) and times it, prints the
  plan with its time estimate, and returns it; trains and writes nothing. A search of
  rounds of unequal sizes is planned from its largest (see the module docstring), and
  each round's chunks are counted in proportion to its configurations."""
  if jax.process_count() > 1:
    raise InputError('--dry_run: run it in one process (without --distributed)')
  largest = searcher_lib.largest_round(sweep.spec)
  if largest is not None:
    sweep = prepare_lib.with_rounds(sweep, [largest], max_memory_gb, group_size, log)
  first_waves = {run.bucket: (run.cfg, run.uids, run.hp, sweep.device_data[run.data_key])
                 for run in reversed(sweep.runs)}
  plan_json = dict(sweep.plan_json, num_devices=sweep.mesh.size)
  with _checkpoints() as save:
    probed = probe.probe_all([first_waves[b] for b in range(len(sweep.plan.buckets))],
                             sweep.base_key, sweep.mesh, group_size, save=save)
  for b, figures in enumerate(probed):
    plan_json['buckets'][b].update(figures)
    for key in ('chunk_s', 'validation_s', 'save_s'):  # Each wave's chunks, each saved.
      plan_json['buckets'][b][key] *= plan_json['buckets'][b]['num_waves']
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
  log(plan_table(plan_json, sweep.num_chunks))
  return plan_json


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


def _fmt(x):
  return '-' if x is None else f'{x + 0.0:.4g}'  # + 0.0: a loss of -0.0 reads 0.


def plan_table(plan: dict, num_chunks: int) -> str:
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
           f'{"save s":>6} {"est. s":>7}  structure']
  total = 0.0
  for b in plan['buckets']:
    counts = b['params_per_member']
    params = str(counts[0]) if len(counts) == 1 else f'{counts[0]}-{counts[-1]}'
    mib = b.get('bytes_per_member')
    est = None
    if 'chunk_s' in b:
      est = (b['compile_s'] * (1 + plan.get('recompiles', 0))
             + (b['chunk_s'] + b.get('save_s', 0.0)) * num_chunks
             * plan.get('trained_fraction', 1)
             * (sum(sizes) / max(sizes) if sizes else rounds))
      total += est
    structure = ' '.join(f'{k}={v}' for k, v in b['structure'].items())
    lines.append(f'{b["bucket"]:>6} {b["num_members"]:>7} {b.get("num_waves", 1):>5} '
                 f'{b.get("group_size", "-"):>5} '
                 f'{b["padded_width"]:>5} '
                 f'{b["padding_fraction"]:>7.0%} {params:>15} '
                 f'{_fmt(mib and mib / 2**20):>10} '
                 f'{_fmt(b["estimated_bytes_per_member"] / 2**20):>8} '
                 f'{_fmt(b.get("compile_s")):>9} '
                 f'{_fmt(b.get("chunk_s")):>8} {_fmt(b.get("save_s")):>6} '
                 f'{_fmt(est):>7}  {structure}')
  lines += plan_lib.wave_notes(plan)
  if total:
    fraction = plan.get('trained_fraction', 1)
    lines.append(f'estimated time: {total:.0f} s ({total / 60:.1f} min)' + (
        f'; halving trains about {fraction:.0%} of the member-steps of every member to '
        'the end, spread over the buckets as it cuts, and compiles again after each cut'
        if fraction < 1 else '') + (
        f'; tpe asks each of its {rounds} rounds as the last ends: all {rounds} trained '
        'as this one' + (', in proportion to their configurations' if sizes else '')
        + ', each bucket compiled once (a later round\'s bucket of a new structure '
        'or size compiles then)' if rounds > 1 else ''))
  return '\n'.join(lines)
