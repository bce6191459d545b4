"""A task's windows built in bulk.

  strided  a panel's training and refit windows, as strided views of each series,
           written into arrays of their final size (panel_windows.py builds the splits)
"""
