"""Random geometric augmentation: `RandomFlip`, `RandomRotation`, `RandomZoom`,
`RandomTranslation` and `RandomShear`.

Each draws its parameters per image from the layer's seed generator, in the order and with
the shapes Keras 3 draws them (so a seed gives Keras's numbers), builds one row of
`ops.image.affine_transform` per image and warps the batch in one call. Bounding boxes are
moved by the inverse of the same transform (the box around the four moved corners, clipped to
the image; a box left empty gets the label -1); segmentation masks are warped by nearest
neighbour.
"""

import jax.numpy as jnp

from lamina import ops, random
from lamina.layers.preprocessing.image import bounding_boxes as boxes_lib
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer, _is_number

__all__ = ["RandomFlip", "RandomRotation", "RandomShear", "RandomTranslation", "RandomZoom"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"


def _check_choice(layer, name, value, choices):
    if value not in choices:
        raise NotImplementedError(
            f"{layer._describe()}: unknown `{name}` {value!r}. Expected one of {choices}. "
            f"Received: {name}={value!r}")


def _range(layer, value, name, low, high, low_open=False):
    """A number `f` as `(-f, f)`, or a pair sorted, each in [low, high] (`(low, high]` with
    `low_open`); a ValueError naming the argument otherwise."""
    bounds = f"{'(' if low_open else '['}{low}, {high}]"
    message = (f"{layer._describe()}: the `{name}` argument should be a number (or a list of "
               f"two numbers) in the range {bounds}. Received: {name}={value!r}")

    def check(number):
        if not _is_number(number) or number > high or number < low or (
                low_open and number == low):
            raise ValueError(message)

    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(message)
        check(value[0])
        check(value[1])
        return tuple(sorted(value))
    check(value)
    return (-abs(value), abs(value))


def _moved_boxes(layer, bounding_boxes, transform, height, width):
    """Boxes after the warp whose output-to-input rows are `transform` (batch, 8)."""
    boxes = boxes_lib.convert_format(bounding_boxes, layer.bounding_box_format, "xyxy",
                                     height=height, width=width)
    transform = jnp.asarray(transform, jnp.float32).reshape(-1, 8)
    matrix = jnp.concatenate([transform, jnp.ones_like(transform[:, :1])], axis=1)
    forward = jnp.linalg.inv(matrix.reshape(-1, 3, 3))  # input pixel -> output pixel
    b = boxes["boxes"]
    xs = jnp.stack([b[..., 0], b[..., 2], b[..., 2], b[..., 0]], axis=-1)
    ys = jnp.stack([b[..., 1], b[..., 1], b[..., 3], b[..., 3]], axis=-1)
    f = forward[:, None, None]  # (batch, 1, 1, 3, 3) against corners (batch, boxes, 4)
    k = f[..., 2, 0] * xs + f[..., 2, 1] * ys + f[..., 2, 2]
    new_x = (f[..., 0, 0] * xs + f[..., 0, 1] * ys + f[..., 0, 2]) / k
    new_y = (f[..., 1, 0] * xs + f[..., 1, 1] * ys + f[..., 1, 2]) / k
    boxes["boxes"] = jnp.stack([new_x.min(-1), new_y.min(-1), new_x.max(-1), new_y.max(-1)],
                               axis=-1)
    boxes = boxes_lib.clip_to_image_size(boxes, height=height, width=width)
    return boxes_lib.convert_format(boxes, "xyxy", layer.bounding_box_format, height=height,
                                    width=width)


class _AffineLayer(BaseImagePreprocessingLayer):
    """A layer whose transformation is `{"transform": (batch, 8), ...}` for affine_transform."""

    _USE_BASE_FACTOR = False

    def _set_warp_arguments(self, fill_mode, interpolation, fill_value, seed):
        _check_choice(self, "fill_mode", fill_mode, _FILL_MODES)
        _check_choice(self, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def _images_of(self, data):
        return data["images"] if isinstance(data, dict) else data

    def _transform_images(self, images, transformation, interpolation):
        if transformation is None:
            return images
        return ops.image.affine_transform(
            images, transformation["transform"], interpolation=interpolation,
            fill_mode=self.fill_mode, fill_value=self.fill_value, data_format=self.data_format)

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["image_size"]
        return _moved_boxes(self, bounding_boxes, transformation["transform"], height, width)

    def _warp_config(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value, "seed": self.seed}


class RandomFlip(BaseImagePreprocessingLayer):
    """In training, flips each image left-right and/or top-bottom with probability 1/2.

    Args:
        mode: `"horizontal"` (left-right), `"vertical"` (top-bottom) or
            `"horizontal_and_vertical"` (default: one draw per image flips both axes).
        seed: an int for a reproducible sequence of flips.
        data_format: `"channels_last"` or `"channels_first"`.

    Inference returns the input (as floats); masks keep their dtype; bounding boxes flip with
    their images.

    Examples:
        >>> layer = keras.layers.RandomFlip("horizontal", seed=1)
        >>> images = np.arange(4.0).reshape(1, 1, 4, 1)
        >>> layer(images, training=False)[0, 0, :, 0].tolist()
        [0.0, 1.0, 2.0, 3.0]
        >>> flipped = layer(np.repeat(images, 64, axis=0), training=True)
        >>> sorted(set(flipped[:, 0, 0, 0].tolist()))   # some flipped, some not
        [0.0, 3.0]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(
                f"{self._describe()}: mode must be one of {(HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)}. "  # noqa: E501
                f"Received: mode={mode!r}")
        self.seed = seed
        self.generator = random.SeedGenerator(seed)
        self.mode = mode

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(jnp.shape(images))
        flips_shape = (1, 1, 1) if len(shape) == 3 else (shape[0], 1, 1, 1)
        seed = seed if seed is not None else self._get_seed_generator()
        flips = random.uniform(flips_shape, seed=seed) <= 0.5
        return {"flips": flips, "input_shape": shape}

    def _flip(self, inputs, transformation):
        if transformation is None:
            return inputs
        flips = transformation["flips"]
        h_axis, w_axis = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            inputs = jnp.where(flips, jnp.flip(inputs, axis=w_axis), inputs)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            inputs = jnp.where(flips, jnp.flip(inputs, axis=h_axis), inputs)
        return inputs

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        return self._flip(images, transformation) if training else images

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        masks = jnp.asarray(segmentation_masks)  # reordering pixels keeps the class dtype
        return self._flip(masks, transformation) if training else masks

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        shape = transformation["input_shape"]
        height, width = (shape[-3], shape[-2]) if self.data_format == "channels_last" else (
            shape[-2], shape[-1])
        boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format,
                                         "rel_xyxy", height=height, width=width)
        flips = transformation["flips"].reshape(-1, 1, 1)
        b = boxes["boxes"]
        x1, y1, x2, y2 = (b[..., i:i + 1] for i in range(4))
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            b = jnp.where(flips, jnp.concatenate([1 - x2, y1, 1 - x1, y2], -1), b)
            x1, y1, x2, y2 = (b[..., i:i + 1] for i in range(4))
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            b = jnp.where(flips, jnp.concatenate([x1, 1 - y2, x2, 1 - y1], -1), b)
        boxes["boxes"] = b
        boxes = boxes_lib.clip_to_image_size(boxes, bounding_box_format="rel_xyxy")
        return boxes_lib.convert_format(boxes, "rel_xyxy", self.bounding_box_format,
                                        height=height, width=width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode,
                "data_format": self.data_format}


class RandomRotation(_AffineLayer):
    """In training, rotates each image by a random angle about its centre.

    Args:
        factor: the range of angles as fractions of a full turn: `0.1` draws from
            `[-36, 36]` degrees, `(-0.2, 0.3)` from `[-72, 108]` (positive: counter-clockwise).
            Each value in [-1, 1].
        fill_mode: how to fill the corners the rotation uncovers: `"reflect"` (default),
            `"wrap"`, `"constant"` (with `fill_value`), `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: an int for a reproducible sequence of angles.
        fill_value: the value of `"constant"` filling.
        data_format: `"channels_last"` or `"channels_first"`.

    Examples:
        >>> layer = keras.layers.RandomRotation(0.25, seed=3)
        >>> layer(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    _USE_BASE_FACTOR = True

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self._set_warp_arguments(fill_mode, interpolation, fill_value, seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = self._images_of(data)
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed if seed is not None else self._get_seed_generator()
        angle = random.uniform((batch,), minval=self.factor[0] * 360.0,
                               maxval=self.factor[1] * 360.0, seed=seed)
        zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
        transform = self._compute_affine_matrix(0.5, 0.5, angle, zeros, zeros, ones, zeros,
                                                zeros, height, width)
        return {"transform": transform, "angle": angle, "image_size": (height, width)}

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "data_format": self.data_format,
                **self._warp_config()}


class RandomZoom(_AffineLayer):
    """In training, zooms each image in or out about its centre by a random factor.

    Args:
        height_factor: the range of vertical zoom as a fraction: a number `f` draws from
            `[-f, f]`, a pair `(a, b)` from `[a, b]`; each value in (-1, 1]. Positive values
            zoom out (the image shrinks), negative values zoom in.
        width_factor: the same for the horizontal zoom; None (default) zooms both axes by the
            same drawn factor, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.

    Examples:
        >>> keras.layers.RandomZoom(0.2, seed=0)(np.ones((2, 6, 6, 1))).shape
        (2, 6, 6, 1)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _range(self, height_factor, "height_factor",
                                                      -1.0, 1.0, low_open=True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _range(self, width_factor, "width_factor",
                                                        -1.0, 1.0, low_open=True)
        self._set_warp_arguments(fill_mode, interpolation, fill_value, seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = self._images_of(data)
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed if seed is not None else self._get_seed_generator()
        height_zoom = random.uniform((batch, 1), minval=1.0 + self.height_lower,
                                     maxval=1.0 + self.height_upper, seed=seed)
        width_zoom = height_zoom if self.width_factor is None else random.uniform(
            (batch, 1), minval=1.0 + self.width_lower, maxval=1.0 + self.width_upper,
            seed=seed)
        x_offset = (width - 1.0) / 2.0 * (1.0 - width_zoom)
        y_offset = (height - 1.0) / 2.0 * (1.0 - height_zoom)
        zeros = jnp.zeros((batch, 1))
        transform = jnp.concatenate([width_zoom, zeros, x_offset, zeros, height_zoom, y_offset,
                                     zeros, zeros], axis=1)
        return {"transform": transform, "height_zoom": height_zoom, "width_zoom": width_zoom,
                "image_size": (height, width)}

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, "data_format": self.data_format,
                **self._warp_config()}


class RandomTranslation(_AffineLayer):
    """In training, shifts each image by a random fraction of its height and width.

    Args:
        height_factor: the range of the vertical shift as a fraction of the height: a number
            `f` draws from `[-f, f]`, a pair `(a, b)` from `[a, b]`; each value in [-1, 1]
            (positive: down).
        width_factor: the same for the horizontal shift (positive: right).
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.

    Examples:
        >>> keras.layers.RandomTranslation(0.1, 0.2, seed=0)(np.ones((2, 6, 6, 1))).shape
        (2, 6, 6, 1)
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _range(self, height_factor, "height_factor",
                                                      -1.0, 1.0)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _range(self, width_factor, "width_factor",
                                                    -1.0, 1.0)
        self._set_warp_arguments(fill_mode, interpolation, fill_value, seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = self._images_of(data)
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed if seed is not None else self._get_seed_generator()
        shift_y = random.uniform((batch, 1), minval=self.height_lower,
                                 maxval=self.height_upper, seed=seed) * height
        shift_x = random.uniform((batch, 1), minval=self.width_lower,
                                 maxval=self.width_upper, seed=seed) * width
        ones, zeros = jnp.ones((batch, 1)), jnp.zeros((batch, 1))
        transform = jnp.concatenate([ones, zeros, -shift_x, zeros, ones, -shift_y, zeros,
                                     zeros], axis=1)
        return {"transform": transform, "translations": jnp.concatenate([shift_x, shift_y], 1),
                "image_size": (height, width)}

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, "data_format": self.data_format,
                **self._warp_config()}


class RandomShear(_AffineLayer):
    """In training, shears each image along x and/or y by random amounts.

    Args:
        x_factor: the range of the horizontal shear (the x shift per pixel of y): a number
            `f` draws from `[-f, f]`, a pair from its range; each value in [0, 1]. The sign
            is drawn separately, as in Keras.
        y_factor: the same for the vertical shear.
        interpolation, fill_mode, fill_value, data_format, seed: as in `RandomRotation`.

    Examples:
        >>> keras.layers.RandomShear(x_factor=0.3, seed=0)(np.ones((2, 6, 6, 1))).shape
        (2, 6, 6, 1)
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.x_factor = _range(self, x_factor, "x_factor", 0.0, 1.0)
        self.y_factor = _range(self, y_factor, "y_factor", 0.0, 1.0)
        self._set_warp_arguments(fill_mode, interpolation, fill_value, seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = self._images_of(data)
        batch = self._batch_size(images)
        height, width = self._image_size(images)
        seed = seed if seed is not None else self._get_seed_generator()
        dtype = self.compute_dtype
        invert = random.uniform((batch, 1), minval=0, maxval=1, seed=seed, dtype=dtype)
        invert = jnp.where(invert > 0.5, -1.0, 1.0).astype(dtype)
        shear_y = random.uniform((batch, 1), minval=self.y_factor[0], maxval=self.y_factor[1],
                                 seed=seed, dtype=dtype)
        shear_x = random.uniform((batch, 1), minval=self.x_factor[0], maxval=self.x_factor[1],
                                 seed=seed, dtype=dtype)
        shear = jnp.concatenate([shear_x, shear_y], axis=1) * invert
        ones, zeros = jnp.ones((batch,)), jnp.zeros((batch,))
        transform = jnp.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros,
                               zeros], axis=1)
        return {"transform": transform, "shear_factor": shear, "image_size": (height, width)}

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                "data_format": self.data_format, **self._warp_config()}
