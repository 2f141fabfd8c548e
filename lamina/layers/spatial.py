"""Layers that change spatial sizes without weights: ZeroPadding1D/2D/3D, Cropping1D/2D/3D
and UpSampling1D/2D/3D.

Each is a single `lax.pad`, slice, repeat or `jax.image.resize` on the input in its own layout,
so channels-first inputs need no transpose either.
"""

import jax
import jax.numpy as jnp

from lamina.layers import _spatial_args as spatial
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _spatial_axes(rank, fmt):
    return tuple(range(1, rank + 1)) if fmt == "channels_last" else tuple(range(2, rank + 2))


def _check_rank(layer, input_shape):
    input_shape = tuple(input_shape)
    if len(input_shape) != layer.rank + 2:
        raise ValueError(
            f"{spatial.describe(layer)} expects inputs of rank {layer.rank + 2} (batch, "
            f"{layer.rank} spatial axes, channels). Received: input shape {input_shape}.")
    return input_shape


class _ZeroPadding(Layer):
    """Pads the spatial axes with zeros (`rank` set by each class)."""

    rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = spatial.describe(self)
        self.data_format = spatial.data_format(data_format, where)
        if self.rank == 1:
            self.padding = spatial.int_tuple(padding, 2, "padding", where, allow_zero=True)
        else:
            self.padding = spatial.pair_tuples(padding, self.rank, "padding", where)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pairs(self):
        return (self.padding,) if self.rank == 1 else self.padding

    def call(self, inputs):
        pads = [(0, 0)] * inputs.ndim
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self._pairs()):
            pads[axis] = pair
        return jnp.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        input_shape = _check_rank(self, input_shape)
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(None if n is None else n + before + after
                       for n, (before, after) in zip(sizes, self._pairs()))
        return spatial.with_spatial(input_shape, self.data_format, output)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros at the start and end of the steps axis.

    Args:
        padding: an int (both ends) or a pair `(before, after)`.
        data_format: "channels_last" (`(batch, steps, channels)`) or "channels_first";
            None means `keras.config.image_data_format()`.

    Examples:
        >>> ZeroPadding1D((1, 2))(jnp.ones((1, 3, 2))).shape
        (1, 6, 2)
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros around images.

    Args:
        padding: an int (all sides), a pair `(rows, cols)` (symmetric per axis), or
            `((top, bottom), (left, right))`.
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.

    Examples:
        >>> ZeroPadding2D(((1, 0), (2, 2)))(jnp.ones((1, 3, 3, 1))).shape
        (1, 4, 7, 1)
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around volumes; `padding` as for `ZeroPadding2D`, with 3 entries.

    Examples:
        >>> ZeroPadding3D(1)(jnp.ones((1, 2, 2, 2, 1))).shape
        (1, 4, 4, 4, 1)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


class _Cropping(Layer):
    """Removes entries at the start and end of the spatial axes (`rank` set by each class)."""

    rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = spatial.describe(self)
        self.data_format = spatial.data_format(data_format, where)
        if self.rank == 1:
            self.cropping = spatial.int_tuple(cropping, 2, "cropping", where, allow_zero=True)
        else:
            self.cropping = spatial.pair_tuples(cropping, self.rank, "cropping", where)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pairs(self):
        return (self.cropping,) if self.rank == 1 else self.cropping

    def _output_sizes(self, input_shape):
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(None if n is None else n - before - after
                       for n, (before, after) in zip(sizes, self._pairs()))
        if any(n is not None and n <= 0 for n in output):
            raise ValueError(
                f"{spatial.describe(self)}: cropping {self.cropping} removes everything from "
                f"an input of shape {tuple(input_shape)}; each axis must keep at least one "
                "entry. Crop less, or check data_format.")
        return output

    def call(self, inputs):
        self._output_sizes(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(_spatial_axes(self.rank, self.data_format),
                                         self._pairs()):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        input_shape = _check_rank(self, input_shape)
        return spatial.with_spatial(input_shape, self.data_format,
                                    self._output_sizes(input_shape))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Removes steps from the start and end of sequences `(batch, steps, channels)`.

    Args:
        cropping: an int (both ends) or a pair `(start, end)`.

    Examples:
        >>> Cropping1D((1, 2))(jnp.ones((1, 6, 2))).shape
        (1, 3, 2)
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        # Keras's Cropping1D has no data_format: it always crops axis 1.
        super().__init__(cropping, data_format="channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders of images.

    Args:
        cropping: an int (all sides), a pair `(rows, cols)` (symmetric per axis), or
            `((top, bottom), (left, right))`.
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.

    Examples:
        >>> Cropping2D(((1, 0), (1, 1)))(jnp.ones((1, 4, 4, 3))).shape
        (1, 3, 2, 3)
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes entries at the borders of volumes; `cropping` as for `Cropping2D`, with 3
    entries.

    Examples:
        >>> Cropping3D(1)(jnp.ones((1, 4, 4, 4, 1))).shape
        (1, 2, 2, 2, 1)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


class _UpSampling(Layer):
    """Repeats entries along the spatial axes (`rank` set by each class)."""

    rank = None

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = spatial.describe(self)
        self.data_format = spatial.data_format(data_format, where)
        self.size = spatial.int_tuple(size, self.rank, "size", where)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _sizes(self):
        return self.size

    def call(self, inputs):
        for axis, factor in zip(_spatial_axes(self.rank, self.data_format), self._sizes()):
            if factor != 1:
                inputs = jnp.repeat(inputs, factor, axis=axis)
        return inputs

    def compute_output_shape(self, input_shape):
        input_shape = _check_rank(self, input_shape)
        sizes = spatial.spatial_dims(input_shape, self.data_format)
        output = tuple(None if n is None else n * f for n, f in zip(sizes, self._sizes()))
        return spatial.with_spatial(input_shape, self.data_format, output)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times: `(batch, steps, c)` -> `(batch, steps * size, c)`.

    Examples:
        >>> UpSampling1D(2)(jnp.array([[[1.0], [2.0]]]))[0, :, 0].tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(
                f"UpSampling1D: `size` must be an int (the repeat factor). Received: "
                f"size={size!r} of type {type(size).__name__}.")
        super().__init__(size, data_format="channels_last", **kwargs)
        self.size = size

    def _sizes(self):
        return (self.size,)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class UpSampling2D(_UpSampling):
    """Enlarges images by integer factors: `(batch, h, w, c)` -> `(batch, h * sh, w * sw, c)`.

    `interpolation="nearest"` repeats each pixel; "bilinear" (and "bicubic", "lanczos3",
    "lanczos5") interpolate with half-pixel centres, as `keras.ops.image.resize` does.

    Args:
        size: an int or a pair `(rows, cols)`, the factors.
        data_format: "channels_last" or "channels_first"; None means
            `keras.config.image_data_format()`.
        interpolation: "nearest", "bilinear", "bicubic", "lanczos3" or "lanczos5".

    Examples:
        >>> UpSampling2D(2, interpolation="bilinear")(jnp.ones((1, 3, 3, 2))).shape
        (1, 6, 6, 2)
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)
        normalized = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if normalized not in _INTERPOLATIONS:
            raise ValueError(
                f"{spatial.describe(self)}: `interpolation` must be one of {_INTERPOLATIONS}. "
                f"Received: interpolation={interpolation!r}.")
        self.interpolation = normalized

    def call(self, inputs):
        if self.interpolation == "nearest":
            return super().call(inputs)
        shape = list(inputs.shape)
        for axis, factor in zip(_spatial_axes(2, self.data_format), self.size):
            shape[axis] *= factor
        # Resizing leaves axes of unchanged size alone, so either layout works untransposed;
        # antialiasing only matters when shrinking.
        return jax.image.resize(inputs, shape, method=self.interpolation, antialias=False)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeats entries of volumes: each of depth, height and width by its factor in `size`
    (an int or 3 ints).

    Examples:
        >>> UpSampling3D(2)(jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 2, 4, 4, 3)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)


__all__ = [
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]
