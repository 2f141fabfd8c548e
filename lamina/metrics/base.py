"""`Metric`: a streaming metric whose state lives in Variables.

A metric accumulates statistics batch after batch (`update_state`), reports a value computed
from them (`result`), and starts over (`reset_state`). Its state is ordinary lamina Variables
created with `add_weight`/`add_variable`, so the same code runs in three ways:

* **eagerly** (no state scope active, concrete inputs): `update_state`, `result` and `__call__`
  go through compiled programs cached per input signature (`lamina.function`), so a notebook
  call costs tens of microseconds, and an update that raises leaves the state untouched;
* **inside `keras.function`, a training step or any state scope**: the plain Python code runs
  and is traced with everything around it;
* **purely**: `stateless_update_state(values, ...)`, `stateless_result(values)` and
  `stateless_reset_state()` take and return state values, leaving the Variables alone.

A subclass (the book's `HuberMetric`) gets all three by defining `update_state` and `result`.
`Metric` is not a `Layer`; a layer or model holding one as an attribute tracks it in its
`metrics`. Each state Variable declares how per-device copies combine (`aggregation`, `"sum"`
for the built-in metrics' totals and counts), which is what a distributed trainer reads.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtype_policies, initializers
from lamina._registry import keras_export
from lamina._runtime import config, naming
from lamina._runtime.scope import StateScope, current_scope, run_pure
from lamina._runtime.state import has_tracers, unwrap
from lamina._runtime.variable import Variable, created_by
from lamina._runtime.stateful import Stateful
from lamina.losses.base import is_number_list

__all__ = ["Metric", "ensure_built"]

def _prepare(value):
    # A list of numbers becomes one array (one compiled argument instead of one per number).
    if isinstance(value, (list, tuple)) and is_number_list(value):
        return np.asarray(value)
    return value


def _dispatching(name, method):
    """Wraps a subclass's `update_state`/`result`: eager calls take the compiled path."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if current_scope() is not None:
            return method(self, *args, **kwargs)
        return self._run_eagerly(name, method, args, kwargs)

    wrapper._lamina_dispatching = True
    return wrapper


@keras_export("keras.metrics.Metric", "keras.Metric")
class Metric(Stateful):
    """Base class of streaming metrics.

    Args:
        dtype: the dtype the metric computes in (`floatx()` by default).
        name: the metric's name (a unique snake-case name of the class by default).

    Subclasses create their state in `__init__` with `add_weight`/`add_variable` and implement
    `update_state(y_true, y_pred, sample_weight=None)` (assigning to the state) and `result()`.
    The default `reset_state()` sets every state Variable to zeros; `reset_states()` is the
    older name. Calling the metric updates it, then returns the result.

    Set the class attribute `_compile_eager_calls = False` to run eager calls op by op (for
    debugging with print or pdb).

    Examples:
        The book's streaming Huber metric:

        >>> class HuberMetric(lamina.metrics.Metric):
        ...     def __init__(self, threshold=1.0, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.threshold = threshold
        ...         self.total = self.add_weight("total", initializer="zeros")
        ...         self.count = self.add_weight("count", initializer="zeros")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         error = jnp.abs(y_true - y_pred)
        ...         huber = jnp.where(error < self.threshold, error ** 2 / 2,
        ...                           self.threshold * error - self.threshold ** 2 / 2)
        ...         self.total.assign_add(jnp.sum(huber))
        ...         self.count.assign_add(jnp.size(y_true))
        ...     def result(self):
        ...         return self.total / self.count
        >>> m = HuberMetric(2.0)
        >>> float(m(jnp.array([[2.0]]), jnp.array([[10.0]])))
        14.0
        >>> float(m(jnp.array([[0.0], [5.0]]), jnp.array([[1.0], [9.25]])))
        7.0
    """

    _lamina_tracked_as = "metrics"  # layers track metrics assigned to their attributes

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("update_state", "result"):
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_lamina_dispatching", False):
                setattr(cls, name, _dispatching(name, method))

    def __init__(self, dtype=None, name=None):
        collections = {"variables": [], "metrics": []}
        Stateful.__init__(self, collections)
        object.__setattr__(self, "_variables", collections["variables"])
        object.__setattr__(self, "_metrics", collections["metrics"])
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._dtype_policy = dtype_policies.get(dtype or config.floatx())
        self._dtype = self._dtype_policy.compute_dtype

    @property
    def dtype(self):
        """The dtype the metric computes in (`"float32"` by default)."""
        return self._dtype

    @property
    def variables(self):
        """The state Variables: this metric's, then those of metrics it holds."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    # ----------------------------------------------------------------------------- state
    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a state Variable (non-trainable, path `metric_name/name`).

        Args:
            shape: its shape (`()` for a scalar).
            initializer: an initializer or its name (`"zeros"`).
            dtype: its dtype (`floatx()` by default).
            aggregation: how per-device copies combine in distributed training: `"sum"` (the
                default, right for totals and counts), `"mean"`, `"only_first_replica"` or
                `"none"`.
            name: its name.
        """
        self._check_super_called()
        initializer = initializers.get("zeros" if initializer is None else initializer)
        with self._name_scope(), created_by(f"Metric '{self.name}'"):
            # autocast=False: a total updated inside a mixed-precision layer's call must not be
            # read (and rounded) as bfloat16.
            variable = Variable(initializer, shape=shape, dtype=dtype, trainable=False,
                                autocast=False, aggregation=aggregation,
                                synchronization="on_read",
                                name=name or naming.unique_name("variable"))
        self._tracker.add("variables", variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None, aggregation="sum"):
        """Keras 3's `add_variable` with defaults (`shape=()`, zeros); also accepts the older
        name-first form used by the book: `self.add_weight("total", initializer="zeros")`."""
        if isinstance(shape, str):
            # Keras 2 order: add_weight(name, shape=()): a tuple second argument is the shape.
            name, shape = shape, ()
            if isinstance(initializer, (tuple, list)) or isinstance(initializer, int):
                shape, initializer = initializer, None
        if isinstance(shape, int):
            shape = (shape,)
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                                 aggregation=aggregation, name=name)

    def reset_state(self):
        """Sets every state Variable to zeros."""
        reset_to_zeros(self.variables)

    def reset_states(self):
        """The older name of `reset_state`."""
        return self.reset_state()

    def update_state(self, *args, **kwargs):
        """Accumulates statistics from one batch; subclasses implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement update_state(y_true, y_pred, "
            "sample_weight=None), assigning to the state Variables it created with add_weight.")

    def result(self):
        """The metric's value from the accumulated state; subclasses implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement result(), computing the value from the "
            "state Variables.")

    def __call__(self, *args, **kwargs):
        """Updates the state with one batch, then returns `result()`."""
        self._check_super_called()
        if current_scope() is None:
            return self._run_eagerly("__call__", Metric._update_then_result, args, kwargs)
        return Metric._update_then_result(self, *args, **kwargs)

    def _update_then_result(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    # ----------------------------------------------------------------------------- pure API
    def _check_values(self, metric_variables, api):
        variables = self.variables
        if len(metric_variables) != len(variables):
            raise ValueError(
                f"Argument `metric_variables` of {api} must be a list of tensors corresponding "
                f"1:1 to {type(self).__name__}().variables. Received list with length "
                f"{len(metric_variables)}, but expected {len(variables)} variables.")
        return variables

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """`update_state` as a pure function: returns the new state values (a list, in the
        order of `variables`), leaving the Variables untouched. Safe inside `jax.jit`."""
        variables = self._check_values(metric_variables, "stateless_update_state")
        _, new_values = run_pure(variables, metric_variables, self.update_state, *args,
                                 **kwargs)
        return list(new_values)

    def stateless_result(self, metric_variables):
        """`result()` computed from the given state values."""
        variables = self._check_values(metric_variables, "stateless_result")
        output, _ = run_pure(variables, metric_variables, lambda: unwrap(self.result()))
        return output

    def stateless_reset_state(self):
        """The state values `reset_state()` would assign (a list), Variables untouched."""
        variables = self.variables
        with StateScope() as scope:
            self.reset_state()
        return [scope.read(variable) for variable in variables]

    # ----------------------------------------------------------------------------- eager path
    def _check_eager_inputs(self, *args, **kwargs):
        """Checks that need concrete values (label ranges), run before a compiled eager update.

        The compiled program sees only shapes, so value checks happen here.
        """

    def _run_eagerly(self, name, method, args, kwargs):
        args = tuple(_prepare(a) for a in args)
        kwargs = {key: _prepare(value) for key, value in kwargs.items()}
        if has_tracers((args, kwargs)):
            # Called from a raw jax.jit without a state scope: run the code as it is (an
            # assignment then explains how to carry state through jit).
            return method(self, *args, **kwargs)
        if name != "result":
            self._check_eager_inputs(*args, **kwargs)
        return self._call_compiled(name, self._pure_callable(name, method), *args, **kwargs)

    def _pure_callable(self, name, method):
        if name == "update_state":
            def run(*args, **kwargs):
                method(self, *args, **kwargs)  # return values of update_state are not used
        else:
            def run(*args, **kwargs):
                return unwrap(method(self, *args, **kwargs))
        return run

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        """`{"name", "dtype"}`; subclasses add their constructor arguments."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Creates the metric from `get_config()`'s dict (calls the constructor with it)."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


def reset_to_zeros(variables):
    """Sets each Variable to zeros, built on the host: `jnp.zeros` would compile a small XLA
    program per new shape and dtype (about 10 ms each), paid at the start of every `fit`."""
    for variable in variables:
        variable.assign(np.zeros(variable.shape, jnp.dtype(variable.dtype)))


def ensure_built(metric, *args, **kwargs):
    """Creates the state of a metric that builds it on its first update (`F1Score`, `R2Score`,
    `AUC(multi_label=True)` without `num_labels`, user metrics that do the same).

    Traces one update abstractly from example inputs (arrays or `jax.ShapeDtypeStruct`s),
    discarding its effect: afterwards `metric.variables` is complete and its values are
    unchanged, so `stateless_update_state` can be used. The trainer calls it before compiling
    its step.

    Examples:
        >>> f1 = lamina.metrics.F1Score()
        >>> spec = jax.ShapeDtypeStruct((8, 3), "float32")
        >>> ensure_built(f1, spec, spec)
        >>> len(f1.variables)
        4
    """
    def run(*a, **k):
        with StateScope():
            metric.update_state(*a, **k)

    jax.eval_shape(run, *args, **kwargs)
