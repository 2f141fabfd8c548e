"""Layers that mix images of a batch with each other, and their labels with them: `CutMix`
(pastes a rectangle of another image) and `MixUp` (blends two images).

Each image is paired with the image at a random permutation of the batch; the label becomes
the mix of the two labels in the proportion of the two images, so pass one-hot (or soft)
labels in a dict: `layer({"images": x, "labels": y})`. Draws follow Keras 3's order.
"""

import jax.numpy as jnp

from lamina import random
from lamina._registry import keras_export
from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from lamina.layers.preprocessing.image.color import CompiledEagerCalls, _is_number, images_of
from lamina.layers.preprocessing.image.intensity import box_bounds, box_masks

__all__ = ["CutMix", "MixUp"]


def _mix(values, permutation, weight):
    """`weight * values + (1 - weight) * values[permutation]`, `weight` one per row."""
    weight = jnp.reshape(weight, (-1,) + (1,) * (jnp.ndim(values) - 1))
    return weight * values + (1.0 - weight) * jnp.take(values, permutation, axis=0)


@keras_export("keras.layers.CutMix")
class CutMix(CompiledEagerCalls, BaseImagePreprocessingLayer):
    """CutMix (Yun et al., 2019): during training, pastes into each image a rectangle cut
    from another image of the batch, and mixes the labels by area.

    The rectangle's area is `1 - w` of the image, `w ~ Beta(a, a)` with `a` drawn from
    `factor`; the label becomes `w' * label + (1 - w') * other_label`, `w'` the area actually
    kept. Single images and inference pass through. Segmentation masks are cut and pasted like
    their images; bounding boxes are not supported (as in Keras).

    Args:
        factor: the range of the Beta parameter `a`, a number or pair in `[0, 1]`.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = CutMix(seed=0)
        >>> out = layer({"images": np.random.rand(4, 8, 8, 3),
        ...              "labels": np.eye(4, dtype="float32")})
        >>> np.allclose(out["labels"].sum(axis=1), 1.0)
        True
    """

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_factor(factor)
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        images = images_of(data)
        if not training or jnp.ndim(images) == 3:
            return None
        shape = tuple(jnp.shape(images))
        batch = shape[0]
        height, width = self._image_size(images)
        seed = seed or self.generator
        dtype = self.compute_dtype
        alpha = random.uniform((), minval=self.factor[0], maxval=self.factor[1], dtype=dtype,
                               seed=seed) + 1e-6
        weight = random.beta((batch,), alpha, alpha, dtype=dtype, seed=seed)
        ratio = jnp.sqrt(1.0 - weight)
        x0, x1 = box_bounds(self, batch, width, ratio, seed)
        y0, y1 = box_bounds(self, batch, height, ratio, seed)
        masks = box_masks(self, shape, x0, x1, y0, y1)
        kept = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        permutation = random.shuffle(jnp.arange(batch, dtype=jnp.int32), seed=seed)
        return {"permutation_order": permutation, "batch_masks": masks,
                "mix_weight": kept[:, None, None, None]}

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        pasted = jnp.take(images, transformation["permutation_order"], axis=0)
        return jnp.where(transformation["batch_masks"], pasted, images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return _mix(labels, transformation["permutation_order"], transformation["mix_weight"])

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError(
            f"{self._describe()} does not transform bounding boxes (nor does Keras's CutMix): "
            "a pasted rectangle cuts boxes of both images. Pass a dict without "
            "'bounding_boxes', or use MixUp.")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        masks = jnp.asarray(segmentation_masks)
        if not training or transformation is None:
            return masks
        # The rectangle is the same in every channel; masks keep their own channel count
        # (Keras broadcasts a one-channel mask to the images' channels).
        axis = -1 if self.data_format == "channels_last" else -3
        inside = jnp.take(transformation["batch_masks"], jnp.array([0]), axis=axis)
        pasted = jnp.take(masks, transformation["permutation_order"], axis=0)
        return jnp.where(inside, pasted, masks)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@keras_export("keras.layers.MixUp")
class MixUp(CompiledEagerCalls, BaseImagePreprocessingLayer):
    """MixUp (Zhang et al., 2018): during training, blends each image with another image of
    the batch, `w * x + (1 - w) * x_other` with `w ~ Beta(alpha, alpha)` per image, and the
    labels and segmentation masks in the same proportion.

    Bounding boxes of both images are kept: the boxes (and their labels) of the paired image
    are appended along the boxes axis. (Keras 3.15 appends the box labels along the batch
    axis, which leaves boxes and labels of different lengths.)

    Args:
        alpha: the Beta distribution's parameter; small values keep images nearly intact.
        seed: an int for reproducible draws.

    Examples:
        >>> layer = MixUp(alpha=0.2, seed=0)
        >>> out = layer({"images": np.random.rand(4, 8, 8, 3),
        ...              "labels": np.eye(4, dtype="float32")})
        >>> np.allclose(out["labels"].sum(axis=1), 1.0)
        True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not _is_number(alpha) or alpha <= 0:
            raise ValueError(
                f"{self._describe()}: `alpha`, the Beta distribution's parameter, should be a "
                f"positive number (e.g. 0.2). Received: alpha={alpha!r}")
        self.alpha = alpha
        self.seed = seed
        self.generator = random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = self._batch_size(images_of(data))
        seed = seed or self.generator
        permutation = random.shuffle(jnp.arange(batch, dtype=jnp.int32), seed=seed)
        weight = random.beta((batch,), self.alpha, self.alpha, seed=seed)
        return {"mix_weight": weight, "permutation_order": permutation}

    def transform_images(self, images, transformation=None, training=True):
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training:
            return images
        weight = transformation["mix_weight"].astype(self.compute_dtype)
        return _mix(images, transformation["permutation_order"], weight)

    def transform_labels(self, labels, transformation, training=True):
        if not training:
            return labels
        return _mix(labels, transformation["permutation_order"], transformation["mix_weight"])

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        permutation = transformation["permutation_order"]
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        return {**bounding_boxes,
                "boxes": jnp.concatenate([boxes, jnp.take(boxes, permutation, axis=0)], 1),
                "labels": jnp.concatenate([labels, jnp.take(labels, permutation, axis=0)], 1)}

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return _mix(jnp.asarray(segmentation_masks), transformation["permutation_order"],
                    transformation["mix_weight"])

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}
