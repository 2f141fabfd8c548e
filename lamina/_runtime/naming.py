"""Names and paths: `dense_1` for the second unnamed Dense, `sequential/dense_1/kernel` for its weight.

Layers push their name while they create weights, so a Variable's path records where it lives.
Auto-names count per prefix, process-wide, as Keras does (`keras.backend.clear_session()`
resets the counters).
"""

import collections
import contextlib
import contextvars
import re
import threading

_path = contextvars.ContextVar("lamina_name_path", default=())
_counters = collections.defaultdict(int)
_counters_lock = threading.Lock()


@contextlib.contextmanager
def name_scope(name):
    """Appends `name` to the path of Variables created in the block.

    Examples:
        >>> with name_scope("encoder"):
        ...     v = lamina.Variable(0.0, name="bias")
        >>> v.path
        'encoder/bias'
    """
    name = str(name)
    token = _path.set(_path.get() + (name,))
    try:
        yield
    finally:
        _path.reset(token)


def current_path():
    """The active name scopes, outermost first."""
    return _path.get()


def join_path(name):
    return "/".join(_path.get() + (name,))


def to_snake_case(name):
    """`MyDense` -> `my_dense`, `LSTM` -> `lstm`, `Conv2D` -> `conv2d` (Keras's rule)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... (process-wide)."""
    with _counters_lock:
        count = _counters[prefix]
        _counters[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names():
    """Forgets all auto-name counters (part of `keras.backend.clear_session()`)."""
    with _counters_lock:
        _counters.clear()


def get_uid(prefix=""):
    """The next number of `prefix`'s counter (1 the first time): the counter auto-names use,
    so after one unnamed Dense, `get_uid("dense")` is 2 and the next Dense is `dense_2`.

    Examples:
        >>> get_uid("lamina_doc_example"), get_uid("lamina_doc_example")
        (1, 2)
    """
    if not isinstance(prefix, str):
        raise TypeError(
            "keras.backend.get_uid: `prefix` must be a string (the name to count). Received: "
            f"prefix={prefix!r} of type {type(prefix).__name__}.")
    with _counters_lock:
        _counters[prefix] += 1
        return _counters[prefix]
