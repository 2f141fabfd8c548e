"""Activation functions of `keras.ops.nn`, over `jax.nn`.

Smooth activations cast integer inputs to `keras.config.floatx()`; piecewise-linear ones
(`relu`, `relu6`, ...) keep the input dtype.
"""

import jax.nn as jnn
import jax.numpy as jnp

from lamina.ops._convert import compiled, float_tensor, tensor
from lamina.ops._symbolic import symbolic_op


@symbolic_op
def relu(x):
    """Rectified linear unit: `max(x, 0)`.

    Examples:
        >>> ops.relu([-1., 0., 2.])
        Array([0., 0., 2.], dtype=float32)
    """
    return jnn.relu(tensor(x))


@symbolic_op
def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Examples:
        >>> ops.relu6([-1., 3., 8.])
        Array([0., 3., 6.], dtype=float32)
    """
    return jnn.relu6(tensor(x))


@symbolic_op
def sigmoid(x):
    """Logistic sigmoid: `1 / (1 + exp(-x))`.

    Examples:
        >>> ops.sigmoid([0.])
        Array([0.5], dtype=float32)
    """
    return jnn.sigmoid(float_tensor(x))


@symbolic_op
def sparse_sigmoid(x):
    """Sparse sigmoid: 0 below -1, 1 above 1, `(x + 1) / 2` between.

    Examples:
        >>> ops.sparse_sigmoid([-2., 0., 2.])
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    return jnn.sparse_sigmoid(float_tensor(x))


@symbolic_op
def hard_sigmoid(x):
    """Piecewise-linear sigmoid: `relu6(x + 3) / 6`.

    Examples:
        >>> ops.hard_sigmoid([-4., 0., 4.])
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    return jnn.hard_sigmoid(float_tensor(x))


@symbolic_op
def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably: `-softplus(-x)`.

    Examples:
        >>> ops.log_sigmoid([0.])
        Array([-0.6931472], dtype=float32)
    """
    return jnn.log_sigmoid(float_tensor(x))


@symbolic_op
def softplus(x):
    """`log(1 + exp(x))`, computed stably.

    Examples:
        >>> ops.softplus([0.])
        Array([0.6931472], dtype=float32)
    """
    return jnn.softplus(float_tensor(x))


@symbolic_op
def softsign(x):
    """`x / (1 + |x|)`.

    Examples:
        >>> ops.softsign([1., -3.])
        Array([ 0.5 , -0.75], dtype=float32)
    """
    return jnn.soft_sign(float_tensor(x))


@symbolic_op
def sparse_plus(x):
    """Sparse softplus: 0 below -1, `x` above 1, `(x + 1)**2 / 4` between.

    Examples:
        >>> ops.sparse_plus([-2., 0., 2.])
        Array([0.  , 0.25, 2.  ], dtype=float32)
    """
    return jnn.sparse_plus(float_tensor(x))


@symbolic_op
def squareplus(x, b=4):
    """Squareplus: `(x + sqrt(x**2 + b)) / 2`.

    Examples:
        >>> ops.squareplus([0.])
        Array([1.], dtype=float32)
    """
    return jnn.squareplus(float_tensor(x), b=b)


@symbolic_op
def silu(x):
    """Sigmoid linear unit (swish): `x * sigmoid(x)`.

    Examples:
        >>> ops.silu([0.])
        Array([0.], dtype=float32)
    """
    return jnn.silu(float_tensor(x))


@symbolic_op
def swish(x):
    """Alias of `silu`: `x * sigmoid(x)`.

    Examples:
        >>> ops.swish([0.])
        Array([0.], dtype=float32)
    """
    return jnn.silu(float_tensor(x))


@symbolic_op
def hard_silu(x):
    """Hard SiLU (hard swish): `x * relu6(x + 3) / 6`.

    Examples:
        >>> ops.hard_silu([-4., 0., 4.])
        Array([-0.,  0.,  4.], dtype=float32)
    """
    return jnn.hard_silu(float_tensor(x))


@symbolic_op
def hard_swish(x):
    """Alias of `hard_silu`.

    Examples:
        >>> ops.hard_swish([4.])
        Array([4.], dtype=float32)
    """
    return jnn.hard_silu(float_tensor(x))


@symbolic_op
def mish(x):
    """Mish: `x * tanh(softplus(x))` (lamina addition; Keras has it in `keras.activations`).

    Examples:
        >>> ops.mish([0.])
        Array([0.], dtype=float32)
    """
    return jnn.mish(float_tensor(x))


@symbolic_op
def leaky_relu(x, negative_slope=0.2):
    """`x` for positive inputs, `negative_slope * x` for negative ones.

    Examples:
        >>> ops.leaky_relu([-1., 2.])
        Array([-0.2,  2. ], dtype=float32)
    """
    return jnn.leaky_relu(float_tensor(x), negative_slope=negative_slope)


@symbolic_op
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` if positive, `alpha * (exp(x) - 1)` otherwise.

    Examples:
        >>> ops.elu([0., 1.])
        Array([0., 1.], dtype=float32)
    """
    return jnn.elu(float_tensor(x), alpha=alpha)


@symbolic_op
def selu(x):
    """Scaled ELU with the self-normalizing constants of Klambauer et al. (2017).

    Examples:
        >>> ops.selu([0.])
        Array([0.], dtype=float32)
    """
    return jnn.selu(float_tensor(x))


@symbolic_op
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`.

    Examples:
        >>> ops.celu([0., 1.])
        Array([0., 1.], dtype=float32)
    """
    return jnn.celu(float_tensor(x), alpha=alpha)


@symbolic_op
def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate=True` uses the tanh approximation.

    Examples:
        >>> ops.gelu([0.])
        Array([0.], dtype=float32)
    """
    return jnn.gelu(float_tensor(x), approximate=approximate)


@symbolic_op
def glu(x, axis=-1):
    """Gated linear unit: splits `axis` in halves `a, b` and returns `a * sigmoid(b)`.

    Examples:
        >>> ops.glu([[1., 0.]])
        Array([[0.5]], dtype=float32)
    """
    x = float_tensor(x)
    if x.shape[axis] % 2:
        raise ValueError(
            f"ops.glu splits axis {axis} in two halves, so its size must be even. "
            f"Received: shape {x.shape}.")
    return jnn.glu(x, axis=axis)


@symbolic_op
def hard_tanh(x):
    """`x` clipped to `[-1, 1]`.

    Examples:
        >>> ops.hard_tanh([-2., 0.5, 2.])
        Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    return jnn.hard_tanh(tensor(x))


@symbolic_op
def tanh_shrink(x):
    """`x - tanh(x)`.

    Examples:
        >>> ops.tanh_shrink([0.])
        Array([0.], dtype=float32)
    """
    return _tanh_shrink(float_tensor(x))


@compiled()
def _tanh_shrink(x):
    return x - jnp.tanh(x)


@symbolic_op
def soft_shrink(x, threshold=0.5):
    """Moves values towards zero by `threshold`, and zeroes those within it.

    Examples:
        >>> ops.soft_shrink([-1., 0.2, 1.])
        Array([-0.5,  0. ,  0.5], dtype=float32)
    """
    return _soft_shrink(float_tensor(x), threshold)


@compiled()
def _soft_shrink(x, threshold):
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, jnp.zeros_like(x)))


@symbolic_op
def hard_shrink(x, threshold=0.5):
    """Zeroes values whose magnitude is at most `threshold`.

    Examples:
        >>> ops.hard_shrink([-1., 0.2, 1.])
        Array([-1.,  0.,  1.], dtype=float32)
    """
    return _hard_shrink(float_tensor(x), threshold)


@compiled()
def _hard_shrink(x, threshold):
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


@symbolic_op
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`.

    Examples:
        >>> ops.threshold([1., 3.], 2., 0.)
        Array([0., 3.], dtype=float32)
    """
    return _threshold(tensor(x), threshold, default_value)


@compiled()
def _threshold(x, threshold, default_value):
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


@symbolic_op
def softmax(x, axis=-1):
    """Exponentials normalized to sum to 1 over `axis` (an int or a tuple of ints).

    Examples:
        >>> ops.softmax([0., 0.])
        Array([0.5, 0.5], dtype=float32)
    """
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnn.softmax(float_tensor(x), axis=axis)


@symbolic_op
def log_softmax(x, axis=-1):
    """`log(softmax(x))` over `axis`, computed stably.

    Examples:
        >>> ops.log_softmax([0., 0.])
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnn.log_softmax(float_tensor(x), axis=axis)


@symbolic_op
def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex over `axis`
    (Martins & Astudillo, 2016); many outputs are exactly zero.

    Examples:
        >>> ops.sparsemax([1., 0., -1.])
        Array([1., 0., 0.], dtype=float32)
    """
    x = float_tensor(x)
    return _sparsemax(x, axis=axis % x.ndim)


@compiled("axis")
def _sparsemax(x, axis):
    ranked = -jnp.sort(-x, axis=axis)
    cumulative = jnp.cumsum(ranked, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    k = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    in_support = 1 + k * ranked > cumulative
    support_size = jnp.sum(in_support, axis=axis, keepdims=True)
    support_total = jnp.sum(jnp.where(in_support, ranked, 0), axis=axis, keepdims=True)
    tau = (support_total - 1) / support_size.astype(x.dtype)
    return jnp.maximum(x - tau, 0)
