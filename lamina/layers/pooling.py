"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D.

Window pooling is one `lax.reduce_window` over the input in its own layout (the window and
strides are 1 on the batch and channel axes), so no transpose is needed for either
`data_format`. On CPU, max pooling over non-overlapping windows (the default) is a reshape and
a max instead, whose gradient is an elementwise select rather than `select_and_scatter`
(`_conv_kernels.py` says why). Average pooling with `padding="same"` divides each window's sum
by the number of real (unpadded) inputs in it, as Keras does; those counts depend only on
static shapes, so they are computed once while tracing and enter the program as a constant.
"""

import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from lamina.layers import _conv_kernels as kernels
from lamina.layers import _masking
from lamina.layers import _spatial_args as spatial
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def _same_counts(length, window, stride):
    """How many real inputs each output window covers along one axis under "same" padding."""
    outputs = -(-length // stride)
    before = max((outputs - 1) * stride + window - length, 0) // 2
    starts = np.arange(outputs) * stride - before
    return np.minimum(starts + window, length) - np.maximum(starts, 0)


class _Pooling(Layer):
    """Max or average pooling over `rank` spatial axes (`rank` and `mode` set by each class)."""

    rank = None
    mode = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        where = spatial.describe(self)
        self.pool_size = spatial.int_tuple(pool_size, self.rank, "pool_size", where)
        self.strides = self.pool_size if strides is None else spatial.int_tuple(
            strides, self.rank, "strides", where)
        self.padding = spatial.padding_mode(padding, where)
        self.data_format = spatial.data_format(data_format, where)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _full(self, values):
        """Spatial window values extended with 1 on the batch and channel axes."""
        if self.data_format == "channels_last":
            return (1, *values, 1)
        return (1, 1, *values)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # no silently empty output for small inputs
        window, strides = self._full(self.pool_size), self._full(self.strides)
        padding = self.padding.upper()
        if self.mode == "max":
            return kernels.max_pool(inputs, self.pool_size, self.strides, padding,
                                    channels_first=self.data_format == "channels_first")
        if not jnp.issubdtype(inputs.dtype, jnp.inexact):
            inputs = inputs.astype(self.compute_dtype)
        sums = lax.reduce_window(inputs, np.array(0, inputs.dtype), lax.add, window, strides,
                                 padding)
        if self.padding == "valid":
            return sums / math.prod(self.pool_size)
        sizes = spatial.spatial_dims(inputs.shape, self.data_format)
        counts = np.ones((1,) * self.rank)
        for axis, (n, k, s) in enumerate(zip(sizes, self.pool_size, self.strides)):
            shape = [1] * self.rank
            shape[axis] = -1
            counts = counts * _same_counts(n, k, s).reshape(shape)
        return sums / jnp.asarray(counts.reshape(self._full(counts.shape)), inputs.dtype)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{spatial.describe(self)} expects inputs of rank {self.rank + 2} (batch, "
                f"{self.rank} spatial axes, channels). Received: input shape {input_shape}.")
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(spatial.window_output_length(n, k, s, self.padding)
                       for n, k, s in zip(sizes, self.pool_size, self.strides))
        spatial.check_output_positive(output, input_shape, spatial.describe(self),
                                      f"the pool size {self.pool_size}")
        return spatial.with_spatial(input_shape, self.data_format, output)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling):
    """Max pooling over steps: the largest value of each window, per channel.

    Inputs are `(batch, steps, channels)` (or channels first). Arguments as for
    `MaxPooling2D`, with ints or 1-tuples.

    Examples:
        >>> MaxPooling1D(2)(jnp.arange(6.0).reshape(1, 6, 1))[0, :, 0].tolist()
        [1.0, 3.0, 5.0]
    """

    rank, mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max pooling over images: the largest value of each window, per channel.

    Inputs are `(batch, height, width, channels)` (or channels first). Windows of `pool_size`
    are `strides` apart (by default `pool_size`: no overlap). With `padding="valid"` only whole
    windows count, giving `floor((n - pool) / stride) + 1` outputs per axis; with `"same"`
    there are `ceil(n / stride)` outputs and windows running off the edge use only the real
    inputs.

    Args:
        pool_size: an int or a tuple of 2 ints.
        strides: an int, a tuple of 2 ints, or None for `pool_size`.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.

    Examples:
        >>> MaxPooling2D()(jnp.ones((1, 5, 5, 3))).shape
        (1, 2, 2, 3)
    """

    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class MaxPooling3D(_Pooling):
    """Max pooling over volumes `(batch, depth, height, width, channels)` (or channels
    first). Arguments as for `MaxPooling2D`, with 3 values per tuple.

    Examples:
        >>> MaxPooling3D(padding="same")(jnp.ones((1, 3, 3, 3, 2))).shape
        (1, 2, 2, 2, 2)
    """

    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over steps: the mean of each window, per channel.

    Arguments as for `AveragePooling2D`, with ints or 1-tuples; with `padding="same"` the
    mean excludes the padding.

    Examples:
        >>> AveragePooling1D(2, padding="same")(jnp.arange(3.0).reshape(1, 3, 1))[0, :, 0].tolist()
        [0.5, 2.0]
    """

    rank, mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class AveragePooling2D(_Pooling):
    """Average pooling over images: the mean of each window, per channel.

    Windows and output sizes as for `MaxPooling2D`. With `padding="same"`, a window that runs
    off the edge averages only the real inputs it covers (the padding is not counted), as
    in Keras and TensorFlow.

    Args:
        pool_size: an int or a tuple of 2 ints (required).
        strides: an int, a tuple of 2 ints, or None for `pool_size`.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.

    Examples:
        >>> AveragePooling2D(2)(jnp.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """

    rank, mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over volumes (padding excluded from the mean, as in 2D). Arguments as
    for `AveragePooling2D`, with 3 values per tuple.

    Examples:
        >>> AveragePooling3D(2)(jnp.ones((1, 4, 4, 4, 1))).shape
        (1, 2, 2, 2, 1)
    """

    rank, mode = 3, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format,
                         name=name, **kwargs)


class _GlobalPooling(Layer):
    """Reduces all spatial axes at once (`rank` and `mode` set by each class)."""

    rank = None
    mode = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = spatial.data_format(data_format, spatial.describe(self))
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs):
        reduce = jnp.max if self.mode == "max" else jnp.mean
        return reduce(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{spatial.describe(self)} expects inputs of rank {self.rank + 2} (batch, "
                f"{self.rank} spatial axes, channels). Received: input shape {input_shape}.")
        if self.keepdims:
            return spatial.with_spatial(input_shape, self.data_format, (1,) * self.rank)
        return (input_shape[0], input_shape[spatial.channel_axis(self.data_format)])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over all steps, per channel: `(batch, steps, channels)` -> `(batch, channels)`.

    With `keepdims=True` the steps axis stays, with size 1. Call with `mask=` (a
    `(batch, steps)` boolean array, True for real steps) to average over the real steps only.

    Args:
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.
        keepdims: whether to keep the reduced axes (with size 1).

    Examples:
        >>> GlobalAveragePooling1D()(jnp.ones((2, 5, 3))).shape
        (2, 3)
    """

    rank, mode = 1, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps_axis = 2 if self.data_format == "channels_first" else 1
        expected = (inputs.shape[0], inputs.shape[steps_axis])
        if not _masking.fits(tuple(jnp.shape(mask)), expected):
            raise ValueError(
                f"GlobalAveragePooling1D '{self.name}' received a mask of shape "
                f"{tuple(jnp.shape(mask))} for inputs of shape {tuple(inputs.shape)}: it "
                f"needs one of shape (batch, steps) = {expected}, True for the real steps.")
        steps = self._axes()
        mask = jnp.expand_dims(jnp.asarray(mask, bool),
                               2 if self.data_format == "channels_last" else 1)
        total = jnp.sum(jnp.where(mask, inputs, 0), axis=steps, keepdims=self.keepdims)
        count = jnp.sum(mask.astype(inputs.dtype), axis=steps, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width, per channel: `(batch, h, w, c)` -> `(batch, c)`
    (`(batch, 1, 1, c)` with `keepdims=True`). Arguments as for `GlobalAveragePooling1D`.

    Examples:
        >>> GlobalAveragePooling2D()(jnp.ones((2, 4, 4, 3))).shape
        (2, 3)
    """

    rank, mode = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean over depth, height and width, per channel. Arguments as for
    `GlobalAveragePooling1D`.

    Examples:
        >>> GlobalAveragePooling3D(keepdims=True)(jnp.ones((2, 2, 2, 2, 3))).shape
        (2, 1, 1, 1, 3)
    """

    rank, mode = 3, "average"


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over all steps, per channel: `(batch, steps, channels)` ->
    `(batch, channels)`. Arguments as for `GlobalAveragePooling1D` (no mask).

    Examples:
        >>> GlobalMaxPooling1D()(jnp.arange(6.0).reshape(1, 3, 2)).tolist()
        [[4.0, 5.0]]
    """

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over height and width, per channel. Arguments as for
    `GlobalAveragePooling1D` (no mask).

    Examples:
        >>> GlobalMaxPooling2D()(jnp.ones((2, 4, 4, 3))).shape
        (2, 3)
    """

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """The maximum over depth, height and width, per channel. Arguments as for
    `GlobalAveragePooling1D` (no mask).

    Examples:
        >>> GlobalMaxPooling3D()(jnp.ones((2, 2, 2, 2, 3))).shape
        (2, 3)
    """

    rank, mode = 3, "max"


__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
]
