"""What bench.speed's tables share: the workloads' shapes and how a measurement runs
in a fresh process of its own (`python -m bench.speed --child=...`), reporting ROW lines."""

import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W = (64, 32)
SIZES = (W,) + tuple((h, t) for h in (128, 256, 512) for t in (64, 128))
B = 32


def matmul_gflops(n=2048, repeats=5):
  """Best-of-`repeats` float32 n x n matmul rate with numpy, in GFLOP/s."""
  rng = np.random.default_rng(0)
  a = rng.standard_normal((n, n), dtype=np.float32)
  b = rng.standard_normal((n, n), dtype=np.float32)
  a @ b  # Warm-up.
  best = float('inf')
  for _ in range(repeats):
    t0 = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t0)
  return 2.0 * n**3 / best / 1e9


def env() -> dict:
  """The environment of a child process: this checkout first on PYTHONPATH, and JAX's
  CPU device count left to the child."""
  out = {**os.environ, 'PYTHONPATH': os.pathsep.join(
      p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)}
  out.pop('JAX_NUM_CPU_DEVICES', None)
  return out


def rows_of(stdout: str) -> list:
  """The ROW dicts a child printed."""
  return [json.loads(l[4:]) for l in stdout.splitlines() if l.startswith('ROW ')]


def run(args_list, timeout=None):
  """(wall seconds, ROW dicts) of `python -m bench.speed --child=...` in a fresh process."""
  child_env = env()
  start = time.perf_counter()
  proc = subprocess.run([sys.executable, '-m', 'bench.speed', *args_list], cwd=ROOT,
                        env=child_env, capture_output=True, text=True, check=False,
                        timeout=timeout)
  wall = time.perf_counter() - start
  if proc.returncode:
    raise RuntimeError(f'{" ".join(args_list)} failed:\n{proc.stderr[-3000:]}')
  return wall, rows_of(proc.stdout)


def row(**values):
  """Prints one ROW line (in a child) for the parent to read."""
  print('ROW ' + json.dumps(values), flush=True)
