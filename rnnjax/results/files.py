"""Writers for a sweep's work directory: atomic JSON files and the long metrics table.

`metrics.jsonl` holds one JSON object per (member, step, split, metric), appended and
flushed once per chunk. Non-finite values are written as null (JSON has no NaN).
"""

import contextlib
import json
import math
import os
import platform
import subprocess
import tempfile

import jax
import numpy as np

import rnnjax

from rnnjax import errors

SWEEP, PLAN, METRICS, SUMMARY = 'sweep.json', 'plan.json', 'metrics.jsonl', 'summary.json'
OWN_ENTRIES = (SWEEP, PLAN, METRICS, SUMMARY, 'checkpoints', 'tensorboard', 'figures',
               'model', 'predictions', 'tpe.journal', 'optuna.journal', 'trials.csv',
               'curves.csv',
               'metrics', 'members.npz')  # evaluations.DIRNAME, member_table.FILENAME


_PLAIN = (str, int, bool, type(None))


def clean(value):
  """JSON-safe: floats that are not finite become None, numpy scalars become Python."""
  kind = type(value)
  if kind in _PLAIN:  # Most of a large summary: no attribute lookups.
    return value
  if kind is float:
    return value if math.isfinite(value) else None
  if isinstance(value, dict):
    return {k: clean(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [clean(v) for v in value]
  if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def write_json(path: str, obj, *, indent: int | None = 1) -> None:
  """Writes JSON atomically: a reader sees the old file or the new one, never a part.
  `indent=None`: one line, and several times faster for long lists."""
  directory = os.path.dirname(os.path.abspath(path))
  text = json.dumps(clean(obj), indent=indent)
  with errors.writing(path):
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix='.json')
    try:
      with os.fdopen(fd, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
      os.replace(tmp, path)
    except BaseException:
      if os.path.exists(tmp):
        os.unlink(tmp)
      raise


def read_json(path: str):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def read_summary(workdir: str) -> dict:
  """WORKDIR/summary.json, with a large sweep's member records, ranking and
  configurations read from the columns it points at (see member_table.py): either way
  'members' and 'configs' are sequences of records and 'ranking' a list of uids."""
  from rnnjax.results import member_table  # pylint: disable=g-import-not-at-top
  return member_table.read(workdir, read_json(os.path.join(workdir, SUMMARY)))


class MetricsWriter:
  """Appends metric records to `metrics.jsonl`; `flush()` once per chunk. With no
  path (processes other than 0 of a distributed sweep) it writes nothing."""

  def __init__(self, path: str | None):
    self._path = path
    with errors.writing(path or ''):
      self._file = open(path, 'a', encoding='utf-8') if path else None

  def write(self, records: list[dict]):
    if self._file:
      with self._writing():
        self._file.write(''.join(json.dumps(clean(r)) + '\n' for r in records))

  def flush(self):
    if self._file:
      with self._writing():
        self._file.flush()
        os.fsync(self._file.fileno())

  @contextlib.contextmanager
  def _writing(self):
    """A failed write is one line (errors.WriteError), and the file is closed, so that
    nothing flushes it again at exit. Resuming cuts it back to what the last checkpoint
    covers."""
    try:
      with errors.writing(self._path):
        yield
    except errors.WriteError:
      try:
        self._file.close()
      except OSError:
        pass  # Closing flushes once more, and fails again; the descriptor is closed.
      self._file = None
      raise

  def tell(self) -> int:
    """Bytes written so far: what a checkpoint taken now covers."""
    return self._file.tell() if self._file else 0

  def close(self):
    if self._file:
      self._file.close()


def records(*, uid, bucket, step, split, metrics: dict) -> list[dict]:
  """Long-format records, one per metric, of one member's evaluation."""
  return [{'uid': uid, 'bucket': bucket, 'step': step, 'split': split, 'metric': name,
           'value': float(value)} for name, value in metrics.items()]


def read_metrics(path: str) -> list[dict]:
  """The records of a sweep's metrics as long-format records: of metrics.jsonl and of
  the evaluation chunks beside it (large sweeps write their evaluations there; see
  evaluations.py). path: the work directory, or its metrics.jsonl."""
  from rnnjax.results import evaluations  # pylint: disable=g-import-not-at-top
  if os.path.isdir(path):
    path = os.path.join(path, METRICS)
  workdir = os.path.dirname(os.path.abspath(path))
  chunks = list(evaluations.read(workdir))
  out = []
  if os.path.exists(path) or not chunks:  # Neither: FileNotFoundError naming the file.
    with open(path, encoding='utf-8') as f:
      out = [json.loads(line) for line in f if line.strip()]
  for evaluation in chunks:
    out += [clean(r) for r in evaluation.records()]
  return out


def versions() -> dict:
  """The versions of rnnjax (and its git commit), JAX and friends, for sweep.json and
  the saved model's manifest."""
  try:
    git = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                         cwd=os.path.dirname(__file__), timeout=5).stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    git = None
  import flax, optax, orbax.checkpoint  # pylint: disable=g-import-not-at-top,multiple-imports
  return {'rnnjax': rnnjax.__version__, 'jax': jax.__version__, 'flax': flax.__version__,
          'optax': optax.__version__, 'orbax': orbax.checkpoint.__version__,
          'numpy': np.__version__, 'python': platform.python_version(), 'git': git}
