"""Adaptive pooling layers: NumPy bins, Keras 3 side by side, shapes, configs and errors."""

import os
import sys

import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
RNG = np.random.default_rng(0)


def bins(length, n):
    """PyTorch's (and Keras's) bins: [floor(i L / n), ceil((i + 1) L / n))."""
    return [(i * length // n, -(-(i + 1) * length // n)) for i in range(n)]


def reference_1d(x, n, reduce):
    return np.stack([reduce(x[:, a:b], axis=1) for a, b in bins(x.shape[1], n)], axis=1)


def test_one_dimension_matches_the_bins():
    x = RNG.normal(size=(2, 7, 3)).astype("float32")
    np.testing.assert_allclose(L.AdaptiveAveragePooling1D(3)(x), reference_1d(x, 3, np.mean),
                               rtol=1e-6)
    np.testing.assert_array_equal(L.AdaptiveMaxPooling1D((4,))(x), reference_1d(x, 4, np.max))
    # Bins overlap when the length is not a multiple: 7 into 3 is [0, 3), [2, 5), [4, 7).
    assert bins(7, 3) == [(0, 3), (2, 5), (4, 7)]
    # channels_first pools the last axis.
    first = L.AdaptiveMaxPooling1D(4, data_format="channels_first")(x.transpose(0, 2, 1))
    np.testing.assert_array_equal(np.asarray(first).transpose(0, 2, 1), reference_1d(x, 4, np.max))


def test_two_dimensions_are_separable_bins():
    x = RNG.normal(size=(2, 5, 7, 3)).astype("float32")
    expected = np.stack([
        np.stack([x[:, r0:r1, c0:c1].max(axis=(1, 2)) for c0, c1 in bins(7, 3)], axis=1)
        for r0, r1 in bins(5, 2)], axis=1)
    np.testing.assert_array_equal(L.AdaptiveMaxPooling2D((2, 3))(x), expected)


@pytest.mark.parametrize("name,shape,size,fmt", [
    ("AdaptiveAveragePooling1D", (2, 7, 3), 3, "channels_last"),
    ("AdaptiveMaxPooling1D", (2, 3, 10), 4, "channels_first"),
    ("AdaptiveAveragePooling2D", (2, 7, 5, 3), (3, 2), "channels_last"),
    ("AdaptiveMaxPooling2D", (2, 3, 9, 6), 4, "channels_first"),
    ("AdaptiveAveragePooling3D", (1, 5, 6, 7, 2), (2, 3, 4), "channels_last"),
    ("AdaptiveMaxPooling3D", (1, 2, 5, 6, 7), 2, "channels_first"),
])
def test_matches_keras(name, shape, size, fmt):
    k = helpers.import_keras()
    x = RNG.normal(size=shape).astype("float32")
    expected = getattr(k.layers, name)(size, data_format=fmt, name="p")
    received = getattr(L, name)(size, data_format=fmt, name="p")
    np.testing.assert_allclose(received(x), expected(x), rtol=1e-6, atol=1e-6)
    assert received.get_config() == expected.get_config()
    assert received.compute_output_shape(shape) == expected.compute_output_shape(shape)


def test_functional_model_config_round_trip_and_any_input_size():
    inputs = L.Input((None, None, 2))
    outputs = L.AdaptiveAveragePooling2D(3)(inputs)
    assert outputs.shape == (None, 3, 3, 2)
    model = keras.Model(inputs, outputs)
    for size in (3, 8):
        assert model.predict(np.ones((1, size, 5, 2), "float32"), verbose=0).shape == (
            1, 3, 3, 2)
    layer = L.AdaptiveMaxPooling3D([1, 2, 3], data_format="channels_first")
    assert layer.get_config()["output_size"] == (1, 2, 3)
    restored = L.AdaptiveMaxPooling3D.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"output_size must be an integer or a tuple of 2"):
        L.AdaptiveAveragePooling2D((2, 2, 2))
    with pytest.raises(TypeError, match=r"output_size=2.5"):
        L.AdaptiveMaxPooling3D(2.5)
    with pytest.raises(ValueError, match=r"tuple of 1 integers"):
        L.AdaptiveMaxPooling1D((2, 3))
    with pytest.raises(ValueError, match="must be positive"):
        L.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        L.AdaptiveAveragePooling1D(2, data_format="NHWC")
    with pytest.raises(ValueError, match=r"rank 4.*\(2, 5, 3\)"):
        L.AdaptiveMaxPooling2D(2)(np.ones((2, 5, 3), "float32"))
