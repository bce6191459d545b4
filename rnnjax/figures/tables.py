"""The cell x depth x width table: the best configuration of each network shape.

One row per (cell, num_layers, hidden_size), with whichever of those the members have.
The row's score is its best configuration's validation metric (best as the sweep ranks
configurations, member_values.best_config: the fewest seeds without a finite value, then
the mean over seeds of the metric it selects on), given as mean +- sd and min-max over
that configuration's seeds; a diverged seed counts at the best value it reached before
diverging. Every row's mean has the column's number of significant digits: enough for the
typical row's sd to show two, and for rows that differ to print differently. Rows tied for
best are all bold.
"""

import csv
import math
import os

import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.results import files

STRUCTURE = (('cell', 'cell'), ('num_layers', 'layers'), ('hidden_size', 'hidden'))


def rows(table: load.Table) -> tuple:
  """(column names, row dicts): key, mean, sd, lo, hi, seeds, configs, dropped, best."""
  present = [n for n, _ in STRUCTURE if n in table.members[0]['hparams']]
  # Shape axes with one value go to the caption, unless none varies.
  names = [n for n in present if len({m['hparams'][n] for m in table.members}) > 1]
  names = names or present
  ok = member_values.usable(table)
  stats = member_values.config_stats(table)
  keyed = {}
  for i, m in enumerate(table.members):
    keyed.setdefault(tuple(m['hparams'][n] for n in names), []).append(i)
  out = []
  for key in sorted(keyed, key=lambda k: tuple((isinstance(v, str), v) for v in k)):
    members = keyed[key]
    mine = [c for c in stats if tuple(c['hparams'][n] for n in names) == key]
    row = {'key': key, 'configs': len({table.members[i]['config'] for i in members}),
           'dropped': int(sum(not ok[i] for i in members)), 'seeds': 0, 'best': False}
    if mine:
      best = member_values.best_config(mine)
      row.update({k: best[k] for k in ('mean', 'sd', 'lo', 'hi', 'seeds', 'rank', 'place')},
                 best_dropped=best['dropped'])
    out.append(row)
  scored = [r for r in out if 'mean' in r]
  if scored:
    best = member_values.best_config(scored)
    for r in scored:  # A tie is a tie: no row is picked over another by its order.
      r['best'] = (r['best_dropped'] == best['best_dropped'] and
                   math.isclose(r['rank'], best['rank'], rel_tol=1e-9, abs_tol=1e-12))
  return [label for n, label in STRUCTURE if n in names], out


MIN_DIGITS, MAX_DIGITS = 2, 8


def digits(rows_: list) -> int:
  """Significant digits for the column's means: the median over rows with a positive
  sd of what puts that sd's second significant digit in view, then more until means
  that differ print differently (3 when no row has an sd)."""
  means = [r['mean'] for r in rows_ if 'mean' in r and math.isfinite(r['mean'])]
  wanted = [_magnitude(r['mean']) - math.floor(math.log10(r['sd'])) + 2 for r in rows_
            if 'mean' in r and math.isfinite(r['sd']) and r['sd'] > 0
            and math.isfinite(r['mean'])]
  k = int(np.clip(math.ceil(np.median(wanted)), MIN_DIGITS, MAX_DIGITS)) if wanted else 3
  while k < MAX_DIGITS and len({_fixed(m, k) for m in means}) < len(set(means)):
    k += 1
  return k


def _magnitude(x: float) -> int:
  return math.floor(math.log10(abs(x))) if x else 0


def _decimals(x: float, k: int) -> int:
  """Decimals that give x k significant digits (at least 0)."""
  return max(0, k - 1 - _magnitude(x))


def _fixed(x: float, k: int) -> str:
  return f'{x:.{_decimals(x, k)}f}'


def _cells(row: dict, k: int) -> list:
  """[mean ± sd, min – max]: the mean to k significant digits, sd and range to the same
  decimals (an sd below the last one is written as under it)."""
  if 'mean' not in row or not math.isfinite(row['mean']):
    return ['-', '-']
  d = _decimals(row['mean'], k)
  num = lambda x: '-' if not math.isfinite(x) else f'{x:.{d}f}'
  span = f'{num(row["lo"])} – {num(row["hi"])}'
  sd = row['sd']
  if not (math.isfinite(sd) and sd > 0):
    return [num(row['mean']), span]
  sd_text = num(sd) if round(sd, d) > 0 else f'<{10.0 ** -d:.{d}f}'
  return [f'{num(row["mean"])} ± {sd_text}', span]


def caption(table: load.Table, names: list, rows_: list) -> str:
  fixed = [f'{label} {labels.fmt(table.members[0]["hparams"][n])}' for n, label in STRUCTURE
           if n in table.members[0]['hparams'] and label not in names]
  scale = labels.SCALES.get((table.task, table.shown))
  budgets = labels.budgets(table.members, table.train_steps)
  over = (f'mean ± sd and min – max over its {labels.replicates(table.members)}'
          if _spread(rows_) else f'of its {labels.replicates(table.members, 1)}')
  if _spread(rows_) and table.metric != table.shown:  # Over seeds they may order otherwise.
    over += f' (best by mean {table.metric}, as the sweep ranks)'
  diverged = labels.diverged(table, 'counted')
  dropped = 'without a finite value.' + (f' {diverged}' if diverged else '')
  return (f'Best configuration per ({", ".join(names)}'
          f'{"; " + ", ".join(fixed) if fixed else ""}): validation {table.shown} '
          f'({f"{scale}; " if scale else ""}'
          f'{"lower" if table.shown_mode == "min" else "higher"} is better), {over}. configs: '
          'configurations of that shape; '
          f'dropped: members of that shape (any configuration) {dropped} '
          f'{_best_words(rows_)}' + (f' {budgets}' if budgets else ''))


def _spread(rows_: list) -> bool:
  """Whether some row's configuration has more than one replicate (else a row's mean
  is its one value: no sd, and no min – max column)."""
  return any(r.get('seeds', 0) > 1 for r in rows_)


def _best_words(rows_: list) -> str:
  tied = sum(r['best'] for r in rows_)
  if tied > 1:
    return f'{tied} rows tie for best (all in bold): the table does not pick one.'
  return 'Best row in bold.' if tied else ''


def markdown(table: load.Table) -> str:
  names, out = rows(table)
  spans = _spread(out)
  head = names + [f'val {table.shown}'] + ['min – max'] * spans + ['seeds', 'configs',
                                                                   'dropped']
  lines = ['| ' + ' | '.join(head) + ' |',
           '|' + '|'.join(':--' if i < len(names) else '--:' for i in range(len(head))) + '|']
  k = digits(out)
  for r in out:
    cells = [labels.fmt(v) for v in r['key']] + _cells(r, k)[:1 + spans] + [
        str(r['seeds']), str(r['configs']), str(r['dropped'])]
    if r['best']:
      cells = [f'**{c}**' for c in cells]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n\n' + caption(table, names, out) + '\n'


def _tex(text: str) -> str:
  for a, b in (('\\', r'\textbackslash{}'), ('_', r'\_'), ('%', r'\%'), ('&', r'\&'),
               ('#', r'\#'), ('±', r'$\pm$'), ('–', '--'), ('<', r'$<$')):
    text = text.replace(a, b)
  return text


def latex(table: load.Table) -> str:
  """A booktabs table (needs \\usepackage{booktabs})."""
  names, out = rows(table)
  spans = _spread(out)
  head = names + [f'val {table.shown}'] + ['min--max'] * spans + ['seeds', 'configs',
                                                                  'dropped']
  lines = [r'% Needs \usepackage{booktabs}.', r'\begin{table}[t]', r'\centering', r'\small',
           r'\begin{tabular}{' + 'l' * len(names) + 'r' * (len(head) - len(names)) + '}',
           r'\toprule',
           ' & '.join(_tex(h) if '--' not in h else h for h in head) + r' \\',
           r'\midrule']
  k = digits(out)
  for r in out:
    cells = [_tex(labels.fmt(v)) for v in r['key']] + [_tex(c) for c in
                                                        _cells(r, k)[:1 + spans]] + [
        str(r['seeds']), str(r['configs']), str(r['dropped'])]
    if r['best']:
      cells = [rf'\textbf{{{c}}}' for c in cells]
    lines.append(' & '.join(cells) + r' \\')
  lines += [r'\bottomrule', r'\end{tabular}',
            r'\caption{' + _tex(caption(table, names, out)) + '}', r'\end{table}']
  return '\n'.join(lines) + '\n'


def config_rows(table: load.Table) -> tuple:
  """(columns, rows) of configs.csv: every configuration with a usable member, in the
  sweep's ranking (`place`, 1 first), its values of the swept hyperparameters, and its
  validation metric's mean, sd, min and max over its replicates (member_values.
  config_stats), their number and those planned, dropped and diverged. Validation
  alone: the test part chooses nothing, and a sweep tests only some members."""
  metric = f'val_{table.shown}'
  columns = (['rank', 'config'] + list(table.axes)
             + [f'{metric}_{k}' for k in ('mean', 'sd', 'min', 'max')]
             + ['replicates', 'planned', 'dropped', 'diverged'])
  # The scores are float32's: each the shortest form that reads back as its float32.
  finite = lambda v: (None if not math.isfinite(v) else
                      files.short_floats(np.float32(v).astype(np.float64)[None])[0])
  out = [[c['place'] + 1, c['config']] + [c['hparams'][n] for n in table.axes]
         + [finite(c[k]) for k in ('mean', 'sd', 'lo', 'hi')]
         + [c['seeds'], c['planned'], c['dropped'], c['diverged']]
         for c in sorted(member_values.config_stats(table), key=lambda c: c['place'])]
  return columns, out


def write_tables(table: load.Table, out_dir: str, *, log=print) -> list:
  """Writes table.md, table.tex and configs.csv (`config_rows`); returns their
  paths."""
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for name, text in (('table.md', markdown(table)), ('table.tex', latex(table))):
    path = os.path.join(out_dir, name)
    with files.atomic(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)
    paths.append(path)
  path = os.path.join(out_dir, 'configs.csv')
  columns, out = config_rows(table)
  with files.atomic(path) as tmp, open(tmp, 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    writer.writerows(out)
  paths.append(path)
  log(f'figures: wrote {paths[0]} and {os.path.basename(path)}')
  return paths
