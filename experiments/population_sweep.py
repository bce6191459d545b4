r"""Trains a population of RNN hyperparameter variants at once; see README.md.

  python -m experiments.population_sweep --flagfile=experiments/flagfiles/quickstart.flags

Flags become a `rnnjax.sweep.SweepSpec`; nothing else happens here. Swept flags take a
spec string: a value, `grid(a,b,...)`, `uniform(lo,hi)`, `loguniform(lo,hi)`,
`randint(lo,hi)`.
"""

import logging
import os
import sys

from absl import app
from absl import flags
from absl import logging as absl_logging

_S = 'Spec string: a value, grid(a,b,..), uniform/loguniform/randint(lo,hi).'

TASK = flags.DEFINE_string('task', 'forecast', 'forecast, classify or charlm.')
DATASET = flags.DEFINE_string('dataset', '', 'Bundled data by name (empty: the task\'s '
                              'default: wineind_sales, ItalyPowerDemand, shakespeare).')
VAL_SIZE = flags.DEFINE_integer('val_size', 0, 'Validation part: time points (forecast, '
                                '0: 15%), TRAIN cases carved out (classify, 0: 20%) or '
                                'characters (charlm, 0: 2%).')
TEST_SIZE = flags.DEFINE_integer('test_size', 0, 'Test part, the last time points or '
                                 'characters (0: 15% / 2%); classify tests on TEST.')
# forecast
CSV_PATH = flags.DEFINE_string('csv_path', '', 'A CSV file of your own (instead of --dataset).')
TIME_COLUMN = flags.DEFINE_string('time_column', '', 'Time column of --csv_path (rows are in time order).')
TARGET_COLUMNS = flags.DEFINE_list('target_columns', [], 'Columns of --csv_path to forecast.')
INPUT_COLUMNS = flags.DEFINE_list('input_columns', [], 'Extra input columns of --csv_path.')
LOOKBACK = flags.DEFINE_string('lookback', '24', 'Input window length, in time steps; a '
                               'grid trains one bucket per value. ' + _S)
HORIZON = flags.DEFINE_integer('horizon', 1, 'Steps forecast ahead from each window.')
DIFFERENCE = flags.DEFINE_bool('difference', False, 'Model the changes of the targets '
                               '(v[t] - v[t-1]) instead of their levels: for series with '
                               'a trend. Errors are still reported on the levels.')
SEASON = flags.DEFINE_integer('season', -1, 'Season length for the seasonal-naive baseline '
                              '(-1: the bundled series\' own, 0: none).')
# classify
TRAIN_PATH = flags.DEFINE_string('train_path', '', 'Your own UCR/UEA .ts training file.')
TEST_PATH = flags.DEFINE_string('test_path', '', 'Your own UCR/UEA .ts test file.')
POOLING = flags.DEFINE_string('pooling', 'last', 'Readout of a sequence: last (its last '
                              'valid step) or mean (of its valid steps).')
# charlm
TEXT_PATH = flags.DEFINE_string('text_path', '', 'Your own UTF-8 text file.')
SEQ_LEN = flags.DEFINE_integer('seq_len', 64, 'Characters per training window.')
SAMPLE_CHARS = flags.DEFINE_integer('sample_chars', 1000, 'Characters the best model '
                                    'writes to WORKDIR/sample.txt (0: none).')
TEMPERATURE = flags.DEFINE_float('temperature', 0.8, 'Sampling temperature (> 0).')
CELL = flags.DEFINE_string('cell', 'lstm', 'Cell: rnn_tanh, rnn_relu, lstm, gru. ' + _S)
HIDDEN_SIZE = flags.DEFINE_string('hidden_size', '32', 'Hidden units per layer. ' + _S)
NUM_LAYERS = flags.DEFINE_string('num_layers', '1', 'Stacked recurrent layers. ' + _S)
BATCH_SIZE = flags.DEFINE_string('batch_size', '32', 'Windows per training batch. ' + _S)
OPTIMIZER = flags.DEFINE_string('optimizer', 'adam', 'sgd, adam, adamw, rmsprop. ' + _S)
LEARNING_RATE = flags.DEFINE_string('learning_rate', '1e-3', 'Learning rate. ' + _S)
WEIGHT_DECAY = flags.DEFINE_string('weight_decay', '0', 'L2 (decoupled for adamw). ' + _S)
CLIP_NORM = flags.DEFINE_string('clip_norm', '1', 'Global gradient-norm clip, 0 = off. ' + _S)
MOMENTUM = flags.DEFINE_string('momentum', '', 'SGD/RMSProp momentum, Adam beta1 '
                               '(empty: the optimizer\'s usual value). ' + _S)
BETA2 = flags.DEFINE_string('beta2', '', 'Adam beta2, RMSProp decay (empty: usual). ' + _S)
INPUT_DROPOUT = flags.DEFINE_string('input_dropout', '0', 'Dropout on the inputs. ' + _S)
DROPOUT = flags.DEFINE_string('dropout', '0', 'Dropout between layers and before the '
                              'readout. ' + _S)
DROPOUT_PER_LAYER = flags.DEFINE_string('dropout_per_layer', '', 'One dropout spec per '
                                        'layer, separated by ";" (overrides --dropout), '
                                        'e.g. "grid(0,0.2);0.5".')
VARIATIONAL_DROPOUT = flags.DEFINE_bool('variational_dropout', False, 'Draw each input / '
                                        'between-layer dropout mask once per sequence.')
HIDDEN_MODE = flags.DEFINE_string('hidden_mode', 'auto', 'masked: hidden sizes share '
                                  'one program, padded and masked; bucket: one program '
                                  'each; auto: whichever is estimated cheaper (padding '
                                  'arithmetic against compiles).')
FORGET_BIAS = flags.DEFINE_string('forget_bias', '1', 'LSTM forget-gate bias at init. ' + _S)
INIT_SCALE = flags.DEFINE_string('init_scale', '1', 'Weights ~ U(+-scale/sqrt(H)). ' + _S)
SEARCH = flags.DEFINE_string('search', 'grid', 'grid (cross every list), random, halving '
                             '(successive halving) or pbt (population-based training).')
NUM_MEMBERS = flags.DEFINE_integer('num_members', 0, 'Configurations drawn by random '
                                   'search (grid: leave 0).')
NUM_SEEDS = flags.DEFINE_integer('num_seeds', 1, 'Repeats of every configuration.')
TRAIN_STEPS = flags.DEFINE_integer('train_steps', 500, 'Training steps per member.')
EVAL_EVERY = flags.DEFINE_integer('eval_every', 100, 'Steps per chunk; validation after each.')
PATIENCE = flags.DEFINE_integer('patience', 0, 'Evaluations without improvement before a '
                                'member stops early (0: never).')
ETA = flags.DEFINE_integer('eta', 3, 'Halving: the best 1/eta go on at each rung.')
MIN_STEPS = flags.DEFINE_integer('min_steps', 0, 'Halving: steps before the first rung '
                                 '(0: --eval_every); rungs at min_steps * eta^k.')
PBT_INTERVAL = flags.DEFINE_integer('pbt_interval', 0, 'PBT: steps between exploit/explore '
                                    '(0: --eval_every).')
PBT_FRACTION = flags.DEFINE_float('pbt_fraction', 0.25, 'PBT: the bottom fraction copies '
                                  'the top fraction.')
SEED = flags.DEFINE_integer('seed', 0, 'Base random seed (members: fold_in(seed, uid)).')
WORKDIR = flags.DEFINE_string('workdir', '', 'Work directory (default: runs/<flagfile name>).')
DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print the plan (buckets, memory, time '
                              'from a one-chunk probe) and exit without training.')
OVERWRITE = flags.DEFINE_bool('overwrite', False, 'Replace a work directory\'s sweep.')
KEEP_CHECKPOINTS = flags.DEFINE_integer('keep_checkpoints', 3, 'Checkpoints kept (one is '
                                       'written after every chunk).')
MAX_MEMORY_GB = flags.DEFINE_float('max_memory_gb', 0, 'Memory a wave of one bucket\'s '
                                   'members may use; larger buckets run in equal waves '
                                   '(0: half the machine\'s memory).')
CPU_DEVICES = flags.DEFINE_integer('cpu_devices', 0, 'XLA CPU devices, one thread each '
                                   '(0: one per core). Speed only.')
FIGURES = flags.DEFINE_bool('figures', True, 'Write paper figures to WORKDIR/figures at '
                            'the end (also: python -m experiments.make_figures).')
DISTRIBUTED = flags.DEFINE_string('distributed', 'off', 'off: one process; auto: join the '
                                  'processes of a cluster job (Slurm, ...); manual: the '
                                  'three flags below. See README.md.')
COORDINATOR_ADDRESS = flags.DEFINE_string('coordinator_address', '', 'host:port of '
                                          'process 0 (--distributed=manual).')
NUM_PROCESSES = flags.DEFINE_integer('num_processes', 0, 'Processes in the run '
                                     '(--distributed=manual).')
PROCESS_ID = flags.DEFINE_integer('process_id', -1, 'This process, 0..num_processes-1 '
                                  '(--distributed=manual).')
GROUP_SIZE = flags.DEFINE_integer('group_size', 0, 'Members per vmap group on a device '
                                  '(0: 4 on a CPU, all on a GPU). Speed only.')


_FLAGFILES = []  # The --flagfile arguments, as given (absl keeps no record of them).


def default_workdir() -> str:
  """runs/<stem of the last --flagfile>, or runs/sweep without one."""
  name = os.path.splitext(os.path.basename(_FLAGFILES[-1]))[0] if _FLAGFILES else 'sweep'
  return os.path.join('runs', name)


def spec_from_flags():
  from rnnjax import sweep  # pylint: disable=g-import-not-at-top
  return sweep.SweepSpec(**{
      name: tuple(holder.value) if name in ('target_columns', 'input_columns')
      else holder.value
      for name, holder in _SPEC_FLAGS.items()})


def main(argv):
  del argv  # parse_flags refuses positional arguments.
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.ERROR)  # No TPU notices.
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every save at INFO.
  from rnnjax import sharding  # pylint: disable=g-import-not-at-top
  from rnnjax import distributed  # pylint: disable=g-import-not-at-top
  from rnnjax.errors import InputError  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(CPU_DEVICES.value)  # Before JAX starts a backend.
  try:
    distributed.initialize(DISTRIBUTED.value,
                           coordinator_address=COORDINATOR_ADDRESS.value,
                           num_processes=NUM_PROCESSES.value, process_id=PROCESS_ID.value)
    from rnnjax import sweep  # pylint: disable=g-import-not-at-top
    spec = spec_from_flags()
    workdir = WORKDIR.value or default_workdir()
    sweep.run_sweep(spec, workdir, overwrite=OVERWRITE.value, group_size=GROUP_SIZE.value,
                    keep_checkpoints=KEEP_CHECKPOINTS.value,
                    progress_bar=sys.stderr.isatty() and distributed.is_main(),
                    dry_run=DRY_RUN.value, max_memory_gb=MAX_MEMORY_GB.value,
                    figures=FIGURES.value)
  except InputError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


_SPEC_FLAGS = {h.name: h for h in (
    TASK, DATASET, VAL_SIZE, TEST_SIZE, CSV_PATH, TIME_COLUMN, TARGET_COLUMNS,
    INPUT_COLUMNS, LOOKBACK, HORIZON, SEASON, DIFFERENCE, TRAIN_PATH, TEST_PATH, POOLING,
    TEXT_PATH, SEQ_LEN, SAMPLE_CHARS, TEMPERATURE, CELL, HIDDEN_SIZE, NUM_LAYERS,
    BATCH_SIZE, OPTIMIZER, LEARNING_RATE, WEIGHT_DECAY, CLIP_NORM, MOMENTUM, BETA2,
    INPUT_DROPOUT, DROPOUT, DROPOUT_PER_LAYER, VARIATIONAL_DROPOUT, HIDDEN_MODE,
    FORGET_BIAS, INIT_SCALE, SEARCH, NUM_MEMBERS, NUM_SEEDS, TRAIN_STEPS, EVAL_EVERY,
    PATIENCE, ETA, MIN_STEPS, PBT_INTERVAL, PBT_FRACTION, SEED)}


def parse_flags(argv):
  """absl's parser, but a bad flag is one line and exit status 2, not a usage dump."""
  _FLAGFILES.extend(a.split('=', 1)[1] for a in argv[1:] if a.startswith('--flagfile='))
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  if len(argv) > 1:  # A flagfile line without its leading --, or a stray word.
    print(f'error: not a flag: {argv[1]!r} (flags look like --name=value)', file=sys.stderr)
    sys.exit(2)
  return argv


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
