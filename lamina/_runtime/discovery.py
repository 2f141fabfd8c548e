"""Finding the Variables a stateful function touches, without running it.

The trainer compiles programs over an explicit list of state Variables (weights, optimizer
slots, metric totals, random seeds). `discover_variables` finds that list by tracing the
function abstractly (`jax.eval_shape`: no FLOPs) inside an opaque state scope, which records
every Variable read or assigned. Variables the function creates on the way (optimizer slots,
lazily built layers) are created for real, once, and found by the next pass.
"""

import jax

from lamina._runtime.scope import StateScope


class _DiscoveryTrace:
    """Allows Variable creation during discovery and remembers what was created."""

    __slots__ = ("created",)

    def __init__(self):
        self.created = []

    def on_variable_created(self, variable):
        self.created.append(variable)


def discover_variables(fn, *args, max_passes=4):
    """The Variables `fn(*args)` reads or assigns, in the order it first touches them.

    `args` may hold arrays or `jax.ShapeDtypeStruct`s; nothing is computed. Raises if `fn`
    keeps creating new Variables on every pass (it should create them once).
    """
    known = {}
    for _ in range(max_passes):
        trace = _DiscoveryTrace()
        found = {}
        bindings = [(variable, variable._value) for variable in known.values()]

        def run(*inputs):
            scope = StateScope(bindings, opaque=True, trace=trace)
            with scope:
                fn(*inputs)
            found.update(scope.missing)

        jax.eval_shape(run, *args)
        known.update((key, variable) for key, variable in found.items() if key not in known)
        if not trace.created:  # nothing new was made, so this pass saw every Variable
            return list(known.values())
    raise RuntimeError(
        f"{getattr(fn, '__name__', fn)!r} creates new Variables every time it runs, so its "
        "state cannot be fixed for compilation. Create Variables once (in build() or __init__), "
        "not on every call.")
