"""`MaxNumBoundingBoxes`: a fixed number of boxes per image, for batching and compiled steps."""

import jax.numpy as jnp

from lamina.layers.preprocessing.image.base import BaseImagePreprocessingLayer

__all__ = ["MaxNumBoundingBoxes"]


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Cuts or pads the bounding boxes of each image to `max_number`.

    Images with more boxes keep their first `max_number`; those with fewer are padded with
    boxes and labels of `fill_value` (-1: "no box"). Images, labels and masks pass unchanged.
    A fixed count gives every batch the same shape, so a compiled training step is traced
    once.

    Args:
        max_number: the number of boxes per image.
        fill_value: the value of padded boxes and labels.
        bounding_box_format: the boxes' format (required when boxes are passed, as in
            Keras, though cutting and padding do not depend on it).

    Examples:
        >>> layer = keras.layers.MaxNumBoundingBoxes(max_number=3, bounding_box_format="xyxy")
        >>> out = layer({"images": np.zeros((1, 4, 4, 3)),
        ...              "bounding_boxes": {"boxes": np.ones((1, 2, 4)),
        ...                                 "labels": np.array([[5, 6]])}})
        >>> out["bounding_boxes"]["labels"].tolist()
        [[5, 6, -1]]
    """

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_number, bool) or not float(max_number).is_integer() or \
                int(max_number) < 1:
            raise ValueError(
                f"{self._describe()}: max_number must be a positive integer. Received: "
                f"max_number={max_number!r}")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_labels(self, labels, transformation=None, training=True):
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformation=None,
                                     training=True):
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        boxes = jnp.asarray(bounding_boxes["boxes"])[:, :self.max_number]
        labels = jnp.asarray(bounding_boxes["labels"])[:, :self.max_number]
        missing = self.max_number - boxes.shape[1]
        result = dict(bounding_boxes)
        result["boxes"] = jnp.pad(boxes, [(0, 0), (0, missing), (0, 0)],
                                  constant_values=self.fill_value)
        result["labels"] = jnp.pad(labels, [(0, 0), (0, missing)],
                                   constant_values=self.fill_value)
        return result

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            extra = set(input_shape["bounding_boxes"]) - {"boxes", "labels"}
            if extra:
                raise KeyError(
                    f"{self._describe()}: unsupported keys in `bounding_boxes`: "
                    f"{sorted(extra)}. Only 'boxes' and 'labels' are supported.")
            shape = dict(input_shape)
            boxes = list(input_shape["bounding_boxes"]["boxes"])
            labels = list(input_shape["bounding_boxes"]["labels"])
            boxes[1] = labels[1] = self.max_number
            shape["bounding_boxes"] = {"boxes": tuple(boxes), "labels": tuple(labels)}
            return shape
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number}
