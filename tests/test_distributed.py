"""Sharded, multi-process and resumed-elsewhere runs all equal one plain run.

Child processes, because a process fixes its CPU device count when JAX starts:
  single   1 process, 4 CPU devices. (a) trains 6 members for 3 chunks of 3 steps
           unsharded on one device (P=6), and sharded over all four (P=8, padded with
           dead members of uids -1, -2), and saves both with np.savez; (b) runs SPEC as
           a sweep on its 4 devices; (c) once the 2-process sweep has finished, resumes
           a copy of it rewound to an earlier checkpoint (see `_rewind`).
  two      the sweep command over 2 processes x 2 CPU devices on localhost, one mesh of
           4: the one real multi-process run of the suite.
Meanwhile the test process runs SPEC on its single device. Compiling is most of the
time here, so the children compile without XLA optimisation (all alike, so comparisons
between children are strict; with the test process they allow for the other flags).
"""

import json
import os
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from rnnjax.engine import distributed
from rnnjax.engine import processes
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.run import sweep
from rnnjax.run import workdir as workdir_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 240

# 6 members over 4 devices: two dead padding members that must never show up.
SPEC = sweep.SweepSpec(classical_baselines=False,
                       dataset='shampoo_sales', lookback='4', val_size=6, test_size=6,
                       cell='gru', hidden_size='grid(4,6)', batch_size='4',
                       learning_rate='grid(3e-3,3e-2,1e-1)', dropout='0.1', train_steps=8,
                       eval_every=2)
SWEEP_ARGS = ['--dataset=shampoo_sales', '--classical_baselines=false',
              '--lookback=4', '--val_size=6', '--test_size=6',
              '--cell=gru', '--hidden_size=grid(4,6)', '--batch_size=4',
              '--learning_rate=grid(3e-3,3e-2,1e-1)', '--dropout=0.1', '--train_steps=8',
              '--eval_every=2', '--figures=false']
REWIND_TO = 3  # Chunks the rewound copy of the 2-process sweep keeps.

CHILD = r"""
import json, sys
out = sys.argv[1]
from rnnjax.engine import distributed
from rnnjax.engine import sharding
sharding.configure_cpu_devices(4)
import jax, numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.run import sweep

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
  # Members 0..5, then dead copies of member 0 with uids -1, -2 (as search.hparams pads a population).
  lr = np.resize(np.geomspace(1e-3, 3e-2, NUM), p)
  f32 = lambda v: np.asarray(v, np.float32)
  return pop.HParams(
      uid=np.asarray(list(range(NUM)) + [-1 - i for i in range(p - NUM)], np.int32),
      learning_rate=f32(lr), weight_decay=f32(np.zeros(p)), clip_norm=f32(np.ones(p)),
      momentum=f32(np.full(p, 0.9)), beta2=f32(np.full(p, 0.999)),
      input_dropout=f32(np.zeros(p)),
      dropout_rates=f32(np.resize([0.0, 0.1, 0.2], p)[:, None]),
      forget_bias=f32(np.ones(p)), init_scale=f32(np.ones(p)),
      class_balance=f32(np.zeros(p)), hidden_units=np.full((p,), 8, np.int32))

def flat(prefix, tree):
  tree = distributed.fetch(tree)
  return {prefix + jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(tree)}

def train(mesh, p, name, results):
  hp = distributed.put(hparams(p), sharding.members_sharding(mesh))
  replicated = NamedSharding(mesh, P())
  data = distributed.put(host_data, replicated)
  key = distributed.put(jax.random.key(7), replicated)
  state = pop.population_init_fn(cfg, mesh)(hp, key)
  chunk = pop.population_chunk_fn(cfg, mesh)
  for c in range(1, CHUNKS + 1):
    state, metrics = chunk(state, hp, data, key)
    results.update(flat(f'{name}{c}/state', state), **flat(f'{name}{c}/metrics', metrics))

assert jax.device_count() == 4, jax.devices()
results = {}
train(sharding.population_mesh(jax.devices()[:1]), NUM, 'one', results)
train(sharding.population_mesh(), PADDED, 'four', results)
np.savez(out + '.npz', **results)
spec = sweep.SweepSpec(**json.loads(sys.argv[2]))
sweep.run_sweep(spec, out + '-sweep', log=print)
# The parent sends the rewound copy of the 2-process sweep once it has written it.
# Resumed with groups of 1 member (the sweeps above ran groups of 2): speed only.
sweep.run_sweep(spec, sys.stdin.readline().strip(), group_size=1, log=print)
"""


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _env():
  env = {**os.environ, 'PYTHONPATH': ROOT,
         'XLA_FLAGS': os.environ['RNNJAX_TEST_XLA_FLAGS']}
  env.pop('JAX_NUM_CPU_DEVICES', None)
  return env


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


def _rewind(workdir, copy, chunks):
  """A copy of a finished sweep as it stood after `chunks` chunks: the later checkpoints
  and the summary removed. metrics.jsonl keeps later records, as after a kill between a
  chunk's records and its checkpoint; resuming must drop them."""
  shutil.copytree(workdir, copy)
  os.unlink(os.path.join(copy, 'summary.json'))
  ckpt = os.path.join(copy, 'checkpoints')
  steps = sorted(int(d) for d in os.listdir(ckpt) if d.isdigit())
  assert chunks in steps and steps[-1] > chunks, steps
  for step in steps:
    if step > chunks:
      shutil.rmtree(os.path.join(ckpt, str(step)))


def _outcome(workdir):
  summary = json.load(open(os.path.join(workdir, 'summary.json')))
  records = evaluations.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  table = {(r['uid'], r['step'], r['split'], r['metric']): r['value'] for r in records}
  assert len(table) == len(records), 'duplicated metric records'
  return summary, table


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('distributed')
  port = _free_port()
  logs = [open(tmp / f'{name}.log', 'w') for name in ('single', 'two0', 'two1')]
  single = subprocess.Popen([sys.executable, '-c', CHILD, str(tmp / 'single'),
                             json.dumps(SPEC.to_json())], cwd=ROOT, env=_env(),
                            stdin=subprocess.PIPE, stdout=logs[0], stderr=subprocess.STDOUT)
  two = [subprocess.Popen([sys.executable, '-m', 'experiments.population_sweep',
                           f'--workdir={tmp / "two"}', *SWEEP_ARGS, '--cpu_devices=2',
                           '--keep_checkpoints=100', '--distributed=manual',
                           f'--coordinator_address=localhost:{port}', '--num_processes=2',
                           f'--process_id={i}'], cwd=ROOT, env=_env(), stdout=logs[1 + i],
                          stderr=subprocess.STDOUT) for i in (0, 1)]
  try:
    # The same sweep on this process's one device, while the children run.
    sweep.run_sweep(SPEC, str(tmp / 'one'), log=lambda _: None)
    _wait(two, logs[1:])
    _rewind(tmp / 'two', tmp / 'rewound', REWIND_TO)
    single.stdin.write(f'{tmp / "rewound"}\n'.encode())
  finally:
    single.stdin.close()  # Without a line, `single` fails at once rather than waiting.
  _wait([single], logs[:1])
  return {'population': dict(np.load(tmp / 'single.npz')),
          'single_log': open(tmp / 'single.log').read(),
          **{name: str(tmp / d) for name, d in (('one', 'one'), ('four', 'single-sweep'),
                                                ('two', 'two'), ('rewound', 'rewound'))}}


def _keys(results, prefix):
  return sorted(k[len(prefix):] for k in results if k.startswith(prefix))


def test_sharded_over_four_devices_equals_one_device(runs):
  population = runs['population']
  for c in (1, 2, 3):
    keys = _keys(population, f'one{c}/')
    assert len(keys) == len(_keys(population, f'four{c}/')) > 10
    for k in keys:
      one, four = population[f'one{c}/{k}'], population[f'four{c}/{k}']
      assert one.shape[0] == 6 and four.shape[0] == 8, k
      np.testing.assert_allclose(one, four[:6], rtol=1e-5, atol=1e-6, err_msg=k)
  # The run really trained, and members differ (a broken shard would not).
  loss = population["four3/metrics['train_loss']"][:6]
  assert np.all(np.isfinite(loss)) and len(set(loss.round(6))) == 6
  assert np.all(population['four3/state.step'][:6] == 9)


def test_sharded_sweep_equals_single_device(runs):
  """The sweep on 4 devices (6 members padded to 8) equals it on this process's one
  device; no padding member in any output."""
  one, four = _outcome(runs['one']), _outcome(runs['four'])
  assert [m['uid'] for m in four[0]['members']] == list(range(6))
  assert {k[0] for k in four[1]} == set(range(6))
  assert four[1].keys() == one[1].keys()
  keys = sorted(one[1])
  np.testing.assert_allclose([four[1][k] for k in keys], [one[1][k] for k in keys],
                             rtol=1e-4, atol=1e-6)
  for a, b in zip(one[0]['members'], four[0]['members']):
    np.testing.assert_allclose(a['val']['mse'], b['val']['mse'], rtol=1e-4)


def test_two_process_sweep_equals_one_process_and_resumes_in_one(runs):
  """The sweep command over 2 processes x 2 devices writes what 1 process x 4 devices
  writes; rewound to an earlier checkpoint, it finishes in 1 process identically."""
  expected = _outcome(runs['four'])
  assert json.load(open(os.path.join(runs['two'], 'sweep.json')))['spec'] == SPEC.to_json()
  assert f'resuming {runs["rewound"]}: {REWIND_TO} of ' in runs['single_log']
  # Its 4 devices on fewer cores (CI's 2) are said to share them.
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  assert ('note: 4 CPU devices on 2 cores share them, a thread each' in runs['single_log']
          ) == (sharding.usable_cpus() == 2), runs['single_log']
  for workdir in (runs['two'], runs['rewound']):
    got = _outcome(workdir)
    assert got[1].keys() == expected[1].keys()
    assert {k[0] for k in got[1]} == set(range(6))  # No padding member anywhere.
    keys = sorted(expected[1])
    np.testing.assert_allclose([got[1][k] for k in keys], [expected[1][k] for k in keys],
                               rtol=1e-5, atol=1e-6)
    assert got[0]['ranking'] == expected[0]['ranking']
    for a, b in zip(got[0]['members'], expected[0]['members']):
      assert (a['uid'], a['status'], a['best_step']) == (b['uid'], b['status'],
                                                         b['best_step'])


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
  workdir_lib.check_shared_dir(str(tmp_path / 'absent'))  # One process: nothing to do.
  assert not (tmp_path / 'absent').exists()


def test_a_taken_coordinator_port_is_refused_before_jax_starts_it(monkeypatch):
  """gRPC fails in C++ on a taken port ("Failed to add port", then a segmentation
  fault): process 0 checks the port first, and refuses in one line."""
  monkeypatch.setattr(jax.distributed, 'initialize',
                      lambda **_: pytest.fail('jax.distributed.initialize was reached'))
  with socket.socket() as taken:
    taken.bind(('127.0.0.1', 0))
    taken.listen()
    port = taken.getsockname()[1]
    with pytest.raises(InputError) as e:
      distributed.initialize('manual', coordinator_address=f'localhost:{port}',
                             num_processes=2, process_id=0)
  assert str(e.value) == (f'--coordinator_address: port {port} on localhost is in use: is '
                          'another run\'s coordinator there? choose another port')
  # Free again, the check passes and leaves the port free for the coordinator at once.
  processes.check_port_free(f'localhost:{port}')
  with socket.socket(socket.AF_INET6) as coordinator:
    coordinator.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    coordinator.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    coordinator.bind(('::', port))
    coordinator.listen()
  with pytest.raises(InputError, match="--coordinator_address: 'h:x': the port 'x'"):
    processes.check_port_free('h:x')


@pytest.mark.parametrize('mode', ['off', 'auto'])
def test_manual_flags_without_manual_are_refused(mode):
  """A loop that leaves --distributed out would run N separate sweeps."""
  with pytest.raises(InputError) as e:
    distributed.initialize(mode, num_processes=2, process_id=1)
  assert str(e.value).startswith(f'--num_processes, --process_id: given with '
                                 f'--distributed={mode}, which ')
  assert str(e.value).endswith('add --distributed=manual (on every process), or leave '
                               'them out')
  with pytest.raises(InputError, match='^--coordinator_address: given with'):
    distributed.initialize(mode, coordinator_address='localhost:1234')
  processes.check_manual_flags_unused(mode)  # Nothing given: nothing to refuse.


def test_a_differing_num_processes_is_refused_on_every_process():
  """The coordinator (process 0) fixes the count; a process started with another
  --num_processes is told so, and the others name it."""
  processes.check_process_count([2, 2], 2, 1)
  with pytest.raises(InputError) as e:
    processes.check_process_count([2, 3], 2, 1)
  assert str(e.value) == ('--num_processes: 3 here (process 1), but process 0 started the '
                          'run with 2 processes; give every process the same '
                          '--num_processes')
  with pytest.raises(InputError, match=r'^--num_processes: process\(es\) \[1\] were '
                     'started with --num_processes=3, this run has 2 processes'):
    processes.check_process_count([2, 3], 2, 0)


def _join_alone(margin_s=None):
  code = ('from rnnjax.engine import distributed, processes\n'
          + (f'processes.FALLBACK_MARGIN_S = {margin_s}\n' if margin_s is not None else '')
          + f'distributed.initialize("manual", coordinator_address="localhost:{_free_port()}",'
          ' num_processes=2, process_id=0, initialization_timeout_s=2)\n'
          'print("joined")')
  return subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=_env(),
                        capture_output=True, text=True, timeout=TIMEOUT_S)


_NOT_JOINED = ('--num_processes, --process_id: not every process joined the run within '
               '2 s: check both on every process, and that each one was started')


def test_a_process_nobody_joins_is_told_why_before_the_runtime_ends_it():
  """The runtime ends a process that waits too long for the others in C++ (an abort,
  with a stack trace), its deadline starting after the timers: the first says why at
  the deadline without ending anything; the fallback's exit comes 30 s later, so the
  runtime's own end comes first."""
  proc = _join_alone()
  assert proc.returncode not in (0, 2), proc.stderr  # The runtime's abort, not ours.
  assert (f'rnnjax: {_NOT_JOINED}; the runtime ends this process unless they join now'
          in proc.stderr.splitlines())
  assert 'joined\n' not in proc.stdout


def test_a_runtime_that_hangs_unjoined_is_ended_by_the_fallback_in_one_line():
  proc = _join_alone(margin_s=0.5)
  assert proc.returncode == 2, proc.stderr
  assert proc.stderr.strip().splitlines()[-1] == f'error: {_NOT_JOINED}'
  assert 'Fatal' not in proc.stderr and 'joined' not in proc.stdout


def test_peer_lost_tells_a_lost_process_from_other_failures():
  gloo = jax.errors.JaxRuntimeError(
      'UNKNOWN: Gloo AllGather failed: [pair.cc:547] Connection closed by peer\nmore')
  assert processes.peer_lost(gloo, processes=2) == (
      'UNKNOWN: Gloo AllGather failed: [pair.cc:547] Connection closed by peer')
  assert processes.peer_lost(gloo, processes=1) is None  # One process: a bug.
  assert processes.peer_lost(jax.errors.JaxRuntimeError(
      'RESOURCE_EXHAUSTED: Out of memory'), processes=2) is None
  assert processes.peer_lost(ValueError('Connection closed by peer'), processes=2) is None
  assert processes.peer_lost(jax.errors.JaxRuntimeError(
      'UNAVAILABLE: barrier timed out'), processes=2) is None  # Too broad to tell.
