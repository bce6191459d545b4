"""rnnjax: train a population of recurrent-network hyperparameter variants at once.

The package is laid out by role, each wing importing only the ones above it in this list:
  errors.py  the one-line errors every wing raises
  data/      loaders: bundled sets, users' CSV, .ts and text files
  engine/    cells, model, optimizers, tasks, the population's compiled training
  search/    hyperparameters, spec, plan, strategies/ (halving, PBT, TPE)
  results/   records, summary files, report, TensorBoard, Optuna and CSV files
  final/     the final model: chosen, refit, saved, loaded (`load`), intervals, MLflow
  run/       the driver (`run.sweep.run_sweep`), checkpoints, work directory, lock, stop
  figures/   paper figures from a finished work directory's files alone
"""

__version__ = '0.1.0'


def load(workdir: str):
  """The final model of a finished sweep's work directory, or of its `model/` folder
  copied away on its own (see rnnjax/final/saved/tuned.py):
  `rnnjax.load('runs/quickstart').forecast(history, steps=12)`."""
  from rnnjax.final.saved import model_files  # pylint: disable=g-import-not-at-top
  return model_files.load(workdir)
