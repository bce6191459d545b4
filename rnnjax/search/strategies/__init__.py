"""The adaptive searches: how a sweep decides between chunks and asks for its rounds.

Imports the engine and the search modules above it (hparams); nothing else of search.

  decision  what an adaptive search decides for one run, as plain host arrays
  halving   successive halving's decisions, pure
  pbt       population-based training's decisions, pure
  lineage   whose rows, under which values, trained a PBT member's weights
  tpe       Optuna's TPE proposals, one round of configurations at a time
  strategy  the search state saved with each checkpoint, the adaptive searches by name,
            any decision applied to the runs, and rounds (TPE asks its own)
"""
