"""`ops.image.rgb_to_hsv` and `hsv_to_rgb`, with values computed by Keras 3.15 (JAX backend) on
the same inputs: black, white and gray pixels, ties between channels, a component below float
epsilon, and hues outside [0, 1)."""

import numpy as np
import pytest

from lamina import ops

RGB = np.array([
    [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.2, 0.2]],
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.1], [0.1, 0.5, 0.5]],
    [[0.3, 0.6, 0.9], [0.9, 0.1, 0.4], [0.25, 0.75, 0.25]],
    [[1e-9, 0.5, 0.7], [0.8, 0.3, 0.8], [0.6, 0.2, 0.1]]], "float32")
KERAS_HSV = [
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.2]],
    [[0.0, 1.0, 1.0], [0.16666667, 0.8, 0.5], [0.5, 0.8, 0.5]],
    [[0.58333337, 0.66666663, 0.9], [0.9375, 0.88888884, 0.9], [0.33333334, 0.6666667, 0.75]],
    [[0.54761904, 1.0, 0.7], [0.8333333, 0.625, 0.8], [0.033333335, 0.8333333, 0.6]]]
KERAS_ROUND_TRIP = [
    [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.2, 0.2]],
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.099999994], [0.099999994, 0.5, 0.5]],
    [[0.30000004, 0.59999985, 0.9], [0.9, 0.10000005, 0.4], [0.24999999, 0.75, 0.24999999]],
    [[0.0, 0.50000006, 0.7], [0.8, 0.3, 0.8], [0.6, 0.20000003, 0.10000002]]]


def test_rgb_to_hsv_and_back_match_keras():
    hsv = ops.image.rgb_to_hsv(RGB)
    np.testing.assert_allclose(hsv, KERAS_HSV, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ops.image.hsv_to_rgb(hsv), KERAS_ROUND_TRIP, rtol=1e-6,
                               atol=1e-7)


def test_hsv_to_rgb_wraps_hue_as_keras():
    hsv = np.array([[[1.25, 0.5, 0.5], [-0.1, 1.0, 0.2], [0.999, 0.3, 1.0]]], "float32")
    np.testing.assert_allclose(ops.image.hsv_to_rgb(hsv),
                               [[[0.375, 0.5, 0.25], [0.2, 0.0, 0.12000008],
                                 [1.0, 0.7, 0.7018]]], rtol=1e-6, atol=1e-7)


def test_channels_first_and_batches_agree_with_channels_last():
    batch = np.stack([RGB, RGB[::-1]])
    first = ops.image.rgb_to_hsv(np.moveaxis(batch, -1, 1), data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(np.asarray(first), 1, -1),
                               ops.image.rgb_to_hsv(batch), rtol=0, atol=0)
    back = ops.image.hsv_to_rgb(first, data_format="channels_first")
    assert back.shape == (2, 3, 4, 3) and back.dtype == np.float32


@pytest.mark.parametrize("op", [ops.image.rgb_to_hsv, ops.image.hsv_to_rgb])
@pytest.mark.parametrize("images, words", [
    (np.zeros((4, 3), "float32"), ["rank 3", "(4, 3)"]),
    (np.zeros((2, 2, 3), "uint8"), ["float", "uint8", "cast"]),
    (np.zeros((2, 2, 4), "float32"), ["3 channels", "(2, 2, 4)"]),
])
def test_bad_images_are_refused_with_what_was_received(op, images, words):
    with pytest.raises(ValueError) as info:
        op(images, data_format="channels_last")
    for word in words:
        assert word in str(info.value)
