"""CategoryEncoding: Keras 3.15's encodings, eagerly and inside a compiled function."""

import jax
import numpy as np
import pytest

import lamina as keras


def test_modes_equal_kerass_examples():
    multi = keras.layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    assert multi(np.array([[0, 1], [0, 0], [1, 2], [3, 1]])).tolist() == [
        [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    one_hot = keras.layers.CategoryEncoding(num_tokens=3, output_mode="one_hot")
    assert one_hot(np.array([[0], [2]])).tolist() == one_hot(np.array([0, 2])).tolist() == \
        [[1, 0, 0], [0, 0, 1]]
    count = keras.layers.CategoryEncoding(num_tokens=4, output_mode="count")
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    np.testing.assert_allclose(count(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]),
                                     count_weights=weights),
                               [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0],
                                [0, 0.2, 0, 0.4]], rtol=1e-6)


def test_runs_inside_a_compiled_function_and_in_a_model():
    layer = keras.layers.CategoryEncoding(num_tokens=3, output_mode="count")
    assert np.asarray(jax.jit(lambda x: layer(x))(np.array([[0, 2, 2]]))).tolist() == \
        [[1, 0, 2]]
    inputs = keras.Input(shape=(2,), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    assert model.output_shape == (None, 3)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        keras.layers.CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.CategoryEncoding(num_tokens=2, output_mode="tf_idf")
    with pytest.raises(ValueError, match="count_weights is only used when output_mode='count'"):
        keras.layers.CategoryEncoding(num_tokens=2)(np.array([[0]]), count_weights=np.ones((1, 1)))
