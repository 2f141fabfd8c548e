"""`Stateful`: the base of everything that owns Variables (layers and models, metrics, optimizers).

It holds, once for all of them:

* **tracking**: Variables and stateful sub-objects assigned to attributes (directly or in lists
  and dicts) join the owner's collections (`tracking.Tracker`);
* **a name scope**: Variables created in `with self._name_scope():` get paths under the name;
* **a version**: a number that changes exactly when something compiled code may have baked
  in changes: the tracked structure (Variables or sub-objects added or removed), or a plain
  attribute set outside a trace (`model.scale = 3.0`, `optimizer.clipvalue = 0.5`). A change
  in a sub-object changes its owners' versions too, so a model's version covers its layers,
  and a layer built anywhere else in the process changes nothing here. Variable *values* are
  never part of it: compiled programs take them as inputs;
* **compiled eager calls**: `model(x)`, `metric.update_state(...)` and
  `optimizer.apply_gradients(...)` outside any trace run as compiled programs
  (`lamina.function`), one per method, kept while the version is unchanged;
* **the `super().__init__()` check**, with one error message.

Attributes set while a trace is running (a layer's call recording a shape, say) are the
trace's own bookkeeping, repeated at each trace, so they do not change the version; tracked
structure created then (a layer built lazily inside a compiled call) does.
"""

import warnings
import weakref

import jax

from lamina._runtime import naming, tracking
from lamina._runtime.function import Function
from lamina._runtime.scope import current_scope
from lamina._runtime.state import run_and_commit

_MISSING = object()

# Errors meaning "this Python code needs concrete values" (an `if` on an array's value):
# such a method cannot be compiled, so its eager calls run op by op instead.
NEEDS_CONCRETE_VALUES = (
    jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
    jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)

# The bookkeeping attributes every Stateful sets with object.__setattr__.
_BOOKKEEPING = frozenset({"_tracker", "_version", "_owners", "_compiled_calls",
                          "_op_by_op_calls"})


def _inside_trace():
    scope = current_scope()
    return scope is not None and scope.trace_scope() is not None


def _is_data_descriptor(cls, name):
    attribute = getattr(cls, name, None)
    return attribute is not None and hasattr(type(attribute), "__set__")


class Stateful:
    """The shared base of `Layer`, `Metric` and `Optimizer`: see the module docstring.

    A subclass calls `Stateful.__init__(self, collections)` first in its `__init__`, with the
    collections its tracker keeps (`{"layers": [], "trainable_variables": [], ...}`).
    """

    _lamina_tracked_as = None
    # Attributes that are bookkeeping rather than part of what compiled code computes: setting
    # one neither tracks its value nor changes the version.
    _untracked_attributes = frozenset()
    # Whether eager calls run as compiled programs; False runs them op by op (for print and
    # pdb inside a layer's call, a metric's update or an optimizer's update_step).
    _compile_eager_calls = True

    def __init__(self, collections):
        own = object.__setattr__
        own(self, "_tracker", tracking.Tracker(collections, self._on_tracked_change))
        own(self, "_version", 0)
        own(self, "_owners", weakref.WeakSet())
        own(self, "_compiled_calls", {})
        own(self, "_op_by_op_calls", set())

    # ----------------------------------------------------------------------------- tracking
    def __setattr__(self, name, value):
        tracker = self.__dict__.get("_tracker")
        if tracker is None:
            if name not in _BOOKKEEPING and tracking.contains_trackable(value):
                self._raise_super_not_called(f"sets attribute '{name}'")
            object.__setattr__(self, name, value)
            return
        if (name in self._untracked_attributes or name.startswith("__")
                or _is_data_descriptor(type(self), name)):
            # A property's setter decides for itself what its change means.
            object.__setattr__(self, name, value)
            return
        old = self.__dict__.get(name, _MISSING)
        if old is not value:
            if old is not _MISSING:
                tracker.untrack(old)
            value = tracker.track(value)
            object.__setattr__(self, name, value)
            self._mark_changed()
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        tracker = self.__dict__.get("_tracker")
        if tracker is not None and name in self.__dict__:
            tracker.untrack(self.__dict__[name])
            self._mark_changed()
        object.__delattr__(self, name)

    def __getstate__(self):
        # Copies and pickles keep the owners (as a plain list: weak sets do not pickle) and
        # drop the compiled calls, which belong to this process and are rebuilt on demand.
        state = dict(self.__dict__)
        if "_owners" in state:
            state["_owners"] = list(state["_owners"])
            state["_compiled_calls"] = {}
            state["_op_by_op_calls"] = set()
        return state

    def __setstate__(self, state):
        if "_owners" in state:
            state = dict(state, _owners=weakref.WeakSet(state["_owners"]))
        self.__dict__.update(state)

    def _on_tracked_change(self, value, added):
        if isinstance(value, Stateful):
            if added:
                value._owners.add(self)
            else:
                value._owners.discard(self)
        self._mark_changed(structural=True)

    def _mark_changed(self, structural=False):
        """Changes the version of this object and of every object that owns it.

        A plain attribute set while a trace runs is not a change (see the module docstring).
        """
        if not structural and _inside_trace():
            return
        own = self.__dict__
        own["_version"] = own.get("_version", 0) + 1
        owners = own.get("_owners")
        if not owners:  # the common case (an object being built): nothing owns it yet
            return
        pending, seen = list(owners), {id(self)}
        while pending:
            obj = pending.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            obj.__dict__["_version"] = obj.__dict__.get("_version", 0) + 1
            pending.extend(obj.__dict__.get("_owners", ()))

    def _check_super_called(self):
        if "_tracker" not in self.__dict__:
            self._raise_super_not_called("is used")

    def _raise_super_not_called(self, what):
        raise RuntimeError(
            f"{type(self).__name__} {what} before super().__init__() was called. Call "
            f"`super().__init__(**kwargs)` first in the `__init__()` method of "
            f"{type(self).__name__}, so that it can track its variables and sub-objects.")

    # ----------------------------------------------------------------------------- naming
    def _name_scope(self):
        """Opens this object's name scope, unless the innermost scope is already its own."""
        name = self.name.replace("/", ">")
        path = naming.current_path()
        if path and path[-1] == name:
            return _null_scope()
        return naming.name_scope(name)

    # ----------------------------------------------------------------------------- eager calls
    def _call_compiled(self, key, fn, *args, **kwargs):
        """Runs `fn(*args, **kwargs)` as the compiled program cached under `key`.

        The program is kept while `self`'s version is unchanged (the version after the call
        that traced it, so that a lazily built object keeps the program that built it). Code
        that needs concrete values cannot be compiled: it then runs op by op, with a warning
        once, and its assignments commit only if it returns, as a program's would.
        """
        entry = self._compiled_calls.get(key)
        if entry is not None and entry[0] == self._version:
            compiled = entry[1]  # the common case: nothing changed since the last call
        elif key in self._op_by_op_calls or not self._compile_eager_calls:
            return run_and_commit(fn, *args, **kwargs)
        else:
            compiled = Function(fn)
            compiled.__name__ = f"{type(self).__name__}.{key}"
        try:
            outputs = compiled(*args, **kwargs)
        except NEEDS_CONCRETE_VALUES as error:
            self._compiled_calls.pop(key, None)
            self._op_by_op_calls.add(key)
            warnings.warn(
                f"{type(self).__name__} '{getattr(self, 'name', '')}': {key} uses an array's "
                f"value in Python ({type(error).__name__}), so it cannot be compiled; its eager "
                "calls now run op by op, which is slower, and compiled training (fit, "
                "keras.function) of this code will fail the same way. Use ops.where / "
                "ops.cond instead of a Python `if` on array values to make it compile.",
                stacklevel=3)
            return run_and_commit(fn, *args, **kwargs)
        if entry is None or entry[1] is not compiled or entry[0] != self._version:
            self._compiled_calls[key] = (self._version, compiled)
        return outputs


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


__all__ = ["Stateful", "NEEDS_CONCRETE_VALUES"]
