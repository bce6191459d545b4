"""Successive halving (Jamieson & Talwalkar 2016; the inner loop of Hyperband, Li et
al. 2017), as pure functions of the members' validation tables.

Every member trains to `min_steps`; at each rung r_k = min_steps * eta**k < train_steps
only the best ceil(n / eta) of the n members still OK or stopped early (`--patience`:
they keep their best weights and train no more) stay (`keep_best`), ranked by
`best_val` (the sweep selects members by it in the end) across every bucket and wave.
A member cut is retired with its scores but without its weights, so a member that
stopped early at the best validation score stays, to be tested and ensembled. A rung
with no member to rank (every one diverged) cuts none.
`decide` says which rows of each run go on (`decisions`, as the sweep's decision
records); the sweep then gathers the survivors into smaller populations
(gather.compact_members), so cut members cost nothing afterwards (one compile per
population size, i.e. per rung).
"""

import dataclasses

import numpy as np

from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.search.strategies import decision


@dataclasses.dataclass(frozen=True)
class Settings:
  """A halving sweep's settings, read once from the spec."""
  rung_steps: tuple
  eta: int


def settings(spec) -> Settings:
  return Settings(tuple(rungs(train_steps=spec.train_steps,
                              min_steps=spec.min_steps or spec.eval_every, eta=spec.eta,
                              eval_every=spec.eval_every)), spec.eta)


def decisions(rules: Settings, tables: dict, step: int, hparams_of) -> dict:
  """`decide` as the sweep's decision records: run -> Decision(keep=its rows kept).
  Halving ranks by the tables alone: `hparams_of` is not read."""
  del hparams_of
  kept = decide(tables, step, rung_steps=rules.rung_steps, eta=rules.eta)
  return {r: decision.Decision(keep=keep, why=f'halving at {step}')
          for r, keep in kept.items()}


def decide(tables: dict, step: int, *, rung_steps, eta: int) -> dict:
  """Which members of each run go on past `step`.

  Args:
    tables: run -> its latest table (`searcher.Table`: best_val, status, uids <[P]>;
      rows with uid < 0 are padding and never kept), for every run still training.
    step: the step every run has reached.
    rung_steps: see `rungs`.
    eta: keep 1 / eta of the members.
  Returns:
    run -> <bool>[P] rows kept; empty when `step` is not a rung.
  """
  if step not in rung_steps:
    return {}
  live = sorted(tables)
  values = np.concatenate([np.where(tables[r].uids >= 0, tables[r].best_val, np.nan)
                           for r in live])
  status = np.concatenate([tables[r].status for r in live])
  keep = keep_best(values, status, eta)
  if not keep.any():  # No member to rank: none is cut (nor the population emptied).
    return {}
  bounds = np.cumsum([0] + [len(tables[r].uids) for r in live])
  return {r: keep[start:end] for r, start, end in zip(live, bounds, bounds[1:])}


def rungs(*, train_steps: int, min_steps: int, eta: int, eval_every: int) -> list[int]:
  """Steps at which members are cut: min_steps * eta**k for k = 0, 1, ... below
  train_steps. Each is a multiple of eval_every (validation happens only there)."""
  if int(eta) != eta or eta < 2:
    raise InputError(f'--eta: {eta} must be an integer >= 2')
  if min_steps < eval_every or min_steps % eval_every:
    raise InputError(f'--min_steps: {min_steps} must be a positive multiple of '
                     f'--eval_every={eval_every}')
  if min_steps >= train_steps:
    raise InputError(f'--min_steps: {min_steps} must be below --train_steps={train_steps}'
                     ' (no member would ever be cut)')
  steps = []
  while min_steps * eta**len(steps) < train_steps:
    steps.append(min_steps * eta**len(steps))
  return steps


def keep_best(values, status, eta: int) -> np.ndarray:
  """The members that go on past a rung.

  Args:
    values: <float>[P] validation metric (lower is better).
    status: <int>[P] OK, DIVERGED or STOPPED.
    eta: keep 1 / eta of the members.
  Returns:
    <bool>[P]: among the n members with status OK or STOPPED and a finite value, the
    best ceil(n / eta), ties broken by index. Others (diverged) are never kept.
  """
  values, status = checked_table(values, status)
  order = ranked(values, np.where(status == pop.STOPPED, pop.OK, status))
  keep = np.zeros(len(values), bool)
  keep[order[:-(-len(order) // eta)]] = True
  return keep


def survivors(num_members: int, num_rungs: int, eta: int) -> list[int]:
  """Members training after each rung if all stay OK: [P, ceil(P/eta), ...]."""
  counts = [num_members]
  for _ in range(num_rungs):
    counts.append(-(-counts[-1] // eta))
  return counts


def budget(num_members: int, *, train_steps: int, rung_steps: list[int], eta: int) -> int:
  """Member-steps a halving schedule spends on `num_members` members when all stay OK
  (padding members not counted); `budget // train_steps` members trained to the end
  cost the same."""
  counts = survivors(num_members, len(rung_steps), eta)
  bounds = [0, *rung_steps, train_steps]
  return sum(n * (end - start) for n, start, end in zip(counts, bounds, bounds[1:]))


def checked_table(values, status):
  values, status = np.asarray(values, np.float64), np.asarray(status)
  if values.ndim != 1 or values.shape != status.shape:
    raise ValueError(f'values {values.shape} and status {status.shape} must be [P]')
  return values, status


def ranked(values, status):
  """Indices of the OK members with finite values, best first, ties by index."""
  ok = np.flatnonzero((status == pop.OK) & np.isfinite(values))
  return ok[np.argsort(values[ok], kind='stable')]
