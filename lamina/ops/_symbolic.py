"""Lets `keras.ops` functions accept symbolic tensors (`keras.Input`) without importing layers.

Every public op is decorated with `symbolic_op` where it is defined. Called with a symbolic
argument, it hands the call to that argument's type through the `__lamina_op__` protocol
(the way NumPy hands calls to `__array_function__`): the layers package's `KerasTensor`
implements it by recording a graph node of the functional model. So ops never import layers,
and nothing is registered or rewritten when a module is imported.
"""

import functools

__all__ = ["symbolic_op"]

PROTOCOL = "__lamina_op__"


def _handler(value):
    return getattr(type(value), PROTOCOL, None)


def _find_handler(args, kwargs):
    """The `__lamina_op__` of the first symbolic argument (also inside a list or tuple)."""
    for value in (*args, *kwargs.values()):
        handler = _handler(value)
        if handler is not None:
            return handler
        if isinstance(value, (list, tuple)):
            for item in value:
                handler = _handler(item)
                if handler is not None:
                    return handler
    return None


def symbolic_op(function):
    """Decorates a public op: a symbolic argument makes it call the argument type's
    `__lamina_op__(name, args, kwargs)` (a graph node) instead of computing.

    `name` is the op's name in `lamina.ops`, where a saved graph finds it again, so the
    decorated function must be exported there under its own `__name__`.
    """
    name = function.__name__

    @functools.wraps(function)
    def op(*args, **kwargs):
        handler = _find_handler(args, kwargs)
        if handler is None:
            return function(*args, **kwargs)
        return handler(name, args, kwargs)

    return op
