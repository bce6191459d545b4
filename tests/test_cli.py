"""What the entry points share (experiments/cli.py): signals noted from a command's
first line, by every entry point that trains."""

import os
import signal
import subprocess
import sys
import time

import pytest

from experiments import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.usefixtures('default_signals')  # Under nohup SIGINT is ignored, rightly.
def test_note_signals_notes_both_and_gives_back_the_handlers_before():
  before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    early, noted = cli.note_signals()
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)  # Neither raises nor ends the process.
    time.sleep(0.05)
  finally:
    for s, handler in before.items():
      signal.signal(s, handler)
  assert noted == [signal.SIGTERM, signal.SIGINT]
  assert early == before


def test_a_signal_the_process_ignores_is_left_ignored():
  before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # nohup, a background job.
  try:
    early, noted = cli.note_signals()
    assert signal.SIGINT not in early
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
  finally:
    signal.signal(signal.SIGINT, before)
    for s, handler in early.items():
      signal.signal(s, handler)
  assert noted == []


def test_cli_imports_nothing_heavy():
  """Imported first by the entry points, so that it notes signals before JAX loads."""
  code = ('import sys; import experiments.cli; '
          'print(sorted(m for m in ("absl", "jax", "numpy") if m in sys.modules))')
  out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, 'PYTHONPATH': ROOT}, check=True)
  assert out.stdout.strip() == '[]', out


@pytest.mark.skipif(not os.path.exists('/proc/self/stat'), reason='read from Linux /proc')
def test_process_age_counts_from_the_process_s_start():
  """A dry run's start-up: the seconds of a process that slept 0.6 s before asking, at
  most its whole life seen from outside (clock ticks of 10 ms apart)."""
  code = 'import time; time.sleep(0.6); from experiments import cli; print(cli.process_age())'
  begun = time.perf_counter()
  out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, 'PYTHONPATH': ROOT}, check=True)
  assert 0.6 <= float(out.stdout) <= time.perf_counter() - begun + 0.05, out


@pytest.mark.usefixtures('default_signals')
@pytest.mark.parametrize('entry', ['search_comparison'])  # population_sweep: test_stop.
def test_ctrl_c_in_a_command_s_first_second_stops_it_before_anything_is_written(
    tmp_path, entry):
  """The command notes a Ctrl-C from its first line (cli.note_signals), while JAX is
  imported, and stops once started: one line, status 130, nothing written."""
  workdir = tmp_path / 'wd'
  with open(tmp_path / 'err', 'w') as err:
    proc = subprocess.Popen(
        [sys.executable, '-m', f'experiments.{entry}', '--dataset=shampoo_sales',
         '--lookback=4', f'--workdir={workdir}', '--cpu_devices=1'], cwd=ROOT,
        env={**os.environ, 'PYTHONPATH': ROOT}, stdout=subprocess.DEVNULL, stderr=err)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=120)
  lines = [l for l in (tmp_path / 'err').read_text().splitlines() if l.strip()]
  assert code == 130, lines
  assert lines[-1].startswith('rnnjax: stopped by SIGINT '), lines
  assert 'Traceback' not in '\n'.join(lines)
  assert not (workdir / 'summary.json').exists()
