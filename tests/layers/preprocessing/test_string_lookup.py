"""StringLookup: Keras 3.15's index layout and outputs (numbers from Keras 3.15 on JAX), adapt
order, vocabularies from lists and files, and the bad-input errors."""

import numpy as np
import pytest

import lamina as keras


def test_mask_and_several_oov_indices_equal_keras():
    layer = keras.layers.StringLookup(num_oov_indices=2, mask_token="[MASK]")
    layer.adapt(np.array([["a", "b", "a"], ["c", "a", "b"]]))
    assert layer.get_vocabulary() == ["[MASK]", "[UNK]", "[UNK]", "a", "b", "c"]
    assert layer.vocabulary_size() == 6
    # OOV strings go to 1 + FarmHash64(token) % 2, as in Keras.
    assert layer(np.array([["a", "zz", "[MASK]"], ["q", "c", "b"]])).tolist() == [
        [3, 1, 0], [2, 5, 4]]
    many = keras.layers.StringLookup(num_oov_indices=3)
    many.set_vocabulary(["a"])
    assert many(np.array(["a", "b", "c", "d", "e", "f"])).tolist() == [3, 1, 1, 2, 1, 0]


def test_encoded_outputs_equal_keras():
    one_hot = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")
    assert one_hot(np.array(["a", "x", "c"])).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0],
                                                          [0, 0, 0, 1]]
    multi = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="multi_hot",
                                      mask_token="")
    assert multi(np.array([["a", "", "c"], ["b", "b", "q"]])).tolist() == [[0, 1, 0, 1],
                                                                          [1, 0, 1, 0]]
    assert multi.compute_output_shape((None, 3)) == (None, 4)


def test_invert_maps_indices_back_to_strings():
    layer = keras.layers.StringLookup(vocabulary=["a", "b"], invert=True, mask_token="")
    assert layer(np.array([[0, 1, 2, 3, 9]])).tolist() == [["", "[UNK]", "a", "b", "[UNK]"]]


def test_vocabulary_from_a_file_and_bytes_inputs(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\nfoo\nbär\n", encoding="utf-8")
    layer = keras.layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "foo", "bär"]
    assert layer(np.array([b"b\xc3\xa4r", b"foo", b"x"])).tolist() == [2, 1, 0]
    assert layer.get_config()["vocabulary"] is None  # a file path is not put in the config


def test_out_of_vocabulary_with_no_oov_indices_is_kerass_error():
    layer = keras.layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=0, name="strict")
    with pytest.raises(RuntimeError, match=r"'strict': when num_oov_indices=0 all inputs "
                                           r"should be in the vocabulary; found OOV values "
                                           r"\['zz'\]. Consider setting num_oov_indices=1"):
        layer(np.array(["a", "zz"]))
    assert layer(np.array(["b", "a"])).tolist() == [1, 0]


def test_bad_vocabularies_are_refused_and_leave_the_layer_as_it_was():
    layer = keras.layers.StringLookup(vocabulary=["a", "b"], name="tags")
    with pytest.raises(ValueError, match=r"repeats the tokens \['x'\]"):
        layer.set_vocabulary(["x", "y", "x"])
    with pytest.raises(ValueError, match="more than max_tokens=3"):
        keras.layers.StringLookup(max_tokens=3, vocabulary=["a", "b", "c"])
    with pytest.raises(ValueError, match="does not exist"):
        layer.set_vocabulary("/no/such/vocabulary.txt")
    assert layer.get_vocabulary() == ["[UNK]", "a", "b"]


def test_unadapted_lookup_and_sparse_are_refused():
    with pytest.raises(RuntimeError, match="StringLookup 'fresh' has no vocabulary yet"):
        keras.layers.StringLookup(name="fresh")(np.array(["a"]))
    with pytest.raises(ValueError, match="sparse=True"):
        keras.layers.StringLookup(output_mode="multi_hot", sparse=True)


def test_tf_idf_adapt_learns_kerass_weights():
    layer = keras.layers.StringLookup(output_mode="tf_idf")
    layer.adapt(np.array([["red", "blue"], ["red", "red"], ["green", "blue"]]))
    assert layer.get_vocabulary() == ["[UNK]", "red", "blue", "green"]
    # idf = log(1 + documents / (1 + documents with the token)); OOV gets their mean.
    idf = np.log(1 + 3 / (1 + np.array([2.0, 2.0, 1.0])))
    np.testing.assert_allclose(layer.idf_weights, np.r_[idf.mean(), idf], rtol=1e-6)
    np.testing.assert_allclose(layer(np.array([["red", "red"]])), [[0, 2 * idf[0], 0, 0]],
                               rtol=1e-6)
