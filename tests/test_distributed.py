"""Sharded, multi-process and resumed-elsewhere runs all equal one plain run.

Two kinds of child process train the same 6 members (padded to 8 with dead members,
uids -1 and -2, on 4 devices) for chunks of 3 steps:
  single   1 process, 4 CPU devices: the members unsharded on one device (P=6), and
           sharded over all four (P=8); 3 chunks each. Then it restores the
           checkpoint that `multi` wrote and trains chunk 3 from it.
  multi    2 processes x 2 CPU devices on localhost, one mesh of 4: 2 chunks, then an
           orbax checkpoint in a directory both see.
Each writes what it fetched (process 0 only) with np.savez; the test compares them.
Compiling is most of the time here, so XLA compiles without optimisation (the same
for every child, so the comparisons still hold).
"""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from rnnjax import distributed
from rnnjax import sharding
from rnnjax.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 120

CHILD = r"""
import sys
role, out = sys.argv[1], sys.argv[2]
from rnnjax import sharding, distributed
sharding.configure_cpu_devices(2 if role == 'multi' else 4)
if role == 'multi':
  distributed.initialize('manual', coordinator_address=f'localhost:{sys.argv[4]}',
                         num_processes=2, process_id=int(sys.argv[3]),
                         heartbeat_timeout_s=10, shutdown_timeout_s=20,
                         initialization_timeout_s=60)
import jax, numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P
from rnnjax import checkpoint, model, population as pop
from rnnjax.errors import InputError

NUM, PADDED, CHUNKS = 6, 8, 3
cfg = pop.TrainConfig(model=model.ModelConfig('lstm', 1, 8, 1, 1), optimizer='adam',
                      batch_size=4, steps_per_chunk=3)
rng = np.random.default_rng(0)
x = rng.normal(size=(40, 5, 1)).astype(np.float32)
y = x.mean(axis=1, keepdims=True)
host_data = {'train': {'x': x, 'y': y},
             'val': {'x': x[:8], 'y': y[:8], 'mean': np.zeros(1, np.float32),
                     'std': np.ones(1, np.float32)}}

def hparams(p):
  # Members 0..5, then dead copies of member 0 with uids -1, -2 (as sweep._hparams).
  lr = np.resize(np.geomspace(1e-3, 3e-2, NUM), p)
  f32 = lambda v: np.asarray(v, np.float32)
  return pop.HParams(
      uid=np.asarray(list(range(NUM)) + [-1 - i for i in range(p - NUM)], np.int32),
      learning_rate=f32(lr), weight_decay=f32(np.zeros(p)), clip_norm=f32(np.ones(p)),
      momentum=f32(np.full(p, 0.9)), beta2=f32(np.full(p, 0.999)),
      input_dropout=f32(np.zeros(p)),
      dropout_rates=f32(np.resize([0.0, 0.1, 0.2], p)[:, None]),
      forget_bias=f32(np.ones(p)), init_scale=f32(np.ones(p)),
      hidden_units=np.full((p,), 8, np.int32))

def flat(prefix, tree):
  tree = distributed.fetch(tree)  # A collective: every process calls it.
  return {prefix + jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(tree)}

def start(mesh, p):
  hp = distributed.put(hparams(p), sharding.members_sharding(mesh))
  replicated = NamedSharding(mesh, P())
  data = distributed.put(host_data, replicated)
  key = distributed.put(jax.random.key(7), replicated)
  return hp, data, key

def train(mesh, p, state, first, last, name, results):
  hp, data, key = start(mesh, p)
  if state is None:
    state = pop.population_init_fn(cfg, mesh)(hp, key)
  chunk = pop.population_chunk_fn(cfg, mesh)
  for c in range(first, last + 1):
    state, metrics = chunk(state, hp, data, key)
    results.update(flat(f'{name}{c}/state', state), **flat(f'{name}{c}/metrics', metrics))
  return state

def abstract(mesh):
  hp, _, key = start(mesh, PADDED)
  shapes = jax.eval_shape(pop.population_init_fn(cfg, mesh), hp, key)
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(
      s.shape, s.dtype, sharding=sharding.members_sharding(mesh)), shapes)

results = {}
mesh = sharding.population_mesh()
assert mesh.size == 4, jax.devices()
if role == 'single':
  train(sharding.population_mesh(jax.devices()[:1]), NUM, None, 1, CHUNKS, 'one', results)
  train(mesh, PADDED, None, 1, CHUNKS, 'four', results)
  # The parent sends the checkpoint directory once the 2-process run has written it.
  mngr = checkpoint.manager(sys.stdin.readline().strip())
  states, progress = checkpoint.restore_latest(mngr, lambda _: {'0': abstract(mesh)})
  assert progress == {'chunk': CHUNKS - 1}, progress
  train(mesh, PADDED, states['0'], CHUNKS, CHUNKS, 'resumed', results)
elif role == 'multi':
  assert jax.process_count() == 2 and len(jax.local_devices()) == 2
  try:  # Each process names a directory of its own: not shared.
    distributed.check_shared_dir(f'{out}-own-{jax.process_index()}')
    raise SystemExit('check_shared_dir accepted directories that are not shared')
  except InputError as e:
    assert '--workdir' in str(e), e
  distributed.check_shared_dir(out + '-ckpt')
  state = train(mesh, PADDED, None, 1, CHUNKS - 1, 'multi', results)
  mngr = checkpoint.manager(out + '-ckpt')
  checkpoint.save(mngr, CHUNKS - 1, {'0': state}, {'chunk': CHUNKS - 1})
  mngr.close()
if distributed.is_main():
  np.savez(out + '.npz', **results)
distributed.sync('rnnjax-test-end')
"""


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _start(*args, log, stdin=None):
  env = {**os.environ, 'PYTHONPATH': ROOT,
         'XLA_FLAGS': '--xla_backend_optimization_level=0'}
  env.pop('JAX_NUM_CPU_DEVICES', None)
  return subprocess.Popen([sys.executable, '-c', CHILD, *map(str, args)], cwd=ROOT,
                          env=env, stdin=stdin, stdout=log, stderr=subprocess.STDOUT)


def _wait(procs, logs):
  """Waits for every child; on any failure, shows every child's output."""
  try:
    codes = [p.wait(timeout=TIMEOUT_S) for p in procs]
  except subprocess.TimeoutExpired:
    codes = ['timeout'] * len(procs)
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  if any(c != 0 for c in codes):
    text = '\n'.join(f'--- child {i} ({c}):\n{open(log.name).read()[-4000:]}'
                     for i, (c, log) in enumerate(zip(codes, logs)))
    pytest.fail(f'child process failed:\n{text}')


def _compare(a, b, keys, rtol=1e-5, atol=1e-6):
  assert keys, 'nothing to compare'
  for k in keys:
    np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('distributed')
  port = _free_port()
  logs = [open(tmp / f'{name}.log', 'w') for name in ('single', 'multi0', 'multi1')]
  single = _start('single', tmp / 'single', log=logs[0], stdin=subprocess.PIPE)
  multi = [_start('multi', tmp / 'multi', i, port, log=logs[1 + i]) for i in (0, 1)]
  try:
    _wait(multi, logs[1:])
    single.stdin.write(f'{tmp / "multi-ckpt"}\n'.encode())
  finally:
    single.stdin.close()  # Without a line, `single` fails at once rather than waiting.
  _wait([single], logs[:1])
  return {name: dict(np.load(tmp / f'{name}.npz')) for name in ('single', 'multi')}


def _keys(results, prefix):
  return sorted(k[len(prefix):] for k in results if k.startswith(prefix))


def test_sharded_over_four_devices_equals_one_device(runs):
  single = runs['single']
  for c in (1, 2, 3):
    keys = _keys(single, f'one{c}/')
    assert len(keys) == len(_keys(single, f'four{c}/')) > 10
    for k in keys:
      one, four = single[f'one{c}/{k}'], single[f'four{c}/{k}']
      assert one.shape[0] == 6 and four.shape[0] == 8, k
      np.testing.assert_allclose(one, four[:6], rtol=1e-5, atol=1e-6, err_msg=k)
  # The run really trained, and members differ (a broken shard would not).
  loss = single["four3/metrics['train_loss']"][:6]
  assert np.all(np.isfinite(loss)) and len(set(loss.round(6))) == 6
  assert np.all(single['four3/state.step'][:6] == 9)


def test_two_processes_equal_one_process(runs):
  single, multi = runs['single'], runs['multi']
  for c in (1, 2):
    keys = [f'{c}/{k}' for k in _keys(multi, f'multi{c}/')]
    assert len(keys) == len(_keys(single, f'four{c}/'))
    _compare({k: multi['multi' + k] for k in keys},
             {k: single['four' + k] for k in keys}, keys)


def test_checkpoint_of_two_processes_resumes_in_one(runs):
  single = runs['single']
  keys = [f'3/{k}' for k in _keys(single, 'resumed3/')]
  assert len(keys) == len(_keys(single, 'four3/'))
  _compare({k: single['resumed' + k] for k in keys},
           {k: single['four' + k] for k in keys}, keys)


@pytest.mark.parametrize('kwargs, flag', [
    (dict(mode='bogus'), '--distributed'),
    (dict(mode='manual', num_processes=2, process_id=0), '--coordinator_address'),
    (dict(mode='manual', coordinator_address='h:1', process_id=0), '--num_processes'),
    (dict(mode='manual', coordinator_address='h:1', num_processes=2), '--process_id'),
    (dict(mode='manual', coordinator_address='h:1', num_processes=2, process_id=2),
     '--process_id'),
    (dict(mode='manual', coordinator_address='h', num_processes=2, process_id=0),
     '--coordinator_address'),
])
def test_initialize_names_the_bad_flag(kwargs, flag):
  with pytest.raises(InputError, match=flag) as e:
    distributed.initialize(**kwargs)
  assert '\n' not in str(e.value)


def test_one_process_put_fetch_round_trip(tmp_path):
  distributed.initialize('off')
  mesh = sharding.population_mesh(jax.devices()[:1])
  tree = {'a': np.arange(6, dtype=np.float32).reshape(3, 2), 'b': np.int32(4)}
  arrays = distributed.put(tree, sharding.members_sharding(mesh))
  assert arrays['a'].sharding == sharding.members_sharding(mesh)
  back = distributed.fetch(arrays)
  np.testing.assert_array_equal(back['a'], tree['a'])
  assert back['b'] == 4 and isinstance(back['a'], np.ndarray)
  key = distributed.put(jax.random.key(3), sharding.members_sharding(mesh))
  np.testing.assert_array_equal(jax.random.key_data(key),
                                jax.random.key_data(jax.random.key(3)))
  assert distributed.is_main()
  distributed.check_shared_dir(str(tmp_path / 'absent'))  # One process: nothing to do.
  assert not (tmp_path / 'absent').exists()


SWEEP_ARGS = ['--dataset=shampoo_sales', '--lookback=4', '--val_size=6', '--test_size=6',
              '--cell=gru', '--hidden_size=grid(4,6)', '--batch_size=4',
              '--learning_rate=grid(3e-3,3e-2,1e-1)', '--dropout=0.1', '--train_steps=8',
              '--eval_every=2', '--figures=false']


def _sweep(workdir, *extra, log):
  env = {**os.environ, 'PYTHONPATH': ROOT,
         'XLA_FLAGS': '--xla_backend_optimization_level=0'}
  env.pop('JAX_NUM_CPU_DEVICES', None)
  return subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={workdir}', *SWEEP_ARGS, *extra], cwd=ROOT, env=env,
                          stdout=log, stderr=subprocess.STDOUT)


def _sweep_outcome(workdir):
  import json  # pylint: disable=g-import-not-at-top
  from rnnjax import results  # pylint: disable=g-import-not-at-top
  summary = json.load(open(os.path.join(workdir, 'summary.json')))
  records = results.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  table = {(r['uid'], r['step'], r['split'], r['metric']): r['value'] for r in records}
  assert len(table) == len(records)
  return summary, table


def test_two_process_sweep_equals_one_process_and_resumes_in_one(tmp_path):
  """The sweep command over 2 processes x 2 devices writes what 1 process x 4 devices
  writes (6 members padded to 8: no padding member in any output); killed after 3
  chunks, it finishes in 1 process identically."""
  def two_processes(workdir, kill_after=0):
    port = _free_port()
    logs = [open(f'{workdir}-{i}.log', 'w') for i in (0, 1)]
    procs = [_sweep(workdir, '--cpu_devices=2', '--distributed=manual',
                    f'--coordinator_address=localhost:{port}', '--num_processes=2',
                    f'--process_id={i}', log=logs[i]) for i in (0, 1)]
    if kill_after:
      ckpt = os.path.join(workdir, 'checkpoints')
      while all(p.poll() is None for p in procs):
        try:
          steps = [int(d) for d in os.listdir(ckpt) if d.isdigit()]
        except FileNotFoundError:  # Not created yet (or being cleared).
          steps = []
        if steps and max(steps) >= kill_after:
          for p in procs:
            p.kill()
          break
      for p in procs:
        p.wait()
      return
    _wait(procs, logs)

  one = str(tmp_path / 'one')
  log = open(f'{one}.log', 'w')
  _wait([_sweep(one, '--cpu_devices=4', log=log)], [log])
  two = str(tmp_path / 'two')
  two_processes(two)
  expected = _sweep_outcome(one)
  for got in (_sweep_outcome(two),):
    assert got[1].keys() == expected[1].keys()
    assert {k[0] for k in got[1]} == set(range(6))  # No padding member anywhere.
    keys = sorted(expected[1])
    np.testing.assert_allclose([got[1][k] for k in keys], [expected[1][k] for k in keys],
                               rtol=1e-5, atol=1e-6)
    assert got[0]['ranking'] == expected[0]['ranking']
  killed = str(tmp_path / 'killed')
  two_processes(killed, kill_after=3)
  assert not os.path.exists(os.path.join(killed, 'summary.json'))
  log = open(f'{killed}-resume.log', 'w')
  _wait([_sweep(killed, '--cpu_devices=4', log=log)], [log])
  assert 'resuming' in open(f'{killed}-resume.log').read()
  got = _sweep_outcome(killed)
  keys = sorted(expected[1])
  assert got[1].keys() == expected[1].keys()
  np.testing.assert_allclose([got[1][k] for k in keys], [expected[1][k] for k in keys],
                             rtol=1e-5, atol=1e-6)
  assert got[0]['ranking'] == expected[0]['ranking']
