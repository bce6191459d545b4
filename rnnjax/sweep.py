"""A whole sweep: spec -> plan -> data -> train every bucket -> results on disk.

`run_sweep(spec, workdir)` is the library entry point behind
`experiments/population_sweep.py`; tests call it directly with a tiny spec. Every input
is checked (spec, data, work directory) before anything is written.
"""

import dataclasses
import os

import jax
import numpy as np

from rnnjax import checkpoint
from rnnjax import distributed
from rnnjax import model
from rnnjax import population as pop
from rnnjax import probe
from rnnjax import report
from rnnjax import results
from rnnjax import search
from rnnjax import searcher as searcher_lib
from rnnjax import sharding
from rnnjax import spec as spec_lib
from rnnjax import summary as summary_lib
from rnnjax import tasks
from rnnjax import workdir as workdir_lib
from rnnjax.data import task_data
from rnnjax.errors import InputError

SweepSpec = spec_lib.SweepSpec
make_plan = spec_lib.make_plan
load_data = spec_lib.load_data


def _hparams(members, size, num_layers) -> pop.HParams:
  """Members' values (host arrays), padded to `size` with dead copies of the first
  (uids -1, -2...)."""
  padded = list(members) + [members[0]] * (size - len(members))
  uids = [m.uid for m in members] + [-1 - i for i in range(size - len(members))]
  column = lambda name: np.asarray([m.hparams[name] for m in padded], np.float32)
  rates = [[m.hparams.get(f'dropout_{l}', m.hparams['dropout'])
            for l in range(1, num_layers + 1)] for m in padded]
  return pop.HParams(
      uid=np.asarray(uids, np.int32),
      hidden_units=np.asarray([m.hparams['hidden_size'] for m in padded], np.int32),
      dropout_rates=np.asarray(rates, np.float32),
      **{name: column(name) for name in search.SCALAR if name != 'dropout'})


def _train_config(structure, data: task_data.TaskData, spec: SweepSpec):
  cfg = model.ModelConfig(cell=structure['cell'], input_size=data.input_size,
                          hidden_size=structure['hidden_size'],
                          num_layers=structure['num_layers'],
                          output_size=data.output_size, readout=data.readout,
                          variational=spec.variational_dropout)
  return pop.TrainConfig(model=cfg, optimizer=structure['optimizer'],
                         batch_size=structure['batch_size'],
                         steps_per_chunk=spec.eval_every, num_targets=data.num_targets,
                         patience=spec.patience, task=spec.task, seq_len=spec.seq_len,
                         difference=spec.difference and spec.task == 'forecast')


def _device_data(data: task_data.TaskData, split_names, mesh):
  """Split arrays replicated on every device: floats as float32, integers as int32."""
  as_host = lambda a: np.asarray(a, np.int32 if np.issubdtype(np.asarray(a).dtype,
                                                              np.integer) else np.float32)
  return distributed.put({split: {k: as_host(v) for k, v in data.arrays[split].items()}
                          for split in split_names}, sharding.replicated(mesh))


@dataclasses.dataclass
class Run:
  """A bucket's wave of members, trained as one population (padded with dead members,
  uids < 0, to a multiple of the device count)."""
  bucket: int
  cfg: pop.TrainConfig
  uids: list            # Row order of the population arrays.
  hp: pop.HParams = None
  state: pop.TrainState = None
  data_key: int | None = None  # Which data it trains on (forecasting: its lookback).


def _runs(plan, spec: SweepSpec, datas: dict, mesh, max_memory_gb: float):
  """Each bucket's members in waves of equal size that fit the memory budget, so one
  compiled program serves every wave of a bucket. Returns ([Run], the plan as JSON with
  each bucket's parameters, padding and waves)."""
  budget = (max_memory_gb or probe.default_memory_gb()) * 2**30
  plan_json = plan.to_json()
  runs = []
  for b, structure in enumerate(plan.buckets):
    members = plan.bucket_members(b)
    data = datas[structure.get('lookback')]
    cfg = _train_config(structure, data, spec)
    per_member = probe.estimate_bytes(cfg, data.seq_len)
    waves = probe.waves(len(members), per_member, budget, mesh.size)
    for start in range(0, len(members), waves['wave_size']):
      wave = members[start:start + waves['wave_size']]
      hp = distributed.put(_hparams(wave, waves['wave_size'], structure['num_layers']),
                           sharding.members_sharding(mesh))
      runs.append(Run(b, cfg, [m.uid for m in wave] +
                      [-1 - i for i in range(waves['wave_size'] - len(wave))], hp,
                      data_key=structure.get('lookback')))
    plan_json['buckets'][b].update(probe.describe(cfg, members), **waves,
                                   estimated_bytes_per_member=per_member)
  return runs, plan_json


def _order(num_runs, num_chunks, chunk_major):
  """The sweep's chunks in the order they run: (run, chunk). Adaptive searches advance
  every run one chunk at a time, so that they can compare members across runs."""
  if chunk_major:
    return [(r, c) for c in range(num_chunks) for r in range(num_runs)]
  return [(r, c) for r in range(num_runs) for c in range(num_chunks)]


def _check_data(plan, datas):
  for structure in plan.buckets:
    data = datas[structure.get('lookback')]
    if structure['batch_size'] > data.num_train:
      raise InputError(f'--batch_size: {structure["batch_size"]} is larger than the '
                       f'training set ({data.num_train} examples)')


def run_sweep(spec: SweepSpec, workdir: str, *, overwrite: bool = False,
              group_size: int = 0, keep_checkpoints: int = 3, log=print,
              progress_bar: bool = False, dry_run: bool = False,
              max_memory_gb: float = 0.0, figures: bool = False) -> dict:
  """Runs (or resumes) the sweep; returns its summary, also in WORKDIR/summary.json.

  Re-running on a work directory that holds this sweep unfinished resumes from its last
  good checkpoint; finished, it reports the stored summary. `group_size`: members per
  vmap group on a device (0: see `sharding.group_size`); it changes speed only, so it is
  not part of the spec, nor is `max_memory_gb`, the memory a wave of a bucket's members
  may take (0: half the machine's). `dry_run`: compile every bucket's program (with a
  one-step chunk) and time a step, print the plan, and return it without training or
  writing anything. `figures`: write WORKDIR/figures (rnnjax.figures) at the end.

  Several processes (see distributed.py) run this same call: every one trains its
  devices' members; process 0 alone writes files, and logs.
  """
  main = distributed.is_main()
  if not main:
    log = lambda _: None
  spec_lib.check(spec)
  plan = make_plan(spec)
  # One data set per lookback (forecasting's structural data axis), else one.
  datas = {lookback: load_data(spec, lookback)
           for lookback in sorted({s.get('lookback') for s in plan.buckets}, key=str)}
  data = next(iter(datas.values()))  # Shared facts: sizes, baselines, names.
  _check_data(plan, datas)
  mesh = sharding.population_mesh()
  base_key = distributed.put(jax.random.key(spec.seed), sharding.replicated(mesh))
  device_data = {k: _device_data(d, ('train', 'val'), mesh) for k, d in datas.items()}
  num_chunks = spec.train_steps // spec.eval_every
  runs, plan_json = _runs(plan, spec, datas, mesh, max_memory_gb)
  if dry_run:
    if jax.process_count() > 1:
      raise InputError('--dry_run: run it in one process (without --distributed)')
    first_waves = {run.bucket: (run.cfg, run.uids, run.hp, device_data[run.data_key])
                   for run in reversed(runs)}
    probed = probe.probe_all([first_waves[b] for b in range(len(plan.buckets))],
                             base_key, mesh, group_size)
    for b, figures in enumerate(probed):
      plan_json['buckets'][b].update(figures)
      plan_json['buckets'][b]['chunk_s'] *= plan_json['buckets'][b]['num_waves']
    log(report.plan_table(plan_json, num_chunks))
    return plan_json
  distributed.check_shared_dir(workdir)
  # tensorboardX imports torch when it is installed (1.5 s): not for a dry run.
  from rnnjax import tensorboard  # pylint: disable=g-import-not-at-top
  status = workdir_lib.state_of(workdir, spec.to_json(), overwrite=overwrite)
  distributed.sync('rnnjax-state-of')  # Before process 0 writes anything.
  if status == workdir_lib.FINISHED:
    summary = results.read_json(os.path.join(workdir, results.SUMMARY))
    log(f'{workdir} already holds this finished sweep (--overwrite to run it again)')
    log(report.ranking_table(summary))
    return summary

  if main:
    os.makedirs(workdir, exist_ok=True)
  metrics_path = os.path.join(workdir, results.METRICS)
  mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
  restored = None
  if status == workdir_lib.RESUME:
    restored = checkpoint.restore_latest(
        mngr, lambda progress: _abstract(runs, progress, base_key, mesh), log=log)
  searcher = searcher_lib.Searcher(spec, plan, {k: d['val'] for k, d in device_data.items()},
                                   mesh, group_size)
  if restored is None:
    mngr.close()
    if main:
      workdir_lib.clear(workdir)
      results.write_json(os.path.join(workdir, results.SWEEP),
                         {'spec': spec.to_json(), 'versions': workdir_lib.versions(),
                          'devices': [str(d) for d in jax.devices()],
                          'processes': jax.process_count()})
      results.write_json(os.path.join(workdir, results.PLAN), plan_json)
      open(metrics_path, 'w').close()
    distributed.sync('rnnjax-cleared')
    mngr = checkpoint.manager(workdir, keep=keep_checkpoints)
    start = 0
  else:
    trees, progress = restored
    for r, run in enumerate(runs):
      run.uids = progress['uids'][r]
      run.state, run.hp = trees.get(str(r), (None, run.hp))
    searcher.restore(progress['searcher'])
    if main:
      workdir_lib.truncate(metrics_path, progress['metrics_bytes'])
    start = progress['position'] + 1
    log(f'resuming {workdir}: {start} of {len(runs) * num_chunks} chunks were done')
  for note in data.notes:
    log(note)
  log(f'{len(plan.members)} members in {len(plan.buckets)} bucket(s), {len(runs)} wave(s) on '
      f'{mesh.size} device(s); swept: {", ".join(plan.swept) or "nothing"}; '
      f'search: {spec.search}; work directory: {workdir}')

  writer = results.MetricsWriter(metrics_path if main else None)
  if restored is not None and main:
    tensorboard.rebuild(workdir)  # Exactly the events the checkpoint covers.
  events = tensorboard.SweepWriter(os.path.join(workdir, tensorboard.DIRNAME),
                                   [{'uid': m.uid, 'hparams': m.hparams}
                                    for m in plan.members]) if main else None
  order = _order(len(runs), num_chunks, chunk_major=spec.search in search.ADAPTIVE)
  bar = report.Progress(len(order), log=log, bar=progress_bar, done=start)
  task = tasks.TASKS[spec.task]
  rename = lambda metrics: {data.metric_names.get(k, k): v for k, v in metrics.items()}
  for position in range(start, len(order)):
    r, c = order[position]
    run = runs[r]
    if run.uids and max(run.uids) >= 0:
      if run.state is None:
        run.state = pop.population_init_fn(run.cfg, mesh)(run.hp, base_key)
      run.state, metrics = pop.population_chunk_fn(run.cfg, mesh, group_size)(
          run.state, run.hp, device_data[run.data_key], base_key)
      metrics, steps, member_status, best_val = distributed.fetch(
          (metrics, run.state.step, run.state.status, run.state.best_val))
      records = []
      for i, uid in enumerate(run.uids):
        if uid < 0:
          continue
        where = dict(uid=uid, bucket=run.bucket, step=int(steps[i]))
        records += results.records(split='train', **where,
                                   metrics={'loss': metrics['train_loss'][i]})
        records += results.records(split='val', **where, metrics=rename(
            {k: v[i] for k, v in metrics['val'].items()}))
      searcher.observe(r, run.uids, metrics['val'][task.selection], member_status,
                       best_val)
      real = np.asarray(run.uids) >= 0
      bar.chunk(run.bucket, (c + 1) * spec.eval_every, metrics['val'][task.display][real],
                member_status[real], metric=task.display, mode=task.display_mode)
    else:
      records = []
    if r == len(runs) - 1 or spec.search not in search.ADAPTIVE:
      records += searcher.decide(runs, (c + 1) * spec.eval_every)
    writer.write(records)
    writer.flush()  # Before the checkpoint that covers these records.
    if events is not None:
      events.add([rec for rec in records if rec['split'] in ('train', 'val')])
      events.flush()
    checkpoint.save(mngr, position + 1,
                    {str(r): (run.state, run.hp) for r, run in enumerate(runs)
                     if run.state is not None},
                    {'position': position, 'metrics_bytes': writer.tell(),
                     'uids': [run.uids for run in runs], 'searcher': searcher.progress(),
                     'started': [str(r) for r, run in enumerate(runs)
                                 if run.state is not None]})
  writer.close()
  bar.close()
  mngr.close()

  summary = summary_lib.summarise(
      spec, plan, runs, searcher.retired, data,
      {k: _device_data(d, ('val', 'test'), mesh) for k, d in datas.items()},
      mesh=mesh, group_size=group_size, rename=rename)
  summary.update(timing=bar.timing(), member_steps=searcher.member_steps(
      summary['members'], len(plan.members) * spec.train_steps))
  if spec.task == 'charlm' and summary['best'] and spec.sample_chars:
    summary['sample'] = summary_lib.write_sample(spec, runs, summary['best'], data,
                                                 workdir if main else None, mesh)
  if main:
    events.close(summary)
    results.write_json(os.path.join(workdir, results.SUMMARY), summary)
    log(report.ranking_table(summary))
    if figures:
      from rnnjax import figures as figures_lib  # pylint: disable=g-import-not-at-top
      figures_lib.make_all(workdir, log=log)  # matplotlib loads slowly: only when asked.
  distributed.sync('rnnjax-end')
  return summary


def _abstract(runs, progress, base_key, mesh):
  """The checkpoint's tree: (state, hp) of each started run, at its size then."""
  shard = sharding.members_sharding(mesh)
  if len(progress['uids']) != len(runs):
    raise InputError(f'--max_memory_gb: this sweep\'s checkpoint ran in '
                     f'{len(progress["uids"])} waves, this run plans {len(runs)}; resume it '
                     'with the --max_memory_gb it ran with')
  tree = {}
  for r, run in enumerate(runs):
    if str(r) not in progress['started']:
      continue
    size = len(progress['uids'][r])
    if size % mesh.size:
      raise InputError(f'--cpu_devices: this sweep\'s checkpoint holds populations of '
                       f'{size} rows, which {mesh.size} devices cannot share equally; '
                       'resume it on a number of devices that divides it (1 always does)')
    hp = jax.tree.map(lambda a: jax.ShapeDtypeStruct((size,) + a.shape[1:], a.dtype,
                                                     sharding=shard), run.hp)
    state = jax.eval_shape(pop.population_init_fn(run.cfg, mesh), hp, base_key)
    state = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=shard),
                         state)
    tree[str(r)] = (state, hp)
  return tree
