"""A finished sweep as Weights & Biases runs (optional extra `rnnjax[wandb]`).

`log_sweep(workdir, project)` reads the work directory (summary.json, metrics.jsonl or
the evaluation chunks) and logs, in the W&B project `project`, all in the group named
after the work directory (W&B's `group` field, which its UI folds into one row):
  a run per member   `uid-0007` (job type `member`): its hyperparameters and uid,
                     bucket, config, seed, fold as config; its learning curves
                     (`train/loss`, `val/mse`, ...) as history at the sweep's steps; its
                     summary scores as summary (`best_val/<metric>`, `test/<metric>`
                     where the sweep scored it, status, best_step, steps); a diverged
                     member's run ends with exit code 1 (failed)
  a run `final`      (job type `final`): the sweep's spec (sweep.json) and the final
                     model's kind and members as config, its scores
                     (`final/val/<metric>`, `final/test/<metric>`) and the member-steps
                     spent as summary.
Runs are tagged with the task and the search. Mode `offline` (the default) writes
DIR/wandb/offline-run-*/ and opens no network connection (the process's wandb defaults
are set to the same mode: wandb's own telemetry would otherwise ask the server at
exit); `wandb sync DIR/wandb` uploads the runs later. Mode `online` needs credentials
(WANDB_API_KEY or `wandb login`), which `check` has the server verify before training.
One process logs the runs one after another, with wandb's console capture, system
metrics and metadata off (the runs describe the sweep, not the process that logs it):
on a 2-core VM, 45-80 ms a run offline after 2-3 s to import and start wandb (256
members: 21 s). Above `max_runs` members, the first `max_runs` of the ranking (by
validation) are logged. W&B is imported only here.

Logged once per directory: DIR/wandb/rnnjax-logged.json names, for each sweep (its work
directory and summary.json's digest), the runs' id prefix and, once all are written,
their directories. The same sweep logged again there in the same mode and with the same
`max_runs` (the same command run on a finished sweep) is not logged twice; an offline
log stopped part-way has its runs removed and is written anew.
"""

import glob
import math
import os
import secrets
import shutil
import subprocess
import sys

import numpy as np

from rnnjax.errors import InputError
from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.results import summary_file
from rnnjax.results.tracking import trial_files
from rnnjax.search import rules

MODES = ('offline', 'online')
MAX_RUNS = 1024  # 1-1.5 min offline on 2 cores; W&B's project pages slow with many more.
LOGGED = 'rnnjax-logged.json'  # In DIR/wandb: the sweeps logged there (module docstring).
ONLINE_CHECK_S = 30  # How long the W&B server has to accept the credentials.
# Exit status 0: credentials accepted; 3: none; 4: refused (the reason printed).
_LOGIN = '''
import sys, wandb
wandb.setup(settings=wandb.Settings(silent=True))  # No "logged in as" (a query).
try:
  found = wandb.login(prompt=False, verify=True)  # False: no credentials, no query.
except Exception as e:  # pylint: disable=broad-except
  print((str(e).strip().splitlines() or [type(e).__name__])[0])
  sys.exit(4)
sys.exit(0 if found else 3)
'''

_BAD_PROJECT = set('/\\#?%:')  # Characters W&B refuses in a project name.


def _wandb(flag: str):
  try:
    import wandb  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise InputError(f'{flag}: Weights & Biases is not installed; pip install '
                     '"rnnjax[wandb]"') from None
  return wandb


def check(project: str, directory: str, mode: str = 'offline') -> None:
  """Raises InputError (naming the flag) unless the sweep can be logged: wandb
  installed, a project name W&B takes, `directory` a directory this process can write
  in or create (nothing is created), and for mode `online` credentials that the W&B
  server accepts (this asks the server, within ONLINE_CHECK_S; offline asks nothing)."""
  _wandb('--wandb_project')  # Installed.
  if not project or len(project) > 128 or _BAD_PROJECT & set(project):
    raise InputError(f'--wandb_project: {project!r} is not a W&B project name (1 to 128 '
                     'characters, none of / \\ # ? % :)')
  if mode not in MODES:
    raise InputError(f'--wandb_mode: {mode!r} is not one of {", ".join(MODES)}')
  path = existing = os.path.abspath(directory)
  while not os.path.lexists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise InputError(f'--wandb_dir: cannot write runs in {directory}: {existing} is not a '
                     'directory')
  if not os.access(existing, os.W_OK | os.X_OK):
    verb = 'write in' if existing == path else f'create {directory} in'
    raise InputError(f'--wandb_dir: cannot {verb} {existing} (permission denied)')
  if mode == 'online':
    # In a process of its own, to a deadline: where no server answers (a compute node
    # without network) wandb keeps retrying, and its service outlives a thread.
    try:
      proc = subprocess.run([sys.executable, '-c', _LOGIN], capture_output=True, text=True,
                            timeout=ONLINE_CHECK_S, check=False)
    except subprocess.TimeoutExpired:
      raise InputError(f'--wandb_mode=online: the W&B server did not answer in '
                       f'{ONLINE_CHECK_S} s; or log offline and `wandb sync` later (from a '
                       'machine with network)') from None
    if proc.returncode == 3:
      raise InputError('--wandb_mode=online: no W&B credentials (set WANDB_API_KEY or run '
                       '`wandb login`); or log offline and `wandb sync` later')
    if proc.returncode:
      said = (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or
              [f'status {proc.returncode}'])[-1][:200]
      raise InputError(f'--wandb_mode=online: the W&B server refused the credentials or '
                       f'did not answer ({said}); or log offline and `wandb sync` later')


def _line(e: BaseException) -> str:
  return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _settings(wandb, mode: str):
  return wandb.Settings(
      mode=mode, reinit='create_new', silent=True, console='off', x_disable_stats=True,
      x_disable_meta=True, x_disable_machine_info=True, disable_git=True,
      disable_code=True, save_code=False, x_save_requirements=False,
      disable_job_creation=True)


def _chosen(summary: dict, max_runs: int) -> list:
  """The uids logged: every member, or the first max_runs of the ranking then by uid."""
  uids = summary['members'].uids.tolist()
  if len(uids) <= max_runs:
    return uids
  first = list(dict.fromkeys((summary.get('ranking') or []) + uids))[:max_runs]
  return sorted(first)


def histories(workdir: str, uids, num_members: int) -> dict:
  """uid -> {step: {'split/metric': value}}: the learning curves of members `uids` (no
  PBT lineage or values; a value that is not finite left out), as curves.csv holds
  them, or from the evaluation chunks of a large sweep."""
  wanted, out = set(uids), {}

  def add(uid, step, key, value):
    if uid in wanted and value is not None and math.isfinite(value):
      out.setdefault(uid, {}).setdefault(step, {})[key] = value

  if evaluations.columnar(num_members):
    for ev in evaluations.read(workdir):
      rows = np.flatnonzero(np.isin(ev.uids, list(wanted)))
      columns = {k: np.asarray(v, np.float64)[rows].tolist() for k, v in ev.values.items()}
      for j, (uid, step) in enumerate(zip(ev.uids[rows].tolist(), ev.steps[rows].tolist())):
        for key, column in columns.items():
          add(uid, step, key, column[j])
  else:
    for r in trial_files.curves(workdir):
      if r['split'] not in ('lineage', 'hparams'):
        add(r['uid'], r['step'], f'{r["split"]}/{r["metric"]}', r['value'])
  return out


def _scores(prefix: str, values) -> dict:
  return {f'{prefix}/{k}': v for k, v in (values or {}).items() if v is not None}


def member_summary(rec: dict) -> dict:
  """What a member's run holds as its summary (besides its curves' last values)."""
  return {**_scores('best_val', rec['val']), **_scores('test', rec.get('test')),
          **{k: rec[k] for k in ('status', 'stopped_by', 'best_step', 'steps', 'best_of')
             if k in rec}}


def member_config(rec: dict) -> dict:
  """What a member's run holds as its config: its ids and hyperparameters."""
  return {**{k: rec[k] for k in ('uid', 'bucket', 'config', 'seed', 'fold') if k in rec},
          **rec['hparams']}


def final_summary(summary: dict) -> dict:
  final = summary.get('final') or {}
  return {**_scores('final/val', final.get('val')), **_scores('final/test', final.get('test')),
          **_scores('member_steps', summary.get('member_steps'))}


def _earlier(record: str, key: str, mode: str, max_runs: int):
  """The runs' directories where this sweep was logged whole under `record`'s directory
  with these settings, else None; an offline log of it stopped part-way is removed."""
  logged = files.read_json(record) if os.path.exists(record) else {}
  entry = logged.get(key)
  if entry is None:
    return None
  if 'runs' in entry and (entry['mode'], entry['max_runs']) == (mode, max_runs) and all(
      os.path.isdir(d) for d in entry['runs']):
    return entry['runs']
  if 'runs' not in entry and entry['mode'] == 'offline':
    for run_dir in glob.glob(os.path.join(os.path.dirname(record),
                                          f'offline-run-*-{entry["prefix"]}-*')):
      shutil.rmtree(run_dir, ignore_errors=True)
  return None


def _note(record: str, key: str, entry: dict) -> None:
  os.makedirs(os.path.dirname(record), exist_ok=True)
  logged = files.read_json(record) if os.path.exists(record) else {}
  files.write_json(record, {**logged, key: entry})


def log_sweep(workdir: str, project: str, *, directory: str = '', mode: str = 'offline',
              max_runs: int = MAX_RUNS, log=print) -> list:
  """Logs the finished sweep in WORKDIR (see the module docstring) under
  DIRECTORY/wandb (default: WORKDIR/wandb); returns the runs' directories, the final
  run's last, each complete on return: wandb's service is ended (wandb.teardown), so
  call it where no other W&B run is open. A W&B failure is one line (InputError)."""
  wandb = _wandb('--wandb_project')
  record = os.path.join(os.path.abspath(directory or workdir), 'wandb', LOGGED)
  key = (f'{os.path.abspath(workdir)} '
         f'{files.digest(os.path.join(workdir, files.SUMMARY))} {project}')
  earlier = _earlier(record, key, mode, max_runs)
  if earlier is not None:
    log(f'W&B: this sweep is already logged in {os.path.dirname(record)}; not logged again')
    return earlier
  summary = summary_file.read_summary(workdir)
  spec = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  uids = _chosen(summary, max_runs)
  curves = histories(workdir, uids, len(summary['members']))
  records = member_table.records_of(summary['members'], uids)
  # Ids of our own: a WANDB_RUN_ID in the environment would otherwise name every run.
  prefix = secrets.token_hex(4)
  common = dict(project=project, dir=os.path.abspath(directory or workdir),
                group=os.path.basename(os.path.abspath(workdir)),
                tags=[summary['task'], summary['search']], settings=_settings(wandb, mode))
  final = summary.get('final') or {}
  runs = [(f'{prefix}-{u:04d}', f'uid-{u:04d}', 'member', member_config(records[u]),
           curves.get(u, {}), member_summary(records[u]),
           1 if records[u]['status'] == 'diverged' else 0) for u in uids]
  # The settings its task reads (as MLflow's parameters): not a classifier's class_balance
  # on a forecast.
  read = {k: v for k, v in spec.items() if rules.applies(k, spec['task'])}
  runs.append((f'{prefix}-final', 'final', 'final',
               {**read, **{k: final[k] for k in ('kind', 'members') if k in final}},
               {}, final_summary(summary), 0))
  out = []
  entry = {'prefix': prefix, 'mode': mode, 'max_runs': max_runs}
  _note(record, key, entry)
  try:
    # The process's defaults too: wandb's own telemetry, built from them, would otherwise
    # ask the W&B server (online by default) whether to send, even from offline runs.
    wandb.setup(settings=common['settings'])
    for run_id, name, job_type, config, history, scores, exit_code in runs:
      run = wandb.init(id=run_id, name=name, job_type=job_type, config=config, **common)
      for step in sorted(history):
        run.log(history[step], step=step)
      run.summary.update(scores)
      out.append(os.path.dirname(run.dir))
      run.finish(exit_code=exit_code)
    # wandb-core may still be writing the last run's file: its service ends once all are
    # written (and, online, sent).
    wandb.teardown()
  except Exception as e:  # pylint: disable=broad-except
    raise InputError(f'--wandb_project: W&B logging failed after {len(out)} of {len(runs)} '
                     f'runs ({_line(e)}); the sweep is finished: run the same command to '
                     'log it again') from None
  _note(record, key, {**entry, 'runs': out})
  return out
