"""Tests for rnnjax/data/task_data.py: each task's keyword options, and loading with them."""

import numpy as np
import pytest

from rnnjax.data import task_data
from rnnjax.errors import InputError

# The option names callers (spec.py, the experiments' flags) pass today, written out.
OPTIONS = {
    'forecast': ('csv_path', 'time_column', 'target_columns', 'input_columns', 'lookback',
                 'horizon', 'season', 'difference', 'classical_baselines', 'fill'),
    'classify': ('train_path', 'test_path', 'id_column', 'time_column', 'target_columns',
                 'input_columns', 'pooling'),
    'charlm': ('text_path', 'seq_len'),
    'panel': ('csv_path', 'test_path', 'id_column', 'time_column', 'target_columns',
              'input_columns', 'future_columns', 'lookback', 'horizon', 'season',
              'classical_baselines', 'benchmarks', 'fill'),
}


def _values(tmp_path):
  """A small value for every option of every task, with the users' files it names."""
  rows = ['t,a,u'] + [f'{i},{np.sin(i / 3):.4f},{i % 5}' for i in range(40)]
  (tmp_path / 'x.csv').write_text('\n'.join(rows) + '\n')
  cases = ['1,2,3:3,2,1:a', '3,2,1:1,2,3:b'] * 3
  (tmp_path / 'x.ts').write_text('@classLabel true a b\n@data\n' + '\n'.join(cases) + '\n')
  (tmp_path / 'x.txt').write_text('hello, world. ' * 20)
  return {'csv_path': str(tmp_path / 'x.csv'), 'time_column': 't', 'target_columns': ('a',),
          'input_columns': ('u',), 'lookback': 4, 'horizon': 2, 'season': 0,
          'difference': True, 'classical_baselines': False, 'train_path': str(tmp_path / 'x.ts'),
          'test_path': str(tmp_path / 'x.ts'), 'pooling': 'mean',
          'text_path': str(tmp_path / 'x.txt'), 'seq_len': 8, 'fill': 'zero'}


@pytest.mark.parametrize('task', task_data.TASKS)
def test_options_name_each_tasks_own(task):
  assert task_data.options(task) == OPTIONS[task]


def test_options_of_an_unknown_task():
  with pytest.raises(InputError, match="^--task: unknown task 'regress'"):
    task_data.options('regress')


@pytest.mark.parametrize('task', [t for t in task_data.TASKS if t != 'panel'])
def test_load_takes_every_option_it_names(tmp_path, task):  # Panels: test_panel.py.
  values = _values(tmp_path)
  if task == 'classify':  # Its column options name a long CSV's columns.
    for folder, prefix in (('train', 'c'), ('test', 'd')):
      (tmp_path / folder).mkdir()
      rows = ['case,t,a,u'] + [f'{prefix}{i},{3 - t},{"ab"[i % 2]},{(-1) ** i * t}'
                               for i in range(6) for t in range(4)]
      (tmp_path / folder / 'x.csv').write_text('\n'.join(rows) + '\n')
      values[f'{folder}_path'] = str(tmp_path / folder / 'x.csv')
    values['id_column'] = 'case'
  data = task_data.load(task=task, val_size=2 if task == 'classify' else 6, test_size=0,
                        **{name: values[name] for name in task_data.options(task)})
  assert data.task == task
  # The options took effect: each task's data came from the user's file.
  assert {'forecast': data.info.get('input_columns') == ['u'] and 'ets' not in data.baselines
                      and data.transform['fill'] == 'zero',
          'classify': data.readout == 'mean' and data.info.get('dataset') == 'x' and
                      data.transform['input_columns'] == ['u'] and
                      data.transform['time_column'] == 't',
          'charlm': data.seq_len == 8 and data.info['source'].startswith('--text_path=')}[task]
  if task == 'charlm':  # What the run's log and summary.json's `data` say of the text.
    assert data.notes == ((f'text ({data.info["source"]}): 280 characters: train 268, '
                           'validation 6, test 6; vocabulary 11 characters (the '
                           "training and validation parts', and U+FFFD (\ufffd) for any "
                           'other)'),)
    assert data.info['unseen_in_train'] == {}


@pytest.mark.parametrize('task, option', [
    ('forecast', 'lookbak'),     # A misspelling.
    ('forecast', 'pooling'),     # Another task's option.
    ('classify', 'seq_len'),
    ('charlm', 'csv_path'),
])
def test_load_rejects_an_option_its_task_does_not_take(task, option):
  with pytest.raises(TypeError, match=f"task {task!r} takes no option {option!r}"):
    task_data.load(task=task, **{option: 1})


def _monthly_csv(tmp_path):
  rows = ['month,y'] + [f'{np.datetime64("2000-01", "M") + i},{i % 12 + 0.1 * i}'
                        for i in range(48)]
  (tmp_path / 'm.csv').write_text('\n'.join(rows) + '\n')
  return str(tmp_path / 'm.csv')


def test_season_inferred_without_the_flag_is_noted_and_recorded(tmp_path):
  from rnnjax.search import spec as spec_lib  # pylint: disable=g-import-not-at-top
  sweep = spec_lib.SweepSpec(csv_path=_monthly_csv(tmp_path), time_column='month',
                             target_columns=('y',), classical_baselines=False)
  assert sweep.season == -1  # --season not given.
  data = spec_lib.load_data(sweep, 4)
  assert [n for n in data.notes if n.startswith('season')] == [
      "season: 12, inferred from the monthly time column 'month'; --season sets it"]
  assert 'seasonal_naive' in data.baselines
  # Where a saved model (export.manifest: `transform`) and the summary (`info`) read it.
  assert data.info['season'] == data.transform['season'] == 12


@pytest.mark.parametrize('season', [0, 3, 12])
def test_a_given_season_is_recorded_and_noted_where_the_time_column_suggests_another(
    tmp_path, season):
  data = task_data.load(task='forecast', csv_path=_monthly_csv(tmp_path), time_column='month',
                        target_columns=('y',), lookback=4, season=season,
                        classical_baselines=False)
  assert [n for n in data.notes if n.startswith('season')] == (
      [] if season == 12 else [f"season: {season or 'none'} as --season gives it; the "
                               "monthly time column 'month' suggests 12"])
  assert data.info['season'] == data.transform['season'] == season
