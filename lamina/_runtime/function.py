"""`function`: compile a stateful Python function, as `tf.function` does, on top of `jax.jit`.

The user's function reads and assigns Variables it closes over. Compiled, it becomes the pure
function `(carried_values, argument_values) -> (outputs, assigned_values)`: a trace opens an
opaque `StateScope` binding each carried Variable to its traced input, runs the user's code and
returns what was assigned; the call writes those values back.

Which Variables to carry is found by tracing. A trace that touches a Variable it does not carry
(a model's weights the first time, an optimizer slot created during the call) ends by raising
`_RetraceNeeded`; the function adds the Variables to what it carries and traces again. So the
first call may trace twice, as `tf.function` does when a call creates variables, and later
calls retrace only for a new input signature.
"""

import functools

import jax
import numpy as np

from lamina._runtime.scope import StateScope, _current_scope
from lamina._runtime.variable import Variable, is_variable


_ARRAY_TYPES = (jax.Array, np.ndarray)  # always traced arguments


class _RetraceNeeded(Exception):
    """Raised at the end of a trace that found Variables its function does not carry yet."""

    def __init__(self, function):
        super().__init__("internal: retrace with more carried variables")
        self.function = function


class _VariableSlot:
    """Stands in a flattened argument list where the caller passed a Variable."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


_DYNAMIC = object()  # marks where a traced (array or number) argument goes


class _Signature:
    """What selects a compiled program besides array shapes: the argument structure, the static
    (non-array) arguments, and the identity of Variables passed as arguments."""

    __slots__ = ("treedef", "static", "variables", "_key", "_hash")

    def __init__(self, treedef, static, variables):
        self.treedef = treedef
        self.static = static
        self.variables = variables
        self._key = (treedef, static, tuple(id(v) for v in variables))
        self._hash = hash(self._key)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        # Variable ids are compared by value; the signature holds the Variables, so an id
        # cannot be reused by another object while this entry exists.
        return self._key == other._key


class _Trace:
    """Bookkeeping for one trace, consulted when user code creates a Variable mid-trace."""

    __slots__ = ("function", "created")

    def __init__(self, function):
        self.function = function
        self.created = []

    def on_variable_created(self, variable):
        function = self.function
        if function._creation_closed:
            raise ValueError(
                f"keras.function '{function.__name__}' created variable '{variable.path}' on a "
                "trace after its first one. A compiled function may create Variables only "
                "while it is first traced (a layer built lazily, an optimizer's slots, a "
                "metric), as with tf.function. Create the variable outside the function, or "
                "guard its creation so that it runs once (`if self.v is None: ...`); if a new "
                "input shape makes a layer build again, build it for that shape beforehand.")
        self.created.append(variable)


def _leaf_kind(leaf):
    if isinstance(leaf, Variable):
        return "variable"
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        return "dynamic"
    if isinstance(leaf, bool) or leaf is None or isinstance(leaf, str):
        return "static"
    if isinstance(leaf, (int, float, complex)):
        return "dynamic"
    try:
        hash(leaf)
    except TypeError:
        return "unsupported"
    return "static"


def _describe_argument(args, kwargs, leaf_index, leaf):
    paths = jax.tree_util.tree_flatten_with_path((args, kwargs), is_leaf=is_variable)[0]
    path, _ = paths[leaf_index]
    where, *rest = path
    if where.idx == 0:
        name = f"argument {rest[0].idx}" if rest else "arguments"
        rest = rest[1:]
    else:
        name = f"argument '{rest[0].key}'" if rest else "keyword arguments"
        rest = rest[1:]
    return f"{name}{jax.tree_util.keystr(tuple(rest))}"


class Function:
    """A compiled stateful function. Create it with `lamina.function(fn)`.

    It keeps one compiled program per input signature and the list of Variables those
    programs carry, which it found by tracing; both can be inspected, to check that a training
    step does not retrace at every call.

    Examples:
        >>> total = lamina.Variable(0.0, name="total")
        >>> accumulate = lamina.function(lambda x: total.assign_add(x.sum()))
        >>> _ = accumulate(np.ones(3, "float32"))
        >>> _ = accumulate(np.ones(3, "float32"))   # same signature: no new trace
        >>> float(total.numpy()), [v.name for v in accumulate.carried_variables]
        (6.0, ['total'])
        >>> accumulate.tracing_count   # the first trace found `total`, the second carried it
        2
        >>> _ = accumulate(np.ones(5, "float32"))   # a new shape traces again
        >>> accumulate.tracing_count
        3
    """

    def __init__(self, fn, jit_compile=True, static_argnames=()):
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):  # a callable object, such as a layer
            self.__name__ = getattr(fn, "name", type(fn).__name__)
        self._fn = fn
        self.jit_compile = jit_compile
        self._static_argnames = frozenset(
            (static_argnames,) if isinstance(static_argnames, str) else static_argnames)
        self._carried = ()
        self._carried_ids = frozenset()
        self._compiled = {}
        self._creation_closed = False
        self._trace_count = 0

    def __get__(self, instance, owner):
        if instance is None:
            return self
        # A decorated method: one compiled function per instance, so each carries its own state.
        bound = instance.__dict__.get(self._fn.__name__)
        if not isinstance(bound, Function):
            bound = Function(self._fn.__get__(instance, owner), self.jit_compile,
                             self._static_argnames)
            try:
                instance.__dict__[self._fn.__name__] = bound
            except (AttributeError, TypeError):
                pass
        return bound

    @property
    def tracing_count(self):
        """How many times the Python function has been traced (as tf.function reports it)."""
        return self._trace_count

    def experimental_get_tracing_count(self):
        return self._trace_count

    @property
    def carried_variables(self):
        """The Variables the compiled program reads or writes, in the order it carries them."""
        return list(self._carried)

    def __repr__(self):
        return f"<lamina.function {self.__name__} jit_compile={self.jit_compile}>"

    # ----------------------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if not self.jit_compile:
            return self._call_eagerly(args, kwargs)
        if not kwargs and all(isinstance(a, _ARRAY_TYPES) for a in args):
            # The common case (arrays only, positionally): no pytree walk per call.
            dynamic = args
            entry = self._compiled.get(len(args))
            if entry is None:
                signature = self._split_arguments(args, kwargs)[1]
                entry = self._compiled[len(args)] = (
                    signature, jax.jit(functools.partial(self._pure, signature)))
        else:
            dynamic, signature = self._split_arguments(args, kwargs)
            entry = self._compiled.get(signature)
            if entry is None:
                entry = self._compiled[signature] = (
                    signature, jax.jit(functools.partial(self._pure, signature)))
        signature, compiled = entry
        scope = _current_scope.get()
        while True:
            if scope is None:
                carried_values = tuple(v._value for v in self._carried)
                argument_values = tuple(v._value for v in signature.variables)
            else:
                carried_values = tuple(scope.read(v) for v in self._carried)
                argument_values = tuple(scope.read(v) for v in signature.variables)
            try:
                outputs, carried_updates, argument_updates = compiled(
                    carried_values, argument_values, dynamic)
            except _RetraceNeeded as retrace:
                if retrace.function is not self:
                    raise
                continue
            break
        self._write_back(scope, self._carried, carried_updates)
        self._write_back(scope, signature.variables, argument_updates)
        return outputs

    @staticmethod
    def _write_back(scope, variables, updates):
        if scope is None:
            for index, value in updates.items():
                variables[index]._value = value
        else:
            for index, value in updates.items():
                variables[index].assign(value)

    def _call_eagerly(self, args, kwargs):
        # Assignments are buffered and committed only if the function returns, so an error
        # leaves every Variable as it was, exactly as in compiled mode.
        with StateScope() as scope:
            outputs = self._fn(*args, **kwargs)
            outputs = _resolve_variables(outputs)
        for variable, value in scope.assigned():
            variable.assign(value)
        return outputs

    def _split_arguments(self, args, kwargs):
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_variable)
        dynamic = []
        static = []
        variables = []
        static_leaf_ids = self._static_leaf_indices(args, kwargs, treedef)
        for index, leaf in enumerate(leaves):
            kind = "static" if index in static_leaf_ids else _leaf_kind(leaf)
            if kind == "dynamic":
                dynamic.append(leaf)
                static.append(_DYNAMIC)
            elif kind == "variable":
                static.append(_VariableSlot(len(variables)))
                variables.append(leaf)
            elif kind == "static":
                static.append(leaf)
            else:
                raise TypeError(
                    f"keras.function '{self.__name__}' cannot take "
                    f"{_describe_argument(args, kwargs, index, leaf)} of type "
                    f"{type(leaf).__name__}: it is neither an array nor a hashable Python "
                    "value. Pass arrays, numbers, Variables, strings, bools or None (or "
                    "lists, tuples and dicts of them); convert the value to an array, or to a "
                    "hashable type (e.g. a tuple instead of a set).")
        static = tuple(_SlotKey(s) if isinstance(s, _VariableSlot) else s for s in static)
        return dynamic, _Signature(treedef, static, tuple(variables))

    def _static_leaf_indices(self, args, kwargs, treedef):
        if not self._static_argnames or self._static_argnames.isdisjoint(kwargs):
            return ()
        leaves_with_path = jax.tree_util.tree_flatten_with_path(
            (args, kwargs), is_leaf=is_variable)[0]
        return {
            index for index, (path, _) in enumerate(leaves_with_path)
            if path[0].idx == 1 and path[1].key in self._static_argnames}

    # ----------------------------------------------------------------------------- tracing
    def _pure(self, signature, carried_values, argument_values, dynamic):
        self._trace_count += 1
        trace = _Trace(self)
        dynamic_iter = iter(dynamic)
        leaves = []
        for item in signature.static:
            if item is _DYNAMIC:
                leaves.append(next(dynamic_iter))
            elif isinstance(item, _SlotKey):
                leaves.append(signature.variables[item.index])
            else:
                leaves.append(item)
        args, kwargs = jax.tree_util.tree_unflatten(signature.treedef, leaves)

        carried = self._carried
        bindings = list(zip(carried, carried_values))
        bindings += zip(signature.variables, argument_values)
        scope = StateScope(bindings, opaque=True, trace=trace)
        with scope:
            outputs = self._fn(*args, **kwargs)
            outputs = _resolve_variables(outputs)
        self._creation_closed = True

        if scope.missing:
            new = [v for key, v in scope.missing.items() if key not in self._carried_ids]
            if new:
                self._carried = carried + tuple(new)
                self._carried_ids = frozenset(id(v) for v in self._carried)
                raise _RetraceNeeded(self)
        _check_outputs(self.__name__, outputs)
        carried_updates = {
            index: scope.get_current_value(variable)
            for index, variable in enumerate(carried) if _was_assigned(scope, variable)}
        argument_updates = {
            index: scope.get_current_value(variable)
            for index, variable in enumerate(signature.variables)
            if _was_assigned(scope, variable)}
        return outputs, carried_updates, argument_updates


class _SlotKey:
    """Hashable form of a `_VariableSlot` inside a `_Signature`."""

    __slots__ = ("index",)

    def __init__(self, slot):
        self.index = slot.index

    def __hash__(self):
        return hash(("lamina-variable-slot", self.index))

    def __eq__(self, other):
        return isinstance(other, _SlotKey) and other.index == self.index


def _was_assigned(scope, variable):
    return id(variable) in scope._assigned


def _resolve_variables(tree):
    """Replaces Variables in a returned structure by their current values."""
    return jax.tree_util.tree_map(
        lambda x: x.value if isinstance(x, Variable) else x, tree, is_leaf=is_variable)


def _check_outputs(name, outputs):
    for path, leaf in jax.tree_util.tree_flatten_with_path(outputs)[0]:
        if not isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, complex, bool)):
            raise TypeError(
                f"keras.function '{name}' returned a value of type {type(leaf).__name__} at "
                f"output{jax.tree_util.keystr(path)}; a compiled function can only return "
                "arrays, numbers, Variables and lists, tuples or dicts of them. Return the "
                "value from an uncompiled helper, or convert it to an array.")


def function(fn=None, *, jit_compile=True, static_argnames=()):
    """Compiles a stateful Python function, as `tf.function` does.

    The function may read and assign any Variables it can reach (a model's weights, an
    optimizer's slots, metrics, counters) without receiving them as arguments; Variables passed
    as arguments work too. It is traced once per input signature (shapes, dtypes, structure,
    and the values of non-array arguments such as bools and strings); Python side effects run
    only while tracing. Python numbers are traced, so a new value does not retrace; name an
    argument in `static_argnames` when Python code must see its value (a loop bound, say).

    Variables created during the first call (a lazily built layer, an optimizer's slots) are
    created once, outside the trace, and carried from then on; creating Variables on a later
    trace is an error.

    Args:
        fn: the function; `function` also works as a decorator, with or without arguments.
        jit_compile: False runs `fn` eagerly (for debugging with print and pdb), with the same
            all-or-nothing assignment of Variables.
        static_argnames: keyword arguments whose values select a separate trace.

    Examples:
        >>> counter = lamina.Variable(0)
        >>> @lamina.function
        ... def increment(c=1):
        ...     return counter.assign_add(c)
        >>> _ = increment()  # the first call traces and compiles
        >>> int(increment())  # later calls run the compiled program
        2
    """
    if fn is None:
        return functools.partial(function, jit_compile=jit_compile,
                                 static_argnames=static_argnames)
    if isinstance(fn, Function):
        fn = fn._fn
    if not callable(fn):
        raise TypeError(
            f"keras.function expects a callable. Received: {fn!r} of type "
            f"{type(fn).__name__}.")
    return Function(fn, jit_compile=jit_compile, static_argnames=static_argnames)


__all__ = ["function", "Function"]
