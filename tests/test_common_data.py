"""Tests for rnnjax/data/common.py: held-out sizes, reading a user's file, filling gaps."""

import bz2
import gzip
import lzma
import re

import numpy as np
import pytest

from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.errors import InputError


def test_holdout_sizes():
  assert common.holdout_sizes(144, 0, 0, fraction=0.15, minimum=1) == (22, 22)
  assert common.holdout_sizes(144, 5, 0, fraction=0.15, minimum=1) == (5, 22)
  assert common.holdout_sizes(8, 0, 3, fraction=0.02, minimum=2) == (2, 3)  # 0.16 -> 2.


def test_fill_gaps_interpolates_linearly_and_holds_ends():
  values = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan], [8.0, 7.0],
                     [np.nan, 9.0]])
  names = ["column 'a'", "column 'b'"]  # As forecast.load names them in its messages.
  filled = gap_fill.fill_gaps(values, names, 'x.csv')
  np.testing.assert_allclose(filled, [[2, 1], [2, 3], [5, 5], [8, 7], [8, 9]])
  assert np.isnan(values).sum() == 5  # The input is left alone.
  with pytest.raises(InputError, match="^x.csv: column 'b' has no values$"):
    gap_fill.fill_gaps(np.array([[1.0, np.nan], [2.0, np.nan]]), names, 'x.csv')
  # --fill=zero: the first column's gaps (the target's) are 0, the others interpolated.
  np.testing.assert_allclose(gap_fill.fill_gaps(values, names, 'x.csv', fill='zero',
                                              targets=1),
                             [[0, 1], [2, 3], [0, 5], [8, 7], [0, 9]])
  # A target with no value at all is no series of zeros (predict refuses it too).
  with pytest.raises(InputError, match="^x.csv: column 'a' has no values$"):
    gap_fill.fill_gaps(np.array([[np.nan, 1.0], [np.nan, 2.0]]), names, 'x.csv',
                     fill='zero', targets=1)



def test_a_flag_column_holds_its_last_value_and_the_note_counts_by_column():
  """A 0/1 holiday column's gaps hold the value before (the first after, before any),
  never 0.5, with --fill=zero too; the note counts each column's cells and how."""
  values = np.array([[np.nan, 1.0, np.nan], [2.0, np.nan, 0.0], [np.nan, 0.0, np.nan],
                     [4.0, np.nan, 1.0], [np.nan, 1.0, np.nan]])
  names = ['the target', "input column 'holiday'", "input column 'promo'"]
  flags = gap_fill.flag_columns([values], 1)
  assert flags == (1, 2)
  for fill, target in (('linear', [2, 2, 3, 4, 4]), ('zero', [0, 2, 0, 4, 0])):
    np.testing.assert_array_equal(
        gap_fill.fill_gaps(values, names, 'x.csv', fill=fill, targets=1, flags=flags),
        np.stack([target, [1, 1, 0, 0, 1], [0, 0, 0, 1, 1]], axis=1))
  # Decided over every series at once: 0.5 in another series makes 'promo' no flag.
  assert gap_fill.flag_columns([values, [[1.0, 0.0, 0.5]]], 1) == (1,)
  # A column with one other value is no flag: interpolated.
  assert gap_fill.flag_columns([np.array([[0.0], [np.nan], [2.0]])], 0) == ()
  # A target of 0s and 1s (a slow seller's sales) is filled as --fill says: no flag.
  sold = np.array([[0.0, 0.0], [np.nan, np.nan], [1.0, 1.0]])
  flagged = gap_fill.flag_columns([sold], 1)
  assert flagged == (1,)
  np.testing.assert_allclose(gap_fill.fill_gaps(sold, names[:2], 'x.csv', targets=1,
                                              flags=flagged), [[0, 0], [0.5, 0], [1, 1]])
  counts = gap_fill.add_counts(gap_fill.fill_counts(values, names, targets=1, flags=flags),
                             gap_fill.fill_counts(values[:2], names, fill='zero', targets=1,
                                                flags=flags))
  assert gap_fill.filled_note(counts, '--csv_path', as_sweep=True) == (
      "11 empty cells of --csv_path filled, as the sweep filled its data: 1 of the target "
      "before its first value (given that value), 1 of the target by linear "
      "interpolation, 1 of the target after its last value (given that value), 3 of input "
      "column 'holiday' (a 0/1 flag) with the last value before, 2 of input column 'promo' "
      "before its first value (given that value), 2 of input column 'promo' (a 0/1 flag) "
      "with the last value before, 1 of the target with 0")
  assert gap_fill.filled_note(gap_fill.fill_counts(np.ones((2, 3)), names), 'f.csv') == ''
  # A flag's cells before its first value hold that value, and are counted as such.
  assert gap_fill.fill_counts(np.array([[1.0, np.nan], [2.0, 1.0], [3.0, np.nan]]), names[:2],
                            targets=1, flags=(1,)) == {
                                (names[1], gap_fill.START): 1, (names[1], gap_fill.LAST): 1}
  # Part by part (a validation part from row 3, a test part from row 5): the gaps at a
  # part's end hold its last value (fill_gaps_before), and are counted so.
  series = np.array([1.0, 2.0, np.nan, 4.0, np.nan, 6.0, np.nan, 8.0])
  parts = gap_fill.fill_gaps_before(series[:, None], (3, 5), names[:1], 'f.csv')[:, 0]
  np.testing.assert_allclose(parts, [1, 2, 2, 4, 4, 6, 7, 8])
  assert gap_fill.fill_counts(series, names[:1], ends=(3, 5)) == {
      (names[0], gap_fill.END): 2, (names[0], gap_fill.LINEAR): 1}
  assert gap_fill.fill_counts(series, names[:1]) == {(names[0], gap_fill.LINEAR): 3}


def test_read_file_keeps_newlines_and_drops_bom(tmp_path):
  path = tmp_path / 'f.txt'
  path.write_bytes('\ufeffa\r\nb\rc\n\u2014'.encode('utf-8'))
  assert common.read_file(str(path)) == 'a\r\nb\rc\n\u2014'


@pytest.mark.parametrize('flag', ['', '--text_path'])
def test_read_file_errors_name_flag_and_file(tmp_path, flag):
  (tmp_path / 'latin1.txt').write_bytes('caf\u00e9 au lait'.encode('latin-1'))
  cases = {'absent.txt': 'no such file', '.': 'is a directory, not a text file',
           'latin1.txt': r'is not UTF-8 text \(invalid continuation byte at byte 3\)'}
  for name, message in cases.items():
    path = str(tmp_path / name)
    where = f'{flag}: {path}' if flag else path
    with pytest.raises(InputError, match=f'^{re.escape(where)}: {message}$'):
      common.read_file(path, flag=flag)


def test_a_compressed_file_is_named_by_its_signature_alone(tmp_path):
  """A gzip, zip, bzip2 or xz file is said to be one; a text that merely starts with
  the first letters of a signature (`PK`, `BZ`) is not."""
  packed = {'gz': gzip.compress(b'x' * 100), 'zip': b'PK\x03\x04\x14\x00\xff\xfe',
            'bz2': bz2.compress(b'x' * 100), 'xz': lzma.compress(b'x' * 100)}
  kinds = {'gz': 'a gzip', 'zip': 'a zip', 'bz2': 'a bzip2', 'xz': 'an xz'}
  for ext, data in packed.items():
    (tmp_path / f'f.{ext}').write_bytes(data)
    with pytest.raises(InputError, match=f'; it is {kinds[ext]} file: decompress it '
                                         'first$'):
      common.read_file(str(tmp_path / f'f.{ext}'))
  for head in ('PKG,value', 'BZ Bergen'):
    (tmp_path / 'latin.csv').write_bytes(f'{head}\ncaf\u00e9,1\n'.encode('latin-1'))
    with pytest.raises(InputError, match=r'is not UTF-8 text \(invalid continuation byte at '
                                         r'byte \d+\)$'):
      common.read_file(str(tmp_path / 'latin.csv'))


def _load(kind, path):
  """One of the four readers of a user's CSV: a single series, a panel, cases, times."""
  from rnnjax.data import forecast, panel  # pylint: disable=g-import-not-at-top
  from rnnjax.data.cases import long_csv  # pylint: disable=g-import-not-at-top
  from rnnjax.data.time import column  # pylint: disable=g-import-not-at-top
  if kind == 'series':
    return forecast.read_series(path, ('sales',), time_column='date', flag='--csv_path')[0]
  if kind == 'panel':
    return panel.load(csv_path=path, id_column='id', time_column='date',
                      target_column='sales', horizon=1).train
  if kind == 'cases':
    return long_csv.read_long_csv(path, id_column='id', time_column='date',
                                  input_columns=('sales',), labelled=False,
                                  flag='--train_path').series
  return column.read_times(path, 'date')


ROWS = ['id,date,sales'] + [f'a,2020-{m:02d},{100 + m}' for m in range(1, 10)]


@pytest.mark.parametrize('kind', ['series', 'times'])  # A panel's, cases' skip them.
def test_blank_lines_at_a_csvs_end_are_no_periods(tmp_path, kind):
  """An editor's blank lines or a spreadsheet's rows of empty cells after the last row:
  the same data as without them (with a time column they were an 'empty time cell';
  without one, periods of empty targets)."""
  plain, blank = tmp_path / 'plain.csv', tmp_path / 'blank.csv'
  plain.write_text('\n'.join(ROWS) + '\n')
  blank.write_text('\n'.join(ROWS) + '\n\n,,\n  \n')  # A spreadsheet's empty row too.
  got, want = _load(kind, str(blank)), _load(kind, str(plain))
  if kind == 'times':
    assert got == want and len(got) == 9
  else:
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(want))


@pytest.mark.parametrize('kind', ['series', 'panel', 'cases'])
def test_a_decimal_comma_a_twice_named_column_and_a_header_alone_are_refused(tmp_path,
                                                                             kind):
  """108,2 for 108.2 in an unquoted cell is two cells: the number was read as 108 and the
  rest dropped without a word; a header naming 'sales' twice read the first (a column
  not read may be named twice); a header alone raised a ValueError's traceback. Each is
  one line naming the file and the flag."""
  flag = '--train_path' if kind == 'cases' else '--csv_path'
  comma = tmp_path / 'comma.csv'
  comma.write_text('\n'.join(ROWS[:4] + ['a,2020-04,108,2'] + ROWS[5:]) + '\n')
  with pytest.raises(InputError, match=re.escape(
      f"{flag}: {comma}: line 5 has 4 cells where the header names 3 columns "
      "('a,2020-04,108,2'): a number written with a decimal comma (108,2) is two cells; "
      "write it with '.' (a text cell holding a comma: quote it)")):
    _load(kind, str(comma))
  trailing = tmp_path / 'trailing.csv'  # Empty extra cells (a trailing comma) pass.
  trailing.write_text('\n'.join(r + ',' for r in ROWS) + '\n')
  _load(kind, str(trailing))
  twice = tmp_path / 'twice.csv'
  twice.write_text('\n'.join(r + ',' + r.rsplit(',', 1)[1] for r in ROWS) + '\n')
  with pytest.raises(InputError, match=re.escape(
      f"{flag}: {twice}: its header names column 'sales' 2 times (columns 3, 4): rename "
      'all but one')):
    _load(kind, str(twice))
  unread = tmp_path / 'unread.csv'  # Two 'note' columns, neither read.
  unread.write_text('\n'.join(r + ',x,y' for r in ROWS).replace('sales,x,y', 'sales,note,note')
                    + '\n')
  _load(kind, str(unread))
  above = tmp_path / 'above.csv'  # A blank line above the header.
  above.write_text('\n' + '\n'.join(ROWS) + '\n')
  with pytest.raises(InputError, match=re.escape(
      f'{flag}: {above}: its first line is empty, where the header naming the columns '
      'belongs (remove the blank lines above it)')):
    _load(kind, str(above))
  alone = tmp_path / 'alone.csv'
  alone.write_text(ROWS[0] + '\n')
  with pytest.raises(InputError, match=rf'^{flag}: .*alone.csv has no rows'):
    _load(kind, str(alone))
