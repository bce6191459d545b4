"""Throughput against population size on a CPU, with 1 device and with 4 CPU devices.

Workload W: 1-layer LSTM, H=64, T=32, B=32, input 1, Adam, per-member learning rate
and dropout (as bench/population.py). For every device count a child process is started
(the count is fixed when JAX starts), builds the population mesh over its devices, pads
P to a multiple of them with dead members (as the sweep does), and times
`population_chunk_fn`. It prints a Markdown table; member-steps/s counts the P real
members only.

  python -m bench.scaling --members=8,64,256 --devices=1,4 --steps=100   # minutes
  python -m bench.scaling --smoke                                        # ~20 s

The helpers (workload, data, FLOP count, timing) are shared with bench/gpu.py.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H, T, B, I = 64, 32, 32, 1


def flops_per_member_step(hidden=H, seq_len=T, batch=B, inputs=I):
  """LSTM training FLOPs of one member-step: 2*B*T*4H*(H+I) for the gate matmuls of the
  forward pass, times 3 (the backward pass does about twice the forward's work).
  Gate arithmetic, the readout and the optimizer update are not counted."""
  return 3 * 2 * batch * seq_len * 4 * hidden * (hidden + inputs)


def flops_per_eval(num_windows, hidden=H, seq_len=T, inputs=I):
  """Forward FLOPs of one member's validation pass (once per chunk)."""
  return 2 * num_windows * seq_len * 4 * hidden * (hidden + inputs)


def config(hidden=H, batch=B, steps=100, cell='lstm', fused=True):
  """The training config of workload W (sequence length comes from the data); `cell` and
  `fused` as in model.ModelConfig."""
  from rnnjax.engine import model  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  return pop.TrainConfig(model=model.ModelConfig(cell, I, hidden, 1, 1, fused=fused),
                         optimizer='adam', batch_size=batch, steps_per_chunk=steps)


def make_data(seq_len=T, num_train=1024, num_val=64, seed=0):
  """Host arrays in the engine/tasks/ forecast layout: y is a scaled sum of x."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(num_train, seq_len, I)).astype(np.float32)
  y = (x.sum(axis=1, keepdims=True) / np.sqrt(seq_len)).astype(np.float32)
  return {'train': {'x': x, 'y': y},
          'val': {'x': x[:num_val], 'y': y[:num_val], 'mean': np.zeros(1, np.float32),
                  'std': np.ones(1, np.float32)}}


def make_hparams(num_members, padded, hidden=H):
  """`num_members` real members, then dead copies of member 0 (uids -1, -2, ...)."""
  from rnnjax.search import hparams  # pylint: disable=g-import-not-at-top
  lr = np.geomspace(1e-3, 1e-2, max(num_members, 2))[:num_members]
  dropout = np.resize([0.0, 0.1, 0.2], num_members)
  values = [hparams.member_values(hidden_size=hidden, learning_rate=lr[i],
                                  dropout=dropout[i], clip_norm=0.0)
            for i in range(num_members)]
  return hparams.stack(values, range(num_members), padded, num_layers=1)


def time_chunks(cfg, num_members, host_data, *, group_size=0, repeats=2):
  """Times one population on every device: {'padded', 'compile_s', 'chunk_s'}.

  compile_s is the first call's time less a steady call's (the chunk program only;
  initialisation is compiled and run before). chunk_s is the best of `repeats` calls.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from jax.sharding import NamedSharding  # pylint: disable=g-import-not-at-top
  from jax.sharding import PartitionSpec  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import distributed  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import population as pop  # pylint: disable=g-import-not-at-top
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  from bench import population as bench_population  # pylint: disable=g-import-not-at-top
  mesh = sharding.population_mesh()
  padded = sharding.padded_size(num_members, mesh)
  replicated = NamedSharding(mesh, PartitionSpec())
  hp = distributed.put(make_hparams(num_members, padded, cfg.model.hidden_size),
                       sharding.members_sharding(mesh))
  data = distributed.put(host_data, replicated)
  key = distributed.put(jax.random.key(0), replicated)
  state = jax.block_until_ready(pop.population_init_fn(cfg, mesh)(hp, key))
  chunk = pop.population_chunk_fn(cfg, mesh, group_size)
  first, best = bench_population.time_chunks(chunk, state, hp, data, key, repeats)
  return {'padded': padded, 'compile_s': max(first - best, 0.0), 'chunk_s': best}


def child(args):
  """Runs in a process of its own: one device count, every P; JSON lines on stdout."""
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(args.child_devices)
  import jax  # pylint: disable=g-import-not-at-top
  assert jax.device_count() == args.child_devices, jax.devices()
  cfg = config(args.hidden, args.batch, args.steps)
  data = make_data(args.seq_len, num_train=args.num_train)
  for p in _ints(args.members):
    row = time_chunks(cfg, p, data, group_size=args.group_size, repeats=args.repeats)
    row.update(members=p, devices=args.child_devices,
               member_steps_per_s=p * args.steps / row['chunk_s'])
    print('ROW ' + json.dumps(row), flush=True)


def table(rows, steps) -> str:
  lines = [f'| P | devices | padded P | compile s | steady ms per chunk ({steps} steps) '
           '| member-steps/s |', '|---|---|---|---|---|---|']
  for r in rows:
    lines.append(f"| {r['members']} | {r['devices']} | {r['padded']} | "
                 f"{r['compile_s']:.1f} | {r['chunk_s'] * 1e3:.1f} | "
                 f"{r['member_steps_per_s']:.0f} |")
  return '\n'.join(lines)


def _ints(text):
  return [int(v) for v in text.split(',') if v]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--members', default='8,64,256', help='population sizes P')
  parser.add_argument('--devices', default='1,4', help='CPU device counts, one child each')
  parser.add_argument('--steps', type=int, default=100, help='training steps per chunk')
  parser.add_argument('--repeats', type=int, default=2, help='timed chunks (best kept)')
  parser.add_argument('--group_size', type=int, default=0,
                      help='members per vmap group on a device (0: the engine default)')
  parser.add_argument('--hidden', type=int, default=H)
  parser.add_argument('--seq_len', type=int, default=T)
  parser.add_argument('--batch', type=int, default=B)
  parser.add_argument('--num_train', type=int, default=1024)
  parser.add_argument('--smoke', action='store_true',
                      help='tiny shapes, P=4, 5 steps: checks the script in ~20 s')
  parser.add_argument('--child_devices', type=int, default=0, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.smoke:
    args.members, args.steps, args.repeats = '4', 5, 1
    args.hidden, args.seq_len, args.batch, args.num_train = 8, 4, 4, 64
  if args.child_devices:
    return child(args)

  import platform  # pylint: disable=g-import-not-at-top
  print(f'machine: {platform.machine()}, {os.cpu_count()} cores; workload: LSTM '
        f'H={args.hidden}, T={args.seq_len}, B={args.batch}; {args.steps} steps per chunk')
  rows = []
  forwarded = [a for a in sys.argv[1:] if not a.startswith('--devices')]
  for n in _ints(args.devices):
    env = {**os.environ, 'PYTHONPATH': ROOT}
    env.pop('JAX_NUM_CPU_DEVICES', None)
    proc = subprocess.run([sys.executable, '-m', 'bench.scaling', *forwarded,
                           f'--child_devices={n}'], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
      sys.exit(f'child with {n} device(s) failed:\n{proc.stderr[-4000:]}')
    rows += [json.loads(line[4:]) for line in proc.stdout.splitlines()
             if line.startswith('ROW ')]
  rows.sort(key=lambda r: (r['members'], r['devices']))
  print(table(rows, args.steps))


if __name__ == '__main__':
  main()
