"""A sweep sharded over several CPU devices equals the same sweep on one device."""

import json
import os
import subprocess
import sys
import types

import numpy as np

from rnnjax import sharding
from rnnjax import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 5 members over 3 devices: one dead padding member that must never show up.
SPEC = sweep.SweepSpec(dataset='shampoo_sales', lookback=4, val_size=6, test_size=6,
                       cell='gru', hidden_size='6', batch_size='4',
                       learning_rate='grid(1e-3,3e-3,1e-2,2e-2,3e-2)', dropout='0.2',
                       train_steps=6, eval_every=3)
CHILD = f"""
import json, sys
from rnnjax import sharding
sharding.configure_cpu_devices(3)
import jax
from rnnjax import sweep
assert jax.device_count() == 3, jax.devices()
spec = sweep.SweepSpec(**json.loads(sys.argv[1]))
sweep.run_sweep(spec, sys.argv[2], group_size=int(sys.argv[3]), log=lambda _: None)
"""


def test_padded_size_and_group_size():
  three_devices = types.SimpleNamespace(size=3)
  assert sharding.padded_size(5, three_devices) == 6
  assert sharding.padded_size(6, three_devices) == 6
  assert sharding.group_size(12, 4) == 4
  assert sharding.group_size(6, 4) == 3
  assert sharding.group_size(7, 4) == 1
  assert sharding.group_size(2, 0) == 2


def test_sharded_sweep_equals_single_device(tmp_path):
  one = sweep.run_sweep(SPEC, str(tmp_path / 'one'), log=lambda _: None)
  for group in (1, 2):
    wd = tmp_path / f'three-{group}'
    spec = {k: list(v) if isinstance(v, tuple) else v for k, v in SPEC.__dict__.items()}
    subprocess.run([sys.executable, '-c', CHILD, json.dumps(spec), str(wd), str(group)],
                   check=True, cwd=ROOT, env={**os.environ, 'PYTHONPATH': ROOT},
                   timeout=300)
    three = json.loads((wd / 'summary.json').read_text())
    assert [m['uid'] for m in three['members']] == [0, 1, 2, 3, 4]
    for a, b in zip(one['members'], three['members']):
      np.testing.assert_allclose(a['val']['mse'], b['val']['mse'], rtol=1e-4)
    uids = {json.loads(line)['uid'] for line in open(wd / 'metrics.jsonl')}
    assert uids == {0, 1, 2, 3, 4}
