"""What every loaded model shares, whatever its task: its members on the devices, their
outputs on a split combined with their weights, and scored with the sweep's metrics.

tuned.py's TunedModel is this class with each task's methods (forecast, classify,
sample). Every member's outputs come from the engine's own program (population.py
`population_outputs_fn`: jitted, the members as one population on whatever devices JAX
sees, each call one batch of every example given), and they are combined as the sweep's
summary combined them (ensemble.combine: the mean, or a forecast's median), so scoring
the test part here gives the summary's test figures.
"""

import jax
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.final.choice import ensemble
from rnnjax.final.saved import panel_forecasting
from rnnjax.results import files

KINDS = {'forecast': 'a single-series forecaster', 'panel': 'a panel forecaster',
          'classify': 'a classifier', 'charlm': 'a character model'}


class Members:
  """A final model's members (one, an ensemble or a refit) and its data transforms.

  manifest: export.manifest's dict; groups: [model_files.Group]; arrays: forecasting's series,
  times and calibration residuals, a panel's series (model_files.py).
  """

  def __init__(self, manifest: dict, groups, arrays: dict | None = None):
    self.manifest = manifest
    self.task = manifest['task']
    self.kind = manifest['kind']
    self.transform = manifest['data']
    if any(g.cfg.normalization == 'log' for g in groups):  # Histories must be > 0.
      self.transform = dict(self.transform, positive=True)
    if 'zero_window_scale' not in manifest and any(
        g.cfg.normalization == 'last' for g in groups) and not files.descends_from(
            manifest.get('versions', {}).get('git'), panel_forecasting.ZERO_WINDOW_RULE):
      self.transform = dict(self.transform, zero_window_unscaled=True)  # Perhaps: said.
    self.arrays = arrays or {}
    self._mesh = sharding.population_mesh(jax.local_devices())
    self._groups = groups
    self._weights = np.concatenate([np.asarray(g.weights, np.float64) for g in groups])
    self._device = [gather.rows_on_devices(
        g.params, range(jax.tree.leaves(g.params)[0].shape[0]), self._mesh) for g in groups]
    self._score = ensemble.scorer(self.task, groups[0].cfg)

  def __reduce__(self):
    # Pickled as what it was made of (host arrays); unpickling puts them on the devices
    # of the process that reads them.
    return type(self), (self.manifest, self._groups, self.arrays)

  def __repr__(self):
    widths = ', '.join(f'{g.cfg.model.cell} {g.cfg.model.num_layers}x'
                       f'{g.cfg.model.hidden_size} ({len(g.uids)})' for g in self._groups)
    return f'{type(self).__name__}({self.task}, {self.kind}: {widths})'

  @property
  def test(self) -> dict:
    """The test figures the sweep's summary reported for this model."""
    return dict(self.manifest['test'] or {})

  def outputs(self, make_split) -> np.ndarray:
    """<float64>[...]: the members' outputs (tasks.Task.outputs) on the split that
    `make_split(group)` builds for each group, combined with the members' weights
    (their counts) as the sweep's final model combined them (ensemble.combine). The
    examples (every array's first axis) are padded to a bucket (sharding.shape_bucket,
    repeating the first) and cut, so that calls with many sizes compile few programs."""
    rows = []
    for group, params in zip(self._groups, self._device):
      split = make_split(group)
      n = len(next(iter(split.values())))
      split = {k: np.concatenate([v, np.repeat(v[:1], sharding.shape_bucket(n) - n, 0)])
               for k, v in split.items()}
      split = distributed.put(sharding.device_dtypes(split), sharding.replicated(self._mesh))
      out = pop.population_outputs_fn(group.cfg, self._mesh)(params, split)
      rows.append(np.asarray(distributed.fetch(out))[:len(group.uids), :n])
    how = self.manifest.get('combine', 'mean')  # As the summary combined them.
    return ensemble.combine(np.concatenate(rows), self._weights.astype(
        np.int64) if how == 'median' else self._weights, how,
                            self.manifest.get('combine_paths', False))

  def _metrics(self, outputs, split) -> dict:
    names = self.manifest.get('metric_names', {})
    metrics = self._score(outputs, sharding.device_dtypes(split))
    # As summary.json writes the sweep's: float32's shortest decimals.
    return {names.get(k, k): files.short_float(float(v)) for k, v in metrics.items()}

  def _task_is(self, tasks, what: str) -> None:
    """Refuses, in one line naming `what`, a use this model's task does not have."""
    if self.task not in tasks:
      raise InputError(f'{what}: this is a {self.task} model, not '
                       + ' or '.join(KINDS[t] for t in tasks))
