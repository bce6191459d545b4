"""What a bucket costs before the sweep runs: parameters, padding, memory and time.

`describe(...)` gives the cheap facts (no compile). `probe_all(...)` compiles each
bucket's training program as a chunk of a few steps (`probe_steps`), its validation
pass, its initialisation and its evaluation of the test split, reads the training's
memory from the compiled executable, and times training and validation (warm calls)
and the test's evaluation (once, as the scores after training call it) on a population
of zeros, with a checkpoint of it where the caller gives one to time, for `--dry_run`
and its time estimate. A full chunk would make a dry run as slow as the sweep's first
chunk.
"""

import concurrent.futures
import dataclasses
import math
import os
import time

import jax
import numpy as np

from rnnjax.engine import compile_cache
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding

# A third call is timed where the first two took less than this (seconds).
WARM_CALLS_S = 1.0
PROBE_STEPS = 8


def describe(cfg: pop.TrainConfig, widths) -> dict:
  """Per-member parameter counts and the share of compute spent on padded units.

  widths: <int>[n], the members' hidden sizes.
  """
  widths = np.asarray(widths)
  return {
      'num_members': len(widths),
      'padded_width': cfg.model.hidden_size,
      'params_per_member': sorted(model.param_count(cfg.model, int(w))
                                  for w in np.unique(widths)),
      'padding_fraction': model.padding_fraction(cfg.model, widths),
  }


def estimate_bytes(cfg: pop.TrainConfig, seq_len: int) -> int:
  """Memory one member of a vmap group needs while training, from shapes alone (no
  compile; a wave's: `wave_bytes`).

  Parameters, validation-best parameters and up to two optimizer moments; per layer the
  stored gates, cell states and their gradients for the backward pass ([T, B, 4H] each,
  counted as 8H per step and example, twice over for the gradients).
  """
  params = model.param_count(cfg.model)
  activations = cfg.model.num_layers * seq_len * cfg.batch_size * 8 * cfg.model.hidden_size
  return 4 * (4 * params + 2 * activations)


def default_memory_gb() -> float:
  """Half of this machine's physical memory."""
  try:
    return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 / 2**30
  except (ValueError, OSError, AttributeError):
    return 8.0


def waiting_bytes(cfg: pop.TrainConfig) -> int:
  """Memory a member holds on a device besides its group's training and evaluation: its
  state (parameters, validation-best parameters, up to two optimizer moments) three times
  over: the program's input, the groups' copy of it and their stacked output
  (`lax.map`), or a step's gradients and updates; the compiled programs held 7-10 copies
  of the parameters a member (2-core CPU, groups of 4), a member alone up to 20."""
  return 3 * 4 * 4 * model.param_count(cfg.model)


def wave_bytes(cfg: pop.TrainConfig, data, wave_size: int, num_devices: int,
               group_size: int) -> int:
  """Memory a wave of `wave_size` members (a multiple of `num_devices`) needs, from
  shapes alone: each member's `waiting_bytes`, held throughout, and the larger peak of
  the two programs a wave runs.

  The chunk trains a device's members one vmap group after another (sharding.py), and
  validates each group after its steps: `estimate_bytes` and
  `population.evaluation_bytes` (of the validation part) for each member of one group,
  both counted: XLA kept much of the two apart (a character model's chunk, in groups of
  1 and 2, needed 16-23 % more than what is held and the larger of the two, 2-core
  CPU). The scores after training evaluate the validation and test parts in groups of
  their own, each sized by what one member's evaluation of that part needs
  (`population.population_eval_fn`): that part's `evaluation_bytes` for each member of
  one such group, the larger of the two parts' counted.

  data: the bucket's TaskData (its seq_len, and its splits' shapes). group_size: the
  members per vmap group asked for (0: `sharding.group_size`'s choice). Each program's
  group is counted at its most members (`sharding.group_limit` of one member's training
  activations, or of its evaluation of a part; every member of a device where there is
  no limit, as on a GPU), so that the estimate holds whatever groups the members form,
  and grows with the wave.
  """
  local = wave_size // num_devices
  group = lambda member_bytes: min(local, sharding.group_limit(group_size, member_bytes)
                                   or local)
  val, test = (pop.evaluation_bytes(cfg, data.arrays[split]) for split in ('val', 'test'))
  chunk = (group(pop.activation_bytes(cfg, data.seq_len))
           * (estimate_bytes(cfg, data.seq_len) + val))
  return num_devices * (local * waiting_bytes(cfg) +
                        max(chunk, group(val) * val, group(test) * test))


def waves(num_members: int, bytes_of_wave, budget_bytes: float, num_devices: int) -> dict:
  """Equal waves that fit the budget, their sizes multiples of the device count (where
  not even a member a device fits, waves of a member a device: wave_notes says so).
  bytes_of_wave: a wave's size -> its memory, growing with the size (`wave_bytes`)."""
  low, high = 1, sharding.padded_size(num_members, num_devices) // num_devices
  while low < high:  # The most members a device whose wave fits (at least one).
    middle = (low + high + 1) // 2
    if bytes_of_wave(middle * num_devices) <= budget_bytes:
      low = middle
    else:
      high = middle - 1
  num_waves = math.ceil(num_members / (low * num_devices))
  size = sharding.padded_size(math.ceil(num_members / num_waves), num_devices)
  return {'num_waves': math.ceil(num_members / size), 'wave_size': size}


def probe_steps(cfg: pop.TrainConfig) -> int:
  """Steps of the probe's program: a few, so that what each call costs besides its
  steps (dispatch, the devices' threads meeting: a few ms on a CPU, more than a small
  wave's step) counts once per PROBE_STEPS steps, as once per chunk in the sweep."""
  return min(cfg.steps_per_chunk, PROBE_STEPS)


def _zeros(cfg: pop.TrainConfig, hp: pop.HParams, base_key, mesh):
  """A population state of zeros: of the right shapes, it costs the same per step as a
  trained one, and spares compiling (and running) the initialisation."""
  shapes = jax.eval_shape(pop.population_init_fn(cfg, mesh), hp, base_key)
  shard = sharding.members_sharding(mesh)
  return jax.tree.map(lambda s: jax.device_put(np.zeros(s.shape, s.dtype), shard), shapes)


# The programs whose compiles a probe times (`probe_all`'s compiles).
COMPILED = ('chunk', 'validation', 'init', 'test')


def _compile(program, *args):
  """(the program compiled, seconds), at XLA's default optimisation, as the sweep's: on
  a CPU, level 1 compiled about a quarter faster, but its quickstart chunk ran in 0.84x
  the default's time (2-core Zen 4 VM), and the estimate was that much short."""
  start = time.perf_counter()
  compiled = program.lower(*args).compile()
  return compiled, time.perf_counter() - start


def _compile_chunk(cfg: pop.TrainConfig, hp: pop.HParams, data, base_key, mesh,
                   group_size, state):
  few_steps = dataclasses.replace(cfg, steps_per_chunk=probe_steps(cfg))
  with compile_cache.measure() as counted:
    compiled, seconds = _compile(
        pop.population_chunk_fn(few_steps, mesh, group_size, validate=False),
        state, hp, data, base_key)
  return compiled, seconds, counted.cache_hits, counted.cold_s


def _calls_s(call) -> tuple[float, float]:
  """(seconds of the first call of `call`, of a warm call). A first call pays once for
  what a sweep's first chunk pays once (threads started, memory first touched): up to
  10x a warm call's time on a CPU (a character model's chunk, timed by its first call
  alone, was estimated at 1.8x its time). So a second call is timed, and where calls are
  cheap (WARM_CALLS_S in all) a third, and the faster warm call counts."""
  times = []
  while len(times) < 2 or (len(times) < 3 and sum(times) < WARM_CALLS_S):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return times[0], min(times[1:])


def _once_s(call) -> float:
  """Seconds of one call of `call`: the first, as the scores after training call each of
  their programs once."""
  start = time.perf_counter()
  call()
  return time.perf_counter() - start


def _measure(compiled, compiles: dict, cache_hits, validation, state, cfg, hp, data,
             base_key, mesh, save=None, test=None, cold_s: float = 0.0) -> dict:
  """The figures of one bucket (see `probe_all`); compiles: the seconds compiling each
  of its programs (COMPILED); test: (the compiled evaluation, the test split on the
  devices), None: none timed; cold_s: what the training program took to compile when it
  was cached (0: compiled here)."""
  memory = compiled.memory_analysis()
  per_device = hp.uid.shape[0] // mesh.size
  member_bytes = None
  # The data is one copy on each device whatever the members: not a member's (so that
  # this agrees with `estimate_bytes`), but what the arguments hold beyond the members'
  # state and values (the program takes only the data arrays it reads); the sweep
  # says the data's size apart (run/prepare.py).
  members = sum(_bytes_on_a_device(x) for x in jax.tree.leaves((state, hp, base_key)))
  # What each member keeps once trained: the sweep holds every wave's until it ends.
  kept = sum(_bytes_on_a_device(x) for x in jax.tree.leaves(state)) / per_device
  data_bytes = None
  if memory is not None:  # Per device: arguments (state, data) and temporaries.
    data_bytes = max(0, memory.argument_size_in_bytes - members)
    member_bytes = (memory.argument_size_in_bytes - data_bytes +
                    memory.temp_size_in_bytes) / per_device
  held = [state]

  def chunk():
    held[0] = jax.block_until_ready(compiled(held[0], hp, data, base_key))[0]  # Donated.

  first_s, warm_s = _calls_s(chunk)
  step_s = warm_s / probe_steps(cfg)
  val_s = _calls_s(lambda: jax.block_until_ready(validation(held[0].params, data['val'])))[1]
  return {'compile_s': compiles['chunk'] + compiles['validation'] + compiles['init'],
          'compiles': compiles, 'cache_hits': cache_hits, 'compile_cold_s': cold_s,
          'chunk_s': step_s * cfg.steps_per_chunk + val_s, 'validation_s': val_s,
          'step_s': step_s, 'warmup_s': max(0.0, first_s - warm_s),
          'save_s': _calls_s(lambda: save(held[0], hp))[1] if save else 0.0,
          'test_s': _once_s(lambda: jax.block_until_ready(test[0](held[0].params, test[1])))
                    if test else 0.0,
          'bytes_per_member': member_bytes, 'data_bytes_per_device': data_bytes,
          'state_bytes_per_member': kept}


def _bytes_on_a_device(x) -> int:
  if isinstance(x, jax.Array):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x = jax.random.key_data(x)
    return x.addressable_shards[0].data.nbytes
  return np.asarray(x).nbytes


PROBE_MEMBERS = 4096


def probe_all(buckets, base_key, mesh, group_size: int = 0, save=None,
              tests=None) -> list[dict]:
  """Probes every (cfg, members, hp, device data) bucket: the probes' programs (each
  bucket's training, validation, initialisation and, where `tests` gives its test split
  on the devices, its evaluation of that split) compile in parallel threads (XLA
  compiles outside the GIL, and compiling dominates a dry run), then each is timed alone
  so that the timings do not disturb one another.

  Per bucket: compiles, the seconds compiling each program (COMPILED; near zero when
  the persistent cache holds it, cache_hits: the training program's, compile_cold_s:
  what compiling it took when it was cached, compile_cache.Compiles' cold_s); compile_s, what
  the sweep compiles before its first chunk: its chunk program (the probe's training
  program and its validation: the sweep's validates inside) and its initialisation;
  step_s, a training step's time; chunk_s = step_s x steps per chunk + validation_s,
  the validation pass after a chunk's steps (the sweep's runs inside its chunk program,
  a group of members after another, as `population.population_eval_fn`'s, timed here);
  warmup_s, what the first call of the training program took beyond a warm call's (the
  sweep's first chunk pays it once); save_s, the seconds of `save(state, hp)`, a
  checkpoint of the wave as the sweep writes after each chunk (0 without `save`); the
  records written after each chunk not counted; test_s, one call of the test split's
  evaluation (0 without its split); bytes_per_member from the compiled training program
  (a chunk's loop over steps does not add to it), less the data, which each device
  holds once (data_bytes_per_device); state_bytes_per_member, a member's training state
  (parameters, optimizer state, best parameters), which the sweep keeps for every
  member, each wave's after it trains, until it ends.
  """
  # A wave of more than PROBE_MEMBERS is probed on its first PROBE_MEMBERS rows and its
  # time scaled up (at these sizes a step's time grows in proportion to the members), so
  # that a dry run of a million members takes seconds, not a million members' step.
  rows = [int(hp.uid.shape[0]) for _, _, hp, _ in buckets]
  sample = max(mesh.size, PROBE_MEMBERS // mesh.size * mesh.size)
  buckets = [(cfg, uids, jax.tree.map(lambda a: a[:sample], hp) if n > sample else hp, data)
             for (cfg, uids, hp, data), n in zip(buckets, rows)]
  tests = tests or [None] * len(buckets)
  states = [_zeros(cfg, hp, base_key, mesh) for cfg, _, hp, _ in buckets]
  with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
    evaluation = lambda cfg, state, split: pool.submit(
        _compile, pop.population_eval_fn(cfg, mesh, group_size), state.params, split)
    chunks = [pool.submit(_compile_chunk, cfg, hp, data, base_key, mesh, group_size, state)
              for (cfg, _, hp, data), state in zip(buckets, states)]
    others = [{'validation': evaluation(cfg, state, data['val']),
               'init': pool.submit(_compile, pop.population_init_fn(cfg, mesh), hp, base_key),
               **({'test': evaluation(cfg, state, test)} if test is not None else {})}
              for (cfg, _, hp, data), state, test in zip(buckets, states, tests)]
    compiled = [(c.result(), {k: f.result() for k, f in o.items()})
                for c, o in zip(chunks, others)]
  out = []
  for ((program, chunk_s, hits, cold_s), other), state, (cfg, _, hp, data), test in zip(
      compiled, states, buckets, tests):
    compiles = {**dict.fromkeys(COMPILED, 0.0), 'chunk': chunk_s,
                **{k: seconds for k, (_, seconds) in other.items()}}
    out.append(_measure(program, compiles, hits, other['validation'][0], state,
                        cfg, hp, data, base_key, mesh, save, cold_s=cold_s,
                        test=(other['test'][0], test) if test is not None else None))
  for figures, n in zip(out, rows):
    for key in ('chunk_s', 'validation_s', 'save_s', 'step_s', 'test_s'):
      figures[key] *= max(1.0, n / sample)
  return out
