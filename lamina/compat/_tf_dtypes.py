"""TensorFlow's dtype objects (`tf.float32`, ...) and `tf.dtypes.as_dtype`.

A `DType` is a thin name over a NumPy dtype. It exposes `.dtype`, so `np.dtype(tf.float32)`,
`jnp.zeros(3, dtype=tf.float32)` and `x.dtype == tf.float32` all work without conversion.
"""

import builtins
import difflib

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "DType", "as_dtype", "bfloat16", "bool", "complex128", "complex64", "double", "float16",
    "float32", "float64", "half", "int16", "int32", "int64", "int8", "uint16", "uint32",
    "uint64", "uint8",
]


class DType:
    """`tf.DType`: a named element type; compares equal to its name and to NumPy dtypes.

    Examples:
        >>> tf.float32 == "float32", tf.float32.is_floating, tf.int32.max
        (True, True, 2147483647)
    """

    __slots__ = ("_name", "_dtype")

    def __init__(self, name):
        self._name = name
        self._dtype = jnp.dtype(name)

    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        """The NumPy dtype; lets `np.dtype(tf.float32)` and `jnp` functions accept a DType."""
        return self._dtype

    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type, as TF returns it (`np.float32`)."""
        return self._dtype.type

    @property
    def base_dtype(self):
        return self

    @property
    def real_dtype(self):
        if self.is_complex:
            return as_dtype(np.finfo(self._dtype).dtype)
        return self

    @property
    def is_floating(self):
        return builtins.bool(jnp.issubdtype(self._dtype, jnp.floating))

    @property
    def is_integer(self):
        return builtins.bool(jnp.issubdtype(self._dtype, jnp.integer))

    @property
    def is_unsigned(self):
        return builtins.bool(jnp.issubdtype(self._dtype, jnp.unsignedinteger))

    @property
    def is_complex(self):
        return builtins.bool(jnp.issubdtype(self._dtype, jnp.complexfloating))

    @property
    def is_bool(self):
        return self._dtype == np.bool_

    @property
    def size(self):
        """Bytes per element."""
        return self._dtype.itemsize

    @property
    def min(self):
        if self.is_bool:
            return False
        if self.is_integer:
            return int(jnp.iinfo(self._dtype).min)
        return float(jnp.finfo(self._dtype).min)

    @property
    def max(self):
        if self.is_bool:
            return True
        if self.is_integer:
            return int(jnp.iinfo(self._dtype).max)
        return float(jnp.finfo(self._dtype).max)

    @property
    def jax_dtype(self):
        """The dtype JAX will actually use (`int64` is `int32` unless 64-bit mode is on)."""
        return jax.dtypes.canonicalize_dtype(self._dtype)

    def __eq__(self, other):
        if isinstance(other, DType):
            return self._name == other._name
        try:
            return self._name == as_dtype(other)._name
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f"tf.{self._name}"

    def __str__(self):
        return f"<dtype: {self._name!r}>"

    def __reduce__(self):
        return as_dtype, (self._name,)


float16 = DType("float16")
bfloat16 = DType("bfloat16")
float32 = DType("float32")
float64 = DType("float64")
int8 = DType("int8")
int16 = DType("int16")
int32 = DType("int32")
int64 = DType("int64")
uint8 = DType("uint8")
uint16 = DType("uint16")
uint32 = DType("uint32")
uint64 = DType("uint64")
bool = DType("bool")  # noqa: A001 - TF's name; shadows the builtin only inside this module
complex64 = DType("complex64")
complex128 = DType("complex128")
half = float16
double = float64

_BY_NAME = {d.name: d for d in (
    float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
    uint64, bool, complex64, complex128)}
# TF's own spellings: "float" is its proto name for float32, unlike NumPy's float64.
_ALIASES = {"float": float32, "half": float16, "double": float64, "bool_": bool}
# TF maps Python's float to float32 and int to int64 (int64 becomes int32 in JAX unless x64 is on).
_PYTHON_TYPES = {float: float32, int: int64, builtins.bool: bool, complex: complex64}


def as_dtype(type_value):
    """`tf.dtypes.as_dtype`: turns a name, NumPy/JAX dtype, Python type or DType into a DType.

    Examples:
        >>> tf.dtypes.as_dtype("float32") is tf.float32
        True
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        found = _BY_NAME.get(type_value) or _ALIASES.get(type_value)
        if found is None:
            raise TypeError(_unknown_message(type_value))
        return found
    if isinstance(type_value, type) and type_value in _PYTHON_TYPES:
        return _PYTHON_TYPES[type_value]
    # Only dtype-like values convert: an array also has `.dtype`, but is not a dtype.
    if not isinstance(type_value, (type, np.dtype)):
        raise TypeError(_unknown_message(type_value))
    try:
        name = jnp.dtype(type_value).name
    except (TypeError, ValueError):
        raise TypeError(_unknown_message(type_value)) from None
    if name not in _BY_NAME:
        raise TypeError(_unknown_message(type_value))
    return _BY_NAME[name]


def _unknown_message(value):
    if isinstance(value, str) and value == "string":
        return ("tf.string has no JAX equivalent: lamina tensors hold numbers only. Keep text "
                "as Python strings or NumPy arrays and convert it to integer ids before it "
                "reaches a model.")
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, list(_BY_NAME) + list(_ALIASES), n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    return (f"Cannot convert {value!r} to a TensorFlow-style DType. Expected a DType such as "
            f"tf.float32, a name among {sorted(_BY_NAME)}, or a NumPy/JAX dtype.{hint}")


def jax_dtype(dtype, default=None):
    """The NumPy dtype JAX uses for a TF-style `dtype` argument (None gives `default`)."""
    if dtype is None:
        if default is None:
            return None
        dtype = default
    return as_dtype(dtype).jax_dtype
