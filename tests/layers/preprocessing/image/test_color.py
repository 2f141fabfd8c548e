"""The colour augmentation layers (lamina/layers/preprocessing/image/color.py).

Expected numbers were computed by Keras 3.15 (JAX backend) with the same arguments and seeds
on `IMAGES`: lamina draws the same random numbers in the same order, so seeded layers agree.
"""

import os
import sys

import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _augmentation_checks as checks  # noqa: E402

IMAGES = checks.IMAGES
L = lamina.layers

CASES = {
    "brightness": (lambda: L.RandomBrightness(0.3, seed=1), IMAGES,
                   [[[[0.0, 0.0, 18.34], [55.34, 92.34, 129.34]],
                     [[166.34, 0.0, 0.0], [21.34, 58.34, 95.34]]],
                    [[[215.941, 252.941, 33.941], [70.941, 107.941, 144.941]],
                     [[181.941, 218.941, 255.0], [36.941, 73.941, 110.941]]]]),
    "contrast": (lambda: L.RandomContrast(0.5, seed=2), IMAGES,
                 [[[[0.0, 26.26, 63.26], [113.371, 168.225, 205.225]],
                   [[255.0, 0.0, 19.775], [69.887, 124.74, 161.74]]],
                  [[[226.834, 255.0, 0.0], [18.919, 55.919, 120.688]],
                   [[178.081, 215.081, 255.0], [0.0, 7.166, 71.936]]]]),
    "hue": (lambda: L.RandomHue(0.5, seed=3), IMAGES,
            [[[[0.0, 74.0, 13.08], [111.0, 185.0, 124.08]],
              [[114.21, 3.0, 222.0], [77.0, 151.0, 90.08]]],
             [[[68.554, 225.0, 6.0], [46.361, 43.0, 117.0]],
              [[157.361, 154.0, 228.0], [12.361, 9.0, 83.0]]]]),
    "saturation": (lambda: L.RandomSaturation((0.2, 0.8), value_range=(0, 1), seed=4),
                   IMAGES / 255,
                   [[[[0.0, 0.145, 0.29], [0.285, 0.505, 0.725]],
                     [[0.871, 0.0, 0.147], [0.151, 0.372, 0.592]]],
                    [[[0.831, 0.882, 0.577], [0.356, 0.407, 0.459]],
                     [[0.791, 0.842, 0.894], [0.222, 0.274, 0.325]]]]),
    "grayscale": (lambda: L.RandomGrayscale(1.0), IMAGES,
                  [[[[30.155] * 3, [141.144] * 3], [[72.677] * 3, [107.147] * 3]],
                   [[[188.952] * 3, [73.151] * 3], [[184.14] * 3, [39.154] * 3]]]),
    "invert": (lambda: L.RandomInvert(seed=6), IMAGES,
               [[[[0.0, 37.0, 74.0], [111.0, 148.0, 185.0]],
                 [[222.0, 3.0, 40.0], [77.0, 114.0, 151.0]]],
                [[[67.0, 30.0, 249.0], [212.0, 175.0, 138.0]],
                 [[101.0, 64.0, 27.0], [246.0, 209.0, 172.0]]]]),
    "degeneration": (lambda: L.RandomColorDegeneration(0.5, seed=7), IMAGES,
                     [[[[0.0, 38.159, 81.422], [105.897, 149.161, 192.424]],
                       [[247.279, 0.0, 34.468], [71.896, 115.16, 158.424]]],
                      [[[187.788, 233.011, 0.0], [36.299, 81.522, 126.745]],
                       [[147.302, 192.525, 237.748], [2.298, 47.521, 92.745]]]]),
    # Saturation factors below 0.5 keep the saturation under 1, where Keras does not clip it.
    "jitter": (lambda: L.RandomColorJitter(brightness_factor=0.1, contrast_factor=0.2,
                                           saturation_factor=(0.3, 0.45), hue_factor=0.1,
                                           seed=8), IMAGES,
               [[[[21.81, 28.652, 54.088], [130.95, 153.7, 180.834]],
                 [[223.989, 94.102, 90.32], [92.127, 114.877, 142.011]]],
                [[[229.738, 210.339, 75.91], [53.081, 93.958, 109.15]],
                 [[181.17, 222.047, 237.24], [23.101, 52.065, 69.916]]]]),
}
CONTINUOUS = ["brightness", "contrast", "hue", "saturation", "degeneration", "jitter"]


@pytest.fixture(scope="module")
def calls():
    return checks.first_calls(CASES, lambda case: CASES[case][1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_layers_compute_keras_numbers(case, calls):
    np.testing.assert_allclose(calls[case][0], CASES[case][2], atol=2e-3)


@pytest.mark.parametrize("case", CONTINUOUS)
def test_identity_at_inference_and_new_numbers_each_call(case, calls):
    first, second, inference = calls[case]
    np.testing.assert_array_equal(inference, CASES[case][1])
    assert not np.allclose(first, second)


@pytest.mark.parametrize("case", ["jitter", "hue", "grayscale"])
def test_config_round_trip(case):
    checks.check_config_round_trip(CASES[case][0]())


def test_configs_are_keras_configs():
    jitter = L.RandomColorJitter(value_range=(0, 1), brightness_factor=0.1,
                                 hue_factor=(0.2, 0.4), seed=3, name="jitter")
    config = jitter.get_config()
    del config["dtype"]
    assert config == {
        "name": "jitter", "trainable": True, "data_format": "channels_last",
        "value_range": (0, 1), "brightness_factor": 0.1, "contrast_factor": None,
        "saturation_factor": None, "hue_factor": (0.2, 0.4), "seed": 3}
    saturation = L.RandomSaturation(0.4, name="sat").get_config()
    assert (saturation["factor"], saturation["value_range"]) == ((-0.4, 0.4), [0, 255])


def test_values_stay_in_value_range_under_strong_factors():
    checks.check_within(L.RandomBrightness(1.0, seed=0)(IMAGES), 0, 255)
    # Keras 3.15 clips the scaled saturation to value_range and so returns negative pixels
    # here; lamina clips it to [0, 1].
    checks.check_within(L.RandomSaturation((0.95, 1.0), seed=0)(IMAGES), 0, 255 + 1e-3)


def test_single_images_and_targets_pass_through():
    layer = L.RandomHue(0.5, seed=3, bounding_box_format="xyxy")
    masks = np.arange(8).reshape(2, 2, 2, 1)
    boxes = {"boxes": np.array([[[0, 0, 1, 1]], [[0, 1, 1, 2]]], "float32"),
             "labels": np.array([[1], [2]])}
    out = layer({"images": IMAGES, "segmentation_masks": masks, "bounding_boxes": boxes,
                 "labels": checks.LABELS})
    np.testing.assert_allclose(out["images"], CASES["hue"][2], atol=2e-3)
    np.testing.assert_array_equal(out["segmentation_masks"], masks)
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], boxes["boxes"])
    np.testing.assert_array_equal(out["labels"], checks.LABELS)
    assert L.RandomContrast(0.5, seed=2)(IMAGES[0]).shape == (2, 2, 3)


def test_channels_first_gives_the_channels_last_numbers():
    layer = L.RandomContrast(0.5, seed=2, data_format="channels_first")
    out = layer(np.moveaxis(IMAGES, -1, 1))
    np.testing.assert_allclose(np.moveaxis(np.asarray(out), 1, -1), CASES["contrast"][2],
                               atol=2e-3)


@pytest.mark.parametrize("make, words", [
    (lambda: L.RandomContrast(factor=1.5), ["RandomContrast", "factor=1.5", "[0, 1]"]),
    (lambda: L.RandomHue(factor=(0.2, 0.3, 0.4)), ["RandomHue", "factor=(0.2, 0.3, 0.4)"]),
    (lambda: L.RandomBrightness(0.2, value_range=(0,)), ["value_range=(0,)", "two numbers"]),
    (lambda: L.RandomInvert(value_range=[0, 1, 2]), ["RandomInvert", "value_range"]),
    (lambda: L.RandomGrayscale(factor=2), ["RandomGrayscale", "factor=2", "between 0 and 1"]),
])
def test_bad_arguments_are_refused_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_wrong_rank_or_channels_names_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"RandomHue 'hue'.*rank 3.*\(4, 3\)"):
        L.RandomHue(0.5, name="hue")(np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match=r"RandomSaturation 'sat'.*3 channel.*\(1, 2, 2, 1\)"):
        L.RandomSaturation(0.5, name="sat")(np.zeros((1, 2, 2, 1), "float32"))


def test_augmentation_runs_inside_fit_and_not_in_predict():
    model = lamina.Sequential([
        lamina.Input((2, 2, 3)), L.RandomBrightness(0.5, seed=0), L.RandomContrast(0.5, seed=1),
        L.Flatten(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(IMAGES / 255, np.zeros((2, 1)), epochs=2, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0),
                               IMAGES.reshape(2, -1) @ kernel + bias, rtol=1e-5)
