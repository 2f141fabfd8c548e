"""Per-coordinate adaptive rates: `Adagrad`, `Adadelta`, `RMSprop` and `Adafactor`.

Each divides the gradient by a running measure of its size. Update rules, epsilon placement
and slot order are Keras 3's.
"""

import jax.numpy as jnp

from lamina import initializers
from lamina._registry import keras_export
from lamina.optimizers import _arguments
from lamina.optimizers.optimizer import Optimizer

__all__ = ["Adadelta", "Adafactor", "Adagrad", "RMSprop"]


def _cast(gradient, learning_rate, dtype):
    return jnp.asarray(gradient).astype(dtype), jnp.asarray(learning_rate).astype(dtype)


@keras_export("keras.optimizers.Adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): rates scaled by the sum of all past squared gradients.

    `accumulator += g**2`, `w -= lr * g / sqrt(accumulator + epsilon)`.

    Args:
        learning_rate: defaults to 0.001.
        initial_accumulator_value: the accumulators' starting value (>= 0).
        epsilon: added inside the square root.
        *args, **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `use_ema`, ...), by keyword or, as in Keras, positionally after these.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> _ = lamina.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0,
        ...                               epsilon=0.0).apply_gradients([(jnp.array([3.0]), w)])
        >>> round(float(w[0]), 4)
        0.9
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator",
            initializer=initializers.Constant(self.initial_accumulator_value))

    def update_step(self, gradient, variable, learning_rate):
        gradient, lr = _cast(gradient, learning_rate, variable.dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        accumulator.assign(accumulator.value + jnp.square(gradient))
        variable.assign(variable.value
                        - (lr * gradient) / jnp.sqrt(accumulator.value + self.epsilon))

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Adagrad)}


@keras_export("keras.optimizers.Adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): steps sized by the ratio of the RMS of past updates to the RMS
    of past gradients.

    `acc_g = rho * acc_g + (1 - rho) * g**2`,
    `delta = -sqrt(acc_d + epsilon) * g / sqrt(acc_g + epsilon)`,
    `acc_d = rho * acc_d + (1 - rho) * delta**2`, `w += lr * delta`.

    Args:
        learning_rate: defaults to 0.001 (1.0 reproduces the paper's rate-free method).
        rho: the decay rate of both averages.
        epsilon: added inside the square roots.
        *args, **kwargs: the base optimizer's arguments, as in `Adagrad`.

    Examples:
        >>> w = lamina.Variable([1.0])
        >>> _ = lamina.optimizers.Adadelta(learning_rate=1.0).apply_gradients(
        ...     [(jnp.array([1.0]), w)])
        >>> float(w[0]) < 1.0
        True
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def update_step(self, gradient, variable, learning_rate):
        gradient, lr = _cast(gradient, learning_rate, variable.dtype)
        rho = self.rho
        index = self._get_variable_index(variable)
        acc_grad = self._accumulated_grads[index]
        acc_delta = self._accumulated_delta_vars[index]
        acc_grad.assign(rho * acc_grad.value + (1 - rho) * jnp.square(gradient))
        delta = -((jnp.sqrt(acc_delta.value + self.epsilon) * gradient)
                  / jnp.sqrt(acc_grad.value + self.epsilon))
        acc_delta.assign(rho * acc_delta.value + (1 - rho) * jnp.square(delta))
        variable.assign(variable.value + lr * delta)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Adadelta)}


@keras_export("keras.optimizers.RMSprop")
class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): the gradient divided by a moving RMS of recent gradients.

    `velocity = rho * velocity + (1 - rho) * g**2`; the step is
    `lr * g / sqrt(velocity + epsilon)` (with `centered=True`, the variance
    `velocity - average_gradient**2` replaces `velocity`). With `momentum > 0` the steps are
    accumulated: `m = momentum * m + step`, `w -= m`; otherwise `w -= step`.

    Args:
        learning_rate: defaults to 0.001.
        rho: the decay of the moving averages.
        momentum: plain (not Nesterov) momentum; 0 creates no momentum slots.
        epsilon: added inside the square root.
        centered: normalize by the estimated variance rather than the second moment.
        *args, **kwargs: the base optimizer's arguments, as in `Adagrad`.

    Examples:
        >>> w = lamina.Variable(10.0)
        >>> _ = lamina.optimizers.RMSprop(learning_rate=0.1).apply_gradients([(w.value, w)])
        >>> round(float(w), 4)   # 10 - 0.1 * 10 / sqrt(0.1 * 100)
        9.6838
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list,
                                                                   "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        gradient, lr = _cast(gradient, learning_rate, variable.dtype)
        rho = self.rho
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        velocity.assign(rho * velocity.value + (1 - rho) * jnp.square(gradient))
        if self.centered:
            average = self._average_gradients[index]
            average.assign(rho * average.value + (1 - rho) * gradient)
            denominator = velocity.value - jnp.square(average.value) + self.epsilon
        else:
            denominator = velocity.value + self.epsilon
        increment = (lr * gradient) / jnp.sqrt(denominator)
        if self.momentum > 0:
            momentum = self._momentums[index]
            momentum.assign(self.momentum * momentum.value + increment)
            variable.assign(variable.value - momentum.value)
        else:
            variable.assign(variable.value - increment)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, RMSprop)}


@keras_export("keras.optimizers.Adafactor")
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018): Adam-like second moments stored factored.

    For a variable of rank >= 2 only row and column averages of `g**2 + epsilon_1` are kept
    (`r`, `c`), and the second moment is rebuilt as their outer product divided by the mean
    of `r`; smaller variables keep a full `velocity`. With `t = iterations + 1`, the decay is
    `beta_2_t = 1 - t**beta_2_decay`, the step size
    `max(epsilon_2, rms(w)) * min(learning_rate, 1 / sqrt(t))`, and the normalized update is
    clipped to an RMS of `clip_threshold`.

    As in Keras 3, the relative step `min(learning_rate, 1 / sqrt(t))` is used whatever
    `relative_step` says (the argument is kept for configs).

    Args:
        learning_rate: defaults to 0.001.
        beta_2_decay: the exponent of the second-moment decay schedule.
        epsilon_1: added to the squared gradients.
        epsilon_2: the smallest weight RMS the step is scaled by.
        clip_threshold: the largest RMS of the normalized update.
        relative_step: kept for Keras compatibility (see above).
        *args, **kwargs: the base optimizer's arguments, as in `Adagrad`.

    Examples:
        >>> w = lamina.Variable(jnp.ones((2, 3)))
        >>> optimizer = lamina.optimizers.Adafactor(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.ones((2, 3)), w)])
        >>> [v.shape for v in optimizer.variables[2:]]   # r, c, then a full velocity
        [(2,), (3,), (2, 3)]
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for variable in var_list:
            if len(variable.shape) < 2:
                # Unused placeholders, created as Keras creates them so that the optimizer's
                # variables (and its weights files) line up with Keras's.
                self._r.append(self.add_variable((), dtype="int32", name=variable.name))
                self._c.append(self.add_variable((), dtype="int32", name=variable.name))
            elif self._overwrite_variable_with_gradient(variable):
                self._r.append(None)
                self._c.append(None)
            else:
                shape = variable.shape
                self._r.append(self.add_variable(shape[:-1], dtype=variable.dtype,
                                                 name=variable.name))
                self._c.append(self.add_variable(shape[:-2] + shape[-1:],
                                                 dtype=variable.dtype, name=variable.name))
            self._v.append(None if self._overwrite_variable_with_gradient(variable)
                           else self.add_variable_from_reference(variable, "velocity"))

    @staticmethod
    def _rms(x):
        return jnp.sqrt(jnp.mean(jnp.square(x)))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient, lr = _cast(gradient, learning_rate, dtype)
        epsilon_2 = jnp.asarray(self.epsilon_2, dtype)
        one = jnp.asarray(1.0, dtype)
        step = (jnp.asarray(getattr(self.iterations, "value", self.iterations)) + 1).astype(
            dtype)
        index = self._get_variable_index(variable)
        r, c, v = self._r[index], self._c[index], self._v[index]
        rho_t = jnp.minimum(lr, 1 / jnp.sqrt(step))
        alpha_t = jnp.maximum(epsilon_2, self._rms(variable.value)) * rho_t
        squared = jnp.square(gradient) + self.epsilon_1
        beta_2_t = 1 - jnp.power(step, self.beta_2_decay)
        if len(variable.shape) >= 2:
            r.assign(beta_2_t * r.value + (1 - beta_2_t) * jnp.mean(squared, axis=-1))
            c.assign(beta_2_t * c.value + (1 - beta_2_t) * jnp.mean(squared, axis=-2))
            row_share = r.value / jnp.mean(r.value, axis=-1, keepdims=True)
            v.assign(row_share[..., :, None] * c.value[..., None, :])
        else:
            v.assign(beta_2_t * v.value + (1 - beta_2_t) * squared)
        u_t = gradient / jnp.sqrt(v.value)
        u_t_hat = u_t / jnp.maximum(one, self._rms(u_t) / self.clip_threshold)
        variable.assign(variable.value - alpha_t * u_t_hat)

    def get_config(self):
        return {**super().get_config(), **_arguments.own_config(self, Adafactor)}
