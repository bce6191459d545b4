"""Search: which members exist, how they are grouped, and how a search adapts.

Imports the engine (and data) only; never results, final or run.

  hparams   the one table of hyperparameters; members' values as an `HParams` pytree
  space     the spec language (grid, choice, uniform, ...): each flag's spec as an `Axis`
  plan      which members exist and how they are grouped into buckets (`Plan`)
  planner   the searches there are, and a search's configurations made into a plan
  spec      `SweepSpec`: a field per sweep-defining flag, checked, made into a plan; loads the data
  waves     what the engine runs: each bucket's static config, its members in waves (`Run`)
  probe     what a bucket costs before it runs: parameters, memory, a one-step time
  rules     which settings a sweep takes together, refused in one line otherwise

One sub-package, importing the modules above (hparams) but none of them importing it back
except rules, which checks a spec's halving and PBT settings:

  strategies/  how a search adapts between chunks: halving, pbt, lineage, tpe, and the
               search state saved with each checkpoint (strategy)
"""
