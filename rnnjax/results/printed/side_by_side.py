"""Finished sweeps side by side (experiments/make_figures.py --compare): a row per sweep
(`runs_table`) and the table as Markdown (`runs_markdown`)."""

import numpy as np

from rnnjax.errors import InputError
from rnnjax.results import member_table
from rnnjax.results.printed import words
from rnnjax.search import hparams
from rnnjax.search import space
from rnnjax.search import spec as spec_lib
from rnnjax.search.strategies import strategy

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
  metrics = {label: metric or words.metrics_of(summary)[1] for label, _, summary in runs}
  if len(set(metrics.values())) > 1:
    raise InputError('--compare: the sweeps report different metrics ('
                     + ', '.join(f'{k}: {v}' for k, v in metrics.items())
                     + '); set side by side sweeps of one task')
  # A setting added since an older sweep.json was written (class_balance) held its
  # default there, as its resume reads it (run/workdir.py): not a flag it differs in.
  defaults = spec_lib.SweepSpec().to_json()
  specs = [{**defaults, **sweep['spec']} for _, sweep, _ in runs]
  # The axes any of them swept: each row names its best configuration's values of them
  # (a configuration's number is its own sweep's: config 3 is a GRU in one, an LSTM in
  # another).
  swept = list(dict.fromkeys(k for _, _, summary in runs for k in words.swept(summary['members'])))
  # A row an older sweep's members lack (class_balance) held its default there.
  unset = {h.name: h.type(h.default) for h in hparams.TABLE if h.name in swept and h.default}
  differs = sorted(k for k in dict.fromkeys(k for s in specs for k in s)
                   if k not in _NOT_DATA
                   and len({space.spec_key(k, s.get(k)) for s in specs}) > 1)
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
                words.mean_sd(of('val')) if of('val') else None)
    final = summary.get('final') or {}
    timing = summary.get('timing') or {}
    rows.append({
        'run': label,
        'differs': ' '.join(f'{k}={_setting(k, spec.get(k))}' for k in differs
                            if owner.get(k, spec.get('search')) == spec.get('search')
                            and not (k == 'dropout' and spec.get('dropout_per_layer'))),
        'members': len(members),
        'member_steps': (summary.get('member_steps') or {}).get('useful'),
        'wall_s': timing.get('total_s'),
        'processes': timing.get('processes', 1),
        'metric': shown,
        'ranked_by': words.metrics_of(summary)[0],
        'best_config': best['config'] if best else None,
        'best_values': words.named({**unset, **seeds[0]['hparams']}, swept) if seeds else None,
        'best_val': best_val,
        'val_kind': f'cross-validated ({folds} folds)' if folds > 1 else 'single split',
        'best_test': words.mean_sd(of('test')) if of('test') else None,
        'tested': f'{len(of("test"))} of {len(seeds)}',
        'final': words.describe_final(final) if final else None,
        'final_val': (final.get('val') or {}).get(shown),
        'final_test': (final.get('test') or {}).get(shown)})
    parts.append(_test_part(spec, sweep.get('data_digests') or {}, summary))
  notes = []
  for (label, _, _), part in zip(runs[1:], parts[1:]):
    # A digest only a sweep of a user's file has: a bundled set's sweep lacks the key.
    changed = [k for k in dict.fromkeys([*parts[0], *part])
               if part.get(k) != parts[0].get(k)]
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


def _cross_validated(records: list, metric: str):
  """{'mean', 'sd'} over a configuration's seeds of each seed's mean over its folds (what
  the ranking averages; the folds' spread is the validation origins', not noise), or
  None without a finite value."""
  by_seed = {}
  for r in records:
    v = (r.get('val') or {}).get(metric)
    if v is not None and np.isfinite(v):
      by_seed.setdefault(r.get('seed', 0), []).append(v)
  return words.mean_sd([np.mean(v) for v in by_seed.values()]) if by_seed else None


def runs_markdown(rows: list[dict], notes: list[str]) -> str:
  """`runs_table` as a Markdown table (the terminal's and compare.md's)."""
  metric = rows[0]['metric'] if rows else ''
  spread = lambda s: words.spread(s) if s is not None else '-'
  head = ['run', 'differs', 'members', 'wall s', f'best config val {metric}',
          f'its test {metric}', 'best config', 'final model', f'final val {metric}',
          f'final test {metric}']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for r in rows:
    cells = [r['run'], r['differs'] or '-', str(r['members']),
             words.fmt(r['wall_s']) + (f' ({r["processes"]} processes)'
                                  if (r['processes'] or 1) > 1 else ''),
             spread(r['best_val']), spread(r['best_test']), r['best_values'] or '-',
             r['final'] or '-', words.fmt(r['final_val']), words.fmt(r['final_test'])]
    lines.append('| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |')
  ranked = sorted({r['ranked_by'] for r in rows})
  lines += ['', f'best config: the configuration ranked first by its seeds\' mean '
            f'validation {" / ".join(ranked)}, its {metric} mean +- sd over those seeds (with '
            'folds, of each seed\'s mean over its folds); '
            'wall s: each sweep\'s training, from after its data and benchmarks loaded to '
            'its summary, compiling included (programs already in the disk cache take a '
            'fraction of it), summed over its processes where it was stopped and resumed']
  lines += [f'note: {n}' for n in notes]
  return '\n'.join(lines)
