"""What forecasts are scored by.

  competition    the M competitions' scores (sMAPE 0-200, MASE, OWA against Naive2, M5's
                 RMSSE), per series, and their naive benchmarks (naive, seasonal naive, Naive2)
  series_errors  a series forecast's RMSE, MAE and MASE, and MASE's in-sample scale
"""
