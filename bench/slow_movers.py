"""A shop's point-of-sale export of slow movers: the panel behind README's note on them.

Writes daily unit sales of `--products` products over 2023-2024 as a long CSV
`sku,date,units,price,promo`: intermittent demand (negative binomial, mean drawn
log-normal per product so that most sell 0 on most days, a weekly cycle, promotions that
cut the price by 20 % and triple demand), every 20th product launched in the last 120
days, every 25th discontinued (trailing zeros), two that never sold, one launched 10 days
before the end, and 2 % of rows missing from the export. Run by hand, then sweep it:

  python -m bench.slow_movers --out=/tmp/sales.csv
  python -m experiments.population_sweep --task=panel --csv_path=/tmp/sales.csv \\
    --id_column=sku --time_column=date --target_columns=units --input_columns=price \\
    --future_columns=promo --horizon=28 --lookback=56 --normalization=last --cell=lstm \\
    --hidden_size=32 --batch_size=64 --learning_rate='grid(1e-3,3e-3)' --num_seeds=2 \\
    --train_steps=300 --eval_every=100 --benchmarks=AutoETS,CrostonOptimized,ADIDA \\
    --loss=mae --workdir=runs/slow_movers_mae     # and --loss=mse

BUILD_NOTES (session 27) gives what the two sweeps forecast against what was sold.
"""

import csv

from absl import app
from absl import flags
import numpy as np

OUT = flags.DEFINE_string('out', 'slow_movers.csv', 'The CSV to write.')
PRODUCTS = flags.DEFINE_integer('products', 200, 'Products (series) in the export.')
SEED = flags.DEFINE_integer('seed', 7, 'The random seed (7: the panel BUILD_NOTES reports).')


def export(products: int, seed: int) -> list[tuple]:
  """The export's rows (sku, date, units, price, promo), in product then date order."""
  rng = np.random.default_rng(seed)
  days = np.arange(np.datetime64('2023-01-01'), np.datetime64('2025-01-01'))
  n = len(days)
  dow = (days.astype(np.int64) + 3) % 7  # Monday 0, as pandas' dayofweek.
  rows = []
  for i in range(products):
    base = rng.lognormal(mean=-1.0, sigma=1.2)  # Most products are slow movers.
    week = 1 + 0.4 * np.sin(2 * np.pi * (dow - rng.integers(7)) / 7)
    list_price = round(float(rng.uniform(1, 30)), 2)
    promo = np.zeros(n, int)
    for _ in range(rng.integers(0, 6)):
      start, length = rng.integers(0, n - 10), rng.integers(3, 10)
      promo[start:start + length] = 1
    price = np.where(promo == 1, np.round(list_price * 0.8, 2), list_price)
    mean = base * week * np.where(promo == 1, 3.0, 1.0)
    units = rng.negative_binomial(0.8, 0.8 / (0.8 + mean))
    first = 0
    if i % 20 == 3:  # Launched late.
      first = int(rng.integers(n - 120, n - 20))
    if i % 25 == 7:  # Discontinued: trailing zeros.
      units[int(rng.integers(n - 200, n - 60)):] = 0
    if i in (11, 12):  # Never sold.
      units[:] = 0
    if i == 13:  # Launched 10 days before the end.
      first = n - 10
    rows += [(f'SKU-{i:05d}', str(days[t]), int(units[t]), float(price[t]), int(promo[t]))
             for t in range(first, n)]
  kept = rng.random(len(rows)) >= 0.02  # Rows missing from the export.
  return [row for row, keep in zip(rows, kept) if keep]


def main(argv):
  del argv
  rows = export(PRODUCTS.value, SEED.value)
  with open(OUT.value, 'w', newline='') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(['sku', 'date', 'units', 'price', 'promo'])
    writer.writerows(rows)
  units = np.array([r[2] for r in rows])
  print(f'{OUT.value}: {len(rows)} rows of {len({r[0] for r in rows})} products, '
        f'{np.mean(units == 0):.0%} of them 0 units')


if __name__ == '__main__':
  app.run(main)
