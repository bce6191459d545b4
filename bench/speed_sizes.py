"""bench.speed's sizes table: whole processes, the torch loop's and the rnnjax
population's, one after the other for each shape and P."""

import time

from bench import speed_child
from bench.speed_child import B, SIZES


def child_torch(args):
  """One whole torch-loop process: P LSTMs one after another."""
  from bench import torch_loop  # pylint: disable=g-import-not-at-top
  lrs, dropouts = torch_loop.population_hparams(args.p)
  res = torch_loop.train_torch_loop(lrs, dropouts, hidden_size=args.hidden,
                                    seq_len=args.seq_len, batch_size=B,
                                    num_steps=args.steps, threads=args.threads,
                                    cell=args.cell)
  speed_child.row(total_s=res['total_s'], ms_per_member_step=res['steady_ms_per_member_step'])


def population_inputs(args):
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
  mesh, hp, data, key = population_inputs(args)
  with compile_cache.measure() as compiles:
    state = jax.block_until_ready(pop.population_init_fn(cfg, mesh)(hp, key))
    chunk = pop.population_chunk_fn(cfg, mesh, args.group_size)
    jax.block_until_ready(chunk(state, hp, data, key))
  total = time.perf_counter() - start
  local = hp.uid.shape[0] // mesh.size  # Padded to the devices.
  speed_child.row(total_s=total, compile_s=compiles.seconds,
                  ms_per_member_step=(total - compiles.seconds) / (args.p * args.steps) * 1e3,
                  cpu_devices=mesh.size, group_size=sharding.group_size(
                      local, args.group_size, pop.activation_bytes(cfg, args.seq_len)))


def table_sizes(args):
  """Rows of the sizes table: for each H x T and P, a torch and an rnnjax process (which
  goes first alternates from row to row)."""
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
        wall, rows = speed_child.run(procs[name])
        got[name] = {'process_s': wall, **rows[0]}
      row = dict(table='sizes', cell=args.cell, hidden=hidden, seq_len=seq_len, batch=B,
                 members=p, steps=args.steps, first=order[0], **{
                     f'{name}_{k}': v for name, r in got.items() for k, v in r.items()})
      if 'torch' in got:
        row['speedup_process'] = got['torch']['process_s'] / got['rnnjax']['process_s']
        row['speedup_steady'] = (got['torch']['ms_per_member_step']
                                 / got['rnnjax']['ms_per_member_step'])
      yield row
