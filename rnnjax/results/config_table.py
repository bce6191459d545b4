"""A sweep's configuration table, held as columns, and the one rule that ranks its
configurations (`rank_configs`).

A summary in memory holds its configurations as a `ConfigTable`, whatever the sweep's
size: final/choice/summary.py builds it from the members' `MemberTable`
(member_table.py), and summary_file.py writes it as summary.json's rows or, above
`member_table.MAX_RECORDS` members, as members.npz's columns. Like the members' table,
it is a sequence of the rows summary.json lists, made on demand.
"""

import numpy as np

from rnnjax.results import member_table
from rnnjax.search import plan as search_plan


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


class ConfigTable(member_table.Records):
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
  def of(cls, table: member_table.MemberTable, selection: str, display: str,
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


def count_diverged(members: member_table.MemberTable, uids, offsets, selection: str) -> np.ndarray:
  """<int64>[C] of each configuration's members (uids <int>[sum of sizes], configuration
  c's from offsets[c] to offsets[c + 1]), those that diverged with a finite validation
  `selection` value: the ranking counts each at the best it reached before diverging."""
  rows = members.uids.searchsorted(uids)
  hit = (members.strs['status'][rows] == 'diverged') & np.isfinite(members.val[selection][rows])
  config = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
  return np.bincount(config, weights=hit, minlength=len(offsets) - 1).astype(np.int64)

