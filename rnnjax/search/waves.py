"""What the engine runs: every bucket's static train config and its members in waves.

`planner.make_plan` decides which members exist and how they group into buckets (one
structure each); `make_runs` turns that into `Run`s, the single hand-off from "what the
user asked" to "what the engine runs": a bucket's members in equal waves that fit the
memory budget (so one compiled program serves every wave of a bucket), each wave's
hyperparameters stacked by `hparams.stack` and padded to a multiple of the device count.
"""

import dataclasses
import math

from rnnjax.data import task_data
from rnnjax.engine import distributed
from rnnjax.engine import model
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import plan as search_plan
from rnnjax.search import probe


@dataclasses.dataclass(frozen=True)
class Run:
  """A bucket's wave of members, trained as one population.

  uids: row order of the population arrays; rows with uid < 0 pad the population to a
    multiple of the device count. Empty once halving has cut every member.
  hp, state: the population's HParams and TrainState (state None before the run's first
    chunk, and after halving ended it).
  data_key: which data it trains on: (lookback or None, cross-validation fold).
  """
  bucket: int
  cfg: pop.TrainConfig
  uids: tuple
  hp: pop.HParams
  data_key: tuple = (None, 0)
  state: pop.TrainState | None = None


def train_config(structure: dict, data: task_data.TaskData, spec) -> pop.TrainConfig:
  """A bucket's static config: its structural values, the data's shapes, the spec's
  task settings."""
  cfg = model.ModelConfig(cell=structure['cell'], input_size=data.input_size,
                          hidden_size=structure['hidden_size'],
                          num_layers=structure['num_layers'],
                          output_size=data.output_size, readout=data.readout,
                          variational=spec.variational_dropout)
  return pop.TrainConfig(model=cfg, optimizer=structure['optimizer'],
                         batch_size=structure['batch_size'],
                         steps_per_chunk=spec.eval_every, num_targets=data.num_targets,
                         patience=spec.patience, task=spec.task, seq_len=spec.seq_len,
                         difference=spec.difference and spec.task == 'forecast',
                         num_folds=spec.folds,
                         normalization=structure.get('normalization', ''),
                         loss=structure.get('loss', ''),
                         deseasonalize=bool(structure.get('deseasonalize', 0)),
                         history=float(structure.get('history', 0)),
                         selection=spec.selection)


def make_runs(plan, spec, datas: dict, mesh, max_memory_gb: float = 0.0,
              group_size: int = 0, wave_sizes: tuple = (), began_gb: float = 0.0):
  """Each bucket's members in waves of equal size that fit `max_memory_gb` (0: half the
  machine's memory). Returns ([Run], the plan as JSON with the budget its waves were
  planned by (`memory_budget_gb`), each bucket's parameters, padding, waves, and the
  members per vmap group on a device that training will use (`group_size` asked for, 0:
  see `sharding.group_size`).

  wave_sizes: the wave size of each of the first buckets, kept whatever the budget
  plans (a resumed sweep's, as it began: its checkpoint holds those waves); where the
  budget would plan another, the bucket's `budget_plans` says what (resume's note).
  began_gb: the budget a resumed sweep began with (plan.json's `memory_budget_gb`; 0:
  `max_memory_gb`'s), which plans the buckets after `wave_sizes` (the rounds its search
  asks after the resume) as it planned them uninterrupted: waves that group members
  otherwise round floats otherwise (`same_groups`).

  datas: data key (a bucket's lookback or None, fold) -> its TaskData. Each fold's
  members train in waves of their own, on their fold's data, by the bucket's one
  program (the folds' data have equal shapes, see task_data.same_shapes).
  """
  budget = (max_memory_gb or probe.default_memory_gb()) * 2**30
  began = began_gb * 2**30 or budget
  plan_json = {**plan.to_json(), 'memory_budget_gb': began / 2**30}
  runs = []
  for b, structure in enumerate(plan.buckets):
    uids = plan.bucket_uids(b)
    data = datas[(structure.get('lookback'), spec.folds - 1)]
    cfg = train_config(structure, data, spec)
    activations = pop.activation_bytes(cfg, data.seq_len)
    wave_bytes = lambda size: probe.wave_bytes(cfg, data, size, mesh.size, group_size)
    num = len(uids) // spec.folds
    fit = lambda budget: same_groups(probe.waves(num, wave_bytes, budget, mesh.size)[
        'wave_size'], num, mesh.size, group_size, activations)
    planned, kept = fit(budget)
    size = wave_sizes[b] if b < len(wave_sizes) else fit(began)[0]
    count = lambda size: -(-num // size) * spec.folds  # Each fold's members wave apart.
    for fold in range(spec.folds):
      mine = uids[search_plan.fold_of(uids, spec.folds) == fold]
      for start in range(0, len(mine), size):
        wave = mine[start:start + size]
        column = lambda name, wave=wave: (plan.column(name, wave) if name in plan.columns
                                          else None)
        hp = hparams.stack_from(column, wave, size, structure['num_layers'])
        runs.append(Run(b, cfg, tuple(hp.uid.tolist()),
                        distributed.put(hp, sharding.members_sharding(mesh)),
                        data_key=(structure.get('lookback'), fold)))
    plan_json['buckets'][b].update(
        probe.describe(cfg, plan.column('hidden_size', uids)), wave_size=size,
        num_waves=count(size),
        estimated_bytes_per_member=wave_bytes(size) / size,
        group_size=sharding.group_size(size // mesh.size, group_size, activations),
        activation_bytes_per_member=activations)
    if size != planned:  # Said (resume): the budget's waves, and whether these fit it.
      plan_json['buckets'][b]['budget_plans'] = dict(
          num_waves=count(planned), wave_size=planned,
          **({'over_budget_gb': wave_bytes(size) / 2**30} if wave_bytes(size) > budget
             else {}))
    elif wave_bytes(size) > budget:  # Said (wave_notes): the fewest members still over.
      plan_json['buckets'][b]['over_budget_gb'] = wave_bytes(size) / 2**30
    if not kept and size == planned:  # Said (wave_notes), with the budget keeping them.
      whole = sharding.padded_size(num, mesh.size)
      keeps = next((wave_bytes(w) / 2**30 for w in range(size, whole + 1, mesh.size)
                    if fit(wave_bytes(w))[1]), None)  # One wave's, at the latest.
      one_wave = sharding.group_size(whole // mesh.size, group_size, activations)
      wave = plan_json['buckets'][b]['group_size']
      plan_json['buckets'][b].update(
          one_wave_group_size=one_wave, groups_kept_from_gb=keeps and _up(keeps),
          # vmap groups on a device: one group compiles to other code than a loop of them.
          groups_a_device=-(-(size // mesh.size) // wave),
          one_wave_groups_a_device=-(-(whole // mesh.size) // one_wave))
  return runs, plan_json


def _up(x: float) -> float:
  """x rounded up to 3 significant digits (a budget said that way still fits)."""
  step = 10.0 ** (math.floor(math.log10(x)) - 2)
  return math.ceil(round(x / step, 9)) * step


def budget_words(max_memory_gb: float) -> str:
  """The memory budget as a note names it: the flag as given, or the default's size."""
  return (f'--max_memory_gb={max_memory_gb:g}' if max_memory_gb
          else f'the default budget (half this machine\'s memory, '
          f'{probe.default_memory_gb():.3g} GB)')


def over_words(gb: float, budget: str) -> str:
  """What every note of waves estimated over the memory budget (`budget`, as it names it)
  says of them."""
  return f'estimated at {gb:.3g} GB, over {budget}: they run, and may run out of memory'


def kept_over_notes(buckets: list, max_memory_gb: float) -> list:
  """A line per bucket planned by the budget its sweep began with in waves estimated over
  the budget now (make_runs: `budget_plans`' over_budget_gb): the rounds a resumed search
  asks after the resume."""
  return [f'note: bucket {b["bucket"]}: waves of {b["wave_size"]} members, planned by the '
          'budget the sweep began with, are '
          + over_words(b['budget_plans']['over_budget_gb'], budget_words(max_memory_gb))
          for b in buckets if 'over_budget_gb' in b.get('budget_plans', {})]


def wave_notes(plan_json: dict, max_memory_gb: float = 0.0) -> list:
  """A line per bucket whose smallest waves (a member a device) are over the memory
  budget, and per bucket whose waves group its members otherwise than one wave would
  (`make_runs`: no wave size that fits the budget keeps the groups), so that training
  rounds floats otherwise than without the budget. max_memory_gb: the flag as given (0:
  the default budget), as the notes name it (`budget_words`)."""
  budget = budget_words(max_memory_gb)
  groups = lambda n, size: f'{n} vmap group{"s" * (n != 1)} of {size}'
  over = [f'note: bucket {b["bucket"]}: waves of {b["wave_size"]} members, a member a '
          'device, are ' + over_words(b['over_budget_gb'], budget)
          for b in plan_json['buckets'] if 'over_budget_gb' in b]
  return over + [f'note: bucket {b["bucket"]}: waves of {b["wave_size"]} members (to fit '
          f'{budget}) train in '
          f'{groups(b["groups_a_device"], b["group_size"])} a device, where one '
          'wave would in '
          f'{groups(b["one_wave_groups_a_device"], b["one_wave_group_size"])}: '
          'floats round otherwise than without the budget, which training can amplify '
          'into other results'
          + (f'; --max_memory_gb={b["groups_kept_from_gb"]:.3g} or more keeps them'
             if b['groups_kept_from_gb'] else '')
          for b in plan_json['buckets'] if 'groups_kept_from_gb' in b]


def same_groups(size: int, num_members: int, num_devices: int, requested: int,
                member_bytes: int) -> tuple[int, bool]:
  """(wave size, whether its groups are one wave's): the largest wave size up to
  `size`, a multiple of the device count, whose members on a device form vmap groups of
  the size the bucket's `num_members` would in one wave (`sharding.group_size`),
  several groups where it would have several; (`size`, False) where there is none (on a
  GPU a group is every member of a device). The groups set XLA's float rounding (one
  group compiles to other code than a loop over groups), so a sweep trains the same
  members, bit for bit, whether or not a smaller memory budget cut it into waves."""
  local_whole = sharding.padded_size(num_members, num_devices) // num_devices
  whole = sharding.group_size(local_whole, requested, member_bytes)
  fewest = 2 * whole if local_whole > whole else whole
  for local in range(size // num_devices, fewest - 1, -1):
    if local % whole == 0 and sharding.group_size(local, requested, member_bytes) == whole:
      return local * num_devices, True
  return size, False


def check_batch_sizes(plan, datas: dict) -> None:
  """datas: as `make_runs`'s; every fold's training set must hold a batch."""
  num_folds = len({fold for _, fold in datas})
  for structure in plan.buckets:
    for (lookback, fold), data in datas.items():
      if lookback == structure.get('lookback') and structure['batch_size'] > data.num_train:
        where = f' of fold {fold + 1} of {num_folds}' if num_folds > 1 else ''
        why = ''
        if data.task in ('forecast', 'panel'):  # Windows: the lookback is the other lever.
          why = (f': windows of --lookback={lookback} inputs and --horizon targets; a '
                 'shorter --lookback makes more' if lookback else '')
        raise InputError(f'--batch_size: {structure["batch_size"]} is larger than the '
                         f'training set{where} ({data.num_train} examples{why})')


def check_log_inputs(plan, datas: dict) -> None:
  """datas: as `make_runs`'s; a panel member with normalization 'log' takes the
  logarithm of every known point, so each series' train part must be > 0."""
  if not any(s.get('normalization') == 'log' for s in plan.buckets):
    return
  for data in datas.values():
    where = data.info.get('nonpositive')
    if where:
      raise InputError(f'--normalization: log needs values > 0, and {where}; use last or '
                       'robust for this panel')


def buckets_from(runs, order: list, position: int) -> set:
  """The buckets of the runs that train a chunk at `position` of `order` or later
  (a run with no real member left trains none)."""
  return {runs[r].bucket for r, _ in order[position:]
          if len(runs[r].uids) and max(runs[r].uids) >= 0}


def chunk_order(num_runs: int, num_chunks: int, chunk_major: bool) -> list:
  """The sweep's chunks in the order they run: (run, chunk). Adaptive searches advance
  every run one chunk at a time, so that they can compare members across runs."""
  if chunk_major:
    return [(r, c) for c in range(num_chunks) for r in range(num_runs)]
  return [(r, c) for r in range(num_runs) for c in range(num_chunks)]
