"""The cell x depth x width table: the best configuration of each network shape.

One row per (cell, num_layers, hidden_size), with whichever of those the members have.
The row's score is its best configuration's validation metric (best by the mean over
seeds), given as mean +- sd and min-max over that configuration's seeds.
"""

import math
import os

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.results import files

STRUCTURE = (('cell', 'cell'), ('num_layers', 'layers'), ('hidden_size', 'hidden'))


def rows(table: load.Table) -> tuple:
  """(column names, row dicts): key, mean, sd, lo, hi, seeds, configs, dropped, best."""
  present = [n for n, _ in STRUCTURE if n in table.members[0]['hparams']]
  # Shape axes with one value go to the caption, unless none varies.
  names = [n for n in present if len({m['hparams'][n] for m in table.members}) > 1]
  names = names or present
  ok = load.usable(table)
  stats = load.config_stats(table)
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
      best = load.best_config(mine, table.shown_mode)
      row.update({k: best[k] for k in ('mean', 'sd', 'lo', 'hi', 'seeds')},
                 best_dropped=best['dropped'])
    out.append(row)
  scored = [r for r in out if 'mean' in r]
  if scored:
    best = load.best_config([{'dropped': r['best_dropped'], 'mean': r['mean'], 'row': r}
                             for r in scored], table.shown_mode)
    best['row']['best'] = True
  return [label for n, label in STRUCTURE if n in names], out


def _num(x: float, digits: int = 4) -> str:
  return '-' if x is None or not math.isfinite(x) else f'{x:.{digits}g}'


def _cells(row: dict) -> list:
  """[mean ± sd, min – max], to the decimals that sd's two significant digits have."""
  if 'mean' not in row:
    return ['-', '-']
  sd = row['sd']
  if not (math.isfinite(sd) and sd > 0):
    return [_num(row['mean']), f'{_num(row["lo"])} – {_num(row["hi"])}']
  d = max(0, 1 - math.floor(math.log10(sd)))
  return [f'{row["mean"]:.{d}f} ± {sd:.{d}f}', f'{row["lo"]:.{d}f} – {row["hi"]:.{d}f}']


def caption(table: load.Table, names: list) -> str:
  fixed = [f'{label} {labels.fmt(table.members[0]["hparams"][n])}' for n, label in STRUCTURE
           if n in table.members[0]['hparams'] and label not in names]
  scale = labels.SCALES.get((table.task, table.shown))
  return (f'Best configuration per ({", ".join(names)}'
          f'{"; " + ", ".join(fixed) if fixed else ""}): validation {table.shown} '
          f'({f"{scale}; " if scale else ""}'
          f'{"lower" if table.shown_mode == "min" else "higher"} is better), mean ± sd and '
          'min – max over its seeds. configs: configurations of that shape; '
          'dropped: members of that shape (any configuration) that diverged or had no '
          'finite value. Best row in bold.')


def markdown(table: load.Table) -> str:
  names, out = rows(table)
  head = names + [f'val {table.shown}', 'min – max', 'seeds', 'configs', 'dropped']
  lines = ['| ' + ' | '.join(head) + ' |',
           '|' + '|'.join(':--' if i < len(names) else '--:' for i in range(len(head))) + '|']
  for r in out:
    cells = [labels.fmt(v) for v in r['key']] + _cells(r) + [
        str(r['seeds']), str(r['configs']), str(r['dropped'])]
    if r['best']:
      cells = [f'**{c}**' for c in cells]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n\n' + caption(table, names) + '\n'


def _tex(text: str) -> str:
  for a, b in (('\\', r'\textbackslash{}'), ('_', r'\_'), ('%', r'\%'), ('&', r'\&'),
               ('#', r'\#'), ('±', r'$\pm$'), ('–', '--')):
    text = text.replace(a, b)
  return text


def latex(table: load.Table) -> str:
  """A booktabs table (needs \\usepackage{booktabs})."""
  names, out = rows(table)
  head = names + [f'val {table.shown}', 'min--max', 'seeds', 'configs', 'dropped']
  lines = [r'% Needs \usepackage{booktabs}.', r'\begin{table}[t]', r'\centering', r'\small',
           r'\begin{tabular}{' + 'l' * len(names) + 'r' * 5 + '}', r'\toprule',
           ' & '.join(_tex(h) if '--' not in h else h for h in head) + r' \\',
           r'\midrule']
  for r in out:
    cells = [_tex(labels.fmt(v)) for v in r['key']] + [_tex(c) for c in _cells(r)] + [
        str(r['seeds']), str(r['configs']), str(r['dropped'])]
    if r['best']:
      cells = [rf'\textbf{{{c}}}' for c in cells]
    lines.append(' & '.join(cells) + r' \\')
  lines += [r'\bottomrule', r'\end{tabular}',
            r'\caption{' + _tex(caption(table, names)) + '}', r'\end{table}']
  return '\n'.join(lines) + '\n'


def write_tables(table: load.Table, out_dir: str, *, log=print) -> list:
  """Writes table.md and table.tex; returns their paths."""
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for name, text in (('table.md', markdown(table)), ('table.tex', latex(table))):
    path = os.path.join(out_dir, name)
    with files.atomic(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)
    paths.append(path)
  log(f'figures: wrote {paths[0]}')
  return paths
