"""`Ftrl`: Follow The Regularized Leader, the online-learning optimizer of large sparse models."""

import jax.numpy as jnp

from lamina import initializers
from lamina._registry import keras_export
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["Ftrl"]


@keras_export("keras.optimizers.Ftrl")
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), with L1, L2 and L2-shrinkage regularization.

    Per coordinate, with `p = -learning_rate_power` (0.5 by default):
    `n' = n + g**2`, `z += g + 2 * l2_shrinkage * w - (n'**p - n**p) / lr * w`, then
    `w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 * (l2 + beta / (2 * lr)))` and `n = n'`.
    The weights are recomputed from `z` (`linear`) and `n` (`accumulator`) at every step, so
    L1 sets small weights exactly to zero.

    Args:
        learning_rate: defaults to 0.001.
        learning_rate_power: <= 0; how fast the per-coordinate rate decays (-0.5 is the
            paper's).
        initial_accumulator_value: the accumulators' starting value (>= 0).
        l1_regularization_strength: >= 0.
        l2_regularization_strength: >= 0 (stabilization).
        l2_shrinkage_regularization_strength: >= 0; a magnitude penalty on the weights.
        beta: the paper's beta, added to the L2 term as `beta / (2 * lr)`.
        *args, **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `use_ema`, ...), by keyword or, as in Keras, positionally after these.

    Examples:
        >>> w = lamina.Variable([0.5, -0.5])
        >>> _ = lamina.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=1.0
        ...                            ).apply_gradients([(jnp.array([0.1, -0.1]), w)])
        >>> w.numpy().tolist()   # |z| <= l1: the weights are set to zero
        [0.0, 0.0]
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, *args, **kwargs):
        for argument, value in (
                ("initial_accumulator_value", initial_accumulator_value),
                ("l1_regularization_strength", l1_regularization_strength),
                ("l2_regularization_strength", l2_regularization_strength),
                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(
                    f"`{argument}` needs to be positive or zero. Received: "
                    f"{argument}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError(
                "`learning_rate_power` needs to be negative or zero. Received: "
                f"learning_rate_power={learning_rate_power}.")
        super().__init__(learning_rate, *args, **kwargs)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[initializers.Constant(self.initial_accumulator_value), "zeros"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = jnp.asarray(gradient).astype(dtype)
        lr = jnp.asarray(learning_rate).astype(dtype)
        index = self._get_variable_index(variable)
        accumulator, linear = self._accumulators[index], self._linears[index]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        weights = variable.value
        shrunk_gradient = gradient + 2 * self.l2_shrinkage_regularization_strength * weights
        new_accumulator = accumulator.value + jnp.square(gradient)
        sigma = (jnp.power(new_accumulator, power) - jnp.power(accumulator.value, power)) / lr
        linear.assign(linear.value + (shrunk_gradient - sigma * weights))
        quadratic = jnp.power(new_accumulator, power) / lr + 2 * l2
        l1 = self.l1_regularization_strength
        variable.assign((jnp.clip(linear.value, -l1, l1) - linear.value) / quadratic)
        accumulator.assign(new_accumulator)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Ftrl)}
