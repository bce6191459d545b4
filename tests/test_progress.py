"""results/printed/progress.py: the progress line's ETA and best value, on a fake clock and
across a resume."""

import fcntl
import io
import os
import re
import struct
import termios

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.engine import population as pop
from rnnjax.results import files
from rnnjax.results.printed import progress
from rnnjax.run import sweep

OK4 = np.full(4, pop.OK)


class FakeClock:
  """Seconds of wall clock and of compiling, moved by hand."""

  def __init__(self):
    self.now, self.compiled = 100.0, 50.0

  def run(self, seconds: float, compiling: float = 0.0):
    self.now += seconds
    self.compiled += compiling


def _eta(line: str) -> float:
  return float(re.search(r'eta ([\d.]+)s$', line).group(1))


def test_eta_leaves_out_compile_time():
  """Two buckets of three chunks, each chunk 1 s of training; a bucket's first chunk
  also compiles (8 s, then 9 s) and initialises (0.5 s). Every ETA is the remaining
  chunks at 1 s (2.5 s at first: all that is known then is the first chunk less its
  compile), never the first chunk's 9.5 s (the old first ETA, 47.5 s) nor a pace that
  the second bucket's compile slows."""
  clock, lines = FakeClock(), []
  bar = progress.Progress(6, log=lines.append, clock=lambda: clock.now,
                        compiling=lambda: clock.compiled)
  for bucket in (0, 1):
    for c in range(3):
      compile_s = (8.0 + bucket if c == 0 else 0.0)
      clock.run(1.0 + compile_s + (0.5 if c == 0 else 0.0), compile_s)
      bar.chunk(bucket, c + 1, np.ones(4), OK4)
  assert [_eta(line) for line in lines] == [7.5, 4.0, 3.0, 2.0, 1.0, 0.0]
  assert bar.timing() == {'total_s': 24.0, 'first_chunk_s': 9.5, 'processes': 1,
                          'this_process_s': 24.0}
  # Resumed from a checkpoint saved 3 chunks in: the earlier process's time is added.
  spent = {'total_s': 13.0, 'processes': 1, 'first_chunk_s': 9.5}
  again = progress.Progress(6, done=3, spent=spent, log=lines.append,
                            clock=lambda: clock.now, compiling=lambda: clock.compiled)
  clock.run(4.0)
  again.chunk(1, 4, np.ones(4), OK4)  # This process's first chunk is not the sweep's.
  assert again.spent() == {'total_s': 17.0, 'processes': 2, 'first_chunk_s': 9.5}


def test_eta_adds_a_compile_for_each_bucket_yet_to_start():
  """Three buckets of two chunks, each chunk 1 s of training; a bucket's first chunk
  also compiles (8 s, 10 s, 12 s) and initialises (0.5 s). The ETA adds, for each bucket
  not yet started, the mean compile of those started: 8 s each at first (23.5 s shown
  against 26 s to come, where leaving compiles out showed 7.5 s), then 9 s."""
  clock, lines = FakeClock(), []
  bar = progress.Progress(6, log=lines.append, buckets=3, clock=lambda: clock.now,
                          compiling=lambda: clock.compiled)
  for bucket, compile_s in enumerate((8.0, 10.0, 12.0)):
    clock.run(1.5 + compile_s, compile_s)
    bar.chunk(bucket, 1, np.ones(4), OK4)
    clock.run(1.0)
    bar.chunk(bucket, 2, np.ones(4), OK4)
  assert [_eta(line) for line in lines] == [7.5 + 16, 4.0 + 16, 3.0 + 9, 2.0 + 9, 1.0, 0.0]


def test_eta_of_a_resumed_sweep_counts_the_chunks_left():
  clock, lines = FakeClock(), []
  bar = progress.Progress(10, log=lines.append, done=6, clock=lambda: clock.now,
                        compiling=lambda: clock.compiled)
  clock.run(7.0, 5.0)
  bar.chunk(0, 14, np.ones(4), OK4)
  clock.run(1.0)
  bar.chunk(0, 16, np.ones(4), OK4)
  assert lines[0].startswith('chunk 7/10 ') and _eta(lines[0]) == 6.0
  assert lines[1].startswith('chunk 8/10 ') and _eta(lines[1]) == 2.0


def test_a_round_asked_larger_than_estimated_recounts_the_total():
  """TPE's total is estimated from its first round (2 runs of 3 chunks a round, 2
  rounds: 12); its second round asks 3 runs: the line counts to 15, not 13/12 with a
  negative ETA; where a count runs past an estimate anyway, it shows no more than done
  and an ETA of 0."""
  clock, lines = FakeClock(), []
  bar = progress.Progress(12, log=lines.append, buckets=4, clock=lambda: clock.now,
                          compiling=lambda: clock.compiled)
  for c in range(6):
    clock.run(1.0)
    bar.chunk(c // 3, c % 3 + 1, np.ones(4), OK4)
  bar.recount(bar.done + 9, {2, 3, 4})
  for c in range(9):
    clock.run(1.0)
    bar.chunk(2 + c // 3, c % 3 + 1, np.ones(4), OK4)
  assert [line.split()[1] for line in lines[6:]] == [f'{n}/15' for n in range(7, 16)]
  assert [_eta(line) for line in lines[6:]] == [float(n) for n in range(8, -1, -1)]
  over = progress.Progress(1, log=lines.append, clock=lambda: clock.now,
                           compiling=lambda: clock.compiled)
  for _ in range(2):
    clock.run(1.0)
    over.chunk(0, 1, np.ones(4), OK4)
  assert lines[-1].startswith('chunk 2/2 ') and _eta(lines[-1]) == 0.0


def test_compiling_s_counts_this_processs_compiles():
  before = progress.compiling_s()
  jax.jit(lambda x: jnp.sin(x) * 3.0 + 0.25)(jnp.ones(7)).block_until_ready()
  assert progress.compiling_s() > before


@pytest.mark.parametrize('mode, values, want', [('min', [3.0, 2.5], '2'),
                                                ('min', [1.5, 9.0], '1.5'),
                                                ('max', [0.5, 0.7], '0.9')])
def test_best_before_a_resume_counts(mode, values, want):
  lines = []
  best_before = {0: (2.0, 2.0) if mode == 'min' else (-0.9, 0.9)}
  bar = progress.Progress(4, log=lines.append, done=2, best=best_before)
  bar.chunk(0, 6, np.asarray(values), np.full(2, pop.OK), metric='m', mode=mode)
  assert f' best val m {want} ' in lines[0] + ' '


def test_where_another_metric_ranks_the_best_shown_is_the_best_ranked_ones():
  """A classifier ranks by cross-entropy and shows accuracy: the line shows the
  accuracy of the evaluation with the lowest cross-entropy so far (as the ranking's best
  member has it), not the highest accuracy seen, and names that cross-entropy."""
  lines = []
  bar = progress.Progress(3, log=lines.append)
  ok = np.full(3, pop.OK)
  bar.chunk(0, 2, np.asarray([0.9, 0.7, 0.5]), ok, metric='accuracy', mode='max',
            ranked=('ce', np.asarray([0.6, 0.4, 0.8])))
  bar.chunk(0, 4, np.asarray([0.95, 0.6, 0.5]), ok, metric='accuracy', mode='max',
            ranked=('ce', np.asarray([0.5, 0.3, np.nan])))
  bar.chunk(0, 6, np.asarray([0.99, 0.6, 0.5]), np.asarray([pop.OK, pop.OK, pop.DIVERGED]),
            metric='accuracy', mode='max', ranked=('ce', np.asarray([0.45, 0.35, 0.1])))
  best = [re.search(r'best val (.*?)  elapsed', line).group(1) for line in lines]
  assert best == ['accuracy 0.7 (ce 0.4)', 'accuracy 0.6 (ce 0.3)', 'accuracy 0.6 (ce 0.3)']


def test_best_so_far_pairs_the_metric_shown_with_the_one_that_ranks(tmp_path):
  """On resume, a classifier's best before the stop is the accuracy of the
  evaluation (member, step) with the lowest cross-entropy, read from metrics.jsonl."""
  writer = files.MetricsWriter(str(tmp_path / files.METRICS))
  for uid, step, ce, accuracy in ((0, 2, 0.5, 0.9), (1, 2, 0.3, 0.7), (0, 4, 0.2, 0.8),
                                  (1, 4, float('nan'), 0.99)):
    writer.write(files.records(uid=uid, bucket=0, step=step, split='val',
                               metrics={'ce': ce, 'accuracy': accuracy}))
  writer.close()
  assert progress.best_so_far(str(tmp_path), 'classify') == {0: (0.2, 0.8)}
  assert progress.best_so_far(str(tmp_path), 'classify', selection='ce') == {0: (0.2, 0.2)}


def test_with_folds_a_line_shows_its_own_folds_best():
  """Each --folds fold validates on other points: fold 2's line shows fold 2's best
  (here worse than fold 1's), named so, and fold 1's line its own again after it."""
  lines = []
  bar = progress.Progress(4, log=lines.append, folds=2)
  ok = np.full(2, pop.OK)
  for fold, values in ((0, [1.0, 2.0]), (1, [5.0, 4.0]), (0, [1.5, 0.5]), (1, [4.5, 6.0])):
    bar.chunk(0, 2, np.asarray(values), ok, metric='rmse', where=f' fold {fold + 1}/2',
              fold=fold)
  best = [re.search(r'best val (.*?)  elapsed', line).group(1) for line in lines]
  assert best == ['rmse (fold 1) 1', 'rmse (fold 2) 4', 'rmse (fold 1) 0.5',
                  'rmse (fold 2) 4']


def test_best_so_far_keeps_each_folds_best_apart(tmp_path):
  """On resume, each fold's best is read from its own members' evaluations (a uid's
  fold as the sweep's waves put it), and as one without folds."""
  writer = files.MetricsWriter(str(tmp_path / files.METRICS))
  for uid, rmse in ((0, 3.0), (1, 1.0), (2, 2.0), (3, 4.0)):
    writer.write(files.records(uid=uid, bucket=0, step=2, split='val',
                               metrics={'rmse': rmse}))
  writer.close()
  assert progress.best_so_far(str(tmp_path), 'forecast', folds=2) == {  # uids 0, 2; 1, 3.
      0: (2.0, 2.0), 1: (1.0, 1.0)}
  assert progress.best_so_far(str(tmp_path), 'forecast') == {0: (1.0, 1.0)}


class _Stop(Exception):
  pass


TINY = sweep.SweepSpec(classical_baselines=False, dataset='shampoo_sales', lookback=4,
                       val_size=6, test_size=6, cell='grid(lstm,gru)', hidden_size='6',
                       batch_size='4', learning_rate='grid(1e-2,3e-2)', dropout='0.1',
                       train_steps=8, eval_every=2)


def test_the_sweep_counts_the_buckets_still_to_compile(tmp_path, monkeypatch):
  """Two buckets of four chunks: both are ahead of a fresh sweep; resumed after the
  first bucket's chunks, only the second, which compiles in the resumed process."""
  given = []
  init = progress.Progress.__init__

  def recorded(self, *args, **kw):
    given.append(kw.get('buckets'))
    init(self, *args, **kw)
  monkeypatch.setattr(progress.Progress, '__init__', recorded)

  def stop_at(text):
    def log(line):
      if line.startswith(text):
        raise _Stop(line)
    return log
  workdir = str(tmp_path / 'wd')
  with pytest.raises(_Stop, match=r'^chunk 4/8 bucket 0 .* eta \d'):
    sweep.run_sweep(TINY, workdir, log=stop_at('chunk 4/'))  # Stopped before its checkpoint.
  with pytest.raises(_Stop, match=r'^chunk 5/8 bucket 1 '):
    sweep.run_sweep(TINY, workdir, log=stop_at('chunk 5/'))  # Resumed at chunk 4.
  with pytest.raises(_Stop, match=r'^chunk 5/8 bucket 1 '):
    sweep.run_sweep(TINY, workdir, log=stop_at('chunk 5/'))  # Resumed at chunk 5.
  assert given == [2, 2, 1]


def test_a_resumed_progress_line_shows_the_best_before_the_stop(tmp_path, monkeypatch):
  """A sweep of two buckets stopped in the second one's first chunk (after its progress
  line, before its checkpoint), then resumed there: its best so far is the first
  bucket's, which the resumed run does not train again. Read back from the work
  directory, it makes the resumed line's best the uninterrupted sweep's."""
  calls, lines = [], []
  chunk = progress.Progress.chunk

  def recorded(self, *args, **kw):  # What the driver reports of each chunk.
    calls.append((args, kw))
    return chunk(self, *args, **kw)
  monkeypatch.setattr(progress.Progress, 'chunk', recorded)

  def log(line):
    lines.append(line)
    if line.startswith('chunk 5/'):
      raise _Stop(line)
  workdir = str(tmp_path / 'stopped')
  with pytest.raises(_Stop):
    sweep.run_sweep(TINY, workdir, log=log)
  chunks = [line for line in lines if line.startswith('chunk ')]
  assert len(chunks) == 5 and ' bucket 1 step 2 ' in chunks[4]
  best = lambda line: re.search(r'best val rmse (\S+)', line).group(1)
  before = progress.best_so_far(workdir, 'forecast')  # What checkpoint 4 covers.
  assert f'{before[0][1]:.4g}' == best(chunks[3])
  assert before[0][0] == before[0][1]  # RMSE ranks as MSE does: shown and ranked alike.
  shown = {}
  for name, given in (('none', None), ('before', before)):  # Without and with it.
    resumed = []
    progress.Progress(8, log=resumed.append, done=4, best=given).chunk(*calls[4][0],
                                                                     **calls[4][1])
    shown[name] = best(resumed[0])
  assert shown['before'] == best(chunks[4])
  assert shown['none'] != best(chunks[4])  # The first bucket's best, before the stop.
  assert progress.best_so_far(str(tmp_path), 'forecast') == {}  # Nothing written.


def test_a_bar_needs_a_terminal_with_columns_and_rows():
  """A pseudo terminal of zero columns or rows (`script` run from no terminal) shows
  tqdm's bar as nothing: it gets a line per chunk, as a file does; a sized one a bar."""
  leader, follower = os.openpty()
  try:
    with os.fdopen(follower, 'w', closefd=False) as tty:
      fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 0, 0, 0))
      assert tty.isatty() and not progress.interactive(tty)
      fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack('HHHH', 0, 80, 0, 0))
      assert not progress.interactive(tty)
      fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
      assert progress.interactive(tty)
  finally:
    os.close(follower)
    os.close(leader)
  assert not progress.interactive(io.StringIO())
