"""Wrappers: Bidirectional and TimeDistributed, against NumPy and (when installed) Keras 3."""

import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
MASK = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 1]], bool)
SHAPE = (2, 5, 3)


def assert_close(received, expected, tol=1e-5):
    np.testing.assert_allclose(np.asarray(received), expected, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- Bidirectional
def test_bidirectional_merges_forward_and_flipped_backward_outputs():
    layers = {mode: L.Bidirectional(L.GRU(4, return_sequences=True, **helpers.CHEAP),
                                    merge_mode=mode) for mode in ("concat", "sum", "ave", "mul")}
    layers[None] = L.Bidirectional(L.GRU(4, return_sequences=True, **helpers.CHEAP),
                                   merge_mode=None)
    weights = helpers.build(layers["concat"], SHAPE)
    for layer in list(layers.values())[1:]:
        helpers.build(layer, SHAPE)
        layer.set_weights(weights)
    results = helpers.compiled(lambda: {str(k): v(X, mask=MASK) for k, v in layers.items()})

    start = [np.zeros((2, 4))]
    forward, _ = helpers.run_reference(helpers.gru_step, weights[:3], X, start, mask=MASK,
                                       zero_output_for_mask=True)
    backward, _ = helpers.run_reference(helpers.gru_step, weights[3:], X, start, mask=MASK,
                                        go_backwards=True, zero_output_for_mask=True)
    backward = backward[:, ::-1]  # back to the input's order
    assert_close(results["concat"], np.concatenate([forward, backward], -1))
    assert_close(results["sum"], forward + backward)
    assert_close(results["ave"], (forward + backward) / 2)
    assert_close(results["mul"], forward * backward)
    assert_close(results["None"][0], forward)
    assert_close(results["None"][1], backward)
    assert np.all(np.asarray(results["concat"])[~MASK] == 0.0)  # zero_output_for_mask


def test_bidirectional_states_initial_states_weights_and_paths():
    layer = L.Bidirectional(L.LSTM(4, return_state=True, name="lstm", **helpers.CHEAP),
                            name="bidirectional")
    weights = helpers.build(layer, SHAPE)
    assert [w.path for w in layer.weights][::3] == [
        "bidirectional/forward_lstm/lstm_cell/kernel",
        "bidirectional/backward_lstm/lstm_cell/kernel"]
    assert layer.forward_layer.go_backwards is False and layer.backward_layer.go_backwards
    rng = np.random.default_rng(5)
    start = [rng.normal(size=(2, 4)).astype("float32") for _ in range(4)]
    output, h_f, c_f, h_b, c_b = helpers.compiled(lambda: layer(X, initial_state=start))

    forward, (h_f_ref, c_f_ref) = helpers.run_reference(helpers.lstm_step, weights[:3], X,
                                                        start[:2])
    backward, (h_b_ref, c_b_ref) = helpers.run_reference(helpers.lstm_step, weights[3:], X,
                                                         start[2:], go_backwards=True)
    assert_close(output, np.concatenate([forward[:, -1], backward[:, -1]], -1))
    for state, expected in ((h_f, h_f_ref), (c_f, c_f_ref), (h_b, h_b_ref), (c_b, c_b_ref)):
        assert_close(state, expected)
    assert layer.compute_output_shape((None, 5, 3)) == ((None, 8),) + ((None, 4),) * 4

    copy = L.Bidirectional(L.LSTM(4, return_state=True, **helpers.CHEAP), weights=weights)
    copy(X)  # `weights=` is applied once the layer is built
    for a, b in zip(copy.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_bidirectional_config_round_trip_and_custom_backward_layer():
    layer = L.Bidirectional(
        L.SimpleRNN(3, **helpers.CHEAP), merge_mode="sum",
        backward_layer=L.SimpleRNN(3, go_backwards=True, name="back", **helpers.CHEAP))
    helpers.build(layer, SHAPE)
    assert layer.backward_layer.name == "back"
    config = layer.get_config()
    assert config["merge_mode"] == "sum" and config["layer"]["class_name"] == "SimpleRNN"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert [w.path for w in restored.weights] == [w.path for w in layer.weights]
    assert restored.backward_layer.name == "back" and restored.merge_mode == "sum"
    inputs = L.Input((5, 3))
    assert L.Bidirectional(L.GRU(2, return_sequences=True, **helpers.CHEAP), merge_mode=None)(
        inputs)[1].shape == (None, 5, 2)


def test_bidirectional_errors():
    with pytest.raises(ValueError, match="Invalid merge_mode.*'max'.*'concat'"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="wraps a recurrent keras.layers.Layer"):
        L.Bidirectional("lstm")
    with pytest.raises(ValueError, match="go_backwards attribute|`go_backwards`"):
        L.Bidirectional(L.Dense(2))
    with pytest.raises(ValueError, match="different go_backwards"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="agree on return_sequences"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2, go_backwards=True,
                                                         return_sequences=True))
    layer = L.Bidirectional(L.GRU(2, **helpers.CHEAP))
    with pytest.raises(ValueError, match="initial_state must be a list.*forward"):
        layer(X, initial_state=[np.zeros((2, 2), "float32")])


# ----------------------------------------------------------------------------- TimeDistributed
def test_time_distributed_applies_one_layer_to_every_step():
    layer = L.TimeDistributed(L.Dense(4, activation="relu"), name="td")
    kernel, bias = helpers.build(layer, SHAPE)
    assert [w.path for w in layer.weights] == ["td/dense/kernel", "td/dense/bias"]
    assert_close(layer(X), np.maximum(X @ kernel + bias, 0))
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 4)
    assert L.TimeDistributed(L.Dense(7))(L.Input((5, 3))).shape == (None, 5, 7)
    images = np.ones((2, 3, 4, 4, 1), "float32")  # a Lambda over image frames
    flatten = L.TimeDistributed(L.Lambda(lambda x: jnp.reshape(x, (x.shape[0], -1))))
    assert flatten(images).shape == (2, 3, 16)


def test_time_distributed_passes_training_and_mask_to_the_wrapped_layer():
    seen = {}

    class Probe(keras.layers.Layer):
        def call(self, inputs, training=None, mask=None):
            seen["training"], seen["mask"] = training, None if mask is None else mask.shape
            return inputs

    L.TimeDistributed(Probe())(X, training=True, mask=MASK)
    assert seen == {"training": True, "mask": (10,)}


def test_time_distributed_config_round_trip_and_errors():
    layer = L.TimeDistributed(L.Dense(2, kernel_initializer="ones"))
    weights = helpers.build(layer, SHAPE)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    restored.set_weights(weights)
    assert_close(restored(X), np.asarray(layer(X)), tol=1e-6)
    assert restored.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="rank 3 or more.*x\\[:, None\\]"):
        L.TimeDistributed(L.Dense(2))(X[:, 0])
    with pytest.raises(ValueError, match="wraps a keras.layers.Layer"):
        L.TimeDistributed(np.sum)
    with pytest.raises(ValueError, match="mask must start with.*\\(2, 5\\)"):
        layer(X, mask=MASK[:, :3])


# ----------------------------------------------------------------------------- Keras 3
@pytest.mark.parametrize("merge_mode,options", [
    ("concat", {"return_sequences": True, "return_state": True}), ("ave", {}),
])
def test_bidirectional_matches_keras(merge_mode, options):
    k = helpers.import_keras()
    helpers.assert_matches_keras(
        k.layers.Bidirectional(k.layers.LSTM(3, name="lstm", **helpers.CHEAP, **options),
                               merge_mode=merge_mode, name="bi"),
        L.Bidirectional(L.LSTM(3, name="lstm", **helpers.CHEAP, **options),
                        merge_mode=merge_mode, name="bi"),
        {"input_shape": SHAPE}, X, mask=MASK)


def test_time_distributed_matches_keras():
    k = helpers.import_keras()
    helpers.assert_matches_keras(
        k.layers.TimeDistributed(k.layers.Dense(4, name="dense"), name="td"),
        L.TimeDistributed(L.Dense(4, name="dense"), name="td"), {"input_shape": SHAPE}, X)
    keras_config = k.layers.TimeDistributed(k.layers.Dense(4, name="d"), name="t").get_config()
    assert L.TimeDistributed(L.Dense(4, name="d"), name="t").get_config() == keras_config
