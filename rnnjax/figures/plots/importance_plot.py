"""The importance figure (a bar per share) and importance.json with the numbers."""

import os
import textwrap

import numpy as np

from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import style
from rnnjax.figures.analysis import importance
from rnnjax.results import files

MAX_PAIRS = 6
MIN_PAIR_SHARE = 0.005
# The bar of the variance within configurations (after --folds, between seeds'
# cross-validated values: analysis/importance.py takes the folds out first).
BETWEEN = 'seed (between replicates)'


def plot_importance(table: load.Table, out_dir: str, result: dict = None, *,
                    log=print) -> list:
  """Writes importance.png/pdf and importance.json; returns the paths.

  result: `importance.analyse(table)`, computed here when not given.
  """
  result = result or importance.analyse(table)
  os.makedirs(out_dir, exist_ok=True)
  json_path = os.path.join(out_dir, 'importance.json')
  files.write_json(json_path, result)
  if 'skipped' in result:
    log(f'figures: importance figure skipped ({result["skipped"]}); wrote {json_path}')
    return [json_path]
  # Where the analysis attributes nothing (importance.MIN_R2, MIN_CONFIGS_PER_AXIS), each
  # axis keeps its row with no bar, marked so, and nothing reads as "does not matter".
  attributed = 'not_attributed' not in result
  # p of each effect against seed noise (anova.f_tests), where the grid allows one.
  tests = result.get('p', {})
  p_main = tests.get('main', {})
  p_pair = {tuple(sorted(t['axes'])): t['p'] for t in tests.get('pairs', [])}
  bars = [(labels.label(n), s, style.OKABE_ITO[0], p_main.get(n))
          for n, s in sorted(result['main'].items(), key=lambda kv: -kv[1])] if attributed \
      else [(labels.label(n), None, style.OKABE_ITO[0], None) for n in result['main']]
  pairs = [p for p in result['pairs'] if p['share'] >= MIN_PAIR_SHARE][:MAX_PAIRS]
  bars += [(' x '.join(labels.short(a) for a in p['axes']), p['share'],
            style.OKABE_ITO[1], p_pair.get(tuple(sorted(p['axes'])))) for p in pairs]
  rest = [('higher-order interactions', result['higher_order']),
          ('not explained by surrogate', result['unexplained'])] if attributed else [
              ('between configurations', result['unexplained'])]
  bars += [(name, share, style.FAINT, None) for name, share in rest if share > 0]
  # One seed per configuration: no replicates to tell seed noise from the
  # configurations' differences (importance.json's seed share is 0 by construction).
  one_seed = result['num_seeds'] < 2
  if not one_seed:
    bars.append((BETWEEN, result['seed'], style.FAINT, None))
  names, shares, colours, p_values = zip(*bars)
  shares = 100 * np.array([np.nan if v is None else v for v in shares], np.float64)
  width = style.COLUMN_WIDTH
  with style.context():
    fig = style.new_figure(width, 1.0 + 0.19 * len(bars))
    ax = fig.add_subplot()
    y = np.arange(len(bars))[::-1]
    drawn = np.isfinite(shares)
    ax.barh(y[drawn], shares[drawn], color=[c for c, d in zip(colours, drawn) if d],
            height=0.7)
    ax.set_yticks(y, labels=names)
    ax.grid(axis='y', visible=False)
    ax.set_xlim(0, max(100.0, np.nanmax(shares)) * 1.12)
    for yi, s, p in zip(y, shares, p_values):
      ax.text(s + 1.5 if np.isfinite(s) else 1.5, yi,
              (f'{s:.1f}%' + (f' (p = {p:.2g})' if p is not None else '')
               if np.isfinite(s) else 'not attributed'), va='center', fontsize=6,
              color='black' if np.isfinite(s) else '#777777')
    if not attributed:
      too_few = result['not_attributed'].startswith('too few')
      ax.set_title(f'{"Too few configurations" if too_few else "Surrogate explains too little"}'
                   ': not attributed', loc='left', fontsize=7)
    ax.set_xlabel('share of variance (%)')
    metric = (f'log val {result["metric"]}' if result['transform'] == 'log'
              else f'val {result["metric"]}')
    if not attributed:
      key = (f'Not attributed: {result["not_attributed"]}. The variance between '
             'configurations is shown whole; a row without a bar says nothing about '
             'whether that hyperparameter matters.')
    elif pairs:
      key = ('Blue: main effects; orange: pairwise interactions'
                 f'{" (the largest, over 0.5%)" if len(result["pairs"]) > len(pairs) else ""}.')
    elif len(result['main']) < 2:  # One swept axis: no pair to interact.
      key = 'Blue: the main effect of the one hyperparameter swept.'
    else:
      key = 'Blue: main effects (no pairwise interaction over 0.5%).'
    if one_seed:
      seeds = (', one seed each: the seed\'s share cannot be estimated (seed noise is '
               f'counted in {"the shares shown" if attributed else "that variance"}).')
    else:
      seeds = f' x up to {labels.replicates(table.members, result["num_seeds"])}.'
    # How much there is to share: a few hundredths of accuracy between all members
    # look, as shares, like a factor of ten between losses.
    spread = (f' The variance shared out: {result["total_variance"]:.2g} (sd '
              f'{np.sqrt(result["total_variance"]):.2g} in {metric}).')
    text = (f'Functional ANOVA of {metric}: {result["method"]}. {key} '
            f'{result["num_configs"]} configurations{seeds}{spread}')
    shorts = labels.short_key(dict.fromkeys(a for p in pairs for a in p['axes']))
    if shorts:
      text += ' ' + shorts
    if tests:
      text += (' Shares include seed noise; p: F-test of each effect against the variance '
               f'between replicates ({tests["replicates"]} per configuration): above 0.05, '
               'not told apart from seed noise.')
    elif 'no_p' in result:
      text += f' Shares include seed noise; no p against it: {result["no_p"]}.'
    if 'transform_note' in result:
      text += f' {result["transform_note"][0].upper()}{result["transform_note"][1:]}.'
    if 'folds' in result:
      text += (f' {result["folds"]["num_folds"]} folds as blocks: '
               f'{result["folds"]["treatment"]}.')
    if result['num_excluded']:
      no_skill = result.get('num_no_skill', 0)
      what = (f'{result["num_excluded"] - no_skill} diverged or non-finite member(s)'
              if result['num_excluded'] > no_skill else '')
      if no_skill:
        what += (' and ' if what else '') + (
            f'{no_skill} worse than chance ({result["metric"]} > {result["chance"]:.3g})')
      text += (f' {what} '
               f'{"dropped" if result["diverged"] == "drop" else "capped at the worst value"}'
               # The other figures count a diverged member at its best before diverging.
               + (' here (the other figures count them at their best before diverging)'
                  if (table.status == 'diverged').any() else '') + '.')
    budgets = labels.budgets(table.members, table.train_steps)
    if budgets:
      text += ' ' + budgets
    # The caption's lines on top of the rows' height: a long caption (not attributed,
    # halving) left a few rows' labels overlapping.
    caption = 0.105 * len(textwrap.wrap(text, int(width * 17)))
    fig.set_size_inches(width, max(1.0 + 0.19 * len(bars), 0.75 + 0.19 * len(bars) + caption))
    style.note(fig, text, width)
    paths = style.save(fig, out_dir, 'importance')
  log(f'figures: wrote {paths[0]}')
  return paths + [json_path]
