"""A part given after each series (a test part, a forecast's future rows) held to start the
step after the series' own rows end (its train part, its history), where both are times.

`check_follows` refuses one whose rows start late or early, step unevenly, or whose cells
are not read as times after times (a plan dated 01/07/2024 after 2024-06-30): read in
file order, it would be shuffled or start late without a word.
"""

from rnnjax.data.time import column as times_lib
from rnnjax.data.time import periods
from rnnjax.errors import InputError
from rnnjax.errors import RowsAheadError


def check_follows(ids, before, after, *, path: str, flag: str, column: str = '',
                  last: str = 'its last train time', rows: str = '',
                  fill: str = '', zero: bool = False) -> None:
  """Refuses, in one line naming `flag`, a series whose `after` cells (its given test
  part, or its future rows) do not start one step after its `before` cells (its train
  part, or its history: `last` names its last time) end, where both are times on one
  grid; and, where the `before` cells are times, an `after` cell that is not one (a
  date written 01/07/2024), naming `column`: such rows would be read in file order
  (shuffled, or starting late) without a word. Where neither are times, nothing is
  checked. An id of None is a file's one series. `rows` (what `after` holds: 'future
  rows') ends the message with what to give: those rows from the step after `before`,
  or, where they start later and `fill` names where `before` came from, rows of the
  times between with an empty target there (filled as any gap). zero: the `before`
  cells are a panel's series read without --fill=zero; where a series ends before the
  panel's last time and its `after` cells start the step after that time (a file aligned
  to the calendar), the message names --fill=zero too, which runs every series on to it."""
  if not len(before):  # No series in both (a file of other ids: refused by its caller).
    return
  cells = [[str(c).strip() for c in (*b, *a)] for b, a in zip(before, after)]
  unit, positions = periods.count(cells)
  if unit is None:
    _check_read_alike(ids, before, after, path=path, flag=flag, column=column, last=last)
    return
  step = periods.step(positions) if unit else 0
  # The step is the `before` cells' (a daily history's, where monthly rows follow it).
  history_unit, history = periods.count([c[:len(b)] for c, b in zip(cells, before)])
  if history_unit and periods.step(history) and periods.count(cells, history_unit)[0]:
    unit, step = history_unit, periods.step(history)
    positions = periods.count(cells, unit)[1]
  for key, b, c, p in zip(ids, before, cells, positions if step else ()):
    n = len(b)
    where = path if key is None else f'series {key!r} of {path}'
    odd = [i for i in range(n, len(p) - 1) if p[i + 1] - p[i] != step]
    if n and odd:
      raise InputError(f'{flag}: {where} has {c[odd[0] + 1]!r} after {c[odd[0]]!r}, where '
                       f'the step is {periods.describe(unit, step)} (the step up to {last} '
                       f'{c[n - 1]!r}): give rows {periods.describe(unit, step)} apart')
    if 0 < n < len(p) and p[n] - p[n - 1] != step:
      raise RowsAheadError(
          f'{flag}: {where} starts at {c[n]!r}, not the step '
          f'({periods.describe(unit, step)}) after {last} {c[n - 1]!r}'
          f'{_zones(c[n - 1], c[n])}{_off_grid(unit, step, c, p, n)}'
          f'{_advice(unit, step, c, p, n, rows, fill)}'
          f'{_zero_advice(unit, step, c, p, n, zero, before, positions)}')


def _zones(last: str, first: str) -> str:
  """Where one of `last` (before) and `first` (after) has a UTC offset and the other has
  none, which is read as UTC: a clause saying so ('' otherwise)."""
  zoned = [bool(times_lib.ZONED.fullmatch(c)) for c in (last, first)]
  if zoned[0] == zoned[1]:
    return ''
  bare, other = (first, last) if zoned[0] else (last, first)
  return (f' ({bare!r} has no UTC offset and is read as UTC, {other!r} has one: '
          'write both with their offset, or both in UTC)')


def _off_grid(unit: str, step: int, cells, p, n: int) -> str:
  """Where the after part's first cell lies between the grid's times (a plan dated by
  Mondays after a history of Sundays), a clause saying so and naming the grid's next
  time ('' otherwise)."""
  if step <= 1 or not (p[n] - p[n - 1]) % step:
    return ''
  example = periods.month_example(cells[:n]) if unit == 'month' else cells[n - 1]
  return (f' and lies off its grid of times {periods.describe(unit, step)} apart (the next '
          f'is {periods.label(unit, p[n - 1] + step, example, step)!r})')


def _advice(unit: str, step: int, cells, p, n: int, rows: str, fill: str) -> str:
  """`check_follows`' advice for a series whose cells `cells` (positions `p`) turn
  from its before part to its after part at `n`: '' without `rows`."""
  if not rows:
    return ''
  example = periods.month_example(cells[:n]) if unit == 'month' else cells[n - 1]
  first = periods.label(unit, p[n - 1] + step, example, step)
  if not fill or p[n] - p[n - 1] <= step or (p[n] - p[n - 1]) % step:
    return f'; give {rows} from {first!r}'
  end = periods.label(unit, p[n] - step, example, step)
  span = f'a row for {first!r}' if end == first else f'rows for {first!r} to {end!r}'
  return (f'; give {fill} {span} with an empty target (filled as a gap), or {rows} '
          f'from {first!r}')


def _zero_advice(unit: str, step: int, cells, p, n: int, zero: bool, before,
                 positions) -> str:
  """`check_follows`' clause naming --fill=zero (where `zero`) for a series (cells
  `cells`, positions `p`, its before part `n` long) that ends before the panel's last
  time and whose after part starts the step after it: '' otherwise."""
  ends = [q[len(b) - 1] for b, q in zip(before, positions) if len(b)]
  end = max(ends, default=p[n - 1])
  if not zero or p[n - 1] >= end or p[n] != end + step:
    return ''
  example = periods.month_example(cells[:n]) if unit == 'month' else cells[n - 1]
  early = sum(e < end for e in ends)
  ends_ = 'ends' if early == 1 else 'end'
  return (f' ({early} series {ends_} before the panel\'s last time '
          f'{periods.label(unit, end, example, step)!r}: a sweep with --fill=zero reads a '
          'series\' absent periods as 0 and runs every series on to that time)')


def _check_read_alike(ids, before, after, *, path, flag, column, last) -> None:
  """check_follows' refusal of `after` cells not read as times where the `before` cells
  are (times, or step numbers)."""
  unit, _ = periods.count([[str(c).strip() for b in before for c in b]])
  if unit is None or not any(len(b) for b in before):
    return
  steps = unit == 'step'
  for key, b, a in zip(ids, before, after):
    read = (lambda c: periods.WHOLE.fullmatch(c) is not None) if steps else (
        lambda c: times_lib.parse(c) is not None)
    bad = [str(c).strip() for c in a if not read(str(c).strip())]
    if not bad:
      continue
    example = str((b or next(b for b in before if len(b)))[-1]).strip()
    kind = ('a step number' if steps else 'a quarter' if times_lib.QUARTER.fullmatch(example)
            else 'a month' if times_lib.MONTH.fullmatch(example) else 'an ISO date')
    where = path if key is None else f'series {key!r} of {path}'
    named = f' column {column!r}' if column else ' time column'
    raise InputError(f'{flag}: {where}: its{named} holds {bad[0]!r}, not read as a time, '
                     f'where {last} {example!r} is {kind}; write them as that one is, so its '
                     'rows are put in time order and checked')
