"""`keras.backend`: the backend-level helpers Keras 3 still exposes: settings (also under
`keras.config`), dtype names and promotion, unique ids, and `clear_session`.

lamina has one backend, JAX: `backend()` is always `"jax"`, and `result_type` follows what
Keras 3 does on JAX (64-bit results come back as 32-bit ones).
"""

from lamina._runtime.config import backend as backend
from lamina._runtime.config import epsilon as epsilon
from lamina._runtime.config import floatx as floatx
from lamina._runtime.config import image_data_format as image_data_format
from lamina._runtime.config import set_epsilon as set_epsilon
from lamina._runtime.config import set_floatx as set_floatx
from lamina._runtime.config import set_image_data_format as set_image_data_format
from lamina._runtime.dtypes import standardize_dtype as standardize_dtype
from lamina._runtime.naming import get_uid as get_uid
from lamina._runtime.promotion import result_type as result_type
from lamina._runtime.session import clear_session as clear_session
from lamina.layers.symbolic import KerasTensor as _KerasTensor

__all__ = [
    "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
    "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
    "set_floatx", "set_image_data_format", "standardize_dtype",
]


def _standardized(dtype, function):
    try:
        return standardize_dtype(dtype)
    except ValueError as error:
        raise ValueError(f"keras.backend.{function}: `dtype` is not a dtype. {error}") from None


def is_float_dtype(dtype):
    """Whether `dtype` is a floating-point type (float8 to float64, bfloat16 included;
    `None` means floatx, so it is one).

    Examples:
        >>> lamina.backend.is_float_dtype("bfloat16"), lamina.backend.is_float_dtype("int8")
        (True, False)
        >>> lamina.backend.is_float_dtype(np.float64), lamina.backend.is_float_dtype("complex64")
        (True, False)
    """
    return _standardized(dtype, "is_float_dtype").startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    """Whether `dtype` is a signed or unsigned integer type (`bool` is not).

    Examples:
        >>> lamina.backend.is_int_dtype("uint8"), lamina.backend.is_int_dtype(int)
        (True, True)
        >>> lamina.backend.is_int_dtype("bool")
        False
    """
    return _standardized(dtype, "is_int_dtype").startswith(("int", "uint"))


def is_keras_tensor(x):
    """Whether `x` is a symbolic tensor of the functional API (a `keras.Input` or a layer's
    output on one): it has a shape and a dtype but no values.

    Examples:
        >>> inputs = lamina.Input((3,))
        >>> lamina.backend.is_keras_tensor(inputs)
        True
        >>> lamina.backend.is_keras_tensor(lamina.layers.Dense(2)(inputs))
        True
        >>> lamina.backend.is_keras_tensor(np.ones((1, 3)))
        False
    """
    return isinstance(x, _KerasTensor)
