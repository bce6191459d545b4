"""Tests for rnnjax/engine/sharding.py: padding and groups.

That a sweep sharded over several CPU devices equals it on one device needs a process
whose JAX started with several devices: tests/test_distributed.py runs it in the child
process it starts anyway (test_sharded_sweep_equals_single_device).
"""

import os
import types

import jax
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding


def test_padded_size_and_group_size():
  three_devices = types.SimpleNamespace(size=3)
  assert sharding.padded_size(5, three_devices) == 6
  assert sharding.padded_size(6, three_devices) == 6
  assert sharding.group_size(12, 4) == 4
  assert sharding.group_size(6, 4) == 3
  assert sharding.group_size(7, 4) == 1
  assert sharding.group_size(2, 0) == 2
  assert sharding.padded_size(5, 3) == 6  # A device count does as well as a mesh.


def test_rows_are_padded_with_copies_of_the_first():
  three_devices = types.SimpleNamespace(size=3)
  padded = sharding.pad_rows([4, 1, 7, 2], three_devices)
  assert padded.dtype == np.int32 and padded.tolist() == [4, 1, 7, 2, 4, 4]
  assert sharding.pad_rows([5, 6, 7], three_devices).tolist() == [5, 6, 7]
  assert sharding.pad_rows([5], 2).tolist() == [5, 5]
  assert sharding.pad_rows([], three_devices).tolist() == []


def test_rows_on_devices_from_the_devices_or_the_host_are_the_same():
  """A run's parameters gathered on the devices and a saved model's put from the host:
  the same rows, bit for bit, padded and laid out by members."""
  mesh = sharding.population_mesh()
  rng = np.random.default_rng(0)
  host = {'w': rng.normal(size=(5, 3, 2)).astype(np.float32), 'b': np.arange(5.0)}
  on_devices = distributed.put(host, sharding.members_sharding(mesh))
  rows = [3, 0, 4]
  want = sharding.pad_rows(rows, mesh)
  for tree in (host, on_devices):
    got = gather.rows_on_devices(tree, rows, mesh)
    assert got['w'].sharding == sharding.members_sharding(mesh)
    for name, leaf in distributed.fetch(got).items():
      np.testing.assert_array_equal(leaf, np.asarray(host[name])[want])


def test_device_dtypes():
  """Floats (and bools) as float32, integers as int32, as a sweep's data."""
  got = sharding.device_dtypes({'x': np.ones((2, 3)), 'y': np.ones(2, np.float16),
                                'mask': np.ones(2, bool), 'count': np.int64(4)})
  assert jax.tree.map(lambda a: a.dtype.name, got) == {
      'x': 'float32', 'y': 'float32', 'mask': 'float32', 'count': 'int32'}


def test_cpu_groups_shrink_as_members_activations_grow():
  def groups(hidden, seq_len, local=16):
    cfg = pop.TrainConfig(model=model.ModelConfig('lstm', 1, hidden, 1, 1),
                          optimizer='adam', batch_size=32, steps_per_chunk=1)
    return sharding.group_size(local, 0, pop.activation_bytes(cfg, seq_len))
  assert groups(64, 32) == 4  # Workload W: 2.9 MB a member.
  assert groups(128, 32) == 2
  assert groups(128, 64) == 1
  assert groups(512, 128) == 1
  assert groups(64, 32, local=6) == 3  # Still a divisor of the local members.
  assert sharding.group_size(16, 8, 10**9) == 8  # Asked for: as asked.


def test_the_cpu_device_count_xla_flags_asks_for_is_kept_unless_a_flag_says_otherwise():
  """XLA's own flag is how JAX users ask for CPU devices: the default (one per core) does
  not override it; --cpu_devices does."""
  import os  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  script = ('import sys; from rnnjax.engine import sharding; '
            'sharding.configure_cpu_devices(int(sys.argv[1])); '
            'import jax; print(jax.device_count())')
  env = {**os.environ, 'XLA_FLAGS': '--xla_force_host_platform_device_count=3',
         'JAX_PLATFORMS': 'cpu'}
  counts = [subprocess.run([sys.executable, '-c', script, asked], env=env, check=True,
                           capture_output=True, text=True).stdout.split()[-1]
            for asked in ('0', '2')]
  assert counts == ['3', '2']


def test_usable_cpus_follow_the_affinity_and_a_cgroup_quota(tmp_path, monkeypatch):
  """A container limited to 2 CPUs on a larger host gets 2 devices, not one per host core."""
  monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
  quota = tmp_path / 'cpu.max'
  assert sharding.usable_cpus(str(tmp_path / 'none')) == 6  # No cgroup file: the affinity.
  quota.write_text('max 100000\n')
  assert sharding.usable_cpus(str(quota)) == 6
  quota.write_text('150000 100000\n')  # 1.5 CPUs of quota: 2 devices.
  assert sharding.usable_cpus(str(quota)) == 2
  quota.write_text('50000 100000\n')
  assert sharding.usable_cpus(str(quota)) == 1
  quota.write_text('garbled\n')
  assert sharding.usable_cpus(str(quota)) == 6
