"""A finished sweep in MLflow (optional extra `rnnjax[mlflow]`).

`log_sweep(uri, workdir)` logs, in the experiment `experiment` of the tracking store at
`uri` (e.g. `sqlite:///mlflow.db` or an `http://` server):
  a parent run   named after the work directory: the sweep's flags (sweep.json) as
                 parameters (those its task reads), the final model's validation and
                 test metrics (`final/val/<metric>`, `final/test/<metric>`),
                 member-steps spent, and as
                 artifacts summary.json, plan.json, trials.csv, curves.csv and figures/,
                 and, through `log_model` (final/use/mlflow_packaging.log_model), the
                 final model (WORKDIR/model/) as the pyfunc model `model`:
                 mlflow.pyfunc.load_model(f'runs:/{run_id}/model') forecasts, classifies
                 or samples as rnnjax.load(workdir) does; its models:/ URI is the run's
                 tag `rnnjax.model_uri`
  a nested run   per member (`uid-0007`, tagged with its parent): its hyperparameters
                 (uid, bucket, config, seed too) as parameters, every metric of
                 metrics.jsonl at its step (`train/loss`, `val/mse`, ...), its summary
                 scores (`best_val/<metric>`, `test/<metric>` where scored), its status
                 as a tag; a diverged member's run ends FAILED.
Logged once per sweep: the parent is tagged with its work directory and summary.json's
digest; the same sweep logged again (the same command run on a finished sweep) is not
logged twice, and a log stopped part-way (its parent not FINISHED) is deleted, children
and all, and written anew.
The records come from trial_files.trials / trial_files.curves, the same ones trials.csv and
the Optuna journal are written from. MLflow is imported only here (lazily), and in
final/use's mlflow_packaging.py and mlflow_model.py.
"""

import os
import time

from rnnjax.errors import InputError
from rnnjax.results import files
from rnnjax.results import summary_file
from rnnjax.results.tracking import trial_files
from rnnjax.search import rules

EXPERIMENT = 'rnnjax'
WORKDIR_TAG = 'rnnjax.run.workdir'
SUMMARY_TAG = 'rnnjax.run.summary'  # summary.json's digest: which sweep of that directory.
_BATCH = 1000  # MLflow's most metrics per log_batch call.


def client(uri: str):
  """An MlflowClient on `uri` that has answered once; InputError naming --mlflow_uri when
  the store cannot be read (or MLflow is not installed)."""
  try:
    from mlflow.tracking import MlflowClient  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise InputError('--mlflow_uri: MLflow is not installed; pip install '
                     '"rnnjax[mlflow]"') from None
  try:
    mlflow_client = MlflowClient(tracking_uri=uri)
    mlflow_client.search_experiments(max_results=1)
  except Exception as e:  # pylint: disable=broad-except
    message = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise InputError(f'--mlflow_uri: {uri!r} is not a readable MLflow tracking store '
                     f'({message})') from None  # Whole: its advice may come last.
  return mlflow_client


def _params(values: dict) -> list:
  from mlflow.entities import Param  # pylint: disable=g-import-not-at-top
  return [Param(str(k), str(v)[:6000]) for k, v in values.items()]


def _log(mlflow_client, run_id: str, metrics=(), params=()) -> None:
  params = list(params)
  for start in range(0, max(len(params), 1), 100):
    mlflow_client.log_batch(run_id, params=params[start:start + 100])
  metrics = list(metrics)
  for start in range(0, len(metrics), _BATCH):
    mlflow_client.log_batch(run_id, metrics=metrics[start:start + _BATCH])


def _earlier(mlflow_client, experiment_id: str, where: str, digest: str) -> list:
  """Parent runs of this experiment that logged this sweep before."""
  runs = mlflow_client.search_runs(
      [experiment_id], filter_string=f"tags.`{SUMMARY_TAG}` = '{digest}'")
  return [r for r in runs if r.data.tags.get(WORKDIR_TAG) == where]


def _delete(mlflow_client, experiment_id: str, run_id: str) -> None:
  while True:  # A page at a time (deleted runs leave the search's results).
    children = mlflow_client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
        max_results=1000)
    if not children:
      break
    for child in children:
      mlflow_client.delete_run(child.info.run_id)
  mlflow_client.delete_run(run_id)


def log_sweep(uri: str, workdir: str, *, experiment: str = EXPERIMENT,
              mlflow_client=None, log_model=None, log=print) -> str:
  """Logs the finished sweep in WORKDIR (see the module docstring); returns the parent
  run's id (an earlier one's, where it was logged whole before). `log_model(mlflow_client,
  run_id, workdir)` logs the saved model, if any, and returns its URI (or None)."""
  from mlflow.entities import Metric  # pylint: disable=g-import-not-at-top
  mlflow_client = mlflow_client or client(uri)
  summary = summary_file.read_summary(workdir)
  spec = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  found = mlflow_client.get_experiment_by_name(experiment)
  experiment_id = found.experiment_id if found else mlflow_client.create_experiment(experiment)
  where = os.path.abspath(workdir)
  digest = files.digest(os.path.join(workdir, files.SUMMARY))
  for run in _earlier(mlflow_client, experiment_id, where, digest):
    if run.info.status == 'FINISHED':
      log(f'MLflow: this sweep is already logged (run {run.info.run_id}); not logged again')
      return run.info.run_id
    _delete(mlflow_client, experiment_id, run.info.run_id)  # Stopped part-way.
  rows = trial_files.curves(workdir)
  records = trial_files.trials(workdir, summary, rows)
  now = int(time.time() * 1000)
  metric = lambda key, value, step=0: Metric(key, float(value), now, int(step))
  parent = mlflow_client.create_run(
      experiment_id, run_name=os.path.basename(os.path.abspath(workdir)),
      tags={WORKDIR_TAG: where, SUMMARY_TAG: digest,
            'rnnjax.search.space': summary['search'], 'rnnjax.task': summary['task']}).info.run_id
  final = summary.get('final') or {}
  read = {k: v for k, v in spec.items() if rules.applies(k, spec['task'])}
  _log(mlflow_client, parent, params=_params(read), metrics=[
      metric(f'final/{split}/{k}', v) for split in ('val', 'test')
      for k, v in (final.get(split) or {}).items() if v is not None] + [
      metric(f'member_steps/{k}', v) for k, v in summary.get('member_steps', {}).items()])
  for name in (files.SUMMARY, files.PLAN, files.TRIALS, files.CURVES):
    if os.path.exists(os.path.join(workdir, name)):
      mlflow_client.log_artifact(parent, os.path.join(workdir, name))
  figures = os.path.join(workdir, files.FIGURES)
  if os.path.isdir(figures):
    mlflow_client.log_artifacts(parent, figures, artifact_path='figures')
  model_uri = log_model and log_model(mlflow_client, parent, workdir)
  if model_uri:
    mlflow_client.set_tag(parent, 'rnnjax.model_uri', model_uri)
  by_uid = {}
  for r in rows:
    if r['value'] is not None and r['split'] not in ('lineage', 'hparams'):
      by_uid.setdefault(r['uid'], []).append(metric(f'{r["split"]}/{r["metric"]}',
                                                    r['value'], r['step']))
  for rec in records:
    run = mlflow_client.create_run(
        experiment_id, run_name=f'uid-{rec["uid"]:04d}',
        tags={'mlflow.parentRunId': parent, 'rnnjax.status': rec['status'],
              'rnnjax.uid': str(rec['uid'])}).info.run_id
    scores = [metric(f'best_val/{k}', v, rec['best_step'])
              for k, v in rec['val'].items() if v is not None]
    scores += [metric(f'test/{k}', v, rec['best_step'])
               for k, v in (rec.get('test') or {}).items() if v is not None]
    # best_of: after PBT, the member whose row trained its best weights (not its own).
    ids = {k: rec[k] for k in ('uid', 'bucket', 'config', 'seed', 'fold', 'best_of')
           if k in rec}
    _log(mlflow_client, run, params=_params({**ids, **rec['hparams']}),
         metrics=by_uid.get(rec['uid'], []) + scores)
    mlflow_client.set_terminated(run, 'FAILED' if rec['status'] == 'diverged'
                                 else 'FINISHED')
  mlflow_client.set_terminated(parent, 'FINISHED')
  return parent
