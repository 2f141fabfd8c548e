"""ConvLSTM1D/2D/3D: Keras 3's numbers, weights and configs side by side, masking, states,
training, and the errors a user can trigger."""

import os
import sys

import jax
import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(3, 5, 6, 6, 2)).astype("float32")
MASK = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 0, 1], [1, 1, 1, 1, 1]], bool)
CHEAP = dict(helpers.CHEAP)


def leaves(value):
    return [np.asarray(v) for v in jax.tree_util.tree_leaves(value)]


def assert_close(received, expected, tol=1e-5):
    np.testing.assert_allclose(np.asarray(received), np.asarray(expected), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- Keras 3
@pytest.mark.parametrize("name,shape,options", [
    ("ConvLSTM1D", (2, 4, 9, 3), {"padding": "same", "strides": 2, "return_sequences": True}),
    ("ConvLSTM2D", (2, 3, 7, 7, 2), {"return_state": True, "go_backwards": True}),
    ("ConvLSTM2D", (2, 3, 2, 7, 7), {"data_format": "channels_first", "dilation_rate": 2,
                                     "return_sequences": True, "return_state": True}),
    ("ConvLSTM3D", (1, 3, 4, 4, 4, 2), {"padding": "same"}),
])
def test_matches_keras_outputs_weights_and_config(name, shape, options):
    k = helpers.import_keras()
    kwargs = dict(filters=3, kernel_size=3, name="conv_lstm", **CHEAP, **options)
    x = RNG.normal(size=shape).astype("float32")
    helpers.assert_matches_keras(getattr(k.layers, name)(**kwargs),
                                 getattr(L, name)(**kwargs), {"input_shape": shape}, x)
    assert getattr(L, name)(**kwargs).get_config() == getattr(k.layers, name)(
        **kwargs).get_config()


def test_default_config_and_weights_are_keras_3s():
    k = helpers.import_keras()
    ours, theirs = L.ConvLSTM2D(4, (3, 2), name="c"), k.layers.ConvLSTM2D(4, (3, 2), name="c")
    assert ours.get_config() == theirs.get_config()
    ours.build_from_config({"input_shape": (None, 5, 8, 8, 3)})
    assert [(w.path, w.shape) for w in ours.weights] == [
        ("c/conv_lstm_cell/kernel", (3, 2, 3, 16)),
        ("c/conv_lstm_cell/recurrent_kernel", (3, 2, 4, 16)),
        ("c/conv_lstm_cell/bias", (16,))]
    # The forget gate's quarter of the bias starts at one (unit_forget_bias).
    np.testing.assert_array_equal(ours.cell.bias.numpy(), [0] * 4 + [1] * 4 + [0] * 8)
    assert (ours.filters, ours.kernel_size, ours.padding, ours.data_format) == (
        4, (3, 2), "valid", "channels_last")


def test_masks_match_keras_unrolled_loop():
    # Keras 3 on JAX cannot mask a ConvLSTM in its scan (it broadcasts a (batch, 1) mask
    # against (batch, rows, cols, filters) states); its unrolled loop can, and agrees.
    k = helpers.import_keras()
    kwargs = dict(filters=3, kernel_size=3, padding="same", return_sequences=True,
                  return_state=True, unroll=True, name="masked", **CHEAP)
    helpers.assert_matches_keras(k.layers.ConvLSTM2D(**kwargs), L.ConvLSTM2D(**kwargs),
                                 {"input_shape": X2.shape}, X2, mask=MASK)


# ----------------------------------------------------------------------------- masking
def test_masked_steps_carry_the_states_through():
    layer = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True,
                         **CHEAP)
    helpers.build(layer, X2.shape)
    backwards = L.ConvLSTM2D(3, 3, padding="same", return_state=True, go_backwards=True,
                             **CHEAP)
    helpers.build(backwards, X2.shape)
    backwards.set_weights(layer.get_weights())
    kept = X2[1][MASK[1]][None]  # sample 1 with its masked steps removed
    (masked, h, c), (dense, h_kept, c_kept), (last_back, *_), (expected_back, *_) = \
        helpers.compiled(lambda: (layer(X2, mask=MASK), layer(kept),
                                  backwards(X2, mask=MASK), backwards(kept)))
    assert_close(h[1], h_kept[0])
    assert_close(c[1], c_kept[0])
    # A masked step repeats the previous output; the first step (masked) outputs the zero
    # initial state.
    outputs = np.asarray(masked)[1]
    np.testing.assert_array_equal(outputs[0], 0.0)
    np.testing.assert_array_equal(outputs[3], outputs[2])
    assert_close(outputs[MASK[1]], np.asarray(dense)[0])
    assert_close(last_back[1], expected_back[0])


# ----------------------------------------------------------------------------- states, training
def test_stateful_initial_state_and_symbolic_shapes():
    layer = L.ConvLSTM1D(2, 3, stateful=True, return_state=True, **CHEAP)
    x = RNG.normal(size=(2, 4, 6, 1)).astype("float32")
    helpers.build(layer, x.shape)
    assert len(layer.weights) == 3  # the states are not weights (as in Keras)
    _, h1, c1 = layer(x)
    _, h2, _ = layer(x)
    fresh = L.ConvLSTM1D(2, 3, return_state=True, **CHEAP)
    helpers.build(fresh, x.shape)
    fresh.set_weights(layer.get_weights())
    _, h_expected, _ = fresh(x, initial_state=[h1, c1])
    assert_close(h2, h_expected)
    layer.reset_states()
    assert_close(layer(x)[1], h1, tol=1e-6)

    inputs = L.Input((None, 8, 8, 3))
    outputs = L.ConvLSTM2D(4, 3, return_sequences=True, return_state=True)(inputs)
    assert [t.shape for t in outputs] == [(None, None, 6, 6, 4), (None, 6, 6, 4),
                                          (None, 6, 6, 4)]
    assert L.ConvLSTM3D(2, 3, padding="same").compute_output_shape((4, 2, 5, 5, 5, 1)) == (
        4, 5, 5, 5, 2)


def test_trains_in_fit_with_dropout_and_recurrent_dropout():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        L.Input((4, 5, 5, 1)),
        L.ConvLSTM2D(2, 3, padding="same", dropout=0.2, recurrent_dropout=0.2, seed=3),
        L.Flatten(), L.Dense(1)])
    model.compile("adam", "mse")
    x = RNG.normal(size=(8, 4, 5, 5, 1)).astype("float32")
    y = x.sum(axis=(1, 2, 3))
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    layer = model.layers[0]
    inference, training = helpers.compiled(lambda: (layer(x), layer(x, training=True)))
    assert not np.allclose(inference, training)  # dropout acts only in training


# ----------------------------------------------------------------------------- errors
def test_errors_name_the_expected_rank_and_the_mask_shape():
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'c2' expects inputs of rank 5: \(batch, "
                                         r"time, rows, cols, channels\).*\(2, 8, 8, 3\) "
                                         r"\(rank 4\).*x\[:, None\]"):
        L.ConvLSTM2D(4, 3, name="c2")(np.ones((2, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match=r"ConvLSTM1D 'c1' expects inputs of rank 4.*"
                                         r"channels_first"):
        L.ConvLSTM1D(4, 3, name="c1", data_format="channels_first")(L.Input((5, 3, 8, 2)))
    layer = L.ConvLSTM2D(3, 3, name="c3", **CHEAP)
    helpers.build(layer, X2.shape)
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'c3'.*\(3, 5\) for inputs of shape "
                                         r"\(3, 5, 6, 6, 2\).*mask of shape \(3, 4\)"):
        layer(X2, mask=MASK[:, :4])
    with pytest.raises(ValueError, match="static spatial sizes.*shape=\\(None, 32, 32, 3\\)"):
        L.ConvLSTM2D(3, 3)(L.Input((5, None, 8, 2)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        L.ConvLSTM2D(3, 5)(L.Input((5, 3, 3, 2)))
    with pytest.raises(ValueError, match="`strides` > 1 cannot be combined with "
                                         "`dilation_rate` > 1"):
        L.ConvLSTM2D(3, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="`padding` must be one of"):
        L.ConvLSTM1D(3, 3, padding="causal")
