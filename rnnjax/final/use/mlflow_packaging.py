"""The final model packaged for MLflow: `log_model(mlflow_client, run_id, workdir)` (given
to results/tracking/mlflow_log.log_sweep) logs WORKDIR/model/ as run `run_id`'s pyfunc
model `model`, with the rnnjax sources beside it, the code that serves it
(mlflow_model.TunedPyfunc), its signature, metadata and pinned requirements.

MLflow is imported by this module at the top: only the sweep's entry point imports it,
when it logs to MLflow.
"""

import contextlib
import importlib.metadata
import os
import shutil
import tempfile
import warnings

import mlflow.pyfunc

import rnnjax
from rnnjax.final.saved import model_files
from rnnjax.final.saved import tuned
from rnnjax.final.use import mlflow_model
from rnnjax.results import files

NAME = 'model'  # runs:/<run_id>/model
# What the shipped sources import to predict, pinned to the versions that logged it.
REQUIREMENTS = ('mlflow', 'jax', 'jaxlib', 'flax', 'optax', 'numpy', 'pandas')

# The logged model's code (MLflow's "models from code"; no pickle): run at load time, with
# the shipped rnnjax sources on sys.path.
MODEL_CODE = """import mlflow.models
from rnnjax.final.use import mlflow_model
mlflow.models.set_model(mlflow_model.TunedPyfunc())
"""


def signature(manifest: dict):
  """The pyfunc model's ModelSignature: its params (MLflow passes no others), and a
  classifier's output columns. No input schema: MLflow would refuse integer columns for
  a forecaster's doubles, and has none for a list of cases of different lengths."""
  from mlflow.models import ModelSignature  # pylint: disable=g-import-not-at-top
  from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema  # pylint: disable=g-import-not-at-top
  transform = manifest['data']
  if manifest['task'] in ('forecast', 'panel'):
    return ModelSignature(
        params=ParamSchema([
            ParamSpec('steps', 'long', int(transform['horizon'])),
            ParamSpec('levels', 'double', list(tuned.DEFAULT_LEVELS), shape=(-1,))]))
  if manifest['task'] == 'classify':
    return ModelSignature(outputs=Schema(
        [ColSpec('string', 'predicted')] +
        [ColSpec('double', f'p_{c}') for c in transform['classes']]))
  return ModelSignature(
      params=ParamSchema([ParamSpec(k, 'double' if isinstance(v, float) else 'long', v)
                          for k, v in mlflow_model.CHARLM_DEFAULTS.items()]))


def metadata(manifest: dict) -> dict:
  """What a user of the logged model needs to know to call it (MLmodel's metadata)."""
  transform = manifest['data']
  info = {'rnnjax_task': manifest['task'], 'rnnjax_kind': manifest['kind']}
  if manifest['task'] == 'forecast':
    info.update(target_columns=list(transform['target_columns']),
                input_columns=list(transform['input_columns']),
                horizon=int(transform['horizon']))
  elif manifest['task'] == 'panel':
    info.update({k: transform[k] for k in ('id_column', 'time_column', 'target_column')},
                horizon=int(transform['horizon']))
  elif manifest['task'] == 'classify':
    info.update(classes=list(transform['classes']), channels=int(transform['channels']))
    # A model of long CSVs: the columns a DataFrame of cases is read by.
    info.update({k: transform[k] for k in ('id_column', 'time_column', 'input_columns')
                 if k in transform})
  return info


def requirements() -> list:
  """pip requirements of the logged model: REQUIREMENTS at the versions installed here
  (given, so that MLflow resolves no environment while logging)."""
  return [f'{name}=={importlib.metadata.version(name)}' for name in REQUIREMENTS]


def _copy_sources(to: str) -> str:
  """The rnnjax package's Python sources (not its bundled data sets) copied under `to`."""
  has_code = lambda d: any(f.endswith('.py') for _, _, files in os.walk(d) for f in files)
  skip = lambda d, names: [n for n in names if n == '__pycache__' or (
      not has_code(os.path.join(d, n)) if os.path.isdir(os.path.join(d, n)) else
      not n.endswith('.py'))]
  return shutil.copytree(os.path.dirname(os.path.abspath(rnnjax.__file__)),
                         os.path.join(to, 'rnnjax'), ignore=skip)


@contextlib.contextmanager
def _no_progress_bar():
  """MLflow copies the model directory with a progress bar, which would print under the
  sweep's summary; off unless the user's environment says otherwise."""
  name = 'MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR'
  unset = name not in os.environ
  if unset:
    os.environ[name] = 'false'
  try:
    yield
  finally:
    if unset:
      os.environ.pop(name, None)


def log_model(mlflow_client, run_id: str, workdir: str) -> str | None:
  """Logs WORKDIR/model/ as run `run_id`'s pyfunc model `model` (runs:/<run_id>/model);
  returns its URI models:/<model_id>, or None where the sweep saved no model. Through
  the client alone: MLflow's fluent log_model would need this process's tracking URI and
  active run set."""
  from mlflow.entities import LoggedModelOutput, LoggedModelStatus  # pylint: disable=g-import-not-at-top
  from mlflow.models import Model  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, model_files.DIRNAME)
  if not os.path.exists(os.path.join(path, model_files.MANIFEST)):
    return None
  manifest = files.read_json(os.path.join(path, model_files.MANIFEST))
  experiment_id = mlflow_client.get_run(run_id).info.experiment_id
  logged = mlflow_client.create_logged_model(
      experiment_id, name=NAME, source_run_id=run_id,
      tags={'rnnjax.task': manifest['task'], 'rnnjax.kind': manifest['kind']})
  mlflow_client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
  with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _no_progress_bar():
    # An input example would have MLflow run (and compile) the model while logging it.
    warnings.filterwarnings('ignore', message='.*An input example was not provided')
    code = os.path.join(tmp, 'rnnjax_pyfunc.py')
    with open(code, 'w', encoding='utf-8') as f:
      f.write(MODEL_CODE)
    saved = os.path.join(tmp, NAME)
    mlflow.pyfunc.save_model(
        saved, python_model=code, artifacts={mlflow_model.ARTIFACT: path},
        code_paths=[_copy_sources(os.path.join(tmp, 'code'))],
        pip_requirements=requirements(), signature=signature(manifest),
        metadata=metadata(manifest),
        mlflow_model=Model(artifact_path=logged.artifact_location, run_id=run_id,
                           model_uuid=logged.model_id, model_id=logged.model_id))
    mlflow_client.log_model_artifacts(logged.model_id, saved)
  mlflow_client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
  return f'models:/{logged.model_id}'
