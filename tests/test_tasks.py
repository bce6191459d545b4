"""Tasks: masking of padded sequences, bits per character, and each task end to end."""

import csv
import dataclasses
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnjax
from rnnjax.data import text
from rnnjax.engine import losses
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import tasks
from rnnjax.engine.tasks import classify as classify_task
from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.run import sweep
from rnnjax.search import hparams

QUIET = lambda _: None


def _classify_cfg(cell, readout):
  m = model.ModelConfig(cell=cell, input_size=3, hidden_size=8, num_layers=2,
                        output_size=4, readout=readout)
  return pop.TrainConfig(model=m, optimizer='adam', batch_size=4, steps_per_chunk=1,
                         task='classify')


def _hp(num_layers=2, rate=0.3):
  """One member's HParams (no population axis)."""
  hp = hparams.stack([hparams.member_values(hidden_size=8, dropout=rate)], [0], 1,
                     num_layers=num_layers)
  return jax.tree.map(lambda a: jnp.asarray(a[0]), hp)


@pytest.mark.parametrize('cell, readout', [('lstm', 'last_valid'), ('gru', 'mean')])
def test_padded_batch_equals_sequences_one_by_one(cell, readout):
  """Loss and gradients of a padded batch of variable-length sequences are the mean of
  each sequence's own, computed unpadded (no dropout: masks depend on shapes)."""
  cfg = _classify_cfg(cell, readout)
  params = model.init_params(cfg.model, jax.random.key(0))
  rng = np.random.default_rng(0)
  lengths = np.array([5, 2, 1])
  seqs = [rng.normal(size=(n, 3)).astype(np.float32) for n in lengths]
  labels = np.array([0, 3, 2], np.int32)
  padded = np.zeros((3, 5, 3), np.float32)
  for i, s in enumerate(seqs):
    padded[i, :len(s)] = s
    padded[i, len(s):] = 100.0  # Garbage after the end must change nothing.
  hp = _hp()
  task = tasks.TASKS['classify']
  no_dropout = lambda p, batch: task.loss(cfg, p, hp.replace(
      dropout_rates=jnp.zeros(2)), batch, jax.random.key(1))
  grad_fn = jax.jit(jax.value_and_grad(no_dropout))
  loss, grads = grad_fn(params, {
      'x': padded, 'length': lengths.astype(np.int32), 'y': labels,
      'share': np.array([0.5, 0.2, 0.3], np.float32)})
  one = []
  for s, y in zip(seqs, labels):
    one.append(grad_fn(params, {
        'x': s[None], 'length': np.array([len(s)], np.int32), 'y': np.array([y]),
        'share': np.array([0.5], np.float32)}))
  np.testing.assert_allclose(loss, np.mean([l for l, _ in one]), rtol=1e-5)
  mean_grads = jax.tree.map(lambda *g: np.mean(g, axis=0), *[g for _, g in one])
  for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(mean_grads)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_accuracy_and_cross_entropy_against_numpy():
  cfg = _classify_cfg('rnn_tanh', 'last_valid')
  params = model.init_params(cfg.model, jax.random.key(2))
  rng = np.random.default_rng(1)
  split = {'x': rng.normal(size=(6, 5, 3)).astype(np.float32),
           'length': np.array([5, 4, 3, 2, 1, 5], np.int32),
           'y': np.array([0, 1, 2, 3, 0, 1], np.int32)}
  metrics = tasks.TASKS['classify'].evaluate(cfg, params, split)
  logits = np.asarray(model.apply(cfg.model, params, split['x'], lengths=split['length']),
                      np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  np.testing.assert_allclose(metrics['ce'], -logp[np.arange(6), split['y']].mean(),
                             rtol=1e-5)
  assert metrics['accuracy'] == np.mean(logits.argmax(-1) == split['y'])
  hit = logits.argmax(-1) == split['y']
  recall = [hit[split['y'] == k].mean() for k in np.unique(split['y'])]
  np.testing.assert_allclose(metrics['balanced_accuracy'], np.mean(recall), rtol=1e-6)
  nll = -logp[np.arange(6), split['y']]
  per_class = [nll[split['y'] == k].mean() for k in np.unique(split['y'])]
  np.testing.assert_allclose(metrics['balanced_ce'], np.mean(per_class), rtol=1e-5)
  # The final model's path (probabilities) scores it alike.
  scored = tasks.TASKS['classify'].score(cfg, jax.nn.softmax(logits), split)
  np.testing.assert_allclose(scored['balanced_ce'], np.mean(per_class), rtol=1e-4)


@pytest.mark.parametrize('balance', [0.0, 0.5, 1.0])
def test_class_balance_weighs_each_case_by_its_class_share_against_numpy(balance):
  """--class_balance=b: the loss is the mean of the cases' cross-entropies weighed by
  their class's share ** -b; at 1 each class's cases weigh as much in total as any
  other's."""
  cfg = _classify_cfg('gru', 'last_valid')
  params = model.init_params(cfg.model, jax.random.key(3))
  rng = np.random.default_rng(2)
  batch = {'x': rng.normal(size=(4, 5, 3)).astype(np.float32),
           'length': np.array([5, 3, 4, 2], np.int32), 'y': np.array([0, 0, 0, 2], np.int32),
           'share': np.array([0.75, 0.75, 0.75, 0.25], np.float32)}
  hp = _hp().replace(dropout_rates=jnp.zeros(2), class_balance=jnp.float32(balance))
  got = tasks.TASKS['classify'].loss(cfg, params, hp, batch, jax.random.key(0))
  logits = np.asarray(model.apply(cfg.model, params, batch['x'], lengths=batch['length']),
                      np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -logp[np.arange(4), batch['y']]
  weight = batch['share'].astype(np.float64) ** -balance
  np.testing.assert_allclose(got, np.sum(weight * nll) / np.sum(weight), rtol=1e-5)
  if balance == 1:  # Class 0's three cases weigh as much as class 2's one: the loss is
    # the mean over the classes of their cases' mean cross-entropy.
    np.testing.assert_allclose(got, np.mean([nll[:3].mean(), nll[3]]), rtol=1e-5)


def test_a_batch_carries_each_cases_class_share_of_the_real_training_cases():
  """`share`: the drawn case's class's share of the training cases, folds' padding
  (past `count`) left out of the counts as it is out of the draws."""
  cfg = _classify_cfg('gru', 'last_valid')
  train = {'x': np.zeros((6, 5, 3), np.float32), 'length': np.full(6, 5, np.int32),
           'y': np.array([0, 0, 0, 3, 3, 3], np.int32), 'count': np.int32(4)}
  drawn = classify_task.batch(cfg, train, jax.random.key(0))
  assert set(np.asarray(drawn['y']).tolist()) <= {0, 3}
  want = np.where(np.asarray(drawn['y']) == 0, 0.75, 0.25)
  np.testing.assert_allclose(drawn['share'], want, rtol=1e-6)


def test_confident_correct_cases_score_their_tiny_cross_entropy_on_both_paths():
  """A case the model gets right by a logit margin of 20 loses log1p(e^-20) ~ 2.1e-9
  nats, not 0: the evaluation during training (from logits) and the final model's (from
  probabilities) agree with float64, wrong and unsure cases too."""
  logits = np.array([[20.0, 0.0, -3.0], [0.0, 25.0, 1.0], [2.0, 1.0, 0.5],
                     [0.0, 30.0, 0.0]], np.float32)
  y = np.array([0, 1, 2, 0], np.int32)
  x = logits.astype(np.float64)
  want = np.log(np.exp(x).sum(-1)) - x[np.arange(4), y]
  near = x[:2] - x[np.arange(2), y[:2]][:, None]
  want[:2] = np.log1p(np.exp(near).sum(-1) - 1)  # Exact near 0.
  got = np.asarray(losses.cross_entropy(jnp.asarray(logits), jnp.asarray(y)))
  np.testing.assert_allclose(got, want, rtol=1e-5)
  probs = jax.nn.softmax(jnp.asarray(logits))
  np.testing.assert_allclose(losses.nll_of_probs(probs, jnp.asarray(y)), want, rtol=1e-4)
  scored = tasks.TASKS['classify'].score(None, probs, {'y': y})
  assert float(scored['ce']) > 0
  np.testing.assert_allclose(scored['ce'], want.mean(), rtol=1e-4)


def test_balanced_accuracy_weighs_each_class_present_alike():
  """Nine of class 0, one of class 1 (class 2 of the model absent): always answering 0
  is 90 % accurate, 50 % balanced; the probabilities' score (a saved model's) agrees."""
  y = np.array([0] * 9 + [1], np.int32)
  scores = np.tile(np.array([[0.7, 0.2, 0.1]], np.float32), (10, 1))
  assert float(classify_task.balanced_accuracy(scores, y)) == 0.5
  scored = tasks.TASKS['classify'].score(None, scores, {'y': y})
  np.testing.assert_allclose([scored['accuracy'], scored['balanced_accuracy']], [0.9, 0.5])
  scores[9] = [0.1, 0.8, 0.1]  # The rare case found too: both perfect.
  assert float(classify_task.balanced_accuracy(scores, y)) == 1.0


def test_bits_per_character_of_a_uniform_model_is_log2_vocab():
  vocab = 37
  m = model.ModelConfig(cell='lstm', input_size=vocab, hidden_size=8, num_layers=1,
                        output_size=vocab, readout='all')
  cfg = pop.TrainConfig(model=m, optimizer='adam', batch_size=2, steps_per_chunk=1,
                        task='charlm', seq_len=5)
  params = model.init_params(m, jax.random.key(0))
  params['head'] = jax.tree.map(jnp.zeros_like, params['head'])  # Every logit 0.
  tokens = np.random.default_rng(0).integers(0, vocab, size=1001).astype(np.int32)
  x, y, mask = text.streams(tokens, 7)
  metrics = tasks.TASKS['charlm'].evaluate(cfg, params, {'x': x, 'y': y, 'mask': mask})
  np.testing.assert_allclose(metrics['bpc'], math.log2(vocab), rtol=1e-6)
  np.testing.assert_allclose(metrics['nats'], math.log(vocab), rtol=1e-6)


def test_charlm_bits_per_character_count_every_prediction_once():
  """Against a direct NumPy sum over the part's predictions with the model's logits."""
  vocab = 11
  m = model.ModelConfig(cell='gru', input_size=vocab, hidden_size=6, num_layers=1,
                        output_size=vocab, readout='all')
  cfg = pop.TrainConfig(model=m, optimizer='adam', batch_size=2, steps_per_chunk=1,
                        task='charlm', seq_len=5)
  params = model.init_params(m, jax.random.key(3))
  tokens = np.random.default_rng(2).integers(0, vocab, size=53).astype(np.int32)
  x, y, mask = text.streams(tokens, 4)
  got = tasks.TASKS['charlm'].evaluate(cfg, params, {'x': x, 'y': y, 'mask': mask})
  logits = np.asarray(model.apply(m, params, jax.nn.one_hot(x, vocab)), np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
  assert mask.sum() == len(tokens) - 1
  np.testing.assert_allclose(got['nats'], (nll * mask).sum() / mask.sum(), rtol=1e-5)


def _ts(path, cases):
  lines = ['@problemName toy', '@timeStamps false', '@missing false', '@univariate false',
           '@dimensions 2', '@equalLength false', '@classLabel true a b', '@data']
  for values, label in cases:
    lines.append(':'.join(','.join(f'{v:.3f}' for v in ch) for ch in values.T) + f':{label}')
  path.write_text('\n'.join(lines) + '\n')


def test_classify_end_to_end_on_users_ts_files(tmp_path):
  rng = np.random.default_rng(0)
  def cases(n):  # Class b rises, class a falls; lengths 4..9.
    out = []
    for i in range(n):
      label = 'ab'[i % 2]
      t = np.arange(rng.integers(4, 10), dtype=float)
      slope = 1.0 if label == 'b' else -1.0
      out.append((np.stack([slope * t, rng.normal(size=len(t))], 1), label))
    return out
  _ts(tmp_path / 'toy_TRAIN.ts', cases(30))
  _ts(tmp_path / 'toy_TEST.ts', cases(20))
  spec = sweep.SweepSpec(task='classify', train_path=str(tmp_path / 'toy_TRAIN.ts'),
                         test_path=str(tmp_path / 'toy_TEST.ts'), cell='gru',
                         hidden_size='8', batch_size='8', learning_rate='grid(1e-2,3e-2)',
                         train_steps=60, eval_every=30)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=QUIET)
  assert summary['display'] == 'accuracy' and summary['selection']['metric'] == 'ce'
  assert summary['best']['test']['accuracy'] >= 0.9  # An easy problem.
  assert summary['data']['classes'] == ['a', 'b']


def test_an_imbalanced_classifier_sweeps_class_balance_and_ranks_by_balanced_ce(tmp_path):
  """--class_balance is a traced axis of the classifier's loss; --selection=balanced_ce
  keeps each member's best step, ranks and chooses by the validation cross-entropy with
  every class weighed alike, and the tables show balanced accuracy; both are refused
  where they mean nothing."""
  rng = np.random.default_rng(1)
  def cases(n):  # One case in six is the rare class b (it rises).
    return [(np.stack([(1.0 if i % 6 == 0 else -1.0) * np.arange(6.0),
                       rng.normal(size=6)], 1), 'ab'[i % 6 == 0]) for i in range(n)]
  _ts(tmp_path / 'rare_TRAIN.ts', cases(36))
  _ts(tmp_path / 'rare_TEST.ts', cases(12))
  spec = sweep.SweepSpec(task='classify', train_path=str(tmp_path / 'rare_TRAIN.ts'),
                         test_path=str(tmp_path / 'rare_TEST.ts'), cell='gru',
                         hidden_size='4', batch_size='8', learning_rate='1e-2',
                         class_balance='grid(0,1)', selection='balanced_ce',
                         train_steps=20, eval_every=10)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert summary['selection'] == {'metric': 'balanced_ce', 'mode': 'min', 'named': True}
  chunks = [l for e in lines for l in e.splitlines() if l.startswith('chunk ')]
  assert chunks and all(' best val balanced_ce ' in l for l in chunks)
  # Shown by what goes with it, balanced accuracy (accuracy is the common class's): the
  # ranked table's columns (the baselines' too), the configurations' means.
  assert (summary['display'], summary['display_mode']) == ('balanced_accuracy', 'max')
  said = '\n'.join(lines)
  table = said[said.index('rank   uid'):said.index('single best:')]
  assert ' val balanced_accuracy test balanced_accuracy ' in table and ' accuracy ' not in table
  assert summary['configs'][0]['val'].keys() == {'balanced_ce', 'balanced_accuracy'}
  members = summary['members']
  val = {u: members[i]['val']['balanced_ce'] for i, u in enumerate(members.uids.tolist())}
  assert [val[u] for u in summary['ranking']] == sorted(val.values())
  with open(tmp_path / 'wd' / 'trials.csv', encoding='utf-8') as f:
    rows = list(csv.DictReader(f))
  assert sorted(float(r['class_balance']) for r in rows) == [0.0, 1.0]
  for bad, message in [(dict(task='forecast', dataset='shampoo_sales', class_balance='1'),
                        '^--class_balance: for --task=classify only'),
                       (dict(class_balance='3'), '^--class_balance: '),
                       (dict(task='forecast', dataset='shampoo_sales',
                             selection='balanced_ce'), '^--selection: ')]:
    with pytest.raises(InputError, match=message):
      sweep.run_sweep(sweep.SweepSpec(**{**dataclasses.asdict(spec), 'class_balance': '0',
                                         'selection': '', 'train_path': '', 'test_path': '',
                                         **bad}), str(tmp_path / 'bad'), log=QUIET)
    assert not (tmp_path / 'bad').exists()


def test_charlm_end_to_end_on_users_text(tmp_path):
  (tmp_path / 'play.txt').write_text('ROMEO:\nBut soft, what light.\n\n' * 200)
  spec = sweep.SweepSpec(task='charlm', text_path=str(tmp_path / 'play.txt'),
                         val_size=500, test_size=500, hidden_size='16', batch_size='8',
                         seq_len=16, learning_rate='grid(3e-3,3e-2)', train_steps=40,
                         eval_every=20, sample_chars=300, temperature=50.0,
                         ensemble='single')
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=QUIET)
  vocab = len(set((tmp_path / 'play.txt').read_text())) + 1  # And U+FFFD, unknown.
  assert summary['baselines']['uniform']['val']['bpc'] == pytest.approx(math.log2(vocab))
  assert summary['best']['val']['bpc'] < summary['baselines']['unigram']['val']['bpc']
  sample = (tmp_path / 'wd' / 'sample.txt').read_text()
  # Nearly flat at temperature 50: U+FFFD, the unknown character's token, would be drawn
  # about once in 17 characters; it never is.
  assert len(sample) == 16 + 300 and set(sample) <= set((tmp_path / 'play.txt').read_text())
  # The saved model, here the best member alone, draws it again from summary.json's record.
  said = summary['sample']
  again = rnnjax.load(str(tmp_path / 'wd')).sample(
      said['prime'], num_chars=said['num_chars'], temperature=said['temperature'],
      seed=said['seed'])
  assert said['prime'] + again == sample


def test_forecast_end_to_end_two_targets_and_an_input_column(tmp_path):
  t = np.arange(120)
  rows = ['month,sales,returns,price'] + [
      f'{i},{100 + 10 * np.sin(i / 3):.3f},{20 + 3 * np.cos(i / 3):.3f},{5 + i % 7}'
      for i in t]
  (tmp_path / 'shop.csv').write_text('\n'.join(rows) + '\n')
  spec = sweep.SweepSpec(classical_baselines=False,
                         csv_path=str(tmp_path / 'shop.csv'), time_column='month',
                         target_columns=('sales', 'returns'), input_columns=('price',),
                         lookback=8, horizon=2, hidden_size='8', batch_size='8',
                         train_steps=40, eval_every=20, season=0)
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=QUIET)
  best = summary['best']
  assert {'rmse[sales]', 'rmse[returns]', 'mae[sales]', 'mae[returns]'} <= set(best['test'])
  overall = math.sqrt((best['test']['rmse[sales]'] ** 2 +
                       best['test']['rmse[returns]'] ** 2) / 2)
  assert best['test']['rmse'] == pytest.approx(overall, rel=1e-4)
  records = evaluations.read_metrics(os.path.join(tmp_path, 'wd', 'metrics.jsonl'))
  assert any(r['metric'] == 'rmse[returns]' for r in records)
  plan = json.loads((tmp_path / 'wd' / 'plan.json').read_text())
  assert plan['num_members'] == 1


def test_differenced_forecast_reports_errors_on_levels():
  """Predicting no change is the last-value forecast: its level RMSE and MAE, computed
  from scaled changes, equal the last-value baseline's at every horizon."""
  from rnnjax.engine import losses  # pylint: disable=g-import-not-at-top
  from rnnjax.data.windows import series_windows  # pylint: disable=g-import-not-at-top
  t = np.arange(80, dtype=np.float64)
  values = (3 * t + 10 * np.sin(t / 2) + 100)[:, None]
  data = series_windows.prepare(values, lookback=6, horizon=3, val_size=12, test_size=12,
                                difference=True)
  assert data.difference and np.all(np.isfinite(data.x['train']))
  for split in ('val', 'test'):
    y = data.y[split]
    no_change = np.full_like(y, -data.mean[0] / data.std[0])
    got = losses.regression_metrics(jnp.asarray(no_change), jnp.asarray(y),
                                    jnp.asarray(data.mean, jnp.float32),
                                    jnp.asarray(data.std, jnp.float32), cumulative=True)
    want = data.baselines['last_value'][split]
    np.testing.assert_allclose(got['rmse'], want['rmse'], rtol=1e-5)
    np.testing.assert_allclose(got['mae'], want['mae'], rtol=1e-5)
  # The changes, not the levels, are standardised with training statistics.
  np.testing.assert_allclose(data.mean[0], np.diff(values[:56, 0]).mean(), rtol=1e-9)


def test_a_class_the_validation_part_lacks_is_noted(tmp_path):
  """A class of 2 training cases: 3 folds' validation parts cannot all hold it, and
  those that do not say so, naming the fold and the class; those that hold one case of
  it beside many of another say that a balanced score rests on it; with plenty, or few
  of every class, no note."""
  from rnnjax.data import task_data  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  many = [(rng.normal(size=(5, 2)), 'a') for _ in range(30)]
  _ts(tmp_path / 'train.ts', many + [(rng.normal(size=(5, 2)), 'b') for _ in range(2)])
  _ts(tmp_path / 'test.ts', many[:3])
  paths = dict(train_path=str(tmp_path / 'train.ts'), test_path=str(tmp_path / 'test.ts'))
  lacking = 0
  for f in range(3):
    data = task_data.load(task='classify', fold=f, folds=3, **paths)
    if data.info['class_counts']['val']['b']:  # 1 of 'b' beside 10 of 'a': rare, said.
      assert data.notes == (f"note: the validation part of fold {f + 1} of 3 holds fewer "
                            "than 5 cases of class(es) 'b' (1): what a balanced score "
                            '(--selection=balanced_ce, balanced accuracy) chooses rests on '
                            'those few cases',), data.notes
      continue
    lacking += 1
    assert data.notes == (f"note: the validation part of fold {f + 1} of 3 holds no case of "
                          "class(es) 'b' (2 training cases): members and the final model "
                          'are chosen without them',)
  assert lacking
  _ts(tmp_path / 'train.ts', many + [(rng.normal(size=(5, 2)), 'b') for _ in range(30)])
  assert task_data.load(task='classify', folds=1, **paths).notes == ()
  # Few of every class (a small data set, not a rare class): no note.
  _ts(tmp_path / 'train.ts', many[:12] + [(rng.normal(size=(5, 2)), 'b') for _ in range(9)])
  small = task_data.load(task='classify', folds=1, **paths)
  assert max(small.info['class_counts']['val'].values()) < 5 and small.notes == ()
