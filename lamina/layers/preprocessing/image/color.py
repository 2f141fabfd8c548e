"""Colour augmentation layers: brightness, contrast, hue, saturation, grayscale, inversion,
colour degeneration, and `RandomColorJitter` which chains four of them.

Each layer draws its random parameters per image (one value per image of the batch, shared by
all its pixels) in the order Keras 3 draws them, from the layer's `SeedGenerator`, so a layer
seeded like a Keras layer produces Keras's numbers. Pixel values are assumed to lie in
`value_range` (`(0, 255)` by default); boxes, masks and labels pass through unchanged.
"""

import jax.numpy as jnp

from lamina import random
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from lamina.ops import image as image_ops

__all__ = [
    "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
    "RandomGrayscale", "RandomHue", "RandomInvert", "RandomSaturation",
]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0)


def check_value_range(layer, value_range, sort=True):
    """`value_range` validated for `layer`: a pair of numbers (sorted when Keras sorts it)."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or not all(
            _is_number(v) for v in value_range):
        raise ValueError(
            f"{layer._describe()}: the `value_range` argument should be a list of two numbers, "
            "the lowest and highest pixel value of the images (e.g. (0, 255) or (0, 1)). "
            f"Received: value_range={value_range!r}")
    return sorted(value_range) if sort else value_range


def images_of(data):
    """The images of a layer's input: the array itself, or `data["images"]`."""
    return data["images"] if isinstance(data, dict) else data


class CompiledEagerCalls:
    """Eager calls (outside `fit` and `keras.function`) run as one compiled program per input
    signature, carrying the seed state, instead of op by op: an augmentation is dozens of
    small ops, each compiled on its first use and dispatched one at a time. These layers have
    no weights, so they are built from the start."""

    _compile_eager_calls = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.built = True


class _PassThroughTargets(CompiledEagerCalls):
    """Labels, boxes and masks are unchanged by a colour transformation."""

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks


def _per_image(layer, images):
    """A `(batch, 1, 1, 1)` shape: one value per image, broadcast over its pixels."""
    return (layer._batch_size(images), 1, 1, 1)


@keras_export("keras.layers.RandomBrightness")
class RandomBrightness(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Adds a random brightness offset to each image during training.

    The offset is drawn from `factor * (value_range[1] - value_range[0])`: `factor=0.2` adds
    up to +/-20% of the range; `(lower, upper)` bounds it on each side, in `[-1, 1]`. Results
    are clipped to `value_range`. At inference the images pass through.

    Args:
        factor: a number in `[0, 1]` or a pair in `[-1, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomBrightness(factor=(0.5, 0.5), value_range=(0, 1), seed=0)
        >>> layer(np.full((1, 2, 2, 3), 0.25)).max().item()
        0.75
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor=factor, **kwargs)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self.value_range = check_value_range(self, value_range)

    def get_random_transformation(self, data, training=True, seed=None):
        images = images_of(data)
        shape = _per_image(self, images)
        if not training:
            return {"rgb_delta": jnp.zeros(shape)}
        delta = random.uniform(shape, minval=self.factor[0], maxval=self.factor[1],
                               seed=seed or self.generator)
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images, transformation, training=True):
        images = _as_float(images, self.compute_dtype)
        if not training:
            return images
        images = images + transformation["rgb_delta"].astype(images.dtype)
        return jnp.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


def _as_float(images, dtype):
    images = jnp.asarray(images)
    return images if jnp.issubdtype(images.dtype, jnp.floating) else images.astype(dtype)


@keras_export("keras.layers.RandomContrast")
class RandomContrast(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Scales each image's deviation from its per-channel mean by a random factor during
    training: `(x - mean) * c + mean`, `c` drawn from `[1 - lower, 1 + upper]`.

    Args:
        factor: a number in `[0, 1]` (`c` in `[1 - factor, 1 + factor]`) or a pair
            `(lower, upper)` in `[0, 1]`.
        value_range: the images' `(min, max)`; results are clipped to it.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomContrast(factor=0.5, seed=0)
        >>> images = np.arange(8.0).reshape(2, 2, 2, 1)
        >>> bool((layer(images, training=False) == images).all())
        True
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        shape = _per_image(self, images_of(data))
        if not training:
            return {"contrast_factor": jnp.zeros(shape)}
        return {"contrast_factor": random.uniform(
            shape, minval=1.0 - self.factor[0], maxval=1.0 + self.factor[1],
            dtype=self.compute_dtype, seed=seed or self.generator)}

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images)
        if not training:
            return images
        h_axis, w_axis, _ = self._axes()
        mean = jnp.mean(jnp.mean(images, axis=h_axis, keepdims=True), axis=w_axis,
                        keepdims=True)
        outputs = (images - mean) * transformation["contrast_factor"] + mean
        return jnp.clip(outputs, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


def _replace_channel(images, index, channel, data_format):
    """`images` with HSV channel `index` replaced by `channel` (a batch of planes)."""
    axis = -1 if data_format == "channels_last" else -3
    planes = [jnp.take(images, i, axis=axis) for i in range(3)]
    planes[index] = channel
    return jnp.stack(planes, axis=axis)


def _channel(images, index, data_format):
    return jnp.take(images, index, axis=-1 if data_format == "channels_last" else -3)


@keras_export("keras.layers.RandomHue")
class RandomHue(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Rotates each image's hue by a random amount during training.

    The shift is `+/- u / 2` of the hue circle, `u` drawn from `factor` (so `factor=1` can
    shift by up to half a turn), the sign chosen at random per image. RGB images only.

    Args:
        factor: a number in `[0, 1]` or a pair `(lower, upper)` in `[0, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomHue(factor=0.5, value_range=(0, 1), seed=0)
        >>> layer(np.random.rand(2, 4, 4, 3)).shape
        (2, 4, 4, 3)
    """

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = self._batch_size(images_of(data))
        seed = seed or self.generator
        sign = jnp.where(random.uniform((batch,), seed=seed) > 0.5, -1.0, 1.0)
        amount = random.uniform((batch,), minval=self.factor[0], maxval=self.factor[1],
                                seed=seed)
        return {"factor": sign * amount * 0.5}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        self._check_channels(images, (3,), " (RGB)")
        images = jnp.asarray(images).astype(self.compute_dtype)
        images = self._transform_value_range(images, self.value_range, (0, 1))
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        shift = transformation["factor"].astype(hsv.dtype)[:, None, None]
        hue = _channel(hsv, 0, self.data_format) + shift
        hue = jnp.where(hue > 1.0, hue - 1.0, hue)
        hue = jnp.where(hue < 0.0, hue + 1.0, hue)
        hsv = _replace_channel(hsv, 0, hue, self.data_format)
        rgb = jnp.clip(image_ops.hsv_to_rgb(hsv, data_format=self.data_format), 0, 1)
        rgb = self._transform_value_range(rgb, (0, 1), self.value_range)
        return rgb.astype(self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


@keras_export("keras.layers.RandomSaturation")
class RandomSaturation(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Scales each image's saturation by a random amount during training.

    A draw `u` from `factor` multiplies the saturation by `u / (1 - u)`: `u = 0.5` keeps the
    image, `u <= 0` makes it gray, values near 1 fully saturate it. RGB images only. As in
    Keras 3, a single number `f` means the range `(-f, f)` (so about half the draws gray the
    image); pass a pair such as `(0.3, 0.7)` for milder changes.

    Unlike Keras 3.15, which clips the scaled saturation to `value_range` (so that with the
    default `(0, 255)` strong draws give negative pixels), the saturation is clipped to
    `[0, 1]`; with `value_range=(0, 1)` the two agree.

    Args:
        factor: a number in `[0, 1]` or a pair `(lower, upper)` in `[-1, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomSaturation(factor=(0.0, 0.0), value_range=(0, 1))
        >>> gray = layer(np.array([[[[1.0, 0.0, 0.0]]]]))   # saturation 0: gray
        >>> [round(v, 6) for v in gray[0, 0, 0].tolist()]
        [1.0, 1.0, 1.0]
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        draw = random.uniform((self._batch_size(images_of(data)),), minval=self.factor[0],
                              maxval=self.factor[1], seed=seed or self.generator)
        return {"factor": draw / (1 - draw + config.epsilon())}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        self._check_channels(images, (3,), " (RGB)")
        images = jnp.asarray(images).astype(self.compute_dtype)
        scale = transformation["factor"].astype(self.compute_dtype)[:, None, None]
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        saturation = jnp.clip(_channel(hsv, 1, self.data_format) * scale, 0.0, 1.0)
        hsv = _replace_channel(hsv, 1, saturation, self.data_format)
        return image_ops.hsv_to_rgb(hsv, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


@keras_export("keras.layers.RandomGrayscale")
class RandomGrayscale(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Turns each image to grayscale with probability `factor` during training, keeping its
    number of channels (the luma is repeated in each).

    Args:
        factor: the probability, in `[0, 1]` (default 0.5).
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomGrayscale(factor=1.0)
        >>> out = layer(np.array([[[[255.0, 0.0, 0.0]]]]))
        >>> [round(v, 2) for v in out[0, 0, 0].tolist()]
        [76.22, 76.22, 76.22]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not _is_number(factor) or factor < 0 or factor > 1:
            raise ValueError(
                f"{self._describe()}: `factor` is the probability of turning an image gray "
                f"and should be between 0 and 1. Received: factor={factor!r}")
        self.factor = factor
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        draws = random.uniform((self._batch_size(images_of(data)),), seed=seed or self.generator)
        return (draws < self.factor)[:, None, None, None]

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return jnp.where(transformation, gray, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras_export("keras.layers.RandomInvert")
class RandomInvert(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Inverts each image (`value_range[1] - x`) with a random probability during training.

    For each image a probability `p` is drawn from `factor`, then the image is inverted with
    probability `p`; `factor=1.0` (the default) inverts about half of the images.

    Args:
        factor: a number in `[0, 1]` or a pair `(lower, upper)` in `[0, 1]`.
        value_range: the images' `(min, max)`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomInvert(factor=(1.0, 1.0), value_range=(0, 1))
        >>> layer(np.full((1, 1, 1, 3), 0.25))[0, 0, 0].tolist()
        [0.75, 0.75, 0.75]
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.value_range = check_value_range(self, value_range, sort=False)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = self._batch_size(images_of(data))
        seed = seed or self.generator
        applied = self._draw_applied(batch, seed)
        return {"apply_inversion": applied}

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        apply = transformation["apply_inversion"][:, None, None, None]
        return jnp.where(apply, self.value_range[1] - images, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


@keras_export("keras.layers.RandomColorDegeneration")
class RandomColorDegeneration(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Blends each image towards its grayscale version by a random amount during training:
    `x + f * (gray(x) - x)`, `f` drawn from `factor` (0 keeps the colours, 1 removes them).

    Args:
        factor: a number in `[0, 1]` or a pair `(lower, upper)`.
        value_range: the images' `(min, max)`; results are clipped to it.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomColorDegeneration(factor=(1.0, 1.0))
        >>> out = layer(np.array([[[[0.0, 255.0, 0.0]]]]))
        >>> [round(v, 1) for v in out[0, 0, 0].tolist()]
        [149.7, 149.7, 149.7]
    """

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
            _per_image(self, images_of(data)), minval=self.factor[0], maxval=self.factor[1],
            seed=seed or self.generator)}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        self._check_channels(images, (3,), " (RGB)")
        images = jnp.asarray(images).astype(self.compute_dtype)
        blend = transformation["factor"].astype(self.compute_dtype)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        images = images + blend * (gray - images)
        return jnp.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                f"{self._describe()} expects images of rank 3 or 4. Received: input_shape="
                f"{tuple(input_shape)}")
        channels = input_shape[-1 if self.data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ValueError(
                f"{self._describe()} expects RGB images (3 channels). Received: input_shape="
                f"{tuple(input_shape)} ({self.data_format}).")
        return input_shape


@keras_export("keras.layers.RandomColorJitter")
class RandomColorJitter(_PassThroughTargets, BaseImagePreprocessingLayer):
    """Applies random brightness, contrast, saturation and hue changes, in that order, during
    training; each is skipped when its factor is None.

    The four inner layers (`RandomBrightness`, `RandomContrast`, `RandomSaturation`,
    `RandomHue`) take their factors and `value_range`; their draws come from this layer's
    seed generator, in that order.

    Args:
        value_range: the images' `(min, max)`.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the inner layers'
            `factor` arguments, or None to skip that change.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, seed=3)
        >>> out = layer(np.full((2, 4, 4, 3), 0.5))
        >>> bool(((out >= 0) & (out <= 1)).all())
        True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range, sort=False)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        # Keras 3.15 leaves the inner layers at the default data format; they follow this one.
        inner = dict(value_range=value_range, seed=seed, data_format=self.data_format)
        self.random_brightness = self.random_contrast = None
        self.random_saturation = self.random_hue = None
        if brightness_factor is not None:
            self.random_brightness = RandomBrightness(brightness_factor, **inner)
        if contrast_factor is not None:
            self.random_contrast = RandomContrast(contrast_factor, **inner)
        if saturation_factor is not None:
            self.random_saturation = RandomSaturation(saturation_factor, **inner)
        if hue_factor is not None:
            self.random_hue = RandomHue(hue_factor, **inner)

    def _steps(self):
        return [layer for layer in (self.random_brightness, self.random_contrast,
                                    self.random_saturation, self.random_hue)
                if layer is not None]

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        for layer in self._steps():
            step = layer.get_random_transformation(images, seed=self.generator)
            images = layer.transform_images(images, step)
        return images.astype(self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor,
                "seed": self.seed}
