"""Functional ANOVA: how much of the validation metric's variance each hyperparameter,
and each pair's interaction, explains (Hooker 2007; Hutter, Hoos & Leyton-Brown,
"An efficient approach for assessing hyperparameter importance", ICML 2014).

For f over a product of independent uniform axes, f = mu + sum_i f_i + sum_{i<j} f_ij
+ ..., where f_i(a) = E[f | x_i = a] - mu and f_ij is what the pair's marginal adds
beyond f_i + f_j. The components are orthogonal, so their variances add up to Var f.

Seeds are replicates: each configuration's metric is first averaged over its seeds,
and the mean within-configuration variance is reported apart as the seed share. So
  total = Var_configs(mean over seeds) + E_configs[Var over seeds],
and every share below is a fraction of that total. After a sweep with --folds, folds
are blocks, not replicates: each is another validation origin whose difficulty shifts
every configuration alike. Each member's value is centred within its fold (the folds'
own share of the raw variance is reported apart, 'folds'), and a seed's replicate is
its mean over the folds: its cross-validated value, what the ranking averages.

* A full grid (every cell filled exactly once) is decomposed exactly.
* Anything else (random search, a grid with dropped cells) goes through a surrogate:
  ridge regression on the configuration means with per-axis main effects (one-hot for
  listed values, Legendre polynomials of degree 6 for ranges, on the log scale for log
  axes) and pairwise products (degree 2), its penalty chosen by leave-one-out error.
  The surrogate is decomposed exactly on a grid (33 points per range, uniform in the
  drawn scale); its shares are scaled by its leave-one-out R^2, the rest reported as
  unexplained.
* A surrogate that explains almost nothing (R^2 under MIN_R2), or a ridge fit with fewer
  than MIN_CONFIGS_PER_AXIS configurations per swept axis, attributes nothing: the axes'
  shares are None (not 0: a reader would take 0 for "does not matter"), the variance
  between configurations is reported whole as unexplained, and 'not_attributed' says why.

A share is a fraction of what was observed, seed noise included: with few seeds, each
configuration's mean carries that noise, and the grid's decomposition hands it to the
axes (two seeds of one 6-configuration sweep gave a cell 56 % of the variance, two
others 2 %). So a full grid with the same number (>= 2) of replicates per configuration
also tests each main effect and pair against the variance between replicates (the
F-test of a balanced fixed-effects ANOVA): 'p' holds their p-values, the chance of an
effect at least as large from seed noise alone (none after successive halving, whose
members are scored at different budgets).
"""

import math

import numpy as np

from rnnjax.errors import InputError
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures.analysis import anova

MIN_R2 = 0.1
MIN_CONFIGS_PER_AXIS = 4


def analyse(table: load.Table, *, metric: str = '', diverged: str = 'drop',
            log_metric=None) -> dict:
  """The importance of every swept axis and pair, as shares of the total variance.

  metric: validation metric (default: the one the sweep selected on). diverged: 'drop'
  members that diverged, have a non-finite value or one worse than chance
  (`table.chance`), or 'cap' them at the worst remaining value. log_metric: analyse
  log(metric); None: when every value is positive and lower is better. Returns a
  JSON-ready dict; 'skipped' holds the reason when impossible.
  """
  metric = metric or table.metric
  mode = table.mode if metric == table.metric else (
      table.shown_mode if metric == table.shown else 'min')
  if diverged not in ('drop', 'cap'):
    raise InputError(f"importance: diverged={diverged!r}; expected 'drop' or 'cap'")
  vals = member_values.values(table, metric)
  bad = (table.status == 'diverged') | ~np.isfinite(vals)
  # A member worse than a model that learned nothing (say bpc above log2 of the
  # vocabulary) has blown up as surely as a NaN, only with its gradients clipped.
  chance = table.chance.get(metric)
  no_skill = ~bad & (vals > chance if mode == 'min' else vals < chance) if chance else (
      np.zeros_like(bad))
  bad = bad | no_skill
  out = {'metric': metric, 'diverged': diverged, 'num_excluded': int(bad.sum()),
         'num_no_skill': int(no_skill.sum()), 'chance': chance, 'axes': list(table.axes)}
  if not table.axes:
    return {**out, 'skipped': 'no hyperparameter was swept'}
  if bad.all():
    return {**out, 'skipped': f'no member has a finite validation {metric}'}
  keep = ~bad
  if diverged == 'cap':
    worst = vals[keep].max() if mode == 'min' else vals[keep].min()
    vals, keep = np.where(bad, worst, vals), np.ones_like(keep)
  if log_metric is None:
    log_metric = mode == 'min' and bool(np.all(vals[keep] > 0))
    if mode == 'min' and not log_metric:  # A loss at 0: said, not switched silently.
      out['transform_note'] = (f'analysed unlogged: {int((vals[keep] <= 0).sum())} '
                               f'member(s) score {metric} <= 0, which has no log')
  if log_metric and not np.all(vals[keep] > 0):
    raise InputError(f'importance: log of {metric} needs positive values')
  y = np.log(vals) if log_metric else vals
  groups = member_values.config_groups(table, keep)
  if member_values.num_folds(table.members) > 1:
    y, out['folds'] = _without_folds(table, y, keep)
  names = list(table.axes)
  idx = [g[0] for g in groups.values()]
  columns = [[table.members[i]['hparams'][n] for i in idx] for n in names]
  # A configuration's replicates: its seeds (after --folds each seed's mean over folds).
  reps = [member_values.replicate_values(table, y, g)[0] for g in groups.values()]
  means = np.array([r.mean() for r in reps])
  within = float(np.mean([r.var() for r in reps]))
  between = float(means.var())
  total = between + within
  out.update(transform='log' if log_metric else 'none', num_members=int(keep.sum()),
             num_configs=len(groups),
             num_seeds=max(len(r) for r in reps), total_variance=total)
  if len(groups) < 2 or not total > 0:
    return {**out, 'skipped': 'fewer than 2 distinct configurations or a constant metric'}
  axes = [table.axes[n] for n in names]
  cells = {tuple(c[i] for c in columns) for i in range(len(idx))}
  full = math.prod(len(a.values) for a in axes)
  # PBT's members changed their values as they trained: a grid of the values they ended
  # with is no design, and its decomposition is no more than a surrogate's.
  if (table.search != 'pbt' and not any(a.continuous for a in axes)
      and len(cells) == len(idx) == full):
    grid = np.zeros([len(a.values) for a in axes])
    for i, m in enumerate(means):
      grid[tuple(a.values.index(c[i]) for a, c in zip(axes, columns))] = m
    main, pairs, _ = anova.anova_grid(grid)
    # Halving's cut members are scored at fewer steps: not replicates of one quantity.
    halved = any(str(m.get('stopped_by', '')).startswith('halving') for m in table.members)
    tests = None if halved else anova.f_tests(main, pairs, grid.shape, reps)
    if tests:
      out['p'] = {'main': dict(zip(names, tests['main'].tolist())),
                  'pairs': [{'axes': [names[i], names[j]], 'p': v}
                            for (i, j), v in tests['pairs'].items()],
                  'replicates': len(reps[0]),
                  'test': 'F-test of each effect against the variance between replicates'}
    elif max(len(r) for r in reps) > 1:  # Replicates, but no test: the figure says why.
      counts = sorted({len(r) for r in reps})
      out['no_p'] = ('successive halving scored its members at different budgets' if halved
                     else f'configurations have {counts[0]} to {counts[-1]} replicates'
                     if len(counts) > 1 else 'no spread between replicates')
    higher = max(0.0, between - float(main.sum()) - sum(pairs.values()))
    unexplained, r2 = 0.0, 1.0
    out['method'] = 'exact (full grid)'
  else:
    main, pairs, r2 = anova.surrogate(axes, columns, means)
    explained = float(main.sum()) + sum(pairs.values())
    scale = r2 * between / explained if explained > 0 else 0.0
    main, pairs = main * scale, {k: v * scale for k, v in pairs.items()}
    higher, unexplained = 0.0, (1 - r2) * between if explained > 0 else between
    # Drawn values (named by the search that drew them), or a grid with cells missing.
    drawn = {'tpe': 'TPE', 'halving': 'successive halving'}.get(table.search, 'random search')
    why = 'PBT' if table.search == 'pbt' else drawn if any(
        a.continuous for a in axes) else (
            f'grid with {full - len(cells)} of {full} cells missing')
    fit = 'ridge, LOO R2' if any(a.continuous for a in axes) else 'least squares, R2'
    out['method'] = f'surrogate ({why}; {fit} {r2:.2f})'
  ridge = out['method'].startswith('surrogate') and any(a.continuous for a in axes)
  why = (f'too few configurations to attribute ({len(groups)} for {len(names)} swept '
         f'hyperparameters; {MIN_CONFIGS_PER_AXIS} per hyperparameter needed)'
         if ridge and len(groups) < MIN_CONFIGS_PER_AXIS * len(names) else
         f'the surrogate explains too little to attribute (R2 {r2:.2f} < {MIN_R2})'
         if out['method'].startswith('surrogate') and r2 < MIN_R2 else '')
  if why:
    return {**out, 'r2': r2, 'not_attributed': why, 'main': {n: None for n in names},
            'pairs': [], 'higher_order': None, 'unexplained': between / total,
            'seed': within / total}
  out.update(
      r2=r2,
      main={n: float(v) / total for n, v in zip(names, main)},
      pairs=[{'axes': [names[i], names[j]], 'share': float(v) / total}
             for (i, j), v in sorted(pairs.items(), key=lambda kv: -kv[1])],
      higher_order=higher / total, unexplained=unexplained / total, seed=within / total)
  return out


def _without_folds(table: load.Table, y: np.ndarray, keep: np.ndarray) -> tuple:
  """(y less its fold's mean over the kept members, what the JSON says of it).

  After --folds each fold is a block: another validation origin, whose difficulty
  shifts every configuration alike (a few folds' means apart would otherwise be most of
  the variance, and read as seed noise). Centring within each fold takes that shift
  out; its share of the kept members' variance is reported apart."""
  fold = np.array([m.get('fold', 0) for m in table.members])
  centred, shift = y.copy(), np.zeros_like(y)
  for f in np.unique(fold[keep]):
    mine = keep & (fold == f)
    shift[mine] = y[mine].mean()
    centred[mine] = y[mine] - shift[mine]
  raw = float(y[keep].var())
  share = float(shift[keep].var()) / raw if raw > 0 else 0.0
  return centred, {
      'num_folds': int(len(np.unique(fold[keep]))), 'share_of_raw_variance': share,
      'treatment': ('each member centred within its fold (the folds\' own means, '
                    f'{100 * share:.1f}% of the members\' variance, removed), then each '
                    'seed\'s mean over its folds taken as one replicate; shares are of '
                    'what remains')}


def top_axes(result: dict, n: int) -> list:
  """The n swept axes with the largest main share (plan order when unknown)."""
  if 'main' not in result or 'not_attributed' in result:
    return result['axes'][:n]
  return sorted(result['main'], key=lambda a: -result['main'][a])[:n]
