"""Equalization and ContrastLimitedAdaptiveHistogramEqualization
(lamina/layers/preprocessing/image/histogram.py), against numbers computed by Keras 3.15
(JAX backend) on `IMAGES`."""

import os
import sys

import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _augmentation_checks as checks  # noqa: E402

IMAGES = checks.IMAGES
L = lamina.layers

EQUALIZED = [[[[0.0, 36.0, 73.0], [146.0, 182.0, 219.0]],
              [[255.0, 0.0, 36.0], [109.0, 146.0, 182.0]]],
             [[[219.0, 255.0, 0.0], [73.0, 109.0, 146.0]],
              [[182.0, 219.0, 255.0], [36.0, 73.0, 109.0]]]]
EQUALIZED_16_BINS = [[[[0.0, 0.286, 0.427], [0.502, 0.714, 0.859]],
                      [[1.0, 0.0, 0.141], [0.333, 0.573, 0.714]]],
                     [[[0.831, 1.0, 0.0], [0.165, 0.427, 0.573]],
                      [[0.667, 0.859, 1.0], [0.0, 0.286, 0.427]]]]
# A 3x2 grid on 2x2 images: one row of tiles is padding.
CLAHE_3X2 = [[[[0.0, 38.71, 75.42], [111.565, 148.839, 185.549]],
              [[222.129, 3.976, 40.686], [77.047, 114.606, 151.316]]],
             [[[188.525, 225.235, 7.953], [43.663, 80.373, 118.082]],
              [[153.792, 190.502, 228.212], [9.429, 46.139, 83.349]]]]


def test_equalization_matches_keras():
    np.testing.assert_allclose(L.Equalization()(IMAGES), EQUALIZED, atol=1e-3)
    unit = L.Equalization(value_range=(0, 1), bins=16)(IMAGES / 255)
    np.testing.assert_allclose(unit, EQUALIZED_16_BINS, atol=1e-3)


def test_equalization_keeps_single_level_channels_and_is_identity_at_inference():
    flat = np.full((1, 3, 3, 3), 40.0, "float32")
    np.testing.assert_array_equal(L.Equalization()(flat), flat)
    np.testing.assert_array_equal(L.Equalization()(IMAGES, training=False), IMAGES)


def test_clahe_matches_keras_in_both_layouts_with_padded_tiles():
    layer = L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(3, 2), clip_limit=2.0)
    np.testing.assert_allclose(layer(IMAGES), CLAHE_3X2, atol=1e-3)
    first = L.ContrastLimitedAdaptiveHistogramEqualization(
        tile_grid_size=(3, 2), clip_limit=2.0, data_format="channels_first")
    out = np.moveaxis(np.asarray(first(np.moveaxis(IMAGES, -1, 1))), 1, -1)
    np.testing.assert_allclose(out, CLAHE_3X2, atol=1e-3)


def test_configs_are_keras_configs_and_round_trip():
    config = L.Equalization(name="eq").get_config()
    assert (config["bins"], config["value_range"], config["data_format"]) == (
        256, [0, 255], "channels_last")
    clahe = L.ContrastLimitedAdaptiveHistogramEqualization(name="cl")
    config = clahe.get_config()
    assert (config["value_range"], config["clip_limit"], config["tile_grid_size"]) == (
        (0, 255), 4.0, (8, 8))
    assert type(clahe).from_config(config).get_config() == config


@pytest.mark.parametrize("make, words", [
    (lambda: L.Equalization(value_range=(0, 255, 1)), ["Equalization", "value_range"]),
    (lambda: L.Equalization(bins=1), ["bins=1"]),
    (lambda: L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(8,)),
     ["tile_grid_size=(8,)"]),
])
def test_bad_arguments_are_refused_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)
