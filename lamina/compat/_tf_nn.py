"""TensorFlow's `tf.nn.*`: activations, moments, cross-entropies, dropout, convolution, pooling.

Convolution and pooling take TF's layouts: inputs channels-last (`NHWC`) unless `data_format`
says `NCHW`, filters `[height, width, in_channels, out_channels]`, and TF's "SAME" padding
(the extra pixel, when the total is odd, goes after).
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina import random as _random
from lamina.compat._tf_core import as_array, as_float, static_axes, static_shape, unwrap

__all__ = [
    "avg_pool", "avg_pool2d", "batch_normalization", "bias_add", "conv1d", "conv2d", "dropout",
    "elu", "embedding_lookup", "gelu", "l2_loss", "leaky_relu", "max_pool", "max_pool2d",
    "moments", "relu", "relu6", "selu", "sigmoid_cross_entropy_with_logits", "silu",
    "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits", "swish",
]


# ----------------------------------------------------------------------------- activations
def relu(features, name=None):
    """`tf.nn.relu`: max(x, 0).

    Examples:
        >>> tf.nn.relu([-1.0, 2.0])
        Array([0., 2.], dtype=float32)
    """
    return jax.nn.relu(as_array(features))


def relu6(features, name=None):
    """`tf.nn.relu6`: min(max(x, 0), 6).

    Examples:
        >>> tf.nn.relu6([-1.0, 3.0, 8.0])
        Array([0., 3., 6.], dtype=float32)
    """
    return jax.nn.relu6(as_array(features))


def elu(features, name=None):
    """`tf.nn.elu`: x if x > 0 else exp(x) - 1.

    Examples:
        >>> tf.nn.elu([-1.0, 2.0])
        Array([-0.63212055,  2.        ], dtype=float32)
    """
    return jax.nn.elu(as_float(features))


def selu(features, name=None):
    """`tf.nn.selu`: scaled ELU with the self-normalizing constants.

    Examples:
        >>> tf.nn.selu([-1.0, 1.0])
        Array([-1.1113307,  1.050701 ], dtype=float32)
    """
    return jax.nn.selu(as_float(features))


def gelu(features, approximate=False, name=None):
    """`tf.nn.gelu`: exact (erf-based) by default, as in TF; JAX defaults to the tanh form.

    Examples:
        >>> tf.nn.gelu([1.0]), tf.nn.gelu([1.0], approximate=True)
        (Array([0.8413447], dtype=float32), Array([0.841192], dtype=float32))
    """
    return jax.nn.gelu(as_float(features), approximate=bool(approximate))


def swish(features, beta=1.0):
    """`tf.nn.swish` / `tf.nn.silu`: x * sigmoid(beta * x).

    Examples:
        >>> tf.nn.swish([0.0, 2.0]), tf.nn.silu is tf.nn.swish
        (Array([0.      , 1.761594], dtype=float32), True)
    """
    x = as_float(features)
    return x * jax.nn.sigmoid(beta * x)


silu = swish


def leaky_relu(features, alpha=0.2, name=None):
    """`tf.nn.leaky_relu`: TF's default slope is 0.2 (JAX's is 0.01).

    Examples:
        >>> tf.nn.leaky_relu([-10.0, 10.0])
        Array([-2., 10.], dtype=float32)
    """
    return jax.nn.leaky_relu(as_float(features), negative_slope=alpha)


# ----------------------------------------------------------------------------- statistics
def moments(x, axes, shift=None, keepdims=False, name=None):
    """`tf.nn.moments`: the mean and (population) variance of `x` over `axes`.

    Examples:
        >>> mean, variance = tf.nn.moments(tf.constant([[1.0, 3.0]]), axes=-1, keepdims=True)
    """
    x = as_array(x)
    axes = static_axes(axes, "tf.nn.moments", "axes")
    # Half-precision inputs are reduced in float32, as TF does, to keep the variance accurate.
    work = x.astype(jnp.float32) if x.dtype in (jnp.float16, jnp.bfloat16) else as_float(x)
    mean = jnp.mean(work, axis=axes, keepdims=True)
    variance = jnp.mean(jnp.square(work - jax.lax.stop_gradient(mean)), axis=axes,
                        keepdims=True)
    if not keepdims:
        mean = jnp.squeeze(mean, axes)
        variance = jnp.squeeze(variance, axes)
    out_dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else work.dtype
    return mean.astype(out_dtype), variance.astype(out_dtype)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """`tf.nn.batch_normalization`: scale * (x - mean) / sqrt(variance + eps) + offset.

    Examples:
        >>> x = tf.constant([[1.0, 2.0], [3.0, 6.0]])
        >>> mean, variance = tf.nn.moments(x, axes=[0])
        >>> tf.nn.batch_normalization(x, mean, variance, offset=10.0, scale=2.0,
        ...                           variance_epsilon=0.0)
        Array([[ 8.,  8.],
               [12., 12.]], dtype=float32)
    """
    x = as_array(x)

    def aligned(value):
        # Broadcasting as NumPy does, but spelled out, so strict rank promotion accepts it.
        value = as_array(value)
        return value.reshape((1,) * (x.ndim - value.ndim) + value.shape)

    inv = jax.lax.rsqrt(aligned(as_float(variance)) + variance_epsilon)
    if scale is not None:
        inv = inv * aligned(scale)
    shift = -aligned(mean) * inv
    if offset is not None:
        shift = shift + aligned(offset)
    return x * inv + shift


def l2_loss(t, name=None):
    """`tf.nn.l2_loss`: sum(t ** 2) / 2.

    Examples:
        >>> tf.nn.l2_loss([1.0, 2.0])  # (1 + 4) / 2
        Array(2.5, dtype=float32)
    """
    return jnp.sum(jnp.square(as_float(t))) / 2


# ----------------------------------------------------------------------------- cross-entropies
def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """`tf.nn.sigmoid_cross_entropy_with_logits`, elementwise and stable for large |logits|.

    Examples:
        >>> tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[100.0, 0.0])
        Array([0.       , 0.6931472], dtype=float32)
    """
    labels, logits = as_float(labels), as_float(logits)
    if labels.shape != logits.shape:
        raise ValueError(
            "tf.nn.sigmoid_cross_entropy_with_logits: labels and logits must have the same "
            f"shape. Received labels {tuple(labels.shape)} and logits {tuple(logits.shape)}.")
    return (jnp.maximum(logits, 0) - logits * labels
            + jnp.log1p(jnp.exp(-jnp.abs(logits))))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """`tf.nn.softmax_cross_entropy_with_logits`: labels are probabilities along `axis`.

    Examples:
        >>> tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
        Array([0.6931472], dtype=float32)
    """
    labels, logits = as_float(labels), as_float(logits)
    if labels.shape != logits.shape:
        raise ValueError(
            "tf.nn.softmax_cross_entropy_with_logits: labels and logits must have the same "
            f"shape. Received labels {tuple(labels.shape)} and logits {tuple(logits.shape)}. "
            "For integer class ids use tf.nn.sparse_softmax_cross_entropy_with_logits.")
    return -jnp.sum(labels * jax.nn.log_softmax(logits, axis=axis), axis=axis)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """`tf.nn.sparse_softmax_cross_entropy_with_logits`: labels are class ids (NaN if out of
    range, as on a TF GPU).

    Examples:
        >>> tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1], logits=[[0.0, 0.0]])
        Array([0.6931472], dtype=float32)
    """
    labels, logits = as_array(labels), as_float(logits)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            "tf.nn.sparse_softmax_cross_entropy_with_logits: labels must have the shape of "
            f"logits without its last axis. Received labels {tuple(labels.shape)} and logits "
            f"{tuple(logits.shape)}. For one-hot labels use "
            "tf.nn.softmax_cross_entropy_with_logits.")
    picked = jnp.take_along_axis(logits, labels.astype(jnp.int32)[..., None], axis=-1,
                                 mode="fill", fill_value=jnp.nan)
    return jax.nn.logsumexp(logits, axis=-1) - picked[..., 0]


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """`tf.nn.dropout`: zeroes entries with probability `rate`, scales the rest by 1/(1-rate).

    An int `seed` gives the same mask at every call (Keras 3's rule); leave it None for a
    fresh mask each call, reproducible after `tf.random.set_seed`.

    Examples:
        >>> y = tf.nn.dropout(tf.ones([1000]), rate=0.5, seed=1)
        >>> sorted(set(y.tolist()))  # kept entries are scaled by 1 / (1 - rate)
        [0.0, 2.0]
    """
    return _random.dropout(as_array(x), rate, noise_shape=noise_shape, seed=seed)


# ----------------------------------------------------------------------------- conv, pooling
_CHANNELS_LAST = {"NWC", "NHWC", "NDHWC"}
_CHANNELS_FIRST = {"NCW", "NCHW", "NCDHW"}


def _channels_last(data_format, api):
    if data_format is None or data_format in _CHANNELS_LAST or data_format == "channels_last":
        return True
    if data_format in _CHANNELS_FIRST or data_format == "channels_first":
        return False
    raise ValueError(
        f"{api}: data_format must be one of {sorted(_CHANNELS_LAST | _CHANNELS_FIRST)}. "
        f"Received: data_format={data_format!r}.")


def _spatial(value, n, channels_last, api, what):
    """TF's strides/ksize/dilations: an int, n values, or n + 2 values with 1 at batch and
    channels."""
    if value is None:
        return (1,) * n
    values = static_shape(value, api, what)
    if len(values) == 1:
        return values * n
    if len(values) == n:
        return values
    if len(values) == n + 2:
        return values[1:-1] if channels_last else values[2:]
    raise ValueError(f"{api}: {what} must be an int or have 1, {n} or {n + 2} entries. "
                     f"Received: {what}={value!r}.")


def _padding(padding, n, channels_last, api):
    """'SAME', 'VALID', or explicit [before, after] pairs for the n spatial axes."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(f"{api}: padding must be 'SAME', 'VALID' or a list of [before, "
                             f"after] pairs. Received: padding={padding!r}.")
        return padding.upper()
    pairs = [tuple(int(p) for p in pair) for pair in np.asarray(unwrap(padding)).tolist()]
    if len(pairs) == n + 2:
        pairs = pairs[1:-1] if channels_last else pairs[2:]
    if len(pairs) != n or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{api}: explicit padding needs one [before, after] pair per spatial "
                         f"axis ({n}), optionally with [0, 0] for batch and channels. Received: "
                         f"{padding!r}.")
    return pairs


def _check_rank(x, n, api, what="input"):
    if x.ndim != n + 2:
        raise ValueError(
            f"{api} expects a rank-{n + 2} {what} (batch, {n} spatial axes, channels). Received "
            f"shape {tuple(x.shape)}.")


def _conv(input, filters, strides, padding, data_format, dilations, n, api):
    x, w = as_array(input), as_array(filters)
    _check_rank(x, n, api)
    _check_rank(w, n, api, "filters tensor")
    last = _channels_last(data_format, api)
    in_channels = x.shape[-1] if last else x.shape[1]
    if in_channels % w.shape[-2]:
        raise ValueError(
            f"{api}: the filters expect {w.shape[-2]} input channels (filters shape "
            f"{tuple(w.shape)}), but the input has {in_channels} (shape {tuple(x.shape)}). "
            "Filters are [spatial..., in_channels, out_channels].")
    spatial = "DHW"[-n:]
    layout = ("N" + spatial + "C") if last else ("NC" + spatial)
    dtype = jnp.result_type(x, w)
    return jax.lax.conv_general_dilated(
        x.astype(dtype), w.astype(dtype),
        window_strides=_spatial(strides, n, last, api, "strides"),
        padding=_padding(padding, n, last, api),
        rhs_dilation=_spatial(dilations, n, last, api, "dilations"),
        dimension_numbers=(layout, spatial + "IO", layout),
        feature_group_count=in_channels // w.shape[-2])


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):
    """`tf.nn.conv1d`: input `[batch, width, channels]`, filters `[width, in, out]`.

    Examples:
        >>> x = tf.ones([1, 5, 2])                       # batch, width, channels
        >>> tf.nn.conv1d(x, tf.ones([3, 2, 4]), stride=1, padding="VALID").shape
        (1, 3, 4)
    """
    return _conv(input, filters, stride, padding, data_format, dilations, 1, "tf.nn.conv1d")


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """`tf.nn.conv2d`: input `[batch, height, width, channels]`, filters `[h, w, in, out]`.

    Examples:
        >>> x = tf.ones([1, 4, 4, 3])                    # batch, height, width, channels
        >>> tf.nn.conv2d(x, tf.ones([3, 3, 3, 8]), strides=1, padding="SAME").shape
        (1, 4, 4, 8)
    """
    return _conv(input, filters, strides, padding, data_format, dilations, 2, "tf.nn.conv2d")


def _pool(input, ksize, strides, padding, data_format, n, kind, api):
    x = as_array(input)
    n = x.ndim - 2 if n is None else n
    _check_rank(x, n, api)
    last = _channels_last(data_format, api)

    def full(spatial):
        return (1,) + spatial + (1,) if last else (1, 1) + spatial

    window = full(_spatial(ksize, n, last, api, "ksize"))
    steps = full(_spatial(strides, n, last, api, "strides"))
    pads = _padding(padding, n, last, api)
    if isinstance(pads, str):
        pads = jax.lax.padtype_to_pads(x.shape, window, steps, pads)
    else:
        pads = [(0, 0)] + pads + [(0, 0)] if last else [(0, 0), (0, 0)] + pads
    # Initial values are NumPy scalars: JAX recognizes a max or sum window (and can
    # differentiate it) only when the initial value is concrete, which a jnp array inside jit
    # is not.
    if kind == "max":
        lowest = -np.inf if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.iinfo(x.dtype).min
        return jax.lax.reduce_window(x, np.asarray(lowest, x.dtype), jax.lax.max, window,
                                     steps, pads)
    x = as_float(x)
    zero = np.asarray(0, x.dtype)
    total = jax.lax.reduce_window(x, zero, jax.lax.add, window, steps, pads)
    # TF averages over the pixels inside the input only, not over the padding.
    count = jax.lax.reduce_window(np.ones(x.shape, x.dtype), zero, jax.lax.add, window, steps,
                                  pads)
    return total / count


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """`tf.nn.max_pool2d`: the largest value in each `ksize` window (NHWC by default).

    Examples:
        >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
        >>> tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")[0, :, :, 0]
        Array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _pool(input, ksize, strides, padding, data_format, 2, "max", "tf.nn.max_pool2d")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """`tf.nn.avg_pool2d`: "SAME" padding averages over the real pixels only, as in TF.

    Examples:
        >>> x = tf.ones([1, 3, 3, 1])
        >>> tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME")[0, :, :, 0]  # pads not counted
        Array([[1., 1.],
               [1., 1.]], dtype=float32)
    """
    return _pool(input, ksize, strides, padding, data_format, 2, "avg", "tf.nn.avg_pool2d")


def max_pool(input, ksize, strides, padding, data_format=None, name=None):
    """`tf.nn.max_pool`: 1-D, 2-D or 3-D, from the input's rank.

    Examples:
        >>> tf.nn.max_pool(tf.ones([1, 6, 2]), ksize=2, strides=2, padding="VALID").shape
        (1, 3, 2)
    """
    return _pool(input, ksize, strides, padding, data_format, None, "max", "tf.nn.max_pool")


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):
    """`tf.nn.avg_pool`: 1-D, 2-D or 3-D, from the input's rank.

    Examples:
        >>> tf.nn.avg_pool(tf.ones([1, 4, 4, 4, 2]), ksize=2, strides=2, padding="VALID").shape
        (1, 2, 2, 2, 2)
    """
    return _pool(input, ksize, strides, padding, data_format, None, "avg", "tf.nn.avg_pool")


# ----------------------------------------------------------------------------- misc
def bias_add(value, bias, data_format=None, name=None):
    """`tf.nn.bias_add`: adds a 1-D bias along the channels axis (last, or 1 for NC...).

    Examples:
        >>> tf.nn.bias_add(tf.zeros([2, 3]), [1.0, 2.0, 3.0])
        Array([[1., 2., 3.],
               [1., 2., 3.]], dtype=float32)
    """
    x, b = as_array(value), as_array(bias)
    axis = 1 if isinstance(data_format, str) and data_format.startswith("NC") else x.ndim - 1
    if b.ndim != 1 or x.ndim < 2 or x.shape[axis] != b.shape[0]:
        raise ValueError(
            f"tf.nn.bias_add: bias must be 1-D with one entry per channel (axis {axis} of a "
            f"value of rank >= 2). Received value shape {tuple(x.shape)} and bias shape "
            f"{tuple(b.shape)}.")
    shape = [1] * x.ndim
    shape[axis] = b.shape[0]
    return x + b.reshape(shape)


def embedding_lookup(params, ids, max_norm=None, name=None):
    """`tf.nn.embedding_lookup`: rows of `params` at `ids`, clipped to `max_norm` if given.

    Examples:
        >>> table = tf.constant([[0.0, 0.0], [3.0, 4.0]])
        >>> tf.nn.embedding_lookup(table, [1, 0]), tf.nn.embedding_lookup(table, [1], max_norm=1.0)
        (Array([[3., 4.],
               [0., 0.]], dtype=float32), Array([[0.6, 0.8]], dtype=float32))
    """
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError(
                "tf.nn.embedding_lookup with a list of sharded params is not supported in "
                "lamina. Pass one table (tf.concat the shards along axis 0 first).")
        params = params[0]
    table = as_array(params)
    rows = jnp.take(table, as_array(ids), axis=0)
    if max_norm is None:
        return rows
    axes = tuple(range(rows.ndim - table.ndim + 1, rows.ndim))
    norms = jnp.sqrt(jnp.sum(jnp.square(rows), axis=axes, keepdims=True))
    return rows * jnp.minimum(1, max_norm / jnp.maximum(norms, 1e-30))
