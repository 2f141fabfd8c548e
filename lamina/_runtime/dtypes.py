"""Dtype names as Keras spells them, and the checks that keep Variables' dtypes stable."""

import jax.numpy as jnp
import numpy as np

from lamina._runtime import config

_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "int": "int32",
    "uint": "uint32",
    "bool_": "bool",
}


# The dtypes a Keras program may name (Keras 3's `ALLOWED_DTYPES`, less "string", which JAX
# cannot hold). Anything else is refused, however NumPy would read it: a dtype string comes from
# layer configs, and NumPy accepts names such as "V100000000" (100 MB per element) or "object".
ALLOWED_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "bfloat16", "float16", "float32", "float64", "float8_e4m3fn", "float8_e5m2",
    "complex64", "complex128",
)
_ALLOWED = frozenset(ALLOWED_DTYPES)


def standardize_dtype(dtype):
    """Returns the Keras string name of `dtype` (`"float32"`, `"int32"`, ...).

    Accepts a string, a NumPy or JAX dtype, a Python type, or an object with a `.name` (such as
    `lamina.compat.tf.float32`). `None` means the default float type (`config.floatx()`). The
    result is always one of `ALLOWED_DTYPES`; any other dtype (`"object"`, `"str"`, a NumPy
    void or bytes type such as `"V100000000"`) raises a `ValueError` listing the accepted ones,
    because a dtype read from a file sets how many bytes every element of a weight takes.

    Examples:
        >>> standardize_dtype(np.float64), standardize_dtype(tf.int32), standardize_dtype(None)
        ('float64', 'int32', 'float32')
    """
    if dtype is None or dtype is float:
        return config.floatx()
    if isinstance(dtype, str):
        dtype = _ALIASES.get(dtype, dtype)
        if dtype in _ALLOWED:  # the common case, decided without NumPy
            return dtype
    elif dtype is int:
        return "int32"
    elif dtype is bool:
        return "bool"
    elif dtype is complex:
        return "complex64"
    if hasattr(dtype, "as_numpy_dtype"):  # a TF-style dtype object from lamina.compat.tf
        dtype = dtype.as_numpy_dtype
    try:
        name = np.dtype(dtype).name
    except Exception:  # NumPy raises TypeError, ValueError or worse for a malformed spec
        name = None
    if name not in _ALLOWED:
        raise ValueError(
            f"Invalid dtype: {short_repr(dtype)}. Expected one of "
            f"{', '.join(ALLOWED_DTYPES)} (or the NumPy/JAX dtype of one of them). If it comes "
            "from a config (a layer's 'dtype', a DTypePolicy's 'name'), correct it there.")
    return name


def short_repr(value, limit=80):
    """`repr(value)`, cut to `limit` characters: error messages quote values read from files."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4300-digit limit on int -> str conversion
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else f"{text[:limit - 15]}...({len(text)} chars)"


def is_float(dtype):
    return jnp.issubdtype(np.dtype(standardize_dtype(dtype)), jnp.floating)


def is_complex(dtype):
    return jnp.issubdtype(np.dtype(standardize_dtype(dtype)), jnp.complexfloating)


def is_int(dtype):
    return jnp.issubdtype(np.dtype(standardize_dtype(dtype)), jnp.integer)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # "V": bfloat16 in some NumPys


def can_store(value_dtype, target_dtype):
    """Whether a value of `value_dtype` may be assigned to a variable of `target_dtype`.

    Precision may drop within a kind (a NumPy float64 into a float32 weight is the everyday case),
    but the kind may not go down: a float into an integer variable, or a complex into a real one,
    would silently lose the fractional or imaginary part.
    """
    value_kind = np.dtype(standardize_dtype(value_dtype)).kind
    target_kind = np.dtype(standardize_dtype(target_dtype)).kind
    return _KIND_RANK.get(value_kind, 2) <= _KIND_RANK.get(target_kind, 2)
