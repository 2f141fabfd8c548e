import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.compat import tf


class MyMultiLayer(keras.layers.Layer):
    def call(self, X):
        X1, X2 = X
        return [X1 + X2, X1 * X2, X1 / X2]

    def compute_output_shape(self, batch_input_shape):
        b1, b2 = batch_input_shape
        return [b1, b1, b1]


def test_two_inputs_two_outputs_with_dicts_and_shared_layer():
    a = keras.Input(shape=(4,), name="a")
    b = keras.layers.Input(shape=(4,), name="b")
    shared = keras.layers.Dense(2, name="shared")
    merged = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    model = keras.Model(inputs={"a": a, "b": b}, outputs={"merged": merged, "left": shared(a)})
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "cat"]
    assert len(model.weights) == 2  # one set of weights for the shared layer
    x = {"a": np.ones((3, 4), np.float32), "b": np.zeros((3, 4), np.float32)}
    out = model(x)
    assert out["merged"].shape == (3, 4) and out["left"].shape == (3, 2)
    kernel, bias = shared.kernel.numpy(), shared.bias.numpy()
    np.testing.assert_allclose(out["left"], x["a"] @ kernel + bias, rtol=1e-6)
    assert model.get_layer("shared") is shared
    assert [t.shape for t in model.inputs] == [(None, 4), (None, 4)]


def test_symbolic_shapes_come_without_computation():
    calls = []

    class Probe(keras.layers.Layer):
        def call(self, x):
            calls.append(type(x).__name__)
            return x * 2

    x = keras.Input((5,))
    y = Probe()(x)
    assert y.shape == (None, 5)
    assert "ArrayImpl" not in calls  # traced abstractly, never on real values


def test_multi_input_multi_output_layer_in_a_graph():
    a, b = keras.Input((2,)), keras.Input((2,))
    s, p, q = MyMultiLayer()((a, b))
    assert s.shape == p.shape == q.shape == (None, 2)
    model = keras.Model([a, b], [s, p, q])
    out = model([jnp.full((1, 2), 2.0), jnp.full((1, 2), 4.0)])
    assert [float(o[0, 0]) for o in out] == [6.0, 8.0, 0.5]


def test_nested_models_and_config_round_trip():
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, keras.layers.Dense(2, name="inner_dense")(inner_in),
                        name="inner")
    x = keras.Input((3,), name="x")
    y = keras.layers.Dense(1, name="head")(inner(x))
    outer = keras.Model(x, y, name="outer")
    data = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    expected = outer(data)
    config = outer.get_config()
    assert config["input_layers"] == ["x", 0, 0] and config["output_layers"] == ["head", 0, 0]
    inner_entry = [e for e in config["layers"] if e["name"] == "inner"][0]
    assert inner_entry["class_name"] == "Functional"
    assert inner_entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["x", 0, 0]
    head_entry = [e for e in config["layers"] if e["name"] == "head"][0]
    assert head_entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == \
        ["inner", 0, 0]
    clone = keras.Model.from_config(config)
    clone.set_weights(outer.get_weights())
    np.testing.assert_allclose(clone(data), expected, rtol=1e-6)
    # As outputs, Keras counts a nested functional model's calls from 1 (its own node first).
    ends_nested = keras.Model(x, inner(x), name="ends_nested")
    assert ends_nested.get_config()["output_layers"] == ["inner", 1, 0]
    clone = keras.Model.from_config(ends_nested.get_config())
    clone.set_weights(ends_nested.get_weights())
    np.testing.assert_allclose(clone(data), ends_nested(data), rtol=1e-6)


def test_ops_and_slicing_on_symbolic_tensors_are_not_required_for_layers():
    x = keras.Input((4,))
    y = keras.layers.Lambda(lambda t: tf.reduce_sum(t, axis=-1, keepdims=True))(x)
    assert y.shape == (None, 1)


def test_unreachable_output_names_the_missing_input():
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    y = keras.layers.Add(name="add")([a, b])
    with pytest.raises(ValueError, match=r"add depends on input 'b'.*not in `inputs`"):
        keras.Model(inputs=a, outputs=y)


def test_duplicate_layer_names_are_refused():
    x = keras.Input((2,))
    y = keras.layers.Dense(2, name="same")(keras.layers.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="two different layers named 'same'"):
        keras.Model(x, y)


def test_inputs_must_come_from_keras_input():
    with pytest.raises(TypeError, match="symbolic tensors"):
        keras.Model(inputs=jnp.ones(2), outputs=keras.Input((2,)))


def test_feeding_wrong_keys_or_shapes_is_explained():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    model = keras.Model({"a": a, "b": b}, keras.layers.Concatenate()([a, b]))
    with pytest.raises(ValueError, match=r"Missing: \['b'\]; unexpected: \['c'\]"):
        model({"a": np.ones((1, 2)), "c": np.ones((1, 3))})
    with pytest.raises(ValueError, match=r"Input 'b'.*expects shape \(None, 3\).*\(1, 4\)"):
        model({"a": np.ones((1, 2)), "b": np.ones((1, 4))})
    with pytest.raises(ValueError, match="expects 2 inputs"):
        keras.Model([a, b], keras.layers.Concatenate()([a, b]))([np.ones((1, 2))])


def test_shape_mismatch_between_connected_layers_fails_at_build_time():
    x = keras.Input((3,))
    h = keras.layers.Dense(4, name="hidden")(x)
    with pytest.raises(ValueError, match=r"layer 'concatenate'|Concatenate"):
        keras.layers.Concatenate(axis=0)([h, keras.layers.Dense(5)(x)])


def test_ops_arithmetic_and_slicing_on_inputs_become_graph_nodes():
    x = keras.Input((4,), name="x")
    y = keras.ops.sum(keras.ops.exp(x), axis=-1, keepdims=True) + x[:, :1] * 2
    assert y.shape == (None, 1)
    model = keras.Model(x, keras.layers.Dense(1, kernel_initializer="ones", name="d")(y))
    data = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    expected = np.exp(data).sum(-1, keepdims=True) + data[:, :1] * 2
    np.testing.assert_allclose(model(data), expected, rtol=1e-5)
    import json

    clone = keras.Model.from_config(json.loads(model.to_json())["config"])
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(data), expected, rtol=1e-5)


def test_outputs_given_as_a_list_of_one_return_the_bare_value_on_data():
    # The book's `keras.Model(inputs=[input_], outputs=[output])`: Keras 3 returns the array
    # from `model(x)` and `predict`, and keeps the list for symbolic outputs.
    inputs = keras.Input((3,))
    model = keras.Model(inputs=[inputs], outputs=[keras.layers.Dense(2)(inputs)])
    x = np.ones((4, 3), np.float32)
    assert model(x).shape == (4, 2)
    assert isinstance(model.predict(x, verbose=0), np.ndarray)
    assert isinstance(model.output, list) and isinstance(model(inputs), list)
    outer = keras.Model(inputs, model(inputs))
    assert isinstance(outer.predict(x, verbose=0), np.ndarray)
    model.compile(loss=["mse"], metrics=[["mae"]])
    logs = model.evaluate(x, [np.zeros((4, 2))], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mae"}
