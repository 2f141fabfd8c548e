"""BaseImagePreprocessingLayer: what every image layer shares. Dicts of images, labels, boxes
and masks (batched or single, ragged box lists made dense, the caller's dict left alone), the
training flag (inference returns the input; called directly, a layer augments, as in Keras),
compiled calls that draw fresh numbers each time, the factor argument, a user subclass, and the
errors a user can trigger."""

import numpy as np
import pytest

import lamina as keras
from lamina.layers.preprocessing.image.base import (
    BaseImagePreprocessingLayer,
    densify_bounding_boxes,
)

IMAGES = np.arange(2 * 3 * 4 * 1, dtype="float32").reshape(2, 3, 4, 1)


def test_a_dict_carries_labels_boxes_and_masks_and_is_left_alone():
    data = {"images": IMAGES, "labels": np.array([0, 1]),
            "bounding_boxes": {"boxes": [[[0, 0, 2, 1]], [[1, 1, 3, 2], [0, 0, 1, 1]]],
                               "labels": [[4], [5, 6]]},
            "segmentation_masks": IMAGES.astype("int32")}
    out = keras.layers.Resizing(6, 8, bounding_box_format="xyxy")(data)
    assert sorted(out) == ["bounding_boxes", "images", "labels", "segmentation_masks"]
    assert out["images"].shape == (2, 6, 8, 1) and out["segmentation_masks"].dtype == np.int32
    np.testing.assert_array_equal(out["labels"], [0, 1])
    # Ragged lists were padded with a zero box labelled -1, then scaled by 2.
    np.testing.assert_allclose(out["bounding_boxes"]["boxes"],
                               [[[0, 0, 4, 2], [0, 0, 0, 0]], [[2, 2, 6, 4], [0, 0, 2, 2]]])
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], [[4, -1], [5, 6]])
    assert data["images"] is IMAGES and isinstance(data["bounding_boxes"]["boxes"], list)

    single = keras.layers.Resizing(6, 8, bounding_box_format="xyxy")(
        {"images": IMAGES[0], "bounding_boxes": {"boxes": np.array([[0., 0., 2., 1.]]),
                                                 "labels": np.array([4])}})
    assert single["images"].shape == (6, 8, 1)
    np.testing.assert_allclose(single["bounding_boxes"]["boxes"], [[0, 0, 4, 2]])


def test_densify_cuts_and_pads_box_lists():
    dense = densify_bounding_boxes({"boxes": [[[1, 2, 3, 4]], []], "labels": [[7], []]},
                                   is_batched=True, max_boxes=2)
    np.testing.assert_array_equal(dense["boxes"], [[[1, 2, 3, 4], [0, 0, 0, 0]], [[0] * 4] * 2])
    np.testing.assert_array_equal(dense["labels"], [[7, -1], [-1, -1]])


def test_training_flag_and_compiled_calls():
    layer = keras.layers.RandomFlip("horizontal", seed=2)
    np.testing.assert_array_equal(layer(IMAGES, training=False), IMAGES)
    stacked = np.repeat(IMAGES[:1], 32, axis=0)
    direct = np.asarray(layer(stacked))  # called directly: training=True, as in Keras
    assert {0.0, 3.0} == set(direct[:, 0, 0, 0].tolist())
    step = keras.function(lambda x: layer(x, training=True))
    first, second = np.asarray(step(stacked)), np.asarray(step(stacked))
    assert not np.array_equal(first, second)  # the seed state is carried through the program
    twin = keras.layers.RandomFlip("horizontal", seed=2)
    np.testing.assert_array_equal(twin(stacked), direct)


class Brighten(BaseImagePreprocessingLayer):
    """A user layer on the base: adds a random amount in `factor` (bounded to [0, 1])."""

    _FACTOR_BOUNDS = (0, 1)

    def __init__(self, factor, seed=None, **kwargs):
        super().__init__(factor=factor, **kwargs)
        self.seed, self.generator = seed, keras.random.SeedGenerator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        if not training:
            return None
        return keras.random.uniform((self._batch_size(images), 1, 1, 1), *self.factor,
                                    seed=seed or self.generator)

    def transform_images(self, images, transformation, training=True):
        images = images.astype(self.compute_dtype)
        return images + transformation if training else images

    def transform_labels(self, labels, transformation, training=True):
        return labels


def test_a_subclass_plugs_in_through_the_hooks():
    layer = Brighten(0.5, seed=1)
    assert layer.factor == (0, 0.5)
    out = layer({"images": IMAGES, "labels": np.array([1, 2])}, training=True)
    added = np.asarray(out["images"] - IMAGES)[:, 0, 0, 0]
    assert np.all((added >= 0) & (added <= 0.5))
    np.testing.assert_allclose(out["images"] - IMAGES, added[:, None, None, None]
                               * np.ones_like(IMAGES), atol=1e-6)
    assert layer.get_config()["data_format"] == "channels_last"
    with pytest.raises(ValueError, match=r"Brighten 'brighten.*`factor`.*\[0, 1\].*factor=2"):
        Brighten(2)
    with pytest.raises(ValueError, match=r"expects images with 3 channel.*\(2, 3, 4, 1\)"):
        layer._check_channels(IMAGES, (3,))


def test_bad_input_names_the_layer_and_what_to_do():
    flip = keras.layers.RandomFlip(seed=0, name="flip")
    with pytest.raises(ValueError, match=r"RandomFlip 'flip' expects images of rank 3.*\(3, 4\)"):
        flip(IMAGES[0, ..., 0])
    with pytest.raises(ValueError, match=r"received 'bounding_boxes' but has no "
                                         r"bounding_box_format.*bounding_box_format='xyxy'"):
        flip({"images": IMAGES, "bounding_boxes": {"boxes": np.zeros((2, 1, 4)),
                                                   "labels": np.zeros((2, 1))}})
    with pytest.raises(ValueError, match=r"dict with the key 'images'.*\['pixels'\]"):
        flip({"pixels": IMAGES})
    with pytest.raises(ValueError, match=r"does not take a `factor` argument"):
        keras.layers.Resizing(2, 2, factor=0.3)
    with pytest.raises(ValueError, match=r"data_format"):
        keras.layers.RandomFlip(data_format="channels_middle")
