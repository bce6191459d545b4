"""A forecast of the future: the history, the test part with the model's one-step
predictions, and the forecast with its prediction intervals (experiments/predict.py)."""

import numpy as np

from rnnjax.figures import style

MIN_SHOWN = 72  # Points of history drawn at least (all of a shorter series).


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
  shown = min(n, max(MIN_SHOWN, (n - test_start if test_start is not None else 0)
                     + 4 * steps))
  x_hist = np.arange(n - shown, n)
  x_future = np.arange(n, n + steps)
  labels = list(times) + list(future_times)
  with style.context():
    fig = style.new_figure(width=style.FULL_WIDTH, height=1.2 + 1.6 * len(columns))
    axes = fig.subplots(len(columns), 1, squeeze=False)[:, 0]
    for c, (ax, column) in enumerate(zip(axes, columns)):
      ax.plot(x_hist, history[-shown:, c], color=style.OKABE_ITO[6], linewidth=0.8,
              label='history')
      if test_pred is not None and test_start is not None:
        x_test = np.arange(test_start, n)
        ax.axvspan(test_start - 0.5, n - 0.5, color=style.FAINT, alpha=0.15, linewidth=0)
        ax.plot(x_test, np.asarray(test_pred, float)[:, c], color=style.OKABE_ITO[1],
                linewidth=0.9, label='test part: one-step predictions')
      for k, level in enumerate(sorted(bands, reverse=True)):
        lower, upper = bands[level]
        ax.fill_between(x_future, np.asarray(lower)[:, c], np.asarray(upper)[:, c],
                        color=style.OKABE_ITO[0], alpha=0.15 + 0.15 * k, linewidth=0,
                        label=f'{level:.0%} interval')
      ax.plot(np.concatenate([[n - 1], x_future]),
              np.concatenate([history[-1:, c], point[:, c]]), color=style.OKABE_ITO[0],
              marker='o', markersize=2, label='forecast')
      ax.set_ylabel(column)
      ticks = np.unique(np.linspace(n - shown, n + steps - 1, 7).astype(int))
      ax.set_xticks(ticks, [labels[t] if t < len(labels) else '' for t in ticks])
      ax.set_xlim(n - shown - 0.5, n + steps - 0.5)
    fig.legend(*axes[0].get_legend_handles_labels(), loc='outside upper center', ncols=5)
    if note:
      style.note(fig, note, style.FULL_WIDTH)
    return style.save(fig, out_dir, name)
