"""Element-wise math: arithmetic, powers and logarithms, rounding, complex parts.

Trigonometry is in `_trigonometry.py`.

Functions whose result is a float by nature (`sqrt`, `sin`, `exp`, `ceil`, ...) cast integer and
boolean inputs to `keras.config.floatx()` first, as Keras 3 does.
"""

import jax
import jax.numpy as jnp

from lamina._runtime import config
from lamina.ops._convert import compiled, float_tensor, floats, tensor
from lamina.ops._symbolic import symbolic_op

# ------------------------------------------------------------------------------- arithmetic


@symbolic_op
def add(x1, x2):
    """Adds arguments element-wise.

    Examples:
        >>> ops.add([1, 2], [10, 20])
        Array([11, 22], dtype=int32)
    """
    return jnp.add(tensor(x1), tensor(x2))


@symbolic_op
def subtract(x1, x2):
    """Subtracts `x2` from `x1` element-wise.

    Examples:
        >>> ops.subtract([5, 7], 2)
        Array([3, 5], dtype=int32)
    """
    return jnp.subtract(tensor(x1), tensor(x2))


@symbolic_op
def multiply(x1, x2):
    """Multiplies arguments element-wise.

    Examples:
        >>> ops.multiply([1., 2.], 3.)
        Array([3., 6.], dtype=float32)
    """
    return jnp.multiply(tensor(x1), tensor(x2))


@symbolic_op
def divide(x1, x2):
    """Divides `x1` by `x2` element-wise; integers give floats.

    Examples:
        >>> ops.divide([1, 3], 2)
        Array([0.5, 1.5], dtype=float32)
    """
    return jnp.true_divide(tensor(x1), tensor(x2))


@symbolic_op
def true_divide(x1, x2):
    """Alias of `divide`.

    Examples:
        >>> ops.true_divide(3, 2)
        Array(1.5, dtype=float32, weak_type=True)
    """
    return jnp.true_divide(tensor(x1), tensor(x2))


@symbolic_op
def divide_no_nan(x1, x2):
    """Divides element-wise, returning 0 where the denominator is 0.

    Examples:
        >>> ops.divide_no_nan([1., 2.], [0., 4.])
        Array([0. , 0.5], dtype=float32)
    """
    return _divide_no_nan(tensor(x1), tensor(x2))


@compiled()
def _divide_no_nan(x1, x2):
    zero = x2 == 0
    # Divide by a safe denominator so that the gradient is finite where x2 == 0, too.
    quotient = jnp.true_divide(x1, jnp.where(zero, jnp.ones_like(x2), x2))
    return jnp.where(zero, jnp.zeros_like(quotient), quotient)


@symbolic_op
def floor_divide(x1, x2):
    """The largest integer not greater than `x1 / x2`, element-wise.

    Examples:
        >>> ops.floor_divide([7, -7], 2)
        Array([ 3, -4], dtype=int32)
    """
    return jnp.floor_divide(tensor(x1), tensor(x2))


@symbolic_op
def mod(x1, x2):
    """The remainder of division, with the sign of the divisor (`x1 % x2`).

    Examples:
        >>> ops.mod([7, -7], 3)
        Array([1, 2], dtype=int32)
    """
    return jnp.mod(tensor(x1), tensor(x2))


@symbolic_op
def fmod(x1, x2):
    """The remainder of division, with the sign of the dividend (C's `fmod`).

    Examples:
        >>> ops.fmod([7, -7], 3)
        Array([ 1, -1], dtype=int32)
    """
    return jnp.fmod(tensor(x1), tensor(x2))


@symbolic_op
def power(x1, x2):
    """`x1` raised to the power `x2`, element-wise.

    Examples:
        >>> ops.power([2, 3], 2)
        Array([4, 9], dtype=int32)
    """
    return jnp.power(tensor(x1), tensor(x2))


@symbolic_op
def negative(x):
    """Numerical negative, element-wise.

    Examples:
        >>> ops.negative([1, -2])
        Array([-1,  2], dtype=int32)
    """
    return jnp.negative(tensor(x))


@symbolic_op
def reciprocal(x):
    """`1 / x`, element-wise.

    Examples:
        >>> ops.reciprocal([2., 4.])
        Array([0.5 , 0.25], dtype=float32)
    """
    return jnp.reciprocal(tensor(x))


@symbolic_op
def square(x):
    """`x * x`, element-wise (booleans become int32).

    Examples:
        >>> ops.square([2, -3])
        Array([4, 9], dtype=int32)
    """
    x = tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.square(x)


@symbolic_op
def sqrt(x):
    """Non-negative square root, element-wise.

    Examples:
        >>> ops.sqrt([4, 9])
        Array([2., 3.], dtype=float32)
    """
    return jnp.sqrt(float_tensor(x))


@symbolic_op
def cbrt(x):
    """Cube root, element-wise.

    Examples:
        >>> ops.cbrt([8., 27.])
        Array([2., 3.], dtype=float32)
    """
    return jnp.cbrt(float_tensor(x))


@symbolic_op
def absolute(x):
    """Absolute value, element-wise.

    Examples:
        >>> ops.absolute([-1, 2])
        Array([1, 2], dtype=int32)
    """
    return jnp.absolute(tensor(x))


@symbolic_op
def abs(x):
    """Absolute value, element-wise (alias of `absolute`).

    Examples:
        >>> ops.abs([-1.5, 2.])
        Array([1.5, 2. ], dtype=float32)
    """
    return jnp.absolute(tensor(x))


@symbolic_op
def fabs(x):
    """Absolute value as a float, element-wise.

    Examples:
        >>> ops.fabs([-1, 2])
        Array([1., 2.], dtype=float32)
    """
    return jnp.fabs(float_tensor(x))


@symbolic_op
def sign(x):
    """-1, 0 or 1 by the sign of each element.

    Examples:
        >>> ops.sign([-3, 0, 2])
        Array([-1,  0,  1], dtype=int32)
    """
    return jnp.sign(tensor(x))


@symbolic_op
def maximum(x1, x2):
    """Element-wise maximum (NaN wins).

    Examples:
        >>> ops.maximum([1, 5], [3, 2])
        Array([3, 5], dtype=int32)
    """
    return jnp.maximum(tensor(x1), tensor(x2))


@symbolic_op
def minimum(x1, x2):
    """Element-wise minimum (NaN wins).

    Examples:
        >>> ops.minimum([1, 5], [3, 2])
        Array([1, 2], dtype=int32)
    """
    return jnp.minimum(tensor(x1), tensor(x2))


@symbolic_op
def fmax(x1, x2):
    """Element-wise maximum that ignores NaN.

    Examples:
        >>> ops.fmax([1., float("nan")], [0., 2.])
        Array([1., 2.], dtype=float32)
    """
    return jnp.fmax(tensor(x1), tensor(x2))


@symbolic_op
def fmin(x1, x2):
    """Element-wise minimum that ignores NaN.

    Examples:
        >>> ops.fmin([1., float("nan")], [0., 2.])
        Array([0., 2.], dtype=float32)
    """
    return jnp.fmin(tensor(x1), tensor(x2))


@symbolic_op
def clip(x, x_min, x_max):
    """Limits values to `[x_min, x_max]` (booleans become int32).

    Examples:
        >>> ops.clip([-2, 0, 5], -1, 3)
        Array([-1,  0,  3], dtype=int32)
    """
    x = tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, tensor(x_min), tensor(x_max))


@symbolic_op
def gcd(x1, x2):
    """Greatest common divisor of integers, element-wise.

    Examples:
        >>> ops.gcd([12, 18], 8)
        Array([4, 2], dtype=int32)
    """
    return jnp.gcd(tensor(x1), tensor(x2))


@symbolic_op
def lcm(x1, x2):
    """Least common multiple of integers, element-wise.

    Examples:
        >>> ops.lcm([4, 6], 3)
        Array([12,  6], dtype=int32)
    """
    return jnp.lcm(tensor(x1), tensor(x2))


@symbolic_op
def ldexp(x1, x2):
    """`x1 * 2**x2`, element-wise; `x2` must be integers.

    Examples:
        >>> ops.ldexp([1., 3.], [2, 1])
        Array([4., 6.], dtype=float32)
    """
    x1, x2 = tensor(x1), tensor(x2)
    if not jnp.issubdtype(x2.dtype, jnp.integer):
        raise TypeError(
            f"ldexp needs an integer exponent x2. Received: x2 of dtype {x2.dtype}. "
            "Cast it first: ops.cast(x2, 'int32').")
    return jnp.ldexp(float_tensor(x1), x2)


@symbolic_op
def heaviside(x1, x2):
    """Heaviside step: 0 where `x1 < 0`, `x2` where `x1 == 0`, 1 where `x1 > 0`.

    Examples:
        >>> ops.heaviside([-1., 0., 2.], 0.5)
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    x1, x2 = floats(x1, x2)
    return jnp.heaviside(x1, x2)


@symbolic_op
def nextafter(x1, x2):
    """The next representable float after `x1` in the direction of `x2`.

    Examples:
        >>> bool(ops.nextafter(1., 2.) > 1.)
        True
    """
    x1, x2 = floats(x1, x2)
    return jnp.nextafter(x1, x2)


@symbolic_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN and infinities with finite numbers.

    Examples:
        >>> ops.nan_to_num([float("nan"), 1.], nan=-1.)
        Array([-1.,  1.], dtype=float32)
    """
    return jnp.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


# ------------------------------------------------------------------------------- exp and log


@symbolic_op
def exp(x):
    """Exponential, element-wise.

    Examples:
        >>> ops.exp([0., 1.])
        Array([1.       , 2.7182817], dtype=float32)
    """
    return jnp.exp(float_tensor(x))


@symbolic_op
def exp2(x):
    """`2**x`, element-wise.

    Examples:
        >>> ops.exp2([1, 3])
        Array([2., 8.], dtype=float32)
    """
    return jnp.exp2(float_tensor(x))


@symbolic_op
def expm1(x):
    """`exp(x) - 1`, accurate for small `x`.

    Examples:
        >>> ops.expm1([0.])
        Array([0.], dtype=float32)
    """
    return jnp.expm1(float_tensor(x))


@symbolic_op
def log(x):
    """Natural logarithm, element-wise.

    Examples:
        >>> ops.log([1., 1.])
        Array([0., 0.], dtype=float32)
    """
    return jnp.log(float_tensor(x))


@symbolic_op
def log2(x):
    """Base-2 logarithm, element-wise.

    Examples:
        >>> ops.log2([1, 8])
        Array([0., 3.], dtype=float32)
    """
    return jnp.log2(float_tensor(x))


@symbolic_op
def log10(x):
    """Base-10 logarithm, element-wise.

    Examples:
        >>> ops.log10([1, 100])
        Array([0., 2.], dtype=float32)
    """
    return jnp.log10(float_tensor(x))


@symbolic_op
def log1p(x):
    """`log(1 + x)`, accurate for small `x`.

    Examples:
        >>> ops.log1p([0.])
        Array([0.], dtype=float32)
    """
    return jnp.log1p(float_tensor(x))


@symbolic_op
def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))`, computed stably.

    Examples:
        >>> ops.logaddexp(0., 0.)
        Array(0.6931472, dtype=float32)
    """
    x1, x2 = floats(x1, x2)
    return jnp.logaddexp(x1, x2)


@symbolic_op
def logaddexp2(x1, x2):
    """`log2(2**x1 + 2**x2)`, computed stably.

    Examples:
        >>> ops.logaddexp2(1., 1.)
        Array(2., dtype=float32)
    """
    x1, x2 = floats(x1, x2)
    return jnp.logaddexp2(x1, x2)


# ------------------------------------------------------------------------------- rounding


@symbolic_op
def floor(x):
    """Rounds down, element-wise; the result is a float.

    Examples:
        >>> ops.floor([1.7, -1.2])
        Array([ 1., -2.], dtype=float32)
    """
    return jnp.floor(float_tensor(x))


@symbolic_op
def ceil(x):
    """Rounds up, element-wise; the result is a float.

    Examples:
        >>> ops.ceil([1.2, -1.7])
        Array([ 2., -1.], dtype=float32)
    """
    return jnp.ceil(float_tensor(x))


@symbolic_op
def trunc(x):
    """Rounds towards zero, element-wise; integers pass unchanged.

    Examples:
        >>> ops.trunc([1.7, -1.7])
        Array([ 1., -1.], dtype=float32)
    """
    x = tensor(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return jnp.trunc(x)


@symbolic_op
def round(x, decimals=0):
    """Rounds half to even, to `decimals` decimal places.

    Examples:
        >>> ops.round([0.5, 1.5, 2.26], decimals=0)
        Array([0., 2., 2.], dtype=float32)
        >>> ops.round([149, 151], decimals=-2)
        Array([100, 200], dtype=int32)
    """
    x = tensor(x)
    if decimals < 0 and not jnp.issubdtype(x.dtype, jnp.inexact):
        # jnp cannot round integers to tens; round in float and come back.
        factor = 10 ** (-decimals)
        rounded = jnp.round(x.astype(config.floatx()) / factor) * factor
        return rounded.astype(x.dtype)
    return jnp.round(x, decimals=decimals)


# ------------------------------------------------------------------------------- complex numbers


@symbolic_op
def real(x):
    """The real part, element-wise.

    Examples:
        >>> ops.real(ops.convert_to_tensor([1 + 2j]))
        Array([1.], dtype=float32)
    """
    return jnp.real(tensor(x))


@symbolic_op
def imag(x):
    """The imaginary part, element-wise.

    Examples:
        >>> ops.imag(ops.convert_to_tensor([1 + 2j]))
        Array([2.], dtype=float32)
    """
    return jnp.imag(tensor(x))


@symbolic_op
def conjugate(x):
    """The complex conjugate, element-wise.

    Examples:
        >>> ops.conjugate(ops.convert_to_tensor([1 + 2j]))
        Array([1.-2.j], dtype=complex64)
    """
    return jnp.conjugate(tensor(x))


@symbolic_op
def conj(x):
    """Alias of `conjugate`.

    Examples:
        >>> ops.conj(ops.convert_to_tensor([1 - 1j]))
        Array([1.+1.j], dtype=complex64)
    """
    return jnp.conjugate(tensor(x))


@symbolic_op
def angle(x):
    """The argument (angle) of complex numbers, in radians.

    Examples:
        >>> ops.angle(ops.convert_to_tensor([1j]))
        Array([1.5707964], dtype=float32)
    """
    return jnp.angle(float_tensor(x))


@symbolic_op
def polar(abs_, angle):
    """The complex number `abs_ * (cos(angle) + i sin(angle))`, element-wise.

    Examples:
        >>> ops.polar(2., 0.)
        Array(2.+0.j, dtype=complex64)
    """
    abs_, angle = floats(abs_, angle)
    return jax.lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))


# ------------------------------------------------------------------------------- vectorizing


@symbolic_op
def vectorize(pyfunc, *, excluded=None, signature=None):
    """Turns a function on scalars (or core shapes, by `signature`) into one on arrays.

    Examples:
        >>> vsum = ops.vectorize(lambda a, b: a + b)
        >>> vsum(ops.convert_to_tensor([1, 2]), ops.convert_to_tensor([3, 4]))
        Array([4, 6], dtype=int32)
    """
    return jnp.vectorize(pyfunc, excluded=frozenset() if excluded is None else excluded,
                         signature=signature)
