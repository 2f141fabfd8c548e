"""The state scope: the one mechanism that moves Variable state through pure JAX functions.

Outside any scope a Variable is an ordinary mutable holder. Inside a scope, reading a Variable
returns the scope's value for it, and assigning to it writes into the scope, never into the
Variable. A stateful program therefore becomes a pure function: bind Variables to input values,
run the program, collect what it assigned (`run_pure`). `function`, `value_and_grad`, layers'
`stateless_call`, optimizers and the trainer all stand on this module; none moves state any
other way.

Scopes nest. A *transparent* scope falls back to its parent (and finally to the Variable itself)
for Variables it does not hold; `value_and_grad` uses one, so a loss may read any Variable. An
*opaque* scope belongs to a compiled trace: it must carry every Variable the trace touches as an
explicit input, so instead of falling back it records the Variable as missing, and the compiled
function retraces with it carried.

The current scope lives in a `contextvars.ContextVar`, so threads and async tasks each see their
own.
"""

import contextlib
import contextvars

_current_scope = contextvars.ContextVar("lamina_state_scope", default=None)


def current_scope():
    """The innermost active `StateScope`, or None when running eagerly."""
    return _current_scope.get()


class StateScope:
    """Binds Variables to values for the code run inside it; records assignments.

    Args:
        state_mapping: pairs `(variable, value)` the scope starts with.
        opaque: if True, Variables the scope does not hold are recorded in `missing` (and read
            from the Variable itself) instead of being looked up in enclosing scopes. Compiled
            traces use this to find the Variables they must carry.
        trace: the compiled-function trace this scope belongs to, if any. Variable creation
            consults it to decide whether creating a Variable here is allowed.

    Examples:
        >>> v = lamina.Variable(1.0)
        >>> with StateScope([(v, 5.0)]) as scope:
        ...     _ = v.assign_add(1.0)
        >>> float(scope.get(v)), float(v.numpy())
        (6.0, 1.0)
    """

    __slots__ = ("_values", "_variables", "_assigned", "missing", "opaque", "trace", "parent",
                 "_token")

    def __init__(self, state_mapping=(), *, opaque=False, trace=None):
        self._values = {}
        self._variables = {}
        self._assigned = {}
        self.missing = {}
        self.opaque = opaque
        self.trace = trace
        self.parent = None
        self._token = None
        for variable, value in state_mapping:
            key = id(variable)
            self._variables[key] = variable
            self._values[key] = variable._check_assignable(value)

    def __enter__(self):
        self.parent = _current_scope.get()
        self._token = _current_scope.set(self)
        return self

    def __exit__(self, *exc_info):
        _current_scope.reset(self._token)
        self._token = None
        return False

    def holds(self, variable):
        """Whether this scope (not its parents) has a value for `variable`."""
        return id(variable) in self._values

    def read(self, variable):
        key = id(variable)
        if key in self._values:
            return self._values[key]
        if self.opaque:
            self.missing[key] = variable
            return variable._value
        if self.parent is not None:
            return self.parent.read(variable)
        return variable._value

    def write(self, variable, value):
        """Records `value` (already checked and cast by the Variable) as `variable`'s value."""
        key = id(variable)
        if self.opaque and key not in self._values:
            self.missing[key] = variable
        self._variables[key] = variable
        self._values[key] = value
        self._assigned[key] = variable

    def get(self, variable):
        """The value `variable` has in this scope (falling back as `read` does)."""
        return self.read(variable)

    def get_current_value(self, variable):
        """Keras 3's spelling: the value bound or assigned in this scope, or None."""
        return self._values.get(id(variable))

    def was_assigned(self, variable):
        """Whether `variable` was assigned inside this scope (not its parents)."""
        return id(variable) in self._assigned

    def assigned(self):
        """The `(variable, value)` pairs assigned inside this scope, in first-assignment order."""
        return [(variable, self._values[key]) for key, variable in self._assigned.items()]

    def trace_scope(self):
        """The nearest enclosing scope (this one included) that belongs to a compiled trace."""
        scope = self
        while scope is not None:
            if scope.trace is not None:
                return scope
            scope = scope.parent
        return None


class StatelessScope(StateScope):
    """Keras 3's name and signature for a transparent state scope.

    `StatelessScope(state_mapping=[(variable, value), ...])`; inside it, reads see the mapped
    values and assignments are collected (`scope.get_current_value(variable)`), leaving the
    Variables themselves untouched.

    Examples:
        >>> v = lamina.Variable(1.0)
        >>> with lamina.StatelessScope(state_mapping=[(v, 10.0)]) as scope:
        ...     _ = v.assign(v * 2)
        >>> float(scope.get_current_value(v)), float(v.numpy())   # the Variable is unchanged
        (20.0, 1.0)
    """

    __slots__ = ()

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        del collect_losses, initialize_variables  # accepted for Keras compatibility
        super().__init__(state_mapping or ())


def run_pure(variables, values, fn, *args, **kwargs):
    """Runs `fn` with `variables` bound to `values`; returns `(output, new_values)`.

    `new_values` has one entry per Variable in `variables`, in order: the value assigned inside
    `fn`, or the input value where `fn` did not assign it. Nothing is written to the Variables,
    so this is safe to call inside `jax.jit`, `jax.grad` or `lax.scan`.
    """
    with StateScope(zip(variables, values)) as scope:
        output = fn(*args, **kwargs)
    return output, tuple(scope.read(variable) for variable in variables)


@contextlib.contextmanager
def outside_scopes():
    """Runs the block as if no scope were active: reads see the Variables' own values.

    Variables created inside a compiled trace compute their initial values here, so that the
    values are concrete (not traced) and the Variable outlives the trace.
    """
    token = _current_scope.set(None)
    try:
        yield
    finally:
        _current_scope.reset(token)
