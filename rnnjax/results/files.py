"""The work directory's files: their names, one atomic write, JSON, the metrics writer.

Every module that names an entry of a sweep's work directory takes the name from the
table below, and every file or directory replaced whole is written through `atomic`.
`metrics.jsonl` holds one JSON object per (member, step, split, metric), appended and
flushed once per chunk. Non-finite values are written as null (JSON has no NaN).
"""

import collections.abc
import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess

import jax
import numpy as np

import rnnjax

from rnnjax import errors

# The work directory (README.md, "The work directory"), one name each.
SWEEP = 'sweep.json'          # the spec, versions, devices
PLAN = 'plan.json'            # buckets, members, their hyperparameters
METRICS = 'metrics.jsonl'     # one record per (member, step, split, metric)
CHUNKS = 'metrics'            # a large sweep's evaluations, an .npz per chunk (evaluations)
SUMMARY = 'summary.json'      # scores, ranking, the final model (summary_file.write_summary)
MEMBERS = 'members.npz'       # a large sweep's member records as columns (member_table)
CHECKPOINTS = 'checkpoints'
TENSORBOARD = 'tensorboard'
WANDB = 'wandb'               # offline Weights & Biases runs (wandb_log; --wandb_dir elsewhere)
FIGURES = 'figures'
MODEL = 'model'               # the final model (final.saved.model_files)
PREDICTIONS = 'predictions'   # experiments.predict's default output
TPE_JOURNAL = 'tpe.journal'   # search.strategies.tpe.JOURNAL too: search is below results
JOURNAL = 'optuna.journal'    # the sweep as an Optuna study (trial_files)
TRIALS = 'trials.csv'
SERIES_SCORES = 'series_scores.csv'  # a panel's test scores per series (series_scores)
CURVES = 'curves.csv'
SAMPLE = 'sample.txt'         # charlm's sample of the best member
LOCK = 'sweep.lock'           # held while a sweep runs (run.lock)
FINALS = 'finals'             # earlier final models' results, <n>/ each (run.finish.set_aside)
# What a sweep writes, and `run.workdir.clear` removes (not the lock, nor the sample).
OWN_ENTRIES = (SWEEP, PLAN, METRICS, SUMMARY, CHECKPOINTS, TENSORBOARD, FIGURES, MODEL,
               PREDICTIONS, TPE_JOURNAL, JOURNAL, TRIALS, CURVES, CHUNKS, MEMBERS, WANDB,
               SERIES_SCORES, FINALS)
TEMPORARY = '.tmp-'           # The prefix of an entry `atomic` is writing.


@contextlib.contextmanager
def atomic(path: str):
  """Yields a path beside `path`, where nothing is yet, for the block to write a file (or
  a directory) at; when the block ends, that replaces `path` in one rename (a directory
  there is removed first), a file synced to disk before. A reader sees the old entry or
  the new one, never a part. If the block fails, what it wrote is removed. A storage
  failure is one line (errors.WriteError)."""
  directory, name = os.path.split(os.path.abspath(path))
  tmp = os.path.join(directory, f'{TEMPORARY}{os.urandom(4).hex()}-{name}')
  with errors.writing(path):
    try:
      yield tmp
      if os.path.isfile(tmp):
        fd = os.open(tmp, os.O_RDONLY)
        try:
          os.fsync(fd)
        finally:
          os.close(fd)
      elif os.path.isdir(tmp) and os.path.isdir(path):
        shutil.rmtree(path)
      os.replace(tmp, path)
    finally:
      if os.path.isdir(tmp):
        shutil.rmtree(tmp)
      elif os.path.lexists(tmp):
        os.unlink(tmp)


def remove_leftovers(workdir: str) -> list:
  """Removes what `atomic` was writing when a process was killed (kill -9: its clean-up
  never ran) in WORKDIR and its folders one level down (figures/, model/'s place):
  entries named TEMPORARY... that no live writer holds, as the caller holding the work
  directory's lock knows. Returns their paths."""
  found = []
  for directory in [workdir] + [e.path for e in _entries(workdir) if e.is_dir()]:
    for entry in _entries(directory):
      if entry.name.startswith(TEMPORARY):
        found.append(entry.path)
        if entry.is_dir(follow_symlinks=False):
          shutil.rmtree(entry.path, ignore_errors=True)
        else:
          try:
            os.unlink(entry.path)
          except OSError:
            pass
  return found


def _entries(directory: str) -> list:
  try:
    with os.scandir(directory) as it:
      return list(it)
  except OSError:
    return []


_PLAIN = (str, int, bool, type(None))


def short_float(value: float) -> float:
  """`value` as a file of scores writes it: one that is exactly a float32 (a score from
  the device, widened) as the shortest decimal that reads back as that float32
  (0.93333334, not 0.9333333969116211); any other float as it is. Reading it back and
  narrowing to float32 gives the same bits (a float64 that happens to be a float32, such
  as 262.5078125, keeps float32's precision: 262.5078)."""
  single = np.float32(value)
  if float(single) != value or value == 0 or not math.isfinite(value):
    return value
  return float(str(single))


def short_floats(values: np.ndarray) -> list:
  """`short_float` of each value of a float array, as a list of Python floats."""
  values = np.asarray(values, np.float64)
  single = values.astype(np.float32)
  exact = (single.astype(np.float64) == values) & np.isfinite(values) & (values != 0)
  out = values.tolist()
  for i in np.flatnonzero(exact).tolist():
    out[i] = float(str(single[i]))
  return out


def clean(value, short: bool = False):
  """JSON-safe: floats that are not finite become None, numpy scalars Python ones, a
  summary's tables (member_table) the lists of records they hold. short: a float that
  is exactly a float32 (a score from the device) as its shortest decimal (`short_float`),
  for the files of scores (summary.json, metrics.jsonl); never for a model's own numbers."""
  kind = type(value)
  if kind in _PLAIN:  # Most of a large summary: no attribute lookups.
    return value
  if kind is float:
    return (short_float(value) if short else value) if math.isfinite(value) else None
  if isinstance(value, dict):
    return {k: clean(v, short) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [clean(v, short) for v in value]
  if isinstance(value, collections.abc.Sequence) and not isinstance(value, (str, bytes)):
    return [clean(v, short) for v in value]
  if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
    value = value.item()
  if isinstance(value, float):
    return (short_float(value) if short else value) if math.isfinite(value) else None
  return value


def write_json(path: str, obj, *, indent: int | None = 1, short: bool = False) -> None:
  """Writes JSON atomically (`atomic`). `indent=None`: one line, and several times
  faster for long lists. short: see `clean`."""
  text = json.dumps(clean(obj, short), indent=indent)
  with atomic(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
    f.write(text)


def read_json(path: str):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


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
        self._file.write(''.join(json.dumps(clean(r, short=True)) + '\n' for r in records))

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


# A spec's flags that name a user's data file: sweep.json keeps a digest of each.
DATA_FLAGS = ('csv_path', 'test_path', 'train_path', 'text_path')


def sha256(path: str) -> str:
  """The sha256 of the file at `path`, in hex, read a MiB at a time."""
  hashed = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      hashed.update(block)
  return hashed.hexdigest()


def digest(path: str) -> str:
  """The first 16 hex digits of the sha256 of the file at `path`: which version of it."""
  return sha256(path)[:16]


def data_digests(spec_json: dict) -> dict:
  """flag -> sha256 of the file it names (DATA_FLAGS, where set and readable), for
  sweep.json: a work directory's sweep is not the same sweep once its data changed."""
  out = {}
  for flag in DATA_FLAGS:
    path = spec_json.get(flag)
    if not path or not os.path.isfile(path):
      continue
    out[flag] = sha256(path)
  return out


def descends_from(commit, ancestor: str):
  """Whether rnnjax's git `commit` (a `versions()['git']`) contains `ancestor`: True or
  False where this checkout's history knows both, None where it cannot tell (no git, an
  installed copy, a commit from another clone's unpushed work)."""
  if not commit:
    return None
  try:
    done = subprocess.run(['git', 'merge-base', '--is-ancestor', ancestor, commit],
                          capture_output=True, cwd=os.path.dirname(__file__), timeout=5)
  except (OSError, subprocess.SubprocessError):
    return None
  return {0: True, 1: False}.get(done.returncode)  # 128: a commit it does not know.


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
