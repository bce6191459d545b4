"""A panel with input columns (a shop's products with their promotions and prices):
each window reads the inputs' past values beside the target's, standardised per series
(data/panel.py, panel_windows.py); a member uses them (engine/tasks/panel.py); the
saved model reads them from its histories, and past its horizon only with their future
values (final/saved/panel_forecasting.py, use/predictions.py).

The sweeps: 24 synthetic products whose sales double in the period after a promotion
(drawn at random, so a model that does not read the promotions cannot foresee it).
"""

import csv
import dataclasses

import numpy as np
import pandas as pd
import pytest

from rnnjax.data import panel
from rnnjax.data import panel_windows
from rnnjax.errors import InputError
from rnnjax.final.use import predictions
from rnnjax.run import sweep
import rnnjax

SPEC = sweep.SweepSpec(
    task='panel', id_column='unique_id', time_column='ds', target_columns=('sales',),
    horizon=1, lookback='4', normalization='last', loss='mae', cell='gru', hidden_size='8',
    batch_size='32', learning_rate='1e-2', train_steps=200, eval_every=100,
    classical_baselines=False, ensemble='single')


def _shop(path, *, series=24, n=40, seed=0):
  """A long CSV: unique_id, ds, sales, promo (0/1), price (lower under a promotion)."""
  rng = np.random.default_rng(seed)
  rows = []
  for s in range(series):
    base, promo = rng.uniform(50, 500), (rng.random(n) < 0.25).astype(float)
    price = rng.uniform(5, 20) * (1 - 0.2 * promo)
    for t in range(n):
      sales = base * (1 + (promo[t - 1] if t else 0)) * (1 + 0.03 * rng.standard_normal())
      rows.append([f's{s:02d}', str(t), f'{sales:.3f}', f'{promo[t]:.0f}', f'{price[t]:.3f}'])
  with open(path, 'w', newline='', encoding='utf-8') as f:
    csv.writer(f).writerows([['unique_id', 'ds', 'sales', 'promo', 'price']] + rows)
  return str(path)


@pytest.fixture(scope='module')
def shop(tmp_path_factory):
  """(csv path, {input columns: summary}, workdir of the sweep with inputs)."""
  tmp = tmp_path_factory.mktemp('shop')
  path = _shop(tmp / 'shop.csv')
  out = {}
  for columns in (('promo', 'price'), ()):
    workdir = str(tmp / f'wd{len(columns)}')
    spec = dataclasses.replace(SPEC, csv_path=path, input_columns=columns)
    out[columns] = sweep.run_sweep(spec, workdir, log=lambda _: None)
  return path, out, str(tmp / 'wd2')


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


def test_a_member_reads_the_inputs(shop):
  """The sales after a promotion are foreseeable only from the promotions."""
  _, summaries, _ = shop
  with_inputs, alone = summaries[('promo', 'price')], summaries[()]
  assert with_inputs['final']['val']['smape'] < 0.5 * alone['final']['val']['smape']
  assert with_inputs['final']['test']['mase'] < 0.5 * alone['final']['test']['mase']


def test_the_saved_model_reads_the_inputs_of_its_histories(shop):
  path, summaries, workdir = shop
  model = rnnjax.load(workdir)
  assert model.evaluate_panel() == summaries[('promo', 'price')]['final']['test']
  frame = pd.read_csv(path)
  from_frame = model.forecast(frame, 1, levels=())['point']
  stacked = {k: g[['sales', 'promo', 'price']].to_numpy() for k, g in frame.groupby('unique_id')}
  np.testing.assert_array_equal(model.forecast(stacked, 1, levels=())['point'], from_frame)
  # A promotion in the history's last period lifts the next forecast.
  lifted = {k: v.copy() for k, v in stacked.items()}
  for v in lifted.values():
    v[-1, 1], v[-1, 2] = 1.0, 0.8 * v[-1, 2]
  calm = {k: v.copy() for k, v in stacked.items()}
  for v in calm.values():
    v[-1, 1] = 0.0
  ratio = (model.forecast(lifted, 1, levels=())['point'] /
           model.forecast(calm, 1, levels=())['point'])
  assert np.median(ratio) > 1.5
  # Past the horizon the forecasts are fed back, with the inputs' future values.
  with pytest.raises(InputError, match=r"^steps: 3 > the model's horizon 1: .*future_inputs"):
    model.forecast(stacked, 3)
  price = {k: v[-1, 2] for k, v in calm.items()}
  future = {k: np.array([[1.0, 0.8 * p], [0.0, p], [0.0, p]]) for k, p in price.items()}
  no_promotion = {k: np.array([[0.0, p]] * 3) for k, p in price.items()}
  three = model.forecast(calm, 3, future_inputs=future, levels=())['point']
  np.testing.assert_array_equal(three[:, :1], model.forecast(calm, 1, levels=())['point'])
  usual = model.forecast(calm, 3, future_inputs=no_promotion, levels=())['point']
  np.testing.assert_array_equal(three[:, :1], usual[:, :1])
  assert np.median(three[:, 1] / usual[:, 1]) > 1.5  # The promotion at step 1.
  with pytest.raises(InputError, match=r"^future_inputs: series 's00' has shape \(2, 2\)"):
    model.forecast(calm, 3, future_inputs={k: v[:2] for k, v in future.items()})
  with pytest.raises(InputError, match=r"^histories: no column 'promo' \(the model's input"):
    model.forecast(frame.drop(columns='promo'), 1)
  with pytest.raises(InputError, match=r"^histories: series 's00' is an array of shape"):
    model.forecast({k: v[:, 0] for k, v in stacked.items()}, 1)


def test_predict_reads_the_inputs_and_stays_within_the_horizon(tmp_path, shop):
  path, _, workdir = shop
  out = predictions.run(workdir, csv_path=path, out_dir=str(tmp_path / 'a'), steps_ahead=1)
  written = pd.read_csv(out['paths'][0])
  assert len(written) == 24 and list(written['ds'][:2]) == [40, 40]
  model = rnnjax.load(workdir)
  np.testing.assert_allclose(written['forecast'], model.forecast(
      pd.read_csv(path), 1, levels=())['point'][:, 0], rtol=1e-6)
  with pytest.raises(InputError, match=r"^--steps_ahead: 2 > the model's horizon 1: "):
    predictions.run(workdir, out_dir=str(tmp_path / 'b'), steps_ahead=2)
  no_price = tmp_path / 'no_price.csv'
  pd.read_csv(path).drop(columns='price').to_csv(no_price, index=False)
  with pytest.raises(InputError, match=r"^--csv_path: .* no column 'price'.* \(the model's input"):
    predictions.run(workdir, csv_path=str(no_price), out_dir=str(tmp_path / 'c'))
