"""rnnjax: train a population of recurrent-network hyperparameter variants at once."""

__version__ = '0.1.0'


def load(workdir: str):
  """The final model of a finished sweep's work directory (see rnnjax/tuned.py):
  `rnnjax.load('runs/quickstart').forecast(history, steps=12)`."""
  from rnnjax import tuned  # pylint: disable=g-import-not-at-top
  return tuned.load(workdir)
