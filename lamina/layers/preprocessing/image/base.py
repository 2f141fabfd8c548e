"""`BaseImagePreprocessingLayer`: what every image preprocessing and augmentation layer shares.

A layer of this family takes images, a single one `(height, width, channels)` or a batch
`(batch, height, width, channels)` (channels first with `data_format="channels_first"`), or a
dict with the key `"images"` and any of `"labels"`, `"bounding_boxes"` (a dict of `"boxes"`
and `"labels"`) and `"segmentation_masks"`. It draws one random transformation per call and
applies that same transformation to every part of the input, so boxes and masks follow their
images.

Everything runs as JAX ops on arrays: no Python branch looks at an array's values, so the
layers run inside `jit` and inside the compiled training step of `fit`. Randomness comes from
the layer's `SeedGenerator` (`self.generator`), whose state is a Variable: each call draws a
new key, and the sequence is reproducible from `seed`.
"""

import math
import types

import jax
import jax.numpy as jnp
import numpy as np

from lamina import ops, random
from lamina.layers import _spatial_args
from lamina.layers.layer import Layer

__all__ = ["BaseImagePreprocessingLayer", "densify_bounding_boxes"]

_DATA_KEYS = ("images", "labels", "bounding_boxes", "segmentation_masks")


def _cast(x, dtype):
    return jnp.asarray(x).astype(dtype)


# `self.backend` in Keras's image layers is a switchable backend (TensorFlow inside tf.data);
# lamina always computes with JAX, so this is a fixed namespace of lamina's ops under the
# names Keras's layer code uses (`self.backend.numpy.where`, `self.backend.random.uniform`).
_BACKEND = types.SimpleNamespace(
    name="jax", _backend="jax", numpy=ops.numpy, image=ops.image, nn=ops.nn, math=ops.math,
    linalg=ops.linalg, core=ops.core, random=random, cast=_cast,
    convert_to_tensor=ops.convert_to_tensor, shape=lambda x: tuple(jnp.shape(x)),
    set_backend=lambda name: None, reset=lambda: None)


def _is_ragged_list(value):
    return isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple)) for v in value)


def densify_bounding_boxes(bounding_boxes, is_batched=False, max_boxes=None,
                           boxes_default_value=0, labels_default_value=-1):
    """Boxes given as (possibly ragged) Python lists become dense arrays.

    `bounding_boxes` is `{"boxes": ..., "labels": ...}`. Batched lists of different lengths are
    padded to the longest (or cut to `max_boxes`): padded boxes hold `boxes_default_value`,
    padded labels `labels_default_value` (-1, "no box"). Arrays pass through (boxes as
    float32).
    """
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes or \
            "labels" not in bounding_boxes:
        raise ValueError(
            "Expected `bounding_boxes` to be a dict with the keys 'boxes' and 'labels'. "
            f"Received: bounding_boxes={bounding_boxes!r}")
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if isinstance(boxes, (list, tuple)) != isinstance(labels, (list, tuple)):
        raise ValueError(
            "bounding_boxes['boxes'] and bounding_boxes['labels'] must both be lists or both "
            f"arrays. Received: boxes of type {type(boxes).__name__}, labels of type "
            f"{type(labels).__name__}")
    result = dict(bounding_boxes)
    if isinstance(boxes, (list, tuple)) and is_batched and _is_ragged_list(boxes) and \
            boxes and all(isinstance(b, (list, tuple)) for b in boxes) and \
            any(isinstance(x, (list, tuple)) for b in boxes for x in b):
        if len(boxes) != len(labels):
            raise ValueError(
                "bounding_boxes['boxes'] and ['labels'] must list the same number of images. "
                f"Received: {len(boxes)} and {len(labels)}")
        count = max_boxes if max_boxes is not None else max(len(b) for b in boxes)
        dense_boxes = np.full((len(boxes), count, 4), boxes_default_value, np.float32)
        dense_labels = np.full((len(boxes), count), labels_default_value, np.int32)
        for i, (b, lab) in enumerate(zip(boxes, labels)):
            b, lab = list(b)[:count], list(lab)[:count]
            if b:
                dense_boxes[i, :len(b)] = np.asarray(b, np.float32).reshape(len(b), 4)
            dense_labels[i, :len(lab)] = np.asarray(lab, np.int32)
        result["boxes"], result["labels"] = dense_boxes, dense_labels
        return result
    result["boxes"] = jnp.asarray(boxes, jnp.float32) if not isinstance(
        boxes, jax.Array) or boxes.dtype != jnp.float32 else boxes
    result["labels"] = jnp.asarray(labels)
    return result


class BaseImagePreprocessingLayer(Layer):
    """The base of lamina's image preprocessing and augmentation layers (Keras 3's
    `BaseImagePreprocessingLayer`).

    `call(data, training=True)` accepts images (rank 3 or 4) or a dict with `"images"` and
    optionally `"labels"`, `"bounding_boxes"` (`{"boxes", "labels"}`, boxes in
    `bounding_box_format`) and `"segmentation_masks"`. It draws one transformation with
    `get_random_transformation(data, training)` and passes it to `transform_images`,
    `transform_labels`, `transform_bounding_boxes` and `transform_segmentation_masks`. A single
    image is given a batch axis of 1 for the transforms and loses it afterwards (boxes too), so
    the transforms only ever see batches. With `training=False` random layers return their
    input (cast to the compute dtype); the default is `training=True` when the layer is called
    directly, as in Keras, and `fit`/`predict` pass the right flag.

    How a subclass plugs in (the same hooks as Keras, so Keras layer code ports):

    * `__init__`: call `super().__init__(factor=..., bounding_box_format=..., data_format=...,
      **kwargs)`; store `self.seed = seed` and `self.generator = keras.random.SeedGenerator(
      seed)`. Set the class attribute `_USE_BASE_FACTOR = False` if the layer has no `factor`
      argument (or parses its own), else `_FACTOR_BOUNDS = (low, high)` bounds it and
      `self.factor` becomes a `(lower, upper)` pair (a number `f` means `(-f, f)`, clipped).
    * `get_random_transformation(self, data, training=True, seed=None)`: return a dict (or
      any pytree) of arrays drawn with `seed or self.generator` (e.g.
      `keras.random.uniform((batch,), seed=self.generator)`), or None when not training.
      Use `self._batch_size(images)` and `self._image_size(images)` for shapes (static ints).
    * `transform_images(self, images, transformation, training=True)`: `images` is a batch in
      `self.data_format`; return the transformed batch. The default casts to the compute
      dtype and, when training, calls `self._transform_images(images, transformation,
      self.interpolation)`, so geometric layers need only write `_transform_images`.
    * `transform_labels`, `transform_bounding_boxes` (boxes arrive dense, shape `(batch,
      boxes, 4)` in `bounding_box_format`), `transform_segmentation_masks` (default: the image
      transform with `"nearest"` interpolation).
    * `compute_output_shape(input_shape)` and `get_config()` (call `super().get_config()`).

    Helpers: `self.backend` (lamina's ops under Keras's `self.backend.numpy/.image/.random`
    names), `_transform_value_range`, `_compute_affine_matrix` (Keras's 8-parameter
    transforms for `ops.image.affine_transform`), `_check_channels` (a ValueError that names
    the layer and the shape).

    Examples:
        >>> class Negate(BaseImagePreprocessingLayer):
        ...     _USE_BASE_FACTOR = False
        ...     def __init__(self, seed=None, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.seed, self.generator = seed, lamina.random.SeedGenerator(seed)
        ...     def get_random_transformation(self, data, training=True, seed=None):
        ...         images = data["images"] if isinstance(data, dict) else data
        ...         if not training:
        ...             return None
        ...         draw = lamina.random.uniform((self._batch_size(images),),
        ...                                      seed=seed or self.generator)
        ...         return {"negate": draw < 0.5}
        ...     def transform_images(self, images, transformation, training=True):
        ...         images = images.astype(self.compute_dtype)
        ...         if not training:
        ...             return images
        ...         return jnp.where(transformation["negate"][:, None, None, None], -images,
        ...                          images)
        >>> Negate(seed=1)(np.ones((4, 2, 2, 1)), training=False).sum().item()
        16.0
    """

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)
    # An eager call (`layer(images)`) runs as one compiled program per input signature,
    # drawing from and advancing the seed generator like any carried state, instead of
    # compiling each of the dozens of small ops of a warp on its first use.
    _compile_eager_calls = True

    def __init__(self, factor=None, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.data_format = _spatial_args.data_format(data_format, self._describe())
        if self._USE_BASE_FACTOR:
            self._set_factor(factor or 0.0)
        elif factor is not None:
            raise ValueError(
                f"{self._describe()} does not take a `factor` argument. Received: "
                f"factor={factor!r}")
        self.built = True  # no weights: eager calls compile from the first one

    # ------------------------------------------------------------------------- arguments
    def _describe(self):
        return f"{type(self).__name__} '{self.name}'"

    def _set_factor(self, factor):
        low, high = self._FACTOR_BOUNDS
        message = (
            f"{self._describe()}: the `factor` argument should be a number (or a list of two "
            f"numbers) in the range [{low}, {high}]. Received: factor={factor!r}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or not all(_is_number(f) for f in factor):
                raise ValueError(message)
            if factor[0] > high or factor[1] < low:
                raise ValueError(message)
            lower, upper = sorted(factor)
        elif _is_number(factor):
            if factor < low or factor > high:
                raise ValueError(message)
            factor = abs(factor)
            lower, upper = max(-factor, low), factor
        else:
            raise ValueError(message)
        self.factor = (lower, upper)

    @property
    def backend(self):
        """lamina's ops under the names Keras's layer code uses: `numpy`, `image`, `random`,
        `core`, `nn`, `math`, `cast`, `convert_to_tensor`, `shape`."""
        return _BACKEND

    def _get_seed_generator(self, backend=None):
        del backend
        if not hasattr(self, "seed") or not hasattr(self, "generator"):
            raise ValueError(
                f"{self._describe()}: set `self.seed` and `self.generator` "
                "(a keras.random.SeedGenerator) in __init__ before drawing random numbers.")
        return self.generator

    def _draw_applied(self, batch, seed):
        """Per image, whether a layer whose `factor` is a probability range applies: a
        probability drawn from `factor`, then a uniform threshold below it. Keras's two draws,
        in its order, so a seed gives Keras's choices."""
        probability = random.uniform((batch,), minval=self.factor[0], maxval=self.factor[1],
                                     seed=seed)
        return random.uniform((batch,), seed=seed) < probability

    # ------------------------------------------------------------------------- shapes
    def _axes(self):
        """Height, width and channel axes of a batch in this layer's data format."""
        return (1, 2, 3) if self.data_format == "channels_last" else (2, 3, 1)

    def _batch_size(self, images):
        shape = jnp.shape(images)
        return 1 if len(shape) == 3 else shape[0]

    def _image_size(self, images):
        """(height, width) of an image or a batch, as static ints."""
        shape = jnp.shape(images)
        if self.data_format == "channels_last":
            return shape[-3], shape[-2]
        return shape[-2], shape[-1]

    def _is_batched(self, images):
        shape = tuple(jnp.shape(images))
        if len(shape) == 3:
            return False
        if len(shape) == 4:
            return True
        raise ValueError(
            f"{self._describe()} expects images of rank 3 (a single image) or rank 4 (a "
            f"batch of images), {'(height, width, channels)' if self.data_format == 'channels_last' else '(channels, height, width)'} "  # noqa: E501
            f"per image ({self.data_format}). Received: images of shape {shape}.")

    def _check_channels(self, images, allowed, why=""):
        """Raises a ValueError naming the layer and the shape unless the images' channel count
        is in `allowed` (a tuple of ints)."""
        shape = tuple(jnp.shape(images))
        channels = shape[-1] if self.data_format == "channels_last" else shape[-3]
        if channels not in allowed:
            expected = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{self._describe()} expects images with {expected} channel(s){why}. "
                f"Received: images of shape {shape} ({self.data_format}, so {channels} "
                "channels). Convert the images, or set data_format if the channels are on the "
                "other axis.")

    # ------------------------------------------------------------------------- hooks
    def get_random_transformation(self, data, training=True, seed=None):
        """The random parameters of one call (a pytree of arrays), or None."""
        return None

    def _transform_images(self, images, transformation, interpolation):
        raise NotImplementedError(
            f"{type(self).__name__} must implement transform_images() or "
            "_transform_images(images, transformation, interpolation).")

    def transform_images(self, images, transformation, training=True):
        """Transforms a batch of images (cast to the compute dtype)."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if training:
            images = self._transform_images(images, transformation,
                                            getattr(self, "interpolation", "bilinear"))
        return images

    def transform_labels(self, labels, transformation, training=True):
        """Transforms a batch of labels (classification targets)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not transform 'labels'. Pass a dict without that "
            "key, or implement transform_labels().")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Transforms `{"boxes": (batch, n, 4), "labels": (batch, n)}`."""
        raise NotImplementedError(
            f"{type(self).__name__} does not transform 'bounding_boxes'. Pass a dict without "
            "that key, or implement transform_bounding_boxes().")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        """Transforms a batch of segmentation masks like the images, by nearest neighbour."""
        if training:
            segmentation_masks = self._transform_images(
                segmentation_masks, transformation, "nearest")
        return segmentation_masks

    # Keras's single-sample variants: add a batch axis, transform, remove it.
    def transform_single_image(self, image, transformation, training=True):
        return self.transform_images(jnp.asarray(image)[None], transformation,
                                     training=training)[0]

    def transform_single_label(self, label, transformation, training=True):
        return self.transform_labels(jnp.asarray(label)[None], transformation,
                                     training=training)[0]

    def transform_single_bounding_box(self, bounding_box, transformation, training=True):
        batched = {k: (jnp.asarray(v)[None] if k in ("boxes", "labels") else v)
                   for k, v in bounding_box.items()}
        out = self.transform_bounding_boxes(batched, transformation, training=training)
        return {k: (v[0] if k in ("boxes", "labels") else v) for k, v in out.items()}

    def transform_single_segmentation_mask(self, segmentation_mask, transformation,
                                           training=True):
        return self.transform_segmentation_masks(
            jnp.asarray(segmentation_mask)[None], transformation, training=training)[0]

    # ------------------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        # Ragged box lists cannot become arrays: make them dense before the call converts
        # its inputs.
        if args and isinstance(args[0], dict) and "bounding_boxes" in args[0]:
            data = dict(args[0])
            boxes = data["bounding_boxes"]
            if isinstance(boxes, dict) and isinstance(boxes.get("boxes"), (list, tuple)):
                batched = np.ndim(data["images"]) == 4
                data["bounding_boxes"] = densify_bounding_boxes(boxes, is_batched=batched)
            args = (data,) + args[1:]
        return super().__call__(*args, **kwargs)

    def call(self, data, training=True):
        if isinstance(data, dict):
            return self._call_on_dict(data, training)
        batched = self._is_batched(data)
        transformation = self.get_random_transformation(data, training=training)
        if batched:
            return self.transform_images(jnp.asarray(data), transformation, training=training)
        return self.transform_single_image(jnp.asarray(data), transformation,
                                           training=training)

    def _call_on_dict(self, data, training):
        unknown = sorted(set(data) - set(_DATA_KEYS))
        if "images" not in data or unknown:
            raise ValueError(
                f"{self._describe()} takes images, or a dict with the key 'images' and "
                f"optionally {list(_DATA_KEYS[1:])}. Received a dict with keys {sorted(data)}.")
        data = dict(data)  # the caller's dict is left as it was
        batched = self._is_batched(data["images"])
        transformation = self.get_random_transformation(data, training=training)
        if batched:
            data["images"] = self.transform_images(jnp.asarray(data["images"]), transformation,
                                                   training=training)
        else:
            data["images"] = self.transform_single_image(jnp.asarray(data["images"]),
                                                         transformation, training=training)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(
                    f"{self._describe()} received 'bounding_boxes' but has no "
                    "bounding_box_format. Create the layer with the format of the boxes, "
                    "e.g. bounding_box_format='xyxy'.")
            boxes = densify_bounding_boxes(data["bounding_boxes"], is_batched=batched)
            if batched:
                data["bounding_boxes"] = self.transform_bounding_boxes(
                    boxes, transformation, training=training)
            else:
                data["bounding_boxes"] = self.transform_single_bounding_box(
                    boxes, transformation, training=training)
        if "labels" in data:
            labels = jnp.asarray(data["labels"])
            data["labels"] = (self.transform_labels if batched else self.transform_single_label)(
                labels, transformation, training=training)
        if "segmentation_masks" in data:
            masks = jnp.asarray(data["segmentation_masks"])
            data["segmentation_masks"] = (
                self.transform_segmentation_masks if batched
                else self.transform_single_segmentation_mask)(
                    masks, transformation, training=training)
        return data

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config

    # ------------------------------------------------------------------------- helpers
    def _transform_value_range(self, images, original_range, target_range, dtype="float32"):
        """Maps values linearly from `original_range` to `target_range` (pairs of numbers)."""
        if original_range[0] == target_range[0] and original_range[1] == target_range[1]:
            return images
        images = jnp.asarray(images).astype(dtype)
        low, high = (jnp.asarray(v, dtype) for v in original_range)
        new_low, new_high = (jnp.asarray(v, dtype) for v in target_range)
        return (images - low) / (high - low) * (new_high - new_low) + new_low

    def _unwrap_value_range(self, value_range, dtype="float32"):
        return tuple(jnp.asarray(v, dtype) for v in value_range)

    def _compute_affine_matrix(self, center_x, center_y, angle, translate_x, translate_y,
                               scale, shear_x, shear_y, height, width):
        """Rows `[a0, a1, a2, b0, b1, b2, 0, 0]` for `ops.image.affine_transform` (output pixel
        to input pixel): scale, then shear, then rotate by `angle` degrees about the centre
        `(center_x, center_y)` given as fractions of `(width - 1, height - 1)`, then translate
        by `(translate_x, translate_y)` pixels. Each argument is an array `(batch,)`; shear
        angles are in degrees."""
        to_radians = math.pi / 180.0
        angle = angle * to_radians
        dtype = angle.dtype
        cx = center_x * (jnp.asarray(width, dtype) - 1)
        cy = center_y * (jnp.asarray(height, dtype) - 1)
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        shear_x, shear_y = jnp.tan(shear_x * to_radians), jnp.tan(shear_y * to_radians)
        a0 = scale * (cos + shear_x * sin)
        a1 = scale * (-sin + shear_x * cos)
        a2 = translate_x + cx - cx * a0 - cy * a1
        b0 = scale * (shear_y * cos + sin)
        b1 = scale * (shear_y * -sin + cos)
        b2 = translate_y + cy - cx * b0 - cy * b1
        zeros = jnp.zeros_like(a0)
        return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool)

