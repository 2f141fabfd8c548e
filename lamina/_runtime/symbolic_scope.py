"""`keras.SymbolicScope`: marks code that runs only to find shapes and dtypes.

lamina enters one while it traces a call abstractly to find its output shapes (the functional
API's symbolic calls, `compute_output_spec`), so code that must behave differently there, for
example to skip a check that needs values, can ask `in_symbolic_scope()`.
"""

import contextvars

_active = contextvars.ContextVar("lamina_symbolic_scope", default=None)


class SymbolicScope:
    """A context manager saying that the code inside runs symbolically: on abstract values,
    for their shapes and dtypes, never for results.

    Examples:
        >>> from lamina._runtime.symbolic_scope import in_symbolic_scope
        >>> with lamina.SymbolicScope():
        ...     in_symbolic_scope()
        True
        >>> in_symbolic_scope()
        False
    """

    def __init__(self):
        self._token = None

    def __enter__(self):
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc_info):
        _active.reset(self._token)
        self._token = None
        return False


def in_symbolic_scope():
    """Whether a `SymbolicScope` is active."""
    return _active.get() is not None


def get_symbolic_scope():
    """The innermost active `SymbolicScope`, or None."""
    return _active.get()
