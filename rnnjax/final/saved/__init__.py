"""The saved model: WORKDIR/model/ written, read back and used from Python.

Imports final.choice (ensemble: how members' outputs are combined), never final.use.

  export        what goes into WORKDIR/model/, with the intervals' calibration
  model_files   WORKDIR/model/'s files, written and read back; `load` (`rnnjax.load`)
  tuned         the loaded model, TunedModel: forecasting, classifying, sampling
  forecasting   a saved forecaster's histories, windows, forecasts fed back (arrays only)
  cases         a saved classifier's cases, checked and padded as the sweep padded them
  intervals     split-conformal prediction intervals per step ahead
"""
