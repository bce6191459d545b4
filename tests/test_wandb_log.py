"""A finished sweep as Weights & Biases runs (rnnjax/results/tracking/wandb_log.py): the
offline runs that `--wandb_project` leaves, read back from wandb's own record log
(DIR/wandb/offline-run-*/run-*.wandb), hold the members' configs, curves and scores and
the final model's scores exactly as summary.json and metrics.jsonl do; offline opens no
network connection; bad flags are one line before training.

wandb is not mocked. Since 0.30 it has no Python reader of its .wandb files (the
DataStore of wandb.sdk.internal.datastore went with the Python internal process):
`_records` reads their framing (LevelDB's log format, 32 KiB blocks of checksummed
pieces, after a 7-byte `:W&B` header) and decodes wandb's own Record protobufs.
"""

import glob
import http.server
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import zlib

import pytest

from experiments import population_sweep
from rnnjax.engine import sharding
from rnnjax.results import files
from rnnjax.search import rules
from tests.test_trial_files import _workdir

wandb = pytest.importorskip('wandb', reason='the wandb extra is not installed')
from wandb.proto import wandb_internal_pb2  # pylint: disable=g-import-not-at-top,wrong-import-position

from rnnjax.results.tracking import wandb_log  # pylint: disable=g-import-not-at-top,wrong-import-position
from tests import entry_points

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BLOCK, _HEADER = 32768, 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _records(path: str):
  """The Records of one .wandb file, in order; every piece's CRC checked."""
  with open(path, 'rb') as f:
    data = f.read()
  assert struct.unpack('<4sHB', data[:_HEADER]) == (b':W&B', 0xBEE1, 0)
  pos, pieces = _HEADER, []
  while pos + _HEADER <= len(data):
    left = _BLOCK - pos % _BLOCK
    if left < _HEADER:  # A block's tail too short for a piece: zeros.
      pos += left
      continue
    crc, length, kind = struct.unpack('<IHB', data[pos:pos + _HEADER])
    piece = data[pos + _HEADER:pos + _HEADER + length]
    assert kind in (_FULL, _FIRST, _MIDDLE, _LAST)
    assert zlib.crc32(piece, zlib.crc32(bytes([kind]))) == crc
    pos += _HEADER + length
    pieces.append(piece)
    if kind in (_FULL, _LAST):
      record = wandb_internal_pb2.Record()
      record.ParseFromString(b''.join(pieces))
      pieces = []
      yield record
  assert not pieces and pos == len(data)


def _key(item) -> str:
  return item.key or '/'.join(item.nested_key)


def _value(item):
  """An item's value: a typed field where the history item has one, else its JSON."""
  kind = item.WhichOneof('value') if item.DESCRIPTOR.oneofs_by_name.get('value') else None
  return getattr(item, kind) if kind else json.loads(item.value_json)


def _run(run_dir: str) -> dict:
  """What a run directory's .wandb file holds: the run's name, group, job type, tags,
  config, history (step -> values) and summary (wandb's own `_` keys left out), exit code."""
  (path,) = glob.glob(os.path.join(run_dir, 'run-*.wandb'))
  out = {'config': {}, 'history': {}, 'summary': {}, 'exit_code': None}
  for record in _records(path):
    kind = record.WhichOneof('record_type')
    updates = []
    if kind == 'run':
      out.update(id=record.run.run_id, name=record.run.display_name,
                 group=record.run.run_group, job_type=record.run.job_type,
                 tags=list(record.run.tags), project=record.run.project)
      updates = record.run.config.update
    elif kind == 'config':
      updates = record.config.update
    elif kind == 'history':
      items = {_key(i): _value(i) for i in record.history.item}
      out['history'][items['_step']] = {k: v for k, v in items.items() if k[0] != '_'}
    elif kind == 'summary':
      out['summary'].update({_key(u): json.loads(u.value_json)
                             for u in record.summary.update if _key(u)[0] != '_'})
    elif kind == 'exit':
      out['exit_code'] = record.exit.exit_code
    out['config'].update({_key(u): json.loads(u.value_json) for u in updates
                          if _key(u)[0] != '_'})
  return out


def _runs(directory: str) -> dict:
  """run name -> _run, of every offline run under DIRECTORY/wandb."""
  found = [_run(d) for d in glob.glob(os.path.join(directory, 'wandb', 'offline-run-*'))]
  runs = {r['name']: r for r in found}
  assert len(runs) == len(found)
  return runs


def _curves(workdir: str) -> dict:
  """uid -> {step: {'split/metric': value}} from metrics.jsonl itself."""
  out = {}
  with open(os.path.join(workdir, files.METRICS), encoding='utf-8') as f:
    for r in map(json.loads, f):
      if r['value'] is not None and r['split'] not in ('lineage', 'hparams'):
        out.setdefault(r['uid'], {}).setdefault(r['step'], {})[
            f'{r["split"]}/{r["metric"]}'] = r['value']
  return out


def _check_members(runs: dict, workdir: str, group: str) -> dict:
  """Asserts that each member's run holds what summary.json and metrics.jsonl hold of it;
  returns summary.json."""
  summary = files.read_json(os.path.join(workdir, files.SUMMARY))
  curves = _curves(workdir)
  for m in summary['members']:
    run = runs[f'uid-{m["uid"]:04d}']
    assert (run['group'], run['job_type'], run['tags']) == (
        group, 'member', [summary['task'], summary['search']])
    ids = {'fold': 0, **{k: m[k] for k in ('uid', 'bucket', 'config', 'seed', 'fold')
                         if k in m}}  # Older summaries have no folds.
    assert run['config'] == {**ids, **m['hparams']}
    assert run['history'] == curves.get(m['uid'], {})
    scores = {f'best_val/{k}': v for k, v in m['val'].items() if v is not None}
    scores.update({f'test/{k}': v for k, v in (m.get('test') or {}).items() if v is not None})
    scores.update({k: m[k] for k in ('status', 'stopped_by', 'best_step', 'steps', 'best_of')
                   if k in m})
    last = {k: v for step in sorted(run['history']) for k, v in run['history'][step].items()}
    assert run['summary'] == {**last, **scores}
    assert run['exit_code'] == (1 if m['status'] == 'diverged' else 0)
  return summary


@pytest.fixture(scope='module', autouse=True)
def _no_service_left():
  yield
  wandb.teardown()  # wandb-core, started by the in-process logs.


def _in_process(tmp_path, args, capsys, monkeypatch, **env):
  """(exit status, stdout, stderr) of the entry point run here on fresh flag values, a
  tiny sweep of shampoo sales, with no WANDB_* variable, HOME or .netrc of the user's
  (the variables `env` instead)."""
  monkeypatch.setattr(sharding, 'configure_cpu_devices', lambda _: None)  # JAX is up.
  wandb.teardown()  # wandb's settings read anew, from the variables set here.
  for k in [k for k in os.environ if k.startswith('WANDB_')]:
    monkeypatch.delenv(k)
  monkeypatch.setenv('HOME', str(tmp_path))
  monkeypatch.setenv('NETRC', str(tmp_path / 'none'))
  for k, v in env.items():
    monkeypatch.setenv(k, v)
  code = entry_points.run_main(population_sweep.main, [
      'population_sweep', f'--workdir={tmp_path / "wd"}', '--dataset=shampoo_sales',
      '--lookback=4', '--val_size=6', '--test_size=6', '--hidden_size=4', '--batch_size=4',
      '--train_steps=4', '--eval_every=2', '--figures=false', '--classical_baselines=false',
      *args])
  out = capsys.readouterr()
  return code, out.out, out.err


def test_a_sweep_command_leaves_offline_runs_equal_to_its_summary(tmp_path, capsys,
                                                                   monkeypatch):
  code, stdout, stderr = _in_process(
      tmp_path, ['--learning_rate=grid(1e-3,1e-2)', '--wandb_project=rnnjax-test'],
      capsys, monkeypatch)
  assert code == 0, stderr
  workdir = tmp_path / 'wd'
  where = os.path.join(workdir, 'wandb')
  assert f'W&B: 3 offline runs in {where} (upload: wandb sync {where})' in stdout
  runs = _runs(workdir)
  assert set(runs) == {'uid-0000', 'uid-0001', 'final'}
  assert {r['project'] for r in runs.values()} == {'rnnjax-test'}
  summary = _check_members(runs, str(workdir), 'wd')
  assert all(len(r['history']) == 2 for n, r in runs.items() if n != 'final')
  final = runs['final']
  spec = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  # The settings a forecast reads: not a classifier's class_balance, nor a panel's rows.
  others = {'class_balance', 'normalization', 'loss', 'deseasonalize', 'pooling'}
  assert spec['task'] == 'forecast' and others <= set(spec)
  assert final['config'] == {**{k: v for k, v in spec.items() if k not in others
                                and rules.applies(k, 'forecast')},
                             'kind': summary['final']['kind'],
                             'members': summary['final']['members']}
  assert not others & set(final['config'])
  assert final['summary'] == {
      **{f'final/{split}/{k}': v for split in ('val', 'test')
         for k, v in summary['final'][split].items()},
      **{f'member_steps/{k}': v for k, v in summary['member_steps'].items()}}
  assert (final['group'], final['job_type'], final['history']) == ('wd', 'final', {})

  # Logged again elsewhere, at most one member: the ranking's first (validation's best).
  again = wandb_log.log_sweep(str(workdir), 'rnnjax-test', directory=str(tmp_path / 'x'),
                              max_runs=1)
  assert [os.path.basename(d).rsplit('-', 1)[1] for d in again] == [
      f'{summary["ranking"][0]:04d}', 'final']
  assert set(_runs(tmp_path / 'x')) == {f'uid-{summary["ranking"][0]:04d}', 'final'}

  # The same command again on the finished sweep: not logged twice.
  logged = sorted(glob.glob(os.path.join(where, 'offline-run-*')))
  code, stdout, stderr = _in_process(
      tmp_path, ['--learning_rate=grid(1e-3,1e-2)', '--wandb_project=rnnjax-test'],
      capsys, monkeypatch)
  assert code == 0, stderr
  assert f'W&B: this sweep is already logged in {where}; not logged again' in stdout
  assert sorted(glob.glob(os.path.join(where, 'offline-run-*'))) == logged
  # A log stopped part-way (Ctrl-C after the first run) is removed and written anew.
  real, started = wandb.init, []

  def init(**kwargs):
    started.append(kwargs['id'])
    if len(started) == 2:
      raise KeyboardInterrupt
    return real(**kwargs)
  monkeypatch.setattr(wandb, 'init', init)
  with pytest.raises(KeyboardInterrupt):
    wandb_log.log_sweep(str(workdir), 'rnnjax-test', directory=str(tmp_path / 'y'))
  monkeypatch.setattr(wandb, 'init', real)
  assert len(glob.glob(os.path.join(tmp_path, 'y', 'wandb', 'offline-run-*'))) == 1
  again = wandb_log.log_sweep(str(workdir), 'rnnjax-test', directory=str(tmp_path / 'y'))
  assert set(_runs(tmp_path / 'y')) == {'uid-0000', 'uid-0001', 'final'}
  assert not any(started[0] in d for d in again)


def test_members_of_every_status_offline_in_a_process_that_opens_no_connection(tmp_path):
  workdir = str(tmp_path / 'wd')
  _workdir(workdir)  # Complete, diverged, cut by halving, PBT-perturbed; no ranking.
  # Any connection, to W&B's server (WANDB_BASE_URL) or anywhere through the proxy an
  # HTTP client takes, arrives at this socket; none may, up to the process's exit
  # (wandb's telemetry sends at exit). No WANDB_MODE, no credentials.
  listener = socket.create_server(('127.0.0.1', 0))
  listener.setblocking(False)
  url = f'http://127.0.0.1:{listener.getsockname()[1]}'
  env = {k: v for k, v in os.environ.items()
         if not k.startswith('WANDB_') and k.lower() not in ('no_proxy', 'netrc')}
  env.update(PYTHONPATH=ROOT, JAX_PLATFORMS='cpu', HOME=str(tmp_path), WANDB_BASE_URL=url,
             **{k: url for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')})
  script = ('from rnnjax.results.tracking import wandb_log; '
            f'print(len(wandb_log.log_sweep({workdir!r}, "p", directory={str(tmp_path / "out")!r})))')
  proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                        cwd=ROOT, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert proc.stdout.split() == ['5']
  with pytest.raises(BlockingIOError):
    listener.accept()
  listener.close()
  runs = _runs(tmp_path / 'out')
  _check_members(runs, workdir, 'wd')
  # The diverged member: no NaN logged, no test score, a failed run.
  assert runs['uid-0001']['history'] == {2: {'train/loss': 1.0, 'val/mse': 5.0},
                                         4: {'train/loss': 1.0}, 6: {'train/loss': 1.0}}
  assert runs['uid-0001']['exit_code'] == 1 and 'test/mse' not in runs['uid-0001']['summary']
  assert runs['uid-0002']['summary']['stopped_by'] == 'halving at 2'
  # PBT: the value it ended with; its lineage and new values are not curves.
  assert runs['uid-0003']['config']['learning_rate'] == 0.0025
  assert runs['final']['summary'] == {'final/val/mse': 1.5, 'final/test/mse': 2.5,
                                      'member_steps/useful': 20, 'member_steps/budget': 24}
  assert runs['final']['config']['search'] == 'pbt'
  assert len({r['id'] for r in runs.values()}) == 5


BAD = [
    (['--wandb_project=a/b'], "error: --wandb_project: 'a/b' is not a W&B project name"),
    (['--wandb_project=p', '--wandb_dir={tmp}/file/runs'],
     'error: --wandb_dir: cannot write runs in {tmp}/file/runs: {tmp}/file is not a '
     'directory'),
    (['--wandb_dir={tmp}/runs'], 'error: --wandb_dir: given without --wandb_project'),
    (['--wandb_project=p', '--wandb_mode=online'],
     'error: --wandb_mode=online: no W&B credentials (set WANDB_API_KEY or run `wandb '
     'login`)'),
]


@pytest.mark.parametrize('args, message', BAD, ids=[m for _, m in BAD])
def test_bad_wandb_flags_are_one_line_before_training(tmp_path, args, message, capsys,
                                                      monkeypatch):
  (tmp_path / 'file').write_text('')
  code, _, stderr = _in_process(tmp_path, [a.format(tmp=tmp_path) for a in args], capsys,
                                monkeypatch)
  assert code == 2, stderr
  lines = [line for line in stderr.splitlines() if line.strip()]
  assert lines == [lines[0]] and message.format(tmp=tmp_path) in lines[0], stderr
  assert not (tmp_path / 'wd').exists()


class _Refuse(http.server.BaseHTTPRequestHandler):
  """A W&B server that refuses every request (401), and notes its paths."""
  paths = []

  def do_POST(self):  # pylint: disable=invalid-name
    self.paths.append(self.path)
    self.send_response(401)
    self.send_header('Content-Length', '0')
    self.end_headers()

  def log_message(self, *args):
    del args


def test_online_credentials_the_server_refuses_are_one_line_before_training(
    tmp_path, capsys, monkeypatch):
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Refuse)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  url = f'http://127.0.0.1:{server.server_address[1]}'
  for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
    monkeypatch.delenv(k, raising=False)
  try:
    code, _, stderr = _in_process(
        tmp_path, ['--wandb_project=p', '--wandb_mode=online'], capsys, monkeypatch,
        WANDB_BASE_URL=url, WANDB_API_KEY='k' * 40, NO_PROXY='127.0.0.1')
  finally:
    server.shutdown()
  assert code == 2, stderr
  lines = [line for line in stderr.splitlines() if line.strip()]
  assert len(lines) == 1, stderr
  assert lines[0].startswith('error: --wandb_mode=online: the W&B server refused the '
                             f'credentials or did not answer (Failed to authenticate with {url}')
  assert '/graphql' in _Refuse.paths
  assert not (tmp_path / 'wd').exists()


def test_online_mode_with_a_server_that_never_answers_is_one_line_in_time(
    tmp_path, capsys, monkeypatch):
  """A compute node without network: wandb keeps retrying; the check gives up at its
  deadline with one line, before anything is written."""
  silent = socket.socket()
  silent.bind(('127.0.0.1', 0))
  silent.listen()  # Connections wait in the backlog, never answered.
  for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
    monkeypatch.delenv(k, raising=False)
  monkeypatch.setattr(wandb_log, 'ONLINE_CHECK_S', 5)
  try:
    code, _, stderr = _in_process(
        tmp_path, ['--wandb_project=p', '--wandb_mode=online'], capsys, monkeypatch,
        WANDB_BASE_URL=f'http://127.0.0.1:{silent.getsockname()[1]}',
        WANDB_API_KEY='k' * 40, NO_PROXY='127.0.0.1')
  finally:
    silent.close()
  assert code == 2, stderr
  lines = [line for line in stderr.splitlines() if line.strip()]
  assert lines == ['error: --wandb_mode=online: the W&B server did not answer in 5 s; or '
                   'log offline and `wandb sync` later (from a machine with network)']
  assert not (tmp_path / 'wd').exists()
