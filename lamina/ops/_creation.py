"""Creating tensors: filled, ranges, identity-like matrices, grids and window functions.

A `dtype` of None means `keras.config.floatx()` for filled tensors, as in Keras 3, and is
inferred from the arguments for ranges.
"""

import jax.numpy as jnp

from lamina._runtime import config
from lamina._runtime.dtypes import standardize_dtype
from lamina.ops._convert import optional_dtype, tensor, unwrap, unwrap_tree
from lamina.ops._symbolic import symbolic_op


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(unwrap(d)) for d in shape)


@symbolic_op
def zeros(shape, dtype=None):
    """A tensor of zeros.

    Examples:
        >>> ops.zeros((2,))
        Array([0., 0.], dtype=float32)
    """
    return jnp.zeros(_shape(shape), dtype=standardize_dtype(dtype))


@symbolic_op
def ones(shape, dtype=None):
    """A tensor of ones.

    Examples:
        >>> ops.ones((2,), dtype="int32")
        Array([1, 1], dtype=int32)
    """
    return jnp.ones(_shape(shape), dtype=standardize_dtype(dtype))


@symbolic_op
def full(shape, fill_value, dtype=None):
    """A tensor filled with `fill_value`.

    Examples:
        >>> ops.full((2,), 7.)
        Array([7., 7.], dtype=float32)
    """
    return jnp.full(_shape(shape), unwrap(fill_value), dtype=standardize_dtype(dtype))


@symbolic_op
def empty(shape, dtype=None):
    """A tensor whose contents do not matter (zeros, in JAX).

    Examples:
        >>> ops.empty((2,)).shape
        (2,)
    """
    return jnp.zeros(_shape(shape), dtype=standardize_dtype(dtype))


@symbolic_op
def zeros_like(x, dtype=None):
    """Zeros with the shape (and, by default, dtype) of `x`.

    Examples:
        >>> ops.zeros_like([1, 2])
        Array([0, 0], dtype=int32)
    """
    return jnp.zeros_like(tensor(x), dtype=optional_dtype(dtype))


@symbolic_op
def ones_like(x, dtype=None):
    """Ones with the shape (and, by default, dtype) of `x`.

    Examples:
        >>> ops.ones_like([1., 2.])
        Array([1., 1.], dtype=float32)
    """
    return jnp.ones_like(tensor(x), dtype=optional_dtype(dtype))


@symbolic_op
def full_like(x, fill_value, dtype=None):
    """`fill_value` with the shape (and, by default, dtype) of `x`.

    Examples:
        >>> ops.full_like([1, 2], 5)
        Array([5, 5], dtype=int32)
    """
    return jnp.full_like(tensor(x), unwrap(fill_value), dtype=optional_dtype(dtype))


@symbolic_op
def empty_like(x, dtype=None):
    """An uninitialized-looking tensor (zeros) with the shape of `x`.

    Examples:
        >>> ops.empty_like([1, 2]).shape
        (2,)
    """
    return jnp.zeros_like(tensor(x), dtype=optional_dtype(dtype))


@symbolic_op
def array(x, dtype=None):
    """Creates a tensor from data (a list, NumPy array, number or tensor).

    Examples:
        >>> ops.array([1, 2], dtype="float32")
        Array([1., 2.], dtype=float32)
    """
    return jnp.array(unwrap_tree(x), dtype=optional_dtype(dtype))


# ------------------------------------------------------------------------------- ranges


@symbolic_op
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)`; dtype inferred from the arguments.

    Examples:
        >>> ops.arange(3)
        Array([0, 1, 2], dtype=int32)
        >>> ops.arange(0, 1, 0.25)
        Array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    start, stop, step = unwrap(start), unwrap(stop), unwrap(step)
    if dtype is None:
        values = [v for v in (start, stop, step) if v is not None]
        dtype = jnp.result_type(*values)
    return jnp.arange(start, stop, step, dtype=standardize_dtype(dtype))


@symbolic_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop`.

    Examples:
        >>> ops.linspace(0, 1, 5)
        Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    return jnp.linspace(tensor(start), tensor(stop), num=num, endpoint=endpoint,
                        retstep=retstep, dtype=optional_dtype(dtype), axis=axis)


@symbolic_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`num` values spaced evenly on a log scale, from `base**start` to `base**stop`.

    Examples:
        >>> ops.logspace(0, 2, 3)
        Array([  1.,  10., 100.], dtype=float32)
    """
    return jnp.logspace(tensor(start), tensor(stop), num=num, endpoint=endpoint, base=base,
                        dtype=optional_dtype(dtype), axis=axis)


@symbolic_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values in geometric progression from `start` to `stop`.

    Examples:
        >>> ops.geomspace(1, 100, 3)
        Array([  1.,  10., 100.], dtype=float32)
    """
    return jnp.geomspace(tensor(start), tensor(stop), num=num, endpoint=endpoint,
                         dtype=optional_dtype(dtype), axis=axis)


@symbolic_op
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1D coordinate vectors.

    Examples:
        >>> xs, ys = ops.meshgrid([1, 2, 3], [4, 5])
        >>> xs.shape
        (2, 3)
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(
            f"ops.meshgrid takes indexing='xy' or 'ij'. Received: indexing={indexing!r}")
    return jnp.meshgrid(*[tensor(v) for v in x], indexing=indexing)


# ------------------------------------------------------------------------------- matrices


@symbolic_op
def eye(N, M=None, k=0, dtype=None):
    """A 2D tensor with ones on the `k`-th diagonal.

    Examples:
        >>> ops.eye(2)
        Array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    return jnp.eye(N, M=M, k=k, dtype=standardize_dtype(dtype))


@symbolic_op
def identity(n, dtype=None):
    """The `n` by `n` identity matrix.

    Examples:
        >>> ops.identity(2, dtype="int32")
        Array([[1, 0],
               [0, 1]], dtype=int32)
    """
    return jnp.identity(n, dtype=standardize_dtype(dtype))


@symbolic_op
def tri(N, M=None, k=0, dtype=None):
    """A matrix with ones at and below the `k`-th diagonal.

    Examples:
        >>> ops.tri(2)
        Array([[1., 0.],
               [1., 1.]], dtype=float32)
    """
    return jnp.tri(N, M=M, k=k, dtype=standardize_dtype(dtype))


@symbolic_op
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: columns are powers of `x`.

    Examples:
        >>> ops.vander([1, 2, 3], 2)
        Array([[1, 1],
               [2, 1],
               [3, 1]], dtype=int32)
    """
    return jnp.vander(tensor(x), N=N, increasing=increasing)


# ------------------------------------------------------------------------------- windows


def _window_length(x):
    return int(unwrap(x))


@symbolic_op
def bartlett(x):
    """The Bartlett (triangular) window of length `x`.

    Examples:
        >>> ops.bartlett(3)
        Array([0., 1., 0.], dtype=float32)
    """
    return jnp.bartlett(_window_length(x)).astype(config.floatx())


@symbolic_op
def blackman(x):
    """The Blackman window of length `x`.

    Examples:
        >>> ops.blackman(3).shape
        (3,)
    """
    return jnp.blackman(_window_length(x)).astype(config.floatx())


@symbolic_op
def hamming(x):
    """The Hamming window of length `x`.

    Examples:
        >>> ops.hamming(3).round(2)
        Array([0.08, 1.  , 0.08], dtype=float32)
    """
    return jnp.hamming(_window_length(x)).astype(config.floatx())


@symbolic_op
def hanning(x):
    """The Hann window of length `x`.

    Examples:
        >>> ops.hanning(3)
        Array([0., 1., 0.], dtype=float32)
    """
    return jnp.hanning(_window_length(x)).astype(config.floatx())


@symbolic_op
def kaiser(x, beta):
    """The Kaiser window of length `x` and shape parameter `beta`.

    Examples:
        >>> ops.kaiser(3, 0.)
        Array([1., 1., 1.], dtype=float32)
    """
    return jnp.kaiser(_window_length(x), beta).astype(config.floatx())


@symbolic_op
def copy(x):
    """A copy of `x`.

    Examples:
        >>> ops.copy([1, 2])
        Array([1, 2], dtype=int32)
    """
    return jnp.copy(tensor(x))
