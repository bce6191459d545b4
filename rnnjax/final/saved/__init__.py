"""The saved model: WORKDIR/model/ written, read back and used from Python.

Imports final.choice (ensemble: how members' outputs are combined), never final.use.

  export        what goes into WORKDIR/model/, with the intervals' calibration
  model_files   WORKDIR/model/'s files, written and read back; `load` (`rnnjax.load`)
  tuned         the loaded model, TunedModel: forecasting, classifying, sampling
  members       what every loaded model shares: its members' combined outputs, scored
  arguments     the loaded model's arguments, checked in one line each
  forecasting   a saved forecaster's histories, windows, forecasts fed back (arrays only)
  panel_forecasting  a panel model's forecasts from its histories' ends (arrays only)
  panel_histories  a panel model's histories read and checked, by series id (arrays only)
  panel_future  a panel model's input columns after each history (arrays only)
  cases         a saved classifier's cases, checked and padded as the sweep padded them
  characters    a saved character model's text, scored and sampled
  intervals     split-conformal prediction intervals per step ahead
"""
