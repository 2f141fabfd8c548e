"""Lets `keras.ops` functions accept symbolic tensors (`keras.Input`) without importing layers.

The layers package registers its `KerasTensor` class and a function that records a graph node;
until it does, no symbolic tensor can exist and ops pay one truthiness check per call.
"""

_symbolic_types = ()
_record_node = None


def register(tensor_type, record_node):
    """Called by `lamina.layers.symbolic_ops`: `record_node(name, args, kwargs)` -> outputs."""
    global _symbolic_types, _record_node
    _symbolic_types = (tensor_type,)
    _record_node = record_node


def _has_symbolic(args, kwargs):
    types = _symbolic_types
    for value in args:
        if isinstance(value, types):
            return True
        if isinstance(value, (list, tuple)) and any(isinstance(v, types) for v in value):
            return True
    return any(isinstance(v, types) for v in kwargs.values())


def dispatching(name, function):
    """`function`, recording a graph node instead when an argument is symbolic."""
    def op(*args, **kwargs):
        if _symbolic_types and _has_symbolic(args, kwargs):
            return _record_node(name, args, kwargs)
        return function(*args, **kwargs)

    op.__name__ = getattr(function, "__name__", name)
    op.__qualname__ = getattr(function, "__qualname__", name)
    op.__doc__ = function.__doc__
    op.__module__ = getattr(function, "__module__", "lamina.ops")
    op.__wrapped__ = function
    return op
