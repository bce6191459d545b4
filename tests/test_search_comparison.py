"""The comparison's command line: flags it does not take, and bad settings, are one
line, exit status 2, nothing written; its flagfiles plan."""

import json
import os
import signal
import time

from absl import flags
import pytest

from experiments import cli
from experiments import population_sweep
from experiments import search_comparison
from rnnjax.engine import sharding
from rnnjax.run import budgets
from rnnjax.run import compare
from rnnjax.run import stop
from rnnjax.search import rules
from rnnjax.search import space as space_lib
from rnnjax.search import spec as spec_lib
from tests import entry_points

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BAD_INPUT = [
    (['--dry_run'], 'error: --dry_run: not taken by search_comparison (a comparison '
     'trains every sweep'),
    (['--num_seeds=2'], 'error: --num_seeds: not taken by search_comparison'),
    (['--last_round=4'], "error: --last_round: not taken by search_comparison (TPE's "
     'rounds follow from --budget_members and --rounds)'),
    (['--mlflow_uri=sqlite:///m.db'], 'error: --mlflow_uri: not taken by search_comparison'),
    (['--strategies=grid,bayes'], "error: --strategies: 'bayes'; expected some of"),
    (['--space=hidden_size=randint(8,64)'], "error: --space: 'hidden_size' is not a "
     "searchable hyperparameter (hidden_size is structural: search it by its own flag's "
     "list, --hidden_size='grid(a,b)'); expected some of learning_rate"),
    (['--space=hidden_size=randint(8,64)', '--hidden_size=16'], "error: --space: "
     "'hidden_size' is not a searchable hyperparameter (hidden_size is structural"),
    (['--space=learning_rte=loguniform(1e-4,1e-1)'], "error: --space: 'learning_rte' is "
     'not a searchable hyperparameter; expected some of learning_rate'),
    (['--space=class_balance=uniform(0,1)'], "error: --space: 'class_balance' is for "
     '--task=classify only (this comparison is --task=forecast)'),
    (['--search_seeds='], 'error: --search_seeds: name at least one seed'),
    (['--search_seeds=0,-1'], 'error: --search_seeds: -1 must be >= 0'),
    (['--search_seeds=0,1,1'], 'error: --search_seeds: 1 is given twice'),
    (['--strategies=grid,random,grid'], "error: --strategies: 'grid' is given twice"),
    (['--space=learning_rate=loguniform(0.1,0.001)'], "error: --space: "
     "'learning_rate=loguniform(0.1,0.001)': loguniform(0.1, 0.001) needs lo < hi"),
    (['--space=learning_rate=loguniform(0,0.1)'], "error: --space: "
     "'learning_rate=loguniform(0,0.1)': 0.0 is invalid; expected > 0"),
    (['--space=dropout=uniform(0,0.5),dropout=uniform(0.1,0.2)'], "error: --space: "
     "'dropout' is given twice"),
    (['--space=dropout=uniform(0,1.5)'], "error: --space: 'dropout=uniform(0,1.5)': 1.5 is "
     'invalid; expected in [0, 1)'),
    (['--space=dropout=uniform(0,0.5'], "error: --space: 'dropout=uniform(0,0.5': "
     "malformed spec 'uniform(0,0.5'"),
    (['--space=dropout=uniform[0,0.5],learning_rate=loguniform(1e-4,1e-1)'],
     "error: --space: 'dropout=uniform[0,0.5]': 'uniform[0' is not a number"),
    (['--space=dropout=0.1'], "error: --space: 'dropout=0.1' is not a range; --space takes "
     'name=uniform(lo,hi) or name=loguniform(lo,hi) (listed values are searched by their '
     'own flag, --dropout=grid(a,b))'),
    (['--space=dropout=grid(0,0.2)'], "error: --space: 'dropout=grid(0,0.2)' is not a "
     'range; --space takes name=uniform(lo,hi)'),
    (['--space=dropout=choice(0,0.2),learning_rate=loguniform(1e-4,1e-1)'],
     "error: --space: 'dropout=choice(0,0.2)' is not a range"),
    (['--space=dropout=randint(0,1)'], "error: --space: 'dropout=randint(0,1)': randint() "
     'does not fit a real hyperparameter'),
    (['--space=dropout'], "error: --space: 'dropout' is not name=uniform(lo,hi) or "
     'name=loguniform(lo,hi)'),
    (['--space=dropout=uniform(0,0.5),'], "error: --space: '' is not name=uniform(lo,hi)"),
    (['--space=dropout='], "error: --space: 'dropout=': empty spec"),
    (['--space=learning_rate=1e-4:1e-1:log'], "error: --space: 'learning_rate=1e-4:1e-1:"
     "log' is the old form; write learning_rate=loguniform(1e-4,1e-1)"),
    (['--space=dropout=uniform(0,0.5), weight_decay = 0:1e-2'], "error: --space: "
     "'weight_decay = 0:1e-2' is the old form; write weight_decay=uniform(0,1e-2)"),
    (['--space=learning_rate=0:0.1:log'], "error: --space: 'learning_rate=0:0.1:log' is "
     'the old form; write learning_rate=loguniform(0,0.1)'),
    (['--space='], 'error: --space: name at least one hyperparameter to search'),
    (['--learning_rate=grid(1e-3,1e-2)'], "error: --learning_rate: 'grid(1e-3,1e-2)' is "
     'also searched by --space (learning_rate=loguniform(1e-4,1e-1)), which would replace '
     'it; drop one of them'),
    (['--space=dropout=uniform(0,0.5)', '--dropout=0.1'], "error: --dropout: '0.1' is also "
     'searched by --space (dropout=uniform(0,0.5))'),
    (['--space=learning_rate=loguniform(1e-4,1e-1),dropout=uniform(0,0.5)',
      '--dropout=grid(0,0.2)'], "error: --dropout: 'grid(0,0.2)' is also searched by "
     '--space (dropout=uniform(0,0.5))'),
    (['--space=dropout=uniform(0,0.5)', '--dropout=uniform(0,0.2)'], "error: --dropout: "
     "'uniform(0,0.2)' is also searched by --space (dropout=uniform(0,0.5))"),
    (['--space=dropout=uniform(0,0.5)', '--dropout=0.0,0.1'], "error: --dropout: "
     "'0.0,0.1' is also searched by --space (dropout=uniform(0,0.5))"),
    (['--compile_cache_dir=/proc/rnnjax-none'], 'error: --compile_cache_dir: cannot write'),
]


@pytest.mark.parametrize('args, message', BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message, capsys,
                                                      monkeypatch):
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  code = entry_points.run_main(search_comparison.main, [
      'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
      f'--workdir={tmp_path / "wd"}', *args])
  stderr = capsys.readouterr().err
  assert code == 2, stderr
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith(message), stderr
  assert not (tmp_path / 'wd').exists()


@pytest.mark.parametrize('args', [
    ['--dropout=0.0', '--space=dropout=uniform(0,0.5)'],
    ['--dropout=grid(0)', '--space=dropout=uniform(0,0.5)'],
    ['--learning_rate=1e-3', '--learning_rate=0.001'],  # The default --space's.
], ids=['dropout=0.0', 'dropout=grid(0)', 'learning_rate=0.001'])
def test_a_flag_typed_at_its_default_beside_space_is_taken(tmp_path, args, capsys,
                                                           monkeypatch):
  """A flag that --space also names, typed at its default value (a flagfile's
  --dropout=0.0), asks for nothing the search would replace: the comparison runs."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  seen = []

  def compared(base, space, *args, **kwargs):
    del base, args, kwargs
    seen.append(sorted(space))
    raise KeyboardInterrupt  # Ends main in one line, nothing trained.
  monkeypatch.setattr(compare, 'compare', compared)
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  try:
    code = entry_points.run_main(search_comparison.main, [
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
        f'--workdir={tmp_path / "wd"}', *args])
  finally:
    for s, handler in before.items():  # main ignores them while it exits.
      signal.signal(s, handler)
  stderr = capsys.readouterr().err
  assert code == 130 and 'also searched by --space' not in stderr, stderr
  assert seen and seen[0] in (['dropout'], ['dropout', 'learning_rate']), seen


def test_a_comparison_searches_the_space_given_in_the_spec_language(tmp_path, monkeypatch,
                                                                   capsys):
  """--space in the sweep's spec language, through the command's flags: each sweep
  draws from that range, and comparison.json says it in the same language; the last
  line names what the command wrote (it named nothing)."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  try:
    code = entry_points.run_main(search_comparison.main, [
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4', '--val_size=6',
        '--test_size=6', '--hidden_size=6', '--batch_size=4', '--train_steps=2',
        '--eval_every=2', '--classical_baselines=false', '--strategies=random',
        '--search_seeds=0', '--budget_members=2', f'--workdir={tmp_path / "wd"}',
        '--space=learning_rate=loguniform(1e-3,1e-1),dropout=uniform(0,0.3)'])
  finally:
    for s, handler in before.items():  # main's SIGTERM handler.
      signal.signal(s, handler)
  assert code == 0
  assert capsys.readouterr().out.splitlines()[-1] == (
      f'wrote comparison.png, comparison.pdf, comparison.md and comparison.json in '
      f'{tmp_path / "wd"}')
  with open(tmp_path / 'wd' / 'comparison.json', encoding='utf-8') as f:
    searched = json.load(f)['space']
  with open(tmp_path / 'wd' / 'random-0' / 'sweep.json', encoding='utf-8') as f:
    spec = json.load(f)['spec']
  assert searched == {'learning_rate': 'loguniform(0.001,0.1)', 'dropout': 'uniform(0,0.3)'}
  assert {n: spec[n] for n in searched} == searched


@pytest.mark.parametrize('name', ['search_comparison.flags',
                                  'search_comparison_sunspots.flags'])
def test_every_bundled_comparison_flagfile_plans_each_search(name):
  """Each comparison flagfile as its header runs it: its flags parse, and every
  strategy's sweep passes the checks and plans its members (halving: as many as the
  budget allows, 131; TPE: 3 rounds of 9)."""
  flags.FLAGS.unparse_flags()
  try:
    population_sweep.parse_flags(['search_comparison', '--flagfile=' + os.path.join(
        ROOT, 'experiments', 'flagfiles', name)])
    base = population_sweep.spec_from_flags()
    space = search_comparison._space(  # pylint: disable=protected-access
        space_lib.split_entries(search_comparison.SPACE.value))
    budget = search_comparison.BUDGET_MEMBERS.value
    strategies = search_comparison.STRATEGIES.value
    knobs = {k: population_sweep.SPEC_FLAGS[k].value
             for k in ('eta', 'min_steps', 'pbt_interval')}
  finally:
    flags.FLAGS.unparse_flags()
  compare.check(space, num_members=budget, strategies=strategies)
  members = {}
  for strategy in strategies:
    spec = budgets.specs(base, space, strategy=strategy, num_members=budget, seed=0,
                         rounds=3, **knobs)
    rules.check(spec)
    members[strategy] = (spec.num_members if strategy == 'tpe'  # A round's.
                         else spec_lib.make_plan(spec).num_members)
  assert members == {'grid': 27, 'random': 27, 'halving': 131, 'pbt': 27, 'tpe': 9}


def test_the_help_of_rounds_says_what_0_means_to_a_comparison():
  """search_comparison reads --rounds=0, the default, as 3 rounds of TPE (given or not:
  a flagfile's default is no choice): the help says so, not a silent 3."""
  text = flags.FLAGS['rounds'].help
  assert "0, the default, given or not: search_comparison's TPE runs 3 rounds" in text, text


@pytest.mark.parametrize('raised, code, start', [
    (stop.Stopped('stopped by SIGINT after chunk 2 of 4 (checkpoint 2 in W/pbt-1/'
                  'checkpoints); run the same command to resume', 2), 130,
     'rnnjax: stopped by SIGINT after chunk 2 of 4'),
    (stop.Stopped('stopped by SIGTERM after chunk 1 of 4; run the same command to '
                  'resume', 15), 143, 'rnnjax: stopped by SIGTERM after chunk 1'),
    (KeyboardInterrupt(), 130, 'rnnjax: interrupted; the finished sweeps are kept'),
    (signal.SIGTERM, 143, 'rnnjax: stopped by SIGTERM between sweeps; the finished sweeps '
     'are kept whole: run the same command to resume'),
], ids=['sigint', 'sigterm', 'between-sweeps', 'sigterm-between-sweeps'])
def test_a_stopped_comparison_says_so_in_one_line_with_the_signal_status(
    tmp_path, raised, code, start, capsys, monkeypatch):
  """Ctrl-C (or SIGTERM) during one of the comparison's sweeps stops it at a checkpoint
  as population_sweep does: one line, exit 130 / 143, not a traceback with status 1."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.

  def stopped(*args, **kwargs):
    del args, kwargs
    if raised == signal.SIGTERM:  # Between sweeps: no sweep watches it.
      if not callable(signal.getsignal(signal.SIGTERM)):
        pytest.fail('SIGTERM between sweeps ends the process without a word')
      os.kill(os.getpid(), signal.SIGTERM)
      time.sleep(1)  # The handler runs before this returns.
    raise raised
  monkeypatch.setattr(compare, 'compare', stopped)
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  try:
    status = entry_points.run_main(search_comparison.main, [
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
        f'--workdir={tmp_path / "wd"}'])
  except (KeyboardInterrupt, stop.Stopped) as e:  # Not pytest's own Ctrl-C.
    pytest.fail(f'{type(e).__name__} left main: {e}')
  finally:
    for s, handler in before.items():  # main ignores them while it exits.
      signal.signal(s, handler)
  stderr = capsys.readouterr().err
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert status == code, stderr
  assert len(lines) == 1 and lines[0].startswith(start), stderr


def test_a_sigterm_the_process_was_started_to_ignore_stays_ignored(tmp_path, monkeypatch):
  """As a sweep leaves it (stop.py): `trap '' TERM` before the command is kept."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  seen = []

  def compared(*args, **kwargs):
    del args, kwargs
    seen.append(signal.getsignal(signal.SIGTERM))
    raise KeyboardInterrupt
  monkeypatch.setattr(compare, 'compare', compared)
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  try:
    entry_points.run_main(search_comparison.main, [
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
        f'--workdir={tmp_path / "wd"}'])
  finally:
    for s, handler in before.items():
      signal.signal(s, handler)
  assert seen == [signal.SIG_IGN]


@pytest.mark.usefixtures('default_signals')  # Under nohup SIGINT is ignored, rightly.
@pytest.mark.parametrize('signum, code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_starting_stops_in_one_line_before_any_sweep(
    tmp_path, signum, code, capsys, monkeypatch):
  """Ctrl-C or SIGTERM while JAX starts (before main's own handlers): noted from the
  first moment, as population_sweep does, and said in one line; not lost in JAX's
  garbage-collection callback (the comparison ran on) nor the process ended silently."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  monkeypatch.setattr(compare, 'compare', lambda *a, **k: pytest.fail('a sweep began'))
  before = {s: signal.getsignal(s) for s in stop.SIGNALS}
  try:
    early, noted = cli.note_signals()  # As the command's first line does.
    monkeypatch.setattr(search_comparison, '_EARLY', early)
    monkeypatch.setattr(search_comparison, '_NOTED', noted)
    os.kill(os.getpid(), signum)
    status = entry_points.run_main(search_comparison.main, [
        'search_comparison', '--dataset=shampoo_sales', '--lookback=4',
        f'--workdir={tmp_path / "wd"}'])
  finally:
    for s, handler in before.items():
      signal.signal(s, handler)
  stderr = capsys.readouterr().err
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert status == code, stderr
  assert len(lines) == 1 and lines[0].startswith(
      f'rnnjax: stopped by {stop.name(signum)} while starting, before anything was '
      'written'), stderr
  assert not (tmp_path / 'wd').exists()
