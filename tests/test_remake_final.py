"""A finished sweep's final model made again with other final-model settings
(run_sweep's `remake_final`, --remake_final): the same final model as a sweep run with
those settings from the start, without training; the refusals; the old results kept."""

import dataclasses
import os
import shutil

import numpy as np
import pytest

import rnnjax
from rnnjax.errors import InputError
from rnnjax.results import files
from rnnjax.run import chunks
from rnnjax.run import sweep
from rnnjax.search import spec as spec_lib
from tests.test_sweep import TINY

# test_sweep's tiny sweep in one bucket (one compile): 4 members.
SPEC = dataclasses.replace(TINY, cell='lstm')
# Final-model settings that change the final model here, a refit among them.
REMADE = dataclasses.replace(SPEC, ensemble='fixed', ensemble_size=2, combine='median',
                             refit=1)


def _run(spec, workdir, **kw):
  lines = []
  summary = sweep.run_sweep(spec, workdir, log=lines.append, **kw)
  return summary, lines


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('remake') / 'finished')
  _run(SPEC, workdir)
  return workdir


@pytest.fixture(scope='module')
def fresh(tmp_path_factory):
  """REMADE run from the start, asked to remake on a new work directory: a note, and
  the sweep runs as usual."""
  workdir = str(tmp_path_factory.mktemp('remake') / 'fresh')
  _, lines = _run(REMADE, workdir, remake_final=True)
  assert f'--remake_final: {workdir} holds no finished sweep: the sweep runs as usual' in lines
  return workdir


def _copy(workdir, tmp_path):
  copy = str(tmp_path / 'wd')
  shutil.copytree(workdir, copy)
  return copy


def _assert_close(a, b, where='final'):
  """Equal JSON trees, numbers to rtol 1e-6."""
  if isinstance(a, dict):
    assert sorted(a) == sorted(b), where
    for k in a:
      _assert_close(a[k], b[k], f'{where}.{k}')
  elif isinstance(a, list) and a and isinstance(a[0], (dict, list)):
    assert len(a) == len(b), where
    for i, (x, y) in enumerate(zip(a, b)):
      _assert_close(x, y, f'{where}[{i}]')
  elif isinstance(a, (float, list)):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6,
                               err_msg=where)
  else:
    assert a == b, where


def _forecast(workdir):
  model = rnnjax.load(workdir)
  return model.forecast(model.arrays['series'], 3)['point']


def test_a_remade_final_model_is_a_fresh_sweeps_with_its_settings(finished, fresh,
                                                                  tmp_path, monkeypatch):
  """The final model remade from a finished sweep's checkpoint with REMADE's settings is
  the one a sweep run with them from the start makes: its members, validation and test
  scores, and the saved model's forecasts. No chunk trains, metrics.jsonl is untouched,
  sweep.json records the new settings, and the previous results are in finals/1/; made
  again with the first settings, the first final model comes back (finals/2/)."""
  workdir = _copy(finished, tmp_path)
  old_summary = files.read_json(os.path.join(finished, files.SUMMARY))
  metrics = open(os.path.join(workdir, files.METRICS), 'rb').read()

  monkeypatch.setattr(chunks, '_train_chunk', _no_training)
  summary, lines = _run(REMADE, workdir, remake_final=True)
  want = files.read_json(os.path.join(fresh, files.SUMMARY))
  assert summary['final']['kind'] == 'refit'
  assert summary['final']['members'] != old_summary['final']['members']
  _assert_close(summary['final'], want['final'])
  np.testing.assert_allclose(_forecast(workdir), _forecast(fresh), rtol=1e-6)
  assert open(os.path.join(workdir, files.METRICS), 'rb').read() == metrics
  finals = os.path.join(workdir, files.FINALS, '1')
  assert (f'remaking the final model of {workdir} from its trained members with '
          "ensemble='fixed', ensemble_size=2, combine='median', refit=1: its members are "
          "not trained again (the refit, --refit=1, trains the final model's members "
          f'anew); the previous final results are in {finals}') in lines
  assert f'restoring the trained members of {workdir} (2 of 2 chunks)' in lines, lines
  stored = files.read_json(os.path.join(workdir, files.SWEEP))
  assert stored['spec'] == REMADE.to_json()
  assert stored['remade_final'] == [{'previous': 'finals/1', 'settings': {
      'ensemble': 'top', 'ensemble_size': 16, 'combine': 'mean', 'refit': 0}}]
  assert files.read_json(os.path.join(finals, files.SUMMARY)) == old_summary
  assert {files.MODEL, files.TRIALS, files.JOURNAL} <= set(os.listdir(finals))
  # The same command again: the finished sweep, as it now is.
  again, _ = _run(REMADE, workdir)
  assert again['final'] == summary['final']

  # Under a budget that would cut the sweep into waves: restored in those it trained in,
  # with nothing to say of them (a remake trains nothing).
  (bucket,) = files.read_json(os.path.join(workdir, files.PLAN))['buckets']
  budget = 0.75 * bucket['estimated_bytes_per_member'] * bucket['wave_size'] / 2**30
  back, lines = _run(SPEC, workdir, remake_final=True, max_memory_gb=budget)
  assert not [l for l in lines if l.startswith('note: resuming')]
  _assert_close(back['final'], old_summary['final'])
  np.testing.assert_allclose(_forecast(workdir), _forecast(finished), rtol=1e-6)
  assert files.read_json(os.path.join(workdir, files.FINALS, '2', files.SUMMARY)
                         )['final'] == summary['final']


def _refused(spec, workdir, **kw):
  with pytest.raises(InputError) as e:
    _run(spec, workdir, **kw)
  assert '\n' not in str(e.value)
  return str(e.value)


def test_a_remake_is_refused_in_one_line_unless_it_can_be_made(finished, tmp_path):
  """Without the flag, a finished sweep with other final-model settings names them and
  the flag; with it, another training setting is named; checkpoints removed (the last,
  or all) are said; nothing is changed by a refusal. The flag on this finished sweep
  with its own settings has nothing to remake."""
  workdir = _copy(finished, tmp_path)
  before = {name: open(os.path.join(workdir, name), 'rb').read()
            for name in (files.SWEEP, files.SUMMARY, files.METRICS)}
  assert _refused(REMADE, workdir) == (
      f"--workdir: {workdir} holds this sweep finished with other final-model settings "
      "(combine: 'mean' there, 'median' now; ensemble: 'top' there, 'fixed' now; "
      "ensemble_size: 16 there, 2 now; refit: 0 there, 1 now); --remake_final remakes the "
      'final model from the trained members without training (or use another --workdir, '
      'or --overwrite)')
  message = _refused(dataclasses.replace(REMADE, train_steps=15), workdir,
                     remake_final=True)
  assert message.startswith(f'--remake_final: {workdir} holds a sweep trained with other '
                            'settings (train_steps: 10 there, 15 now); only the final')
  checkpoints = os.path.join(workdir, files.CHECKPOINTS)
  steps = sorted(int(d) for d in os.listdir(checkpoints) if d.isdigit())
  shutil.rmtree(os.path.join(checkpoints, str(steps[-1])))
  assert _refused(REMADE, workdir, remake_final=True) == (
      f'--remake_final: the newest checkpoint that restores in {checkpoints} covers '
      f'{steps[-1] - 1} of {steps[-1]} chunks: the trained members are gone; use '
      '--overwrite to train the sweep again')
  shutil.rmtree(checkpoints)
  assert _refused(REMADE, workdir, remake_final=True) == (
      f'--remake_final: {checkpoints} holds no checkpoint that restores: the trained '
      'members are gone; use --overwrite to train the sweep again')
  for name, content in before.items():
    assert open(os.path.join(workdir, name), 'rb').read() == content, name
  assert not os.path.exists(os.path.join(workdir, files.FINALS))
  _, lines = _run(SPEC, workdir, remake_final=True)
  assert (f'--remake_final: {workdir} holds this finished sweep with these settings: '
          'nothing to remake') in lines


def test_final_settings_are_the_spec_s():
  """A misspelt name would never match a setting, and that setting would retrain."""
  fields = {f.name for f in dataclasses.fields(spec_lib.SweepSpec)}
  assert set(spec_lib.FINAL_SETTINGS) <= fields


def test_remaking_and_overwriting_together_is_refused_before_anything_is_read(tmp_path):
  """--overwrite trains again what --remake_final keeps: one line, nothing written."""
  workdir = str(tmp_path / 'w')
  with pytest.raises(InputError, match=r'^--remake_final: keeps the trained members, which '
                     r'--overwrite removes to train the sweep again; give one of them$'):
    _run(SPEC, workdir, remake_final=True, overwrite=True)
  assert not os.path.exists(workdir)


class _Killed(BaseException):
  """A kill, as set_aside moves the previous results (after summary.json, the first)."""


@pytest.mark.parametrize('again', ['new', 'old'])
def test_a_remake_killed_as_it_sets_results_aside_resumes(finished, fresh, tmp_path,
                                                          monkeypatch, again):
  """Killed once summary.json has moved, before sweep.json records the new settings: the
  sweep is unfinished, and the new command (or the old) resumes it without training,
  making the final model with its settings; the rest of the previous results join
  summary.json in finals/1, which sweep.json then records."""
  workdir = _copy(finished, tmp_path)
  old_summary = files.read_json(os.path.join(finished, files.SUMMARY))
  moved, real_move = [], shutil.move

  def move(src, dst):
    if moved:
      raise _Killed()
    moved.append(real_move(src, dst))
  monkeypatch.setattr(shutil, 'move', move)
  with pytest.raises(_Killed):
    _run(REMADE, workdir, remake_final=True)
  monkeypatch.setattr(shutil, 'move', real_move)
  finals = os.path.join(workdir, files.FINALS, '1')
  assert os.listdir(finals) == [files.SUMMARY]
  assert files.read_json(os.path.join(workdir, files.SWEEP))['spec'] == SPEC.to_json()

  monkeypatch.setattr(chunks, '_train_chunk', _no_training)
  spec, want = (REMADE, fresh) if again == 'new' else (SPEC, finished)
  summary, lines = _run(spec, workdir, remake_final=True)
  _assert_close(summary['final'], files.read_json(os.path.join(want, files.SUMMARY))['final'])
  assert (f'the final results a stop left in {workdir} as they were set aside are in '
          f'{finals}') in lines
  assert files.read_json(os.path.join(finals, files.SUMMARY)) == old_summary
  assert {files.MODEL, files.TRIALS, files.JOURNAL} <= set(os.listdir(finals))
  stored = files.read_json(os.path.join(workdir, files.SWEEP))
  assert stored['spec'] == spec.to_json()
  assert stored['remade_final'] == [{'previous': 'finals/1', 'settings': {
      'ensemble': 'top', 'ensemble_size': 16, 'combine': 'mean', 'refit': 0}
                                     if again == 'new' else {}}]


def _no_training(*args, **kw):
  raise AssertionError('a chunk trained')


def test_an_unfinished_sweep_resumes_with_other_final_settings(fresh, tmp_path):
  """Stopped while training, a sweep resumed with other final-model settings (no flag)
  makes the final model a sweep run with them from the start makes, and records them;
  another training setting is still another sweep."""
  workdir = str(tmp_path / 'wd')

  def stop(line):
    if line.startswith('chunk 2/2 '):
      raise _Killed()
  with pytest.raises(_Killed):
    sweep.run_sweep(SPEC, workdir, log=stop)
  assert _refused(dataclasses.replace(REMADE, train_steps=15), workdir).startswith(
      f'--workdir: {workdir} holds a different sweep (')
  summary, lines = _run(REMADE, workdir)
  _assert_close(summary['final'], files.read_json(os.path.join(fresh, files.SUMMARY))['final'])
  assert (f"{workdir}: its final model is made with ensemble='fixed' (was 'top'), "
          "ensemble_size=2 (was 16), combine='median' (was 'mean'), refit=1 (was 0)"
          ) in lines, lines
  stored = files.read_json(os.path.join(workdir, files.SWEEP))
  assert stored['spec'] == REMADE.to_json() and 'remade_final' not in stored
  assert not os.path.exists(os.path.join(workdir, files.FINALS))
