"""TensorFlow's elementwise math, comparisons, reductions and segment ops (`tf.math.*`).

Reductions follow TF's dtype rules where they differ from NumPy's: `reduce_sum` and
`reduce_prod` keep an integer input's dtype, and `reduce_mean` of integers divides as integers.
"""

import builtins
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lamina.compat._tf_core import (as_array, as_float, is_traced, static_axes, static_axis,
                                    static_int, unwrap)
from lamina.compat._tf_dtypes import int32, int64, jax_dtype

__all__ = [
    "TopKV2", "abs", "add", "add_n", "argmax", "argmin", "ceil", "clip_by_norm",
    "clip_by_value", "confusion_matrix", "cos", "count_nonzero", "cumprod", "cumsum", "divide",
    "divide_no_nan", "equal", "erf", "exp", "expm1", "floor", "floordiv", "floormod",
    "greater", "greater_equal", "in_top_k", "is_finite", "is_inf", "is_nan", "l2_normalize",
    "less", "less_equal", "log", "log1p", "log_sigmoid", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
    "multiply_no_nan", "negative", "norm", "not_equal", "pow", "reciprocal", "reduce_all",
    "reduce_any", "reduce_euclidean_norm", "reduce_logsumexp", "reduce_max", "reduce_mean",
    "reduce_min", "reduce_prod", "reduce_std", "reduce_sum", "reduce_variance", "round",
    "rsqrt", "segment_sum", "sigmoid", "sign", "sin", "softmax", "softplus", "softsign", "sqrt",
    "square", "squared_difference", "subtract", "tanh", "top_k", "truediv",
    "unsorted_segment_sum",
]


# ----------------------------------------------------------------------------- elementwise
def abs(x, name=None):
    """`tf.abs` (the magnitude, for complex inputs).

    Examples:
        >>> tf.abs([-2.0, 3.0]), tf.abs([3 + 4j])
        (Array([2., 3.], dtype=float32), Array([5.], dtype=float32))
    """
    return jnp.abs(as_array(x))


def negative(x, name=None):
    """Elementwise -x.

    Examples:
        >>> tf.negative([1, -2])
        Array([-1,  2], dtype=int32)
    """
    return jnp.negative(as_array(x))


def sign(x, name=None):
    """Elementwise sign: -1, 0 or 1.

    Examples:
        >>> tf.sign([-3.0, 0.0, 2.0])
        Array([-1.,  0.,  1.], dtype=float32)
    """
    return jnp.sign(as_array(x))


def square(x, name=None):
    """Elementwise x ** 2.

    Examples:
        >>> tf.square([2, 3])
        Array([4, 9], dtype=int32)
    """
    return jnp.square(as_array(x))


def sqrt(x, name=None):
    """Elementwise square root.

    Examples:
        >>> tf.sqrt([4.0, 9.0])
        Array([2., 3.], dtype=float32)
    """
    return jnp.sqrt(as_array(x))


def rsqrt(x, name=None):
    """`tf.math.rsqrt`: 1 / sqrt(x).

    Examples:
        >>> tf.math.rsqrt([4.0, 16.0])
        Array([0.5 , 0.25], dtype=float32)
    """
    return jax.lax.rsqrt(as_float(x))


def reciprocal(x, name=None):
    """Elementwise 1 / x (integers become float32).

    Examples:
        >>> tf.math.reciprocal([2, 4])
        Array([0.5 , 0.25], dtype=float32)
    """
    return jnp.reciprocal(as_float(x))


def exp(x, name=None):
    """Elementwise e ** x.

    Examples:
        >>> tf.exp([0.0, 1.0])
        Array([1.       , 2.7182817], dtype=float32)
    """
    return jnp.exp(as_array(x))


def expm1(x, name=None):
    """Elementwise exp(x) - 1, accurate near 0.

    Examples:
        >>> tf.math.expm1([1e-7])  # exp(1e-7) - 1 would round to 1.19e-07
        Array([1.e-07], dtype=float32)
    """
    return jnp.expm1(as_array(x))


def log(x, name=None):
    """Elementwise natural logarithm (`tf.math.log`).

    Examples:
        >>> tf.math.log([1.0, 100.0])
        Array([0.       , 4.6051702], dtype=float32)
    """
    return jnp.log(as_array(x))


def log1p(x, name=None):
    """Elementwise log(1 + x), accurate near 0.

    Examples:
        >>> tf.math.log1p([1e-7])  # log(1 + 1e-7) would round to 1.19e-07
        Array([9.9999994e-08], dtype=float32)
    """
    return jnp.log1p(as_array(x))


def sin(x, name=None):
    """Elementwise sine.

    Examples:
        >>> tf.sin([0.0, 1.5707964])
        Array([0., 1.], dtype=float32)
    """
    return jnp.sin(as_array(x))


def cos(x, name=None):
    """Elementwise cosine.

    Examples:
        >>> tf.cos([0.0, 3.1415927])
        Array([ 1., -1.], dtype=float32)
    """
    return jnp.cos(as_array(x))


def tanh(x, name=None):
    """Elementwise tanh.

    Examples:
        >>> tf.tanh([0.0, 20.0])
        Array([0., 1.], dtype=float32)
    """
    return jnp.tanh(as_array(x))


def sigmoid(x, name=None):
    """`tf.sigmoid`: 1 / (1 + exp(-x)).

    Examples:
        >>> tf.sigmoid([0, 100])  # integers are cast to float32
        Array([0.5, 1. ], dtype=float32)
    """
    return jax.nn.sigmoid(as_float(x))


def log_sigmoid(x, name=None):
    """Elementwise log(sigmoid(x)), computed without overflow.

    Examples:
        >>> tf.math.log_sigmoid([-100.0, 0.0])  # log(sigmoid(-100)) without underflow
        Array([-100.       ,   -0.6931472], dtype=float32)
    """
    return jax.nn.log_sigmoid(as_float(x))


def softplus(features, name=None):
    """`tf.math.softplus`: log(exp(x) + 1), computed without overflow.

    Examples:
        >>> tf.math.softplus([0.0, 100.0])  # no overflow at 100
        Array([  0.6931472, 100.       ], dtype=float32)
    """
    return jax.nn.softplus(as_float(features))


def softsign(features, name=None):
    """`tf.math.softsign`: x / (|x| + 1).

    Examples:
        >>> tf.math.softsign([-1.0, 3.0])
        Array([-0.5 ,  0.75], dtype=float32)
    """
    return jax.nn.soft_sign(as_float(features))


def softmax(logits, axis=None, name=None):
    """`tf.math.softmax` (over the last axis by default).

    Examples:
        >>> tf.math.softmax([[1.0, 1.0], [0.0, 100.0]])
        Array([[0.5, 0.5],
               [0. , 1. ]], dtype=float32)
    """
    axis = -1 if axis is None else static_axis(axis, "tf.nn.softmax")
    return jax.nn.softmax(as_float(logits), axis=axis)


def log_softmax(logits, axis=None, name=None):
    """`tf.math.log_softmax` (over the last axis by default).

    Examples:
        >>> tf.math.log_softmax([0.0, 0.0])
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    axis = -1 if axis is None else static_axis(axis, "tf.nn.log_softmax")
    return jax.nn.log_softmax(as_float(logits), axis=axis)


def erf(x, name=None):
    """Elementwise Gauss error function.

    Examples:
        >>> tf.math.erf([0.0, 1.0])
        Array([0.        , 0.84270084], dtype=float32)
    """
    return jax.scipy.special.erf(as_float(x))


def floor(x, name=None):
    """Elementwise floor.

    Examples:
        >>> tf.floor([-1.5, 1.5])
        Array([-2.,  1.], dtype=float32)
    """
    return jnp.floor(as_array(x))


def ceil(x, name=None):
    """Elementwise ceiling.

    Examples:
        >>> tf.math.ceil([-1.5, 1.5])
        Array([-1.,  2.], dtype=float32)
    """
    return jnp.ceil(as_array(x))


def round(x, name=None):
    """`tf.round`: halves round to the nearest even number, as in TF.

    Examples:
        >>> tf.round([0.5, 1.5, 2.5, -0.5])  # to the even neighbour
        Array([ 0.,  2.,  2., -0.], dtype=float32)
    """
    return jnp.round(as_array(x))


def is_nan(x, name=None):
    """Elementwise test for NaN.

    Examples:
        >>> tf.math.is_nan([1.0, float('nan')])
        Array([False,  True], dtype=bool)
    """
    return jnp.isnan(as_array(x))


def is_inf(x, name=None):
    """Elementwise test for +inf or -inf.

    Examples:
        >>> tf.math.is_inf([1.0, float('-inf')])
        Array([False,  True], dtype=bool)
    """
    return jnp.isinf(as_array(x))


def is_finite(x, name=None):
    """Elementwise test for finite values.

    Examples:
        >>> tf.math.is_finite([1.0, float('inf'), float('nan')])
        Array([ True, False, False], dtype=bool)
    """
    return jnp.isfinite(as_array(x))


def logical_not(x, name=None):
    """Elementwise NOT.

    Examples:
        >>> tf.logical_not([True, False])
        Array([False,  True], dtype=bool)
    """
    return jnp.logical_not(as_array(x))


# ----------------------------------------------------------------------------- binary
def add(x, y, name=None):
    """Elementwise x + y, broadcasting.

    Examples:
        >>> tf.add([[1], [2]], [10, 20])
        Array([[11, 21],
               [12, 22]], dtype=int32)
    """
    return jnp.add(as_array(x), as_array(y))


def subtract(x, y, name=None):
    """Elementwise x - y, broadcasting.

    Examples:
        >>> tf.subtract([5.0, 7.0], 2.0)
        Array([3., 5.], dtype=float32)
    """
    return jnp.subtract(as_array(x), as_array(y))


def multiply(x, y, name=None):
    """Elementwise x * y, broadcasting.

    Examples:
        >>> tf.multiply([1, 2], [3, 4])
        Array([3, 8], dtype=int32)
    """
    return jnp.multiply(as_array(x), as_array(y))


def divide(x, y, name=None):
    """`tf.divide`: true division (integers give floats).

    Examples:
        >>> tf.divide([1, 3], 2)  # integers divide to floats
        Array([0.5, 1.5], dtype=float32)
    """
    return jnp.true_divide(as_array(x), as_array(y))


truediv = divide


def floordiv(x, y, name=None):
    """Elementwise x // y (rounding toward -inf).

    Examples:
        >>> tf.math.floordiv([7, -7], 2)
        Array([ 3, -4], dtype=int32)
    """
    return jnp.floor_divide(as_array(x), as_array(y))


def floormod(x, y, name=None):
    """`tf.math.floormod`: the remainder with the sign of `y`, as Python's `%`.

    Examples:
        >>> tf.math.floormod([7, -7], 3)  # the sign of the divisor
        Array([1, 2], dtype=int32)
    """
    return jnp.mod(as_array(x), as_array(y))


def pow(x, y, name=None):
    """Elementwise x ** y.

    Examples:
        >>> tf.pow(2.0, [1.0, 0.5])
        Array([2.       , 1.4142135], dtype=float32)
    """
    return jnp.power(as_array(x), as_array(y))


def maximum(x, y, name=None):
    """Elementwise maximum, broadcasting.

    Examples:
        >>> tf.maximum([1, 5], 3)
        Array([3, 5], dtype=int32)
    """
    return jnp.maximum(as_array(x), as_array(y))


def minimum(x, y, name=None):
    """Elementwise minimum, broadcasting.

    Examples:
        >>> tf.minimum([1, 5], 3)
        Array([1, 3], dtype=int32)
    """
    return jnp.minimum(as_array(x), as_array(y))


def squared_difference(x, y, name=None):
    """`tf.math.squared_difference`: (x - y) ** 2.

    Examples:
        >>> tf.math.squared_difference([1.0, 4.0], 2.0)
        Array([1., 4.], dtype=float32)
    """
    return jnp.square(as_array(x) - as_array(y))


def divide_no_nan(x, y, name=None):
    """`tf.math.divide_no_nan`: x / y, and 0 where y is 0 (with a finite gradient there).

    Examples:
        >>> tf.math.divide_no_nan([1.0, 2.0], [0.0, 4.0])
        Array([0. , 0.5], dtype=float32)
    """
    x, y = as_array(x), as_array(y)
    zero = y == 0
    return jnp.where(zero, 0, x / jnp.where(zero, 1, y))


def multiply_no_nan(x, y, name=None):
    """`tf.math.multiply_no_nan`: x * y, and 0 where y is 0 even if x is inf or nan.

    Examples:
        >>> tf.math.multiply_no_nan([float('inf'), 2.0], [0.0, 3.0])
        Array([0., 6.], dtype=float32)
    """
    x, y = as_array(x), as_array(y)
    return jnp.where(y == 0, 0, x) * y


def equal(x, y, name=None):
    """Elementwise x == y.

    Examples:
        >>> tf.equal([1, 2], [1, 3])
        Array([ True, False], dtype=bool)
    """
    return jnp.equal(as_array(x), as_array(y))


def not_equal(x, y, name=None):
    """Elementwise x != y.

    Examples:
        >>> tf.not_equal([1, 2], 1)
        Array([False,  True], dtype=bool)
    """
    return jnp.not_equal(as_array(x), as_array(y))


def greater(x, y, name=None):
    """Elementwise x > y.

    Examples:
        >>> tf.greater([1, 2, 3], 2)
        Array([False, False,  True], dtype=bool)
    """
    return jnp.greater(as_array(x), as_array(y))


def greater_equal(x, y, name=None):
    """Elementwise x >= y.

    Examples:
        >>> tf.greater_equal([1, 2, 3], 2)
        Array([False,  True,  True], dtype=bool)
    """
    return jnp.greater_equal(as_array(x), as_array(y))


def less(x, y, name=None):
    """Elementwise x < y.

    Examples:
        >>> tf.less([1, 2, 3], 2)
        Array([ True, False, False], dtype=bool)
    """
    return jnp.less(as_array(x), as_array(y))


def less_equal(x, y, name=None):
    """Elementwise x <= y.

    Examples:
        >>> tf.less_equal([1, 2, 3], 2)
        Array([ True,  True, False], dtype=bool)
    """
    return jnp.less_equal(as_array(x), as_array(y))


def logical_and(x, y, name=None):
    """Elementwise AND.

    Examples:
        >>> tf.logical_and([True, True], [True, False])
        Array([ True, False], dtype=bool)
    """
    return jnp.logical_and(as_array(x), as_array(y))


def logical_or(x, y, name=None):
    """Elementwise OR.

    Examples:
        >>> tf.logical_or([False, False], [True, False])
        Array([ True, False], dtype=bool)
    """
    return jnp.logical_or(as_array(x), as_array(y))


def logical_xor(x, y, name=None):
    """Elementwise XOR.

    Examples:
        >>> tf.math.logical_xor([True, True], [True, False])
        Array([False,  True], dtype=bool)
    """
    return jnp.logical_xor(as_array(x), as_array(y))


def add_n(inputs, name=None):
    """`tf.add_n`: the elementwise sum of a list of tensors of the same shape.

    Examples:
        >>> losses = [tf.constant(0.5), tf.constant(0.25)]  # e.g. a main loss and model.losses
        >>> tf.add_n(losses)
        Array(0.75, dtype=float32)
    """
    arrays = [as_array(x) for x in inputs]
    if not arrays:
        raise ValueError("tf.add_n needs at least one tensor. Received an empty list.")
    shapes = [tuple(a.shape) for a in arrays]
    if len(set(shapes)) != 1:
        raise ValueError(
            f"tf.add_n needs tensors of the same shape. Received shapes {shapes}; use tf.add "
            "for broadcasting.")
    return functools.reduce(jnp.add, arrays)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """`tf.clip_by_value`: each entry limited to `[clip_value_min, clip_value_max]`.

    Examples:
        >>> tf.clip_by_value([-2.0, 0.5, 3.0], -1.0, 1.0)
        Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    return jnp.clip(as_array(t), as_array(clip_value_min), as_array(clip_value_max))


def _safe_l2(x, axes):
    """The L2 norm over `axes` (kept), with a zero rather than NaN gradient at 0."""
    squared = jnp.sum(jnp.square(jnp.abs(x)), axis=axes, keepdims=True)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1)), 0)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """`tf.clip_by_norm`: rescales `t` so its L2 norm over `axes` is at most `clip_norm`.

    Examples:
        >>> tf.clip_by_norm([3.0, 4.0], 1.0)  # norm 5 scaled down to 1
        Array([0.6, 0.8], dtype=float32)
    """
    x = as_float(t)
    clip_norm = as_array(clip_norm)
    norm_ = _safe_l2(x, static_axes(axes, "tf.clip_by_norm", "axes"))
    return (x * clip_norm / jnp.maximum(norm_, clip_norm)).astype(x.dtype)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    """`tf.math.l2_normalize`: x / sqrt(max(sum(x ** 2), epsilon)) over `axis` (all if None).

    Examples:
        >>> tf.math.l2_normalize([3.0, 4.0])
        Array([0.6, 0.8], dtype=float32)
    """
    x = as_float(x)
    squared = jnp.sum(jnp.square(x), axis=static_axes(axis, "tf.math.l2_normalize"),
                      keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(squared, jnp.asarray(epsilon, squared.dtype)))


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """`tf.norm`: a vector norm (over all entries, or one axis) or a matrix norm (two axes).

    Examples:
        >>> tf.norm([3.0, 4.0]), tf.norm([[1.0, 2.0], [2.0, 4.0]], axis=[0, 1])
        (Array(5., dtype=float32), Array(5., dtype=float32))
    """
    x = as_array(tensor)
    axes = static_axes(axis, "tf.norm")
    keepdims = bool(keepdims)
    if axes is not None and len(axes) == 2:
        matrix_ord = "fro" if ord in ("euclidean", "fro") else ord
        return jnp.linalg.norm(x, ord=matrix_ord, axis=axes, keepdims=keepdims)
    if axes is not None and len(axes) != 1:
        raise ValueError(f"tf.norm: axis must be None, an int or a pair of ints. Received: "
                         f"axis={axis!r}.")
    if ord == "fro":
        raise ValueError("tf.norm: ord='fro' is a matrix norm; pass axis as a pair of ints, "
                         "or use ord='euclidean'.")
    vector_ord = 2 if ord == "euclidean" else ord
    return jnp.linalg.vector_norm(x, ord=vector_ord, axis=None if axes is None else axes[0],
                                  keepdims=keepdims)


# ----------------------------------------------------------------------------- reductions
def _prepare(input_tensor, axis, api):
    x = as_array(input_tensor)
    axes = static_axes(axis, api)
    if axes is not None:
        for a in axes:
            if not -builtins.max(x.ndim, 1) <= a < builtins.max(x.ndim, 1):
                raise ValueError(
                    f"{api}: axis {a} is out of range for a tensor of rank {x.ndim} (shape "
                    f"{tuple(x.shape)}).")
        if x.ndim == 0:
            axes = ()
    return x, axes


def _int_dtype(x):
    return x.dtype if jnp.issubdtype(x.dtype, jnp.integer) else None


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_sum` over `axis` (all axes if None); integers keep their dtype.

    Examples:
        >>> x = tf.constant([[1, 2], [3, 4]])
        >>> tf.reduce_sum(x), tf.reduce_sum(x, axis=0)   # integers stay integers
        (Array(10, dtype=int32), Array([4, 6], dtype=int32))
        >>> tf.reduce_sum(x, axis=1, keepdims=True).shape
        (2, 1)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_sum")
    return jnp.sum(x, axis=axes, keepdims=bool(keepdims), dtype=_int_dtype(x))


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_prod`; integers keep their dtype.

    Examples:
        >>> tf.reduce_prod([[1, 2], [3, 4]], axis=1)
        Array([ 2, 12], dtype=int32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_prod")
    return jnp.prod(x, axis=axes, keepdims=bool(keepdims), dtype=_int_dtype(x))


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_mean`; for integer inputs the result is an integer, truncated as in TF.

    Examples:
        >>> tf.reduce_mean([1, 2]), tf.reduce_mean([1.0, 2.0])  # the integer mean truncates
        (Array(1, dtype=int32), Array(1.5, dtype=float32))
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_mean")
    if _int_dtype(x) is None:
        return jnp.mean(x, axis=axes, keepdims=bool(keepdims))
    reduced = range(x.ndim) if axes is None else [a % x.ndim for a in axes]
    count = math.prod(x.shape[a] for a in set(reduced))
    total = jnp.sum(x, axis=axes, keepdims=bool(keepdims), dtype=x.dtype)
    return jax.lax.div(total, jnp.asarray(builtins.max(count, 1), x.dtype))


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_max` over `axis` (all axes if None).

    Examples:
        >>> tf.reduce_max([[1, 5], [7, 2]], axis=0)
        Array([7, 5], dtype=int32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_max")
    return jnp.max(x, axis=axes, keepdims=bool(keepdims))


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_min` over `axis` (all axes if None).

    Examples:
        >>> tf.reduce_min([[1, 5], [7, 2]], axis=1)
        Array([1, 2], dtype=int32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_min")
    return jnp.min(x, axis=axes, keepdims=bool(keepdims))


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_any`: logical OR over `axis`.

    Examples:
        >>> tf.reduce_any([[True, False], [False, False]], axis=1)
        Array([ True, False], dtype=bool)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_any")
    return jnp.any(x, axis=axes, keepdims=bool(keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_all`: logical AND over `axis`.

    Examples:
        >>> tf.reduce_all([[True, False], [True, True]], axis=1)
        Array([False,  True], dtype=bool)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_all")
    return jnp.all(x, axis=axes, keepdims=bool(keepdims))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.reduce_logsumexp`: log(sum(exp(x))), computed without overflow.

    Examples:
        >>> tf.reduce_logsumexp([1000.0, 1000.0])  # log(2) + 1000, no overflow
        Array(1000.6932, dtype=float32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.reduce_logsumexp")
    return jax.nn.logsumexp(as_float(x), axis=axes, keepdims=bool(keepdims))


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.math.reduce_std`: the population standard deviation (no Bessel correction).

    Examples:
        >>> tf.math.reduce_std([1.0, 3.0])
        Array(1., dtype=float32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.math.reduce_std")
    return jnp.std(as_float(x), axis=axes, keepdims=bool(keepdims))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.math.reduce_variance`: the population variance (no Bessel correction).

    Examples:
        >>> tf.math.reduce_variance([1.0, 3.0])
        Array(1., dtype=float32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.math.reduce_variance")
    return jnp.var(as_float(x), axis=axes, keepdims=bool(keepdims))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """`tf.math.reduce_euclidean_norm`: sqrt(sum(x ** 2)) over `axis`.

    Examples:
        >>> tf.math.reduce_euclidean_norm([[3.0, 4.0], [6.0, 8.0]], axis=1)
        Array([ 5., 10.], dtype=float32)
    """
    x, axes = _prepare(input_tensor, axis, "tf.math.reduce_euclidean_norm")
    return jnp.sqrt(jnp.sum(jnp.square(jnp.abs(as_float(x))), axis=axes,
                            keepdims=bool(keepdims)))


def count_nonzero(input, axis=None, keepdims=None, dtype=int64, name=None):
    """`tf.math.count_nonzero`: the number of non-zero entries over `axis`.

    Examples:
        >>> tf.math.count_nonzero([[0, 1], [2, 3]], axis=1)
        Array([1, 2], dtype=int32)
    """
    x, axes = _prepare(input, axis, "tf.math.count_nonzero")
    return jnp.sum(x != 0, axis=axes, keepdims=bool(keepdims), dtype=jax_dtype(dtype))


def argmax(input, axis=None, output_type=int64, name=None):
    """`tf.argmax`: along axis 0 when `axis` is None, as in TF; int64 (int32 without x64).

    Examples:
        >>> tf.argmax([[1, 9], [5, 7]]), tf.argmax([[1, 9], [5, 7]], axis=1)  # axis 0 by default
        (Array([1, 0], dtype=int32), Array([1, 1], dtype=int32))
    """
    x = as_array(input)
    axis = 0 if axis is None else static_axis(axis, "tf.argmax")
    return jnp.argmax(x, axis=axis).astype(jax_dtype(output_type))


def argmin(input, axis=None, output_type=int64, name=None):
    """`tf.argmin`: along axis 0 when `axis` is None, as in TF.

    Examples:
        >>> tf.argmin([[1, 9], [5, 2]])
        Array([0, 1], dtype=int32)
    """
    x = as_array(input)
    axis = 0 if axis is None else static_axis(axis, "tf.argmin")
    return jnp.argmin(x, axis=axis).astype(jax_dtype(output_type))


# ----------------------------------------------------------------------------- scans, top-k
def _scan(op, identity, x, axis, exclusive, reverse, api):
    x = as_array(x)
    axis = static_axis(axis, api) % builtins.max(x.ndim, 1)
    if reverse:
        x = jnp.flip(x, axis)
    if exclusive:
        # Shift right by one, starting from the identity, so each entry excludes itself.
        first = jnp.full_like(jax.lax.slice_in_dim(x, 0, 1, axis=axis), identity)
        x = jnp.concatenate([first, jax.lax.slice_in_dim(x, 0, x.shape[axis] - 1, axis=axis)],
                            axis=axis)
    out = op(x, axis=axis, dtype=_int_dtype(x))
    return jnp.flip(out, axis) if reverse else out


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """`tf.math.cumsum`, with TF's `exclusive` and `reverse` options.

    Examples:
        >>> tf.cumsum([1, 2, 3]), tf.cumsum([1, 2, 3], exclusive=True, reverse=True)
        (Array([1, 3, 6], dtype=int32), Array([5, 3, 0], dtype=int32))
    """
    return _scan(jnp.cumsum, 0, x, axis, exclusive, reverse, "tf.math.cumsum")


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """`tf.math.cumprod`, with TF's `exclusive` and `reverse` options.

    Examples:
        >>> tf.math.cumprod([1, 2, 3]), tf.math.cumprod([1, 2, 3], exclusive=True)
        (Array([1, 2, 6], dtype=int32), Array([1, 1, 2], dtype=int32))
    """
    return _scan(jnp.cumprod, 1, x, axis, exclusive, reverse, "tf.math.cumprod")


class TopKV2(NamedTuple):
    values: jax.Array
    indices: jax.Array


def top_k(input, k=1, sorted=True, name=None):
    """`tf.math.top_k`: the `k` largest entries along the last axis and their int32 indices.

    Examples:
        >>> values, indices = tf.math.top_k([[1.0, 5.0, 3.0]], k=2)
        >>> values, indices
        (Array([[5., 3.]], dtype=float32), Array([[1, 2]], dtype=int32))
    """
    values, indices = jax.lax.top_k(as_array(input), static_int(k, "k", "tf.math.top_k"))
    return TopKV2(values, indices)


def in_top_k(targets, predictions, k, name=None):
    """`tf.math.in_top_k`: whether each target class is among the `k` highest predictions.

    Ties at the boundary count as in, as in TF; a non-finite or out-of-range target is out.

    Examples:
        >>> tf.math.in_top_k([1, 0], [[0.1, 0.9, 0.0], [0.2, 0.5, 0.3]], k=2)
        Array([ True, False], dtype=bool)
    """
    predictions = as_array(predictions)
    targets = as_array(targets).astype(jnp.int32)
    num_classes = predictions.shape[-1]
    valid = (targets >= 0) & (targets < num_classes)
    safe_targets = jnp.where(valid, targets, 0)
    target_scores = jnp.take_along_axis(predictions, safe_targets[:, None], axis=-1)
    higher = jnp.sum(predictions > target_scores, axis=-1)
    return valid & (higher < static_int(k, "k", "tf.math.in_top_k")) & jnp.isfinite(
        target_scores[:, 0])


# ----------------------------------------------------------------------------- segments
def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """`tf.math.unsorted_segment_sum`: sums the rows of `data` sharing a segment id.

    Ids outside `[0, num_segments)` are dropped.

    Examples:
        >>> tf.math.unsorted_segment_sum([1.0, 2.0, 3.0], [1, 0, 1], num_segments=2)
        Array([2., 4.], dtype=float32)
    """
    data, ids = as_array(data), as_array(segment_ids)
    if data.shape[:ids.ndim] != ids.shape:
        raise ValueError(
            f"tf.math.unsorted_segment_sum: segment_ids' shape {tuple(ids.shape)} must be a "
            f"prefix of data's shape {tuple(data.shape)}.")
    flat = data.reshape((-1,) + data.shape[ids.ndim:])
    num = static_int(num_segments, "num_segments", "tf.math.unsorted_segment_sum")
    return jax.ops.segment_sum(flat, ids.reshape(-1), num_segments=num)


def segment_sum(data, segment_ids, name=None):
    """`tf.math.segment_sum`: sums rows by sorted segment id; the ids must be concrete.

    Examples:
        >>> tf.math.segment_sum([1, 2, 3, 4], [0, 0, 1, 1])
        Array([3, 7], dtype=int32)
    """
    if is_traced(segment_ids):
        raise TypeError(
            "tf.math.segment_sum takes its number of segments from the largest id, which a "
            "traced value (inside jax.jit or keras.function) cannot give. Use "
            "tf.math.unsorted_segment_sum(data, segment_ids, num_segments) instead.")
    ids = np.asarray(unwrap(segment_ids))
    num = int(ids.max()) + 1 if ids.size else 0
    return jax.ops.segment_sum(as_array(data), jnp.asarray(ids), num_segments=num,
                               indices_are_sorted=True)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=int32,
                     name=None):
    """`tf.math.confusion_matrix`: rows are labels, columns predictions.

    Examples:
        >>> tf.math.confusion_matrix([0, 1, 1], [0, 1, 0])
        Array([[1, 0],
               [1, 1]], dtype=int32)
    """
    labels = as_array(labels).astype(jnp.int32).reshape(-1)
    predictions = as_array(predictions).astype(jnp.int32).reshape(-1)
    if num_classes is None:
        if is_traced(labels) or is_traced(predictions):
            raise TypeError(
                "tf.math.confusion_matrix needs num_classes inside jax.jit or keras.function "
                "(it cannot read the largest label from a traced value).")
        num_classes = int(jnp.maximum(labels.max(initial=0), predictions.max(initial=0))) + 1
    n = static_int(num_classes, "num_classes", "tf.math.confusion_matrix")
    dtype = jax_dtype(dtype)
    counts = jnp.ones_like(labels, dtype) if weights is None else as_array(weights).reshape(
        -1).astype(dtype)
    return jnp.zeros((n, n), dtype).at[labels, predictions].add(counts, mode="drop")
