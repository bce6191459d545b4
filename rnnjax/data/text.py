"""Character-level language-model data: a text, its vocabulary, contiguous splits.

A text of N characters is split in order: the first part trains, the next `val_size`
characters validate and the last `test_size` test (by default 2 % each). The vocabulary
is every distinct character of the training and validation parts, with UNKNOWN (U+FFFD,
the replacement character) added, sorted: the test part chooses nothing, not even the
softmax's size, so a test character that neither part holds is read as UNKNOWN (counted
and noted, as are held-out characters that training never shows:
`info['unseen_in_train']`, `notes`). A character's token is its index in the
vocabulary. Each part predicts its own next characters only (no prediction crosses a
split boundary).

`streams` lays a part out as a few long rows so that one pass of a recurrent model over
them scores every next-character prediction of the part exactly once (bits per
character over a whole split, as in Karpathy et al. 2015).
"""

import dataclasses
import gzip
import importlib.resources
import math

import numpy as np

from rnnjax.data import common
from rnnjax.errors import InputError

DATASETS = ('shakespeare',)
DEFAULT_HOLDOUT_FRACTION = 0.02
# The token of a character the vocabulary lacks (one a text to score or a prompt holds, or
# the test part): U+FFFD, which also stands for undecodable bytes, so a text's own is the
# same token. Never drawn by a sample (`unknown_token`).
UNKNOWN = '\ufffd'
SHOWN_UNKNOWN = 'U+FFFD (\ufffd)'
MIN_STREAM = 256  # Predictions an evaluation row holds at least (num_streams).
MAX_DRAWN = 2 ** 20  # Characters a sample draws at most (a million: ~20 s on a 2-core
# CPU; a served model's one request must not take every byte of its machine).


@dataclasses.dataclass(frozen=True)
class TextData:
  """A text as tokens, split in time.

  `vocab`: the sorted distinct characters of the training and validation parts, and
  UNKNOWN (V = len(vocab)).
  `tokens[split]`: <int32>[N_split], in [0, V); train, val and test are consecutive parts
  of the text. `info`: JSON-ready description (source, characters per split, V).
  """
  vocab: str
  tokens: dict
  info: dict


def bundled_path(dataset: str) -> str:
  if dataset not in DATASETS:
    raise InputError(f'--dataset: unknown text {dataset!r}; bundled: {", ".join(DATASETS)}')
  return str(importlib.resources.files('rnnjax.data') / 'text' / f'{dataset}.txt.gz')


def _code_points(text: str) -> np.ndarray:
  # A lone surrogate (a non-UTF-8 byte of a command line, as Python reads it) is a code
  # point of its own: in no vocabulary, so read as UNKNOWN.
  return np.frombuffer(text.encode('utf-32-le', 'surrogatepass'), np.uint32)


def encode(text: str, vocab: str, *, what: str = 'text') -> np.ndarray:
  """<int32>[len(text)]: each character's index in `vocab` (sorted, distinct).

  A character outside the vocabulary is read as UNKNOWN where the vocabulary holds it
  (`outside` counts them); a vocabulary without it (a model saved before it was added)
  refuses one in an InputError that `what` names (e.g. a flag).
  """
  points, table = _code_points(text), _code_points(vocab)
  tokens = np.minimum(np.searchsorted(table, points), max(len(vocab) - 1, 0))
  unknown = np.flatnonzero(table[tokens] != points) if len(vocab) else np.arange(len(text))
  if len(unknown):
    if UNKNOWN not in vocab:
      raise InputError(f'{what}: character {text[unknown[0]]!r} (position {unknown[0]}) '
                       f'is not in the vocabulary of {len(vocab)} characters')
    tokens[unknown] = vocab.index(UNKNOWN)
  return tokens.astype(np.int32)


def outside(text: str, vocab: str) -> tuple[str, int]:
  """(the distinct characters of `text` that `vocab` lacks, sorted; how often they occur
  in it): what `encode` reads as UNKNOWN."""
  points, table = _code_points(text), _code_points(vocab)
  missing = ~np.isin(points, table)
  chars = ''.join(map(chr, np.unique(points[missing]).tolist()))
  return chars, int(missing.sum())


def unknown_token(vocab: str) -> int:
  """The token a sample never draws (UNKNOWN's), or -1 where `vocab` lacks it."""
  return vocab.find(UNKNOWN)


def decode(tokens, vocab: str) -> str:
  """The text of <int>[N] tokens."""
  chars = np.array(list(vocab))
  return ''.join(chars[np.asarray(tokens, np.int64)].tolist())


def split_text(text: str, *, val_size: int = 0, test_size: int = 0,
               source: str = 'text') -> TextData:
  """Vocabulary and contiguous splits of a text (see the module docstring).

  `source` names the text in `info` and in the error for a text too short.
  """
  for flag, size in (('val_size', val_size), ('test_size', test_size)):
    if size < 0 or size == 1:
      raise InputError(f'--{flag}: {size}: a part needs at least 2 characters (one '
                       'prediction); 0: 2 % of the text')
  n = len(text)
  if not n:
    raise InputError(f'{source}: the text is empty')
  asked_val, asked_test = val_size, test_size
  val_size, test_size = common.holdout_sizes(n, val_size, test_size,
                                             fraction=DEFAULT_HOLDOUT_FRACTION, minimum=2)
  train_end, val_end = n - val_size - test_size, n - test_size
  # Every part needs two characters: one prediction.
  if train_end < 2 or val_size < 2 or test_size < 2:
    given = lambda flag, size, asked: (f'--{flag}={asked}' if asked else
                                       f'{size} by --{flag}=0 (2 % of the text, at least 2)')
    raise InputError(f'{source}: {n} characters is too short: {max(train_end, 0)} left to '
                     f'train on after validation\'s {given("val_size", val_size, asked_val)} '
                     f'and test\'s {given("test_size", test_size, asked_test)}; each part '
                     'needs at least 2 characters')
  vocab = ''.join(sorted(set(text[:val_end]) | {UNKNOWN}))
  tokens = encode(text, vocab)
  parts = {'train': tokens[:train_end], 'val': tokens[train_end:val_end],
           'test': tokens[val_end:]}
  info = {'source': source, 'characters': {k: int(len(v)) for k, v in parts.items()},
          'vocab_size': len(vocab),
          'unseen_in_train': _unseen(text[:train_end], vocab, val=text[train_end:val_end],
                                     test=text[val_end:])}
  own = text.count(UNKNOWN, 0, val_end)
  if own:
    info['own_unknown'] = own
  return TextData(vocab=vocab, tokens=parts, info=info)


def _unseen(train: str, vocab: str, **held_out: str) -> dict:
  """{part: {'characters', 'occurrences'[, 'unknown', 'unknown_occurrences']}} for each
  held-out part with characters that the training part never holds (their tokens'
  probabilities were never trained), in vocabulary order, and how often they occur;
  'unknown': those of them the vocabulary lacks (test's alone: read as UNKNOWN)."""
  out, train = {}, ''.join(sorted(set(train)))
  for part, chars in held_out.items():
    never, count = outside(chars, train)
    if count:
      out[part] = {'characters': never, 'occurrences': count}
      unknown, unknown_count = outside(chars, vocab)
      if unknown_count:
        out[part].update(unknown=unknown, unknown_occurrences=unknown_count)
  return out


def shown(chars: str) -> str:
  """Up to 10 characters as a note shows them (whitespace and unprintable escaped)."""
  return ' '.join(repr(c)[1:-1] if c.isprintable() and not c.isspace() else repr(c)
                  for c in chars[:10]) + (' ...' if len(chars) > 10 else '')


def notes(data: TextData) -> tuple:
  """The log's lines of a text: its parts' sizes and vocabulary, and a note for each
  held-out part with characters the training part never shows
  (`info['unseen_in_train']`)."""
  n = data.info['characters']
  lines = [f'text ({data.info["source"]}): {sum(n.values()):,} characters: train '
           f'{n["train"]:,}, validation {n["val"]:,}, test {n["test"]:,}; vocabulary '
           f'{len(data.vocab)} characters (the training and validation parts\', and '
           f'{SHOWN_UNKNOWN} for any other)']
  if data.info.get('crlf'):
    lines.append(f'note: the text has {data.info["crlf"]:,} Windows line endings (\\r\\n), '
                 'kept as written: \'\\r\' is a character of the vocabulary; a text to score '
                 'or a prompt read with open(path, newline=\'\') keeps them too (open() '
                 'alone turns them into \\n)')
  own = data.info.get('own_unknown', 0)
  if own:  # Undecodable bytes a text was saved with, most likely: one token with the rest.
    lines.append(f'note: the training and validation parts hold {SHOWN_UNKNOWN} itself '
                 f'{own:,} time(s) (bytes once undecodable?): it is the token of any '
                 'character the vocabulary lacks, and a sample never draws it')
  names = {'val': 'validation', 'test': 'test'}
  for part, unseen in data.info['unseen_in_train'].items():
    chars = unseen['characters']
    lines.append(f'note: {len(chars)} character(s) of the {names[part]} part never occur '
                 f'in the training part ({shown(chars)}; {unseen["occurrences"]} '
                 'occurrence(s)): their probabilities were never trained, and they count in '
                 'its bits per character')
    if 'unknown' in unseen:
      lines.append(f'note: {len(unseen["unknown"])} of them ({shown(unseen["unknown"])}; '
                   f'{unseen["unknown_occurrences"]} occurrence(s)) '
                   f'{"is" if len(unseen["unknown"]) == 1 else "are"} in neither the '
                   'training nor the validation part, which alone make the vocabulary: '
                   f'read as {SHOWN_UNKNOWN}, its token for any other character')
  return tuple(lines)


def load(*, dataset: str = 'shakespeare', text_path: str = '', val_size: int = 0,
         test_size: int = 0) -> TextData:
  """A bundled text by name, or a user's UTF-8 file by path (`text_path` wins)."""
  crlf = 0
  if text_path:
    text, source = common.read_file(text_path, flag='--text_path'), f'--text_path={text_path}'
    # Kept as written ('\r' a character of the vocabulary); said, since a held-out text
    # read by Python's open() in text mode has none.
    crlf = text.count('\r\n')
  else:
    with gzip.open(bundled_path(dataset), 'rt', encoding='utf-8', newline='') as f:
      text, source = f.read(), f'--dataset={dataset}'
  data = split_text(text, val_size=val_size, test_size=test_size, source=source)
  if crlf:
    data.info['crlf'] = crlf
  return data


def num_streams(num_tokens: int, most: int) -> int:
  """Rows `streams` cuts a part of `num_tokens` into for evaluation: at most `most` (for
  parallel work), each of at least MIN_STREAM predictions (a text of up to MIN_STREAM + 1
  characters is read in one pass). A row's first predictions see less context than in
  one pass, so short rows would score short texts, and small parts, far worse than the
  model is: 256 rows of 1 prediction score a 257-character text as 256 bigrams."""
  return max(1, min(most, (num_tokens - 1) // MIN_STREAM))


def streams(tokens, num_streams: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Cuts a part into `num_streams` rows that hold each of its predictions exactly once.

  The N - 1 predictions tokens[i] -> tokens[i + 1] are cut into S = num_streams
  consecutive runs of L = ceil((N - 1) / S); row s holds predictions s L .. s L + L - 1:
  x[s, t] = tokens[s L + t], y[s, t] = tokens[s L + t + 1], mask[s, t] = 1. Past the
  end, the last row(s) are padded with x = y = 0, mask = 0.

  Run a model over each row from a zero state: the first predictions of a row see less
  context than they would in one pass over the whole part, so the masked mean loss is
  higher than that of a single stream; fewer, longer streams come closer (`num_streams`
  keeps rows of at least MIN_STREAM predictions).

  Args:
    tokens: <int>[N], N >= 2.
  Returns:
    (x, y, mask): <int32>[S, L], <int32>[S, L], <float32>[S, L].
  """
  tokens = np.asarray(tokens)
  if tokens.ndim != 1 or len(tokens) < 2:
    raise ValueError(f'streams need <int>[N >= 2] tokens, got shape {tokens.shape}')
  if num_streams < 1:
    raise ValueError(f'num_streams={num_streams} must be >= 1')
  num_predictions = len(tokens) - 1
  length = math.ceil(num_predictions / num_streams)
  index = np.arange(num_streams * length).reshape(num_streams, length)
  real = index < num_predictions
  x = np.where(real, tokens[np.minimum(index, num_predictions - 1)], 0).astype(np.int32)
  y = np.where(real, tokens[np.minimum(index + 1, num_predictions)], 0).astype(np.int32)
  return x, y, real.astype(np.float32)
