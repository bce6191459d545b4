"""Training one member, written for one member; a population is exactly one `vmap`.

Static shapes (`TrainConfig`) build the functions; the member's traced values
(`HParams`) and state (`TrainState`) are pytrees whose population form has a leading
`[P]` axis. `population_chunk_fn(cfg)` is `jit` of `run_chunk` mapped over the members
(a vmap per group, groups per device; see sharding.py): one compile per config,
whatever the hyperparameter values.

Randomness never lives in the state: member key = fold_in(base_key, uid // num_folds),
and step s draws its batch and dropout masks from fold_in(member key, s). A member's run
therefore depends on its uid and values alone, not on the population around it, and a
restored state continues exactly. The cross-validation folds of one configuration and
seed (uids seed_uid * num_folds + fold, see search.py) share their randomness: the same
initial weights, batch draws and dropout masks, each on its own fold's data, as the
member with uid seed_uid would have in a sweep without folds.

A member whose loss or update turns non-finite is frozen at its last finite parameters
and marked DIVERGED; nothing it computes reaches another member.
"""

import dataclasses
import functools

import flax.struct
import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import optax

from rnnjax.engine import model
from rnnjax.engine import optim
from rnnjax.engine import sharding
from rnnjax.engine import tasks

OK, DIVERGED, STOPPED = 0, 1, 2
STATUS_NAMES = ('ok', 'diverged', 'stopped')


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything static: shapes and families. Hashable; one compile per value."""
  model: model.ModelConfig
  optimizer: str
  batch_size: int
  steps_per_chunk: int
  num_targets: int = 1  # forecast: the readout's outputs are [horizon, num_targets].
  patience: int = 0     # Evaluations without improvement before a member stops (0: never).
  task: str = 'forecast'  # A key of tasks.TASKS: batches, loss and metrics.
  seq_len: int = 0      # charlm: characters per training window.
  difference: bool = False  # forecast: targets are changes (data/windows/series_windows.py).
  num_folds: int = 1    # Cross-validation folds: a member's randomness is its uid's // this.
  normalization: str = ''  # panel: how each window is scaled (tasks.NORMALIZATIONS).
  loss: str = ''        # panel: the training loss (tasks.LOSSES).
  deseasonalize: bool = False  # panel: windows divided by their seasonal indices.
  history: float = 0.0  # panel: train on windows ending in the last history x horizon points.
  selection: str = ''   # The validation metric kept and stopped on ('': the task's).


@flax.struct.dataclass
class HParams:
  """One member's traced hyperparameters (population form: each field <[P]>)."""
  uid: jax.Array
  learning_rate: jax.Array
  weight_decay: jax.Array
  clip_norm: jax.Array
  momentum: jax.Array
  beta2: jax.Array
  input_dropout: jax.Array
  dropout_rates: jax.Array  # <float32>[num_layers]: on each layer's output.
  forget_bias: jax.Array
  init_scale: jax.Array
  class_balance: jax.Array  # classify: the loss weighs a case by its class's share ** -this.
  hidden_units: jax.Array   # <int32>[]: the member's real width (<= the bucket's).


@flax.struct.dataclass
class TrainState:
  params: dict
  opt_state: optax.OptState
  step: jax.Array         # <int32>[]: training steps taken.
  status: jax.Array       # <int32>[]: OK, DIVERGED or STOPPED.
  best_val: jax.Array     # <float32>[]: best validation selection metric so far.
  best_step: jax.Array    # <int32>[]: step at which best_val was reached.
  stale: jax.Array        # <int32>[]: evaluations since best_val last improved.
  best_params: dict       # Parameters at best_step; test scores come from these.
  best_uid: jax.Array     # <int32>[]: the member whose row trained best_params (PBT: a
                          # copy may hold its source's best; else the member's own uid).


def member_key(cfg: TrainConfig, base_key, uid):
  return jax.random.fold_in(base_key, uid if cfg.num_folds == 1 else uid // cfg.num_folds)


def make_optimizer(cfg: TrainConfig, hp: HParams):
  return optim.make(cfg.optimizer, learning_rate=hp.learning_rate,
                    weight_decay=hp.weight_decay, clip_norm=hp.clip_norm,
                    momentum=hp.momentum, beta2=hp.beta2)


def init_member(cfg: TrainConfig, hp: HParams, base_key) -> TrainState:
  key = jax.random.fold_in(member_key(cfg, base_key, hp.uid), 0)
  params = model.init_params(cfg.model, key, init_scale=hp.init_scale,
                             forget_bias=hp.forget_bias, hidden_units=hp.hidden_units)
  return TrainState(
      params=params, opt_state=make_optimizer(cfg, hp).init(params),
      step=jnp.int32(0), status=jnp.int32(OK), best_val=jnp.float32(jnp.inf),
      best_step=jnp.int32(0), stale=jnp.int32(0), best_params=params,
      best_uid=jnp.asarray(hp.uid, jnp.int32))


def loss_fn(cfg: TrainConfig, params, hp: HParams, batch, key):
  return tasks.TASKS[cfg.task].loss(cfg, params, hp, batch, key)


def train_step(cfg: TrainConfig, state: TrainState, hp: HParams, data, base_key):
  """One optimizer step on a batch drawn for (uid, step). Returns (state, loss)."""
  key = jax.random.fold_in(member_key(cfg, base_key, hp.uid), state.step + 1)
  batch_key, dropout_key = jax.random.split(key)
  batch = tasks.TASKS[cfg.task].batch(cfg, data['train'], batch_key)
  loss, grads = jax.value_and_grad(loss_fn, argnums=1)(cfg, state.params, hp, batch,
                                                       dropout_key)
  updates, opt_state = make_optimizer(cfg, hp).update(grads, state.opt_state,
                                                      state.params)
  finite = jnp.isfinite(loss) & jnp.isfinite(optax.tree.norm(updates))
  live = state.status == OK
  take = live & finite
  keep_new = lambda new, old: jax.tree.map(lambda n, o: jnp.where(take, n, o), new, old)
  state = state.replace(
      params=keep_new(optax.apply_updates(state.params, updates), state.params),
      opt_state=keep_new(opt_state, state.opt_state),
      step=state.step + take.astype(jnp.int32),
      status=jnp.where(live & ~finite, DIVERGED, state.status))
  return state, jnp.where(live, loss, jnp.nan)


def train_chunk(cfg: TrainConfig, state, hp, data, base_key):
  """`cfg.steps_per_chunk` steps under `lax.scan`. Returns (state, <float32>[K] losses)."""
  return jax.lax.scan(lambda s, _: train_step(cfg, s, hp, data, base_key), state,
                      None, length=cfg.steps_per_chunk)


def evaluate(cfg: TrainConfig, params, split):
  """The task's metrics of `params` on a whole split (a dict of arrays, see engine/tasks/)."""
  return tasks.TASKS[cfg.task].evaluate(cfg, params, split)


def run_chunk(cfg: TrainConfig, state: TrainState, hp: HParams, data, base_key):
  """Trains one chunk, validates, keeps the validation-best parameters, and stops a
  member after `cfg.patience` evaluations without improvement."""
  state, train_losses = train_chunk(cfg, state, hp, data, base_key)
  val = evaluate(cfg, state.params, data['val'])
  selected = val[tasks.selection_of(cfg.task, cfg.difference, cfg.selection)]
  live = state.status == OK
  improved = live & (selected < state.best_val)
  stale = jnp.where(improved, 0, state.stale + live.astype(jnp.int32))
  stop = live & (cfg.patience > 0) & (stale >= cfg.patience)
  state = state.replace(
      status=jnp.where(stop, STOPPED, state.status), stale=stale,
      best_val=jnp.where(improved, selected, state.best_val),
      best_step=jnp.where(improved, state.step, state.best_step),
      best_uid=jnp.where(improved, hp.uid, state.best_uid),
      best_params=jax.tree.map(lambda n, o: jnp.where(improved, n, o), state.params,
                               state.best_params))
  return state, {'train_loss': jnp.mean(train_losses), 'val': val}


def train_seq_len(cfg: TrainConfig, train: dict) -> int:
  """Time steps of a training window: charlm's seq_len, else the windows' length."""
  return cfg.seq_len if 'tokens' in train else train['x'].shape[1]


def activation_bytes(cfg: TrainConfig, seq_len: int) -> int:
  """What one member's training step stores per layer and time step for its backward
  pass, as the fused LSTM does: gates and their gradients [B, 4H] each, cell states,
  hidden states and inputs [B, H] each (11H per example, float32). The fused GRU stores
  less (gates and their gradient [B, 3H], hn and hidden states [B, H]: 8H) and the RNN
  less still (2H), so their groups are sized conservatively."""
  return 4 * cfg.model.num_layers * seq_len * cfg.batch_size * 11 * cfg.model.hidden_size


def evaluation_bytes(cfg: TrainConfig, split) -> int:
  """Memory one member's evaluation of a whole split (`evaluate`: every example at
  once) needs, from its shapes alone: per example and time step, each layer's hidden
  states and a copy of the top layer's (swapped to examples first for the readout), and
  the larger of the inputs (one-hot characters: the vocabulary; dead once the first
  layer has run) and two of each output (a prediction at every step for readout 'all',
  one an example otherwise: the outputs and their log-softmax or errors). No backward
  pass, so nothing else of a step is kept. On a 2-core CPU this was 1.1-1.8x the
  compiled evaluation's temporaries a member (LSTMs, GRUs and RNNs of 1-3 layers, one
  or every prediction an example).

  split: {'x': <[N, T, ...]>, ...}, the split's arrays (shapes are all it reads).
  """
  num, steps = split['x'].shape[:2]
  outputs = cfg.model.output_size * (steps if cfg.model.readout == 'all' else 1)
  hidden = steps * cfg.model.hidden_size * (cfg.model.num_layers + 1)
  return 4 * num * (hidden + max(steps * cfg.model.input_size, 2 * outputs))


@functools.lru_cache(maxsize=None)
def population_init_fn(cfg: TrainConfig, mesh=None):
  """jit(vmap(init_member)): (hp<[P]>, base_key) -> state<[P]>, sharded over the mesh."""
  mesh = mesh or sharding.population_mesh()
  return jax.jit(jax.vmap(functools.partial(init_member, cfg), in_axes=(0, None)),
                 out_shardings=sharding.members_sharding(mesh))


@functools.lru_cache(maxsize=None)
def population_chunk_fn(cfg: TrainConfig, mesh=None, group_size: int = 0,
                        validate: bool = True):
  """(state<[P]>, hp<[P]>, data, base_key) -> (state, metrics<[P]>): one compiled chunk.

  P must be a multiple of the mesh size (see `sharding.padded_size`). Each device
  trains its members in vmapped groups (see `sharding.group_size`). validate=False:
  training steps only (metrics: the mean training loss), for probing a bucket's cost.
  """
  mesh = mesh or sharding.population_mesh()
  members, replicated = P(sharding.AXIS), P()

  def train_only(cfg, state, hp, data, base_key):
    state, losses = train_chunk(cfg, state, hp, data, base_key)
    return state, {'train_loss': jnp.mean(losses)}

  def local(state, hp, data, base_key):
    num_local = hp.uid.shape[0]
    group = sharding.group_size(num_local, group_size,
                                activation_bytes(cfg, train_seq_len(cfg, data['train'])))
    chunk = run_chunk if validate else train_only
    member = lambda sh: chunk(cfg, sh[0], sh[1], data, base_key)
    return jax.lax.map(member, (state, hp), batch_size=group)

  # check_vma=False: members are independent, nothing in a chunk crosses devices.
  # out_shardings as init's: on one device XLA would return P(), and the next call
  # with that state would compile the program a second time.
  return jax.jit(jax.shard_map(local, mesh=mesh,
                               in_specs=(members, members, replicated, replicated),
                               out_specs=members, check_vma=False),
                 donate_argnums=0, out_shardings=sharding.members_sharding(mesh))


def _evaluation_group(cfg: TrainConfig, params, split, group_size: int) -> int:
  """Members per vmap group of a device's `params` evaluating all of `split` at once:
  `sharding.group_size`, counting what one member's evaluation of the split needs."""
  return sharding.group_size(jax.tree.leaves(params)[0].shape[0], group_size,
                             evaluation_bytes(cfg, split))


@functools.lru_cache(maxsize=None)
def population_eval_fn(cfg: TrainConfig, mesh=None, group_size: int = 0):
  """Metrics of each member's parameters on one split: (params<[P]>, split) -> <[P]>.

  Sharded and grouped as training is (see `population_chunk_fn`), the groups sized by
  what one member's evaluation of the whole split needs (`evaluation_bytes`) as
  training's are by its activations: a large split (a language model's whole
  validation text) needs one small group's memory, not P members'.
  """
  mesh = mesh or sharding.population_mesh()

  def local(params, split):
    group = _evaluation_group(cfg, params, split, group_size)
    return jax.lax.map(lambda p: evaluate(cfg, p, split), params, batch_size=group)

  return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P(sharding.AXIS), P()),
                               out_specs=P(sharding.AXIS), check_vma=False))


@functools.lru_cache(maxsize=None)
def population_outputs_fn(cfg: TrainConfig, mesh=None, group_size: int = 0):
  """What an ensemble averages (tasks.Task.outputs) of each member's parameters on one
  split: (params<[P]>, split) -> <[P, ...]>, sharded and grouped as evaluation is."""
  mesh = mesh or sharding.population_mesh()

  def local(params, split):
    group = _evaluation_group(cfg, params, split, group_size)
    outputs = tasks.TASKS[cfg.task].outputs
    return jax.lax.map(lambda p: outputs(cfg, p, split), params, batch_size=group)

  return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P(sharding.AXIS), P()),
                               out_specs=P(sharding.AXIS), check_vma=False))
