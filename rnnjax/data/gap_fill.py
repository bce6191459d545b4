"""Gaps in a user's data (empty cells, absent periods put back empty): how each column's
are filled (a target's linearly or with 0, `--fill`; an input column's linearly; a 0/1
flag column's, a holiday, with its last value before), and the counts the notes say.
"""

import numpy as np

from rnnjax.errors import InputError


FILLS = ('linear', 'zero')  # --fill: how a forecast's target gaps are filled.
# How `fill_gaps` fills a column's gaps, as the notes say it.
ZERO, LINEAR, LAST = 'with 0', 'by linear interpolation', 'with the last value before'
# A linear fill's cells before a series' first value, and after its last, hold that value.
START, END = 'before its first value (given that value)', 'after its last value (given that value)'


def flag_columns(series, targets: int) -> tuple:
  """The indices of the input columns (index >= `targets`) of `series` (each <float64>[T_i,
  C] or [T_i], with NaN gaps) whose observed values, over every series, are all 0 or 1:
  flags (a holiday, a promotion), whose gaps `fill_gaps` fills with the last value, not
  a fraction of one. Decided once over a sweep's training part (data/forecast.py,
  data/panel.py: no value of a validation or test part decides how training is filled)
  and kept with its model (its transform's 'flag_columns'), so that a history is filled
  as the sweep's data was."""
  series = [v for v in series if len(v)]  # A training part may be empty (short series).
  if not series:
    return ()
  stacked = np.concatenate([np.asarray(v, np.float64).reshape(len(v), -1) for v in series])
  flags = []
  for c in range(targets, stacked.shape[1]):
    seen = stacked[:, c][~np.isnan(stacked[:, c])]
    if len(seen) and ((seen == 0) | (seen == 1)).all():
      flags.append(c)
  return tuple(flags)


def flags_of(columns, targets: int, flag_columns) -> tuple:
  """The indices of `columns` (names, the `targets` targets first) that are among a
  saved model's `flag_columns` (its sweep's `flag_columns`, by name; a model saved before
  there were any: none, every input column interpolated as it was trained)."""
  flagged = set(flag_columns or ())
  return tuple(c for c, name in enumerate(columns) if c >= targets and name in flagged)


def fill_how(c: int, fill: str, targets: int, flags=()) -> str:
  """How `fill_gaps` fills the gaps of column `c` (ZERO, LINEAR or LAST): a target
  (c < targets) as `fill` says, even one of 0s and 1s (a slow seller's weekly sales); an
  input column in `flags` (`flag_columns`) with its last value."""
  if c < targets:
    return ZERO if fill == 'zero' else LINEAR
  return LAST if c in flags else LINEAR


def fill_counts(values, names, *, fill: str = 'linear', targets: int = 0,
                flags=(), ends=()) -> dict:
  """{(names[c], how): empty cells} of <float64>[T, C] (or [T]), as `fill_gaps` fills
  them (how: ZERO, LINEAR, LAST, or START / END for the cells before a column's first
  value, which hold it, and a linear fill's after its last), or with `ends` as
  `fill_gaps_before` fills them, part by part (a gap at a part's end holds its last
  value: END); add the counts of many series with `add_counts`."""
  values = np.asarray(values, np.float64).reshape(len(values), -1)
  kw = dict(fill=fill, targets=targets, flags=flags)
  if not np.isnan(values).any():
    return {}
  out = {}
  for end in sorted(e for e in ends if 0 < e < len(values)):
    if np.isnan(values[:end]).all(axis=0).any():  # fill_gaps_before fills it later on.
      continue
    out = add_counts(out, fill_counts(values[:end], names, **kw))
    values = np.where(np.arange(len(values))[:, None] < end, 0.0, values)  # Now filled.
  return add_counts(out, _counts(values, names, **kw))


def _counts(values, names, *, fill, targets, flags) -> dict:
  """`fill_counts` of <float64>[T, C] in one pass."""
  out = {}
  for c in range(values.shape[1]):
    missing = np.isnan(values[:, c])
    if not missing.any() or missing.all():
      continue
    how = fill_how(c, fill, targets, flags)
    counts = {how: int(missing.sum())}
    first, last = np.flatnonzero(~missing)[[0, -1]]
    if how == LINEAR:  # np.interp's ends: the nearest value, not an interpolation.
      counts = {START: int(first), LINEAR: int(missing[first:last].sum()),
                END: int(len(missing) - 1 - last)}
    elif how == LAST:  # Before the first value there is no value before: the first.
      counts = {START: int(first), LAST: int(missing[first:].sum())}
    for how, n in counts.items():
      if n:
        out[(names[c], how)] = out.get((names[c], how), 0) + n
  return out


def add_counts(*counts) -> dict:
  """The sum of `fill_counts`' dicts (of many series)."""
  out = {}
  for count in counts:
    for key, n in count.items():
      out[key] = out.get(key, 0) + n
  return out


def filled_note(counts: dict, where: str, *, as_sweep: bool = False) -> str:
  """The note of the empty cells of `where` that `fill_gaps` filled ('' for none), by
  column and how (`fill_counts`): '894 empty cells of f.csv filled: 348 of the target by
  linear interpolation, ..., 276 of input column 'holiday' (a 0/1 flag) with the last
  value before'. as_sweep: a saved model's reading, said to be the sweep's."""
  total = sum(counts.values())
  if not total:
    return ''
  parts = ', '.join(f'{n} of {name}{" (a 0/1 flag)" * (how == LAST)} {how}'
                    for (name, how), n in counts.items())
  return (f'{total} empty cell{"s" * (total != 1)} of {where} filled'
          f'{", as the sweep filled its data" * as_sweep}: {parts}')


def inputs_note(past=(), ahead=(), flags=()) -> tuple:
  """(A note of how the input columns are read: `past`, over each window's past;
  `ahead` (--future_columns), over the horizon it forecasts too; `flags`, those of 0/1
  whose gaps hold the value before (`flag_columns`),) or () without input columns."""
  if not past and not ahead:
    return ()
  named = lambda columns: ', '.join(map(repr, columns))
  read = ([f'{named(past)} over each window\'s past'] if past else []) + (
      [f'{named(ahead)} over its horizon too (--future_columns: known in advance)']
      if ahead else [])
  return ('input columns: ' + '; '.join(read) + (
      f'; 0/1 flags, a gap holding the value before: {named(flags)}' if flags else
      "; no 0/1 flag columns (a flag's gap would hold the value before)"),)


def sweep_note(counts: dict, where: str, fill: str) -> tuple:
  """(`filled_note`,) of a sweep's data, () for none; where targets were filled, what
  becomes of them (interpolated: history alone; --fill=zero's 0s: data)."""
  note = filled_note(counts or {}, where)
  if note and any(name.startswith(('target', 'the target')) for name, _ in counts):
    note += ('; a target\'s 0 is read as sold: trained towards and scored' if fill == 'zero'
             else '; a filled target is read as history alone: never trained towards, '
             'never scored')
  return (note,) if note else ()


def fill_gaps_before(values: np.ndarray, ends, names, where: str, **kw) -> np.ndarray:
  """`fill_gaps`, part by part: the rows before each of `ends` (the starts of the
  validation and test parts) filled from themselves alone, then the rows up to the next
  on from them. A gap at a part's end holds its last value rather than reaching for the
  first after it, so no value of a later part (what validation or test scores) reaches
  an earlier part's windows or a baseline's last value. A column without a value before
  a cut is filled from the rows up to the next one, as `fill_gaps` does (else it would
  have none)."""
  filled = values
  if not np.isnan(values).any():  # Nothing to fill (most series): one pass, as before.
    ends = ()
  for end in sorted(e for e in ends if 0 < e < len(values)):
    try:
      head = fill_gaps(filled[:end], names, where, **kw)
    except InputError:  # A column with no value before `end`: filled from after it.
      continue
    filled = np.concatenate([head, filled[end:]])
  return fill_gaps(filled, names, where, **kw)


def fill_gaps(values: np.ndarray, names, where: str, *, fill: str = 'linear',
              targets: int = 0, flags=()) -> np.ndarray:
  """<float64>[T, C]: NaN gaps interpolated linearly in time per column; ends hold the
  nearest value. An input column in `flags` (`flag_columns`: its values all 0 or 1)
  holds the last value before each gap instead (the first after, before any), never a
  fraction. With `fill` 'zero' (--fill=zero: a sales export's absent week sold nothing)
  the first `targets` columns' gaps are 0 instead. The input is left alone;
  `fill_counts` counts what this fills, and how.

  A column with no value at all raises InputError '{where}: {names[c]} has no values'
  (whatever `fill`).
  """
  filled = values.copy()
  t = np.arange(len(values))
  for c in range(values.shape[1]):
    ok = ~np.isnan(values[:, c])
    if not ok.any():  # With --fill=zero too: nothing says it ever sold, or existed.
      raise InputError(f'{where}: {names[c]} has no values')
    if ok.all():  # A gap-free column is copied.
      continue
    how = fill_how(c, fill, targets, flags)
    if how == ZERO:
      filled[:, c] = np.where(ok, values[:, c], 0.0)
    elif how == LAST:  # A holiday's gap is a holiday or not, not half of one.
      before = np.maximum.accumulate(np.where(ok, t, -1))
      filled[:, c] = values[np.where(before < 0, np.argmax(ok), before), c]
    else:
      filled[:, c] = np.interp(t, t[ok], values[ok, c])
  return filled
