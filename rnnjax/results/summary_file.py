"""summary.json and members.npz: a summary's member tables at the JSON edge.

`write_summary` writes a summary in memory (its records and configurations as
member_table's columns) to WORKDIR/summary.json: as lists of records up to
`member_table.MAX_RECORDS` members, above it as one members.npz beside a summary.json
that points there (`write`). `read_summary` (also `rnnjax.results.read_summary`) reads
either form back as the tables.
"""

import os

import numpy as np

from rnnjax.results import config_table
from rnnjax.results import files
from rnnjax.results import member_table


def write(workdir: str, summary: dict) -> dict:
  """Writes a summary's tables to WORKDIR/members.npz (atomically); returns what
  summary.json holds of it (the summary less its tables, with `ranking_top` and the
  pointer `columns`)."""
  with files.atomic(os.path.join(workdir, files.MEMBERS)) as tmp, open(tmp, 'wb') as f:
    np.savez(f, ranking=np.asarray(summary['ranking'], np.int64),
             **summary['members'].arrays(), **summary['configs'].arrays())
  rest = {k: v for k, v in summary.items() if k not in ('members', 'ranking', 'configs')}
  return {**rest, 'num_members': len(summary['members']),
          'ranking_top': list(summary['ranking'][:member_table.TOP]), 'columns': files.MEMBERS}


def read(workdir: str, summary: dict) -> dict:
  """The summary in memory of `summary` as summary.json holds it: its records and
  configurations as tables, from its lists or from the file it points at."""
  if 'columns' not in summary:
    out = dict(summary)
    if summary.get('members') is not None:
      out['members'] = member_table.MemberTable.from_records(summary['members'])
    if summary.get('configs') is not None:
      out['configs'] = config_table.ConfigTable.from_records(summary['configs'])
  else:
    with np.load(os.path.join(workdir, summary['columns'])) as z:
      z = {k: z[k] for k in z.files}
    rest = {k: v for k, v in summary.items()
            if k not in ('num_members', 'ranking_top', 'columns')}
    out = {**rest, 'members': member_table.MemberTable.from_arrays(z),
           'ranking': z['ranking'].tolist(), 'configs': config_table.ConfigTable.from_arrays(z)}
  configs = out.get('configs')
  if configs is not None and configs.diverged is None:  # Written before they were listed:
    # counted as ConfigTable.of counts them, on the metric that ranked (its first).
    configs.diverged = config_table.count_diverged(
        out['members'], configs.uids, configs.offsets, next(iter(configs.stats)))
  return out


def write_summary(workdir: str, summary: dict) -> None:
  """WORKDIR/summary.json of a summary in memory: up to member_table.MAX_RECORDS members with its
  tables as lists of records (indented up to 1,000), above it with the tables in
  members.npz (`write`), on one line."""
  path, members = os.path.join(workdir, files.SUMMARY), summary['members']
  if member_table.columnar(len(members)):
    files.write_json(path, write(workdir, summary), indent=None, short=True)
  else:
    files.write_json(path, {**summary, 'members': list(members),
                            'configs': list(summary['configs'])},
                     indent=1 if len(members) <= 1000 else None, short=True)


def read_summary(workdir: str) -> dict:
  """WORKDIR/summary.json (and members.npz, where it points there) as the summary in
  memory (`read`): 'members' and 'configs' tables, 'ranking' a list of uids."""
  return read(workdir, files.read_json(os.path.join(workdir, files.SUMMARY)))
