"""Models that start with string layers take raw strings in fit/evaluate/predict/__call__:
the layers run on the host first (lamina/training/host_stage.py) and the compiled step
starts from their output."""

import numpy as np
import pytest

import lamina as keras

TEXTS = np.array(["the cat sat", "the dog ran", "a cat ran fast", "dogs bark"] * 4)
LABELS = np.array([0, 1, 0, 1] * 4, dtype="float32")


@pytest.fixture(scope="module")
def text_model():
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(TEXTS)
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(20, 4)(vectorize(inputs))
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile("adam", "binary_crossentropy")
    return model, vectorize


def test_predict_on_raw_strings_equals_predict_on_token_ids(text_model):
    model, vectorize = text_model
    raw = model.predict(TEXTS[:, None], verbose=0)
    ids = np.asarray(vectorize(TEXTS[:, None]))
    assert ids.dtype == np.int32 and ids.shape == (16, 4)
    np.testing.assert_allclose(raw, model.predict(ids, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(list(TEXTS[:2]), verbose=0), raw[:2], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(TEXTS[:2, None])), raw[:2], rtol=1e-6)


def test_fit_on_a_generator_of_raw_strings_with_raw_validation_arrays(text_model):
    model, _ = text_model

    def batches():
        for start in range(0, 16, 8):
            yield TEXTS[start:start + 8, None], LABELS[start:start + 8]

    history = model.fit(batches(), epochs=1, verbose=0,
                        validation_data=(TEXTS[:8, None], LABELS[:8]))
    assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(history.history["val_loss"][0])


def test_sequential_starting_with_text_vectorization_builds_a_string_input():
    vectorize = keras.layers.TextVectorization(max_tokens=10, output_mode="multi_hot")
    vectorize.adapt(TEXTS)
    model = keras.Sequential([vectorize, keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(TEXTS, LABELS, epochs=1, verbose=0)
    assert model.get_config()["layers"][0]["config"]["dtype"] == "string"
    assert model.predict(["the cat"], verbose=0).shape == (1, 1)


def test_a_string_layer_inside_a_compiled_function_says_where_it_can_go():
    lookup = keras.layers.StringLookup(vocabulary=["a"], name="words")
    with pytest.raises(TypeError, match="StringLookup 'words' computes on the host"):
        keras.function(lambda x: lookup(x))(np.ones((1, 2), "float32"))


def test_a_host_layer_reading_numbers_runs_once_per_call():
    # Hashing takes ids as well as strings: its output (bins) must not be hashed again by
    # predict's inner model call.
    inputs = keras.Input(shape=(1,), dtype="int64")
    model = keras.Model(inputs, keras.layers.Hashing(num_bins=7)(inputs))
    ids = np.array([[1], [2], [300], [-5]])
    expected = [[5], [5], [3], [0]]  # Keras 3.15's bins for these ids
    assert model.predict(ids, verbose=0).tolist() == expected
    assert np.asarray(model(ids)).tolist() == expected
    assert model.predict_on_batch(ids).tolist() == expected
