"""A panel with input columns (a shop's products with their promotions and prices):
each window reads the inputs' past values beside the target's, and the columns known in
advance over its horizon too, standardised per series (data/panel.py,
windows/panel_windows.py); a member uses them (engine/tasks/panel.py); the saved model reads
them from its histories and their rows after them (final/saved/panel_histories.py,
panel_forecasting.py, use/panel_predictions.py, predictions.py).

The sweeps: 24 synthetic products whose sales double in a period with a promotion and
rise by half in the period after one (promotions drawn at random, so only a model that
reads the promotion planned for a period foresees its sales): one sweep reads the
promotions as a past input column (test part held out), one as a column known in
advance (test part given as a file, which holds the promotions over it).
"""

import csv
import dataclasses
import types

import numpy as np
import pandas as pd
import pytest

from rnnjax.data import common
from rnnjax.data import forecast
from rnnjax.data import panel
from rnnjax.data.windows import panel_windows
from rnnjax.errors import InputError
from rnnjax.final.saved import panel_histories
from rnnjax.final.saved import panel_future
from rnnjax.final.use import panel_predictions
from rnnjax.final.use import predictions
from rnnjax.run import sweep
import rnnjax

HORIZON = 2
SPEC = sweep.SweepSpec(
    task='panel', id_column='unique_id', time_column='ds', target_columns=('sales',),
    horizon=HORIZON, lookback='4', normalization='last', loss='mae', cell='gru',
    hidden_size='8', batch_size='32', learning_rate='1e-2', train_steps=200, eval_every=100,
    classical_baselines=False, ensemble='single')
HEADER = ['unique_id', 'ds', 'sales', 'promo', 'price']


def _write(path, rows):
  with open(path, 'w', newline='', encoding='utf-8') as f:
    csv.writer(f).writerows([HEADER] + rows)
  return str(path)


def _shop(tmp, *, series=24, n=40, seed=0):
  """(whole, train, test) long CSVs: unique_id, ds, sales, promo (0/1), price (lower
  under a promotion); test: each series' last HORIZON rows, train: the rest."""
  rng = np.random.default_rng(seed)
  rows = []
  for s in range(series):
    base, promo = rng.uniform(50, 500), (rng.random(n) < 0.25).astype(float)
    price = rng.uniform(5, 20) * (1 - 0.2 * promo)
    for t in range(n):
      sales = (base * (1 + promo[t]) * (1 + 0.5 * (promo[t - 1] if t else 0)) *
               (1 + 0.03 * rng.standard_normal()))
      rows.append([f's{s:02d}', str(t), f'{sales:.3f}', f'{promo[t]:.0f}', f'{price[t]:.3f}'])
  test = [r for r in rows if int(r[1]) >= n - HORIZON]
  train = [r for r in rows if r not in test]
  return (_write(tmp / 'shop.csv', rows), _write(tmp / 'train.csv', train),
          _write(tmp / 'test.csv', test))


@pytest.fixture(scope='module')
def shop(tmp_path_factory):
  """{'whole', 'train', 'test': CSV paths, 'past', 'future': (summary, workdir)}."""
  tmp = tmp_path_factory.mktemp('shop')
  out = dict(zip(('whole', 'train', 'test'), _shop(tmp)))
  for name, kw in (('past', dict(csv_path=out['whole'], input_columns=('promo', 'price'))),
                   ('future', dict(csv_path=out['train'], test_path=out['test'],
                                   input_columns=('price',), future_columns=('promo',)))):
    workdir = str(tmp / name)
    spec = dataclasses.replace(SPEC, **kw)
    out[name] = sweep.run_sweep(spec, workdir, log=lambda _: None), workdir
  return out


def _histories(path, columns=('promo', 'price')):
  """id -> <float64>[n, 3]: a long CSV's sales, then `columns`, by series."""
  frame = pd.read_csv(path)
  return {k: g[['sales', *columns]].to_numpy() for k, g in frame.groupby('unique_id')}


def test_windows_read_each_series_past_inputs_standardised(tmp_path):
  path = tmp_path / 'p.csv'
  rows = [['id', 't', 'y', 'u', 'k']]
  rows += [['a', str(t), str(10.0 + t), '' if t == 3 else str(t * t), '7'] for t in range(9)]
  rows += [['b', str(t), str(5.0 - t), str(-t), '1'] for t in range(4)]
  path.write_text('\n'.join(','.join(r) for r in rows) + '\n', encoding='utf-8')
  load = lambda columns: panel.load(csv_path=str(path), id_column='id', time_column='t',
                                    target_column='y', input_columns=columns, horizon=2)
  with_inputs, alone = load(('u', 'k')), load(())
  assert with_inputs.num_filled == 1 and alone.num_filled == 0  # a's empty u at t = 3.
  u_a = np.array([0, 1, 4, 10, 16, 25, 36])  # The gap filled linearly; 49 and 64: test.
  np.testing.assert_array_equal(with_inputs.inputs[0][:, 0], u_a)
  np.testing.assert_array_equal(with_inputs.test_inputs[0][:, 0], [49, 64])
  got, _ = panel_windows.windows(with_inputs, lookback=3, horizon=2, season=0)
  ref, _ = panel_windows.windows(alone, lookback=3, horizon=2, season=0)
  for split in got:
    assert got[split]['x'].shape[-1] == 3 and ref[split]['x'].shape[-1] == 1
    np.testing.assert_array_equal(got[split]['x'][..., :1], ref[split]['x'])
  # Standardised by the series' points before its validation origin (a: 5 of its 7
  # train points; b: its first 0 of 2, so both); a constant column becomes 0.
  known = u_a[:5]
  test_a = got['test']['x'][0]
  np.testing.assert_allclose(test_a[:, 1], (u_a[-3:] - known.mean()) / known.std(),
                             rtol=1e-6)
  np.testing.assert_array_equal(test_a[:, 2], 0.0)
  # b's two train points: its test window is padded on the left with its first point.
  u_b = np.array([0.0, -1.0])
  np.testing.assert_allclose(got['test']['x'][1][:, 1],
                             (u_b[[0, 0, 1]] - u_b.mean()) / u_b.std(), rtol=1e-6)
  with pytest.raises(InputError, match="^--input_columns: .* has no column 'price'"):
    load(('u', 'price'))


def test_columns_known_in_advance_are_read_over_the_horizon(tmp_path):
  rows = [['id', 't', 'y', 'f']] + [['a', str(t), str(1.0 + t), str(10.0 * t)] for t in range(9)]
  path = tmp_path / 'p.csv'
  path.write_text('\n'.join(','.join(r) for r in rows) + '\n', encoding='utf-8')
  load = lambda **kw: panel.load(csv_path=str(path), id_column='id', time_column='t',
                                 target_column='y', horizon=2, **kw)
  known, past = load(future_columns=('f',)), load(input_columns=('f',))
  got = panel_windows.windows(known, lookback=3, horizon=2, season=0)[0]
  ref = panel_windows.windows(past, lookback=3, horizon=2, season=0)[0]
  f = 10.0 * np.arange(9)
  stats = f[:5].mean(), f[:5].std()  # Train: 7 points; before validation: 5.
  # The test window (origin 7): past values f[4:7]; known in advance f[6:9], its last
  # two the test part's.
  np.testing.assert_allclose(ref['test']['x'][0, :, 1], (f[4:7] - stats[0]) / stats[1], rtol=1e-6)
  np.testing.assert_allclose(got['test']['x'][0, :, 1], (f[6:9] - stats[0]) / stats[1], rtol=1e-6)
  # A training window (origin 3), padded on the left: f[0:3] and f[2:5].
  np.testing.assert_allclose(got['train']['x'][2, :, 1], (f[2:5] - stats[0]) / stats[1], rtol=1e-6)
  np.testing.assert_array_equal(got['train']['x'][..., 0], ref['train']['x'][..., 0])
  # A given test file must hold them: its values over the test part are read.
  train, test = tmp_path / 'train.csv', tmp_path / 'test.csv'
  train.write_text('\n'.join(','.join(r) for r in rows[:8]) + '\n', encoding='utf-8')
  test.write_text('\n'.join(','.join(r) for r in [rows[0]] + rows[8:]) + '\n',
                  encoding='utf-8')
  given = panel.load(csv_path=str(train), test_path=str(test), id_column='id',
                     time_column='t', target_column='y', horizon=2, future_columns=('f',))
  np.testing.assert_array_equal(given.test_inputs[0][:, 0], [70.0, 80.0])
  test.write_text('id,t,y\na,7,8\na,8,9\n', encoding='utf-8')
  with pytest.raises(InputError, match="^--future_columns: .*test.csv has no column 'f'"):
    panel.load(csv_path=str(train), test_path=str(test), id_column='id', time_column='t',
               target_column='y', horizon=2, future_columns=('f',))


def test_a_panel_of_one_reads_its_test_and_future_files_without_an_id(tmp_path):
  """One series (no --id_column) is named after its file; its test file and predict's
  --future_path, named otherwise, hold that series' rows."""
  from types import SimpleNamespace  # pylint: disable=g-import-not-at-top
  from rnnjax.final.use import panel_predictions  # pylint: disable=g-import-not-at-top
  rows = [['t', 'y', 'f']] + [[str(t), str(1.0 + t), str(t % 2)] for t in range(9)]
  write = lambda name, part: (tmp_path / name).write_text(
      '\n'.join(','.join(r) for r in [rows[0]] + part) + '\n', encoding='utf-8')
  write('sales.csv', rows[1:8])
  write('next.csv', rows[8:] + [['9', '10.0', '1']])
  one = panel.load(csv_path=str(tmp_path / 'sales.csv'), test_path=str(tmp_path / 'next.csv'),
                   time_column='t', target_column='y', horizon=2, future_columns=('f',))
  assert one.ids == ('sales',)
  np.testing.assert_array_equal(one.test[0], [8.0, 9.0])
  np.testing.assert_array_equal(one.test_inputs[0][:, 0], [1.0, 0.0])
  model = SimpleNamespace(transform={'id_column': '', 'time_column': 't', 'target_column': 'y',
                                     'input_columns': [], 'future_columns': ['f']})
  ahead = panel_predictions.future(model, ['mine'], 2, future_path=str(tmp_path / 'next.csv'))
  assert list(ahead) == ['mine']
  np.testing.assert_array_equal(ahead['mine'][:, 0], [1.0, 0.0, 1.0])


# A saved model's transform as far as the rows after its histories go: a past-only
# column (price) and one known in advance (promo).
TRANSFORM = {'id_column': 'unique_id', 'time_column': 'ds', 'horizon': HORIZON,
             'input_columns': ['price'], 'future_columns': ['promo'], 'ids': ['s00', 's01']}


def test_rows_after_the_histories_need_only_the_columns_the_steps_read(tmp_path):
  """A past-only column is read past the horizon alone: within it a table without the
  column serves, and the message asking for rows names only the columns read; past it a
  table without the column is refused as having none (not as 'empty in row 1'), naming
  the columns it must have, for a DataFrame and a --future_path file alike."""
  ids, model = TRANSFORM['ids'], types.SimpleNamespace(transform=TRANSFORM)
  with pytest.raises(InputError, match=r"^future_inputs: none given, .*rows after the last "
                     r"time of the history it is forecast from \(a long table of columns unique_id, ds, promo\)$"):
    panel_future.panel_future_inputs(TRANSFORM, ids, None, HORIZON)
  plan = pd.DataFrame([(k, 38 + t, 1.0) for k in ids for t in range(4)],
                      columns=['unique_id', 'ds', 'promo'])
  path = str(tmp_path / 'plan.csv')
  plan.to_csv(path, index=False)
  within = panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON)
  assert np.isnan(within[0][:, 0]).all() and (within[0][:, 1] == 1.0).all()
  on_file = lambda steps: panel_future.panel_future_inputs(
      TRANSFORM, ids, panel_predictions.future(model, ids, steps, future_path=path), steps,
      '--future_path')
  np.testing.assert_array_equal(on_file(HORIZON)[1], within[1])
  reads = (r"; 3 steps read 2 rows of \['price'\] \(forecasts past the horizon, 2, are fed "
           r"back with them\) and 4 rows of \['promo'\] .*: give a long table of columns "
           r"unique_id, ds, price, promo$")
  with pytest.raises(InputError, match=r"^future_inputs: the DataFrame has no column "
                     r"'price'" + reads):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, 3)
  with pytest.raises(InputError, match=r"^--future_path: .*plan.csv has no column 'price'"
                     + reads):
    on_file(3)
  plan[['unique_id', 'ds']].to_csv(path, index=False)
  with pytest.raises(InputError, match=r"^--future_path: .*plan.csv has no columns 'price', "
                     r"'promo'; 3 steps read"):
    on_file(3)


def test_a_plans_series_not_forecast_are_said(tmp_path):
  """Rows after the histories (a --future_path file, a dict or a DataFrame alike) that
  name a series not forecast (a mistyped id, or a product dropped from the histories)
  are left unread, and a note names it: a typo would otherwise pass without a word."""
  ids, model = TRANSFORM['ids'], types.SimpleNamespace(transform=TRANSFORM)
  plan = pd.DataFrame([(k, 38 + t, 9.0, 1.0) for k in (*ids, 'typo') for t in range(2)],
                      columns=['unique_id', 'ds', 'price', 'promo'])
  path = str(tmp_path / 'plan.csv')
  plan.to_csv(path, index=False)
  rows = panel_predictions.future(model, ids, HORIZON, future_path=path)
  for given, what in ((rows, f'--future_path {path}'), (plan, 'future_inputs')):
    notes = []
    got = panel_future.panel_future_inputs(TRANSFORM, ids, given, HORIZON, what,
                                           notes=notes)
    assert len(got) == len(ids)
    assert notes == [f"{what}: 1 series is not among the histories forecast, its rows "
                     "not read ('typo')"], notes
  notes = []
  panel_future.panel_future_inputs(TRANSFORM, ids[:1], rows, HORIZON, notes=notes)
  assert notes[0].startswith(f'future_inputs: {len(ids)} series are not among '), notes


def test_an_infinite_value_after_a_history_is_refused_as_such(tmp_path):
  """In a --future_path file, naming the file, line and column; in a DataFrame, naming
  the series, column and row (not as an empty cell)."""
  ids, model = TRANSFORM['ids'], types.SimpleNamespace(transform=TRANSFORM)
  plan = pd.DataFrame([(k, 38 + t, 9.0, 1.0) for k in ids for t in range(2)],
                      columns=['unique_id', 'ds', 'price', 'promo'])
  plan.loc[1, 'promo'] = np.inf
  path = str(tmp_path / 'plan.csv')
  plan.to_csv(path, index=False)
  with pytest.raises(InputError, match=r"^.*plan.csv: line 3, column 'promo': 'inf' is not "
                     "finite$"):
    panel_predictions.future(model, ids, HORIZON, future_path=path)
  with pytest.raises(InputError, match=r"^future_inputs: series 's00': 'promo' is infinite "
                     r"in row 2 \(step 2 after its history\)"):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON)


def test_rows_after_a_history_that_lacks_its_last_time_say_what_to_give(tmp_path):
  """A series whose history ends a step early (s01 has no row 37) is refused with what
  to give: a history row with an empty target, or its rows a step earlier, for a
  DataFrame and a --future_path file alike (from the saved series, the sweep's file
  given again with that row); and, as the rows start after the panel's last time, a
  sweep with --fill=zero (not said to a model swept with it)."""
  ids, model = TRANSFORM['ids'], types.SimpleNamespace(transform=TRANSFORM)
  times = [[str(t) for t in range(30, 38)], [str(t) for t in range(30, 37)]]
  plan = pd.DataFrame([(k, 38 + t, 9.0, 1.0) for k in ids for t in range(2)],
                      columns=['unique_id', 'ds', 'price', 'promo'])
  path = str(tmp_path / 'plan.csv')
  plan.to_csv(path, index=False)
  late = r"^{}: series 's01' of {} starts at '38', not the step \(1 step\) after its "
  zero = (r" \(1 series ends before the panel's last time '37': a sweep with --fill=zero "
          r"reads a series' absent periods as 0 and runs every series on to that time\)$")
  with pytest.raises(InputError, match=late.format('future_inputs', 'the DataFrame') + (
      r"history's last time '36'; give the history a row for '37' with an empty target "
      r"\(filled as a gap\), or future rows from '37'" + zero)):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON, times=times)
  with pytest.raises(InputError, match=late.format('--future_path', '.*plan.csv') + (
      r"history's last time '36'; give --csv_path h.csv a row for '37' with an empty "
      r"target \(filled as a gap\), or future rows from '37'" + zero)):
    panel_predictions.future(model, ids, HORIZON, 'h.csv', path, times)
  # From the saved series: the sweep's file, given again with that row, is the way.
  with pytest.raises(InputError, match=r"last time '36'; give --csv_path=<the sweep's file> "
                     r"a row for '37' with an empty target \(filled as a gap\), or future "
                     r"rows from '37'" + zero):
    panel_predictions.future(model, ids, HORIZON, '', path, times)
  zeroed = dict(TRANSFORM, fill='zero')
  with pytest.raises(InputError, match=r"or future rows from '37'$"):
    panel_future.panel_future_inputs(zeroed, ids, plan, HORIZON, times=times)
  with pytest.raises(InputError, match=r"or future rows from '37'$"):
    panel_predictions.future(types.SimpleNamespace(transform=zeroed), ids, HORIZON, 'h.csv',
                             path, times)


def test_rows_of_other_ids_only_are_refused_in_one_line_naming_a_few(tmp_path):
  """A plan whose ids are none of the histories' ('0', '1' where the series are 's00'
  and 's01': a file saved after its leading zeros were read away) was a ValueError from
  the check of its times, with nothing to check; now one line names a few of its ids,
  for a DataFrame and a --future_path file alike."""
  ids, model = TRANSFORM['ids'], types.SimpleNamespace(transform=TRANSFORM)
  times = [[str(t) for t in range(30, 38)]] * 2
  plan = pd.DataFrame([(k, 38 + t, 9.0, 1.0) for k in ('0', '1') for t in range(2)],
                      columns=['unique_id', 'ds', 'price', 'promo'])
  path = str(tmp_path / 'plan.csv')
  plan.to_csv(path, index=False)
  other = (r"no values for series 's00' \(none of its 2 ids is a series of the histories: "
           r"'0', '1'; ids are text, so '7' is not '007'\)$")
  with pytest.raises(InputError, match='^future_inputs: ' + other):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON, times=times)
  rows = panel_predictions.future(model, ids, HORIZON, 'h.csv', path, times)
  with pytest.raises(InputError, match='^--future_path: ' + other):
    panel_future.panel_future_inputs(TRANSFORM, ids, rows, HORIZON, '--future_path')
  # One of them given: the other is named alone, as before.
  plan['unique_id'] = ['s00', 's00', '1', '1']
  with pytest.raises(InputError, match=r"^future_inputs: no values for series 's01'$"):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON, times=times)
  # One written with another space or case: named (a spreadsheet's trailing space).
  plan['unique_id'] = ['s00', 's00', 'S01 ', 'S01 ']
  with pytest.raises(InputError, match=r"^future_inputs: no values for series 's01' \(it "
                     r"holds 'S01 ', which differs in its spaces or case: ids are read as "
                     r"written\)$"):
    panel_future.panel_future_inputs(TRANSFORM, ids, plan, HORIZON, times=times)


def test_members_read_the_promotions_planned_for_their_horizon(shop):
  """Read as a past input, a promotion cannot foretell the sales of its own period."""
  past, future = shop['past'][0]['final'], shop['future'][0]['final']
  assert future['val']['smape'] < 0.5 * past['val']['smape']
  assert future['test']['mase'] < 0.5 * past['test']['mase']


def test_the_saved_models_read_the_inputs_of_their_histories(shop):
  for name in ('past', 'future'):
    summary, workdir = shop[name]
    assert rnnjax.load(workdir).evaluate_panel() == summary['final']['test']
  # Past inputs: a DataFrame and stacked arrays alike; the last period's promotion
  # changes the next forecasts; past the horizon the inputs' next rows are read.
  model, frame = rnnjax.load(shop['past'][1]), pd.read_csv(shop['whole'])
  stacked = _histories(shop['whole'])
  point = model.forecast(stacked, 2, levels=())['point']
  np.testing.assert_array_equal(model.forecast(frame, 2, levels=())['point'], point)
  moved = {k: v.copy() for k, v in stacked.items()}
  for v in moved.values():
    v[-1, 1] = 1.0 - v[-1, 1]
  assert np.median(np.abs(np.log(model.forecast(moved, 2, levels=())['point'] / point))) > 0.1
  with pytest.raises(InputError, match=r"^future_inputs: none given, and this model reads "
                     r"values after each history: for 3 steps, 2 rows of \['promo', 'price'\]"):
    model.forecast(stacked, 3)
  rows = lambda promo: {k: np.array([[promo, 10.0]] * 2) for k in stacked}
  three, other = (model.forecast(stacked, 3, future_inputs=rows(p), levels=())['point']
                  for p in (0.0, 1.0))
  np.testing.assert_array_equal(three[:, :2], point)
  np.testing.assert_array_equal(other[:, :2], point)
  assert not np.allclose(three[:, 2], other[:, 2])
  with pytest.raises(InputError, match=r"^future_inputs: series 's00' has 1 rows"):
    model.forecast(stacked, 3, future_inputs={k: v[:1] for k, v in rows(0.0).items()})
  with pytest.raises(InputError, match=r"^history: no column 'promo' \(the model's input"):
    model.forecast(frame.drop(columns='promo'), 1)
  with pytest.raises(InputError, match=r"^history: series 's00' is an array of shape"):
    model.forecast({k: v[:, 0] for k, v in stacked.items()}, 1)
  # Known in advance: a promotion planned for a step lifts that step, from the start.
  model, stacked = rnnjax.load(shop['future'][1]), _histories(shop['train'], ('price', 'promo'))
  plan = lambda promo: {k: np.array([[v[-1, 1], promo]] * 2) for k, v in stacked.items()}
  with pytest.raises(InputError, match=r"^future_inputs: none given, and this model reads "
                     r"values after each history: for 1 step, 2 rows of \['promo'\] "
                     r"\(known in advance"):
    model.forecast(stacked, 1)
  lifted, calm = (model.forecast(stacked, 2, future_inputs=plan(p), levels=())['point']
                  for p in (1.0, 0.0))
  assert np.median(lifted / calm) > 1.5
  # The plan as a long DataFrame (a past-only column may be left out), rows in any order.
  long_plan = pd.DataFrame([(k, 38 + t, 1.0) for k in stacked for t in (1, 0)],
                           columns=['unique_id', 'ds', 'promo'])
  np.testing.assert_array_equal(model.forecast(stacked, 2, future_inputs=long_plan,
                                               levels=())['point'], lifted)
  # From the end of long histories, a plan dated a step late is refused, as the file is.
  history = pd.read_csv(shop['train'])
  np.testing.assert_array_equal(model.forecast(history, 2, future_inputs=long_plan,
                                               levels=())['point'], lifted)
  with pytest.raises(InputError, match=r"^future_inputs: series 's00' of the DataFrame "
                     r"starts at '40', not the step \(1 step\) after its history's last "
                     r"time '37'; give the history rows for '38' to '39' with an empty "
                     r"target \(filled as a gap\), or future rows from '38'$"):
    model.forecast(history, 2, future_inputs=long_plan.assign(ds=long_plan['ds'] + 2))
  worded = long_plan.astype({'promo': object})
  worded.loc[0, 'promo'] = 'yes'  # Named by its row in the frame given, not in time order.
  with pytest.raises(InputError, match=r"^future_inputs: column 'promo': holds values that "
                     r"are not numbers \(row 0: 'yes'\)$"):
    model.forecast(stacked, 2, future_inputs=worded)
  huge = {k: v.copy() for k, v in stacked.items()}
  huge['s02'][-1, 0] = 1e39
  with pytest.raises(InputError, match=r"^history: series 's02': 1e\+39 is past the range "
                     r'of float32'):
    model.forecast(huge, 2, future_inputs=plan(1.0))
  holed = plan(1.0)
  holed['s05'][1, 1] = np.nan
  with pytest.raises(InputError, match=r"^future_inputs: series 's05': 'promo' is empty in "
                     r"row 2 \(step 2 after its history\)"):
    model.forecast(stacked, 2, future_inputs=holed)
  # Ids that are not strings, in both dicts: read as the same series (their text).
  numbered = lambda d: {int(k[1:]): v for k, v in d.items()}
  np.testing.assert_array_equal(model.forecast(numbered(stacked), 2, future_inputs=numbered(
      plan(1.0)), levels=())['point'], lifted)


def test_a_holiday_flag_holds_its_last_value_in_the_sweep_and_in_use_alike(tmp_path):
  """A 0/1 holiday column's empty cell and absent day hold the value before, never 0.5,
  in the sweep's data and where a saved model reads new histories; the notes count the
  target's cells and each input column's apart."""
  header = ['meter', 'date', 'load', 'temp', 'holiday']
  rows = [['m1', f'2022-12-{d}', str(10.0 + d), str(d % 3), str(int(d in (24, 25, 26)))]
          for d in range(20, 31) if d != 25]  # Christmas day absent: put back empty.
  rows[1][4] = ''  # And an empty cell.
  path = tmp_path / 'meters.csv'
  pd.DataFrame(rows, columns=header).to_csv(path, index=False)
  data = panel.load(csv_path=str(path), id_column='meter', time_column='date',
                    target_column='load', input_columns=('temp',),
                    future_columns=('holiday',), horizon=2)
  holiday = np.concatenate([data.inputs[0][:, 1], data.test_inputs[0][:, 1]])
  np.testing.assert_array_equal(holiday, [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
  assert data.filled == {('the target', 'by linear interpolation'): 1,
                         ("input column 'temp'", 'by linear interpolation'): 1,
                         ("input column 'holiday'", 'with the last value before'): 2}
  # The sweep decided which columns are flags, over its training part; its model keeps that.
  assert data.flag_columns == ('holiday',)
  assert ("input columns: 'temp' over each window's past; 'holiday' over its horizon too "
          "(--future_columns: known in advance); 0/1 flags, a gap holding the value "
          "before: 'holiday'") in data.notes, data.notes
  transform = {'id_column': 'meter', 'time_column': 'date', 'target_column': 'load',
               'input_columns': ['temp'], 'future_columns': ['holiday'], 'fill': 'linear',
               'flag_columns': list(data.flag_columns)}
  notes = []
  _, values, _, inputs = panel_histories.panel_histories(
      transform, pd.read_csv(path, dtype={'holiday': float}), notes=notes)
  np.testing.assert_array_equal(inputs[0][:, 1], holiday)
  np.testing.assert_array_equal(values[0][:-2], data.train[0])
  assert notes[1] == ("4 empty cells of history filled, as the sweep filled its data: 1 of "
                      "the target by linear interpolation, 1 of input column 'temp' by linear "
                      "interpolation, 2 of input column 'holiday' (a 0/1 flag) with the last "
                      'value before')
  # A model whose sweep saw a column as no flag (or saved before flags were kept) fills it
  # as it was trained, whatever values a history shows: interpolated.
  edge = pd.read_csv(path, dtype={'holiday': float})
  edge.loc[edge['date'] == '2022-12-23', 'holiday'] = np.nan  # Between a 0 and a 1.
  for flags, want in (([], 0.5), (['holiday'], 0.0)):
    _, _, _, inputs = panel_histories.panel_histories(
        {**transform, 'flag_columns': flags}, edge)
    assert inputs[0][3, 1] == want


def test_which_columns_are_flags_is_decided_on_the_training_part_alone(tmp_path):
  """A 0/1 promotion column whose held-out parts hold a 0.5 (validation, then test, a
  panel's and a single series'): still a flag, its training gaps filled with the last
  value, the same data as without the 0.5 (no value after training decides how training
  is filled); a 0.5 in the training part makes it an interpolated column."""
  on = lambda m: str(int(m % 6 in (4, 5)))  # On in months 4-5, 10-11, ...
  def panel_data(promo):
    rows = [['s1', f'2020-{m:02d}', str(10.0 + m % 4), promo.get(m, on(m))]
            for m in range(1, 13)]
    path = tmp_path / f'p{len(list(tmp_path.iterdir()))}.csv'
    pd.DataFrame(rows, columns=['id', 'month', 'y', 'promo']).to_csv(path, index=False)
    return panel.load(csv_path=str(path), id_column='id', time_column='month',
                      target_column='y', future_columns=('promo',), horizon=2)
  def series_data(promo):
    rows = [[f'{2020 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}', str(10.0 + m % 4),
             promo.get(m, on(m))] for m in range(1, 25)]
    path = tmp_path / f's{len(list(tmp_path.iterdir()))}.csv'
    pd.DataFrame(rows, columns=['month', 'y', 'promo']).to_csv(path, index=False)
    return forecast.load(csv_path=str(path), time_column='month', target_columns=('y',),
                         input_columns=('promo',), lookback=3, horizon=1, val_size=4,
                         test_size=4)
  gap = {3: ''}  # Between a 0 and a 1: 0 with the last value, 0.5 interpolated.
  plain = panel_data(gap)
  assert plain.flag_columns == ('promo',) and plain.inputs[0][2, 0] == 0.0
  for month in (10, 12):  # Validation (the 2 before the last 2), then test.
    held = panel_data({**gap, month: '0.5'})
    assert held.flag_columns == ('promo',)
    np.testing.assert_array_equal(held.inputs[0][:8], plain.inputs[0][:8])
    assert held.filled == plain.filled
  trained = panel_data({**gap, 5: '0.5'})
  assert trained.flag_columns == () and trained.inputs[0][2, 0] == 0.5
  assert ("input columns: 'promo' over its horizon too (--future_columns: known in "
          "advance); no 0/1 flag columns (a flag's gap would hold the value before)"
          ) in trained.notes, trained.notes
  plain = series_data(gap)
  assert plain.flag_columns == ('promo',)
  assert ("input columns: 'promo' over each window's past; 0/1 flags, a gap holding the "
          "value before: 'promo'") in plain.notes, plain.notes
  for month in (18, 23):  # Validation (months 17-20), then test (21-24).
    held = series_data({**gap, month: '0.5'})
    assert held.flag_columns == ('promo',)
    np.testing.assert_array_equal(held.x['train'], plain.x['train'])
  assert series_data({**gap, 5: '0.5'}).flag_columns == ()


def test_a_folds_flags_are_decided_on_its_own_training_part(tmp_path):
  """--folds: a fold's validation part lies inside the whole panel's training part, so
  a 0.5 there makes the whole panel's promo column interpolated; the fold decides on its
  own training part (0s and 1s: a flag) and fills its gap with the last value."""
  on = lambda t: int(t % 6 in (4, 5))
  rows = ['unique_id,ds,y,promo'] + [
      f'a,{t + 1},{10 + t % 4},{"" if t == 3 else 0.5 if t == 13 else on(t)}'
      for t in range(24)]
  (tmp_path / 'p.csv').write_text('\n'.join(rows) + '\n')
  whole = panel.load(csv_path=str(tmp_path / 'p.csv'), id_column='unique_id',
                     time_column='ds', target_column='y', future_columns=('promo',),
                     horizon=4)
  assert whole.flag_columns == () and whole.inputs[0][3, 0] == 0.5  # Between 0 and 1.
  fold = panel.earlier(whole, 1, 4)  # Trains on points 1-12, validates on 13-16.
  assert fold.flag_columns == ('promo',) and fold.inputs[0][3, 0] == 0.0


def test_a_plan_not_dated_as_the_histories_are_is_refused_not_read_in_file_order(tmp_path,
                                                                                 monkeypatch):
  """A meter's plan dated 01/07/2024 (shuffled), after histories dated 2024-06-30: a
  DataFrame or a --future_path file is refused, naming the column, the cell and the
  histories' writing; where neither is read as times (labels), rows in the order given,
  said."""
  transform = {'id_column': 'meter', 'time_column': 'date', 'input_columns': [],
               'future_columns': ['holiday'], 'horizon': 2, 'ids': ['m1']}
  plan = pd.DataFrame({'meter': ['m1', 'm1'], 'date': ['02/07/2024', '01/07/2024'],
                       'holiday': [1.0, 0.0]})
  with pytest.raises(InputError, match=r"^future_inputs: series 'm1' of the DataFrame: its "
                     r"column 'date' holds '02/07/2024', not read as a time, where its "
                     r"history's last time '2024-06-30' is an ISO date"):
    panel_future.panel_future_inputs(transform, ['m1'], plan, 2,
                                     times=[['2024-06-29', '2024-06-30']])
  notes, labelled = [], plan.assign(date=['Tue 2 Jul', 'Mon 1 Jul'])
  (rows,) = panel_future.panel_future_inputs(transform, ['m1'], labelled, 2,
                                             times=[['Sat 29 Jun', 'Sun 30 Jun']], notes=notes)
  np.testing.assert_array_equal(rows[:, 0], [1, 0])
  assert notes == ["future_inputs: its time column 'date' is not read as times "
                   "('Tue 2 Jul'): each series' rows are read in the order given"]
  path = tmp_path / 'plan.csv'
  plan.to_csv(path, index=False)
  model = dataclasses.make_dataclass('Model', ['transform'])(transform)
  with pytest.raises(InputError, match=r"^--future_path .*plan\.csv: its time column 'date' "
                     r"holds dates written as '02/07/2024', not read as times \(ISO dates"):
    panel_predictions.future_rows(model, str(path), 2,
                                  {'m1': ['2024-06-29', '2024-06-30']})
  notes, opened, read_file = [], [], common.read_file
  monkeypatch.setattr(common, 'read_file',
                      lambda path, **kw: opened.append(path) or read_file(path, **kw))
  labelled.to_csv(path, index=False)
  rows = panel_predictions.future_rows(model, str(path), 2,
                                       {'m1': ['Sat 29 Jun', 'Sun 30 Jun']}, notes)
  np.testing.assert_array_equal(rows['m1'][:, 0], [1, 0])
  assert opened == [str(path)], opened  # Read once: its header and its rows.
  # The note names the file by predict's flag, not the sweep's --time_column.
  assert notes == [f"--future_path {path}: its time column 'date': 'Tue 2 Jul' is not read "
                   'as a time (ISO dates such as 2001-12-31 or 2001-12, quarters such as '
                   '2001-Q4, months such as 2001M12, or step numbers are): rows are read '
                   'in file order, neither '
                   'sorted nor checked for absent periods'], notes


def test_predict_reads_the_inputs_after_each_series(tmp_path, shop):
  workdir = shop['past'][1]
  out = predictions.run(workdir, csv_path=shop['whole'], out_dir=str(tmp_path / 'a'))
  # The coverage printed is the sweep's, not that of the file's series.
  assert any(line.startswith("coverage on the sweep's test part (24 series")
             for line in out['lines']), out['lines']
  written = pd.read_csv(out['paths'][0])
  assert len(written) == 24 * HORIZON and list(written['ds'][:2]) == [40, 41]
  model = rnnjax.load(workdir)
  np.testing.assert_allclose(written['forecast'], model.forecast(
      pd.read_csv(shop['whole']), HORIZON, levels=())['point'].ravel(), rtol=1e-6)
  with pytest.raises(InputError, match=r"^--future_path: none given, and this model reads "
                     r"values after each history: for 3 steps, .*; give each series' "
                     r"rows after the last time of the history it is forecast from \(a long table of "
                     r"columns unique_id, ds, "):
    predictions.run(workdir, out_dir=str(tmp_path / 'b'), steps_ahead=3)
  future = tmp_path / 'future.csv'
  _write(future, [[f's{s:02d}', str(40 + t), '', '1', '9.5'] for s in range(24) for t in range(2)])
  out = predictions.run(workdir, out_dir=str(tmp_path / 'b'), steps_ahead=3,
                        future_path=str(future))
  assert len(pd.read_csv(out['paths'][0])) == 24 * 3
  no_price = tmp_path / 'no_price.csv'
  pd.read_csv(shop['whole']).drop(columns='price').to_csv(no_price, index=False)
  with pytest.raises(InputError, match=r"^--csv_path: .* no column 'price'.* \(the model's input"):
    predictions.run(workdir, csv_path=str(no_price), out_dir=str(tmp_path / 'c'))
  # Known in advance: the given test part's promotions serve for the sweep's own series;
  # from the end of a CSV, --future_path gives them (the past columns may be left out).
  workdir = shop['future'][1]
  predictions.run(workdir, out_dir=str(tmp_path / 'd'))
  with pytest.raises(InputError, match=r"^--future_path: the sweep's test part holds the "
                     r"input columns' values over its 2 steps, and 3 steps read 4 rows"):
    predictions.run(workdir, out_dir=str(tmp_path / 'd'), steps_ahead=3)
  with pytest.raises(InputError, match=r"^--future_path: .*\['promo'\] \(known in advance"):
    predictions.run(workdir, csv_path=shop['train'], out_dir=str(tmp_path / 'e'))
  plan = tmp_path / 'plan.csv'
  plan.write_text('unique_id,ds,promo\n' + ''.join(
      f's{s:02d},{38 + t},{t % 2}\n' for s in range(24) for t in range(2)), encoding='utf-8')
  out = predictions.run(workdir, csv_path=shop['train'], future_path=str(plan),
                        out_dir=str(tmp_path / 'e'))
  assert len(pd.read_csv(out['paths'][0])) == 24 * HORIZON
  # The plan appended to the CSV, its sales empty, is read as history: the error asking
  # for the rows ahead says so (the note alone came only with a forecast).
  train = pd.read_csv(shop['train'])
  appended = tmp_path / 'appended.csv'
  pd.concat([train, pd.DataFrame({'unique_id': [f's{s:02d}' for s in range(24)], 'ds': 38,
                                  'promo': 1, 'price': 9.5})]).to_csv(appended, index=False)
  with pytest.raises(InputError, match=r'^--future_path: none given, .*\. Note: --csv_path: '
                     r'24 series end with rows without a target .* where those '
                     r'rows are a plan of the inputs ahead, give them in future_inputs '
                     r'\(--future_path\) instead$'):
    predictions.run(workdir, csv_path=str(appended), out_dir=str(tmp_path / 'e1'))
  # An error of another kind is not about those rows: as it is (a plan missing a series).
  missing = tmp_path / 'missing.csv'
  missing.write_text('unique_id,ds,promo\n' + ''.join(
      f's{s:02d},{39 + t},1\n' for s in range(24) if s != 3 for t in range(2)),
                     encoding='utf-8')
  with pytest.raises(InputError, match=r"^--future_path .*missing.csv: no values for series "
                     r"'s03'$"):
    predictions.run(workdir, csv_path=str(appended), future_path=str(missing),
                    out_dir=str(tmp_path / 'e1'))
  # A plan dated a step late for one series is refused, not read by position.
  plan.write_text('unique_id,ds,promo\n' + ''.join(
      f's{s:02d},{38 + t + (s == 3)},{t % 2}\n' for s in range(24) for t in range(2)),
                  encoding='utf-8')
  with pytest.raises(InputError, match=r"^--future_path: series 's03' of .*plan.csv starts "
                     r"at '39', not the step \(1 step\) after its history's last time '37'; "
                     r"give --csv_path .*train.csv a row for '38' with an empty target "
                     r"\(filled as a gap\), or future rows from '38'$"):
    predictions.run(workdir, csv_path=shop['train'], future_path=str(plan),
                    out_dir=str(tmp_path / 'e2'))
  # A series' second row left out: put back as an empty period, named with the file.
  plan.write_text('unique_id,ds,promo\n' + ''.join(
      f's{s:02d},{38 + t},{t % 2}\n' for s in range(24) for t in range(3) if (s, t) != (5, 1)),
                  encoding='utf-8')
  with pytest.raises(InputError, match=r"^--future_path .*plan.csv: series 's05': 'promo' is "
                     r"empty in row 2 \(step 2 after its history: an empty cell, or a period "
                     r"the file has no row for\); "):
    predictions.run(workdir, csv_path=shop['train'], future_path=str(plan),
                    out_dir=str(tmp_path / 'e3'))
  plan.write_text('unique_id,ds,price\ns00,38,9\n', encoding='utf-8')
  with pytest.raises(InputError, match=r"^--future_path: .*plan.csv has no column 'promo'; "
                     r"2 steps read .*: give a long table of columns unique_id, ds, promo$"):
    predictions.run(workdir, csv_path=shop['train'], future_path=str(plan),
                    out_dir=str(tmp_path / 'f'))


def test_histories_of_pandas_nullable_dtypes_read_pd_na_as_a_gap(shop):
  """pd.read_csv(..., dtype_backend='numpy_nullable' or 'pyarrow') holds pd.NA where a
  cell is empty: refused as 'not numbers' (Arrow's: a TypeError traceback); now a gap,
  filled as NaN is, the forecast that of the same frame of NumPy dtypes."""
  model = rnnjax.load(shop['past'][1])
  plain = pd.read_csv(shop['whole'])
  plain.loc[5, 'price'] = np.nan
  want = model.forecast(plain, HORIZON, levels=())
  for backend in ('numpy_nullable', 'pyarrow'):
    frame = pd.read_csv(shop['whole'], dtype_backend=backend)
    frame.loc[5, 'price'] = pd.NA
    got = model.forecast(frame, HORIZON, levels=())
    np.testing.assert_array_equal(got['point'], want['point'])
    assert got['notes'] == want['notes']


def test_the_model_in_mlflow_reads_the_rows_after_each_history(shop):
  """A series' trailing rows without a target hold its inputs over the steps ahead."""
  pytest.importorskip('mlflow', reason='the mlflow extra is not installed')
  from rnnjax.final.use import mlflow_model  # pylint: disable=g-import-not-at-top
  workdir = shop['future'][1]
  pyfunc = mlflow_model.TunedPyfunc()
  pyfunc.load_context(type('Context', (), {'artifacts': {
      mlflow_model.ARTIFACT: f'{workdir}/model'}})())
  train, test = pd.read_csv(shop['train']), pd.read_csv(shop['test'])
  frame = pd.concat([train, test.assign(sales=np.nan)]).sort_values(['unique_id', 'ds'],
                                                                    kind='stable')
  table = pyfunc.predict(None, frame, {'steps': HORIZON})
  future = {k: g[['price', 'promo']].to_numpy() for k, g in test.groupby('unique_id')}
  want = rnnjax.load(workdir).forecast(train, HORIZON, future_inputs=future)
  np.testing.assert_array_equal(table['forecast'].to_numpy().reshape(24, HORIZON),
                                want['point'])
  # Newest first: each series' rows ahead are still the ones after its history in time.
  backwards = pyfunc.predict(None, frame.iloc[::-1], {'steps': HORIZON})
  pd.testing.assert_frame_equal(backwards.sort_values(['unique_id', 'ds'], kind='stable')
                                .reset_index(drop=True), table)
  # Too few rows ahead: said in the caller's terms (it passed no future_inputs).
  with pytest.raises(InputError, match=r"^history: series 's00' ends with 0 rows whose "
                     r"target is empty; for 2 steps the model reads 2 rows of \['promo'\] "
                     r".*: end each series with 2 rows whose target is empty and whose input "
                     "columns hold their values after its history$"):
    pyfunc.predict(None, train, {'steps': HORIZON})
  short = pd.concat([train, test.groupby('unique_id').head(1).assign(sales=np.nan)])
  with pytest.raises(InputError, match=r"^history: series 's00' ends with 1 row whose"):
    pyfunc.predict(None, short, {'steps': HORIZON})
  holed = frame.copy()
  holed.loc[holed['sales'].isna().to_numpy() & (holed['unique_id'] == 's01').to_numpy(),
            'promo'] = np.nan
  with pytest.raises(InputError, match=r"^history: its rows whose target is empty \(the "
                     r"inputs ahead\): series 's01': 'promo' is empty in row 1") as e:
    pyfunc.predict(None, holed, {'steps': HORIZON})
  chain = [e.value]  # Named so where it was made: no error on the way names future_inputs.
  while chain[-1].__context__ is not None:
    chain.append(chain[-1].__context__)
  assert not any('future_inputs' in str(error) for error in chain), chain
  # pandas' nullable dtypes (dtype_backend=) read as NumPy's; pd.NA ahead is empty there
  # too (in a column of objects: a TypeError traceback).
  pd.testing.assert_frame_equal(
      pyfunc.predict(None, frame.convert_dtypes(), {'steps': HORIZON}), table)
  objects = holed.astype({'promo': object})
  objects.loc[objects['promo'].isna(), 'promo'] = pd.NA
  with pytest.raises(InputError, match=r"^history: .*series 's01': 'promo' is empty in "
                     'row 1'):
    pyfunc.predict(None, objects, {'steps': HORIZON})
  # Fewer steps than the horizon read a whole horizon of the promotions all the same.
  one = pyfunc.predict(None, frame, {'steps': 1})
  np.testing.assert_array_equal(one['forecast'].to_numpy(), rnnjax.load(workdir).forecast(
      train, 1, future_inputs=future)['point'][:, 0])
  with pytest.raises(InputError, match=r"^steps: 1.5 must be a whole number"):
    pyfunc.predict(None, frame, {'steps': 1.5})
  # A history whose last target is missing: a gap of the history, not a row ahead (the
  # plan would otherwise be read a step early).
  gap = train.copy()
  last = gap.index[gap['unique_id'] == gap['unique_id'].iloc[0]][-1]
  gap.loc[last, 'sales'] = np.nan
  frame = pd.concat([gap, test.assign(sales=np.nan)]).sort_values(['unique_id', 'ds'],
                                                                  kind='stable')
  table = pyfunc.predict(None, frame, {'steps': HORIZON})
  want = rnnjax.load(workdir).forecast(gap, HORIZON, future_inputs=future)
  np.testing.assert_array_equal(table['forecast'].to_numpy().reshape(24, HORIZON),
                                want['point'])
