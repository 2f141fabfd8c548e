"""Statistics and normalization: moments, batch/layer/RMS normalization, `normalize`.

Low-precision inputs (float16, bfloat16) are normalized in float32 and cast back.
"""

import jax
import jax.numpy as jnp

from lamina._runtime import config
from lamina.ops._convert import compiled, float_tensor, tensor
from lamina.ops._symbolic import symbolic_op


def _axes(axes, ndim):
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % ndim for a in axes))


def _compute_dtype(x):
    return jnp.promote_types(x.dtype, jnp.float32)


@symbolic_op
def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and variance of `x` over `axes`: `(mean, variance)`.

    Examples:
        >>> mean, variance = ops.moments([1., 2., 3., 4.], axes=0)
        >>> float(mean), float(variance)
        (2.5, 1.25)
    """
    if synchronized:
        raise NotImplementedError(
            "ops.moments(synchronized=True) computes statistics across devices, which lamina "
            "does with its distribution API, not inside this op. Call it with "
            "synchronized=False.")
    x = float_tensor(x)
    return _moments(x, _axes(axes, x.ndim), bool(keepdims))


@compiled("axes", "keepdims")
def _moments(x, axes, keepdims):
    original = x.dtype
    x = x.astype(_compute_dtype(x))
    mean = jnp.mean(x, axis=axes, keepdims=keepdims)
    variance = jnp.var(x, axis=axes, keepdims=keepdims)
    if original != x.dtype:
        # Clip so that statistics beyond the narrow type's range saturate instead of
        # becoming infinite.
        limit = jnp.finfo(original).max
        mean = jnp.clip(mean, -limit, limit).astype(original)
        variance = jnp.clip(variance, -limit, limit).astype(original)
    return mean, variance


@symbolic_op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=0.001):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, with the 1D statistics
    laid along `axis`.

    Examples:
        >>> ops.batch_normalization([[1., 3.]], [1., 1.], [4., 4.], axis=-1, epsilon=0.)
        Array([[0., 1.]], dtype=float32)
    """
    x = float_tensor(x)
    axis = axis % x.ndim
    stats = [None if v is None else tensor(v) for v in (mean, variance, offset, scale)]
    for v in stats:
        if v is not None and v.ndim == 1 and v.shape[0] != x.shape[axis]:
            raise ValueError(
                f"ops.batch_normalization: statistics of length {v.shape[0]} do not match "
                f"axis {axis} of x, of size {x.shape[axis]} (x shape {x.shape}).")
    return _batch_normalization(x, *stats, epsilon, axis=axis)


@compiled("axis")
def _batch_normalization(x, mean, variance, offset, scale, epsilon, axis):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along_axis(v):
        return v.reshape(shape) if v.ndim == 1 else v

    inverse = jax.lax.rsqrt(along_axis(variance) + epsilon)
    if scale is not None:
        inverse = inverse * along_axis(scale)
    shift = -along_axis(mean) * inverse
    if offset is not None:
        shift = shift + along_axis(offset)
    return x * inverse + shift


@symbolic_op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes each example over `axis` to zero mean and unit variance, then
    applies `gamma` and `beta` (Ba et al., 2016).

    Examples:
        >>> ops.layer_normalization([1., 3.]).round(4)
        Array([-1.,  1.], dtype=float32)
    """
    if kwargs.pop("rms_scaling", False):
        raise ValueError(
            "layer_normalization(rms_scaling=True) is deprecated in Keras 3 and not "
            "supported by lamina. Use ops.rms_normalization instead.")
    if kwargs:
        raise TypeError(
            f"layer_normalization got unexpected arguments: {sorted(kwargs)}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = float_tensor(x)
    gamma = None if gamma is None else tensor(gamma)
    beta = None if beta is None else tensor(beta)
    return _layer_normalization(x, gamma, beta, epsilon, axes=_axes(axis, x.ndim))


@compiled("axes")
def _layer_normalization(x, gamma, beta, epsilon, axes):
    original = x.dtype
    x = x.astype(_compute_dtype(x))
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]

    def broadcastable(v):
        v = v.astype(x.dtype)
        # A parameter over the normalized axes only (as a LayerNormalization layer keeps it)
        # must be placed on those axes.
        if v.ndim != x.ndim and axes != (x.ndim - 1,):
            v = v.reshape(shape)
        return v

    mean = jnp.mean(x, axis=axes, keepdims=True)
    variance = jnp.var(x, axis=axes, keepdims=True)
    inverse = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inverse = inverse * broadcastable(gamma)
    shift = -mean * inverse
    if beta is not None:
        shift = shift + broadcastable(beta)
    return (x * inverse + shift).astype(original)


@symbolic_op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """Divides `x` by its root mean square over `axis`, then multiplies by `scale`.

    Examples:
        >>> ops.rms_normalization([2., -2.], epsilon=0.)
        Array([ 1., -1.], dtype=float32)
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = float_tensor(x)
    if x.ndim == 0:
        x = x[None]
    axis = tuple(axis) if isinstance(axis, list) else axis
    return _rms_normalization(x, None if scale is None else tensor(scale), epsilon, axis=axis)


@compiled("axis")
def _rms_normalization(x, scale, epsilon, axis):
    original = x.dtype
    x = x.astype(_compute_dtype(x))
    outputs = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + epsilon)
    if scale is not None:
        outputs = outputs * scale.astype(x.dtype)
    return outputs.astype(original)


@symbolic_op
def normalize(x, axis=-1, order=2, epsilon=None):
    """`x / max(norm(x, order), epsilon)` over `axis`.

    Examples:
        >>> ops.normalize([3., 4.])
        Array([0.6, 0.8], dtype=float32)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"ops.normalize takes an int order >= 1. Received: order={order!r}")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = float_tensor(x)
    if x.ndim == 0:
        x = x[None]
    axis = tuple(axis) if isinstance(axis, list) else axis
    return _normalize(x, epsilon, axis=axis, order=order)


@compiled("axis", "order")
def _normalize(x, epsilon, axis, order):
    if order == 2:
        inverse_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inverse_norm, 1.0 / epsilon)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)
