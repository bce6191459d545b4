"""How a task's data is cut into its parts.

  test_part   a panel's test part: a given test file's, checked against each series'
              train part, or its last `horizon` points held out
  stratified  classification cases' validation part, stratified by class and seeded,
              and cross-validation's disjoint folds
"""
