"""Every row of BUILD_NOTES.md's speed tables, one JSON line each, with the machine.

  PYTHONPATH=. python -m bench.speed                          # every table but fused
  PYTHONPATH=. python -m bench.speed --tables=sizes --steps=10 --members=16   # minutes
  PYTHONPATH=. python -m bench.speed --smoke                  # tiny shapes, checks the script

Tables (`--tables`, comma-separated):
  w        workload W (LSTM H=64, T=32, B=32), P in --w_members: the rnnjax population's
           compile and steady ms per member-step, the torch.nn.LSTM loop and rnnjax one
           member at a time on --loop_members members, all in one process
           (bench/population.py's measurement); the torch loop and each population take
           --w_rounds turns, and the ratio is the median of the turns' ratios;
  plain    the straightforward prototype at P=64 (one default CPU device, one vmap, autodiff
           LSTM) beside the torch loop, in one process;
  scaling  member-steps/s for P in {8, 64, 256} x {1, 2, 4} CPU devices (bench/scaling.py);
  sizes    whole processes: the torch loop and the rnnjax population each in a fresh
           process, started one after the other for each row (which goes first alternates
           from row to row), for W and LSTM H in {128, 256, 512} x T in {64, 128} at P in
           --members; a row gives both processes' wall seconds (imports, data, compile and
           training) and the ratio torch / rnnjax, plus each one's own steady ms per
           member-step;
  gpu      bench/gpu.py's rows where this machine has an NVIDIA GPU; else one row saying so;
  fused    for each cell in --cells and H x T x P in --fused_shapes, one process that builds
           the population's training chunk twice, with the fused layer (fused.py) and with
           autodiff of the cell's scan, and times them in --rounds alternating rounds (which
           goes first alternates); min and median ms per member-step of each, and the ratio
           autodiff / fused (> 1: the fused layer is faster). Not in the default `--tables`.

`--cell` sets the sizes table's cell (torch.nn.LSTM, GRU or RNN on the torch side).

Each table's code is a module of its own: speed_w.py (w and plain), speed_sizes.py,
speed_fused.py; scaling and gpu run bench/scaling.py and bench/gpu.py from here;
speed_child.py starts the measurements that need a process of their own.

Every line carries the machine's description (CPU, cores, memory, load average when the
run started, jax / torch / numpy versions, numpy's large float32 matmul rate), so figures
from different VMs compare as ratios. The torch rows need torch (`pip install -e .[bench]`).
Lines go to stdout and, with --out, are appended to a file.
"""

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys

import numpy as np

from bench import speed_child
from bench import speed_fused
from bench import speed_sizes
from bench import speed_w
from bench.speed_child import B, ROOT, W

TABLES = ('w', 'plain', 'scaling', 'sizes', 'gpu', 'fused')
# Training steps per member of each table when --steps is 0, as BUILD_NOTES measured them.
# The tables that time the torch loop beside rnnjax (not with --no_torch).
TORCH_TABLES = frozenset({'w', 'plain', 'sizes'})
DEFAULT_STEPS = {'w': 200, 'plain': 200, 'scaling': 100, 'sizes': 50, 'gpu': 0, 'fused': 10}


def machine() -> dict:
  """What the figures were measured on."""
  cpu = platform.processor()
  try:
    with open('/proc/cpuinfo', encoding='utf-8') as f:
      cpu = next((l.split(':', 1)[1].strip() for l in f if l.startswith('model name')), cpu)
  except OSError:
    pass
  versions = {'python': platform.python_version(), 'numpy': np.__version__}
  for name in ('jax', 'torch'):
    try:
      versions[name] = __import__(name).__version__
    except ImportError:
      versions[name] = None
  try:
    memory_gib = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
  except (ValueError, OSError, AttributeError):
    memory_gib = None
  return {'system': platform.system(), 'arch': platform.machine(), 'cpu': cpu,
          'cores': os.cpu_count(), 'memory_gib': memory_gib and round(memory_gib, 1),
          'load_average': os.getloadavg() if hasattr(os, 'getloadavg') else None,
          'matmul_gflops': round(speed_child.matmul_gflops(), 1), 'versions': versions,
          'git': _git_head()}


def _git_head():
  try:
    return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, text=True,
                          capture_output=True, check=False).stdout.strip() or None
  except OSError:
    return None


# ---- tables that run another bench script: in the parent, one JSON line per row ----

def table_scaling(args):
  members = '4' if args.smoke else '8,64,256'
  for n in (1,) if args.smoke else (1, 2, 4):
    for r in _scaling_child(n, members, args):
      yield dict(table='scaling', cell='lstm', hidden=W[0], seq_len=W[1], batch=B,
                 steps=args.steps, **r)


def _scaling_child(devices, members, args):
  env = speed_child.env()
  extra = ['--smoke'] if args.smoke else []
  proc = subprocess.run([sys.executable, '-m', 'bench.scaling', f'--members={members}',
                         f'--steps={args.steps}', f'--child_devices={devices}', *extra],
                        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
  if proc.returncode:
    raise RuntimeError(f'bench.scaling with {devices} devices failed:\n{proc.stderr[-3000:]}')
  return speed_child.rows_of(proc.stdout)


def table_gpu(args):
  if not shutil.which('nvidia-smi'):
    yield dict(table='gpu', skipped='no GPU was available on this machine '
               '(no nvidia-smi); run python -m bench.gpu on one')
    return
  out = os.environ.get('OUT') or '.'
  proc = subprocess.run([sys.executable, '-m', 'bench.gpu'] + (['--smoke'] if args.smoke
                                                                else []),
                        cwd=ROOT, capture_output=True, text=True, check=False,
                        env={**os.environ, 'PYTHONPATH': ROOT, 'OUT': out})
  if proc.returncode:
    raise RuntimeError(f'bench.gpu failed:\n{proc.stderr[-3000:]}')
  with open(os.path.join(out, 'gpu_bench.json'), encoding='utf-8') as f:
    result = json.load(f)
  for r in result['rows']:
    yield dict(table='gpu', device=result['device'], **r)


# The tables, each a function of the parsed flags yielding rows (dicts).
TABLE_ROWS = {'w': speed_w.table_w, 'plain': lambda a: speed_w.table_w(a, plain=True),
              'scaling': table_scaling, 'sizes': speed_sizes.table_sizes, 'gpu': table_gpu,
              'fused': speed_fused.table_fused}
# `--child=NAME`: a measurement in a process of its own (speed_child.run starts it).
CHILDREN = {'torch': speed_sizes.child_torch, 'rnnjax': speed_sizes.child_rnnjax,
            'w': speed_w.child_w, 'fused': speed_fused.child_fused}


def _parser() -> argparse.ArgumentParser:
  # The module docstring says what each table measures, and at which sizes.
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--tables', default=','.join(TABLES[:-1]),
                      help=f'comma-separated, of {", ".join(TABLES)} (default: '
                      f'{",".join(TABLES[:-1])}; each described above)')
  parser.add_argument('--steps', type=int, default=0,
                      help='training steps per member (0: 200 for w/plain, 100 for '
                      'scaling, 50 for sizes, as BUILD_NOTES measured them)')
  parser.add_argument('--members', default='16,64', help='P of the sizes table')
  parser.add_argument('--sizes', default='', help='HxT,... of the sizes table '
                      '(default: 64x32 and {128,256,512}x{64,128})')
  parser.add_argument('--cell', default='lstm', help='cell of the sizes table')
  parser.add_argument('--cells', default='gru,rnn_tanh', help='cells of the fused table')
  parser.add_argument('--fused_shapes', default='64x32x64,256x128x16',
                      help='H x T x P of the fused table')
  parser.add_argument('--rounds', type=int, default=5,
                      help='alternating timed rounds of the fused table')
  parser.add_argument('--w_members', default='1,8,64,256', help='P of the w table')
  parser.add_argument('--w_rounds', type=int, default=3,
                      help='turns of the torch loop and each population in the w table')
  parser.add_argument('--loop_members', type=int, default=8)
  parser.add_argument('--threads', type=int, default=0,
                      help='torch threads (0: one per core)')
  parser.add_argument('--cpu_devices', type=int, default=0,
                      help='rnnjax CPU devices (0: the engine default)')
  parser.add_argument('--group_size', type=int, default=0,
                      help='rnnjax members per vmap group (0: the engine default)')
  parser.add_argument('--no_torch', action='store_true')
  parser.add_argument('--out', default='', help='also append the JSON lines here')
  parser.add_argument('--smoke', action='store_true',
                      help='tiny: W table at P=4 and one 16x8 size at P=4, 3 steps')
  parser.add_argument('--child', default='', help=argparse.SUPPRESS)
  parser.add_argument('--plain', action='store_true', help=argparse.SUPPRESS)
  parser.add_argument('--hidden', type=int, default=W[0], help=argparse.SUPPRESS)
  parser.add_argument('--seq_len', type=int, default=W[1], help=argparse.SUPPRESS)
  parser.add_argument('--p', type=int, default=16, help=argparse.SUPPRESS)
  return parser


def main():
  parser = _parser()
  args = parser.parse_args()
  args.threads = args.threads or os.cpu_count() or 1
  if args.child:
    return CHILDREN[args.child](args)
  if args.smoke:
    args.w_members, args.loop_members, args.members, args.sizes = '4', 2, '4', '16x8'
    args.w_rounds = 2
    args.fused_shapes, args.rounds = '16x8x4', 2
    args.steps = args.steps or 3
  tables = [t for t in args.tables.split(',') if t]
  unknown = set(tables) - set(TABLES)
  if unknown:
    parser.error(f'--tables: unknown {sorted(unknown)}; known: {", ".join(TABLES)}')
  looped = sorted(set(tables) & TORCH_TABLES)
  if looped and not args.no_torch and importlib.util.find_spec('torch') is None:
    # Said before any timing, not as a child's traceback after minutes of them.
    parser.exit(2, f'error: --no_torch: torch is not installed for the torch loop of the '
                f'tables {", ".join(looped)} (pip install -e ".[bench]"); pass --no_torch '
                'to time rnnjax alone\n')
  described = machine()
  for name in tables:
    run = argparse.Namespace(**{**vars(args), 'steps': args.steps or DEFAULT_STEPS[name]})
    rows = TABLE_ROWS[name](run)
    for row in rows:
      line = json.dumps({**row, 'machine': described})
      print(line, flush=True)
      if args.out:
        with open(args.out, 'a', encoding='utf-8') as f:
          f.write(line + '\n')


if __name__ == '__main__':
  main()
