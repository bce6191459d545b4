"""A chunk's evaluation of a wave's members, held as columns, and how it is written.

`Evaluation` holds, for the real members of one run after one chunk, their uids, steps
and one column per `split/metric`. Small sweeps (at most `JSONL_MAX_MEMBERS` members)
write it to metrics.jsonl as long-format records, one per (member, metric), as before.
Larger ones write one `WORKDIR/metrics/chunk-NNNNNN.npz` per chunk (NNNNNN: its position
in the sweep's order of chunks), a few arrays instead of a JSON line per member and
metric: at P = 100,000 that is one file of a few MB per chunk rather than 500,000 lines.
`read_metrics` (results.read_metrics) reads both, so readers see the same long-format
records; `curves` reads one metric of the chunk files as arrays (the learning-curves
figure).
PBT's decisions stay in metrics.jsonl: they are few (halving's cuts are each cut member's
`stopped_by` in the summary).

Resuming removes the chunk files past the restored checkpoint's position (`truncate`),
as metrics.jsonl is cut back to the bytes the checkpoint covers.
"""

import dataclasses
import glob
import json
import os
import re

import numpy as np

from rnnjax.results import files

JSONL_MAX_MEMBERS = 1024
_CHUNK = re.compile(r'chunk-(\d+)\.npz$')


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """uids, steps: <int>[n]; values: 'split/metric' -> <float64>[n], in record order."""
  bucket: int
  uids: np.ndarray
  steps: np.ndarray
  values: dict

  def records(self) -> list[dict]:
    """Long-format records (see results.records), member by member."""
    keys = [(k, *k.split('/', 1)) for k in self.values]
    columns = {k: np.asarray(v, np.float64).tolist() for k, v in self.values.items()}
    return [{'uid': uid, 'bucket': self.bucket, 'step': step, 'split': split,
             'metric': metric, 'value': columns[k][i]}
            for i, (uid, step) in enumerate(zip(self.uids.tolist(), self.steps.tolist()))
            for k, split, metric in keys]


def columnar(num_members: int) -> bool:
  """Whether a sweep of `num_members` writes its evaluations as .npz chunks."""
  return num_members > JSONL_MAX_MEMBERS


def _path(workdir: str, position: int) -> str:
  return os.path.join(workdir, files.CHUNKS, f'chunk-{position:06d}.npz')


def write(workdir: str, position: int, evaluation: Evaluation) -> None:
  """Writes the chunk file atomically (a temporary file renamed)."""
  with files.atomic(_path(workdir, position)) as tmp:
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, 'wb') as f:
      np.savez(f, bucket=np.int64(evaluation.bucket), uids=evaluation.uids,
               steps=evaluation.steps, keys=np.asarray(list(evaluation.values)),
               **{f'value_{i}': np.asarray(v, np.float32)
                  for i, v in enumerate(evaluation.values.values())})


def _positions(workdir: str) -> list:
  found = []
  for path in glob.glob(os.path.join(workdir, files.CHUNKS, 'chunk-*.npz')):
    if match := _CHUNK.search(path):
      found.append((int(match.group(1)), path))
  return sorted(found)


def read(workdir: str):
  """The chunk files' Evaluations, in the sweep's order."""
  for _, path in _positions(workdir):
    with np.load(path) as z:
      keys = [str(k) for k in z['keys']]
      yield Evaluation(int(z['bucket']), z['uids'], z['steps'],
                       {k: z[f'value_{i}'].astype(np.float64) for i, k in enumerate(keys)})


def read_metrics(path: str) -> list[dict]:
  """The records of a sweep's metrics as long-format records: of metrics.jsonl and of
  the evaluation chunks beside it (large sweeps write their evaluations there).
  path: the work directory, or its metrics.jsonl."""
  if os.path.isdir(path):
    path = os.path.join(path, files.METRICS)
  chunks = list(read(os.path.dirname(os.path.abspath(path))))
  out = []
  if os.path.exists(path) or not chunks:  # Neither: FileNotFoundError naming the file.
    with open(path, encoding='utf-8') as f:
      out = [json.loads(line) for line in f if line.strip()]
  for evaluation in chunks:
    out += [files.clean(r, short=True) for r in evaluation.records()]
  return out


def curves(workdir: str, split: str, metric: str) -> dict:
  """uid -> (<int64>[S] steps, <float64>[S] values) of `split/metric` from the chunk
  files, steps ascending ({} without chunk files). Reads that column alone, and makes
  no record per evaluation: a sweep of 100,000 members has millions."""
  key = f'{split}/{metric}'
  uids, steps, values = [], [], []
  for _, path in _positions(workdir):
    with np.load(path) as z:
      keys = [str(k) for k in z['keys']]
      if key in keys:
        uids.append(z['uids'])
        steps.append(z['steps'])
        values.append(z[f'value_{keys.index(key)}'].astype(np.float64))
  if not uids:
    return {}
  uids, steps, values = (np.concatenate(a) for a in (uids, steps, values))
  # By uid, then step; of a step written twice the later file's value (as a dict would).
  order = np.lexsort((-np.arange(len(uids)), steps, uids))
  uids, steps, values = uids[order], steps[order], values[order]
  first = np.ones(len(uids), bool)
  first[1:] = (uids[1:] != uids[:-1]) | (steps[1:] != steps[:-1])
  uids, steps, values = uids[first], steps[first], values[first]
  starts = np.flatnonzero(np.r_[True, uids[1:] != uids[:-1]])
  ends = np.r_[starts[1:], len(uids)]
  return {int(uids[a]): (steps[a:b], values[a:b]) for a, b in zip(starts, ends)}


def truncate(workdir: str, position: int) -> None:
  """Removes the chunk files past `position` (what the restored checkpoint covers)."""
  for p, path in _positions(workdir):
    if p > position:
      os.unlink(path)
  for tmp in glob.glob(os.path.join(workdir, files.CHUNKS, files.TEMPORARY + '*')):
    os.unlink(tmp)
