"""The bench scripts' usage lines (their module docstrings) as a user without the
optional torch ("rnnjax[bench]") runs them: one line and exit status 2, before any
timing, never a traceback."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs a bench module as `python -m` does, with torch unimportable (installed or not).
_WITHOUT_TORCH = ("import runpy, sys; sys.modules['torch'] = None; "
                  "sys.argv = [sys.argv[1]] + sys.argv[2:]; "
                  "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)")


def _run_without_torch(module, *args):
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
             JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, '-c', _WITHOUT_TORCH, module, *args], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize('module, args, flag', [
    ('bench.torch_loop', ('--members', '1', '--steps', '1'), 'bench.torch_loop'),
    # Without the check, (a) and (b) are timed first, then (c)'s import fails.
    ('bench.population', ('--members=1', '--steps=1', '--loop_members=1'), '--no_torch'),
    # A child's traceback after the other tables' timings, without the check.
    ('bench.speed', ('--smoke',), '--no_torch'),
])
def test_a_torch_loop_without_torch_is_one_line_before_any_timing(module, args, flag):
  out = _run_without_torch(module, *args)
  assert out.returncode == 2, out.stderr[-2000:]
  assert 'Traceback' not in out.stderr
  line, = out.stderr.strip().splitlines()
  assert line.startswith(f'error: {flag}: torch is not installed'), line
  assert '.[bench]' in line
  assert not out.stdout  # Nothing timed.
