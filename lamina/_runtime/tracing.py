"""Tracing a stateful function once into a pure one, finding the Variables it touches.

The trainer compiles programs over an explicit tuple of state Variables (weights, optimizer
slots, metric totals, random seeds). `trace_stateful` finds that tuple and the pure form of
the function in the same abstract trace (`jax.make_jaxpr`: no FLOPs): it binds the Variables
it is told of (`hint`) to traced inputs inside an opaque state scope, which records every other
Variable the function reads or assigns. When the hint was complete (the trainer passes the
model's, optimizer's and metrics' variables), that one trace is all there is; otherwise the
Variables found are added and the function is traced again. Variables the function creates
on the way (optimizer slots, lazily built layers) are created for real, once, and found by the
next pass.

The result, a `StatefulTrace`, is the function as a jaxpr over `(values, *args)`. Programs
built from it (a loop of steps, a single step) evaluate the jaxpr rather than run the user's
Python again, so each batch layout costs one Python trace, as `tf.function` traces once.
"""

from typing import Any, NamedTuple

import jax
from jax.extend.core import jaxpr_as_fun

from lamina._runtime.scope import StateScope


class _CreationLog:
    """Allows Variable creation during the trace and remembers what was created."""

    __slots__ = ("created",)

    def __init__(self):
        self.created = []

    def on_variable_created(self, variable):
        self.created.append(variable)


class StatefulTrace(NamedTuple):
    """A stateful function traced once: `trace(values, *args) -> (new_values, outputs)`.

    `variables` are the state, in the order `values` and `new_values` hold them; `output_spec`
    gives the outputs' shapes and dtypes. Calling it evaluates the jaxpr on `values` and
    `args` (arrays or tracers shaped like the traced ones); the user's Python does not run.
    """

    variables: tuple
    jaxpr: Any
    out_tree: Any
    output_spec: Any

    def __call__(self, values, *args):
        flat = jax.tree_util.tree_leaves((tuple(values), args))
        out = jaxpr_as_fun(self.jaxpr)(*flat)
        return jax.tree_util.tree_unflatten(self.out_tree, out)


def trace_stateful(fn, *args, hint=(), max_passes=4):
    """Traces `fn(*args)` into a `StatefulTrace` over every Variable it reads or assigns.

    `args` may hold arrays or `jax.ShapeDtypeStruct`s; nothing is computed. The Variables in
    `hint` come first, in order, whether `fn` touches them or not (an untouched one passes
    through); those found besides follow in the order `fn` first touched them. Raises if `fn`
    keeps creating new Variables on every pass (it should create them once).
    """
    variables, seen = [], set()
    for variable in hint:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    for _ in range(max_passes):
        creations = _CreationLog()
        missing = {}
        bound = tuple(variables)

        def pure(values, *inputs):
            scope = StateScope(zip(bound, values), opaque=True, trace=creations)
            with scope:
                outputs = fn(*inputs)
            missing.update(scope.missing)
            return tuple(scope.read(variable) for variable in bound), outputs

        values = tuple(jax.ShapeDtypeStruct(v._value.shape, v._value.dtype) for v in bound)
        jaxpr, out_shape = jax.make_jaxpr(pure, return_shape=True)(values, *args)
        new = [variable for key, variable in missing.items() if key not in seen]
        if not new and not creations.created:
            return StatefulTrace(bound, jaxpr, jax.tree_util.tree_structure(out_shape),
                                 out_shape[1])
        for variable in new:
            seen.add(id(variable))
            variables.append(variable)
    raise RuntimeError(
        f"{getattr(fn, '__name__', fn)!r} creates new Variables every time it runs, so its "
        "state cannot be fixed for compilation. Create Variables once (in build() or __init__), "
        "not on every call.")

