"""Choosing the final model: members ranked and combined on validation, scored on test.

Imports the engine, search and results; nothing else of final.

  summary       the end of a sweep: members' scores, ranking, the final model, test
  ensemble      top-k, fixed, greedy or single: members chosen on validation and combined
  refit         the final model's members trained again on train + validation
"""
