"""The final model: chosen on validation, scored on test, saved, loaded and used.

Imports the engine, search and results; never run.

  summary       the end of a sweep: members' scores, ranking, the final model, test
  ensemble      top-k, greedy or single: members chosen and averaged on validation
  refit         the final model's members trained again on train + validation
  export        what goes into WORKDIR/model/, with the intervals' calibration
  model_files   WORKDIR/model/'s files, written and read back
  tuned         `rnnjax.load`: the saved model, forecasting, classifying, sampling
  forecasting   a saved forecaster's histories, windows, forecasts fed back (arrays only)
  cases         a saved classifier's cases, checked and padded as the sweep padded them
  intervals     split-conformal prediction intervals per step ahead
  predictions   what `experiments/predict.py` does with a saved model
  panel_predictions  what predict does with a panel model (histories, rows, shown series)
  mlflow_log    a finished sweep in MLflow; mlflow_model: the model as a pyfunc model
"""
