"""Host overhead of a sweep against its device time, as the population grows.

A tiny model (GRU, H=4, B=4, lookback 4, shampoo_sales), random search over the
learning rate with --num_members=P, 2 chunks of `--steps_per_chunk` steps, run through
`rnnjax.run.sweep.run_sweep` as a user's sweep runs (every file written). The compiled
programs are timed by wrapping the population's programs (`population.population_*_fn`:
init, chunk, eval, outputs; each call blocked until its results are ready): that is the
device time, compiles included; everything else is host time: planning (members,
plan.json), stacking the hyperparameters, records, metrics files, TensorBoard,
checkpoints, the summary. A P=8 sweep first pays the one-time imports.

  python -m bench.host_overhead --members=64,1024,16384,100000

Prints one row per P: wall, device, host, host share, and the host time of the steady
chunk (the second: no compile), with what each chunk's records cost on disk.
"""

import argparse
import os
import platform
import shutil
import tempfile
import time

import jax

from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.run import sweep


_PROGRAMS = ('population_init_fn', 'population_chunk_fn', 'population_eval_fn',
             'population_outputs_fn')


class _Timer:
  """Wraps a compiled program so that each call is timed to its results' readiness."""

  def __init__(self):
    self.total = 0.0
    self.calls = []

  def wrap(self, make):
    def made(*args, **kwargs):
      fn = make(*args, **kwargs)

      def timed(*a, **k):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*a, **k))
        self.calls.append(time.perf_counter() - start)
        self.total += self.calls[-1]
        return out
      return timed
    return made


def _du(path):
  total = 0
  for root, _, files in os.walk(path):
    total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
  return total


def run(num_members: int, steps_per_chunk: int, workdir: str,
        classical_baselines: bool = True) -> dict:
  spec = sweep.SweepSpec(dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                         cell='gru', hidden_size='4', batch_size='4',
                         learning_rate='loguniform(1e-3,1e-1)', search='random',
                         num_members=num_members, train_steps=2 * steps_per_chunk,
                         eval_every=steps_per_chunk, ensemble='single',
                         classical_baselines=classical_baselines)
  timer = _Timer()
  programs = {name: getattr(pop, name) for name in _PROGRAMS}
  for name, make in programs.items():
    setattr(pop, name, timer.wrap(make))
  chunk_ends = []
  log = lambda line: chunk_ends.append(time.perf_counter()) if line.startswith('chunk ') else None
  try:
    start = time.perf_counter()
    sweep.run_sweep(spec, workdir, log=log)
    wall = time.perf_counter() - start
  finally:
    for name, make in programs.items():
      setattr(pop, name, make)
  # calls: init, chunk 1 (compiles), chunk 2 (steady), then the summary's programs.
  steady_device = timer.calls[2] if len(timer.calls) > 2 else float('nan')
  steady_wall = chunk_ends[1] - chunk_ends[0] if len(chunk_ends) > 1 else float('nan')
  return {'P': num_members, 'wall_s': wall, 'device_s': timer.total,
          'host_s': wall - timer.total, 'host_share': (wall - timer.total) / wall,
          'chunk2_device_s': steady_device,
          # Between the two chunks' progress lines: chunk 1's records, TensorBoard and
          # checkpoint, then chunk 2's program and its records' making.
          'chunk2_host_s': steady_wall - steady_device,
          'workdir_mb': _du(workdir) / 2**20}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--members', default='64,1024,16384,100000')
  parser.add_argument('--steps_per_chunk', type=int, default=5)
  parser.add_argument('--cpu_devices', type=int, default=1)
  parser.add_argument('--keep', action='store_true', help='keep the work directories')
  parser.add_argument('--no_classical', action='store_true',
                      help='--classical_baselines=false (no ETS/ARIMA fits: a per-sweep cost)')
  args = parser.parse_args()
  sharding.configure_cpu_devices(args.cpu_devices)
  print(f'# {platform.node()}, {os.cpu_count()} cores, jax {jax.__version__}, '
        f'{jax.devices()[0].platform} x {len(jax.devices())}, '
        f'load {os.getloadavg()[0]:.1f}')
  print('| P | wall s | device s | host s | host share | chunk 2 device s | '
        'chunk 2 host s | work dir MB |')
  print('|---|---|---|---|---|---|---|---|')
  with tempfile.TemporaryDirectory() as root:
    run(8, args.steps_per_chunk, os.path.join(root, 'wd'))  # Imports, once.
  for p in (int(x) for x in args.members.split(',')):
    root = tempfile.mkdtemp(prefix=f'host-overhead-{p}-')
    try:
      r = run(p, args.steps_per_chunk, os.path.join(root, 'wd'), not args.no_classical)
    finally:
      if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print(f'| {p} | {r["wall_s"]:.1f} | {r["device_s"]:.1f} | {r["host_s"]:.1f} | '
          f'{r["host_share"]:.0%} | {r["chunk2_device_s"]:.2f} | {r["chunk2_host_s"]:.2f} | '
          f'{r["workdir_mb"]:.1f} |', flush=True)


if __name__ == '__main__':
  main()
