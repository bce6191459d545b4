"""Tests for anova.f_tests: each effect of a full grid tested against seed noise.

Two seeds per configuration can hand a cell most of the variance by chance (m3_other,
6 configurations: 56 % with one pair of seeds, 2 % with another), so the importance
figure gives each share the F-test's p beside it. The oracle here is the textbook
balanced two-way ANOVA computed from the members themselves, not from anova_grid."""

import os

import numpy as np
from scipy import stats

from rnnjax.figures import load
from rnnjax.figures.analysis import anova
from rnnjax.figures.analysis import importance
from rnnjax.figures.plots import importance_plot
from rnnjax.results import files
from tests.test_figures import _capture_figures
from tests.test_figures import fabricate

AXES = {'learning_rate': 'grid(1e-3,1e-2,1e-1)', 'hidden_size': 'grid(16,64)'}


def _oracle(y: np.ndarray) -> tuple:
  """(p of axis 0, p of axis 1, p of the pair) of y <float64>[A, B, n] by the textbook
  sums of squares over members."""
  a, b, n = y.shape
  mu = y.mean()
  resid = float(((y - y.mean(2, keepdims=True)) ** 2).sum())
  df_w = a * b * (n - 1)
  ss_a = b * n * float(((y.mean((1, 2)) - mu) ** 2).sum())
  ss_b = a * n * float(((y.mean((0, 2)) - mu) ** 2).sum())
  ss_ab = n * float(((y.mean(2) - mu) ** 2).sum()) - ss_a - ss_b
  p = lambda ss, df: stats.f.sf(ss / df / (resid / df_w), df, df_w)
  return p(ss_a, a - 1), p(ss_b, b - 1), p(ss_ab, (a - 1) * (b - 1))


def test_f_tests_match_the_textbook_two_way_anova():
  rng = np.random.default_rng(0)
  y = rng.normal(size=(3, 2, 4)) + np.array([0.0, 0.5, 1.0])[:, None, None]
  main, pairs, _ = anova.anova_grid(y.mean(2))
  got = anova.f_tests(main, pairs, (3, 2), list(y.reshape(6, 4)))
  want = _oracle(y)
  np.testing.assert_allclose(got['main'], want[:2], rtol=1e-9)
  np.testing.assert_allclose(got['pairs'][(0, 1)], want[2], rtol=1e-9)


def test_f_tests_need_equal_replicates_with_spread():
  main, pairs = np.array([0.1]), {}
  assert anova.f_tests(main, pairs, (2,), [np.ones(1), np.ones(1)]) is None
  assert anova.f_tests(main, pairs, (2,), [np.zeros(2), np.zeros(3)]) is None
  assert anova.f_tests(main, pairs, (2,), [np.zeros(2), np.ones(2)]) is None


def test_seed_noise_alone_is_not_significant_and_a_real_effect_is(tmp_path):
  noise = lambda hp, seed: 1 + 0.1 * seed  # Every configuration's seeds alike.
  result = importance.analyse(load.load(fabricate(tmp_path / 'noise', AXES, noise)))
  assert result['p']['replicates'] == 2
  np.testing.assert_allclose(list(result['p']['main'].values()), 1.0)
  effect = lambda hp, seed: 1 + hp['learning_rate'] * 10 + 0.001 * seed
  result = importance.analyse(load.load(fabricate(tmp_path / 'lr', AXES, effect)))
  assert result['p']['main']['learning_rate'] < 1e-6
  assert sorted(result['p']['pairs'][0]['axes']) == ['hidden_size', 'learning_rate']


def test_no_test_with_one_seed_or_after_halving(tmp_path):
  effect = lambda hp, seed: 1 + hp['learning_rate'] * 10 + 0.001 * seed
  one = fabricate(tmp_path / 'one', AXES, effect, num_seeds=1)
  assert 'p' not in importance.analyse(load.load(one))
  halved = fabricate(tmp_path / 'halved', AXES, effect, stopped=(0, 1))
  summary = files.read_json(os.path.join(halved, 'summary.json'))
  for m in summary['members'][:2]:
    m['stopped_by'] = 'halving'
  files.write_json(os.path.join(halved, 'summary.json'), summary)
  result = importance.analyse(load.load(halved))
  assert 'p' not in result and result['no_p'].startswith('successive halving'), result
  assert 'no_p' not in importance.analyse(load.load(one))  # No replicates: nothing to say.


def test_the_figure_says_why_replicates_get_no_p(tmp_path, monkeypatch):
  # A diverged member dropped leaves one configuration a seed short: no balanced test.
  figs = _capture_figures(monkeypatch)
  effect = lambda hp, seed: 1 + hp['learning_rate'] * 10 + 0.01 * seed
  table = load.load(fabricate(tmp_path, AXES, effect, num_seeds=3, diverged=(0,)))
  result = importance.analyse(table)
  assert 'p' not in result and result['no_p'] == 'configurations have 2 to 3 replicates'
  importance_plot.plot_importance(table, str(tmp_path / 'out'), result, log=print)
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  assert 'no p against it: configurations have 2 to 3 replicates.' in caption, caption


def test_the_figure_gives_each_effect_its_p(tmp_path, monkeypatch):
  figs = _capture_figures(monkeypatch)
  noise = lambda hp, seed: 1 + 0.01 * ((hp['hidden_size'] * 7 + seed * 3) % 5)
  table = load.load(fabricate(tmp_path, AXES, noise))
  result = importance.analyse(table)
  importance_plot.plot_importance(table, str(tmp_path / 'out'), result, log=print)
  texts = [t.get_text() for ax in figs[-1].axes for t in ax.texts]
  p = result['p']['main']['hidden_size']
  assert any(t.endswith(f'(p = {p:.2g})') for t in texts), texts
  caption = ' '.join(' '.join(t.get_text() for t in figs[-1].texts).split())
  assert 'not told apart from seed noise' in caption, caption
