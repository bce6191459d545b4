"""What a sweep prints at the end: the ranked table, the competition's table and the
compile line (progress.py: the lines while it trains; run/dry_run.py: a dry run's plan
table; side_by_side.py: finished sweeps side by side)."""

import numpy as np

from rnnjax.engine import population as pop
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results.printed import words

TOP_K = 10
# A panel's test table: its columns, in order.
TEST_METRICS = ('smape', 'mase', 'owa', 'rmsse')


def ranking_table(summary: dict, top_k: int = TOP_K) -> str:
  """The top members by validation, their test scores, and the baselines, of a summary
  in memory (its members and configurations tables: member_table.py, config_table.py)."""
  selection, display = words.metrics_of(summary)
  shown = [selection] + ([display] if display != selection else [])
  members = summary['members']
  configs = summary.get('configs') if summary.get('configs') is not None else []
  by_value = summary.get('best_config_by') or {}
  by_uid = member_table.records_of(members, list(summary['ranking'][:top_k]) + (
      list(configs[0]['uids']) if len(configs) else []) + [
          u for values in by_value.values() for uids in values.values() for u in uids] + list(
              (summary.get('final') or {}).get('members', ())))
  swept = words.swept(members)
  folded = bool(members.ints['fold'].any())
  counts = dict(zip(*np.unique(members.strs['status'], return_counts=True)))
  counts = {s: int(counts.get(s, 0)) for s in pop.STATUS_NAMES}
  # Cross-validated: each member's configuration's mean over folds and seeds beside it,
  # of the metric that ranks them (a mean of the other could read out of order).
  cv = {}
  if folded:
    of_config = {by_uid[u]['config']: None for u in summary['ranking'][:top_k]}
    for c in configs:
      if c['config'] in of_config:
        cv.update({u: c['val'][selection] for u in c['uids']})
  head = ' '.join(f'{"val " + k:>12}' for k in shown)
  if folded:
    head += f' {"cv val " + selection:>20}'
  lines = [f'{"rank":>4} {"uid":>5} {"status":>8} {head} {"test " + display:>12}  '
           + ' '.join(swept)]
  if len(summary['ranking']) > top_k:  # The others are in trials.csv and summary.json.
    records = (files.MEMBERS if member_table.columnar(len(members))  # Its columns, there.
               else files.SUMMARY)
    lines.insert(0, f'the top {top_k} of {len(summary["ranking"])} members by validation '
                 f'(every member: {files.TRIALS} and {records})')
  ranked = summary.get('selection', {})
  if summary.get('search') == 'pbt':
    lines.insert(0, 'PBT: each member\'s values are those its best weights trained under')
  if ranked.get('scale'):  # A differenced forecast's (tasks.selection_of).
    lines.insert(0, f'ranked by val {selection} of the {ranked["scale"]} in original units '
                 '(as each member\'s best step and early stopping are chosen)')
  for rank, uid in enumerate(summary['ranking'][:top_k], 1):
    m = by_uid[uid]
    hps = words.named(m['hparams'], swept)
    if 'best_of' in m:  # A PBT copy that holds weights another member's row trained.
      hps += f' (weights of uid {m["best_of"]} at step {m["best_step"]})'
    vals = ' '.join(f'{words.fmt(m["val"].get(k)):>12}' for k in shown)
    if folded:
      spread = f' +- {words.fmt(cv[uid]["sd"])}' if cv[uid]['sd'] is not None else ''
      vals += f' {words.fmt(cv[uid]["mean"]) + spread:>20}'
    lines.append(f'{rank:>4} {uid:>5} {m["status"]:>8} {vals} '
                 f'{words.fmt(m.get("test", {}).get(display)):>12}  {hps}')
  final = summary.get('final')
  blank = f' {"":>20}' if folded else ''
  if final:
    vals = ' '.join(f'{words.fmt(final["val"].get(k)):>12}' for k in shown) + blank
    lines.append(f'{"":>4} {"":>5} {"final":>8} {vals} {words.fmt(final["test"].get(display)):>12}'
                 f'  {words.describe_final(final)}')
  for name, scores in summary['baselines'].items():
    vals = ' '.join(f'{words.fmt(scores.get("val", {}).get(k)):>12}' for k in shown) + blank
    lines.append(f'{"":>4} {"":>5} {"baseline":>8} {vals} '
                 f'{words.fmt(scores.get("test", {}).get(display)):>12}  {name}')
  lines.append(f'{len(members)} member{"s" * (len(members) != 1)}: ' +
               ', '.join(f'{n} {s}' for s, n in counts.items()))
  if any(not by_uid[u].get('test') for u in summary['ranking'][:top_k]):
    lines.append(f'test {display} "-": a member the sweep did not score on test (it scores '
                 f'the top {member_table.TEST_TOP} by validation, every seed of the best '
                 'configuration and the best under each value of a hyperparameter swept '
                 'over few; test chooses nothing)')
  if len(configs) and (np.diff(configs.offsets) > 1).any():  # Seeds (or folds).
    uids = configs[0]['uids']
    folds = len({by_uid[u].get('fold', 0) for u in uids})
    over = f'{len(uids)} ' + ('members (seeds x folds)' if folds > 1 else
                              'seeds' if len(uids) > 1 else 'seed')
    # Its mean counts a diverged seed at its best before and leaves out one without a
    # finite value; configurations rank first by how many they have of those
    # (config_table.rank_configs).
    missing = len(uids) - configs[0]['usable']
    diverged = configs[0]['diverged']
    notes = ([f'{diverged} diverged, each at its best before'] * bool(diverged) +
             [f'{missing} without a finite value'] * bool(missing))
    over += f' ({"; ".join(notes)})' if notes else ''
    if (configs.usable < np.diff(configs.offsets)).any():
      over += ', of the configurations with the fewest members without a finite value'
    named = words.named(by_uid[uids[0]]['hparams'], swept)
    val = ', '.join(f'{k} {words.spread(configs[0]["val"][k])}' for k in shown)
    tests = [by_uid[u]['test'][display] for u in uids
             if by_uid[u].get('test', {}).get(display) is not None]
    test = (f'; test {display} {words.spread(words.mean_sd(tests))} ({len(tests)} of {len(uids)})'
            if tests else '')
    # summary.json's configs (mean +- sd over every member; nothing ranks by the sd):
    # after --folds the folds' spread widens it, where the figures' tables take it over
    # each seed's cross-validated mean.
    sd_over = (f' (sd over the {len(uids)} members, seeds x folds; figures/table.md\'s is '
               'over each seed\'s mean across folds)' if folds > 1 else '')
    lines.append(f'best configuration by its mean val {selection} over {over}: uids {uids}'
                 f'{" (" + named + ")" if named else ""}: val {val}{sd_over}{test}')
    for axis, values in by_value.items():
      parts = []
      for value, config_uids in values.items():
        tests = [by_uid[u]['test'][display] for u in config_uids
                 if by_uid.get(u, {}).get('test', {}).get(display) is not None]
        # Its seeds that diverged are in its mean at their best before; said, as a seed
        # that lost its way marks the value a reader would otherwise take as safe.
        diverged = sum(by_uid.get(u, {}).get('status') == 'diverged' for u in config_uids)
        lost = f', {diverged} diverged' if diverged else ''
        parts.append(f'{value} {words.spread(words.mean_sd(tests))} ({len(tests)}{lost})'
                     if tests else f'{value} -{f" ({lost[2:]})" if lost else ""}')
      lines.append(f'test {display} of the best configuration under each {axis} (mean +- '
                   f'sd over its seeds): ' + '; '.join(parts))
  best = summary['best']
  # The metric --selection named (it ranked), else the task's display metric.
  lead = selection if ranked.get('named') else display
  if best:
    tests = words.scores(summary.get('task', ''), best['test'])
    lines.append(f'single best: uid {best["uid"]} val '
                 f'{words.scores(summary.get("task", ""), {lead: best["val"].get(lead)})}; '
                 f'test: {tests}')
  if final:
    tests = words.scores(summary.get('task', ''), final['test'])
    # A member that diverged after its best step is used at it (not after a refit).
    lost = [] if final['kind'] == 'refit' else [
        u for u in dict.fromkeys(final['members']) if by_uid[u]['status'] == 'diverged']
    lost = (f' (uid{"s" * (len(lost) > 1)} {",".join(map(str, lost))} diverged after '
            f'{"their" if len(lost) > 1 else "its"} best step, used at it)' if lost else '')
    lines.append(f'final model ({words.describe_final(final)}){lost}: val '
                 f'{words.scores(summary.get("task", ""), {lead: final["val"].get(lead)})}; '
                 f'test: {tests}')
    if final.get('test_per_class'):  # A classifier's: where an accuracy hides a class.
      lines.append('final model, test cases found per class: ' +
                   words.found_per_class(final['test_per_class']))
  if summary.get('test_table'):
    lines.append(test_table(summary['test_table'], table_order(summary)))
  return '\n'.join(lines)


def table_order(summary: dict, metrics=TEST_METRICS) -> str:
  """The metric a panel's test table is ordered by: the one --selection named (it
  ranked the members: on sales mostly 0, RMSSE, where sMAPE puts a forecast of 0 first),
  else the first."""
  ranked = summary.get('selection') or {}
  return ranked['metric'] if ranked.get('named') and ranked.get('metric') in metrics else (
      metrics[0])


def test_scores(summary: dict, metrics=TEST_METRICS) -> list[dict]:
  """The competition's table of a panel sweep: the final model (and before its refit),
  the single best member and every baseline, scored on test by the same code, best
  first by `table_order`'s metric: [{'method', metric: value}]."""
  rows = []
  final, best = summary.get('final'), summary.get('best')
  if final:
    rows.append({'method': f'final: {words.describe_final(final)}', **final['test']})
    if final['kind'] == 'refit':
      rows.append({'method': f'final before refit: {final["before_refit"]["kind"]}',
                   **final['before_refit']['test']})
  if best and best.get('test'):
    rows.append({'method': f'single best member (uid {best["uid"]})', **best['test']})
  rows += [{'method': name, **scores['test']} for name, scores in
           summary['baselines'].items() if 'test' in scores]
  rows = [{'method': r['method'], **{m: r.get(m) for m in metrics}} for r in rows]
  by = table_order(summary, metrics)
  key = lambda r: r[by] if r[by] is not None else float('inf')
  return sorted(rows, key=key)


def test_table(rows: list[dict], by: str = TEST_METRICS[0]) -> str:
  """`test_scores` as text; `by`: the metric its rows are ordered by."""
  metrics = [k for k in rows[0] if k != 'method'] if rows else []
  lines = ['test, the competition\'s scores (sMAPE 0-200, MASE, OWA against Naive2; M5\'s '
           f'RMSSE), best {by} first:',
           f'{"":>2}' + ''.join(f'{m:>10}' for m in metrics) + '  method']
  for r in rows:
    lines.append(f'{"":>2}' + ''.join(f'{words.fmt(r[m]):>10}' for m in metrics) +
                 f'  {r["method"]}')
  return '\n'.join(lines)


def compiles_line(compiles: dict) -> str:
  """Per bucket: seconds compiling, and programs read from the persistent cache; the
  buckets that ran programs already loaded (a structure an earlier round compiled)."""
  # With the cache off (--compile_cache_dir=) a compile counts seconds, no hit or miss.
  done = sorted(b for b, c in compiles.items()
                if c.seconds or c.cache_hits or c.cache_misses)
  reused = sorted(b for b in compiles if b not in done)
  counted = lambda c: (f' ({c.cache_hits} cached, {c.cache_misses} compiled)'
                       if c.cache_hits or c.cache_misses else '')  # The cache on.
  return 'compiles: ' + ', '.join(
      [f'bucket {b} {compiles[b].seconds:.1f} s{counted(compiles[b])}' for b in done] +
      ([f'bucket{"s" * (len(reused) > 1)} {", ".join(map(str, reused))}: programs '
        'already loaded'] if reused else []))
