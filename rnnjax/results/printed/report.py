"""What a sweep prints at the end: the ranked table, the competition's table and the
compile line (progress.py: the lines while it trains; run/prepare.py: a dry run's plan
table); and finished sweeps side by side (`runs_table`)."""

import numpy as np

from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.results import member_table
from rnnjax.search import strategy

TOP_K = 10


def _fmt(x):
  return '-' if x is None else f'{x + 0.0:.4g}'  # + 0.0: a loss of -0.0 reads 0.


def _mean_sd(values) -> dict:
  """{'mean', 'sd'} of values as a configuration table holds them (sd None for one)."""
  v = np.asarray(values, np.float64)
  return {'mean': float(v.mean()), 'sd': float(v.std(ddof=1)) if len(v) > 1 else None}


def _spread(stat: dict) -> str:
  return _fmt(stat['mean']) + (f' +- {_fmt(stat["sd"])}' if stat['sd'] is not None else '')


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
  by_value = summary.get('best_config_by') or {}
  by_uid = member_table.records_of(members, list(summary['ranking'][:top_k]) + (
      list(configs[0]['uids']) if len(configs) else []) + [
          u for values in by_value.values() for uids in values.values() for u in uids])
  swept = _swept(members)
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
  ranked = summary.get('selection', {})
  if summary.get('search') == 'pbt':
    lines.insert(0, 'PBT: each member\'s values are those its best weights trained under')
  if ranked.get('scale'):  # A differenced forecast's (tasks.selection_of).
    lines.insert(0, f'ranked by val {selection} of the {ranked["scale"]} in original units '
                 '(as each member\'s best step and early stopping are chosen)')
  for rank, uid in enumerate(summary['ranking'][:top_k], 1):
    m = by_uid[uid]
    hps = _named(m['hparams'], swept)
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
    uids = configs[0]['uids']
    folds = len({by_uid[u].get('fold', 0) for u in uids})
    over = f'{len(uids)} ' + ('members (seeds x folds)' if folds > 1 else
                              'seeds' if len(uids) > 1 else 'seed')
    named = _named(by_uid[uids[0]]['hparams'], swept)
    val = ', '.join(f'{k} {_spread(configs[0]["val"][k])}' for k in shown)
    tests = [by_uid[u]['test'][display] for u in uids
             if by_uid[u].get('test', {}).get(display) is not None]
    test = (f'; test {display} {_spread(_mean_sd(tests))} ({len(tests)} of {len(uids)})'
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
        parts.append(f'{value} {_spread(_mean_sd(tests))} ({len(tests)})' if tests else
                     f'{value} -')
      lines.append(f'test {display} of the best configuration under each {axis} (mean +- '
                   f'sd over its seeds): ' + '; '.join(parts))
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


def test_scores(summary: dict, metrics=('smape', 'mase', 'owa', 'rmsse')) -> list[dict]:
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
  lines = ['test, the competition\'s scores (sMAPE 0-200, MASE, OWA against Naive2; M5\'s '
           'RMSSE):',
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
  # A greedy ensemble picks a member again to weigh it more: its count is its weight.
  count = lambda u: final['members'].count(u)
  uids = ','.join(f'{u} x{count(u)}' if count(u) > 1 else str(u) for u in distinct)
  return f'ensemble of {len(distinct)}: uids {uids}{same}'


def compiles_line(compiles: dict) -> str:
  """Per bucket: seconds compiling, and programs read from the persistent cache; the
  buckets that ran programs already loaded (a structure an earlier round compiled)."""
  # With the cache off (--compile_cache_dir=) a compile counts seconds, no hit or miss.
  done = sorted(b for b, c in compiles.items()
                if c.seconds or c.cache_hits or c.cache_misses)
  reused = sorted(b for b in compiles if b not in done)
  return 'compiles: ' + ', '.join(
      [f'bucket {b} {compiles[b].seconds:.1f} s ({compiles[b].cache_hits} cached, '
       f'{compiles[b].cache_misses} compiled)' for b in done] +
      ([f'bucket{"s" * (len(reused) > 1)} {", ".join(map(str, reused))}: programs '
        'already loaded'] if reused else []))


# Finished sweeps side by side (experiments/make_figures.py --compare).

# Spec flags that say where a sweep runs, not what it trains.
_NOT_DATA = ('workdir',)
# What decides the test part a sweep scored, its cases and their targets: sweeps that
# differ in one of these report test figures on different data. (Not the validation part,
# folds, differencing or input columns: the test part stays the same under those.)
_TEST_FLAGS = ('task', 'dataset', 'csv_path', 'test_path', 'text_path', 'target_columns',
               'fill', 'test_size', 'horizon')


def _test_part(spec: dict, digests: dict, summary: dict) -> dict:
  """What decides a sweep's test part: its flags above, the digests of the files that
  hold it, where it starts (a forecast's second split point), a panel's series and the
  number of test windows or cases."""
  data = summary.get('data') or {}
  points = data.get('split_points') or [None, None]
  return {**{k: spec.get(k) for k in _TEST_FLAGS},
          **{f'{k} digest': v for k, v in digests.items() if k != 'train_path'},
          'test start': points[-1], 'series': data.get('series'),
          'test windows': (data.get('windows') or {}).get('test')}


# Settings whose value stands for "chosen from the data" (spec.py's help says how).
_AUTO = {'val_size': 0, 'test_size': 0, 'season': -1, 'num_members': 0}


def _setting(name: str, value) -> str:
  """A flag's value as the side-by-side table shows it: 'auto' for the ones above, '-'
  for an empty one (e.g. no --dropout_per_layer, no --input_columns)."""
  if name in _AUTO and value == _AUTO[name]:
    return 'auto'
  return '-' if value in ('', None) or value == [] else str(value)


def runs_table(runs: list, metric: str = '') -> tuple[list[dict], list[str]]:
  """Finished sweeps side by side, in the order given (test figures never rank them).

  runs: [(label, sweep.json's dict, the summary in memory)]; metric: the validation and
  test metric shown (default: the sweeps' display metric). Returns (rows, notes): a row
  per sweep with 'run', 'differs' (its flags whose values differ among the sweeps, less
  the settings of a search it did not run: strategy.OWN_SETTINGS),
  'members', 'member_steps', 'wall_s' (summed over the processes that trained it: the
  first and each resume), 'processes' (how many), 'metric', 'ranked_by' (the selection
  metric),
  'best_config' (the configuration ranked first on validation: its number in its own
  sweep), 'best_values' (its values of the hyperparameters any of the sweeps swept:
  `cell=gru hidden_size=64`), 'best_val' and
  'best_test' (its seeds' mean and sd of `metric`, test where the sweep tested them;
  validation after --folds over each seed's mean over its folds), 'val_kind'
  (cross-validated or a single split), 'tested' (of its members, how many have a test
  score: '2 of 6'),
  'final' (what the final model is), 'final_val', 'final_test'; notes say where the test
  parts differ, so that the test figures of those rows are not comparable, where their
  validation figures are of different kinds, and where a best configuration's test is
  over only some of its members. InputError
  unless every sweep reports the metric (sweeps of one task).
  """
  if metric:
    for label, _, summary in runs:
      recorded = sorted({k for m in summary['members'] for k in m.get('val', {})})
      if metric not in recorded:
        raise InputError(f'--metric: {metric!r} is not a validation metric of {label} '
                         f'(recorded: {", ".join(recorded)})')
  metrics = {label: metric or _metrics(summary)[1] for label, _, summary in runs}
  if len(set(metrics.values())) > 1:
    raise InputError('--compare: the sweeps report different metrics ('
                     + ', '.join(f'{k}: {v}' for k, v in metrics.items())
                     + '); set side by side sweeps of one task')
  specs = [sweep['spec'] for _, sweep, _ in runs]
  # The axes any of them swept: each row names its best configuration's values of them
  # (a configuration's number is its own sweep's: config 3 is a GRU in one, an LSTM in
  # another).
  swept = list(dict.fromkeys(k for _, _, summary in runs for k in _swept(summary['members'])))
  differs = sorted(k for k in dict.fromkeys(k for s in specs for k in s)
                   if k not in _NOT_DATA and len({repr(s.get(k)) for s in specs}) > 1)
  # A search's own settings (PBT's interval, halving's eta) do nothing in the others.
  owner = dict(strategy.OWN_SETTINGS)
  rows, parts = [], []
  for (label, sweep, summary), spec in zip(runs, specs):
    shown = metrics[label]
    members, configs = summary['members'], summary.get('configs')
    best = configs[0] if configs is not None and len(configs) else None
    seeds = list(member_table.records_of(members, best['uids'] if best else []).values())
    of = lambda split: [r[split][shown] for r in seeds
                        if (r.get(split) or {}).get(shown) is not None]
    folds = len({r.get('fold', 0) for r in seeds})
    best_val = (_cross_validated(seeds, shown) if folds > 1 else
                best['val'][shown] if best and shown in best['val'] else
                _mean_sd(of('val')) if of('val') else None)
    final = summary.get('final') or {}
    timing = summary.get('timing') or {}
    rows.append({
        'run': label,
        'differs': ' '.join(f'{k}={_setting(k, spec.get(k))}' for k in differs
                            if owner.get(k, spec.get('search')) == spec.get('search')),
        'members': len(members),
        'member_steps': (summary.get('member_steps') or {}).get('useful'),
        'wall_s': timing.get('total_s'),
        'processes': timing.get('processes', 1),
        'metric': shown,
        'ranked_by': _metrics(summary)[0],
        'best_config': best['config'] if best else None,
        'best_values': _named(seeds[0]['hparams'], swept) if seeds else None,
        'best_val': best_val,
        'val_kind': f'cross-validated ({folds} folds)' if folds > 1 else 'single split',
        'best_test': _mean_sd(of('test')) if of('test') else None,
        'tested': f'{len(of("test"))} of {len(seeds)}',
        'final': _describe_final(final) if final else None,
        'final_val': (final.get('val') or {}).get(shown),
        'final_test': (final.get('test') or {}).get(shown)})
    parts.append(_test_part(spec, sweep.get('data_digests') or {}, summary))
  notes = []
  for (label, _, _), part in zip(runs[1:], parts[1:]):
    changed = [k for k in part if part[k] != parts[0][k]]
    if changed:
      notes.append(f'{label} was tested on other data than {runs[0][0]} ({", ".join(changed)} '
                   'differ): their test figures are not comparable')
  kinds = {r['val_kind'] for r in rows}
  if len(kinds) > 1:
    notes.append('their validation figures are of different kinds ('
                 + ', '.join(f'{r["run"]}: {r["val_kind"]}' for r in rows)
                 + '): a mean over several validation origins against one split\'s score')
  for r in rows:
    done, of_all = r['tested'].split(' of ')
    if r['best_test'] is not None and done != of_all:
      # Without folds, a seed diverged or cut by halving: no fold to explain.
      folded = r['val_kind'].startswith('cross-validated')
      notes.append(f'{r["run"]}: its best config\'s test figure is over {r["tested"]} '
                   'members' + (' (the last fold\'s seeds: the usual split)' if folded
                                else ''))
  return rows, notes


def _swept(members) -> list:
  """The hyperparameters whose values differ among a summary's members."""
  return [k for k, (_, v) in members.hparams.items() if len(np.unique(v)) > 1]


def _named(values: dict, axes: list) -> str:
  """'cell=gru hidden_size=64': a member's values of `axes` (those it has)."""
  return ' '.join(f'{k}={values[k]:.3g}' if isinstance(values[k], float) else
                  f'{k}={values[k]}' for k in axes if k in values)


def _cross_validated(records: list, metric: str):
  """{'mean', 'sd'} over a configuration's seeds of each seed's mean over its folds (what
  the ranking averages; the folds' spread is the validation origins', not noise), or
  None without a finite value."""
  by_seed = {}
  for r in records:
    v = (r.get('val') or {}).get(metric)
    if v is not None and np.isfinite(v):
      by_seed.setdefault(r.get('seed', 0), []).append(v)
  return _mean_sd([np.mean(v) for v in by_seed.values()]) if by_seed else None


def runs_markdown(rows: list[dict], notes: list[str]) -> str:
  """`runs_table` as a Markdown table (the terminal's and compare.md's)."""
  metric = rows[0]['metric'] if rows else ''
  spread = lambda s: _spread(s) if s is not None else '-'
  head = ['run', 'differs', 'members', 'wall s', f'best config val {metric}',
          f'its test {metric}', 'best config', 'final model', f'final val {metric}',
          f'final test {metric}']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for r in rows:
    cells = [r['run'], r['differs'] or '-', str(r['members']),
             _fmt(r['wall_s']) + (f' ({r["processes"]} processes)'
                                  if (r['processes'] or 1) > 1 else ''),
             spread(r['best_val']), spread(r['best_test']), r['best_values'] or '-',
             r['final'] or '-', _fmt(r['final_val']), _fmt(r['final_test'])]
    lines.append('| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |')
  ranked = sorted({r['ranked_by'] for r in rows})
  lines += ['', f'best config: the configuration ranked first by its seeds\' mean '
            f'validation {" / ".join(ranked)}, its {metric} mean +- sd over those seeds (with '
            'folds, of each seed\'s mean over its folds); '
            'wall s: each sweep\'s whole run, compiling included (programs already in the '
            'disk cache take a fraction of it), summed over its processes where it was '
            'stopped and resumed']
  lines += [f'note: {n}' for n in notes]
  return '\n'.join(lines)
