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


def standardize_dtype(dtype):
    """Returns the Keras string name of `dtype` (`"float32"`, `"int32"`, ...).

    Accepts a string, a NumPy or JAX dtype, a Python type, or an object with a `.name` (such as
    `lamina.compat.tf.float32`). `None` means the default float type (`config.floatx()`).

    Examples:
        >>> standardize_dtype(np.float64), standardize_dtype(tf.int32), standardize_dtype(None)
        ('float64', 'int32', 'float32')
    """
    if dtype is None:
        return config.floatx()
    if dtype is float:
        return config.floatx()
    if dtype is int:
        return "int32"
    if dtype is bool:
        return "bool"
    if hasattr(dtype, "as_numpy_dtype"):  # a TF-style dtype object from lamina.compat.tf
        dtype = dtype.as_numpy_dtype
    if isinstance(dtype, str):
        dtype = _ALIASES.get(dtype, dtype)
    try:
        name = np.dtype(dtype).name
    except TypeError as error:
        raise ValueError(
            f"Invalid dtype: {dtype!r}. Expected a dtype name such as 'float32', 'int32' or "
            "'bool', or a NumPy/JAX dtype.") from error
    return name


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
