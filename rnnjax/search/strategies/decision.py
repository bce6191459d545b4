"""What an adaptive search decides for one run at a step, as plain host arrays.

A search's `decisions` (halving.py, pbt.py) make them from the tables alone, with no
device array or mesh; strategy.apply carries out any of them on the population with the
engine's gathers, so a new search is a new decide, never a new way of applying one.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Decision:
  """One run's decision. Each array indexes the run's rows <[P]> as they are at the step.

  src: <int>[P] row i takes row src[i]'s state and hyperparameters (gather.exploit),
    then `values` replace its hyperparameters; the copies go to metrics.jsonl and to the
    search state (lineage.py). None: no row copies another.
  values: name -> <[P]> (every row) each hyperparameter the copy perturbs.
  keep: <bool>[P] the rows that go on, after the copy: every other real row (uid >= 0)
    retires, stopped by `why`, and the kept rows are gathered into a smaller population
    (gather.compact_members). None: every row goes on.
  """
  src: np.ndarray | None = None
  values: dict = dataclasses.field(default_factory=dict)
  keep: np.ndarray | None = None
  why: str = ''
