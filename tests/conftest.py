"""Test configuration: strict numerics everywhere, quick compiles, the same setup
however the suite is started (`pytest` or `python -m pytest`, from a terminal, a
script's background job or nohup)."""
import atexit
import os
import shutil
import signal
import sys
import tempfile

import pytest

# `from tests.outcomes import ...` with the plain `pytest` script too, which puts only
# tests/ on sys.path (`python -m pytest` adds the working directory).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

# The tests compare against numbers computed on the CPU, with one device in the test
# process (tests that want more start a process that asks for them).
# RNNJAX_TEST_PLATFORM=cuda runs them on a GPU instead (bench/gpu_session.sh runs the
# engine's tests there), without the CPU compiler's flags below.
_PLATFORM = os.environ.get('RNNJAX_TEST_PLATFORM') or 'cpu'
os.environ['JAX_PLATFORMS'] = _PLATFORM
os.environ.pop('JAX_NUM_CPU_DEVICES', None)

# Compiling is most of this suite's time (about 80 % of test_population and test_model),
# and most of a compile is LLVM code generation, kernel by kernel. XLA's unoptimised CPU
# backend compiles in about half the time (test_compare: 55 s -> 27 s); without the
# newer fusion emitters a small population program compiles 2.4x faster again (4.7 s ->
# 1.9 s for test_population's GRU chunk). The tests compare at tolerances that the
# different code stays well within. Real-process tests inherit both.
# Single-threaded Eigen as the sweep command's devices have it (sharding.py), so that
# a sweep command started by a test computes exactly what the test process does.
# Child processes that set their own XLA_FLAGS take these (RNNJAX_TEST_XLA_FLAGS).
os.environ['RNNJAX_TEST_XLA_FLAGS'] = ('--xla_backend_optimization_level=0'
                                       ' --xla_cpu_use_fusion_emitters=false'
                                       ' --xla_cpu_multi_thread_eigen=false'
                                       if _PLATFORM == 'cpu' else '')
os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' ' +
                           os.environ['RNNJAX_TEST_XLA_FLAGS']).strip()

# Sweep commands started by tests keep their compiled programs in one directory for the
# session (pytest-xdist's workers inherit the controller's), never in the user's cache.
if not os.environ.get('RNNJAX_COMPILE_CACHE_DIR'):
  _CACHE = tempfile.mkdtemp(prefix='rnnjax-test-compile-cache-')
  os.environ['RNNJAX_COMPILE_CACHE_DIR'] = _CACHE
  atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

jax.config.update('jax_numpy_rank_promotion', 'raise')

# In-process sweeps too: many tests compile the same small programs again (the suite
# takes about 15 % less time).
from rnnjax.engine import compile_cache  # pylint: disable=g-import-not-at-top,wrong-import-position

compile_cache.configure(os.environ['RNNJAX_COMPILE_CACHE_DIR'])


@pytest.fixture(autouse=True, scope='module')
def _free_compiled_programs():
  """Each module's compiled programs let go after it. XLA maps memory for each program
  it loads, and the suite in one process (`pytest` without -n) passed Linux's limit of
  65,530 mappings a process (vm.max_map_count) two-thirds of the way through: the next
  compile crashed the process (SIGSEGV or SIGABRT; test_population alone leaves 7,827
  mappings, 919 after this). The programs later modules share are traced and loaded
  again: the suite in one process took 619 s with this after every module, 612 s with it
  only where a module left over half the limit (2-core VM, 2026-12-07)."""
  yield
  jax.clear_caches()


@pytest.fixture
def default_signals():
  """SIGINT raises KeyboardInterrupt and SIGTERM terminates, as in a terminal, in this
  process and in the processes it starts (a Python handler becomes the default on exec,
  and Python then installs its own for SIGINT), for tests that send them. A script's
  background job, and so `nohup ... &`, starts with SIGINT ignored, which every child
  would inherit: a sweep then rightly ignores it (stop.py)."""
  before = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
            signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL)}
  yield
  for signum, handler in before.items():
    signal.signal(signum, handler)


@pytest.fixture(scope='session')
def trained():
  """A tiny real population after one chunk (tests/tiny_population.py), for the tests
  of halving, PBT and the gathers."""
  from tests import tiny_population  # pylint: disable=g-import-not-at-top
  return tiny_population.train_one_chunk()
