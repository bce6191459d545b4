"""long_rows: a long CSV's rows grouped a column at a time, as the row-at-a-time
reading (long_rows.read_long's loop) groups them."""

import numpy as np
import pytest

from rnnjax.data import long_rows
from rnnjax.errors import InputError

# Interleaved series, rows out of order, an id with a space, empty and NA cells, a
# missing week, an input column.
MESSY = """unique_id,ds,y,price
a,2024-01-07,3,1.5
b,2024-01-07,,2
 a,2024-01-07,7,1
a,2024-01-21,NA,1.5
b,2024-01-14,0,
a,2024-01-14,4.25,1.5
b,2024-01-28,5,2
"""


def _read(path, **options):
  return long_rows.read_long(str(path), id_column='unique_id', time_column='ds',
                         target_column='y', flag='--csv_path', **options)


@pytest.mark.parametrize('inputs', [(), ('price',)])
def test_a_file_read_column_wise_equals_it_read_a_row_at_a_time(tmp_path, monkeypatch,
                                                                 inputs):
  path = tmp_path / 'messy.csv'
  path.write_text(MESSY)
  monkeypatch.setattr(long_rows, '_READ_CACHE', {}, raising=False)
  fast = _read(path, input_columns=inputs)
  monkeypatch.setattr(long_rows, '_READ_CACHE', {}, raising=False)
  monkeypatch.setattr(long_rows, 'group', lambda *a, **k: None)
  slow = _read(path, input_columns=inputs)
  assert fast[0] == slow[0] == ('a', 'b', ' a')
  for f, s in zip(fast[1], slow[1]):
    np.testing.assert_array_equal(f, s)
  assert fast[2:] == slow[2:]
  assert fast[2][1] == ['2024-01-07', '2024-01-14', '2024-01-21', '2024-01-28']


def test_rows_it_cannot_group_are_left_to_the_row_at_a_time_reading(tmp_path):
  rows = [r.split(',') for r in MESSY.splitlines()[1:]]
  options = dict(i_id=0, i_time=1, read=[2, 3], key='f')
  ids, values, times = long_rows.group(rows, **options)  # Gaps, NA and order: grouped.
  assert ids == ('a', 'b', ' a') and times[0] == ['2024-01-07', '2024-01-21', '2024-01-14']
  np.testing.assert_array_equal(values[0][:, 0], [3, np.nan, 4.25])
  for bad in (['a', '2024-02-04'], ['', '2024-02-04', '1', '1'], ['a', '2024-02-04', 'x', '1'],
              ['a', '2024-02-04', 'inf', '1'], ['', '', '', '']):
    assert long_rows.group(rows + [bad], **options) is None
  path = tmp_path / 'bad.csv'
  path.write_text(MESSY + 'b,2024-02-04,ten,2\n')
  with pytest.raises(InputError, match=r"bad.csv: line 9, column 'y': 'ten' is not a number"):
    _read(path)
