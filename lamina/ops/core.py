"""`keras.ops` core: conversion, dtypes, control flow, slicing and scattering, custom gradients.

Control flow wraps `jax.lax` with Keras 3's signatures, so it works eagerly, under `jax.jit` and
inside `lamina.function`. The branch and body functions are traced once: they must not assign
Variables (return new values instead) and must return the same structure, shapes and dtypes on
every path.
"""

import builtins
import functools

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.dtypes import standardize_dtype
from lamina._runtime.variable import Variable
from lamina.ops._convert import compiled, tensor, unwrap, unwrap_tree
from lamina.ops._symbolic import symbolic_op

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor",
    "custom_gradient", "dtype", "fori_loop", "is_tensor", "map", "saturate_cast", "scan",
    "scatter", "scatter_update", "shape", "slice", "slice_update", "stop_gradient", "switch",
    "unstack", "vectorized_map", "while_loop",
]


# ------------------------------------------------------------------------------- conversion


@symbolic_op
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Converts a NumPy array, nested list, number or Variable to a JAX array.

    Examples:
        >>> ops.convert_to_tensor([1., 2.])
        Array([1., 2.], dtype=float32)
    """
    if ragged:
        raise ValueError(
            "lamina has no ragged tensors (JAX arrays are dense). Received: ragged=True. "
            "Pad the rows to one length and keep a mask instead.")
    return tensor(x, dtype)


@symbolic_op
def convert_to_numpy(x):
    """A NumPy copy of a tensor or Variable.

    Examples:
        >>> ops.convert_to_numpy(ops.ones(2))
        array([1., 1.], dtype=float32)
    """
    return np.array(unwrap(x))


@symbolic_op
def is_tensor(x):
    """Whether `x` is a JAX array (a Variable or NumPy array is not).

    Examples:
        >>> ops.is_tensor(ops.ones(2)), ops.is_tensor([1., 2.])
        (True, False)
    """
    return isinstance(x, jax.Array)


@symbolic_op
def shape(x):
    """The shape of `x`, as a tuple of ints.

    Examples:
        >>> ops.shape(ops.zeros((2, 3)))
        (2, 3)
    """
    x = unwrap(x)
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


@symbolic_op
def dtype(x):
    """The dtype of `x` as a Keras string such as `"float32"`.

    Examples:
        >>> ops.dtype(ops.ones(2))
        'float32'
    """
    x = unwrap(x)
    return standardize_dtype(x.dtype if hasattr(x, "dtype") else tensor(x).dtype)


@symbolic_op
def cast(x, dtype):
    """`x` converted to `dtype` (a name such as `"int32"` or a dtype object).

    Examples:
        >>> ops.cast([1.7, -1.7], "int32")
        Array([ 1, -1], dtype=int32)
    """
    return tensor(x, dtype)


def _limits(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 0, 1
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
    else:
        info = jnp.finfo(dtype)
    return info.min, info.max


@symbolic_op
def saturate_cast(x, dtype):
    """Casts to `dtype`, clipping values to its range first (no wrap-around).

    Examples:
        >>> ops.saturate_cast([-5., 300.], "uint8")
        Array([  0, 255], dtype=uint8)
    """
    dtype = standardize_dtype(dtype)
    x = tensor(x)
    in_low, in_high = _limits(x.dtype)
    out_low, out_high = _limits(dtype)
    with np.errstate(over="ignore"):
        low = np.asarray(builtins.max(in_low, out_low)).astype(x.dtype)
        high = np.asarray(builtins.min(in_high, out_high)).astype(x.dtype)
    # The bounds rounded into x's dtype may fall just outside the target range (float32 cannot
    # hold 2**31 - 1); step them one representable value inwards.
    if low < out_low:
        low = np.nextafter(low, np.zeros_like(low))
    if high > out_high:
        high = np.nextafter(high, np.zeros_like(high))
    return _clip_and_cast(x, low, high, dtype)


@compiled("dtype")
def _clip_and_cast(x, low, high, dtype):
    return jnp.clip(x, low, high).astype(dtype)


@symbolic_op
def stop_gradient(variable):
    """`variable` (a tensor or Variable) with no gradient flowing back through it.

    Examples:
        >>> ops.stop_gradient(ops.ones(2))
        Array([1., 1.], dtype=float32)
    """
    return jax.lax.stop_gradient(tensor(variable))


# ------------------------------------------------------------------------------- control flow


@symbolic_op
def cond(pred, true_fn, false_fn):
    """Calls `true_fn()` if `pred` is true, else `false_fn()`, as one compiled branch.

    Examples:
        >>> ops.cond(ops.convert_to_tensor(True), lambda: 1., lambda: 0.)
        Array(1., dtype=float32, weak_type=True)
    """
    return jax.lax.cond(tensor(pred), true_fn, false_fn)


@symbolic_op
def switch(index, branches, *operands):
    """Calls `branches[index](*operands)`; `index` is clamped to the valid range.

    Examples:
        >>> ops.switch(1, [lambda x: x + 1, lambda x: x * 10], 2)
        Array(20, dtype=int32, weak_type=True)
    """
    return jax.lax.switch(tensor(index), branches, *unwrap_tree(operands))


@symbolic_op
def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeats `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds.

    A tuple or list of loop variables is passed to `cond` and `body` as separate arguments
    and returned as a tuple; a single tensor is passed and returned alone.

    Examples:
        >>> ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0)
        Array(10, dtype=int32, weak_type=True)
    """
    is_sequence = isinstance(loop_vars, (tuple, list))
    state = tuple(unwrap_tree(loop_vars)) if is_sequence else (unwrap_tree(loop_vars),)

    def as_tuple(outputs):
        return tuple(outputs) if is_sequence else (outputs,)

    if maximum_iterations is None:
        result = jax.lax.while_loop(lambda s: cond(*s), lambda s: as_tuple(body(*s)), state)
    else:
        def counted_cond(carry):
            values, count = carry
            return jnp.logical_and(cond(*values), count < maximum_iterations)

        def counted_body(carry):
            values, count = carry
            return as_tuple(body(*values)), count + 1

        result, _ = jax.lax.while_loop(counted_cond, counted_body, (state, jnp.int32(0)))
    return result if is_sequence else result[0]


@symbolic_op
def fori_loop(lower, upper, body_fun, init_val):
    """Runs `val = body_fun(i, val)` for `i` from `lower` to `upper - 1`; returns `val`.

    Examples:
        >>> ops.fori_loop(0, 4, lambda i, total: total + i, 0)
        Array(6, dtype=int32, weak_type=True)
    """
    return jax.lax.fori_loop(unwrap(lower), unwrap(upper), body_fun, unwrap_tree(init_val))


@symbolic_op
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops `carry, y = f(carry, x)` over the leading axis of `xs`; returns
    `(final_carry, stacked_ys)`.

    Examples:
        >>> carry, ys = ops.scan(lambda c, x: (c + x, c + x), 0, ops.arange(4))
        >>> ys
        Array([0, 1, 3, 6], dtype=int32)
    """
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(
            f"ops.scan takes unroll as a positive int or a bool. Received: unroll={unroll!r}")
    return jax.lax.scan(f, unwrap_tree(init), unwrap_tree(xs), length=length, reverse=reverse,
                        unroll=unroll)


@symbolic_op
def associative_scan(f, elems, reverse=False, axis=0):
    """Prefix scan with an associative binary `f` (computed in parallel).

    Examples:
        >>> ops.associative_scan(lambda a, b: a + b, ops.arange(4))
        Array([0, 1, 3, 6], dtype=int32)
    """
    return jax.lax.associative_scan(f, unwrap_tree(elems), reverse=reverse, axis=axis)


@symbolic_op
def map(f, xs):
    """Applies `f` to each slice of `xs` along its leading axis, sequentially, and stacks.

    Examples:
        >>> ops.map(lambda x: x * 2, ops.arange(3))
        Array([0, 2, 4], dtype=int32)
    """
    return jax.lax.map(f, unwrap_tree(xs))


@symbolic_op
def vectorized_map(function, elements):
    """Applies `function` to each slice of `elements` along the leading axis, in parallel
    (`jax.vmap`).

    Examples:
        >>> ops.vectorized_map(lambda row: ops.sum(row), ops.ones((3, 2)))
        Array([2., 2., 2.], dtype=float32)
    """
    return jax.vmap(function)(unwrap_tree(elements))


# ------------------------------------------------------------------------------- slicing


@symbolic_op
def unstack(x, num=None, axis=0):
    """Splits `x` along `axis` into a list of tensors of one rank less.

    Examples:
        >>> [t.shape for t in ops.unstack(ops.zeros((2, 3)))]
        [(3,), (3,)]
    """
    x = tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(
            f"ops.unstack: num={num} does not match the size {x.shape[axis]} of axis {axis} "
            f"of a tensor of shape {x.shape}. Pass num=None to infer it.")
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


@symbolic_op
def slice(inputs, start_indices, shape):
    """The block of `shape` starting at `start_indices`; -1 in `shape` takes the rest.

    Examples:
        >>> ops.slice(ops.arange(6).reshape(2, 3), (0, 1), (2, -1))
        Array([[1, 2],
               [4, 5]], dtype=int32)
    """
    inputs = tensor(inputs)
    start_indices = unwrap_tree(start_indices)
    if isinstance(start_indices, jax.Array):
        start_indices = tuple(start_indices[i] for i in range(start_indices.shape[0]))
    sizes = tuple(
        inputs.shape[i] - int(start_indices[i]) if size == -1 else int(size)
        for i, size in enumerate(shape))
    return jax.lax.dynamic_slice(inputs, tuple(start_indices), sizes)


@symbolic_op
def slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` replaced by `updates`.

    Examples:
        >>> ops.slice_update(ops.zeros(4), (1,), ops.ones(2))
        Array([0., 1., 1., 0.], dtype=float32)
    """
    inputs = tensor(inputs)
    updates = tensor(updates, inputs.dtype)
    start_indices = unwrap_tree(start_indices)
    if isinstance(start_indices, jax.Array):
        start_indices = tuple(start_indices[i] for i in range(start_indices.shape[0]))
    return jax.lax.dynamic_update_slice(inputs, updates, tuple(start_indices))


def _scatter_indices(indices):
    indices = tensor(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        raise TypeError(
            f"Scatter indices must be integers. Received: dtype {indices.dtype}. Cast them "
            "with ops.cast(indices, 'int32').")
    return indices


def _index_tuple(indices):
    """Rows of indices `(n, rank)` as the tuple of per-axis index arrays `.at[]` takes."""
    return tuple(jnp.moveaxis(indices, -1, 0))


@symbolic_op
def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (one index tuple per row).

    Examples:
        >>> ops.scatter([[0, 1], [1, 1]], [1., 2.], (2, 2))
        Array([[0., 1.],
               [0., 2.]], dtype=float32)
    """
    values = tensor(values)
    return _scatter(_scatter_indices(indices), values, tuple(int(d) for d in shape))


@compiled("shape")
def _scatter(indices, values, shape):
    return jnp.zeros(shape, values.dtype).at[_index_tuple(indices)].add(values)


_SCATTER_REDUCTIONS = ("add", "max", "min", "mul")


@symbolic_op
def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at `indices`, or combined by `reduction`
    ("add", "max", "min" or "mul").

    Examples:
        >>> ops.scatter_update(ops.zeros(3), [[1]], [5.])
        Array([0., 5., 0.], dtype=float32)
    """
    if reduction is not None and reduction not in _SCATTER_REDUCTIONS:
        raise ValueError(
            f"ops.scatter_update takes reduction=None or one of {_SCATTER_REDUCTIONS}. "
            f"Received: reduction={reduction!r}")
    return _scatter_update(tensor(inputs), _scatter_indices(indices), tensor(updates),
                           reduction)


@compiled("reduction")
def _scatter_update(inputs, indices, updates, reduction):
    where = inputs.at[_index_tuple(indices)]
    if reduction is None:
        return where.set(updates)
    if reduction == "add":
        return where.add(updates)
    if reduction == "max":
        return where.max(updates)
    if reduction == "min":
        return where.min(updates)
    return where.multiply(updates)


# ------------------------------------------------------------------------------- gradients


def _is_differentiable(x):
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


@symbolic_op
def custom_gradient(f):
    """Decorates `f(*args) -> (output, grad_fn)` so that its gradient is `grad_fn(upstream)`.

    `grad_fn` receives the gradient of the loss with respect to `output` (with the structure
    of `output`) and returns the gradients with respect to each positional argument (a single
    tensor for one argument; None for one that needs none). Keyword arguments are treated as
    constants. `f` runs a second time when the gradient is taken (that is how `grad_fn` is
    recovered: JAX cannot keep a Python closure between the two passes), so it should not have
    side effects. `lamina.compat.tf.custom_gradient` is this function with TF's calling
    convention.

    Examples:
        >>> @ops.custom_gradient
        ... def softplus(z):
        ...     e = ops.exp(z)
        ...     def grad_fn(upstream):
        ...         return upstream / (1 + 1 / e)
        ...     return ops.log(1 + e), grad_fn
        >>> float(jax.grad(softplus)(100.))
        1.0
    """
    name = getattr(f, "__name__", repr(f))

    def output_and_grad_fn(primals, kwargs):
        result = f(*primals, **kwargs)
        if not (isinstance(result, (tuple, list)) and len(result) == 2 and callable(result[1])):
            raise TypeError(
                f"custom_gradient: '{name}' must return (output, grad_fn), where "
                "grad_fn(upstream) returns the gradients of the inputs. Received a "
                f"{type(result).__name__}.")
        return result

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        args = unwrap_tree(args)
        kwargs = unwrap_tree(kwargs)

        @jax.custom_vjp
        def forward(*primals):
            return output_and_grad_fn(primals, kwargs)[0]

        def forward_with_residuals(*primals):
            output, _ = output_and_grad_fn(primals, kwargs)
            return output, primals

        def backward(primals, upstream):
            # Under jit, XLA's common-subexpression pass can merge the repeated forward
            # computation with the first.
            _, grad_fn = output_and_grad_fn(primals, kwargs)
            grads = grad_fn(upstream)
            if not isinstance(grads, (tuple, list)):
                grads = (grads,)
            grads = tuple(grads)
            if len(grads) != len(primals):
                raise ValueError(
                    f"custom_gradient: the gradient function of '{name}' returned "
                    f"{len(grads)} gradient(s) for {len(primals)} input(s). Return one "
                    "gradient per positional argument (None for one that needs none).")
            return tuple(_match_primal(g, p) for g, p in zip(grads, primals))

        forward.defvjp(forward_with_residuals, backward)
        return forward(*args)

    return wrapper


def _match_primal(grad, primal):
    """Converts a user-returned gradient to the structure and dtype that JAX expects."""
    if grad is None:
        return None
    if isinstance(grad, (tuple, list, dict)):
        return jax.tree_util.tree_map(_match_primal, grad, primal,
                                      is_leaf=lambda leaf: leaf is None)
    if not _is_differentiable(primal):
        return None
    primal_dtype = jnp.result_type(primal)
    grad = unwrap(grad) if isinstance(grad, Variable) else grad
    return jnp.broadcast_to(jnp.asarray(grad, primal_dtype), jnp.shape(primal))
