"""Test configuration: strict numerics everywhere."""
import jax

jax.config.update('jax_numpy_rank_promotion', 'raise')
