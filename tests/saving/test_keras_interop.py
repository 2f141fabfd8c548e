"""Configs move between lamina and a live Keras 3 (skipped when Keras is not installed)."""

import os
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import saving
from lamina import _registry as registry

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def _restore_registries():
    ours = (dict(saving.get_custom_objects()), dict(registry._GLOBAL_CUSTOM_NAMES))
    from keras.src.saving import object_registration as theirs

    keras_objects = dict(theirs.GLOBAL_CUSTOM_OBJECTS)
    keras_names = dict(theirs.GLOBAL_CUSTOM_NAMES)
    yield
    saving.get_custom_objects().clear()
    saving.get_custom_objects().update(ours[0])
    registry._GLOBAL_CUSTOM_NAMES.clear()
    registry._GLOBAL_CUSTOM_NAMES.update(ours[1])
    theirs.GLOBAL_CUSTOM_OBJECTS.clear()
    theirs.GLOBAL_CUSTOM_OBJECTS.update(keras_objects)
    theirs.GLOBAL_CUSTOM_NAMES.clear()
    theirs.GLOBAL_CUSTOM_NAMES.update(keras_names)


def values():
    return [None, 3, 2.5, "s", True, (1, (2, 3)), [1, [2]], {"a": (1, 2)}, np.float32(1.5),
            np.int64(7), np.array(4.0), np.array([[1, 2]], dtype="int32"), b"bytes",
            slice(1, None, 2), Ellipsis]


def test_plain_values_match():
    for value in values():
        assert saving.serialize_keras_object(value) == keras.saving.serialize_keras_object(value)
    tensor = jnp.array([1.0, 2.0])
    assert saving.serialize_keras_object(tensor) == keras.saving.serialize_keras_object(tensor)


def my_softplus(z):
    return jnp.log(jnp.exp(z) + 1.0)


def test_functions_match():
    for name in ("relu", "silu", "softmax", "linear"):
        assert saving.serialize_keras_object(getattr(lamina.activations, name)) == \
            keras.saving.serialize_keras_object(getattr(keras.activations, name))
    assert saving.serialize_keras_object(my_softplus) == \
        keras.saving.serialize_keras_object(my_softplus)
    saving.register_keras_serializable(package="book")(my_softplus)
    keras.saving.register_keras_serializable(package="book")(my_softplus)
    try:
        ours = saving.serialize_keras_object(my_softplus)
        assert ours == keras.saving.serialize_keras_object(my_softplus)
        assert keras.saving.deserialize_keras_object(ours) is my_softplus
        assert saving.deserialize_keras_object(ours) is my_softplus
    finally:
        # Left registered, "book>my_softplus" would answer for a bare "my_softplus" in the
        # tests that check that an unregistered function is reported missing.
        saving.get_custom_objects().pop("book>my_softplus", None)
        registry._GLOBAL_CUSTOM_NAMES.pop(my_softplus, None)
        keras.saving.get_custom_objects().pop("book>my_softplus", None)


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def get_config(self):
        return {"factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_custom_classes_match_both_ways():
    expected = keras.saving.serialize_keras_object(Scaler(2.0))
    assert saving.serialize_keras_object(Scaler(2.0)) == expected
    custom = {"Scaler": Scaler}
    assert saving.deserialize_keras_object(expected, custom_objects=custom).factor == 2.0
    assert keras.saving.deserialize_keras_object(
        saving.serialize_keras_object(Scaler(2.0)), custom_objects=custom).factor == 2.0
    keras.saving.register_keras_serializable("pkg")(Scaler)
    saving.register_keras_serializable("pkg")(Scaler)
    expected = keras.saving.serialize_keras_object(Scaler(1.0))
    assert expected["registered_name"] == "pkg>Scaler"
    assert saving.serialize_keras_object(Scaler(1.0)) == expected


def test_lambdas_move_both_ways():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_keras = keras.saving.serialize_keras_object(lambda x, k=3: x * k)
        with saving.allow_lambda_code():
            from_lamina = saving.serialize_keras_object(lambda x, k=3: x * k)
    assert from_keras["class_name"] == from_lamina["class_name"] == "__lambda__"
    assert saving.deserialize_keras_object(from_keras, safe_mode=False)(2) == 6
    assert keras.saving.deserialize_keras_object(from_lamina, safe_mode=False)(2) == 6


def test_building_blocks_inside_a_keras_layer_config():
    """A Keras Dense config's sub-objects load in lamina, with names in Keras's format."""
    layer = keras.layers.Dense(
        2, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=3),
        kernel_regularizer=keras.regularizers.L1L2(0.1, 0.2),
        kernel_constraint=keras.constraints.MaxNorm(3.0))
    config = keras.saving.serialize_keras_object(layer)["config"]
    assert lamina.activations.get(config["activation"]) is lamina.activations.relu
    init = lamina.initializers.get(config["kernel_initializer"])
    assert isinstance(init, lamina.initializers.HeNormal) and init.seed == 3
    assert lamina.regularizers.get(config["kernel_regularizer"]).get_config() == \
        {"l1": 0.1, "l2": 0.2}
    assert lamina.constraints.get(config["kernel_constraint"]).max_value == 3.0
    for key in ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                "kernel_constraint"):
        assert saving.serialize_keras_object(
            saving.deserialize_keras_object(config[key])) == config[key]
