"""Tests for rnnjax/engine/sharding.py: padding and groups.

That a sweep sharded over several CPU devices equals it on one device needs a process
whose JAX started with several devices: tests/test_distributed.py runs it in the child
process it starts anyway (test_sharded_sweep_equals_single_device).
"""

import types

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
