"""Optimizers whose hyperparameters are traced values, one set per population member.

`make(family, hp)` builds an optax transformation from the member's traced values
*inside* the compiled step. The optimizer state's structure depends on the family only,
never on the values, so a population of any learning rates, weight decays, clip
thresholds and momenta is one program, compiled once.

  sgd      L2 -> clip -> heavy-ball momentum SGD
  adam     L2 -> clip -> Adam (Kingma & Ba 2015); L2 is added to the gradient
  adamw    clip -> AdamW (Loshchilov & Hutter 2019); decoupled weight decay
  rmsprop  L2 -> clip -> RMSProp (decay = beta2) with momentum

`clip_norm <= 0` turns global-norm clipping off.
"""

import jax.numpy as jnp
import optax

FAMILIES = ('sgd', 'adam', 'adamw', 'rmsprop')

# Values used when the sweep leaves momentum / beta2 unset: each family's usual ones.
DEFAULT_MOMENTUM = {'sgd': 0.9, 'adam': 0.9, 'adamw': 0.9, 'rmsprop': 0.0}
DEFAULT_BETA2 = {'sgd': 0.0, 'adam': 0.999, 'adamw': 0.999, 'rmsprop': 0.9}


def make(family: str, *, learning_rate, weight_decay, clip_norm, momentum, beta2
        ) -> optax.GradientTransformation:
  """An optax transformation for one member; every argument but `family` may be traced."""
  clip = optax.clip_by_global_norm(jnp.where(clip_norm > 0, clip_norm, jnp.inf))
  l2 = optax.add_decayed_weights(weight_decay)
  if family == 'sgd':
    return optax.chain(l2, clip, optax.sgd(learning_rate, momentum=momentum))
  if family == 'adam':
    return optax.chain(l2, clip, optax.adam(learning_rate, b1=momentum, b2=beta2))
  if family == 'adamw':
    return optax.chain(clip, optax.adamw(learning_rate, b1=momentum, b2=beta2,
                                         weight_decay=weight_decay))
  if family == 'rmsprop':
    return optax.chain(l2, clip, optax.rmsprop(learning_rate, decay=beta2,
                                               momentum=momentum))
  raise ValueError(f'unknown optimizer {family!r}; expected one of {FAMILIES}')
