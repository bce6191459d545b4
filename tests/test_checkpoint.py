"""Checkpoints: packed per dtype and population size, restored leaf by leaf exactly;
older formats refused."""

import asyncio
import dataclasses
import glob
import logging
import os
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from rnnjax.engine import population as pop
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.run import checkpoint
from rnnjax.search import hparams

P = 4


def _tree():
  rng = np.random.default_rng(0)
  return {'0': ({'w': jnp.asarray(rng.normal(size=(P, 3, 5)), jnp.float32),
                 'step': jnp.arange(P, dtype=jnp.int32)},
                {'lr': jnp.asarray(rng.uniform(size=P), jnp.float32),
                 'rates': jnp.asarray(rng.uniform(size=(P, 2)), jnp.float32)}),
          '1': ({'w': jnp.asarray(rng.normal(size=(P, 7)), jnp.float32),
                 'status': jnp.asarray([0, 1, 0, 2], jnp.int32)},)}


def _unequal_tree():
  """Runs of two sizes, as a random search over structural choices makes."""
  rng = np.random.default_rng(1)
  return {**_tree(), '2': ({'w': jnp.asarray(rng.normal(size=(2, 3)), jnp.float32),
                            'status': jnp.asarray([1, 0], jnp.int32)},)}


def _target(tree):
  shard = sharding.members_sharding(sharding.population_mesh())
  return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=shard), tree)


def _assert_equal(got, want):
  assert jax.tree.structure(got) == jax.tree.structure(want)
  jax.tree.map(lambda a, b: (np.testing.assert_array_equal(a, b),
                             np.testing.assert_equal(a.dtype, b.dtype)), got, want)


def test_saved_packed_one_array_per_dtype_and_size_and_restored_exactly(tmp_path):
  tree = _unequal_tree()
  mngr = checkpoint.manager(str(tmp_path))
  checkpoint.save(mngr, 1, tree, {'position': 0})
  raw = mngr.restore(1, args=ocp.args.Composite(states=ocp.args.StandardRestore()))
  assert {k: v.shape for k, v in raw['states'].items()} == {
      f'float32_{P}': (P, 15 + 1 + 2 + 7), f'int32_{P}': (P, 2),
      'float32_2': (2, 3), 'int32_2': (2, 1)}
  states, progress = checkpoint.restore_latest(mngr, lambda _: _target(tree))
  _assert_equal(states, tree)
  assert progress['position'] == 0


@pytest.mark.parametrize('progress', [{'position': 2}, {'position': 2, 'packed': 1},
                                      {'position': 2, 'packed': 2}])
def test_a_checkpoint_of_an_older_format_is_refused_in_one_line(tmp_path, progress):
  """Unpacked, packed per dtype alone, or packed as now but holding a TrainState without
  best_uid: none can continue bit for bit, so none is restored (nor skipped for an
  older one, which would silently start again)."""
  tree = _tree()
  mngr = checkpoint.manager(str(tmp_path))
  mngr.save(3, args=ocp.args.Composite(states=ocp.args.StandardSave(tree),
                                       progress=ocp.args.JsonSave(progress)))
  mngr.wait_until_finished()
  with pytest.raises(InputError, match=r'^--workdir: checkpoint 3 in .* older rnnjax.*'
                     r'--overwrite$'):
    checkpoint.restore_latest(mngr, lambda _: _target(tree))


def test_a_checkpoint_from_before_class_balance_resumes_with_it_at_0(tmp_path, monkeypatch):
  """Format 3 held every hyperparameter but class_balance (added since, 0 for every
  member then): it restores as it was saved, with class_balance 0 put back, so a sweep
  begun before it resumes rather than starting again."""
  hp = hparams.stack([hparams.member_values(hidden_size=8, learning_rate=0.1 * (i + 1))
                      for i in range(P)], list(range(P)), P, 2)
  tree = {'0': (_tree()['0'][0], jax.tree.map(jnp.asarray, hp))}
  older = {'0': (tree['0'][0], tuple(getattr(hp, f.name) for f in dataclasses.fields(hp)
                                     if f.name != 'class_balance'))}
  mngr = checkpoint.manager(str(tmp_path))
  monkeypatch.setattr(checkpoint, 'FORMAT', 3)
  checkpoint.save(mngr, 5, older, {'position': 5})
  monkeypatch.undo()
  states, progress = checkpoint.restore_latest(mngr, lambda _: _target(tree))
  _assert_equal(states, tree)
  assert progress == {'position': 5, 'format': 3}
  assert isinstance(states['0'][1], pop.HParams)
  np.testing.assert_array_equal(states['0'][1].class_balance, np.zeros(P, np.float32))


class _LoudOnDeath:
  """An object whose finaliser raises: Python can only print that (sys.unraisablehook)."""

  def __del__(self):
    raise RuntimeError('Event loop is closed')


def _late_thread_error(delay):
  """A thread that raises after `delay` seconds, as an orbax writer may after its save
  has already failed."""
  def fail():
    time.sleep(delay)
    raise OSError(28, 'No space left on device')
  threading.Thread(target=fail).start()


def test_a_damaged_steps_warning_says_what_was_wrong_in_words(tmp_path):
  """A step whose array data was cut short (a disk that filled mid-write) falls back to
  the one before, in one warning line of words: TensorStore's error carries the repr of
  a bound method (`<bound method pybind11_...`) or the JSON spec of every store it
  opened (thousands of characters), which the line leaves out."""
  tree = _tree()
  mngr = checkpoint.manager(str(tmp_path))
  checkpoint.save(mngr, 1, tree, {'position': 0})
  checkpoint.save(mngr, 2, tree, {'position': 1})
  for path in glob.glob(str(tmp_path / checkpoint.DIRNAME / '2' / 'states' / '**' / 'd' / '*'),
                        recursive=True):
    with open(path, 'r+b') as f:
      f.truncate(10)
  said = []
  _, progress = checkpoint.restore_latest(mngr, lambda _: _target(tree), log=said.append)
  assert progress['position'] == 0
  assert len(said) == 1 and said[0].startswith('warning: checkpoint 2 does not restore (')
  assert said[0].endswith('); trying an older one'), said
  assert '<bound method' not in said[0] and 'tensorstore_spec' not in said[0], said


class _CallsBackIntoAClosedLoop:
  """As a TensorStore thread whose read outlived a failed restore: it calls back into the
  event loop orbax has closed, and Python can only print the RuntimeError."""

  def __init__(self):
    self.loop = asyncio.new_event_loop()
    self.loop.close()

  def __del__(self):
    self.loop.call_soon_threadsafe(print)


def test_what_a_failed_reads_other_threads_raise_is_not_printed(tmp_path, monkeypatch):
  """A damaged step's other reads call back into the closed event loop as soon as the
  read fails, sometimes before the warning: their 'RuntimeError: Event loop is closed'
  tracebacks (2 of 11 resumes of damaged quickstart checkpoints) are not printed from the
  first restore on; any other unraisable error still is."""
  seen = []
  monkeypatch.setattr(sys, 'unraisablehook', lambda a: seen.append(str(a.exc_value)))
  tree = _tree()
  mngr = checkpoint.manager(str(tmp_path))
  checkpoint.save(mngr, 1, tree, {'position': 0})
  checkpoint.restore_latest(mngr, lambda _: _target(tree), log=seen.append)
  _CallsBackIntoAClosedLoop()
  assert seen == []
  _LoudOnDeath()  # The same words, not from a call into a closed loop.
  assert seen == ['Event loop is closed']


def test_the_manager_opens_with_a_killed_saves_leftovers_already_removed(tmp_path,
                                                                        monkeypatch):
  """Orbax removes temporary directories left by a killed save in a thread of its own,
  which close() does not wait for: a resume that found no checkpoint and cleared the
  directory (run/sweep.py _begin) raced it, and the thread's FileNotFoundError traceback
  was printed mid-sweep. The manager returns only once that removal is done."""
  from orbax.checkpoint import checkpoint_manager  # pylint: disable=g-import-not-at-top
  listed = []
  real = checkpoint_manager.temporary_paths.cleanup_temporary_paths

  async def slow_cleanup(directory, **kwargs):
    await asyncio.sleep(0.5)  # As a slow or busy disk lists the directory.
    listed.append(sorted(os.listdir(directory)))
    return await real(directory, **kwargs)

  monkeypatch.setattr(checkpoint_manager.temporary_paths, 'cleanup_temporary_paths',
                      slow_cleanup)
  mngr = checkpoint.manager(str(tmp_path))
  assert listed == [[]]  # Done, before the sweep may clear the directory.
  mngr.close()


def test_what_a_failed_save_says_besides_its_error_is_held_back(monkeypatch):
  """Unraisable exceptions, uncaught thread exceptions (also from a thread that ends
  after the failure) and absl error records of a failed save reach nobody, so the
  sweep's one error line stands alone; after a successful save they are let through."""
  seen = []
  monkeypatch.setattr(sys, 'unraisablehook', lambda a: seen.append(str(a.exc_value)))
  monkeypatch.setattr(threading, 'excepthook', lambda a: seen.append(str(a.exc_value)))
  records = []
  handler = logging.Handler()
  handler.emit = lambda r: records.append(r.getMessage())
  logging.getLogger('absl').addHandler(handler)
  try:
    with pytest.raises(OSError, match='disk'):
      with checkpoint._quiet_orbax_errors():  # pylint: disable=protected-access
        _LoudOnDeath()
        _late_thread_error(0.2)
        logging.getLogger('absl').error('a writer thread failed')
        raise OSError('disk full')
    assert seen == [] and records == []
    with checkpoint._quiet_orbax_errors():  # pylint: disable=protected-access
      _LoudOnDeath()
      logging.getLogger('absl').error('said during a save that succeeded')
    assert seen == ['Event loop is closed'] and records == ['said during a save that succeeded']
  finally:
    logging.getLogger('absl').removeHandler(handler)
