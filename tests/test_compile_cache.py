"""The persistent compilation cache: a later process reads the programs an earlier one
compiled; an empty directory turns it off; the sweep command passes its flag through."""

import json
import os
import subprocess
import sys

from absl import flags
import pytest

from experiments import population_sweep
from rnnjax.engine import compile_cache
from rnnjax.engine import sharding
from rnnjax.run import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One small program compiled in a fresh process; prints what measure() counted.
_SCRIPT = """
import json, sys
from rnnjax.engine import compile_cache
compile_cache.configure(sys.argv[1])
import jax, jax.numpy as jnp
with compile_cache.measure() as counted:
  jax.jit(lambda x: jnp.tanh(x @ x.T).sum())(jnp.ones((4, 3))).block_until_ready()
print(json.dumps({**counted.to_json(), 'cold_s': counted.cold_s, 'read_s': counted.read_s}))
"""


def _compile_in_new_process(directory) -> dict:
  proc = subprocess.run([sys.executable, '-c', _SCRIPT, str(directory)],
                        capture_output=True, text=True, cwd=ROOT, timeout=120,
                        env={**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'})
  assert proc.returncode == 0, proc.stderr
  return json.loads(proc.stdout.splitlines()[-1])


def test_a_second_process_reads_the_programs_of_the_first(tmp_path):
  first = _compile_in_new_process(tmp_path / 'cache')
  assert first['cache_hits'] == 0 and first['cache_misses'] >= 1, first
  assert os.listdir(tmp_path / 'cache')
  second = _compile_in_new_process(tmp_path / 'cache')
  assert second['cache_misses'] == 0 and second['cache_hits'] == first['cache_misses'], second
  # A hit reads its program back, and knows what it took to compile: JAX records whole
  # seconds, none for these, each under one (the saved time is that less the read).
  assert first['cold_s'] == first['read_s'] == 0 and second['read_s'] > 0, (first, second)
  assert second['cold_s'] == pytest.approx(0, abs=1e-9) and first['compile_s'] < 1, second


def test_an_empty_directory_turns_the_cache_off(tmp_path):
  counted = _compile_in_new_process('')
  assert counted['cache_hits'] == counted['cache_misses'] == 0
  assert counted['compile_s'] > 0  # Compiles are counted all the same.


def test_default_dir(monkeypatch):
  monkeypatch.setenv(compile_cache.ENV, '/a/b')
  assert compile_cache.default_dir() == '/a/b'
  monkeypatch.delenv(compile_cache.ENV)
  monkeypatch.setenv('XDG_CACHE_HOME', '/xdg')
  assert compile_cache.default_dir() == '/xdg/rnnjax/jax'
  monkeypatch.delenv('XDG_CACHE_HOME')
  monkeypatch.setenv('HOME', '/home/u')
  assert compile_cache.default_dir() == '/home/u/.cache/rnnjax/jax'


def test_measure_nests_and_counts_this_thread_only():
  with compile_cache.measure() as outer:
    compile_cache._on_duration(compile_cache._COMPILE_EVENT, 2.0)  # pylint: disable=protected-access
    with compile_cache.measure() as inner:
      compile_cache._on_event(compile_cache._HIT)  # pylint: disable=protected-access
      compile_cache._on_duration(compile_cache._SAVED, 2.5)  # pylint: disable=protected-access
      compile_cache._on_duration(compile_cache._READ, 0.5)  # pylint: disable=protected-access
  compile_cache._on_event(compile_cache._MISS)  # pylint: disable=protected-access
  assert (outer.seconds, outer.cache_hits, outer.cache_misses, outer.cold_s,
          outer.read_s) == (2.0, 1, 0, 3.0, 0.5)
  assert (inner.seconds, inner.cache_hits, inner.cache_misses, inner.cold_s,
          inner.read_s) == (0.0, 1, 0, 3.0, 0.5)


def test_the_sweep_command_passes_its_flag(tmp_path, monkeypatch):
  seen = []
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  monkeypatch.setattr(compile_cache, 'configure', seen.append)
  monkeypatch.setattr(sweep, 'run_sweep', lambda *a, **k: None)
  monkeypatch.setenv(compile_cache.ENV, str(tmp_path / 'default'))
  for args in ([], ['--compile_cache_dir='], [f'--compile_cache_dir={tmp_path}/x']):
    flags.FLAGS.unparse_flags()
    try:
      population_sweep.main(population_sweep.parse_flags(
          ['population_sweep', f'--workdir={tmp_path / "wd"}', '--figures=false', *args]))
    finally:
      flags.FLAGS.unparse_flags()
  assert seen == [str(tmp_path / 'default'), '', f'{tmp_path}/x']
