"""What the entry points and tracking tools do with a saved model.

Imports final.saved (and through it final.choice).

  predictions         what `experiments/predict.py` does with a saved model
  series_predictions  what predict does with a forecaster (history, inputs after it, rows)
  panel_predictions   what predict does with a panel model (histories, inputs after, rows)
  panel_shown         the few series of a panel's forecast predict prints and draws
  case_predictions    what predict does with a classifier (a .ts file's or a long CSV's cases)
  mlflow_log          a finished sweep in MLflow; mlflow_model: the model as a pyfunc model
  mlflow_packaging    the model logged to MLflow: its sources, code, signature, requirements
"""
