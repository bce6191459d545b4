"""The population axis over a device mesh, and how members are grouped on each device.

Members never exchange anything, so the population axis is simply split over a 1-D
mesh `('pop',)`: every per-member array is sharded `P('pop')`, data replicated. On each
device the local members train in groups of `group_size` under one `vmap`, the groups
one after another inside the same compiled program (`lax.map(..., batch_size=g)`).

Why groups: on a CPU, measured on workload W (bench/population.py, BUILD_NOTES.md), a
vmap over all 32 local members ran 1.3-1.5x slower per member-step than groups of 4
(presumably because a small group's activations stay in cache); larger models, whose
activations fill the cache alone, train one member at a time (CPU_GROUP_BYTES). On a GPU
one group of every local member is expected to fill the device, and is the default there.

Why several CPU devices: XLA's CPU backend keeps about 1.5 of 2 cores busy with one
device; one single-threaded device per core, each training its share of the members,
kept both busy and ran 1.7x faster. `configure_cpu_devices` must run before JAX starts.
"""

import os
import re

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec
import numpy as np

AXIS = 'pop'
CPU_GROUP_SIZE = 4
# A CPU group's training activations (see population.activation_bytes), and its
# evaluation of a whole split (population.evaluation_bytes), stay under this:
# W (2.9 MB a member) keeps groups of 4; from H=128, T=64 on (11.5 MB) members train one
# at a time. Timed side by side (BUILD_NOTES, issue 16): the fused LSTM's gradient per
# member at H=512, T=64 took 447 ms alone and 689 ms in a vmap of 4; at H=64, T=32 the
# group made no difference to the layer, and groups of 4 ran the whole W step fastest.
CPU_GROUP_BYTES = 16 * 2**20


def configure_cpu_devices(num_devices: int | None = None) -> None:
  """One single-threaded XLA CPU device per core this process may use (`usable_cpus`; or
  `num_devices`; without it, the count XLA_FLAGS' --xla_force_host_platform_device_count
  asks for, where it does). Call before any JAX computation."""
  flags = os.environ.get('XLA_FLAGS', '')
  asked = re.search(r'--xla_force_host_platform_device_count=(\d+)', flags)
  num_devices = num_devices or (int(asked.group(1)) if asked else 0) or usable_cpus()
  if 'xla_cpu_multi_thread_eigen' not in flags:
    os.environ['XLA_FLAGS'] = f'{flags} --xla_cpu_multi_thread_eigen=false'.strip()
  jax.config.update('jax_num_cpu_devices', num_devices)


def usable_cpus(cgroup_max: str = '/sys/fs/cgroup/cpu.max') -> int:
  """The cores this process may run on: its CPU affinity (taskset, a container's cpuset),
  capped by a cgroup v2 CPU quota where one is set (a container limited to 2 CPUs on a
  64-core host: 2, not 64), at least 1."""
  count = (len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
           else os.cpu_count() or 1)
  try:
    with open(cgroup_max, encoding='ascii') as f:
      quota, period = f.read().split()[:2]
    if quota != 'max':
      count = min(count, -(-int(quota) // int(period)))
  except (OSError, ValueError):
    pass  # No cgroup v2 quota readable: the affinity alone.
  return max(1, count)


def population_mesh(devices=None) -> jax.sharding.Mesh:
  devices = jax.devices() if devices is None else devices
  return jax.sharding.Mesh(devices, (AXIS,), axis_types=(jax.sharding.AxisType.Auto,))


def _num_devices(mesh) -> int:
  return int(mesh) if isinstance(mesh, (int, np.integer)) else mesh.size


def padded_size(num_members: int, mesh) -> int:
  """Members rounded up to a multiple of the device count (padding members are dead).
  mesh: a Mesh, or the device count."""
  n = _num_devices(mesh)
  return -(-num_members // n) * n


def pad_rows(rows, mesh) -> np.ndarray:
  """<int32>[padded_size(len(rows), mesh)]: `rows` followed by copies of the first, so
  that a population of those rows fills every device equally (the padding rows compute
  what the first does; callers drop them). mesh: a Mesh, or the device count. Empty
  rows stay empty."""
  rows = np.asarray(rows, np.int32)
  if not len(rows):
    return rows
  pad = padded_size(len(rows), mesh) - len(rows)
  return np.concatenate([rows, np.full(pad, rows[0], np.int32)])


def shape_bucket(n: int) -> int:
  """The size a compiled program takes `n` rows (or steps) at: the next power of two
  (0 for 0), so that calls of many sizes compile a few programs (a loaded model's
  calls from a notebook), at most twice the work of `n`."""
  return 0 if n <= 0 else 1 << (int(n) - 1).bit_length()


def device_dtypes(tree):
  """Host arrays as a sweep puts them on the devices: integers as int32, everything
  else (floats, bools) as float32."""
  def one(a):
    a = np.asarray(a)
    return a.astype(np.int32 if np.issubdtype(a.dtype, np.integer) else np.float32)
  return jax.tree.map(one, tree)


def group_limit(requested: int = 0, member_bytes: int = 0) -> int | None:
  """The most members a vmap group holds on a device (`group_size`), whatever the
  device's count: `requested`; without it none on an accelerator (None: every local
  member), on a CPU CPU_GROUP_SIZE, fewer where `member_bytes`, what one member's
  training activations (or its evaluation of a split) need, times the group would pass
  CPU_GROUP_BYTES."""
  if requested:
    return requested
  if jax.default_backend() != 'cpu':
    return None
  return max(1, min(CPU_GROUP_SIZE, CPU_GROUP_BYTES // max(member_bytes, 1)))


def group_size(local_members: int, requested: int = 0, member_bytes: int = 0) -> int:
  """Members per vmap group on one device: the largest divisor of local_members that
  is at most `group_limit(requested, member_bytes)`."""
  limit = group_limit(requested, member_bytes) or local_members
  return max(g for g in range(1, min(limit, local_members) + 1)
             if local_members % g == 0)


def members_sharding(mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh) -> NamedSharding:
  """Every device holds the whole array (data, keys)."""
  return NamedSharding(mesh, PartitionSpec())
