"""A panel's windows.

  panel_windows  its validation and test windows, each series' floor and scales, and the
                 windows a saved model forecasts from
  strided        its training and refit windows, as strided views of each series,
                 written into arrays of their final size
"""
