"""Shape manipulation: reshaping, transposing, joining, splitting, tiling, flipping, padding."""

import builtins

import jax.numpy as jnp

from lamina._runtime.dtypes import standardize_dtype
from lamina.ops._convert import tensor
from lamina.ops._symbolic import symbolic_op


def _tensors(xs, name):
    if not isinstance(xs, (list, tuple)):
        raise TypeError(
            f"ops.{name} takes a list or tuple of tensors. Received: {type(xs).__name__}. "
            f"Wrap the tensors in a list: ops.{name}([a, b]).")
    return [tensor(x) for x in xs]


def _shape_tuple(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(-1 if d is None else d for d in shape)


@symbolic_op
def reshape(x, newshape):
    """Gives `x` a new shape with the same number of elements; one entry may be -1.

    Examples:
        >>> ops.reshape(ops.arange(6), (2, -1))
        Array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
    """
    x = tensor(x)
    newshape = _shape_tuple(newshape)
    known = [d for d in newshape if d != -1]
    size = 1
    for d in known:
        size *= d
    if builtins.sum(1 for d in newshape if d == -1) > 1 or (
            len(known) == len(newshape) and size != x.size) or (
            len(known) < len(newshape) and (size == 0 or x.size % size)):
        raise ValueError(
            f"Cannot reshape a tensor of shape {x.shape} ({x.size} elements) to "
            f"{newshape}. The new shape must hold the same number of elements; at most one "
            "entry may be -1 (inferred).")
    return jnp.reshape(x, newshape)


@symbolic_op
def transpose(x, axes=None):
    """Permutes the axes (reverses them when `axes` is None).

    Examples:
        >>> ops.transpose(ops.zeros((2, 3, 4)), (1, 0, 2)).shape
        (3, 2, 4)
    """
    return jnp.transpose(tensor(x), axes=None if axes is None else tuple(axes))


@symbolic_op
def expand_dims(x, axis):
    """Inserts size-1 axes at `axis` (an int or a tuple).

    Examples:
        >>> ops.expand_dims(ops.zeros((2, 3)), 0).shape
        (1, 2, 3)
    """
    return jnp.expand_dims(tensor(x), tuple(axis) if isinstance(axis, list) else axis)


@symbolic_op
def squeeze(x, axis=None):
    """Removes size-1 axes (all of them, or those in `axis`).

    Examples:
        >>> ops.squeeze(ops.zeros((1, 3, 1))).shape
        (3,)
    """
    x = tensor(x)
    if axis is not None:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(
                    f"Cannot squeeze axis {a} of a tensor of shape {x.shape}: its size is "
                    f"{x.shape[a]}, not 1. Squeeze only size-1 axes, or use ops.reshape.")
        axis = axes
    return jnp.squeeze(x, axis=axis)


@symbolic_op
def ravel(x):
    """Flattens `x` to one dimension.

    Examples:
        >>> ops.ravel([[1, 2], [3, 4]])
        Array([1, 2, 3, 4], dtype=int32)
    """
    return jnp.ravel(tensor(x))


@symbolic_op
def broadcast_to(x, shape):
    """Broadcasts `x` to `shape`.

    Examples:
        >>> ops.broadcast_to([1, 2], (2, 2))
        Array([[1, 2],
               [1, 2]], dtype=int32)
    """
    return jnp.broadcast_to(tensor(x), _shape_tuple(shape))


@symbolic_op
def moveaxis(x, source, destination):
    """Moves axes of `x` from `source` to `destination` positions.

    Examples:
        >>> ops.moveaxis(ops.zeros((2, 3, 4)), 0, -1).shape
        (3, 4, 2)
    """
    return jnp.moveaxis(tensor(x), source, destination)


@symbolic_op
def swapaxes(x, axis1, axis2):
    """Interchanges two axes.

    Examples:
        >>> ops.swapaxes(ops.zeros((2, 3, 4)), 0, 2).shape
        (4, 3, 2)
    """
    return jnp.swapaxes(tensor(x), axis1, axis2)


@symbolic_op
def ndim(x):
    """The number of dimensions of `x`.

    Examples:
        >>> ops.ndim([[1, 2]])
        2
    """
    return jnp.ndim(tensor(x))


@symbolic_op
def size(x):
    """The number of elements of `x`.

    Examples:
        >>> ops.size([[1, 2, 3]])
        3
    """
    return jnp.size(tensor(x))


# ------------------------------------------------------------------------------- joining


@symbolic_op
def concatenate(xs, axis=0):
    """Joins tensors along an existing axis.

    Examples:
        >>> ops.concatenate([ops.ones((1, 2)), ops.zeros((1, 2))], axis=0).shape
        (2, 2)
    """
    xs = _tensors(xs, "concatenate")
    ranks = {x.ndim for x in xs}
    if len(ranks) > 1:
        raise ValueError(
            "ops.concatenate needs tensors of the same rank. Received shapes "
            f"{[tuple(x.shape) for x in xs]}. Use ops.expand_dims or ops.reshape so that the "
            "ranks match.")
    return jnp.concatenate(xs, axis=axis)


@symbolic_op
def stack(x, axis=0):
    """Joins tensors of the same shape along a new axis.

    Examples:
        >>> ops.stack([ops.ones(2), ops.zeros(2)], axis=1).shape
        (2, 2)
    """
    xs = _tensors(x, "stack")
    shapes = {tuple(t.shape) for t in xs}
    if len(shapes) > 1:
        raise ValueError(
            "ops.stack needs tensors of the same shape. Received shapes "
            f"{[tuple(t.shape) for t in xs]}. Use ops.concatenate to join along an existing "
            "axis, or reshape the tensors first.")
    return jnp.stack(xs, axis=axis)


@symbolic_op
def hstack(xs):
    """Joins tensors column-wise (along axis 1, or 0 for 1D tensors).

    Examples:
        >>> ops.hstack([[1, 2], [3]])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.hstack(_tensors(xs, "hstack"))


@symbolic_op
def vstack(xs):
    """Joins tensors row-wise (along axis 0, treating 1D tensors as rows).

    Examples:
        >>> ops.vstack([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    return jnp.vstack(_tensors(xs, "vstack"))


@symbolic_op
def dstack(xs):
    """Joins tensors depth-wise (along axis 2).

    Examples:
        >>> ops.dstack([[1, 2], [3, 4]]).shape
        (1, 2, 2)
    """
    return jnp.dstack(_tensors(xs, "dstack"))


@symbolic_op
def append(x1, x2, axis=None):
    """Appends `x2` to `x1` along `axis` (flattening both when None).

    Examples:
        >>> ops.append([1, 2], [[3]])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.append(tensor(x1), tensor(x2), axis=axis)


# ------------------------------------------------------------------------------- splitting


def _sections(indices_or_sections):
    if isinstance(indices_or_sections, (list, tuple)):
        return [int(i) for i in indices_or_sections]
    return indices_or_sections


@symbolic_op
def split(x, indices_or_sections, axis=0):
    """Splits `x` into equal sections, or at the given indices, along `axis`.

    Examples:
        >>> [t.shape for t in ops.split(ops.zeros((4, 2)), 2)]
        [(2, 2), (2, 2)]
    """
    x = tensor(x)
    sections = _sections(indices_or_sections)
    if isinstance(sections, int) and x.shape[axis] % sections:
        raise ValueError(
            f"ops.split cannot divide axis {axis} of size {x.shape[axis]} into {sections} "
            "equal sections. Pass split indices instead, or use ops.array_split for "
            "unequal sections.")
    return jnp.split(x, sections, axis=axis)


@symbolic_op
def array_split(x, indices_or_sections, axis=0):
    """Like `split`, but allows sections of unequal size.

    Examples:
        >>> [t.shape for t in ops.array_split(ops.zeros(5), 2)]
        [(3,), (2,)]
    """
    return jnp.array_split(tensor(x), _sections(indices_or_sections), axis=axis)


@symbolic_op
def hsplit(x, indices_or_sections):
    """Splits along axis 1 (axis 0 for 1D tensors).

    Examples:
        >>> [t.shape for t in ops.hsplit(ops.zeros((2, 4)), 2)]
        [(2, 2), (2, 2)]
    """
    return jnp.hsplit(tensor(x), _sections(indices_or_sections))


@symbolic_op
def vsplit(x, indices_or_sections):
    """Splits along axis 0.

    Examples:
        >>> [t.shape for t in ops.vsplit(ops.zeros((4, 2)), 2)]
        [(2, 2), (2, 2)]
    """
    return jnp.vsplit(tensor(x), _sections(indices_or_sections))


@symbolic_op
def dsplit(x, indices_or_sections):
    """Splits along axis 2.

    Examples:
        >>> [t.shape for t in ops.dsplit(ops.zeros((1, 1, 4)), 2)]
        [(1, 1, 2), (1, 1, 2)]
    """
    return jnp.dsplit(tensor(x), _sections(indices_or_sections))


# ------------------------------------------------------------------------------- repeating


@symbolic_op
def tile(x, repeats):
    """Repeats the whole of `x` `repeats` times along each axis.

    Examples:
        >>> ops.tile([1, 2], 2)
        Array([1, 2, 1, 2], dtype=int32)
    """
    return jnp.tile(tensor(x), repeats)


@symbolic_op
def repeat(x, repeats, axis=None):
    """Repeats each element of `x` `repeats` times (flattening when `axis` is None).

    Examples:
        >>> ops.repeat([1, 2], 2)
        Array([1, 1, 2, 2], dtype=int32)
    """
    if isinstance(repeats, (list, tuple)):
        repeats = jnp.asarray(repeats)
    return jnp.repeat(tensor(x), repeats, axis=axis)


# ------------------------------------------------------------------------------- reordering


@symbolic_op
def flip(x, axis=None):
    """Reverses the order of elements along `axis` (all axes when None).

    Examples:
        >>> ops.flip([1, 2, 3])
        Array([3, 2, 1], dtype=int32)
    """
    return jnp.flip(tensor(x), axis=tuple(axis) if isinstance(axis, list) else axis)


@symbolic_op
def fliplr(x):
    """Reverses the order of columns (axis 1).

    Examples:
        >>> ops.fliplr([[1, 2]])
        Array([[2, 1]], dtype=int32)
    """
    return jnp.fliplr(tensor(x))


@symbolic_op
def flipud(x):
    """Reverses the order of rows (axis 0).

    Examples:
        >>> ops.flipud([[1], [2]])
        Array([[2],
               [1]], dtype=int32)
    """
    return jnp.flipud(tensor(x))


@symbolic_op
def roll(x, shift, axis=None):
    """Rolls elements along `axis`; those that fall off one end come back at the other.

    Examples:
        >>> ops.roll([1, 2, 3], 1)
        Array([3, 1, 2], dtype=int32)
    """
    return jnp.roll(tensor(x), shift, axis=axis)


@symbolic_op
def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees `k` times in the plane of `axes`.

    Examples:
        >>> ops.rot90([[1, 2], [3, 4]])
        Array([[2, 4],
               [1, 3]], dtype=int32)
    """
    array = tensor(array)
    if array.ndim < 2:
        raise ValueError(
            f"ops.rot90 needs a tensor of rank 2 or more. Received: shape {array.shape}.")
    if len(axes) != 2 or axes[0] % array.ndim == axes[1] % array.ndim:
        raise ValueError(
            f"ops.rot90 needs two different axes. Received: axes={axes}.")
    return jnp.rot90(array, k=k, axes=tuple(axes))


@symbolic_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads `x`; `pad_width` gives `(before, after)` per axis.

    Examples:
        >>> ops.pad([1, 2], (1, 2))
        Array([0, 1, 2, 0, 0], dtype=int32)
    """
    x = tensor(x)
    mode = mode.lower()
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(
                "ops.pad takes constant_values only with mode='constant'. Received: "
                f"mode={mode!r}. Drop constant_values, or use mode='constant'.")
        return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode=mode)


@symbolic_op
def view(x, dtype=None):
    """Reinterprets the bits of `x` as `dtype`.

    Examples:
        >>> ops.view(ops.convert_to_tensor([1.0]), "int32")
        Array([1065353216], dtype=int32)
    """
    x = tensor(x)
    if dtype is None:
        return x
    return x.view(standardize_dtype(dtype))
