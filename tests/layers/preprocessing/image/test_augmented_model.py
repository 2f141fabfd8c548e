"""A model with RandomFlip, RandomRotation and RandomZoom in front: it trains with `fit` (the
augmentation drawn inside the compiled step, advancing the seed state), predicts without the
augmentation, and its `.keras` file moves both ways with Keras 3.15 with equal configs and
weights."""

import os

import numpy as np
import pytest

import lamina as keras

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(16, 8, 8, 1)).astype("float32")
Y = X.mean(axis=(1, 2)).astype("float32")


def _model(api):
    layers = api.layers
    return api.Sequential([
        api.Input((8, 8, 1)),
        layers.RandomFlip("horizontal", seed=1),
        layers.RandomRotation(0.1, fill_mode="constant", seed=2),
        layers.RandomZoom(0.1, seed=3),
        layers.Conv2D(2, 3, name="conv"), layers.Flatten(name="flat"), layers.Dense(1, name="out"),
    ])


def _head(model, x):
    for layer in model.layers[3:]:
        x = layer(x)
    return np.asarray(x)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model = _model(keras)
    model.compile(optimizer="adam", loss="mse")
    states = [np.asarray(layer.generator.state.value) for layer in model.layers[:3]]
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("augmented") / "model.keras"
    model.save(path)
    return model, states, history, path


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def test_fit_draws_the_augmentation_in_the_step_and_predict_skips_it(trained):
    model, states, history, _ = trained
    assert np.all(np.isfinite(history.history["loss"]))
    for layer, before in zip(model.layers[:3], states):
        assert int(layer.generator.state.value[1]) > int(before[1])  # draws advanced the state
    np.testing.assert_allclose(model.predict(X, verbose=0), _head(model, X), rtol=1e-5,
                               atol=1e-6)


def test_the_file_loads_in_lamina_and_in_keras_with_equal_configs(trained, keras3):
    model, _, _, path = trained
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_config() == model.get_config()
    theirs = keras3.saving.load_model(path)
    for mine, their in zip(model.layers[:3], theirs.layers[:3]):
        assert their.get_config() == mine.get_config()
    for weights in (reloaded.get_weights(), theirs.get_weights()):
        for loaded, saved in zip(weights, model.get_weights(), strict=True):
            np.testing.assert_array_equal(loaded, saved)


def test_a_keras_file_loads_in_lamina(keras3, keras_preprocessing_layers, tmp_path):
    theirs = _model(keras3)
    path = tmp_path / "keras.keras"
    theirs.save(path)
    mine = keras.saving.load_model(path)
    for layer, their in zip(mine.layers[:3], theirs.layers[:3]):
        assert layer.get_config() == their.get_config()
        assert type(layer).__name__ == type(their).__name__
    for loaded, saved in zip(mine.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)
