r"""Trains a population of RNN hyperparameter variants at once; see README.md.

  python -m experiments.population_sweep --flagfile=experiments/flagfiles/quickstart.flags
  python -m experiments.predict --workdir=runs/quickstart --steps_ahead=12  # its model

Flags become a `rnnjax.run.sweep.SweepSpec`; nothing else happens here. Swept flags take a
spec string: a value, `grid(a,b,...)`, `uniform(lo,hi)`, `loguniform(lo,hi)`,
`randint(lo,hi)`.
"""

from experiments import cli

# Run as a command, SIGINT and SIGTERM are noted from here (main acts on them once its
# watch is up): see cli.note_signals.
_EARLY, _NOTED = {}, []  # signal -> its handler before; the signals noted
if __name__ == '__main__':
  _EARLY, _NOTED = cli.note_signals()

import dataclasses  # pylint: disable=g-import-not-at-top,wrong-import-position
import logging  # pylint: disable=g-import-not-at-top,wrong-import-position
import os  # pylint: disable=g-import-not-at-top,wrong-import-position
import signal  # pylint: disable=g-import-not-at-top,wrong-import-position
import sys  # pylint: disable=g-import-not-at-top,wrong-import-position
import time  # pylint: disable=g-import-not-at-top,wrong-import-position

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top,wrong-import-position

from rnnjax.errors import InputError  # pylint: disable=g-import-not-at-top,wrong-import-position
from rnnjax.search import spec as spec_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, bool: flags.DEFINE_bool, tuple: flags.DEFINE_list}
# One flag per field of the spec (its settings and one per hyperparameter), named,
# typed, defaulted and explained by the field itself.
SPEC_FLAGS = {
    field.name: _DEFINE[field.type](
        field.name, list(field.default) if field.type is tuple else field.default,
        field.metadata['help'])
    for field in dataclasses.fields(spec_lib.SweepSpec)}

WORKDIR = flags.DEFINE_string('workdir', '', 'Work directory (default: runs/<flagfile name>).')
DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print the data\'s notes and the plan '
                              '(buckets, memory, time from a probe of a few training '
                              'steps; the statistical baselines from a few fits) '
                              'and exit without training or fitting baselines.')
OVERWRITE = flags.DEFINE_bool('overwrite', False, 'Replace a work directory\'s sweep.')
REMAKE_FINAL = flags.DEFINE_bool(
    'remake_final', False, 'A work directory holding this sweep finished, but with other '
    'final-model settings (--ensemble, --ensemble_size, --combine, --refit, --sample_chars, '
    '--temperature, --classical_baselines, --benchmarks): restore its trained members from '
    'the last checkpoint and make only the final model again, without training; the '
    'previous final results move to WORKDIR/finals/<n>/.')
KEEP_CHECKPOINTS = flags.DEFINE_integer('keep_checkpoints', 3, 'Checkpoints kept (one is '
                                       'written after every chunk).')
MAX_MEMORY_GB = flags.DEFINE_float('max_memory_gb', 0, 'Memory a wave of one bucket\'s '
                                   'members may use while it trains; larger buckets run in '
                                   'equal waves (0: half the machine\'s memory). Each '
                                   'member\'s state once trained is kept beside it until '
                                   'the sweep ends (--dry_run says how much).')
CPU_DEVICES = flags.DEFINE_integer('cpu_devices', 0, 'XLA CPU devices, one thread each '
                                   '(0: XLA_FLAGS\' device count, else one per core). Speed, '
                                   'and float rounding (docs/distributed.md).')
FIGURES = flags.DEFINE_bool('figures', True, 'Write paper figures to WORKDIR/figures at '
                            'the end (also: python -m experiments.make_figures).')
DISTRIBUTED = flags.DEFINE_string('distributed', 'off', 'off: one process; auto: join the '
                                  'processes of a cluster job (Slurm, ...); manual: the '
                                  'three flags below. See docs/distributed.md.')
COORDINATOR_ADDRESS = flags.DEFINE_string('coordinator_address', '', 'host:port of '
                                          'process 0 (--distributed=manual).')
NUM_PROCESSES = flags.DEFINE_integer('num_processes', 0, 'Processes in the run '
                                     '(--distributed=manual).')
PROCESS_ID = flags.DEFINE_integer('process_id', -1, 'This process, 0..num_processes-1 '
                                  '(--distributed=manual).')
MLFLOW_URI = flags.DEFINE_string('mlflow_uri', '', 'Also log the finished sweep to this '
                                 'MLflow tracking store (e.g. sqlite:///mlflow.db): a run '
                                 'for the sweep, a nested run per member, and the final '
                                 'model as the pyfunc model runs:/<run_id>/model. Needs '
                                 'pip install "rnnjax[mlflow]".')
MLFLOW_EXPERIMENT = flags.DEFINE_string('mlflow_experiment', 'rnnjax', 'MLflow experiment '
                                        'of --mlflow_uri\'s runs.')
WANDB_PROJECT = flags.DEFINE_string('wandb_project', '', 'Also log the finished sweep as '
                                    'Weights & Biases runs in this project: a run per '
                                    'member (hyperparameters as config, curves as history, '
                                    'scores as summary) and one for the final model, grouped '
                                    'under the work directory\'s name. Needs pip install '
                                    '"rnnjax[wandb]".')
WANDB_DIR = flags.DEFINE_string('wandb_dir', '', 'Where --wandb_project\'s runs are written '
                                '(DIR/wandb/; default: the work directory).')
WANDB_MODE = flags.DEFINE_enum('wandb_mode', 'offline', ['offline', 'online'],
                               'offline: --wandb_project\'s runs are written locally, '
                               'nothing is sent (upload later: wandb sync DIR/wandb); '
                               'online: sent to the W&B server (needs WANDB_API_KEY or '
                               'wandb login).')
COMPILE_CACHE_DIR = flags.DEFINE_string(
    'compile_cache_dir', None, 'Where compiled programs are kept for later runs on this '
    'machine (a repeated or resumed sweep skips compiling; default: '
    '$RNNJAX_COMPILE_CACHE_DIR, else $XDG_CACHE_HOME/rnnjax/jax, else '
    '~/.cache/rnnjax/jax); empty: no cache. Speed only.')
GROUP_SIZE = flags.DEFINE_integer('group_size', 0, 'Members per vmap group on a device: '
                                  'the largest divisor of its members up to this (0: up to '
                                  '4 on a CPU, fewer for larger models; all on a GPU). '
                                  'Speed, and float rounding (docs/distributed.md).')


_FLAGFILES = []  # The --flagfile arguments, as given (absl keeps no record of them).


def default_workdir() -> str:
  """runs/<stem of the last --flagfile>, or runs/sweep without one."""
  name = os.path.splitext(os.path.basename(_FLAGFILES[-1]))[0] if _FLAGFILES else 'sweep'
  return os.path.join('runs', name)


def spec_from_flags() -> spec_lib.SweepSpec:
  return spec_lib.SweepSpec(**{
      name: tuple(holder.value) if isinstance(holder.value, list) else holder.value
      for name, holder in SPEC_FLAGS.items()})


def configure_devices():
  """--cpu_devices, checked (InputError) and set before JAX starts a backend."""
  if CPU_DEVICES.value < 0:
    raise InputError(f'--cpu_devices: {CPU_DEVICES.value} must be >= 0 (0: XLA_FLAGS\' '
                     'count, else one per core)')
  from rnnjax.engine import sharding  # pylint: disable=g-import-not-at-top
  sharding.configure_cpu_devices(CPU_DEVICES.value)


def configure_compile_cache():
  """--compile_cache_dir (or its default), checked (InputError) and turned on."""
  from rnnjax.engine import compile_cache  # pylint: disable=g-import-not-at-top
  directory = (compile_cache.default_dir() if COMPILE_CACHE_DIR.value is None
               else COMPILE_CACHE_DIR.value)
  try:
    compile_cache.configure(directory)
  except OSError as e:
    raise InputError(f'--compile_cache_dir: cannot write compiled programs to {directory} '
                     f'({e.strerror or e}); --compile_cache_dir= runs without the cache'
                     ) from None


def main(argv):
  del argv  # parse_flags refuses positional arguments.
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.ERROR)  # No TPU notices.
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every save at INFO.
  joined = 1  # Processes in the run, once joined: peer_lost asks no more of jax.
  kept = ('a dry run writes nothing: run it again' if DRY_RUN.value else
          'the work directory keeps its last checkpoint: run the same command to resume')
  with cli.exits(kept, lost=lambda e: _peer_lost(e, joined)):  # joined as it is then.
    from rnnjax.engine import distributed  # pylint: disable=g-import-not-at-top
    from rnnjax.results.printed import progress  # pylint: disable=g-import-not-at-top
    from rnnjax.run import stop  # pylint: disable=g-import-not-at-top
    configure_devices()
    configure_compile_cache()
    # A Ctrl-C while starting would otherwise be lost where it lands in JAX's garbage
    # collection callback (Python ignores exceptions there): noted, and acted on once
    # started, before anything is written.
    for s, before in _EARLY.items():  # The watch below takes over (and gives them back).
      signal.signal(s, before)
    with stop.Stop(until='once started, before anything is written') as starting:
      starting.signum = starting.signum or (_NOTED[0] if _NOTED else 0)
      distributed.initialize(DISTRIBUTED.value,
                             coordinator_address=COORDINATOR_ADDRESS.value,
                             num_processes=NUM_PROCESSES.value, process_id=PROCESS_ID.value)
      joined = distributed.process_count()
      from rnnjax.run import sweep  # pylint: disable=g-import-not-at-top
      workdir = WORKDIR.value or default_workdir()
      mlflow_client = None
      if MLFLOW_URI.value and not DRY_RUN.value and distributed.is_main():
        from rnnjax.results.tracking import mlflow_log  # pylint: disable=g-import-not-at-top
        mlflow_client = mlflow_log.client(MLFLOW_URI.value)  # Refused before training.
      wandb_dir = None
      if WANDB_PROJECT.value and not DRY_RUN.value and distributed.is_main():
        from rnnjax.results.tracking import wandb_log  # pylint: disable=g-import-not-at-top
        wandb_dir = WANDB_DIR.value or workdir
        wandb_log.check(WANDB_PROJECT.value, wandb_dir, WANDB_MODE.value)  # Before training.
      elif WANDB_DIR.value and not WANDB_PROJECT.value:
        raise InputError('--wandb_dir: given without --wandb_project')
      starting.check('while starting, before anything was written')
    sweep.run_sweep(spec_from_flags(), workdir, overwrite=OVERWRITE.value,
                    group_size=GROUP_SIZE.value, keep_checkpoints=KEEP_CHECKPOINTS.value,
                    progress_bar=progress.interactive(sys.stderr) and distributed.is_main(),
                    dry_run=DRY_RUN.value, max_memory_gb=MAX_MEMORY_GB.value,
                    remake_final=REMAKE_FINAL.value,
                    figures=_figures_s if FIGURES.value else None,
                    startup_s=cli.process_age() if DRY_RUN.value else 0.0)
    signum = stop.unheeded()  # Noted after the sweep's last check, as its model was saved.
    if signum:
      raise stop.Stopped(f'stopped by {stop.name(signum)} once the final model was saved; '
                         'the sweep is finished: run the same command to write its figures '
                         'and logs', signum)
    with stop.raising('writing figures and tracking logs after the sweep'):
      if FIGURES.value and not DRY_RUN.value and distributed.is_main():
        from rnnjax import figures  # pylint: disable=g-import-not-at-top
        figures.make_all(workdir)  # matplotlib loads slowly: only when asked.
      if mlflow_client is not None:
        from rnnjax.final.use import mlflow_packaging  # pylint: disable=g-import-not-at-top
        run_id = mlflow_log.log_sweep(MLFLOW_URI.value, workdir,
                                      experiment=MLFLOW_EXPERIMENT.value,
                                      mlflow_client=mlflow_client,
                                      log_model=mlflow_packaging.log_model)
        print(f'MLflow: run {run_id} in {MLFLOW_URI.value} (the final model: '
              f'runs:/{run_id}/model)')
      if wandb_dir is not None:
        runs = wandb_log.log_sweep(workdir, WANDB_PROJECT.value, directory=wandb_dir,
                                   mode=WANDB_MODE.value)
        where = os.path.join(wandb_dir, 'wandb')
        print(f'W&B: {len(runs)} {WANDB_MODE.value} runs in {where}' + (
            f' (upload: wandb sync {where})' if WANDB_MODE.value == 'offline' else ''))


def _figures_s(axes, search: str, task: str) -> float:
  """Seconds the figures drawn after the sweep may take (a dry run's estimate counts
  them): rnnjax.figures.estimate_s, and loading it (and matplotlib), as they are loaded."""
  start = time.perf_counter()
  from rnnjax import figures  # pylint: disable=g-import-not-at-top
  return time.perf_counter() - start + figures.estimate_s(axes, search, task)


def _peer_lost(e: Exception, joined: int) -> str | None:
  """What cli.exits says where a peer process of a run of `joined` stopped (None: `e` is
  something else). The coordination service aborts this process too, in C++, within
  seconds: said first, and out before it does. (The work directory's lock is already
  released: run_sweep's `with` let it go as the error left it.)"""
  from rnnjax.engine import processes  # pylint: disable=g-import-not-at-top
  from rnnjax.run import checkpoint  # pylint: disable=g-import-not-at-top
  lost = processes.peer_lost(e, joined)  # The match is on the error's words.
  if lost is None:
    return None
  last = checkpoint.latest(WORKDIR.value or default_workdir())
  resume = (f'its last checkpoint, chunk {last}, resumes with the same command'
            if last else 'no checkpoint was written yet; the same command starts it again')
  return f'a peer process stopped ({lost}): the sweep stops; {resume}'


def parse_flags(argv):
  """cli.parse_flags, recording the --flagfile paths (for the summary)."""
  _FLAGFILES.extend(a.split('=', 1)[1] for a in argv[1:] if a.startswith('--flagfile='))
  return cli.parse_flags(argv)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
