"""Trigonometric and hyperbolic functions, element-wise (angles in radians).

Integer and boolean inputs are cast to `keras.config.floatx()` first, as Keras 3 does.
"""

import jax.numpy as jnp

from lamina.ops._convert import float_tensor, floats
from lamina.ops._symbolic import symbolic_op


@symbolic_op
def sin(x):
    """Sine, element-wise (radians).

    Examples:
        >>> ops.sin([0.])
        Array([0.], dtype=float32)
    """
    return jnp.sin(float_tensor(x))


@symbolic_op
def cos(x):
    """Cosine, element-wise (radians).

    Examples:
        >>> ops.cos([0.])
        Array([1.], dtype=float32)
    """
    return jnp.cos(float_tensor(x))


@symbolic_op
def tan(x):
    """Tangent, element-wise (radians).

    Examples:
        >>> ops.tan([0.])
        Array([0.], dtype=float32)
    """
    return jnp.tan(float_tensor(x))


@symbolic_op
def arcsin(x):
    """Inverse sine, element-wise.

    Examples:
        >>> ops.arcsin([0.])
        Array([0.], dtype=float32)
    """
    return jnp.arcsin(float_tensor(x))


@symbolic_op
def arccos(x):
    """Inverse cosine, element-wise.

    Examples:
        >>> ops.arccos([1.])
        Array([0.], dtype=float32)
    """
    return jnp.arccos(float_tensor(x))


@symbolic_op
def arctan(x):
    """Inverse tangent, element-wise.

    Examples:
        >>> ops.arctan([0.])
        Array([0.], dtype=float32)
    """
    return jnp.arctan(float_tensor(x))


@symbolic_op
def arctan2(x1, x2):
    """The angle of the point `(x2, x1)`, in radians, element-wise.

    Examples:
        >>> ops.arctan2([0.], [1.])
        Array([0.], dtype=float32)
    """
    x1, x2 = floats(x1, x2)
    return jnp.arctan2(x1, x2)


@symbolic_op
def sinh(x):
    """Hyperbolic sine, element-wise.

    Examples:
        >>> ops.sinh([0.])
        Array([0.], dtype=float32)
    """
    return jnp.sinh(float_tensor(x))


@symbolic_op
def cosh(x):
    """Hyperbolic cosine, element-wise.

    Examples:
        >>> ops.cosh([0.])
        Array([1.], dtype=float32)
    """
    return jnp.cosh(float_tensor(x))


@symbolic_op
def tanh(x):
    """Hyperbolic tangent, element-wise.

    Examples:
        >>> ops.tanh([0.])
        Array([0.], dtype=float32)
    """
    return jnp.tanh(float_tensor(x))


@symbolic_op
def arcsinh(x):
    """Inverse hyperbolic sine, element-wise.

    Examples:
        >>> ops.arcsinh([0.])
        Array([0.], dtype=float32)
    """
    return jnp.arcsinh(float_tensor(x))


@symbolic_op
def arccosh(x):
    """Inverse hyperbolic cosine, element-wise.

    Examples:
        >>> ops.arccosh([1.])
        Array([0.], dtype=float32)
    """
    return jnp.arccosh(float_tensor(x))


@symbolic_op
def arctanh(x):
    """Inverse hyperbolic tangent, element-wise.

    Examples:
        >>> ops.arctanh([0.])
        Array([0.], dtype=float32)
    """
    return jnp.arctanh(float_tensor(x))


@symbolic_op
def hypot(x1, x2):
    """`sqrt(x1**2 + x2**2)`, element-wise.

    Examples:
        >>> ops.hypot([3.], [4.])
        Array([5.], dtype=float32)
    """
    x1, x2 = floats(x1, x2)
    return jnp.hypot(x1, x2)


@symbolic_op
def deg2rad(x):
    """Converts degrees to radians.

    Examples:
        >>> ops.deg2rad([180.])
        Array([3.1415927], dtype=float32)
    """
    return jnp.deg2rad(float_tensor(x))


@symbolic_op
def rad2deg(x):
    """Converts radians to degrees.

    Examples:
        >>> ops.rad2deg([0.])
        Array([0.], dtype=float32)
    """
    return jnp.rad2deg(float_tensor(x))


@symbolic_op
def sinc(x):
    """The normalized sinc function `sin(pi x) / (pi x)`.

    Examples:
        >>> ops.sinc([0.])
        Array([1.], dtype=float32)
    """
    return jnp.sinc(float_tensor(x))


@symbolic_op
def i0(x):
    """The modified Bessel function of the first kind, order 0.

    Examples:
        >>> ops.i0([0., 1.]).round(3)
        Array([1.   , 1.266], dtype=float32)
    """
    return jnp.i0(float_tensor(x))
