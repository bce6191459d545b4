"""TensorBoard event files for a sweep: one run per member, scalars, and the HParams tab.

`tensorboard --logdir WORKDIR/tensorboard` then shows every member as a run
(`uid-0007`) with its scalars at every evaluation, and the HParams tab shows the sweep as
a table and a parallel-coordinates view.

`SweepWriter(logdir, members)` takes the summary's (or plan's) member entries and at once
writes each run's HParams session start info (its swept hyperparameters, plus `seed`
when seeds vary), so the HParams tab works during training. `add(records)` buffers metric
records (see `rnnjax.results.files`) as scalars tagged `split/metric` at their step; `flush()`
appends them to each run's one event file, opened only while writing (no open files or
threads per member). `close(summary)` adds, in every run, the experiment config
(hyperparameter domains, metric tags), the member's final status, and the summary's
validation-best metrics as `best_val/<metric>` (`test/<metric>` for the best member) at
its best step, so the HParams table shows what the ranking uses. A writer on an existing
logdir appends to the runs' event files; `rebuild(workdir)` recreates WORKDIR/tensorboard
from metrics.jsonl and summary.json (plan.json before the sweep has finished), e.g. after a
resume, so that events never repeat, and after PBT, whose HParams are then the values that
trained each member's best weights (TensorBoard keeps the first record of a tag: the
starting values, written when the runs began). Only tensorboardX's protos are needed (no
TF, no torch).
"""

import glob
import os
import shutil
import socket
import time

import numpy as np

from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.tracking import event_file
from rnnjax.search import plan as search_plan


with event_file.torch_hidden():
  # pylint: disable=g-import-not-at-top
  from tensorboardX.proto import api_pb2, event_pb2, plugin_hparams_pb2, summary_pb2
  from tensorboardX.proto import tensor_pb2, tensor_shape_pb2, types_pb2

SCALAR_SPLITS = ('train', 'val')  # The records drawn as scalars while training.
MAX_RUNS = 256      # More members: population summaries (PopulationWriter), not runs.
QUANTILES = {'min': 0.0, 'q10': 0.1, 'q25': 0.25, 'median': 0.5, 'q75': 0.75, 'q90': 0.9,
             'max': 1.0}
MAX_DISCRETE = 10   # floats with more distinct values get an interval domain
_EXPERIMENT, _START, _END = ('_hparams_/experiment', '_hparams_/session_start_info',
                             '_hparams_/session_end_info')
_STATUS = {'ok': api_pb2.STATUS_SUCCESS, 'stopped': api_pb2.STATUS_SUCCESS,
           'diverged': api_pb2.STATUS_FAILURE}
_SPLITS = {'best_val': api_pb2.DATASET_VALIDATION, 'val': api_pb2.DATASET_VALIDATION,
           'train': api_pb2.DATASET_TRAINING, 'test': api_pb2.DATASET_UNKNOWN}
# TensorBoard's own hparams summaries carry an empty float tensor (its metadata.NULL_TENSOR).
_NULL = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.
                               TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim()]))
_DIFFERS = b'\x38\x01'  # HParamInfo.differs = true (field 7, absent from tensorboardX's proto)


def run_name(uid: int) -> str:
  return f'uid-{uid:04d}'


def _hparams_value(tag: str, **data) -> summary_pb2.Summary.Value:
  content = plugin_hparams_pb2.HParamsPluginData(version=0, **data).SerializeToString()
  plugin = summary_pb2.SummaryMetadata.PluginData(plugin_name='hparams', content=content)
  return summary_pb2.Summary.Value(
      tag=tag, metadata=summary_pb2.SummaryMetadata(plugin_data=plugin), tensor=_NULL)


def _hparam_info(name: str, values: list) -> api_pb2.HParamInfo:
  distinct = sorted(set(values))
  info = api_pb2.HParamInfo(name=name)
  if isinstance(values[0], (bool, str)):
    info.type = (api_pb2.DATA_TYPE_BOOL if isinstance(values[0], bool)
                 else api_pb2.DATA_TYPE_STRING)
    info.domain_discrete.extend(distinct)
  else:
    info.type = api_pb2.DATA_TYPE_FLOAT64
    if isinstance(values[0], int) or len(distinct) <= MAX_DISCRETE:
      info.domain_discrete.extend([float(v) for v in distinct])
    else:
      info.domain_interval.min_value = distinct[0]
      info.domain_interval.max_value = distinct[-1]
  if len(distinct) > 1:
    info.MergeFromString(_DIFFERS)
  return info


class SweepWriter:
  """One TensorBoard run per member under `logdir`; see the module docstring."""

  def __init__(self, logdir: str, members: list[dict]):
    names = list(members[0]['hparams'])
    if 'seed' in members[0]:
      names.append('seed')
    value = lambda m, n: m['seed'] if n == 'seed' else m['hparams'].get(n)
    columns = {n: [value(m, n) for m in members if value(m, n) is not None] for n in names}
    swept = [n for n in names if len(set(columns[n])) > 1]
    self._hparams = {n: columns[n] for n in (swept or [n for n in names if n != 'seed'])}
    self._paths, self._pending, self._metrics = {}, {}, set()
    for m in members:
      directory = os.path.join(logdir, run_name(m['uid']))
      os.makedirs(directory, exist_ok=True)
      existing = sorted(glob.glob(os.path.join(directory, 'events.out.tfevents.*')))
      self._paths[m['uid']] = existing[-1] if existing else os.path.join(
          directory, f'events.out.tfevents.{int(time.time())}.{socket.gethostname()}.rnnjax')
      self._pending[m['uid']] = []
      if not existing:
        start = plugin_hparams_pb2.SessionStartInfo(start_time_secs=time.time())
        for n in self._hparams:
          if (v := value(m, n)) is not None:
            _set(start.hparams[n], v)
        self._write(m['uid'], event_pb2.Event(wall_time=time.time(),
                                              file_version='brain.Event:2'))
        self._write(m['uid'], event_file.event(_hparams_value(_START, session_start_info=start)))
    self.flush()

  def _write(self, uid: int, event: event_pb2.Event):
    if uid not in self._pending:
      raise ValueError(f'uid {uid} is not a member of this sweep writer')
    self._pending[uid].append(event_file.record(event))

  def _scalar(self, uid: int, split: str, metric: str, step: int, value):
    if value is not None:
      self._metrics.add((split, metric))
      self._write(uid, event_file.event(summary_pb2.Summary.Value(
          tag=f'{split}/{metric}', simple_value=float(value)), int(step)))

  def add(self, records: list[dict]):
    """Buffers metric records as scalars `split/metric` at `step`; None values are skipped."""
    for r in records:
      self._scalar(r['uid'], r['split'], r['metric'], r['step'], r['value'])

  def add_evaluation(self, evaluation, records: list[dict]):
    """A chunk's evaluation (evaluations.Evaluation, or None) and the train/val records
    among `records`."""
    if evaluation is not None:
      self.add(evaluation.records())
    self.add([r for r in records if r['split'] in SCALAR_SPLITS])

  def flush(self):
    """Appends every buffered event to its run's event file."""
    for uid, pending in self._pending.items():
      if pending:
        with open(self._paths[uid], 'ab') as f:
          f.write(b''.join(pending))
        pending.clear()

  def close(self, summary: dict | None = None):
    """Flushes; with the final summary, first writes the HParams experiment and statuses."""
    if summary is not None:
      for m in summary['members']:
        for split in ('val', 'test'):
          for metric, value in (m.get(split) or {}).items():
            self._scalar(m['uid'], 'best_val' if split == 'val' else split, metric,
                         m['best_step'], value)
      order = lambda sm: (list(_SPLITS).index(sm[0]) if sm[0] in _SPLITS else len(_SPLITS), sm)
      metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=f'{s}/{n}'),
                                    dataset_type=_SPLITS.get(s, api_pb2.DATASET_UNKNOWN))
                 for s, n in sorted(self._metrics, key=order)]
      experiment = api_pb2.Experiment(
          time_created_secs=time.time(), metric_infos=metrics,
          hparam_infos=[_hparam_info(n, v) for n, v in self._hparams.items() if v])
      for m in summary['members']:
        end = plugin_hparams_pb2.SessionEndInfo(end_time_secs=time.time(), status=_STATUS.get(
            m.get('status'), api_pb2.STATUS_UNKNOWN))
        self._write(m['uid'], event_file.event(_hparams_value(_EXPERIMENT, experiment=experiment)))
        self._write(m['uid'], event_file.event(_hparams_value(_END, session_end_info=end)))
    self.flush()


def _set(proto_value, v):
  if isinstance(v, bool):
    proto_value.bool_value = v
  elif isinstance(v, str):
    proto_value.string_value = v
  else:
    proto_value.number_value = float(v)


class PopulationWriter:
  """For sweeps of more than MAX_RUNS members: one run per bucket (`bucket-0`, ...)
  holding, for every `split/metric` at every evaluation, the members' quantiles
  (`split/metric/q25`, ...) and a histogram (`split/metric`), over the live members of
  that chunk's wave; at the end the summary's best member's validation scores
  (`best_val/metric`). No HParams tab: a table of 100,000 rows is of no use there."""

  def __init__(self, logdir: str):
    self._logdir, self._pending = logdir, {}

  def _write(self, bucket: int, value, step: int):
    if bucket not in self._pending:
      self._pending[bucket] = []
      directory = os.path.join(self._logdir, f'bucket-{bucket}')
      os.makedirs(directory, exist_ok=True)
      if not glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
        self._pending[bucket].append(event_file.record(event_pb2.Event(
            wall_time=time.time(), file_version='brain.Event:2')))
    self._pending[bucket].append(event_file.record(event_file.event(value, int(step))))

  def add_evaluation(self, evaluation, records: list[dict]):
    del records  # Searcher decisions: per member, in metrics.jsonl only.
    if evaluation is None or not len(evaluation.uids):
      return
    step = int(np.max(evaluation.steps))
    for tag, column in evaluation.values.items():
      values = np.asarray(column, np.float64)
      values = values[np.isfinite(values)]
      if not len(values):
        continue
      for name, q in QUANTILES.items():
        self._write(evaluation.bucket, summary_pb2.Summary.Value(
            tag=f'{tag}/{name}', simple_value=float(np.quantile(values, q))), step)
      counts, edges = np.histogram(values, bins=30)
      histogram = summary_pb2.HistogramProto(
          min=float(values.min()), max=float(values.max()), num=float(len(values)),
          sum=float(values.sum()), sum_squares=float(np.square(values).sum()),
          bucket_limit=edges[1:].tolist(), bucket=counts.astype(float).tolist())
      self._write(evaluation.bucket, summary_pb2.Summary.Value(tag=tag, histo=histogram),
                  step)

  def flush(self):
    for bucket, pending in self._pending.items():
      if pending:
        directory = os.path.join(self._logdir, f'bucket-{bucket}')
        existing = sorted(glob.glob(os.path.join(directory, 'events.out.tfevents.*')))
        path = existing[-1] if existing else os.path.join(
            directory, f'events.out.tfevents.{int(time.time())}.{socket.gethostname()}'
            '.rnnjax')
        with open(path, 'ab') as f:
          f.write(b''.join(pending))
        pending.clear()

  def close(self, summary: dict | None = None):
    if summary is not None and summary.get('best'):
      best = summary['best']
      member = member_table.records_of(summary['members'], [best['uid']]).get(best['uid'])
      if member is not None:
        for metric, value in (member.get('val') or {}).items():
          if value is not None:
            self._write(member['bucket'] if 'bucket' in member else 0,
                        summary_pb2.Summary.Value(tag=f'best_val/{metric}',
                                                  simple_value=float(value)),
                        member.get('best_step') or 0)
    self.flush()


def writer_for(logdir: str, plan):
  """A SweepWriter (a run per member) for up to MAX_RUNS members, else a
  PopulationWriter."""
  if plan.num_members > MAX_RUNS:
    return PopulationWriter(logdir)
  return SweepWriter(logdir, [{'uid': m.uid, 'hparams': m.hparams, 'seed': m.seed}
                              for m in plan.members])


def rebuild(workdir: str, summary: dict | None = None) -> str:
  """Recreates WORKDIR/tensorboard from the work directory's files (and `summary`, the
  finished sweep's, when it is not written yet); returns its path."""
  logdir = os.path.join(workdir, files.TENSORBOARD)
  if os.path.isdir(logdir):
    shutil.rmtree(logdir)
  summary_path = os.path.join(workdir, files.SUMMARY)
  if summary is None and os.path.exists(summary_path):
    summary = summary_file.read_summary(workdir)
  plan = files.read_json(os.path.join(workdir, files.PLAN))
  if plan.get('num_members', len(plan.get('members', ()))) > MAX_RUNS:
    writer = PopulationWriter(logdir)
    for evaluation in evaluations.read(workdir):
      writer.add_evaluation(evaluation, [])
    writer.close(summary)
    return logdir
  members = summary['members'] if summary else search_plan.members_of_json(plan)
  metrics_path = os.path.join(workdir, files.METRICS)
  latest = {}   # The last record of each (uid, split, metric, step) wins; steps in order.
  for r in evaluations.read_metrics(metrics_path) if os.path.exists(metrics_path) else []:
    if r['split'] in SCALAR_SPLITS:  # As add_evaluation: not PBT's copy records.
      latest[r['uid'], r['split'], r['metric'], r['step']] = r
  writer = SweepWriter(logdir, members)
  writer.add(sorted(latest.values(), key=lambda r: r['step']))
  writer.close(summary)
  return logdir
