"""A forecast of the future: the history, the test part with the model's one-step
predictions, and the forecast with its prediction intervals (experiments/predict.py);
for a panel model a few of its series, one panel each (`plot_panel`)."""

import numpy as np

from rnnjax.data.time import column as times_lib
from rnnjax.data.time import periods
from rnnjax.figures import style

MIN_SHOWN = 72  # Points of history drawn at least (all of a shorter series).
PANEL_SHOWN = 40  # The same for each series of a panel (or 3 forecasts' worth).


def plot_forecast(out_dir: str, *, columns, times, history, future_times, point, bands,
                  test_start=None, test_pred=None, note: str = '',
                  name: str = 'forecast') -> list:
  """Writes NAME.png and NAME.pdf; one panel per target column.

  history: <float>[N, C_out] levels; test_pred: <float>[N - test_start, C_out] the
  model's one-step predictions over the test part (None: not drawn); point:
  <float>[S, C_out]; bands: {level: (lower, upper)}, each <float>[S, C_out].
  """
  history, point = np.asarray(history, float), np.asarray(point, float)
  n, steps = len(history), len(point)
  # A long test part (a year of hours) is drawn over its last points only, so that the
  # forecast keeps about a tenth of the width or more.
  test_len = n - test_start if test_start is not None else 0
  test_drawn = min(test_len, max(MIN_SHOWN, 4 * steps))
  shown = min(n, max(MIN_SHOWN, test_drawn + 4 * steps))
  x_hist = np.arange(n - shown, n)
  x_future = np.arange(n, n + steps)
  labels = list(times) + list(future_times)
  with style.context():
    fig = style.new_figure(width=style.FULL_WIDTH, height=1.2 + 1.6 * len(columns))
    axes = fig.subplots(len(columns), 1, squeeze=False)[:, 0]
    for c, (ax, column) in enumerate(zip(axes, columns)):
      ax.plot(x_hist, history[-shown:, c], color=style.OKABE_ITO[6], linewidth=0.8,
              label='history')
      alone = isolated_points(history[-shown:, c])  # Between gaps (empty cells): a dot each.
      ax.plot(x_hist[alone], history[-shown:, c][alone], color=style.OKABE_ITO[6],
              linestyle='none', marker='o', markersize=2)
      if test_pred is not None and test_start is not None:
        x_test = np.arange(n - test_drawn, n)
        ax.axvspan(n - test_drawn - 0.5, n - 0.5, color=style.FAINT, alpha=0.15,
                   linewidth=0)
        cut = (f' (its last {test_drawn:,} of {test_len:,} points)'
               if test_drawn < test_len else '')
        ax.plot(x_test, np.asarray(test_pred, float)[test_len - test_drawn:, c],
                color=style.OKABE_ITO[1], linewidth=0.9,
                label=f'test part: one-step predictions{cut}')
      for k, level in enumerate(sorted(bands, reverse=True)):
        lower, upper = bands[level]
        ax.fill_between(x_future, np.asarray(lower)[:, c], np.asarray(upper)[:, c],
                        color=style.OKABE_ITO[0], alpha=0.15 + 0.15 * k, linewidth=0,
                        label=f'{level * 100:g}% interval')
      # From the last value, a marker at each forecast (not on the last value).
      ax.plot(np.concatenate([[n - 1], x_future]),
              np.concatenate([history[-1:, c], point[:, c]]), color=style.OKABE_ITO[0],
              marker='o', markersize=2, markevery=slice(1, None), label='forecast')
      ax.set_ylabel(column)
      _set_ticks(ax, labels, n - shown, n + steps - 1, 7)
      ax.set_xlim(n - shown - 0.5, n + steps - 0.5)
    fig.legend(*axes[0].get_legend_handles_labels(), loc='outside upper center', ncols=5)
    if note:
      style.note(fig, note, style.FULL_WIDTH)
    return style.save(fig, out_dir, name)


def plot_panel(out_dir: str, *, series, note: str = '', name: str = 'forecast') -> list:
  """Writes NAME.png and NAME.pdf: a panel model's forecast of a few series, two per row.

  series: one dict per series: 'title'; 'times' [n] and 'history' <float>[n]; 'future_times'
  [S], 'point' <float>[S] and 'bands' {level: (lower, upper)}, each <float>[S]; 'test':
  None or {'start': the position of its first point, 'truth' <float>[h], 'pred'
  <float>[h] the model's forecast of it from the point before 'start'}.
  """
  rows = -(-len(series) // 2)
  with style.context():
    fig = style.new_figure(width=style.FULL_WIDTH, height=0.9 + 1.7 * rows)
    axes = fig.subplots(rows, min(2, len(series)), squeeze=False).ravel()
    for ax, one in zip(axes, series):
      _draw_series(ax, one)
    for ax in axes[len(series):]:
      ax.set_visible(False)
    legend = {}
    for ax in axes[:len(series)]:
      for handle, label in zip(*ax.get_legend_handles_labels()):
        legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc='outside upper center', ncols=5)
    if note:
      style.note(fig, note, style.FULL_WIDTH)
    return style.save(fig, out_dir, name)


def _draw_series(ax, one: dict) -> None:
  history, point = np.asarray(one['history'], float), np.asarray(one['point'], float)
  n, steps, test = len(history), len(point), one.get('test')
  shown = min(n, max(PANEL_SHOWN, 3 * steps))
  ax.plot(np.arange(n - shown, n), history[-shown:], color=style.OKABE_ITO[6],
          linewidth=0.8, label='history')
  alone = isolated_points(np.asarray(history[-shown:], float))  # Between gaps: a dot.
  ax.plot(np.arange(n - shown, n)[alone], np.asarray(history[-shown:], float)[alone],
          color=style.OKABE_ITO[6], linestyle='none', marker='o', markersize=2)
  if test:
    x_test = test['start'] + np.arange(len(test['truth']))
    ax.axvspan(x_test[0] - 0.5, x_test[-1] + 0.5, color=style.FAINT, alpha=0.15,
               linewidth=0)
    if test['start'] >= n:  # A given test part: after the history, forecast from its end.
      ax.plot(x_test, test['truth'], color=style.OKABE_ITO[6], linewidth=0.8,
              linestyle=':', marker='.', markersize=2, label='test part')
    else:  # Held out: the newest history, and the model's forecast of it.
      ax.plot(x_test, test['pred'], color=style.OKABE_ITO[1], linewidth=0.9,
              linestyle='--', label='test part: forecast from before it')
  x_future = np.arange(n, n + steps)
  for k, level in enumerate(sorted(one['bands'], reverse=True)):
    lower, upper = one['bands'][level]
    ax.fill_between(x_future, lower, upper, color=style.OKABE_ITO[0],
                    alpha=0.15 + 0.15 * k, linewidth=0, label=f'{level * 100:g}% interval')
  ax.plot(np.concatenate([[n - 1], x_future]), np.concatenate([history[-1:], point]),
          color=style.OKABE_ITO[0], marker='o', markersize=2, markevery=slice(1, None),
          label='forecast')
  end = max(n + steps, test['start'] + len(test['truth']) if test else 0)
  labels = list(one['times']) + list(one['future_times'])
  _set_ticks(ax, labels, n - shown, end - 1, 5)
  ax.set_xlim(n - shown - 0.5, end - 0.5)
  ax.set_title(one['title'], loc='left')


def _set_ticks(ax, labels, first: int, last: int, count: int) -> None:
  """Ticks on positions first..last of `labels` (a time cell per position). Where the
  labels are times one fixed step apart (hours, days, weeks), at round times with
  matplotlib's concise labels ('12:00', 'Jun 28'; the month or year beneath, as the
  axis label): full hourly stamps run together. Else `count` evenly spaced labels as
  written (months, quarters, step numbers)."""
  from matplotlib import dates as mdates  # pylint: disable=g-import-not-at-top
  shown = labels[first:last + 1]
  wall = times_lib.wall_clock([shown])  # Days across a daylight-saving change: local.
  stamps = [times_lib.parse(str(c), wall) for c in shown]
  if len(stamps) > 2 and None not in stamps:
    unit, counted = periods.count([[str(c).strip() for c in shown]])
    if unit == 'month' and _set_month_ticks(ax, counted[0], first, count):
      return
    seconds = np.asarray(stamps, 'datetime64[s]').astype(np.int64)
    step = int(seconds[1] - seconds[0])
    if step > 0 and (np.diff(seconds) == step).all():
      zoned = times_lib.ZONED.fullmatch(str(shown[-1]).strip())
      if zoned and not wall:  # Wall time at the offset of the last time written.
        seconds = seconds + times_lib.offset_seconds(zoned[2])
      as_days = lambda s: mdates.date2num(np.datetime64(int(s), 's'))
      locator = mdates.AutoDateLocator(minticks=3, maxticks=count + 2)
      ticks = locator.tick_values(*mdates.num2date([as_days(seconds[0]), as_days(seconds[-1])]))
      ticks = ticks[(ticks >= as_days(seconds[0])) & (ticks <= as_days(seconds[-1]))]
      formatter = mdates.ConciseDateFormatter(locator)
      texts = formatter.format_ticks(ticks)
      positions = first + (ticks - as_days(seconds[0])) * 86400 / step
      ax.set_xticks(positions, texts)
      zone = '' if not zoned else ' (UTC)' if zoned[2].upper() == 'Z' else f' (UTC{zoned[2]})'
      offsets = {m[2] for m in (times_lib.ZONED.fullmatch(str(c).strip()) for c in shown) if m}
      if zoned and wall and len(offsets) > 1:  # Days across a daylight-saving change.
        zone = ' (local time)'
      ax.set_xlabel(_span(formatter, ticks, as_days(seconds[0])) + zone)
      return
  ticks = np.unique(np.linspace(first, last, count).astype(int))
  ax.set_xticks(ticks, [labels[t] if t < len(labels) else '' for t in ticks])


def _set_month_ticks(ax, months, first: int, count: int) -> bool:
  """`_set_ticks` for positions counted in calendar months one fixed step apart
  (`months`, from periods.count; months, quarters, years): ticks at calendar boundaries
  (years, or every few years or months) chosen and labelled as dates are, rather than
  evenly spaced positions (17 months apart); a year's tick on that year's point where
  the points are not at its January (years dated 31 December, quarters at their ends).
  False where the step is not fixed."""
  from matplotlib import dates as mdates  # pylint: disable=g-import-not-at-top
  step = int(months[1] - months[0])
  if step <= 0 or (np.diff(months) != step).any():
    return False
  as_days = lambda m: mdates.date2num(np.datetime64(int(m), 'M'))
  locator = mdates.AutoDateLocator(minticks=3, maxticks=count + 2)
  ticks = locator.tick_values(*mdates.num2date([as_days(months[0]), as_days(months[-1])]))
  dates = mdates.num2date(ticks)
  at = np.asarray([(d.year - 1970) * 12 + d.month - 1 for d in dates])
  january = np.asarray([d.month == 1 for d in dates])
  if 12 % step == 0:  # A year's tick on its year's point: dated 31 Dec, or quarter ends.
    at = at + np.where(january, (months[0] - at) % step, 0)
  keep = np.asarray([d.day == 1 for d in dates]) & (at >= months[0]) & (
      at <= months[-1]) & ((at - months[0]) % step == 0)
  keep &= january | ~np.isin(at, at[keep & january])  # A month's tick on a year's point.
  if keep.sum() < 2:  # One tick alone is labelled as a time of day ('00:00').
    return False
  formatter = mdates.ConciseDateFormatter(locator)
  ax.set_xticks(first + (at[keep] - months[0]) // step, formatter.format_ticks(ticks[keep]))
  ax.set_xlabel(_span(formatter, ticks[keep], as_days(months[0])))
  return True


def _span(formatter, ticks, start: float) -> str:
  """The axis label of concise date ticks: matplotlib's offset, the last tick's month
  (or year, or day), made 'first to last' where the axis starts in an earlier one: an
  axis of December's days then January's was labelled '2024-Jan' alone, as if its '17'
  and '29' were January's."""
  from matplotlib import dates as mdates  # pylint: disable=g-import-not-at-top
  offset = formatter.get_offset()
  if not offset or not len(ticks):
    return offset
  last = mdates.num2date(ticks[-1])
  for fmt in formatter.offset_formats:
    if fmt and last.strftime(fmt) == offset:
      first = mdates.num2date(start).strftime(fmt)
      return offset if first == offset else f'{first} to {offset}'
  return offset


def isolated_points(v) -> np.ndarray:
  """<bool>[N]: the finite values of `v` with no finite neighbour (NaN or the end on
  both sides), which a line does not draw."""
  ok = np.isfinite(v)
  before = np.concatenate([[False], ok[:-1]])
  after = np.concatenate([ok[1:], [False]])
  return ok & ~before & ~after
