"""Whose training, under which values, made a PBT member's weights.

A PBT decision (pbt.decide) copies some members' state from others and perturbs their
values. Kept as `copies`: one JSON-able dict per decision and run, {'step': s, 'uids':
[the members that took another's state], 'parents': [whose], 'values': {name: [their
new values]}} (each explored name; the names not explored are the source's, and so,
back along the copies, the values of the member that started the weights: the root).
The sweep keeps them in its search state (checkpointed); `of_records` reads them back
from metrics.jsonl's lineage records.

A member's weights at a step were trained by a chain of rows: its own since the last
copy before that step, its parent's before it, and so on to a root that started at step
0 (`chain`). Along the chain the values changed at each copy (`schedule`): that is what
trained them, and what a refit replays. A PBT copy may hold its source's best weights
(gather.exploit), so a member's best weights are traced from the row that trained them
(TrainState.best_uid) at its best step: `schedule(copies, best_uid, best_step, ...)`,
whose last values are the values its best weights trained under.
"""

import math

import numpy as np


def copies_of(uids, src_uids, step: int, values: dict) -> dict:
  """One decision's `copies` record: each member i with uids[i] != src_uids[i] took
  src_uids[i]'s state; `values` name -> <[P]> the values after explore (all rows)."""
  copied = [i for i, (u, s) in enumerate(zip(uids, src_uids)) if int(u) != int(s)]
  return {'step': int(step), 'uids': [int(uids[i]) for i in copied],
          'parents': [int(src_uids[i]) for i in copied],
          'values': {name: [float(v[i]) for i in copied] for name, v in values.items()}}


def records(uids, src_uids, step: int, values: dict, bucket=None) -> list[dict]:
  """Records of one PBT decision for metrics.jsonl, for each member that was copied:
  {'split': 'lineage', 'metric': 'parent', 'value': the source's uid} and, for each
  name in `values` (<[P]> after `explore`), {'split': 'hparams', 'metric': name,
  'value': its new value}. `bucket` is added when given."""
  uids, src_uids = np.asarray(uids), np.asarray(src_uids)
  out = []
  for i in np.flatnonzero(uids != src_uids):
    where = {'uid': int(uids[i])}
    if bucket is not None:
      where['bucket'] = bucket
    where['step'] = int(step)
    out.append({**where, 'split': 'lineage', 'metric': 'parent',
                    'value': int(src_uids[i])})
    out += [{**where, 'split': 'hparams', 'metric': name, 'value': float(v[i])}
                for name, v in values.items()]
  return out


def of_records(records) -> list[dict]:
  """`copies` from metrics.jsonl records (`records`: split 'lineage' names
  the parent, split 'hparams' each new value), one per (step, bucket)."""
  out = {}
  for r in records:
    if r['split'] not in ('lineage', 'hparams'):
      continue
    got = out.setdefault((r['step'], r.get('bucket')), {})
    entry = got.setdefault(r['uid'], {})
    if r['split'] == 'lineage':
      entry['parent'] = int(r['value'])
    else:
      entry.setdefault('values', {})[r['metric']] = float(r['value'])
  copies = []
  for (step, _), members in sorted(out.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
    uids = sorted(u for u, e in members.items() if 'parent' in e)
    names = list(dict.fromkeys(n for u in uids for n in members[u].get('values', {})))
    copies.append({'step': int(step), 'uids': uids,
                   'parents': [members[u]['parent'] for u in uids],
                   'values': {n: [members[u]['values'][n] for u in uids] for n in names}})
  return copies


class Lineage:
  """The copies of a sweep, by member: who each took its state from, when, and the
  values it took on."""

  def __init__(self, copies=()):
    self._by_uid = {}
    for c in copies:
      for k, (uid, parent) in enumerate(zip(c['uids'], c['parents'])):
        values = {name: v[k] for name, v in c['values'].items()}
        self._by_uid.setdefault(uid, []).append((c['step'], parent, values))

  def __bool__(self):
    return bool(self._by_uid)

  def chain(self, uid: int, before=math.inf) -> list[tuple[int, int]]:
    """Whose rows trained member `uid`'s weights as they were at step `before`:
    [(uid, since_step), (parent, since_step), ..., (root, 0)], newest first. A copy at
    step s happens after that step's evaluation, so weights evaluated at s predate it."""
    chain, limit = [], before
    while True:
      earlier = [(s, p) for s, p, _ in self._by_uid.get(uid, ()) if s < limit]
      if not earlier:
        return chain + [(uid, 0)]
      limit, parent = max(earlier)
      chain.append((uid, limit))
      uid = parent

  def schedule(self, uid: int, before, start_of) -> list[tuple[int, dict]]:
    """The values that trained member `uid`'s weights as they were at step `before`:
    [(since_step, values)], oldest first, from (0, the root's) to the last copy's.
    start_of(uid) -> a member's starting values (name -> value, every name); a copy's
    values are the root's with its explored names replaced."""
    chain = self.chain(uid, before)
    root = start_of(chain[-1][0])
    out = [(0, dict(root))]
    for member, since in reversed(chain[:-1]):
      got = next(v for s, _, v in self._by_uid[member] if s == since)
      out.append((since, {**root, **got}))
    return out
