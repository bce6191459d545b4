"""The sweep end to end through the library entry point, and its work directory."""

import csv
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
import types

import jax
import numpy as np
import pytest

from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.run import dry_run
from rnnjax.run import prepare as prepare_lib
from rnnjax.run import sweep
from rnnjax.search import probe
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from rnnjax.search import waves as plan_lib

TINY = sweep.SweepSpec(classical_baselines=False,
    dataset='shampoo_sales', lookback=4, horizon=1, val_size=6, test_size=6,
    cell='grid(lstm,gru)', hidden_size='8', batch_size='8',
    learning_rate='grid(1e-3,1e-2)', dropout='0.1', num_seeds=2, train_steps=10,
    eval_every=5)


def _run(tmp_path, spec=TINY, **kw):
  lines = []
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lines.append, **kw)
  return summary, lines


def test_tiny_sweep_end_to_end(tmp_path):
  # Programs compiled by earlier tests in this process would not be compiled again.
  jax.clear_caches()
  # The classical baselines too (the other tests here skip their fits), where the
  # optional statsforecast is installed.
  classical = importlib.util.find_spec('statsforecast') is not None
  summary, lines = _run(tmp_path, dataclasses.replace(TINY, classical_baselines=True))
  wd = tmp_path / 'wd'
  assert sorted(os.listdir(wd)) == ['checkpoints', 'curves.csv', 'metrics.jsonl', 'model',
                                    'optuna.journal', 'plan.json', 'summary.json',
                                    'sweep.json', 'tensorboard', 'trials.csv']
  assert sorted(os.listdir(wd / 'tensorboard')) == [f'uid-{u:04d}' for u in range(8)]
  assert len(summary['members']) == 8
  assert {m['bucket'] for m in summary['members']} == {0, 1}
  best = summary['best']
  assert best['uid'] == summary['ranking'][0]
  assert set(best['test']) == {'mse', 'rmse', 'mae', 'mase'}
  assert {'last_value', 'seasonal_naive'} <= set(summary['baselines'])
  assert {'ets', 'arima'} & set(summary['baselines']) == ({'ets', 'arima'} if classical
                                                          else set())
  assert summary['baselines']['last_value']['test']['rmse'] > 0
  records = evaluations.read_metrics(wd / 'metrics.jsonl')
  # 8 members x 2 chunks x (1 train metric + 4 val metrics: mse, rmse, mae, mase).
  assert len(records) == 8 * 2 * 5
  assert {r['split'] for r in records} == {'train', 'val'}
  assert {r['step'] for r in records} == {5, 10}
  val_best = min(r['value'] for r in records
                 if r['uid'] == best['uid'] and r['metric'] == 'mse' and r['split'] == 'val')
  np.testing.assert_allclose(best['val']['mse'], val_best, rtol=1e-5)
  # Scores from the device, and their means and sds, are written as float32's shortest
  # decimals (0.93333334, not 0.9333333969116211) in every file a user reads (the
  # baselines are float64 sums of the float64 data).
  texts = {name: (wd / name).read_text()
           for name in ('metrics.jsonl', 'trials.csv', 'curves.csv')}
  texts['summary.json'] = json.dumps({k: v for k, v in json.loads(
      (wd / 'summary.json').read_text()).items() if k != 'baselines'})
  # At most 9 significant digits (float32's most), where float64's widening wrote 16-17.
  digits = lambda n: len(n.split('e')[0].replace('.', '').strip('0'))
  for name, text in texts.items():
    numbers = re.findall(r'\d+\.\d+(?:e[-+]\d+)?', text)
    assert numbers and max(map(digits, numbers)) <= 9, (name, max(numbers, key=digits))
  assert json.loads((wd / 'sweep.json').read_text())['spec']['cell'] == 'grid(lstm,gru)'
  plan = json.loads((wd / 'plan.json').read_text())  # The group size training used.
  assert [b['group_size'] for b in plan['buckets']] == [
      sharding.group_size(4 // sharding.population_mesh().size, 0,
                          b['activation_bytes_per_member']) for b in plan['buckets']]
  assert any(line.startswith('chunk 4/4') for line in lines)
  assert set(summary['compiles']) == {'0', '1'}  # This process's compiles, per bucket.
  (compiles_line,) = [line for line in lines if line.startswith('compiles: ')]
  for bucket, c in summary['compiles'].items():  # Compiled, or read from the disk cache.
    assert c['cache_hits'] + c['cache_misses'] >= 1 and c['compile_s'] > 0, c
    assert (f'bucket {bucket} ' in compiles_line and
            f"({c['cache_hits']} cached, {c['cache_misses']} compiled)" in compiles_line)
  assert '\nsingle best: uid' in '\n'.join(lines)
  assert '\nfinal model (' in '\n'.join(lines)
  # A forecast's MSE is the standardised series', beside MAE and RMSE in original units.
  assert re.search(r'^final model \(.*; test: mae \S+ mase \S+ mse \(scaled\) \S+ rmse \S+$',
                   '\n'.join(lines), re.M), lines


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
  """(work directory, summary) of TINY run to the end; tests run on copies of it."""
  tmp_path = tmp_path_factory.mktemp('finished')
  return str(tmp_path / 'wd'), _run(tmp_path)[0]


def _copy(finished, tmp_path):
  # copytree keeps the files' times, which the tests below compare.
  shutil.copytree(finished[0], tmp_path / 'wd')


def test_finished_sweep_is_not_rerun(finished, tmp_path):
  _copy(finished, tmp_path)
  mtime = os.path.getmtime(tmp_path / 'wd' / 'metrics.jsonl')
  again, lines = _run(tmp_path)
  assert again == finished[1]  # The summary as summary.json holds it, both times.
  assert os.path.getmtime(tmp_path / 'wd' / 'metrics.jsonl') == mtime
  assert 'already holds this finished sweep' in lines[0]


def test_different_sweep_is_refused_and_untouched(finished, tmp_path):
  _copy(finished, tmp_path)
  before = {p: os.path.getmtime(tmp_path / 'wd' / p) for p in os.listdir(tmp_path / 'wd')}
  other = sweep.SweepSpec(**{**TINY.__dict__, 'learning_rate': '1e-3'})
  with pytest.raises(InputError, match=r'^--workdir: .* holds a different sweep '
                     r'\(learning_rate: '):
    _run(tmp_path, other)
  after = {p: os.path.getmtime(tmp_path / 'wd' / p) for p in os.listdir(tmp_path / 'wd')}
  assert before == after
  summary, _ = _run(tmp_path, other, overwrite=True)
  assert len(summary['members']) == 4


def test_a_data_file_changed_at_the_same_path_is_another_sweep(tmp_path):
  # A user's export updated in place: the finished sweep is not reported as this one.
  from rnnjax.data import forecast  # pylint: disable=g-import-not-at-top
  mine = tmp_path / 'sales.csv'
  text = open(forecast.bundled_path('shampoo_sales'), encoding='utf-8').read()
  mine.write_text(text, encoding='utf-8')
  spec = dataclasses.replace(TINY, dataset='', csv_path=str(mine), time_column='Time',
                             target_columns=('Sales',), cell='lstm', learning_rate='1e-2',
                             num_seeds=1)
  _run(tmp_path, spec)
  stored = json.loads((tmp_path / 'wd' / 'sweep.json').read_text())['data_digests']
  assert list(stored) == ['csv_path'] and len(stored['csv_path']) == 64
  assert 'already holds this finished sweep' in _run(tmp_path, spec)[1][0]
  before = {p: os.path.getmtime(tmp_path / 'wd' / p) for p in os.listdir(tmp_path / 'wd')}
  mine.write_text(text.replace('266.0', '267.0'), encoding='utf-8')
  with pytest.raises(InputError, match=r'^--csv_path: .*sales.csv has changed since the '
                     r'sweep in .* read it; use --overwrite'):
    _run(tmp_path, spec)
  assert before == {p: os.path.getmtime(tmp_path / 'wd' / p)
                    for p in os.listdir(tmp_path / 'wd')}


def test_a_setting_added_since_an_older_sweep_counts_as_its_default(tmp_path):
  # An older rnnjax wrote sweep.json without `folds`: that sweep ran with the default.
  from rnnjax.run import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  wd = tmp_path / 'wd'
  wd.mkdir()
  old = {k: v for k, v in TINY.to_json().items() if k != 'folds'}
  files.write_json(wd / files.SWEEP, {'spec': old})
  defaults = sweep.SweepSpec().to_json()
  assert workdir_lib.state_of(str(wd), TINY.to_json(), overwrite=False,
                              defaults=defaults) == workdir_lib.RESUME
  folded = dataclasses.replace(TINY, folds=2).to_json()
  with pytest.raises(InputError, match=r'holds a different sweep \(folds: 1 there, 2 now\)'):
    workdir_lib.state_of(str(wd), folded, overwrite=False, defaults=defaults)


def test_the_same_values_written_otherwise_are_the_same_sweep(tmp_path):
  """A user types the command again to resume, a list written another way (README: grid(),
  choice() and a bare list are the same): that resumes; other values are another sweep."""
  from rnnjax.run import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  wd = tmp_path / 'wd'
  wd.mkdir()
  old = dataclasses.replace(TINY, dropout_per_layer='grid(0,0.2);0.5', dropout='')
  files.write_json(wd / files.SWEEP, {'spec': old.to_json()})
  state = lambda **kw: workdir_lib.state_of(
      str(wd), dataclasses.replace(old, **kw).to_json(), overwrite=False)
  assert state(learning_rate='0.001, 0.01', cell='choice(lstm, gru)', hidden_size='8.0',
               dropout_per_layer='0,0.20; grid(5e-1)') == workdir_lib.RESUME
  for changed, there in [(dict(learning_rate='grid(1e-2,1e-3)'), "learning_rate: 'grid"),
                         (dict(learning_rate='grid(1e-3,1e-2,3e-2)'), 'learning_rate'),
                         (dict(dropout_per_layer='grid(0,0.2)'), 'dropout_per_layer'),
                         (dict(dropout_per_layer='0,0.2;0.4'), 'dropout_per_layer'),
                         (dict(learning_rate='uniform(1e-3,1e-2)'), 'learning_rate')]:
    with pytest.raises(InputError, match=r'holds a different sweep \(' + f'.*{there}'):
      state(**changed)
  # Values or seeds added: said not to grow the sweep; every setting that differs named.
  with pytest.raises(InputError, match=r"\(learning_rate: 'grid\(1e-3,1e-2\)' there, "
                     r"'grid\(1e-3,1e-2,3e-2\)' now; also num_seeds\); a sweep is not "
                     r'extended in place: use another --workdir \(make_figures --compare'):
    state(learning_rate='grid(1e-3,1e-2,3e-2)', num_seeds=3)
  with pytest.raises(InputError, match=r'\(train_steps: 10 there, 20 now\); use another '
                     r'--workdir or --overwrite$'):
    state(train_steps=20)


def test_bad_input_writes_nothing(tmp_path):
  bad = sweep.SweepSpec(**{**TINY.__dict__, 'batch_size': '500'})
  with pytest.raises(InputError, match=r'^--batch_size: 500 is larger than the training'):
    _run(tmp_path, bad)
  assert not (tmp_path / 'wd').exists()


def test_a_halving_dry_run_estimates_the_steps_halving_trains(tmp_path):
  """8 members, eta 2, rungs at 2, 4 and 8 of 10 steps: 8 x 2 + 4 x 2 + 2 x 4 + 1 x 2 = 34
  of the 80 member-steps of training all to the end, and the estimate counts those."""
  spec = dataclasses.replace(TINY, search='halving', eta=2, min_steps=2, train_steps=10,
                             eval_every=2, learning_rate='grid(1e-3,3e-3,1e-2,3e-2)',
                             cell='lstm')
  lines = []
  begun = time.perf_counter()
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  # Its data loaded and prepared, timed within the call.
  assert 0 < plan['before_s'] < time.perf_counter() - begun
  assert plan['trained_fraction'] == 34 / 80
  (bucket,) = plan['buckets']
  est = (bucket['compile_s'] * (1 + 3) + bucket['warmup_s']  # 3 cuts.
         + (bucket['chunk_s'] + bucket['save_s']) * 5 * 34 / 80)
  after = bucket['scores_s']  # No refit, no sample, no figures.
  whole = plan['before_s'] + est + after
  s = dry_run._secs  # pylint: disable=protected-access
  assert lines[-1].splitlines()[-1] == (
      f'estimated time: {s(whole)} s ({whole / 60:.1f} min): the data '
      f'{s(plan["before_s"])} s, training {s(est)} s, after training {s(after)} s '
      f'(scores {s(after)} s); halving trains about 42% of the member-steps of every member '
      'to the end, spread over the buckets as it cuts, and compiles again after each cut')


def test_a_charlm_dry_run_prints_the_texts_parts_and_what_training_never_shows(tmp_path):
  """A character model's dry run says what it read: each part's characters, the
  vocabulary, characters held out that training never shows, and (a flagfile's bundled
  text beside the user's file) which one is read."""
  path = tmp_path / 'mine.txt'
  path.write_text('abc ' * 100 + 'ab\u00df\u00df', encoding='utf-8')
  spec = sweep.SweepSpec(task='charlm', dataset='shakespeare', text_path=str(path),
                         val_size=20, test_size=4, seq_len=8, cell='gru', hidden_size='4',
                         batch_size='2', learning_rate='1e-2', train_steps=2, eval_every=2)
  lines = []
  sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  assert lines[:4] == [
      f'text (--text_path={path}): 404 characters: train 380, validation 20, test 4; '
      "vocabulary 5 characters (the training and validation parts', and U+FFFD (\ufffd) "
      'for any other)',
      'note: 1 character(s) of the test part never occur in the training part (\u00df; 2 '
      'occurrence(s)): their probabilities were never trained, and they count in its '
      'bits per character',
      'note: 1 of them (\u00df; 2 occurrence(s)) is in neither the training nor the '
      'validation part, which alone make the vocabulary: read as U+FFFD (\ufffd), its '
      'token for any other character',
      f'note: --text_path={path} is read; --dataset=shakespeare is not']


def test_a_tpe_dry_run_estimates_every_round(tmp_path):
  # It plans round 1 (later rounds are asked as earlier ones end): its chunks count once
  # per round, its compiles once, and it says so.
  pytest.importorskip('optuna')
  spec = dataclasses.replace(TINY, search='tpe', rounds=3, num_members=2, cell='lstm',
                             learning_rate='loguniform(1e-3,1e-1)')
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  assert plan['rounds'] == 3 and not (tmp_path / 'wd').exists()
  table = lines[-1].splitlines()
  assert table[0].startswith(f'{plan["num_members"]} members in 1 bucket(s) (round 1 of 3) on 1 '
                            'device(s);')
  (bucket,) = plan['buckets']
  est = bucket['compile_s'] + bucket['warmup_s'] + (bucket['chunk_s'] + bucket['save_s']) * (
      TINY.train_steps // TINY.eval_every) * 3
  after = bucket['scores_s']
  whole = plan['before_s'] + est + after
  s = dry_run._secs  # pylint: disable=protected-access
  assert table[-1] == (
      f'estimated time: {s(whole)} s ({whole / 60:.1f} min): the data '
      f'{s(plan["before_s"])} s, training {s(est)} s, after training {s(after)} s '
      f'(scores {s(after)} s); tpe asks each of its 3 rounds as the last ends: all 3 '
      "trained as this one, each bucket compiled once (a later round's bucket of a new "
      'structure or size compiles then)')


def test_a_dry_run_estimates_a_single_series_classical_baselines(tmp_path):
  """With --classical_baselines, a dry run fits no ETS or ARIMA but times them: a note
  says on how many origins and about how long, and the estimate counts it ("the
  baselines"); nothing is written."""
  pytest.importorskip('statsforecast')
  spec = dataclasses.replace(TINY, classical_baselines=True, cell='lstm',
                             learning_rate='1e-2')
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  (note,) = [line for line in lines if line.startswith('the classical baselines')]
  assert note.startswith(  # 6 validation and 6 test origins, one column.
      'the classical baselines (ETS, ARIMA) are not fitted in a dry run: fitted on 1 data '
      'set (a lookback and fold each), forecasting from 12 origins, about '), note
  assert plan['baselines_s'] > 0
  assert f'the baselines {dry_run._secs(plan["baselines_s"])} s, training ' in lines[-1]
  assert not (tmp_path / 'wd').exists()


def test_a_tpe_dry_run_plans_its_largest_round(tmp_path):
  """--last_round=6 after two rounds of 2 configurations (2 seeds each): the dry run
  planned round 1 (4 members, one wave) and counted its chunks once per round, where the
  last round trains 12 members, in 3 waves of 4 under this memory budget (a member
  15,792 bytes by probe.waiting_bytes, and 21,648 more in its vmap group of up to 4 by
  probe.estimate_bytes: 5 fit in 1.6e-4 GB, 12 do not)."""
  pytest.importorskip('optuna')
  spec = dataclasses.replace(TINY, search='tpe', rounds=3, num_members=2, last_round=6,
                             cell='lstm', learning_rate='loguniform(1e-3,1e-1)')
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append,
                         max_memory_gb=1.6e-4)
  (bucket,) = plan['buckets']
  assert (bucket['num_members'], bucket['wave_size'], bucket['num_waves']) == (12, 4, 3)
  table = lines[-1].splitlines()
  assert table[0].startswith('12 members in 1 bucket(s) (round 3 of 3, the largest: 2, 2, '
                             '6 configurations) on 1 device(s);')
  assert table[-1].startswith('estimated time: ')
  # Its chunks (3 waves each) count once, the earlier rounds' in proportion (10 / 6 in
  # all): with round figures, 3 s a chunk x 2 chunks x 10 / 6 (x 3 rounds was 18 s).
  bucket.update(compile_s=0.0, chunk_s=3.0, save_s=0.0, warmup_s=0.0, scores_s=0.0)
  plan['before_s'] = 0.0
  assert dry_run.plan_table(plan, TINY.train_steps // TINY.eval_every).splitlines()[-1] == (
      'estimated time: 10 s (0.2 min); tpe asks each of its 3 rounds as the last ends: all '
      '3 trained as this one, in proportion to their configurations, each bucket compiled '
      "once (a later round's bucket of a new structure or size compiles then)")


class _ColdFirstCall:
  """A compiled step whose first call is slow (threads started, memory first touched),
  as a CPU's is, 2-3x a step; it hands back the state it was given (donated), counted."""

  def __init__(self, first_s, then_s):
    self.times, self.seen = [first_s, then_s, then_s * 2], []

  def memory_analysis(self):
    return None

  def __call__(self, state, *_):
    self.seen.append(state)
    time.sleep(self.times[len(self.seen) - 1])
    return (types.SimpleNamespace(calls=state.calls + 1, params=None), {})


def _probe_measure(compiled, save=None):
  """probe._measure of a fake program on two members, its chunks 10 steps, and a
  validation that takes no time."""
  cfg, hp = types.SimpleNamespace(steps_per_chunk=10), types.SimpleNamespace(uid=np.zeros(2))
  return probe._measure(compiled, dict.fromkeys(probe.COMPILED, 0.0), 0,
                        lambda params, split: None,
                        types.SimpleNamespace(calls=0, params=None), cfg, hp,
                        {'val': None}, None, sharding.population_mesh(), save)


def test_the_dry_runs_step_time_is_a_warm_calls():
  """The quickstart's estimate was 82 s for 22 s of training (2-core Zen 4 VM): it timed
  a one-step program's first call; a character model's, timed by its first call (over a
  second, it was timed once), was 1.8x its chunks. A second call is timed, each on the
  state the last handed back, and a third where calls are cheap; the faster warm call
  counts."""
  per_step = 10 / probe.probe_steps(types.SimpleNamespace(steps_per_chunk=10))
  cheap = _ColdFirstCall(0.3, 0.02)
  figures = _probe_measure(cheap)
  assert [s.calls for s in cheap.seen] == [0, 1, 2]
  assert 0.02 * per_step <= figures['chunk_s'] < 0.3 * per_step / 2
  dear = _ColdFirstCall(1.05, 0.02)
  figures = _probe_measure(dear)
  assert [s.calls for s in dear.seen] == [0, 1]
  assert 0.02 * per_step <= figures['chunk_s'] < 1.05 * per_step / 2


def test_the_dry_runs_chunk_counts_its_validation_and_checkpoint(monkeypatch):
  """A chunk of the sweep validates its members after its steps, and a checkpoint is
  saved after it: the probe times both (here injected: a call of the probe's 8 steps
  0.8 s, the validation 0.5 s, a save 0.1 s), and the estimate counts them."""
  warm = iter([0.8, 0.5, 0.1])
  monkeypatch.setattr(probe, '_calls_s', lambda call: (0.0, next(warm)))
  saved = []
  figures = _probe_measure(_ColdFirstCall(0.0, 0.0),
                           save=lambda state, hp: saved.append(state))
  assert figures['validation_s'] == 0.5 and figures['save_s'] == 0.1
  assert figures['chunk_s'] == pytest.approx(0.8 / probe.probe_steps(
      types.SimpleNamespace(steps_per_chunk=10)) * 10 + 0.5)
  plan = {'num_members': 2, 'buckets': [{
      'bucket': 0, 'num_members': 2, 'padded_width': 8, 'padding_fraction': 0.0,
      'params_per_member': [1], 'estimated_bytes_per_member': 1, 'structure': {},
      **figures, 'compile_s': 0.0, 'chunk_s': 3.0}],
          'bucketed_axes': [], 'masked_axes': [], 'vmapped_axes': []}
  assert dry_run.plan_table(plan, 10).splitlines()[-1] == 'estimated time: 31 s (0.5 min)'


def test_the_dry_run_counts_the_sweeps_other_compiles_and_its_first_chunks_warm_up(
    monkeypatch):
  """Before its first chunk the sweep compiles its chunk program, which validates (the
  probe's training and validation programs), and its initialisation; its first chunk's
  call pays once what a warm call does not; after training it evaluates the test split
  once. Injected: compiles 1, 0.5, 0.25 and 2 s; the probe's first call 1.8 s, a warm
  0.8 s; the test's call 0.3 s."""
  calls = iter([(1.8, 0.8), (0.5, 0.5)])
  monkeypatch.setattr(probe, '_calls_s', lambda call: next(calls))
  monkeypatch.setattr(probe, '_once_s', lambda call: 0.3)
  cfg, hp = types.SimpleNamespace(steps_per_chunk=10), types.SimpleNamespace(uid=np.zeros(2))
  compiles = {'chunk': 1.0, 'validation': 0.5, 'init': 0.25, 'test': 2.0}
  figures = probe._measure(_ColdFirstCall(0.0, 0.0), compiles, 0,
                           lambda params, split: None,
                           types.SimpleNamespace(calls=0, params=None), cfg, hp,
                           {'val': None}, None, sharding.population_mesh(),
                           test=(lambda params, split: None, None))
  assert figures['compile_s'] == 1.75 and figures['compiles'] == compiles
  assert figures['warmup_s'] == pytest.approx(1.0)
  assert figures['step_s'] == pytest.approx(0.8 / probe.probe_steps(cfg))
  assert figures['test_s'] == 0.3


def _after_plan(**spec_settings) -> dict:
  """A probed plan (injected timings) of 8 members, a wave on 2 devices in vmap groups of
  2, with what follows its training added for a spec of 100 steps."""
  plan = {'num_members': 8, 'num_devices': 2, 'buckets': [{
      'bucket': 0, 'num_members': 8, 'num_waves': 1, 'wave_size': 8, 'group_size': 2,
      'padded_width': 8, 'padding_fraction': 0.0, 'params_per_member': [1],
      'estimated_bytes_per_member': 1, 'structure': {}, 'compile_s': 1.75,
      'compiles': {'chunk': 1.0, 'validation': 0.5, 'init': 0.25, 'test': 0.5},
      'warmup_s': 1.25, 'chunk_s': 1.0, 'save_s': 0.0, 'step_s': 0.2,
      'validation_s': 0.25, 'test_s': 0.35}],
          'bucketed_axes': [], 'masked_axes': [], 'vmapped_axes': []}
  dry_run._after_training(plan, dataclasses.replace(TINY, train_steps=100, **spec_settings),
                          sample_s=2.0)
  return plan


def test_the_dry_run_estimates_what_follows_training():
  """The members' scores (2 x each split's evaluation compiled, for metrics and the final
  model's outputs, and one call of each), the final model's refit (--refit: 2 members of
  the 8, one vmap group of the wave's 2 a device, 100 steps, and its programs compiled),
  a character model's sample and the figures count after training, apart from it, and
  the data loaded before it."""
  plan = _after_plan(refit=1, ensemble='fixed', ensemble_size=2)
  (bucket,) = plan['buckets']
  assert bucket['scores_s'] == pytest.approx(2 * (0.5 + 0.5) + 0.25 + 0.35)
  assert bucket['refit_s'] == pytest.approx(1.0 + 0.25 + 0.5 + 0.2 * 100 / 2)
  # At least to the first evaluation (TINY's --eval_every=5), a best step's least.
  assert bucket['refit_least_s'] == pytest.approx(1.0 + 0.25 + 0.5 + 0.2 * 5 / 2)
  # And before training, the command's start-up and the data loaded.
  plan.update(figures_s=4.0, before_s=3.0, startup_s=2.0)
  table = dry_run.plan_table(plan, 10).splitlines()
  assert table[-1] == ('estimated time: 29-38 s (0.5-0.6 min): start-up 2 s, the data 3 s, '
                       'training 13 s, after training 11-20 s (scores 3 s, the refit 2-12 s, '
                       'the sample 2 s, figures 4 s)')
  # A part under a second is said in tenths, not as "0 s".
  plan.update(figures_s=0.3, sample_s=0.04, startup_s=0.0)
  assert dry_run.plan_table(plan, 10).splitlines()[-1] == (
      'estimated time: 21-31 s (0.4-0.5 min): the data 3 s, training 13 s, after training '
      '5-15 s (scores 3 s, the refit 2-12 s, the sample <0.1 s, figures 0.3 s)')
  # Its bucket's after training: scores and refit at most (structure: none).
  assert table[1].split()[-3:-1] == ['after', 's'] and table[2].split()[-1] == '14.35'
  # The refit of one member (a single), in a bucket of 8 of 16 members: half of its
  # compiles, and of a group's training, are expected there.
  plan = _after_plan(refit=1, ensemble='single')
  plan['num_members'] = 16
  dry_run._after_training(plan, dataclasses.replace(TINY, train_steps=100, refit=1,
                                                    ensemble='single'), sample_s=0.0)
  assert plan['buckets'][0]['refit_s'] == pytest.approx(0.5 * (1.75 + 0.2 * 100 / 2))
  assert _after_plan()['buckets'][0]['refit_s'] == 0.0  # No --refit.


def test_a_dry_run_times_a_charlm_sample_and_the_figures_it_is_asked_for(tmp_path,
                                                                         monkeypatch):
  """A character model's sample is drawn (and timed) once; the figures are counted where
  the caller draws them (the command's --figures)."""
  path = tmp_path / 'text.txt'
  path.write_text('abcd ' * 200, encoding='utf-8')
  spec = sweep.SweepSpec(task='charlm', text_path=str(path), val_size=40, test_size=20,
                         seq_len=8, cell='gru', hidden_size='4', batch_size='2',
                         learning_rate='grid(1e-3,1e-2)', train_steps=2, eval_every=2,
                         sample_chars=20)
  drawn = []
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append,
                         figures=lambda *how: drawn.append(how) or 7.0)
  assert drawn == [(('learning_rate',), 'grid', 'charlm')] and plan['figures_s'] == 7.0
  assert plan['sample_s'] > 0 and ', the sample ' in lines[-1].splitlines()[-1]
  assert lines[-1].splitlines()[-1].endswith(', figures 7 s)')
  plan = sweep.run_sweep(dataclasses.replace(spec, sample_chars=0), str(tmp_path / 'wd'),
                         dry_run=True, log=lambda _: None)
  assert plan['sample_s'] == 0 and 'figures_s' not in plan and len(drawn) == 1


def test_a_dry_run_whose_probe_read_the_cache_says_what_a_first_sweep_compiles():
  """The probe's training programs read from the compile cache (compiled in 3 s and 1.5 s
  when they were cached): the estimate counts the sweep's as read too, and a note says how much
  compiling them adds where they are not cached, and for halving's cuts, each a new
  size; under a second of it, or none, no note."""
  bucket = {'bucket': 0, 'num_members': 2, 'padded_width': 4, 'padding_fraction': 0.0,
            'params_per_member': [10], 'estimated_bytes_per_member': 1e6,
            'structure': {}, 'compile_cold_s': 3.0}
  plan = {'num_members': 4, 'bucketed_axes': [], 'masked_axes': [], 'vmapped_axes': [],
          'buckets': [bucket, dict(bucket, bucket=1, compile_cold_s=1.5)]}
  note = ("note: the probe read its training programs from the compile cache, and the "
          "estimate counts the sweep's as read too; where they are not cached yet (its "
          'first run), compiling its training programs adds about 4 s')  # 4.5 s, as written.
  others = ', its other programs some more'
  assert dry_run.plan_table(plan, 2).splitlines()[-1] == note + others
  plan['recompiles'] = 3
  assert dry_run.plan_table(plan, 2).splitlines()[-1] == (
      note + ", up to 14 s more for halving's 3 cuts (each a population of a new size)"
      + others)
  for cold in (0.5, 0.0):
    plan['buckets'] = [dict(bucket, compile_cold_s=cold)]
    assert 'compile cache' not in dry_run.plan_table(plan, 2)


def test_a_dry_run_times_a_checkpoint_and_writes_nothing(tmp_path, monkeypatch):
  """The checkpoint a dry run times is written in a temporary directory, removed after."""
  monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path / 'tmp'))
  (tmp_path / 'tmp').mkdir()
  plan = sweep.run_sweep(TINY, str(tmp_path / 'wd'), dry_run=True, log=lambda _: None)
  assert all(b['save_s'] > 0 for b in plan['buckets'])
  assert not os.listdir(tmp_path / 'tmp') and not (tmp_path / 'wd').exists()


def test_masked_widths_per_layer_dropout_and_dry_run(tmp_path):
  spec = sweep.SweepSpec(**{**TINY.__dict__, 'cell': 'lstm', 'num_layers': '2',
                            'hidden_size': 'grid(4,8)', 'dropout': '0',
                            'dropout_per_layer': 'grid(0,0.3);0.1',
                            'variational_dropout': True, 'learning_rate': '1e-2',
                            'num_seeds': 1})
  lines = []
  plan = sweep.run_sweep(spec, str(tmp_path / 'wd'), dry_run=True, log=lines.append)
  assert not (tmp_path / 'wd').exists()  # A dry run writes nothing.
  (bucket,) = plan['buckets']
  assert bucket['padded_width'] == 8 and bucket['num_members'] == 4
  assert bucket['bytes_per_member'] > 0 and bucket['chunk_s'] > 0
  assert 0 < bucket['padding_fraction'] < 1
  assert plan['masked_axes'] == ['hidden_size']
  assert 'estimated time' in lines[-1]
  assert bucket['group_size'] >= 1 and ' group ' in lines[-1]  # Recorded and shown.
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert {m['hparams']['dropout_1'] for m in summary['members']} == {0.0, 0.3}
  assert {m['hparams']['hidden_size'] for m in summary['members']} == {4, 8}
  # trials.csv has each layer's rate, and no `dropout` column (0 there read as none).
  with open(tmp_path / 'wd' / 'trials.csv', encoding='utf-8') as f:
    header = next(csv.reader(f))
  assert {'dropout_1', 'dropout_2'} <= set(header) and 'dropout' not in header, header
  assert all(m['status'] == 'ok' for m in summary['members'])
  # A member depends on its uid and values alone: bucketed, each width its own program,
  # it is the same network with the same dropout masks as padded to the widest.
  bucketed = sweep.run_sweep(dataclasses.replace(spec, hidden_mode='bucket'),
                             str(tmp_path / 'bucketed'), log=lambda _: None)
  assert len(json.loads((tmp_path / 'bucketed' / 'plan.json').read_text())['buckets']) == 2
  for a, b in zip(summary['members'], bucketed['members']):
    assert a['uid'] == b['uid'] and a['best_step'] == b['best_step']
    np.testing.assert_allclose(a['val']['mse'], b['val']['mse'], rtol=1e-4)


def test_per_layer_dropout_must_match_depth(tmp_path):
  spec = sweep.SweepSpec(**{**TINY.__dict__, 'dropout': '0', 'dropout_per_layer': '0.1;0.2'})
  with pytest.raises(InputError, match=r'^--dropout_per_layer: 2 spec\(s\) for a 1-layer'):
    _run(tmp_path, spec)


@pytest.mark.parametrize('dropout', ['0.3', 'grid(0,0.2)', 'uniform(0,0.5)'])
def test_dropout_beside_per_layer_dropout_is_refused(tmp_path, dropout):
  """Every layer has its rate from --dropout_per_layer: a --dropout no layer would use
  is refused (in one line naming it, nothing written), not recorded as if it applied."""
  spec = sweep.SweepSpec(**{**TINY.__dict__, 'num_layers': '2', 'dropout': dropout,
                            'dropout_per_layer': '0.1;0.2'})
  with pytest.raises(InputError, match=r'^--dropout: .* is not used with '
                     r'--dropout_per_layer .*; leave --dropout out$'):
    _run(tmp_path, spec)
  assert not (tmp_path / 'wd').exists()
  for same in ('0', '0.0', 'grid(0)'):  # Its default, however written, is no rate.
    rules.check(dataclasses.replace(spec, dropout=same))


@pytest.mark.parametrize('row, other, same', [('class_balance', '0.5', '0.0'),
                                              ('class_balance', '1', 'grid(0)'),
                                              ('lookback', '12', '24.0')])
def test_a_row_of_other_tasks_is_refused_unless_it_is_their_default(row, other, same):
  """A row another task reads (class_balance: classify's; lookback: a forecast's) is
  refused where it would do nothing, but its default, however written, is taken."""
  spec = sweep.SweepSpec(task='charlm', text_path='t.txt')
  with pytest.raises(InputError, match=f'^--{row}: for --task=.* only '
                     r'\(this sweep is --task=charlm\); leave it out$'):
    rules.check(dataclasses.replace(spec, **{row: other}))
  rules.check(dataclasses.replace(spec, **{row: same}))


def test_waves_equal_one_population_and_share_one_program(tmp_path):
  # Shapes no other test uses: the jit cache below is the process's.
  spec = sweep.SweepSpec(**{**TINY.__dict__, 'cell': 'gru', 'hidden_size': '7',
                            'batch_size': '5',
                            'learning_rate': 'grid(1e-3,3e-3,1e-2,2e-2,3e-2)',
                            'num_seeds': 4})
  whole = sweep.run_sweep(spec, str(tmp_path / 'whole'), log=lambda _: None)
  lines = []
  # 20 members at ~12 kB each against a 170 kB budget: two waves of 10 would fit.
  waved = sweep.run_sweep(spec, str(tmp_path / 'waved'), max_memory_gb=0.17 / 1024,
                          log=lines.append)
  plan = json.loads((tmp_path / 'waved' / 'plan.json').read_text())
  (bucket,) = plan['buckets']
  assert bucket['num_waves'] > 1 and bucket['wave_size'] * bucket['num_waves'] >= 20
  assert f'{bucket["num_waves"]} wave(s)' in next(l for l in lines if 'bucket(s)' in l)
  # The waves' vmap groups are the whole population's (4 of its 20 members, not 2 of a
  # wave of 10: waves of 8), so the budget changes no training's float rounding (the
  # scores: to the last digit, the waves' evaluations gather their members otherwise).
  (one,) = json.loads((tmp_path / 'whole' / 'plan.json').read_text())['buckets']
  assert (bucket['wave_size'], bucket['group_size'], one['group_size']) == (8, 4, 4)
  assert not any(l.startswith('note: bucket') for l in lines)  # Kept: nothing to say.
  # Each chunk's line names its wave, whose members its counts are.
  assert [l.split(' step ')[0].split(' ', 2)[2] for l in lines if l.startswith('chunk ')
          ] == [f'bucket 0 wave {k}/3' for k in (1, 1, 2, 2, 3, 3)]  # Two chunks a wave.
  assert re.search(r'^chunk \d+/\d+ bucket 0 wave 1/3 step 5  ok \d/8 ', '\n'.join(lines),
                   re.M), lines
  for a, b in zip(whole['members'], waved['members']):
    assert a['uid'] == b['uid'] and a['bucket'] == b['bucket'] == 0
    assert a['best_step'] == b['best_step']
    for split in ('val', 'test'):
      for metric, value in a.get(split, {}).items():
        np.testing.assert_allclose(value, b[split][metric], rtol=1e-6)
  data = spec_lib.load_data(spec)
  cfg = plan_lib.train_config(spec_lib.make_plan(spec).buckets[0], data, spec)
  # The whole population and the equal-sized waves: two programs, however many waves.
  assert pop.population_chunk_fn(cfg, sharding.population_mesh(), 0)._cache_size() == 2


def test_waves_keep_the_whole_population_s_vmap_groups():
  # 64 members on 2 devices: 8 groups of 4 a device; a wave of 28 (14 a device) would
  # group them by 2, so it is cut to 24 (3 groups of 4 a device); one of 14 would group
  # them one by one, and 8 holds a single group (other code): it stays as it was.
  assert plan_lib.same_groups(28, 64, 2, 0, 0) == (24, True)
  assert plan_lib.same_groups(32, 64, 2, 0, 0) == (32, True)
  assert plan_lib.same_groups(14, 64, 2, 0, 0) == (14, False)
  # 28 members group by 2 (14 a device), which waves of 24 (groups of 4) would not.
  assert plan_lib.same_groups(24, 28, 2, 0, 0) == (20, True)
  assert plan_lib.same_groups(28, 28, 2, 0, 0) == (28, True)
  # Groups as large as a device's whole share (a GPU's): the wave stays as it was.
  assert plan_lib.same_groups(6, 64, 2, 32, 0) == (6, False)


def test_a_budget_no_wave_fits_is_said_and_the_dry_run_names_the_devices():
  """A budget under one member's estimate: waves of a member a device, said to be over
  it (they run); the dry run's first line names the device count its figures are of."""
  spec = dataclasses.replace(TINY, cell='gru', num_seeds=1)
  prepared = prepare_lib.prepare(spec)
  (bucket,) = prepared.plan_json['buckets']
  per_member = bucket['estimated_bytes_per_member']
  budget = 0.5 * per_member / 2**30
  small = prepare_lib.prepare(spec, max_memory_gb=budget).plan_json
  (bucket,) = small['buckets']
  assert bucket['wave_size'] == 1
  assert plan_lib.wave_notes(small, budget)[0] == (
      f'note: bucket 0: waves of 1 members, a member a device, are estimated at '
      f'{per_member / 2**30:.3g} GB, over --max_memory_gb={budget:g}: they run, and may run '
      'out of memory')
  # Planned by the default budget, a note names it, not a flag that was not given.
  assert plan_lib.wave_notes(small)[0].endswith(
      f'GB, over {plan_lib.budget_words(0.0)}: they run, and may run out of memory')
  assert plan_lib.budget_words(0.0).startswith('the default budget (half')
  assert not plan_lib.wave_notes(prepared.plan_json)
  lines = []
  sweep.run_sweep(spec, 'unused', dry_run=True, log=lines.append,
                  max_memory_gb=budget)
  table = '\n'.join(lines).splitlines()
  assert any(re.match(r'^\d+ members in 1 bucket\(s\) on 1 device\(s\); ', line)
             for line in table), table
  assert plan_lib.wave_notes(small, budget)[0] in table
  # Each member's state once trained stays beside the waves: said with its size (Adam:
  # parameters, two moments and the best parameters, four copies).
  (kept,) = [line for line in table if 'stays in memory until the sweep ends' in line]
  megabytes = float(re.search(r'at least ([\d.e+-]+) MB for the 2 members$', kept)[1])
  np.testing.assert_allclose(megabytes, 2 * 4 * 4 * bucket['params_per_member'][0] / 2**20,
                             rtol=0.05)
  one = []
  sweep.run_sweep(spec, 'unused', dry_run=True, log=one.append)
  assert not any('stays in memory until the sweep ends' in line for line in one)


def test_waves_that_cannot_keep_the_groups_say_so_and_the_budget_that_would():
  """64 members on one device group by 4; a budget between waves of 6 and 7 makes
  waves of 6 (not 7, over it), grouped by 3 (no wave of 8 or more fits it): the dry run
  says so (as the sweep's log does), and names the budget that keeps the groups, which
  does (waves of 8: two groups of 4)."""
  spec = dataclasses.replace(TINY, cell='gru', learning_rate='loguniform(1e-3,3e-2)',
                             search='random', num_members=32)
  prepared = prepare_lib.prepare(spec)
  (bucket,) = prepared.plan_json['buckets']
  assert (bucket['num_members'], bucket['num_waves'], bucket['group_size']) == (64, 1, 4)
  run = prepared.runs[0]
  wave_bytes = lambda size: probe.wave_bytes(run.cfg, prepared.datas[run.data_key], size, 1, 0)
  given = (wave_bytes(6) + wave_bytes(7)) / 2 / 2**30
  small = prepare_lib.prepare(spec, max_memory_gb=given).plan_json
  (bucket,) = small['buckets']
  assert (bucket['wave_size'], bucket['group_size'], bucket['one_wave_group_size']) == (
      6, 3, 4)
  (note,) = plan_lib.wave_notes(small, given)
  budget = bucket['groups_kept_from_gb']
  assert note == (
      f'note: bucket 0: waves of 6 members (to fit --max_memory_gb={given:g}) train in 2 '
      'vmap groups '
      'of 3 a device, where one wave would in 16 vmap groups of 4: floats round otherwise '
      'than without the budget, which training can amplify into other results; '
      f'--max_memory_gb={budget:.3g} or more keeps them')
  assert note in dry_run.plan_table(small, 2, given).splitlines()
  kept = prepare_lib.prepare(spec, max_memory_gb=float(f'{budget:.3g}')).plan_json
  (bucket,) = kept['buckets']
  assert (bucket['wave_size'], bucket['group_size']) == (8, 4)
  assert not plan_lib.wave_notes(kept)


def test_lookback_is_a_structural_axis_with_its_own_windows(tmp_path):
  """Each lookback is a bucket trained on its own windows; every member is scored on the
  same validation and test targets, so they rank together."""
  spec = sweep.SweepSpec(classical_baselines=False,
                         dataset='shampoo_sales', lookback='grid(3,5)', val_size=6,
                         test_size=6, hidden_size='4', batch_size='4',
                         learning_rate='grid(1e-3,1e-2)', train_steps=4, eval_every=2)
  plan = spec_lib.make_plan(spec)
  assert [b['lookback'] for b in plan.buckets] == [3, 5]
  summary = sweep.run_sweep(spec, str(tmp_path / 'wd'), log=lambda _: None)
  assert sorted(m['hparams']['lookback'] for m in summary['members']) == [3, 3, 5, 5]
  assert all(np.isfinite(m['val']['mse']) for m in summary['members'])
  # Both lookbacks forecast the same validation and test targets.
  three, five = (spec_lib.load_data(spec, lookback) for lookback in (3, 5))
  for split in ('val', 'test'):
    np.testing.assert_array_equal(three.arrays[split]['y'], five.arrays[split]['y'])
    assert five.arrays[split]['x'].shape[1] == 5


def test_auto_hidden_mode_masks_small_sweeps_and_buckets_large_ones():
  widths = dict(hidden_size='grid(32,64,128)', learning_rate='grid(1e-3,1e-2)')
  small = sweep.SweepSpec(**widths, train_steps=20, eval_every=10)
  assert len(spec_lib.make_plan(small).buckets) == 1  # A compile costs more than padding.
  assert spec_lib.make_plan(small).masked == ('hidden_size',)
  large = dataclasses.replace(small, num_layers='2', num_seeds=8, train_steps=2000)
  assert len(spec_lib.make_plan(large).buckets) == 3  # Padding arithmetic dominates.
  masked = dataclasses.replace(large, hidden_mode='masked')
  assert spec_lib.plan_cost_s(spec_lib.make_plan(masked), large) > spec_lib.plan_cost_s(
      spec_lib.make_plan(large), large)


@pytest.mark.parametrize('changes, message', [
    (dict(learning_rate=True), r"^--learning_rate: True \(bool\) must be a str$"),
    (dict(learning_rate=[0.01, 0.1]), r"^--learning_rate: \[0.01, 0.1\] \(list\) must be a "
     r"str: 'grid\(0.01,0.1\)'$"),
    (dict(target_columns='value'), r"^--target_columns: 'value' \(str\) must be a tuple of "
     'names'),
    (dict(train_steps=1.5), r'^--train_steps: 1.5 \(float\) must be a whole number'),
    (dict(train_steps=True), r'^--train_steps: True \(bool\) must be a whole number'),
    (dict(difference='yes'), r"^--difference: 'yes' \(str\) must be True or False"),
    (dict(num_layers='2', dropout='0', dropout_per_layer=['0.1', '0.2']),
     r"^--dropout_per_layer: \['0.1', '0.2'\] \(list\) must be a str: '0.1;0.2'$"),
    # Data where a file goes: its size, not every row; a path is not a grid.
    (dict(csv_path=np.arange(300.0)), r"^--csv_path: a value of shape \(300,\) \(ndarray\) "
     r'must be a path \(a str or pathlib.Path\); a sweep reads its data from files: write '
     r'it to one first \(DataFrame.to_csv\)$'),
    (dict(csv_path=['a.csv']), r"^--csv_path: \['a.csv'\] \(list\) must be a path \(a str or "
     r'pathlib.Path\)$'),
    (dict(time_column=['ds']), r"^--time_column: \['ds'\] \(list\) must be a str$"),
    # A number where a file goes: not read as its text (0 was taken for no file).
    (dict(csv_path=0), r"^--csv_path: 0 \(int\) must be a path \(a str or pathlib.Path\)$"),
])
def test_a_spec_built_in_python_with_a_wrong_type_is_one_line(changes, message, tmp_path):
  """Read as they came, a str of column names split into characters and a list of rates
  into text; a float step count failed later with another flag's message."""
  with pytest.raises(InputError, match=message):
    _run(tmp_path, dataclasses.replace(TINY, **changes))
  assert not (tmp_path / 'wd').exists()
  with pytest.raises(InputError, match=r'^spec: a SweepSpec, not dict'):
    sweep.run_sweep({'task': 'forecast'}, str(tmp_path / 'wd'))
  with pytest.raises(InputError, match=r'^--workdir: 5 \(int\) must be a path'):
    sweep.run_sweep(TINY, 5)


def test_files_given_as_paths_are_read_as_their_text(tmp_path):
  """pathlib.Path for a data file, as for the work directory (a notebook's habit): read
  as its text, where it was refused as not a str."""
  spec = dataclasses.replace(TINY, dataset='', csv_path=tmp_path / 'absent.csv',
                             target_columns=('y',))
  with pytest.raises(InputError, match=f'^--csv_path: {tmp_path / "absent.csv"}: no such file$'):
    sweep.run_sweep(spec, tmp_path / 'wd')
  assert not (tmp_path / 'wd').exists()


@pytest.mark.skipif(dry_run._busy_s() is None, reason="reads Linux's /proc/stat")
def test_a_probe_timed_beside_other_work_says_its_estimate_is_of_that_load():
  """A sweep beside a dry run doubled its estimate (101 s, then 44 s idle, for sweeps of
  74-90 s): the CPU other processes used while the probe was timed is measured, and a
  core's worth (half of one or more) is said; this process's own work is not counted."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  plan = {}
  with dry_run._others_busy(plan):
    burner = subprocess.Popen([sys.executable, '-c', 'import time\nend = time.time() + 2\n'
                               'while time.time() < end: pass'])
    start = time.process_time()
    while time.process_time() - start < 1.0:  # This process's own: not counted.
      pass
    burner.wait(timeout=60)
  assert plan['others_busy'] >= dry_run.OTHERS_NOTE_CORES, plan
  assert dry_run._busy_note(plan) == [
      f"note: other processes kept about {plan['others_busy']:.1f} of this machine's "
      f'{os.cpu_count()} cores busy while the probe was timed: its figures and the estimate '
      'are of that load (the sweep runs faster on an idle machine)']
  assert dry_run._busy_note({'others_busy': 0.3}) == dry_run._busy_note({}) == []


def test_a_runs_wave_is_counted_within_its_bucket_and_fold():
  from rnnjax.run import chunks  # pylint: disable=g-import-not-at-top
  run = lambda bucket, fold: types.SimpleNamespace(bucket=bucket, data_key=(None, fold))
  runs = [run(0, 0), run(0, 0), run(0, 1), run(0, 1), run(1, 0)]
  assert [chunks.wave_of(runs, r) for r in range(5)] == [(1, 2), (2, 2), (1, 2), (2, 2),
                                                          None]
  # Folds of one wave each: no wave to name.
  assert chunks.wave_of([run(0, 0), run(0, 1)], 1) is None
  # The progress names a fold's run too: its chunks' steps start again from the first.
  assert [chunks.place(runs, r, folds=2) for r in range(5)] == [
      ' fold 1/2 wave 1/2', ' fold 1/2 wave 2/2', ' fold 2/2 wave 1/2', ' fold 2/2 wave 2/2',
      ' fold 1/2']
  assert chunks.place([run(0, 0), run(0, 1)], 1, folds=2) == ' fold 2/2'
  assert chunks.place([run(0, 0), run(1, 0)], 1) == ''
