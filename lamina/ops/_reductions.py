"""Reductions and statistics: sums, means, extremes, order statistics, sorting, counting.

`mean`, `var` and `std` of integers give floats, and low-precision floats (float16, bfloat16) are
accumulated in float32 and cast back, as in Keras 3.
"""

import jax.numpy as jnp

from lamina._runtime import config
from lamina.ops._convert import float_tensor, optional_dtype, tensor
from lamina.ops._symbolic import symbolic_op


def _axis(axis):
    # jnp wants hashable axes; Keras code often passes lists.
    return tuple(axis) if isinstance(axis, list) else axis


def _accumulated(x, reduce, axis, keepdims):
    """Applies a float reduction in at least float32 and returns it in x's float type."""
    x = tensor(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        result_dtype = x.dtype
    else:
        result_dtype = jnp.dtype(config.floatx())
    compute_dtype = jnp.promote_types(result_dtype, jnp.float32)
    result = reduce(x, axis=_axis(axis), keepdims=keepdims, dtype=compute_dtype)
    return result.astype(result_dtype)


@symbolic_op
def sum(x, axis=None, keepdims=False):
    """Sum of elements over `axis` (all axes when None).

    Examples:
        >>> ops.sum([[1, 2], [3, 4]], axis=0)
        Array([4, 6], dtype=int32)
    """
    return jnp.sum(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product of elements over `axis`.

    Examples:
        >>> ops.prod([[1, 2], [3, 4]], axis=1)
        Array([ 2, 12], dtype=int32)
    """
    return jnp.prod(tensor(x), axis=_axis(axis), keepdims=keepdims, dtype=optional_dtype(dtype))


@symbolic_op
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integers give floats.

    Examples:
        >>> ops.mean([[1, 2], [3, 4]], axis=1)
        Array([1.5, 3.5], dtype=float32)
    """
    return _accumulated(x, jnp.mean, axis, keepdims)


@symbolic_op
def var(x, axis=None, keepdims=False):
    """Variance (population, `ddof=0`) over `axis`.

    Examples:
        >>> ops.var([1., 2., 3., 4.])
        Array(1.25, dtype=float32)
    """
    return _accumulated(x, jnp.var, axis, keepdims)


@symbolic_op
def std(x, axis=None, keepdims=False):
    """Standard deviation (population, `ddof=0`) over `axis`.

    Examples:
        >>> ops.std([1., 3.])
        Array(1., dtype=float32)
    """
    return _accumulated(x, jnp.std, axis, keepdims)


@symbolic_op
def average(x, axis=None, weights=None):
    """Weighted average over `axis`; `weights` has the shape of `x` or of that axis.

    Examples:
        >>> ops.average([1., 2., 3.], weights=[3., 1., 0.])
        Array(1.25, dtype=float32)
    """
    x = float_tensor(x)
    if weights is not None:
        weights = tensor(weights)
        dtype = jnp.result_type(x, weights)
        if not jnp.issubdtype(dtype, jnp.inexact):
            dtype = config.floatx()
        x, weights = x.astype(dtype), weights.astype(dtype)
    return jnp.average(x, axis=_axis(axis), weights=weights)


@symbolic_op
def max(x, axis=None, keepdims=False, initial=None):
    """Maximum over `axis`; `initial` is the value of an empty reduction.

    Examples:
        >>> ops.max([[1, 5], [3, 2]], axis=0)
        Array([3, 5], dtype=int32)
    """
    return jnp.max(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@symbolic_op
def min(x, axis=None, keepdims=False, initial=None):
    """Minimum over `axis`; `initial` is the value of an empty reduction.

    Examples:
        >>> ops.min([[1, 5], [3, 2]], axis=1)
        Array([1, 2], dtype=int32)
    """
    return jnp.min(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@symbolic_op
def amax(x, axis=None, keepdims=False):
    """Maximum over `axis` (alias of `max` without `initial`).

    Examples:
        >>> ops.amax([1, 7, 3])
        Array(7, dtype=int32)
    """
    return jnp.max(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def amin(x, axis=None, keepdims=False):
    """Minimum over `axis` (alias of `min` without `initial`).

    Examples:
        >>> ops.amin([4, 7, 3])
        Array(3, dtype=int32)
    """
    return jnp.min(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def ptp(x, axis=None, keepdims=False):
    """Range of values (`max - min`) over `axis`.

    Examples:
        >>> ops.ptp([4, 7, 3])
        Array(4, dtype=int32)
    """
    return jnp.ptp(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def all(x, axis=None, keepdims=False):
    """Whether every element over `axis` is true.

    Examples:
        >>> ops.all([[True, False], [True, True]], axis=1)
        Array([False,  True], dtype=bool)
    """
    return jnp.all(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def any(x, axis=None, keepdims=False):
    """Whether any element over `axis` is true.

    Examples:
        >>> ops.any([[True, False], [False, False]], axis=1)
        Array([ True, False], dtype=bool)
    """
    return jnp.any(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def count_nonzero(x, axis=None):
    """Number of non-zero elements over `axis`, as int32.

    Examples:
        >>> ops.count_nonzero([0, 3, 0, 1])
        Array(2, dtype=int32)
    """
    return jnp.count_nonzero(tensor(x), axis=_axis(axis)).astype("int32")


@symbolic_op
def argmax(x, axis=None, keepdims=False):
    """Index of the maximum over `axis` (of the flattened array when None).

    Examples:
        >>> ops.argmax([[1, 5], [3, 2]], axis=1)
        Array([1, 0], dtype=int32)
    """
    return jnp.argmax(tensor(x), axis=axis, keepdims=keepdims)


@symbolic_op
def argmin(x, axis=None, keepdims=False):
    """Index of the minimum over `axis` (of the flattened array when None).

    Examples:
        >>> ops.argmin([[1, 5], [3, 2]], axis=1)
        Array([0, 1], dtype=int32)
    """
    return jnp.argmin(tensor(x), axis=axis, keepdims=keepdims)


@symbolic_op
def median(x, axis=None, keepdims=False):
    """Median over `axis`.

    Examples:
        >>> ops.median([3., 1., 2., 10.])
        Array(2.5, dtype=float32)
    """
    return jnp.median(float_tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles (`q` in [0, 1]) over `axis`.

    Examples:
        >>> ops.quantile([1., 2., 3., 4., 5.], 0.5)
        Array(3., dtype=float32)
    """
    return jnp.quantile(float_tensor(x), tensor(q), axis=_axis(axis), method=method,
                        keepdims=keepdims)


@symbolic_op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles (`q` in [0, 100]) over `axis`.

    Examples:
        >>> ops.percentile([1., 2., 3., 4., 5.], 25)
        Array(2., dtype=float32)
    """
    return jnp.percentile(float_tensor(x), tensor(q), axis=_axis(axis), method=method,
                          keepdims=keepdims)


@symbolic_op
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (of the flattened array when None).

    Examples:
        >>> ops.cumsum([1, 2, 3])
        Array([1, 3, 6], dtype=int32)
    """
    return jnp.cumsum(tensor(x), axis=axis, dtype=optional_dtype(dtype))


@symbolic_op
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (of the flattened array when None).

    Examples:
        >>> ops.cumprod([1, 2, 3])
        Array([1, 2, 6], dtype=int32)
    """
    return jnp.cumprod(tensor(x), axis=axis, dtype=optional_dtype(dtype))


# ------------------------------------------------------------------------------- NaN-ignoring


@symbolic_op
def nansum(x, axis=None, keepdims=False):
    """Sum over `axis`, treating NaN as zero.

    Examples:
        >>> ops.nansum([1., float("nan"), 2.])
        Array(3., dtype=float32)
    """
    return jnp.nansum(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanprod(x, axis=None, keepdims=False):
    """Product over `axis`, treating NaN as one.

    Examples:
        >>> ops.nanprod([2., float("nan"), 3.])
        Array(6., dtype=float32)
    """
    return jnp.nanprod(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanmean(x, axis=None, keepdims=False):
    """Mean over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanmean([1., float("nan"), 3.])
        Array(2., dtype=float32)
    """
    return jnp.nanmean(float_tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanvar(x, axis=None, keepdims=False):
    """Variance over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanvar([1., float("nan"), 3.])
        Array(1., dtype=float32)
    """
    return jnp.nanvar(float_tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanstd(x, axis=None, keepdims=False):
    """Standard deviation over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanstd([1., float("nan"), 3.])
        Array(1., dtype=float32)
    """
    return jnp.nanstd(float_tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanmax(x, axis=None, keepdims=False):
    """Maximum over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanmax([1., float("nan"), 3.])
        Array(3., dtype=float32)
    """
    return jnp.nanmax(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanmin(x, axis=None, keepdims=False):
    """Minimum over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanmin([1., float("nan"), 3.])
        Array(1., dtype=float32)
    """
    return jnp.nanmin(tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanargmax(x, axis=None, keepdims=False):
    """Index of the maximum over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanargmax([1., float("nan"), 3.])
        Array(2, dtype=int32)
    """
    return jnp.nanargmax(tensor(x), axis=axis, keepdims=keepdims)


@symbolic_op
def nanargmin(x, axis=None, keepdims=False):
    """Index of the minimum over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanargmin([float("nan"), 1., 3.])
        Array(1, dtype=int32)
    """
    return jnp.nanargmin(tensor(x), axis=axis, keepdims=keepdims)


@symbolic_op
def nanmedian(x, axis=None, keepdims=False):
    """Median over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanmedian([1., float("nan"), 3.])
        Array(2., dtype=float32)
    """
    return jnp.nanmedian(float_tensor(x), axis=_axis(axis), keepdims=keepdims)


@symbolic_op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """Quantiles over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanquantile([1., float("nan"), 3.], 0.5)
        Array(2., dtype=float32)
    """
    return jnp.nanquantile(float_tensor(x), tensor(q), axis=_axis(axis), method=method,
                           keepdims=keepdims)


@symbolic_op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """Percentiles over `axis`, ignoring NaN.

    Examples:
        >>> ops.nanpercentile([1., float("nan"), 3.], 50)
        Array(2., dtype=float32)
    """
    return jnp.nanpercentile(float_tensor(x), tensor(q), axis=_axis(axis), method=method,
                             keepdims=keepdims)


@symbolic_op
def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis`, treating NaN as zero.

    Examples:
        >>> ops.nancumsum([1., float("nan"), 2.])
        Array([1., 1., 3.], dtype=float32)
    """
    return jnp.nancumsum(tensor(x), axis=axis, dtype=optional_dtype(dtype))


@symbolic_op
def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis`, treating NaN as one.

    Examples:
        >>> ops.nancumprod([2., float("nan"), 3.])
        Array([2., 2., 6.], dtype=float32)
    """
    return jnp.nancumprod(tensor(x), axis=axis, dtype=optional_dtype(dtype))


# ------------------------------------------------------------------------------- ordering


@symbolic_op
def sort(x, axis=-1):
    """Sorts along `axis`, ascending.

    Examples:
        >>> ops.sort([3, 1, 2])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.sort(tensor(x), axis=axis)


@symbolic_op
def argsort(x, axis=-1):
    """Indices that sort `x` along `axis`, ascending.

    Examples:
        >>> ops.argsort([3, 1, 2])
        Array([1, 2, 0], dtype=int32)
    """
    x = tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


@symbolic_op
def argpartition(x, kth, axis=-1):
    """Indices that partition `x` so that the `kth` element is in its sorted place.

    Examples:
        >>> int(ops.argpartition([5, 1, 4, 2], 1)[1])
        3
    """
    x = tensor(x)
    if axis is None:
        return jnp.argpartition(jnp.ravel(x), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


# ------------------------------------------------------------------------------- counting


@symbolic_op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts occurrences of each non-negative integer (per row for 2D input).

    The output length depends on the values, so this runs eagerly only; pass `minlength`
    not smaller than `max(x) + 1` to fix it.

    Examples:
        >>> ops.bincount([0, 1, 1, 3])
        Array([1, 2, 0, 1], dtype=int32)
    """
    if sparse:
        raise ValueError(
            "lamina.ops.bincount does not produce sparse tensors. Received: sparse=True. "
            "Call it with sparse=False (the default) to get a dense result.")
    x = tensor(x)
    weights = None if weights is None else tensor(weights)
    if x.ndim == 2:
        length = jnp.maximum(jnp.max(x) + 1, minlength) if x.size else minlength
        length = int(length)
        if weights is None:
            return jnp.stack([jnp.bincount(row, length=length) for row in x])
        return jnp.stack([jnp.bincount(row, w, length=length) for row, w in zip(x, weights)])
    return jnp.bincount(x, weights, minlength=minlength)


@symbolic_op
def histogram(x, bins=10, range=None):
    """Counts of `x` in `bins` equal-width bins; returns `(counts, bin_edges)`.

    Examples:
        >>> counts, edges = ops.histogram([1., 2., 2., 3.], bins=2)
        >>> counts
        Array([1., 3.], dtype=float32)
    """
    x = float_tensor(x)
    return jnp.histogram(x, bins=bins, range=range)


@symbolic_op
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """The unique elements of `x` (sorted). Under `jit`, pass `size` to fix the output length.

    Examples:
        >>> ops.unique([3, 1, 3, 2])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.unique(tensor(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, size=size, sorted=sorted,
                      fill_value=fill_value)


@symbolic_op
def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`.

    Examples:
        >>> ops.corrcoef([[1., 2., 3.], [2., 4., 6.]])
        Array([[1., 1.],
               [1., 1.]], dtype=float32)
    """
    return jnp.corrcoef(float_tensor(x))


@symbolic_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integrates `y` along `axis` by the trapezoidal rule.

    Examples:
        >>> ops.trapezoid([1., 2., 3.])
        Array(4., dtype=float32)
    """
    y = float_tensor(y)
    return jnp.trapezoid(y, None if x is None else tensor(x), dx=dx, axis=axis)


@symbolic_op
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis`.

    Examples:
        >>> ops.diff([1, 4, 9])
        Array([3, 5], dtype=int32)
    """
    return jnp.diff(tensor(a), n=n, axis=axis)
