"""Test configuration: strict numerics everywhere, quick compiles."""
import os

# Compiling is most of this suite's time. XLA's unoptimised CPU backend compiles in
# about half the time (test_compare: 55 s -> 27 s) and the tests compare at tolerances
# that its different fusion decisions stay well within. Real-process tests inherit it.
os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_backend_optimization_level=0').strip()

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

jax.config.update('jax_numpy_rank_promotion', 'raise')
