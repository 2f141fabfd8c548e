"""`function`: compile a stateful Python function, as `tf.function` does, on top of `jax.jit`.

The user's function reads and assigns Variables it closes over. For each input signature it is
traced once by `tracing.trace_stateful`, which finds the Variables it touches and turns it into
the pure function `(carried values, arguments) -> (assigned values, outputs)`; that is compiled
with `jax.jit`, and each call reads the carried values in and commits the assigned ones back.

The Variables to carry are found by tracing: a first trace that touches Variables nobody told
it about (a model's weights, an optimizer slot created during the call) traces again with them
carried, as `tf.function` traces twice when a call creates variables. Later signatures start
from everything found so far, so they trace once.
"""

import functools

import jax
import numpy as np

from lamina._runtime.state import commit, current_values, run_and_commit, unwrap
from lamina._runtime.tracing import spec_of, trace_stateful
from lamina._runtime.variable import Variable, is_variable


_ARRAY_TYPES = (jax.Array, np.ndarray)  # always traced arguments
_DYNAMIC = object()  # marks where a traced (array or number) argument goes


class _VariableSlot:
    """Stands in a signature where the caller passed a Variable (the `index`-th one)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __hash__(self):
        return hash(("lamina-variable-slot", self.index))

    def __eq__(self, other):
        return isinstance(other, _VariableSlot) and other.index == self.index


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

    def rebuild(self, dynamic):
        """The call's `(args, kwargs)` with `dynamic` in the places of the traced arguments."""
        dynamic = iter(dynamic)
        leaves = []
        for item in self.static:
            if item is _DYNAMIC:
                leaves.append(next(dynamic))
            elif isinstance(item, _VariableSlot):
                leaves.append(self.variables[item.index])
            else:
                leaves.append(item)
        return jax.tree_util.tree_unflatten(self.treedef, leaves)


class _Program:
    """One traced and compiled form of the function, for one signature and input layout."""

    __slots__ = ("trace", "assigned_variables", "run")

    def __init__(self, trace):
        self.trace = trace
        self.assigned_variables = tuple(trace.variables[i] for i in trace.assigned)
        layouts = tuple(v._sharding for v in self.assigned_variables)
        if any(layout is not None for layout in layouts):
            # keras.distribution: assigned values come out in their Variables' layouts.
            self.run = jax.jit(trace.call_assigned, out_shardings=(layouts, None))
        else:
            self.run = jax.jit(trace.call_assigned)


def _layout_key(value):
    """What selects a program for a traced argument: shape, dtype and weak type of an array
    (read directly: cheaper than building its abstract value on every call), or the type of
    a Python number."""
    try:
        return value.shape, value.dtype, getattr(value, "weak_type", False)
    except AttributeError:
        return type(value)


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


def _describe_argument(args, kwargs, leaf_index):
    paths = jax.tree_util.tree_flatten_with_path((args, kwargs), is_leaf=is_variable)[0]
    path, _ = paths[leaf_index]
    where, *rest = path
    if where.idx == 0:
        name = f"argument {rest[0].idx}" if rest else "arguments"
    else:
        name = f"argument '{rest[0].key}'" if rest else "keyword arguments"
    return f"{name}{jax.tree_util.keystr(tuple(rest[1:]))}"


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
        self._carried = []  # every Variable a trace has found, in the order found
        self._programs = {}  # (signature, input layout) -> _Program
        self._fast_signatures = {}  # number of positional arrays -> their _Signature
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
        """The Variables the compiled programs read or write, in the order they were found."""
        return list(self._carried)

    def __repr__(self):
        return f"<lamina.function {self.__name__} jit_compile={self.jit_compile}>"

    # ----------------------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if not self.jit_compile:
            return run_and_commit(self._fn, *args, **kwargs)
        if not kwargs and all(isinstance(a, _ARRAY_TYPES) for a in args):
            # The common case (arrays only, positionally): no pytree walk per call.
            dynamic = args
            signature = self._fast_signatures.get(len(args))
            if signature is None:
                signature = self._fast_signatures[len(args)] = self._split_arguments(
                    args, kwargs)[1]
        else:
            dynamic, signature = self._split_arguments(args, kwargs)
        layout = tuple(map(_layout_key, dynamic))
        program = self._programs.get((signature, layout))
        if program is None:
            program = self._programs[(signature, layout)] = self._trace(
                signature, [spec_of(x) for x in dynamic])
        assigned, outputs = program.run(current_values(program.trace.variables), dynamic)
        if assigned:
            commit(zip(program.assigned_variables, assigned))
        return outputs

    def _trace(self, signature, specs):
        """Traces the function for a signature and input specs into a compiled `_Program`."""
        def run(*dynamic):
            self._trace_count += 1
            args, kwargs = signature.rebuild(dynamic)
            outputs = unwrap(self._fn(*args, **kwargs))
            _check_outputs(self.__name__, outputs)
            return outputs

        run.__name__ = self.__name__
        trace = trace_stateful(run, *specs, hint=list(signature.variables) + self._carried,
                               allow_creation=not self._programs,
                               forbid_creation=self._forbid_creation)
        carried = {id(v) for v in self._carried}
        self._carried += [v for v in trace.variables
                          if id(v) not in carried and not any(v is a for a in signature.variables)]
        return _Program(trace)

    def _forbid_creation(self, variable):
        raise ValueError(
            f"keras.function '{self.__name__}' created variable '{variable.path}' on a trace "
            "after its first one. A compiled function may create Variables only while it is "
            "first traced (a layer built lazily, an optimizer's slots, a metric), as with "
            "tf.function. Create the variable outside the function, or guard its creation so "
            "that it runs once (`if self.v is None: ...`); if a new input shape makes a layer "
            "build again, build it for that shape beforehand.")

    def _split_arguments(self, args, kwargs):
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_variable)
        dynamic = []
        static = []
        variables = []
        static_leaf_ids = self._static_leaf_indices(args, kwargs)
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
                    f"{_describe_argument(args, kwargs, index)} of type "
                    f"{type(leaf).__name__}: it is neither an array nor a hashable Python "
                    "value. Pass arrays, numbers, Variables, strings, bools or None (or "
                    "lists, tuples and dicts of them); convert the value to an array, or to a "
                    "hashable type (e.g. a tuple instead of a set).")
        return dynamic, _Signature(treedef, tuple(static), tuple(variables))

    def _static_leaf_indices(self, args, kwargs):
        if not self._static_argnames or self._static_argnames.isdisjoint(kwargs):
            return ()
        leaves_with_path = jax.tree_util.tree_flatten_with_path(
            (args, kwargs), is_leaf=is_variable)[0]
        return {
            index for index, (path, _) in enumerate(leaves_with_path)
            if path[0].idx == 1 and path[1].key in self._static_argnames}


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
