"""Discretization: Keras 3.15's bins and adapted boundaries (numbers from Keras 3.15 on JAX)."""

import numpy as np
import pytest

import lamina as keras


def test_given_boundaries_bucket_as_keras():
    layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    assert layer(np.array([[-1.5, 1.0, 3.4, 0.5]])).tolist() == [[0, 2, 3, 1]]


def test_adapt_learns_kerass_quantile_boundaries():
    layer = keras.layers.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(np.arange(100.0))
    np.testing.assert_allclose(layer.bin_boundaries, [23.999983, 48.999981, 73.999985],
                               rtol=1e-6)
    small = keras.layers.Discretization(num_bins=3)
    small.adapt(np.array([[0.1, 0.5, 2.5], [1.5, 3.0, 4.0], [7.0, 0.0, 2.0]]))
    np.testing.assert_allclose(small.bin_boundaries, [0.5, 2.5], rtol=1e-6)
    assert small(np.array([[0.2, 2.0, 5.0]])).tolist() == [[0, 1, 2]]


def test_adapt_on_a_list_of_batches_and_count_output():
    layer = keras.layers.Discretization(num_bins=3, output_mode="count")
    layer.adapt([np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])])
    np.testing.assert_allclose(layer.bin_boundaries, [1.6666666, 3.3333333], rtol=1e-6)
    assert layer(np.array([[1.0, 4.0, 5.0]])).tolist() == [[1.0, 0.0, 2.0]]
    clone = keras.layers.Discretization.from_config(layer.get_config())
    assert clone.bin_boundaries == layer.bin_boundaries


def test_failed_adapt_keeps_the_old_boundaries():
    layer = keras.layers.Discretization(num_bins=2)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0]))
    before = list(layer.bin_boundaries)

    def broken():
        yield np.array([100.0, 200.0])
        raise RuntimeError("reader failed")

    with pytest.raises(RuntimeError, match="reader failed"):
        layer.adapt(broken())
    assert layer.bin_boundaries == before


def test_use_before_adapt_and_bad_arguments():
    with pytest.raises(ValueError, match="'bins' has no bin boundaries yet: pass "
                                         "bin_boundaries=.* or call adapt"):
        keras.layers.Discretization(num_bins=3, name="bins")(np.array([1.0]))
    with pytest.raises(ValueError, match="set either num_bins .* or bin_boundaries"):
        keras.layers.Discretization()
    with pytest.raises(ValueError, match="has nothing to learn"):
        keras.layers.Discretization(bin_boundaries=[1.0]).adapt(np.array([1.0]))
