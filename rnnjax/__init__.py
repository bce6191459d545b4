"""rnnjax: train a population of recurrent-network hyperparameter variants at once."""

__version__ = '0.1.0'
