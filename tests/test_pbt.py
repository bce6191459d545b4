"""Population-based training: decisions against plain-Python references, exploration
inside the declared ranges, values and lineage recorded."""

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import space
from rnnjax.search.strategies import lineage
from rnnjax.search.strategies import pbt
from tests import tiny_population as tiny

OK, DIVERGED, STOPPED = pop.OK, pop.DIVERGED, pop.STOPPED


def test_pbt_steps():
  assert pbt.pbt_steps(train_steps=100, pbt_interval=20, eval_every=10) == [
      20, 40, 60, 80]
  assert pbt.pbt_steps(train_steps=50, pbt_interval=20, eval_every=10) == [20, 40]
  with pytest.raises(InputError, match='^--pbt_interval: 15 '):
    pbt.pbt_steps(train_steps=100, pbt_interval=15, eval_every=10)
  with pytest.raises(InputError, match='^--pbt_interval: 100 '):
    pbt.pbt_steps(train_steps=100, pbt_interval=100, eval_every=10)


def test_pbt_sources_by_hand():
  values = [0.5, 0.1, np.nan, 0.3, 0.9, 0.2, 0.7, 0.4]
  status = [OK, OK, OK, OK, OK, DIVERGED, OK, STOPPED]
  # Ranked OK and finite: 1, 3, 0, 6, 4; two of five in the top and the bottom 40 %.
  src = pbt.sources(values, status, 0.4, np.random.default_rng(0))
  assert [i for i in range(8) if src[i] == i] == [0, 1, 3]
  assert set(src[[2, 4, 5, 6, 7]]) <= {1, 3}
  again = pbt.sources(values, status, 0.4, np.random.default_rng(0))
  assert again.tolist() == src.tolist()
  nobody = pbt.sources([np.nan, 1.0], [OK, DIVERGED], 0.5,
                                np.random.default_rng(0))
  assert nobody.tolist() == [0, 1]
  alone = pbt.sources([1.0, 2.0, 0.5], [DIVERGED, OK, STOPPED], 0.2,
                               np.random.default_rng(0))
  assert alone.tolist() == [1, 1, 1]
  with pytest.raises(InputError, match='^--pbt_fraction: 0.6 '):
    pbt.sources(values, status, 0.6, np.random.default_rng(0))


def test_a_member_copies_only_members_of_its_own_width():
  # A masked run holds members of several widths; a copy never changes a member's width
  # (as in a bucketed run, where each width is a run of its own), whichever is better.
  from rnnjax.search.strategies import strategy  # pylint: disable=g-import-not-at-top
  width = np.array([8, 16, 8, 16, 8, 16, 8, 16, 8])
  latest = np.array([5.0, 1.0, 6.0, 2.0, 7.0, 3.0, 8.0, 4.0, 0.0])
  uids = np.array([0, 1, 2, 3, 4, 5, 6, 7, -1])  # The last row pads.
  table = strategy.Table(latest, np.full(9, OK), uids, latest)
  kw = dict(steps=[10], seed=3, fraction=0.5, space={})
  src = pbt.decide({0: table}, {0: {}}, 10, widths={0: width}, **kw)[0].src
  assert (width[src] == width).all() and src[8] == 8
  assert src[[4, 6]].tolist() != [4, 6] and set(src[[4, 6]]) <= {0, 2}
  # One width (every bucketed run): the decisions as before widths were read.
  one = np.full(9, 8)
  assert (pbt.decide({0: table}, {0: {}}, 10, widths={0: one}, **kw)[0].src.tolist()
          == pbt.decide({0: table}, {0: {}}, 10, **kw)[0].src.tolist())


def _reference_truncation(values, status, fraction):
  ok = sorted((v, i) for i, (v, s) in enumerate(zip(values, status))
              if s == OK and math.isfinite(v))
  n = len(ok)
  k = 0 if n < 2 else max(1, int(fraction * n + 1e-9))
  top = [i for _, i in ok[:max(k, 1)]]
  replaced = {i for _, i in ok[n - k:]} if k else set()
  replaced |= {i for i in range(len(values)) if i not in {j for _, j in ok}}
  return top, replaced if ok else set()


def test_pbt_sources_equal_reference_on_random_tables():
  rng = np.random.default_rng(1)
  for trial in range(300):
    p = int(rng.integers(1, 25))
    values = np.where(rng.random(p) < 0.5, rng.choice([0.1, 0.2, np.nan, np.inf], p),
                      rng.normal(size=p))
    status = rng.choice([OK, DIVERGED, STOPPED], p, p=[.7, .15, .15])
    fraction = float(rng.choice([0.1, 0.2, 0.25, 1 / 3, 0.5]))
    src = pbt.sources(values, status, fraction, rng)
    top, replaced = _reference_truncation(values.tolist(), status.tolist(), fraction)
    assert {i for i in range(p) if src[i] != i} == replaced, trial
    assert all(src[i] in top for i in replaced), trial
    assert not replaced & set(top)


def test_pbt_sources_draw_uniformly_from_the_top():
  values, status = np.arange(20.0), np.zeros(20, int)
  counts = np.zeros(20)
  for seed in range(400):
    src = pbt.sources(values, status, 0.25, np.random.default_rng((3, seed)))
    np.add.at(counts, src[15:], 1)
  assert counts[5:].sum() == 0
  np.testing.assert_allclose(counts[:5] / counts.sum(), 0.2, atol=0.03)


def test_explore_stays_in_range_and_touches_only_copies():
  space = {'learning_rate': pbt.Range(1e-4, 1e-1, log=True),
           'dropout': pbt.Range(0.0, 0.5),
           'units': pbt.Range(2, 9, integer=True)}
  rng = np.random.default_rng(0)
  values = {'learning_rate': np.full(8, 1e-2, np.float32),
            'dropout': np.full(8, 0.25, np.float32), 'units': np.full(8, 4.0),
            'momentum': np.full(8, 0.9, np.float32)}
  copied = np.array([True, False] * 4)
  start = {k: v.copy() for k, v in values.items()}
  for _ in range(300):
    values = pbt.explore(values, copied, space, rng)
    for name, r in space.items():
      v = values[name]
      assert v.dtype == start[name].dtype
      assert (v >= v.dtype.type(r.lo)).all() and (v <= v.dtype.type(r.hi)).all()
      np.testing.assert_array_equal(v[~copied], start[name][~copied])
  assert np.array_equal(values['units'], np.round(values['units']))
  np.testing.assert_array_equal(values['momentum'], start['momentum'])
  again = pbt.explore(start, copied, space, np.random.default_rng(5))
  other = pbt.explore(start, copied, space, np.random.default_rng(5))
  for name in space:
    np.testing.assert_array_equal(again[name], other[name])


def test_explore_perturbs_or_resamples():
  r = pbt.Range(1e-4, 1.0, log=True)
  old = {'lr': np.full(4000, 1e-2)}
  copied = np.ones(4000, bool)
  factors = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0),
                             resample_probability=0.0)['lr'] / 1e-2
  np.testing.assert_allclose(np.sort(np.unique(np.round(factors, 12))), [0.8, 1.2])
  assert 0.45 < np.mean(factors > 1) < 0.55
  fresh = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0),
                           resample_probability=1.0)['lr']
  # Log-uniform on [1e-4, 1]: log10 is uniform on [-4, 0].
  np.testing.assert_allclose(np.mean(np.log10(fresh)), -2.0, atol=0.1)
  np.testing.assert_allclose(np.mean(np.log10(fresh) < -3), 0.25, atol=0.03)
  mixed = pbt.explore(old, copied, {'lr': r}, np.random.default_rng(0))['lr']
  perturbed = np.isclose(mixed, 0.8e-2) | np.isclose(mixed, 1.2e-2)
  np.testing.assert_allclose(np.mean(~perturbed), 0.25, atol=0.03)


def test_search_space_from_axes():
  axes = {name: space.parse_axis(name, text) for name, text in (
      ('learning_rate', 'loguniform(1e-4, 1e-2)'), ('weight_decay', 'grid(0, 1e-3)'),
      ('clip_norm', '1'), ('momentum', 'grid(0.5, 0.9)'), ('input_dropout', '0.1'),
      ('dropout', 'uniform(0, 0.5)'), ('init_scale', 'grid(0.5,1)'),
      ('hidden_size', 'grid(8,16)'), ('beta2', 'grid(0.001, 0.5)'))}
  ranges = pbt.search_space(axes)
  assert ranges == {'learning_rate': pbt.Range(1e-4, 1e-2, log=True),
                   'weight_decay': pbt.Range(0, 1e-3),
                   'momentum': pbt.Range(0.5, 0.9),
                   'dropout': pbt.Range(0, 0.5),
                   'beta2': pbt.Range(0.001, 0.5, log=True)}
  axes['dropout_2'] = space.parse_axis('dropout_2', 'grid(0.1, 0.3)')
  assert 'dropout' not in pbt.search_space(axes)
  assert pbt.search_space(axes)['dropout_2'] == pbt.Range(0.1, 0.3)


def test_hparam_values_round_trip():
  hp = tiny.hparams_of(layers=2)
  values = hparams.read(hp, ['learning_rate', 'dropout', 'dropout_2'])
  np.testing.assert_array_equal(values['learning_rate'], hp.learning_rate)
  np.testing.assert_array_equal(values['dropout'], np.asarray(hp.dropout_rates)[:, 0])
  np.testing.assert_array_equal(values['dropout_2'], np.asarray(hp.dropout_rates)[:, 1])
  new = gather.set_fields(hp, hparams.replaced(
      hp, {'learning_rate': values['learning_rate'] * 2, 'dropout_2': np.full(tiny.P, 0.4)},
      hp.dropout_rates))
  np.testing.assert_array_equal(new.learning_rate, np.asarray(hp.learning_rate) * 2)
  np.testing.assert_array_equal(new.dropout_rates[:, 0], hp.dropout_rates[:, 0])
  np.testing.assert_array_equal(new.dropout_rates[:, 1], np.float32(0.4))
  assert new.learning_rate.dtype == jnp.float32
  both = gather.set_fields(hp, hparams.replaced(hp, {'dropout': np.full(tiny.P, 0.2)},
                                                hp.dropout_rates))
  np.testing.assert_array_equal(both.dropout_rates, np.full((tiny.P, 2), 0.2, np.float32))
  tiny.assert_equal(both.replace(dropout_rates=hp.dropout_rates), hp)


def test_lineage_records_reconstruct_the_ancestry_and_schedules():
  """A synthetic PBT run: records name a top member as parent; the copies read back
  from the records equal those kept while deciding, and a member's chain and schedule
  at any step equal the ones tracked while copying."""
  p, fraction, seed = 10, 0.3, 4
  uids = np.arange(100, 100 + p)
  space = {'learning_rate': pbt.Range(1e-4, 1e-1, log=True)}
  hparams = {'learning_rate': np.geomspace(1e-4, 1e-1, p)}
  start = {int(u): {'learning_rate': float(v), 'hidden_size': int(u)}
           for u, v in zip(uids, hparams['learning_rate'])}
  history = {u: [(u, 0)] for u in uids}
  # uid -> [(since, values)] oldest first: what trained its current weights.
  trained = {u: [(0, start[u])] for u in uids}
  snapshots = {}
  records, copies, tables = [], [], {}
  for step in range(10, 80, 10):
    snapshots[step] = (history, trained)
    rng = np.random.default_rng((seed, step))
    values = rng.normal(size=p) + np.log10(hparams['learning_rate'])
    status = np.where(rng.random(p) < 0.1, DIVERGED, OK)
    values[rng.random(p) < 0.05] = np.nan
    tables[step] = (values, status)
    src = pbt.sources(values, status, fraction, rng)
    copied = src != np.arange(p)
    hparams = pbt.explore({k: v[src] for k, v in hparams.items()}, copied, space,
                               rng)
    records += lineage.records(uids, uids[src], step, hparams, bucket=0)
    copies.append(lineage.copies_of(uids, uids[src], step, hparams))
    history = {uids[i]: ([(uids[i], step)] + history[uids[src[i]]] if copied[i]
                         else history[uids[i]]) for i in range(p)}
    root = lambda i: history[uids[i]][-1][0]
    trained = {uids[i]: (trained[uids[src[i]]] + [(step, {
        **start[root(i)], 'learning_rate': float(hparams['learning_rate'][i])})]
                         if copied[i] else trained[uids[i]]) for i in range(p)}
  assert records and {r['split'] for r in records} == {'lineage', 'hparams'}
  for r in records:
    assert set(r) == {'uid', 'bucket', 'step', 'split', 'metric', 'value'}
    if r['metric'] == 'parent':
      values, status = tables[r['step']]
      ok = [i for i in range(p) if status[i] == OK and np.isfinite(values[i])]
      k = pbt.truncation_size(len(ok), fraction)
      best = sorted(values[ok])[max(k, 1) - 1]
      parent = r['value'] - 100
      assert status[parent] == OK and values[parent] <= best
      assert isinstance(r['value'], int)
  assert lineage.of_records(records) == copies
  tree = lineage.Lineage(copies)
  for u in uids:
    assert tree.chain(u) == history[u]
    got = tree.schedule(u, np.inf, start.get)
    assert got == trained[u] and len(got) == len(history[u])
    assert got[-1][1]['learning_rate'] == hparams['learning_rate'][u - 100]
    # At an earlier step (a best step, say): the copies before it, not after.
    for step, (then, then_trained) in snapshots.items():
      assert tree.chain(u, before=step) == then[u]
      assert tree.schedule(u, step, start.get) == then_trained[u]
  assert any(len(history[u]) > 2 for u in uids)  # Copies of copies were traced.


def test_a_pbt_sweep_with_nothing_to_perturb_says_so(tmp_path):
  """Sweeping only shapes, PBT can only copy weights: one note says so. PBT's settings
  on a sweep of another search are noted too."""
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback=4,
                         val_size=6, test_size=6, hidden_size='grid(4,8)', batch_size='4',
                         learning_rate='1e-2', search='pbt', train_steps=4, eval_every=2,
                         pbt_interval=2)
  lines = []
  sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert ("note: --search=pbt sweeps no hyperparameter it may perturb (learning_rate, "
          "weight_decay, clip_norm, momentum, beta2, input_dropout, dropout): its members "
          "only copy better ones' weights") in lines
  lines = []
  sweep.run_sweep(dataclasses.replace(spec, learning_rate='grid(1e-2,3e-2)'),
                  str(tmp_path / 'lr'), log=lines.append)
  assert not any('may perturb' in line or 'does not read' in line for line in lines)
  # PBT's settings on a grid sweep (--search=pbt forgotten): said, not silently dropped.
  lines = []
  sweep.run_sweep(dataclasses.replace(spec, search='grid', train_steps=2),
                  str(tmp_path / 'grid'), log=lines.append)
  assert 'note: --pbt_interval=2 is for --search=pbt; --search=grid does not read it' in lines
  # A dry run says them too (it said neither).
  lines = []
  sweep.run_sweep(dataclasses.replace(spec, search='grid', train_steps=2),
                  str(tmp_path / 'dry'), log=lines.append, dry_run=True)
  assert 'note: --pbt_interval=2 is for --search=pbt; --search=grid does not read it' in lines


def test_a_pbt_run_whose_every_member_stopped_trains_no_more_chunks(tmp_path):
  """Every member stopped early (patience 1) leaves PBT none to copy from: its chunks
  left are skipped and said, as a grid's are (they trained on, 8 of 10 chunks, with
  nothing to change)."""
  from rnnjax.results import evaluations  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback=4,
                         val_size=6, test_size=6, hidden_size='4', batch_size='4',
                         learning_rate='grid(0.3,0.5)', search='pbt', train_steps=20,
                         eval_every=2, pbt_interval=2, patience=1)
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append)
  assert 'bucket 0: every member stopped early or diverged; its 8 chunk(s) left are skipped' in (
      lines)
  assert set(summary['members'].strs['status']) == {'stopped'}
  records = evaluations.read_metrics(str(tmp_path / 'wd' / 'metrics.jsonl'))
  assert max(r['step'] for r in records if r['split'] == 'val') == 4


def test_members_alone_in_their_width_are_said_to_never_copy():
  """PBT copies within a hidden width: randint widths, one seed each, left most members
  alone, PBT doing nothing for them, silently (a user's finding)."""
  from rnnjax.search import spec as spec_lib  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  spec = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback=4,
                         hidden_size='grid(8,16,32)', learning_rate='grid(1e-3,1e-2)',
                         search='pbt', train_steps=4, eval_every=2, pbt_interval=2)
  assert pbt.alone_note(spec_lib.make_plan(spec)) == []  # Two learning rates a width.
  alone = dataclasses.replace(spec, learning_rate='1e-3', hidden_size='grid(8,16,32,64)')
  assert pbt.alone_note(spec_lib.make_plan(alone)) == [
      'note: --search=pbt copies only between members of one hidden width that train '
      'together (a bucket; its waves, where it trains in several, apart): 4 of the 4 members '
      'are alone in theirs (4 widths), and never copy nor are copied; '
      'fewer widths (a grid of a few) or more --num_seeds give them company']
  assert pbt.alone_note(spec_lib.make_plan(dataclasses.replace(alone, num_seeds=2))) == []
