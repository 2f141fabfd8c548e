"""IntegerLookup: Keras 3.15's outputs (numbers from Keras 3.15 on JAX) on the host and, inside
a compiled step, on the device."""

import jax
import numpy as np
import pytest

import lamina as keras


@pytest.fixture(scope="module")
def adapted():
    layer = keras.layers.IntegerLookup(num_oov_indices=3, mask_token=0)
    layer.adapt(np.array([[5, 7, 5], [9, 7, 5]]))
    return layer


def test_adapt_and_lookup_equal_keras(adapted):
    assert adapted.get_vocabulary() == [0, -1, -1, -1, 5, 7, 9]
    # Unknown ids go to 1 + id % 3 (floormod), the mask 0 to index 0.
    assert adapted(np.array([[5, 0, 11], [12, 9, 7]])).tolist() == [[4, 0, 3], [1, 6, 5]]


def test_the_compiled_lookup_equals_the_host_lookup(adapted):
    ids = np.array([[5, 0, 11], [12, 9, 7]])
    compiled = jax.jit(lambda x: adapted(x))(ids)
    assert np.asarray(compiled).tolist() == [[4, 0, 3], [1, 6, 5]]
    one_hot = keras.layers.IntegerLookup(vocabulary=[5, 7], output_mode="one_hot")
    assert np.asarray(jax.jit(lambda x: one_hot(x))(np.array([[7], [3]]))).tolist() == \
        one_hot(np.array([[7], [3]])).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_farmhash_oov_and_invert_equal_keras():
    hashed = keras.layers.IntegerLookup(vocabulary=[5, 7, 9], num_oov_indices=2,
                                        oov_method="farmhash")
    assert hashed(np.array([1, 2, 3, 5])).tolist() == [1, 1, 1, 2]
    inverse = keras.layers.IntegerLookup(vocabulary=[5, 7, 9], invert=True)
    assert inverse(np.array([0, 1, 2, 3, 7])).tolist() == [-1, 5, 7, 9, -1]


def test_config_is_kerass_and_round_trips():
    layer = keras.layers.IntegerLookup(vocabulary=np.array([3, 1]), mask_token=0)
    config = layer.get_config()
    assert config["vocabulary"] == [3, 1] and config["mask_token"] == 0
    assert config["vocabulary_dtype"] == "int64" and config["oov_token"] == -1
    clone = keras.layers.IntegerLookup.from_config(config)
    assert clone(np.array([1, 3, 0, 8])).tolist() == [3, 2, 0, 1]


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="vocabulary_dtype='int64'"):
        keras.layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(ValueError, match="num_oov_indices must be an int >= 0"):
        keras.layers.IntegerLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match="output_mode must be 'int' when invert=True"):
        keras.layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(TypeError, match="takes integer ids"):
        keras.layers.IntegerLookup(vocabulary=[1])(np.array(["a"]))
