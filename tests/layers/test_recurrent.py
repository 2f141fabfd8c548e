"""Recurrent layers and cells: SimpleRNN, LSTM, GRU, RNN over built-in, stacked and user cells.

Every number is checked against a NumPy loop over time (`_recurrent_helpers.py`), and, when
Keras 3 is installed, against Keras with the same weights. Each test computes what it checks in
one compiled function where it can: a compiled scan costs ~0.5 s on a CPU.
"""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
MASK = np.array([[1, 1, 0, 1, 1], [0, 1, 0, 0, 1]], bool)
SHAPE = (2, 5, 3)
KINDS = ["SimpleRNN", "LSTM", "GRU"]


def make(kind, **kwargs):
    return getattr(L, kind)(4, **helpers.CHEAP, **kwargs)


def zeros(kind, units=4):
    return [np.zeros((2, units))] * helpers.STATE_COUNT[kind]


def assert_close(received, expected, tol=1e-5):
    np.testing.assert_allclose(np.asarray(received), expected, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("kind", KINDS)
def test_matches_numpy_reference_with_states_mask_and_go_backwards(kind):
    forward = make(kind, return_sequences=True, return_state=True)
    weights = helpers.build(forward, SHAPE)
    backward = make(kind, return_sequences=True, return_state=True, go_backwards=True)
    helpers.build(backward, SHAPE)
    backward.set_weights(weights)
    start = [np.random.default_rng(3).normal(size=(2, 4)).astype("float32")
             for _ in range(helpers.STATE_COUNT[kind])]
    plain, masked, reverse = helpers.compiled(lambda: (
        forward(X), forward(X, initial_state=start, mask=MASK),
        backward(X, initial_state=start, mask=MASK)))

    step = helpers.STEPS[kind]
    for (outputs, *states), reference in (
            (plain, helpers.run_reference(step, weights, X, zeros(kind))),
            (masked, helpers.run_reference(step, weights, X, start, mask=MASK)),
            (reverse, helpers.run_reference(step, weights, X, start, mask=MASK,
                                            go_backwards=True))):
        assert_close(outputs, reference[0])
        assert len(states) == helpers.STATE_COUNT[kind]
        for state, expected in zip(states, reference[1]):
            assert_close(state, expected)


def test_gru_reset_before_zero_output_for_mask_and_unroll():
    gru = L.GRU(4, reset_after=False, return_sequences=True, zero_output_for_mask=True,
                **helpers.CHEAP)
    weights = helpers.build(gru, SHAPE)
    assert gru.weights[2].shape == (12,)
    lstm, unrolled = make("LSTM"), make("LSTM", unroll=True)
    lstm_weights = helpers.build(lstm, SHAPE)
    helpers.build(unrolled, SHAPE)
    unrolled.set_weights(lstm_weights)
    sequences, last, last_unrolled = helpers.compiled(lambda: (
        gru(X, mask=MASK), lstm(X, mask=MASK), unrolled(X, mask=MASK)))

    expected, _ = helpers.run_reference(helpers.gru_before_step, weights, X, zeros("GRU"),
                                        mask=MASK, zero_output_for_mask=True)
    assert_close(sequences, expected)
    assert np.all(np.asarray(sequences)[~MASK] == 0.0)
    expected, _ = helpers.run_reference(helpers.lstm_step, lstm_weights, X, zeros("LSTM"),
                                        mask=MASK)
    assert_close(last, expected[:, -1])
    assert_close(last_unrolled, expected[:, -1])


def test_weights_names_shapes_defaults_and_forget_bias():
    lstm = L.LSTM(4, name="lstm", **helpers.CHEAP)
    lstm.build_from_config({"input_shape": SHAPE})
    assert [(w.path, w.shape) for w in lstm.weights] == [
        ("lstm/lstm_cell/kernel", (3, 16)), ("lstm/lstm_cell/recurrent_kernel", (4, 16)),
        ("lstm/lstm_cell/bias", (16,))]
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), [0] * 4 + [1] * 4 + [0] * 8)
    gru = L.GRU(4, name="gru", **helpers.CHEAP)
    gru.build(SHAPE)  # a direct build() still gives the layer's name to the paths
    assert [(w.path, w.shape) for w in gru.weights][2] == ("gru/gru_cell/bias", (2, 12))
    default = L.LSTM(4)
    assert isinstance(default.recurrent_initializer, keras.initializers.Orthogonal)
    assert isinstance(default.kernel_initializer, keras.initializers.GlorotUniform)
    assert (default.units, default.activation, default.recurrent_activation) == (
        4, keras.activations.tanh, keras.activations.sigmoid)
    assert L.GRU(4).reset_after is True


# ----------------------------------------------------------------------------- cells
def test_cell_called_alone_and_inside_rnn():
    cell = L.LSTMCell(4, **helpers.CHEAP)
    weights = helpers.build(cell, (2, 3))
    h, (h2, c) = cell(X[:, 0], [jnp.zeros((2, 4)), jnp.zeros((2, 4))])
    expected_h, (_, expected_c) = helpers.lstm_step(weights, X[:, 0], zeros("LSTM"))
    assert_close(h, expected_h)
    assert_close(c, expected_c)
    assert h is h2

    rnn = L.RNN(L.GRUCell(4, **helpers.CHEAP), return_sequences=True, name="rnn")
    weights = helpers.build(rnn, SHAPE)
    assert rnn.weights[0].path == "rnn/gru_cell/kernel"
    expected, _ = helpers.run_reference(helpers.gru_step, weights, X, zeros("GRU"))
    assert_close(helpers.compiled(lambda: rnn(X)), expected)


def test_stacked_cells_chain_outputs_and_nest_states():
    rnn = L.RNN([L.SimpleRNNCell(4, **helpers.CHEAP), L.LSTMCell(3, **helpers.CHEAP)],
                return_state=True, name="rnn")
    weights = helpers.build(rnn, SHAPE)
    assert [w.path for w in rnn.weights][::3] == [
        "rnn/stacked_rnn_cells/simple_rnn_cell/kernel", "rnn/stacked_rnn_cells/lstm_cell/kernel"]
    output, first, second = helpers.compiled(lambda: rnn(X, mask=MASK))

    hidden, first_states = helpers.run_reference(helpers.simple_rnn_step, weights[:3], X,
                                                 zeros("SimpleRNN"), mask=MASK)
    top, second_states = helpers.run_reference(helpers.lstm_step, weights[3:], hidden,
                                               zeros("LSTM", 3), mask=MASK)
    assert_close(output, top[:, -1])
    assert_close(first[0], first_states[0])
    assert_close(second[1], second_states[1])
    # The symbolic structure is the one the call returns.
    assert rnn.compute_output_shape((None, 5, 3)) == (
        (None, 3), [(None, 4)], [(None, 3), (None, 3)])


class MinimalRNNCell(keras.layers.Layer):
    """The cell of the Keras RNN guide: h_t = x_t W + h_{t-1} U."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_user_written_cell_runs_differentiates_and_round_trips():
    rnn = L.RNN(MinimalRNNCell(4), return_sequences=True)
    kernel, recurrent = helpers.build(rnn, SHAPE)
    outputs, (value, grads) = helpers.compiled(lambda: (rnn(X), keras.value_and_grad(
        lambda: jnp.sum(rnn(X) ** 2), rnn.trainable_variables)()))
    h, expected = np.zeros((2, 4)), []
    for t in range(5):
        h = X[:, t] @ kernel + h @ recurrent
        expected.append(h)
    assert_close(outputs, np.stack(expected, 1))
    assert np.isclose(float(value), np.sum(np.stack(expected, 1) ** 2), rtol=1e-5)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    with keras.saving.custom_object_scope({"MinimalRNNCell": MinimalRNNCell}):
        clone = L.RNN.from_config(rnn.get_config())
    assert isinstance(clone.cell, MinimalRNNCell) and clone.cell.units == 4


# ----------------------------------------------------------------------------- training
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradients_match_a_jax_loop(kind):
    layer = make(kind)
    weights = helpers.build(layer, SHAPE)
    step = helpers.STEPS[kind]

    @jax.jit
    def reference(values):
        states = [jnp.zeros((2, 4))] * helpers.STATE_COUNT[kind]
        for t in range(5):
            _, states = step(values, X[:, t], states, xp=jnp)
        return jnp.sum(states[0] ** 2)

    value, grads = helpers.compiled(keras.value_and_grad(
        lambda: jnp.sum(layer(X) ** 2), layer.trainable_variables))
    expected_value, expected_grads = jax.value_and_grad(reference)(
        [jnp.asarray(w) for w in weights])
    assert np.isclose(float(value), float(expected_value), rtol=1e-5)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_dropout_masks_are_sampled_once_per_sequence_and_only_in_training():
    # With an identity kernel, a zero recurrent kernel and a linear activation, each output
    # step is the dropped-out input: the same mask at every step means equal rows.
    layer = L.SimpleRNN(3, activation=None, use_bias=False, dropout=0.5, seed=7,
                        return_sequences=True, kernel_initializer="identity",
                        recurrent_initializer="zeros")
    ones = np.ones((2, 5, 3), "float32")
    np.testing.assert_array_equal(layer(ones), ones)  # inference: no dropout
    run = keras.function(lambda: layer(ones, training=True))
    first, second = np.asarray(run()), np.asarray(run())
    assert set(np.unique(first)) <= {0.0, 2.0} and 0.0 in first
    np.testing.assert_array_equal(first, np.repeat(first[:, :1], 5, axis=1))
    assert not np.array_equal(first, second)  # a new mask for the next sequence


def test_recurrent_dropout_trains_with_finite_gradients():
    layers = [make(kind, dropout=0.2, recurrent_dropout=0.3, seed=1) for kind in ("LSTM", "GRU")]
    weights = [helpers.build(layer, SHAPE) for layer in layers]
    results = helpers.compiled(lambda: [keras.value_and_grad(
        lambda layer=layer: jnp.sum(layer(X, training=True) ** 2), layer.trainable_variables)()
        for layer in layers])
    for kind, layer_weights, (value, grads) in zip(("LSTM", "GRU"), weights, results):
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
        inference, _ = helpers.run_reference(helpers.STEPS[kind], layer_weights, X, zeros(kind))
        assert np.isfinite(float(value))
        assert not np.isclose(float(value), np.sum(inference[:, -1] ** 2), rtol=1e-3)


def test_compiled_matches_eager():
    layer = make("GRU", return_sequences=True)
    eager = layer(X, mask=MASK)  # the first call builds the layer and runs op by op
    compiled = keras.function(lambda x, m: layer(x, mask=m))(X, MASK)
    assert_close(eager, np.asarray(compiled), tol=1e-6)


def test_stateful_carries_states_between_calls_and_resets():
    layer = make("LSTM", stateful=True, return_state=True)
    weights = helpers.build(layer, SHAPE)
    assert len(layer.weights) == 3  # the states are not weights (as in Keras)
    _, h1, _ = layer(X)
    _, h2, _ = layer(X)
    _, expected = helpers.run_reference(helpers.lstm_step, weights, np.concatenate([X, X], 1),
                                        zeros("LSTM"))
    assert_close(h2, expected[0])
    layer.reset_states()
    _, h3, _ = layer(X)
    assert_close(h3, np.asarray(h1), tol=1e-6)
    with pytest.raises(ValueError, match="stateful.*batches of 2.*batch of 3"):
        layer(np.ones((3, 5, 3), "float32"))


# ----------------------------------------------------------------------------- API
@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip_keeps_arguments_and_numbers(kind):
    layer = getattr(L, kind)(4, dropout=0.25, recurrent_dropout=0.1, return_sequences=True,
                             go_backwards=True, kernel_regularizer="l2", seed=3,
                             **helpers.CHEAP)
    weights = helpers.build(layer, SHAPE)
    config = layer.get_config()
    assert "cell" not in config and config["units"] == 4 and config["dropout"] == 0.25
    clone = getattr(L, kind).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.built and [w.path for w in restored.weights] == [
        w.path for w in layer.weights]
    restored.set_weights(weights)
    a, b = helpers.compiled(lambda: (layer(X), restored(X)))
    assert_close(a, np.asarray(b), tol=1e-6)


def test_mixed_precision_computes_in_float16_with_float32_weights():
    layer = L.SimpleRNN(4, dtype="mixed_float16", return_state=True, **helpers.CHEAP)
    weights = helpers.build(layer, SHAPE)
    output, state = helpers.compiled(lambda: layer(X))
    assert output.dtype == state.dtype == jnp.float16
    assert {w.dtype for w in layer.weights} == {"float32"}
    expected, _ = helpers.run_reference(helpers.simple_rnn_step, weights, X, zeros("SimpleRNN"))
    assert_close(output, expected[:, -1], tol=2e-2)


def test_output_masks_follow_keras():
    mask = jnp.asarray(MASK)
    assert make("GRU", return_sequences=True).compute_mask(X, mask) is mask
    assert make("LSTM", return_state=True).compute_mask(X, mask) == [None, None, None]
    both = L.Bidirectional(make("GRU", return_sequences=True), merge_mode=None)
    assert both.compute_mask(X, mask) == [mask, mask]


def test_symbolic_shapes_without_computing():
    inputs = L.Input((5, 3))
    outputs = L.LSTM(4, return_sequences=True, return_state=True, **helpers.CHEAP)(inputs)
    assert [t.shape for t in outputs] == [(None, 5, 4), (None, 4), (None, 4)]
    assert L.GRU(2, **helpers.CHEAP)(inputs).shape == (None, 2)
    assert L.SimpleRNN(2, return_state=True, **helpers.CHEAP).compute_output_shape(
        (8, 5, 3)) == ((8, 2), (8, 2))


def test_errors_say_what_was_expected_and_how_to_fix():
    layer = make("LSTM", name="lstm")
    with pytest.raises(ValueError, match=r"layer 'lstm'.*expected ndim=3, found ndim=2"):
        layer(X[:, 0])
    helpers.build(layer, SHAPE)
    with pytest.raises(ValueError, match=r"initial_state.*2 array\(s\) of shapes "
                                         r"\[\(2, 4\), \(2, 4\)\].*received 1.*\[h, c\]"):
        layer(X, initial_state=[np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match=r"LSTM 'lstm'.*mask.*\(batch, timesteps\) = "
                                         r"\(2, 5\).*\(2, 5, 3\).*\(2, 4\)"):
        layer(X, mask=MASK[:, :4])
    with pytest.raises(ValueError, match="axis -1.*size 3"):
        layer(X[..., :2])
    with pytest.raises(ValueError, match="units must be a positive integer"):
        L.GRU(0)
    with pytest.raises(ValueError, match="state_size"):
        L.RNN(L.Dense(3))
    with pytest.raises(AttributeError, match="not stateful"):
        layer.reset_state()


def test_cell_that_assigns_inside_the_step_is_refused():
    class Counting(MinimalRNNCell):
        def build(self, input_shape):
            super().build(input_shape)
            self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="steps")

        def call(self, inputs, states):
            self.steps.assign_add(1.0)
            return super().call(inputs, states)

    with pytest.raises(ValueError, match="assigned the variables.*steps.*inside its step"):
        L.RNN(Counting(2))(X)


# ----------------------------------------------------------------------------- Keras 3
@pytest.mark.parametrize("kind,options", [
    ("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}),
    ("GRU", {"reset_after": False, "return_sequences": True}),
    ("LSTM", {"return_sequences": True, "return_state": True, "go_backwards": True}),
])
def test_matches_keras(kind, options):
    k = helpers.import_keras()
    kwargs = dict(name="rnn", **helpers.CHEAP, **options)
    helpers.assert_matches_keras(getattr(k.layers, kind)(4, **kwargs),
                                 getattr(L, kind)(4, **kwargs), {"input_shape": SHAPE},
                                 X, mask=MASK)


def test_matches_keras_configs_and_stacked_cells():
    k = helpers.import_keras()
    assert L.LSTM(4, name="a").get_config() == k.layers.LSTM(4, name="a").get_config()
    assert L.GRUCell(4, name="c").get_config() == k.layers.GRUCell(4, name="c").get_config()
    assert L.SimpleRNN(4, name="s").get_config() == k.layers.SimpleRNN(
        4, name="s").get_config()

    def cells(module):
        return [module.LSTMCell(4, name="c1", **helpers.CHEAP),
                module.GRUCell(3, name="c2", **helpers.CHEAP)]

    helpers.assert_matches_keras(k.layers.RNN(cells(k.layers), name="rnn"),
                                 L.RNN(cells(L), name="rnn"), {"input_shape": SHAPE}, X)


# ----------------------------------------------------------------------------- from_config
def _containers(module):
    layers = module.layers
    return [
        (layers.Bidirectional(layers.LSTM(3, name="lstm", **helpers.CHEAP), name="bidi"),
         SHAPE),
        (layers.RNN(layers.GRUCell(3, name="cell", **helpers.CHEAP), name="rnn"), SHAPE),
        (layers.RNN([layers.LSTMCell(3, name="c1", **helpers.CHEAP),
                     layers.SimpleRNNCell(2, name="c2", **helpers.CHEAP)], name="stack"),
         SHAPE),
        (layers.TimeDistributed(layers.Dense(3, name="dense"), name="td"), SHAPE),
        (layers.StackedRNNCells([layers.LSTMCell(3, name="c3", **helpers.CHEAP)],
                                name="cells"), (2, 3)),
    ]


def test_wrappers_rebuilt_from_a_config_own_their_weights_right_away():
    for layer, shape in _containers(keras):
        layer.build_from_config({"input_shape": shape})
        weights = helpers.random_weights(layer, seed=2)
        clone = type(layer).from_config(layer.get_config())
        # As in Keras 3: the sublayers are built from their build_config (the wrapper is not).
        assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
        assert [w.path for w in clone.weights] == [w.path for w in layer.weights]
        clone.set_weights(weights)
        for a, b in zip(clone.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
    # A built layer given to Bidirectional: both copies are built (fresh weights), as in Keras.
    lstm = L.LSTM(3, **helpers.CHEAP)
    lstm.build_from_config({"input_shape": SHAPE})
    both = L.Bidirectional(lstm, name="both")
    assert [w.path for w in both.weights][::3] == [
        "both/forward_lstm/lstm_cell/kernel", "both/backward_lstm/lstm_cell/kernel"]
    assert L.Bidirectional(L.LSTM(3)).weights == []


def test_rebuilt_wrappers_compute_like_the_original():
    layer = L.Bidirectional(L.GRU(3, return_sequences=True, **helpers.CHEAP))
    layer.build_from_config({"input_shape": SHAPE})
    helpers.random_weights(layer, seed=4)
    clone = L.Bidirectional.from_config(layer.get_config())
    clone.set_weights(layer.get_weights())
    a, b = helpers.compiled(lambda: (layer(X, mask=MASK), clone(X, mask=MASK)))
    assert_close(a, np.asarray(b), tol=1e-6)


def test_rebuilt_wrappers_own_as_many_weights_as_in_keras():
    k = helpers.import_keras()
    for (ours, shape), (theirs, _) in zip(_containers(keras), _containers(k)):
        ours.build_from_config({"input_shape": shape})
        theirs.build_from_config({"input_shape": shape})
        ours_clone = type(ours).from_config(ours.get_config())
        theirs_clone = type(theirs).from_config(theirs.get_config())
        assert ours_clone.built == theirs_clone.built
        assert [tuple(w.shape) for w in ours_clone.weights] == [
            tuple(w.shape) for w in theirs_clone.weights]
        # Keras gives the weights of a rebuilt wrapper paths without the wrapper's name.
        for mine, keras_weight in zip(ours_clone.weights, theirs_clone.weights):
            assert mine.path.startswith(f"{ours.name}/")
            assert mine.path.endswith(f"/{keras_weight.path}")


# ----------------------------------------------------------------------------- masks end to end
TOKENS = np.array([[3, 1, 4, 0, 0], [0, 0, 2, 7, 1], [5, 0, 6, 0, 8]], "int32")


def test_embedding_masks_reach_the_recurrent_layers_and_follow_their_outputs():
    embedding = L.Embedding(10, 3, mask_zero=True)
    lstm = make("LSTM", return_sequences=True)
    gru = L.GRU(2, **helpers.CHEAP)
    helpers.build(lstm, (3, 5, 3))
    helpers.build(gru, (3, 5, 4))
    x = embedding(TOKENS)
    sequences, last, explicit = helpers.compiled(lambda: (
        lstm(embedding(TOKENS)), gru(lstm(embedding(TOKENS))),
        gru(lstm(x, mask=TOKENS != 0), mask=TOKENS != 0)))
    assert_close(last, np.asarray(explicit), tol=1e-6)
    expected, _ = helpers.run_reference(helpers.lstm_step, lstm.get_weights(), np.asarray(x),
                                        [np.zeros((3, 4))] * 2, mask=TOKENS != 0)
    assert_close(sequences, expected)
    # Eagerly too: the sequence output carries the time-step mask, the last output none.
    eager = lstm(embedding(TOKENS))
    np.testing.assert_array_equal(eager._keras_mask, TOKENS != 0)
    assert getattr(gru(eager), "_keras_mask", None) is None


def _masked_outputs(k):
    """Which outputs of each recurrent layer carry a mask, on a masked symbolic input."""
    inputs = k.Input((5,), dtype="int32")
    x = k.layers.Embedding(10, 3, mask_zero=True)(inputs)
    layers = k.layers
    cases = {
        "sequences": layers.LSTM(2, return_sequences=True),
        "last": layers.GRU(2),
        "sequences_and_states": layers.LSTM(2, return_sequences=True, return_state=True),
        "bidirectional": layers.Bidirectional(layers.GRU(2, return_sequences=True)),
        "bidirectional_last": layers.Bidirectional(layers.GRU(2)),
        "time_distributed": layers.TimeDistributed(layers.Dense(2)),
        "rnn_cells": layers.RNN([layers.GRUCell(2), layers.LSTMCell(2)], return_sequences=True),
    }
    found = {}
    for name, layer in cases.items():
        outputs = layer(x)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        found[name] = [getattr(t, "_keras_mask", None) is not None for t in outputs]
    return found


def test_output_masks_of_recurrent_layers_and_wrappers_are_keras_3s():
    k = helpers.import_keras()
    ours, theirs = _masked_outputs(keras), _masked_outputs(k)
    assert ours == theirs
    assert ours["sequences_and_states"] == [True, False, False]


def test_a_mask_of_the_wrong_shape_names_the_layer_and_both_shapes():
    layer = L.ConvLSTM2D(2, 3, name="frames", **helpers.CHEAP)
    frames = np.ones((2, 4, 5, 5, 1), "float32")
    helpers.build(layer, frames.shape)
    # Masking marks (batch, time, rows, cols) here: a ConvLSTM needs one entry per step.
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'frames'.*\(2, 4\) for inputs of shape "
                                         r"\(2, 4, 5, 5, 1\).*\(2, 4, 5, 5\).*ops.any"):
        layer(L.Masking()(frames))
