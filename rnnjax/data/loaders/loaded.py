"""What every task's loader returns (loaders/series.py, loaders/sequences.py;
task_data.py picks the loader): a task's split arrays, its model's sizes, baselines and
what the summary and a saved model record.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class TaskData:
  task: str
  arrays: dict        # split -> {name: array}, see tasks.py.
  input_size: int
  output_size: int
  readout: str        # model.ModelConfig.readout.
  seq_len: int        # Steps of a training example (for memory estimates).
  num_train: int      # Training examples (windows, sequences or window starts).
  num_targets: int = 1
  baselines: dict = dataclasses.field(default_factory=dict)
  # A panel's benchmarks' forecasts of the test part: name -> <float64>[S, horizon].
  benchmark_forecasts: dict = dataclasses.field(default_factory=dict)
  info: dict = dataclasses.field(default_factory=dict)  # JSON-ready, for the summary.
  notes: tuple = ()   # Lines to log (e.g. gaps filled).
  metric_names: dict = dataclasses.field(default_factory=dict)  # e.g. rmse_0 -> rmse[Sales]
  vocab: str = ''     # charlm: the characters, for sampling,
  prime: np.ndarray = None  # and the start of the validation text, to prime it.
  # What a saved model needs to use new data as this data was used (rnnjax/final/saved/export.py):
  # scaling statistics, columns, windows, class labels, vocabulary (arrays allowed).
  transform: dict = dataclasses.field(default_factory=dict)
