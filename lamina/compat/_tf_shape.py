"""`tf.TensorShape`, `tf.TensorSpec`, and `tf.Tensor` for isinstance checks."""

import operator

import jax
import numpy as np

from lamina._runtime.variable import Variable
from lamina.compat._tf_dtypes import as_dtype, float32

__all__ = ["Tensor", "TensorShape", "TensorSpec", "is_tensor"]


def _dimension(value):
    if value is None:
        return None
    value = getattr(value, "value", value)  # TF 1's Dimension objects
    if value is None:
        return None
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(
            f"A TensorShape dimension must be an int or None. Received: {value!r} of type "
            f"{type(value).__name__}.") from None
    if value < 0:
        raise ValueError(
            f"A TensorShape dimension must be >= 0 (use None for an unknown size). "
            f"Received: {value}.")
    return value


class TensorShape:
    """`tf.TensorShape`: a shape that may have unknown (None) dimensions or an unknown rank.

    It indexes and iterates like a tuple and compares equal to tuples and lists.

    Examples:
        >>> shape = tf.TensorShape([None, 3])
        >>> shape.as_list()[:-1] + [10], shape.rank, shape[1]
        ([None, 10], 2, 3)
    """

    __slots__ = ("_dims",)

    def __init__(self, dims):
        if dims is None:
            self._dims = None
        elif isinstance(dims, TensorShape):
            self._dims = dims._dims
        elif isinstance(dims, (np.ndarray, jax.Array)) and dims.ndim == 0:
            self._dims = (_dimension(int(dims)),)
        else:
            try:
                items = iter(dims)
            except TypeError:
                items = iter((dims,))  # TF reads a single int as a 1-D shape
            self._dims = tuple(_dimension(d) for d in items)

    @property
    def rank(self):
        """The number of dimensions, or None if unknown."""
        return None if self._dims is None else len(self._dims)

    ndims = rank

    @property
    def dims(self):
        return None if self._dims is None else list(self._dims)

    def as_list(self):
        """The dimensions as a list of ints and Nones."""
        if self._dims is None:
            raise ValueError("as_list() is not defined on a TensorShape of unknown rank.")
        return list(self._dims)

    def num_elements(self):
        """The number of elements, or None unless every dimension is known."""
        if not self.is_fully_defined():
            return None
        return int(np.prod(self._dims, dtype=np.int64))

    def is_fully_defined(self):
        return self._dims is not None and all(d is not None for d in self._dims)

    def concatenate(self, other):
        """The shape with `other`'s dimensions appended."""
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(self._dims + other._dims)

    def is_compatible_with(self, other):
        """Whether some fully known shape matches both (None matches anything)."""
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return True
        return len(self._dims) == len(other._dims) and all(
            a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def merge_with(self, other):
        """The most specific shape compatible with both; raises if they conflict."""
        other = TensorShape(other)
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible.")
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        return TensorShape([a if a is not None else b for a, b in zip(self._dims, other._dims)])

    def __len__(self):
        if self._dims is None:
            raise ValueError("Cannot take the length of a TensorShape of unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a TensorShape of unknown rank.")
        return iter(self._dims)

    def __getitem__(self, key):
        if self._dims is None:
            return TensorShape(None) if isinstance(key, slice) else None
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        return self._dims[key]

    def __bool__(self):
        return self._dims is not None

    def __eq__(self, other):
        try:
            other = TensorShape(other)
        except (TypeError, ValueError):
            return NotImplemented
        return self._dims == other._dims

    def __hash__(self):
        return hash(self._dims)

    def __add__(self, other):
        return self.concatenate(other)

    def __radd__(self, other):
        return TensorShape(other).concatenate(self)

    def __repr__(self):
        if self._dims is None:
            return "TensorShape(None)"
        return f"TensorShape({list(self._dims)})"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        return str(self._dims)

    def __reduce__(self):
        return TensorShape, (self.dims,)


class TensorSpec:
    """`tf.TensorSpec`: a shape and dtype, as used in `tf.function(input_signature=...)`.

    lamina traces once per input shape anyway, so a signature is only checked for form; a spec
    still answers whether a value fits it (None matches any size).

    Examples:
        >>> spec = tf.TensorSpec([None, 3])
        >>> spec.is_compatible_with(tf.zeros([5, 3])), spec.is_compatible_with(tf.zeros([5, 4]))
        (True, False)
    """

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype=float32, name=None):
        self.shape = TensorShape(shape)
        self.dtype = as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, value):
        """Whether an array (or spec) fits this spec's dtype and shape."""
        return self.dtype == value.dtype and self.shape.is_compatible_with(value.shape)

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self.shape == other.shape
                and self.dtype == other.dtype and self.name == other.name)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"


class _TensorMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, jax.Array)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, jax.Array)


class Tensor(metaclass=_TensorMeta):
    """`tf.Tensor`, for `isinstance` checks only: JAX arrays (and tracers) are Tensors.

    Examples:
        >>> isinstance(tf.constant([1.0]), tf.Tensor)
        True
    """

    def __new__(cls, *args, **kwargs):
        raise TypeError(
            "tf.Tensor cannot be instantiated in lamina; it exists for isinstance checks. "
            "Create tensors with tf.constant(value) or tf.convert_to_tensor(value).")


def is_tensor(x):
    """`tf.is_tensor`: whether `x` is a JAX array or a lamina Variable (not a list or number).

    Examples:
        >>> tf.is_tensor(tf.constant(1.0)), tf.is_tensor(tf.Variable(1.0)), tf.is_tensor(1.0)
        (True, True, False)
    """
    return isinstance(x, (jax.Array, Variable))
