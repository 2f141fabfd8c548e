import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras


def test_from_list_with_input_shape_on_first_layer():
    model = keras.Sequential([
        keras.layers.Dense(30, activation="selu", input_shape=(8,)),
        keras.layers.Dense(1),
    ])
    assert model.built and len(model.layers) == 2
    assert model.output_shape == (None, 1) and model.input_shape == (None, 8)
    assert [w.path for w in model.weights][:2] == ["sequential/dense/kernel",
                                                   "sequential/dense/bias"]
    assert model.count_params() == 8 * 30 + 30 + 31


def test_leading_input_add_and_pop():
    model = keras.Sequential(name="stack")
    model.add(keras.Input(shape=(4,)))
    model.add(keras.layers.Dense(3, name="a"))
    model.add(keras.layers.Dense(2, name="b"))
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "b" and model.output_shape == (None, 3)
    assert [layer.name for layer in model.layers] == ["a"]
    assert model(np.ones((5, 4), np.float32)).shape == (5, 3)


def test_deferred_build_on_first_call():
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(1)])
    assert not model.built and model.weights == []
    out = model(np.ones((2, 7), np.float32))
    assert out.shape == (2, 1) and model.built and model.input_shape == (None, 7)
    assert len(model.weights) == 4


def test_config_round_trip_matches_keras_schema():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")], name="s")
    config = model.get_config()
    assert set(config) == {"name", "trainable", "dtype", "layers", "build_input_shape"}
    assert config["layers"][0]["class_name"] == "InputLayer"
    assert config["layers"][1]["build_config"] == {"input_shape": (None, 3)}
    clone = keras.Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(clone(x), model(x))


def test_bad_additions_are_explained():
    model = keras.Sequential([keras.layers.Dense(2, name="x")])
    with pytest.raises(ValueError, match="already has a layer named 'x'"):
        model.add(keras.layers.Dense(2, name="x"))
    with pytest.raises(TypeError, match="only accepts layers.*Lambda"):
        model.add(lambda t: t)
    with pytest.raises(ValueError, match="cannot be built without an input shape"):
        keras.Sequential([keras.layers.Dense(1)]).build()


def test_shape_mismatch_is_reported_when_the_model_is_built():
    with pytest.raises(ValueError, match=r"layer 'dense_1'.*min_ndim=2"):
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                          keras.layers.Lambda(lambda t: t[:, 0]), keras.layers.Dense(1)])


def test_eager_calls_use_a_cached_compiled_forward():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = jnp.ones((1, 3))
    first = model(x)
    compiled = model._compiled_calls["call"][1]
    model(x)
    assert model._compiled_calls["call"][1] is compiled
    assert compiled.tracing_count == 2  # discover the weights, then carry them
    np.testing.assert_allclose(first, x @ model.layers[0].kernel.value + model.layers[0].bias.value,
                               rtol=1e-6)
    model.layers[0].kernel.assign(jnp.zeros((3, 2)))  # values are inputs, not constants
    np.testing.assert_allclose(model(x), jnp.zeros((1, 2)) + model.layers[0].bias.value)
