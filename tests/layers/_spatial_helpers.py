"""Shared checks for the convolution, pooling and spatial layer tests.

`check_against_keras` builds the same layer in Keras 3 (JAX backend), copies lamina's weights
into it and compares outputs and configs; it is skipped when Keras is not installed.
"""

import inspect
import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina

_CACHE = {}


def random_input(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def constant_initializers(name):
    """Initializer arguments that skip random sampling (each new weight shape costs an XLA
    compile of the sampler); the tests set random weights with set_weights instead."""
    if name.startswith("Separable"):
        return {"depthwise_initializer": "ones", "pointwise_initializer": "ones"}
    if name.startswith("Depthwise"):
        return {"depthwise_initializer": "ones"}
    if name.startswith("Conv"):
        return {"kernel_initializer": "ones"}
    return {}


def built_layer(name, args, kwargs, shape):
    """A lamina layer called once on a fixed random input, with random weights (biases too),
    shared between the tests of one case: `(layer, x, y)`."""
    key = (name, repr(args), repr(sorted(kwargs.items())), shape)
    if key not in _CACHE:
        kwargs = {**constant_initializers(name), **kwargs}
        layer = getattr(lamina.layers, name)(*args, **kwargs)
        x = random_input(shape)
        layer(x)
        rng = np.random.default_rng(1)
        layer.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                           for w in layer.get_weights()])
        _CACHE[key] = (layer, x, np.asarray(layer(x)))
    return _CACHE[key]


def to_channels_last(x, data_format):
    return x if data_format != "channels_first" else np.moveaxis(x, 1, -1)


def to_channels_first(x, data_format):
    return x if data_format != "channels_first" else np.moveaxis(x, -1, 1)


def check_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def check_gradients(layer, x):
    """Gradients of a weighted sum of the outputs, for the weights and for the input."""
    x_var = lamina.Variable(jnp.asarray(x))
    probe = np.random.default_rng(2).normal(size=np.shape(layer(x))).astype("float32")

    def loss():
        return jnp.sum(layer(x_var.value) * probe)

    variables = [x_var] + list(layer.trainable_weights)
    # Compiled: one XLA program for forward and backward (and one compile, not one per op).
    value, grads = lamina.function(lamina.value_and_grad(loss, variables))()
    assert np.isfinite(float(value))
    for variable, grad in zip(variables, grads):
        assert grad.shape == variable.shape
        assert np.all(np.isfinite(grad))
        assert np.any(grad != 0), variable.path


def keras_module():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def check_against_keras(name, args, kwargs, shape):
    """Same weights, same outputs (to 1e-5), and the same config keys and values."""
    keras = keras_module()
    layer, x, y = built_layer(name, args, kwargs, shape)
    theirs = getattr(keras.layers, name)(*args, **{**constant_initializers(name), **kwargs})
    theirs(x)
    assert [w.shape for w in theirs.weights] == [w.shape for w in layer.weights]
    assert [w.path.rsplit("/", 1)[-1] for w in theirs.weights] == \
        [w.path.rsplit("/", 1)[-1] for w in layer.weights]
    theirs.set_weights(layer.get_weights())
    expected = np.asarray(theirs(x))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    ours, keras_config = dict(layer.get_config()), dict(theirs.get_config())
    ours.pop("name"), keras_config.pop("name")
    assert ours == keras_config


def check_signature_matches_keras(name):
    """Same constructor parameters as Keras 3, in the same order, with the same defaults, so
    positional calls port unchanged."""
    keras = keras_module()

    def parameters(cls):
        return [(p.name, p.kind, p.default)
                for p in inspect.signature(cls.__init__).parameters.values()]

    assert parameters(getattr(lamina.layers, name)) == parameters(getattr(keras.layers, name))
