"""A long CSV's rows grouped by series, a column at a time (panel.read_long's fast path).

A retailer's export of 30,000 weekly series is 3 million rows: read a row at a time in
Python (each cell checked as it comes, so an error names its line) that took about a
minute on a 2-core CPU. Here each column is converted in one pass and the rows grouped
by id with one stable sort, in file order within a series and series in order of first
appearance, as the row-at-a-time reading groups them. Whatever that reading says more
than this one (a ragged or blank row, an empty id, a cell that is not a number or is
infinite) `group` leaves to it: it returns None, and the file is read a row at a time,
which names the line.
"""

import numpy as np

from rnnjax.data import common


def group(rows, *, i_id, i_time, read, key: str):
  """(ids, per series <float64>[n_i, len(read)] values with NaN gaps, per series its
  time cells (stripped; '' without a time column)) of `rows` (the CSV's rows after its
  header), or None where a row needs the row-at-a-time reading (module docstring).

  i_id, i_time: the id and time columns' indices (None: none; without an id, every row
  is series `key`); read: the indices of the columns read as numbers (None: a column the
  file lacks, read as empty)."""
  width = 1 + max([i for i in (i_id, i_time, *read) if i is not None])
  if not rows or any(len(row) < width for row in rows):
    return None
  columns = list(zip(*rows))
  if i_id is None:
    if any(not ''.join(row).strip() for row in rows):  # A blank row: skipped there.
      return None
    codes, ids = np.zeros(len(rows), np.int64), (key,)
  else:
    index = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in columns[i_id]),
                        np.int64, len(rows))
    ids = tuple(index)
    if any(not k.strip() for k in ids):
      return None
  try:
    values = np.stack([np.fromiter(_numbers(columns[i]), np.float64, len(rows))
                       if i is not None else np.full(len(rows), np.nan) for i in read],
                      axis=1)
  except ValueError:
    return None
  if np.isinf(values).any():
    return None
  times = ([c.strip() for c in columns[i_time]] if i_time is not None
           else [''] * len(rows))
  order = np.argsort(codes, kind='stable')
  ends = np.cumsum(np.bincount(codes, minlength=len(ids)))
  starts = ends - np.bincount(codes, minlength=len(ids))
  per_series = [order[s:e] for s, e in zip(starts, ends)]
  return (ids, [values[o] for o in per_series],
          [[times[j] for j in o.tolist()] for o in per_series])


def _numbers(cells):
  missing = common.MISSING
  for cell in cells:
    cell = cell.strip()
    yield np.nan if cell in missing else float(cell)
