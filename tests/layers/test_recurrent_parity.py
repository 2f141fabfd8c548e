"""Recurrent stacks move between Keras 3 and lamina as `.keras` files, and train alike.

For each stack (LSTM; GRU over GRU; Bidirectional, TimeDistributed; SimpleRNN backwards and
an RNN over stacked cells; ConvLSTM2D) on padded batches with masks:

1. Keras 3 (JAX backend) builds and trains the model briefly and saves it;
2. lamina loads the file and predicts Keras's values on padded batches;
3. both continue training on the same batches from the same weights and optimizer state (the
   file carries Adam's moments): the loss after every batch agrees within float tolerance;
4. lamina saves its trained model and Keras loads it and predicts lamina's values.

Most stacks give the masks explicitly (`layer(x, mask=ops.not_equal(tokens, 0))`, saved in
the file as an operation of the graph); two Sequential stacks get theirs from
`Embedding(mask_zero=True)`, one of them a tagger whose loss leaves the padded steps out.
Sizes are tiny (vocabulary 20, 8 steps, 3 units) to keep each stack to a few seconds.
"""

import os

import numpy as np
import pytest

import lamina

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("Keras was imported with another backend", allow_module_level=True)

VOCAB, STEPS, BATCH = 20, 8, 4


def token_data(rows=12, seed=0):
    """Padded token sequences (zeros after each sequence's length; one row all padding) and
    binary labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, STEPS + 1, rows)
    lengths[1] = 0
    tokens = rng.integers(1, VOCAB, (rows, STEPS))
    tokens[np.arange(STEPS)[None] >= lengths[:, None]] = 0
    labels = (tokens.sum(axis=1) % 2).astype("float32")
    return tokens.astype("int32"), labels


def frame_data(rows=8, seed=0):
    """Padded sequences of 5x5 frames: the frames after each sequence's length are zeros."""
    rng = np.random.default_rng(seed)
    frames = rng.normal(size=(rows, 4, 5, 5, 1)).astype("float32")
    lengths = rng.integers(1, 5, rows)
    frames[np.arange(4)[None] >= lengths[:, None]] = 0.0
    return frames, frames[:, 0].mean(axis=(1, 2, 3))


def _embedded(k, tokens):
    return k.layers.Embedding(VOCAB, 4)(tokens), k.ops.not_equal(tokens, 0)


def lstm_classifier(k):
    tokens = k.Input((STEPS,), dtype="int32")
    x, mask = _embedded(k, tokens)
    h = k.layers.LSTM(3)(x, mask=mask)
    return k.Model(tokens, k.layers.Dense(1)(h))


def stacked_gru(k):
    tokens = k.Input((STEPS,), dtype="int32")
    x, mask = _embedded(k, tokens)
    h = k.layers.GRU(3, return_sequences=True)(x, mask=mask)
    h = k.layers.GRU(2, reset_after=False)(h, mask=mask)
    return k.Model(tokens, k.layers.Dense(1)(h))


def bidirectional_time_distributed(k):
    tokens = k.Input((STEPS,), dtype="int32")
    x, mask = _embedded(k, tokens)
    h = k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True))(x, mask=mask)
    h = k.layers.TimeDistributed(k.layers.Dense(2, activation="tanh"))(h, mask=mask)
    # The padded steps' outputs are zeros (Bidirectional sets zero_output_for_mask).
    return k.Model(tokens, k.layers.Dense(1)(k.layers.Flatten()(h)))


def backwards_then_stacked_cells(k):
    tokens = k.Input((STEPS,), dtype="int32")
    x, mask = _embedded(k, tokens)
    h = k.layers.SimpleRNN(3, go_backwards=True, return_sequences=True)(x, mask=mask)
    cells = [k.layers.LSTMCell(3), k.layers.GRUCell(2), k.layers.SimpleRNNCell(2)]
    h = k.layers.RNN(cells)(h, mask=mask)
    return k.Model(tokens, k.layers.Dense(1)(h))


def conv_lstm_frames(k):
    frames = k.Input((4, 5, 5, 1))
    mask = k.ops.any(k.ops.not_equal(frames, 0.0), axis=(2, 3, 4))
    # Keras 3 on JAX can mask a ConvLSTM only in its unrolled loop.
    h = k.layers.ConvLSTM2D(2, 3, padding="same", unroll=True)(frames, mask=mask)
    return k.Model(frames, k.layers.Dense(1)(k.layers.Flatten()(h)))


def text_classifier(k):
    """The issue's classifier, small: the mask comes from Embedding(mask_zero=True)."""
    return k.Sequential([k.Input((STEPS,), dtype="int32"),
                         k.layers.Embedding(VOCAB, 4, mask_zero=True),
                         k.layers.LSTM(3, return_sequences=True),
                         k.layers.GRU(2), k.layers.Dense(1)])


def sequence_tagger(k):
    """A tag per step: the mask flows through Bidirectional and TimeDistributed to the loss,
    which leaves the padded steps out."""
    return k.Sequential([k.Input((STEPS,), dtype="int32"),
                         k.layers.Embedding(VOCAB, 4, mask_zero=True),
                         k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True)),
                         k.layers.TimeDistributed(k.layers.Dense(3, activation="softmax"))])


def tag_data(seed=0):
    tokens, _ = token_data(seed=seed)
    return tokens, (tokens % 3).astype("int32")


STACKS = {
    "lstm": (lstm_classifier, token_data, "binary_crossentropy"),
    "gru": (stacked_gru, token_data, "binary_crossentropy"),
    "bidirectional": (bidirectional_time_distributed, token_data, "binary_crossentropy"),
    "stacked_cells": (backwards_then_stacked_cells, token_data, "binary_crossentropy"),
    "conv_lstm": (conv_lstm_frames, frame_data, "mse"),
    "mask_zero_classifier": (text_classifier, token_data, "binary_crossentropy"),
    "mask_zero_tagger": (sequence_tagger, tag_data, "sparse_categorical_crossentropy"),
}


def batch_losses(k):
    """A callback (of module `k`) recording the loss logged after each batch."""
    class Record(k.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))

    return Record()


def compiled(k, build, loss):
    k.utils.set_random_seed(0)
    model = build(k)
    model.compile(optimizer=k.optimizers.Adam(0.01), loss=loss)
    return model


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_files_move_both_ways_and_training_continues_alike(stack, tmp_path):
    build, data, loss = STACKS[stack]
    x, y = data()
    theirs = compiled(keras, build, loss)
    theirs.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "keras.keras")
    theirs.save(path)

    ours = lamina.saving.load_model(path)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    trajectories = []
    for model, k in ((theirs, keras), (ours, lamina)):
        record = batch_losses(k)
        model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                  callbacks=[record])
        trajectories.append(record.losses)
    assert len(trajectories[1]) == 2 * len(x) // BATCH
    np.testing.assert_allclose(trajectories[1], trajectories[0], rtol=1e-4, atol=1e-6)

    path = str(tmp_path / "lamina.keras")
    ours.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)),
                               ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    for a, b in zip(again.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_a_lamina_trained_model_predicts_alike_in_keras(tmp_path):
    """The reverse start: trained in lamina first, the file read by Keras."""
    x, y = token_data(seed=1)
    ours = compiled(lamina, bidirectional_time_distributed, "binary_crossentropy")
    ours.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    path = str(tmp_path / "lamina.keras")
    ours.save(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)),
                               ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def stateful_model(k):
    k.utils.set_random_seed(0)
    model = k.Sequential([k.Input(batch_shape=(BATCH, 5, 3)),
                          k.layers.GRU(3, stateful=True, return_sequences=True),
                          k.layers.LSTM(2, stateful=True), k.layers.Dense(1)])
    model.compile(optimizer=k.optimizers.SGD(0.0), loss="mse")
    return model


def test_stateful_layers_keep_their_states_across_batches_in_fit():
    """Each batch starts from the states the previous one ended with, across epochs too, as
    Keras 3's eager calls (and its TensorFlow fit) do; Keras 3's fit on JAX drops the state
    assignments and starts every batch from zeros (checked below, so a fix there shows)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3 * BATCH, 5, 3)).astype("float32")
    y = rng.normal(size=(3 * BATCH, 1)).astype("float32")
    theirs, ours = stateful_model(keras), stateful_model(lamina)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    # The learning rate is 0, so the losses differ only through the states carried.
    batches = [slice(i, i + BATCH) for i in range(0, len(x), BATCH)] * 2
    expected = [float(np.mean((np.asarray(theirs(x[b])) - y[b]) ** 2)) for b in batches]
    record = batch_losses(lamina)
    ours.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    # The logged loss is the running mean over the epoch's batches.
    per_batch = []
    for epoch in range(2):
        means = record.losses[3 * epoch:3 * epoch + 3]
        per_batch += [means[0]] + [means[i] * (i + 1) - means[i - 1] * i for i in (1, 2)]
    np.testing.assert_allclose(per_batch, expected, rtol=1e-5, atol=1e-6)
    for mine, keras_layer in zip(ours.layers[:2], theirs.layers[:2]):
        for a, b in zip(mine.states, keras_layer.states):
            np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), rtol=1e-5,
                                       atol=1e-6)
            assert np.abs(np.asarray(a.value)).max() > 0
    for model in (ours, theirs):
        for layer in model.layers[:2]:
            layer.reset_states()
    np.testing.assert_allclose(ours.predict(x[:BATCH], batch_size=BATCH, verbose=0),
                               np.asarray(theirs(x[:BATCH])), rtol=1e-5, atol=1e-6)

    keras_fit = stateful_model(keras)
    keras_fit.set_weights(ours.get_weights())
    keras_fit.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert not np.asarray(keras_fit.layers[1].states[0].value).any()
