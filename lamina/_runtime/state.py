"""Moving state between Variables and pure code: read values in, commit results back.

Every path that runs stateful code (a compiled function, the trainer's programs, an eager call
that buffers its assignments, a gradient) reads Variables' values with `current_values` and
lands what it computed with `commit`; nothing else writes a Variable's value behind its back.
"""

import jax

from lamina._runtime import sharding
from lamina._runtime.scope import StateScope, current_scope
from lamina._runtime.tracking import contains
from lamina._runtime.variable import Variable, is_variable


def commit(pairs):
    """Writes `(variable, value)` pairs computed by lamina's own code (a finished scope's
    assignments, a compiled program's outputs) into the Variables, or into the active scope.

    The values were checked when the code that produced them assigned them (shape and dtype
    fit the Variable), so they are stored as they are.
    """
    scope = current_scope()
    if scope is None:
        if sharding._used:  # keras.distribution: values return to their Variables' layouts
            pairs = [(variable, _relayout(variable, value)) for variable, value in pairs]
        for variable, value in pairs:
            variable._value = value
    else:
        for variable, value in pairs:
            scope.write(variable, value)


def _relayout(variable, value):
    target = variable._sharding
    if target is None or getattr(value, "sharding", target) == target:
        return value
    return jax.device_put(value, target)


def current_values(variables, distinct=False):
    """The Variables' values, as a program reads them (the active scope's, or their own).

    With `distinct`, two Variables holding one buffer (assigned the same array) get separate
    copies, so that a program may donate every value.
    """
    scope = current_scope()
    if scope is None:
        values = [variable._value for variable in variables]
    else:
        values = [scope.read(variable) for variable in variables]
    if distinct and len({id(value) for value in values}) != len(values):
        seen = set()
        for index, value in enumerate(values):
            if id(value) in seen:
                values[index] = value.copy()
            seen.add(id(value))
    return tuple(values)


def unwrap(tree):
    """`tree` with each Variable replaced by its current value (lists, tuples, dicts walked)."""
    if isinstance(tree, Variable):
        return tree.value
    if isinstance(tree, (list, tuple, dict)):
        return jax.tree_util.tree_map(
            lambda x: x.value if isinstance(x, Variable) else x, tree, is_leaf=is_variable)
    return tree


def has_tracers(tree):
    """Whether `tree` holds values traced by JAX (called from inside `jax.jit` or `jax.grad`
    without a state scope: such code cannot run eagerly, nor as lamina's own program)."""
    return contains(tree, _is_tracer)


def _is_tracer(value):
    return isinstance(value, jax.core.Tracer)


def run_and_commit(fn, *args, **kwargs):
    """Runs `fn` eagerly with its assignments held in a scope, and commits them only if it
    returns: an error leaves every Variable as it was, as a compiled program would."""
    with StateScope() as scope:
        outputs = unwrap(fn(*args, **kwargs))  # read while the scope's values are visible
    commit(scope.assigned())
    return outputs
