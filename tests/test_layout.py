"""The package's plan (../shared/DESIGN.md, rnnjax/__init__.py) held by its imports: each wing
imports only the wings above it, and each of a wing's sub-packages only the ones SUB_PACKAGES
allows; no module imports itself back round a cycle, no wing grows past a dozen flat modules,
and the library reads no flags and draws no figure outside figures/."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / 'rnnjax'
# rnnjax/__init__.py's list: a wing imports only the ones before it.
WINGS = ('data', 'engine', 'search', 'results', 'final', 'run', 'figures')
# The engine never imports the host side, and nothing imports run/ but the entry points,
# whatever the list allows.
ALLOWED = {wing: set(WINGS[:i]) - {'run'} for i, wing in enumerate(WINGS)}
ALLOWED['engine'] = set()
MAX_FLAT_MODULES = 12
# A wing split by role (DESIGN.md): its sub-packages, and the ones each may import (its
# face says the same). Any sub-package may import its wing's flat modules.
SUB_PACKAGES = {
    'data': {'time': set(), 'cases': {'time'}, 'splits': {'time'},
             'windows': {'scores'}, 'scores': set(), 'loaders': {'time', 'windows'}},
    'engine': {'tasks': set()},
    'search': {'strategies': set()},
    'results': {'tracking': set(), 'printed': set()},
    'final': {'choice': set(), 'saved': {'choice'}, 'use': {'choice', 'saved'}},
    'figures': {'analysis': set(), 'plots': {'analysis'}},
}


def _module_name(path):
  parts = path.relative_to(ROOT.parent).with_suffix('').parts
  return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules():
  return {_module_name(path): path for path in sorted(ROOT.rglob('*.py'))}


def _imports(source, modules):
  """The rnnjax modules a file's source imports, at its top or inside a function (a lazy
  import still ties the two modules together)."""
  out = set()
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
      # `from rnnjax.data import panel` names a module; `from rnnjax.errors import X` a value.
      names = [f'{node.module}.{alias.name}' for alias in node.names]
      names = [n if n in modules else node.module for n in names]
    else:
      continue
    out.update(n for n in names if n in modules)
  return out


def _graph():
  """Module -> the modules it imports. The faces (__init__.py) of the packages holding a
  module are left out of what it imports: Python imports them before it anyway, so an
  edge to one (`import rnnjax` for `rnnjax.__version__`) says nothing about the plan; an
  edge to another package's face (`from rnnjax import figures`) does."""
  modules = _modules()
  faces = {name for name, path in modules.items() if path.name == '__init__.py'}
  holding = lambda name: {f for f in faces if name.startswith(f + '.')}
  return {name: _imports(path.read_text(), modules) - {name} - holding(name)
          for name, path in modules.items()}


def _wing(module):
  parts = module.split('.')
  return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in WINGS) else None


def _sub_package(module):
  """'tracking' for rnnjax.results.tracking(.tensorboard); None for a wing's flat module
  (data/text.py beside data/text/, a folder of bundled files that is no package)."""
  parts = module.split('.')
  return parts[2] if len(parts) > 3 or (len(parts) == 3 and parts[1] in WINGS and (
      ROOT / parts[1] / parts[2] / '__init__.py').exists()) else None


def test_each_wing_imports_only_the_wings_above_it():
  wrong = []
  for module, imported in _graph().items():
    wing = _wing(module)
    if wing is None:
      continue
    for other in imported:
      to = _wing(other)
      if to is not None and to != wing and to not in ALLOWED[wing]:
        wrong.append(f'{module} imports {other}')
  assert not wrong, wrong


def test_no_module_imports_itself_back_round_a_cycle():
  graph = _graph()
  cycles = []

  def visit(module, path, on_path, done):
    on_path.add(module)
    path.append(module)
    for other in sorted(graph[module]):
      if other in on_path:
        cycles.append(path[path.index(other):] + [other])
      elif other not in done:
        visit(other, path, on_path, done)
    path.pop()
    on_path.discard(module)
    done.add(module)

  done = set()
  for module in sorted(graph):
    if module not in done:
      visit(module, [], set(), done)
  assert not cycles, [' -> '.join(c) for c in cycles]


def test_each_sub_package_imports_only_the_ones_its_wing_allows():
  wrong = []
  for module, imported in _graph().items():
    wing, sub = _wing(module), _sub_package(module)
    if sub is None:
      continue
    for other in imported:
      to = _sub_package(other)
      if _wing(other) == wing and to not in (None, sub) and to not in SUB_PACKAGES[wing][sub]:
        wrong.append(f'{module} imports {other}')
  assert not wrong, wrong


def test_every_sub_package_is_in_the_plan():
  # A new sub-package is placed in SUB_PACKAGES (and its wing's face), not left unchecked.
  found = {(p.parent.parent.name, p.parent.name) for p in ROOT.glob('*/*/__init__.py')}
  planned = {(wing, sub) for wing, subs in SUB_PACKAGES.items() for sub in subs}
  assert found == planned, (sorted(found - planned), sorted(planned - found))
  assert not list(ROOT.glob('*/*/*/__init__.py')), 'sub-packages are one level deep'


@pytest.mark.parametrize('folder', sorted(
    p for p in ROOT.rglob('*') if p.is_dir() and (p / '__init__.py').exists()),
    ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_no_package_holds_more_than_a_dozen_flat_modules(folder):
  # DESIGN.md: when a wing passes ~12 modules, split it by role rather than add a 13th.
  flat = sorted(p.name for p in folder.glob('*.py') if p.name != '__init__.py')
  assert len(flat) <= MAX_FLAT_MODULES, (folder, flat)


def test_the_library_reads_no_flags_and_draws_only_in_figures():
  flags, drawing = [], []
  for module, path in _modules().items():
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module] + [f'{node.module}.{alias.name}' for alias in node.names]
      else:
        continue
      if any(n == 'absl.flags' or n.startswith('absl.flags.') for n in names):
        flags.append(module)
      if any(n.split('.')[0] == 'matplotlib' for n in names) and _wing(module) != 'figures':
        drawing.append(module)
  assert not flags and not drawing, (flags, drawing)


def test_the_walk_finds_each_way_an_import_is_written():
  # The tests above are only as good as this walk: every way the code base writes an
  # import of a module is found, a value imported from a module counts as that module,
  # and names outside rnnjax are not.
  modules = _modules()
  source = (
      'from rnnjax.results import files\n'
      'import rnnjax.search.spec\n'
      'from rnnjax.errors import InputError\n'
      'def later():\n'
      '  from rnnjax.data import panel as panel_lib\n'
      'import numpy\n')
  assert _imports(source, modules) == {'rnnjax.results.files', 'rnnjax.search.spec',
                                       'rnnjax.errors', 'rnnjax.data.panel'}
  # A sub-package's module, or its face, belongs to its wing and its sub-package.
  assert [(_wing(m), _sub_package(m)) for m in (
      'rnnjax.results.tracking.tensorboard', 'rnnjax.results.tracking',
      'rnnjax.results.files', 'rnnjax.results', 'rnnjax.errors', 'rnnjax.data.text')] == [
          ('results', 'tracking'), ('results', 'tracking'), ('results', None),
          ('results', None), (None, None), ('data', None)]
