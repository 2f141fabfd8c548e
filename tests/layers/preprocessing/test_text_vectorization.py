"""TextVectorization: Keras 3.15's vocabularies and outputs (numbers computed with Keras 3.15
on JAX, which runs the layer through TensorFlow), adapt on lists, arrays and generators, and
the errors a user meets."""

import numpy as np
import pytest

import lamina as keras

TEXTS = ["The Cat sat on the mat.", "the dog ran!  Fast", "A cat, a DOG; a bird?",
         "Émile\u00a0était\x1cici", "x"]


def test_adapt_and_int_output_equal_keras():
    layer = keras.layers.TextVectorization(max_tokens=12)
    layer.adapt(TEXTS)
    # ASCII-only lowercasing and ASCII-whitespace splitting, as TensorFlow does: the
    # no-break space and \x1c stay inside the token.
    assert layer.get_vocabulary() == [
        "", "[UNK]", "the", "a", "dog", "cat", "Émile\u00a0était\x1cici", "x", "sat", "ran",
        "on", "mat"]
    assert layer(np.array(TEXTS)).tolist() == [
        [2, 5, 8, 10, 2, 11], [2, 4, 9, 1, 0, 0], [3, 5, 3, 4, 3, 1], [6, 0, 0, 0, 0, 0],
        [7, 0, 0, 0, 0, 0]]


def test_tf_idf_with_bigrams_equals_keras():
    layer = keras.layers.TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=15)
    layer.adapt(TEXTS)
    assert layer.get_vocabulary()[:10] == [
        "[UNK]", "the", "a", "dog", "cat", "Émile\u00a0était\x1cici", "x", "the mat",
        "the dog", "the cat"]
    weights = np.asarray(layer._lookup_layer.idf_weights)
    np.testing.assert_allclose(weights[:4], [1.1944914, 0.9808292, 1.2527629, 0.9808292],
                               rtol=1e-6)
    out = np.asarray(layer(np.array(TEXTS[:3])))
    np.testing.assert_allclose(out[2, :5], [7.1669483, 0.0, 3.7582889, 0.9808292, 0.9808292],
                               rtol=1e-6)
    np.testing.assert_allclose(out[0, [0, 1, 4, 7]], [3.5834742, 1.9616585, 0.9808292,
                                                      1.2527629], rtol=1e-6)


def test_character_split_multi_hot_and_padded_count():
    chars = keras.layers.TextVectorization(output_mode="multi_hot", split="character",
                                           standardize="lower")
    chars.adapt(["abca", "bd"])
    assert chars.get_vocabulary() == ["[UNK]", "b", "a", "d", "c"]
    assert chars(np.array(["abz", "dd"])).tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 1, 0]]
    count = keras.layers.TextVectorization(output_mode="count", pad_to_max_tokens=True,
                                           max_tokens=6, standardize=None)
    count.adapt(["A a b", "b c"])
    assert count.get_vocabulary() == ["[UNK]", "b", "c", "a", "A"]
    assert count(np.array(["A a b z", "c"])).tolist() == [[1, 1, 0, 1, 1, 0],
                                                          [0, 0, 1, 0, 0, 0]]


def test_output_sequence_length_pads_and_cuts():
    layer = keras.layers.TextVectorization(output_sequence_length=3, vocabulary=["a", "b"])
    assert layer(np.array([["a b a b"], ["c"]])).tolist() == [[2, 3, 2], [1, 0, 0]]
    assert layer.compute_output_shape((None, 1)) == (None, 3)


def test_adapt_on_a_generator_of_batches_equals_one_batch():
    def batches():
        for start in range(0, len(TEXTS), 2):
            yield np.array(TEXTS[start:start + 2])

    whole = keras.layers.TextVectorization()
    whole.adapt(TEXTS)
    streamed = keras.layers.TextVectorization()
    streamed.adapt(batches())
    assert streamed.get_vocabulary() == whole.get_vocabulary()


def test_failed_adapt_leaves_the_old_vocabulary():
    layer = keras.layers.TextVectorization()
    layer.adapt(["keep these words"])
    before = layer.get_vocabulary()

    def broken():
        yield np.array(["new words"])
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        layer.adapt(broken())
    assert layer.get_vocabulary() == before
    assert layer(["keep words"]).tolist() == [[4, 2]]  # ties: larger token first


def test_call_before_adapt_names_the_layer_and_the_fix():
    layer = keras.layers.TextVectorization(name="reviews")
    with pytest.raises(RuntimeError, match="'reviews' has no vocabulary yet: call adapt"):
        layer(["some text"])


def test_ragged_and_sparse_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="ragged=True .* TensorFlow backend only"):
        keras.layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="sparse=True"):
        keras.layers.TextVectorization(output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="output_sequence_length applies to output_mode='int'"):
        keras.layers.TextVectorization(output_mode="count", output_sequence_length=3)


def test_adapt_after_a_fixed_vocabulary_is_refused():
    layer = keras.layers.TextVectorization(vocabulary=["a"], name="fixed")
    with pytest.raises(ValueError, match="Cannot adapt layer 'fixed'"):
        layer.adapt(["a b"])


def test_config_round_trip_keeps_arguments():
    layer = keras.layers.TextVectorization(max_tokens=5, ngrams=2, output_mode="count",
                                           vocabulary=["a", "b"])
    config = layer.get_config()
    assert config["ngrams"] == 2 and config["vocabulary"] == ["a", "b"]
    assert config["vocabulary_size"] == 3
    clone = keras.layers.TextVectorization.from_config(config)
    assert clone(["a b a"]).tolist() == layer(["a b a"]).tolist()


def test_a_text_holding_nul_is_split_like_any_other():
    # The batch fast path joins texts with NUL; a text holding one takes the per-text path.
    layer = keras.layers.TextVectorization(vocabulary=["a\x00b", "c"])
    assert layer(["a\x00b C!", "c"]).tolist() == [[2, 3], [3, 0]]
