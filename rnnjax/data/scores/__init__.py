"""What forecasts are scored by.

  series_errors  a series forecast's RMSE, MAE and MASE, and MASE's in-sample scale
"""
