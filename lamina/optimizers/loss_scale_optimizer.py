"""`LossScaleOptimizer`: dynamic loss scaling around another optimizer, for float16 training.

In float16 small gradients underflow to zero. The trainer multiplies the loss by a large scale
before differentiating (`scale_loss`), which scales every gradient by it too; this optimizer
divides the gradients by the scale again and hands them to the optimizer it wraps. The scale
adapts, with Keras 3's rule and numbers:

* a step whose gradients hold an `inf` or a `nan` is skipped (the weights and the inner
  optimizer's state stay as they were) and the scale is halved;
* after `dynamic_growth_steps` finite steps in a row, the scale is doubled.

The skip is a select between the updated and the old values, traced into the same program
(no Python branch), so it runs inside `fit`'s compiled loop, in `keras.function`, eagerly and
through `stateless_apply`.
"""

import math

import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina import initializers
from lamina._registry import keras_export
from lamina._runtime.state import unwrap
from lamina._runtime.variable import Variable
from lamina.optimizers import _gradients
from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.schedules import LearningRateSchedule

__all__ = ["LossScaleOptimizer"]

# Base arguments older Keras configs of this class carry with their defaults (Keras 3 then
# stopped writing them); any other value is refused, as Keras does.
_BASE_DEFAULTS = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


@keras_export("keras.optimizers.LossScaleOptimizer", "keras.mixed_precision.LossScaleOptimizer")
class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer with dynamic loss scaling (for `"mixed_float16"` training).

    `compile()` wraps the optimizer of a model whose policy is `"mixed_float16"` in one
    automatically (`auto_scale_loss=True`). In a custom training loop, multiply the loss by
    `optimizer.scale_loss(loss)` before taking gradients and apply them with this optimizer,
    which unscales them.

    Args:
        inner_optimizer: the `keras.optimizers.Optimizer` that does the updates.
        initial_scale: the first loss scale (a positive float). Large is better: a scale too
            high is halved at once, one too low only doubles every `dynamic_growth_steps`.
        dynamic_growth_steps: the number of finite steps in a row after which the scale
            doubles (a positive int).
        name: the name (the path prefix of its own variables).

    Its `variables` are its own (`iterations`, an unused learning rate, `step_counter`,
    `dynamic_scale`) followed by the inner optimizer's, as in Keras; `learning_rate` and
    `iterations` are the inner optimizer's.

    Examples:
        >>> w = lamina.Variable([1.0, 2.0])
        >>> optimizer = lamina.optimizers.LossScaleOptimizer(
        ...     lamina.optimizers.SGD(0.1), initial_scale=8.0)
        >>> loss, (grad,) = lamina.value_and_grad(
        ...     lambda: optimizer.scale_loss(jnp.sum(w ** 2)), [w])()
        >>> grad.tolist()                     # scaled by 8
        [16.0, 32.0]
        >>> _ = optimizer.apply([grad], [w])  # unscaled before the SGD step
        >>> w.numpy().tolist()
        [0.800000011920929, 1.600000023841858]
        >>> _ = optimizer.apply([jnp.array([jnp.inf, 1.0])], [w])  # skipped, scale halved
        >>> w.numpy().tolist(), float(optimizer.dynamic_scale.numpy())
        ([0.800000011920929, 1.600000023841858], 4.0)
    """

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. Instead, set "
                "`loss_scale_factor` directly on the `inner_optimizer`.")
        for argument, default in _BASE_DEFAULTS.items():
            if argument in kwargs and kwargs.pop(argument) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not support `{argument}`. Instead, set "
                    f"`{argument}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError(
                f"LossScaleOptimizer does not support arguments: {sorted(kwargs)}. It takes "
                "inner_optimizer, initial_scale, dynamic_growth_steps and name.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(
                "LossScaleOptimizer: argument `inner_optimizer` must be a "
                "keras.optimizers.Optimizer instance, e.g. keras.optimizers.Adam(). Received: "
                f"inner_optimizer={inner_optimizer!r} of type {type(inner_optimizer).__name__}")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise ValueError(
                "LossScaleOptimizer: `inner_optimizer` is already a LossScaleOptimizer "
                f"('{inner_optimizer.name}'); wrapping it again would scale the loss twice. "
                "Pass it directly, or the optimizer it wraps.")
        if (isinstance(initial_scale, bool) or
                not isinstance(initial_scale, (int, float, np.integer, np.floating))):
            raise TypeError(
                "LossScaleOptimizer: argument `initial_scale` must be a positive number, e.g. "
                f"2.0**15. Received: initial_scale={initial_scale!r} of type "
                f"{type(initial_scale).__name__}")
        if not (math.isfinite(initial_scale) and initial_scale > 0):
            raise ValueError(
                "LossScaleOptimizer: argument `initial_scale` must be a positive, finite "
                f"number, e.g. 2.0**15. Received: initial_scale={initial_scale!r}")
        if (isinstance(dynamic_growth_steps, bool) or
                not isinstance(dynamic_growth_steps, (int, np.integer))):
            raise TypeError(
                "LossScaleOptimizer: argument `dynamic_growth_steps` must be a positive int, "
                f"e.g. 2000. Received: dynamic_growth_steps={dynamic_growth_steps!r} of type "
                f"{type(dynamic_growth_steps).__name__}")
        if dynamic_growth_steps < 1:
            raise ValueError(
                "LossScaleOptimizer: argument `dynamic_growth_steps` must be >= 1. Received: "
                f"dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        # A change in the inner optimizer (a new clipnorm, a schedule) makes programs compiled
        # for this one stale, as a sublayer's change does for its model.
        inner_optimizer._owners.add(self)
        # Kept as given (an int stays an int in the config, as in Keras), as a Python number.
        self.initial_scale = initial_scale.item() if isinstance(
            initial_scale, np.generic) else initial_scale
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        # The gradients are unscaled here: the inner optimizer must not unscale them again.
        inner_optimizer.loss_scale_factor = None

    # ----------------------------------------------------------------------------- state
    def build(self, var_list):
        """Creates `step_counter` and `dynamic_scale`, then builds the inner optimizer."""
        if self.built:
            return
        var_list = list(var_list)
        self.step_counter = self.add_variable(
            shape=(), dtype="int32", initializer=initializers.Zeros(), name="step_counter")
        self.dynamic_scale = self.add_variable(
            shape=(), dtype="float32", initializer=initializers.Constant(self.initial_scale),
            name="dynamic_scale")
        # Outside this optimizer's name scope: the inner optimizer's slots are named after it
        # alone (`adam/dense_kernel_momentum`).
        self.inner_optimizer._build_once(var_list)
        super().build(var_list)

    def _build_once(self, variables):
        if self.built:
            return
        _gradients.check_float_variables(variables, self.name)
        created = len(self._variables)
        try:
            self.build(variables)
        except BaseException:
            for variable in self._variables[created:]:
                self._tracker.untrack(variable)
            self.built = False
            raise
        self.built = True

    @property
    def variables(self):
        """Its own variables (`iterations`, the unused learning rate, `step_counter`,
        `dynamic_scale`), then the inner optimizer's: the order `stateless_apply` takes."""
        return list(self._variables) + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate (setting it sets the inner one's)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    lr = learning_rate

    @property
    def iterations(self):
        """The inner optimizer's `iterations`: the number of updates applied (skipped steps
        do not count)."""
        return self.inner_optimizer.iterations

    # ----------------------------------------------------------------------------- scaling
    def scale_loss(self, loss):
        """`loss` times the current scale (`initial_scale` before the first update)."""
        scale = self.dynamic_scale.value if self.built else self.initial_scale
        return loss * scale

    def check_finite(self, grads):
        """A boolean scalar: whether every gradient is free of `inf` and `nan`."""
        flags = [jnp.all(jnp.isfinite(g)) for g in grads if g is not None]
        return jnp.all(jnp.stack(flags)) if flags else jnp.asarray(True)

    def _apply_in_scope(self, grads, variables):
        finite = self.check_finite(grads)
        scale = self.dynamic_scale.value
        # Gradients are unscaled by the scale of the step that produced them (the one
        # scale_loss used), before the scale itself changes below.
        unscaled = [g if self._overwrite_variable_with_gradient(v) else g / scale
                    for g, v in zip(grads, variables)]
        touched = list(variables) + self.inner_optimizer.variables
        before = [v.value for v in touched]
        self.inner_optimizer._apply_in_scope(unscaled, list(variables))
        # A non-finite step keeps every value it would have changed: weights and the inner
        # optimizer's state (its iterations included).
        for variable, old in zip(touched, before):
            variable.assign(jnp.where(finite, variable.value, old))
        counter = self.step_counter.value
        grow = counter == self.dynamic_growth_steps - 1
        self.step_counter.assign(jnp.where(finite & ~grow, counter + 1, 0))
        self.dynamic_scale.assign(
            jnp.where(finite, jnp.where(grow, scale * 2.0, scale), scale * 0.5))

    def _call_compiled(self, key, fn, *args, **kwargs):
        if key != "apply_gradients":
            return super()._call_compiled(key, fn, *args, **kwargs)
        # An eager update: a callable learning rate of the inner optimizer is called here, on
        # every step, and passed to the compiled update (as the base does for its own rate).
        grads, variables, _ = args
        rate = self.inner_optimizer._learning_rate
        override = None
        if callable(rate) and not isinstance(rate, (LearningRateSchedule, Variable)):
            override = jnp.asarray(unwrap(rate()))
        return super()._call_compiled(key, self._update_with_inner_rate, grads, variables,
                                      override)

    def _update_with_inner_rate(self, grads, variables, rate):
        inner = self.inner_optimizer
        object.__setattr__(inner, "_learning_rate_override", rate)
        try:
            self._apply_in_scope(list(grads), list(variables))
        finally:
            object.__setattr__(inner, "_learning_rate_override", None)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The pure form of `apply`: returns `(new_trainable_values, new_optimizer_values)`,
        with `optimizer_variables` in the order of `variables` (its own, then the inner
        optimizer's). A non-finite step returns the trainable values unchanged."""
        return super().stateless_apply(optimizer_variables, grads, trainable_variables)

    def finalize_variable_values(self, var_list):
        """Ends training: the inner optimizer's (its EMA, if any)."""
        self.inner_optimizer.finalize_variable_values(var_list)

    def _swap_ema_weights(self, var_list=None):
        self.inner_optimizer._swap_ema_weights(var_list)

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        return {"name": self.name,
                "inner_optimizer": serialization.serialize_keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = config.pop("inner_optimizer", None)
        if isinstance(inner, dict):
            inner = serialization.deserialize_keras_object(inner, custom_objects=custom_objects,
                                                           printable_module_name="optimizer")
        return cls(inner, **config)

    def __repr__(self):
        return (f"<LossScaleOptimizer name={self.name}, inner={self.inner_optimizer.name}, "
                f"built={self.built}>")
