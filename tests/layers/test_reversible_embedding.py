"""ReversibleEmbedding: tied and untied reverse projections, soft cap, masks, dtypes, Keras 3
side by side and `.keras` files both ways."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

L = keras.layers
RNG = np.random.default_rng(0)
IDS = np.array([[1, 5, 0], [3, 0, 0]])
HIDDEN = RNG.normal(size=(2, 3, 4)).astype("float32")


def import_keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def with_random_weights(layer):
    layer.build()
    values = [RNG.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(values)
    return values


def test_forward_reverse_and_weights():
    tied = L.ReversibleEmbedding(10, 4, name="tied")
    (table,) = with_random_weights(tied)
    assert [(w.path, w.shape) for w in tied.weights] == [("tied/embeddings", (10, 4))]
    np.testing.assert_array_equal(tied(IDS), table[IDS])
    np.testing.assert_allclose(tied(HIDDEN, reverse=True), HIDDEN @ table.T, rtol=1e-5,
                               atol=1e-6)

    untied = L.ReversibleEmbedding(10, 4, tie_weights=False, logit_soft_cap=2.0, name="untied")
    table, reverse = with_random_weights(untied)
    assert [(w.path, w.shape, w.trainable) for w in untied.weights] == [
        ("untied/embeddings", (10, 4), True), ("untied/reverse_embeddings", (4, 10), True)]
    np.testing.assert_allclose(untied(HIDDEN, reverse=True),
                               np.tanh(HIDDEN @ reverse / 2.0) * 2.0, rtol=1e-5, atol=1e-6)
    assert np.abs(np.asarray(untied(HIDDEN * 100, reverse=True))).max() <= 2.0


def test_masks_dtypes_and_shapes():
    layer = L.ReversibleEmbedding(10, 4, mask_zero=True)
    layer.build()
    np.testing.assert_array_equal(layer.compute_mask(IDS), IDS != 0)
    assert layer.compute_mask(jnp.asarray(HIDDEN)) is None  # hidden states: a reverse call
    assert L.ReversibleEmbedding(10, 4).compute_mask(IDS) is None
    half = L.ReversibleEmbedding(10, 4, reverse_dtype="float16")
    assert half(HIDDEN, reverse=True).dtype == jnp.float16
    mixed = L.ReversibleEmbedding(10, 4, dtype="mixed_float16")
    assert mixed(HIDDEN, reverse=True).dtype == jnp.float16  # as Keras's autocast gives
    assert mixed.embeddings.dtype == "float32"
    assert layer.compute_output_shape((2, 3, 4), reverse=True) == (2, 3, 10)
    assert layer.compute_output_shape((2, 3)) == (2, 3, 4)
    tokens = L.Input((None,), dtype="int32")
    hidden = layer(tokens)
    logits = layer(hidden, reverse=True)
    assert hidden.shape == (None, None, 4) and logits.shape == (None, None, 10)
    with pytest.raises(ValueError, match=r"output_dim=4.*\(2, 3, 5\)"):
        layer(np.ones((2, 3, 5), "float32"), reverse=True)
    with pytest.raises(ValueError, match="logit_soft_cap must be None or a positive"):
        L.ReversibleEmbedding(10, 4, logit_soft_cap=0)


def test_tied_language_model_trains_both_directions():
    tokens = L.Input((3,), dtype="int32")
    embedding = L.ReversibleEmbedding(6, 4, name="embedding")
    hidden = L.Dense(4, name="mix")(embedding(tokens))
    model = keras.Model(tokens, embedding(hidden, reverse=True))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    before = embedding.embeddings.numpy()
    x = RNG.integers(1, 6, size=(8, 3))
    model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    assert len(model.trainable_weights) == 3  # the table once, the Dense kernel and bias
    assert not np.allclose(embedding.embeddings.numpy(), before)


@pytest.mark.parametrize("options", [{}, {"tie_weights": False, "logit_soft_cap": 2.0},
                                     {"reverse_dtype": "float16", "mask_zero": True}])
def test_matches_keras(options):
    k = import_keras()
    theirs = k.layers.ReversibleEmbedding(10, 4, name="e", **options)
    ours = L.ReversibleEmbedding(10, 4, name="e", **options)
    values = with_random_weights(ours)
    theirs.build()
    assert [w.path for w in theirs.weights] == [w.path for w in ours.weights]
    theirs.set_weights(values)
    np.testing.assert_array_equal(ours(IDS), theirs(IDS))
    expected = np.asarray(theirs(HIDDEN, reverse=True))
    received = np.asarray(ours(HIDDEN, reverse=True))
    assert received.dtype == expected.dtype
    np.testing.assert_allclose(received, expected, rtol=1e-5, atol=1e-5)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_keras_files_move_both_ways(source, tmp_path):
    k = import_keras()
    libraries = {"keras": k, "lamina": keras}
    lib, other = libraries[source], libraries["lamina" if source == "keras" else "keras"]
    tokens = lib.Input((3,), dtype="int32")
    embedding = lib.layers.ReversibleEmbedding(7, 4, tie_weights=False, name="embedding")
    model = lib.Model(tokens, embedding(embedding(tokens), reverse=True))
    model.get_layer("embedding").set_weights(
        [RNG.normal(size=w.shape).astype("float32") for w in embedding.weights])
    x = RNG.integers(0, 7, size=(2, 3))
    model.save(tmp_path / "m.keras")
    loaded = other.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
