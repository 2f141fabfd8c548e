"""`Lion`: the sign-of-momentum optimizer found by program search."""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["Lion"]


@keras_export("keras.optimizers.Lion")
class Lion(Optimizer):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms").

    Every coordinate moves by exactly the learning rate, in the direction of an interpolation
    of momentum and gradient: `w -= lr * sign(beta_1 * m + (1 - beta_1) * g)`; then
    `m = beta_2 * m + (1 - beta_2) * g`. Use a rate 3-10x smaller than AdamW's.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: interpolation for the update direction, in (0, 1].
        beta_2: decay of the momentum.
        *args, **kwargs: the base optimizer's arguments, as in `SGD`.

    Examples:
        >>> w = lamina.Variable([1.0, 1.0])
        >>> _ = lamina.optimizers.Lion(learning_rate=0.1).apply_gradients(
        ...     [(jnp.array([3.0, -0.01]), w)])
        >>> [round(float(x), 3) for x in w.numpy()]
        [0.9, 1.1]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, *args, **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}.")
        super().__init__(learning_rate, *args, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = jnp.asarray(gradient).astype(dtype)
        lr = jnp.asarray(learning_rate).astype(dtype)
        beta_1 = jnp.asarray(self.beta_1, dtype)
        beta_2 = jnp.asarray(self.beta_2, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        direction = jnp.sign(m.value * beta_1 + gradient * (1.0 - beta_1))
        variable.assign(variable.value - lr * direction)
        m.assign(m.value * beta_2 + gradient * (1.0 - beta_2))

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Lion)}
