r"""Uses a finished sweep's final model (WORKDIR/model/) on new data; see README.md.

  python -m experiments.predict --workdir=runs/quickstart --steps_ahead=12

Forecasting: forecasts `--steps_ahead` points from the end of the work directory's
series (or of `--csv_path`, a CSV with the same columns), with prediction intervals at
`--levels`; writes OUT/forecast.csv and OUT/forecast.png. A panel model (many series):
the same from the end of each series (the sweep's, or each of a long `--csv_path`);
forecast.csv is long, `unique_id,ds,forecast,lower_80,upper_80,...`, and forecast.png
draws a few series. Classification: classifies the
cases of `--ts_path`, or of a long `--csv_path` (the model's case and channel columns;
its time and label columns where present); writes OUT/predictions.csv. Character model: continues `--prompt`;
writes OUT/sample.txt. OUT is `--out_dir` (default WORKDIR/predictions). Bad input is
one line on stderr, exit status 2, nothing written.
"""

from experiments import cli

# Run as a command, SIGINT and SIGTERM are noted from here while JAX is imported (main
# acts on them): see cli.note_signals.
_EARLY, _NOTED = {}, []  # signal -> its handler before; the signals noted
if __name__ == '__main__':
  _EARLY, _NOTED = cli.note_signals()

import logging  # pylint: disable=g-import-not-at-top,wrong-import-position
import os  # pylint: disable=g-import-not-at-top,wrong-import-position

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from rnnjax.errors import InputError  # pylint: disable=g-import-not-at-top,wrong-import-position
from rnnjax.final.saved import arguments  # pylint: disable=g-import-not-at-top,wrong-import-position

WORKDIR = flags.DEFINE_string('workdir', '', 'Work directory of a finished sweep.')
STEPS_AHEAD = flags.DEFINE_integer('steps_ahead', None, 'Forecast: points to forecast '
                                   '(default: the model\'s horizon).')
CSV_PATH = flags.DEFINE_string('csv_path', '', 'Forecast: forecast from the end of this '
                               'CSV (the model\'s columns) instead of the sweep\'s series. '
                               'Classify: a long CSV of cases (a row per step; the '
                               'model\'s case and channel columns).')
FUTURE_PATH = flags.DEFINE_string('future_path', '', 'Forecast with input columns: a CSV '
                                  'of their values over the steps ahead (a panel: long, '
                                  'with its id and time columns).')
LEVELS = flags.DEFINE_list('levels', [str(l) for l in arguments.LEVELS], 'Forecast: '
                           'coverage of the prediction intervals, each in (0, 1).')
TS_PATH = flags.DEFINE_string('ts_path', '', 'Classify: a .ts file of cases (labelled or '
                              'not).')
PROMPT = flags.DEFINE_string('prompt', '', 'Character model: the text to continue (empty: '
                             'the start of the validation text).')
NUM_CHARS = flags.DEFINE_integer('num_chars', arguments.NUM_CHARS, 'Character model: '
                                 'characters to write.')
TEMPERATURE = flags.DEFINE_float('temperature', arguments.TEMPERATURE, 'Character model: sampling '
                                 'temperature (>= 0; 0: the most likely character each step).')
SEED = flags.DEFINE_integer('seed', 0, 'Character model: sampling seed.')
OUT_DIR = flags.DEFINE_string('out_dir', '', 'Where to write (default WORKDIR/predictions).')
FIGURES = flags.DEFINE_bool('figures', True, 'Forecast: also draw OUT/forecast.png.')


def _is_number(text: str) -> bool:
  try:
    float(text)
    return True
  except ValueError:
    return False


def main(argv):
  del argv  # parse_flags refuses positional arguments.
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.ERROR)  # No TPU notices.
  with cli.exits():
    from rnnjax.final.use import predictions  # pylint: disable=g-import-not-at-top
    cli.act_on_noted(_EARLY, _NOTED)
    try:  # None where not given: a model without intervals then takes the default.
      levels = ([float(level) for level in LEVELS.value] if flags.FLAGS['levels'].present
                else None)
    except ValueError:
      bad = next(v for v in LEVELS.value if not _is_number(v))
      raise InputError(f'--levels: {bad!r} is not a number (levels: e.g. 0.8,0.95)'
                       ) from None
    out = predictions.run(
        WORKDIR.value, steps_ahead=STEPS_AHEAD.value, csv_path=CSV_PATH.value,
        future_path=FUTURE_PATH.value, levels=levels, ts_path=TS_PATH.value,
        prompt=PROMPT.value, out_dir=OUT_DIR.value, figures=FIGURES.value,
        **{name: holder.value for name, holder in (
            ('num_chars', NUM_CHARS), ('temperature', TEMPERATURE), ('seed', SEED))
           if flags.FLAGS[name].present})  # Given to another task's model: refused.
    paths = out['paths']
    if out['plot'] and FIGURES.value:  # matplotlib: only when asked.
      paths += _draw(out)
    elif out['figure']:  # An earlier run's figure beside these predictions: said.
      csv = os.path.splitext(os.path.basename(paths[0]))[0]
      out['lines'] += [n for n in [predictions.stale_figures_note(
          os.path.dirname(paths[0]), out['figure'], csv,
          '--figures=false' if out['plot'] else 'no case has a label of a class')] if n]
    print('\n'.join(out['lines']))
    print('wrote ' + ', '.join(paths))


def _draw(out: dict) -> list:
  # pylint: disable=g-import-not-at-top
  if out['figure'] == 'confusion':
    from rnnjax.figures.plots import confusion
    return confusion.draw(**out['plot'])
  from rnnjax.figures.plots import forecast_plot
  draw = forecast_plot.plot_panel if out.get('panel') else forecast_plot.plot_forecast
  return draw(**out['plot'])


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
