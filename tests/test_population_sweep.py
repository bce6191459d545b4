"""The command line: one-line errors, exit status 2, nothing written.

Most bad inputs run the entry point in this process (absl's flags parsed anew each
time); a few, and the runs that train, go through a real process as a user's would.
"""

import gzip
import os
import subprocess
import sys
import types

from absl import flags
import pytest

from experiments import population_sweep
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.run import resume
from rnnjax.search import rules
from rnnjax.search import spec as spec_lib
from tests import entry_points

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(tmp_path, *args, path=(ROOT,)):
  env = {**os.environ, 'PYTHONPATH': os.pathsep.join(path), 'JAX_PLATFORMS': 'cpu'}
  return subprocess.run(
      [sys.executable, '-m', 'experiments.population_sweep',
       f'--workdir={tmp_path / "wd"}', *args],
      capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def _files(tmp_path):
  (tmp_path / 'latin1.csv').write_bytes('t,v\n1,caf\xe9\n'.encode('latin-1'))
  (tmp_path / 'cols.csv').write_text('t,v\n1,1.0\n2,2.0\n')
  (tmp_path / 'text.csv').write_text('t,v\n1,1.0\n2,lots\n')
  (tmp_path / 'bad.flags').write_text('# a comment\n--hidden_size=8\nlearning_rate=0.1\n')
  (tmp_path / 'spaced.flags').write_text('--hidden_size=8\n--train_steps = 1000\n')
  (tmp_path / 'comma.csv').write_text('t,v\n1,1.0\n2,2,5\n3,3.0\n')
  (tmp_path / 'latin1.flags').write_bytes('--hidden_size=8\n# caf\xe9\n'.encode('latin-1'))
  (tmp_path / 'outer.flags').write_text(f'--flagfile={tmp_path}/latin1.flags\n')
  (tmp_path / 'nested.flags').write_text(f'--hidden_size=8\n--flagfile={tmp_path}/nope.flags\n')
  (tmp_path / 'short.txt').write_text('abcdefghijkl')
  (tmp_path / 'plays.txt.gz').write_bytes(gzip.compress(b'ROMEO: hello\n' * 40))


BAD_INPUT = [
    (['--cell=lstmx'], "error: --cell: 'lstmx' is invalid"),
    (['--optimizer=adagrad'], "error: --optimizer: 'adagrad' is invalid"),
    (['--task=translate'], "error: --task: unknown task 'translate'"),
    (['--learning_rate=loguniform(1e-4,'], 'error: --learning_rate: malformed spec'),
    (['--learning_rate=grid()'], 'error: --learning_rate: grid() needs at least one value'),
    (['--learning_rate='], 'error: --learning_rate: empty spec'),
    (['--learning_rate=0'], "error: --learning_rate: 0.0 is invalid; expected > 0"),
    (['--dropout=1.0'], 'error: --dropout: 1.0 is invalid; expected in [0, 1)'),
    (['--hidden_size=0'], 'error: --hidden_size: 0 is invalid'),
    (['--num_layers=grid(1,0)'], 'error: --num_layers: 0 is invalid'),
    (['--dataset=shampoo_sales', '--batch_size=400'], 'error: --batch_size: 400 is larger'),
    (['--dataset=nope'], "error: --dataset: unknown series 'nope'"),
    (['--flagfile={tmp}/nope.flags'], 'error: --flagfile: {tmp}/nope.flags: no such file'),
    (['--flagfile={tmp}/bad'], 'error: --flagfile: {tmp}/bad: no such file (did you mean '
     '{tmp}/bad.flags?)'),
    (['--flagfile={tmp}/nested.flags'], 'error: --flagfile: {tmp}/nope.flags: no such file'),
    (['--flagfile={tmp}'], 'error: --flagfile: {tmp}: is a directory, not a flagfile'),
    (['--flagfile={tmp}/outer.flags'], 'error: --flagfile: {tmp}/latin1.flags: is not UTF-8'),
    (['--csv_path=/nonexistent.csv', '--target_columns=v'],
     'error: --csv_path: /nonexistent.csv: no such file'),
    (['--csv_path={tmp}/latin1.csv', '--target_columns=v'], 'latin1.csv: is not UTF-8'),
    (['--csv_path={tmp}', '--target_columns=v'], 'is a directory, not a CSV file'),
    (['--csv_path={tmp}/cols.csv', '--target_columns=sales'],
     "error: --target_columns: {tmp}/cols.csv has no column 'sales'"),
    (['--csv_path={tmp}/text.csv', '--target_columns=v'],
     "text.csv: line 3, column 'v': 'lots' is not a number"),
    (['--dataset=shampoo_sales', '--lookback=30'], 'error: series of 36 points is too short'),
    (['--no_such_flag=1'], "error: Unknown command line flag 'no_such_flag'"),
    (['--flagfile={tmp}/bad.flags'], "error: not a flag: 'learning_rate=0.1'"),
    (['--flagfile={tmp}/spaced.flags'], "error: --train_steps: a flag takes no spaces "
     "around its '=' (write --train_steps=VALUE, also in a flagfile)"),
    (['--csv_path={tmp}/comma.csv', '--target_columns=v'],
     "error: --csv_path: {tmp}/comma.csv: line 3 has 3 cells where the header names 2 "
     "columns ('2,2,5'): a number written with a decimal comma (108,2) is two cells"),
    (['--train_steps=50', '--eval_every=20'], 'error: --train_steps: 50 is not a multiple'),
    (['--task=classify', '--dataset=Nope'], "error: --dataset: unknown"),
    (['--task=classify', '--train_path={tmp}/cols.csv'], 'error: --test_path'),
    (['--task=classify', '--train_path={tmp}/cols.csv', '--test_path={tmp}/cols.csv'],
     'error: --id_column: required for a CSV --train_path ({tmp}/cols.csv): name the '
     'column that says which case each row belongs to'),
    (['--task=classify', '--train_path={tmp}/cols.csv', '--test_path={tmp}/cols.csv',
      '--id_column=t'], 'error: --target_columns: required for a CSV --train_path'),
    (['--id_column=t'], 'error: --id_column: a long CSV of many series is a panel; add '
     '--task=panel (or --task=classify'),
    (['--task=classify', '--text_path={tmp}/cols.csv'],
     'error: --text_path: --task=classify reads no --text_path (its files: --train_path, '
     '--test_path); leave it out'),
    (['--dataset=shampoo_sales', '--test_path={tmp}/cols.csv'],
     'error: --test_path: --task=forecast reads no --test_path'),
    (['--task=classify', '--pooling=max'], "error: --pooling: 'max'"),
    (['--task=classify', '--seq_len=20'], 'error: --seq_len: for --task=charlm only (this '
     'sweep is --task=classify); leave it out'),
    (['--task=charlm', '--pooling=mean'], 'error: --pooling: for --task=classify only'),
    (['--compile_cache_dir=/proc/rnnjax-none'], 'error: --compile_cache_dir: cannot write '
     'compiled programs to /proc/rnnjax-none'),
    (['--task=classify', '--horizon=2'], 'error: --horizon: for --task=forecast or panel only'),
    (['--task=charlm', '--text_path=/nonexistent.txt'], 'error: --text_path'),
    (['--task=charlm', '--seq_len=0'], 'error: --seq_len: 0 must be >= 1'),
    (['--temperature=-1'], 'error: --temperature: -1.0 must be >= 0 (0: the most likely '
     'character each step)'),
    # Refused before training, not read as "the default" or failing at the end.
    (['--task=charlm', '--dataset=shakespeare', '--sample_chars=-1'],
     'error: --sample_chars: -1 must be >= 0'),
    (['--task=charlm', '--dataset=shakespeare', '--sample_chars=2000000'],
     'error: --sample_chars: 2000000 is more than a sample draws (1,048,576 at most, as '
     'predict --num_chars)'),
    (['--task=charlm', '--text_path={tmp}/short.txt'],
     'error: --seq_len: 64 is not shorter than the training text (8 characters: '
     '--text_path={tmp}/short.txt holds 12, validation and test take 2 and 2); a longer '
     'text, or a shorter --seq_len'),
    (['--task=charlm', '--text_path={tmp}/plays.txt.gz'],
     'error: --text_path: {tmp}/plays.txt.gz: is not UTF-8 text (invalid start byte at '
     'byte 1); it is a gzip file: decompress it first'),
    (['--val_size=-1'], 'error: --val_size: -1 must be >= 0'),
    (['--val_size=0.5'], "error: flag --val_size=0.5: '0.5' is not a whole number"),
    (['--temperature=warm'], "error: flag --temperature=warm: 'warm' is not a number"),
    (['--season=-2'], 'error: --season: -2; expected a season length >= 1, 0 for none'),
    (['--keep_checkpoints=0'], 'error: --keep_checkpoints: 0 must be a whole number >= 1'),
    (['--keep_checkpoints=-1'], 'error: --keep_checkpoints: -1 must be a whole number >= 1'),
    (['--group_size=-3'], 'error: --group_size: -3 must be >= 0'),
    (['--min_steps=-5'], 'error: --min_steps: -5 must be >= 0'),
    (['--cpu_devices=-1'], 'error: --cpu_devices: -1 must be >= 0'),
    (['--search=bayes'], "error: --search: unknown strategy 'bayes'"),
    (['--search=random', '--num_members=0'],
     'error: --num_members: 0; random search draws that many configurations'),
    (['--search=pbt', '--pbt_fraction=0.9'], 'error: --pbt_fraction: 0.9'),
    (['--search=halving', '--train_steps=40', '--eval_every=10', '--min_steps=15'],
     'error: --min_steps: 15 must be a positive multiple'),
    (['--search=pbt', '--train_steps=200', '--eval_every=50', '--pbt_interval=-50'],
     'error: --pbt_interval: -50 must be a positive multiple of --eval_every=50'),
    (['--distributed=manual'], 'error: --coordinator_address'),
    (['--num_processes=2', '--process_id=1'],
     'error: --num_processes, --process_id: given with --distributed=off, which runs one '
     'process and would ignore them; add --distributed=manual'),
    (['--search=random', '--num_members=2', '--rounds=3'],
     'error: --rounds: 3, but rounds are for --search=tpe only'),
    (['--search=tpe', '--num_members=2', '--rounds=0'],
     'error: --rounds: 0; --search=tpe needs --rounds >= 1'),
    (['--mlflow_uri=nowhere://x'], "error: --mlflow_uri: 'nowhere://x' is not a readable"),
    (['--num_layers=grid(1,2)', '--dropout_per_layer=0;0.2'],
     'error: --dropout_per_layer: 2 spec(s), one per layer, in a sweep over '
     '--num_layers=grid(1,2): per-layer rates need one depth: sweep --num_layers with '
     '--dropout (one rate for every layer), or run a sweep per depth'),
    (['--search=pbt', '--learning_rate=uniform(1e-3,1e-2)'],
     'error: --learning_rate: uniform() is a random distribution; draw it with '
     '--search=random or tpe, or halving or pbt with --num_members >= 1'),
    (['--num_layers=2', '--dropout_per_layer=0.1;abc'],
     "error: --dropout_per_layer: layer 2: 'abc' is not a number"),
    (['--num_layers=2', '--dropout_per_layer=1.5;0'],
     'error: --dropout_per_layer: layer 1: 1.5 is invalid; expected in [0, 1)'),
    (['--num_layers=2', '--dropout_per_layer=0.1;uniform(0.3,0.1)'],
     'error: --dropout_per_layer: layer 2: uniform(0.3, 0.1) needs lo < hi'),
    (['--num_layers=2', '--dropout=0.3', '--dropout_per_layer=0.1;0.2'],
     "error: --dropout: '0.3' is not used with --dropout_per_layer (which gives every "
     'layer its own rate); leave --dropout out'),
]


def test_a_path_flag_starting_with_a_tilde_is_in_the_home_directory(tmp_path, capsys,
                                                                    monkeypatch):
  """`--workdir=~/x`: no shell reads the ~ after '=', and the sweep made a directory
  named '~' in the current one (one `rm -rf ~` from losing a home directory). Read as
  the shell would read `--workdir ~/x`: in $HOME."""
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  monkeypatch.chdir(tmp_path)
  code, stderr = _in_process(tmp_path, ['--csv_path=~/sales.csv', '--target_columns=v'],
                             capsys, monkeypatch)
  assert code == 2 and f"--csv_path: {tmp_path}/home/sales.csv: no such file" in stderr
  assert not os.path.exists(tmp_path / '~')


# Through a real process, as a user meets it: a data file main refuses. A flag absl
# refuses and a flagfile line are refused by parse_flags, which the real process calls
# as the one here does (app.run's flags_parser): in this process.
REAL_PROCESS = {'latin1.csv: is not UTF-8'}


def _in_process(tmp_path, args, capsys, monkeypatch):
  """(exit status, stderr) of the entry point run here, on fresh flag values."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  code = entry_points.run_main(population_sweep.main, [
      'population_sweep', f'--workdir={tmp_path / "wd"}', *args])
  return code, capsys.readouterr().err


@pytest.mark.parametrize('args, message', BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_no_workdir(tmp_path, args, message, capsys,
                                                 monkeypatch):
  _files(tmp_path)
  args = [a.format(tmp=tmp_path) for a in args]
  if message in REAL_PROCESS:
    proc = _cli(tmp_path, *args)
    code, stderr = proc.returncode, proc.stderr
  else:
    code, stderr = _in_process(tmp_path, args, capsys, monkeypatch)
  assert code == 2, stderr
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert len(lines) == 1, stderr
  assert message.format(tmp=tmp_path) in lines[0]
  assert 'Traceback' not in stderr
  assert not (tmp_path / 'wd').exists()


def test_workdir_of_another_sweep_is_refused_untouched(tmp_path, capsys, monkeypatch):
  args = ['--dataset=shampoo_sales', '--lookback=4', '--val_size=6', '--test_size=6',
          '--hidden_size=4', '--batch_size=4', '--train_steps=2', '--eval_every=2',
          '--figures=false', '--classical_baselines=false']
  assert _in_process(tmp_path, args, capsys, monkeypatch)[0] == 0
  before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / 'wd').iterdir()}
  code, stderr = _in_process(tmp_path, args + ['--learning_rate=0.01'], capsys, monkeypatch)
  assert code == 2
  assert stderr.strip().count('\n') == 0
  assert 'holds a different sweep (learning_rate:' in stderr
  assert before == {p.name: p.stat().st_mtime_ns for p in (tmp_path / 'wd').iterdir()}


def test_tiny_run_through_flags(tmp_path):
  # Where torch is installed, tensorboardX imports it (seconds) unless rnnjax hides it
  # (results/tracking/event_file.py): nothing in a sweep may try.
  (tmp_path / 'installed' / 'torch').mkdir(parents=True)
  (tmp_path / 'installed' / 'torch' / '__init__.py').write_text(
      f'open({str(tmp_path / "torch_imported")!r}, "w").close()\n'
      'raise ImportError("a stand-in torch")\n')
  proc = _cli(tmp_path, '--dataset=shampoo_sales', '--lookback=4', '--val_size=6',
              '--test_size=6', '--hidden_size=4', '--batch_size=4',
              '--learning_rate=grid(1e-3,1e-2)', '--train_steps=4', '--eval_every=2',
              path=(ROOT, str(tmp_path / 'installed')))
  assert proc.returncode == 0, proc.stderr
  assert not (tmp_path / 'torch_imported').exists()
  assert 'best: uid' in proc.stdout
  assert (tmp_path / 'wd' / 'summary.json').exists()
  figures = {p.name for p in (tmp_path / 'wd' / 'figures').iterdir()}
  assert {'sensitivity.png', 'sensitivity.pdf', 'learning_curves.png',
          'importance.png', 'table.md', 'table.tex', 'configs.csv'} <= figures, figures


def test_default_workdir_is_named_after_the_flagfile(tmp_path, monkeypatch):
  (tmp_path / 'my_study.flags').write_text('--hidden_size=8\n')
  # The flagfiles of this parse alone, as in a fresh process.
  monkeypatch.setattr(population_sweep, '_FLAGFILES', [])
  flags.FLAGS.unparse_flags()
  try:
    population_sweep.parse_flags(['population_sweep', f'--flagfile={tmp_path}/my_study.flags'])
    assert population_sweep.default_workdir() == os.path.join('runs', 'my_study')
  finally:
    flags.FLAGS.unparse_flags()


def test_resume_on_devices_that_cannot_share_the_checkpoint_is_refused():
  """A checkpoint of 4-row populations cannot be laid out on 3 devices: one line naming
  the flag, before anything is restored (resuming on another count that divides the
  rows is tested in test_distributed.py)."""
  fake_sweep = types.SimpleNamespace(mesh=types.SimpleNamespace(size=3),
                                     runs=(object(),), base_key=None)
  progress = {'uids': [[0, 1, 2, -1]], 'started': ['0']}
  with pytest.raises(InputError, match=r'^--cpu_devices: .* 4 rows, which 3 devices'):
    resume.abstract(fake_sweep, progress)  # pylint: disable=protected-access
  with pytest.raises(InputError, match=r'^--workdir: .* 1 waves, and its plan.json makes '
                     r'2: the work directory is damaged'):
    resume.abstract(types.SimpleNamespace(mesh=fake_sweep.mesh, runs=(1, 2)), progress)  # pylint: disable=protected-access


def _bad_workdirs(tmp_path):
  (tmp_path / 'a_file').write_text('')
  (tmp_path / 'ro').mkdir()
  readonly = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs',
                             str(tmp_path / 'ro')], capture_output=True).returncode == 0
  (tmp_path / 'has_files').mkdir()
  (tmp_path / 'has_files' / 'sweep.json').write_text('{}')
  (tmp_path / 'has_files' / 'checkpoints').write_text('')
  cases = [('/proc/rnnjax-wd', 'error: --workdir: cannot create /proc/rnnjax-wd in /proc '
            '(No such file or directory)'),
           (f'{tmp_path}/a_file', f'error: --workdir: {tmp_path}/a_file is a file, not a '
            'directory'),
           (f'{tmp_path}/a_file/wd', f'error: --workdir: cannot create {tmp_path}/a_file/'
            f'wd: {tmp_path}/a_file is a file, not a directory'),
           (f'{tmp_path}/has_files', f'error: --workdir: {tmp_path}/has_files/checkpoints '
            'is in the way (a file where the sweep writes its checkpoints directory)')]
  if readonly:
    cases.append((f'{tmp_path}/ro/wd', f'error: --workdir: cannot create {tmp_path}/ro/wd '
                  f'in {tmp_path}/ro (Read-only file system)'))
  return cases, readonly


def test_unusable_workdir_is_one_line_exit_2_before_data_or_compiles(tmp_path, capsys,
                                                                   monkeypatch):
  cases, readonly = _bad_workdirs(tmp_path)
  # A dataset that does not exist: an error the data loader would give, had it run.
  args = ['--dataset=nope', '--figures=false']
  try:
    for workdir, message in cases:
      flags.FLAGS.unparse_flags()
      code, stderr = _in_process(tmp_path, args + [f'--workdir={workdir}'], capsys,
                                 monkeypatch)
      assert code == 2, stderr
      assert stderr.strip() == message, workdir
  finally:
    if readonly:
      subprocess.run(['umount', str(tmp_path / 'ro')], check=False)
  assert not os.path.exists('/proc/rnnjax-wd')


def _sweep_flagfiles():
  """The bundled flagfiles of this entry point (their headers say which they are for)."""
  folder = os.path.join(ROOT, 'experiments', 'flagfiles')
  out = []
  for name in sorted(n for n in os.listdir(folder) if n.endswith('.flags')):
    with open(os.path.join(folder, name), encoding='utf-8') as f:
      if 'python -m experiments.population_sweep' in f.read():
        out.append(name)
  return out


FLAGFILES = _sweep_flagfiles()


@pytest.mark.parametrize('name', FLAGFILES)
def test_every_bundled_flagfile_is_a_valid_sweep(name):
  """Each flagfile as README and its header run it: its flags parse, its spec passes
  every check, and it plans. A fixed ensemble (the panels') keeps every member its
  sweep trains, so a grid value added later is not silently left out of it."""
  flags.FLAGS.unparse_flags()
  try:
    population_sweep.parse_flags(['population_sweep', '--flagfile=' + os.path.join(
        ROOT, 'experiments', 'flagfiles', name)])
    spec = population_sweep.spec_from_flags()
  finally:
    flags.FLAGS.unparse_flags()
  rules.check(spec)
  plan = spec_lib.make_plan(spec)
  assert plan.num_members >= 1
  if spec.ensemble == 'fixed':
    assert spec.ensemble_size == plan.num_members // spec.folds, name


@pytest.mark.usefixtures('default_signals')
def test_ctrl_c_while_starting_stops_before_anything_is_written(tmp_path, capsys,
                                                                 monkeypatch):
  """A Ctrl-C in the first seconds is noted, not raised (raised, it can land in JAX's
  garbage-collection callback, where Python drops it, and the sweep then runs to the
  end), and acted on once started: one line, status 130, no work directory."""
  from rnnjax.engine import distributed  # pylint: disable=g-import-not-at-top
  import signal  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(distributed, 'initialize',
                      lambda *a, **k: os.kill(os.getpid(), signal.SIGINT))
  code, err = _in_process(tmp_path, ['--dataset=shampoo_sales'], capsys, monkeypatch)
  assert code == 130
  assert err.splitlines()[-1] == ('rnnjax: stopped by SIGINT while starting, before '
                                   'anything was written; run the same command to resume')
  assert not os.path.exists(tmp_path / 'wd')


def _lost_mid_sweep(tmp_path, capsys, monkeypatch, message):
  """(exit status, stderr) where run_sweep fails with JaxRuntimeError(`message`) in a
  run of two processes, os._exit raising SystemExit; jax.process_count raises once the
  sweep failed (the handler must not ask it)."""
  import jax  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import distributed  # pylint: disable=g-import-not-at-top
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(distributed, 'process_count', lambda: 2)  # Joined to another.
  def lost(*_, **__):
    def gone():
      raise jax.errors.JaxRuntimeError('the runtime is gone too')
    monkeypatch.setattr(jax, 'process_count', gone)
    raise jax.errors.JaxRuntimeError(message)
  def exit_now(code):
    raise SystemExit(code)
  monkeypatch.setattr(sweep, 'run_sweep', lost)
  monkeypatch.setattr(os, '_exit', exit_now)
  return _in_process(tmp_path, ['--dataset=shampoo_sales'], capsys, monkeypatch)


def test_a_peer_lost_mid_sweep_is_one_line_naming_the_last_checkpoint(tmp_path, capsys,
                                                                      monkeypatch):
  """The survivors' collective fails (Gloo: connection closed by peer) moments before
  the coordination service aborts them in C++: the traceback, for a report, then one
  line, and out at once."""
  for step in ('2', '4'):
    os.makedirs(tmp_path / 'wd' / 'checkpoints' / step)
  code, err = _lost_mid_sweep(tmp_path, capsys, monkeypatch,
                              'UNKNOWN: Gloo AllGather failed: [pair.cc:547] Connection '
                              'closed by peer [127.0.0.1]:6565')
  assert code == 1
  assert err.splitlines()[-1] == (
      'error: a peer process stopped (UNKNOWN: Gloo AllGather failed: [pair.cc:547] '
      'Connection closed by peer [127.0.0.1]:6565): the sweep stops; its last checkpoint, '
      'chunk 4, resumes with the same command')
  assert err.startswith('Traceback (most recent call last):')


def test_another_runtime_failure_mid_sweep_keeps_its_traceback(tmp_path, capsys,
                                                               monkeypatch):
  """'Unavailable' or 'barrier' alone is not a lost peer: the error propagates."""
  import jax  # pylint: disable=g-import-not-at-top
  with pytest.raises(jax.errors.JaxRuntimeError, match='UNAVAILABLE: barrier'):
    _lost_mid_sweep(tmp_path, capsys, monkeypatch,
                    'UNAVAILABLE: barrier of the device mesh timed out')
  assert 'a peer process stopped' not in capsys.readouterr().err


def test_readmes_classify_csv_command_runs_as_written(tmp_path, capsys, monkeypatch):
  """README's command for a user's long CSVs of cases, run from a folder holding them
  (and the repository's experiments/, as its root does), as a dry run: its flags and
  files read, its notes said, nothing trained."""
  readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
  command = next(l.strip() for l in readme.splitlines()
                 if '--train_path=TRAIN.csv' in l and l.strip().startswith('python -m'))
  args = command.split()[2:]
  assert args[0] == 'experiments.population_sweep'
  rows = lambda prefix, n: ''.join(f'{prefix}{i},{t},{(-1) ** i * t}.5,{"ab"[i % 2]}\n'
                                   for i in range(n) for t in range(5))
  (tmp_path / 'TRAIN.csv').write_text('case,t,value,label\n' + rows('tr', 20))
  (tmp_path / 'TEST.csv').write_text('case,t,value,label\n' + rows('te', 6))
  os.symlink(os.path.join(ROOT, 'experiments'), tmp_path / 'experiments')
  monkeypatch.chdir(tmp_path)
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  code = entry_points.run_main(population_sweep.main,
                               ['population_sweep', *args[1:], '--dry_run'])
  out, err = capsys.readouterr()
  assert code == 0, err
  assert ('note: channels read from TRAIN.csv: t, value (every column but case, label; '
          '--input_columns chooses)') in out + err
  # Its estimate counts the command's start-up (here the test process's, cli.process_age).
  assert ': start-up ' in out.splitlines()[-1], out


@pytest.mark.parametrize('dry_run', [True, False])
def test_a_ctrl_c_says_what_is_kept_a_dry_run_nothing(tmp_path, monkeypatch, capsys,
                                                     dry_run):
  """A Ctrl-C outside a watch (a dry run's load, its benchmarks timed, its probe) ends in
  one line, 130: a dry run's says it wrote nothing (no checkpoint to resume), a sweep's
  that its work directory keeps its last checkpoint."""
  from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top

  def interrupted(*args, **kw):
    raise KeyboardInterrupt
  monkeypatch.setattr(sweep, 'run_sweep', interrupted)
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  code = entry_points.run_main(population_sweep.main, [
      'population_sweep', f'--workdir={tmp_path / "wd"}', '--train_steps=2',
      '--eval_every=2'] + ['--dry_run'] * dry_run)
  err = capsys.readouterr().err
  assert code == 130
  assert err.splitlines()[-1] == 'rnnjax: interrupted; ' + (
      'a dry run writes nothing: run it again' if dry_run else
      'the work directory keeps its last checkpoint: run the same command to resume'), err
