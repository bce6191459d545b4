"""A series' windows, and a panel's.

  series_windows  one series (forecast.py reads it): its chronological split, scaling,
                  windows and baselines
  panel_windows   a panel's validation, test, training and refit windows (the splits),
                  and the windows a saved model forecasts from
  series_scales   each of a panel's series' level, MASE and RMSSE scales, seasonal
                  indices and floor: what no lookback changes, computed once per panel
  strided         a panel's series laid end to end, and any windows taken from them in
                  bulk
"""
