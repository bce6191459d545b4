"""Tests for rnnjax/data/text.py: vocabulary, encoding, contiguous splits, eval streams."""

import gzip

import numpy as np
import pytest

from rnnjax.data import common
from rnnjax.data import text
from rnnjax.errors import InputError

SAMPLE = 'To be, or not to be: that is the question.\nWhether \u2014 tis nobler\n' * 3


def _write(path, content):
  path.write_text(content, encoding='utf-8', newline='')
  return str(path)


# --- vocabulary and encoding ----------------------------------------------------------

def test_encode_decode_round_trip():
  vocab = ''.join(sorted(set(SAMPLE)))
  tokens = text.encode(SAMPLE, vocab)
  assert tokens.dtype == np.int32 and tokens.shape == (len(SAMPLE),)
  np.testing.assert_array_equal(tokens, [vocab.index(c) for c in SAMPLE])
  assert text.decode(tokens, vocab) == SAMPLE
  assert text.decode(np.array([], np.int32), vocab) == ''


def test_encode_unknown_character():
  # A vocabulary without UNKNOWN (a model saved before it was added) refuses one; with it,
  # every character it lacks is read as UNKNOWN's token.
  with pytest.raises(InputError, match=r"^--prime: character 'z' \(position 2\) is not in"):
    text.encode('abz', 'ab', what='--prime')
  vocab = 'ab' + text.UNKNOWN
  np.testing.assert_array_equal(text.encode('azb\u00df', vocab), [0, 2, 1, 2])
  assert text.outside('azb\u00dfz', vocab) == ('z\u00df', 3)
  assert text.outside('', vocab) == ('', 0)
  assert text.unknown_token(vocab) == 2 and text.unknown_token('ab') == -1
  # A lone surrogate (a command line's non-UTF-8 byte, as Python reads it): unknown too.
  np.testing.assert_array_equal(text.encode('a\udcffb', vocab), [0, 2, 1])
  assert text.outside('a\udcffb', vocab) == ('\udcff', 1)
  with pytest.raises(InputError, match=r"^text: character '\\udcff' \(position 1\)"):
    text.encode('a\udcffb', 'ab')


def test_split_text_vocab_and_contiguous_splits():
  data = text.split_text(SAMPLE, val_size=10, test_size=15)
  assert data.vocab == ''.join(sorted(set(SAMPLE) | {text.UNKNOWN}))
  parts = [data.tokens[s] for s in common.SPLITS]
  assert [len(p) for p in parts] == [len(SAMPLE) - 25, 10, 15]
  assert all(p.dtype == np.int32 for p in parts)
  # In order, and together the whole text.
  assert text.decode(np.concatenate(parts), data.vocab) == SAMPLE
  assert text.decode(data.tokens['test'], data.vocab) == SAMPLE[-15:]
  assert text.decode(data.tokens['val'], data.vocab) == SAMPLE[-25:-15]
  assert data.info['characters'] == {'train': len(SAMPLE) - 25, 'val': 10, 'test': 15}
  assert data.info['vocab_size'] == len(set(SAMPLE)) + 1


def test_the_test_part_chooses_no_character_of_the_vocabulary():
  # 'Q' occurs only in validation: a token. 'Z' only in test: read as UNKNOWN, so the
  # vocabulary, the softmax's size and every member's initial weights are the same
  # whatever the test part holds.
  data = text.split_text('ab' * 20 + 'QaZa', val_size=2, test_size=2)
  assert data.vocab == 'Qab' + text.UNKNOWN
  assert text.decode(data.tokens['val'], data.vocab) == 'Qa'
  assert text.decode(data.tokens['test'], data.vocab) == text.UNKNOWN + 'a'
  other = text.split_text('ab' * 20 + 'Qa\u2603\u00df', val_size=2, test_size=2)
  assert other.vocab == data.vocab
  np.testing.assert_array_equal(other.tokens['train'], data.tokens['train'])
  np.testing.assert_array_equal(other.tokens['val'], data.tokens['val'])


def test_default_sizes_are_two_percent():
  data = text.split_text('x' * 1000)
  assert data.info['characters'] == {'train': 960, 'val': 20, 'test': 20}
  small = text.split_text('abcdefgh')  # 2 % of 8 rounds to 0; each split gets 2.
  assert small.info['characters'] == {'train': 4, 'val': 2, 'test': 2}


# --- streams --------------------------------------------------------------------------

def _predictions_by_loop(x, y, mask):
  pairs = []
  for s in range(x.shape[0]):
    for t in range(x.shape[1]):
      if mask[s, t]:
        pairs.append((int(x[s, t]), int(y[s, t])))
      else:
        assert x[s, t] == 0 and y[s, t] == 0
  return pairs


@pytest.mark.parametrize('n, num_streams', [(2, 1), (10, 1), (10, 3), (11, 5), (23, 4),
                                            (5, 8)])
def test_streams_cover_every_prediction_once(n, num_streams):
  tokens = np.random.default_rng(n).integers(0, 50, size=n).astype(np.int32)
  x, y, mask = text.streams(tokens, num_streams)
  length = -(-(n - 1) // num_streams)
  assert x.shape == y.shape == mask.shape == (num_streams, length)
  assert x.dtype == y.dtype == np.int32 and mask.dtype == np.float32
  assert mask.sum() == n - 1
  # Row-major order of the real entries is the order of the text.
  expected = [(int(tokens[i]), int(tokens[i + 1])) for i in range(n - 1)]
  assert _predictions_by_loop(x, y, mask) == expected
  # Padding only at the end: the mask, read row by row, is ones then zeros.
  flat = mask.reshape(-1)
  assert (flat[:n - 1] == 1).all() and (flat[n - 1:] == 0).all()


def test_streams_are_contiguous_rows():
  tokens = np.arange(13, dtype=np.int32)
  x, y, mask = text.streams(tokens, 3)  # 12 predictions, 4 per row.
  np.testing.assert_array_equal(x, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
  np.testing.assert_array_equal(y, x + 1)
  assert mask.all()


@pytest.mark.parametrize('n', [2, 100, 257, 258, 600, 7094, 65_793, 96_001, 10**6])
def test_evaluation_rows_are_long_enough_to_read_as_text(n):
  """At most 256 rows, each of at least 256 predictions where the part has them: a
  257-character text is one pass, not 256 bigrams (its rows' first predictions see no
  context); a part of the default size is cut into 256 rows as before."""
  rows = text.num_streams(n, 256)
  x, _, mask = text.streams(np.zeros(n, np.int32), rows)
  assert 1 <= rows <= 256 and mask.sum() == n - 1
  assert x.shape[1] >= min(n - 1, text.MIN_STREAM)
  assert rows == 256 or rows == max(1, (n - 1) // 256)
  # A part too short for 256 full rows keeps every row (the last, padded) at least as
  # long as the minimum when it can.
  assert mask.sum(axis=1)[:-1].min(initial=n) >= min(n - 1, text.MIN_STREAM)


def test_streams_bad_arguments():
  with pytest.raises(ValueError, match='N >= 2'):
    text.streams(np.zeros(1, np.int32), 1)
  with pytest.raises(ValueError, match='num_streams'):
    text.streams(np.zeros(5, np.int32), 0)


# --- the bundled text -----------------------------------------------------------------

def test_bundled_shakespeare():
  data = text.load(dataset='shakespeare')
  total = sum(data.info['characters'].values())
  assert total == 4_830_842
  # 81 characters (none held by the test part alone) and UNKNOWN.
  assert len(data.vocab) == 82 == data.info['vocab_size']
  assert data.info['unseen_in_train'] == {}
  assert data.vocab == ''.join(sorted(data.vocab))
  assert data.info['characters']['val'] == data.info['characters']['test'] == 96_617
  assert text.decode(data.tokens['train'][:8], data.vocab) == 'THESEUS:'
  # The gzip file decompresses to exactly the parts, in order.
  with gzip.open(text.bundled_path('shakespeare'), 'rt', encoding='utf-8', newline='') as f:
    whole = f.read()
  assert text.decode(data.tokens['test'], data.vocab) == whole[-96_617:]
  assert '\u2014' in data.vocab  # One non-ASCII character, the em dash.


def test_unknown_dataset():
  with pytest.raises(InputError, match="^--dataset: unknown text 'hamlet'"):
    text.load(dataset='hamlet')


# --- a user's file --------------------------------------------------------------------

def test_user_file(tmp_path):
  path = _write(tmp_path / 'mine.txt', SAMPLE)
  data = text.load(text_path=path, val_size=5, test_size=7)
  assert text.decode(np.concatenate([data.tokens[s] for s in common.SPLITS]),
                     data.vocab) == SAMPLE
  assert data.info['source'] == f'--text_path={path}'


def test_user_file_keeps_crlf_and_drops_bom(tmp_path):
  path = tmp_path / 'crlf.txt'
  path.write_bytes('\ufeffab\r\ncd\r\nef\r\n'.encode('utf-8'))
  data = text.load(text_path=str(path), val_size=2, test_size=2)
  assert text.decode(np.concatenate([data.tokens[s] for s in common.SPLITS]),
                     data.vocab) == 'ab\r\ncd\r\nef\r\n'
  # Said: a held-out text read by open() in text mode has no '\r' (a user's finding).
  assert ("note: the text has 3 Windows line endings (\\r\\n), kept as written: '\\r' is a "
          "character of the vocabulary; a text to score or a prompt read with open(path, "
          "newline='') keeps them too (open() alone turns them into \\n)") in text.notes(data)
  assert not any('Windows' in n for n in text.notes(text.load(text_path=_write(
      tmp_path / 'lf.txt', 'ab\ncd\nef\n'), val_size=2, test_size=2)))


def test_user_file_missing(tmp_path):
  path = str(tmp_path / 'absent.txt')
  with pytest.raises(InputError, match='^--text_path: .*absent.txt: no such file'):
    text.load(text_path=path)


def test_user_file_is_directory(tmp_path):
  with pytest.raises(InputError, match='^--text_path: .* is a directory'):
    text.load(text_path=str(tmp_path))


def test_user_file_not_utf8(tmp_path):
  path = tmp_path / 'latin1.txt'
  path.write_bytes('caf\u00e9 au lait'.encode('latin-1'))
  with pytest.raises(InputError, match='^--text_path: .* is not UTF-8 text'):
    text.load(text_path=str(path))


@pytest.mark.parametrize('content, sizes, said', [
    ('abcde', {}, "1 left to train on after validation's 2 by --val_size=0 (2 % of the "
     "text, at least 2) and test's 2 by --test_size=0 (2 % of the text, at least 2)"),
    ('abcdefghij', {'val_size': 5, 'test_size': 4},
     "1 left to train on after validation's --val_size=5 and test's --test_size=4")])
def test_user_file_too_short(tmp_path, content, sizes, said):
  """The sizes a user never set are named as the defaults' (not as flags set to 2)."""
  path = _write(tmp_path / 'short.txt', content)
  with pytest.raises(InputError, match='too short') as info:
    text.load(text_path=path, **sizes)
  assert str(info.value) == (f'--text_path={path}: {len(content)} characters is too short: '
                             f'{said}; each part needs at least 2 characters')


def test_a_part_of_fewer_than_two_characters_is_refused():
  for size in (-1, 1):
    with pytest.raises(InputError, match=f'^--test_size: {size}: a part needs at least 2 '
                       r'characters \(one prediction\); 0: 2 % of the text$'):
      text.split_text(SAMPLE, test_size=size)


def test_user_file_empty(tmp_path):
  (tmp_path / 'empty.txt').write_text('')
  with pytest.raises(InputError, match='^--text_path=.*empty.txt: the text is empty$'):
    text.load(text_path=str(tmp_path / 'empty.txt'))


def test_held_out_characters_training_never_shows_are_counted_and_noted():
  """A validation character that training never shows has a token but a probability
  training never taught; a test character of neither part is read as UNKNOWN: counted
  per part and noted."""
  data = text.split_text('ab' * 20 + 'aQ' + 'ZQ\u00dfZb', val_size=2, test_size=5)
  assert data.info['unseen_in_train'] == {
      'val': {'characters': 'Q', 'occurrences': 1},
      'test': {'characters': 'QZ\u00df', 'occurrences': 4, 'unknown': 'Z\u00df',
               'unknown_occurrences': 3}}
  size, val, test, unknown = text.notes(data)
  assert size == ('text (text): 47 characters: train 40, validation 2, test 5; '
                  "vocabulary 4 characters (the training and validation parts', and U+FFFD "
                  '(\ufffd) for any other)')
  assert val.startswith('note: 1 character(s) of the validation part never occur in the '
                        'training part (Q; 1 occurrence(s)): their probabilities were '
                        'never trained')
  assert test.startswith('note: 3 character(s) of the test part never occur in the '
                         'training part (Q Z \u00df; 4 occurrence(s))')
  assert unknown == ('note: 2 of them (Z \u00df; 3 occurrence(s)) are in neither the training '
                     'nor the validation part, which alone make the vocabulary: read as '
                     'U+FFFD (\ufffd), its token for any other character')
  plain = text.split_text(SAMPLE * 2, val_size=10, test_size=10)
  assert plain.info['unseen_in_train'] == {} and len(text.notes(plain)) == 1
  # A text's own U+FFFD (bytes once undecodable) shares the unknown character's token:
  # said, since a sample never draws it.
  own = text.split_text('ab\ufffd' * 20 + 'ab', val_size=2, test_size=2)
  assert own.vocab == 'ab' + text.UNKNOWN and own.info['own_unknown'] == 20
  assert text.notes(own)[1] == ('note: the training and validation parts hold U+FFFD '
                                '(\ufffd) itself 20 time(s) (bytes once undecodable?): it is '
                                'the token of any character the vocabulary lacks, and a '
                                'sample never draws it')
