"""`ScheduleFreeAdamW`: AdamW without a learning-rate schedule (Defazio et al., 2024)."""

import jax
import jax.numpy as jnp

from lamina._registry import keras_export
from lamina._runtime.state import unwrap
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["ScheduleFreeAdamW"]


@keras_export("keras.optimizers.ScheduleFreeAdamW")
class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW (Defazio et al., 2024, "The Road Less Scheduled").

    Replaces the learning-rate schedule by averaging: the optimizer keeps a sequence `z` (the
    `momentum` slot, which starts at the weights) that takes plain Adam-scaled gradient steps,
    and an average `x` of the `z`s; the model's weights are `y = (1 - beta_1) * z + beta_1 * x`.
    With `t = iterations + 1` and `v` the second-moment average:

    * `v += (g**2 - v) * (1 - beta_2)`;
    * `z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)`;
    * `x = (1 - 1/t) * x + (1/t) * z`, where the old `x` is recovered from the old `y` and `z`;
    * `y = (1 - beta_1) * z + beta_1 * x`.

    During the first `warmup_steps` steps the rate grows linearly, `lr * t / warmup_steps`.
    As in Keras 3, the weights the model holds (and evaluates with) are `y`; `x` is not kept.
    Results match Keras 3's to float32 rounding, and the slots are laid out as Keras's
    (`momentum`, `velocity` per variable), so optimizer state moves between the two.

    Args:
        learning_rate: a float, a schedule or a callable; defaults to 0.0025.
        beta_1: interpolation between `z` and `x`, in (0, 1].
        beta_2: decay of the second-moment average, in [0, 1).
        epsilon: added to the denominator for numerical stability.
        warmup_steps: number of steps of linear warm-up of the rate; 0 for none.
        *args, **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `use_ema`, ...), by keyword or, as in Keras, positionally after these.

    Examples:
        >>> w = lamina.Variable([1.0, 2.0])
        >>> optimizer = lamina.optimizers.ScheduleFreeAdamW(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.array([0.5, -2.0]), w)])
        >>> [round(float(x), 3) for x in w.numpy()]   # the first step moves each weight by ~lr
        [0.9, 2.1]
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, *args, **kwargs):
        cls = type(self).__name__
        # beta_1 divides when `x` is recovered from `y`, so 0 is refused.
        if not _arguments.is_number(beta_1) or not 0 < beta_1 <= 1:
            raise ValueError(
                f"{cls}: argument `beta_1` must be a number in (0, 1]. "
                f"Received: beta_1={beta_1!r}")
        if not _arguments.is_number(beta_2) or not 0 <= beta_2 < 1:
            raise ValueError(
                f"{cls}: argument `beta_2` must be a number in [0, 1). "
                f"Received: beta_2={beta_2!r}")
        if not _arguments.is_number(epsilon) or not epsilon >= 0:
            raise ValueError(
                f"{cls}: argument `epsilon` must be a non-negative number. "
                f"Received: epsilon={epsilon!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) \
                or warmup_steps < 0:
            raise ValueError(
                f"{cls}: argument `warmup_steps` must be a non-negative integer. "
                f"Received: warmup_steps={warmup_steps!r}")
        super().__init__(learning_rate, *args, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = [], []
        for variable in var_list:
            if self._overwrite_variable_with_gradient(variable):
                self._momentums.append(None)
                self._velocities.append(None)
                continue
            # `z` starts at the weights. The initial value is computed outside any trace, so
            # it is the variable's stored value, copied (two Variables never share a buffer).
            self._momentums.append(self.add_variable_from_reference(
                variable, "momentum", initializer=_copy_of(variable)))
            self._velocities.append(self.add_variable_from_reference(variable, "velocity"))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = jnp.asarray(gradient).astype(dtype)
        lr = jnp.asarray(learning_rate).astype(dtype)
        step = (jnp.asarray(unwrap(self.iterations)) + 1).astype(dtype)
        beta_1 = jnp.asarray(self.beta_1, dtype)
        beta_2 = jnp.asarray(self.beta_2, dtype)
        if self.warmup_steps > 0:
            lr = lr * jnp.minimum(step / jnp.asarray(self.warmup_steps, dtype), 1.0)
        index = self._get_variable_index(variable)
        z, v = self._momentums[index], self._velocities[index]
        z_old = z.value
        v.assign(v.value + (jnp.square(gradient) - v.value) * (1 - beta_2))
        denominator = jnp.sqrt(v.value / (1 - jnp.power(beta_2, step))) + self.epsilon
        z.assign(z.value - lr * gradient / denominator)
        weight = 1.0 / step
        x_old = (variable.value - (1 - beta_1) * z_old) / beta_1
        x_new = (1 - weight) * x_old + weight * z.value
        variable.assign((1 - beta_1) * z.value + beta_1 * x_new)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, ScheduleFreeAdamW)}


def _copy_of(variable):
    def initializer(shape, dtype=None):
        return jax.device_put(jnp.asarray(variable.value, dtype=dtype), may_alias=False)
    return initializer
