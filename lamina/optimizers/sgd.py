"""`SGD`: gradient descent, with optional (Nesterov) momentum."""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["SGD"]


@keras_export("keras.optimizers.SGD")
class SGD(Optimizer):
    """Gradient descent, with momentum (Polyak, 1964) or Nesterov momentum (Sutskever et al.,
    2013).

    Without momentum: `w -= learning_rate * g`. With momentum:
    `velocity = momentum * velocity - learning_rate * g`, then `w += velocity`, or with
    `nesterov=True`, `w += momentum * velocity - learning_rate * g`.

    Args:
        learning_rate: a float, a schedule or a callable; defaults to 0.01.
        momentum: a float in [0, 1]; 0 is plain gradient descent (and creates no slots).
        nesterov: whether to use Nesterov momentum.
        *args, **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `use_ema`, ...), by keyword or, as in Keras, positionally after these.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> optimizer = lamina.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     _ = optimizer.apply_gradients([(jnp.array([1.0]), w)])
        >>> round(float(w[0]), 4)   # 1 - 0.1 - (0.9 * 0.1 + 0.1)
        0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not (
                0 <= momentum <= 1):
            raise ValueError(
                f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = jnp.asarray(learning_rate).astype(dtype)
        gradient = jnp.asarray(gradient).astype(dtype)
        velocity = self.momentums[self._get_variable_index(variable)] if self.momentum else None
        if velocity is None:
            variable.assign(variable.value - gradient * lr)
            return
        momentum = jnp.asarray(self.momentum, dtype)
        velocity.assign(velocity.value * momentum - gradient * lr)
        if self.nesterov:
            variable.assign(variable.value + (velocity.value * momentum - gradient * lr))
        else:
            variable.assign(variable.value + velocity.value)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, SGD)}
