"""Selecting and locating elements: take, where, searching, diagonals and triangles."""

import jax.numpy as jnp

from lamina.ops._convert import compiled, tensor, unwrap_tree
from lamina.ops._symbolic import symbolic_op


def _indices(indices):
    indices = tensor(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        if jnp.issubdtype(indices.dtype, jnp.bool_):
            raise TypeError(
                "Expected integer indices, received a boolean mask. Use ops.where(mask) to "
                "turn a mask into indices, or cast it with ops.cast(mask, 'int32').")
        indices = indices.astype("int32")
    return indices


@symbolic_op
def take(x, indices, axis=None):
    """Takes elements of `x` at `indices` along `axis` (of the flattened `x` when None).

    Examples:
        >>> ops.take([[1, 2], [3, 4]], [1, 0], axis=1)
        Array([[2, 1],
               [4, 3]], dtype=int32)
    """
    return jnp.take(tensor(x), _indices(indices), axis=axis)


@symbolic_op
def take_along_axis(x, indices, axis=None):
    """Picks values of `x` along `axis` at matching `indices` (as from `argsort`).

    Examples:
        >>> x = ops.convert_to_tensor([[10, 30, 20]])
        >>> ops.take_along_axis(x, ops.argsort(x, axis=1), axis=1)
        Array([[10, 20, 30]], dtype=int32)
    """
    return jnp.take_along_axis(tensor(x), _indices(indices), axis=axis)


@symbolic_op
def get_item(x, key):
    """`x[key]`: basic and advanced indexing.

    Examples:
        >>> ops.get_item([10, 20, 30], 1)
        Array(20, dtype=int32)
    """
    return tensor(x)[unwrap_tree(key)]


@symbolic_op
def where(condition, x1=None, x2=None):
    """Elements of `x1` where `condition` holds, else of `x2`; with only `condition`, the
    indices of its true elements (eager only).

    Examples:
        >>> ops.where([True, False], [1, 2], [10, 20])
        Array([ 1, 20], dtype=int32)
    """
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "ops.where takes both x1 and x2, or neither (to get the indices where condition "
            f"is true). Received: x1={'None' if x1 is None else 'a value'}, "
            f"x2={'None' if x2 is None else 'a value'}.")
    condition = tensor(condition)
    if x1 is None:
        return nonzero(condition)
    return jnp.where(condition, tensor(x1), tensor(x2))


@symbolic_op
def select(condlist, choicelist, default=0):
    """Element-wise, the value from the first choice whose condition is true.

    Examples:
        >>> x = ops.arange(4)
        >>> ops.select([x < 1, x > 2], [x, -x], default=9)
        Array([ 0,  9,  9, -3], dtype=int32)
    """
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise TypeError(
            "ops.select takes lists of conditions and of choices. Received: "
            f"condlist of type {type(condlist).__name__}, choicelist of type "
            f"{type(choicelist).__name__}.")
    if len(condlist) != len(choicelist):
        raise ValueError(
            "ops.select needs as many conditions as choices. Received: "
            f"{len(condlist)} conditions and {len(choicelist)} choices.")
    return _select([tensor(c) for c in condlist], [tensor(c) for c in choicelist],
                   tensor(default))


@compiled()
def _select(condlist, choicelist, default):
    return jnp.select(condlist, choicelist, default=default)


@symbolic_op
def nonzero(x):
    """Indices of the non-zero elements, one array per axis (eager only).

    Examples:
        >>> ops.nonzero([0, 3, 0, 5])
        (Array([1, 3], dtype=int32),)
    """
    x = tensor(x)
    # The output size depends on the values: count them first, then run one compiled program.
    return _nonzero(x, size=int(jnp.count_nonzero(x)))


_nonzero = compiled("size")(jnp.nonzero)


@symbolic_op
def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted into the 1D `sorted_sequence` to keep order.

    Examples:
        >>> ops.searchsorted([1, 3, 5], [2, 5])
        Array([1, 2], dtype=int32)
    """
    sorted_sequence = tensor(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError(
            "ops.searchsorted takes a 1D sorted sequence. Received: shape "
            f"{sorted_sequence.shape}. Use ops.vectorized_map to search each row of an N-D "
            "tensor.")
    return jnp.searchsorted(sorted_sequence, tensor(values), side=side)


@symbolic_op
def digitize(x, bins):
    """The index of the bin each element of `x` falls into.

    Examples:
        >>> ops.digitize([0.5, 1.5, 2.5], [1., 2.])
        Array([0, 1, 2], dtype=int32)
    """
    return _digitize(tensor(x), tensor(bins))


_digitize = compiled()(jnp.digitize)


@symbolic_op
def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of `x1` occurs in `x2`.

    Examples:
        >>> ops.isin([1, 2, 3], [2, 4])
        Array([False,  True, False], dtype=bool)
    """
    return jnp.isin(tensor(x1), tensor(x2), assume_unique=assume_unique, invert=invert)


@symbolic_op
def unravel_index(indices, shape):
    """Converts flat indices into a tuple of coordinate arrays for `shape`.

    Examples:
        >>> ops.unravel_index([5], (2, 3))
        (Array([1], dtype=int32), Array([2], dtype=int32))
    """
    return _unravel_index(tensor(indices), tuple(shape))


_unravel_index = compiled("shape")(jnp.unravel_index)


# ------------------------------------------------------------------------------- diagonals


@symbolic_op
def diag(x, k=0):
    """The `k`-th diagonal of a 2D `x`, or a 2D matrix with the 1D `x` on its diagonal.

    Examples:
        >>> ops.diag([1, 2])
        Array([[1, 0],
               [0, 2]], dtype=int32)
    """
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"ops.diag takes a 1D or 2D tensor. Received: shape {x.shape}. Use "
            "ops.diagonal for batched matrices.")
    return jnp.diag(x, k=k)


@symbolic_op
def diagflat(x, k=0):
    """A 2D matrix with the flattened `x` on its `k`-th diagonal.

    Examples:
        >>> ops.diagflat([[1, 2]])
        Array([[1, 0],
               [0, 2]], dtype=int32)
    """
    return jnp.diagflat(tensor(x), k=k)


@symbolic_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the 2D sub-arrays in the plane `axis1`, `axis2`.

    Examples:
        >>> ops.diagonal([[1, 2], [3, 4]])
        Array([1, 4], dtype=int32)
    """
    return jnp.diagonal(tensor(x), offset=offset, axis1=axis1, axis2=axis2)


@symbolic_op
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the diagonal.

    Examples:
        >>> ops.trace([[1, 2], [3, 4]])
        Array(5, dtype=int32)
    """
    return jnp.trace(tensor(x), offset=offset, axis1=axis1, axis2=axis2)


@symbolic_op
def tril(x, k=0):
    """`x` with the elements above the `k`-th diagonal set to zero.

    Examples:
        >>> ops.tril([[1, 2], [3, 4]])
        Array([[1, 0],
               [3, 4]], dtype=int32)
    """
    return jnp.tril(tensor(x), k=k)


@symbolic_op
def triu(x, k=0):
    """`x` with the elements below the `k`-th diagonal set to zero.

    Examples:
        >>> ops.triu([[1, 2], [3, 4]])
        Array([[1, 2],
               [0, 4]], dtype=int32)
    """
    return jnp.triu(tensor(x), k=k)
