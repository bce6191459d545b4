"""A sweep's member records, held as columns.

A summary in memory holds its records and configurations as a `MemberTable` and a
`ConfigTable` (config_table.py), whatever the sweep's size (final/choice/summary.py builds
them, member_scores.py makes the records); records as dicts exist only at the JSON edge,
summary_file.py's `write_summary` and `read_summary`. Up to `MAX_RECORDS` members,
summary.json lists one record per member, the ranking as uids and the configuration
table as rows. Above it, the tables are written as one `WORKDIR/members.npz` beside a
summary.json that holds the rest (the final model, the best member, best_by,
baselines...), the first `TOP` uids of the ranking (`ranking_top`) and `'columns':
'members.npz'`. At P = 100,000 that is one 36 MB file written in a tenth of a second,
instead of 100,000 dicts made, cleaned and dumped as JSON (about 10 s on a 2-core VM).

Both tables are sequences of the records summary.json lists, made on demand, so a
reader that loops over `summary['members']` gets dicts. Values a JSON file cannot hold
(NaN, inf) read back as None, as they do from JSON.
"""

import collections.abc
import json
import math

import numpy as np

from rnnjax.search import plan as search_plan

MAX_RECORDS = 1024
TOP = 10
# The top members by validation that a sweep scores on test (final/choice/summary.py).
TEST_TOP = 5
_INTS = ('uid', 'bucket', 'config', 'seed', 'fold', 'best_step', 'steps', 'best_of')
_STRS = ('status', 'stopped_by')


def columnar(num_members: int) -> bool:
  """Whether summary.json leaves the records of `num_members` members to members.npz."""
  return num_members > MAX_RECORDS


def _finite_or_none(values: list) -> list:
  return [v if math.isfinite(v) else None for v in values]


class Records(collections.abc.Sequence):
  """A table that is a sequence of records (`MemberTable`, config_table.ConfigTable)
  equals any sequence of the same records (the lists summary.json holds, as read back)."""
  __hash__ = None

  def __eq__(self, other):
    if not isinstance(other, collections.abc.Sequence) or isinstance(other, str):
      return NotImplemented
    return len(self) == len(other) and list(self) == list(other)


def hparam_column(values) -> tuple:
  """(kind, array) of one hyperparameter over members: 'int', 'float', 'bool', 'str'
  arrays when every value has that Python type, else 'json' (each value's JSON text),
  so that a value reads back with its type (an int stays 3, not 3.0)."""
  values = values.tolist() if isinstance(values, np.ndarray) else list(values)
  kinds = set(map(type, values))
  if len(kinds) == 1 and (kind := next(iter(kinds))) in (int, float, bool, str):
    return kind.__name__, np.asarray(values, {int: np.int64, float: np.float64,
                                              bool: bool, str: str}[kind])
  return 'json', np.asarray([json.dumps(v) for v in values], str)


def hparam_values(kind: str, array: np.ndarray) -> list:
  return [json.loads(v) for v in array.tolist()] if kind == 'json' else array.tolist()


class MemberTable(Records):
  """Member records in uid order as columns.

  ints: 'uid', 'bucket', 'config', 'seed', 'fold', 'best_step', 'steps', 'best_of'
    (whose row trained its best weights: a PBT copy may hold its source's; else its
    own uid, and then its record has no 'best_of') -> <int64>[N];
  strs: 'status', 'stopped_by' ('' where a record has none) -> <str>[N];
  hparams: name -> (kind, <[N]>) (see `hparam_column`); val: metric -> <float64>[N];
  test: metric -> <float64>[N], read where `tested` <bool>[N].
  """

  def __init__(self, ints: dict, strs: dict, hparams: dict, val: dict, test: dict,
               tested: np.ndarray):
    self.ints, self.strs, self.hparams = ints, strs, hparams
    self.val, self.test, self.tested = val, test, tested
    self._lists = None

  def __len__(self):
    return len(self.ints['uid'])

  @property
  def uids(self) -> np.ndarray:
    return self.ints['uid']

  def _as_lists(self, rows=slice(None)) -> dict:
    """Every column's `rows` as Python lists: records are made from these (the whole
    table's once, for iterating)."""
    if rows == slice(None) and self._lists is not None:
      return self._lists
    out = {**{k: v[rows].tolist() for k, v in self.ints.items()},
           **{k: v[rows].tolist() for k, v in self.strs.items()},
           'hparams': {n: hparam_values(kind, v[rows])
                       for n, (kind, v) in self.hparams.items()},
           'val': {m: _finite_or_none(v[rows].tolist()) for m, v in self.val.items()},
           'test': {m: _finite_or_none(v[rows].tolist()) for m, v in self.test.items()},
           'tested': self.tested[rows].tolist()}
    if rows == slice(None):
      self._lists = out
    return out

  def __iter__(self):
    c = self._as_lists()
    for i in range(len(self)):
      yield self._record(c, i)

  def __getitem__(self, i):
    if isinstance(i, slice):
      return [self[j] for j in range(*i.indices(len(self)))]
    i = search_plan.row_index(i, len(self))
    if self._lists is not None:
      return self._record(self._lists, i)
    return self._record(self._as_lists(slice(i, i + 1)), 0)  # One row, not every column.

  @staticmethod
  def _record(c: dict, i: int) -> dict:
    record = {'uid': c['uid'][i], 'bucket': c['bucket'][i], 'config': c['config'][i],
              'seed': c['seed'][i], 'fold': c['fold'][i],
              'hparams': {n: v[i] for n, v in c['hparams'].items()},
              'status': c['status'][i]}
    if c['stopped_by'][i]:
      record['stopped_by'] = c['stopped_by'][i]
    record.update(best_step=c['best_step'][i], steps=c['steps'][i],
                  val={m: v[i] for m, v in c['val'].items()})
    if c['best_of'][i] != c['uid'][i]:
      record['best_of'] = c['best_of'][i]
    if c['tested'][i]:
      record['test'] = {m: v[i] for m, v in c['test'].items()}
    return record

  def row(self, uid: int) -> int:
    """The row of member `uid` (KeyError if the table has none)."""
    i = int(np.searchsorted(self.uids, uid))
    if i == len(self) or self.uids[i] != uid:
      raise KeyError(uid)
    return i

  def record(self, uid: int) -> dict:
    return self[self.row(uid)]

  @classmethod
  def from_records(cls, records: list) -> 'MemberTable':
    """The table of records (summary member records, any order). A record without a
    configuration is its own (older summaries)."""
    records = sorted(records, key=lambda r: r['uid'])
    names = list(dict.fromkeys(n for r in records for n in r['hparams']))
    metrics = {s: list(dict.fromkeys(k for r in records for k in r.get(s) or {}))
               for s in ('val', 'test')}
    floats = lambda s, m: np.asarray(
        [np.nan if (v := (r.get(s) or {}).get(m)) is None else v for r in records],
        np.float64)
    ints = lambda k: [r.get(k, r['uid'] if k in ('config', 'best_of') else 0)
                      for r in records]
    return cls({k: np.asarray(ints(k), np.int64) for k in _INTS},
               {k: np.asarray([r.get(k, '') for r in records], str) for k in _STRS},
               {n: hparam_column([r['hparams'].get(n) for r in records]) for n in names},
               {m: floats('val', m) for m in metrics['val']},
               {m: floats('test', m) for m in metrics['test']},
               np.asarray(['test' in r for r in records], bool))

  def arrays(self) -> dict:
    """The columns as named arrays (names and kinds listed apart: metric names may hold
    any character)."""
    out = {k: v for k, v in {**self.ints, **self.strs}.items()}
    out['tested'] = self.tested
    out['hparam_names'] = np.asarray(list(self.hparams), str)
    out['hparam_kinds'] = np.asarray([k for k, _ in self.hparams.values()], str)
    for j, (_, column) in enumerate(self.hparams.values()):
      out[f'hparam_{j}'] = column
    for split in ('val', 'test'):
      columns = getattr(self, split)
      out[f'{split}_names'] = np.asarray(list(columns), str)
      for j, column in enumerate(columns.values()):
        out[f'{split}_{j}'] = column
    return out

  @classmethod
  def from_arrays(cls, z) -> 'MemberTable':
    hparams = {str(n): (str(k), z[f'hparam_{j}'])
               for j, (n, k) in enumerate(zip(z['hparam_names'], z['hparam_kinds']))}
    split = lambda s: {str(n): z[f'{s}_{j}'] for j, n in enumerate(z[f'{s}_names'])}
    ints = {k: z[k] if k in z or k != 'best_of' else z['uid'] for k in _INTS}  # Older.
    return cls(ints, {k: z[k] for k in _STRS}, hparams,
               split('val'), split('test'), z['tested'])


def records_of(members: MemberTable, uids) -> dict:
  """uid -> record of members `uids` (those the table holds)."""
  found = {}
  for u in dict.fromkeys(uids):
    try:
      found[u] = members.record(u)
    except KeyError:
      pass
  return found


def member_steps(members: MemberTable) -> int:
  """Training steps members really took (stopped, diverged and cut members take no
  more)."""
  return int(members.ints['steps'].sum())
