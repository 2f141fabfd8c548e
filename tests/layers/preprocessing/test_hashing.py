"""Hashing: Keras 3.15's bins (FarmHash64 fingerprints, SipHash with a salt; numbers from Keras
3.15's documented examples and from Keras 3.15 on JAX)."""

import numpy as np
import pytest

import lamina as keras

LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]


def test_farmhash_and_siphash_bins_equal_keras():
    assert keras.layers.Hashing(num_bins=3)(LETTERS).tolist() == [[1], [0], [1], [1], [2]]
    salted = keras.layers.Hashing(num_bins=3, salt=[133, 137])
    assert salted(LETTERS).tolist() == [[1], [2], [1], [0], [2]]
    assert keras.layers.Hashing(num_bins=3, salt=133)(LETTERS).tolist() == \
        [[0], [0], [2], [1], [0]]
    masked = keras.layers.Hashing(num_bins=3, mask_value="")
    assert masked([["A"], ["B"], [""], ["C"], ["D"]]).tolist() == [[1], [1], [0], [2], [2]]


def test_integers_and_floats_hash_as_their_decimal_text():
    layer = keras.layers.Hashing(num_bins=7)
    assert layer(np.array([[1, 2, 300], [-5, 0, 12345678901]])).tolist() == [[5, 5, 3],
                                                                          [0, 2, 3]]
    assert layer(np.array([1.7, -2.2])).tolist() == [5, 0]  # truncated to 1 and -2


def test_multi_hot_output_and_config():
    layer = keras.layers.Hashing(num_bins=4, output_mode="multi_hot")
    assert layer(np.array([["a", "b"], ["c", "c"]])).tolist() == [[0, 0, 1, 1], [1, 0, 0, 0]]
    config = layer.get_config()
    assert config["num_bins"] == 4 and config["dtype"]["config"]["name"] == "float32"
    assert keras.layers.Hashing.from_config(config).output_mode == "multi_hot"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="num_bins must be a positive int"):
        keras.layers.Hashing(num_bins=0)
    with pytest.raises(ValueError, match="salt must be an int or a pair of ints"):
        keras.layers.Hashing(num_bins=2, salt=[1, 2, 3])
    with pytest.raises(ValueError, match="dtype must be 'int32' or 'int64'"):
        keras.layers.Hashing(num_bins=2, dtype="float32")


def test_hashed_crossing_equals_keras():
    layer = keras.layers.HashedCrossing(num_bins=5)
    crossed = layer((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])))
    assert crossed.tolist() == [1, 4, 1, 1, 3]
    three = keras.layers.HashedCrossing(num_bins=10)
    assert three((np.array([["x"], ["y"]]), np.array([[1], [2]]),
                  np.array([["p"], ["q"]]))).tolist() == [[3], [6]]
    with pytest.raises(ValueError, match="at least two inputs"):
        layer([np.array(["A"])])
    with pytest.raises(ValueError, match="same shape"):
        layer((np.array(["A", "B"]), np.array([1])))


def test_a_saved_hashing_model_loads(tmp_path):
    """From a file the dtype argument is a DTypePolicy, not a name: the int-output check
    reads the policy (a model with a Hashing layer failed to load)."""
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, keras.layers.Hashing(num_bins=5, salt=7)(inputs))
    model.save(tmp_path / "hashing.keras")
    restored = keras.saving.load_model(tmp_path / "hashing.keras")
    x = np.array([["a"], ["b"], ["zz"]])
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.layers[-1].get_config() == model.layers[-1].get_config()
