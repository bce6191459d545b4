"""What a sweep prints while it trains: a line per chunk (or a bar), its ETA and the best
validation value so far, kept across a resume."""

import json
import os
import time

import numpy as np
import tqdm

from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.search import plan as search_plan

# jax.monitoring's events of the time a program takes to compile: tracing, lowering, and
# XLA's compile (or a read from the persistent cache).
_COMPILE_EVENTS = ('/jax/core/compile/jaxpr_trace_duration',
                   '/jax/core/compile/jaxpr_to_mlir_module_duration',
                   '/jax/core/compile/backend_compile_duration')
_compile_s = [0.0]  # What `compiling_s` has counted.
_registered = []


def _on_duration(event: str, seconds: float, **kwargs) -> None:
  del kwargs
  if event in _COMPILE_EVENTS:
    _compile_s[0] += seconds


def compiling_s() -> float:
  """Seconds this process has spent compiling JAX programs since the first call."""
  if not _registered:
    from jax import monitoring  # pylint: disable=g-import-not-at-top
    monitoring.register_event_duration_secs_listener(_on_duration)
    _registered.append(True)
  return _compile_s[0]


def interactive(stream) -> bool:
  """Whether `stream` is a terminal that shows a bar: a tty of some size. A pseudo
  terminal of zero columns or rows (`script` or a container's tty run from no terminal)
  shows tqdm's bar as nothing, so it gets a line per chunk instead."""
  try:
    size = os.get_terminal_size(stream.fileno()) if stream.isatty() else None
    return bool(size and size.columns > 0 and size.lines > 0)
  except (AttributeError, OSError, ValueError):
    return False


class Progress:
  """Progress over every chunk of every bucket, with ETA and member counts.

  Interactive (`bar=True`): a tqdm bar on stderr. Otherwise (CI logs, files): one line
  per chunk through `log`. The ETA is the remaining chunks at the pace of training
  alone, plus a compile for each bucket yet to start here. A bucket's first chunk in this
  process carries its one-off costs (compiling, initialising), so the pace is that of
  later chunks once there is one, and until then the first chunks' time less what they
  spent compiling (`compiling`: seconds compiled so far, `compiling_s`); what those
  first chunks compiled, on average, is what each bucket still to start adds.

  The best shown is that of the evaluation ranked best so far, as the ranking's best
  member's: the lowest value of the metric shown (the highest, `mode` 'max'), or where
  another metric ranks (`chunk`'s `ranked`) the value shown at that metric's lowest.
  With --folds (`folds` > 1) each fold's validation part is another set of points, so
  a line shows its own fold's best (`best val rmse (fold 2) ...`), never another's.

  done: chunks done before a resume; best: fold -> (the ranking value, the value shown)
  of the best evaluation they made (see `best_so_far`), None for none; buckets: how many
  buckets will train in this process from here on (a first chunk, with its compile,
  each; an estimate where rounds are still to be asked); spent: what the processes
  before a resume spent (`spent()` as the checkpoint resumed from saved it), None for
  none; folds: the sweep's --folds; clock: seconds, for tests.
  """

  def __init__(self, total_chunks: int, *, log=print, bar: bool = False, done: int = 0,
               best: dict | None = None, buckets: float = 0, spent: dict | None = None,
               folds: int = 1, clock=time.perf_counter, compiling=compiling_s):
    self._total, self._done, self._buckets = total_chunks, done, buckets
    self._before = spent or {}
    self._log = log
    self._clock, self._compiling = clock, compiling
    self._start = clock()
    self._compiled = compiling()
    self._last = 0.0  # Seconds since the start at the end of the last chunk.
    self._first_chunk_s = None
    self._started = set()  # Buckets with a chunk trained in this process.
    # [seconds training, chunks] of the buckets' first chunks here, and of the others.
    self._first, self._later = [0.0, 0], [0.0, 0]
    self._first_compile_s = 0.0  # What the buckets' first chunks here compiled.
    self._best = dict(best or {})  # fold -> (ranking value, shown)
    self._folds = folds
    self._bar = tqdm.tqdm(total=total_chunks, initial=done, unit='chunk',
                          dynamic_ncols=True) if bar else None

  def chunk(self, bucket: int, step: int, values, status, *, metric: str = 'rmse',
            mode: str = 'min', ranked=None, where: str = '', fold: int = 0):
    """values: <float>[P], the members' validation `metric` (better when `mode`);
    ranked: (name, <float>[P]) the metric that ranks (lower is better) where the best
    `metric` is not the best-ranked member's (tasks.ranked_beside), else None;
    where: which of the bucket's runs trained it, whose members the counts are (' fold
    2/3 wave 1/2': run/chunks.py `place`; '' where the bucket trains in one); fold: the
    --folds fold its members train on (0-based; 0 without --folds)."""
    now = self._clock() - self._start
    compiled = self._compiling()
    work = max(now - self._last - (compiled - self._compiled), 0.0)
    if bucket not in self._started:
      self._first_compile_s += compiled - self._compiled
    self._last, self._compiled = now, compiled
    pool = self._later if bucket in self._started else self._first
    pool[0] += work
    pool[1] += 1
    self._started.add(bucket)
    if self._first_chunk_s is None:
      self._first_chunk_s = now
    self._done += 1
    ok = status == pop.OK
    found = _best(values, ranked[1] if ranked else None, mode, ok)
    if found is not None and found[0] < self._best.get(fold, (np.inf,))[0]:
      self._best[fold] = found
    counts = (f'ok {int(ok.sum())}/{len(status)} '
              f'diverged {int((status == pop.DIVERGED).sum())} '
              f'stopped {int((status == pop.STOPPED).sum())}')
    mine = self._best.get(fold)
    best = (f'best val {metric}' + f' (fold {fold + 1})' * (self._folds > 1) + ' ' +
            ('-' if mine is None else f'{mine[1]:.4g}'))
    if ranked and mine is not None:
      best += f' ({ranked[0]} {mine[0]:.4g})'
    if self._bar is not None:
      self._bar.set_postfix_str(f'bucket {bucket}{where} step {step} {counts} {best}')
      self._bar.update(1)
      return
    seconds, chunks = self._later if self._later[1] else self._first
    to_start = max(self._buckets - len(self._started), 0)
    eta = (seconds / chunks * max(self._total - self._done, 0) +
           self._first_compile_s / len(self._started) * to_start)
    total = max(self._total, self._done)  # An estimate below the count shows the count.
    self._log(f'chunk {self._done}/{total} bucket {bucket}{where} step {step}  {counts}  '
              f'{best}  elapsed {now:.1f}s  eta {eta:.1f}s')

  @property
  def done(self) -> int:
    """The chunks counted done: before a resume (`done`), and trained here."""
    return self._done

  @property
  def total(self) -> int:
    """The chunks counted: planned (with the rounds still to be asked, estimated), less
    those `drop` took off."""
    return self._total

  def drop(self, chunks: int) -> None:
    """Takes `chunks` off the total: chunks that will not train (halving cut every
    member of their wave), so that the count ends at its total and the ETA leaves
    them out."""
    self._total -= chunks
    if self._bar is not None and chunks:
      self._bar.total = self._total
      self._bar.refresh()

  def recount(self, total_chunks: int, buckets_ahead, future_buckets: float = 0) -> None:
    """A new estimate once a round is asked (its runs may be more than estimated):
    `total_chunks` counted in all, the buckets of the chunks ahead (`buckets_ahead`)
    and of the rounds still to be asked (`future_buckets`, estimated: run/chunks.py
    `estimate`, as the first)."""
    self._total = total_chunks
    self._buckets = len(self._started | set(buckets_ahead)) + future_buckets
    if self._bar is not None:
      self._bar.total = self._total
      self._bar.refresh()

  def close(self):
    if self._bar is not None:
      self._bar.close()

  def spent(self) -> dict:
    """The sweep's wall time so far, over every process that trained it (a checkpoint
    keeps it, so that a resumed process adds its own), to the millisecond: `total_s`,
    the sum of their times; `processes`, how many there were (the first and each
    resume; the processes of one distributed run count once); `first_chunk_s`, from the
    sweep's start to the end of its first chunk, in the process that trained it."""
    before = self._before
    first = before.get('first_chunk_s', self._first_chunk_s)
    return {'total_s': round(before.get('total_s', 0.0) + self._clock() - self._start, 3),
            'processes': before.get('processes', 0) + 1,
            'first_chunk_s': None if first is None else round(first, 3)}

  def timing(self) -> dict:
    """`spent()`, and `this_process_s`: the seconds of this process alone."""
    return {**self.spent(), 'this_process_s': round(self._clock() - self._start, 3)}


def best_so_far(workdir: str, task: str, selection: str = '',
                difference: bool = False, folds: int = 1) -> dict:
  """fold -> (ranking value, value shown) of the best evaluation of each fold's members
  in a work directory's evaluations (metrics.jsonl, or a large sweep's chunk files), as
  `Progress` ranks them: on resume, what the chunks done before the stop showed
  (`Progress(best=...)`); folds: the sweep's --folds (a member's fold: search/plan.py
  `fold_of`). Empty when there is none. Every evaluation written counts, also a
  member's in the chunk it stopped or diverged in, which the line of that chunk left
  out (it counts members still training)."""
  metric, mode = tasks.shown_of(task, selection)
  rank = tasks.ranked_beside(task, difference, selection)
  names = [metric] + ([rank] if rank else [])
  columns = {n: [] for n in names}
  uids = []
  for e in evaluations.read(workdir):
    if all(f'val/{n}' in e.values for n in names):
      uids.append(np.asarray(e.uids, np.int64))
      for n in names:
        columns[n].append(np.asarray(e.values[f'val/{n}'], np.float64))
  path = os.path.join(workdir, files.METRICS)
  if os.path.exists(path):
    pairs = {}
    with open(path, encoding='utf-8') as f:
      for line in f:
        if any(f'"{n}"' in line for n in names):  # Skips most lines without parsing them.
          r = json.loads(line)
          if r.get('split') == 'val' and r.get('metric') in names:
            pairs.setdefault((r['uid'], r['step']), {})[r['metric']] = r['value']
    uids.append(np.asarray([uid for uid, _ in pairs], np.int64))
    for n in names:
      columns[n].append(np.asarray([np.nan if (v := p.get(n)) is None else v
                                    for p in pairs.values()], np.float64))
  if not uids:
    return {}
  uids = np.concatenate(uids)
  values = np.concatenate(columns[metric])
  ranks = np.concatenate(columns[rank]) if rank else None
  of = search_plan.fold_of(uids, folds)
  best = {}
  for fold in np.unique(of).tolist():
    mine = of == fold
    if (found := _best(values[mine], None if ranks is None else ranks[mine], mode)):
      best[fold] = found
  return best


def _best(values, ranks=None, mode: str = 'min', ok=True) -> tuple | None:
  """(ranking value, value shown) of the best of these evaluations: by `ranks` (lower is
  better) where another metric ranks, else by `values` themselves (better when `mode`);
  only where `ok` and both are finite. None when none is."""
  values = np.asarray(values, np.float64)
  key = np.asarray(ranks, np.float64) if ranks is not None else (
      values if mode == 'min' else -values)
  usable = ok & np.isfinite(key) & np.isfinite(values)
  if not np.any(usable):
    return None
  i = int(np.argmin(np.where(usable, key, np.inf)))
  return float(key[i]), float(values[i])
