"""Pooling over the spatial axes, with `jax.lax.reduce_window`, and adaptive pooling.

Average pooling with padding "same" divides each window by the number of real (not padded)
elements in it, as TensorFlow and Keras do.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina.ops._convert import compiled, tensor
from lamina.ops._convert import data_format as _data_format
from lamina.ops._convolution import _padding, _tuple
from lamina.ops._symbolic import symbolic_op


def _window(inputs, op, pool_size, strides, data_format):
    """Window and strides over all axes of `inputs` (1 on batch and channels)."""
    if inputs.ndim < 3:
        raise ValueError(
            f"ops.{op} takes inputs of rank 3 or more (batch, spatial axes, channels). "
            f"Received: shape {inputs.shape}.")
    num_spatial = inputs.ndim - 2
    pool_size = _tuple(pool_size, num_spatial, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, num_spatial, "strides")
    if data_format == "channels_last":
        return (1, *pool_size, 1), (1, *strides, 1)
    return (1, 1, *pool_size), (1, 1, *strides)


@symbolic_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Maximum over sliding windows of the spatial axes; `strides` defaults to `pool_size`.

    Examples:
        >>> ops.max_pool(ops.arange(4.).reshape(1, 4, 1), 2)[0, :, 0]
        Array([1., 3.], dtype=float32)
    """
    data_format = _data_format(data_format)
    inputs = tensor(inputs)
    window, strides = _window(inputs, "max_pool", pool_size, strides, data_format)
    if jnp.issubdtype(inputs.dtype, jnp.inexact):
        lowest = -jnp.inf
    else:
        lowest = jnp.iinfo(inputs.dtype).min
    return jax.lax.reduce_window(inputs, jnp.asarray(lowest, inputs.dtype), jax.lax.max,
                                 window, strides, _padding(padding))


@symbolic_op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean over sliding windows of the spatial axes; `strides` defaults to `pool_size`.

    Examples:
        >>> ops.average_pool(ops.arange(4.).reshape(1, 4, 1), 2)[0, :, 0]
        Array([0.5, 2.5], dtype=float32)
    """
    data_format = _data_format(data_format)
    inputs = tensor(inputs)
    if not jnp.issubdtype(inputs.dtype, jnp.inexact):
        inputs = inputs.astype(config.floatx())
    window, strides = _window(inputs, "average_pool", pool_size, strides, data_format)
    return _average_pool(inputs, window, strides, _padding(padding))


@compiled("window", "strides", "padding")
def _average_pool(inputs, window, strides, padding):
    zero = jnp.asarray(0, inputs.dtype)
    sums = jax.lax.reduce_window(inputs, zero, jax.lax.add, window, strides, padding)
    if padding == "VALID":
        return sums / np.prod(window)
    # Count the real elements in each window: only the spatial axes matter.
    ones_shape = tuple(n if w > 1 else 1 for n, w in zip(inputs.shape, window))
    counts = jax.lax.reduce_window(jnp.ones(ones_shape, inputs.dtype), zero, jax.lax.add,
                                   window, strides, padding)
    return sums / counts


def _bin_masks(length, output_size):
    """`(output_size, length)` booleans: which inputs fall in each adaptive bin.

    Bin `i` covers `[floor(i * length / n), ceil((i + 1) * length / n))`, so bins cover the
    whole axis, overlap by at most one element, and differ in size by at most one.
    """
    i = np.arange(output_size)
    starts = (i * length) // output_size
    ends = -((-(i + 1) * length) // output_size)
    positions = np.arange(length)
    return (positions >= starts[:, None]) & (positions < ends[:, None])


def _adaptive(op, inputs, output_size, data_format, reduce):
    data_format = _data_format(data_format)
    inputs = tensor(inputs)
    if inputs.ndim not in (3, 4, 5):
        raise ValueError(
            f"ops.{op} takes inputs of rank 3, 4 or 5 (batch, 1 to 3 spatial axes, channels). "
            f"Received: shape {inputs.shape}.")
    output_size = _tuple(output_size, inputs.ndim - 2, "output_size")
    return _adaptive_pool(inputs, output_size, 1 if data_format == "channels_last" else 2,
                          reduce)


@compiled("output_size", "first", "reduce")
def _adaptive_pool(inputs, output_size, first, reduce):
    # Rectangular bins are separable: reduce one spatial axis at a time.
    for offset, size in enumerate(output_size):
        axis = first + offset
        masks = _bin_masks(inputs.shape[axis], size)
        inputs = reduce(inputs, masks, axis)
    return inputs


def _bin_mean(x, masks, axis):
    weights = masks / masks.sum(axis=1, keepdims=True)
    moved = jnp.moveaxis(x, axis, -1)
    return jnp.moveaxis(moved @ jnp.asarray(weights.T, x.dtype), -1, axis)


def _bin_max(x, masks, axis):
    moved = jnp.moveaxis(x, axis, -1)[..., None, :]
    lowest = -jnp.inf if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.iinfo(x.dtype).min
    binned = jnp.max(jnp.where(masks, moved, jnp.asarray(lowest, x.dtype)), axis=-1)
    return jnp.moveaxis(binned, -1, axis)


@symbolic_op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling into exactly `output_size` bins per spatial axis.

    Examples:
        >>> ops.adaptive_average_pool(ops.arange(4.).reshape(1, 4, 1), 2)[0, :, 0]
        Array([0.5, 2.5], dtype=float32)
    """
    inputs = tensor(inputs)
    if not jnp.issubdtype(inputs.dtype, jnp.inexact):
        inputs = inputs.astype(config.floatx())
    return _adaptive("adaptive_average_pool", inputs, output_size, data_format, _bin_mean)


@symbolic_op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling into exactly `output_size` bins per spatial axis.

    Examples:
        >>> ops.adaptive_max_pool(ops.arange(5.).reshape(1, 5, 1), 2)[0, :, 0]
        Array([2., 4.], dtype=float32)
    """
    return _adaptive("adaptive_max_pool", inputs, output_size, data_format, _bin_max)
