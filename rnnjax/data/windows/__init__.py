"""A panel's windows.

  panel_windows  its validation, test, training and refit windows (the splits), and the
                 windows a saved model forecasts from
  series_scales  each series' level, MASE and RMSSE scales, seasonal indices and floor:
                 what no lookback changes, computed once per panel
  strided        the series laid end to end, and any windows taken from them in bulk
"""
