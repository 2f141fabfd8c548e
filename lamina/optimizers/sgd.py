"""`SGD`: gradient descent, with optional (Nesterov) momentum."""

import jax.numpy as jnp

from lamina.optimizers.optimizer import Optimizer
from lamina._registry import keras_export

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
        **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`, `use_ema`, ...).

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> optimizer = lamina.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     _ = optimizer.apply_gradients([(jnp.array([1.0]), w)])
        >>> round(float(w[0]), 4)   # 1 - 0.1 - (0.9 * 0.1 + 0.1)
        0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(
            learning_rate=learning_rate, name=name, weight_decay=weight_decay,
            clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
            use_ema=use_ema, ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
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
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
