"""The command line: a real process, one-line errors, exit status 2, nothing written."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(tmp_path, *args):
  env = {**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'}
  return subprocess.run(
      [sys.executable, '-m', 'experiments.population_sweep',
       f'--workdir={tmp_path / "wd"}', *args],
      capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


@pytest.mark.parametrize('args, message', [
    (['--cell=lstmx'], "error: --cell: 'lstmx' is invalid"),
    (['--learning_rate=loguniform(1e-4,'], '--learning_rate: malformed spec'),
    (['--no_such_flag=1'], "error: Unknown command line flag 'no_such_flag'"),
    (['--dataset=shampoo_sales', '--batch_size=400'], 'error: --batch_size: 400 is larger'),
    (['--csv_path=/nonexistent.csv', '--target_columns=a'], 'error: /nonexistent.csv: no such file'),
])
def test_bad_input_is_one_line_exit_2_no_workdir(tmp_path, args, message):
  proc = _cli(tmp_path, *args)
  assert proc.returncode == 2, proc.stderr
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert len(lines) == 1, proc.stderr
  assert message in lines[0]
  assert 'Traceback' not in proc.stderr
  assert not (tmp_path / 'wd').exists()


def test_tiny_run_through_flags(tmp_path):
  proc = _cli(tmp_path, '--dataset=shampoo_sales', '--lookback=4', '--val_size=6',
              '--test_size=6', '--hidden_size=4', '--batch_size=4',
              '--learning_rate=grid(1e-3,1e-2)', '--train_steps=4', '--eval_every=2')
  assert proc.returncode == 0, proc.stderr
  assert 'best: uid' in proc.stdout
  assert (tmp_path / 'wd' / 'summary.json').exists()
