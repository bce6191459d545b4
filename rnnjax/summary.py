"""The end of a sweep: every member's scores, the ranking, test scores, a text sample.

Validation scores come from each member's validation-best parameters. TEST is scored
once, at the end, for the top `TEST_TOP` members of the ranking (the chosen one first),
never used to choose.
"""

import os

import jax
import numpy as np

from rnnjax import generate
from rnnjax import population as pop
from rnnjax import tasks
from rnnjax.data import text

TEST_TOP = 5


def _row(a, i):
  return jax.tree.map(lambda leaf: leaf[i], a)


def summarise(spec, plan, runs, retired: dict, data, splits, *, mesh, group_size,
              rename) -> dict:
  """The summary of a finished sweep (see the module docstring).

  runs: the sweep's final runs (sweep.Run); retired: uid -> record of members that
  adaptive search took out of the population before the end; splits: device arrays of
  'val' and 'test'; rename: maps metric names (e.g. per target column).
  """
  task = tasks.TASKS[spec.task]
  by_uid = {m.uid: m for m in plan.members}
  records, where = [], {}
  for r, run in enumerate(runs):
    if run.state is None:
      continue
    eval_fn = pop.population_eval_fn(run.cfg, mesh, group_size)
    val, status, best_step, steps = jax.device_get((
        eval_fn(run.state.best_params, splits['val']), run.state.status,
        run.state.best_step, run.state.step))
    for i, uid in enumerate(run.uids):
      if uid < 0:
        continue
      records.append(_record(by_uid[uid], run.hp, i, pop.STATUS_NAMES[status[i]],
                             int(best_step[i]), int(steps[i]),
                             rename({k: v[i] for k, v in val.items()})))
      where[uid] = (r, i)
  records += [dict(rec) for rec in retired.values()]
  records.sort(key=lambda rec: rec['uid'])
  key = lambda rec: rec['val'][task.selection]
  ranked = sorted((rec for rec in records if rec['status'] != 'diverged'
                   and np.isfinite(key(rec))), key=key)
  for rec in ranked:
    if sum('test' in r for r in records) == TEST_TOP:
      break
    if rec['uid'] in where:  # Members retired by halving have no parameters left.
      r, i = where[rec['uid']]
      test = pop.evaluate(runs[r].cfg, _row(runs[r].state.best_params, i), splits['test'])
      rec['test'] = rename({k: float(v) for k, v in jax.device_get(test).items()})
  best = dict(ranked[0]) if ranked else None
  return {'task': spec.task, 'search': spec.search,
          'selection': {'metric': task.selection, 'mode': 'min'},
          'display': task.display, 'display_mode': task.display_mode,
          'members': records, 'ranking': [rec['uid'] for rec in ranked], 'best': best,
          'baselines': data.baselines, 'data': data.info}


def _record(member, hp, i, status, best_step, steps, val):
  hparams = dict(member.hparams)
  # PBT changes values during training: the final ones (the history is in metrics.jsonl).
  for name in ('learning_rate', 'weight_decay', 'clip_norm', 'momentum', 'beta2',
               'input_dropout'):
    hparams[name] = float(jax.device_get(getattr(hp, name)[i]))
  return {'uid': member.uid, 'bucket': member.bucket, 'config': member.config,
          'seed': member.seed, 'hparams': hparams, 'status': status,
          'best_step': best_step, 'steps': steps,
          'val': {k: float(v) for k, v in val.items()}}


def write_sample(spec, runs, best: dict, data, workdir: str) -> dict:
  """The best language model writes `spec.sample_chars` characters, primed with the
  start of the validation text, to WORKDIR/sample.txt."""
  for run in runs:
    if run.state is not None and best['uid'] in run.uids:
      i = run.uids.index(best['uid'])
      params = _row(run.state.best_params, i)
      break
  else:
    return {}
  prime = np.asarray(data.arrays['val']['x'][0, :spec.seq_len])
  tokens = generate.sample(run.cfg.model, params, key=jax.random.key(spec.seed),
                           num_chars=spec.sample_chars, temperature=spec.temperature,
                           prime=prime)
  prime_text = text.decode(prime, data.vocab)
  sample = text.decode(np.asarray(tokens), data.vocab)
  path = os.path.join(workdir, 'sample.txt')
  with open(path + '.tmp', 'w') as f:
    f.write(prime_text + sample)
  os.replace(path + '.tmp', path)
  return {'path': 'sample.txt', 'uid': best['uid'], 'temperature': spec.temperature,
          'prime': prime_text, 'num_chars': spec.sample_chars}
