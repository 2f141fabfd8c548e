"""Tracing stateful Python into pure JAX: the one compiler behind `keras.function` and `fit`.

A stateful function reads and assigns Variables it reaches on its own (a model's weights, an
optimizer's slots, metric totals, seed state). `trace_stateful` turns it into a pure function
over those Variables' values in one abstract trace (`jax.make_jaxpr`: no FLOPs). It binds the
Variables it is told of (`hint`) to traced inputs inside an opaque state scope, which records
every other Variable the function reads or assigns. When the hint was complete (the trainer
passes the model's, optimizer's and metrics' variables; `keras.function` what earlier traces
found), that one trace is all there is; otherwise the Variables found are added and the
function is traced again.

One rule for Variables created during a trace: on the first pass of a first trace
(`allow_creation=True`) they are created for real, once, outside the trace (a lazily built
layer, an optimizer's slots, a metric built on its first update), and found by the next pass.
Anywhere else creating one is an error (`forbid_creation` raises it), because code that
creates Variables on every run has no fixed state to compile.

The result, a `StatefulTrace`, is the function as a jaxpr. Programs built from it (one call,
a loop of training steps, a scan) evaluate the jaxpr rather than run the user's Python again,
so each input layout costs one Python trace, as `tf.function` traces once.
"""

from typing import Any, NamedTuple

import jax
from jax.extend.core import jaxpr_as_fun

from lamina._runtime.scope import StateScope


class _Discovery:
    """A trace's record of Variables created inside it; refuses creation when not allowed."""

    __slots__ = ("created", "forbid")

    def __init__(self, forbid):
        self.created = []
        self.forbid = forbid  # None, or a callable(variable) raising the caller's error

    def on_variable_created(self, variable):
        if self.forbid is not None:
            self.forbid(variable)
        self.created.append(variable)


class StatefulTrace(NamedTuple):
    """A stateful function traced once.

    `variables` are the state, in the order values are passed; `assigned` the positions of
    those the function assigns; `output_spec` the outputs' shapes and dtypes. Calling it
    evaluates the jaxpr; the user's Python does not run.
    """

    variables: tuple
    assigned: tuple
    jaxpr: Any
    out_tree: Any
    output_spec: Any

    def call_assigned(self, values, *args):
        """`(values of the assigned Variables, outputs)`: what a program that does not carry
        the whole state returns (an untouched weight is not copied out)."""
        flat = jax.tree_util.tree_leaves((tuple(values), args))
        out = jaxpr_as_fun(self.jaxpr)(*flat)
        return jax.tree_util.tree_unflatten(self.out_tree, out)

    def __call__(self, values, *args):
        """`(new values of every Variable, outputs)`, for programs that carry the state."""
        assigned_values, outputs = self.call_assigned(values, *args)
        new_values = list(values)
        for index, value in zip(self.assigned, assigned_values):
            new_values[index] = value
        return tuple(new_values), outputs


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


def spec_of(value):
    """The abstract value (shape, dtype, weak type) a trace sees for an argument."""
    return jax.typeof(value)


def _creation_error(variable):
    raise ValueError(
        f"Variable '{variable.path}' was created while tracing code whose Variables already "
        "exist. Variables may be created only the first time the code runs (in build(), "
        "__init__, or guarded so that it runs once); create it there.")


def trace_stateful(fn, *args, hint=(), allow_creation=True, forbid_creation=_creation_error,
                   max_passes=4):
    """Traces `fn(*args)` into a `StatefulTrace` over every Variable it reads or assigns.

    `args` may hold arrays, abstract values or `jax.ShapeDtypeStruct`s; nothing is computed.
    The Variables in `hint` come first, in order, whether `fn` touches them or not; those found
    besides follow in the order `fn` first touched them. `fn` may create Variables on the
    first pass only, and only with `allow_creation`; otherwise `forbid_creation(variable)` is
    called, and raises the caller's error.
    """
    variables = _unique(hint)
    known = {id(v) for v in variables}
    for attempt in range(max_passes):
        discovery = _Discovery(None if allow_creation and attempt == 0 else forbid_creation)
        missing = {}
        assigned = []
        bound = tuple(variables)

        def pure(values, *inputs):
            with StateScope(zip(bound, values), opaque=True, trace=discovery) as scope:
                outputs = fn(*inputs)
            missing.update(scope.missing)
            positions = [i for i, v in enumerate(bound) if scope.was_assigned(v)]
            assigned[:] = positions
            return tuple(scope.read(bound[i]) for i in positions), outputs

        values = tuple(jax.ShapeDtypeStruct(v.shape, v._value.dtype) for v in bound)
        jaxpr, out_shape = jax.make_jaxpr(pure, return_shape=True)(values, *args)
        new = [variable for key, variable in missing.items() if key not in known]
        if not new and not discovery.created:
            return StatefulTrace(bound, tuple(assigned), jaxpr,
                                 jax.tree_util.tree_structure(out_shape), out_shape[1])
        for variable in new:
            known.add(id(variable))
            variables.append(variable)
    raise RuntimeError(
        f"{getattr(fn, '__name__', fn)!r} touched new Variables on each of {max_passes} traces, "
        "so its state cannot be fixed for compilation. A function must reach the same "
        "Variables every time it runs.")
