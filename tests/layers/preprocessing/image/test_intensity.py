"""Solarization, RandomPosterization, AutoContrast, RandomSharpness, RandomGaussianBlur and
RandomErasing (lamina/layers/preprocessing/image/intensity.py).

Expected numbers were computed by Keras 3.15 (JAX backend) with the same arguments and seeds
on `IMAGES`.
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
    "solarize_fixed": (lambda: L.Solarization(),
                       [[[[255.0, 218.0, 181.0], [144.0, 107.0, 70.0]],
                         [[33.0, 252.0, 215.0], [178.0, 141.0, 104.0]]],
                        [[[67.0, 30.0, 249.0], [212.0, 175.0, 138.0]],
                         [[101.0, 64.0, 27.0], [246.0, 209.0, 172.0]]]]),
    "solarize": (lambda: L.Solarization(addition_factor=0.2, threshold_factor=0.5, seed=1),
                 [[[[6.947, 43.947, 80.947], [137.053, 100.053, 63.053]],
                   [[26.053, 9.947, 46.947], [83.947, 134.053, 97.053]]],
                  [[[32.186, 0.0, 40.814], [77.814, 140.186, 103.186]],
                   [[66.186, 29.186, 0.0], [43.814, 80.814, 137.186]]]]),
    "posterize": (lambda: L.RandomPosterization((2, 6), seed=2),
                  [[[[0.0, 0.0, 64.0], [64.0, 128.0, 128.0]],
                    [[192.0, 0.0, 0.0], [64.0, 64.0, 128.0]]],
                   [[[176.0, 224.0, 0.0], [32.0, 80.0, 112.0]],
                    [[144.0, 176.0, 224.0], [0.0, 32.0, 80.0]]]]),
    "autocontrast": (lambda: L.AutoContrast(),
                     [[[[0.0, 59.793, 59.793], [127.5, 255.0, 255.0]],
                       [[255.0, 0.0, 0.0], [88.446, 195.207, 195.207]]],
                      [[[255.0, 255.0, 0.0], [48.436, 48.436, 127.5]],
                       [[206.564, 206.564, 255.0], [0.0, 0.0, 88.446]]]]),
    "sharpness": (lambda: L.RandomSharpness(0.8, seed=3),
                  [[[[0.0, 37.881, 80.142], [127.748, 177.287, 219.548]],
                    [[255.0, 0.0, 37.441], [85.047, 134.586, 176.847]]],
                   [[[165.479, 199.269, 12.593], [43.121, 76.912, 106.26]],
                    [[136.788, 170.578, 199.927], [14.431, 48.221, 77.569]]]]),
    "blur": (lambda: L.RandomGaussianBlur(factor=(1.0, 1.0), sigma=(0.5, 1.0), seed=4),
             [[[[38.727, 43.002, 66.825], [53.911, 68.453, 92.275]],
               [[97.16, 28.769, 52.591], [74.18, 54.219, 78.042]]],
              [[[87.159, 110.981, 42.59], [53.913, 77.736, 57.774]],
               [[72.925, 96.748, 101.023], [39.68, 63.502, 78.044]]]]),
    "erasing": (lambda: L.RandomErasing(factor=(1.0, 1.0), scale=(0.5, 0.9), fill_value=0,
                                        seed=5),
                [[[[0.0, 37.0, 74.0], [111.0, 148.0, 185.0]],
                  [[222.0, 3.0, 40.0], [0.0, 0.0, 0.0]]],
                 [[[188.0, 225.0, 6.0], [43.0, 80.0, 117.0]],
                  [[154.0, 191.0, 228.0], [0.0, 0.0, 0.0]]]]),
}
RANDOM = ["solarize", "posterize", "sharpness", "blur", "erasing"]


@pytest.fixture(scope="module")
def calls():
    return checks.first_calls(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_layers_compute_keras_numbers(case, calls):
    np.testing.assert_allclose(calls[case][0], CASES[case][1], atol=2e-3)


@pytest.mark.parametrize("case", RANDOM)
def test_random_layers_are_identity_at_inference_and_draw_anew(case, calls):
    first, second, inference = calls[case]
    np.testing.assert_array_equal(inference, IMAGES)
    if case != "erasing":  # on 2x2 images, two draws often erase the same pixels
        assert not np.allclose(first, second)


def test_auto_contrast_applies_at_inference_and_keeps_constant_channels():
    layer = L.AutoContrast(value_range=(0, 1))
    np.testing.assert_allclose(layer(IMAGES / 255, training=False), CASES["autocontrast"][1]
                               / np.float32(255), atol=1e-5)
    flat = np.full((1, 2, 2, 3), 0.5, "float32")
    np.testing.assert_array_equal(layer(flat), flat)


def test_erasing_fills_with_noise_within_value_range_by_default():
    out = np.asarray(L.RandomErasing(factor=(1.0, 1.0), scale=(0.9, 0.9), seed=0)(
        np.full((2, 8, 8, 3), 128.0, "float32")))
    assert (out != 128.0).mean() > 0.5
    checks.check_within(out, 0, 255)


def test_posterization_on_unit_range_matches_its_0_255_result():
    layer = L.RandomPosterization((2, 6), value_range=(0, 1), seed=2)
    np.testing.assert_allclose(np.asarray(layer(IMAGES / 255)) * 255, CASES["posterize"][1],
                               atol=1e-3)


def test_configs_are_keras_configs():
    config = L.Solarization(addition_factor=0.2, threshold_factor=(0.1, 0.5),
                            name="sol").get_config()
    assert (config["addition_factor"], config["threshold_factor"], config["value_range"]) == (
        (0, 0.2), (0.1, 0.5), [0, 255])
    config = L.RandomGaussianBlur(kernel_size=(3, 5), name="bl").get_config()
    assert (config["factor"], config["kernel_size"], config["sigma"], config["value_range"]) == (
        (0, 1.0), (3, 5), (0, 1.0), (0, 255))
    config = L.RandomErasing().get_config()
    assert (config["factor"], config["scale"], config["fill_value"]) == (
        (0, 1.0), (0.02, 0.33), None)
    checks.check_config_round_trip(CASES["blur"][0]())


@pytest.mark.parametrize("make, words", [
    (lambda: L.Solarization(addition_factor=1.5), ["Solarization", "addition_factor=1.5"]),
    (lambda: L.Solarization(value_range=(0, 1, 2)), ["value_range=(0, 1, 2)"]),
    (lambda: L.RandomPosterization(factor=9), ["RandomPosterization", "[1, 8]", "factor=9"]),
    (lambda: L.RandomSharpness(factor=-0.5), ["RandomSharpness", "factor=-0.5"]),
    (lambda: L.RandomGaussianBlur(kernel_size=4), ["odd", "kernel_size=4"]),
    (lambda: L.RandomErasing(scale=(0.1, 2.0)), ["RandomErasing", "scale=(0.1, 2.0)"]),
    (lambda: L.RandomErasing(fill_value=(1, 2)), ["fill_value=(1, 2)", "three numbers"]),
    (lambda: L.AutoContrast(value_range=1), ["AutoContrast", "value_range=1"]),
])
def test_bad_arguments_are_refused_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_wrong_rank_names_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"Solarization 'sol'.*\(2, 2, 2, 2, 3\)"):
        L.Solarization(name="sol")(np.zeros((2, 2, 2, 2, 3), "float32"))
