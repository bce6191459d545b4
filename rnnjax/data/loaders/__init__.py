"""Each task's loader: its data as the engine sees it (task_data.py picks one by task).

  loaded     TaskData, what every loader returns: split arrays, sizes, baselines, notes
  series     the forecasting tasks: one series (forecast), a panel of many (panel)
  sequences  the sequence tasks: classification of cases (classify), text (charlm)
"""
