"""Several optimizers for one model: `OptimizerMap` says which variable goes to which, and
`MultiOptimizer` hands each variable's gradient to its optimizer.

`MultiOptimizer` is itself an `Optimizer`, so `compile`, `fit`, `stateless_apply`, EMA callbacks
and saving see one object. Its state is its own `iterations` and (unused) learning rate,
followed by every inner optimizer's variables, in the order the inner optimizers were found;
weights files hold that list at `optimizer/vars` and each inner optimizer's own at
`optimizer/optimizers/<class>/vars`, as Keras 3 writes them.
"""

import re
from collections.abc import MutableMapping

import jax.numpy as jnp

from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime.state import unwrap
from lamina._runtime.variable import Variable
from lamina.optimizers import _gradients
from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.schedules import LearningRateSchedule

__all__ = ["MultiOptimizer", "OptimizerMap"]


def _nesting_problem(optimizer):
    """Why `optimizer` cannot work inside a MultiOptimizer, or None."""
    if isinstance(optimizer, MultiOptimizer):
        return "MultiOptimizer"
    # Told by name: the loss-scale wrapper's module may import this one.
    if any(cls.__name__ == "LossScaleOptimizer" for cls in type(optimizer).__mro__):
        return "LossScaleOptimizer"
    return None


@keras_export("keras.optimizers.OptimizerMap")
class OptimizerMap(MutableMapping):
    """Which optimizer trains which variable: a mapping from variable paths to optimizers.

    Keys are variable paths (`"encoder/dense/kernel"`) or regular expressions matched against
    the whole path (`"encoder/.*"`). Looking a path up returns the optimizer of the key equal
    to it, else of the one pattern that matches it, else `default_optimizer`; a path matched
    by two patterns is an error. Calling the map on a variable looks up its `path`, which is
    how `MultiOptimizer` uses it.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: an optional dict of keys to optimizers to start with.

    Examples:
        >>> adam, sgd = lamina.optimizers.Adam(), lamina.optimizers.SGD()
        >>> mapping = lamina.optimizers.OptimizerMap(default_optimizer=sgd)
        >>> mapping["encoder/.*"] = adam
        >>> mapping["encoder/dense/kernel"] is adam, mapping["head/kernel"] is sgd
        (True, True)
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "OptimizerMap: argument `default_optimizer` must be a keras Optimizer instance "
                f"(such as keras.optimizers.SGD()). Received: default_optimizer="
                f"{default_optimizer!r} of type {type(default_optimizer).__name__}")
        problem = _nesting_problem(default_optimizer)
        if problem is not None:
            raise ValueError(
                f"OptimizerMap: argument `default_optimizer` cannot be a {problem}. Pass the "
                f"optimizer it wraps. Received: default_optimizer={default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                "OptimizerMap: argument `optimizer_map` must be a dict of variable paths (or "
                "regular expressions) to optimizers, or None. Received: optimizer_map="
                f"{optimizer_map!r} of type {type(optimizer_map).__name__}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self):
        """The optimizer of the variables no key matches."""
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Multiple optimizers assigned to variable {key}: it matches the keys "
                f"{matches} of the OptimizerMap. Make the patterns exclusive, or add the path "
                "itself as a key (an exact key wins over patterns).")
        if matches:
            return self._optimizer_map[matches[0]]
        return self._default_optimizer

    def __setitem__(self, key, optimizer):
        if not isinstance(key, str):
            raise ValueError(
                "OptimizerMap: a key must be a string (a variable path or a regular "
                f"expression). Received: key={key!r} of type {type(key).__name__}")
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(
                f"OptimizerMap: the key {key!r} is not a valid regular expression ({error}). "
                "Escape special characters with re.escape() to match a path literally.") from None
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]!r}. Delete it first, or use another key: keys "
                "must not be duplicated.")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(
                f"OptimizerMap: the value for key {key!r} must be a keras Optimizer instance. "
                f"Received: {optimizer!r} of type {type(optimizer).__name__}")
        problem = _nesting_problem(optimizer)
        if problem is not None:
            raise ValueError(
                f"optimizer cannot be {problem}. Map key {key!r} to the optimizer it wraps "
                f"instead (wrap the whole MultiOptimizer in a LossScaleOptimizer for loss "
                "scaling).")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        """The optimizer of `variable`, looked up by its `path`."""
        return self[variable.path]

    def __repr__(self):
        names = {key: optimizer.name for key, optimizer in self._optimizer_map.items()}
        return f"<OptimizerMap default={self._default_optimizer.name}, map={names}>"

    def get_config(self):
        return {"default_optimizer": serialization.serialize_keras_object(
                    self._default_optimizer),
                "optimizer_map": serialization.serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        default = serialization.deserialize_keras_object(config["default_optimizer"],
                                                         custom_objects=custom_objects)
        mapping = serialization.deserialize_keras_object(config.get("optimizer_map") or {},
                                                         custom_objects=custom_objects)
        return cls(default, mapping)


@keras_export("keras.optimizers.MultiOptimizer")
class MultiOptimizer(Optimizer):
    """Trains each variable with its own optimizer (Adam for the encoder, SGD for the head).

    `optimizer_map` is an `OptimizerMap`, or a function taking a Variable and returning its
    optimizer (called once per variable when the optimizer is built). Each step splits the
    gradients by optimizer and applies each group with its optimizer, which keeps its own
    slots, learning rate, clipping, weight decay and EMA; an optimizer with no variables is
    never stepped. `iterations` counts the steps of the MultiOptimizer; each inner optimizer
    counts its own.

    There is no single learning rate: reading or setting `learning_rate` raises. Change the
    inner optimizers' rates through `optimizers`; `LearningRateScheduler` and
    `ReduceLROnPlateau` do that for each of them. `loss_scale_factor` is set on every inner
    optimizer, replacing theirs.

    Args:
        optimizer_map: an `OptimizerMap`, or a callable `variable -> Optimizer`.
        loss_scale_factor: the factor `scale_loss` multiplies the loss by, and the inner
            optimizers divide the gradients by; None for no scaling.
        name: the name, used as the path prefix of the optimizer's own variables.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((2,)),
        ...                            lamina.layers.Dense(2, name="encoder"),
        ...                            lamina.layers.Dense(1, name="head")])
        >>> optimizer = lamina.optimizers.MultiOptimizer(lamina.optimizers.OptimizerMap(
        ...     default_optimizer=lamina.optimizers.SGD(learning_rate=0.1),
        ...     optimizer_map={".*/encoder/.*": lamina.optimizers.Adam(learning_rate=1e-3)}))
        >>> model.compile(optimizer=optimizer, loss="mse")
        >>> _ = model.fit(jnp.ones((4, 2)), jnp.zeros((4, 1)), verbose=0)
        >>> [type(o).__name__ for o in optimizer.optimizers]
        ['Adam', 'SGD']
        >>> [int(o.iterations) for o in optimizer.optimizers], int(optimizer.iterations)
        ([1, 1], 1)
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if isinstance(optimizer_map, Optimizer) or not callable(optimizer_map):
            raise TypeError(
                "MultiOptimizer: argument `optimizer_map` must be a "
                "keras.optimizers.OptimizerMap, or a function taking a variable and returning "
                f"its optimizer. Received: optimizer_map={optimizer_map!r} of type "
                f"{type(optimizer_map).__name__}. To train every variable with one optimizer, "
                "pass that optimizer to compile() directly.")
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        self._var_to_optimizer_idx = {}
        known = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in known + ([default] if default is not None else []):
            self._add_inner(optimizer)

    # ----------------------------------------------------------------------------- structure
    def _add_inner(self, optimizer):
        """Appends an inner optimizer (once); returns its index."""
        for index, existing in enumerate(self._inner_optimizers):
            if existing is optimizer:
                return index
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        # A change in an inner optimizer (a new clipnorm, a schedule) makes the programs
        # compiled for this one stale, as a sublayer's change does for its model.
        optimizer._owners.add(self)
        self._mark_changed(structural=True)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self):
        """The inner optimizers: those of the map (its values, then its default), then any
        other the map returned while building."""
        return list(self._inner_optimizers)

    @property
    def variables(self):
        """`iterations` and the (unused) learning rate, then each inner optimizer's variables."""
        result = list(self._variables)
        for optimizer in self._inner_optimizers:
            result.extend(optimizer.variables)
        return result

    @property
    def learning_rate(self):
        raise AttributeError(
            f"Learning rate cannot be accessed on a MultiOptimizer ('{self.name}'): each inner "
            "optimizer has its own. Access the learning rate on the individual "
            "sub-optimizers instead: [o.learning_rate for o in optimizer.optimizers].")

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError(
            f"Learning rate cannot be set on a MultiOptimizer ('{self.name}'). Set the "
            "learning rate on the individual sub-optimizers instead (optimizer.optimizers).")

    lr = learning_rate

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for optimizer in self.__dict__.get("_inner_optimizers", ()):
            optimizer.loss_scale_factor = value

    # ----------------------------------------------------------------------------- building
    def build(self, var_list):
        """Asks the map for each variable's optimizer and builds each optimizer on its own
        variables (in the order given)."""
        if self.built:
            return
        var_list = list(var_list)
        assignment = []
        for variable in var_list:
            optimizer = self._optimizer_map(variable)
            if not isinstance(optimizer, Optimizer):
                raise ValueError(
                    f"Optimizer for variable {variable.path} is not an Optimizer instance: the "
                    f"optimizer_map returned {optimizer!r} of type {type(optimizer).__name__}. "
                    "Return a keras optimizer for every variable.")
            problem = _nesting_problem(optimizer)
            if problem is not None:
                raise ValueError(
                    f"{problem} cannot be used inside an MultiOptimizer (variable "
                    f"{variable.path}). Map the variable to the optimizer it wraps.")
            assignment.append(optimizer)
        for optimizer in assignment:
            self._add_inner(optimizer)
        groups = [[] for _ in self._inner_optimizers]
        indices = {}
        for variable, optimizer in zip(var_list, assignment):
            index = self._add_inner(optimizer)
            indices[id(variable)] = index
            groups[index].append(variable)
        for optimizer, variables in zip(self._inner_optimizers, groups):
            if variables and optimizer.built:
                raise ValueError(
                    f"Optimizer '{optimizer.name}' inside MultiOptimizer '{self.name}' is already "
                    f"built (for {len(optimizer._trainable_variables)} other variables), so it "
                    f"cannot take {[v.path for v in variables]}. Give the MultiOptimizer "
                    "optimizers that have not been used yet.")
        built = []  # (optimizer, its variable count before building)
        try:
            for optimizer, variables in zip(self._inner_optimizers, groups):
                if variables:
                    count = len(optimizer._variables)
                    optimizer._build_once(variables)
                    built.append((optimizer, count))
        except BaseException:
            for optimizer, count in built:
                _unbuild(optimizer, count)
            raise
        self._var_to_optimizer_idx = indices
        super().build(var_list)

    def _build_once(self, variables):
        # Outside this optimizer's name scope: the inner optimizers' slots are named after
        # them alone (`adam/dense_kernel_momentum`), as in Keras.
        if self.built:
            return
        _gradients.check_float_variables(variables, self.name)
        self.build(variables)
        self.built = True

    # ----------------------------------------------------------------------------- updating
    def _apply_in_scope(self, grads, variables):
        groups = [([], []) for _ in self._inner_optimizers]
        for gradient, variable in zip(grads, variables):
            group = groups[self._var_to_optimizer_idx[id(variable)]]
            group[0].append(gradient)
            group[1].append(variable)
        for optimizer, (inner_grads, inner_variables) in zip(self._inner_optimizers, groups):
            if inner_variables:
                optimizer._apply_in_scope(inner_grads, inner_variables)
        self._iterations.assign_add(1)

    def _call_compiled(self, key, fn, *args, **kwargs):
        if key != "apply_gradients":
            return super()._call_compiled(key, fn, *args, **kwargs)
        # An eager update: the inner optimizers' callable learning rates are called here, on
        # every step, and passed to the compiled update as arguments (as the base does for
        # its own rate), so a rate that changes between calls is not frozen in the program.
        grads, variables, _ = args
        rates = tuple(_eager_rate(optimizer) for optimizer in self._inner_optimizers)
        return super()._call_compiled(key, self._update_with_rates, grads, variables, rates)

    def _update_with_rates(self, grads, variables, rates):
        inner = self._inner_optimizers
        for optimizer, rate in zip(inner, rates):
            object.__setattr__(optimizer, "_learning_rate_override", rate)
        try:
            self._apply_in_scope(list(grads), list(variables))
        finally:
            for optimizer in inner:
                object.__setattr__(optimizer, "_learning_rate_override", None)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The pure form of `apply`: returns `(new_trainable_values, new_optimizer_values)`,
        with `optimizer_variables` in the order of `variables` (this optimizer's own, then the
        inner optimizers')."""
        return super().stateless_apply(optimizer_variables, grads, trainable_variables)

    # ----------------------------------------------------------------------------- EMA
    def _by_optimizer(self, var_list):
        groups = [[] for _ in self._inner_optimizers]
        for variable in var_list:
            index = self._var_to_optimizer_idx.get(id(variable))
            if index is None:
                raise ValueError(
                    f"Unknown variable '{variable.path}': MultiOptimizer '{self.name}' was not "
                    "built with it. Pass the variables it was built with "
                    "(model.trainable_variables).")
            groups[index].append(variable)
        return zip(self._inner_optimizers, groups)

    def finalize_variable_values(self, var_list):
        """Ends training: each inner optimizer with `use_ema` replaces its variables by their
        moving averages."""
        if not self.built:
            return
        for optimizer, variables in self._by_optimizer(var_list):
            if variables:
                optimizer.finalize_variable_values(variables)

    def _swap_ema_weights(self, var_list=None):
        for optimizer in self._inner_optimizers:
            if optimizer.use_ema and optimizer.built:
                optimizer._swap_ema_weights()

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        return {"optimizer_map": serialization.serialize_keras_object(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = serialization.deserialize_keras_object(
            config["optimizer_map"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        names = [optimizer.name for optimizer in self._inner_optimizers]
        return f"<MultiOptimizer name={self.name}, optimizers={names}, built={self.built}>"


def _eager_rate(optimizer):
    rate = optimizer._learning_rate
    if callable(rate) and not isinstance(rate, (LearningRateSchedule, Variable)):
        return jnp.asarray(unwrap(rate()))
    return None


def _unbuild(optimizer, count):
    """Rolls back an inner optimizer's build (when a later one failed to build): the slots
    past the first `count` variables go."""
    for variable in optimizer._variables[count:]:
        optimizer._tracker.untrack(variable)
    optimizer.built = False
    optimizer._trainable_variables = []
    optimizer._trainable_variables_indices = {}
