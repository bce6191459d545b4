"""Loaders for the bundled datasets and users' own files: every task's data as the engine
sees it (split, scaled, windowed arrays), with the baselines scored on the same splits.

  task_data        every task's data, by the spec's task and dataset
  loaders/         each task's loader (series: forecast, panel; sequences: classify,
                   charlm) and what they return (loaded: TaskData)
  common           what the loaders share: splits, held-out sizes, reading files (a
                   .ts file told from a CSV: file_kind) and a CSV's columns
  gap_fill         a column's gaps filled (--fill; 0/1 flags with their last value), counted
  forecast         one series (or a few target columns) from a CSV, its gaps filled
  scores/          what forecasts are scored by: the M competitions' sMAPE, MASE, OWA,
                   M5's RMSSE and naive benchmarks (competition); a series forecast's
                   RMSE, MAE, MASE (series_errors)
  panel            many series in long format, read for one global model
  long_rows        a long CSV read into series (panel's, predict's): its rows grouped
                   a column at a time (a bad line read again row by row, to name it)
  splits/          cutting data into parts: a panel's test part, given or held out
                   (test_part); classification's stratified validation part and folds
                   (stratified)
  windows/         one series' split, scaling, windows and baselines (series_windows); a
                   panel's windows, every split (panel_windows), taken in bulk from its
                   series laid end to end (strided); each series' level, scales, seasonal
                   indices and floor, computed once per panel (series_scales)
  panel_baselines  a panel's benchmarks, forecast and scored as the competitions score them
  statistical      statsforecast's AutoETS, AutoTheta, AutoARIMA fitted per series, in parallel
  classical        automatic ETS and ARIMA for one series
  classify         sequence classification: scaling, baselines (its split: splits/)
  cases/           its files: UCR/UEA .ts files (ts_file), long CSVs of cases (long_csv)
  text             character-level language modelling
  time/            a time column: its cells, season and future labels (column); its grid
"""
