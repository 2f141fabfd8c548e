"""Layers that change the image size: `Resizing`, `CenterCrop` and `RandomCrop`."""

import jax
import jax.numpy as jnp

from lamina import ops, random
from lamina._runtime.rng import make_default_seed
from lamina.layers import _spatial_args
from lamina.layers.preprocessing.image import bounding_boxes as boxes_lib
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer

__all__ = ["CenterCrop", "RandomCrop", "Resizing"]

_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _saturate_cast(x, dtype):
    """Casts `x` to `dtype`, clipping integers to the type's range first."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
        x = jnp.clip(x, info.min, info.max)
    return x.astype(dtype)


def _check_size(layer, height, width):
    where = layer._describe()
    return (_spatial_args.positive_int(height, "height", where),
            _spatial_args.positive_int(width, "width", where))


def _aspect_crop(height, width, target_height, target_width):
    """Keras's largest centred window of the target aspect ratio: (top, left, h, w)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return (int(float(height - crop_height) / 2), int(float(width - crop_width) / 2),
            crop_height, crop_width)


class _SizingLayer(BaseImagePreprocessingLayer):
    _USE_BASE_FACTOR = False

    def _set_size(self, images, top, left, crop_height, crop_width, interpolation):
        """Crops the window (static or traced offsets) and resizes it to the layer's size."""
        h_axis, w_axis, _ = self._axes()
        starts = [0] * images.ndim
        starts[h_axis], starts[w_axis] = top, left
        sizes = list(images.shape)
        sizes[h_axis], sizes[w_axis] = crop_height, crop_width
        images = jax.lax.dynamic_slice(images, starts, sizes)
        if (crop_height, crop_width) != (self.height, self.width):
            dtype = images.dtype
            images = ops.image.resize(images, (self.height, self.width),
                                      interpolation=interpolation,
                                      data_format=self.data_format).astype(dtype)
        return images

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                f"{self._describe()} takes images of rank 3 or 4. Received: input_shape="
                f"{tuple(input_shape)}")
        offset = len(shape) - 3
        if self.data_format == "channels_last":
            shape[offset], shape[offset + 1] = self.height, self.width
        else:
            shape[offset + 1], shape[offset + 2] = self.height, self.width
        return tuple(shape)


class Resizing(_SizingLayer):
    """Resizes images to `(height, width)`, in training and inference alike.

    Args:
        height, width: the output size.
        interpolation: `"bilinear"` (default), `"nearest"`, `"bicubic"`, `"lanczos3"`,
            `"lanczos5"`.
        crop_to_aspect_ratio: resize the largest centred window with the target's aspect
            ratio (no distortion; the rest is cut).
        pad_to_aspect_ratio: pad the image (with `fill_value`) to the target's aspect ratio
            first (no distortion, nothing cut).
        fill_mode: `"constant"` (the only mode, as in Keras), `fill_value`: the padding value.
        antialias: low-pass filter when downsampling.
        data_format: `"channels_last"` or `"channels_first"`.

    Integer images keep their dtype (values rounded and clipped), as in Keras. Bounding boxes
    are moved with the image; segmentation masks are resized by nearest neighbour.

    Examples:
        >>> keras.layers.Resizing(2, 3)(np.ones((4, 6, 6, 1))).shape
        (4, 2, 3, 1)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(self, height, width)
        if interpolation not in _RESIZE_INTERPOLATIONS:
            raise ValueError(
                f"{self._describe()}: unknown interpolation {interpolation!r}. Expected one of "
                f"{_RESIZE_INTERPOLATIONS}. Received: interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"{self._describe()}: only one of crop_to_aspect_ratio and "
                "pad_to_aspect_ratio can be True. Received both.")
        if fill_mode != "constant":
            raise ValueError(
                f"{self._describe()}: fill_mode must be 'constant' (the only mode Keras "
                f"supports here). Received: fill_mode={fill_mode!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        return self._image_size(images)

    def _transform_images(self, images, transformation, interpolation):
        resized = ops.image.resize(
            images, (self.height, self.width), interpolation=interpolation,
            antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
            fill_value=self.fill_value, data_format=self.data_format)
        if resized.dtype == images.dtype:
            return resized
        if jnp.issubdtype(images.dtype, jnp.integer):
            resized = jnp.round(resized)
        return _saturate_cast(resized, images.dtype)

    def transform_images(self, images, transformation=None, training=True):
        return self._transform_images(jnp.asarray(images), transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation=None,
                                     training=True):
        return self._transform_images(jnp.asarray(segmentation_masks), transformation,
                                      "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        height, width = transformation
        padding = jnp.all(bounding_boxes["boxes"] == -1, axis=-1) | jnp.all(
            bounding_boxes["boxes"] == 0, axis=-1)
        boxes = boxes_lib.convert_format(bounding_boxes, self.bounding_box_format, "xyxy",
                                         height=height, width=width)
        x1, y1, x2, y2 = (boxes["boxes"][..., i] for i in range(4))
        if self.pad_to_aspect_ratio:
            ratio = min(self.height / height, self.width / width)
            dy, dx = (self.height - height * ratio) // 2, (self.width - width * ratio) // 2
            sx = sy = ratio
        elif self.crop_to_aspect_ratio:
            source, target = width / height, self.width / self.height
            new_width = self.height * source if source > target else self.width
            new_height = self.height if source > target else self.width / source
            sx, sy = new_width / width, new_height / height
            dx, dy = -((new_width - self.width) // 2), -((new_height - self.height) // 2)
        else:
            sx, sy, dx, dy = self.width / width, self.height / height, 0.0, 0.0
        boxes["boxes"] = jnp.stack([x1 * sx + dx, y1 * sy + dy, x2 * sx + dx, y2 * sy + dy], -1)
        boxes = boxes_lib.clip_to_image_size(boxes, height=self.height, width=self.width)
        boxes["boxes"] = jnp.where(padding[..., None], 0.0, boxes["boxes"])
        return boxes_lib.convert_format(boxes, "xyxy", self.bounding_box_format,
                                        height=self.height, width=self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias,
                "data_format": self.data_format}


class CenterCrop(_SizingLayer):
    """Crops the centre `(height, width)` of images, in training and inference alike.

    An image smaller than the target on either side is first cut to the target's aspect
    ratio and resized (bilinear; nearest for segmentation masks), as Keras does. Bounding boxes
    are moved and clipped to the crop.

    Examples:
        >>> keras.layers.CenterCrop(2, 2)(np.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(self, height, width)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        return {"input_shape": tuple(jnp.shape(images))}

    def _window(self, height, width):
        if height >= self.height and width >= self.width:
            return ((height - self.height) // 2, (width - self.width) // 2, self.height,
                    self.width)
        return _aspect_crop(height, width, self.height, self.width)

    def _center_crop(self, images, interpolation):
        return self._set_size(images, *self._window(*self._image_size(images)), interpolation)

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        return self._center_crop(images, "bilinear")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._center_crop(jnp.asarray(segmentation_masks), "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = transformation["input_shape"]
        height, width = (shape[-3], shape[-2]) if self.data_format == "channels_last" else (
            shape[-2], shape[-1])
        return _crop_boxes(self, bounding_boxes, height, width,
                           *self._window(height, width))

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}


def _crop_boxes(layer, bounding_boxes, height, width, top, left, crop_height, crop_width):
    """Boxes of an image of `height` x `width` after cropping the window and resizing it to
    the layer's size."""
    boxes = boxes_lib.convert_format(bounding_boxes, layer.bounding_box_format, "xyxy",
                                     height=height, width=width)
    x1, y1, x2, y2 = (boxes["boxes"][..., i] for i in range(4))
    top = jnp.asarray(top, x1.dtype)
    left = jnp.asarray(left, x1.dtype)
    sx, sy = layer.width / crop_width, layer.height / crop_height
    x1 = (jnp.clip(x1, left, left + crop_width) - left) * sx
    x2 = (jnp.clip(x2, left, left + crop_width) - left) * sx
    y1 = (jnp.clip(y1, top, top + crop_height) - top) * sy
    y2 = (jnp.clip(y2, top, top + crop_height) - top) * sy
    boxes["boxes"] = jnp.stack([x1, y1, x2, y2], axis=-1)
    boxes = boxes_lib.clip_to_image_size(boxes, height=layer.height, width=layer.width)
    return boxes_lib.convert_format(boxes, "xyxy", layer.bounding_box_format,
                                    height=layer.height, width=layer.width)


class RandomCrop(_SizingLayer):
    """In training, crops a random `(height, width)` window (one position per batch, as in
    Keras); in inference, crops the centre.

    An image not larger than the target on both sides is cut to the target's aspect ratio and
    resized instead, in training and inference alike. (Keras 3.15's own layer returns its input
    uncropped at inference, against its documentation and its output shape; lamina follows the
    documentation, so a model's output shape does not depend on `training`.)

    Examples:
        >>> layer = keras.layers.RandomCrop(2, 2, seed=0)
        >>> layer(np.ones((3, 5, 5, 1)), training=True).shape
        (3, 2, 2, 1)
        >>> layer(np.arange(25.0).reshape(5, 5, 1), training=False)[..., 0].tolist()
        [[6.0, 7.0], [11.0, 12.0]]
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(data_format=data_format, name=name, **kwargs)
        self.height, self.width = _check_size(self, height, width)
        self.seed = seed if seed is not None else make_default_seed()
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        height, width = self._image_size(images)
        if training and height > self.height and width > self.width:
            seed = seed if seed is not None else self._get_seed_generator()
            top = random.uniform((), 0, float(height - self.height + 1), seed=seed)
            left = random.uniform((), 0, float(width - self.width + 1), seed=seed)
            window = (top.astype("int32"), left.astype("int32"), self.height, self.width)
        elif height >= self.height and width >= self.width:
            window = ((height - self.height) // 2, (width - self.width) // 2, self.height,
                      self.width)
        else:
            # As Keras: the window of the target size at the aspect-ratio crop's corner, cut
            # by the image's edges, then resized.
            top, left, _, _ = _aspect_crop(height, width, self.height, self.width)
            window = (top, left, min(self.height, height - top), min(self.width, width - left))
        return {"window": window, "image_size": (height, width)}

    def transform_images(self, images, transformation, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        return self._set_size(images, *transformation["window"], "bilinear")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._set_size(jnp.asarray(segmentation_masks), *transformation["window"],
                              "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return _crop_boxes(self, bounding_boxes, *transformation["image_size"],
                           *transformation["window"])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed, "data_format": self.data_format}

