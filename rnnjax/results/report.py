"""What a sweep prints: a line per chunk, and the ranked table at the end."""

import json
import os
import time

import numpy as np
import tqdm

from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table

TOP_K = 10
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


class Progress:
  """Progress over every chunk of every bucket, with ETA and member counts.

  Interactive (`bar=True`): a tqdm bar on stderr. Otherwise (CI logs, files): one line
  per chunk through `log`. The ETA is the remaining chunks at the pace of training
  alone: a bucket's first chunk in this process carries its one-off costs (compiling,
  initialising), so the pace is that of later chunks once there is one, and until then
  the first chunks' time less what they spent compiling (`compiling`: seconds compiled
  so far, `compiling_s`). A bucket yet to start will add its compile to the ETA shown.

  The best shown is that of the evaluation ranked best so far, as the ranking's best
  member's: the lowest value of the metric shown (the highest, `mode` 'max'), or where
  another metric ranks (`chunk`'s `ranked`) the value shown at that metric's lowest.

  done: chunks done before a resume; best: (the ranking value, the value shown) of the
  best evaluation they made (see `best_so_far`), None for none; clock: seconds, for
  tests.
  """

  def __init__(self, total_chunks: int, *, log=print, bar: bool = False, done: int = 0,
               best: float | None = None, clock=time.perf_counter, compiling=compiling_s):
    self._total, self._done = total_chunks, done
    self._log = log
    self._clock, self._compiling = clock, compiling
    self._start = clock()
    self._compiled = compiling()
    self._last = 0.0  # Seconds since the start at the end of the last chunk.
    self._first_chunk_s = None
    self._started = set()  # Buckets with a chunk trained in this process.
    # [seconds training, chunks] of the buckets' first chunks here, and of the others.
    self._first, self._later = [0.0, 0], [0.0, 0]
    self._best = (np.inf, None) if best is None else best  # (ranking value, shown)
    self._bar = tqdm.tqdm(total=total_chunks, initial=done, unit='chunk',
                          dynamic_ncols=True) if bar else None

  def chunk(self, bucket: int, step: int, values, status, *, metric: str = 'rmse',
            mode: str = 'min', ranked=None):
    """values: <float>[P], the members' validation `metric` (better when `mode`);
    ranked: (name, <float>[P]) the metric that ranks (lower is better) where the best
    `metric` is not the best-ranked member's (tasks.ranked_beside), else None."""
    now = self._clock() - self._start
    compiled = self._compiling()
    work = max(now - self._last - (compiled - self._compiled), 0.0)
    self._last, self._compiled = now, compiled
    pool = self._later if bucket in self._started else self._first
    pool[0] += work
    pool[1] += 1
    self._started.add(bucket)
    if self._first_chunk_s is None:
      self._first_chunk_s = now
    self._done += 1
    ok = status == pop.OK
    values = np.asarray(values, np.float64)
    key = np.asarray(ranked[1], np.float64) if ranked else (
        values if mode == 'min' else -values)
    usable = ok & np.isfinite(key) & np.isfinite(values)
    if usable.any():
      i = int(np.argmin(np.where(usable, key, np.inf)))
      if key[i] < self._best[0]:
        self._best = (float(key[i]), float(values[i]))
    counts = (f'ok {int(ok.sum())}/{len(status)} '
              f'diverged {int((status == pop.DIVERGED).sum())} '
              f'stopped {int((status == pop.STOPPED).sum())}')
    shown = '-' if self._best[1] is None else f'{self._best[1]:.4g}'
    best = f'best val {metric} {shown}'
    if ranked and self._best[1] is not None:
      best += f' ({ranked[0]} {self._best[0]:.4g})'
    if self._bar is not None:
      self._bar.set_postfix_str(f'bucket {bucket} step {step} {counts} {best}')
      self._bar.update(1)
      return
    seconds, chunks = self._later if self._later[1] else self._first
    eta = seconds / chunks * (self._total - self._done)
    self._log(f'chunk {self._done}/{self._total} bucket {bucket} step {step}  {counts}  '
              f'{best}  elapsed {now:.1f}s  eta {eta:.1f}s')

  def close(self):
    if self._bar is not None:
      self._bar.close()

  def timing(self) -> dict:
    return {'total_s': self._clock() - self._start,
            'first_chunk_s': self._first_chunk_s}


def best_so_far(workdir: str, task: str, selection: str = '',
                difference: bool = False) -> tuple | None:
  """(ranking value, value shown) of the best evaluation in a work directory's
  evaluations (metrics.jsonl, or a large sweep's chunk files), as `Progress` ranks them:
  on resume, what the chunks done before the stop showed (`Progress(best=...)`). None
  when there is none. Every evaluation written counts, also a member's in the chunk it
  stopped or diverged in, which the line of that chunk left out (it counts members
  still training)."""
  metric, mode = tasks.shown_of(task, selection)
  rank = tasks.ranked_beside(task, difference, selection)
  names = [metric] + ([rank] if rank else [])
  columns = {n: [] for n in names}
  for e in evaluations.read(workdir):
    if all(f'val/{n}' in e.values for n in names):
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
    for n in names:
      columns[n].append(np.asarray([np.nan if (v := p.get(n)) is None else v
                                    for p in pairs.values()], np.float64))
  values = np.concatenate(columns[metric]) if columns[metric] else np.zeros(0)
  key = np.concatenate(columns[rank]) if rank else (values if mode == 'min' else -values)
  usable = np.isfinite(key) & np.isfinite(values)
  if not usable.any():
    return None
  i = int(np.argmin(np.where(usable, key, np.inf)))
  return float(key[i]), float(values[i])


def _fmt(x):
  return '-' if x is None else f'{x:.4g}'


def _metrics(summary):
  """(selection, display) metric names of a summary (older ones: forecasting's)."""
  return summary.get('selection', {}).get('metric', 'mse'), summary.get('display', 'rmse')


def ranking_table(summary: dict, top_k: int = TOP_K) -> str:
  """The top members by validation, their test scores, and the baselines, of a summary
  in memory (its members and configurations tables: member_table.py)."""
  selection, display = _metrics(summary)
  shown = [selection] + ([display] if display != selection else [])
  members = summary['members']
  configs = summary.get('configs') if summary.get('configs') is not None else []
  by_uid = member_table.records_of(members, list(summary['ranking'][:top_k]) + (
      list(configs[0]['uids']) if len(configs) else []))
  swept = [k for k, (_, v) in members.hparams.items() if len(np.unique(v)) > 1]
  folded = bool(members.ints['fold'].any())
  counts = dict(zip(*np.unique(members.strs['status'], return_counts=True)))
  counts = {s: int(counts.get(s, 0)) for s in pop.STATUS_NAMES}
  # Cross-validated: each member's configuration's mean over folds and seeds beside it.
  cv = {}
  if folded:
    of_config = {by_uid[u]['config']: None for u in summary['ranking'][:top_k]}
    for c in configs:
      if c['config'] in of_config:
        cv.update({u: c['val'][display] for u in c['uids']})
  head = ' '.join(f'{"val " + k:>12}' for k in shown)
  if folded:
    head += f' {"cv val " + display:>20}'
  lines = [f'{"rank":>4} {"uid":>5} {"status":>8} {head} {"test " + display:>12}  '
           + ' '.join(swept)]
  ranked = summary.get('selection', {})
  if summary.get('search') == 'pbt':
    lines.insert(0, 'PBT: each member\'s values are those its best weights trained under')
  if ranked.get('scale'):  # A differenced forecast's (tasks.selection_of).
    lines.insert(0, f'ranked by val {selection} of the {ranked["scale"]} in original units '
                 '(as each member\'s best step and early stopping are chosen)')
  for rank, uid in enumerate(summary['ranking'][:top_k], 1):
    m = by_uid[uid]
    hps = ' '.join(f'{k}={m["hparams"][k]:.3g}' if isinstance(m['hparams'][k], float)
                   else f'{k}={m["hparams"][k]}' for k in swept)
    if 'best_of' in m:  # A PBT copy that holds weights another member's row trained.
      hps += f' (weights of uid {m["best_of"]} at step {m["best_step"]})'
    vals = ' '.join(f'{_fmt(m["val"].get(k)):>12}' for k in shown)
    if folded:
      spread = f' +- {_fmt(cv[uid]["sd"])}' if cv[uid]['sd'] is not None else ''
      vals += f' {_fmt(cv[uid]["mean"]) + spread:>20}'
    lines.append(f'{rank:>4} {uid:>5} {m["status"]:>8} {vals} '
                 f'{_fmt(m.get("test", {}).get(display)):>12}  {hps}')
  final = summary.get('final')
  blank = f' {"":>20}' if folded else ''
  if final:
    vals = ' '.join(f'{_fmt(final["val"].get(k)):>12}' for k in shown) + blank
    lines.append(f'{"":>4} {"":>5} {"final":>8} {vals} {_fmt(final["test"].get(display)):>12}'
                 f'  {_describe_final(final)}')
  for name, scores in summary['baselines'].items():
    vals = ' '.join(f'{_fmt(scores.get("val", {}).get(k)):>12}' for k in shown) + blank
    lines.append(f'{"":>4} {"":>5} {"baseline":>8} {vals} '
                 f'{_fmt(scores.get("test", {}).get(display)):>12}  {name}')
  lines.append(f'{len(members)} members: ' +
               ', '.join(f'{n} {s}' for s, n in counts.items()))
  if len(configs) and (np.diff(configs.offsets) > 1).any():  # Seeds (or folds).
    top = configs[0]['val'][display]
    spread = f' +- {_fmt(top["sd"])}' if top['sd'] is not None else ''
    folds = len({by_uid[u].get('fold', 0) for u in configs[0]['uids']})
    over = f'{len(configs[0]["uids"])} ' + ('members (seeds x folds)' if folds > 1 else 'seeds')
    lines.append(f'best configuration by its mean over {over}: '
                 f'uids {configs[0]["uids"]}, val {display} {_fmt(top["mean"])}{spread}')
  best = summary['best']
  # The metric --selection named (it ranked), else the task's display metric.
  lead = selection if ranked.get('named') else display
  if best:
    tests = ' '.join(f'{k} {_fmt(v)}' for k, v in best['test'].items())
    lines.append(f'single best: uid {best["uid"]} val {lead} '
                 f'{_fmt(best["val"].get(lead))}; test: {tests}')
  if final:
    tests = ' '.join(f'{k} {_fmt(v)}' for k, v in final['test'].items())
    lines.append(f'final model ({_describe_final(final)}): val {lead} '
                 f'{_fmt(final["val"].get(lead))}; test: {tests}')
  if summary.get('test_table'):
    lines.append(test_table(summary['test_table']))
  return '\n'.join(lines)


def test_scores(summary: dict, metrics=('smape', 'mase', 'owa')) -> list[dict]:
  """The competition's table of a panel sweep: the final model (and before its refit),
  the single best member and every baseline, scored on test by the same code, best
  first by the first metric: [{'method', metric: value}]."""
  rows = []
  final, best = summary.get('final'), summary.get('best')
  if final:
    rows.append({'method': f'final: {_describe_final(final)}', **final['test']})
    if final['kind'] == 'refit':
      rows.append({'method': f'final before refit: {final["before_refit"]["kind"]}',
                   **final['before_refit']['test']})
  if best and best.get('test'):
    rows.append({'method': f'single best member (uid {best["uid"]})', **best['test']})
  rows += [{'method': name, **scores['test']} for name, scores in
           summary['baselines'].items() if 'test' in scores]
  rows = [{'method': r['method'], **{m: r.get(m) for m in metrics}} for r in rows]
  key = lambda r: r[metrics[0]] if r[metrics[0]] is not None else float('inf')
  return sorted(rows, key=key)


def test_table(rows: list[dict]) -> str:
  """`test_scores` as text."""
  metrics = [k for k in rows[0] if k != 'method'] if rows else []
  lines = ['test, the competition\'s scores (sMAPE 0-200, MASE, OWA against Naive2):',
           f'{"":>2}' + ''.join(f'{m:>10}' for m in metrics) + '  method']
  for r in rows:
    lines.append(f'{"":>2}' + ''.join(f'{_fmt(r[m]):>10}' for m in metrics) +
                 f'  {r["method"]}')
  return '\n'.join(lines)


def _describe_final(final: dict) -> str:
  if final['kind'] == 'refit':
    before = final['before_refit']
    return (f'{_describe_final({**final, "kind": before["kind"]})}, refit on train + '
            f'validation x {final["seeds"]} seeds')
  same = final.get('same_weights')
  same = (f'; uids {",".join(map(str, same))} left out, holding a better-ranked member\'s '
          'weights' if same else '')
  if final['kind'] == 'single':
    return f'the single best, uid {final["members"][0]}{same}'
  distinct = sorted(set(final['members']), key=final['members'].index)
  return f'ensemble of {len(distinct)}: uids {",".join(map(str, distinct))}{same}'


def plan_table(plan: dict, num_chunks: int) -> str:
  """The plan as a table: one row per bucket, with the probe's figures when present."""
  lines = [f'{plan["num_members"]} members in {len(plan["buckets"])} bucket(s); '
           f'bucketed: {", ".join(plan["bucketed_axes"]) or "-"}; '
           f'masked: {", ".join(plan["masked_axes"]) or "-"}; '
           f'vmapped: {", ".join(plan["vmapped_axes"]) or "-"}',
           f'{"bucket":>6} {"members":>7} {"waves":>5} {"group":>5} {"width":>5} '
           f'{"padding":>7} '
           f'{"params/member":>15} '
           f'{"MiB/member":>10} {"compile s":>9} {"chunk s":>8} {"est. s":>7}  structure']
  total = 0.0
  for b in plan['buckets']:
    counts = b['params_per_member']
    params = str(counts[0]) if len(counts) == 1 else f'{counts[0]}-{counts[-1]}'
    mib = b.get('bytes_per_member')
    est = None
    if 'chunk_s' in b:
      est = b['compile_s'] + b['chunk_s'] * num_chunks
      total += est
    structure = ' '.join(f'{k}={v}' for k, v in b['structure'].items())
    lines.append(f'{b["bucket"]:>6} {b["num_members"]:>7} {b.get("num_waves", 1):>5} '
                 f'{b.get("group_size", "-"):>5} '
                 f'{b["padded_width"]:>5} '
                 f'{b["padding_fraction"]:>7.0%} {params:>15} '
                 f'{_fmt(mib and mib / 2**20):>10} {_fmt(b.get("compile_s")):>9} '
                 f'{_fmt(b.get("chunk_s")):>8} {_fmt(est):>7}  {structure}')
  if total:
    lines.append(f'estimated time: {total:.0f} s ({total / 60:.1f} min)')
  return '\n'.join(lines)


def compiles_line(compiles: dict) -> str:
  """Per bucket: seconds compiling, and programs read from the persistent cache."""
  return 'compiles: ' + ', '.join(
      f'bucket {b} {c.seconds:.1f} s ({c.cache_hits} cached, {c.cache_misses} compiled)'
      for b, c in sorted(compiles.items()))
