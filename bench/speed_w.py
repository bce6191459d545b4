"""bench.speed's w and plain tables: workload W (LSTM H=64, T=32, B=32) in one process,
the rnnjax population against the torch.nn.LSTM loop (bench/population.py's measurement)."""

import numpy as np

from bench import speed_child
from bench.speed_child import B, W


def child_w(args):
  """Workload W in one process, as bench/population.py measures it; for each P the
  torch loop and the population take turns (`--w_rounds` rounds), so that both meet
  the same moments of a VM whose speed drifts, and the ratio is the median of the
  rounds' ratios."""
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  if not args.plain:
    sharding.configure_cpu_devices(args.cpu_devices)
  from bench import population  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  data = population.make_data()
  loop_ms = None if args.plain else population.time_member_loop(args.loop_members,
                                                                args.steps, data)
  _, lr, dropout = population.hparams(args.loop_members)
  def torch_ms():  # Imported here: --no_torch runs without torch installed.
    from bench import torch_loop  # pylint: disable=g-import-not-at-top
    return torch_loop.train_torch_loop(list(lr), list(dropout),
                                       num_steps=args.steps)['steady_ms_per_member_step']
  peak = speed_child.matmul_gflops()
  for p in [int(v) for v in args.w_members.split(',')]:
    compile_s, run = population.population_timer(
        p, args.steps, data, p if args.plain else args.group_size, fused=not args.plain)
    rounds = [(None if args.no_torch else torch_ms(), run()) for _ in range(args.w_rounds)]
    ms = float(np.median([j for _, j in rounds]))
    torch_ms_median = None if args.no_torch else float(np.median([t for t, _ in rounds]))
    rate = population.flops_per_member_step() / (ms * 1e-3) / 1e9
    speed_child.row(members=p, devices=jax.device_count(), compile_s=compile_s,
                    ms_per_member_step=ms, torch_ms_per_member_step=torch_ms_median,
                    loop_ms_per_member_step=loop_ms,
                    speedup_vs_torch=torch_ms_median and float(
                        np.median([t / j for t, j in rounds])),
                    rounds=[[t, j] for t, j in rounds], fraction_of_matmul_peak=rate / peak)


def table_w(args, plain=False):
  """Rows of the w table (the plain table with `plain`), from one child process."""
  common = [f'--steps={args.steps}', f'--loop_members={args.loop_members}',
            f'--w_rounds={args.w_rounds}',
            f'--cpu_devices={args.cpu_devices}', f'--group_size={args.group_size}']
  if plain:
    common += ['--plain', '--w_members=64']
  else:
    common += [f'--w_members={args.w_members}']
  if args.no_torch:
    common.append('--no_torch')
  _, rows = speed_child.run(['--child=w', *common])
  for r in rows:
    yield dict(table='plain' if plain else 'w', cell='lstm', hidden=W[0], seq_len=W[1],
               batch=B, steps=args.steps, loop_members=args.loop_members, **r)
