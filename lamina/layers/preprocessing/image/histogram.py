"""Histogram equalization layers: `Equalization` (one histogram per channel) and
`ContrastLimitedAdaptiveHistogramEqualization` (CLAHE: one clipped histogram per tile, blended
between tiles). Both are deterministic and compute Keras 3's numbers.
"""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from lamina.layers.preprocessing.image.color import (
    _is_number,
    _PassThroughTargets,
    check_value_range,
)

__all__ = ["ContrastLimitedAdaptiveHistogramEqualization", "Equalization"]


def _rescale(values, source, target):
    """Maps `values` linearly from the `source` pair to the `target` pair (Python floats for
    the coefficients, as Keras computes them)."""
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return values * scale + (target[0] - source[0] * scale)


@keras_export("keras.layers.Equalization")
class Equalization(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Equalizes the histogram of each channel during training, spreading its pixel values
    evenly over `value_range`.

    As in Keras 3, one histogram of `bins` bins is taken per channel over the whole batch
    (every image of the batch shares the mapping), and a channel with a single occupied bin
    is left as it is.

    Args:
        value_range: the images' `(min, max)`.
        bins: the number of histogram bins (256: one per 8-bit level).

    Examples:
        >>> images = np.array([[[[0.0], [10.0]], [[20.0], [30.0]]]])
        >>> Equalization()(images)[0, :, :, 0].tolist()
        [[0.0, 85.0], [170.0, 255.0]]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
            raise ValueError(
                f"{self._describe()}: `bins` should be an int of at least 2. Received: "
                f"bins={bins!r}")
        self.bins = bins
        self.value_range = check_value_range(self, value_range)

    def _equalize(self, channel):
        """One channel of the whole batch, on the [0, 255] scale, equalized."""
        bins = self.bins
        channel = channel.astype(jnp.float32)
        index = jnp.clip((channel * (bins - 1) / 255.0).astype(jnp.int32), 0, bins - 1)
        hist = jnp.bincount(index.reshape(-1), length=bins)
        cdf = jnp.cumsum(hist)
        cdf_min = cdf[jnp.argmax(cdf > 0)]
        spread = cdf[-1] - cdf_min
        spread = jnp.where(spread == 0, 1, spread)
        table = jnp.clip(jnp.round((cdf - cdf_min) * 255 / spread), 0, 255)
        lookup = jnp.clip(channel / 255.0 * (bins - 1), 0, bins - 1).astype(jnp.int32)
        equalized = jnp.take(table, lookup)
        return jnp.where(jnp.count_nonzero(hist) <= 1, channel, equalized)

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        axis = -1 if self.data_format == "channels_last" else -3
        full = (0, 255)
        channels = []
        for i in range(images.shape[axis]):
            channel = _rescale(jnp.take(images, i, axis=axis), self.value_range, full)
            channels.append(_rescale(self._equalize(channel), full, self.value_range))
        return jnp.stack(channels, axis=axis).astype(self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


@keras_export("keras.layers.ContrastLimitedAdaptiveHistogramEqualization")
class ContrastLimitedAdaptiveHistogramEqualization(_PassThroughTargets,
                                                   BaseImagePreprocessingLayer):
    """Contrast Limited Adaptive Histogram Equalization (CLAHE): equalizes each tile of a
    `tile_grid_size` grid with its own histogram, clipped at `clip_limit` times the mean bin
    count (the excess spread over all bins), and blends the mappings of the four nearest
    tiles bilinearly. Deterministic, and applied at inference too (as in Keras); the result
    has the input's dtype.

    Args:
        value_range: the images' `(min, max)`.
        clip_limit: the histogram clip, relative to a flat histogram (0 or less: no clip).
        tile_grid_size: `(rows, columns)` of tiles; images not divisible are padded by
            reflection for the statistics.

    Examples:
        >>> layer = ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
        >>> layer(np.random.rand(1, 8, 8, 1) * 255).shape
        (1, 8, 8, 1)
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range, sort=False)
        if not _is_number(clip_limit):
            raise ValueError(
                f"{self._describe()}: `clip_limit` should be a number. Received: "
                f"clip_limit={clip_limit!r}")
        if not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2 or not all(
                isinstance(t, int) and not isinstance(t, bool) and t > 0
                for t in tile_grid_size):
            raise ValueError(
                f"{self._describe()}: `tile_grid_size` should be two positive ints (rows, "
                f"columns). Received: tile_grid_size={tile_grid_size!r}")
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images)
        dtype = images.dtype
        if self.data_format == "channels_first":
            images = jnp.moveaxis(images, -3, -1)
        images = self._transform_value_range(images, self.value_range, (0, 255), "float32")
        images = self._clahe(jnp.asarray(images, jnp.float32))
        images = self._transform_value_range(images, (0, 255), self.value_range, "float32")
        images = jnp.asarray(images).astype(dtype)
        if self.data_format == "channels_first":
            images = jnp.moveaxis(images, -1, -3)
        return images

    def _clahe(self, images):
        batch, height, width, channels = images.shape
        rows, cols = self.tile_grid_size
        tile_h, tile_w = -(-height // rows), -(-width // cols)
        pad_h, pad_w = tile_h * rows - height, tile_w * cols - width
        if pad_h or pad_w:
            images = jnp.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)),
                             mode="symmetric")
        tiles = images.reshape(batch, rows, tile_h, cols, tile_w, channels)
        tiles = tiles.transpose(0, 1, 3, 5, 2, 4).reshape(batch, rows, cols, channels, -1)
        levels = jnp.clip(tiles.astype(jnp.int32), 0, 255)
        hists = jnp.sum(levels[..., None] == jnp.arange(256), axis=-2, dtype=jnp.float32)
        if self.clip_limit > 0:
            limit = jnp.float32(self.clip_limit * (tile_h * tile_w) / 256.0)
            clipped = jnp.clip(hists, 0, limit)
            hists = clipped + jnp.sum(hists - clipped, axis=-1, keepdims=True) / 256.0
        cdf = jnp.cumsum(hists, axis=-1)
        cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
        spread = jnp.float32(tile_h * tile_w) - cdf_min
        spread = jnp.where(spread == 0, jnp.ones_like(spread), spread)
        mapping = jnp.clip((cdf - cdf_min) * 255.0 / spread, 0, 255)
        # One tile of border on each side, copying the edge tiles, so that pixels near the
        # border blend with themselves.
        mapping = jnp.pad(mapping, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

        def grid(size, tile, count):
            position = (jnp.arange(size, dtype=jnp.float32) - tile / 2.0) / tile + 1.0
            low = jnp.floor(position)
            weight = position - low
            low_index = jnp.clip(low, 0, count + 1).astype(jnp.int32)
            high_index = jnp.clip(low + 1.0, 0, count + 1).astype(jnp.int32)
            return low_index, high_index, weight

        y0, y1, wy = grid(rows * tile_h, tile_h, rows)
        x0, x1, wx = grid(cols * tile_w, tile_w, cols)
        pixels = jnp.clip(images, 0, 255).astype(jnp.int32)
        b = jnp.arange(batch)[:, None, None, None]
        c = jnp.arange(channels)[None, None, None, :]
        y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
        x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
        top = mapping[b, y0, x0, c, pixels] * (1.0 - wx) + mapping[b, y0, x1, c, pixels] * wx
        bottom = (mapping[b, y1, x0, c, pixels] * (1.0 - wx)
                  + mapping[b, y1, x1, c, pixels] * wx)
        result = top * (1.0 - wy) + bottom * wy
        return result[:, :height, :width, :]

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "clip_limit": self.clip_limit, "tile_grid_size": self.tile_grid_size,
                "data_format": self.data_format}
