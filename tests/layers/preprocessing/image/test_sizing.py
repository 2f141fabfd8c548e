"""Resizing, CenterCrop and RandomCrop: Keras 3.15's numbers (aspect-ratio padding and
cropping, bicubic, integer images, upscaling centre crops, a seeded random crop), output shapes,
inference behaviour, boxes moved with the image, and errors."""

import numpy as np
import pytest

import lamina as keras

IMAGES = np.arange(40, dtype="float32").reshape(2, 4, 5, 1) * 6.0


def test_resizing_matches_keras():
    layer = keras.layers.Resizing(3, 5, pad_to_aspect_ratio=True, fill_value=-1.0)
    np.testing.assert_allclose(layer(IMAGES)[..., 0], [[[5.0, 11.0, 17.0, 23.0, 29.0], [45.0, 51.0, 57.0, 63.0, 69.0], [85.0, 91.0, 97.0, 103.0, 109.0]], [[125.0, 131.0, 137.0, 143.0, 149.0], [165.0, 171.0, 177.0, 183.0, 189.0], [205.0, 211.0, 217.0, 223.0, 229.0]]], atol=2e-3)
    layer = keras.layers.Resizing(2, 3, crop_to_aspect_ratio=True, interpolation="bicubic")
    np.testing.assert_allclose(layer(IMAGES)[..., 0], [[[6.485, 17.036, 27.588], [56.412, 66.964, 77.515]], [[126.485, 137.036, 147.588], [176.412, 186.964, 197.515]]],
                               atol=2e-3)
    out = keras.layers.Resizing(3, 3)(IMAGES.astype("uint8"))
    assert out.dtype == np.uint8  # rounded and kept in the input's integer type, as Keras
    np.testing.assert_array_equal(out[..., 0], [[[7, 17, 27], [47, 57, 67], [87, 97, 107]], [[127, 137, 147], [167, 177, 187], [207, 217, 227]]])
    assert layer.compute_output_shape((None, 4, 5, 1)) == (None, 2, 3, 1)


def test_center_crop_matches_keras_and_crops_in_inference():
    crop = keras.layers.CenterCrop(2, 3)
    np.testing.assert_array_equal(crop(IMAGES, training=False), IMAGES[:, 1:3, 1:4])
    # Larger than the image: cut to the aspect ratio and resized, as Keras does.
    np.testing.assert_allclose(keras.layers.CenterCrop(5, 4)(IMAGES)[..., 0],
                               [[[6.0, 9.75, 14.25, 18.0], [27.0, 30.75, 35.25, 39.0], [51.0, 54.75, 59.25, 63.0], [75.0, 78.75, 83.25, 87.0], [96.0, 99.75, 104.25, 108.0]], [[126.0, 129.75, 134.25, 138.0], [147.0, 150.75, 155.25, 159.0], [171.0, 174.75, 179.25, 183.0], [195.0, 198.75, 203.25, 207.0], [216.0, 219.75, 224.25, 228.0]]], atol=2e-3)


def test_random_crop_matches_keras_and_takes_the_centre_in_inference():
    layer = keras.layers.RandomCrop(3, 3, seed=3)
    np.testing.assert_allclose(layer(IMAGES, training=True)[..., 0], [[[42.0, 48.0, 54.0], [72.0, 78.0, 84.0], [102.0, 108.0, 114.0]], [[162.0, 168.0, 174.0], [192.0, 198.0, 204.0], [222.0, 228.0, 234.0]]])
    np.testing.assert_array_equal(layer(IMAGES, training=False), IMAGES[:, 0:3, 1:4])
    model = keras.Sequential([keras.Input((4, 5, 1)), layer])
    assert model.predict(IMAGES, verbose=0).shape == (2, 3, 3, 1)
    config = layer.get_config()
    assert config["seed"] == 3 and config["height"] == 3 and config["width"] == 3


def test_boxes_move_with_the_resized_and_cropped_image():
    data = {"images": np.zeros((1, 10, 20, 3), "float32"),
            "bounding_boxes": {"boxes": np.array([[[1, 2, 5, 6], [10, 0, 20, 10]]], "float32"),
                               "labels": np.array([[1, 2]])}}
    resized = keras.layers.Resizing(5, 10, bounding_box_format="xyxy")(data)
    np.testing.assert_allclose(resized["bounding_boxes"]["boxes"],
                               [[[0.5, 1, 2.5, 3], [5, 0, 10, 5]]])
    cropped = keras.layers.CenterCrop(6, 8, bounding_box_format="xyxy")(data)
    # The window is rows 2..8, columns 6..14: the first box falls outside it.
    np.testing.assert_allclose(cropped["bounding_boxes"]["boxes"],
                               [[[0, 0, 0, 4], [4, 0, 8, 6]]])
    np.testing.assert_array_equal(cropped["bounding_boxes"]["labels"], [[-1, 2]])
    assert cropped["images"].shape == (1, 6, 8, 3)


def test_bad_sizes_and_interpolations_are_refused():
    with pytest.raises(ValueError, match=r"Resizing 'resizing'.*`height` must be a positive"):
        keras.layers.Resizing(0, 3)
    with pytest.raises(ValueError, match=r"interpolation 'area'.*'bilinear', 'nearest'"):
        keras.layers.Resizing(2, 3, interpolation="area")
    with pytest.raises(ValueError, match="only one of crop_to_aspect_ratio"):
        keras.layers.Resizing(2, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"CenterCrop 'center_crop'.*rank 3.*\(2, 4, 5, 1, 1\)"):
        keras.layers.CenterCrop(2, 2)(IMAGES[..., None])


def test_random_crop_moves_boxes_into_its_window():
    data = {"images": np.zeros((3, 10, 20, 1), "float32"),
            "bounding_boxes": {"boxes": np.tile([[[0.1, 0.2, 0.6, 0.8]]], (3, 1, 1)),
                               "labels": np.array([[1], [1], [1]])}}
    out = keras.layers.RandomCrop(6, 8, seed=4, bounding_box_format="rel_xyxy")(data)
    assert out["images"].shape == (3, 6, 8, 1)
    boxes = np.asarray(out["bounding_boxes"]["boxes"])
    assert np.all((boxes >= 0) & (boxes <= 1))
    centred = keras.layers.RandomCrop(6, 8, bounding_box_format="rel_xyxy")(data, training=False)
    # Window rows 2..8 and columns 6..14: x 2..12 -> 0..6 of 8, y 2..8 -> 0..6 of 6.
    np.testing.assert_allclose(centred["bounding_boxes"]["boxes"][0], [[0, 0, 0.75, 1]],
                               atol=1e-6)
