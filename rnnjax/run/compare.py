"""Search strategies head to head at equal compute: grid, random, halving, PBT, TPE.

`compare(base, space, ...)` runs one sweep per (strategy, search seed), each spending
the same number of member-steps (members x training steps, the unit a population
pays for), and reads from each sweep's metrics.jsonl the best validation metric found
against the member-steps spent so far. It writes `comparison.json`, `comparison.md`
(the entry point draws `comparison.png/.pdf` from it: figures/plots/comparison.py).

Each strategy spends the same budget as budgets.py makes its sweep.

Each sweep's final model (its summary's `final`, chosen on validation) is scored once
on test; the table gives the median over search seeds of its validation and test
`display` metric beside the best validation selection metric found, and each sweep's
wall seconds with, apart, those it spent compiling (which the order of the sweeps
decides: a later sweep of the same shapes reads the programs back).
"""

import math
import os

import numpy as np

from rnnjax.engine import tasks
from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.run import budgets
from rnnjax.run import stop
from rnnjax.run import sweep
from rnnjax.search import hparams
from rnnjax.search import rules
from rnnjax.search import space as space_lib
from rnnjax.search import spec as spec_lib
from rnnjax.search.strategies import pbt

STRATEGIES = ('grid', 'random', 'halving', 'pbt', 'tpe')


Range = pbt.Range  # A searched hyperparameter's range: lo, hi, log.


def curve(workdir: str, metric: str, round_of=None) -> tuple[np.ndarray, np.ndarray]:
  """(member-steps spent, best validation `metric` so far) after each evaluation step.

  Members advance in lockstep, so at step s every member still training has spent s
  steps; a member's spending ends at its last evaluation (halving's cut, early stop).
  round_of: uid -> round (tpe): a round's members train after every earlier round's.
  """
  records = [r for r in evaluations.read_metrics(os.path.join(workdir, files.METRICS))
             if r['split'] == 'val' and r['metric'] == metric]
  round_of = round_of or {}
  spent, best, out_x, out_y = 0, math.inf, [], []
  for k in sorted({round_of.get(r['uid'], 0) for r in records}):
    mine = [r for r in records if round_of.get(r['uid'], 0) == k]
    last = {}
    for r in mine:
      last[r['uid']] = max(last.get(r['uid'], 0), r['step'])
    previous = 0
    for s in sorted({r['step'] for r in mine}):
      live = sum(1 for end in last.values() if end >= s)
      spent += live * (s - previous)
      previous = s
      now = [r['value'] for r in mine if r['step'] == s and r['value'] is not None
             and math.isfinite(r['value'])]
      if now:
        best = min(best, min(now))
      out_x.append(spent)
      out_y.append(best)
  return np.asarray(out_x, float), np.asarray(out_y, float)


def _searchable(task: str) -> list:
  """The hyperparameters --space may name: the traced ones that `task` reads."""
  return [n for n in hparams.TRACED if not task or rules.applies(n, task)]


def check_name(name: str, task: str = '') -> None:
  """A name --space searches: a traced hyperparameter that `task` reads (any task's
  where ''), else refused in one line naming --space."""
  mine = _searchable(task)
  if name not in hparams.TRACED:
    structural = (f" ({name} is structural: search it by its own flag's list, "
                  f"--{name}='grid(a,b)')" if name in hparams.BY_NAME else '')
    raise InputError(f'--space: {name!r} is not a searchable hyperparameter{structural}; '
                     f'expected some of {", ".join(mine)}')
  if name not in mine:
    raise InputError(f'--space: {name!r} is for --task='
                     f'{" or ".join(hparams.BY_NAME[name].tasks)} only (this comparison '
                     f'is --task={task}); expected some of {", ".join(mine)}')


def check(space: dict, *, num_members: int, strategies, task: str = '') -> None:
  """A comparison's own settings, refused in one line naming the flag before any sweep:
  searched names are traced hyperparameters (uniform draws) that `task` reads,
  strategies known ones."""
  if not space:
    raise InputError(f'--space: name at least one hyperparameter to search; expected some '
                     f'of {", ".join(_searchable(task))}')
  for name in space:
    check_name(name, task)
    # Its range as every strategy draws it, checked before the first sweep trains
    # (else the grid trains, then random search refuses uniform(0.2, 0.2)).
    spec = budgets.random_specs({name: space[name]})[name]
    try:
      space_lib.parse_axis(name, spec)  # Both bounds, as the grid's.
    except InputError as e:
      raise InputError(f'--space: {name}={spec}: '
                       f'{str(e).removeprefix(f"--{name}: ")}') from None
  for strategy in strategies:
    if strategy not in STRATEGIES:
      raise InputError(f'--strategies: {strategy!r}; expected some of '
                       f'{", ".join(STRATEGIES)}')
    if list(strategies).count(strategy) > 1:  # Its sweeps are one, its row one.
      raise InputError(f'--strategies: {strategy!r} is given twice')
  if not strategies:
    raise InputError('--strategies: name at least one search')
  if num_members < 1:
    raise InputError(f'--budget_members: {num_members} must be >= 1')


def compare(base: sweep.SweepSpec, space: dict, workdir: str, *, num_members: int,
            search_seeds=(0, 1, 2), strategies=STRATEGIES, eta: int = 3,
            min_steps: int = 0, pbt_interval: int = 0, rounds: int = 3, log=print,
            overwrite: bool = False, **sweep_options) -> dict:
  """Runs every (strategy, seed) sweep under WORKDIR/<strategy>-<seed> (resuming any
  that exist) and writes the comparison; returns it as a dict.

  overwrite: replaces a sweep's folder only where it holds a different sweep (another
  comparison's settings, changed data; judged by the sweep once its data are prepared,
  `run_sweep`'s replace_other); one of these settings, finished or not, is
  kept and resumed, so that the same command resumes a stopped comparison, as its
  message says, --overwrite or not (trained again, such a sweep would only repeat itself
  exactly: Resume = uninterrupted).
  """
  check(space, num_members=num_members, strategies=strategies, task=base.task)
  for name, axis in base.axes().items():
    # A flag's own range would be drawn by some searches and refused by the grid's
    # ('use --search=random', a flag the comparison sets itself).
    if axis.is_random and name not in space:
      lo, hi = axis.values
      raise InputError(f'--{name}: {getattr(base, name)!r} is a range; a comparison '
                       f'searches ranges given in --space ({name}={axis.kind}({lo:g},'
                       f"{hi:g})) and a flag's listed values (grid(a,b))")
  if 'tpe' in strategies and num_members < rounds:
    raise InputError(f'--budget_members: {num_members} is below --rounds ({rounds}): TPE '
                     'trains a member a round at least; give more, or fewer rounds')
  if 'grid' in strategies:
    smallest = 2 ** len(space) * budgets.crossed(base, space)
    if smallest > num_members:
      raise InputError(
          f'--budget_members: {num_members} is below the smallest grid, 2 values of each '
          f'--space axis ({2 ** len(space)} points)'
          + (f' under each of the {smallest // 2 ** len(space)} configurations the '
             'flags list' if smallest > 2 ** len(space) else '')
          + f': {smallest} members; give at least that, or leave grid out of --strategies')
  selection = tasks.selection_of(base.task, base.difference, base.selection)
  planned = {}
  for strategy in strategies:
    for seed in search_seeds:
      spec = budgets.specs(base, space, strategy=strategy, num_members=num_members, seed=seed,
                   eta=eta, min_steps=min_steps, pbt_interval=pbt_interval,
                   rounds=rounds)
      # Every sweep's settings before the first trains: --folds, which halving and PBT
      # refuse, refused after grid and random had trained.
      rules.check(spec)
      planned[strategy, seed] = spec
  runs, shown = {}, set()

  def once(note):  # The sweeps share the data: what it says of it, said once.
    if note not in shown:
      shown.add(note)
      log(f'  {note}')

  for strategy in strategies:
    for seed in search_seeds:
      spec = planned[strategy, seed]
      path = os.path.join(workdir, f'{strategy}-{seed}')
      count = spec.num_members or (spec_lib.make_plan(spec).num_members
                                   // (spec.num_seeds * spec.folds))
      log(f'{strategy} seed {seed}: {count} configurations'
          + (f' x {rounds} rounds' if strategy == 'tpe' else '')
          + (f' ({spec.last_round} in the last)' if spec.last_round else '')
          + (f' x {spec.num_seeds} seeds' if spec.num_seeds > 1 else ''))
      stop.unheeded()  # One an earlier Stop of this process noted is not this sweep's.
      # Its log is silent, but not a signal's notice (said the moment it arrives), nor
      # its notes of the data and settings, or of a resume (each said once). Which
      # folder --overwrite replaces is judged on the settings the sweep runs with, once its
      # data are prepared (a panel's selection may fall back to sMAPE there).
      summary = sweep.run_sweep(spec, path, log=lambda _: None, notify=log,
                                notes=once, replace_other=overwrite, **sweep_options)
      signum = stop.unheeded()  # Came while the sweep was ending: kept, not the next one.
      if signum:
        raise stop.Stopped(f'stopped by {stop.name(signum)} after the sweep {strategy}-'
                           f'{seed}; the finished sweeps are kept whole: run the same '
                           'command to resume', signum)
      ran = (summary.get('selection') or {}).get('metric', selection)
      if ran != selection:  # Said once: the sweeps share the data, so its fallback.
        log(f'note: validation {selection} is undefined on this data; every sweep ranks '
            f'by validation {ran} instead')
        selection = ran
      # A round's rows (its uids) follow the earlier rounds'; a repeat's configuration
      # number is an earlier round's; the last round may be larger (--last_round).
      per_round = spec.num_members * spec.num_seeds * spec.folds
      x, y = curve(path, selection, round_of={
          m['uid']: min(m['uid'] // per_round, spec.rounds - 1)
          for m in summary['members']}
                   if strategy == 'tpe' else None)
      best, final = summary['best'], summary['final'] or {}
      display = summary['display']
      runs[f'{strategy}-{seed}'] = {
          'strategy': strategy, 'seed': seed, 'members': len(summary['members']),
          'member_steps': int(x[-1]) if len(x) else 0,
          'best_val': float(best['val'][selection]) if best else math.inf,
          'best_test': best.get('test', {}) if best else {},
          'final_val': (final.get('val') or {}).get(display, math.inf),
          'final_test': (final.get('test') or {}).get(display, math.inf),
          'seconds': summary['timing']['total_s'],
          # Of those, compiling: the first sweep of a shape pays it, later ones read the
          # programs back (this process's or the disk cache), so it is order, not search.
          'compile_seconds': sum(c.get('compile_s', 0.0)
                                 for c in (summary.get('compiles') or {}).values()),
          'curve': [x.tolist(), y.tolist()]}
      log(f'  best val {selection} {runs[f"{strategy}-{seed}"]["best_val"]:.4g} '
          f'after {runs[f"{strategy}-{seed}"]["member_steps"]} member-steps '
          f'({summary["timing"]["total_s"]:.0f} s)')
  table = {}
  for strategy in strategies:
    mine = [r for r in runs.values() if r['strategy'] == strategy]
    table[strategy] = {
        'median_best_val': float(np.median([r['best_val'] for r in mine])),
        'median_final_val': float(np.median([r['final_val'] for r in mine])),
        'median_final_test': float(np.median([r['final_test'] for r in mine])),
        'final_tests': [r['final_test'] for r in mine],
        'best_vals': [r['best_val'] for r in mine],
        'median_member_steps': float(np.median([r['member_steps'] for r in mine])),
        'members': [r['members'] for r in mine],
        'median_seconds': float(np.median([r['seconds'] for r in mine])),
        'median_compile_seconds': float(np.median([r['compile_seconds'] for r in mine]))}
  out = {'metric': selection, 'display': tasks.display_of(base.task, base.selection)[0],
         'space': budgets.random_specs(space),  # As --space takes it.
         # --folds trains each configuration once per fold (grid, random, TPE alike).
         'budget_member_steps': num_members * base.train_steps * base.folds,
         'table': table,
         'runs': runs}
  files.write_json(os.path.join(workdir, 'comparison.json'), out)
  with files.atomic(os.path.join(workdir, 'comparison.md')) as tmp, open(
      tmp, 'w', encoding='utf-8') as f:
    f.write(markdown(out))
  log(markdown(out))
  return out


def markdown(out: dict) -> str:
  display = out.get('display', out['metric'])
  # Each column named in full (a paper's table, pandas.read_csv: no two alike).
  lines = [f'| search | members | member-steps (median) | best val {out["metric"]} '
           f'(median) | best val {out["metric"]} per search seed | final model val '
           f'{display} (median) | final model test {display} (median) | final model test '
           f'{display} per search seed | seconds (median) | of which compiling (median) |',
           '|---|---|---|---|---|---|---|---|---|---|']
  for strategy, row in out['table'].items():
    vals = ', '.join(f'{v:.4g}' for v in row['best_vals'])
    tests = ', '.join(f'{v:.4g}' for v in row.get('final_tests', []))
    lines.append(f'| {strategy} | {"/".join(map(str, sorted(set(row["members"]))))} | '
                 f'{row["median_member_steps"]:.0f} | {row["median_best_val"]:.4g} | '
                 f'{vals} | {row.get("median_final_val", math.nan):.4g} | '
                 f'{row.get("median_final_test", math.nan):.4g} | {tests} | '
                 f'{row["median_seconds"]:.0f} | '
                 f'{row.get("median_compile_seconds", math.nan):.0f} |')
  return '\n'.join(lines) + '\n'
