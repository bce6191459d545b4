"""The final model: chosen on validation, scored on test, saved, loaded and used.

Imports the engine, search and results; never run. Three sub-packages, each importing
only the ones above it in this list:

  choice/  which members make the final model, on validation: summary, ensemble, refit
  saved/   WORKDIR/model/: written (export), read back and used from Python
           (`rnnjax.load`: tuned), forecasting, cases, intervals
  use/     what the entry points and MLflow do with a saved model: predictions,
           series_predictions, panel_predictions, mlflow_model, mlflow_packaging
"""
