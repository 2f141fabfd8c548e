"""Turning op arguments (arrays, Variables, NumPy arrays, numbers, nested lists) into JAX arrays.

Every public op converts its tensor arguments through `tensor` first: `jax.lax` functions reject
Variables and lists, and reading `.dtype`/`.shape` needs an array. Python numbers stay weakly
typed, so `ops.add(int8_array, 1)` stays int8 as in Keras.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina._runtime.dtypes import standardize_dtype
from lamina._runtime.variable import Variable


def compiled(*static_argnames):
    """Decorates an op's array computation with `jax.jit` (`static_argnames` static).

    An eager call then runs one XLA program, compiled once per input signature, instead of
    one per primitive; under an outer `jit` the inner one simply inlines.
    """
    return functools.partial(jax.jit, static_argnames=static_argnames)


def unwrap(x):
    """The current value of a Variable; anything else unchanged."""
    return x.value if isinstance(x, Variable) else x


def unwrap_tree(tree):
    """`unwrap` applied to every Variable in a nested structure."""
    return jax.tree_util.tree_map(
        unwrap, tree, is_leaf=lambda leaf: isinstance(leaf, Variable))


def tensor(x, dtype=None):
    """`x` as a JAX array (of `dtype`, a Keras dtype name, when given)."""
    x = unwrap(x)
    if dtype is not None:
        dtype = standardize_dtype(dtype)
        if isinstance(x, jax.Array):
            return x if x.dtype == dtype and not x.weak_type else x.astype(dtype)
        if isinstance(x, (list, tuple)):
            x = unwrap_tree(x)
        if dtype == "bfloat16" and not isinstance(x, (np.ndarray, np.generic)):
            # NumPy cannot build bfloat16 from Python lists: convert as is, then cast.
            return jnp.asarray(x).astype(dtype)
        return jnp.asarray(x, dtype=dtype)
    if isinstance(x, jax.Array):
        return x
    if isinstance(x, (list, tuple)):
        x = unwrap_tree(x)
    return jnp.asarray(x)


def float_tensor(x):
    """`x` as a JAX array, with integers and booleans cast to `floatx()` (Keras's rule for
    ops such as `sqrt`, `sin` or `mean` whose result is a float)."""
    x = tensor(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return x.astype(config.floatx())


def floats(*xs):
    """Converts each argument to an array and casts all of them to their common float type."""
    xs = [tensor(x) for x in xs]
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = config.floatx()
    return [x.astype(dtype) for x in xs]


def optional_dtype(dtype):
    """A Keras dtype name, or `None` passed through (to let JAX infer it)."""
    return None if dtype is None else standardize_dtype(dtype)


def data_format(value):
    """`"channels_last"` or `"channels_first"`; `None` means `config.image_data_format()`."""
    if value is None:
        return config.image_data_format()
    value = str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            "data_format must be 'channels_last' or 'channels_first' (or None for "
            f"keras.config.image_data_format()). Received: data_format={value!r}")
    return value
