"""`Optimizer`: the base class of every optimizer, with Keras 3's protocol.

A subclass creates its slots in `build(var_list)` (usually with `add_variable_from_reference`)
and updates one variable in `update_step(gradient, variable, learning_rate)`. The base does the
rest of `apply_gradients`, in Keras 3's order: checks, skipping None gradients,
`loss_scale_factor` unscaling, gradient accumulation, clipping, decoupled weight decay, the
update steps, the moving average of the weights (EMA), each variable's `constraint`, and
`iterations += 1`.

An optimizer only reads and assigns Variables, so one implementation serves every way lamina
runs stateful code:

* inside a compiled function (`keras.function`, the trainer's step) or under `run_pure`, the
  update is traced into the caller's program; slots created on the first trace are carried by
  the compiled function from then on;
* `stateless_apply(optimizer_values, grads, trainable_values)` is the pure form, for code
  that threads state itself (`jax.jit`, `lax.scan`);
* eagerly (no scope active), `apply_gradients` runs one cached compiled update per variable
  set, so a plain Python training loop does not pay for op-by-op dispatch.
"""

import contextlib
import re
import warnings

import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina import initializers
from lamina._registry import keras_export
from lamina._runtime import config as _config
from lamina._runtime import naming, sharding
from lamina._runtime.scope import current_scope, run_pure
from lamina._runtime.state import unwrap
from lamina._runtime.stateful import Stateful
from lamina._runtime.variable import Variable
from lamina.optimizers import _arguments, _gradients
from lamina.optimizers.schedules import LearningRateSchedule

__all__ = ["Optimizer"]

@keras_export("keras.optimizers.Optimizer", "keras.Optimizer")
class Optimizer(Stateful):
    """The base class of optimizers. Subclass it and implement `build` and `update_step`.

    Args:
        learning_rate: a float, a `keras.optimizers.schedules.LearningRateSchedule` (called
            with `iterations`), or a callable taking no arguments and returning the rate.
        weight_decay: if set, decoupled weight decay: each step first does
            `w -= w * weight_decay * learning_rate` (see `exclude_from_weight_decay`).
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient's elements to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm. At most one of
            the three clipping arguments may be set.
        use_ema: keep an exponential moving average of the weights:
            `average = ema_momentum * average + (1 - ema_momentum) * weight` after each step.
        ema_momentum: the EMA momentum, in [0, 1].
        ema_overwrite_frequency: with EMA, every this many steps the weights are replaced by
            their average; None leaves that to `finalize_variable_values()` (which `fit` calls
            at the end of training).
        loss_scale_factor: gradients are divided by it before use; `scale_loss(loss)`
            multiplies the loss by it (for mixed precision).
        gradient_accumulation_steps: if an int >= 2, gradients are summed over this many calls
            and their mean applied on the last one; the weights change only then. `iterations`
            counts applied updates (calls // steps), and schedules see the number of calls.
        name: the name, used as the path prefix of the optimizer's variables (`adam/...`).

    Examples:
        Momentum SGD, written with the custom-optimizer protocol:

        >>> class MomentumSGD(lamina.optimizers.Optimizer):
        ...     def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        ...         super().__init__(learning_rate=learning_rate, **kwargs)
        ...         self.momentum = momentum
        ...     def build(self, var_list):
        ...         if self.built:
        ...             return
        ...         super().build(var_list)
        ...         self.velocities = [self.add_variable_from_reference(v, "velocity")
        ...                            for v in var_list]
        ...     def update_step(self, gradient, variable, learning_rate):
        ...         velocity = self.velocities[self._get_variable_index(variable)]
        ...         self.assign(velocity, self.momentum * velocity - learning_rate * gradient)
        ...         self.assign_add(variable, velocity)
        ...     def get_config(self):
        ...         return {**super().get_config(), "momentum": self.momentum}
        >>> w = lamina.Variable([1.0, 2.0])
        >>> optimizer = MomentumSGD(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(jnp.array([1.0, 1.0]), w)])
        >>> w.numpy().tolist()
        [0.8999999761581421, 1.899999976158142]
    """

    # Eager `apply_gradients` runs a cached compiled update. Set `_compile_eager_calls` to
    # False on a class or an instance to run updates op by op instead (to step through
    # `update_step` in a debugger).
    # The variables the optimizer updates belong to the model, not to the optimizer.
    _untracked_attributes = frozenset({"_trainable_variables", "_trainable_variables_indices",
                                       "_learning_rate_override"})

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        learning_rate = _arguments.check_base_arguments(
            cls, learning_rate, kwargs, weight_decay=weight_decay, clipnorm=clipnorm,
            clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
            ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps)
        if name is None:
            name = naming.unique_name(naming.to_snake_case(cls))
        elif not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"An optimizer's name must be a non-empty string without '/'. Received: "
                f"name={name!r}")

        collections = {"variables": []}
        Stateful.__init__(self, collections)
        object.__setattr__(self, "_variables", collections["variables"])
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._learning_rate_override = None
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._exclude_from_weight_decay_ids = frozenset()
        self._exclude_from_weight_decay_pattern = None
        with self._name_scope():
            self._iterations = Variable(0, name="iteration", dtype="int32", trainable=False,
                                        aggregation="only_first_replica")
            if isinstance(learning_rate, float):
                learning_rate = Variable(learning_rate, name="learning_rate",
                                         dtype=_config.floatx(), trainable=False,
                                         aggregation="only_first_replica")
        self._learning_rate = learning_rate

    def _track_variable(self, variable):
        self._tracker.add("variables", variable)

    @property
    def variables(self):
        """The optimizer's state, in creation order: `iterations`, the learning rate (when it
        is a float), then the slots `build` created. `stateless_apply` takes and returns
        values in this order."""
        return list(self._variables)

    @property
    def iterations(self):
        """The number of updates applied so far.

        A non-trainable int32 Variable (int32 because JAX's 64-bit mode is off; Keras on
        TensorFlow uses int64). With `gradient_accumulation_steps`, it is the number of
        applied updates, `calls // steps`, as an array (as in Keras 3).
        """
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    # ----------------------------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The current learning rate: the learning-rate Variable for a float rate, else the
        schedule evaluated at `iterations`, or the callable's result.

        Assign a float to change a float rate (e.g. from a callback); assign a schedule or a
        callable to replace the rate altogether.
        """
        if self._learning_rate_override is not None:
            return self._learning_rate_override
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            return rate(self._iterations)
        if isinstance(rate, Variable):
            return rate
        return rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        old = self._learning_rate
        if isinstance(learning_rate, LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, Variable)):
            object.__setattr__(self, "_learning_rate", learning_rate)
            if isinstance(old, Variable):
                self._tracker.untrack(old)
            self._mark_changed()  # programs compiled with the old rate are stale
            return
        if not isinstance(old, Variable):
            kind = ("a LearningRateSchedule" if isinstance(old, LearningRateSchedule)
                    else "a callable")
            raise TypeError(
                f"Optimizer '{self.name}' was created with {kind} as its learning rate, so a "
                "number cannot be assigned to it. Assign another schedule or callable, or "
                "create the optimizer with a float learning_rate to make it settable.")
        if not _gradients.is_traced(unwrap(learning_rate)):
            _arguments.check_learning_rate(type(self).__name__, learning_rate)
        old.assign(learning_rate)

    # Keras 2's spelling, still found in older code (`K.set_value(optimizer.lr, 1e-3)`).
    lr = learning_rate

    def _learning_rate_value(self):
        """The current learning rate as a scalar array (what `update_step` receives)."""
        return jnp.asarray(unwrap(self.learning_rate))

    # ----------------------------------------------------------------------------- building
    def build(self, var_list):
        """Creates the optimizer's state for `var_list`. Called once, by the first update.

        Subclasses create their slots here (after `super().build(var_list)`) and return early
        when `self.built` is already True. The base creates the EMA averages and gradient
        accumulators its options need and records the variables' order, which
        `_get_variable_index(variable)` looks up.
        """
        var_list = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, name="gradient_accumulator")
                for v in var_list]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self._trainable_variables = var_list
        self.built = True

    def _build_once(self, variables):
        """Builds on `variables` if not built yet; a failing build is rolled back."""
        if self.built:
            return
        _gradients.check_float_variables(variables, self.name)
        created = len(self._variables)
        try:
            with self._name_scope():
                self.build(variables)
            self.built = True
        except BaseException:
            for variable in self._variables[created:]:
                self._tracker.untrack(variable)
            self.built = False
            self._trainable_variables = []
            self._trainable_variables_indices = {}
            raise

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     layout=None, name=None):
        """Creates a non-trainable Variable that belongs to the optimizer (a slot).

        Its path is `<optimizer name>/<name>`. `dtype` defaults to `keras.config.floatx()`.
        `layout` is accepted for Keras compatibility.
        """
        self._check_super_called()
        del layout
        with self._name_scope():
            variable = Variable(initializers.get(initializer), shape=tuple(shape), dtype=dtype,
                                trainable=False, aggregation=aggregation or "none", name=name)
        self._track_variable(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Creates a slot with the shape and dtype of `reference_variable`.

        It is named as in Keras 3: the reference's path with `/` replaced by `_`, then
        `_<name>`: the momentum of `sequential/dense/kernel` in an Adam called `adam` is
        `adam/sequential_dense_kernel_momentum`.
        """
        prefix = getattr(reference_variable, "path", None) or str(reference_variable.name)
        prefix = prefix.replace("/", "_").replace(":", "_")
        # Under keras.distribution a slot the layout map does not name follows its weight's
        # layout, so a sharded kernel's Adam moments are sharded alike.
        with sharding.layout_like(reference_variable):
            return self.add_variable(shape=reference_variable.shape, initializer=initializer,
                                     dtype=reference_variable.dtype,
                                     name=f"{prefix}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable (`name` a string), or one list per name (`name` a list).

        Slots of several names are created interleaved, variable by variable, as Keras does,
        so `variables` lists them in Keras's order. Variables marked
        `overwrite_with_gradient` get None instead of a slot.
        """
        names = [name] if isinstance(name, str) else list(name)
        if isinstance(name, str) or not isinstance(initializer, (list, tuple)):
            initializers_ = [initializer] * len(names)
        else:
            initializers_ = list(initializer)
        if len(names) != len(initializers_):
            raise ValueError(
                "add_optimizer_variables: the number of names must match the number of "
                f"initializers. Received: name={name!r}, initializer={initializer!r}")
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for index, (slot_name, slot_initializer) in enumerate(zip(names, initializers_)):
                slots[index].append(
                    None if self._overwrite_variable_with_gradient(variable)
                    else self.add_variable_from_reference(variable, slot_name,
                                                          slot_initializer))
        return slots[0] if isinstance(name, str) else slots

    def _var_key(self, variable):
        return id(variable)

    def _get_variable_index(self, variable):
        """The position of `variable` in the list the optimizer was built with."""
        return self._trainable_variables_indices[id(variable)]

    def _check_variables_are_known(self, variables):
        for variable in variables:
            if id(variable) not in self._trainable_variables_indices:
                raise ValueError(
                    f"Unknown variable '{variable.path}' (shape {variable.shape}): optimizer "
                    f"'{self.name}' was built for {len(self._trainable_variables)} other "
                    "variables, and can only update those (or a subset). To train a new set "
                    "of variables, create a new optimizer.")

    @staticmethod
    def _overwrite_variable_with_gradient(variable):
        return getattr(variable, "overwrite_with_gradient", False)

    # ----------------------------------------------------------------------------- updating
    def assign(self, variable, value):
        """`variable.assign(value)`; use it in `update_step` (Keras 3's protocol)."""
        variable.assign(value)

    def assign_add(self, variable, value):
        """`variable.assign_add(value)`."""
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        """`variable.assign_sub(value)`."""
        variable.assign_sub(value)

    def update_step(self, gradient, variable, learning_rate):
        """Updates `variable` (and its slots) from `gradient`. Subclasses implement it.

        `gradient` is an array of the variable's shape, already unscaled, accumulated and
        clipped; `learning_rate` is the current rate as a scalar array. Assign with
        `self.assign(...)`, `self.assign_add(...)`, `self.assign_sub(...)` (or the Variables'
        own methods), using array operations on whole arrays.
        """
        raise NotImplementedError(
            f"Optimizer {type(self).__name__} must implement update_step(self, gradient, "
            "variable, learning_rate) (and build(self, var_list) to create its slots).")

    def apply_gradients(self, grads_and_vars):
        """Applies `(gradient, variable)` pairs; returns `iterations`.

        Examples:
            >>> w = lamina.Variable([1.0, 2.0])
            >>> optimizer = lamina.optimizers.SGD(learning_rate=0.5)
            >>> int(optimizer.apply_gradients([(jnp.array([1.0, -1.0]), w)]))
            1
            >>> w.numpy().tolist()
            [0.5, 2.5]
        """
        pairs = list(grads_and_vars)
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(
                    f"apply_gradients expects (gradient, variable) pairs, e.g. "
                    f"zip(grads, model.trainable_variables); item {index} is {pair!r}.")
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Updates `trainable_variables` from `grads` (matched by position).

        `trainable_variables` may be left out once the optimizer is built: `grads` then match
        the variables it was built with. None gradients are skipped with a warning. Every
        argument is checked before anything changes, so an error leaves the weights, the
        slots and `iterations` as they were.
        """
        self._check_super_called()
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"Optimizer '{self.name}' is not built, so gradients alone cannot be "
                    "matched to variables. Pass the variables too (apply(grads, variables) or "
                    "apply_gradients(zip(grads, variables))), or call "
                    "optimizer.build(variables) first.")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            _gradients.check_variables(variables, self.name)
            if self.built:
                self._check_variables_are_known(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}' received {len(grads)} gradients for "
                f"{len(variables)} variables ({[v.path for v in variables]}). Pass exactly one "
                "gradient per variable, in the same order.")
        grads = [_gradients.as_gradient(g, v, self.name) for g, v in zip(grads, variables)]

        missing = [v.path for g, v in zip(grads, variables) if g is None]
        all_variables = variables
        if missing:
            if len(missing) == len(grads):
                raise ValueError(
                    "No gradients provided for any variable. Every gradient is None: the loss "
                    "does not depend on these variables (check that the loss uses the model's "
                    f"outputs). Variables: {missing}")
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. "
                "If using `model.compile()`, did you forget to provide a `loss` argument?",
                stacklevel=2)
            pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
            grads = [g for g, _ in pairs]
            variables = [v for _, v in pairs]

        if current_scope() is not None:
            self._build_once(all_variables)
            self._apply_in_scope(grads, variables)
            return
        if any(_gradients.is_traced(g) for g in grads):
            raise RuntimeError(
                f"Optimizer '{self.name}' received traced gradients outside a lamina state "
                "scope (inside jax.jit or jax.grad): its updates would be lost. Compile the "
                "whole step with keras.function, or use the pure form "
                "optimizer.stateless_apply(optimizer_values, grads, trainable_values).")
        self._build_once(all_variables)
        override = None
        rate = self._learning_rate
        if callable(rate) and not isinstance(rate, (LearningRateSchedule, Variable)):
            # Called here, not in the trace, so a callable returning a changing Python number
            # is re-read on every eager step, as Keras does.
            override = jnp.asarray(unwrap(rate()))
        # Variables passed as arguments select a compiled program by identity (a new subset
        # of variables traces anew); the optimizer's slots are found and carried by tracing.
        self._call_compiled("apply_gradients", self._update_with_rate, tuple(grads),
                            tuple(variables), override)

    def _apply_in_scope(self, grads, variables):
        """The update itself: Variable reads and assignments, traced or run in a scope."""
        with self._name_scope():
            grads, variables = self._overwrite_variables_directly_with_gradients(
                grads, variables)
            if grads:
                if self.loss_scale_factor is not None:
                    grads = [g / self.loss_scale_factor for g in grads]
                self._backend_apply_gradients(grads, variables)
                for variable in variables:
                    if variable.constraint is not None:
                        variable.assign(variable.constraint(variable))
        self._iterations.assign_add(1)

    def _backend_apply_gradients(self, grads, variables):
        """Accumulation, clipping, weight decay, the update steps and the EMA."""
        steps = self.gradient_accumulation_steps
        if steps:
            # Every call runs the update, then keeps its results only on every `steps`-th
            # call (a select, not a Python branch, so the compiled step has one shape).
            is_update = (self._iterations.value + 1) % steps == 0
            accumulators = [self._accumulated_gradients[self._get_variable_index(v)]
                            for v in variables]
            old_weights = [v.value for v in variables]
            old_state = [v.value for v in self._variables]
            sums = [g + a.value for g, a in zip(grads, accumulators)]
            grads = [jnp.where(is_update, s / steps, g) for s, g in zip(sums, grads)]
            grads = self._clip_gradients(grads)
            self._apply_weight_decay(variables)
            self._backend_update_step(grads, variables, self._learning_rate_value())
            for variable, old in zip(variables, old_weights):
                variable.assign(jnp.where(is_update, variable.value, old))
            for variable, old in zip(self._variables, old_state):
                variable.assign(jnp.where(is_update, variable.value, old))
            for accumulator, total in zip(accumulators, sums):
                accumulator.assign(jnp.where(is_update, jnp.zeros_like(total), total))
        else:
            grads = self._clip_gradients(grads)
            self._apply_weight_decay(variables)
            self._backend_update_step(grads, variables, self._learning_rate_value())
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency is not None:
                overwrite = (unwrap(self.iterations) + 1) % self.ema_overwrite_frequency == 0
                for variable, average in zip(self._trainable_variables,
                                             self._model_variables_moving_average):
                    if average is not None:
                        variable.assign(jnp.where(overwrite, average.value, variable.value))

    def _backend_update_step(self, grads, variables, learning_rate):
        """Calls `update_step` for each variable; override to add per-step work (Nadam)."""
        for gradient, variable in zip(grads, variables):
            self.update_step(gradient, variable, learning_rate)

    def _overwrite_variables_directly_with_gradients(self, grads, variables):
        """Variables marked `overwrite_with_gradient` take their gradient as their new value
        (float8 scaling factors); the rest go on to the update."""
        if not any(self._overwrite_variable_with_gradient(v) for v in variables):
            return grads, variables
        kept_grads, kept_variables = [], []
        steps = self.gradient_accumulation_steps
        for gradient, variable in zip(grads, variables):
            if not self._overwrite_variable_with_gradient(variable):
                kept_grads.append(gradient)
                kept_variables.append(variable)
            elif steps:
                is_update = (self._iterations.value + 1) % steps == 0
                accumulator = self._accumulated_gradients[self._get_variable_index(variable)]
                merged = jnp.maximum(gradient, accumulator.value)
                variable.assign(jnp.where(is_update, merged, variable.value))
                accumulator.assign(jnp.where(is_update, jnp.zeros_like(merged), merged))
            else:
                variable.assign(gradient)
        return kept_grads, kept_variables

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [_gradients.clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _gradients.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [jnp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _update_with_rate(self, grads, variables, learning_rate):
        """The eager update: `learning_rate` (if not None) stands in for a callable rate."""
        object.__setattr__(self, "_learning_rate_override", learning_rate)
        try:
            self._apply_in_scope(list(grads), list(variables))
        finally:
            object.__setattr__(self, "_learning_rate_override", None)

    # ----------------------------------------------------------------------------- pure form
    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The pure form of `apply`: returns `(new_trainable_values, new_optimizer_values)`.

        `optimizer_variables` are values for `self.variables` and `trainable_variables` values
        for the variables the optimizer was built with, both in order; no Variable changes.
        Build the optimizer first (`optimizer.build(model.trainable_variables)`).

        Examples:
            >>> w = lamina.Variable([1.0, 2.0])
            >>> optimizer = lamina.optimizers.SGD(learning_rate=0.5)
            >>> optimizer.build([w])
            >>> state = [v.value for v in optimizer.variables]
            >>> step = jax.jit(optimizer.stateless_apply)
            >>> (new_w,), state = step(state, [jnp.array([1.0, 1.0])], [w.value])
            >>> new_w.tolist(), w.numpy().tolist()
            ([0.5, 1.5], [1.0, 2.0])
        """
        self._check_super_called()
        if not self.built:
            raise ValueError(
                f"To call stateless_apply, {type(self).__name__} must be built (its variables "
                "must exist). Build it with optimizer.build(trainable_variables).")
        optimizer_variables = list(optimizer_variables)
        trainable_variables = list(trainable_variables)
        # `variables`, not `_variables`: wrappers (LossScaleOptimizer, MultiOptimizer) list
        # their inner optimizers' state after their own, and `apply` updates all of it.
        own = self.variables
        if len(optimizer_variables) != len(own):
            raise ValueError(
                "Argument `optimizer_variables` must hold one value per variable in "
                f"{type(self).__name__}().variables, in order. Received {len(optimizer_variables)}"
                f" values, expected {len(own)}.")
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(
                "Argument `trainable_variables` must hold one value per variable the optimizer "
                f"was built with, in order. Received {len(trainable_variables)} values, but it "
                f"was built with {len(self._trainable_variables)} variables.")
        state = list(self._trainable_variables) + own
        _, new_values = run_pure(state, trainable_variables + optimizer_variables,
                                 self.apply, grads)
        count = len(self._trainable_variables)
        return list(new_values[:count]), list(new_values[count:])

    def scale_loss(self, loss):
        """Multiplies `loss` by `loss_scale_factor` (if set), before gradients are taken."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # ----------------------------------------------------------------------------- weight decay
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables from weight decay: those in `var_list`, and those whose name
        contains one of the strings (regular expressions) in `var_names`, e.g. `["bias"]`.

        Call it before the optimizer is built (before the first update).
        """
        if self.built:
            raise ValueError(
                f"exclude_from_weight_decay() on optimizer '{self.name}' must be called before "
                "the optimizer is built (before its first update or build()).")
        self._exclude_from_weight_decay_ids = frozenset(id(v) for v in var_list or ())
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(sorted(set(var_names)))) if var_names else None)

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_from_weight_decay_ids:
            return False
        pattern = self._exclude_from_weight_decay_pattern
        return pattern is None or pattern.search(variable.name) is None

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        rate = self._learning_rate_value()
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = rate.astype(variable.dtype)
                wd = jnp.asarray(self.weight_decay, variable.dtype)
                variable.assign(variable.value - variable.value * wd * lr)

    # ----------------------------------------------------------------------------- EMA
    def _update_model_variables_moving_average(self, trainable_variables):
        first_step = unwrap(self.iterations) == 0
        for variable, average in zip(trainable_variables, self._model_variables_moving_average):
            if average is None:
                continue
            # On the first update the average starts at the weights themselves.
            momentum = jnp.logical_not(first_step).astype(variable.dtype) * self.ema_momentum
            average.assign(momentum * average.value + (1 - momentum) * variable.value)

    def _overwrite_model_variables_with_average_value(self, var_list):
        averages = self._model_variables_moving_average
        if len(var_list) != len(averages):
            raise ValueError(
                f"Cannot overwrite {len(var_list)} variables with the moving averages of "
                f"optimizer '{self.name}', which holds {len(averages)}. Pass the variables the "
                "optimizer was built with (model.trainable_variables).")
        for variable, average in zip(var_list, averages):
            if average is not None:
                variable.assign(average.value)

    def finalize_variable_values(self, var_list):
        """Ends training: with `use_ema`, replaces the variables by their moving averages."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(list(var_list))

    def _swap_ema_weights(self, var_list=None):
        """Exchanges the weights and their moving averages (for a SwapEMAWeights callback:
        swap before evaluating, swap back after)."""
        var_list = self._trainable_variables if var_list is None else list(var_list)
        averages = self._model_variables_moving_average
        for variable, average in zip(var_list, averages):
            if average is not None:
                weight = variable.value
                variable.assign(average.value)
                average.assign(weight)

    # ----------------------------------------------------------------------------- state
    def set_weights(self, weights):
        """Sets the values of `variables`, in order (checked first: a mismatch changes nothing).

        Reads the `variables` property, so an optimizer that holds others (LossScaleOptimizer,
        MultiOptimizer) sets theirs too, in the order it lists them.
        """
        kind = type(self).__name__
        if not self.built:
            raise ValueError(
                f"set_weights() was called on a {kind} that is not built yet. Call "
                "optimizer.build(trainable_variables) first, to create its variables.")
        weights = list(weights)
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(
                f"set_weights on {kind} '{self.name}' received {len(weights)} arrays, but it "
                f"has {len(variables)} variables ({[v.path for v in variables]}). Pass one "
                "array per variable, in the order of optimizer.variables.")
        checked = [v._check_assignable(np.asarray(w)) for v, w in zip(variables, weights)]
        for variable, value in zip(variables, checked):
            variable.assign(value)

    def save_own_variables(self, store):
        """Writes the values of `variables` into `store` under "0", "1", ... (weights files)."""
        for index, variable in enumerate(self.variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store):
        """Reads the values `save_own_variables` wrote; warns and skips on a count mismatch."""
        variables = self.variables
        if len(store.keys()) != len(variables):
            message = (f"Skipping variable loading for optimizer '{self.name}', because it has "
                       f"{len(variables)} variables whereas the saved optimizer has "
                       f"{len(store.keys())} variables.")
            if not self.built:
                message += " This is likely because the optimizer has not been built yet."
            warnings.warn(message, stacklevel=2)
            return
        self.set_weights([store[str(i)] for i in range(len(variables))])

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        """The constructor arguments; subclasses add their own to this dict."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            learning_rate = serialization.serialize_keras_object(rate)
        elif isinstance(rate, Variable):
            learning_rate = float(rate.numpy())
        else:
            learning_rate = serialization.serialize_keras_object(rate)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates an optimizer from `get_config()`'s dict (its state is not restored)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = serialization.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
