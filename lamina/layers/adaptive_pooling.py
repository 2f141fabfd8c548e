"""Adaptive pooling layers: AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D.

An adaptive pooling layer is given the size of its output, not a window: each spatial axis of
length `L` is cut into `n` bins, bin `i` covering `[floor(i * L / n), ceil((i + 1) * L / n))`
(PyTorch's and Keras 3's rule), so inputs of any size pool to the same shape. The layers are
thin over `ops.adaptive_average_pool` / `ops.adaptive_max_pool`, which reduce one axis at a
time with a static bin matrix.
"""

import numbers

from lamina import ops
from lamina.layers import _spatial_args as spatial
from lamina.layers.layer import Layer


class _AdaptivePooling(Layer):
    """Pools `rank` spatial axes into `output_size` bins (`rank` and `_pool` set by each class)."""

    rank = None
    _axes_names = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = self._output_size(output_size)
        self.data_format = spatial.data_format(data_format, spatial.describe(self))

    def _output_size(self, value):
        def is_int(v):
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        if is_int(value):
            values = (int(value),) * self.rank
        elif isinstance(value, (tuple, list)) and len(value) == self.rank and all(
                is_int(v) for v in value):
            values = tuple(int(v) for v in value)
        else:
            # Keras raises TypeError here (ValueError for a 1D tuple of the wrong length).
            error = ValueError if self.rank == 1 and isinstance(value, (tuple, list)) \
                else TypeError
            raise error(
                f"{type(self).__name__}: output_size must be an integer or a tuple of "
                f"{self.rank} integers {self._axes_names}. Received: output_size={value!r}.")
        if any(v <= 0 for v in values):
            raise ValueError(
                f"{type(self).__name__}: every value of output_size must be positive. "
                f"Received: output_size={value!r}.")
        return values

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{spatial.describe(self)} expects inputs of rank {self.rank + 2} (batch, "
                f"{self.rank} spatial axes and channels). Received an input of shape "
                f"{tuple(input_shape)}.")

    def build(self, input_shape):
        self._check_rank(input_shape)
        self.built = True

    def call(self, inputs):
        return self._pool(inputs, output_size=self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class _AdaptiveAverage(_AdaptivePooling):
    _pool = staticmethod(ops.adaptive_average_pool)


class _AdaptiveMax(_AdaptivePooling):
    _pool = staticmethod(ops.adaptive_max_pool)


class AdaptiveAveragePooling1D(_AdaptiveAverage):
    """Average pooling of a sequence into exactly `output_size` steps, whatever its length.

    Args:
        output_size: an int, or a tuple of one int: the output length.
        data_format: `"channels_last"` (`(batch, steps, features)`, the default from
            `keras.config.image_data_format()`) or `"channels_first"`.

    Examples:
        >>> x = jnp.arange(6.0).reshape(1, 6, 1)
        >>> AdaptiveAveragePooling1D(3)(x)[0, :, 0].tolist()
        [0.5, 2.5, 4.5]
    """

    rank = 1
    _axes_names = "(length,)"


class AdaptiveAveragePooling2D(_AdaptiveAverage):
    """Average pooling of images into exactly `output_size` rows and columns, whatever the
    input's size (each bin averages the pixels that fall in it; bins may overlap by one).

    Args:
        output_size: an int, or a tuple `(height, width)`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`) or
            `"channels_first"`.

    Examples:
        >>> AdaptiveAveragePooling2D((2, 3))(jnp.ones((1, 7, 5, 4))).shape
        (1, 2, 3, 4)
    """

    rank = 2
    _axes_names = "(height, width)"


class AdaptiveAveragePooling3D(_AdaptiveAverage):
    """Average pooling of volumes into exactly `output_size` bins per spatial axis.

    Args:
        output_size: an int, or a tuple `(depth, height, width)`.
        data_format: `"channels_last"` (`(batch, depth, height, width, channels)`) or
            `"channels_first"`.

    Examples:
        >>> AdaptiveAveragePooling3D(2)(jnp.ones((1, 5, 4, 3, 2))).shape
        (1, 2, 2, 2, 2)
    """

    rank = 3
    _axes_names = "(depth, height, width)"


class AdaptiveMaxPooling1D(_AdaptiveMax):
    """Max pooling of a sequence into exactly `output_size` steps, whatever its length.

    Args:
        output_size: an int, or a tuple of one int: the output length.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> x = jnp.array([[[1.0], [5.0], [2.0], [0.0], [3.0]]])
        >>> AdaptiveMaxPooling1D(2)(x)[0, :, 0].tolist()
        [5.0, 3.0]
    """

    rank = 1
    _axes_names = "(length,)"


class AdaptiveMaxPooling2D(_AdaptiveMax):
    """Max pooling of images into exactly `output_size` rows and columns.

    Args:
        output_size: an int, or a tuple `(height, width)`.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> AdaptiveMaxPooling2D(4)(jnp.ones((2, 9, 9, 3))).shape
        (2, 4, 4, 3)
    """

    rank = 2
    _axes_names = "(height, width)"


class AdaptiveMaxPooling3D(_AdaptiveMax):
    """Max pooling of volumes into exactly `output_size` bins per spatial axis.

    Args:
        output_size: an int, or a tuple `(depth, height, width)`.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> AdaptiveMaxPooling3D((1, 2, 3), data_format="channels_first")(
        ...     jnp.ones((1, 2, 4, 4, 6))).shape
        (1, 2, 1, 2, 3)
    """

    rank = 3
    _axes_names = "(depth, height, width)"


__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]
