"""One sweep over several processes with JAX's own distributed runtime.

Every process runs the same program on the same inputs (multi-controller JAX): the
mesh of `sharding.population_mesh()` then spans every process's devices, and each
process trains the members on its own devices. With one process every function here
reduces to its plain single-process form, so a sweep has one code path:

  initialize(mode, ...)      first, before anything starts a JAX backend
  put(tree, sharding)        host values (the same on every process) -> global arrays
  fetch(tree)                global arrays -> host numpy on every process
  is_main()                  process 0 alone writes files and logs
  sync(name)                 a barrier

What the start-up checks before and after JAX joins the processes, and how a lost peer
is told apart, is in `processes`.

`put`, `fetch`, `sync` and the compiled chunks (and run/workdir.check_shared_dir) are
collectives: every process must call them, in the same order, with the same shapes. When a process
dies the others end after about `heartbeat_timeout_s` ("Task N heartbeat timeout" in
their logs), or at once where their collective fails first (`processes.peer_lost`); one
that exits early but cleanly holds them up to `shutdown_timeout_s`.
"""

import sys

import jax
from jax.experimental import multihost_utils
import numpy as np

from rnnjax.engine import processes
from rnnjax.errors import InputError

MODES = ('off', 'auto', 'manual')

# jax's defaults (100 s heartbeat, 300 s shutdown) keep the survivors of a crash waiting
# for minutes; these end them within about half a minute. The heartbeat thread runs in
# C++, so a long compile does not miss heartbeats.
HEARTBEAT_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 60      # How long a finished process waits for the others to end.
INITIALIZATION_TIMEOUT_S = 120  # How long a process waits for all the others to join.


def initialize(mode: str = 'off', *, coordinator_address: str = '',
               num_processes: int = 0, process_id: int = -1,
               heartbeat_timeout_s: int = HEARTBEAT_TIMEOUT_S,
               shutdown_timeout_s: int = SHUTDOWN_TIMEOUT_S,
               initialization_timeout_s: int = INITIALIZATION_TIMEOUT_S) -> None:
  """Joins this process to the others; call before any JAX call starts a backend.

  Args:
    mode: 'off' (one process: nothing to do), 'auto' (read the cluster's environment:
      Slurm, Open MPI, Cloud TPU) or 'manual' (the three arguments below).
    coordinator_address: 'host:port' of process 0, which serves the coordinator there.
    num_processes: processes in the run.
    process_id: this process, 0 .. num_processes - 1.
    heartbeat_timeout_s: a process silent this long is dead, and the run ends.
    shutdown_timeout_s: how long a finished process waits for the others at exit.
    initialization_timeout_s: how long to wait for every process to join.
  """
  if mode not in MODES:
    raise InputError(f'--distributed: unknown mode {mode!r}; expected one of {MODES}')
  if mode != 'manual':
    processes.check_manual_flags_unused(mode, coordinator_address=coordinator_address,
                                        num_processes=num_processes,
                                        process_id=process_id)
  if mode == 'off':
    return
  kwargs = dict(initialization_timeout=initialization_timeout_s,
                heartbeat_timeout_seconds=heartbeat_timeout_s,
                shutdown_timeout_seconds=shutdown_timeout_s)
  if mode == 'manual':
    if not coordinator_address:
      raise InputError('--coordinator_address: required with --distributed=manual '
                       '(host:port of process 0)')
    if num_processes < 1:
      raise InputError(f'--num_processes: {num_processes} must be >= 1 with '
                       '--distributed=manual')
    if not 0 <= process_id < num_processes:
      raise InputError(f'--process_id: {process_id} must be in 0..{num_processes - 1} '
                       f'(--num_processes={num_processes})')
    if ':' not in coordinator_address:
      raise InputError(f'--coordinator_address: {coordinator_address!r} has no port '
                       '(expected host:port)')
    if process_id == 0:
      processes.check_port_free(coordinator_address)
    kwargs.update(coordinator_address=coordinator_address,
                  num_processes=num_processes, process_id=process_id)
  # CPU collectives between processes; gloo is the default in jax 0.10 but not in
  # every version, and without it a CPU run across processes fails at its first chunk.
  if not jax.config.jax_cpu_collectives_implementation:
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  where = f'process {process_id} of {num_processes}' if mode == 'manual' else 'this process'
  print(f'rnnjax: {where} joining the {mode} distributed run'
        f'{" at " + coordinator_address if coordinator_address else ""} (waits up to '
        f'{initialization_timeout_s} s for every process)', file=sys.stderr, flush=True)
  with processes.exit_unless_joined(mode, initialization_timeout_s):
    try:
      jax.distributed.initialize(**kwargs)
    except ValueError as e:  # No cluster found, or its variables are inconsistent.
      raise InputError(f'--distributed={mode}: no usable cluster environment (Slurm, '
                       f'Open MPI, Cloud TPU): {processes.first_line(e)}; elsewhere use '
                       '--distributed=manual with --coordinator_address, '
                       '--num_processes and --process_id') from None
    except jax.errors.JaxRuntimeError as e:  # The coordinator cannot be reached, say.
      raise InputError(
          f'--coordinator_address: {where} could not start or reach the coordinator '
          f'{coordinator_address or "of the cluster"} ({processes.first_line(e)}); is its '
          'port free on process 0\'s host?') from None
  # Gloo gives peers only 30 s at the first collective; meet once now, while every
  # process is at the same point, rather than after compiles of different lengths.
  multihost_utils.sync_global_devices('rnnjax-start')
  if mode == 'manual':
    # The coordinator (process 0) fixes the process count; another process's
    # --num_processes above it is not otherwise noticed.
    given = multihost_utils.process_allgather(np.int32(num_processes))
    processes.check_process_count([int(n) for n in np.ravel(given)],
                                  jax.process_count(), jax.process_index())


def process_count() -> int:
  """The processes in the run (1 unless joined to several)."""
  return jax.process_count()


def is_main() -> bool:
  """True on process 0, the one that writes results, checkpoint metadata and logs."""
  return jax.process_index() == 0


def _identity(tree):
  return tree


def fetch(tree):
  """Global arrays -> numpy on every process (a collective when they span processes).

  Arrays on one process's devices only, and anything that is not a `jax.Array`, are
  read as `jax.device_get` reads them.
  """
  leaves, treedef = jax.tree.flatten(tree)
  remote = [i for i, x in enumerate(leaves)
            if isinstance(x, jax.Array) and not x.is_fully_addressable]
  if remote:
    arrays = [leaves[i] for i in remote]
    replicated = tuple(jax.sharding.NamedSharding(x.sharding.mesh,
                                                  jax.sharding.PartitionSpec())
                       for x in arrays)
    # One program replicates them all, rather than one collective per leaf.
    gathered = jax.jit(_identity, out_shardings=replicated)(tuple(arrays))
    for i, x in zip(remote, gathered):
      leaves[i] = np.asarray(x.addressable_data(0))
  local = sorted(set(range(len(leaves))) - set(remote))
  for i, x in zip(local, jax.device_get([leaves[i] for i in local])):
    leaves[i] = x
  return jax.tree.unflatten(treedef, leaves)


def put(tree, sharding: jax.sharding.Sharding):
  """Host values, the same on every process -> global arrays laid out by `sharding`.

  Each process copies only the slices its own devices hold. PRNG key arrays keep
  their type; arrays that already span processes are only resharded.
  """
  def one(x):
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      data = one(jax.random.key_data(x))
      return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return jax.device_put(x, sharding)  # Already global: only lay it out anew.
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
  return jax.tree.map(one, tree)


def sync(name: str) -> None:
  """Waits until every process reaches the barrier `name` (nothing with one process)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)
