"""Argument conversion shared by the `lamina.compat.tf` modules.

Every public function turns its tensor arguments into JAX arrays with `as_array`, which is
`lamina.ops`' conversion (a Variable gives its current value, which `jax.lax` needs; lists,
numbers and NumPy arrays become arrays) with TF's dtype rules on top. Shapes, axes and sizes
must be static under `jax.jit`; `static_shape` and friends give a clear error when they are
not.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.variable import Variable
from lamina.compat._tf_dtypes import jax_dtype
from lamina.ops._convert import tensor, unwrap

# TF's dtypes for Python numbers: 32 bits, whatever JAX's x64 mode says.
PYTHON_DEFAULTS = {"f": np.float32, "i": np.int32, "c": np.complex64}


def as_array(x, dtype=None):
    """`x` as a JAX array (of a TF-style `dtype` when given), converted by `lamina.ops`.

    A list of Python numbers gets TF's 32-bit dtype (float32, int32, complex64) rather than
    JAX's, which is 64-bit in x64 mode.
    """
    dtype = jax_dtype(dtype)
    if dtype is None and isinstance(x, (list, tuple)):
        leaves = jax.tree_util.tree_leaves(x, is_leaf=lambda item: isinstance(item, Variable))
        if all(isinstance(leaf, (int, float, complex)) for leaf in leaves):
            dtype = PYTHON_DEFAULTS.get(np.asarray(x).dtype.kind)
    return tensor(x, dtype)


def as_float(x):
    """`x` as an inexact array; integers and bools become float32."""
    x = as_array(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return x.astype(jnp.float32)


def is_traced(x):
    return isinstance(unwrap(x), jax.core.Tracer)


def static_int(value, what, api):
    """A Python int from an int, a NumPy scalar or a concrete 0-d array."""
    value = unwrap(value)
    if isinstance(value, jax.core.Tracer):
        raise _traced_error(what, api)
    try:
        if isinstance(value, (np.ndarray, jax.Array)) and value.ndim != 0:
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{api}: {what} must be an integer. Received: {value!r} of type "
            f"{type(value).__name__}.") from None


def static_shape(shape, api, what="shape"):
    """A tuple of Python ints from a list, tuple, TensorShape, NumPy array or concrete array."""
    shape = unwrap(shape)
    if isinstance(shape, jax.core.Tracer):
        raise _traced_error(what, api)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    if isinstance(shape, (np.ndarray, jax.Array)):
        if shape.ndim > 1:
            raise ValueError(f"{api}: {what} must be 1-D. Received an array of shape "
                             f"{tuple(shape.shape)}.")
        shape = np.asarray(shape).reshape(-1).tolist()
    try:
        dims = list(shape)
    except TypeError:
        raise TypeError(
            f"{api}: {what} must be a list or tuple of ints. Received: {shape!r} of type "
            f"{type(shape).__name__}.") from None
    if any(d is None for d in dims):
        raise ValueError(
            f"{api}: {what} must be fully known, but has an unknown (None) dimension: {shape!r}. "
            "JAX arrays have static shapes; take the dimension from the input, e.g. x.shape[0].")
    return tuple(static_int(d, what, api) for d in dims)


def static_axes(axis, api, what="axis"):
    """None, or a tuple of ints, from an int, list, tuple or concrete array."""
    axis = unwrap(axis)
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) or (
            isinstance(axis, (np.ndarray, jax.Array)) and axis.ndim == 0):
        return (static_int(axis, what, api),)
    return static_shape(axis, api, what)


def static_axis(axis, api, what="axis"):
    """One int axis."""
    return static_int(axis, what, api)


def _traced_error(what, api):
    return TypeError(
        f"{api}: {what} must be known when the function is traced, but received a traced "
        "value. Under jax.jit and keras.function shapes are static: compute it from Python "
        "values or from x.shape / tf.shape(x) (which lamina keeps as a NumPy array), not from "
        "a tensor computed inside the function.")
