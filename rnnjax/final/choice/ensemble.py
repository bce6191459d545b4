"""The final model a sweep hands back: its best member, or several of its best members
whose outputs are averaged (an ensemble; regression: the mean prediction, or with
`--combine=median` the median, classification and language models: the mean
probabilities).

Everything here is chosen on validation alone; TEST scores the chosen model once.

  top     the k best members by validation, k in 1..size chosen by the validation score
          of their mean (ties: the smaller k)
  greedy  ensemble selection (Caruana et al. 2004, "Ensemble selection from libraries of
          models"): start from the best member; repeatedly add, with replacement, the
          pool member whose addition gives the best validation score of the mean, while
          that improves it, up to `size` picks
  fixed   the `size` best members by validation, none left out (N-BEATS's recipe:
          many members over lookbacks, losses and seeds, median-combined). With every
          member in it, only each member's own best checkpoint is chosen on the
          validation windows, so its validation score is less optimistic than top's
  single  the best member alone

`choose` works on any `score(outputs) -> scores`, each of a batch of combined outputs
scored alone (lower is better), so it is tested against plain NumPy; summary.py's is
`selection_scorer`, which scores all of a greedy round's candidates in one call (a pool
of thousands is thousands of candidates a round). `final_model` computes the pool's
outputs on the devices. `scorer` is how every final model is scored (summary.py,
refit.py, a saved model in saved/members.py).
"""

import jax
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.search import rules

KINDS = rules.ENSEMBLES

# The most values (float64, on the host) of the candidates scored in one call: a pool of
# large outputs (a language model's probabilities) is scored a few candidates a call,
# not held again in full.
_BATCH_VALUES = 2 ** 24


def combine(outputs: np.ndarray, counts, how: str = 'mean',
            paths: bool = False) -> np.ndarray:
  """<float64>[...]: the members' outputs <[M, ...]> combined, member m counting
  `counts[m]` times (an integer weight): their weighted mean, or ('median') the median
  of the outputs with each repeated `counts[m]` times.

  paths: the outputs are forecasts of changes, <[M, N, horizon, C]> (--difference): the
  median is taken of each member's path (the changes' running sums over the horizon,
  that is its forecast levels less the last level, in scaled units: a monotone map of
  the levels), and returned as changes again, so that it is the median of the members'
  forecast levels at every step. The mean is the same either way.
  """
  outputs = np.asarray(outputs, np.float64)
  counts = np.asarray(counts)
  if how == 'median':
    if paths:
      sums = np.median(np.repeat(np.cumsum(outputs, axis=2), counts, axis=0), axis=0)
      return np.diff(sums, axis=1, prepend=0.0)
    return np.median(np.repeat(outputs, counts, axis=0), axis=0)
  return np.average(outputs, axis=0, weights=counts)


def choose(outputs: np.ndarray, score, *, kind: str, size: int,
           how: str = 'mean', paths: bool = False) -> list[int]:
  """The members of the final model, as indices into `outputs` (repeats: weight).

  Args:
    outputs: <float>[M, ...] validation outputs of the pool, best member first.
    score: outputs <float>[K, ...] -> <float>[K], the validation selection metric
      (lower is better) of each of K combined outputs.
    kind: one of KINDS.
    size: at most this many members (top), exactly (fixed, when the pool has as
      many), or the most picks (greedy).
    how, paths: how outputs are combined (`combine`).
  """
  if kind == 'single' or size <= 1 or len(outputs) == 1:
    return [0]
  if kind == 'fixed':
    return list(range(min(size, len(outputs))))
  outputs = np.asarray(outputs)
  of = lambda picks: combine(outputs[picks], np.ones(len(picks), np.int64), how, paths)
  scores = lambda candidates, count: _scores(score, candidates, count, outputs[0].size)
  if kind == 'top' and how == 'median':
    tops = lambda ks: np.stack([of(list(range(k + 1))) for k in ks])
    return list(range(int(np.argmin(scores(tops, min(size, len(outputs))))) + 1))
  if kind == 'top':
    sums = np.cumsum(outputs[:size], axis=0, dtype=np.float64)
    tops = lambda ks: sums[ks] / (ks + 1).reshape((-1,) + (1,) * (sums.ndim - 1))
    return list(range(int(np.argmin(scores(tops, len(sums)))) + 1))
  if kind != 'greedy':
    raise ValueError(f'unknown ensemble kind {kind!r}; expected one of {KINDS}')
  picks, total, best = [0], outputs[0].astype(np.float64), None
  while len(picks) < size:
    if how == 'median':
      added = lambda js: np.stack([of(picks + [j]) for j in js])
    else:
      added = lambda js: (total + outputs[js]) / (len(picks) + 1)
    trial = scores(added, len(outputs))
    if best is None:  # Member 0 added to itself combines to member 0, exactly.
      best = trial[0]
    j = int(np.argmin(trial))
    if not trial[j] < best:
      break
    picks.append(j)
    total, best = total + outputs[j], trial[j]
  return picks


def _scores(score, candidates, count: int, width: int) -> np.ndarray:
  """<float64>[count]: `score` of candidates(js) <[len(js), ...]>, js the candidates'
  indices in 0..count-1, in as few calls as hold _BATCH_VALUES values (outputs of
  `width` values each)."""
  step = max(1, _BATCH_VALUES // max(1, width))
  batches = [np.arange(start, min(start + step, count)) for start in range(0, count, step)]
  return np.concatenate([np.asarray(score(candidates(js)), np.float64) for js in batches])


def mean_outputs(outputs: np.ndarray, picks, how: str = 'mean',
                 paths: bool = False) -> np.ndarray:
  """The ensemble's outputs: `combine` over `picks` (indices, repeats count twice)."""
  return combine(outputs, np.bincount(np.asarray(picks), minlength=len(outputs)), how,
                 paths)


def pool_outputs(runs, where: dict, uids, splits: dict, split: str, mesh, group_size=0):
  """<float32>[M, ...] outputs of members `uids` (at their best parameters) on `split`.

  where: uid -> (run index, row); splits: a run's data key -> device arrays by split.
  """
  out = {}
  for r, run in enumerate(runs):
    mine = [u for u in uids if where.get(u, (None,))[0] == r]
    if not mine:
      continue
    params = gather.rows_on_devices(run.state.best_params, [where[u][1] for u in mine],
                                    mesh)
    values = distributed.fetch(pop.population_outputs_fn(run.cfg, mesh, group_size)(
        params, splits[run.data_key][split]))
    out.update({u: values[k] for k, u in enumerate(mine)})
  return np.stack([out[u] for u in uids])


def scorer(task: str, cfg):
  """score(outputs, split) -> the task's metrics (tasks.Task.score) of (averaged)
  outputs on a split, jitted: the one program that scores a final model, so that the
  sweep's figures and a saved model's agree exactly."""
  score = tasks.TASKS[task].score
  return jax.jit(lambda outputs, split: score(cfg, outputs, split))


def selection_scorer(task: str, cfg, selection: str):
  """scores(outputs <[K, ...]>, split) -> <float32>[K]: the metric `selection` of each
  of K (averaged) outputs on a split, in one jitted call. Each is scored in turn
  (lax.map), so bit for bit as `scorer` scores it alone and a near tie is broken as
  one call each broke it: a vmap's batched sums round differently."""
  alone = scorer(task, cfg)
  return jax.jit(lambda outputs, split: jax.lax.map(
      lambda one: alone(one, split)[selection], outputs))
