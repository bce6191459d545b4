"""Tests for rnnjax/sharding.py: padding and groups.

That a sweep sharded over several CPU devices equals it on one device needs a process
whose JAX started with several devices: tests/test_distributed.py runs it in the child
process it starts anyway (test_sharded_sweep_equals_single_device).
"""

import types

from rnnjax import sharding


def test_padded_size_and_group_size():
  three_devices = types.SimpleNamespace(size=3)
  assert sharding.padded_size(5, three_devices) == 6
  assert sharding.padded_size(6, three_devices) == 6
  assert sharding.group_size(12, 4) == 4
  assert sharding.group_size(6, 4) == 3
  assert sharding.group_size(7, 4) == 1
  assert sharding.group_size(2, 0) == 2
