"""TensorFlow's tensor creation, conversion and shape-manipulation functions, over `jax.numpy`.

`shape`, `size` and `rank` return NumPy int32 arrays rather than JAX arrays: JAX shapes are
static, and a NumPy result stays concrete inside `jax.jit`, so TF idioms such as
`tf.reshape(x, [tf.shape(x)[0], -1])` or `tf.zeros([tf.shape(x)[0], 3])` keep working there.
"""

import builtins
import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina.compat._tf_core import (PYTHON_DEFAULTS, as_array, is_traced, static_axes,
                                    static_axis, static_int, static_shape, unwrap)
from lamina.compat._tf_dtypes import float32, int32, jax_dtype

__all__ = [
    "argsort", "boolean_mask", "broadcast_to", "cast", "concat", "constant", "convert_to_tensor",
    "expand_dims", "eye", "fill", "gather", "identity", "linspace", "newaxis", "one_hot", "ones",
    "ones_like", "pad", "range", "rank", "reshape", "reverse", "shape", "size", "sort",
    "split", "squeeze", "stack", "stop_gradient", "tile", "transpose", "unstack", "where", "zeros",
    "zeros_like",
]

newaxis = None


# ----------------------------------------------------------------------------- conversion
def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """`tf.convert_to_tensor`: Python floats become float32 and ints int32, as in TF.

    Examples:
        >>> tf.convert_to_tensor([1, 2]).dtype, tf.convert_to_tensor(1.5).dtype
        (dtype('int32'), dtype('float32'))
    """
    if dtype is not None:
        return as_array(value, dtype)
    from_python = not isinstance(unwrap(value), (jax.Array, np.ndarray, np.generic))
    x = as_array(value)
    if from_python or x.weak_type:
        # Python numbers and lists get TF's definite dtypes (32-bit, whatever JAX's x64 mode).
        if dtype_hint is not None:
            target = jax_dtype(dtype_hint)
        else:
            target = PYTHON_DEFAULTS.get(x.dtype.kind, x.dtype)
        x = x.astype(target)
    return x


def constant(value, dtype=None, shape=None, name=None):
    """`tf.constant`: like `convert_to_tensor`, and fills or reshapes to `shape` when given.

    Examples:
        >>> tf.constant(0.5, shape=[2, 2])
        Array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
    """
    x = convert_to_tensor(value, dtype)
    if shape is None:
        return x
    shape = static_shape(shape, "tf.constant")
    if x.ndim == 0:
        return jnp.broadcast_to(x, shape)
    if x.size != math.prod(shape):
        raise ValueError(
            f"tf.constant: a value with {x.size} elements (shape {x.shape}) cannot fill "
            f"shape={list(shape)} ({math.prod(shape)} elements). Pass a scalar to fill the "
            "shape, or a value with exactly that many elements.")
    return jnp.reshape(x, shape)


def cast(x, dtype, name=None):
    """`tf.cast`: floats to ints truncate toward zero; complex to real keeps the real part.

    Examples:
        >>> tf.cast([-1.7, 2.7], tf.int32)  # toward zero, not down
        Array([-1,  2], dtype=int32)
    """
    x = as_array(x)
    target = jax_dtype(dtype)
    if jnp.issubdtype(x.dtype, jnp.complexfloating) and not jnp.issubdtype(
            target, jnp.complexfloating):
        x = jnp.real(x)
    return x.astype(target)


def identity(input, name=None):
    """`tf.identity`: the value of a tensor or Variable, as an array.

    Examples:
        >>> v = tf.Variable([1.0, 2.0])
        >>> tf.identity(v)
        Array([1., 2.], dtype=float32)
    """
    return as_array(input)


def stop_gradient(input, name=None):
    """`tf.stop_gradient`: the same value, treated as a constant when differentiating (for
    targets and statistics that must not be trained through).

    Examples:
        >>> w = lamina.Variable(3.0)
        >>> lamina.grad(lambda: w * tf.stop_gradient(w), [w])()  # d(w * c)/dw = c = 3
        [Array(3., dtype=float32)]
    """
    return jax.lax.stop_gradient(as_array(input))


# ----------------------------------------------------------------------------- shapes
def shape(input, out_type=int32, name=None):
    """`tf.shape`: the shape as a 1-D NumPy int32 array, static even under `jax.jit`.

    Examples:
        >>> x = tf.zeros([4, 3])
        >>> tf.shape(x)  # NumPy, so it stays static under jit
        array([4, 3], dtype=int32)
        >>> tf.reshape(x, [tf.shape(x)[0], -1]).shape
        (4, 3)
    """
    return np.asarray(np.shape(unwrap(input)), dtype=jax_dtype(out_type))


def size(input, out_type=int32, name=None):
    """`tf.size`: the number of elements as a NumPy int32 scalar array.

    Examples:
        >>> tf.size(tf.zeros([4, 3]))
        array(12, dtype=int32)
    """
    return np.asarray(math.prod(np.shape(unwrap(input))), dtype=jax_dtype(out_type))


def rank(input, name=None):
    """`tf.rank`: the number of dimensions as a NumPy int32 scalar array.

    Examples:
        >>> tf.rank(tf.zeros([4, 3]))
        array(2, dtype=int32)
    """
    return np.asarray(np.ndim(unwrap(input)), dtype=np.int32)


def reshape(tensor, shape, name=None):
    """`tf.reshape`: one dimension may be -1 (inferred).

    Examples:
        >>> tf.reshape(tf.range(6), [-1, 3])
        Array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
    """
    x = as_array(tensor)
    dims = static_shape(shape, "tf.reshape")
    unknown = [d for d in dims if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in dims):
        raise ValueError(
            f"tf.reshape: the new shape {list(dims)} may contain at most one -1 and no other "
            "negative sizes.")
    known = math.prod(d for d in dims if d != -1)
    fits = (known != 0 and x.size % known == 0) if unknown else known == x.size
    if not fits:
        raise ValueError(
            f"tf.reshape cannot reshape a tensor of shape {tuple(x.shape)} ({x.size} elements) "
            f"into shape {list(dims)}: the number of elements must stay the same. Check the "
            "target shape, or use -1 for one dimension to have it inferred.")
    return jnp.reshape(x, dims)


def transpose(a, perm=None, conjugate=False, name=None):
    """`tf.transpose`: reverses the axes, or permutes them by `perm`.

    Examples:
        >>> tf.transpose(tf.zeros([2, 3, 4]), perm=[0, 2, 1]).shape
        (2, 4, 3)
    """
    x = as_array(a)
    axes = static_axes(perm, "tf.transpose", "perm")
    if axes is not None and sorted(d % builtins.max(x.ndim, 1) for d in axes) != list(
            builtins.range(x.ndim)):
        raise ValueError(
            f"tf.transpose: perm must be a permutation of range({x.ndim}) for a tensor of rank "
            f"{x.ndim}. Received: perm={list(axes)}.")
    x = jnp.transpose(x, axes)
    return jnp.conj(x) if conjugate else x


def _check_axis(axis, ndim, api):
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{api}: axis {axis} is out of range for a tensor of rank {ndim}; expected an axis "
            f"in [{-ndim}, {ndim}).")
    return axis % ndim


def expand_dims(input, axis, name=None):
    """`tf.expand_dims`: inserts a dimension of size 1 at `axis`.

    Examples:
        >>> tf.expand_dims([1.0, 2.0], axis=-1).shape
        (2, 1)
    """
    x = as_array(input)
    axis = static_axis(axis, "tf.expand_dims")
    _check_axis(axis, x.ndim + 1, "tf.expand_dims")
    return jnp.expand_dims(x, axis)


def squeeze(input, axis=None, name=None):
    """`tf.squeeze`: removes dimensions of size 1 (all of them, or those in `axis`).

    Examples:
        >>> tf.squeeze(tf.zeros([1, 3, 1])).shape, tf.squeeze(tf.zeros([1, 3, 1]), axis=[0]).shape
        ((3,), (3, 1))
    """
    x = as_array(input)
    axes = static_axes(axis, "tf.squeeze")
    if not axes:  # None or TF's default [] both mean every size-1 axis
        return jnp.squeeze(x)
    axes = tuple(_check_axis(a, x.ndim, "tf.squeeze") for a in axes)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(
                f"tf.squeeze cannot squeeze axis {a} of a tensor of shape {tuple(x.shape)}: "
                f"its size is {x.shape[a]}, not 1.")
    return jnp.squeeze(x, axes)


def _as_arrays(values, api):
    if isinstance(values, (list, tuple)):
        arrays = [as_array(v) for v in values]
    else:
        arrays = list(as_array(values))
    if not arrays:
        raise ValueError(f"{api} needs at least one tensor. Received an empty list.")
    return arrays


def concat(values, axis, name=None):
    """`tf.concat`: joins tensors of equal rank along an existing axis.

    Examples:
        >>> tf.concat([[[1, 2]], [[3, 4]]], axis=0)
        Array([[1, 2],
               [3, 4]], dtype=int32)
    """
    arrays = [as_array(values)] if not isinstance(values, (list, tuple)) else _as_arrays(
        values, "tf.concat")
    shapes = [tuple(a.shape) for a in arrays]
    ranks = {len(s) for s in shapes}
    if len(ranks) != 1:
        raise ValueError(
            f"tf.concat needs tensors of the same rank. Received shapes {shapes}. Use "
            "tf.expand_dims or tf.reshape so that all tensors have the same number of "
            "dimensions.")
    ndim = ranks.pop()
    if ndim == 0:
        raise ValueError("tf.concat cannot join scalars (rank 0); use tf.stack instead.")
    axis = _check_axis(static_axis(axis, "tf.concat"), ndim, "tf.concat")
    for s in shapes[1:]:
        if s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(
                f"tf.concat along axis {axis}: all other dimensions must match. Received "
                f"shapes {shapes}.")
    return jnp.concatenate(arrays, axis=axis)


def stack(values, axis=0, name=None):
    """`tf.stack`: joins tensors of equal shape along a new axis.

    Examples:
        >>> tf.stack([[1, 2], [3, 4]], axis=1)
        Array([[1, 3],
               [2, 4]], dtype=int32)
    """
    arrays = _as_arrays(values, "tf.stack")
    shapes = [tuple(a.shape) for a in arrays]
    if len(set(shapes)) != 1:
        raise ValueError(
            f"tf.stack needs tensors of the same shape. Received shapes {shapes}.")
    axis = _check_axis(static_axis(axis, "tf.stack"), arrays[0].ndim + 1, "tf.stack")
    return jnp.stack(arrays, axis=axis)


def unstack(value, num=None, axis=0, name=None):
    """`tf.unstack`: the list of slices along `axis`.

    Examples:
        >>> [t.tolist() for t in tf.unstack([[1, 2], [3, 4]], axis=1)]
        [[1, 3], [2, 4]]
    """
    x = as_array(value)
    axis = _check_axis(static_axis(axis, "tf.unstack"), x.ndim, "tf.unstack")
    if num is not None and static_int(num, "num", "tf.unstack") != x.shape[axis]:
        raise ValueError(
            f"tf.unstack: num={num} but axis {axis} of shape {tuple(x.shape)} has size "
            f"{x.shape[axis]}.")
    return [jnp.squeeze(part, axis) for part in jnp.split(x, x.shape[axis], axis=axis)]


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """`tf.split`: into `n` equal parts, or parts of the given sizes (one may be -1).

    Examples:
        >>> [t.shape for t in tf.split(tf.zeros([5, 2]), [2, -1])]
        [(2, 2), (3, 2)]
    """
    x = as_array(value)
    axis = _check_axis(static_axis(axis, "tf.split"), x.ndim, "tf.split")
    length = x.shape[axis]
    if isinstance(unwrap(num_or_size_splits), (int, np.integer)) or np.ndim(
            unwrap(num_or_size_splits)) == 0:
        parts = static_int(num_or_size_splits, "num_or_size_splits", "tf.split")
        if parts <= 0 or length % parts:
            raise ValueError(
                f"tf.split cannot divide axis {axis} of size {length} into {parts} equal "
                "parts. Pass a list of sizes instead, e.g. num_or_size_splits=[2, -1].")
        return jnp.split(x, parts, axis=axis)
    sizes = list(static_shape(num_or_size_splits, "tf.split", "num_or_size_splits"))
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = length - (builtins.sum(sizes) + 1)
    if any(s < 0 for s in sizes) or builtins.sum(sizes) != length:
        raise ValueError(
            f"tf.split: the sizes {list(num_or_size_splits)} do not add up to the size "
            f"{length} of axis {axis} (shape {tuple(x.shape)}). At most one size may be -1.")
    return jnp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)


def tile(input, multiples, name=None):
    """`tf.tile`: repeats the tensor `multiples[i]` times along each axis.

    Examples:
        >>> tf.tile([[1, 2]], [2, 2])
        Array([[1, 2, 1, 2],
               [1, 2, 1, 2]], dtype=int32)
    """
    x = as_array(input)
    reps = static_shape(multiples, "tf.tile", "multiples")
    if len(reps) != x.ndim:
        raise ValueError(
            f"tf.tile needs one multiple per dimension: the input has rank {x.ndim} (shape "
            f"{tuple(x.shape)}) but multiples={list(reps)}.")
    return jnp.tile(x, reps)


def broadcast_to(input, shape, name=None):
    """`tf.broadcast_to`: repeats size-1 and missing leading axes to reach `shape`.

    Examples:
        >>> tf.broadcast_to([1, 2, 3], [2, 3])
        Array([[1, 2, 3],
               [1, 2, 3]], dtype=int32)
    """
    return jnp.broadcast_to(as_array(input), static_shape(shape, "tf.broadcast_to"))


def reverse(tensor, axis, name=None):
    """`tf.reverse`: flips the given axes.

    Examples:
        >>> tf.reverse([[1, 2], [3, 4]], axis=[1])
        Array([[2, 1],
               [4, 3]], dtype=int32)
    """
    return jnp.flip(as_array(tensor), static_axes(axis, "tf.reverse"))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """`tf.pad`: `paddings[i] = [before, after]` for axis i; mode CONSTANT, REFLECT or SYMMETRIC.

    Examples:
        >>> tf.pad([[1, 2]], [[0, 0], [1, 2]])
        Array([[0, 1, 2, 0, 0]], dtype=int32)
        >>> tf.pad([[1, 2, 3]], [[0, 0], [2, 0]], mode="REFLECT")
        Array([[3, 2, 1, 2, 3]], dtype=int32)
    """
    x = as_array(tensor)
    pairs = np.asarray(unwrap(paddings)) if not is_traced(paddings) else None
    if pairs is None or pairs.shape != (x.ndim, 2):
        raise ValueError(
            f"tf.pad: paddings must be a static [rank, 2] list of [before, after] pairs, one per "
            f"dimension of the input (rank {x.ndim}). Received: {paddings!r}.")
    pairs = [(int(a), int(b)) for a, b in pairs]
    mode = str(mode).lower()
    if mode == "constant":
        return jnp.pad(x, pairs, mode="constant", constant_values=as_array(constant_values))
    if mode not in ("reflect", "symmetric"):
        raise ValueError(
            f"tf.pad: mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC'. Received: {mode!r}.")
    return jnp.pad(x, pairs, mode=mode)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """`tf.gather`: slices of `params` along `axis` at `indices` (with TF's `batch_dims`).

    Examples:
        >>> tf.gather([10, 20, 30], [2, 0])
        Array([30, 10], dtype=int32)
        >>> tf.gather([[1, 2], [3, 4]], [[1], [0]], batch_dims=1)
        Array([[2],
               [3]], dtype=int32)
    """
    x = as_array(params)
    idx = as_array(indices)
    batch_dims = static_int(batch_dims, "batch_dims", "tf.gather")
    if batch_dims < 0:
        batch_dims += idx.ndim
    axis = batch_dims if axis is None else static_axis(axis, "tf.gather")
    axis = _check_axis(axis, x.ndim, "tf.gather")
    if axis < batch_dims:
        raise ValueError(f"tf.gather: axis ({axis}) must be >= batch_dims ({batch_dims}).")
    if batch_dims == 0:
        return jnp.take(x, idx, axis=axis)
    if x.shape[:batch_dims] != idx.shape[:batch_dims]:
        raise ValueError(
            f"tf.gather with batch_dims={batch_dims}: params and indices must share their first "
            f"{batch_dims} dimensions. Received shapes {tuple(x.shape)} and {tuple(idx.shape)}.")
    return jax.vmap(lambda p, i: gather(p, i, axis=axis - 1, batch_dims=batch_dims - 1))(x, idx)


def boolean_mask(tensor, mask, axis=None, name=None):
    """`tf.boolean_mask`: the entries where `mask` is True (eager only: the result size depends on
    the mask, which `jax.jit` cannot trace; there, use `tf.where(mask, x, 0)` instead).

    Examples:
        >>> tf.boolean_mask([1, 2, 3, 4], [True, False, True, False])
        Array([1, 3], dtype=int32)
    """
    if is_traced(mask):
        raise TypeError(
            "tf.boolean_mask returns as many entries as the mask has True values, so the mask "
            "must be concrete, but it is traced (inside jax.jit or keras.function). Keep the "
            "shape fixed instead: tf.where(mask, x, tf.zeros_like(x)), or weight a reduction by "
            "tf.cast(mask, x.dtype).")
    x = as_array(tensor)
    m = np.asarray(unwrap(mask)).astype(bool)
    axis = 0 if axis is None else _check_axis(static_axis(axis, "tf.boolean_mask"), x.ndim,
                                              "tf.boolean_mask")
    if m.ndim == 0 or x.shape[axis:axis + m.ndim] != m.shape:
        raise ValueError(
            f"tf.boolean_mask: the mask's shape {m.shape} must match the dimensions of the "
            f"tensor (shape {tuple(x.shape)}) starting at axis {axis}.")
    merged = x.reshape(x.shape[:axis] + (-1,) + x.shape[axis + m.ndim:])
    return jnp.take(merged, np.flatnonzero(m), axis=axis)


def where(condition, x=None, y=None, name=None):
    """`tf.where`: picks from `x` where `condition` is True and from `y` elsewhere (broadcast).

    With only `condition`, returns the coordinates of its True entries (eager only), as int64,
    or int32 when JAX runs without x64 (its default).

    Examples:
        >>> x = tf.constant([-2.0, 3.0])
        >>> tf.where(x > 0, x, tf.zeros_like(x))
        Array([0., 3.], dtype=float32)
        >>> tf.where([True, False, True])  # coordinates, eagerly only
        Array([[0],
               [2]], dtype=int32)
    """
    if x is None and y is None:
        if is_traced(condition):
            raise TypeError(
                "tf.where(condition) returns as many coordinates as there are True values, so "
                "it cannot run on a traced condition (inside jax.jit or keras.function). Use "
                "tf.where(condition, x, y), which keeps the shape fixed.")
        return jnp.asarray(np.argwhere(np.asarray(unwrap(condition))), dtype=jax_dtype("int64"))
    if x is None or y is None:
        raise ValueError("tf.where needs both x and y, or neither. Received only one of them.")
    return jnp.where(as_array(condition), as_array(x), as_array(y))


# ----------------------------------------------------------------------------- creation
def zeros(shape, dtype=float32, name=None):
    """`tf.zeros` (float32 by default).

    Examples:
        >>> tf.zeros([2])
        Array([0., 0.], dtype=float32)
    """
    return jnp.zeros(static_shape(shape, "tf.zeros"), dtype=jax_dtype(dtype))


def ones(shape, dtype=float32, name=None):
    """`tf.ones` (float32 by default).

    Examples:
        >>> tf.ones([2], dtype=tf.int32)
        Array([1, 1], dtype=int32)
    """
    return jnp.ones(static_shape(shape, "tf.ones"), dtype=jax_dtype(dtype))


def zeros_like(input, dtype=None, name=None):
    """`tf.zeros_like`: zeros of the shape and (unless `dtype` is given) the dtype of `input`.

    Examples:
        >>> tf.zeros_like([1, 2])
        Array([0, 0], dtype=int32)
    """
    return jnp.zeros_like(as_array(input), dtype=jax_dtype(dtype))


def ones_like(input, dtype=None, name=None):
    """`tf.ones_like`: ones of the shape and (unless `dtype` is given) the dtype of `input`.

    Examples:
        >>> tf.ones_like([1.5, 2.5])
        Array([1., 1.], dtype=float32)
    """
    return jnp.ones_like(as_array(input), dtype=jax_dtype(dtype))


def fill(dims, value, name=None):
    """`tf.fill`: a tensor of shape `dims` filled with `value` (whose dtype it takes).

    Examples:
        >>> tf.fill([2, 2], 7)
        Array([[7, 7],
               [7, 7]], dtype=int32)
    """
    value = convert_to_tensor(value)
    if value.ndim != 0:
        raise ValueError(f"tf.fill: value must be a scalar. Received shape {tuple(value.shape)}.")
    return jnp.full(static_shape(dims, "tf.fill", "dims"), value, dtype=value.dtype)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None):
    """`tf.eye`: an identity matrix, optionally repeated over `batch_shape`.

    Examples:
        >>> tf.eye(2, batch_shape=[3]).shape
        (3, 2, 2)
    """
    n = static_int(num_rows, "num_rows", "tf.eye")
    m = n if num_columns is None else static_int(num_columns, "num_columns", "tf.eye")
    matrix = jnp.eye(n, m, dtype=jax_dtype(dtype))
    if batch_shape is None:
        return matrix
    return jnp.broadcast_to(matrix, static_shape(batch_shape, "tf.eye", "batch_shape") + (n, m))


def _static_number(value, what, api):
    value = unwrap(value)
    if is_traced(value):
        raise TypeError(f"{api}: {what} must be known when the function is traced; received "
                        "a traced value.")
    return np.asarray(value).item()


def range(start, limit=None, delta=1, dtype=None, name="range"):
    """`tf.range`: like Python's range; float32 if any argument is a float, else int32.

    Examples:
        >>> tf.range(3), tf.range(0, 1, 0.25)  # a float argument makes float32
        (Array([0, 1, 2], dtype=int32), Array([0.  , 0.25, 0.5 , 0.75], dtype=float32))
    """
    values = [_static_number(v, w, "tf.range") for v, w in (
        (start, "start"), (limit, "limit"), (delta, "delta")) if v is not None]
    if limit is None:
        values = [0] + values
    if dtype is None:
        dtype = "float32" if any(isinstance(v, float) for v in values) else "int32"
    return jnp.arange(*values, dtype=jax_dtype(dtype))


def linspace(start, stop, num, name=None, axis=0):
    """`tf.linspace`: `num` evenly spaced values from `start` to `stop` inclusive.

    Examples:
        >>> tf.linspace(0.0, 1.0, 5)
        Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    start = as_array(start)
    dtype = start.dtype if jnp.issubdtype(start.dtype, jnp.inexact) else jnp.float32
    return jnp.linspace(start, as_array(stop), static_int(num, "num", "tf.linspace"),
                        axis=static_axis(axis, "tf.linspace"), dtype=dtype)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """`tf.one_hot`: out-of-range indices (such as -1) give all `off_value`.

    Examples:
        >>> tf.one_hot([0, 2, -1], depth=3)  # -1 is out of range: a row of zeros
        Array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 0., 0.]], dtype=float32)
    """
    if dtype is not None:
        dtype = jax_dtype(dtype)
    elif on_value is not None or off_value is not None:
        dtype = convert_to_tensor(on_value if on_value is not None else off_value).dtype
    else:
        dtype = jnp.float32
    hot = jax.nn.one_hot(as_array(indices), static_int(depth, "depth", "tf.one_hot"),
                         dtype=jnp.bool_, axis=-1 if axis is None else static_axis(
                             axis, "tf.one_hot"))
    on = 1 if on_value is None else as_array(on_value)
    off = 0 if off_value is None else as_array(off_value)
    return jnp.where(hot, on, off).astype(dtype)


def _direction(direction, api):
    direction = str(direction).upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(
            f"{api}: direction must be 'ASCENDING' or 'DESCENDING'. Received: {direction!r}.")
    return direction == "DESCENDING"


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """`tf.sort`: along `axis` (the last by default); `direction` is TF's "ASCENDING" or
    "DESCENDING".

    Examples:
        >>> tf.sort([3, 1, 2], direction="DESCENDING")
        Array([3, 2, 1], dtype=int32)
    """
    return jnp.sort(as_array(values), axis=static_axis(axis, "tf.sort"),
                    descending=_direction(direction, "tf.sort"))


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """`tf.argsort`: int32 indices that sort `values` (always stable here).

    Examples:
        >>> tf.argsort([30, 10, 20])
        Array([1, 2, 0], dtype=int32)
    """
    indices = jnp.argsort(as_array(values), axis=static_axis(axis, "tf.argsort"), stable=True,
                          descending=_direction(direction, "tf.argsort"))
    return indices.astype(jnp.int32)
