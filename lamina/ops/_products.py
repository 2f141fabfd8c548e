"""Products of tensors: matmul, dot, einsum, tensordot, outer and friends, and slogdet."""

import jax.numpy as jnp

from lamina.ops._convert import float_tensor, tensor
from lamina.ops._symbolic import symbolic_op


def _int8_accumulator(*xs):
    # Two int8 operands multiply into int32 so that the sum cannot overflow (and so that
    # hardware int8 matrix units are used), as Keras 3 does.
    if all(x.dtype == jnp.int8 for x in xs):
        return jnp.int32
    return None


@symbolic_op
def matmul(x1, x2):
    """Matrix product, broadcasting over leading (batch) axes.

    Examples:
        >>> ops.matmul([[1, 2]], [[3], [4]])
        Array([[11]], dtype=int32)
    """
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(
            "ops.matmul takes tensors of rank 1 or more. Received shapes "
            f"{x1.shape} and {x2.shape}. Use ops.multiply to scale by a scalar.")
    if x1.shape[-1] != x2.shape[-2 if x2.ndim > 1 else 0]:
        raise ValueError(
            f"ops.matmul cannot multiply shapes {x1.shape} and {x2.shape}: the last axis of "
            "x1 must match the second-to-last axis of x2 (the only axis of a 1D x2). "
            "Transpose one operand, or check the order of the arguments.")
    return jnp.matmul(x1, x2, preferred_element_type=_int8_accumulator(x1, x2))


@symbolic_op
def dot(x1, x2):
    """Dot product: inner product for 1D, matrix product for 2D, sum-product over the last
    axis of `x1` and second-to-last of `x2` otherwise.

    Examples:
        >>> ops.dot([1, 2], [3, 4])
        Array(11, dtype=int32)
    """
    return jnp.dot(tensor(x1), tensor(x2))


@symbolic_op
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over `operands` as described by `subscripts`.

    Examples:
        >>> ops.einsum("ij,j->i", [[1, 2], [3, 4]], [1, 1])
        Array([3, 7], dtype=int32)
    """
    operands = [tensor(x) for x in operands]
    kwargs.setdefault("preferred_element_type", _int8_accumulator(*operands))
    return jnp.einsum(subscripts, *operands, **kwargs)


@symbolic_op
def tensordot(x1, x2, axes=2):
    """Sum-product over the last `axes` axes of `x1` and first of `x2` (or given axis pairs).

    Examples:
        >>> ops.tensordot(ops.ones((2, 3)), ops.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    return jnp.tensordot(tensor(x1), tensor(x2), axes=axes)


@symbolic_op
def inner(x1, x2):
    """Inner product over the last axes.

    Examples:
        >>> ops.inner([1, 2], [3, 4])
        Array(11, dtype=int32)
    """
    return jnp.inner(tensor(x1), tensor(x2))


@symbolic_op
def outer(x1, x2):
    """Outer product of the flattened inputs.

    Examples:
        >>> ops.outer([1, 2], [3, 4])
        Array([[3, 4],
               [6, 8]], dtype=int32)
    """
    return jnp.outer(tensor(x1), tensor(x2))


@symbolic_op
def vdot(x1, x2):
    """Dot product of the flattened inputs (conjugating `x1` if complex).

    Examples:
        >>> ops.vdot([[1, 2]], [[3, 4]])
        Array(11, dtype=int32)
    """
    return jnp.vdot(tensor(x1), tensor(x2))


@symbolic_op
def kron(x1, x2):
    """Kronecker product.

    Examples:
        >>> ops.kron([1, 2], [1, 10])
        Array([ 1, 10,  2, 20], dtype=int32)
    """
    return jnp.kron(tensor(x1), tensor(x2))


@symbolic_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors) along the given axes.

    Examples:
        >>> ops.cross([1., 0., 0.], [0., 1., 0.])
        Array([0., 0., 1.], dtype=float32)
    """
    return jnp.cross(tensor(x1), tensor(x2), axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@symbolic_op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1D sequences (`mode`: "valid", "same" or "full").

    Examples:
        >>> ops.correlate([1., 2., 3.], [0., 1.])
        Array([2., 3.], dtype=float32)
    """
    if mode not in ("valid", "same", "full"):
        raise ValueError(
            f"ops.correlate takes mode 'valid', 'same' or 'full'. Received: mode={mode!r}")
    x1, x2 = tensor(x1), tensor(x2)
    dtype = jnp.result_type(x1, x2)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.float32
    return jnp.correlate(x1.astype(dtype), x2.astype(dtype), mode=mode)


@symbolic_op
def slogdet(x):
    """Sign and natural log of the absolute value of the determinant: `(sign, logabsdet)`.

    Examples:
        >>> sign, logdet = ops.slogdet([[2., 0.], [0., 3.]])
        >>> float(sign), round(float(logdet), 4)
        (1.0, 1.7918)
    """
    return tuple(jnp.linalg.slogdet(float_tensor(x)))
