"""The entry points' --help against the code: a flag whose values are a closed set names
every value the code takes (a value only the code knows is one a user never finds)."""

import re

from absl import flags
import pytest

from experiments import search_comparison  # pylint: disable=unused-import (its flags)
from rnnjax.data import gap_fill
from rnnjax.data import statistical
from rnnjax.data import task_data
from rnnjax.data.loaders import sequences
from rnnjax.engine import cells
from rnnjax.engine import distributed
from rnnjax.engine import optim
from rnnjax.engine import tasks
from rnnjax.run import compare
from rnnjax.search import planner
from rnnjax.search import rules

# flag -> the values its code accepts (each from the code's own list).
CLOSED = {
    'task': task_data.TASKS,
    'cell': tuple(cells.CELLS),
    'optimizer': optim.FAMILIES,
    'normalization': tasks.NORMALIZATIONS,
    'loss': tasks.LOSSES,
    'selection': tuple(m for ms in tasks.SELECTABLE.values() for m in ms),
    'search': planner.SEARCHES,
    'ensemble': rules.ENSEMBLES,
    'combine': rules.COMBINE,
    'fill': gap_fill.FILLS,
    'pooling': tuple(sequences.POOLINGS),
    'hidden_mode': ('auto', 'masked', 'bucket'),
    'strategies': compare.STRATEGIES,
    'benchmarks': statistical.METHODS + statistical.INTERMITTENT,
    'distributed': distributed.MODES,
}


@pytest.mark.parametrize('name', sorted(CLOSED))
def test_a_closed_flag_names_every_value_it_takes(name):
  words = set(re.findall(r'\w+', flags.FLAGS[name].help))
  assert not set(CLOSED[name]) - words, (name, flags.FLAGS[name].help)


@pytest.mark.parametrize('name', ['val_size', 'test_size', 'folds'])
def test_a_flag_each_task_reads_its_own_way_says_how_for_every_task(name):
  """--val_size and --test_size differ by task (a panel refuses both), and --folds is
  each task's own kind of origin or part (none for charlm)."""
  words = set(re.findall(r'\w+', flags.FLAGS[name].help))
  assert not set(task_data.TASKS) - words, (name, flags.FLAGS[name].help)


def test_num_members_says_what_every_search_does_with_it():
  """random draws it, halving and pbt start from it, tpe proposes it per round, grid
  refuses any other than its size: each search is named."""
  words = set(re.findall(r'\w+', flags.FLAGS['num_members'].help))
  assert not set(planner.SEARCHES) - words, flags.FLAGS['num_members'].help
