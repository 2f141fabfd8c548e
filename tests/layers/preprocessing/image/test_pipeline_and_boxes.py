"""Pipeline (layers in order, `training` passed on, Keras 3.15's config) and
MaxNumBoundingBoxes (a fixed number of boxes per image, Keras's padding)."""

import numpy as np
import pytest

import lamina as keras

IMAGES = np.arange(2 * 4 * 4 * 1, dtype="float32").reshape(2, 4, 4, 1)


def test_pipeline_applies_its_layers_in_order_and_passes_training():
    pipeline = keras.layers.Pipeline([keras.layers.RandomFlip("vertical", seed=0),
                                      keras.layers.CenterCrop(2, 2)], name="augment")
    np.testing.assert_array_equal(pipeline(IMAGES, training=False), IMAGES[:, 1:3, 1:3])
    stacked = np.repeat(IMAGES[:1], 16, axis=0)
    firsts = np.asarray(pipeline(stacked, training=True))[:, 0, 0, 0]
    assert set(firsts.tolist()) == {5.0, 9.0}  # rows 1..2 of the image, flipped or not
    config = pipeline.get_config()
    assert config["name"] == "augment"
    assert [layer["class_name"] for layer in config["layers"]] == ["RandomFlip", "CenterCrop"]
    clone = keras.layers.Pipeline.from_config(config)
    assert clone.get_config() == config and len(clone.layers) == 2
    with pytest.raises(TypeError, match=r"must be a layer.*position 1"):
        keras.layers.Pipeline([keras.layers.RandomFlip(), "resize"])


def test_max_num_bounding_boxes_cuts_and_pads():
    layer = keras.layers.MaxNumBoundingBoxes(2, bounding_box_format="xyxy")
    boxes = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    out = layer({"images": IMAGES, "bounding_boxes": {"boxes": boxes,
                                                      "labels": np.array([[1, 2, 3]] * 2)}})
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], boxes[:, :2])
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], [[1, 2], [1, 2]])
    padded = keras.layers.MaxNumBoundingBoxes(4, fill_value=-2, bounding_box_format="xyxy")(
        {"images": IMAGES, "bounding_boxes": {"boxes": boxes, "labels": np.ones((2, 3))}})
    np.testing.assert_array_equal(padded["bounding_boxes"]["boxes"][:, 3], -2)
    np.testing.assert_array_equal(padded["bounding_boxes"]["labels"][:, 3], [-2, -2])
    np.testing.assert_array_equal(padded["images"], IMAGES)
    # Keras 3.15's config: the base layer's, and max_number (fill_value is not saved).
    assert layer.get_config() == {
        "name": "max_num_bounding_boxes", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy",
                  "config": {"name": "float32"}, "registered_name": None},
        "data_format": "channels_last", "bounding_box_format": "xyxy", "max_number": 2}
    with pytest.raises(ValueError, match=r"max_number must be a positive integer.*0"):
        keras.layers.MaxNumBoundingBoxes(0)
