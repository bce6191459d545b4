"""A classifier's confusion figure: the final model's test cases by true and predicted
class (summary.json `final.test_confusion`), each row coloured by the share of its class's
cases, so that a rare class's misses show as plainly as a common one's."""

import matplotlib
import numpy as np

from rnnjax.data import classify
from rnnjax.figures import load
from rnnjax.figures import style

NAME = 'confusion'
MAX_NUMBERED = 20  # Classes up to which every cell is written; beyond, colour alone.


def plot_confusion(table: load.Table, out_dir: str, *, log=print) -> list:
  """Writes confusion.png/pdf where the summary holds the final model's test confusion
  (a classifier's); returns the paths ([] with a logged reason otherwise)."""
  if table.task != 'classify':
    return []
  counts = table.final.get('test_confusion')
  if not counts:
    log('figures: confusion skipped (summary.json holds no final model\'s test confusion: '
        'a sweep before 2026-12-08, or one stopped before its final model)')
    return []
  paths = draw(out_dir, counts, list(table.final['test_per_class']),
               what='Final model on the test part',
               note='The test part is scored here, never used to choose.')
  log(f'figures: wrote {paths[0]}')
  return paths


def draw(out_dir: str, counts, classes: list, *, what: str, note: str = '') -> list:
  """Writes NAME.png/pdf of `counts` ([[int]], rows true class, columns predicted, in the
  order of `classes`), titled `what` and its accuracies; returns the paths."""
  with style.context():
    return style.save(figure(counts, classes, what=what, note=note), out_dir, NAME)


def figure(counts, classes: list, *, what: str, note: str = ''):
  """The figure `draw` writes (built in the house style where called inside
  style.context())."""
  counts = np.asarray(counts, np.int64)
  cases = counts.sum(axis=1, keepdims=True)
  shares = np.divide(counts, cases, out=np.full(counts.shape, np.nan), where=cases > 0)
  classes = [str(c) for c in classes]
  k = len(classes)
  side = min(style.FULL_WIDTH, max(style.COLUMN_WIDTH, 0.32 * k + 1.4))
  cmap = matplotlib.colormaps['viridis'].with_extremes(bad='#e6e6e6')
  fig = style.new_figure(side, side * 0.92 + 0.35)
  ax = fig.add_subplot()
  image = ax.imshow(np.ma.masked_invalid(shares), cmap=cmap, vmin=0, vmax=1)
  ax.grid(False)
  ticks = np.arange(k)
  ax.set_xticks(ticks, labels=classes, rotation=90 if max(map(len, classes)) > 3 else 0)
  ax.set_yticks(ticks, labels=[f'{c} ({n})' for c, n in zip(classes, cases[:, 0])])
  ax.set_xlabel('predicted class')
  ax.set_ylabel('true class (cases)')
  if k <= MAX_NUMBERED:
    for i in range(k):
      for j in range(k):
        if counts[i, j] or i == j:
          colour = style.text_colour(cmap(shares[i, j])) if cases[i, 0] else 'black'
          ax.text(j, i, str(counts[i, j]), ha='center', va='center',
                  fontsize=6 if k <= 10 else 4.5, color=colour)
  fig.colorbar(image, ax=ax, shrink=0.8, label='share of the true class\'s cases')
  found, total = int(np.trace(counts)), int(counts.sum())
  per_class = {c: {'cases': int(n), 'found': int(counts[i, i])}
               for i, (c, n) in enumerate(zip(classes, cases[:, 0]))}
  # Above the colour bar too (an axes' title would run into it).
  fig.suptitle(f'{what}:\n{found} of {total} cases right (accuracy {found / total:.3f}, '
               f'balanced {classify.balanced(per_class):.3f})' if total else
               f'{what}: no cases', x=0.01, ha='left', fontsize=7)
  style.note(fig, 'Each row: the cases of one true class, coloured by the share the model '
             'put in each predicted class (the diagonal: the share found); numbers count '
             'cases' + ('' if k <= MAX_NUMBERED else f' (written up to {MAX_NUMBERED} '
                        'classes)') + '. A column\'s off-diagonal cells are that class\'s '
             'false alarms. ' + note, side)
  return fig
