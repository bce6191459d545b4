"""Population throughput on one GPU, against the card's own measured matmul rate.

One command, under 5 minutes on one GPU (`--budget_s` guards it; 110 s on one H200 with
jax 0.11.2, BUILD_NOTES session 14):

  pip install -U "jax[cuda13]"             # once, on the GPU machine ("jax[cuda12]"
                                           # for a CUDA 12 driver; README)
  python -m bench.gpu                      # writes $OUT/gpu_bench.json (else ./)
  bash bench/gpu_session.sh                # on a lent machine: this, then a flagfile end
                                           # to end and the engine's tests on the GPU
  python -m bench.gpu --smoke              # tiny shapes on the CPU, 30-50 s: checks it

Workloads (1-layer LSTM, input 1, Adam, per-member learning rate and dropout; data and
FLOP count from bench/scaling.py), each at P = 64, 256, 1024, 4096:
  W      H=64,  T=32,  B=32, 20 steps per chunk (bench/population.py's workload)
  large  H=256, T=128, B=32,  5 steps per chunk
  panel  H=64,  T=36,  B=128, 20 steps per chunk: the m1_monthly flagfile's global model
         over all 617 series (validation on every series per chunk)
All members of a device train in one vmap (`sharding.group_size` on a GPU). Per
configuration it reports the chunk program's compile time, the best steady time per
chunk, member-steps/s, achieved FLOP/s and its fraction of the card's dense matmul
rate, measured here with a large `jnp.dot` at the default precision the library runs
at (on NVIDIA GPUs XLA may run float32 dots as TF32 then: compare the HIGHEST and
bf16 rates printed beside it). A configuration is skipped, and the reason printed,
where the library's own memory estimate (`probe.estimate_bytes`) exceeds
`--memory_fraction` of the device's memory, or where the time left would not cover it
(predicted from the previous P, linearly); one that runs out of memory anyway is
reported as such.

What users do today, side by side (`--torch_members`, where torch sees a GPU): the same
shapes trained one model after another with torch.nn.LSTM (cuDNN) on the same GPU
(bench/torch_loop.py: its steady ms per member-step over members 2..N); the column
"x torch loop" is the population's member-steps/s over that loop's.

FLOPs per member-step: 3 * 2*B*T*4H*(H+1) (gate matmuls, forward and about twice that
backward), plus one forward pass over the 64 validation windows per chunk; gate
arithmetic, the readout and the optimizer are not counted, so the fraction is a lower
bound on how busy the arithmetic units are.
"""

import argparse
import json
import os
import platform
import time

import numpy as np

from bench import scaling

WORKLOADS = {  # name: (hidden, seq_len, batch, steps per chunk)
    'W': (64, 32, 32, 20),
    'large': (256, 128, 32, 5),
    # The m1_monthly flagfile's members (panel task): one global LSTM over all 617 series
    # of M1 monthly, lookback 36, horizon 18, robust window normalisation, MAE; each
    # chunk validates on every series.
    'panel': (64, 36, 128, 20),
}
SMOKE_WORKLOADS = {'W': (8, 4, 4, 3), 'large': (16, 8, 4, 2), 'panel': (4, 36, 4, 2)}
PANEL = ('m1_monthly', 18)  # The panel workload's data set and horizon.
NUM_VAL = 64


def matmul_rates(n: int) -> dict:
  """FLOP/s of an n x n x n `jnp.dot`: float32 at the default and HIGHEST precisions,
  and bfloat16 (best of 10 timed calls after warm-up)."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  rates = {}
  for name, dtype, precision in (('f32_default', jnp.float32, None),
                                 ('f32_highest', jnp.float32, jax.lax.Precision.HIGHEST),
                                 ('bf16', jnp.bfloat16, None)):
    ka, kb = jax.random.split(jax.random.key(0))
    a = jax.random.normal(ka, (n, n), dtype)
    b = jax.random.normal(kb, (n, n), dtype)
    dot = jax.jit(lambda a, b, p=precision: jnp.dot(a, b, precision=p))
    jax.block_until_ready(dot(a, b))
    best = np.inf
    for _ in range(10):
      t0 = time.perf_counter()
      jax.block_until_ready(dot(a, b))
      best = min(best, time.perf_counter() - t0)
    rates[name] = 2 * n**3 / best
  return rates


def device_memory_bytes(default_gb: float) -> float:
  import jax  # pylint: disable=g-import-not-at-top
  stats = jax.devices()[0].memory_stats() or {}
  return float(stats.get('bytes_limit') or default_gb * 2**30)


def peak_memory_bytes():
  import jax  # pylint: disable=g-import-not-at-top
  stats = jax.devices()[0].memory_stats() or {}
  return stats.get('peak_bytes_in_use')


def run_one(name, shape, p, args, peak_rate):
  """Times one configuration; returns its row (with `skipped` set on failure)."""
  import jax  # pylint: disable=g-import-not-at-top
  hidden, seq_len, batch, steps = shape
  cfg = scaling.config(hidden, batch, steps)
  data = scaling.make_data(seq_len, num_train=args.num_train, num_val=NUM_VAL)
  num_val = NUM_VAL
  if name == 'panel':
    cfg, data = panel_workload(hidden, seq_len, batch, steps)
    num_val = len(data['val']['x'])
  row = {'workload': name, 'hidden': hidden, 'seq_len': seq_len, 'batch': batch,
         'steps_per_chunk': steps, 'members': p}
  try:
    row.update(scaling.time_chunks(cfg, p, data, group_size=args.group_size,
                                   repeats=args.repeats))
  except jax.errors.JaxRuntimeError as e:
    if 'RESOURCE_EXHAUSTED' not in str(e):
      raise
    row['skipped'] = 'ran out of device memory'
    return row
  work = p * (steps * scaling.flops_per_member_step(hidden, seq_len, batch)
              + scaling.flops_per_eval(num_val, hidden, seq_len))
  row.update(member_steps_per_s=p * steps / row['chunk_s'],
             flops_per_s=work / row['chunk_s'], peak_bytes=peak_memory_bytes())
  row['fraction_of_matmul'] = row['flops_per_s'] / peak_rate
  return row


def panel_workload(hidden, seq_len, batch, steps):
  """(TrainConfig, host arrays) of the panel workload: the bundled PANEL's windows."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from rnnjax.data import task_data  # pylint: disable=g-import-not-at-top
  dataset, horizon = PANEL
  data = task_data.load(task='panel', dataset=dataset, lookback=seq_len, horizon=horizon,
                        classical_baselines=False)
  cfg = scaling.config(hidden, batch, steps)
  cfg = dataclasses.replace(cfg, task='panel', normalization='robust', loss='mae',
                            model=dataclasses.replace(cfg.model, output_size=horizon))
  return cfg, {s: data.arrays[s] for s in ('train', 'val')}


def plan_skip(shape, p, args, memory_bytes, previous, time_left):
  """Why this configuration would not fit (memory or time), or '' when it would.

  previous: the row of this workload's last configuration run (a smaller P), or None.
  """
  from rnnjax.search import probe  # pylint: disable=g-import-not-at-top
  hidden, seq_len, batch, steps = shape
  need = probe.estimate_bytes(scaling.config(hidden, batch, steps), seq_len) * p
  budget = args.memory_fraction * memory_bytes
  if need > budget:
    return (f'memory: estimated {_gib(need)} > {_gib(budget)} '
            f'({args.memory_fraction:.0%} of the device\'s)')
  if previous and 'skipped' in previous:
    return f'a smaller P was skipped ({previous["skipped"]})'
  if previous:
    chunk = previous['chunk_s'] * p / previous['members']
    predicted = previous['compile_s'] + (2 + args.repeats) * chunk
    if predicted > time_left:
      return f'time: about {predicted:.0f} s predicted, {time_left:.0f} s of the budget left'
  return ''


def torch_loop_ms(workloads, args) -> dict:
  """{workload: steady ms per member-step} of torch.nn.LSTM models trained one after
  another on the GPU, with the workload's shapes; {} (and why) without torch or a GPU."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    print('torch loop: torch is not installed')
    return {}
  device = 'cuda' if torch.cuda.is_available() else 'cpu' if args.smoke else ''
  if not device:
    print('torch loop: torch sees no GPU')
    return {}
  from bench import torch_loop  # pylint: disable=g-import-not-at-top
  lrs, dropouts = torch_loop.population_hparams(args.torch_members)
  out = {}
  for name in args.workloads.split(','):
    hidden, seq_len, batch, _ = workloads[name]
    res = torch_loop.train_torch_loop(
        lrs, dropouts, hidden_size=hidden, seq_len=seq_len, batch_size=batch,
        num_steps=args.torch_steps, output_size=PANEL[1] if name == 'panel' else 1,
        device=device)
    out[name] = res['steady_ms_per_member_step']
    where = torch.cuda.get_device_name() if device == 'cuda' else 'the CPU'
    print(f'torch loop {name} on {where} (torch {torch.__version__}): '
          f'{out[name]:.3f} ms per member-step', flush=True)
  return out


def _gib(num_bytes):
  return f'{num_bytes / 2**30:.3g} GiB'


def table(rows) -> str:
  lines = ['| workload | P | compile s | ms per chunk | member-steps/s | TFLOP/s '
           '| of f32 matmul (default) | of f32 matmul (HIGHEST) | x torch loop | note |',
           '|---|---|---|---|---|---|---|---|---|---|']
  for r in rows:
    shape = f"{r['workload']} (H={r['hidden']}, T={r['seq_len']}, {r['steps_per_chunk']} steps)"
    if 'skipped' in r:
      lines.append(f"| {shape} | {r['members']} | | | | | | | | skipped: {r['skipped']} |")
      continue
    vs_torch = f"{r['vs_torch_loop']:.0f}" if 'vs_torch_loop' in r else ''
    lines.append(
        f"| {shape} | {r['members']} | {r['compile_s']:.1f} | {r['chunk_s'] * 1e3:.1f} | "
        f"{r['member_steps_per_s']:.0f} | {r['flops_per_s'] / 1e12:.2f} | "
        f"{r['fraction_of_matmul']:.1%} | {r['fraction_of_highest']:.1%} | {vs_torch} "
        "| |")
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(
      description=__doc__.splitlines()[0],
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument('--members', default='64,256,1024,4096',
                      help='population sizes P, comma-separated')
  parser.add_argument('--workloads', default='W,large,panel',
                      help='of W, large, panel (the module docstring), comma-separated')
  parser.add_argument('--repeats', type=int, default=2, help='timed chunks (best kept)')
  parser.add_argument('--group_size', type=int, default=0,
                      help='members per vmap group (0: all of a device\'s on a GPU)')
  parser.add_argument('--budget_s', type=float, default=240,
                      help='skip configurations predicted to end after this')
  parser.add_argument('--memory_fraction', type=float, default=0.8,
                      help='of the device memory JAX may use, for the estimate')
  parser.add_argument('--matmul_n', type=int, default=8192,
                      help='n of the n^3 matmul that measures the card\'s rate')
  parser.add_argument('--num_train', type=int, default=1024,
                      help='training windows of W and large')
  parser.add_argument('--torch_members', type=int, default=3,
                      help='members of the torch loop on the GPU (0: none)')
  parser.add_argument('--torch_steps', type=int, default=100,
                      help='steps per member of the torch loop')
  parser.add_argument('--smoke', action='store_true',
                      help='tiny shapes on the CPU (P=4,8; one skipped for memory)')
  args = parser.parse_args()
  start = time.perf_counter()
  workloads = WORKLOADS
  memory_gb = 0.0
  if args.smoke:
    import jax  # pylint: disable=g-import-not-at-top
    jax.config.update('jax_platforms', 'cpu')
    args.members, args.matmul_n, args.repeats, args.num_train = '4,8', 256, 1, 64
    args.torch_steps = 5
    workloads, memory_gb = SMOKE_WORKLOADS, 3e-4  # Skips `large` at P=8 for memory.
  import jax  # pylint: disable=g-import-not-at-top
  from rnnjax.search import probe  # pylint: disable=g-import-not-at-top

  if jax.default_backend() == 'cpu' and not args.smoke:
    print('note: JAX sees no GPU here (a CPU backend): the full benchmark runs for a long '
          'while on a CPU; --smoke checks the script in ~1 min', flush=True)
  rates = matmul_rates(args.matmul_n)
  memory = memory_gb * 2**30 if memory_gb else device_memory_bytes(
      probe.default_memory_gb())
  precision = jax.config.jax_default_matmul_precision
  tf32 = rates['f32_default'] > 1.5 * rates['f32_highest']
  device = jax.devices()[0]
  print(f'device: {device.device_kind} ({jax.default_backend()}), '
        f'{jax.device_count()} device(s), {platform.machine()}; jax {jax.__version__}; '
        f'memory for JAX {_gib(memory)}')
  print(f'{args.matmul_n}^3 matmul: float32 default precision '
        f'({precision or "XLA default"}) {rates["f32_default"] / 1e12:.1f} TFLOP/s'
        f'{" (faster than HIGHEST: TF32 or lower in use)" if tf32 else ""}, float32 '
        f'HIGHEST {rates["f32_highest"] / 1e12:.1f} TFLOP/s, bfloat16 '
        f'{rates["bf16"] / 1e12:.1f} TFLOP/s')

  torch_ms = torch_loop_ms(workloads, args) if args.torch_members else {}
  rows, previous = [], {}
  path = os.path.join(os.environ.get('OUT') or '.', 'gpu_bench.json')
  header = {'device': device.device_kind, 'backend': jax.default_backend(),
            'jax': jax.__version__, 'default_matmul_precision': precision,
            'default_precision_faster_than_highest': bool(tf32),
            'matmul_flops_per_s': rates, 'matmul_n': args.matmul_n,
            'memory_bytes': memory, 'smoke': args.smoke,
            'torch_loop_ms_per_member_step': torch_ms}
  # Small P of every workload first, so a tight budget still covers each of them.
  for p in scaling._ints(args.members):  # pylint: disable=protected-access
    for name in args.workloads.split(','):
      time_left = args.budget_s - (time.perf_counter() - start)
      why = plan_skip(workloads[name], p, args, memory, previous.get(name), time_left)
      if why:
        row = dict(workload=name, members=p, skipped=why,
                   **dict(zip(('hidden', 'seq_len', 'batch', 'steps_per_chunk'),
                              workloads[name])))
      else:
        row = run_one(name, workloads[name], p, args, rates['f32_default'])
        previous[name] = row
        if 'flops_per_s' in row:
          row['fraction_of_highest'] = row['flops_per_s'] / rates['f32_highest']
          if name in torch_ms:
            row['vs_torch_loop'] = row['member_steps_per_s'] * torch_ms[name] / 1e3
      print(f'{name} P={p}: ' + (f"skipped ({row['skipped']})" if 'skipped' in row else
                                 f"compile {row['compile_s']:.1f} s, "
                                 f"{row['chunk_s'] * 1e3:.1f} ms per chunk, "
                                 f"{row['member_steps_per_s']:.0f} member-steps/s, "
                                 f"{row['flops_per_s'] / 1e12:.2f} TFLOP/s" +
                                 (f", x{row['vs_torch_loop']:.0f} the torch loop"
                                  if 'vs_torch_loop' in row else '')), flush=True)
      rows.append(row)
      # Written after every row: a run stopped from outside keeps what it measured.
      with open(path, 'w', encoding='utf-8') as f:
        json.dump({**header, 'total_s': time.perf_counter() - start, 'rows': rows}, f,
                  indent=1)
  print(table(rows))
  print(f'total {time.perf_counter() - start:.0f} s; wrote {path}')


if __name__ == '__main__':
  main()
