"""`keras.random`: random tensors with an optional seed.

`seed` may be None (draw from the global generator: fresh numbers at every call, compiled or
not, reproducible after `keras.utils.set_random_seed`), an int (the same numbers at every call,
as in Keras 3), or a `SeedGenerator` (a private stream).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry_2x32

from lamina._runtime.dtypes import standardize_dtype
from lamina._runtime.rng import SeedGenerator, draw_seed

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint",
    "shuffle", "truncated_normal", "uniform",
]


# Eager sampling compiles one program per flat size bucket, not one per shape: building a model
# with many weight shapes would otherwise compile a new sampler for each (seconds on CPU).
# JAX's partitionable threefry makes the first n values of a longer draw equal to a draw of n,
# so slicing a bucket gives exactly the numbers a per-shape draw would.
_MIN_BUCKET = 4096
_BUCKET_GROWTH = 16  # few buckets (so few compiles); the surplus draws are cheap


@functools.lru_cache(maxsize=None)
def _bucket_sampler(kind, size, dtype):
    def sample(key, a, b):
        if kind == "normal":
            return jax.random.normal(key, (size,), dtype=dtype) * b + a
        if kind == "uniform":
            return jax.random.uniform(key, (size,), dtype=dtype, minval=a, maxval=b)
        return jax.random.truncated_normal(key, -2.0, 2.0, (size,), dtype=dtype) * b + a
    return jax.jit(sample)


def _tracing():
    """Whether a JAX trace is active (then draws are staged into it, never bucketed)."""
    try:
        from jax._src.core import trace_state_clean
    except ImportError:  # a JAX without it: always take the direct path
        return True
    return not trace_state_clean()


def _is_concrete(*values):
    return not _tracing() and not any(isinstance(v, jax.core.Tracer) for v in values)


def _sample(kind, key, shape, dtype, a, b):
    """Draws eagerly through a size-bucketed program; traced callers get a direct draw."""
    size = int(np.prod(shape, dtype=np.int64))
    if not _is_concrete(key, a, b) or size == 0 or not all(
            isinstance(v, (int, float)) or np.ndim(v) == 0 for v in (a, b)):
        return None
    bucket = _MIN_BUCKET
    while bucket < size:
        bucket *= _BUCKET_GROWTH
    flat = _bucket_sampler(kind, bucket, dtype)(key, a, b)
    return jax.device_put(np.asarray(flat)[:size].reshape(shape))


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _float_dtype(dtype, api):
    dtype = standardize_dtype(dtype)
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise ValueError(
            f"keras.random.{api} draws floats, so dtype must be a float type. "
            f"Received: dtype={dtype!r}")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution.

    Examples:
        >>> lamina.random.normal((2, 3), seed=1).shape
        (2, 3)
    """
    dtype = _float_dtype(dtype, "normal")
    key = draw_seed(seed)
    eager = _sample("normal", key, _shape(shape), dtype, mean, stddev)
    if eager is not None:
        return eager
    sample = jax.random.normal(key, _shape(shape), dtype=dtype)
    return sample * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples uniformly from `[minval, maxval)`.

    Examples:
        >>> x = lamina.random.uniform((4,), minval=2.0, maxval=3.0, seed=0)
        >>> bool(((x >= 2.0) & (x < 3.0)).all())
        True
    """
    dtype = standardize_dtype(dtype)
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise ValueError(
            "keras.random.uniform draws floats; use keras.random.randint for integers. "
            f"Received: dtype={dtype!r}")
    key = draw_seed(seed)
    eager = _sample("uniform", key, _shape(shape), dtype, minval, maxval)
    if eager is not None:
        return eager
    return jax.random.uniform(key, _shape(shape), dtype=dtype, minval=minval, maxval=maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution cut at two standard deviations (resampled, as in Keras).

    Examples:
        >>> x = lamina.random.truncated_normal((1000,), seed=3)
        >>> bool((abs(x) <= 2.0).all())
        True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    key = draw_seed(seed)
    eager = _sample("truncated_normal", key, _shape(shape), dtype, mean, stddev)
    if eager is not None:
        return eager
    sample = jax.random.truncated_normal(key, -2.0, 2.0, _shape(shape), dtype=dtype)
    return sample * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Samples integers uniformly from `[minval, maxval)`.

    Examples:
        >>> x = lamina.random.randint((5,), 0, 3, seed=0)
        >>> bool(((x >= 0) & (x < 3)).all())
        True
    """
    dtype = standardize_dtype(dtype)
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.integer):
        raise ValueError(
            f"keras.random.randint draws integers, so dtype must be an integer type. "
            f"Received: dtype={dtype!r}")
    return jax.random.randint(draw_seed(seed), _shape(shape), minval, maxval, dtype=dtype)


def shuffle(x, axis=0, seed=None):
    """Shuffles `x` along `axis`.

    Examples:
        >>> sorted(lamina.random.shuffle(jnp.arange(4), seed=0).tolist())
        [0, 1, 2, 3]
    """
    return jax.random.permutation(draw_seed(seed), jnp.asarray(x), axis=axis,
                                  independent=False)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each entry with probability `rate` and scales the rest by `1 / (1 - rate)`.

    Examples:
        >>> y = lamina.random.dropout(jnp.ones((1000,)), 0.5, seed=0)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    inputs = jnp.asarray(inputs)
    if isinstance(rate, (int, float)) and not 0 <= rate < 1:
        raise ValueError(
            f"keras.random.dropout: rate must be in [0, 1). Received: rate={rate!r}")
    if noise_shape is None:
        noise_shape = inputs.shape
    else:
        noise_shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep_prob = 1.0 - rate
    mask = _keep_mask(draw_seed(seed), keep_prob, noise_shape)
    mask = jnp.broadcast_to(mask, inputs.shape)
    return jnp.where(mask, inputs / keep_prob, jnp.zeros_like(inputs))


def _keep_mask(key, keep_prob, shape):
    """True with probability `keep_prob` at each position of `shape`: a uniform float32 in
    [0, 1) below `keep_prob`, as `jax.random.bernoulli` draws, from threefry-2x32 bits of
    `key` (a uint32 `[2]`).

    The bits are one threefry hash per two positions (the counters 0..n-1 split in halves, as
    JAX's non-partitionable threefry lays them out), where `jax.random.bernoulli`'s
    partitionable threefry hashes once per position and folds the two words into one. Dropout
    draws several masks the size of the activations at every training step, and on CPU the
    hashing was most of their cost (2.3x less time per mask at the transformer benchmark's
    shapes). The masks are as random, and reproducible from the seed, but not the bits
    Keras 3 on JAX draws for the same seed."""
    size = int(np.prod(shape, dtype=np.int64))
    bits = threefry_2x32((key[0], key[1]), jax.lax.iota(jnp.uint32, size))
    # jax.random.uniform's float construction: 23 random mantissa bits under exponent 0.
    floats = jax.lax.bitcast_convert_type(
        (bits >> jnp.uint32(9)) | jnp.uint32(0x3F800000), jnp.float32) - jnp.float32(1.0)
    return (floats < keep_prob).reshape(shape)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws `num_samples` class indices per row of `logits` (shape `(batch, classes)`).

    Examples:
        >>> lamina.random.categorical(jnp.zeros((2, 3)), 4, seed=0).shape
        (2, 4)
    """
    logits = jnp.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(
            "keras.random.categorical expects logits of shape (batch_size, num_classes). "
            f"Received shape: {logits.shape}")
    samples = jax.random.categorical(
        draw_seed(seed), logits[..., None, :], axis=-1,
        shape=(logits.shape[0], int(num_samples)))
    return samples.astype(standardize_dtype(dtype))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a Gamma distribution with concentration `alpha`.

    Examples:
        >>> lamina.random.gamma((1000,), alpha=2.0, seed=1).mean().round(1)  # the mean is alpha
        Array(2., dtype=float32)
    """
    dtype = _float_dtype(dtype, "gamma")
    return jax.random.gamma(draw_seed(seed), alpha, shape=_shape(shape), dtype=dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from a binomial distribution (returned as floats, as in Keras).

    Examples:
        >>> draws = lamina.random.binomial((1000,), counts=10, probabilities=0.5, seed=1)
        >>> draws.dtype, bool(((draws >= 0) & (draws <= 10)).all())
        (dtype('float32'), True)
    """
    dtype = _float_dtype(dtype, "binomial")
    sample = jax.random.binomial(draw_seed(seed), counts, probabilities, shape=_shape(shape))
    return sample.astype(dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a Beta distribution.

    Examples:
        >>> x = lamina.random.beta((1000,), alpha=2.0, beta=2.0, seed=1)
        >>> bool(((x > 0) & (x < 1)).all()), x.mean().round(1)
        (True, Array(0.5, dtype=float32))
    """
    dtype = _float_dtype(dtype, "beta")
    return jax.random.beta(draw_seed(seed), alpha, beta, shape=_shape(shape), dtype=dtype)
