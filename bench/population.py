"""Speed: one rnnjax population against training the same members one by one.

Workload W: 1-layer LSTM, H=64, T=32, B=32, input 1, Adam, per-member learning rate and
dropout, 200 steps. For each P it reports, side by side in one process:
  (a) rnnjax population: compile time and steady-state ms per member-step;
  (b) a Python loop over members with the same rnnjax step function (P=1 population);
  (c) torch.nn.LSTM models trained one after another (bench/torch_loop.py);
plus the fraction of the machine's large-matmul rate that (a) reaches.

  python -m bench.population --members=1,8,64,256 --steps=200   # (c) needs ".[bench]"
  python -m bench.population --members=1,8,64,256 --steps=200 --no_torch
"""

import argparse
import importlib.util
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.search import hparams as hparams_lib

H, T, B, I = 64, 32, 32, 1


def flops_per_member_step(hidden=H, seq_len=T, batch=B, inputs=I, gates=4):
  forward = 2 * batch * seq_len * gates * hidden * (hidden + inputs)
  return 3 * forward  # Backward costs about twice the forward.


def make_data(n=1024, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, T, I)).astype(np.float32)
  y = (x.sum(axis=1, keepdims=True) / np.sqrt(T)).astype(np.float32)
  stats = {'mean': np.zeros(1, np.float32), 'std': np.ones(1, np.float32)}
  data = {'train': {'x': x, 'y': y, **stats}, 'val': {'x': x[:64], 'y': y[:64], **stats}}
  return jax.tree.map(jnp.asarray, data)


def hparams(p, uid0=0):
  lr = np.geomspace(1e-3, 1e-2, max(p, 2))[:p]
  dropout = np.resize([0.0, 0.1, 0.2], p)
  values = [hparams_lib.member_values(hidden_size=H, learning_rate=lr[i], dropout=dropout[i],
                                      clip_norm=0.0) for i in range(p)]
  hp = hparams_lib.stack(values, range(uid0, uid0 + p), p, num_layers=1)
  return jax.tree.map(jnp.asarray, hp), lr, dropout


def config(steps, cell='lstm', fused=True):
  return pop.TrainConfig(model=model.ModelConfig(cell, I, H, 1, 1, fused=fused),
                         optimizer='adam', batch_size=B, steps_per_chunk=steps)


def time_population(p, steps, data, group_size=0, fused=True, repeats=2):
  """(compile_s, steady ms per member-step: the fastest of `repeats` chunks) for one
  population of p members."""
  compile_s, run = population_timer(p, steps, data, group_size, fused)
  return compile_s, min(run() for _ in range(repeats))


def population_timer(p, steps, data, group_size=0, fused=True):
  """(compile_s, run) for one population of p members, compiled ahead of time: each
  run() trains it one chunk further and returns that chunk's ms per member-step."""
  cfg, (hp, _, _), key = config(steps, fused=fused), hparams(p), jax.random.key(0)
  devices = jax.devices()
  mesh = sharding.population_mesh(devices if p % len(devices) == 0 else devices[:1])
  state = [jax.block_until_ready(pop.population_init_fn(cfg, mesh)(hp, key))]
  t0 = time.perf_counter()
  chunk = pop.population_chunk_fn(cfg, mesh, group_size).lower(
      state[0], hp, data, key).compile()
  compile_s = time.perf_counter() - t0

  def run():
    t0 = time.perf_counter()
    state[0], _ = jax.block_until_ready(chunk(state[0], hp, data, key))
    return (time.perf_counter() - t0) / (p * steps) * 1e3
  return compile_s, run


def time_chunks(chunk, state, hp, data, key, repeats):
  """Seconds of the first call (compile included) and of the fastest of `repeats`."""
  t0 = time.perf_counter()
  state, _ = jax.block_until_ready(chunk(state, hp, data, key))
  first = time.perf_counter() - t0
  best = np.inf
  for _ in range(repeats):
    t0 = time.perf_counter()
    state, _ = jax.block_until_ready(chunk(state, hp, data, key))
    best = min(best, time.perf_counter() - t0)
  return first, best


def time_member_loop(p, steps, data):
  """Steady ms per member-step when members train one after another (P=1 program)."""
  cfg, key = config(steps), jax.random.key(0)
  one_device = sharding.population_mesh(jax.devices()[:1])
  chunk = pop.population_chunk_fn(cfg, one_device)
  init = pop.population_init_fn(cfg, one_device)
  hp_all, _, _ = hparams(p)
  member = lambda i: jax.tree.map(lambda a: a[i:i + 1], hp_all)
  jax.block_until_ready(chunk(init(member(0), key), member(0), data, key))  # Compile.
  t0 = time.perf_counter()
  for i in range(p):
    jax.block_until_ready(chunk(init(member(i), key), member(i), data, key))
  return (time.perf_counter() - t0) / (p * steps) * 1e3


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--members', default='1,8,64,256')
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--loop_members', type=int, default=8,
                      help='members timed in the one-by-one loops (b) and (c)')
  parser.add_argument('--no_torch', action='store_true')
  parser.add_argument('--group_size', type=int, default=0,
                      help='members per vmap group on a device (0: the engine default)')
  parser.add_argument('--plain', action='store_true',
                      help="the straightforward prototype: JAX's default single CPU "
                      'device, one vmap over all members, autodiff LSTM')
  args = parser.parse_args()
  if not args.no_torch and importlib.util.find_spec('torch') is None:
    # Said before minutes of (a) and (b), not as a traceback after them.
    parser.exit(2, 'error: --no_torch: torch is not installed for the loop (c) (pip '
                'install -e ".[bench]"); pass --no_torch to time (a) and (b) alone\n')
  if not args.plain:
    sharding.configure_cpu_devices()
  from bench import speed_child  # pylint: disable=g-import-not-at-top
  peak = speed_child.matmul_gflops()
  data = make_data()
  print(f'machine: {platform.machine()}, {os.cpu_count()} cores, '
        f'{jax.device_count()} {jax.default_backend()} device(s); jax {jax.__version__}; '
        f'large float32 matmul {peak:.0f} GFLOP/s')
  loop_ms = time_member_loop(args.loop_members, args.steps, data)
  print(f'(b) rnnjax one member at a time: {loop_ms:.3f} ms/member-step')
  torch_ms = np.nan
  if not args.no_torch:
    from bench import torch_loop  # pylint: disable=g-import-not-at-top
    _, lr, dropout = hparams(args.loop_members)
    res = torch_loop.train_torch_loop(list(lr), list(dropout), num_steps=args.steps)
    torch_ms = res['steady_ms_per_member_step']
    print(f'(c) torch.nn.LSTM loop: {torch_ms:.3f} ms/member-step')
  for p in [int(v) for v in args.members.split(',')]:
    group = p if args.plain else args.group_size
    compile_s, ms = time_population(p, args.steps, data, group, fused=not args.plain)
    rate = flops_per_member_step() / (ms * 1e-3) / 1e9
    print(f'(a) population P={p:4d}: compile {compile_s:5.1f} s, {ms:.3f} ms/member-step, '
          f'{1e3 / ms:7.0f} member-steps/s, {rate:.0f} GFLOP/s = {rate / peak:.1%} of '
          'matmul peak; ' + ('' if args.no_torch else f'vs torch loop {torch_ms / ms:.2f}x, ')
          + f'vs rnnjax loop {loop_ms / ms:.2f}x')


if __name__ == '__main__':
  main()
