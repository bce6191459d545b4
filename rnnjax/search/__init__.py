"""Search: which members exist, how they are grouped, and how a search adapts.

Imports the engine (and data) only; never results, final or run.

  hparams   the one table of hyperparameters; members' values as an `HParams` pytree
  space     the spec language (grid, choice, uniform, ...): each flag's spec as an `Axis`
  plan      which members exist and how they are grouped into buckets (`Plan`)
  spec      `SweepSpec`: one field per flag, checked, made into a plan; loads the data
  waves     what the engine runs: each bucket's static config, its members in waves (`Run`)
  probe     what a bucket costs before it runs: parameters, memory, a one-step time
  halving   successive halving's decisions, pure
  pbt       population-based training's decisions, pure
  lineage   whose rows, under which values, trained a PBT member's weights
  tpe       Optuna's TPE proposals, one round of configurations at a time
  strategy  the search state saved with each checkpoint, decisions applied to runs, and
            rounds (TPE asks its own)
"""
