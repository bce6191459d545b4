"""One module per figure: each reads what it needs (the results table, curves, PBT's
records), draws it in figures.style and saves PNG and PDF.

Imports figures' flat modules (load, labels, style) and figures.analysis.

  sensitivity      the validation metric against each swept hyperparameter
  heatmap          the metric over two hyperparameters at a time
  curves           learning curves, read from metrics.jsonl or the evaluation chunks
  importance_plot  the importance figure and importance.json
  schedules        the schedules PBT found, read from its records
  forecast_plot    a saved model's forecast (experiments/predict.py)
  comparison       searches at equal compute (experiments/search_comparison.py)
  compare_plot     finished sweeps side by side (make_figures --compare): the metric
                   against each hyperparameter two or more of them swept
"""
