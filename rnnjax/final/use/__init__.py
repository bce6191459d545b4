"""What the entry points and tracking tools do with a saved model.

Imports final.saved (and through it final.choice).

  predictions         what `experiments/predict.py` does with a saved model
  series_predictions  what predict does with a forecaster (history, inputs after it, rows)
  panel_predictions   what predict does with a panel model (histories, inputs after, rows)
  panel_shown         the few series of a panel's forecast predict prints and draws
  case_predictions    what predict does with a classifier (a .ts file's or a long CSV's cases)
  mlflow_model        the saved model as an MLflow pyfunc model
  mlflow_packaging    the model logged to MLflow (results/tracking/mlflow_log logs the
                      sweep): its sources, code, signature, requirements
"""
