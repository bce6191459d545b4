"""Panels: many series of one quantity (every product of a shop, the M competitions'
series), read for one global model that trains over all of them (its windows:
windows/panel_windows.py; its file's rows: long_rows.py).

A panel is a long-format CSV, one row per observation: a series id column, a time
column, the target column and any input columns (`--id_column`, `--time_column`,
`--target_columns`, `--input_columns`: a product's price; `--future_columns`: those
known in advance, a promotion plan); a series' rows are put on the time column's grid
(time/grid.py: sorted, absent periods put back empty), its gaps (empty cells) filled by
linear interpolation within the series (or, `fill='zero'`, the target's with 0), a 0/1
flag column's (a holiday) with its last value before (gap_fill.fill_gaps). A file
without an id column is a panel of one series. The bundled panels (`PANELS`: the M1 and
M3 competitions' yearly, quarterly, monthly and other series, see panels/README.md) come
with their test part, the h points after each series' train part; a user's CSV gets one
with `--test_path` (each series' next points: its target, and its future columns, which
a test window reads; the other input columns are not read), else its last `horizon`
points per series are held out as test (splits/test_part.py checks either).
"""

import dataclasses
import importlib.resources

import numpy as np

from rnnjax.data import gap_fill
from rnnjax.data import forecast
from rnnjax.data import long_rows
from rnnjax.data.splits import test_part
from rnnjax.errors import InputError

# Bundled panels: name -> (season, horizon). Files panels/{name}_{train,test}.csv.
PANELS = {'m1_monthly': (12, 18), 'm1_quarterly': (4, 8), 'm1_yearly': (0, 6),
          'm3_yearly': (0, 6), 'm3_other': (0, 8)}
BUNDLED_COLUMNS = ('unique_id', 'ds', 'y')
# A share of the targets' cells interpolated that --fill=zero may have been meant for.
MOSTLY_ABSENT = 0.25


@dataclasses.dataclass(frozen=True)
class Panel:
  """Series by id: `train[i]` <float64>[n_i] gap-filled, `times[i]` its time column's
  cells (strings; '' without a time column), `test[i]` the given future part or None."""
  ids: tuple
  train: tuple
  times: tuple
  test: tuple | None
  num_filled: int = 0
  filled: dict | None = None  # gap_fill.fill_counts: the empty cells filled, by column.
  flag_columns: tuple = ()  # Input columns of 0s and 1s (gap_fill.flag_columns), by name.
  path: str = ''
  notes: tuple = ()
  columns: tuple = ('', '', '')  # The id, time and target columns read ('': none).
  input_columns: tuple = ()
  future_columns: tuple = ()  # Input columns known in advance (after input_columns).
  # Per series <float64>[n_i, C] the input columns, then the future columns, of the
  # train part, gap-filled; <float64>[horizon, C] of the test part: all of them where it
  # was held out, the future columns' where it was given (NaN in the others); None
  # where no column of the test part is read (no future columns in a given test file).
  inputs: tuple | None = None
  test_inputs: tuple | None = None
  # Ids of the file's series too short to hold out a test part (no test file): left out.
  left_out: tuple = ()
  # Per series <bool>[horizon]: which cells of its test part, held out or given, had a
  # target before its gaps were filled (test_part.empty_in_test, test_part.given);
  # None where every one had (or --fill=zero): the empty ones are left out of every score.
  test_observed: tuple | None = None
  # Per series <bool>[n_i]: which cells of its train part had a target before its gaps
  # were filled; None where every one had (or --fill=zero). A validation window's empty
  # ones are left out of every validation score (panel_windows.windows' val `observed`).
  observed: tuple | None = None
  # Per series <bool>[n_i, C]: which cells of its train part's input rows (`inputs`) had
  # a value before their gaps were filled; None where every one had (or no inputs). A
  # fold (`earlier`) fills the empty ones again from before its cut.
  inputs_observed: tuple | None = None


def bundled_paths(dataset: str) -> tuple[str, str]:
  if dataset not in PANELS:
    raise InputError(f'--dataset: unknown panel {dataset!r}; bundled: '
                     f'{", ".join(PANELS)} (and the single series {", ".join(forecast.DATASETS)})')
  root = importlib.resources.files('rnnjax.data') / 'panels'
  return str(root / f'{dataset}_train.csv'), str(root / f'{dataset}_test.csv')


def load(*, dataset: str = '', csv_path: str = '', test_path: str = '',
         id_column: str = '', time_column: str = '', target_column: str = '',
         input_columns=(), future_columns=(), horizon: int, fill: str = 'linear') -> Panel:
  """A bundled panel by name, or a user's long CSV (and its `test_path`: the target,
  and the future columns, whose values over the test part a test window reads).
  `fill`: 'linear' interpolates the target's gaps, 'zero' makes them 0; an input
  column's are interpolated, a 0/1 flag's hold its last value (gap_fill.fill_gaps)."""
  past, future_columns = tuple(input_columns), tuple(future_columns)
  every = past + future_columns  # Each series' input rows hold these, in this order.
  if csv_path:
    if not target_column:
      raise InputError('--target_columns: name the column of --csv_path to forecast')
    columns = dict(id_column=id_column, time_column=time_column,
                   target_column=target_column)
    train_path, flag = csv_path, '--csv_path'
  elif dataset in forecast.DATASETS:  # A bundled single series: a panel of one.
    file, time_column, target_column, _ = forecast.DATASETS[dataset]
    train_path, flag = forecast.bundled_path(dataset), '--dataset'
    columns = dict(id_column='', time_column=time_column, target_column=target_column)
  else:
    train_path, test_path = bundled_paths(dataset)
    columns = dict(zip(('id_column', 'time_column', 'target_column'), BUNDLED_COLUMNS))
    flag = '--dataset'
  # --fill=zero: a product's absent last weeks sold nothing, as its absent middle ones.
  ids, values, times, _, grid_note = long_rows.read_long(
      train_path, flag=flag, input_columns=past, future_columns=future_columns,
      to_end=fill == 'zero', short=0 if test_path else horizon, **columns)
  notes, left_out, test_observed = (), (), None
  if not test_path:  # Too short to hold out a test part: left out, said.
    keep = [i for i, v in enumerate(values) if len(v) > horizon]
    if not keep:
      raise InputError(f'--horizon: every series of {train_path} has at most {horizon} '
                       f'points, too few to hold out {horizon} as test (give --test_path, '
                       'or a shorter --horizon)')
    if len(keep) < len(ids):
      kept = set(keep)
      left_out = tuple(k for i, k in enumerate(ids) if i not in kept)
      notes += (f'--horizon: {len(left_out)} series of {train_path} with at most {horizon} '
                f'points (too few to hold out {horizon} as test) left out, neither trained '
                f'on nor scored: {some_ids(left_out)}; predict --csv_path forecasts them from '
                'what they have',)
      pick = lambda seq: tuple(seq[i] for i in keep)
      ids, values, times = pick(ids), pick(values), pick(times)
  # Which cells held a target, before filling (--fill=zero: an empty one is a 0).
  held = tuple(~np.isnan(np.asarray(v, np.float64).reshape(len(v), -1)[:, 0])
               for v in values)
  void = [k for k, h in zip(ids, held) if not h.any()]
  if void and fill != 'zero':  # Nothing to fill from, train on or score.
    raise InputError(f'{flag}: {train_path}: {len(void)} of {len(ids)} series '
                     f'{"has" if len(void) == 1 else "have"} no '
                     f'target at all (e.g. {void[0]!r}: every target cell empty); leave '
                     'their rows out of the file')
  if not test_path and fill != 'zero':
    test_part.check_held_out(ids, values, times, horizon, flag, train_path)
    test_observed, said = test_part.empty_in_test(ids, held, horizon, fill)
    notes += said
  observed = None if fill == 'zero' else held
  if fill == 'zero':  # Parts of 0s nobody recorded (series ending before the panel's end).
    notes += test_part.zero_parts(ids, held, times, horizon, given=bool(test_path))
  names = ['the target'] + [f'input column {c!r}' for c in every]
  # Validation (and a test part held out) filled on from the points before it, none of
  # which reads it.
  ends = lambda v: (len(v) - horizon,) if test_path else (len(v) - 2 * horizon,
                                                            len(v) - horizon)
  # Which input columns are 0/1 flags: one rule per column, over every series' training
  # part alone (as its scaling), so that no value of a validation or test part decides
  # how training is filled.
  flags = gap_fill.flag_columns([v[:max(ends(v)[0], 0)] for v in values], 1)
  counts = gap_fill.add_counts(*(gap_fill.fill_counts(v, names, fill=fill, targets=1,
                                                      flags=flags, ends=ends(v))
                                 for v in values))
  notes += _interpolated_note(counts, sum(len(v) for v in values), train_path)
  filled = [gap_fill.fill_gaps_before(v.reshape(len(v), -1), ends(v), names,
                                      f'{train_path}: series {k!r}', fill=fill, targets=1,
                                      flags=flags) for k, v in zip(ids, values)]
  train = tuple(v[:, 0] for v in filled)
  inputs = tuple(v[:, 1:] for v in filled) if every else None
  test, test_inputs = None, None
  if test_path:
    test_ids, test_values, test_times, test_gaps, _ = long_rows.read_long(
        test_path, flag='--test_path' if csv_path else flag,
        future_columns=future_columns, **columns)
    if not columns['id_column']:  # A panel of one: the test file's rows are its series'.
      test_ids = ids
    test, test_inputs, test_observed, given_notes = test_part.given(
        ids, times, test_ids, test_values, test_times, test_gaps, path=test_path,
        horizon=horizon, time_column=columns['time_column'], train=train,
        future_columns=future_columns, num_inputs=len(every), flags=flags, fill=fill,
        flag='--test_path' if csv_path else flag)
    notes += given_notes
  else:
    train, test, inputs, test_inputs, times, held_notes = test_part.held_out(
        train, inputs, times, horizon)
    notes += held_notes
  # The train part's cells alone (a test part held out: cut off); None where all held.
  train_part = lambda marks: (None if marks is None or all(
      o[:len(v)].all() for o, v in zip(marks, train)) else
                              tuple(o[:len(v)] for o, v in zip(marks, train)))
  observed = train_part(observed)
  inputs_observed = train_part(tuple(~np.isnan(v.reshape(len(v), -1)[:, 1:])
                                     for v in values) if every else None)
  return Panel(ids=ids, train=train, times=tuple(tuple(t) for t in times), test=test,
               num_filled=sum(counts.values()), filled=counts, path=train_path,
               notes=((grid_note,) if grid_note else ()) +
               gap_fill.inputs_note(past, future_columns, tuple(every[c - 1] for c in flags))
               + gap_fill.sweep_note(counts, train_path, fill) + notes,
               columns=tuple(columns[k] for k in ('id_column', 'time_column',
                                                   'target_column')),
               input_columns=past, future_columns=future_columns, inputs=inputs,
               test_inputs=test_inputs, flag_columns=tuple(every[c - 1] for c in flags),
               left_out=left_out, test_observed=test_observed, observed=observed,
               inputs_observed=inputs_observed)


def _interpolated_note(counts: dict, cells: int, path: str) -> tuple:
  """A note where a large share (MOSTLY_ABSENT) of the targets' `cells` were absent and
  interpolated (gap_fill.fill_counts' `counts`): an export of sale days only."""
  # Interpolated, or at a part's end (or a series' ends) held at the nearest value.
  n = sum(counts.get(('the target', how), 0)
          for how in (gap_fill.LINEAR, gap_fill.START, gap_fill.END))
  if n < MOSTLY_ABSENT * cells:
    return ()
  return (f'{n} of the {cells} target cells of {path} ({n / cells:.0%}) were empty or '
          'without a row and are filled from the values around them: where a '
          'period without a row sold nothing (an export of the days or weeks with sales '
          'only), --fill=zero reads it as 0',)


def some_ids(ids, shown: int = 5) -> str:
  """'a', 'b', 'c' (up to `shown` ids, then how many more)."""
  listed = ', '.join(repr(k) for k in ids[:shown])
  return listed + (f' and {len(ids) - shown} more' if len(ids) > shown else '')


def nonpositive(ids, values, times=None, path: str = '') -> str:
  """Where the first series holding a value <= 0 has it ("series 'a' of PATH has 0 at
  2020-03": its time cell, else "at point 4", 1-based), or '' when every value is > 0:
  what a member that takes logs (normalization 'log') cannot read."""
  for i, (key, v) in enumerate(zip(ids, values)):
    bad = np.flatnonzero(~(np.asarray(v) > 0))
    if len(bad):
      t = bad[0]
      when = (f'at {times[i][t]}' if times is not None and times[i] is not None
              and t < len(times[i]) and times[i][t] else f'at point {t + 1}')
      return f'series {key!r}{f" of {path}" if path else ""} has {v[t]:g} {when}'
  return ''


def earlier(panel: Panel, origin_back: int, horizon: int) -> Panel:
  """The panel as if every series' train part ended `origin_back` horizons earlier
  (a cross-validation fold's; at least one point is kept)."""
  if not origin_back:
    return panel
  cut = lambda v: v[:max(1, len(v) - origin_back * horizon)]
  cut_all = lambda marks: None if marks is None else tuple(cut(o) for o in marks)
  inputs = test_inputs = None
  flag_columns = panel.flag_columns  # A fold's own where its inputs' gaps are filled again.
  observed, inputs_observed = cut_all(panel.observed), cut_all(panel.inputs_observed)
  if panel.inputs is not None:  # The input rows after the cut are its test part's.
    inputs = tuple(cut(v) for v in panel.inputs)
    after = lambda u, v: v[len(u):len(u) + horizon]
    test_inputs = tuple(np.concatenate([after(u, v), np.repeat(
        v[-1:], horizon - len(after(u, v)), axis=0)]) for u, v in zip(inputs, panel.inputs))
    if inputs_observed is not None:  # Their gaps filled again, from before its cut.
      every = panel.input_columns + panel.future_columns
      # Which are flags, from the fold's training part alone, as `load` decides it.
      flags = gap_fill.flag_columns([np.where(o, u, np.nan)[:max(len(u) - horizon, 0)]
                                     for u, o in zip(inputs, inputs_observed)], 0)
      flag_columns = tuple(every[c] for c in flags)
      inputs = tuple(_filled_again(u, o, horizon, key, [f'input column {c!r}' for c in every],
                                   fill='linear', targets=0, flags=flags)
                     for u, o, key in zip(inputs, inputs_observed, panel.ids))
  train = tuple(cut(v) for v in panel.train)
  if observed is not None:  # Its empty targets filled again, from before its cut.
    train = tuple(_filled_again(v[:, None], o[:, None], horizon, key, ['the target'],
                                fill='linear', targets=1)[:, 0]
                  for v, o, key in zip(train, observed, panel.ids))
  return dataclasses.replace(panel, train=train, times=tuple(cut(t) for t in panel.times),
                             inputs=inputs, test_inputs=test_inputs, observed=observed,
                             inputs_observed=inputs_observed,
                             flag_columns=flag_columns)


def _filled_again(values, observed, horizon: int, key, names, **how) -> np.ndarray:
  """A fold's train part of some columns (`values` <[m, C]>, filled from the whole
  series) with its empty cells (`observed` false) filled again as `load` fills them
  (`how`: gap_fill.fill_gaps' fill, targets, flags; `panel.observed` is None with
  --fill=zero), the validation part on from the points before it
  (gap_fill.fill_gaps_before): no point after the fold's cut, nor of its validation,
  reaches an earlier one. A part with a column without a value before its cut keeps
  the values."""
  if observed.all():
    return values
  raw = np.where(observed, values, np.nan)
  try:
    return gap_fill.fill_gaps_before(raw, (len(raw) - horizon,), names,
                                     f'series {key!r}', **how)
  except InputError:  # A column with no value left before the cut: as they were.
    return values
