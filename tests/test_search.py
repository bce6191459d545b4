"""Tests for rnnjax/search/space.py (the spec grammar and its errors) and planner.py (make_plan)."""

import json
import re
import time

import numpy as np
import pytest

from rnnjax.engine import optim
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import plan as search_plan
from rnnjax.search import planner
from rnnjax.search import rules
from rnnjax.search import space
from rnnjax.search import spec as spec_lib

# One constant spec per axis (momentum and beta2 left out: the family defaults apply).
BASE = {
    'cell': 'lstm', 'optimizer': 'adam', 'hidden_size': '8', 'num_layers': '1',
    'batch_size': '16', 'learning_rate': '0.01', 'weight_decay': '0', 'clip_norm': '1',
    'input_dropout': '0', 'dropout': '0', 'forget_bias': '1', 'init_scale': '1',
    'lookback': '24',
}


def _axes(**specs):
  specs = {**BASE, **specs}
  return {name: space.parse_axis(name, text) for name, text in specs.items()}


# --- parse_axis -----------------------------------------------------------------------

@pytest.mark.parametrize('name, text, values', [
    ('learning_rate', '0.01', (0.01,)),
    ('learning_rate', ' 1e-3 ', (0.001,)),
    ('hidden_size', '32', (32,)),
    ('hidden_size', '64.0', (64,)),
    ('cell', 'gru', ('gru',)),
    ('forget_bias', '-1.5', (-1.5,)),
])
def test_parse_constant(name, text, values):
  axis = space.parse_axis(name, text)
  assert (axis.name, axis.kind, axis.values, axis.is_random) == (name, 'grid', values, False)
  assert all(type(v) is type(values[0]) for v in axis.values)


@pytest.mark.parametrize('text', ['grid(0.1, 0.01,0.001)', 'choice(0.1,0.01, 0.001)',
                                  '0.1,0.01,0.001', ' grid( 0.1 , 0.01 , 0.001 ) '])
def test_parse_listed_values(text):
  axis = space.parse_axis('learning_rate', text)
  assert axis.kind == 'grid' and not axis.is_random
  assert axis.values == (0.1, 0.01, 0.001)


def test_parse_listed_names_and_ints():
  assert space.parse_axis('cell', 'grid(lstm, gru)').values == ('lstm', 'gru')
  assert space.parse_axis('cell', 'rnn_tanh,rnn_relu').values == ('rnn_tanh', 'rnn_relu')
  axis = space.parse_axis('hidden_size', 'choice(16, 32)')
  assert axis.values == (16, 32) and all(type(v) is int for v in axis.values)


@pytest.mark.parametrize('name, text, kind, bounds', [
    ('dropout', 'uniform(0, 0.5)', 'uniform', (0.0, 0.5)),
    ('learning_rate', 'loguniform(1e-4, 1e-1)', 'loguniform', (1e-4, 1e-1)),
    ('hidden_size', 'randint(8, 64)', 'randint', (8, 64)),
    ('forget_bias', 'uniform(-1, 2)', 'uniform', (-1.0, 2.0)),
])
def test_parse_random(name, text, kind, bounds):
  axis = space.parse_axis(name, text)
  assert (axis.kind, axis.values, axis.is_random) == (kind, bounds, True)


@pytest.mark.parametrize('name, text', [
    ('learning_rate', 'grid(1,2'),
    ('learning_rate', 'grid 1,2)'),
    ('learning_rate', 'loguniform(0,1)'),
    ('weight_decay', 'loguniform(0,1)'),
    ('learning_rate', 'uniform(1)'),
    ('learning_rate', 'uniform(1,2,3)'),
    ('learning_rate', 'uniform(2,1)'),
    ('learning_rate', 'uniform(1,1)'),
    ('learning_rate', ''),
    ('learning_rate', '   '),
    ('learning_rate', 'grid()'),
    ('learning_rate', 'grid(0.1,,0.2)'),
    ('learning_rate', 'foo(1,2)'),
    ('learning_rate', 'abc'),
    ('learning_rate', '0'),
    ('learning_rate', '-1'),
    ('learning_rate', 'nan'),
    ('dropout', '1.0'),
    ('dropout', 'grid(0.1, 1.0)'),
    ('momentum', '1'),
    ('cell', 'lstmx'),
    ('cell', 'uniform(1,2)'),
    ('optimizer', 'adagrad'),
    ('hidden_size', '0'),
    ('hidden_size', '3.5'),
    ('hidden_size', 'randint(1.5, 4)'),
    ('forget_bias', 'inf'),
    ('not_a_flag', '1'),
])
def test_bad_spec_names_the_flag(name, text):
  with pytest.raises(InputError) as info:
    space.parse_axis(name, text)
  assert str(info.value).startswith(f'--{name}:')


@pytest.mark.parametrize('name, text', [('learning_rate', "'grid(1e-3,1e-2)'"),
                                        ('cell', '"lstm"'), ('hidden_size', "'8,16'")])
def test_a_quoted_spec_says_a_flagfile_keeps_quotes(name, text):
  """README: a flagfile line needs no quotes; one with them read the quotes as the value."""
  with pytest.raises(InputError, match=f'^--{name}: {re.escape(text)} is in quotes, which '
                     'are kept as part of the value in a flagfile line; write it without'):
    space.parse_axis(name, text)


@pytest.mark.parametrize('text', ['1e-3,', 'grid(1e-3,,1e-2)', 'uniform(1e-3, )'])
def test_a_comma_too_many_is_shown_in_its_spec(text):
  with pytest.raises(InputError, match=r"^--learning_rate: an empty value in '"
                     + re.escape(text) + "'$"):
    space.parse_axis('learning_rate', text)


@pytest.mark.parametrize('fn', ['log_uniform', 'Grid', 'randint2'])
def test_a_misspelt_distribution_is_named_as_one(fn):
  """Not 'malformed spec': the line says which names the grammar knows."""
  with pytest.raises(InputError, match=rf"^--learning_rate: unknown distribution '{fn}' "
                     r'in .*; expected grid, choice, uniform, loguniform or randint$'):
    space.parse_axis('learning_rate', f'{fn}(1e-4,1e-2)')


@pytest.mark.parametrize('text, entries', [
    ('learning_rate=loguniform(1e-4,1e-1),dropout=uniform(0,0.5)',
     ['learning_rate=loguniform(1e-4,1e-1)', 'dropout=uniform(0,0.5)']),
    (' a=grid(1, 2) , b=[1,(2,3)],c=3 ', ['a=grid(1, 2)', 'b=[1,(2,3)]', 'c=3']),
    ('a=uniform(0,1', ['a=uniform(0,1']),  # Unbalanced: one entry, parse_axis refuses it.
    ('a=1,', ['a=1', '']),
    ('', []),
    ('  ', []),
])
def test_split_entries_splits_on_commas_outside_brackets(text, entries):
  """search_comparison's --space: a spec's own commas stay in its entry."""
  assert space.split_entries(text) == entries


# --- make_plan: grid ------------------------------------------------------------------

def _grid_plan(num_seeds=2, num_members=0):
  axes = _axes(cell='grid(lstm, gru)', hidden_size='8,16', learning_rate='grid(0.1,0.01,0.001)')
  return planner.make_plan(axes, search='grid', num_members=num_members, num_seeds=num_seeds,
                           seed=0)


def test_grid_plan_members_and_buckets():
  plan = _grid_plan()
  assert len(plan.members) == 2 * 2 * 3 * 2
  assert set(plan.swept) == {'cell', 'hidden_size', 'learning_rate'}
  assert len(plan.buckets) == 4
  assert {(b['cell'], b['hidden_size']) for b in plan.buckets} == {
      (c, h) for c in ('lstm', 'gru') for h in (8, 16)}
  for b, structure in enumerate(plan.buckets):
    members = plan.bucket_members(b)
    assert len(members) == 3 * 2
    assert {m.hparams['learning_rate'] for m in members} == {0.1, 0.01, 0.001}
    for m in members:
      assert m.bucket == b
      assert {k: m.hparams[k] for k in hparams.STRUCTURAL if k in m.hparams} == structure
  # Every member is in exactly one bucket.
  assert sorted(m.uid for b in range(4) for m in plan.bucket_members(b)) == list(range(24))


def test_grid_plan_covers_every_combination_once():
  plan = _grid_plan()
  combos = [(m.hparams['cell'], m.hparams['hidden_size'], m.hparams['learning_rate'])
            for m in plan.members if m.seed == 0]
  assert len(combos) == len(set(combos)) == 12


def test_uids_and_seeds():
  plan = _grid_plan(num_seeds=2)
  assert [m.uid for m in plan.members] == list(range(24))
  for m in plan.members:
    assert m.uid == m.config * 2 + m.seed
    assert m.seed in (0, 1)
  by_config = {}
  for m in plan.members:
    by_config.setdefault(m.config, []).append(m)
  assert sorted(by_config) == list(range(12))
  for reps in by_config.values():
    assert [m.seed for m in reps] == [0, 1]
    assert reps[0].hparams == reps[1].hparams
    assert reps[0].bucket == reps[1].bucket


def test_grid_plan_to_json():
  out = _grid_plan().to_json()
  assert out['num_members'] == 24
  assert set(out['bucketed_axes']) == {'cell', 'hidden_size'}
  assert out['vmapped_axes'] == ['learning_rate']
  assert sum(b['num_members'] for b in out['buckets']) == 24
  assert len(search_plan.members_of_json(out)) == 24


@pytest.mark.parametrize('num_members', [5, 24])
def test_grid_wrong_num_members_raises(num_members):
  # --num_members counts configurations (12 here), not members (12 x 2 seeds).
  with pytest.raises(InputError, match='^--num_members:.*12 configurations'):
    _grid_plan(num_seeds=2, num_members=num_members)


def test_grid_num_members_matching_configurations_is_accepted():
  assert len(_grid_plan(num_seeds=2, num_members=12).members) == 24


def test_grid_rejects_random_axis_naming_the_flag():
  axes = _axes(dropout='uniform(0, 0.5)')
  with pytest.raises(InputError, match='^--dropout:'):
    planner.make_plan(axes, search='grid', num_members=0, num_seeds=1, seed=0)


@pytest.mark.parametrize('search', ['grid', 'halving', 'pbt'])
@pytest.mark.parametrize('spec, message', [
    (dict(learning_rate='grid(1e-3,1e-2,0.001)'), '^--learning_rate: 0.001 is listed twice'),
    (dict(cell='lstm,gru,lstm'), "^--cell: 'lstm' is listed twice"),
    (dict(dropout_2='grid(0,0.2,0.0)'), '^--dropout_per_layer: layer 2: 0.0 is listed twice')])
def test_a_grid_refuses_a_value_listed_twice_naming_the_flag(search, spec, message):
  """A slip (a value typed twice while adding more) would train that configuration twice,
  as two configurations of the ranking; random search may draw from such a list."""
  axes = _axes(**spec)
  with pytest.raises(InputError, match=message):
    planner.make_plan(axes, search=search, num_members=0, num_seeds=1, seed=0)
  planner.make_plan(axes, search='random', num_members=3, num_seeds=1, seed=0)


def test_bad_search_and_seeds():
  with pytest.raises(InputError, match='^--search:'):
    planner.make_plan(_axes(), search='bayes', num_members=4, num_seeds=1, seed=0)
  with pytest.raises(InputError, match='^--num_seeds:'):
    planner.make_plan(_axes(), search='grid', num_members=0, num_seeds=0, seed=0)
  with pytest.raises(InputError, match='^--num_members:'):
    planner.make_plan(_axes(), search='random', num_members=0, num_seeds=1, seed=0)


# --- make_plan: random ----------------------------------------------------------------

def _random_plan(seed, num_members=40, num_seeds=1):
  axes = _axes(learning_rate='loguniform(1e-4, 1e-1)', dropout='uniform(0.1, 0.5)',
               hidden_size='randint(4, 9)', cell='choice(lstm, gru, rnn_tanh)')
  return planner.make_plan(axes, search='random', num_members=num_members,
                           num_seeds=num_seeds, seed=seed)


def test_random_plan_values_within_bounds():
  plan = _random_plan(seed=0)
  assert len(plan.members) == 40
  lrs = [m.hparams['learning_rate'] for m in plan.members]
  assert all(1e-4 <= v <= 1e-1 for v in lrs)
  # Log-uniform: about half the draws fall below the geometric midpoint 10^-2.5.
  assert 8 <= sum(v < 10 ** -2.5 for v in lrs) <= 32
  assert all(0.1 <= m.hparams['dropout'] <= 0.5 for m in plan.members)
  sizes = [m.hparams['hidden_size'] for m in plan.members]
  assert all(type(s) is int and 4 <= s <= 9 for s in sizes)
  assert {m.hparams['cell'] for m in plan.members} <= {'lstm', 'gru', 'rnn_tanh'}
  assert len(set(lrs)) == 40
  assert set(plan.swept) == {'cell', 'hidden_size', 'learning_rate', 'dropout'}


def test_randint_is_inclusive():
  sizes = {m.hparams['hidden_size'] for m in _random_plan(seed=0, num_members=200).members}
  assert sizes == set(range(4, 10))


def test_random_plan_deterministic_per_seed():
  a, b, c = _random_plan(seed=3), _random_plan(seed=3), _random_plan(seed=4)
  assert [m.hparams for m in a.members] == [m.hparams for m in b.members]
  assert a.buckets == b.buckets
  assert [m.hparams for m in a.members] != [m.hparams for m in c.members]


def test_a_larger_random_search_extends_a_smaller_one():
  """Each axis draws from its own stream: the first 12 configurations of a 40-member
  search are the 12 of a 12-member search (so halving's first members are random
  search's), on every kind of axis."""
  small, large = _random_plan(seed=3, num_members=12), _random_plan(seed=3)
  assert [m.hparams for m in large.members[:12]] == [m.hparams for m in small.members]
  assert len({m.hparams['dropout'] for m in large.members} - {
      m.hparams['dropout'] for m in small.members}) == 28


def test_a_listed_value_a_random_draw_left_out_is_said():
  """Two draws of three cells leave one out, by chance of the draw: said, naming it; a
  draw of every value says nothing."""
  axes = _axes(learning_rate='loguniform(1e-4, 1e-1)', cell='choice(lstm, gru, rnn_tanh)')
  make = lambda n: planner.make_plan(axes, search='random', num_members=n, num_seeds=1,
                                     seed=0)
  small = make(2)
  missing = sorted({'lstm', 'gru', 'rnn_tanh'} - set(small.columns['cell']))
  assert planner.undrawn_notes(axes, small) == [
      f'note: --cell: {", ".join(v for v in ("lstm", "gru", "rnn_tanh") if v in missing)} '
      'drawn in none of the 2 configurations drawn at random (of 3 values listed): no '
      f'figure or table shows {"it" if len(missing) == 1 else "them"}; more --num_members, '
      'or a grid, trains every value']
  assert planner.undrawn_notes(axes, make(40)) == []


def test_random_plan_seeds_repeat_configurations():
  plan = _random_plan(seed=0, num_members=5, num_seeds=3)
  assert len(plan.members) == 15
  for m in plan.members:
    assert m.uid == m.config * 3 + m.seed
    assert m.hparams == plan.members[m.config * 3].hparams


def test_random_search_drawing_values_again_adds_seeds_to_that_configuration(tmp_path):
  """Short lists are drawn again: a repeat trains on its own uids, and counts as more
  seeds of the first draw of its values, in the plan, its uid arrays and plan.json; a
  random sweep begun before the repeats were grouped still resumes."""
  from rnnjax.run import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  plan = planner.make_plan(_axes(cell='choice(lstm,gru)', learning_rate='0.1,0.01'),
                           search='random', num_members=10, num_seeds=2, seed=0)
  members = list(plan.members)
  values = [tuple(sorted(m.hparams.items())) for m in members]
  first = {v: members[values.index(v)].config for v in values}
  assert len(first) == 4 and len(members) == 20
  assert [m.config for m in members] == [first[v] for v in values]
  for v in first:  # Each configuration's seeds numbered 0, 1, ... over its draws.
    seeds = [m.seed for m, w in zip(members, values) if w == v]
    assert seeds == list(range(len(seeds))) and len(seeds) >= 2
  uids = np.arange(20)
  assert plan.config_numbers(uids).tolist() == [m.config for m in members]
  assert plan.seed_numbers(uids).tolist() == [m.seed for m in members]
  listed = plan.to_json()
  assert [(j['config'], j['seed']) for j in search_plan.members_of_json(listed)] == [
      (m.config, m.seed) for m in members]
  older = {**listed, 'configs': {k: v for k, v in listed['configs'].items()
                                 if k != 'config'}}
  (tmp_path / 'plan.json').write_text(json.dumps(older))
  workdir_lib.check_plan(str(tmp_path), listed)  # Resumes: no error.
  other = planner.make_plan(_axes(cell='choice(lstm,gru)', learning_rate='0.1,0.01'),
                            search='random', num_members=10, num_seeds=2, seed=1)
  with pytest.raises(InputError, match='draws differently'):
    workdir_lib.check_plan(str(tmp_path), other.to_json())
  # Drawn from a continuous range, no two draws repeat: every row its own configuration.
  assert _random_plan(seed=0).config_of is None


# --- family defaults ------------------------------------------------------------------

@pytest.mark.parametrize('family', optim.FAMILIES)
def test_momentum_and_beta2_take_family_defaults(family):
  plan = planner.make_plan(_axes(optimizer=family), search='grid', num_members=0,
                           num_seeds=1, seed=0)
  (member,) = plan.members
  assert member.hparams['momentum'] == optim.DEFAULT_MOMENTUM[family]
  assert member.hparams['beta2'] == optim.DEFAULT_BETA2[family]
  others = {h.name for h in hparams.TABLE if h.tasks and 'forecast' not in h.tasks}
  assert set(member.hparams) == set(hparams.BY_NAME) - others


def test_family_defaults_per_configuration():
  plan = planner.make_plan(_axes(optimizer='grid(sgd, rmsprop)'), search='grid',
                           num_members=0, num_seeds=1, seed=0)
  for m in plan.members:
    family = m.hparams['optimizer']
    assert m.hparams['momentum'] == optim.DEFAULT_MOMENTUM[family]
    assert m.hparams['beta2'] == optim.DEFAULT_BETA2[family]
  assert len(plan.buckets) == 2


def test_explicit_momentum_overrides_default():
  axes = _axes(optimizer='grid(sgd, adam)')
  axes['momentum'] = space.parse_axis('momentum', '0.5')
  plan = planner.make_plan(axes, search='grid', num_members=0, num_seeds=1, seed=0)
  assert [m.hparams['momentum'] for m in plan.members] == [0.5, 0.5]
  assert [m.hparams['beta2'] for m in plan.members] == [optim.DEFAULT_BETA2['sgd'],
                                                        optim.DEFAULT_BETA2['adam']]


# --- known bug ------------------------------------------------------------------------

@pytest.mark.parametrize('name, text', [('hidden_size', 'uniform(2, 9)'),
                                         ('num_layers', 'loguniform(1, 4)'),
                                         ('learning_rate', 'randint(1, 3)')])
def test_distribution_must_fit_the_axis_type(name, text):
  with pytest.raises(InputError, match=rf'^--{name}: .* does not fit'):
    space.parse_axis(name, text)


def test_randint_draws_integers():
  axes = _axes(hidden_size='randint(2, 9)')
  plan = planner.make_plan(axes, search='random', num_members=5, num_seeds=1, seed=0)
  assert all(type(m.hparams['hidden_size']) is int for m in plan.members)
  assert all(2 <= m.hparams['hidden_size'] <= 9 for m in plan.members)


def test_masked_hidden_size_shares_one_bucket_per_structure():
  axes = _axes(cell='grid(lstm,gru)', hidden_size='grid(32,64,128)',
               learning_rate='grid(1e-3,1e-2)')
  plan = planner.make_plan(axes, search='grid', num_members=0, num_seeds=2, seed=0,
                           hidden_mode='masked')
  assert len(plan.members) == 2 * 3 * 2 * 2
  assert [b['hidden_size'] for b in plan.buckets] == [128, 128]
  assert [b['cell'] for b in plan.buckets] == ['lstm', 'gru']
  for b in range(2):
    widths = sorted({m.hparams['hidden_size'] for m in plan.bucket_members(b)})
    assert widths == [32, 64, 128]
  described = plan.to_json()
  assert described['masked_axes'] == ['hidden_size']
  assert described['bucketed_axes'] == ['cell']
  bucketed = planner.make_plan(axes, search='grid', num_members=0, num_seeds=2, seed=0)
  assert len(bucketed.buckets) == 6


def test_per_layer_axes_are_checked_like_their_base():
  axis = space.parse_axis('dropout_2', 'grid(0,0.5)')
  assert axis.values == (0.0, 0.5)
  with pytest.raises(InputError, match=r'^--dropout_2: 1.0 is invalid'):
    space.parse_axis('dropout_2', '1.0')


def test_per_layer_axes_are_named_and_parsed_in_one_place():
  assert hparams.layer_specs('') == {}
  assert hparams.layer_specs('grid(0,0.2);0.5') == {'dropout_1': 'grid(0,0.2)', 'dropout_2': '0.5'}
  assert [hparams.layer_of(hparams.layer_name(l)) for l in range(3)] == [0, 1, 2]
  assert hparams.has_layers(['dropout', 'dropout_3']) and not hparams.has_layers(['dropout'])
  axes = space.axes_of({}, dropout_per_layer='0.1;grid(0.2,0.3)')
  assert (axes['dropout_1'].values, axes['dropout_2'].values) == ((0.1,), (0.2, 0.3))


def test_plan_columns_match_its_members_and_json():
  plan = _grid_plan(num_seeds=2)
  members = list(plan.members)
  assert [m.uid for m in members] == list(range(24))
  assert [m.uid for m in plan.members[3:6]] == [3, 4, 5] and plan.members[-1].uid == 23
  # A swept optimizer: each member's momentum and beta2 its optimizer's, in plan.json too.
  optimizers = planner.make_plan(_axes(optimizer='adam,rmsprop'), search='grid',
                                 num_members=0, num_seeds=1, seed=0)
  for other in (plan, optimizers):
    from_json = search_plan.members_of_json(json.loads(json.dumps(other.to_json())))
    for m, j in zip(list(other.members), from_json):
      assert (m.uid, m.config, m.seed, m.bucket) == (j['uid'], j['config'], j['seed'],
                                                     j['bucket'])
      assert m.hparams == j['hparams']
  assert [(j['hparams']['momentum'], j['hparams']['beta2']) for j in from_json] == [
      (0.9, 0.999), (0.0, 0.9)]
  for b in range(len(plan.buckets)):
    assert plan.bucket_uids(b).tolist() == [m.uid for m in members if m.bucket == b]
    assert all(plan.buckets[b]['cell'] == m.hparams['cell'] for m in plan.bucket_members(b))
  uids = plan.bucket_uids(1)
  assert plan.column('learning_rate', uids).tolist() == [
      members[u].hparams['learning_rate'] for u in uids]


def test_a_million_random_members_plan_in_seconds():
  axes = _axes(learning_rate='loguniform(1e-4,1e-1)', dropout='uniform(0,0.5)',
               hidden_size='grid(8,16)')
  start = time.perf_counter()
  plan = planner.make_plan(axes, search='random', num_members=1_000_000, num_seeds=1,
                           seed=0, hidden_mode='masked')
  plan.to_json()
  assert time.perf_counter() - start < 10  # About 1 s on the 2-core VM.
  assert len(plan.members) == 1_000_000 and len(plan.buckets) == 1
  assert plan.buckets[0]['hidden_size'] == 16
  lr = np.asarray(plan.columns['learning_rate'])
  assert 1e-4 <= lr.min() and lr.max() <= 1e-1


def test_a_dataset_beside_the_users_own_file_is_noted():
  """A flagfile's bundled --dataset pointed at the user's own file: the file is read,
  and the log says the dataset is not (it is not refused: the issue's commands keep a
  flagfile unchanged)."""
  spec = spec_lib.SweepSpec(dataset='wineind_sales', csv_path='mine.csv')
  assert rules.notes(spec) == ['note: --csv_path=mine.csv is read; --dataset=wineind_sales '
                               'is not']
  assert rules.notes(spec_lib.SweepSpec(csv_path='mine.csv')) == []
  assert rules.notes(spec_lib.SweepSpec(dataset='wineind_sales')) == []
  spec = spec_lib.SweepSpec(task='classify', dataset='GunPoint', train_path='train.ts',
                            test_path='test.ts')
  assert rules.notes(spec) == ['note: --train_path=train.ts is read; --dataset=GunPoint is '
                               'not']


def test_settings_that_do_nothing_here_are_said():
  S = spec_lib.SweepSpec
  assert rules.notes(S(ensemble='single', combine='median')) == [
      'note: --combine=median does nothing with --ensemble=single: the final model is one '
      'member (with --refit above 1, its refit copies are combined so)']
  assert rules.notes(S(ensemble='single', combine='median', refit=2)) == []
  assert rules.notes(S(ensemble='top', combine='median')) == []
  said = ['note: --variational_dropout does nothing: no member has dropout (give --dropout '
          'or --dropout_per_layer a rate above 0)']
  assert rules.notes(S(variational_dropout=True, dropout='0')) == said
  assert rules.notes(S(variational_dropout=True, dropout='grid(0,0)')) == said
  assert rules.notes(S(variational_dropout=True, dropout='grid(0,0.2)')) == []
  assert rules.notes(S(variational_dropout=True, dropout='uniform(0,0.3)')) == []
  assert rules.notes(S(variational_dropout=True, dropout_per_layer='0;grid(0,0.5)')) == []
  assert rules.notes(S(variational_dropout=True, dropout_per_layer='0;0')) == said


def test_a_forecasts_input_columns_are_said_to_be_read_as_past_values():
  """A promotion flag given as --input_columns of a forecast is read up to the step before
  the forecast, never over it (a user test's surprise): said, with where a plan goes."""
  S = spec_lib.SweepSpec
  assert rules.notes(S(csv_path='shop.csv', target_columns=('sales',),
                       input_columns=('promo', 'price'))) == [
      'note: --input_columns=promo,price: each window reads their past values, up to the '
      'step before the one it forecasts; columns known in advance (a promotion plan, prices '
      "set ahead) are read over the forecast's own steps by --task=panel --future_columns "
      '(one series is a panel of one)']
  assert rules.notes(S(csv_path='shop.csv', target_columns=('sales',))) == []
  assert rules.notes(S(task='panel', csv_path='shop.csv', target_columns=('sales',),
                       input_columns=('price',), future_columns=('promo',))) == []
