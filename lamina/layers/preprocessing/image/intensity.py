"""Intensity and filter augmentation layers: `Solarization`, `RandomPosterization`,
`AutoContrast`, `RandomSharpness`, `RandomGaussianBlur` and `RandomErasing`.

As in `color`, random parameters are drawn per image in Keras 3's order from the layer's
`SeedGenerator`, so a seeded layer gives Keras's numbers; boxes, masks and labels pass
through unchanged.
"""

import jax.numpy as jnp

from lamina import random
from lamina._registry import keras_export
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from lamina.layers.preprocessing.image.color import (
    _is_number,
    _PassThroughTargets,
    check_value_range,
    images_of,
)
from lamina.ops import image as image_ops
from lamina.ops._convolution import depthwise_conv

__all__ = [
    "AutoContrast", "RandomErasing", "RandomGaussianBlur", "RandomPosterization",
    "RandomSharpness", "Solarization",
]


def _unit_interval_pair(layer, value, name, single=lambda v: (0, v)):
    """`value` (a number or a pair, each in [0, 1]) as a sorted pair."""
    message = (
        f"{layer._describe()}: the `{name}` argument should be a number (or a list of two "
        f"numbers) in the range [0, 1]. Received: {name}={value!r}")
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not all(_is_number(v) and 0 <= v <= 1 for v in value):
            raise ValueError(message)
        return tuple(sorted(value))
    if _is_number(value) and 0 <= value <= 1:
        return single(value)
    raise ValueError(message)


@keras_export("keras.layers.Solarization")
class Solarization(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Solarizes images during training: on the `[0, 255]` scale, adds a random offset, then
    inverts (`255 - x`) every pixel at or above a random threshold.

    Offsets are drawn from `[addition_factor[0], addition_factor[1] * 255]` and thresholds
    from `[threshold_factor[0], threshold_factor[1] * 255]`, as Keras 3 draws them; a single
    number `f` means `(0, f)`. With both factors 0 (the default) every pixel is inverted.

    Args:
        addition_factor: a number or pair in `[0, 1]`.
        threshold_factor: a number or pair in `[0, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = Solarization()
        >>> layer(np.full((1, 1, 1, 3), 64.0))[0, 0, 0].tolist()
        [191.0, 191.0, 191.0]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self.addition_factor = _unit_interval_pair(self, addition_factor, "addition_factor")
        self.threshold_factor = _unit_interval_pair(self, threshold_factor, "threshold_factor")
        self.value_range = check_value_range(self, value_range)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        shape = (jnp.shape(images)[0], 1, 1, 1) if jnp.ndim(images) == 4 else (1, 1, 1)
        seed = seed or self.generator
        additions = random.uniform(shape, minval=self.addition_factor[0],
                                   maxval=self.addition_factor[1] * 255,
                                   dtype=self.compute_dtype, seed=seed)
        thresholds = random.uniform(shape, minval=self.threshold_factor[0],
                                    maxval=self.threshold_factor[1] * 255,
                                    dtype=self.compute_dtype, seed=seed)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        dtype = self.compute_dtype
        scaled = self._transform_value_range(images, self.value_range, (0, 255), dtype)
        results = jnp.clip(scaled + transformation["additions"], 0, 255)
        results = jnp.where(results < transformation["thresholds"], results, 255 - results)
        return self._transform_value_range(results, (0, 255), self.value_range, dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


@keras_export("keras.layers.RandomPosterization")
class RandomPosterization(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Reduces each image to a random number of bits per channel during training.

    On the `[0, 255]` scale, pixels keep their `b` most significant bits, `b` drawn per image
    from `[factor[0], factor[1])` (a fixed `b` when the two are equal). A single number `f`
    means `(1, f)`.

    Args:
        factor: a number or pair in `[1, 8]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomPosterization(factor=(1, 1))
        >>> layer(np.array([[[[200.0, 100.0, 127.0]]]]))[0, 0, 0].tolist()
        [128.0, 0.0, 0.0]
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (1, 8)
    _MAX_FACTOR = 8

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = self._batch_size(images_of(data))
        if self.factor[0] != self.factor[1]:
            bits = random.randint((batch,), minval=self.factor[0], maxval=self.factor[1],
                                  dtype="uint8", seed=seed or self.generator)
        else:
            bits = jnp.full((batch,), self.factor[0], jnp.uint8)
        return {"shift_factor": self._MAX_FACTOR - bits}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        shift = transformation["shift_factor"][:, None, None, None]
        dtype = self.compute_dtype
        images = self._transform_value_range(images, self.value_range, (0, 255), dtype)
        images = jnp.asarray(images).astype(jnp.uint8)
        images = jnp.left_shift(jnp.right_shift(images, shift), shift).astype(dtype)
        return self._transform_value_range(images, (0, 255), self.value_range, dtype)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


@keras_export("keras.layers.AutoContrast")
class AutoContrast(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Stretches each channel of each image so that its darkest pixel becomes
    `value_range[0]` and its brightest `value_range[1]`. Deterministic, and applied at
    inference too (as in Keras); a constant channel is left as it is.

    Args:
        value_range: the images' `(min, max)`.

    Examples:
        >>> AutoContrast()(np.array([[[[50.0]], [[150.0]]]]))[0, :, 0, 0].tolist()
        [0.0, 255.0]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = check_value_range(self, value_range)

    def transform_images(self, images, transformation=None, training=True):
        original = jnp.asarray(images)
        dtype = self.compute_dtype
        images = self._transform_value_range(original, self.value_range, (0, 255), dtype)
        images = jnp.asarray(images).astype(dtype)
        h_axis, w_axis, _ = self._axes()
        low = jnp.min(images, axis=(h_axis, w_axis), keepdims=True)
        high = jnp.max(images, axis=(h_axis, w_axis), keepdims=True)
        scale = 255.0 / (high - low)
        results = jnp.clip(images * scale - low * scale, 0.0, 255.0)
        results = self._transform_value_range(results, (0, 255), self.value_range, dtype)
        # A constant channel divides 0 by 0: keep its pixels.
        return jnp.where(jnp.isnan(results), original, results).astype(dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


@keras_export("keras.layers.RandomSharpness")
class RandomSharpness(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Sharpens or blurs each image by a random amount during training.

    Each image is blended with a 3x3 smoothed copy: `x + (1 - 2f) * (smooth(x) - x)`, `f`
    drawn from `factor`; `f = 0.5` keeps the image, smaller values blur, larger ones sharpen.
    Results are clipped to `value_range`.

    Args:
        factor: a number or pair in `[0, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomSharpness(factor=(0.5, 0.5))
        >>> images = np.random.rand(1, 4, 4, 3) * 255
        >>> bool(np.allclose(layer(images), images, atol=1e-4))
        True
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        return {"factor": random.uniform(
            (self._batch_size(images_of(data)),), minval=self.factor[0],
            maxval=self.factor[1], seed=seed or self.generator)}

    def transform_images(self, images, transformation=None, training=True):
        dtype = self.compute_dtype
        images = jnp.asarray(images).astype(dtype)
        if not training:
            return images
        if self.data_format == "channels_first":
            images = jnp.swapaxes(images, -3, -1)
        amount = (transformation["factor"] * 2).astype(dtype).reshape(-1, 1, 1, 1)
        edge, centre = 1.0 / 13.0, 5.0 / 13.0
        kernel = jnp.asarray([[edge, edge, edge], [edge, centre, edge], [edge, edge, edge]],
                             dtype)
        kernel = jnp.tile(kernel[:, :, None, None], (1, 1, images.shape[-1], 1))
        smooth = depthwise_conv(images, kernel, padding="same",
                                data_format="channels_last").astype(dtype)
        images = jnp.clip(images + (1.0 - amount) * (smooth - images), self.value_range[0],
                          self.value_range[1])
        if self.data_format == "channels_first":
            images = jnp.swapaxes(images, -3, -1)
        return images

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


def _odd_kernel_size(layer, kernel_size):
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2:
            raise ValueError(
                f"{layer._describe()}: the `kernel_size` argument should be a number (or a "
                f"list of two numbers). Received: kernel_size={kernel_size!r}")
        sizes = tuple(kernel_size)
    elif _is_number(kernel_size):
        sizes = (kernel_size, kernel_size)
    else:
        sizes = None
    if sizes is None or any(not _is_number(s) or s % 2 == 0 for s in sizes):
        raise ValueError(
            f"{layer._describe()}: kernel_size must be an odd number (or a pair of odd "
            f"numbers). Received: kernel_size={kernel_size!r}")
    return sizes


@keras_export("keras.layers.RandomGaussianBlur")
class RandomGaussianBlur(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Blurs images with a Gaussian kernel of random width during training.

    Each image is blurred with a probability drawn from `factor` (1.0, the default: every
    image); the kernel's standard deviations (one per axis, shared by the batch) are drawn
    from `sigma`.

    Args:
        factor: the blur probability, a number or pair in `[0, 1]`.
        kernel_size: an odd int or a pair of odd ints.
        sigma: a number or pair in `[0, 1]`: the range of the standard deviation.
        value_range: the images' `(min, max)`; results are clipped to it.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomGaussianBlur(kernel_size=3, sigma=1.0, seed=0)
        >>> round(layer(np.ones((1, 5, 5, 1)) * 100)[0, 2, 2, 0].item(), 3)
        100.0
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.kernel_size = _odd_kernel_size(self, kernel_size)
        self.sigma = _unit_interval_pair(self, sigma, "sigma")
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = self._batch_size(images_of(data))
        seed = seed or self.generator
        applied = self._draw_applied(batch, seed)
        sigma = random.uniform((2,), minval=self.sigma[0], maxval=self.sigma[1], seed=seed,
                               dtype=self.compute_dtype) + 1e-6
        return {"should_apply_blur": applied, "blur_factor": sigma}

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        blurred = image_ops.gaussian_blur(images, kernel_size=self.kernel_size,
                                          sigma=transformation["blur_factor"],
                                          data_format=self.data_format)
        apply = transformation["should_apply_blur"][:, None, None, None]
        images = jnp.where(apply, blurred, images)
        return jnp.clip(images, self.value_range[0], self.value_range[1]).astype(
            self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size,
                "sigma": self.sigma, "value_range": self.value_range, "seed": self.seed}


def box_masks(layer, images_shape, x0, x1, y0, y1):
    """Boolean masks, shaped like the images, of the pixels inside each image's box (one
    `[x0, x1) x [y0, y1)` per image, in pixels)."""
    h_axis, w_axis, c_axis = (-3, -2, -1) if layer.data_format == "channels_last" else (
        -2, -1, -3)
    height, width = images_shape[h_axis], images_shape[w_axis]
    dtype = layer.compute_dtype
    grid_y, grid_x = jnp.meshgrid(jnp.arange(height, dtype=dtype),
                                  jnp.arange(width, dtype=dtype), indexing="ij")
    if layer.data_format == "channels_last":
        grid_y, grid_x = grid_y[None, :, :, None], grid_x[None, :, :, None]
    else:
        grid_y, grid_x = grid_y[None, None], grid_x[None, None]
    x0, x1, y0, y1 = (v[:, None, None, None] for v in (x0, x1, y0, y1))
    inside = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)
    return jnp.repeat(inside, images_shape[c_axis], axis=c_axis)


def box_bounds(layer, batch, length, ratio, seed):
    """Start and end of a box side covering `ratio` of `length`, at a random offset."""
    side = (ratio * length).astype(layer.compute_dtype)
    start = random.uniform((batch,), dtype=layer.compute_dtype, seed=seed) * (length - side)
    return start, start + side


@keras_export("keras.layers.RandomErasing")
class RandomErasing(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Erases a random rectangle of each image during training, filling it with noise or a
    constant (Zhong et al., 2017, "Random Erasing Data Augmentation").

    Each image is erased with a probability drawn from `factor`. The rectangle's sides are
    `sqrt(s)` of the image's, `s` drawn per side from `scale`. The fill is `fill_value` (a
    number, or one per channel), or by default Gaussian noise scaled by `value_range[1]`;
    either is clipped to `value_range`.

    Args:
        factor: the erase probability, a number or pair in `[0, 1]`.
        scale: a number or pair in `[0, 1]`: the area fraction per side, before the root.
        fill_value: None (noise), a number, or three numbers.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomErasing(factor=(1.0, 1.0), scale=(0.25, 0.25), fill_value=0, seed=1)
        >>> (layer(np.ones((1, 8, 8, 1)) * 9) == 0).sum().item()   # a 4x4 square
        16
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = _unit_interval_pair(self, scale, "scale")
        if fill_value is not None and not _is_number(fill_value) and not (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3
                and all(_is_number(v) for v in fill_value)):
            raise ValueError(
                f"{self._describe()}: the `fill_value` argument should be None (Gaussian "
                "noise), a number, or a list of three numbers (one per channel). Received: "
                f"fill_value={fill_value!r}")
        self.fill_value = fill_value
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def _fill(self, images_shape, seed):
        dtype = self.compute_dtype
        if self.fill_value is None:
            fill = random.normal(images_shape, dtype=dtype, seed=seed) * self.value_range[1]
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, dtype), images_shape)
        return jnp.clip(fill, self.value_range[0], self.value_range[1])

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        shape = tuple(jnp.shape(images))
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed or self.generator
        sides = jnp.sqrt(random.uniform((batch, 2), minval=self.scale[0],
                                        maxval=self.scale[1], dtype=self.compute_dtype,
                                        seed=seed))
        x0, x1 = box_bounds(self, batch, width, sides[:, 0], seed)
        y0, y1 = box_bounds(self, batch, height, sides[:, 1], seed)
        masks = box_masks(self, shape, x0, x1, y0, y1)
        applied = self._draw_applied(batch, seed)
        return {"apply_erasing": applied, "batch_masks": masks,
                "fill_value": self._fill(shape, seed)}

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        erased = jnp.where(transformation["batch_masks"], transformation["fill_value"], images)
        apply = transformation["apply_erasing"][:, None, None, None]
        return jnp.where(apply, erased, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
