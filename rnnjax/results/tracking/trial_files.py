"""A finished sweep in the tools researchers already use: Optuna, pandas (and MLflow).

Every exporter reads one record per member, `trials(workdir, summary)`, built from the
summary (status, best step, validation and test scores, values) and metrics.jsonl
(curves, PBT lineage), so the files never disagree with summary.json or each other:

  WORKDIR/optuna.journal  an Optuna study (JournalStorage file), one trial per member:
                          its parameters (the values it started with; after PBT, those
                          its best weights trained under, explored ones in their
                          ranges) and their distributions (the spec's axes), the
                          validation selection metric
                          at each evaluation as intermediate values, its summary value,
                          state COMPLETE (ok, early-stopped), PRUNED (cut by halving) or
                          FAIL (diverged, no value), and user attributes: uid, bucket,
                          config, seed, fold, best step, validation and test scores, and
                          after PBT whose rows trained its best weights (`best_of`,
                          `pbt_lineage`) and the values it started with, where others
                          (`start_hparams`).
                          `optuna-dashboard WORKDIR/optuna.journal`,
                          `optuna.visualization` and `study.trials_dataframe()` read it.
  WORKDIR/trials.csv      a row per member: uid, bucket, config, seed, every hyperparameter
                          (the values that trained its best weights: after PBT, where the
                          copies left them; beside --dropout_per_layer's dropout_1,
                          dropout_2, ... no `dropout`, which no layer uses), status,
                          best step (and after PBT `best_of`, whose row trained them),
                          val_* and test_* metrics.
  WORKDIR/curves.csv      long format: uid, step, split, metric, value (metrics.jsonl).

`write(workdir, summary)` rebuilds all three from scratch (each written through
files.atomic), so a resumed sweep writes them as an uninterrupted one does.
Optuna is imported only when the journal is written. Large sweeps: above
evaluations.JSONL_MAX_MEMBERS members the curves stay in WORKDIR/metrics/*.npz (no
curves.csv, no intermediate values), and above MAX_JOURNAL_TRIALS there is no journal
(Optuna adds about 1.5 ms a trial on a 2-core VM: 25 minutes for a million members);
trials.csv is always written, a column at a time from the summary's member table
(`trial_columns`: no dict per member however large the sweep).
"""

import csv
import json
import os
import warnings

import numpy as np

from rnnjax.results import evaluations
from rnnjax.results import files
from rnnjax.results import member_table
from rnnjax.search import hparams
from rnnjax.search import plan as search_plan
from rnnjax.search import space
from rnnjax.search.strategies import lineage as lineage_lib
from rnnjax.search.strategies import pbt

STUDY = 'rnnjax'
MAX_JOURNAL_TRIALS = 10_000
CURVE_COLUMNS = ('uid', 'step', 'split', 'metric', 'value')


def curves(workdir: str) -> list:
  """metrics.jsonl as rows (the last record of each key wins), by uid, step, split."""
  latest = {}
  for r in evaluations.read_metrics(os.path.join(workdir, files.METRICS)):
    latest[r['uid'], r['step'], r['split'], r['metric']] = r
  return [latest[k] for k in sorted(latest, key=lambda k: (k[0], k[1], k[2], k[3]))]


def trials(workdir: str, summary: dict, rows=None) -> list:
  """One record per member (uid order): the summary's member record, plus
  'start': the values it started with (plan.json), 'curve': step -> validation
  selection metric, 'lineage': whose rows trained its best weights after PBT's copies,
  [(uid, since step), ...] newest first (search/strategies/lineage.py), 'test' where the summary
  scored it. rows: `curves(workdir)` when already read."""
  rows = curves(workdir) if rows is None else rows
  selection = summary['selection']['metric']
  plan = {m['uid']: m for m in search_plan.members_of_json(
      files.read_json(os.path.join(workdir, files.PLAN)))}
  curve, lineage = {}, []
  for r in rows:
    if r['split'] == 'val' and r['metric'] == selection and r['value'] is not None:
      curve.setdefault(r['uid'], {})[r['step']] = r['value']
    if r['split'] in ('lineage', 'hparams'):
      lineage.append(r)
  tree, out = lineage_lib.Lineage(lineage_lib.of_records(lineage)), []
  for m in summary['members']:
    chain = tree.chain(m.get('best_of', m['uid']), m['best_step']) if tree else []
    out.append({**m, 'start': plan.get(m['uid'], m)['hparams'],
                'curve': curve.get(m['uid'], {}),
                'lineage': chain if len(chain) > 1 or 'best_of' in m else []})
  return out


def _csv(path: str, columns, rows) -> None:
  """A CSV of `columns` and `rows` (sequences of cells; None is an empty cell)."""
  with files.atomic(path) as tmp, open(tmp, 'w', newline='', encoding='utf-8') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    writer.writerows(rows)


def trial_columns(table: member_table.MemberTable) -> tuple:
  """(columns, rows) of trials.csv from summary['members'] (the table): made a column at
  a time, a score that is not finite (or was not taken) an empty cell."""
  cells = {k: table.ints[k].tolist() for k in ('uid', 'bucket', 'config', 'seed', 'fold')}
  cells.update({name: member_table.hparam_values(kind, values)
                for name, (kind, values) in table.hparams.items()})
  if hparams.has_layers(table.hparams):  # Each layer's rate: `dropout` (0) is no rate.
    cells.pop('dropout', None)
  cells.update({k: table.strs[k].tolist() for k in ('status', 'stopped_by')})
  cells.update({k: table.ints[k].tolist() for k in ('best_step', 'steps')})
  if (table.ints['best_of'] != table.uids).any():  # PBT copies holding others' weights.
    cells['best_of'] = table.ints['best_of'].tolist()
  finite = lambda v, where: [x if ok else None for x, ok in
                             zip(files.short_floats(v), (np.isfinite(v) & where).tolist())]
  cells.update({f'val_{k}': finite(v, True) for k, v in table.val.items()})
  cells.update({f'test_{k}': finite(v, table.tested) for k, v in table.test.items()})
  return list(cells), zip(*cells.values())


def write_journal(path: str, workdir: str, summary: dict, records: list) -> None:
  """The Optuna study of the sweep (see the module docstring), written atomically."""
  import optuna  # pylint: disable=g-import-not-at-top
  from rnnjax.search.strategies import tpe  # pylint: disable=g-import-not-at-top
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  spec = files.read_json(os.path.join(workdir, files.SWEEP))['spec']
  axes = space.axes_of(spec, task=spec['task'], dropout_per_layer=spec['dropout_per_layer'])
  dists = tpe.distributions(axes)
  pbt_run = spec.get('search') == 'pbt'
  if pbt_run:  # Its values are those its best weights trained under: anywhere in a range
    # (as the engine holds them: float32, which may round a bound up).
    held = lambda lo, hi: (min(lo, float(np.float32(lo))), max(hi, float(np.float32(hi))))
    dists.update({name: (optuna.distributions.IntDistribution(int(r.lo), int(r.hi))
                         if r.integer else
                         optuna.distributions.FloatDistribution(*held(r.lo, r.hi), log=r.log))
                  for name, r in pbt.search_space(axes).items()})
  selection = summary['selection']['metric']
  state = optuna.trial.TrialState
  frozen = []
  for rec in records:
    params, distributions = {}, {}
    values = rec['hparams'] if pbt_run else rec['start']
    for name, dist in dists.items():
      try:  # Optuna's own test of a value, which create_trial would raise on.
        internal = dist.to_internal_repr(values[name])
        if not dist._contains(internal):  # pylint: disable=protected-access
          continue
      except (KeyError, ValueError):
        continue  # Not a value of the axis (cannot happen for a spec's own values).
      params[name], distributions[name] = values[name], dist
    value = rec['val'].get(selection)
    if rec['status'] == 'diverged' or value is None or not np.isfinite(value):
      kind, value = state.FAIL, None
    else:
      kind = state.PRUNED if rec.get('stopped_by', '').startswith('halving') else state.COMPLETE
    attrs = {k: rec[k] for k in ('uid', 'bucket', 'config', 'seed', 'fold', 'status',
                                 'stopped_by', 'best_step', 'steps', 'best_of') if k in rec}
    attrs.update({f'val_{k}': v for k, v in rec['val'].items()})
    attrs.update({f'test_{k}': v for k, v in (rec.get('test') or {}).items()})
    if rec['lineage']:  # Of its best weights; the values it started with, where others.
      attrs['pbt_lineage'] = [list(x) for x in rec['lineage']]
      attrs['start_hparams'] = {k: v for k, v in rec['start'].items()
                                if rec['hparams'].get(k) != v}
    frozen.append(optuna.trial.create_trial(
        state=kind, value=value, params=params, distributions=distributions,
        user_attrs=json.loads(json.dumps(files.clean(attrs))),
        intermediate_values={int(s): float(v) for s, v in rec['curve'].items()
                             if np.isfinite(v)}))

  with files.atomic(path) as tmp:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(tmp))
    study = optuna.create_study(study_name=STUDY, storage=storage, direction='minimize')
    for key in ('task', 'search', 'display'):
      study.set_user_attr(key, summary.get(key))
    study.set_user_attr('selection', selection)
    with warnings.catch_warnings():  # Experimental in Optuna 5: the dashboard's axis name.
      warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
      study.set_metric_names([f'val_{selection}'])
    if summary.get('final'):
      study.set_user_attr('final_model', files.clean(summary['final']))
    study.add_trials(frozen)


def write(workdir: str, summary: dict) -> tuple:
  """trials.csv, curves.csv and optuna.journal of a finished sweep (rebuilt whole).
  Returns notes naming what a large sweep leaves out (see the module docstring)."""
  num_members, notes = len(summary['members']), []
  large = evaluations.columnar(num_members)
  rows = [] if large else curves(workdir)
  if large:
    notes.append(f'{files.CURVES} not written: {num_members} members (over '
                 f'{evaluations.JSONL_MAX_MEMBERS}); their curves are in '
                 f'{os.path.join(workdir, files.CHUNKS)}')
  else:
    _csv(os.path.join(workdir, files.CURVES), CURVE_COLUMNS,
         ([r[k] for k in CURVE_COLUMNS] for r in rows))
  _csv(os.path.join(workdir, files.TRIALS), *trial_columns(summary['members']))
  if num_members > MAX_JOURNAL_TRIALS:
    notes.append(f'{files.JOURNAL} not written: {num_members} members (over '
                 f'{MAX_JOURNAL_TRIALS} trials); {files.TRIALS} has a row per member')
  else:  # The journal's records: a dict per member, at most MAX_JOURNAL_TRIALS.
    write_journal(os.path.join(workdir, files.JOURNAL), workdir, summary,
                  trials(workdir, summary, rows))
  return tuple(notes)
