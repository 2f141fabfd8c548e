"""Padded-sequence models move between Keras 3 and lamina with their masks (issue 16): a model
trained and saved by one library predicts the same on padded batches in the other, and further
training from the same file gives the same losses (the loss leaves padded steps out in both).
Keras (JAX backend) is a test-only dependency; lamina never imports it."""

import os

import numpy as np
import pytest

import lamina

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

LIBS = {"keras": keras, "lamina": lamina}
OTHER = {"keras": "lamina", "lamina": "keras"}


def _padded(rows=16, steps=7, seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 20, size=(rows, steps)).astype("int32")
    for row in range(rows):
        tokens[row, rng.integers(1, steps):] = 0
    return tokens


def pooled_text(k):
    """Embedding(mask_zero=True) -> GlobalAveragePooling1D -> Dense: the mask decides which
    steps are averaged."""
    model = k.Sequential([k.Input((None,), dtype="int32", name="tokens"),
                          k.layers.Embedding(20, 8, mask_zero=True, name="embed"),
                          k.layers.GlobalAveragePooling1D(name="pool"),
                          k.layers.Dense(1, name="out")], name="pooled_text")
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse", metrics=["mae"],
                  steps_per_execution=1)
    return model


def tagged_steps(k):
    """A per-step output: the mask reaches the loss, which leaves padded steps out."""
    tokens = k.Input((None,), dtype="int32", name="tokens")
    hidden = k.layers.Dense(4, activation="tanh", name="hidden")(
        k.layers.Embedding(20, 8, mask_zero=True, name="embed")(tokens))
    model = k.Model(tokens, k.layers.Dense(1, name="tag")(hidden), name="tagged_steps")
    model.compile(optimizer=k.optimizers.SGD(0.1), loss="mse", metrics=["mae"],
                  steps_per_execution=1)
    return model


TARGETS = {"pooled_text": lambda x: np.random.default_rng(1).normal(size=(len(x), 1)),
           "tagged_steps": lambda x: np.random.default_rng(2).normal(size=x.shape + (1,))}


@pytest.mark.parametrize("source, family", [("keras", pooled_text), ("lamina", pooled_text),
                                            ("keras", tagged_steps)],
                         ids=["keras-pooled", "lamina-pooled", "keras-per_step"])
def test_trained_masked_model_predicts_and_trains_the_same_on_the_other_side(
        source, family, tmp_path):
    lib, target = LIBS[source], LIBS[OTHER[source]]
    keras.utils.clear_session()
    lib.utils.set_random_seed(3)
    x = _padded()
    y = TARGETS[family.__name__](x).astype("float32")
    trained = family(lib)
    trained.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    trained.save(tmp_path / "model.keras")
    loaded = target.models.load_model(tmp_path / "model.keras")
    batch = _padded(rows=5, steps=9, seed=4)  # another batch, another length
    np.testing.assert_allclose(np.asarray(loaded.predict(batch, verbose=0)),
                               np.asarray(trained.predict(batch, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    # Padding is ignored: more of it changes nothing.
    longer = np.pad(batch, ((0, 0), (0, 3)))
    np.testing.assert_allclose(np.asarray(loaded.predict(longer, verbose=0))[..., :9, :]
                               if family is tagged_steps else
                               np.asarray(loaded.predict(longer, verbose=0)),
                               np.asarray(loaded.predict(batch, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    # Both continue from the file's weights and optimizer state on the same batches.
    original = LIBS[source].models.load_model(tmp_path / "model.keras")
    ours = loaded.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    theirs = original.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    for key in ("loss", "mae"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-5)
