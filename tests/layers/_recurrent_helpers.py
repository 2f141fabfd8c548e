"""NumPy references for the recurrent layers, and the Keras 3 side-by-side check.

The references are plain loops over time written from the equations (Keras's gate orders:
LSTM i, f, c, o; GRU z, r, h), with Keras's masking rule: a masked step keeps the states and
outputs the previous output (or zeros with `zero_output_for_mask`).
"""

import os

import numpy as np
import pytest

# Constant initializers skip random sampling (each new weight shape would cost an XLA compile
# of the sampler, and Orthogonal's QR is costly); the tests then set random weights.
CHEAP = {"kernel_initializer": "ones", "recurrent_initializer": "ones"}


def sigmoid(x, xp=np):
    return 1.0 / (1.0 + xp.exp(-x))


# Each step takes `xp` (NumPy, or jax.numpy for gradient checks) and uses only what both have.
def simple_rnn_step(weights, x, states, xp=np):
    kernel, recurrent, bias = weights
    h = xp.tanh(x @ kernel + states[0] @ recurrent + bias)
    return h, [h]


def lstm_step(weights, x, states, xp=np):
    kernel, recurrent, bias = weights
    h, c = states
    i, f, g, o = xp.split(x @ kernel + h @ recurrent + bias, 4, axis=-1)
    c = sigmoid(f, xp) * c + sigmoid(i, xp) * xp.tanh(g)
    h = sigmoid(o, xp) * xp.tanh(c)
    return h, [h, c]


def gru_step(weights, x, states, xp=np, reset_after=True):
    kernel, recurrent, bias = weights
    h = states[0]
    units = h.shape[-1]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, 0.0)
    x_z, x_r, x_h = xp.split(x @ kernel + input_bias, 3, axis=-1)
    if reset_after:
        r_z, r_r, r_h = xp.split(h @ recurrent + recurrent_bias, 3, axis=-1)
        z, r = sigmoid(x_z + r_z, xp), sigmoid(x_r + r_r, xp)
        candidate = xp.tanh(x_h + r * r_h)
    else:
        z = sigmoid(x_z + h @ recurrent[:, :units], xp)
        r = sigmoid(x_r + h @ recurrent[:, units:2 * units], xp)
        candidate = xp.tanh(x_h + (r * h) @ recurrent[:, 2 * units:])
    h = z * h + (1 - z) * candidate
    return h, [h]


def gru_before_step(weights, x, states, xp=np):
    return gru_step(weights, x, states, xp, reset_after=False)


STEPS = {"SimpleRNN": simple_rnn_step, "LSTM": lstm_step, "GRU": gru_step}
STATE_COUNT = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}


def run_reference(step, weights, x, states, mask=None, go_backwards=False,
                  zero_output_for_mask=False):
    """`(outputs (batch, time, units) in processing order, final states)`."""
    x = np.asarray(x, np.float64)
    weights = [np.asarray(w, np.float64) for w in weights]
    states = [np.asarray(s, np.float64) for s in states]
    order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    outputs = []
    for t in order:
        output, new_states = step(weights, x[:, t], states)
        if mask is not None:
            keep = np.asarray(mask)[:, t][:, None]
            previous = np.zeros_like(output) if zero_output_for_mask else states[0]
            output = np.where(keep, output, previous)
            new_states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
        states = new_states
        outputs.append(output)
    return np.stack(outputs, axis=1), states


def random_weights(layer, seed=0, scale=0.5):
    """Gives every weight of a built layer random values; returns them as NumPy arrays."""
    rng = np.random.default_rng(seed)
    values = [rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(values)
    return values


def build(layer, input_shape, seed=0):
    """Builds a layer without running it (each compiled scan costs ~0.5 s on CPU, so the tests
    compute everything they check in one compiled function); returns its random weights."""
    layer.build_from_config({"input_shape": input_shape})
    return random_weights(layer, seed)


def compiled(fn):
    """Runs a function of no arguments once, compiled."""
    import lamina

    return lamina.function(fn)()


def import_keras():
    """Keras 3 on the JAX backend, or a skip when it is not installed."""
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras was imported with another backend")
    return keras


def assert_matches_keras(keras_layer, lamina_layer, build_config, *args, **kwargs):
    """Builds both layers from `build_config`, gives Keras lamina's (random) weights, and
    compares outputs, weight paths and shapes, and config keys."""
    import jax

    lamina_layer.build_from_config(build_config)
    keras_layer.build_from_config(build_config)
    weights = random_weights(lamina_layer, seed=1)
    keras_layer.set_weights(weights)
    expected = jax.tree_util.tree_leaves(keras_layer(*args, **kwargs))
    received = jax.tree_util.tree_leaves(lamina_layer(*args, **kwargs))
    assert len(expected) == len(received)
    for e, r in zip(expected, received):
        np.testing.assert_allclose(np.asarray(r), np.asarray(e), rtol=1e-5, atol=1e-5)
    assert [w.path for w in lamina_layer.weights] == [w.path for w in keras_layer.weights]
    assert [tuple(w.shape) for w in lamina_layer.weights] == [
        tuple(w.shape) for w in keras_layer.weights]
    assert sorted(lamina_layer.get_config()) == sorted(keras_layer.get_config())
