"""Tests for rnnjax/figures: functional ANOVA against known answers, and every figure on
fabricated work directories (full grids, random sweeps, diverged and stopped members)."""

import collections
import csv
import dataclasses
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys

from matplotlib import collections as mcollections
import numpy as np
import pytest

from rnnjax import figures
from rnnjax.errors import InputError
from rnnjax.figures import labels
from rnnjax.figures import load
from rnnjax.figures import member_values
from rnnjax.figures import style
from rnnjax.figures import tables
from rnnjax.figures.analysis import anova
from rnnjax.figures.analysis import importance
from rnnjax.figures.plots import confusion
from rnnjax.figures.plots import curves
from rnnjax.figures.plots import heatmap
from rnnjax.figures.plots import importance_plot
from rnnjax.figures.plots import sensitivity
from rnnjax.results import config_table
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.run import stop
from rnnjax.search import plan as search_plan
from rnnjax.search import planner
from rnnjax.search import space
from rnnjax.search.strategies import lineage

DEFAULTS = {'cell': 'lstm', 'optimizer': 'adam', 'hidden_size': '32', 'num_layers': '1',
            'batch_size': '32', 'learning_rate': '1e-3', 'weight_decay': '0',
            'clip_norm': '1', 'input_dropout': '0', 'dropout': '0', 'forget_bias': '1',
            'init_scale': '1'}


def fabricate(workdir, axes, fn, *, search_kind='grid', num_seeds=2, num_members=0,
              diverged=(), nonfinite=(), stopped=(), old_format=False, accuracy=False):
  """Writes sweep.json, plan.json, summary.json and metrics.jsonl of a pretend sweep.

  axes: {flag: spec string}; fn(hparams, seed) -> validation MSE. Members in
  `diverged` are diverged with null/inf metrics; `nonfinite` are 'ok' with a NaN value;
  `stopped` stopped early. `accuracy`: also record 1 / (1 + mse) and display it, as a
  classification sweep would. Returns workdir.
  """
  os.makedirs(workdir, exist_ok=True)
  spec = {**DEFAULTS, **axes}
  parsed = {n: space.parse_axis(n, t) for n, t in spec.items()}
  plan = planner.make_plan(parsed, search=search_kind, num_members=num_members,
                           num_seeds=num_seeds, seed=0)
  members, lines = [], []
  for m in plan.members:
    mse = float(fn(m.hparams, m.seed))
    status = ('diverged' if m.uid in diverged else
              'stopped' if m.uid in stopped else 'ok')
    if m.uid in diverged:
      mse = math.inf if m.uid % 2 else math.nan
    elif m.uid in nonfinite:
      mse = math.nan
    val = {'mse': mse, 'rmse': math.sqrt(mse) if mse >= 0 else math.nan, 'mae': mse}
    if accuracy:
      val = {'mse': mse, 'accuracy': 1 / (1 + mse)}
    members.append({'uid': m.uid, 'bucket': m.bucket, 'config': m.config, 'seed': m.seed,
                    'hparams': m.hparams, 'status': status, 'best_step': 40,
                    'steps': 30 if status == 'stopped' else 50, 'val': val})
    for step in range(10, 60, 10):
      if status == 'stopped' and step > 30:
        break
      scale = 1 + 2 / step
      for name, v in val.items():
        lines.append({'uid': m.uid, 'bucket': m.bucket, 'step': step, 'split': 'val',
                      'metric': name, 'value': v * scale})
      lines.append({'uid': m.uid, 'bucket': m.bucket, 'step': step, 'split': 'train',
                    'metric': 'loss', 'value': mse})
  ranked = sorted((r for r in members if r['status'] != 'diverged'
                   and math.isfinite(r['val']['mse'])), key=lambda r: r['val']['mse'])
  best = dict(ranked[0], test=ranked[0]['val']) if ranked else None
  summary = {'members': members, 'ranking': [r['uid'] for r in ranked], 'best': best}
  if not old_format:
    summary.update(task='forecast', selection={'metric': 'mse', 'mode': 'min'},
                   display='accuracy' if accuracy else 'rmse',
                   display_mode='max' if accuracy else 'min')
    files.write_json(os.path.join(workdir, 'sweep.json'),
                       {'spec': {**spec, 'task': 'forecast', 'search': search_kind,
                                 'num_seeds': num_seeds}, 'versions': {}, 'devices': []})
    files.write_json(os.path.join(workdir, 'plan.json'), plan.to_json())
  files.write_json(os.path.join(workdir, 'summary.json'), summary)
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    for r in lines:
      f.write(json.dumps(files.clean(r)) + '\n')
  return str(workdir)


def lr_only(hp, seed):
  return 0.1 + (math.log10(hp['learning_rate']) + 2.5) ** 2 + 1e-4 * seed


def shares_total(result):
  return (sum(result['main'].values()) + sum(p['share'] for p in result['pairs'])
          + result['higher_order'] + result['unexplained'] + result['seed'])


# --- functional ANOVA -------------------------------------------------------------------

def test_anova_grid_matches_regression_oracle():
  """Main share of axis i = R^2 of least squares on i's one-hot; pair = R^2 on the joint
  cells minus both mains (true for a balanced grid, computed here independently)."""
  y = np.random.default_rng(0).normal(size=(4, 3, 2))
  main, pairs, total = anova.anova_grid(y)
  cells = np.array(list(itertools.product(*map(range, y.shape))))
  flat = y.reshape(-1)

  def r2(columns):
    codes = np.unique(cells[:, columns], axis=0, return_inverse=True)[1].reshape(-1)
    x = np.eye(codes.max() + 1)[codes]
    fit = x @ np.linalg.lstsq(x, flat, rcond=None)[0]
    return np.mean((fit - flat.mean()) ** 2) / np.var(flat)

  np.testing.assert_allclose(total, np.var(flat))
  for i in range(3):
    np.testing.assert_allclose(main[i] / total, r2([i]), rtol=1e-9)
  for i, j in itertools.combinations(range(3), 2):
    np.testing.assert_allclose(pairs[(i, j)] / total, r2([i, j]) - r2([i]) - r2([j]),
                               atol=1e-12)


def test_anova_tables_matches_full_grid():
  rng = np.random.default_rng(1)
  mains = [rng.normal(size=4), rng.normal(size=3), rng.normal(size=5)]
  pairs = {(0, 1): rng.normal(size=(4, 3)), (1, 2): rng.normal(size=(3, 5))}
  grid = (mains[0][:, None, None] + mains[1][None, :, None] + mains[2][None, None, :]
          + pairs[(0, 1)][:, :, None] + pairs[(1, 2)][None, :, :])
  want_main, want_pairs, total = anova.anova_grid(grid)
  got_main, got_pairs = anova.anova_tables(mains, pairs)
  np.testing.assert_allclose(got_main, want_main, rtol=1e-10)
  for k, v in got_pairs.items():
    np.testing.assert_allclose(v, want_pairs[k], rtol=1e-10)
  np.testing.assert_allclose(got_main.sum() + sum(got_pairs.values()), total, rtol=1e-10)


def test_grid_metric_of_learning_rate_alone(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'dropout': 'grid(0,0.1,0.3)',
                                 'hidden_size': 'grid(16,32,64)'}, lr_only)
  result = importance.analyse(load.load(workdir))
  assert result['method'].startswith('exact') and result['transform'] == 'log'
  assert result['main']['learning_rate'] > 0.95
  assert result['main']['dropout'] < 0.01 and result['main']['hidden_size'] < 0.01
  assert all(p['share'] < 0.01 for p in result['pairs'])
  assert 0 < result['seed'] < 0.01
  np.testing.assert_allclose(shares_total(result), 1.0, rtol=1e-9)


def test_pure_interaction_is_a_pair_term(tmp_path):
  f = {1e-3: -1.5, 1e-2: -0.5, 1e-1: 0.5, 1.0: 1.5}    # centred over the grid
  g = {16: -1.0, 32: 0.0, 64: 1.0}
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1,1)',
                                 'hidden_size': 'grid(16,32,64)', 'dropout': 'grid(0,0.2)'},
                      lambda hp, s: 1 + 0.3 * f[hp['learning_rate']] * g[hp['hidden_size']],
                      num_seeds=1)
  result = importance.analyse(load.load(workdir))
  pair = {tuple(p['axes']): p['share'] for p in result['pairs']}
  assert pair[('hidden_size', 'learning_rate')] > 0.9
  assert max(result['main'].values()) < 0.05


def test_random_sweep_surrogate_finds_learning_rate(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'loguniform(1e-4,1e-1)',
                                 'dropout': 'uniform(0,0.5)',
                                 'hidden_size': 'randint(16,128)'},
                      lr_only, search_kind='random', num_members=60, num_seeds=1)
  table = load.load(workdir)
  assert table.axes['learning_rate'].scale == 'log'
  assert table.axes['dropout'].scale == 'linear'
  result = importance.analyse(table)
  assert result['method'].startswith('surrogate (random search')
  assert max(result['main'], key=result['main'].get) == 'learning_rate'
  assert result['main']['learning_rate'] > 0.9
  assert result['r2'] > 0.95
  np.testing.assert_allclose(shares_total(result), 1.0, rtol=1e-9)
  # The same members proposed by TPE are named so.
  tpe = importance.analyse(dataclasses.replace(table, search='tpe'))
  assert tpe['method'].startswith('surrogate (TPE; ridge')


def test_diverged_members_dropped_or_capped(tmp_path, monkeypatch):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'dropout': 'grid(0,0.3)'}, lr_only,
                      diverged=(14, 15), nonfinite=(3,))
  table = load.load(workdir)
  dropped = importance.analyse(table)
  assert dropped['num_excluded'] == 3 and dropped['num_members'] == 13
  assert dropped['method'].startswith('surrogate (grid with 1 of 8 cells missing')
  assert dropped['main']['learning_rate'] > 0.9
  capped = importance.analyse(table, diverged='cap')
  assert capped['num_members'] == 16 and capped['method'].startswith('exact')
  # PBT's members ended on those values, having trained on others: never 'exact'.
  pbt = importance.analyse(dataclasses.replace(table, search='pbt'), diverged='cap')
  assert pbt['method'] == 'surrogate (PBT; least squares, R2 1.00)'
  with pytest.raises(InputError):
    importance.analyse(table, diverged='keep')
  # Its caption says that the other figures count diverged members.
  figs = _capture_figures(monkeypatch, draw=False)
  importance_plot.plot_importance(table, str(tmp_path / 'out'), dropped, log=lambda _: None)
  assert ('3 diverged or non-finite member(s) dropped here (the other figures count them at '
          'their best before diverging).') in _caption(figs[0]), _caption(figs[0])


# --- loading ----------------------------------------------------------------------------

@pytest.mark.parametrize('kind, values, want', [
    ('grid', (1e-3, 3e-3, 1e-2, 3e-2), 'log'),
    ('grid', (16, 32, 64, 128), 'log'),
    ('grid', (0, 0.2, 0.5), 'linear'),
    ('grid', (0, 1e-5, 1e-4, 1e-3), 'category'),
    ('grid', (1e-3, 1e-2), 'log'),
    ('grid', (32, 64), 'linear'),
    ('grid', ('gru', 'lstm'), 'category'),
    ('loguniform', (1e-4, 0.3), 'log'),
    ('uniform', (0.0, 0.5), 'linear'),
])
def test_choose_scale(kind, values, want):
  assert load.choose_scale(kind, values) == want


def test_old_format_falls_back_to_mse_and_guessed_axes(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)', 'dropout': 'grid(0,0.2)'},
                      lr_only, old_format=True)
  table = load.load(workdir)
  assert (table.metric, table.mode, table.shown) == ('mse', 'min', 'rmse')
  assert list(table.axes) == ['learning_rate', 'dropout']
  assert table.axes['learning_rate'].scale == 'log'


def test_a_large_sweeps_columns_load_as_its_records(tmp_path):
  """Above member_table.MAX_RECORDS members summary.json points at members.npz: the
  same Table as from the records themselves."""
  workdir = fabricate(tmp_path / 'records', {'learning_rate': 'grid(1e-3,1e-2)',
                                             'dropout': 'grid(0,0.2)'}, lr_only,
                      diverged=(1, 2), stopped=(3,))
  summary = files.read_json(os.path.join(workdir, 'summary.json'))
  summary['members'] = [{**m, 'fold': 0} for m in summary['members']]  # As the sweep's.
  files.write_json(os.path.join(workdir, 'summary.json'), summary)
  columns = str(tmp_path / 'columns')
  shutil.copytree(workdir, columns)
  table = member_table.MemberTable.from_records(summary['members'])
  summary.update(members=table, configs=config_table.ConfigTable.of(table, 'mse', 'rmse'))
  files.write_json(os.path.join(columns, 'summary.json'),
                     summary_file.write(columns, summary))
  want, got = load.load(workdir), load.load(columns)
  assert files.clean(got.members) == files.clean(want.members)
  assert dataclasses.replace(got, workdir=workdir, members=()) == dataclasses.replace(
      want, members=())
  os.unlink(os.path.join(columns, files.MEMBERS))
  with pytest.raises(InputError, match='members.npz'):
    load.load(columns)


def test_missing_summary_is_an_input_error(tmp_path):
  with pytest.raises(InputError, match='summary.json'):
    load.load(str(tmp_path))
  with pytest.raises(InputError, match='not a directory'):
    figures.make_all(str(tmp_path / 'absent'))
  # An unfinished sweep, as make_figures --workdir is given one: the line names the flag.
  with pytest.raises(InputError, match=r'^--workdir: .*summary\.json: no such file \(has '
                     r'the sweep finished\?\)$'):
    figures.make_all(str(tmp_path))


def test_fmt():
  assert [labels.fmt(v) for v in (0.001, 3e-4, 0.2, 64, 'lstm', 1.5e-5)] == [
      '1e-3', '3e-4', '0.2', '64', 'lstm', '1.5e-5']


# --- tables -----------------------------------------------------------------------------

def test_table_reports_best_config_per_shape(tmp_path):
  def fn(hp, seed):
    return (1 + hp['num_layers'] + (hp['cell'] == 'gru') + 10 * hp['learning_rate']
            + 0.1 * seed)
  workdir = fabricate(tmp_path, {'cell': 'grid(rnn_tanh,gru)', 'num_layers': 'grid(1,2)',
                                 'learning_rate': 'grid(1e-2,1e-1)'}, fn, num_seeds=3)
  table = load.load(workdir)
  names, rows = tables.rows(table)
  assert names == ['cell', 'layers']  # hidden size is fixed: said in the caption
  assert [r['key'] for r in rows] == [('gru', 1), ('gru', 2), ('rnn_tanh', 1),
                                      ('rnn_tanh', 2)]
  want = np.sqrt([fn({'num_layers': 1, 'cell': 'rnn_tanh', 'learning_rate': 1e-2}, s)
                  for s in range(3)])
  best = rows[2]
  assert best['best'] and sum(r['best'] for r in rows) == 1
  np.testing.assert_allclose([best['mean'], best['sd'], best['lo'], best['hi']],
                             [want.mean(), want.std(ddof=1), want.min(), want.max()])
  assert (best['seeds'], best['configs'], best['dropped']) == (3, 2, 0)
  md, tex = tables.markdown(table), tables.latex(table)
  sd = want.std(ddof=1)
  assert 0.01 <= sd < 0.1  # two significant digits of sd: three decimals
  assert f'**{want.mean():.3f} ± {sd:.3f}**' in md and 'hidden 32' in md
  assert md.count('\n|') == 5
  for word in (r'\toprule', r'\midrule', r'\bottomrule', r'rnn\_tanh', r'$\pm$'):
    assert word in tex


def test_table_and_sensitivity_pick_the_configuration_the_sweep_ranks_first(tmp_path):
  """The sweep ranks configurations by their mean MSE over seeds; the RMSE shown averages
  otherwise: gru's seeds (MSE 1e-4 and 1) have the lower mean RMSE (0.505 against 0.6),
  lstm's (0.36 twice) the lower mean MSE. The table's bold row and the sensitivity
  line's point at each value are lstm's, shown in RMSE."""
  fn = lambda hp, seed: (1e-4, 1.0)[seed] if hp['cell'] == 'gru' else 0.36
  workdir = fabricate(tmp_path, {'cell': 'grid(gru,lstm)'}, fn, num_seeds=2)
  table = load.load(workdir)
  _, rows = tables.rows(table)
  assert [r['key'][0] for r in rows if r['best']] == ['lstm']
  assert [r['mean'] for r in rows] == pytest.approx([0.505, 0.6])
  assert 'over its seeds (best by mean mse, as the sweep ranks).' in tables.markdown(table)
  stats = member_values.config_stats(table)
  best = member_values.best_config(stats)
  assert best['hparams']['cell'] == 'lstm' and best['mean'] == pytest.approx(0.6)
  # By the mean RMSE shown, gru's.
  assert min(stats, key=lambda c: c['mean'])['hparams']['cell'] == 'gru'


def test_a_table_of_one_seed_per_configuration_shows_its_value_alone(tmp_path):
  """One replicate each: the value, no sd and no min – max column (it would repeat the
  value), and the caption says so; the LaTeX table has as many columns as its rows."""
  workdir = fabricate(tmp_path, {'cell': 'grid(gru,lstm)'},
                      lambda hp, s: 0.25 if hp['cell'] == 'gru' else 0.36, num_seeds=1)
  table = load.load(workdir)
  md, tex = tables.markdown(table), tables.latex(table)
  assert md.splitlines()[0] == '| cell | val rmse | seeds | configs | dropped |'
  assert md.splitlines()[2] == '| **gru** | **0.500** | **1** | **1** | **0** |'
  assert 'is better), of its 1 seed. configs:' in md and 'min – max' not in md
  assert r'\begin{tabular}{lrrrr}' in tex and 'min--max' not in tex
  assert tex.count('&') == 4 * 3  # Four separators in the head and each of 2 rows.


def test_table_bolds_every_row_tied_for_best(tmp_path):
  """Accuracy 1 for every cell but one: no row is picked over the others by its order."""
  workdir = fabricate(tmp_path, {'cell': 'grid(rnn_tanh,gru,lstm)'},
                      lambda hp, s: 0.0 if hp['cell'] != 'lstm' else 0.5 + 0.1 * s,
                      accuracy=True)
  table = dataclasses.replace(load.load(workdir), shown='accuracy', shown_mode='max')
  _, rows = tables.rows(table)
  assert [r['key'][0] for r in rows if r['best']] == ['gru', 'rnn_tanh']
  md = tables.markdown(table)
  assert md.count('**gru**') == md.count('**rnn_tanh**') == 1 and '**lstm**' not in md
  assert '2 rows tie for best' in md and 'Best row in bold' not in md


def test_table_means_share_the_column_significant_digits():
  """An sd of 9e-5 beside sds of 0.1 no longer prints its row to six decimals, and rows
  that differ still print differently."""
  rows = [{'mean': m, 'sd': sd, 'lo': m - sd, 'hi': m + sd}
          for m, sd in ((3.560232, 0.00009), (3.96, 0.14), (3.5157, 0.0027), (3.79, 0.13))]
  k = tables.digits(rows)
  means = [tables._cells(r, k)[0].split(' ± ')[0] for r in rows]
  assert means == ['3.560', '3.960', '3.516', '3.790']
  assert tables._cells(rows[0], k)[0] == '3.560 ± <0.001'
  assert tables._cells(rows[1], k) == ['3.960 ± 0.140', '3.820 – 4.100']
  # Means that agree to 4 digits get the digits that tell them apart.
  close = [{'mean': 1.00001, 'sd': 0.1, 'lo': 1, 'hi': 1},
           {'mean': 1.00004, 'sd': 0.1, 'lo': 1, 'hi': 1}]
  assert len({tables._cells(r, tables.digits(close))[0] for r in close}) == 2


# --- figures ----------------------------------------------------------------------------

KINDS = ('sensitivity', 'learning_curves', 'importance')


def test_make_all_on_a_grid_with_diverged_and_stopped(tmp_path, monkeypatch):
  def fn(hp, seed):
    return lr_only(hp, seed) * (1 + 0.1 * (hp['cell'] == 'gru')) * 32 / hp['hidden_size']
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'hidden_size': 'grid(16,32)', 'cell': 'grid(lstm,gru)',
                                 'weight_decay': 'grid(0,1e-5,1e-4)'}, fn,
                      diverged=(0, 1, 7), nonfinite=(20,), stopped=(5, 9))
  logged = []
  paths = figures.make_all(workdir, log=logged.append)
  names = {os.path.basename(p) for p in paths}
  for kind in KINDS:
    assert {f'{kind}.png', f'{kind}.pdf'} <= names
  heatmaps = [n for n in names if n.startswith('heatmap_') and n.endswith('.png')]
  assert len(heatmaps) == 3 and {'table.md', 'table.tex', 'importance.json',
                                  'configs.csv'} <= names
  assert all(os.path.getsize(p) > 0 for p in paths)
  assert not any('failed' in line for line in logged), logged
  # configs.csv: every configuration with a usable member, in the sweep's ranking, with
  # its swept values and its seeds' validation mean (a paper's table, from a CSV).
  with open(os.path.join(workdir, 'figures', 'configs.csv'), encoding='utf-8') as f:
    rows = list(csv.DictReader(f))
  summary = json.load(open(os.path.join(workdir, 'summary.json')))
  table = load.load(workdir)
  assert int(rows[0]['config']) == member_values.best_config(
      member_values.config_stats(table))['config']
  assert sorted(int(r['config']) for r in rows) == sorted(
      {m['config'] for m, ok in zip(table.members, member_values.usable(table)) if ok})
  # Those whose every seed counts, in the order of their mean (of the RMSE shown here,
  # which orders these as the MSE ranked).
  full = [float(r[f'val_{table.shown}_mean']) for r in rows if r['dropped'] == '0']
  assert full == sorted(full) and len(full) > 5
  ranked = [int(r['config']) for r in rows]
  assert [int(r['rank']) for r in rows] == list(range(1, len(rows) + 1))
  first = [m for m in summary['members'] if m['config'] == ranked[0]]
  assert {k: rows[0][k] for k in ('cell', 'hidden_size')} == {
      k: str(first[0]['hparams'][k]) for k in ('cell', 'hidden_size')}
  shown = summary['display']
  assert np.isclose(float(rows[0][f'val_{shown}_mean']),
                    np.mean([m['val'][shown] for m in first]), rtol=1e-6)
  saved = json.load(open(os.path.join(workdir, 'figures', 'importance.json')))
  assert saved['num_excluded'] == 4 and saved['diverged'] == 'drop'
  assert max(saved['main'], key=saved['main'].get) == 'learning_rate'
  # The variants below are built, not drawn: the above were, as PNG and PDF.
  _capture_figures(monkeypatch, draw=False)
  # A variant grouped by cell, elsewhere; a misspelt or unlistable axis refused first.
  other = str(tmp_path / 'by_cell')
  again = figures.make_all(workdir, log=logged.append, group_by='cell', out_dir=other)
  assert {os.path.dirname(p) for p in again} == {other}
  for wrong, said in (('cel', "'cel' is not a swept hyperparameter of this sweep "
                              '(swept: cell, hidden_size, learning_rate, weight_decay)'),):
    with pytest.raises(InputError, match=re.escape(f'--group_by: {said}')):
      figures.make_all(workdir, group_by=wrong, out_dir=str(tmp_path / 'never'))
  with pytest.raises(InputError, match=r"^--metric: 'acc' is not a validation metric of "
                     r'this sweep \(recorded: '):
    figures.make_all(workdir, metric='acc', out_dir=str(tmp_path / 'never'))
  assert not os.path.exists(tmp_path / 'never')
  drawn = []
  real = sensitivity.plot_sensitivity
  sensitivity.plot_sensitivity = lambda table, *a, **k: drawn.append(table) or []
  try:
    figures.make_all(workdir, metric='mae', out_dir=str(tmp_path / 'mae'), log=print)
  finally:
    sensitivity.plot_sensitivity = real
  assert (drawn[0].shown, drawn[0].shown_mode) == ('mae', 'min')  # Not rmse, as drawn.
  # The importance figure analyses it too.
  assert json.load(open(tmp_path / 'mae' / 'importance.json'))['metric'] == 'mae'


def test_make_all_on_a_random_sweep(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'loguniform(1e-4,1e-1)',
                                 'dropout': 'uniform(0,0.5)', 'num_layers': 'grid(1,2)'},
                      lr_only, search_kind='random', num_members=40, num_seeds=2,
                      diverged=(3,))
  logged = []
  paths = figures.make_all(workdir, log=logged.append)
  names = {os.path.basename(p) for p in paths}
  assert {f'{k}.{e}' for k in KINDS for e in ('png', 'pdf')} <= names
  assert any(n.startswith('heatmap_') for n in names)
  assert not any('failed' in line for line in logged), logged


def test_each_figure_with_one_swept_axis(tmp_path, monkeypatch):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1)'}, lr_only,
                      diverged=(5,), stopped=(0,))
  table, out = load.load(workdir), os.path.join(workdir, 'figures')
  logged = []
  assert len(sensitivity.plot_sensitivity(table, out, log=logged.append)) == 2
  assert heatmap.plot_heatmaps(table, out, log=logged.append) == []
  assert any('heatmap skipped' in line for line in logged)
  assert len(curves.plot_learning_curves(table, out, log=logged.append)) == 2
  figs = _capture_figures(monkeypatch, pdf=True)
  assert len(importance_plot.plot_importance(table, out, log=logged.append)) == 3
  # One axis has no pair to interact: not "no pairwise interaction over 0.5%".
  assert 'Blue: the main effect of the one hyperparameter swept.' in _caption(figs[0])
  assert 'pairwise' not in _caption(figs[0])
  assert len(tables.write_tables(table, out, log=logged.append)) == 3


def test_every_member_diverged_skips_with_reasons(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)'}, lr_only,
                      num_seeds=1, diverged=(0, 1))
  logged = []
  paths = figures.make_all(workdir, log=logged.append)
  assert {os.path.basename(p) for p in paths} == {'table.md', 'table.tex', 'configs.csv',
                                                  'importance.json'}
  assert any('sensitivity skipped' in line for line in logged)
  assert not any('failed' in line for line in logged), logged


def test_higher_is_better_display_metric(tmp_path, monkeypatch):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'cell': 'grid(lstm,gru)'},
                      lambda hp, s: lr_only(hp, s) * (2 if hp['cell'] == 'gru' else 1),
                      accuracy=True, diverged=(2,))
  table = load.load(workdir)
  assert (table.shown, table.shown_mode) == ('accuracy', 'max')
  _, rows = tables.rows(table)
  best = next(r for r in rows if r['best'])
  assert best['key'] == ('lstm',)
  np.testing.assert_allclose(best['mean'], np.mean([1 / (1 + lr_only(
      {'learning_rate': 1e-3}, s)) for s in range(2)]))
  _capture_figures(monkeypatch)  # The PNGs counted below (the make_all tests: PDFs).
  logged = []
  paths = figures.make_all(workdir, log=logged.append)
  assert not any('failed' in line for line in logged), logged
  assert len([p for p in paths if p.endswith('.png')]) == 4


def test_pbt_schedules_drawn_from_a_real_pbt_sweep(tmp_path, monkeypatch):
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  from rnnjax.figures.plots import schedules  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(classical_baselines=False,
                         dataset='shampoo_sales', lookback=4, val_size=6, test_size=6,
                         hidden_size='4', batch_size='4', search='pbt', num_members=6,
                         learning_rate='loguniform(3e-2,1)', dropout='uniform(0,0.3)',
                         train_steps=8, eval_every=2, pbt_interval=2, pbt_fraction=0.5)
  workdir = str(tmp_path / 'pbt')
  sweep.run_sweep(spec, workdir, log=lambda _: None)
  table = load.load(workdir)
  figs = _capture_figures(monkeypatch, pdf=True)
  paths = schedules.plot_schedules(table, str(tmp_path / 'out'), log=lambda _: None)
  assert [os.path.basename(p) for p in paths] == ['pbt_schedules.png', 'pbt_schedules.pdf']
  # The best widest and lowest, as the learning curves draw it (it was the thinnest).
  drawn = [l for l in figs[0].axes[0].get_lines() if l.get_label().startswith('1. ')]
  ranked = [l for l in figs[0].axes[0].get_lines() if l.get_label()[:1].isdigit()]
  assert len(drawn) == 1 and len(ranked) > 1
  assert drawn[0].get_linewidth() == max(l.get_linewidth() for l in ranked)
  assert drawn[0].get_zorder() == min(l.get_zorder() for l in ranked)
  # In colour: the top members with weights of their own, each the schedule that trained
  # its best weights, whose last values are the ones its record shows.
  records = [json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  with open(os.path.join(workdir, 'plan.json')) as f:
    initial = {m['uid']: m['hparams'] for m in search_plan.members_of_json(json.load(f))}
  top = schedules.top_schedules(table, lineage.Lineage(lineage.of_records(records)),
                                initial, k=len(table.ranking))
  by_uid = {m['uid']: m for m in summary_file.read_summary(workdir)['members']}
  trained = lambda u: (by_uid[u].get('best_of', u), by_uid[u]['best_step'])
  assert top[0][0] == table.ranking[0] and len({t for _, t, _ in top}) == len(top)
  assert {trained(u) for u in table.ranking} == {t for _, t, _ in top}
  # Copies holding a better one's weights: left out of the figures' table.
  assert len(top) == len(table.members) < len(table.ranking)
  assert table.copies == len(table.ranking) - len(top)
  for uid, _, schedule in top:
    for name in ('learning_rate', 'dropout'):
      assert np.float32(schedule[-1][1][name]) == np.float32(by_uid[uid]['hparams'][name])
  # A sweep without PBT has no schedules to draw.
  grid = fabricate(str(tmp_path / 'grid'), {'learning_rate': 'grid(1e-3,1e-2)'}, lr_only)
  assert schedules.plot_schedules(load.load(grid), str(tmp_path / 'out2'),
                                  log=lambda _: None) == []


def test_members_worse_than_chance_are_dropped_like_diverged(tmp_path):
  """Clipped gradients keep a blown-up member finite; its huge loss would pass for an
  interaction (Greff reproduction: 36 % with them, 4 % without)."""
  def fn(hp, seed):
    blown_up = hp['learning_rate'] == 1e-1 and hp['hidden_size'] == 64
    return 50.0 if blown_up else lr_only(hp, seed)
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'hidden_size': 'grid(16,32,64)'}, fn)
  table = load.load(workdir)
  kept = importance.analyse(table)
  assert kept['pairs'][0]['share'] > 0.1 and kept['num_no_skill'] == 0
  dropped = importance.analyse(dataclasses.replace(table, chance={'mse': 10.0}))
  assert dropped['num_no_skill'] == dropped['num_excluded'] == 2  # 2 seeds.
  assert dropped['main']['learning_rate'] > 0.95
  assert dropped['pairs'][0]['share'] < 0.01


# --- a new user's defects: large sweeps, one seed, crowded labels, last steps, locale ---

def _capture_figures(monkeypatch, pdf=False, draw=True) -> list:
  """The figures style.save is given, drawn in full and saved as NAME.png alone (or as
  usual, with `pdf`): the PDF's font subsetting was half of these tests' time, and
  style.save's PDFs are checked where it runs unpatched (the make_all tests, PBT
  schedules, the ASCII locale). Without `draw`, built but neither drawn nor saved (the
  path of NAME.png returned all the same), for tests of what a figure holds."""
  from rnnjax.figures import style  # pylint: disable=g-import-not-at-top
  figs, save = [], style.save

  def saving(fig, out_dir, name):
    figs.append(fig)
    if pdf:
      return save(fig, out_dir, name)
    path = os.path.join(out_dir, f'{name}.png')
    if not draw:
      return [path]
    os.makedirs(out_dir, exist_ok=True)
    with files.atomic(path) as tmp:
      fig.savefig(tmp, format='png')
    return [path]
  monkeypatch.setattr(style, 'save', saving)
  return figs


def test_repeated_draws_count_as_seeds_and_the_caption_says_how_many(tmp_path,
                                                                      monkeypatch):
  """Random search over short lists draws values again: those are more seeds of one
  configuration, so configurations hold different numbers of seeds, as the caption says."""
  figs = _capture_figures(monkeypatch)
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1)'}, lr_only,
                      search_kind='random', num_members=7, num_seeds=1)
  table = load.load(workdir)
  sensitivity.plot_sensitivity(table, os.path.join(workdir, 'figures'), log=print)
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  plan = search_plan.members_of_json(json.load(open(os.path.join(workdir, 'plan.json'))))
  counts = sorted(collections.Counter(m['config'] for m in plan).values())
  assert len(counts) == 3 and counts[0] < counts[-1]
  assert f'mean over its seeds ({counts[0]} to {counts[-1]})' in caption, caption


def test_a_categorical_axis_is_said_to_be_drawn_as_points_with_bars(tmp_path, monkeypatch):
  """A cell has no order: its best configurations are points with min-max bars, not a
  line with a band, and the caption says so rather than 'Lines' alone."""
  figs = _capture_figures(monkeypatch)
  fn = lambda hp, seed: 1 + (hp['cell'] == 'gru') + hp['learning_rate'] + 0.1 * seed
  workdir = fabricate(tmp_path, {'cell': 'grid(rnn_tanh,gru)',
                                 'learning_rate': 'grid(1e-2,1e-1)'}, fn)
  sensitivity.plot_sensitivity(load.load(workdir), os.path.join(workdir, 'figures'),
                               log=print)
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  assert 'On cell: points with min-max bars, not lines.' in caption, caption
  figs.clear()
  workdir = fabricate(tmp_path / 'lr', {'learning_rate': 'grid(1e-2,1e-1)'}, fn)
  sensitivity.plot_sensitivity(load.load(workdir), os.path.join(workdir, 'figures'),
                               log=print)
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  assert 'points with min-max bars' not in caption, caption


def test_one_seeds_caption_says_what_ranks_the_best_line_where_another_metric_is_drawn(
    tmp_path, monkeypatch):
  """Accuracy drawn, cross-entropy ranking: a paler dot may sit above a line's point,
  and the caption says the line is the best by what ranks, with one seed as with two."""
  figs = _capture_figures(monkeypatch)
  fn = lambda hp, seed: 1 + hp['learning_rate'] + 0.1 * seed
  for seeds in (1, 2):
    workdir = fabricate(tmp_path / str(seeds), {'learning_rate': 'grid(1e-2,1e-1)'}, fn,
                        num_seeds=seeds, accuracy=True)
    table = dataclasses.replace(load.load(workdir), shown='accuracy', shown_mode='max')
    sensitivity.plot_sensitivity(table, os.path.join(workdir, 'figures'), log=print)
    caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
    ranked = 'by mean mse' if seeds > 1 else 'by mse'
    assert f'Lines: best configuration {ranked}, as the sweep ranks, at each value' in (
        caption), caption


def _as_folds(workdir, num_seeds: int = 1) -> str:
  """A fabricated sweep's seeds made folds (uid = (row * seeds + seed) * folds + fold,
  as plan.py numbers them); its ranking holds the last fold only, as summary._rank's."""
  summary = files.read_json(os.path.join(workdir, 'summary.json'))
  folds = len({m['seed'] for m in summary['members']}) // num_seeds  # Before any changes.
  for m in summary['members']:
    m['seed'], m['fold'] = divmod(m['seed'], folds)
  last = max(m['fold'] for m in summary['members'])
  fold = {m['uid']: m['fold'] for m in summary['members']}
  summary['ranking'] = [u for u in summary['ranking'] if fold[u] == last]
  files.write_json(os.path.join(workdir, 'summary.json'), summary)
  return workdir


def test_learning_curves_cut_the_worse_end_of_a_higher_is_better_metric(tmp_path,
                                                                        monkeypatch):
  """Accuracy: a few collapsing members (low values) are cut from the view, not the best;
  the caption counts the points outside the view, and the best are inside it."""
  figs = _capture_figures(monkeypatch)
  fn = lambda hp, seed: 40.0 if (hp['learning_rate'], seed) == (0.1, 9) else 0.05 + seed
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,3e-3,1e-2,2e-2,3e-2,1e-1)'},
                      fn, num_seeds=10, accuracy=True)
  table = load.load(workdir)
  curves.plot_learning_curves(table, os.path.join(workdir, 'figures'), log=print)
  fig = figs[-1]
  low, high = fig.axes[0].get_ylim()
  assert high >= 1 / 1.05 and low > 0.05  # The best inside, the collapsed one outside.
  assert re.search(r'View cut at the 2nd percentile: \d+ point\(s\) below it not shown',
                   _caption(fig)), _caption(fig)


@pytest.mark.parametrize('n, cut', [(49, 0), (50, 1), (99, 1), (100, 2), (1000, 20)])
def test_the_view_leaves_out_2_percent_of_the_points_rounded_down(n, cut):
  values = np.random.default_rng(n).permutation(np.arange(n, dtype=np.float64))
  assert (values > curves.view_cut(values, higher=False)).sum() == cut
  assert (values < curves.view_cut(values, higher=True)).sum() == cut


def test_learning_curves_of_a_small_sweep_cut_no_point(tmp_path, monkeypatch):
  """Three members' 15 evaluations, one a spike far above the rest: the view cuts no
  more than 2 % of the points, so here none (an interpolated 98th percentile cut the
  worst point of any small sweep, a fifteenth of them)."""
  figs = _capture_figures(monkeypatch)
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1)'},
                      lambda hp, seed: 1.0, num_seeds=1)
  path = os.path.join(workdir, 'metrics.jsonl')
  with open(path, encoding='utf-8') as f:
    rows = [json.loads(line) for line in f]
  spike = next(r for r in rows if r['metric'] == 'rmse')
  spike['value'] = 15.0
  with open(path, 'w', encoding='utf-8') as f:
    f.writelines(json.dumps(r) + '\n' for r in rows)
  curves.plot_learning_curves(load.load(workdir), str(tmp_path / 'out'), log=print)
  assert 'View cut' not in _caption(figs[-1]), _caption(figs[-1])
  assert figs[-1].axes[0].get_ylim()[1] >= 15
  # The three members' curves coincide but for the spike: each higher-ranked one is
  # wider, under those below it in rank, so that every one shows.
  lines = sorted(figs[-1].axes[0].get_lines(), key=lambda l: l.get_zorder())
  assert len(lines) == 3
  widths = [l.get_linewidth() for l in lines]
  assert widths == sorted(widths, reverse=True) and len(set(widths)) == 3, widths
  assert [l.get_label()[:2] for l in lines] == ['1.', '2.', '3.']


def test_figures_of_a_sweep_with_folds_name_seeds_and_their_folds(tmp_path, monkeypatch):
  """With --folds a configuration's replicates are its seeds, each its mean over the
  folds: captions say so, the importance bar is the seed's, and the learning curves say
  what the grey members are."""
  figs = _capture_figures(monkeypatch)
  axes = {'learning_rate': 'grid(1e-4,1e-3,1e-2)', 'dropout': 'grid(0,0.3)'}
  workdir = _as_folds(fabricate(tmp_path / 'folds', axes, lr_only, num_seeds=2))
  table, out = load.load(workdir), os.path.join(workdir, 'figures')
  assert labels.replicates(table.members) == 'seeds (each its mean over 2 folds)'
  sensitivity.plot_sensitivity(table, out, log=lambda _: None)
  importance_plot.plot_importance(table, out, log=lambda _: None)
  curves.plot_learning_curves(table, out, log=lambda _: None)
  heatmap.plot_heatmaps(table, out, log=lambda _: None)
  sens, imp, curve, heat = figs
  assert ('best configuration by mean mse, as the sweep ranks, at each value (1 seed (its '
          'mean over 2 folds) each)') in _caption(sens), _caption(sens)
  bars = [t.get_text() for t in imp.axes[0].get_yticklabels()]
  assert not any('seed' in b or 'fold' in b for b in bars), bars  # One seed: no bar.
  assert '2 folds as blocks: each member centred within its fold' in _caption(imp), (
      _caption(imp))
  assert "the configurations' other folds among them" in _caption(curve), _caption(curve)
  assert 'members on the last fold (the usual split), ranked by their configuration' in (
      _caption(curve)), _caption(curve)
  assert 'over seeds (each its mean over 2 folds) and the other hyperparameters' in (
      _caption(heat)), _caption(heat)
  both = _as_folds(fabricate(tmp_path / 'both', axes, lr_only, num_seeds=4), num_seeds=2)
  table = load.load(both)
  assert labels.replicates(table.members, 2) == '2 seeds (each its mean over 2 folds)'
  sensitivity.plot_sensitivity(table, os.path.join(both, 'figures'), log=lambda _: None)
  assert ('mean over its 2 seeds (each its mean over 2 folds), band: min-' in
          _caption(figs[-1])), _caption(figs[-1])


def _blocked(hp, seed):
  """Three folds (seed % 3 once _as_folds makes them) far apart, the same for every
  configuration; the learning rate a steady 10 % per decade; two seeds a little apart."""
  fold, replicate = seed % 3, seed // 3
  return ((1.0, 0.8, 0.6)[fold] * 1.1 ** math.log10(hp['learning_rate'] / 1e-4)
          * (1 + 0.003 * replicate + 0.002 * ((fold + replicate) % 2)))


def test_folds_are_blocks_not_replicates(tmp_path, monkeypatch):
  """A systematic fold effect (every configuration better on a later origin) is taken
  out before shares are attributed: the learning rate, which orders the configurations
  alike in every fold, explains most of what remains, not 'seed and fold'. The spread
  of a configuration is over its seeds' cross-validated means (tables count seeds), and
  the sensitivity star stands at the chosen configuration's mean, not at its last fold's
  member's value."""
  figs = _capture_figures(monkeypatch)
  axes = {'learning_rate': 'grid(1e-4,1e-3,1e-2)', 'dropout': 'grid(0,0.3)'}
  workdir = _as_folds(fabricate(tmp_path, axes, _blocked, num_seeds=6), num_seeds=2)
  table = load.load(workdir)
  result = importance.analyse(table)
  assert result['main']['learning_rate'] > 0.9, result
  assert result['seed'] < 0.1, result
  assert result['folds']['num_folds'] == 3 and result['folds'][
      'share_of_raw_variance'] > 0.8, result['folds']
  assert shares_total(result) == pytest.approx(1.0)
  names, rows_ = tables.rows(table)
  assert names == [] or all(r['seeds'] == 2 for r in rows_), rows_
  best = member_values.best_config(member_values.config_stats(table))
  # Each seed's mean over its three folds: 0.8 x (1 + small), so a spread of about 0.3 %.
  assert best['seeds'] == 2 and best['hi'] - best['lo'] < 0.01 * best['mean'], best
  sensitivity.plot_sensitivity(table, os.path.join(workdir, 'figures'), log=lambda _: None)
  star = [l for l in figs[-1].axes[0].get_lines() if l.get_marker() == '*']
  assert star and star[0].get_ydata()[0] == pytest.approx(best['mean'])
  text = tables.markdown(table)
  assert '| **2** | **6** |' in text, text  # Seeds, configurations.
  assert 'over its seeds (each its mean over 3 folds)' in text, text


def _clashing_x_labels(fig, ax) -> list:
  """Pairs of neighbouring x tick labels that overlap once drawn. Level labels by their
  boxes; turned ones (ha='right', rotation_mode='anchor') in their own frame: a step
  d along x puts the next label d*cos(a) along the text and d*sin(a) across it."""
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  canvas = backend_agg.FigureCanvasAgg(fig)
  canvas.draw()
  renderer = canvas.get_renderer()
  shown = sorted(((ax.transData.transform((t.get_position()[0], 1))[0], t)
                  for t in ax.get_xticklabels() if t.get_text() and t.get_visible()),
                 key=lambda p: p[0])
  clashes = []
  for (x0, a), (x1, b) in zip(shown, shown[1:]):
    angle = math.radians(b.get_rotation())
    if angle == 0:
      clash = a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer))
    else:
      width, height, _ = renderer.get_text_width_height_descent(
          b.get_text(), b.get_fontproperties(), ismath=False)
      d = x1 - x0
      clash = d * math.sin(angle) < height and d * math.cos(angle) < width
    if clash:
      clashes.append((a.get_text(), b.get_text()))
  return clashes


def test_learning_curves_of_a_sweep_that_writes_columns(tmp_path, monkeypatch):
  """Above evaluations.JSONL_MAX_MEMBERS members (lowered to 1 here) the evaluations
  are in metrics/*.npz and metrics.jsonl is empty: the curves come from the chunks."""
  from rnnjax.results import evaluations  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(evaluations, 'JSONL_MAX_MEMBERS', 1)
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback=4,
                         val_size=6, test_size=6, hidden_size='4', batch_size='4',
                         learning_rate='grid(3e-3,3e-2)', train_steps=4, eval_every=2)
  workdir = str(tmp_path / 'large')
  sweep.run_sweep(spec, workdir, log=lambda _: None)
  assert os.path.getsize(os.path.join(workdir, 'metrics.jsonl')) == 0
  table = load.load(workdir)
  logged = []
  paths = curves.plot_learning_curves(table, str(tmp_path / 'out'), log=logged.append)
  assert [os.path.basename(p) for p in paths] == ['learning_curves.png',
                                                  'learning_curves.pdf'], logged
  want = {}
  for r in evaluations.read_metrics(workdir):
    if (r['split'], r['metric']) == ('val', 'mse'):
      want.setdefault(r['uid'], []).append((r['step'], r['value']))
  got = curves.curves(table, 'mse')
  assert sorted(got) == sorted(want) == [0, 1]
  for uid, points in want.items():
    np.testing.assert_array_equal(got[uid][0], [s for s, _ in points])
    np.testing.assert_allclose(got[uid][1], [v for _, v in points])


def test_importance_figure_leaves_the_seed_out_with_one_seed(tmp_path, monkeypatch):
  """One seed per configuration cannot tell seed noise from the configurations: no
  'seed 0.0 %' bar; with two seeds the bar is there."""
  figs = _capture_figures(monkeypatch)
  axes = {'learning_rate': 'grid(1e-4,1e-3,1e-2)', 'dropout': 'grid(0,0.3)'}
  for seeds in (1, 2):
    workdir = fabricate(tmp_path / f'seeds{seeds}', axes, lr_only, num_seeds=seeds)
    importance_plot.plot_importance(load.load(workdir), os.path.join(workdir, 'figures'),
                                    log=lambda _: None)
  one, two = ([t.get_text() for t in fig.axes[0].get_yticklabels()] for fig in figs)
  assert not any(name.startswith('seed') for name in one), one
  assert 'seed (between replicates)' in two
  assert "seed's share cannot be estimated" in ' '.join(figs[0].get_supxlabel().split())


def test_pbt_sensitivity_draws_values_off_the_grid_as_ranges(tmp_path, monkeypatch):
  """PBT perturbs a grid's values (pbt.explore), so each member ends with its own: one
  category each crowded the x axis with overlapping labels. They are drawn on the
  grid's range instead."""
  figs = _capture_figures(monkeypatch, pdf=True)  # Its PNG and PDF, counted below.
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,3e-3,1e-2,3e-2,1e-1)',
                                 'dropout': 'grid(0,0.1,0.2,0.3)'}, lr_only, num_seeds=1)
  summary = files.read_json(os.path.join(workdir, 'summary.json'))
  rng = np.random.default_rng(0)
  for m in summary['members']:
    m['hparams']['learning_rate'] = float(np.clip(
        m['hparams']['learning_rate'] * 1.2 ** rng.integers(-3, 4), 1e-3, 1e-1))
    m['hparams']['dropout'] = float(np.clip(
        m['hparams']['dropout'] * 0.8 ** rng.integers(0, 3) + 0.01, 0, 0.3))
  files.write_json(os.path.join(workdir, 'summary.json'), summary)
  sweep_json = files.read_json(os.path.join(workdir, 'sweep.json'))
  sweep_json['spec']['search'] = 'pbt'
  files.write_json(os.path.join(workdir, 'sweep.json'), sweep_json)
  table = load.load(workdir)
  assert len(sensitivity.plot_sensitivity(table, str(tmp_path / 'out'),
                                          log=lambda _: None)) == 2
  for ax in figs[0].axes:
    assert not _clashing_x_labels(figs[0], ax), ax.get_xlabel()
  assert table.axes['learning_rate'].kind == 'loguniform'
  assert table.axes['learning_rate'].scale == 'log'
  assert table.axes['dropout'].kind == 'uniform'


def test_a_long_category_axis_keeps_its_labels_apart():
  from rnnjax.figures import style  # pylint: disable=g-import-not-at-top
  values = (0, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3,
            1e-2, 2e-2, 5e-2)
  axis = load.AxisInfo('weight_decay', 'grid', values, load.choose_scale('grid', values))
  assert axis.scale == 'category'
  for width in (style.COLUMN_WIDTH, style.FULL_WIDTH):
    with style.context():
      fig = style.new_figure(width, 2.0)
      ax = fig.add_subplot()
      ax.plot(range(len(values)), range(len(values)))
      style.set_axis(ax, axis)
      assert not _clashing_x_labels(fig, ax), width
      shown = [t.get_text() for t in ax.get_xticklabels()]
      assert shown[0] == '0' and all(l in ('', f) for l, f in zip(shown, labels.fmt_all(values)))
      assert sum(bool(l) for l in shown) >= len(values) // 3


def test_search_comparison_steps_run_on_to_show_the_last_value(tmp_path, monkeypatch):
  """A best-so-far that drops at the last evaluation (as a grid's does at the budget)
  is drawn as a level reaching the right edge, at the value the legend gives."""
  from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  runs = {'grid-0': {'strategy': 'grid', 'seed': 0, 'curve': [[8, 16, 24], [0.3, 0.2, 0.1414]]},
          'random-0': {'strategy': 'random', 'seed': 0,
                       'curve': [[8, 16, 24], [0.4, 0.25, 0.25]]}}
  out = {'metric': 'mse', 'budget_member_steps': 24, 'runs': runs,
         'table': {'grid': {'median_best_val': 0.1414, 'best_vals': [0.1414]},
                   'random': {'median_best_val': 0.25, 'best_vals': [0.25]}}}
  comparison.plot(out, str(tmp_path))
  ax = figs[0].axes[0]
  right = ax.get_xlim()[1]
  for line in ax.get_lines():
    x, y = (np.asarray(a, float) for a in line.get_data())
    final = float(line.get_label().split('(')[1].rstrip(')'))
    level = x[np.isclose(y, final)]
    assert level.size and level.max() - level.min() > 0.02 * right, line.get_label()
    assert level.max() >= right - 1e-9, line.get_label()
    # Its last point is at the edge: a marker there would be half outside the axes.
    marked = x[line.get_markevery()]
    assert marked.size and marked.max() < right, (line.get_label(), marked)


def test_search_comparison_caption_names_a_search_that_spent_less(tmp_path, monkeypatch):
  """TPE's 3 rounds of 2 members under a budget of 8 spend 6 of 8 members' steps, but its
  line runs on to the right edge like the others: the caption says what it spent."""
  from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  runs = {'random-0': {'strategy': 'random', 'seed': 0, 'curve': [[8, 16, 24], [.4, .3, .2]]},
          'tpe-0': {'strategy': 'tpe', 'seed': 0, 'curve': [[6, 12, 18], [.5, .3, .25]]}}
  out = {'metric': 'mse', 'budget_member_steps': 24, 'runs': runs,
         'table': {'random': {'median_best_val': 0.2, 'best_vals': [0.2]},
                   'tpe': {'median_best_val': 0.25, 'best_vals': [0.25]}}}
  comparison.plot(out, str(tmp_path))
  assert _caption(figs[0]).endswith(
      'Budget 24 member-steps; spent less: tpe 18 (median; past that a line holds its '
      'last value).'), _caption(figs[0])
  del runs['tpe-0'], out['table']['tpe']
  comparison.plot(out, str(tmp_path))
  assert _caption(figs[1]).endswith('Budget 24 member-steps each.'), _caption(figs[1])


def test_figures_under_an_ascii_locale(tmp_path):
  """Under LC_ALL=C without UTF-8 mode Python's default encoding is ASCII: every file
  the figures read and write names its encoding (table.md holds '±')."""
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)',
                                 'dropout': 'grid(0,0.2)'}, lr_only)
  env = {k: v for k, v in os.environ.items()
         if k not in ('LANG', 'LANGUAGE', 'PYTHONIOENCODING') and not k.startswith('LC_')}
  env.update(LC_ALL='C', PYTHONUTF8='0')
  code = ('import locale, sys\n'
          'print("encoding", locale.getpreferredencoding(False))\n'
          'from rnnjax import figures\n'
          'figures.make_all(sys.argv[1])\n')
  proc = subprocess.run([sys.executable, '-c', code, workdir], env=env, timeout=300,
                        capture_output=True, text=True, encoding='utf-8',
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  output = proc.stdout + proc.stderr
  if 'encoding UTF-8' in output:
    pytest.skip('this Python reads UTF-8 under LC_ALL=C')
  assert proc.returncode == 0 and 'failed' not in output, output
  with open(os.path.join(workdir, 'figures', 'table.md'), encoding='utf-8') as f:
    assert '±' in f.read()


def test_a_classification_sweeps_figures_draw_what_ranks(tmp_path):
  """Accuracy on a validation split of 13 cases ties (at 1.0, on a good day), while the
  ranking goes by cross-entropy: figures draw the cross-entropy, so the outlined best
  cell is the lowest drawn; progress lines and the ranked table still show accuracy (as
  the baselines do): the lines, that of the evaluation with the lowest cross-entropy. Members are chosen as before: by validation cross-entropy. A
  summary written before `plotted` draws the same."""
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(task='classify', dataset='ItalyPowerDemand', cell='gru',
                         hidden_size='grid(4,8)', batch_size='8',
                         learning_rate='grid(1e-2,3e-2)', train_steps=4, eval_every=2)
  workdir, lines = str(tmp_path / 'wd'), []
  summary = sweep.run_sweep(spec, workdir, log=lines.append)
  ce = {m['uid']: m['val']['ce'] for m in summary['members']}
  assert summary['ranking'] == sorted(ce, key=ce.get)
  table = load.load(workdir)
  assert (table.metric, table.shown, table.shown_mode) == ('ce', 'ce', 'min')
  _, _, grid, best, _ = heatmap.cells(table, 'hidden_size', 'learning_rate')
  assert grid[best] == np.nanmin(grid)
  assert (summary['selection']['metric'], summary['display'], summary['plotted']) == (
      'ce', 'accuracy', 'ce')
  chunks = [line for line in lines if line.startswith('chunk ')]
  assert all(' best val accuracy ' in line for line in chunks)
  # The last line's best is the ranking's best member's accuracy, beside its ce.
  best = summary['members'].record(summary['ranking'][0])['val']
  assert (f" best val accuracy {best['accuracy']:.4g} (ce {best['ce']:.4g}) "
          in chunks[-1])
  assert '| val ce |' in tables.markdown(table)
  path = os.path.join(workdir, 'summary.json')
  old = {k: v for k, v in files.read_json(path).items() if k != 'plotted'}
  files.write_json(path, old)
  assert load.load(workdir) == table
  # The confusion figure: the final model's test cases by true (rows) and predicted class,
  # the counts of the per-class line (found on the diagonal, cases and predictions the
  # rows' and columns' sums).
  final = summary['final']
  counts = np.array(final['test_confusion'])
  per_class = final['test_per_class']
  assert counts.sum() == 1029  # ItalyPowerDemand's test cases, every one counted once.
  np.testing.assert_array_equal(np.diag(counts), [v['found'] for v in per_class.values()])
  np.testing.assert_array_equal(counts.sum(1), [v['cases'] for v in per_class.values()])
  np.testing.assert_array_equal(counts.sum(0), [v['predicted'] for v in per_class.values()])
  logged, drawn = [], []
  draw = confusion.draw
  confusion.draw = lambda *args, **kw: drawn.append(args) or draw(*args, **kw)
  try:
    paths = confusion.plot_confusion(table, str(tmp_path / 'fig'), log=logged.append)
  finally:
    confusion.draw = draw
  assert drawn == [(str(tmp_path / 'fig'), final['test_confusion'], list(per_class))]
  assert [os.path.basename(p) for p in paths] == ['confusion.png', 'confusion.pdf']
  assert logged == [f'figures: wrote {paths[0]}']
  older = dataclasses.replace(table, final={k: v for k, v in final.items()
                                            if k != 'test_confusion'})
  assert confusion.plot_confusion(older, str(tmp_path / 'old'), log=logged.append) == []
  assert logged[-1].startswith('figures: confusion skipped (summary.json holds no final ')
  assert confusion.plot_confusion(dataclasses.replace(table, task='forecast'),
                                  str(tmp_path / 'none')) == []


@pytest.mark.usefixtures('default_signals')
def test_the_confusion_figure_draws_each_true_class_as_a_row_of_shares():
  """Rows: true classes with their case counts; columns: predicted; colour: the share of
  the row; numbers: the counts, at (predicted, true); an absent class grey."""
  fig = confusion.figure([[3, 1, 0], [0, 2, 0], [0, 0, 0]], ['a', 'b', 'c'], what='cases')
  ax = fig.axes[0]
  shares = ax.images[0].get_array()
  np.testing.assert_allclose(shares.filled(-1), [[0.75, 0.25, 0], [0, 1, 0], [-1, -1, -1]])
  assert [t.get_text() for t in ax.get_yticklabels()] == ['a (4)', 'b (2)', 'c (0)']
  assert [t.get_text() for t in ax.get_xticklabels()] == ['a', 'b', 'c']
  assert {(t.get_position(), t.get_text()) for t in ax.texts} == {
      ((0, 0), '3'), ((1, 0), '1'), ((1, 1), '2'), ((2, 2), '0')}
  assert fig._suptitle.get_text() == ('cases:\n5 of 6 cases right (accuracy 0.833, '
                                      'balanced 0.875)')
  assert confusion.figure([[0]], ['a'], what='none')._suptitle.get_text() == 'none: no cases'


def test_a_figure_stopped_while_saved_leaves_the_last_one_whole(tmp_path, monkeypatch):
  """SIGTERM while the figures are drawn after a sweep (stop.raising): one Stopped, not
  caught as one figure's failure, and each file is the old one whole, no part of a new."""
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2)'}, lr_only)
  out = os.path.join(workdir, 'figures')
  figures.make_all(workdir, log=lambda _: None)
  before = {n: open(os.path.join(out, n), 'rb').read() for n in os.listdir(out)}
  drawn = []

  def stopped(fig, path, **kwargs):
    del fig, kwargs
    drawn.append(path)
    with open(path, 'wb') as f:
      f.write(b'%PDF-half')
    os.kill(os.getpid(), signal.SIGTERM)
  monkeypatch.setattr(figures.style.mpl_figure.Figure, 'savefig', stopped)
  logged = []
  with pytest.raises(stop.Stopped, match='^SIGTERM received while drawing; ') as e:
    with stop.raising('drawing'):
      figures.make_all(workdir, log=logged.append)
  assert e.value.exit_code == 143 and len(drawn) == 1 and not logged
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # Given back.
  assert {n: open(os.path.join(out, n), 'rb').read() for n in os.listdir(out)} == before


def test_learning_curves_leave_out_members_ranked_by_their_initial_weights(tmp_path,
                                                                           monkeypatch):
  """A member that diverged before its first evaluation is ranked by its initial weights
  (summary._rank), with no point to draw: the legend lists the top 5 with curves and the
  caption says who was passed over; the grey count is of curves drawn grey."""
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)'}, lr_only,
                      diverged=(3,))
  summary = json.load(open(os.path.join(workdir, 'summary.json')))
  summary['ranking'].insert(1, 3)  # Its untrained weights scored second best.
  files.write_json(os.path.join(workdir, 'summary.json'), summary)
  figs = _capture_figures(monkeypatch)
  curves.plot_learning_curves(load.load(workdir), str(tmp_path / 'out'), log=lambda _: None)
  (fig,) = figs
  legend = [t.get_text() for ax in fig.axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]
  assert [int(t.split('uid ')[1].split(':')[0]) for t in legend] == [
      u for u in summary['ranking'] if u != 3][:5]
  caption = ' '.join(fig._supxlabel.get_text().split())  # pylint: disable=protected-access
  assert caption.startswith('Grey: the other 2 members; colour: the top 5 ')
  assert '1 member(s) ranked among them not drawn: diverged before their first' in caption


# --- new users' reports: small random sweeps, halving, ties, formats --------------------

def _caption(fig) -> str:
  return ' '.join(fig.get_supxlabel().split())


def test_sensitivity_of_a_few_random_configurations(tmp_path, monkeypatch):
  """Six configurations over three cells: no colour has enough for a binned mean, so the
  caption says dots only; the best configuration's star is hollow (the point it marks
  shows) and inside the view; a learning rate's ticks take one form."""
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru,rnn_tanh)',
                                 'learning_rate': 'loguniform(1e-3,3e-2)'}, lr_only,
                      search_kind='random', num_members=6, num_seeds=2)
  table = load.load(workdir)
  per_cell = [sum(c['hparams']['cell'] == v for c in member_values.config_stats(table))
              for v in table.axes['cell'].values]
  assert max(per_cell) < sensitivity.MIN_BINNED, per_cell
  figs = _capture_figures(monkeypatch)
  sensitivity.plot_sensitivity(table, str(tmp_path / 'out'), log=lambda _: None)
  (fig,) = figs
  caption = _caption(fig)
  assert 'dots only' in caption and 'line: binned mean' not in caption, caption
  best = member_values.best_config(member_values.config_stats(table))['mean']
  for ax in fig.axes:
    (star,) = [l for l in ax.get_lines() if l.get_marker() == '*']
    assert star.get_markerfacecolor() == 'none'
    low, high = np.log10(ax.get_ylim())
    assert low + 0.05 * (high - low) < np.log10(best) < high, ax.get_xlabel()
  lr = next(ax for ax in fig.axes if ax.get_xlabel() == 'learning rate')
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  backend_agg.FigureCanvasAgg(fig).draw()
  ticks = [t.get_text() for t in lr.get_xticklabels() + lr.get_xticklabels(minor=True)
           if t.get_text() and 1e-3 <= t.get_position()[0] <= 3e-2]
  assert len(ticks) > 1 and len({'e' in t for t in ticks}) == 1, ticks


def test_the_best_star_sits_where_its_group_draws_its_value(tmp_path, monkeypatch):
  """Lines grouped by width are shifted sideways at each cell (style.dodge): the star is
  at its group's shifted place, not between the groups."""
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)', 'hidden_size': 'grid(8,16)'},
                      lr_only)
  figs = _capture_figures(monkeypatch)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'),
                               group_by='hidden_size', log=lambda _: None)
  (fig,) = figs
  ax = next(ax for ax in fig.axes if ax.get_xlabel() == 'cell')
  (star,) = [l for l in ax.get_lines() if l.get_marker() == '*']
  drawn = {round(float(x), 9) for l in ax.get_lines() if l.get_marker() == 'o'
           for x in l.get_xdata()}
  assert round(float(star.get_xdata()[0]), 9) in drawn, (star.get_xdata(), drawn)


def test_the_grouping_axis_own_panel_draws_each_value_in_its_groups_colour(tmp_path,
                                                                          monkeypatch):
  """--group_by=cell: the cell panel's points took their group's colour, but their
  min-max bars were black and their dots grey (a user's finding): all three take it."""
  from matplotlib import colors as mcolors  # pylint: disable=g-import-not-at-top
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)', 'hidden_size': 'grid(8,16)'},
                      lambda hp, s: lr_only(hp, s) * (1 + (hp['cell'] == 'gru')))
  figs = _capture_figures(monkeypatch)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'),
                               group_by='cell', log=lambda _: None)
  ax = next(ax for ax in figs[0].axes if ax.get_xlabel() == 'cell')
  groups = {mcolors.to_hex(style.OKABE_ITO[g]) for g in range(2)}
  bars = {mcolors.to_hex(c.get_color()[0]) for c in ax.collections
          if type(c).__name__ == 'LineCollection'}
  dots = {mcolors.to_hex(rgba) for c in ax.collections
          if type(c).__name__ == 'PathCollection' for rgba in c.get_facecolors()}
  assert bars == groups and dots == groups, (bars, dots, groups)


def _lucky_seed(hp, seed):
  """Validation MSE where (lr 1e-2, dropout 0) has the best member, by one lucky seed,
  and a poor mean; (lr 1e-3, dropout 0.2) the best mean over its two seeds."""
  if (hp['learning_rate'], hp['dropout']) == (1e-2, 0):
    return (0.05, 2.0)[seed]
  if (hp['learning_rate'], hp['dropout']) == (1e-3, 0.2):
    return 0.2 + 0.01 * seed
  return 1.0 + 0.01 * seed


def test_the_mark_is_the_best_configuration_not_one_lucky_seeds(tmp_path, monkeypatch):
  """Two seeds, and the best member's configuration has the worse mean (one lucky seed):
  the heatmap outlines the square of the configuration with the best mean over its seeds,
  the lowest drawn, and the sensitivity star sits at that configuration's mean, the
  point drawn for it; the captions say so. With one seed, the best member's, in the
  same words as before."""
  axes = {'learning_rate': 'grid(1e-3,1e-2)', 'dropout': 'grid(0,0.2)'}
  table = load.load(fabricate(tmp_path / 'two', axes, _lucky_seed, num_seeds=2))
  lucky = table.members[int(np.nanargmin(member_values.values(table)))]['hparams']
  assert (lucky['learning_rate'], lucky['dropout']) == (1e-2, 0)
  rows, cols, grid, best, _ = heatmap.cells(table, 'learning_rate', 'dropout')
  assert best == (table.axes['learning_rate'].values.index(1e-3),
                  table.axes['dropout'].values.index(0.2)), (rows, cols, best)
  assert grid[best] == np.nanmin(grid)
  figs = _capture_figures(monkeypatch)
  heatmap.plot_heatmap(table, str(tmp_path / 'out'), 'learning_rate', 'dropout',
                       log=lambda _: None)
  assert ('outlined square: the one holding the best configuration (best mean validation '
          'mse over its seeds, as the sweep ranks);') in _caption(figs[-1]), _caption(figs[-1])
  sensitivity.plot_sensitivity(table, str(tmp_path / 'out'), log=lambda _: None)
  fig = figs[-1]
  steady = np.mean([math.sqrt(_lucky_seed({'learning_rate': 1e-3, 'dropout': 0.2}, s))
                    for s in (0, 1)])
  for ax in fig.axes:
    (star,) = [l for l in ax.get_lines() if l.get_marker() == '*']
    name = 'learning_rate' if ax.get_xlabel() == 'learning rate' else 'dropout'
    at = style.coords(table.axes[name], [{'learning_rate': 1e-3, 'dropout': 0.2}[name]])
    np.testing.assert_allclose(star.get_xdata(), at)
    np.testing.assert_allclose(star.get_ydata(), [steady], rtol=1e-12)
  assert ('Star: the best configuration by mean mse, as the sweep ranks, at its mean over '
          'its 2 seeds.') in _caption(fig), _caption(fig)
  assert 'best configuration' in [t.get_text() for t in fig.legends[0].get_texts()]
  one = load.load(fabricate(tmp_path / 'one', axes, _lucky_seed, num_seeds=1))
  _, _, grid, best, _ = heatmap.cells(one, 'learning_rate', 'dropout')
  assert best == (1, 0) and grid[best] == np.nanmin(grid)
  heatmap.plot_heatmap(one, str(tmp_path / 'out1'), 'learning_rate', 'dropout',
                       log=lambda _: None)
  assert "outlined square: the best member's (ranked by validation mse);" in (
      _caption(figs[-1])), _caption(figs[-1])
  sensitivity.plot_sensitivity(one, str(tmp_path / 'out1'), log=lambda _: None)
  assert 'Star:' not in _caption(figs[-1])
  assert 'best member' in [t.get_text() for t in figs[-1].legends[0].get_texts()]


def _by_hand(workdir, seeds: dict) -> tuple:
  """(the summary's ConfigTable, the figures' load.Table) of member records written by
  hand, no sweep: seeds: (learning rate, dropout) -> [(status, validation MSE or None:
  no finite value)], one configuration each."""
  records = []
  for config, (hp, values) in enumerate(seeds.items()):
    for seed, (status, mse) in enumerate(values):
      records.append({'uid': len(records), 'bucket': 0, 'config': config, 'seed': seed,
                      'fold': 0, 'hparams': dict(zip(('learning_rate', 'dropout'), hp)),
                      'status': status, 'best_step': 40, 'steps': 50,
                      'val': {'mse': mse, 'rmse': None if mse is None else math.sqrt(mse)}})
  configs = config_table.ConfigTable.of(member_table.MemberTable.from_records(records),
                                        'mse', 'rmse')
  os.makedirs(workdir)
  files.write_json(os.path.join(workdir, files.SUMMARY),
                   {'task': 'forecast', 'selection': {'metric': 'mse', 'mode': 'min'},
                    'display': 'rmse', 'display_mode': 'min', 'members': records,
                    'ranking': [], 'configs': configs})
  return configs, load.load(str(workdir))


def test_a_member_that_diverged_before_its_first_evaluation_is_said_untrained(tmp_path):
  """Its best weights are those it started with (best step 0): the captions' sentence on
  diverged members says how many count at the untrained network's value."""
  _, table = _by_hand(tmp_path / 'w', {(1e-3, 0.0): [('diverged', 0.8), ('diverged', 0.2),
                                                     ('ok', 0.1)]})
  said = '2 diverged member(s) drawn at their best value before diverging'
  assert labels.diverged(table) == said + '.'
  table.members[0]['best_step'] = 0
  assert labels.diverged(table) == said + (" (1 of them the untrained network's: diverged "
                                           'before their first evaluation).')


def test_one_lucky_survivor_loses_to_seeds_that_all_count(tmp_path, monkeypatch):
  """A configuration whose one seed with a value is the best member, its other two
  without a finite value, ranks below one whose three seeds all count, though its mean
  is worse: in the summary's configuration table and the figures' best configuration
  alike (config_table.rank_configs). Its point is not drawn white (no member of it
  diverged with a value: white marks those); the two without one are counted."""
  configs, table = _by_hand(tmp_path / 'w', {
      (1e-3, 0.0): [('ok', 0.1), ('diverged', None), ('diverged', None)],
      (1e-2, 0.2): [('ok', 0.5), ('ok', 0.6), ('ok', 0.7)]})
  assert [(c['config'], c['usable']) for c in configs] == [(1, 3), (0, 1)]
  stats = member_values.config_stats(table)
  assert member_values.best_config(stats)['config'] == configs[0]['config'] == 1
  assert [(c['dropped'], c['diverged']) for c in stats] == [(2, 0), (0, 0)]
  figs = _capture_figures(monkeypatch, draw=False)
  sensitivity.plot_sensitivity(table, str(tmp_path / 'out'), log=lambda _: None)
  (fig,) = figs
  caption = _caption(fig)
  assert sensitivity.WHITE not in caption, caption
  assert not [l for ax in fig.axes for l in ax.get_lines() if l.get_markerfacecolor() == 'white']
  assert '2 member(s) without a finite value not shown.' in caption, caption
  assert 'fewest seeds without a finite value first' in caption, caption
  for ax in fig.axes:
    (star,) = [l for l in ax.get_lines() if l.get_marker() == '*']
    np.testing.assert_allclose(star.get_ydata(), [np.mean(np.sqrt([0.5, 0.6, 0.7]))])


def test_a_diverged_member_counts_at_its_best_before(tmp_path, monkeypatch):
  """A seed that diverged after reaching 0.1 counts at that value, as the sweep ranks it:
  its configuration's mean over its three seeds is the best, in the summary's table and
  the figures alike, and the captions say that it is drawn at its best before; its
  point on the sensitivity figure's lines is white."""
  configs, table = _by_hand(tmp_path / 'w', {
      (1e-3, 0.0): [('diverged', 0.1), ('ok', 0.5), ('ok', 0.5)],
      (1e-2, 0.2): [('ok', 0.4), ('ok', 0.4), ('ok', 0.4)]})
  assert [(c['config'], c['usable']) for c in configs] == [(0, 3), (1, 3)]
  assert member_values.usable(table).all()
  stats = member_values.config_stats(table)
  best = member_values.best_config(stats)
  assert best['config'] == configs[0]['config'] == 0 and best['members'] == [0, 1, 2]
  assert best['mean'] == pytest.approx(np.mean(np.sqrt([0.1, 0.5, 0.5])))
  rows, cols, _, square, _ = heatmap.cells(table, 'learning_rate', 'dropout')
  assert square == (0, 0), (rows, cols, square)
  figs = _capture_figures(monkeypatch, draw=False)
  heatmap.plot_heatmap(table, str(tmp_path / 'out'), 'learning_rate', 'dropout',
                       log=lambda _: None)
  sensitivity.plot_sensitivity(table, str(tmp_path / 'out'), log=lambda _: None)
  said = '1 diverged member(s) drawn at their best value before diverging.'
  for fig in figs:
    caption = _caption(fig)
    assert said in caption and 'not shown' not in caption, caption
  grey = 'grey: no configuration there, or none with a finite value.'  # Or a bin none fell in.
  assert grey in _caption(figs[0]), _caption(figs[0])
  assert sensitivity.WHITE in _caption(figs[1]), _caption(figs[1])
  assert '1 diverged member(s) counted at' in tables.markdown(table)


def test_heatmap_levels_of_values_many_members_share_are_not_one_bin():
  """A drawn axis after PBT: most members keep their grid's values (clip 1 or 5), a few
  were perturbed. Quantiles of every member's value tied at 1 and 5 and left one bin
  (the heatmap skipped); bins of the distinct values keep 1 and 5 apart. Few distinct
  values: a level each, labelled exactly."""
  column = [1.0] * 40 + [5.0] * 40 + [0.8, 1.2, 1.5, 2.5, 4.0, 6.0]
  axis = load.AxisInfo('clip_norm', 'uniform', tuple(sorted(set(column))), 'linear')
  names, level = heatmap._levels(axis, column)  # pylint: disable=protected-access
  assert len(names) > 1 and level[0] != level[40], (names, level)
  assert (np.diff(level[np.argsort(column, kind='stable')]) >= 0).all()  # In order.
  few = [1.0] * 10 + [5.0] * 10 + [2.0]
  names, level = heatmap._levels(  # pylint: disable=protected-access
      dataclasses.replace(axis, values=(1.0, 2.0, 5.0)), few)
  assert names == ['1', '2', '5'] and list(level) == [0] * 10 + [2] * 10 + [1]


def test_a_point_whose_configuration_has_a_diverged_member_is_drawn_white_and_said(
    tmp_path, monkeypatch):
  """The best configuration at a learning rate of 1e-2 and at a dropout of 0 has a seed
  that diverged after reaching 0.2 (counted there, as the sweep ranks it): at those two
  points the lines are drawn white inside, and the caption says what white means (else
  a configuration that was unstable reads as any other). None diverged: no white
  point, no sentence."""
  figs = _capture_figures(monkeypatch, draw=False)

  def white_points(seeds, workdir):
    _, table = _by_hand(workdir, seeds)
    sensitivity.plot_sensitivity(table, str(workdir / 'out'), log=lambda _: None)
    return table, _caption(figs[-1]), {
        ax.get_xlabel(): [(l.get_xdata(), l.get_ydata()) for l in ax.get_lines()
                          if l.get_marker() == 'o' and l.get_markerfacecolor() == 'white']
        for ax in figs[-1].axes}

  seeds = {(1e-3, 0.0): [('ok', 0.5), ('ok', 0.5)], (1e-3, 0.2): [('ok', 0.6), ('ok', 0.6)],
           (1e-2, 0.0): [('diverged', 0.2), ('ok', 0.4)],
           (1e-2, 0.2): [('ok', 0.45), ('ok', 0.45)]}
  table, caption, white = white_points(seeds, tmp_path / 'diverged')
  assert sensitivity.WHITE in caption, caption
  assert '1 diverged member(s) drawn at their best value before diverging.' in caption
  mean = np.mean(np.sqrt([0.2, 0.4]))  # Its mean, the diverged seed at its best.
  for name, value in (('learning_rate', 1e-2), ('dropout', 0.0)):
    (x, y), = white[labels.label(name)]
    np.testing.assert_allclose(x, style.coords(table.axes[name], [value]))
    np.testing.assert_allclose(y, [mean])
  seeds[(1e-2, 0.0)][0] = ('ok', 0.2)
  _, caption, white = white_points(seeds, tmp_path / 'whole')
  assert not any(white.values()) and sensitivity.WHITE not in caption, caption


def test_the_grouping_axis_own_panel_colours_each_value_as_its_legend(tmp_path,
                                                                       monkeypatch):
  """Lines grouped by cell: on the cell panel each value is a group, its best point in
  the colour the legend gives it (drawn all grey before, under a legend of colours)."""
  from matplotlib import colors as mcolors  # pylint: disable=g-import-not-at-top
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)', 'hidden_size': 'grid(8,16)'},
                      lr_only)
  figs = _capture_figures(monkeypatch)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'), group_by='cell',
                               log=lambda _: None)
  (fig,) = figs
  legend = {t.get_text(): mcolors.to_hex(h.get_color())
            for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)}
  ax = next(ax for ax in fig.axes if ax.get_xlabel() == 'cell')
  names = [t.get_text() for t in ax.get_xticklabels()]
  drawn = {names[int(l.get_xdata()[0])]: mcolors.to_hex(l.get_color())
           for l in ax.get_lines() if l.get_marker() == 'o' and len(l.get_xdata()) == 1}
  assert drawn == {c: legend[f'cell = {c}'] for c in ('lstm', 'gru')}, (drawn, legend)


def test_a_binned_mean_of_tied_values_has_a_bin_per_value():
  """PBT's copies share values: quantile edges tied at 0 put every point in one bin (no
  line, under a caption promising one); a bin per value draws the line."""
  x = np.array([0, 0, 0, 0, 0, 0.06, 0.2])
  y = np.array([5., 6, 7, 8, 9, 3, 1])
  bx, by = sensitivity._binned(x, y, False, False)  # pylint: disable=protected-access
  np.testing.assert_allclose(bx, [0, 0.06, 0.2])
  np.testing.assert_allclose(by, [7, 3, 1])
  spread = np.linspace(1, 2, 12)  # No ties: quantile bins, as before (3 of 4 points).
  bx, _ = sensitivity._binned(spread, spread, False, False)  # pylint: disable=protected-access
  assert len(bx) == 3


@pytest.mark.parametrize('num_seeds,star,columns', [(1, 'best member', 3),
                                                    (2, 'best configuration', 2)])
def test_a_legend_of_five_fills_its_rows_evenly_inside_the_figure(tmp_path, monkeypatch,
                                                                  num_seeds, star, columns):
  """Five entries: 3 + 2 in either direction, never 4 + 1 (the star's longer name over
  seeds takes a third row, not the figure's edge)."""
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  workdir = fabricate(tmp_path, {'cell': 'grid(rnn_tanh,rnn_relu,lstm,gru)',
                                 'hidden_size': 'grid(8,16)'}, lr_only, num_seeds=num_seeds)
  figs = _capture_figures(monkeypatch)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'), group_by='cell',
                               log=lambda _: None)
  (fig,) = figs
  (legend,) = fig.legends
  texts = [t.get_text() for t in legend.get_texts()]
  assert len(texts) == 5 and texts[-1] == star
  assert legend._ncols == columns  # pylint: disable=protected-access
  canvas = backend_agg.FigureCanvasAgg(fig)
  canvas.draw()
  box = legend.get_window_extent(canvas.get_renderer())
  assert 0 <= box.x0 and box.x1 <= fig.bbox.x1, (box, fig.bbox)


def test_fmt_all_writes_one_form():
  assert labels.fmt_all([3e-3, 3e-2]) == ['3e-3', '3e-2']
  assert labels.fmt_all([0.03, 0.3]) == ['0.03', '0.3']
  assert labels.fmt_all([0.0, 1e-3, 0.1]) == ['0', '1e-3', '1e-1']
  assert labels.fmt_all([8, 16]) == ['8', '16'] and labels.fmt_all(['gru']) == ['gru']


def test_halving_captions_say_members_were_scored_at_different_budgets(tmp_path,
                                                                       monkeypatch):
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)',
                                 'learning_rate': 'grid(1e-3,1e-2)'}, lr_only,
                      stopped=(1, 2, 3))
  table = load.load(workdir)
  figs = _capture_figures(monkeypatch)
  out = str(tmp_path / 'out')
  sensitivity.plot_sensitivity(table, out, log=lambda _: None)
  heatmap.plot_heatmaps(table, out, log=lambda _: None)
  said = ('Scored at different budgets: 3 of 8 members were stopped early, after 30 of '
          "50 steps; they are shown beside members trained in full (one configuration's "
          'seeds can mix budgets).')
  for fig in figs:
    assert said in _caption(fig)
  assert said in ' '.join(tables.markdown(table).split())
  heat = _caption(figs[1])
  assert heat.startswith('Square: mean validation') and 'Cell' not in heat
  # Nothing is said where every member trained in full.
  assert labels.budgets(load.load(fabricate(tmp_path / 'full', {
      'cell': 'grid(lstm,gru)'}, lr_only)).members) == ''


def test_learning_curves_count_the_grey_lines_they_draw(tmp_path, monkeypatch):
  """Members halving stopped at their first evaluation have no line: the caption counts
  the grey lines and the single points (drawn as dots) apart."""
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'cell': 'grid(lstm,gru)'}, lr_only, num_seeds=1)
  stopped = load.load(workdir).ranking[-2:]  # Outside the top 5 of 8.
  path = os.path.join(workdir, 'metrics.jsonl')
  records = [json.loads(line) for line in open(path)]
  with open(path, 'w') as f:
    for r in records:
      if not (r['uid'] in stopped and r['step'] > 10):
        f.write(json.dumps(r) + '\n')
  table = load.load(workdir)
  figs = _capture_figures(monkeypatch)
  curves.plot_learning_curves(table, str(tmp_path / 'out'), log=lambda _: None)
  (fig,) = figs
  assert _caption(fig).startswith('Grey: the other 1 member with more than one '
                                  'evaluation; 2 with one (stopped at their first), as '
                                  'dots; colour: the top 5 '), _caption(fig)
  (dots,) = fig.axes[0].collections[1:]
  assert len(dots.get_offsets()) == 2
  # One of them diverged after its first evaluation: said apart.
  next(m for m in table.members if m['uid'] == stopped[0])['status'] = 'diverged'
  curves.plot_learning_curves(table, str(tmp_path / 'out'), log=lambda _: None)
  assert ('2 with one (1 stopped at, 1 diverged after their first), as dots'
          in _caption(figs[-1])), _caption(figs[-1])
  # Every member outside the top at one evaluation (halving's first rung): no grey line
  # to count ('the other 0 members with more than one evaluation').
  stopped = table.ranking[-3:]
  with open(path, 'w') as f:
    for r in records:
      if not (r['uid'] in stopped and r['step'] > 10):
        f.write(json.dumps(r) + '\n')
  curves.plot_learning_curves(load.load(workdir), str(tmp_path / 'out'), log=lambda _: None)
  assert _caption(figs[-1]).startswith('Grey: 3 other members with one evaluation (stopped '
                                       'at their first), as dots; colour: the top 5 '), (
                                           _caption(figs[-1]))


def test_importance_attributes_nothing_from_too_few_configurations(tmp_path, monkeypatch):
  """Six configurations for three axes (a new user's random sweep): no share per axis,
  not 0 % bars a reader takes for 'does not matter'; the figure says why."""
  workdir = fabricate(tmp_path / 'few', {'cell': 'grid(lstm,gru,rnn_tanh)',
                                         'num_layers': 'grid(1,2)',
                                         'learning_rate': 'loguniform(1e-3,3e-2)'},
                      lr_only, search_kind='random', num_members=6, num_seeds=2)
  table = load.load(workdir)
  result = importance.analyse(table)
  assert result['not_attributed'].startswith('too few configurations to attribute (6 for 3')
  assert set(result['main'].values()) == {None} and result['pairs'] == []
  np.testing.assert_allclose(result['unexplained'] + result['seed'], 1.0)
  assert importance.top_axes(result, 2) == ['cell', 'num_layers']  # Plan order.
  figs = _capture_figures(monkeypatch)
  importance_plot.plot_importance(table, str(tmp_path / 'out'), result, log=lambda _: None)
  (fig,) = figs
  ax = fig.axes[0]
  rows = [t.get_text() for t in ax.get_yticklabels()]
  assert rows[:3] == ['cell', 'num layers', 'learning rate']
  assert len(ax.patches) == 2  # Between configurations and seed: no bar for an axis.
  assert [t.get_text() for t in ax.texts].count('not attributed') == 3
  assert ax.get_title(loc='left') == 'Too few configurations: not attributed'
  assert 'Not attributed: too few configurations' in _caption(fig)
  # How much variance there is to share: the caption says it, in the metric analysed.
  total = result['total_variance']
  assert total > 0 and (f'The variance shared out: {total:.2g} (sd {math.sqrt(total):.2g} '
                        'in log val mse).') in _caption(fig), _caption(fig)
  # Enough configurations, but a metric the hyperparameters do not explain.
  noise = lambda hp, s: 1 + np.random.default_rng(
      int(hp['learning_rate'] * 1e12) % 2**32).random()
  workdir = fabricate(tmp_path / 'noise', {'learning_rate': 'loguniform(1e-4,1e-1)',
                                           'dropout': 'uniform(0,0.5)'},
                      noise, search_kind='random', num_members=40, num_seeds=1)
  result = importance.analyse(load.load(workdir))
  assert result['not_attributed'].startswith('the surrogate explains too little'), result


def _finished(workdir, *, cell, val, test, final, test_size=12, tested=(0, 1)):
  """A finished sweep's summary.json and sweep.json, as `figures.compare` reads them:
  configuration 0 (uids 0, 1) ranked first on validation with RMSEs `val`, the members
  in `tested` tested with RMSEs `test`; the final model's (val, test) RMSE `final`."""
  os.makedirs(workdir)
  members = [{'uid': u, 'bucket': 0, 'config': u // 2, 'seed': u % 2, 'fold': 0,
              'hparams': {'cell': cell, 'learning_rate': [1e-3, 1e-2][u // 2]},
              'status': 'ok', 'best_step': 10, 'steps': 10,
              'val': {'mse': v ** 2, 'rmse': v}} for u, v in enumerate(val + [9.0, 9.5])]
  for u, t in zip(tested, test):
    members[u]['test'] = {'mse': t ** 2, 'rmse': t}
  configs = [{'config': c, 'uids': [2 * c, 2 * c + 1], 'usable': 2,
              'val': {m: {'mean': float(np.mean([members[u]['val'][m] for u in (2 * c,
                                                                               2 * c + 1)])),
                          'sd': 0.5} for m in ('mse', 'rmse')}} for c in (0, 1)]
  files.write_json(os.path.join(workdir, files.SUMMARY), {
      'task': 'forecast', 'search': 'grid', 'selection': {'metric': 'mse', 'mode': 'min'},
      'display': 'rmse', 'members': members, 'ranking': [0, 1, 2, 3], 'configs': configs,
      'best': members[0], 'final': {'kind': 'ensemble', 'members': [0, 1],
                                    'val': {'rmse': final[0]}, 'test': {'rmse': final[1]}},
      'data': {'split_points': [100, 100 + test_size], 'windows': {'test': test_size}},
      'timing': {'total_s': 12.5}, 'member_steps': {'useful': 40}})
  files.write_json(os.path.join(workdir, files.SWEEP), {'spec': {
      'task': 'forecast', 'dataset': 'wineind_sales', 'cell': cell, 'test_size': test_size,
      'learning_rate': 'grid(1e-3,1e-2)', 'seed': 0}, 'data_digests': {}})
  return workdir


def test_finished_sweeps_side_by_side(tmp_path):
  lstm = _finished(str(tmp_path / 'lstm'), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                   final=(1.5, 4.5))
  gru = _finished(str(tmp_path / 'gru'), cell='gru', val=[1.0, 2.0], test=[7.0],
                  final=(0.5, 8.0), tested=(1,))
  text, paths = figures.compare([lstm, gru], out_dir=str(tmp_path / 'out'))
  rows = text.splitlines()
  assert rows[0].startswith('| run | differs | members |') and len(rows) == 7
  assert rows[6] == "note: gru: its best config's test figure is over 1 of 2 members"
  assert rows[5].startswith("best config: the configuration ranked first by its seeds' "
                            'mean validation mse, its rmse mean +- sd')
  # The order given, whatever the test figures say; the best configuration's seeds'
  # validation mean and sd, and the test of those the sweep tested.
  assert rows[2].startswith('| lstm | cell=lstm | 4 | 12.5 | 2.5 +- 0.5 | 5 +- 1.414 | '
                            'learning_rate=0.001 | ensemble of 2: uids 0,1 | 1.5 | 4.5 |')
  assert rows[3].startswith('| gru | cell=gru | 4 | 12.5 | 1.5 +- 0.5 | 7 | ')
  assert open(paths[0]).read() == text + '\n'
  with open(paths[1]) as f:
    table = list(csv.DictReader(f))
  assert [r['run'] for r in table] == ['lstm', 'gru']
  assert (table[0]['best_test_mean'], table[0]['best_test_sd']) == ('5.0', '1.4142135')
  assert table[1]['best_test_sd'] == '' and table[1]['final_test'] == '8.0'
  # Another test part: said, since those test figures do not compare.
  other = _finished(str(tmp_path / 'other'), cell='gru', val=[1.0, 2.0], test=[3.0, 3.0],
                    final=(1.0, 1.0), test_size=24)
  text, paths = figures.compare([lstm, other])
  assert paths == [] and text.splitlines()[-1] == (
      'note: other was tested on other data than lstm (test_size, test start, test '
      'windows differ): their test figures are not comparable')
  # A sweep of a user's file beside one of a bundled set (only the first has a digest),
  # in either order: said, not a KeyError's traceback.
  own = _finished(str(tmp_path / 'own'), cell='gru', val=[1.0, 2.0], test=[3.0, 3.0],
                  final=(1.0, 1.0))
  sweep_json = files.read_json(os.path.join(own, files.SWEEP))
  sweep_json['spec'].update(dataset='', csv_path='mine.csv')
  sweep_json['data_digests'] = {'csv_path': '0123456789abcdef'}
  files.write_json(os.path.join(own, files.SWEEP), sweep_json)
  for pair, label, first in (([lstm, own], 'own', 'lstm'), ([own, lstm], 'lstm', 'own')):
    text, _ = figures.compare(pair)
    assert text.splitlines()[-1] == (
        f'note: {label} was tested on other data than {first} (dataset, csv_path, csv_path '
        'digest differ): their test figures are not comparable'), text
  # Another validation part, folds or seed: the same test part, no note; the seed shows.
  wider = _finished(str(tmp_path / 'wider'), cell='lstm', val=[1.0, 2.0], test=[3.0, 3.0],
                    final=(1.0, 1.0))
  sweep_json = files.read_json(os.path.join(wider, files.SWEEP))
  sweep_json['spec'].update(val_size=20, folds=3, seed=1)
  files.write_json(os.path.join(wider, files.SWEEP), sweep_json)
  summary = files.read_json(os.path.join(wider, files.SUMMARY))
  summary['data']['split_points'] = [80, 112]
  files.write_json(os.path.join(wider, files.SUMMARY), summary)
  text, _ = figures.compare([lstm, wider])
  assert 'note:' not in text, text
  assert '| wider | folds=3 seed=1 val_size=20 |' in text
  # A default chosen from the data reads as such, not as 0 ("no test part").
  text, _ = figures.compare([lstm, other])
  assert '| other | cell=gru test_size=24 |' in text
  sweep_json = files.read_json(os.path.join(other, files.SWEEP))
  sweep_json['spec']['test_size'] = 0
  files.write_json(os.path.join(other, files.SWEEP), sweep_json)
  assert '| other | cell=gru test_size=auto |' in figures.compare([lstm, other])[0]
  sweep_json['spec']['dropout_per_layer'] = '0.1;0.2'  # Set in one, empty in the other.
  files.write_json(os.path.join(other, files.SWEEP), sweep_json)
  text = figures.compare([lstm, other])[0]
  assert '| lstm | cell=lstm dropout_per_layer=- test_size=12 |' in text
  # --metric: another the sweeps recorded (the configuration table's where it holds it,
  # here as fabricated; its seeds' test scores; the final model's, none here).
  text, _ = figures.compare([lstm, gru], metric='mse')
  assert text.splitlines()[2].startswith('| lstm | cell=lstm | 4 | 12.5 | 6.5 +- 0.5 | '
                                         '26 +- 14.14 | learning_rate=0.001 | '
                                         'ensemble of 2: uids 0,1 | - | - |')
  summary = files.read_json(os.path.join(lstm, files.SUMMARY))
  for c in summary['configs']:  # A metric the configuration table lacks: from its seeds.
    del c['val']['mse']
  files.write_json(os.path.join(lstm, files.SUMMARY), summary)
  text, _ = figures.compare([lstm, gru], metric='mse')
  assert text.splitlines()[2].startswith('| lstm | cell=lstm | 4 | 12.5 | 6.5 +- 3.536 | ')
  with pytest.raises(InputError, match=r"^--metric: 'mae' is not a validation metric of "
                                       r'lstm \(recorded: mse, rmse\)$'):
    figures.compare([lstm, gru], metric='mae')
  # One line for each way of getting it wrong, from the command too.
  os.makedirs(tmp_path / 'unfinished')
  (tmp_path / 'a_file').write_text('')
  for workdirs, message in [([lstm], 'name two or more work directories'),
                            ([lstm, str(tmp_path / 'nope')], 'is not a directory'),
                            ([lstm, lstm + '/'], 'is named twice'),
                            ([lstm, str(tmp_path / 'unfinished')],
                             r'unfinished/summary\.json: no such file')]:
    with pytest.raises(InputError, match=f'^--compare: .*{message}'):
      figures.compare(workdirs)
  with pytest.raises(InputError, match=r'^--out_dir: .*a_file is a file, not a directory$'):
    figures.compare([lstm, gru], out_dir=str(tmp_path / 'a_file'))
  summary = files.read_json(os.path.join(gru, files.SUMMARY))
  files.write_json(os.path.join(gru, files.SUMMARY), dict(summary, display='accuracy'))
  with pytest.raises(InputError, match=r'^--compare: the sweeps report different metrics '
                                       r'\(lstm: rmse, gru: accuracy\)'):
    figures.compare([lstm, gru])
  # The command: its own process (its flags are absl's, defined once per process).
  ran = subprocess.run([sys.executable, '-m', 'experiments.make_figures',
                        f'--compare={lstm},{gru}', f'--workdir={lstm}'],
                       capture_output=True, text=True, check=False,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert ran.returncode == 2 and ran.stderr == (
      'error: --compare: give the work directories there, without --workdir\n')
  # Beside --dropout_per_layer, --dropout (0) is no layer's rate: not a setting the
  # sweep differs in (it read as 'no dropout').
  pair = [_finished(str(tmp_path / name), cell=name, val=[2.0, 3.0], test=[4.0, 6.0],
                    final=(1.5, 4.5)) for name in ('lstm_d', 'gru_d')]
  for workdir, settings in zip(pair, ({'dropout': '0.2'}, {
      'dropout': '0', 'dropout_per_layer': 'grid(0,0.3);0.3'})):
    sweep_json = files.read_json(os.path.join(workdir, files.SWEEP))
    sweep_json['spec'].update(settings)
    files.write_json(os.path.join(workdir, files.SWEEP), sweep_json)
  rows = figures.compare(pair)[0].splitlines()
  assert rows[2].startswith('| lstm_d | cell=lstm_d dropout=0.2 dropout_per_layer=- |'), rows
  assert rows[3].startswith('| gru_d | cell=gru_d dropout_per_layer=grid(0,0.3);0.3 |'), rows


def test_the_compare_caption_says_what_each_panel_draws(tmp_path, monkeypatch):
  """A grid beside a random search: the cell's best configurations are points with bars
  (names have no order), the learning rate one dot per configuration (one sweep drew
  it): no 'Lines' drawn, none promised. One random configuration exploded (learning
  rate 0.074): a triangle at the view's edge (sensitivity.fit_view), as the caption says."""
  from rnnjax.figures.plots import compare_plot  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch, draw=False)
  fn = lambda hp, seed: 1 + (hp['cell'] == 'gru') + hp['learning_rate'] + 0.1 * seed
  grid = fabricate(tmp_path / 'grid', {'cell': 'grid(rnn_tanh,gru)',
                                       'learning_rate': 'grid(1e-2,1e-1)'}, fn)
  drawn = fabricate(tmp_path / 'random', {'cell': 'choice(rnn_tanh,gru)',
                                          'learning_rate': 'loguniform(1e-2,1e-1)'},
                    lambda hp, seed: 1e12 if hp['learning_rate'] > 0.072 else fn(hp, seed),
                    search_kind='random', num_members=8, nonfinite=(7,))
  compare_plot.plot_compare([('grid', load.load(grid)), ('random', load.load(drawn))],
                            str(tmp_path / 'out'), val_kinds={'grid': 'split',
                                                              'random': 'split'})
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  assert ('Points: best configuration at each value (mean over its seeds, bars: min-max '
          'over them). On learning rate (drawn at random in a sweep): one dot per '
          'configuration of every sweep.') in caption, caption
  assert 'Lines' not in caption, caption
  assert ('1 configuration(s) above the view (up to 1.0e+06), drawn as triangles at its '
          'edge.') in caption, caption
  assert figs[-1].axes[0].get_ylim()[1] < 1e6
  assert caption.endswith('random: 1 member(s) without a finite value not shown.'), caption


def test_a_linear_range_gets_few_short_tick_labels_apart():
  """PBT's learning rates ended in 0.008-0.01: matplotlib's 9 default ticks, labelled
  '0.00825', ran together. Any span gets a few round ticks, written exactly and short."""
  from rnnjax.figures import style  # pylint: disable=g-import-not-at-top
  spans = [(0.008, 0.01), (0.0, 0.2), (0.999, 0.9999), (0.0, 0.01), (2e-5, 3e-5),
           (0.5, 1.5), (16, 40)]
  for lo, hi in spans:
    values = tuple(np.linspace(lo, hi, 20))
    kind = 'randint' if hi > 2 else 'uniform'
    axis = load.AxisInfo('learning_rate', kind, values, load.choose_scale(kind, values))
    assert axis.scale == 'linear'
    for width in (style.COLUMN_WIDTH, style.FULL_WIDTH / 2):
      with style.context():
        fig = style.new_figure(width, 2.0)
        ax = fig.add_subplot()
        ax.scatter(values, np.arange(len(values)))
        style.set_axis(ax, axis)
        assert not _clashing_x_labels(fig, ax), (lo, hi, width)
        low, high = ax.get_xlim()
        shown = [(t.get_position()[0], t.get_text()) for t in ax.get_xticklabels()
                 if t.get_text() and low <= t.get_position()[0] <= high]
        assert 2 <= len(shown) <= 6, (lo, hi, shown)
        for x, text in shown:
          assert len(text) <= 7 and float(text) == pytest.approx(x, abs=1e-9 * hi), shown


def test_a_range_too_narrow_for_6_digits_is_labelled_from_an_offset():
  """0.1 to 0.1000001: every tick written '0.1' said nothing; matplotlib's offset form
  tells them apart."""
  from rnnjax.figures import style  # pylint: disable=g-import-not-at-top
  values = tuple(np.linspace(0.1, 0.1000001, 20))
  axis = load.AxisInfo('learning_rate', 'uniform', values,
                       load.choose_scale('uniform', values))
  with style.context():
    fig = style.new_figure(style.COLUMN_WIDTH, 2.0)
    ax = fig.add_subplot()
    ax.scatter(values, np.arange(len(values)))
    style.set_axis(ax, axis)
    low, high = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels()
             if t.get_text() and low <= t.get_position()[0] <= high]
    assert len(shown) >= 2 and len(set(shown)) == len(shown), shown
    assert ax.xaxis.get_major_formatter().get_offset(), shown  # Drawn at the axis's end.


def test_compare_names_each_best_configurations_values(tmp_path):
  """A configuration's number is its own sweep's: configuration 0 is a GRU in one sweep
  and an LSTM in the other, so each row names its best configuration's values of the
  axes any of them swept, in the table and in compare.csv."""
  runs = []
  for name, cells in (('a', ('gru', 'lstm')), ('b', ('lstm', 'gru'))):
    workdir = _finished(str(tmp_path / name), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                        final=(1.5, 4.5))
    summary = files.read_json(os.path.join(workdir, files.SUMMARY))
    for m in summary['members']:
      m['hparams']['cell'] = cells[m['config']]
    files.write_json(os.path.join(workdir, files.SUMMARY), summary)
    runs.append(workdir)
  text, paths = figures.compare(runs, out_dir=str(tmp_path / 'out'))
  rows = text.splitlines()
  assert '| best config val rmse | its test rmse | best config | final model |' in rows[0]
  assert '| 5 +- 1.414 | cell=gru learning_rate=0.001 | ensemble' in rows[2], rows[2]
  assert '| 5 +- 1.414 | cell=lstm learning_rate=0.001 | ensemble' in rows[3], rows[3]
  with open(paths[1]) as f:
    table = list(csv.DictReader(f))
  assert [(r['best_config'], r['best_values']) for r in table] == [
      ('0', 'cell=gru learning_rate=0.001'), ('0', 'cell=lstm learning_rate=0.001')]


def test_compare_sums_a_resumed_sweeps_processes_and_leaves_out_other_searches_flags(
    tmp_path):
  """A sweep stopped and resumed shows the wall time of all its processes, and says how
  many; a flag of a search a sweep did not run (PBT's interval for a grid) is not one
  in which it differs."""
  grid = _finished(str(tmp_path / 'grid'), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                   final=(1.5, 4.5))
  pbt = _finished(str(tmp_path / 'pbt'), cell='lstm', val=[1.0, 2.0], test=[7.0],
                  final=(0.5, 8.0), tested=(1,))
  for workdir, search, interval in ((grid, 'grid', 0), (pbt, 'pbt', 100)):
    sweep_json = files.read_json(os.path.join(workdir, files.SWEEP))
    sweep_json['spec'].update(search=search, pbt_interval=interval, eta=3)
    files.write_json(os.path.join(workdir, files.SWEEP), sweep_json)
  summary = files.read_json(os.path.join(pbt, files.SUMMARY))
  summary['timing'] = {'total_s': 40.0, 'processes': 3, 'first_chunk_s': 2.0,
                       'this_process_s': 10.0}
  files.write_json(os.path.join(pbt, files.SUMMARY), summary)
  text, paths = figures.compare([grid, pbt], out_dir=str(tmp_path / 'out'))
  assert '| grid | search=grid | 4 | 12.5 |' in text
  assert '| pbt | pbt_interval=100 search=pbt | 4 | 40 (3 processes) |' in text
  with open(paths[1]) as f:
    assert [r['processes'] for r in csv.DictReader(f)] == ['1', '3']


def test_compare_reads_a_setting_an_older_sweep_lacks_at_its_default(tmp_path):
  """A sweep written before a setting existed (class_balance) held its default: a sweep
  from then and the same sweep now differ in nothing, not `class_balance=-`, and its best
  configuration names that value beside a sweep's that swept it."""
  old, new = (_finished(str(tmp_path / n), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                        final=(1.5, 4.5)) for n in ('old', 'new'))
  sweep_json = files.read_json(os.path.join(new, files.SWEEP))
  sweep_json['spec']['class_balance'] = '0'
  files.write_json(os.path.join(new, files.SWEEP), sweep_json)
  text, _ = figures.compare([old, new])
  assert '| old | - | 4 |' in text and '| new | - | 4 |' in text, text
  # Where the new one swept it, the old one's best configuration names its value too.
  summary = files.read_json(os.path.join(new, files.SUMMARY))
  for m in summary['members']:
    m['hparams']['class_balance'] = [0.0, 1.0][m['uid'] % 2]
  files.write_json(os.path.join(new, files.SUMMARY), summary)
  text, _ = figures.compare([old, new])
  assert '| learning_rate=0.001 class_balance=0 |' in text.split('\n')[2], text


def test_compare_reads_the_same_values_written_otherwise_as_no_difference(tmp_path):
  """`1e-3,1e-2` and `grid(0.001,0.01)`, `0` and `0.0`: one sweep, as its resume reads it
  (run/workdir.py), so not a flag in which the sweeps differ; other values are."""
  runs = [_finished(str(tmp_path / n), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                    final=(1.5, 4.5)) for n in ('a', 'b', 'c')]
  for workdir, lr, wd in zip(runs, ('grid(1e-3,1e-2)', '0.001,0.01', 'choice(1e-3, 0.01)'),
                             ('0', '0.0', 'grid(0)')):
    sweep_json = files.read_json(os.path.join(workdir, files.SWEEP))
    sweep_json['spec'].update(learning_rate=lr, weight_decay=wd)
    files.write_json(os.path.join(workdir, files.SWEEP), sweep_json)
  text, _ = figures.compare(runs)
  assert all(f'| {n} | - | 4 |' in text for n in 'abc'), text
  sweep_json['spec'].update(learning_rate='grid(1e-3,3e-2)')
  files.write_json(os.path.join(runs[2], files.SWEEP), sweep_json)
  text, _ = figures.compare(runs)
  assert '| c | learning_rate=grid(1e-3,3e-2) | 4 |' in text, text


def test_compare_says_which_validation_is_cross_validated_and_what_test_covers(tmp_path):
  """A sweep with --folds: its best configuration's validation is the mean and sd over
  its seeds of each seed's mean over its folds (not the folds' spread, which is the
  origins'), the sweeps' validation figures are said to differ in kind, and its test
  covers only the last fold's seeds (2 of 6 members)."""
  plain = _finished(str(tmp_path / 'plain'), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                    final=(1.5, 4.5))
  folded = _finished(str(tmp_path / 'folded'), cell='lstm', val=[2.0, 3.0],
                     test=[4.0, 6.0], final=(1.5, 4.5))
  summary = files.read_json(os.path.join(folded, files.SUMMARY))
  base = {k: v for k, v in summary['members'][0].items() if k != 'test'}
  members = [{**base, 'uid': u, 'seed': u // 3, 'fold': u % 3,
              'val': {'mse': 1.0, 'rmse': (3.0, 2.0, 1.0)[u % 3] + 0.1 * (u // 3)}}
             for u in range(6)]
  for u, t in ((2, 4.0), (5, 6.0)):  # The last fold's seeds, tested.
    members[u]['test'] = {'mse': t ** 2, 'rmse': t}
  rmse = [m['val']['rmse'] for m in members]
  summary.update(members=members, ranking=[2, 5], best=members[2], configs=[{
      'config': 0, 'uids': list(range(6)), 'usable': 6,
      'val': {'mse': {'mean': 1.0, 'sd': 0.0},
              'rmse': {'mean': float(np.mean(rmse)), 'sd': float(np.std(rmse, ddof=1))}}}])
  files.write_json(os.path.join(folded, files.SUMMARY), summary)
  text, paths = figures.compare([plain, folded], out_dir=str(tmp_path / 'out'))
  assert '| folded | - | 6 | 12.5 | 2.05 +- 0.07071 | 5 +- 1.414 |' in text, text
  assert ('note: their validation figures are of different kinds (plain: single split, '
          'folded: cross-validated (3 folds))') in text, text
  assert ("note: folded: its best config's test figure is over 2 of 6 members (the last "
          "fold's seeds: the usual split)") in text
  with open(paths[1]) as f:
    table = list(csv.DictReader(f))
  assert [(r['val_kind'], r['tested']) for r in table] == [
      ('single split', '2 of 2'), ('cross-validated (3 folds)', '2 of 6')]


def test_learning_curve_legend_fits_the_figure_with_long_configurations(tmp_path,
                                                                       monkeypatch):
  """Five swept axes make entries wider than the column: each is wrapped, and the
  legend (left out of the layout) ends inside the figure, on screen and in the PDF."""
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)', 'optimizer': 'grid(adam,sgd)',
                                 'learning_rate': 'loguniform(1e-4,1e-1)',
                                 'weight_decay': 'loguniform(1e-6,1e-2)',
                                 'dropout': 'uniform(0,0.5)'},
                      lambda hp, s: hp['learning_rate'] + hp['dropout'],
                      search_kind='random', num_members=8, num_seeds=1)
  curves.plot_learning_curves(load.load(workdir), str(tmp_path / 'out'), log=lambda _: None)
  fig = figs[-1]
  renderer = backend_agg.FigureCanvasAgg(fig).get_renderer()
  legend = fig.axes[1].get_legend()
  assert any('\n' in t.get_text() for t in legend.get_texts())
  assert legend.get_window_extent(renderer).x1 <= fig.bbox.x1


def test_heatmaps_without_importance_say_their_pairs_are_in_plan_order(tmp_path,
                                                                      monkeypatch):
  """Too few configurations for four swept axes: no importance ranks them, so the
  heatmaps take the first three as the sweep lists them, and say so; where importance
  ranks them, no such sentence."""
  figs = _capture_figures(monkeypatch, draw=False)
  axes = {'cell': 'grid(lstm,gru)', 'optimizer': 'grid(adam,sgd)',
          'learning_rate': 'loguniform(1e-4,1e-1)', 'dropout': 'uniform(0,0.5)'}
  fn = lambda hp, s: hp['learning_rate'] + hp['dropout'] + 0.01 * s
  workdir = fabricate(tmp_path / 'few', axes, fn, search_kind='random', num_members=6)
  logged = []
  figures.make_all(workdir, log=logged.append)
  maps = [f for f in figs if f.axes and f.axes[0].get_images()]
  assert len(maps) == 3
  assert {(m.axes[0].get_ylabel(), m.axes[0].get_xlabel()) for m in maps} == {
      ('cell', 'optimizer'), ('cell', 'learning rate'), ('optimizer', 'learning rate')}
  for m in maps:
    assert ('Pairs of the first swept hyperparameters in the order the sweep lists them, '
            'importance not attributed: too few configurations') in _caption(m), _caption(m)
  assert any('heatmaps: Pairs of the first' in line for line in logged), logged
  figs.clear()
  workdir = fabricate(tmp_path / 'many', axes, fn, search_kind='random', num_members=40)
  figures.make_all(workdir, log=lambda _: None)
  maps = [f for f in figs if f.axes and f.axes[0].get_images()]
  assert maps and not any('Pairs of the first' in _caption(m) for m in maps)


def test_heatmap_numbers_keep_their_significant_digits(tmp_path, monkeypatch):
  """0.6 beside 0.595 is written 0.600: every square to three significant digits."""
  figs = _capture_figures(monkeypatch)
  value = {(1e-3, 0.0): 0.6, (1e-3, 0.3): 0.595, (1e-2, 0.0): 0.61, (1e-2, 0.3): 0.7}
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)',
                                 'dropout': 'grid(0,0.3)'},
                      lambda hp, s: value[hp['learning_rate'], hp['dropout']] ** 2,
                      num_seeds=1)
  heatmap.plot_heatmap(load.load(workdir), str(tmp_path / 'out'), 'learning_rate',
                       'dropout', log=lambda _: None)
  texts = sorted(t.get_text() for t in figs[-1].axes[0].texts)
  assert texts == ['0.595', '0.600', '0.610', '0.700'], texts


def test_a_sweeps_heatmaps_share_one_colour_scale_and_read_apart(tmp_path, monkeypatch):
  """Each heatmap of a sweep spanned its own squares: one colour was 16.8 in one and 16.5
  in the next, side by side in a paper (a user's finding). They share one scale, that of
  all their squares; and squares that differ read apart (16.485 and 16.497 were both
  '16.5')."""
  figs = _capture_figures(monkeypatch, draw=False)
  base = {('lstm', 1): 16.485, ('lstm', 2): 16.497, ('gru', 1): 17.9, ('gru', 2): 17.2}
  fn = lambda hp, s: (base[hp['cell'], hp['num_layers']] + 0.01 * hp['dropout']) ** 2
  workdir = fabricate(tmp_path, {'cell': 'grid(lstm,gru)', 'num_layers': 'grid(1,2)',
                                 'dropout': 'grid(0,0.3)'}, fn, num_seeds=1)
  table = load.load(workdir)
  pairs = [('cell', 'num_layers'), ('cell', 'dropout'), ('num_layers', 'dropout')]
  heatmap.plot_heatmaps(table, str(tmp_path / 'out'), pairs, log=lambda _: None)
  grids = [heatmap.cells(table, a, b)[2] for a, b in pairs]
  spans = {(f.axes[0].get_images()[0].norm.vmin, f.axes[0].get_images()[0].norm.vmax)
           for f in figs}
  assert len(figs) == 3 and len(spans) == 1, spans
  low, high = spans.pop()
  assert np.isclose(low, min(g.min() for g in grids)) and np.isclose(
      high, max(g.max() for g in grids))
  texts = [t.get_text() for t in figs[0].axes[0].texts]  # Cell x layers: 4 squares.
  assert len(set(texts)) == 4 and {'16.49', '16.50'} <= set(texts), texts
  assert all('One colour scale for every heatmap of this sweep.' in _caption(f)
             for f in figs)
  # Rounded to its digits, 999.7 is a whole number, not 1.00e+03; values alike but for
  # their last bit read alike, and push no square to more digits.
  assert labels.fmt_metric(999.7) == '1000' and labels.fmt_metric(9999.7, 4) == '10000'
  assert labels.fmt_metrics([999.7, 999.2]) == ['1000', '999']
  assert labels.fmt_metrics([30.0, (0.1 + 0.2) * 100, 17.25]) == ['30.0', '30.0', '17.2']


def test_short_names_in_legends_and_bars_are_keyed_in_the_caption(tmp_path, monkeypatch):
  """'H=32, L=2' in the curves' legend, 'H x L' in importance's bars, 'H = 16' in the
  sensitivity legend: a paper's reader was never told what H and L are (a user's
  finding). Each caption keys the short names its figure uses; per-layer rates are
  'drop 1', as the bars' other names."""
  figs = _capture_figures(monkeypatch, draw=False)
  fn = lambda hp, s: (1 + hp['hidden_size'] / 64 + hp['num_layers'] * hp['hidden_size']
                      / 128) * (1 + 0.05 * s)
  workdir = fabricate(tmp_path, {'hidden_size': 'grid(16,32)', 'num_layers': 'grid(1,2)',
                                 'learning_rate': 'grid(1e-3,1e-2)'}, fn)
  table = load.load(workdir)
  out = str(tmp_path / 'out')
  curves.plot_learning_curves(table, out, log=lambda _: None)
  assert 'Short names: H, hidden size; L, num layers; lr, learning rate.' in _caption(
      figs[-1]), _caption(figs[-1])
  sensitivity.plot_sensitivity(table, out, group_by='hidden_size', log=lambda _: None)
  assert _caption(figs[-1]).endswith('Short names: H, hidden size.'), _caption(figs[-1])
  assert labels.short('dropout_2') == 'drop 2' and labels.short_key(['cell', 'lookback']) == ''


@pytest.mark.parametrize('sign', [1, -1])  # A loss that falls; an accuracy that rises.
def test_search_comparison_enlarges_where_searches_end_far_from_their_first_draws(
    tmp_path, monkeypatch, sign):
  """First draws at 0.8 and 0.7, the searches ending at 0.14 and 0.17: over the budget's
  last half the lines take a sixth of the y axis, so an inset shows that half with its y
  range theirs (0.14 to 0.25, random's level at the cut), over the empty part of the
  axes, and the caption says so. From first draws at 0.3 and 0.4, none."""
  from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  curves = {'grid': [0.8, 0.2, 0.15, 0.14], 'random': [0.7, 0.25, 0.18, 0.17]}
  runs = {f'{s}-0': {'strategy': s, 'seed': 0, 'curve': [[8, 16, 24, 32],
                                                         [sign * v for v in y]]}
          for s, y in curves.items()}
  out = {'metric': 'mse', 'budget_member_steps': 32, 'runs': runs,
         'table': {s: {'median_best_val': sign * y[-1], 'best_vals': [sign * y[-1]]}
                   for s, y in curves.items()}}
  comparison.plot(out, str(tmp_path))
  ax = figs[0].axes[0]
  (inset,) = ax.child_axes
  low, high = sorted(sign * v for v in (0.14, 0.25))
  y0, y1 = inset.get_ylim()
  assert y0 < low < high < y1 and y1 - y0 < 1.2 * (high - low), (y0, y1)
  assert inset.get_xlim() == pytest.approx((sum(ax.get_xlim()) / 2, ax.get_xlim()[1]))
  # Above the lines that end low, below those that end high.
  box, within = ax.get_window_extent(), inset.get_window_extent()
  assert (within.y0 > box.y0 + 0.3 * box.height) == (sign == 1), (box, within)
  assert _caption(figs[0]).endswith('Inset: the last half of the budget, its y axis '
                                    'enlarged.'), _caption(figs[0])
  # First draws nearer: the last half's lines take over a quarter of the axis, no inset.
  for strategy, first in (('grid', 0.3), ('random', 0.4)):
    runs[f'{strategy}-0']['curve'][1][0] = sign * first
  comparison.plot(out, str(tmp_path))
  assert not figs[1].axes[0].child_axes and 'Inset' not in _caption(figs[1])


def test_search_comparison_inset_on_a_log_scale_keeps_its_range_above_0(tmp_path, monkeypatch):
  """Final bests 25x apart put the y axis on a log scale, first draws at 1e6 squeeze the
  last half's 0.04 to 2 (random's level at the cut): the inset's range is theirs, padded
  on the log scale (a pad of a linear axis would reach below 0, where a log axis has
  nothing)."""
  from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  curves = {'grid': [1e6, 1.0, 0.5, 0.04], 'random': [1e6, 2.0, 1.5, 1.0]}
  runs = {f'{s}-0': {'strategy': s, 'seed': 0, 'curve': [[8, 16, 24, 32], y]}
          for s, y in curves.items()}
  out = {'metric': 'mse', 'budget_member_steps': 32, 'runs': runs,
         'table': {s: {'median_best_val': y[-1], 'best_vals': [y[-1]]}
                   for s, y in curves.items()}}
  comparison.plot(out, str(tmp_path))
  ax = figs[0].axes[0]
  (inset,) = ax.child_axes
  assert ax.get_yscale() == inset.get_yscale() == 'log'
  y0, y1 = inset.get_ylim()
  assert 0 < y0 < 0.04 and 2 < y1 and np.log10(y1 / y0) < 1.2 * np.log10(2 / 0.04)


def test_search_comparison_lines_that_coincide_stay_apart(tmp_path, monkeypatch):
  """Random search and PBT share their first draws, so their curves coincide: each
  search has its own dashes and marker, and the earlier one shows around the later."""
  from rnnjax.figures.plots import comparison  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  same = [[8, 16, 24], [0.4, 0.25, 0.2]]
  runs = {f'{s}-0': {'strategy': s, 'seed': 0, 'curve': same} for s in ('random', 'pbt')}
  out = {'metric': 'mse', 'budget_member_steps': 24, 'runs': runs,
         'table': {s: {'median_best_val': 0.2, 'best_vals': [0.2]} for s in ('random', 'pbt')}}
  comparison.plot(out, str(tmp_path))
  lines = figs[0].axes[0].get_lines()
  assert len(lines) == 2
  assert len({(l.get_linestyle(), l.get_marker()) for l in lines}) == 2
  first, second = lines
  assert first.get_linewidth() > second.get_linewidth() and first.get_zorder() < (
      second.get_zorder())


def test_a_loss_at_zero_keeps_one_linear_scale_and_says_so(tmp_path, monkeypatch):
  """One member scores exactly 0 among values spanning a factor of 1000: the sweep's
  figures all take the linear scale (a heatmap's squares, whose means are positive,
  would alone have taken a log one), their captions say why, and importance says it
  analysed the metric unlogged."""
  figs = _capture_figures(monkeypatch)
  fn = lambda hp, s: (0.0 if (hp['learning_rate'], hp['dropout'], s) == (1e-2, 0.0, 0)
                      else hp['learning_rate'] * (1 + hp['dropout']))
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-4,1e-3,1e-2,1e-1)',
                                 'dropout': 'grid(0,0.3)'}, fn)
  table = load.load(workdir)
  assert member_values.metric_scale(table)[0] == 'linear'
  out = str(tmp_path / 'out')
  sensitivity.plot_sensitivity(table, out, log=lambda _: None)
  heatmap.plot_heatmaps(table, out, log=lambda _: None)
  sens, heat = figs
  assert sens.axes[0].get_yscale() == 'linear'
  assert type(heat.axes[0].get_images()[0].norm).__name__ == 'Normalize'
  for fig in (sens, heat):
    assert 'Linear scale: 1 member(s) score rmse 0' in _caption(fig), _caption(fig)
  result = importance.analyse(table)
  assert result['transform'] == 'none' and 'unlogged' in result['transform_note']


@pytest.mark.parametrize('lines, dots, want', [
    ([3000, 8400], [3500, 1e5, 6e12], (3000, 1e5)),  # 1e5 within 20x of 8400; 6e12 not.
    ([3000, 8400], [100, 200, 3500], (200, 8400)),  # Below: 200 within 20x, 100 not.
    ([3000, 8400], [3500, 1e5], None),  # Every dot in view: the axis as it was.
    ([3000, 8400], [0, 1e13], None),  # A value at 0: no log axis, no factor.
    ([], [3000, 3500, 4000, 4500, 1e13], (3000, 4500)),  # Dots alone: their middle half.
    ([], [3000, 3500, 4000, 4500, 5e4], None)])  # Within 20x of it: every one kept.
def test_the_view_holds_the_lines_and_the_dots_within_a_factor_of_20(lines, dots, want):
  assert member_values.view(lines, dots) == want


@pytest.mark.parametrize('explode', [False, True])
def test_sensitivity_draws_an_exploding_configuration_as_a_triangle_at_the_edge(
    tmp_path, monkeypatch, explode):
  """RMSE over a factor of 100 (a log axis): one configuration exploding to 1e6 is left
  out of the view, drawn as a triangle at its top edge, and the caption counts it; every
  line and band lies in the view. Without it, the view is autoscaled as before."""
  figs = _capture_figures(monkeypatch, draw=False)
  fn = lambda hp, s: (1e12 if explode and (hp['learning_rate'], hp['dropout']) == (
      1e-1, 0.3) else (1e3 * hp['learning_rate'] * (1 + hp['dropout'] + s)) ** 2)
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1)',
                                 'dropout': 'grid(0,0.3)'}, fn)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'),
                               log=lambda _: None)
  ax, caption = figs[0].axes[0], _caption(figs[0])
  assert ax.get_yscale() == 'log' and ax.get_autoscaley_on() is not explode
  low, high = ax.get_ylim()
  drawn = np.concatenate([np.ravel(a.get_ydata()) for a in ax.lines] +
                         [p.vertices[:, 1] for c in ax.collections
                          if isinstance(c, mcollections.PolyCollection)
                          for p in c.get_paths()])  # Lines, markers, bands.
  assert low < drawn.min() and drawn.max() < high
  edge = [c for c in ax.collections if np.any(c.get_offsets()[:, 1] == high)]
  if explode:
    assert high < 1e6 and len(edge) == 1 and len(edge[0].get_offsets()) == 1
    assert ('1 configuration(s) above the view (up to 1.0e+06), drawn as triangles at its '
            'edge.') in caption, caption
  else:
    assert not edge and 'the view' not in caption, caption


def test_a_random_axis_draws_an_exploding_configuration_as_a_triangle(tmp_path, monkeypatch):
  """The configuration of a random sweep's highest learning rate explodes to 1e6 over the
  rest at 0.1-2.4: its bin's mean leaves it out (in it, that bin's line rose to 42 and the
  view with it), and it is a triangle at the view's edge, as the caption says."""
  figs = _capture_figures(monkeypatch, draw=False)
  fn = lambda hp, seed: 1e12 if hp['learning_rate'] > 0.066 else lr_only(hp, seed)
  workdir = fabricate(tmp_path, {'learning_rate': 'loguniform(1e-3,1e-1)'}, fn,
                      search_kind='random', num_members=16, num_seeds=1)
  sensitivity.plot_sensitivity(load.load(workdir), str(tmp_path / 'out'), log=lambda _: None)
  ax, caption = figs[0].axes[0], _caption(figs[0])
  low, high = ax.get_ylim()
  (line,) = [l for l in ax.lines if l.get_linestyle() == '-']
  assert high < 10 and np.max(line.get_ydata()) < high
  edge = [c for c in ax.collections if np.any(c.get_offsets()[:, 1] == high)]
  assert len(edge) == 1 and len(edge[0].get_offsets()) == 1
  assert ax.get_yscale() == 'log' and 'line: binned geometric mean.' in caption, caption
  assert ('The binned geometric means leave out 1 configuration(s) beyond a factor of 20 of '
          'the middle half of them. 1 configuration(s) above the view (up to 1.0e+06), drawn '
          'as triangles at its edge.') in caption, caption


def test_a_binned_line_is_said_a_geometric_mean_on_a_log_axis_and_drawn_so(tmp_path,
                                                                         monkeypatch):
  """On a log metric axis a bin's point is the geometric mean of its configurations (and
  the caption says so); on a linear one, their mean."""
  figs = _capture_figures(monkeypatch, draw=False)
  for name, fn in (('log', lambda hp, seed: hp['learning_rate'] ** 2),
                   ('linear', lr_only)):
    workdir = fabricate(tmp_path / name, {'learning_rate': 'loguniform(1e-3,1e-1)'}, fn,
                        search_kind='random', num_members=16, num_seeds=1)
    table = load.load(workdir)
    sensitivity.plot_sensitivity(table, str(tmp_path / name / 'out'), log=lambda _: None)
    ax, caption = figs[-1].axes[0], _caption(figs[-1])
    assert ax.get_yscale() == name
    average = 'geometric mean' if name == 'log' else 'mean'
    assert f'line: binned {average}.' in caption, caption
    (line,) = [l for l in ax.lines if l.get_linestyle() == '-']
    configs = member_values.config_stats(table)
    x = np.log([c['hparams']['learning_rate'] for c in configs])
    y = np.array([c['mean'] for c in configs])
    # The first bin, from the lowest learning rate: its configurations' (geometric) mean.
    first = np.argsort(x)[:len(configs) // 4]
    want = np.exp(np.log(y[first]).mean()) if name == 'log' else y[first].mean()
    np.testing.assert_allclose(line.get_ydata()[0], want, rtol=1e-12)


def test_a_compare_figure_of_dots_alone_holds_their_middle_half(tmp_path, monkeypatch):
  """Two random sweeps draw dots alone, no line to hold: one configuration at 1e6 over
  the rest at 1-2 set the axis (the rest lay on its floor); now a triangle at the edge of
  a view of the dots within a factor of 20 of their middle half."""
  from rnnjax.figures.plots import compare_plot  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch, draw=False)
  runs = []
  for name, top in (('calm', 1), ('wild', 0.066)):
    fn = lambda hp, seed, top=top: 1e12 if hp['learning_rate'] > top else 1 + hp['learning_rate']
    runs.append((name, load.load(fabricate(
        tmp_path / name, {'learning_rate': 'loguniform(1e-3,1e-1)'}, fn,
        search_kind='random', num_members=16, num_seeds=1))))
  compare_plot.plot_compare(runs, str(tmp_path / 'out'),
                            val_kinds={'calm': 'split', 'wild': 'split'}, log=lambda _: None)
  ax, caption = figs[0].axes[0], _caption(figs[0])
  low, high = ax.get_ylim()
  assert not ax.lines and high < 10
  edge = [c for c in ax.collections if np.any(c.get_offsets()[:, 1] == high)]
  assert len(edge) == 1 and len(edge[0].get_offsets()) == 1
  assert ('1 configuration(s) above the view (up to 1.0e+06), drawn as triangles at its '
          'edge.') in caption, caption


def test_a_heatmaps_colour_scale_ends_before_an_exploding_square(tmp_path, monkeypatch):
  """RMSE 1-130 over six squares and one configuration at 1e6: the rest set the colour
  scale (it ran to 1e6, and they shared a third of it), the square beyond takes its end
  colour and keeps its number, and the caption counts it."""
  figs = _capture_figures(monkeypatch, draw=False)
  fn = lambda hp, s: (1e12 if (hp['learning_rate'], hp['dropout']) == (1e-1, 0.3) else
                      (1e3 * hp['learning_rate'] * (1 + hp['dropout'] + s)) ** 2)
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2,1e-1)',
                                 'dropout': 'grid(0,0.3)'}, fn, num_seeds=1)
  heatmap.plot_heatmaps(load.load(workdir), str(tmp_path / 'out'), log=lambda _: None)
  ax = figs[0].axes[0]
  image = ax.get_images()[0]
  assert np.allclose([image.norm.vmin, image.norm.vmax], [1, 100])
  assert image.colorbar.extend == 'max'
  assert np.allclose(image.to_rgba(1e6), image.cmap(1.0))
  assert [t.get_text() for t in ax.texts].count(labels.fmt_metric(1e6)) == 1
  assert ('1 square(s) above the colour scale (up to 1.0e+06), in its end colour.'
          in _caption(figs[0])), _caption(figs[0])


def test_a_long_test_part_is_drawn_over_its_last_points_so_the_forecast_shows(tmp_path,
                                                                              monkeypatch):
  """A year of hours with a test part of 1,314: the forecast of 48 took 3 % of the
  figure's width; the test part is now drawn over its last max(72, 4 x 48) points (its
  label says so) and the forecast keeps over a tenth. A short test part is drawn whole."""
  from rnnjax.figures.plots import forecast_plot  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  n, steps = 8760, 48
  times = [str(np.datetime64('2023-01-01T00:00', 's') + 3600 * k).replace('T', ' ')
           for k in range(n + steps)]
  history = np.sin(np.arange(n) / 24.0)[:, None]
  point = np.zeros((steps, 1))
  for test_len, drawn in ((1314, 192), (50, 50)):
    forecast_plot.plot_forecast(
        str(tmp_path), columns=['load'], times=times[:n], history=history,
        future_times=times[n:], point=point, bands={0.8: (point - 1, point + 1)},
        test_start=n - test_len, test_pred=np.arange(test_len, dtype=float)[:, None])
    ax = figs[-1].axes[0]
    test_line = [l for l in ax.get_lines() if l.get_label().startswith('test part')][0]
    x, y = test_line.get_data()
    np.testing.assert_array_equal(x, np.arange(n - drawn, n))
    np.testing.assert_array_equal(y, np.arange(test_len - drawn, test_len))  # Its last.
    low, high = ax.get_xlim()
    assert steps / (high - low) > (0.1 if test_len > drawn else 0.0)
    assert test_line.get_label().endswith(
        ' (its last 192 of 1,314 points)' if test_len > drawn else 'one-step predictions')


def test_forecast_ticks_of_hourly_times_are_concise_dates_not_full_stamps():
  """Full hourly stamps ('2024-06-28 12:00:00') ran together under a forecast; times one
  step apart get round ticks with concise labels, the month beneath; months and quarters
  at calendar boundaries."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  from rnnjax.figures.plots import forecast_plot  # pylint: disable=g-import-not-at-top
  hours = [str(np.datetime64('2024-06-26T00:00', 's') + 3600 * k).replace('T', ' ')
           for k in range(96)]
  fig, ax = plt.subplots()
  forecast_plot._set_ticks(ax, hours, 0, 95, 5)
  labels = [t.get_text() for t in ax.get_xticklabels()]
  assert labels and all(len(t) <= 5 for t in labels), labels
  assert '27' in labels and ax.get_xlabel() == '2024-Jun'
  np.testing.assert_array_equal(ax.get_xticks(), [0, 24, 48, 72])  # Midnights.
  zoned = [h.replace(' ', 'T') + '-0400' for h in hours]
  forecast_plot._set_ticks(ax, zoned, 0, 95, 5)
  assert ax.get_xlabel() == '2024-Jun (UTC-0400)' and ax.get_xticks()[1] == 24
  # Local midnights across a daylight-saving change (23 hours apart once): days on the
  # local clock, ticked as days, not written out in full.
  days = [f'2023-03-{d:02d} 00:00:00{"-04:00" if d >= 13 else "-05:00"}' for d in range(1, 31)]
  forecast_plot._set_ticks(ax, days, 0, 29, 5)
  assert all(len(t.get_text()) <= 5 for t in ax.get_xticklabels())
  assert ax.get_xlabel() == '2023-Mar (local time)' and 14 in ax.get_xticks()  # The 15th.
  # Days across a month's end: the label names both months, not the last one alone.
  december = [str(np.datetime64('2023-12-15T00:00', 's') + 3600 * k).replace('T', ' ')
              for k in range(24 * 20)]
  forecast_plot._set_ticks(ax, december, 0, len(december) - 1, 5)
  assert ax.get_xlabel() == '2023-Dec to 2024-Jan'
  # Months, quarters: at calendar boundaries (years over many years), not evenly spaced
  # positions (monthly ticks 14 to 18 months apart, '1988-07', '1989-09', ...).
  months = [f'{1988 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d}' for k in range(86)]
  forecast_plot._set_ticks(ax, months, 0, 85, 7)
  assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in range(1989, 1996)]
  np.testing.assert_array_equal(ax.get_xticks(), 6 + 12 * np.arange(7))  # Each January.
  quarters = [f'{y}-Q{q}' for y in range(2001, 2012) for q in range(1, 5)]
  forecast_plot._set_ticks(ax, quarters, 0, 43, 5)
  assert [t.get_text() for t in ax.get_xticklabels()] == ['2002', '2004', '2006', '2008',
                                                          '2010']
  np.testing.assert_array_equal(ax.get_xticks(), [4, 12, 20, 28, 36])
  # Years dated 31 December and quarters at their ends (pandas' 'YE' and 'QE'): each
  # year's tick on its own point, not evenly spaced full dates ('1969-12-31').
  for labels, ticks in (([f'{y}-12-31' for y in range(1960, 2000)], [0, 10, 20, 30]),
                        ([f'{y}-{m}' for y in range(2001, 2012)
                          for m in ('03-31', '06-30', '09-30', '12-31')], [4, 12, 20, 28, 36])):
    forecast_plot._set_ticks(ax, labels, 0, len(labels) - 1, 5)
    np.testing.assert_array_equal(ax.get_xticks(), ticks)
    assert [t.get_text() for t in ax.get_xticklabels()] == [labels[t][:4] for t in ticks]
  # A short span, ticked by months: a month's tick on the point a year's tick moved to
  # goes, and where a lone tick would be left ('00:00'), the labels are the dates written.
  quarters = ['2001-09-30', '2001-12-31', '2002-03-31', '2002-06-30', '2002-09-30']
  forecast_plot._set_ticks(ax, quarters, 0, 4, 5)
  np.testing.assert_array_equal(ax.get_xticks(), [0, 2, 4])
  assert [t.get_text() for t in ax.get_xticklabels()] == ['Sep', '2002', 'Sep']
  quarters = ['2001-03-31', '2001-06-30'] + quarters[:4]
  forecast_plot._set_ticks(ax, quarters, 0, 5, 5)
  assert [t.get_text() for t in ax.get_xticklabels()] == [quarters[t] for t in (0, 1, 2, 3, 5)]
  few = ['2020-01', '2020-02', '2020-03', '2020-04', '2020-05']
  forecast_plot._set_ticks(ax, few, 0, 4, 5)
  assert [t.get_text() for t in ax.get_xticklabels()] == ['2020', 'Feb', 'Mar', 'Apr', 'May']
  plt.close(fig)


def test_forecast_legends_name_each_level_as_predict_prints_it(tmp_path, monkeypatch):
  """`--levels=0.8,0.801,0.975`: the legend said '98% interval' for the 97.5 % band that
  forecast.csv calls lower_97.5, and a panel's legend, one entry per label, dropped the
  80.1 % band as a second '80%'; the labels are now the CSV's, as is the capped note."""
  from rnnjax.figures.plots import forecast_plot  # pylint: disable=g-import-not-at-top
  from rnnjax.final.saved import intervals  # pylint: disable=g-import-not-at-top
  figs = _capture_figures(monkeypatch)
  levels, point = (0.8, 0.801, 0.975), np.zeros((3, 1))
  bands = {level: (point - level, point + level) for level in levels}
  want = {'80% interval', '80.1% interval', '97.5% interval'}
  forecast_plot.plot_forecast(
      str(tmp_path), columns=['y'], times=['1', '2', '3', '4'], history=np.ones((4, 1)),
      future_times=['5', '6', '7'], point=point, bands=bands)
  assert want <= set(figs[-1].axes[0].get_legend_handles_labels()[1])
  forecast_plot.plot_panel(str(tmp_path), series=[dict(
      title='a', times=['1', '2', '3', '4'], history=np.ones(4), future_times=['5', '6', '7'],
      point=point[:, 0], bands={level: (lo[:, 0], hi[:, 0]) for level, (lo, hi) in
                                bands.items()})])
  assert want <= {t.get_text() for t in figs[-1].legends[0].get_texts()}
  _, notes = intervals.widths(np.ones((2, 5, 1)), 0.975, 2)
  assert notes[0].startswith('97.5% intervals from step 1 on'), notes


def test_compare_draws_the_metric_against_each_shared_hyperparameter(tmp_path, monkeypatch):
  """With --out_dir, compare.png: for each hyperparameter two or more sweeps swept, a
  line per sweep (labelled by its directory) through its best configuration's mean at
  each value, on the axis's scale; skipped with a note where nothing compares."""
  figs = _capture_figures(monkeypatch)
  lstm = _finished(str(tmp_path / 'lstm'), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                   final=(1.5, 4.5))
  gru = _finished(str(tmp_path / 'gru'), cell='gru', val=[1.0, 2.0], test=[7.0],
                  final=(0.5, 8.0), tested=(1,))
  assert figures.compare([lstm, gru])[1] == [] and not figs  # Drawn only when asked.
  said = []
  _, paths = figures.compare([lstm, gru], out_dir=str(tmp_path / 'out'), log=said.append)
  assert paths[2:] == [str(tmp_path / 'out' / 'compare.png')], paths
  assert said == [f'figures: wrote {paths[2]}']
  (ax,) = figs[0].axes
  assert ax.get_xlabel() == 'learning rate' and ax.get_xscale() == 'log'
  drawn = [l for l in ax.get_lines() if l.get_marker() == 'o']
  assert [l.get_color() for l in drawn] == list(style.OKABE_ITO[:2])
  for line, mean in zip(drawn, ([2.5, 9.25], [1.5, 9.25])):  # Each sweep's seeds' mean.
    np.testing.assert_allclose(line.get_xdata(), [1e-3, 1e-2], rtol=0.1)  # Dodged a bit.
    np.testing.assert_allclose(line.get_ydata(), mean)
  assert [t.get_text() for t in figs[0].legends[0].get_texts()] == ['lstm', 'gru']
  # Nothing shared: a sweep of one learning rate swept nothing.
  summary = files.read_json(os.path.join(gru, files.SUMMARY))
  for m in summary['members']:
    m['hparams']['learning_rate'] = 1e-3
  files.write_json(os.path.join(gru, files.SUMMARY), summary)
  said.clear()
  _, paths = figures.compare([lstm, gru], out_dir=str(tmp_path / 'out2'), log=said.append)
  assert len(paths) == 2 and len(figs) == 1
  assert said == ['figures: compare figure skipped (no hyperparameter is swept in two or '
                  'more of the sweeps)']


def test_compare_draws_no_figure_of_validation_figures_of_different_kinds(tmp_path,
                                                                         monkeypatch):
  """A cross-validated mean and one split's score are not drawn on one axis (the table's
  rule, side_by_side.runs_table's val_kind): the figure is skipped, and says why."""
  figs = _capture_figures(monkeypatch)
  plain = _finished(str(tmp_path / 'plain'), cell='lstm', val=[2.0, 3.0], test=[4.0, 6.0],
                    final=(1.5, 4.5))
  folded = _finished(str(tmp_path / 'folded'), cell='gru', val=[2.0, 3.0], test=[4.0, 6.0],
                     final=(1.5, 4.5))
  summary = files.read_json(os.path.join(folded, files.SUMMARY))
  for m in summary['members']:
    m['fold'] = m['seed']
  files.write_json(os.path.join(folded, files.SUMMARY), summary)
  said = []
  _, paths = figures.compare([plain, folded], out_dir=str(tmp_path / 'out'),
                             log=said.append)
  assert len(paths) == 2 and not figs
  assert said == ['figures: compare figure skipped (the validation figures are of '
                  'different kinds: plain: single split, folded: cross-validated (2 folds))']


def test_budgets_caption_names_why_members_stopped_and_the_sweeps_own_budget():
  """A halving sweep whose last survivors --patience stopped: every member stopped early,
  not all by halving, and none trained the sweep's 450 steps: the caption says so, not
  '3 of 3 stopped by successive halving ... of 350 steps' beside members 'trained in
  full' (there are none)."""
  members = [{'uid': 0, 'status': 'stopped', 'stopped_by': 'halving at 50', 'steps': 50},
             {'uid': 1, 'status': 'stopped', 'stopped_by': 'halving at 50', 'steps': 50},
             {'uid': 2, 'status': 'stopped', 'stopped_by': 'early stopping at step 350',
              'steps': 350}]
  assert labels.budgets(members, train_steps=450) == (
      'Scored at different budgets: 3 of 3 members were stopped early (2 by successive '
      'halving, 1 by --patience), after 50 or 350 of 450 steps.')
  full = members[:2] + [{'uid': 2, 'status': 'ok', 'steps': 450}]
  assert labels.budgets(full) == (
      'Scored at different budgets: 2 of 3 members were stopped early by successive '
      'halving, after 50 of 450 steps; they are shown beside members trained in full.')


def test_a_table_knows_its_sweeps_train_steps(tmp_path):
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)'}, lr_only, stopped=(1,))
  sweep = load.sweep_of(workdir)
  files.write_json(os.path.join(workdir, 'sweep.json'),
                   {**sweep, 'spec': {**sweep['spec'], 'train_steps': 450}})
  table = load.load(workdir)
  assert table.train_steps == 450
  assert 'after 30 of 450 steps' in labels.budgets(table.members, table.train_steps)


def test_a_heatmap_on_a_log_scale_squares_the_geometric_mean(tmp_path, monkeypatch):
  """Validation values spanning a factor of 10,000 are drawn on a log scale: one bad
  learning rate in the best member's square outweighed the rest in an arithmetic mean
  (that square drawn the worst); each square is the geometric mean of its
  configurations' means over seeds, and the caption says so. On a linear scale, the
  arithmetic mean, as before."""
  figs = _capture_figures(monkeypatch)
  base = {('lstm', 4): 1e-2, ('lstm', 8): 1e-4, ('gru', 4): 4e-3, ('gru', 8): 3e-3}
  axes = {'cell': 'grid(lstm,gru)', 'hidden_size': 'grid(4,8)',
          'learning_rate': 'grid(1e-3,3e-3,1e-2)'}
  bad = lambda hp: hp['learning_rate'] == 3e-3 and hp['cell'] == 'lstm'
  fn = lambda hp, s: (base[hp['cell'], hp['hidden_size']] * (1 + 0.1 * s)
                      * (1e4 if bad(hp) and hp['hidden_size'] == 8 else 1)) ** 2
  table = load.load(fabricate(tmp_path / 'log', axes, fn))
  rows, cols, grid, best, _ = heatmap.cells(table, 'cell', 'hidden_size')
  rmse = lambda hp: np.mean([math.sqrt(fn(hp, s)) for s in (0, 1)])
  lstm_8 = [rmse({'cell': 'lstm', 'hidden_size': 8, 'learning_rate': lr})
            for lr in (1e-3, 3e-3, 1e-2)]
  square = rows.index('lstm'), cols.index('8')
  np.testing.assert_allclose(grid[square], np.exp(np.mean(np.log(lstm_8))), rtol=1e-12)
  assert best == square and grid[best] < np.nanmax(grid)
  heatmap.plot_heatmap(table, str(tmp_path / 'out'), 'cell', 'hidden_size',
                       log=lambda _: None)
  caption = _caption(figs[-1])
  assert caption.startswith('Square: geometric mean, over the other hyperparameters, of '
                            'each configuration\'s mean validation rmse (') and (
                                ') over seeds;' in caption), caption
  narrow = lambda hp, s: 1 + hp['learning_rate'] + 0.01 * s + (hp['cell'] == 'gru')
  table = load.load(fabricate(tmp_path / 'lin', axes, narrow))
  rows, cols, grid, _, _ = heatmap.cells(table, 'cell', 'hidden_size')
  np.testing.assert_allclose(grid[rows.index('lstm'), cols.index('4')], np.mean(
      [np.mean([math.sqrt(narrow({'cell': 'lstm', 'learning_rate': lr}, s)) for s in (0, 1)])
       for lr in (1e-3, 3e-3, 1e-2)]), rtol=1e-12)
  heatmap.plot_heatmap(table, str(tmp_path / 'out2'), 'cell', 'hidden_size',
                       log=lambda _: None)
  caption = _caption(figs[-1])
  assert caption.startswith('Square: mean validation rmse (') and (
      ') over seeds and the other hyperparameters;' in caption), caption


def test_a_full_disk_while_drawing_is_one_error_not_a_traceback_per_figure(tmp_path,
                                                                         monkeypatch):
  """The disk fills while the figures are drawn: the first figure that cannot be
  written stops them with the work directory's one-line WriteError (exit status 2 at
  the command), not a traceback logged per figure and status 0."""
  import errno  # pylint: disable=g-import-not-at-top
  from matplotlib import figure as mpl_figure  # pylint: disable=g-import-not-at-top
  from rnnjax.errors import WriteError  # pylint: disable=g-import-not-at-top
  workdir = fabricate(tmp_path, {'learning_rate': 'grid(1e-3,1e-2)', 'dropout': 'grid(0,0.3)'},
                      lr_only)

  def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device')

  monkeypatch.setattr(mpl_figure.Figure, 'savefig', full)
  logged = []
  with pytest.raises(WriteError, match='No space left on device') as info:
    figures.make_all(workdir, log=logged.append)
  assert '\n' not in str(info.value)
  assert not any('failed' in line for line in logged), logged


@pytest.mark.parametrize('axes,search,task,count', [
    (['a', 'b', 'c', 'd'], 'grid', 'forecast', 6), (['a', 'b'], 'pbt', 'panel', 5),
    (['a'], 'random', 'charlm', 3), (['a'], 'grid', 'classify', 4)])
def test_the_figures_estimate_counts_every_figure_make_all_draws(monkeypatch, axes, search,
                                                                 task, count):
  """Sensitivity, learning curves, importance, a heatmap per pair of the 3 most important
  axes, PBT's schedules and a classifier's confusion: each priced as the one figure drawn
  (injected: 1 s)."""
  monkeypatch.setattr(figures, '_one_figure_s', lambda lines: 1.0)
  assert figures.estimate_s(axes, search, task) == count
