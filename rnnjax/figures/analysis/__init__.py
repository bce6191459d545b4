"""What the figures show that is computed, not read: numbers only, no drawing, no I/O.

Imports figures' flat modules (load); never figures.plots.

  importance   functional ANOVA of a sweep: each hyperparameter's and pair's share
  anova        its arithmetic: exact on a full grid, or of a ridge surrogate; F-tests
"""
