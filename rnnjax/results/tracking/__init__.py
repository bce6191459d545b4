"""A sweep in the tracking tools researchers already use, each read from its records.

Imports the results modules above it (files, evaluations, member_table, summary_file);
nothing of results.printed.

  tensorboard    TensorBoard event files and the HParams tab, written while it trains
  event_file     an event as TensorBoard's file holds it (tensorboardX's protos, no torch)
  trial_files    Optuna journal, trials.csv and curves.csv, at the end
  wandb_log      Weights & Biases runs of a finished sweep (offline by default)
  mlflow_log     MLflow runs of a finished sweep (the model packaged by final/use's
                 mlflow_packaging, given to it)
"""
