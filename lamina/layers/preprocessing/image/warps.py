"""Random non-affine warps: `RandomPerspective` and `RandomElasticTransform`."""

import jax.numpy as jnp

from lamina import ops, random
from lamina._runtime import rng
from lamina.layers.preprocessing.image import bounding_boxes as boxes_lib
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer, _is_number
from lamina.layers.preprocessing.image.geometric import _check_choice, _range
from lamina.ops import _image_warps

__all__ = ["RandomElasticTransform", "RandomPerspective"]


class RandomPerspective(BaseImagePreprocessingLayer):
    """In training, moves the four corners of some images by random amounts and warps the
    image to match (a perspective change).

    Args:
        factor: the probability range that an image is warped: a number `f` in [0, 1] means
            probability up to `f`, drawn per image as in Keras (1.0: always).
        scale: how far corners move, as a fraction of the image size (each corner coordinate
            moves by up to `scale / 2` of itself), in [0, 1].
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_value: the value of pixels that come from outside the image.
        seed: an int for a reproducible sequence of warps.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> keras.layers.RandomPerspective(scale=0.3, seed=0)(np.ones((2, 8, 8, 3))).shape
        (2, 8, 8, 3)
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        if not _is_number(scale) or not 0.0 <= scale <= 1.0:
            raise ValueError(
                f"{self._describe()}: the `scale` argument should be a number in the range "
                f"[0, 1]. Received: scale={scale!r}")
        _check_choice(self, "interpolation", interpolation, ("nearest", "bilinear"))
        self.scale = scale
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed or self._get_seed_generator()
        probability = random.uniform((batch,), minval=self.factor[0], maxval=self.factor[1],
                                     seed=seed)
        threshold = random.uniform((batch,), minval=0.0, maxval=1.0, seed=seed)
        apply = threshold < probability
        moves = random.uniform((batch, 4, 2), minval=-0.5 * self.scale,
                               maxval=0.5 * self.scale, seed=seed, dtype=self.compute_dtype)
        start = jnp.asarray([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1],
                             [width - 1, height - 1]], self.compute_dtype)
        start = jnp.broadcast_to(start, (batch, 4, 2))
        end = jnp.where(apply[:, None, None], start + start * moves, start)
        return {"apply_perspective": apply, "start_points": start, "end_points": end,
                "image_size": (height, width)}

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        warped = ops.image.perspective_transform(
            images, transformation["start_points"], transformation["end_points"],
            interpolation=interpolation, fill_value=self.fill_value,
            data_format=self.data_format)
        return jnp.where(transformation["apply_perspective"][:, None, None, None], warped,
                         images)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["image_size"]
        boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                                         height=height, width=width)
        # The homography from input to output positions: start points onto end points.
        h = _image_warps._homography(transformation["end_points"].astype(jnp.float32),
                                     transformation["start_points"].astype(jnp.float32))
        h = h[:, None, None]
        b = boxes["boxes"]
        xs = jnp.stack([b[..., 0], b[..., 2], b[..., 2], b[..., 0]], axis=-1)
        ys = jnp.stack([b[..., 1], b[..., 1], b[..., 3], b[..., 3]], axis=-1)
        k = h[..., 6] * xs + h[..., 7] * ys + 1.0
        new_x = (h[..., 0] * xs + h[..., 1] * ys + h[..., 2]) / k
        new_y = (h[..., 3] * xs + h[..., 4] * ys + h[..., 5]) / k
        boxes["boxes"] = jnp.stack([new_x.min(-1), new_y.min(-1), new_x.max(-1),
                                    new_y.max(-1)], axis=-1)
        boxes = boxes_lib.clip_to_image_size(boxes, height=height, width=width)
        return boxes_lib.convert_format(boxes, "xyxy", self.bounding_box_format,
                                        height=height, width=width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value,
                "seed": self.seed}


class RandomElasticTransform(BaseImagePreprocessingLayer):
    """In training, distorts some images by a smooth random displacement field
    (`ops.image.elastic_transform`), then clips them to `value_range`.

    Args:
        factor: the probability range that an image is distorted (a number in [0, 1] or a
            pair), drawn per image as in Keras.
        scale: the range of the distortion strength in [0, 1]: with strength `s`, the field
            is blurred by a Gaussian of standard deviation `0.05 * s * min(height, width)` and
            scaled by `0.1 * s * max(height, width)`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: `"reflect"` (default), `"constant"`, `"nearest"`, `"wrap"`, `"mirror"`;
            `fill_value` for `"constant"`.
        value_range: the range the outputs are clipped to (default `(0, 255)`).
        seed: an int for a reproducible sequence of distortions.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> layer = keras.layers.RandomElasticTransform(seed=0, value_range=(0, 1))
        >>> layer(np.full((2, 16, 16, 1), 0.5), training=True).shape
        (2, 16, 16, 1)
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)
    _SUPPORTED_INTERPOLATION = ("nearest", "bilinear")
    _SUPPORTED_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.scale = _range(self, scale, "scale", 0.0, 1.0)
        if not isinstance(scale, (list, tuple)):
            self.scale = (max(self.scale[0], 0.0), self.scale[1])
        _check_choice(self, "interpolation", interpolation, self._SUPPORTED_INTERPOLATION)
        _check_choice(self, "fill_mode", fill_mode, self._SUPPORTED_FILL_MODES)
        if not (isinstance(value_range, (list, tuple)) and len(value_range) == 2):
            raise ValueError(
                f"{self._describe()}: value_range must be a pair (low, high). Received: "
                f"value_range={value_range!r}")
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = value_range
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch = self._batch_size(images)
        seed = seed or self._get_seed_generator()
        probability = random.uniform((batch,), minval=self.factor[0], maxval=self.factor[1],
                                     seed=seed)
        threshold = random.uniform((batch,), minval=0.0, maxval=1.0, seed=seed)
        strength = random.uniform((), minval=self.scale[0], maxval=self.scale[1], seed=seed,
                                  dtype=self.compute_dtype)
        return {"apply_transform": threshold < probability, "distortion_factor": strength,
                "key": rng.draw_seed(seed)}

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        height, width = self._image_size(images)
        strength = transformation["distortion_factor"]
        alpha = max(height, width) * 0.1 * strength
        sigma = min(height, width) * 0.05 * strength
        largest = int(6 * min(height, width) * 0.05 * self.scale[1]) | 1
        channels_last = self.data_format == "channels_last"
        batch = images if channels_last else jnp.transpose(images, (0, 2, 3, 1))
        warped = _image_warps.elastic_warp(batch, alpha, sigma, largest,
                                           transformation["key"], interpolation,
                                           self.fill_mode, self.fill_value)
        if not channels_last:
            warped = jnp.transpose(warped, (0, 3, 1, 2))
        images = jnp.where(transformation["apply_transform"][:, None, None, None], warped,
                           images)
        images = jnp.clip(images, self.value_range[0], self.value_range[1])
        return images.astype(self.compute_dtype)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
