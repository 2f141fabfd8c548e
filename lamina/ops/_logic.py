"""Comparisons, element-wise predicates (`isnan`, ...), logical and bitwise operations."""

import jax.numpy as jnp

from lamina.ops._convert import tensor
from lamina.ops._symbolic import symbolic_op

# ------------------------------------------------------------------------------- comparisons


@symbolic_op
def equal(x1, x2):
    """`x1 == x2`, element-wise.

    Examples:
        >>> ops.equal([1, 2], [1, 3])
        Array([ True, False], dtype=bool)
    """
    return jnp.equal(tensor(x1), tensor(x2))


@symbolic_op
def not_equal(x1, x2):
    """`x1 != x2`, element-wise.

    Examples:
        >>> ops.not_equal([1, 2], [1, 3])
        Array([False,  True], dtype=bool)
    """
    return jnp.not_equal(tensor(x1), tensor(x2))


@symbolic_op
def less(x1, x2):
    """`x1 < x2`, element-wise.

    Examples:
        >>> ops.less([1, 3], 2)
        Array([ True, False], dtype=bool)
    """
    return jnp.less(tensor(x1), tensor(x2))


@symbolic_op
def less_equal(x1, x2):
    """`x1 <= x2`, element-wise.

    Examples:
        >>> ops.less_equal([1, 2], 2)
        Array([ True,  True], dtype=bool)
    """
    return jnp.less_equal(tensor(x1), tensor(x2))


@symbolic_op
def greater(x1, x2):
    """`x1 > x2`, element-wise.

    Examples:
        >>> ops.greater([1, 3], 2)
        Array([False,  True], dtype=bool)
    """
    return jnp.greater(tensor(x1), tensor(x2))


@symbolic_op
def greater_equal(x1, x2):
    """`x1 >= x2`, element-wise.

    Examples:
        >>> ops.greater_equal([1, 2], 2)
        Array([False,  True], dtype=bool)
    """
    return jnp.greater_equal(tensor(x1), tensor(x2))


@symbolic_op
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether `|x1 - x2| <= atol + rtol * |x2|`, element-wise.

    Examples:
        >>> ops.isclose([1.0, 1.1], [1.0, 1.0])
        Array([ True, False], dtype=bool)
    """
    return jnp.isclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


@symbolic_op
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether `isclose` holds for every element (a scalar boolean).

    Examples:
        >>> ops.allclose([1.0, 2.0], [1.0, 2.0])
        Array(True, dtype=bool)
    """
    return jnp.allclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


@symbolic_op
def isfinite(x):
    """Whether each element is finite (not infinite and not NaN).

    Examples:
        >>> ops.isfinite([1., float("inf")])
        Array([ True, False], dtype=bool)
    """
    return jnp.isfinite(tensor(x))


@symbolic_op
def isinf(x):
    """Whether each element is positive or negative infinity.

    Examples:
        >>> ops.isinf([1., float("-inf")])
        Array([False,  True], dtype=bool)
    """
    return jnp.isinf(tensor(x))


@symbolic_op
def isnan(x):
    """Whether each element is NaN.

    Examples:
        >>> ops.isnan([1., float("nan")])
        Array([False,  True], dtype=bool)
    """
    return jnp.isnan(tensor(x))


@symbolic_op
def isneginf(x):
    """Whether each element is negative infinity.

    Examples:
        >>> ops.isneginf([float("-inf"), float("inf")])
        Array([ True, False], dtype=bool)
    """
    return jnp.isneginf(tensor(x))


@symbolic_op
def isposinf(x):
    """Whether each element is positive infinity.

    Examples:
        >>> ops.isposinf([float("-inf"), float("inf")])
        Array([False,  True], dtype=bool)
    """
    return jnp.isposinf(tensor(x))


@symbolic_op
def isreal(x):
    """Whether each element has a zero imaginary part.

    Examples:
        >>> ops.isreal([1., 2.])
        Array([ True,  True], dtype=bool)
    """
    return jnp.isreal(tensor(x))


@symbolic_op
def signbit(x):
    """Whether the sign bit is set (true for negative numbers and -0.0).

    Examples:
        >>> ops.signbit([-1., 0., -0.])
        Array([ True, False,  True], dtype=bool)
    """
    return jnp.signbit(tensor(x))


# ------------------------------------------------------------------------------- logic and bits


@symbolic_op
def logical_and(x1, x2):
    """Truth value of `x1 AND x2`, element-wise.

    Examples:
        >>> ops.logical_and([True, True], [True, False])
        Array([ True, False], dtype=bool)
    """
    return jnp.logical_and(tensor(x1), tensor(x2))


@symbolic_op
def logical_or(x1, x2):
    """Truth value of `x1 OR x2`, element-wise.

    Examples:
        >>> ops.logical_or([True, False], [False, False])
        Array([ True, False], dtype=bool)
    """
    return jnp.logical_or(tensor(x1), tensor(x2))


@symbolic_op
def logical_xor(x1, x2):
    """Truth value of `x1 XOR x2`, element-wise.

    Examples:
        >>> ops.logical_xor([True, True], [True, False])
        Array([False,  True], dtype=bool)
    """
    return jnp.logical_xor(tensor(x1), tensor(x2))


@symbolic_op
def logical_not(x):
    """Truth value of `NOT x`, element-wise.

    Examples:
        >>> ops.logical_not([True, False])
        Array([False,  True], dtype=bool)
    """
    return jnp.logical_not(tensor(x))


@symbolic_op
def bitwise_and(x, y):
    """Bitwise AND of integers or booleans.

    Examples:
        >>> ops.bitwise_and(12, 10)
        Array(8, dtype=int32, weak_type=True)
    """
    return jnp.bitwise_and(tensor(x), tensor(y))


@symbolic_op
def bitwise_or(x, y):
    """Bitwise OR of integers or booleans.

    Examples:
        >>> ops.bitwise_or(12, 10)
        Array(14, dtype=int32, weak_type=True)
    """
    return jnp.bitwise_or(tensor(x), tensor(y))


@symbolic_op
def bitwise_xor(x, y):
    """Bitwise XOR of integers or booleans.

    Examples:
        >>> ops.bitwise_xor(12, 10)
        Array(6, dtype=int32, weak_type=True)
    """
    return jnp.bitwise_xor(tensor(x), tensor(y))


@symbolic_op
def bitwise_invert(x):
    """Bitwise NOT of integers or booleans.

    Examples:
        >>> ops.bitwise_invert(ops.convert_to_tensor([0, 1]))
        Array([-1, -2], dtype=int32)
    """
    return jnp.bitwise_not(tensor(x))


@symbolic_op
def bitwise_not(x):
    """Alias of `bitwise_invert`.

    Examples:
        >>> ops.bitwise_not(ops.convert_to_tensor([True, False]))
        Array([False,  True], dtype=bool)
    """
    return jnp.bitwise_not(tensor(x))


@symbolic_op
def bitwise_left_shift(x, y):
    """Shifts the bits of `x` left by `y`.

    Examples:
        >>> ops.bitwise_left_shift(ops.convert_to_tensor([1, 3]), 2)
        Array([ 4, 12], dtype=int32)
    """
    return jnp.left_shift(tensor(x), tensor(y))


@symbolic_op
def left_shift(x, y):
    """Alias of `bitwise_left_shift`.

    Examples:
        >>> ops.left_shift(ops.convert_to_tensor([1]), 3)
        Array([8], dtype=int32)
    """
    return jnp.left_shift(tensor(x), tensor(y))


@symbolic_op
def bitwise_right_shift(x, y):
    """Shifts the bits of `x` right by `y`.

    Examples:
        >>> ops.bitwise_right_shift(ops.convert_to_tensor([8, 12]), 2)
        Array([2, 3], dtype=int32)
    """
    return jnp.right_shift(tensor(x), tensor(y))


@symbolic_op
def right_shift(x, y):
    """Alias of `bitwise_right_shift`.

    Examples:
        >>> ops.right_shift(ops.convert_to_tensor([8]), 3)
        Array([1], dtype=int32)
    """
    return jnp.right_shift(tensor(x), tensor(y))
