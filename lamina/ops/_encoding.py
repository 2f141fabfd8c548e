"""Encoding integer labels as one-hot and multi-hot vectors."""

import jax
import jax.numpy as jnp

from lamina._runtime.dtypes import standardize_dtype
from lamina.ops._convert import compiled, tensor
from lamina.ops._symbolic import symbolic_op


def _labels(x, op, allow_float=False):
    x = tensor(x)
    if allow_float and jnp.issubdtype(x.dtype, jnp.floating):
        return x
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(
            f"ops.{op} takes integer class labels. Received: a tensor of dtype {x.dtype}. "
            "Cast the labels first: ops.cast(labels, 'int32').")
    return x


def _dense_only(sparse, op):
    if sparse:
        raise ValueError(
            f"lamina.ops.{op} produces dense tensors only (JAX arrays). Received: sparse=True. "
            "Call it with sparse=False (the default).")


@symbolic_op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Encodes integer labels as one-hot vectors of length `num_classes` along `axis`;
    labels outside `[0, num_classes)` give all zeros.

    Float labels are accepted, as Keras on JAX accepts them (labels loaded as floats are
    common): a whole number selects its class, and a fractional one matches no class, so
    its row is all zeros like a label out of range.

    Examples:
        >>> ops.one_hot([1, 0], 3)
        Array([[0., 1., 0.],
               [1., 0., 0.]], dtype=float32)
        >>> ops.one_hot(np.array([2.0, 0.0]), 3)
        Array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    _dense_only(sparse, "one_hot")
    x = _labels(x, "one_hot", allow_float=True)
    return jax.nn.one_hot(x, int(num_classes), axis=axis, dtype=standardize_dtype(dtype))


@symbolic_op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Encodes each row of integer labels as one vector with 1 at every label present.

    Examples:
        >>> ops.multi_hot([[0, 2], [1, 1]], num_classes=3)
        Array([[1., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"ops.multi_hot got unexpected arguments: {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("ops.multi_hot needs num_classes (the number of distinct labels).")
    _dense_only(sparse, "multi_hot")
    inputs = _labels(inputs, "multi_hot")
    return _multi_hot(inputs, int(num_classes), axis, standardize_dtype(dtype))


@compiled("num_classes", "axis", "dtype")
def _multi_hot(inputs, num_classes, axis, dtype):
    encoded = jax.nn.one_hot(inputs, num_classes, axis=axis, dtype=dtype)
    return jnp.max(encoded, axis=1 if inputs.ndim > 1 else 0)
