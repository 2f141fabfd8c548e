"""`tf.random.*` over `lamina.random`.

`seed=None` draws from lamina's global generator: fresh numbers at every call, compiled or
not, reproducible after `tf.random.set_seed`. An int `seed` gives the same numbers at every call
(Keras 3's rule, and what lets the op run inside a plain `jax.jit`); TF instead advances a
hidden per-op counter, which has no pure-function equivalent.
"""

from lamina import random as _random
from lamina._runtime.rng import set_random_seed
from lamina.compat._tf_core import as_array, static_int, static_shape
from lamina.compat._tf_dtypes import float32, int64, jax_dtype

__all__ = ["categorical", "normal", "set_seed", "shuffle", "truncated_normal", "uniform"]


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """`tf.random.normal` (float32 by default).

    Examples:
        >>> tf.random.normal([2, 3], mean=1.0, stddev=0.1).shape
        (2, 3)
        >>> bool((tf.random.normal([3], seed=7) == tf.random.normal([3], seed=7)).all())  # int seed
        True
    """
    dtype = jax_dtype(dtype)
    return _random.normal(static_shape(shape, "tf.random.normal"), mean=as_array(mean, dtype),
                          stddev=as_array(stddev, dtype), dtype=dtype.name, seed=seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """`tf.random.truncated_normal`: values beyond two standard deviations are redrawn.

    Examples:
        >>> bool(tf.reduce_all(tf.abs(tf.random.truncated_normal([1000])) <= 2.0))
        True
    """
    dtype = jax_dtype(dtype)
    return _random.truncated_normal(
        static_shape(shape, "tf.random.truncated_normal"), mean=as_array(mean, dtype),
        stddev=as_array(stddev, dtype), dtype=dtype.name, seed=seed)


def uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """`tf.random.uniform` on `[minval, maxval)`; `maxval` defaults to 1 for floats and is
    required for integer dtypes.

    Examples:
        >>> x = tf.random.uniform([1000], minval=-1.0, maxval=1.0)
        >>> bool(tf.reduce_all((x >= -1.0) & (x < 1.0)))
        True
        >>> tf.random.uniform([3], maxval=10, dtype=tf.int32).dtype  # integer dtypes need maxval
        dtype('int32')
    """
    shape = static_shape(shape, "tf.random.uniform")
    dtype = jax_dtype(dtype)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError(
                f"tf.random.uniform with an integer dtype ({dtype.name}) needs maxval, e.g. "
                "tf.random.uniform(shape, minval=0, maxval=10, dtype=tf.int32).")
        return _random.randint(shape, minval, maxval, dtype=dtype.name, seed=seed)
    maxval = 1.0 if maxval is None else maxval
    return _random.uniform(shape, minval=as_array(minval, dtype), maxval=as_array(maxval, dtype),
                           dtype=dtype.name, seed=seed)


def shuffle(value, seed=None, name=None):
    """`tf.random.shuffle`: permutes along the first axis.

    Examples:
        >>> sorted(tf.random.shuffle(tf.range(5)).tolist())
        [0, 1, 2, 3, 4]
    """
    return _random.shuffle(as_array(value), axis=0, seed=seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """`tf.random.categorical`: `num_samples` class ids per row of `[batch, classes]` logits.

    Examples:
        >>> tf.random.categorical([[0.0, 100.0]], num_samples=3)  # class 1 is far more likely
        Array([[1, 1, 1]], dtype=int32)
    """
    return _random.categorical(
        as_array(logits), static_int(num_samples, "num_samples", "tf.random.categorical"),
        dtype=jax_dtype(dtype, default=int64).name, seed=seed)


def set_seed(seed):
    """`tf.random.set_seed`: seeds lamina's global generator (and Python's and NumPy's).

    Examples:
        >>> tf.random.set_seed(42)
        >>> first = tf.random.normal([2])
        >>> tf.random.set_seed(42)
        >>> bool((tf.random.normal([2]) == first).all())
        True
    """
    set_random_seed(seed)
