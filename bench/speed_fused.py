"""bench.speed's fused table: the population's training chunk with the fused layer
(fused.py) against autodiff of the cell's scan, in one process per cell and shape."""

import os
import time

import numpy as np

from bench import speed_child
from bench import speed_sizes
from bench.speed_child import B


def child_fused(args):
  """One process: the population's chunk with the fused layer and with autodiff of the
  cell's scan, same members, data and devices, timed in alternating rounds."""
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(args.cpu_devices)
  import jax  # pylint: disable=g-import-not-at-top
  from bench import scaling  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  mesh, hp, data, key = speed_sizes.population_inputs(args)
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
  speed_child.row(
      **{f'{name}_ms_{stat}': float(f(v)) for name, v in ms.items()
         for stat, f in (('min', np.min), ('median', np.median))},
      **{f'{name}_first_call_s': s for name, s in compile_s.items()},
      autodiff_over_fused_min=float(ms['autodiff'].min() / ms['fused'].min()),
      autodiff_over_fused_median=float(np.median(ms['autodiff']) / np.median(ms['fused'])),
      cpu_devices=mesh.size, group_size=sharding.group_size(
          local, args.group_size, pop.activation_bytes(cfg, args.seq_len)),
      load_average_end=os.getloadavg())


def table_fused(args):
  """Rows of the fused table: one child process per cell in --cells and H x T x P in
  --fused_shapes."""
  for cell in args.cells.split(','):
    for shape in args.fused_shapes.split(','):
      hidden, seq_len, p = (int(v) for v in shape.split('x'))
      _, rows = speed_child.run(['--child=fused', f'--cell={cell}', f'--hidden={hidden}',
                                 f'--seq_len={seq_len}', f'--p={p}', f'--steps={args.steps}',
                                 f'--rounds={args.rounds}',
                                 f'--cpu_devices={args.cpu_devices}',
                                 f'--group_size={args.group_size}'])
      yield dict(table='fused', cell=cell, hidden=hidden, seq_len=seq_len, batch=B,
                 members=p, steps=args.steps, rounds=args.rounds, **rows[0])
