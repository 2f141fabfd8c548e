"""keras.layers.serialize / deserialize: Keras 3's config format, both ways."""

import os

import numpy as np
import pytest

import lamina as keras

L = keras.layers


def test_round_trip_keeps_config_and_build():
    layer = L.Dense(3, activation="relu", name="d")
    layer(np.ones((2, 4), "float32"))
    config = L.serialize(layer)
    assert (config["module"], config["class_name"]) == ("keras.layers", "Dense")
    assert config["build_config"] == {"input_shape": (2, 4)}
    restored = L.deserialize(config)
    assert type(restored) is L.Dense and restored.get_config() == layer.get_config()
    assert restored.built and restored.kernel.shape == (4, 3)
    # A bare class name refers to a built-in layer.
    assert L.deserialize({"class_name": "Dropout", "config": {"rate": 0.3}}).rate == 0.3


def test_custom_layers_and_errors():
    class Scale(L.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    config = L.serialize(Scale(3.0))
    restored = L.deserialize(config, custom_objects={"Scale": Scale})
    assert type(restored) is Scale and restored.factor == 3.0
    with pytest.raises(TypeError, match="Could not find the class 'Scale'"):
        L.deserialize(config)
    with pytest.raises(ValueError, match="expects the config of a layer.*describes a Zeros"):
        L.deserialize(keras.initializers.serialize(keras.initializers.Zeros()))


def test_configs_move_between_keras_and_lamina():
    os.environ["KERAS_BACKEND"] = "jax"
    k = pytest.importorskip("keras")
    theirs = k.layers.Conv1D(4, 3, padding="same", name="conv")
    ours = L.deserialize(k.layers.serialize(theirs))
    assert type(ours) is L.Conv1D and ours.get_config() == theirs.get_config()
    back = k.layers.deserialize(L.serialize(L.LayerNormalization(axis=[1, 2], name="ln")))
    assert type(back) is k.layers.LayerNormalization and back.get_config()["axis"] == [1, 2]
    x = np.ones((1, 5, 2), "float32")
    assert ours(x).shape == theirs(x).shape == (1, 5, 4)
