"""The random geometric layers: Keras 3.15's numbers for a seed (the same draws, the same
warps), identity at inference, reproducible and advancing draws, the range of what they draw,
and bounding boxes and segmentation masks moved with their images."""

import numpy as np
import pytest

import lamina as keras

IMAGES = np.arange(40, dtype="float32").reshape(2, 4, 5, 1) * 6.0
LAYERS = {
    "RandomFlip": dict(seed=3),
    "RandomRotation": dict(factor=0.2, seed=3),
    "RandomZoom": dict(height_factor=0.3, width_factor=(-0.2, 0.4), fill_mode="constant",
                       fill_value=-1.0, seed=3),
    "RandomTranslation": dict(height_factor=0.3, width_factor=0.3, fill_mode="wrap", seed=3),
    "RandomShear": dict(x_factor=0.4, y_factor=0.2, fill_mode="nearest", seed=3),
    "RandomPerspective": dict(scale=0.6, seed=2),
    "RandomElasticTransform": dict(seed=3),
}
# Keras 3.15 (JAX backend): getattr(keras.layers, name)(**LAYERS[name])(IMAGES, training=True),
# channel 0, rounded to 3 decimals.
KERAS = {
    "RandomFlip": [[[0.0, 6.0, 12.0, 18.0, 24.0], [30.0, 36.0, 42.0, 48.0, 54.0], [60.0, 66.0, 72.0, 78.0, 84.0], [90.0, 96.0, 102.0, 108.0, 114.0]], [[234.0, 228.0, 222.0, 216.0, 210.0], [204.0, 198.0, 192.0, 186.0, 180.0], [174.0, 168.0, 162.0, 156.0, 150.0], [144.0, 138.0, 132.0, 126.0, 120.0]]],
    "RandomRotation": [[[11.513, 15.267, 35.865, 63.022, 87.649], [6.832, 22.799, 49.955, 77.112, 104.268], [9.732, 36.888, 64.045, 91.201, 107.168], [26.351, 50.978, 78.135, 98.733, 102.487]], [[122.444, 126.884, 131.675, 137.634, 143.629], [152.42, 157.101, 161.892, 166.683, 171.474], [182.526, 187.317, 192.108, 196.899, 201.58], [210.371, 216.366, 222.325, 227.116, 231.556]]],
    "RandomZoom": [[[-0.768, 2.414, 7.834, 13.255, 4.8], [8.49, 30.82, 38.796, 46.772, 16.683], [20.92, 67.228, 75.204, 83.18, 29.113], [20.113, 63.576, 68.996, 74.416, 25.681]], [[116.019, 126.322, 132.431, 138.54, 139.147], [144.652, 156.035, 162.144, 168.253, 167.78], [173.285, 185.747, 191.856, 197.965, 196.413], [201.918, 215.46, 221.569, 227.678, 225.046]]],
    "RandomTranslation": [[[100.023, 80.418, 82.023, 88.023, 94.023], [27.487, 7.882, 9.487, 15.487, 21.487], [57.487, 37.882, 39.487, 45.487, 51.487], [87.487, 67.882, 69.487, 75.487, 81.487]], [[123.605, 129.605, 135.605, 141.605, 135.33], [153.605, 159.605, 165.605, 171.605, 165.33], [183.605, 189.605, 195.605, 201.605, 195.33], [209.005, 215.005, 221.005, 227.005, 220.73]]],
    "RandomShear": [[[0.0, 6.0, 12.0, 18.0, 24.0], [30.51, 31.924, 33.338, 34.752, 35.656], [61.02, 62.434, 63.848, 65.262, 65.656], [91.53, 92.944, 94.358, 95.772, 95.656]], [[120.0, 126.0, 132.0, 138.0, 144.0], [151.891, 156.255, 160.618, 164.981, 167.453], [183.782, 188.146, 192.509, 196.872, 197.453], [215.674, 220.037, 224.4, 228.764, 227.453]]],
    "RandomPerspective": [[[0.0, 9.378, 17.105, 23.582, 3.64], [39.228, 44.462, 48.829, 52.527, 20.648], [73.286, 75.314, 77.025, 78.487, 47.851], [50.601, 81.874, 102.252, 101.902, 82.293]], [[120.0, 126.681, 134.368, 143.306, 0.0], [156.283, 163.691, 171.982, 181.323, 132.127], [181.181, 188.542, 196.629, 205.555, 215.458], [199.326, 206.381, 214.03, 222.35, 197.984]]],
    "RandomElasticTransform": [[[0.0, 6.0, 12.0, 18.0, 24.0], [30.0, 36.0, 42.0, 48.0, 54.0], [60.0, 66.0, 72.0, 78.0, 84.0], [90.0, 96.0, 102.0, 108.0, 114.0]], [[120.0, 125.826, 132.415, 137.998, 144.655], [149.466, 157.108, 161.571, 167.946, 173.65], [179.549, 186.348, 192.506, 197.666, 203.868], [210.033, 216.031, 222.018, 228.14, 234.0]]],
}


def _layer(name):
    return getattr(keras.layers, name)(**LAYERS[name])


@pytest.mark.parametrize("name", sorted(KERAS))
def test_a_seed_gives_keras_numbers(name):
    out = np.asarray(_layer(name)(IMAGES, training=True))
    np.testing.assert_allclose(out[..., 0], KERAS[name], atol=2e-3)


@pytest.mark.parametrize("name", sorted(KERAS))
def test_inference_returns_the_input(name):  # in predict: test_augmented_model.py
    np.testing.assert_array_equal(_layer(name)(IMAGES, training=False), IMAGES)


def test_draws_are_reproducible_from_the_seed_and_advance():
    first, twin = keras.layers.RandomRotation(0.3, seed=5), keras.layers.RandomRotation(0.3, seed=5)
    a = first(IMAGES, training=True)
    np.testing.assert_array_equal(a, twin(IMAGES, training=True))
    assert not np.array_equal(first(IMAGES, training=True), a)


def test_drawn_parameters_stay_in_their_ranges():
    images = np.zeros((400, 4, 4, 1), "float32")
    flips = keras.layers.RandomFlip(seed=1).get_random_transformation(images)["flips"]
    assert 0.4 < float(np.mean(flips)) < 0.6
    zoom = keras.layers.RandomZoom((-0.5, -0.2), seed=1).get_random_transformation(images)
    assert 0.5 <= float(zoom["height_zoom"].min()) < 0.52
    assert 0.78 < float(zoom["height_zoom"].max()) <= 0.8
    np.testing.assert_array_equal(zoom["height_zoom"], zoom["width_zoom"])


def test_boxes_and_masks_follow_the_images():
    masks = (np.arange(2 * 10 * 20).reshape(2, 10, 20, 1) % 3).astype("int32")
    data = {"images": masks.astype("float32"),
            "bounding_boxes": {"boxes": np.array([[[1, 2, 5, 6], [10, 0, 20, 10]],
                                                  [[0, 0, 4, 4], [0, 0, 0, 0]]], "float32"),
                               "labels": np.array([[1, 2], [3, -1]])},
            "segmentation_masks": masks}
    flipped = keras.layers.RandomFlip(seed=3, bounding_box_format="xyxy")(data, training=True)
    # Keras 3.15, same seed: the second image flips both ways, the first not at all.
    np.testing.assert_allclose(flipped["bounding_boxes"]["boxes"],
                               [[[1, 2, 5, 6], [10, 0, 20, 10]],
                                [[16, 6, 20, 10], [20, 10, 20, 10]]])
    np.testing.assert_array_equal(flipped["bounding_boxes"]["labels"], [[1, 2], [3, -1]])
    assert flipped["segmentation_masks"].dtype == np.int32
    np.testing.assert_array_equal(flipped["segmentation_masks"], flipped["images"])
    assert data["bounding_boxes"]["boxes"][1, 0].tolist() == [0, 0, 4, 4]  # input untouched

    half_turn = keras.layers.RandomRotation((0.5, 0.5), bounding_box_format="xyxy",
                                            interpolation="nearest", seed=0)
    turned = half_turn(data, training=True)
    # 180 degrees about the centre ((width - 1) / 2, (height - 1) / 2): x -> 19 - x.
    np.testing.assert_allclose(turned["bounding_boxes"]["boxes"][0, 0], [14, 3, 18, 7],
                               atol=1e-4)
    np.testing.assert_array_equal(turned["segmentation_masks"][..., 0],
                                  masks[:, ::-1, ::-1, 0])
    np.testing.assert_array_equal(turned["segmentation_masks"], turned["images"])


def test_a_single_image_and_channels_first():
    layer = keras.layers.RandomZoom(0.3, seed=3)
    assert layer(IMAGES[0], training=True).shape == (4, 5, 1)
    first = keras.layers.RandomFlip(seed=3, data_format="channels_first")
    np.testing.assert_array_equal(first(np.moveaxis(IMAGES, -1, 1), training=True)[:, 0],
                                  np.asarray(KERAS["RandomFlip"]))


def test_bad_arguments_name_the_argument_and_the_valid_values():
    with pytest.raises(ValueError, match=r"RandomRotation.*`factor`.*\[-1, 1\].*factor=2"):
        keras.layers.RandomRotation(2)
    with pytest.raises(ValueError, match=r"`height_factor`.*\(-1.0, 1.0\].*height_factor=-1"):
        keras.layers.RandomZoom(-1)
    with pytest.raises(ValueError, match=r"`x_factor`.*\[0.0, 1.0\]"):
        keras.layers.RandomShear(x_factor=(0.2, 1.5))
    with pytest.raises(ValueError, match=r"`scale`.*\[0, 1\].*scale=2"):
        keras.layers.RandomPerspective(scale=2)
    with pytest.raises(NotImplementedError,
                       match=r"`fill_mode` 'edge'.*\('reflect', 'wrap', 'constant', 'nearest'\)"):
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="edge")
    with pytest.raises(NotImplementedError, match=r"`interpolation` 'bicubic'.*'bilinear'"):
        keras.layers.RandomRotation(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"RandomFlip 'random_flip'.*rank 3.*rank 4.*\(4, 5\)"):
        keras.layers.RandomFlip()(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"mode must be one of"):
        keras.layers.RandomFlip("diagonal")
