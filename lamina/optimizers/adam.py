"""The Adam family: `Adam`, `AdamW`, `Adamax`, `Nadam` and `Lamb`.

Each keeps running averages of the gradient (`momentum`) and of its square or magnitude
(`velocity`, `norm`), bias-corrected with the step `t = iterations + 1`. The update rules,
epsilon placement and slot order are Keras 3's, so results agree with Keras to float32
rounding and optimizer weights files line up.
"""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina._runtime.state import unwrap
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["Adam", "AdamW", "Adamax", "Lamb", "Nadam"]


def _local_step(optimizer, dtype, offset=1):
    """`iterations + offset` as a float of `dtype` (bias correction counts steps from 1)."""
    return (jnp.asarray(unwrap(optimizer.iterations)) + offset).astype(dtype)


def _cast(gradient, learning_rate, dtype):
    return jnp.asarray(gradient).astype(dtype), jnp.asarray(learning_rate).astype(dtype)


class _Moments(Optimizer):
    """The arguments the whole family takes, in Keras's order: the decay rates of the two
    running averages and the denominator's epsilon (Adamax, Nadam and Lamb take no others)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *args,
                 **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, _Moments)}


@keras_export("keras.optimizers.Adam")
class Adam(_Moments):
    """Adam (Kingma & Ba, 2014): moment estimates of the gradient and its square.

    With `t = iterations + 1`:
    `m += (g - m) * (1 - beta_1)`, `v += (g**2 - v) * (1 - beta_2)`,
    `w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)`.
    `epsilon` is the "epsilon hat" of the paper (added after the bias correction of the
    rate). With `amsgrad=True` (Reddi et al., 2018), `v` is replaced by its running maximum.

    Args:
        learning_rate: a float, a schedule or a callable; defaults to 0.001.
        beta_1: decay of the first-moment average.
        beta_2: decay of the second-moment average.
        epsilon: added to the denominator for numerical stability.
        amsgrad: use the AMSGrad variant.
        *args, **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `use_ema`, ...), by keyword or, as in Keras, positionally after these.

    Examples:
        >>> w = lamina.Variable([1.0, 2.0])
        >>> _ = lamina.optimizers.Adam(learning_rate=0.1).apply_gradients(
        ...     [(jnp.array([0.5, -2.0]), w)])
        >>> [round(float(x), 3) for x in w.numpy()]   # the first Adam step moves each weight by ~lr
        [0.9, 2.1]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, *args, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, *args, **kwargs)
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient, lr = _cast(gradient, learning_rate, dtype)
        step = _local_step(self, dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        v.assign(v.value + (jnp.square(gradient) - v.value) * (1 - self.beta_2))
        velocity = v.value
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_hat.assign(jnp.maximum(v_hat.value, velocity))
            velocity = v_hat.value
        variable.assign(variable.value - (m.value * alpha) / (jnp.sqrt(velocity) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


@keras_export("keras.optimizers.AdamW")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the weights, `w -= w * weight_decay * learning_rate`, then applies
    the Adam update. Exempt biases and normalization scales with
    `optimizer.exclude_from_weight_decay(var_names=["bias", "gamma"])`.

    Args:
        learning_rate: defaults to 0.001.
        weight_decay: the decay rate (required; defaults to 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        *args, **kwargs: the base optimizer's other arguments, as in `Adam`.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> optimizer = lamina.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> _ = optimizer.apply_gradients([(jnp.array([0.0]), w)])
        >>> float(w[0])   # decayed by lr * weight_decay; a zero gradient adds no Adam step
        0.949999988079071
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, *args, **kwargs):
        if weight_decay is None:
            raise ValueError(
                "Argument `weight_decay` must be a float. Received: weight_decay=None (use "
                "Adam for no weight decay).")
        # Keras's AdamW takes `weight_decay` second; Adam passes it on as the first base one.
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, *args,
                         **kwargs)


@keras_export("keras.optimizers.Adamax")
class Adamax(_Moments):
    """Adamax (Kingma & Ba, 2014, section 7.1): Adam with the infinity norm.

    `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
    `w -= lr * m / ((1 - beta_1**t) * (u + epsilon))`.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: decay of the first-moment average.
        beta_2: decay of the exponentially weighted infinity norm.
        epsilon: added to the denominator.
        *args, **kwargs: the base optimizer's arguments, as in `Adam`.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> optimizer = lamina.optimizers.Adamax(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.array([2.0]), w)])
        >>> round(float(w[0]), 4)
        0.9
    """

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient, lr = _cast(gradient, learning_rate, dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), _local_step(self, dtype))
        index = self._get_variable_index(variable)
        m, u = self._m[index], self._u[index]
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        u.assign(jnp.maximum(self.beta_2 * u.value, jnp.abs(gradient)))
        variable.assign(variable.value - (lr * m.value)
                        / ((1 - beta_1_power) * (u.value + self.epsilon)))


@keras_export("keras.optimizers.Nadam")
class Nadam(_Moments):
    """Nadam (Dozat, 2015): Adam with Nesterov momentum.

    The momentum coefficient follows the schedule `u_t = beta_1 * (1 - 0.5 * 0.96**t)`; the
    product of the `u`s so far is kept in a variable (`u_product`), and
    `m_hat = u_{t+1} * m / (1 - prod u_{..t+1}) + (1 - u_t) * g / (1 - prod u_{..t})`,
    `w -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)`.

    Args:
        learning_rate: defaults to 0.001.
        beta_1, beta_2, epsilon: as in `Adam`.
        *args, **kwargs: the base optimizer's arguments, as in `Adam`.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> optimizer = lamina.optimizers.Nadam(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.array([1.0]), w)])
        >>> round(float(w[0]), 3)
        0.894
    """

    def build(self, var_list):
        if self.built:
            return
        dtype = var_list[0].dtype if var_list else None
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        # Keras creates this one last, so it is the last of `variables`.
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype,
                                            name="u_product")

    def _backend_update_step(self, grads, variables, learning_rate):
        # Once per step, before the per-variable updates: extend the product of the u_t.
        u_product = self._u_product
        step = _local_step(self, u_product.dtype)
        u_product.assign(u_product.value * self.beta_1 * (1.0 - 0.5 * jnp.power(0.96, step)))
        super()._backend_update_step(grads, variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient, lr = _cast(gradient, learning_rate, dtype)
        step = _local_step(self, dtype)
        next_step = _local_step(self, dtype, offset=2)
        decay = jnp.asarray(0.96, dtype)
        beta_1 = jnp.asarray(self.beta_1, dtype)
        beta_2 = jnp.asarray(self.beta_2, dtype)
        u_t = beta_1 * (1.0 - 0.5 * jnp.power(decay, step))
        u_t_1 = beta_1 * (1.0 - 0.5 * jnp.power(decay, next_step))
        u_product_t = self._u_product.value.astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = jnp.power(beta_2, step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m.assign(m.value + (gradient - m.value) * (1 - beta_1))
        v.assign(v.value + (jnp.square(gradient) - v.value) * (1 - beta_2))
        m_hat = (u_t_1 * m.value) / (1 - u_product_t_1) + ((1 - u_t) * gradient) / (
            1 - u_product_t)
        v_hat = v.value / (1 - beta_2_power)
        variable.assign(variable.value - (m_hat * lr) / (jnp.sqrt(v_hat) + self.epsilon))


@keras_export("keras.optimizers.Lamb")
class Lamb(_Moments):
    """LAMB (You et al., 2019): Adam's direction, scaled per variable by the trust ratio
    `||w|| / ||update||` (1 when either norm is 0), for large-batch training.

    `update = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)`,
    `w -= ratio * lr * update`.

    Args:
        learning_rate: defaults to 0.001.
        beta_1, beta_2, epsilon: as in `Adam`.
        *args, **kwargs: the base optimizer's arguments, as in `Adam`.

    Examples:
        >>> w = lamina.Variable([3.0, 4.0])
        >>> _ = lamina.optimizers.Lamb(learning_rate=0.1).apply_gradients(
        ...     [(jnp.array([1.0, 1.0]), w)])
        >>> [round(float(x), 3) for x in w.numpy()]   # the step has norm lr * ||w|| = 0.5
        [2.646, 3.646]
    """

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient, lr = _cast(gradient, learning_rate, dtype)
        step = _local_step(self, dtype)
        beta_1_power = jnp.power(jnp.asarray(self.beta_1, dtype), step)
        beta_2_power = jnp.power(jnp.asarray(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m.assign(m.value + (gradient - m.value) * (1 - self.beta_1))
        v.assign(v.value + (jnp.square(gradient) - v.value) * (1 - self.beta_2))
        m_hat = m.value / (1.0 - beta_1_power)
        update = m_hat / (jnp.sqrt(v.value / (1.0 - beta_2_power)) + self.epsilon)
        weight_norm = jnp.sqrt(jnp.sum(jnp.square(variable.value)))
        update_norm = jnp.sqrt(jnp.sum(jnp.square(update)))
        ratio = jnp.where(weight_norm > 0,
                          jnp.where(update_norm > 0, weight_norm / update_norm, 1.0), 1.0)
        variable.assign(variable.value - ratio * lr * update)
