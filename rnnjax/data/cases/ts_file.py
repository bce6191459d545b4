"""The `.ts` files of the UCR and UEA archives: `read_ts` reads one into a `TsFile`.

The `.ts` text format (Dau et al. 2019; Bagnall et al. 2018): `@` header lines
(`@problemName`, `@univariate`, `@dimensions`, `@equalLength`, `@seriesLength`,
`@classLabel true a b c`, ...), `#` comments, then after `@data` one case per line,
`dim_1:dim_2:...:label`, each dimension a comma-separated list of values and `?` a
missing one. Cases may differ in length; the dimensions of one case may not. Missing
values are filled by linear interpolation within their channel (ends hold the nearest
value) and counted.
"""

import dataclasses
import math
import os

import numpy as np

from rnnjax.data import common
from rnnjax.data import gap_fill
from rnnjax.errors import InputError


@dataclasses.dataclass(frozen=True)
class TsFile:
  """One `.ts` file, gaps filled. `series[i]`: <float64>[T_i, C]."""
  series: list
  labels: list          # Label string of each case.
  class_labels: tuple   # Header order; sorted (numerically where all are numbers) if absent.
  name: str             # @problemName, else the file name.
  num_missing: int
  # A long CSV's (long_csv.py): each case's id, and the columns read as its channels.
  ids: tuple = ()
  channels: tuple = ()


def sort_labels(labels):
  # Ties in value ('1', '01', '1.0') by their text: the order never depends on a set's.
  try:
    return tuple(sorted(labels, key=lambda l: (float(l), l)))
  except ValueError:
    return tuple(sorted(labels))


def _parse_case(line, where, has_label=True):
  """<float64>[T, C] with NaN gaps, and the label (None without one)."""
  fields = line.split(':')
  label = fields.pop().strip() if has_label else None
  if not fields or label == '':
    raise InputError(f'{where}: expected dim_1:...:dim_C:label')
  channels = []
  for d, text in enumerate(fields, 1):
    values = []
    for token in text.split(','):
      token = token.strip()
      try:
        values.append(math.nan if token == '?' else float(token))
      except ValueError:
        raise InputError(f'{where}, dimension {d}: {token!r} is not a number') from None
      if math.isinf(values[-1]):
        raise InputError(f'{where}, dimension {d}: {token!r} is not finite')
    if channels and len(values) != len(channels[0]):
      raise InputError(f'{where}: dimension {d} has {len(values)} values, '
                       f'dimension 1 has {len(channels[0])}')
    channels.append(values)
  return np.array(channels, np.float64).T, label


def _check_header(header, path, labelled=True, unlabelled_default=False):
  """Returns (class labels from the header or None, dimensions or 0, length or 0,
  whether cases carry labels). `labelled=False` also accepts @classLabel false, and
  with `unlabelled_default` reads a header without @classLabel as false."""
  def tag(name, default=''):
    return header.get(name.lower(), default).split()
  if tag('timeStamps', 'false')[:1] == ['true']:
    raise InputError(f'{path}: @timeStamps true is not supported (plain values only)')
  if tag('targetLabel', 'false')[:1] == ['true']:
    raise InputError(f'{path}: @targetLabel marks a regression file; classification needs '
                     '@classLabel')
  labels = tag('classLabel', 'false' if unlabelled_default and not labelled else 'true')
  if labels[0] == 'false' and not labelled:
    return None, *_sizes(tag, path), False
  if labels[0] == 'false':
    raise InputError(f'{path}: @classLabel false: classification needs labelled cases')
  if labels[0] != 'true':
    raise InputError(f'{path}: @classLabel must start with true or false, not {labels[0]!r}')
  return tuple(labels[1:]) or None, *_sizes(tag, path), True


def _sizes(tag, path):
  try:
    dims = 1 if tag('univariate')[:1] == ['true'] else int(tag('dimensions', '0')[0])
    length = int(tag('seriesLength', '0')[0]) if tag('equalLength')[:1] == ['true'] else 0
  except (ValueError, IndexError):
    raise InputError(f'{path}: @dimensions and @seriesLength must be whole numbers') from None
  return dims, length


def read_ts(path: str, *, flag: str = '', labelled: bool = True,
            unlabelled_default: bool = False) -> TsFile:
  """Reads a labelled `.ts` file; see the module docstring for the format.

  `flag` (e.g. '--train_path') is named when the file cannot be read. labelled=False
  also reads a file of unlabelled cases (@classLabel false; labels then a None per
  case), and with `unlabelled_default` one whose header has no @classLabel line.
  """
  lines = common.read_file(path, flag=flag, kind='a .ts file').splitlines()
  if not any(line.strip() for line in lines):
    raise InputError(f'{path}: empty file')
  header, series, labels, num_missing, declared = {}, [], [], 0, None
  for n, line in enumerate(lines, 1):
    line = line.strip()
    if not line or line.startswith('#'):
      continue
    where = f'{path}: line {n}'
    if declared is None:
      if not line.startswith('@'):
        raise InputError(f'{where}: data before @data')
      tag, _, value = line[1:].partition(' ')
      if tag.lower() == 'data':
        declared = _check_header(header, path, labelled, unlabelled_default)
      else:
        header[tag.lower()] = value.strip()
      continue
    class_labels, dims, length, has_label = declared
    # A case's last field is read as its label without a @classLabel line, or under a
    # labelled file's kept above unlabelled cases: such a case then seems short of a
    # dimension, or malformed.
    hint = ('' if labelled or not has_label else
            " (no @classLabel line: cases are read as labelled; for cases without labels "
            "add '@classLabel false', or pass unlabelled_default=True)"
            if 'classlabel' not in header else
            " (its @classLabel line says cases are labelled, each case's last field its "
            "label; for cases without labels write '@classLabel false')")
    try:
      values, label = _parse_case(line, where, has_label)
    except InputError as e:
      if not hint:
        raise
      raise InputError(f'{e}{hint}') from None
    if dims and values.shape[1] != dims:
      raise InputError(f'{where}: {values.shape[1]} dimensions, header says {dims}{hint}')
    if series and values.shape[1] != series[0].shape[1]:
      raise InputError(f'{where}: {values.shape[1]} dimensions, the first case has '
                       f'{series[0].shape[1]}')
    if length and len(values) != length:
      raise InputError(f'{where}: {len(values)} values per dimension, @seriesLength is {length}')
    if class_labels and label not in class_labels:
      raise InputError(f'{where}: label {label!r} is not in @classLabel {" ".join(class_labels)}')
    num_missing += int(np.isnan(values).sum())
    names = [f'dimension {d}' for d in range(1, values.shape[1] + 1)]
    series.append(gap_fill.fill_gaps(values, names, where))
    labels.append(label)
  if not series:
    raise InputError(f'{path}: no cases' + ('' if declared else ' (no @data line)'))
  name = header.get('problemname', '') or os.path.splitext(os.path.basename(path))[0]
  return TsFile(series=series, labels=labels, name=name, num_missing=num_missing,
                class_labels=declared[0] or (sort_labels(set(labels)) if declared[3]
                                             else ()))
