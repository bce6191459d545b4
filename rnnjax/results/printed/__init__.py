"""What a sweep prints, and finished sweeps side by side.

Imports the results modules above it (files, evaluations, member_table); nothing of
results.tracking.

  progress       while it trains: a line per chunk, ETA, best so far
  report         at the end: the ranked table, the competition's table, compile times
  side_by_side   finished sweeps side by side (make_figures --compare)
  words          how those tables write a number, a mean +- sd, the final model
"""
