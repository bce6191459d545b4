"""A sweep's member records and configuration table, held as columns.

A summary in memory holds its records and configurations as a `MemberTable` and a
`ConfigTable`, whatever the sweep's size (final/choice/summary.py builds them,
member_scores.py makes the records); records as dicts exist only at the JSON edge,
summary_file.py's `write_summary` and `read_summary`. Up to `MAX_RECORDS` members, summary.json lists one
record per member, the ranking as uids and the configuration table as rows. Above it,
the tables are written as one `WORKDIR/members.npz` beside a summary.json that holds the
rest (the final model, the best member, best_by, baselines...), the first `TOP` uids of
the ranking (`ranking_top`) and `'columns': 'members.npz'`. At P = 100,000 that is one
36 MB file written in a tenth of a second, instead of 100,000 dicts made, cleaned and
dumped as JSON (about 10 s on a 2-core VM).

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
_INTS = ('uid', 'bucket', 'config', 'seed', 'fold', 'best_step', 'steps', 'best_of')
_STRS = ('status', 'stopped_by')


def columnar(num_members: int) -> bool:
  """Whether summary.json leaves the records of `num_members` members to members.npz."""
  return num_members > MAX_RECORDS


def _finite_or_none(values: list) -> list:
  return [v if math.isfinite(v) else None for v in values]


class _Records(collections.abc.Sequence):
  """A table that is a sequence of records equals any sequence of the same records (the
  lists summary.json holds, as read back)."""
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


class MemberTable(_Records):
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


def rank_configs(config: np.ndarray, values: np.ndarray) -> np.ndarray:
  """<int64>[C] configurations 0..C-1 best first: the one rule that ranks a sweep's
  configurations, for its summary (`ConfigTable.of`) and its figures
  (figures/member_values.py) alike.

  config: <int>[N] each member's configuration, numbered in the order they first appear;
  values: <float64>[N] its validation selection metric (lower is better). A member counts
  where its value is finite (a diverged one at the best it reached before diverging).
  First the fewest members without a finite value, so that a configuration whose seeds
  mostly have none does not win on one lucky survivor; then the lowest mean over those
  that count; a configuration with none last; ties in their order.
  """
  usable = np.isfinite(values)
  counts = np.bincount(config, weights=usable)
  mean = np.bincount(config, weights=np.where(usable, values, 0.0)) / np.maximum(counts, 1)
  missing = np.bincount(config) - counts
  return np.lexsort((mean, missing, counts == 0))


class ConfigTable(_Records):
  """The summary's configuration table, best first (`rank_configs`: the fewest members
  without a finite validation selection metric, then the best mean): configurations (a
  configuration's seeds, and folds, share its values) with their mean selection metric
  over the members with a finite one, with its standard deviation, and the same of the
  display metric.

  config, usable: <int64>[C]; diverged: <int64>[C] of its usable members, those that
  diverged (each counted at its best before: `count_diverged`), None until
  summary_file.read counts them for a summary written before they were listed; uids:
  <int64>[sum of sizes], each configuration's uids from offsets[c] to offsets[c + 1];
  stats: metric -> (mean, sd) <float64>[C] each (NaN where the small form holds None: no
  usable member, or one).
  """

  def __init__(self, config, usable, diverged, uids, offsets, stats: dict):
    self.config, self.usable, self.diverged = config, usable, diverged
    self.uids, self.offsets, self.stats = uids, offsets, stats

  def __len__(self):
    return len(self.config)

  def __getitem__(self, i):
    if isinstance(i, slice):
      return [self[j] for j in range(*i.indices(len(self)))]
    i = search_plan.row_index(i, len(self))
    stat = lambda a: None if np.isnan(a[i]) else float(a[i])
    return {'config': int(self.config[i]),
            'uids': self.uids[self.offsets[i]:self.offsets[i + 1]].tolist(),
            'usable': int(self.usable[i]), 'diverged': int(self.diverged[i]),
            'val': {m: {'mean': stat(mean), 'sd': stat(sd)}
                    for m, (mean, sd) in self.stats.items()}}

  @classmethod
  def of(cls, table: MemberTable, selection: str, display: str,
         per_member: bool = False) -> 'ConfigTable':
    """The configuration table of the table's members, with numpy group sums;
    per_member: a row per member (after PBT, whose members' seeds went their own ways),
    each naming its member's starting configuration."""
    config = table.ints['config']
    key = np.arange(len(config)) if per_member else config
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    configs = config[first]
    # Configurations in the order they first appear (uid order), as the small form's.
    by_first = np.argsort(first, kind='stable')
    values = table.val[selection]
    usable = np.isfinite(values)
    counts = np.bincount(group, weights=usable, minlength=len(configs))
    stats = {}
    for metric in dict.fromkeys((selection, display)):
      x = np.where(usable, table.val[metric], 0.0)
      mean = np.bincount(group, weights=x, minlength=len(configs)) / np.maximum(counts, 1)
      with np.errstate(invalid='ignore'):  # A display value overflowed (inf - inf): its
        sq = np.where(usable, (table.val[metric] - mean[group]) ** 2, 0.0)  # mean is inf.
      var = np.bincount(group, weights=sq, minlength=len(configs)) / np.maximum(counts - 1, 1)
      stats[metric] = (np.where(counts > 0, mean, np.nan),
                       np.where(counts > 1, np.sqrt(var), np.nan))
    appears = np.empty(len(configs), np.int64)
    appears[by_first] = np.arange(len(configs))
    rank = by_first[rank_configs(appears[group], values)]
    sizes = np.bincount(group, minlength=len(configs))
    place = np.empty(len(configs), np.int64)
    place[rank] = np.arange(len(configs))
    # Members grouped by their configuration's place, in uid order within each.
    uids = table.uids[np.argsort(place[group], kind='stable')]
    offsets = np.concatenate([[0], np.cumsum(sizes[rank])]).astype(np.int64)
    # The scores are float32's: their means and sds are kept to its precision too.
    single = lambda a: a[rank].astype(np.float32).astype(np.float64)
    return cls(configs[rank], counts[rank].astype(np.int64),
               count_diverged(table, uids, offsets, selection), uids, offsets,
               {m: (single(mean), single(sd)) for m, (mean, sd) in stats.items()})

  def arrays(self) -> dict:
    out = {'config_config': self.config, 'config_usable': self.usable,
           'config_diverged': self.diverged,
           'config_uids': self.uids, 'config_offsets': self.offsets,
           'config_metrics': np.asarray(list(self.stats), str)}
    for j, (mean, sd) in enumerate(self.stats.values()):
      out[f'config_mean_{j}'], out[f'config_sd_{j}'] = mean, sd
    return out

  @classmethod
  def from_records(cls, records: list) -> 'ConfigTable':
    """The table of its rows as summary.json lists them (best mean first)."""
    metrics = list(dict.fromkeys(m for c in records for m in c['val']))
    stat = lambda m, k: np.asarray(
        [np.nan if (v := c['val'].get(m, {}).get(k)) is None else v for c in records],
        np.float64)
    sizes = np.asarray([len(c['uids']) for c in records], np.int64)
    diverged = [c.get('diverged') for c in records]  # None: written before they were listed.
    return cls(np.asarray([c['config'] for c in records], np.int64),
               np.asarray([c['usable'] for c in records], np.int64),
               None if None in diverged else np.asarray(diverged, np.int64),
               np.asarray([u for c in records for u in c['uids']], np.int64),
               np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
               {m: (stat(m, 'mean'), stat(m, 'sd')) for m in metrics})

  @classmethod
  def from_arrays(cls, z) -> 'ConfigTable':
    stats = {str(m): (z[f'config_mean_{j}'], z[f'config_sd_{j}'])
             for j, m in enumerate(z['config_metrics'])}
    return cls(z['config_config'], z['config_usable'], z.get('config_diverged'),
               z['config_uids'], z['config_offsets'], stats)


def count_diverged(members: MemberTable, uids, offsets, selection: str) -> np.ndarray:
  """<int64>[C] of each configuration's members (uids <int>[sum of sizes], configuration
  c's from offsets[c] to offsets[c + 1]), those that diverged with a finite validation
  `selection` value: the ranking counts each at the best it reached before diverging."""
  rows = members.uids.searchsorted(uids)
  hit = (members.strs['status'][rows] == 'diverged') & np.isfinite(members.val[selection][rows])
  config = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
  return np.bincount(config, weights=hit, minlength=len(offsets) - 1).astype(np.int64)


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
