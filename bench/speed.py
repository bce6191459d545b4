"""Every row of BUILD_NOTES.md's speed tables, one JSON line each, with the machine.

  PYTHONPATH=. python -m bench.speed                          # every table (hours on 2 cores)
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

Every line carries the machine's description (CPU, cores, memory, load average when the
run started, jax / torch / numpy versions, numpy's large float32 matmul rate), so figures
from different VMs compare as ratios. The torch rows need torch (`pip install -e .[bench]`).
Lines go to stdout and, with --out, are appended to a file.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ('w', 'plain', 'scaling', 'sizes', 'gpu', 'fused')
W = (64, 32)
SIZES = (W,) + tuple((h, t) for h in (128, 256, 512) for t in (64, 128))
B = 32


def machine() -> dict:
  """What the figures were measured on."""
  from bench import torch_loop  # pylint: disable=g-import-not-at-top
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
          'matmul_gflops': round(torch_loop.matmul_gflops(), 1), 'versions': versions,
          'git': _git_head()}


def _git_head():
  try:
    return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, text=True,
                          capture_output=True, check=False).stdout.strip() or None
  except OSError:
    return None


def _child(args_list, timeout=None):
  """(wall seconds, ROW dicts) of `python -m bench.speed --child=...` in a fresh process."""
  env = {**os.environ, 'PYTHONPATH': os.pathsep.join(
      p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)}
  env.pop('JAX_NUM_CPU_DEVICES', None)
  start = time.perf_counter()
  proc = subprocess.run([sys.executable, '-m', 'bench.speed', *args_list], cwd=ROOT, env=env,
                        capture_output=True, text=True, check=False, timeout=timeout)
  wall = time.perf_counter() - start
  if proc.returncode:
    raise RuntimeError(f'{" ".join(args_list)} failed:\n{proc.stderr[-3000:]}')
  return wall, [json.loads(l[4:]) for l in proc.stdout.splitlines() if l.startswith('ROW ')]


def _row(**row):
  print('ROW ' + json.dumps(row), flush=True)


# ---- children: each runs in a process of its own ----

def child_torch(args):
  """One whole torch-loop process: P LSTMs one after another."""
  from bench import torch_loop  # pylint: disable=g-import-not-at-top
  lrs, dropouts = torch_loop.population_hparams(args.p)
  res = torch_loop.train_torch_loop(lrs, dropouts, hidden_size=args.hidden,
                                    seq_len=args.seq_len, batch_size=B,
                                    num_steps=args.steps, threads=args.threads,
                                    cell=args.cell)
  _row(total_s=res['total_s'], ms_per_member_step=res['steady_ms_per_member_step'])


def _population_inputs(args):
  """(mesh, hp, data, key) of the sizes and fused tables' population, on the devices."""
  import jax  # pylint: disable=g-import-not-at-top
  from bench import scaling  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import distributed  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  mesh = sharding.population_mesh()
  padded = sharding.padded_size(args.p, mesh)
  hp = distributed.put(scaling.make_hparams(args.p, padded, args.hidden),
                       sharding.members_sharding(mesh))
  data = distributed.put(scaling.make_data(args.seq_len), sharding.replicated(mesh))
  key = distributed.put(jax.random.key(0), sharding.replicated(mesh))
  return mesh, hp, data, key


def child_rnnjax(args):
  """One whole rnnjax process: initialise P members, train them one chunk of --steps
  steps (compile included, counted apart), as the sweep does."""
  from rnnjax.engine import compile_cache  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(args.cpu_devices)
  import jax  # pylint: disable=g-import-not-at-top
  from bench import scaling  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  cfg = scaling.config(args.hidden, B, args.steps, cell=args.cell)
  mesh, hp, data, key = _population_inputs(args)
  with compile_cache.measure() as compiles:
    state = jax.block_until_ready(pop.population_init_fn(cfg, mesh)(hp, key))
    chunk = pop.population_chunk_fn(cfg, mesh, args.group_size)
    jax.block_until_ready(chunk(state, hp, data, key))
  total = time.perf_counter() - start
  local = hp.uid.shape[0] // mesh.size  # Padded to the devices.
  _row(total_s=total, compile_s=compiles.seconds,
       ms_per_member_step=(total - compiles.seconds) / (args.p * args.steps) * 1e3,
       cpu_devices=mesh.size, group_size=sharding.group_size(
           local, args.group_size, pop.activation_bytes(cfg, args.seq_len)))


def child_fused(args):
  """One process: the population's chunk with the fused layer and with autodiff of the
  cell's scan, same members, data and devices, timed in alternating rounds."""
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(args.cpu_devices)
  import jax  # pylint: disable=g-import-not-at-top
  from bench import scaling  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  mesh, hp, data, key = _population_inputs(args)
  runs, compile_s, seconds = {}, {}, {'fused': [], 'autodiff': []}
  for name in seconds:
    cfg = scaling.config(args.hidden, B, args.steps, cell=args.cell, fused=name == 'fused')
    state = jax.block_until_ready(pop.population_init_fn(cfg, mesh)(hp, key))
    chunk = pop.population_chunk_fn(cfg, mesh, args.group_size)
    start = time.perf_counter()
    state, _ = jax.block_until_ready(chunk(state, hp, data, key))  # Donates its state.
    compile_s[name] = time.perf_counter() - start
    runs[name] = (chunk, state)
  for r in range(args.rounds):
    for name in (('fused', 'autodiff') if r % 2 == 0 else ('autodiff', 'fused')):
      chunk, state = runs[name]
      start = time.perf_counter()
      state, _ = jax.block_until_ready(chunk(state, hp, data, key))
      seconds[name].append(time.perf_counter() - start)
      runs[name] = (chunk, state)
  ms = {name: np.asarray(s) / (args.p * args.steps) * 1e3 for name, s in seconds.items()}
  local = hp.uid.shape[0] // mesh.size  # Padded to the devices.
  cfg = scaling.config(args.hidden, B, args.steps, cell=args.cell)
  _row(**{f'{name}_ms_{stat}': float(f(v)) for name, v in ms.items()
          for stat, f in (('min', np.min), ('median', np.median))},
       **{f'{name}_first_call_s': s for name, s in compile_s.items()},
       autodiff_over_fused_min=float(ms['autodiff'].min() / ms['fused'].min()),
       autodiff_over_fused_median=float(np.median(ms['autodiff']) / np.median(ms['fused'])),
       cpu_devices=mesh.size, group_size=sharding.group_size(
           local, args.group_size, pop.activation_bytes(cfg, args.seq_len)),
       load_average_end=os.getloadavg())


def child_w(args):
  """Workload W in one process, as bench/population.py measures it; for each P the
  torch loop and the population take turns (`--w_rounds` rounds), so that both meet
  the same moments of a VM whose speed drifts, and the ratio is the median of the
  rounds' ratios."""
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  if not args.plain:
    sharding.configure_cpu_devices(args.cpu_devices)
  from bench import population  # pylint: disable=g-import-not-at-top
  from bench import torch_loop  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  data = population.make_data()
  loop_ms = None if args.plain else population.time_member_loop(args.loop_members,
                                                                args.steps, data)
  _, lr, dropout = population.hparams(args.loop_members)
  torch_ms = lambda: torch_loop.train_torch_loop(
      list(lr), list(dropout), num_steps=args.steps)['steady_ms_per_member_step']
  peak = torch_loop.matmul_gflops()
  for p in [int(v) for v in args.w_members.split(',')]:
    compile_s, run = population.population_timer(
        p, args.steps, data, p if args.plain else args.group_size, fused=not args.plain)
    rounds = [(None if args.no_torch else torch_ms(), run()) for _ in range(args.w_rounds)]
    ms = float(np.median([j for _, j in rounds]))
    torch_ms_median = None if args.no_torch else float(np.median([t for t, _ in rounds]))
    rate = population.flops_per_member_step() / (ms * 1e-3) / 1e9
    _row(members=p, devices=jax.device_count(), compile_s=compile_s,
         ms_per_member_step=ms, torch_ms_per_member_step=torch_ms_median,
         loop_ms_per_member_step=loop_ms,
         speedup_vs_torch=torch_ms_median and float(np.median([t / j for t, j in rounds])),
         rounds=[[t, j] for t, j in rounds], fraction_of_matmul_peak=rate / peak)


# ---- tables: run in the parent, one JSON line per row ----

def table_w(args, plain=False):
  common = [f'--steps={args.steps}', f'--loop_members={args.loop_members}',
            f'--w_rounds={args.w_rounds}',
            f'--cpu_devices={args.cpu_devices}', f'--group_size={args.group_size}']
  if plain:
    common += ['--plain', '--w_members=64']
  else:
    common += [f'--w_members={args.w_members}']
  if args.no_torch:
    common.append('--no_torch')
  _, rows = _child(['--child=w', *common])
  for r in rows:
    yield dict(table='plain' if plain else 'w', cell='lstm', hidden=W[0], seq_len=W[1],
               batch=B, steps=args.steps, loop_members=args.loop_members, **r)


def table_scaling(args):
  members = '4' if args.smoke else '8,64,256'
  for n in (1,) if args.smoke else (1, 2, 4):
    for r in _scaling_child(n, members, args):
      yield dict(table='scaling', cell='lstm', hidden=W[0], seq_len=W[1], batch=B,
                 steps=args.steps, **r)


def _scaling_child(devices, members, args):
  env = {**os.environ, 'PYTHONPATH': os.pathsep.join(
      p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)}
  env.pop('JAX_NUM_CPU_DEVICES', None)
  extra = ['--smoke'] if args.smoke else []
  proc = subprocess.run([sys.executable, '-m', 'bench.scaling', f'--members={members}',
                         f'--steps={args.steps}', f'--child_devices={devices}', *extra],
                        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
  if proc.returncode:
    raise RuntimeError(f'bench.scaling with {devices} devices failed:\n{proc.stderr[-3000:]}')
  return [json.loads(l[4:]) for l in proc.stdout.splitlines() if l.startswith('ROW ')]


def table_sizes(args):
  sizes = SIZES if not args.sizes else tuple(
      tuple(int(v) for v in s.split('x')) for s in args.sizes.split(','))
  n = 0
  for hidden, seq_len in sizes:
    for p in [int(v) for v in args.members.split(',')]:
      shape = [f'--hidden={hidden}', f'--seq_len={seq_len}', f'--p={p}',
               f'--steps={args.steps}']
      procs = {'torch': ['--child=torch', f'--threads={args.threads}', *shape],
               'rnnjax': ['--child=rnnjax', f'--cpu_devices={args.cpu_devices}',
                          f'--group_size={args.group_size}', *shape]}
      order = ('torch', 'rnnjax') if n % 2 == 0 else ('rnnjax', 'torch')
      n += 1
      got = {}
      for name in order:
        if name == 'torch' and args.no_torch:
          continue
        wall, rows = _child(procs[name])
        got[name] = {'process_s': wall, **rows[0]}
      row = dict(table='sizes', cell=args.cell, hidden=hidden, seq_len=seq_len, batch=B,
                 members=p, steps=args.steps, first=order[0], **{
                     f'{name}_{k}': v for name, r in got.items() for k, v in r.items()})
      if 'torch' in got:
        row['speedup_process'] = got['torch']['process_s'] / got['rnnjax']['process_s']
        row['speedup_steady'] = (got['torch']['ms_per_member_step']
                                 / got['rnnjax']['ms_per_member_step'])
      yield row


def table_fused(args):
  for cell in args.cells.split(','):
    for shape in args.fused_shapes.split(','):
      hidden, seq_len, p = (int(v) for v in shape.split('x'))
      _, rows = _child(['--child=fused', f'--cell={cell}', f'--hidden={hidden}',
                        f'--seq_len={seq_len}', f'--p={p}', f'--steps={args.steps}',
                        f'--rounds={args.rounds}', f'--cpu_devices={args.cpu_devices}',
                        f'--group_size={args.group_size}'])
      yield dict(table='fused', cell=cell, hidden=hidden, seq_len=seq_len, batch=B,
                 members=p, steps=args.steps, rounds=args.rounds, **rows[0])


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


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--tables', default=','.join(TABLES[:-1]))
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
  args = parser.parse_args()
  args.threads = args.threads or os.cpu_count() or 1
  if args.child:
    return {'torch': child_torch, 'rnnjax': child_rnnjax, 'w': child_w,
            'fused': child_fused}[args.child](args)
  if args.smoke:
    args.w_members, args.loop_members, args.members, args.sizes = '4', 2, '4', '16x8'
    args.w_rounds = 2
    args.fused_shapes, args.rounds = '16x8x4', 2
    args.steps = args.steps or 3
  defaults = {'w': 200, 'plain': 200, 'scaling': 100, 'sizes': 50, 'gpu': 0, 'fused': 10}
  described = machine()
  tables = [t for t in args.tables.split(',') if t]
  unknown = set(tables) - set(TABLES)
  if unknown:
    parser.error(f'--tables: unknown {sorted(unknown)}; known: {", ".join(TABLES)}')
  for name in tables:
    run = argparse.Namespace(**{**vars(args), 'steps': args.steps or defaults[name]})
    rows = {'w': lambda a: table_w(a), 'plain': lambda a: table_w(a, plain=True),
            'scaling': table_scaling, 'sizes': table_sizes, 'gpu': table_gpu,
            'fused': table_fused}[name](run)
    for row in rows:
      line = json.dumps({**row, 'machine': described})
      print(line, flush=True)
      if args.out:
        with open(args.out, 'a', encoding='utf-8') as f:
          f.write(line + '\n')


if __name__ == '__main__':
  main()
