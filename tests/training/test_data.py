"""The data `fit`, `evaluate` and `predict` take: generators, PyDataset, JAX arrays,
`steps_per_epoch` (Keras 3's rule: continue where the last epoch stopped), validation data
and frequency, `initial_epoch`, batched predictions, the `*_on_batch` methods, verbosity and
`stop_training`."""

import math
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import lamina

from .conftest import assert_weights_equal, numpy_sgd_linear_epoch, regression_data

LR = 0.1


def _fit(model, x, y=None, **kwargs):
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("shuffle", False)
    if y is not None:
        kwargs.setdefault("batch_size", 4)
    return model.fit(x, y, **kwargs)


def _numpy_batches(w, b, x, y, batches, batch_size=4):
    """SGD steps on the given batch numbers, in order."""
    for index in batches:
        sl = slice(index * batch_size, (index + 1) * batch_size)
        w, b, _ = numpy_sgd_linear_epoch(w, b, x[sl], y[sl], batch_size, LR)
    return w, b


class Batches(lamina.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.requested, self.epochs_begun, self.epochs_ended = [], 0, 0

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        self.requested.append(index)
        sl = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[sl], self.y[sl]

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_pydataset_is_exported_and_trains_like_arrays(linear):
    assert lamina.utils.PyDataset is Batches.__mro__[1]
    x, y = regression_data(10)
    reference = _fit(linear.restore(), x, y, epochs=2).history
    expected = linear.model.get_weights()
    dataset = Batches(x, y, 4)
    history = _fit(linear.restore(), dataset, epochs=2).history
    assert_weights_equal(linear.model.get_weights(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=1e-6)
    assert dataset.requested == [0, 1, 2, 0, 1, 2]
    assert dataset.epochs_begun == dataset.epochs_ended == 2


def test_pydataset_batch_order_is_shuffled_by_the_seed(linear):
    x, y = regression_data(10)
    orders = []
    for seed in (3, 3):
        lamina.utils.set_random_seed(seed)
        dataset = Batches(x, y, 2)
        _fit(linear.restore(), dataset, epochs=3, shuffle=True)
        orders.append(dataset.requested)
    assert orders[0] == orders[1]
    epochs = [orders[0][i:i + 5] for i in range(0, 15, 5)]
    assert all(sorted(e) == list(range(5)) for e in epochs)
    assert any(e != list(range(5)) for e in epochs)


def test_steps_per_epoch_continues_through_the_data_as_keras_does(linear):
    """10 rows in batches of 4 (4, 4, 2); two steps per epoch: epoch 1 takes batches 0-1,
    epoch 2 only batch 2 (the data ran out: a warning), epoch 3 starts over."""
    x, y = regression_data(10)
    model = linear.restore()
    w0, b0 = model.get_weights()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = _fit(model, x, y, epochs=3, steps_per_epoch=2)
    w, b = _numpy_batches(w0, b0, x, y, [0, 1])
    _, _, last_loss = numpy_sgd_linear_epoch(w, b, x[8:], y[8:], 4, LR)
    w, b = _numpy_batches(w, b, x, y, [2, 0, 1])
    assert_weights_equal(model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"][1], last_loss, rtol=1e-5)
    # A PyDataset follows the same rule.
    dataset = Batches(x, y, 4)
    with pytest.warns(UserWarning, match="ran out of data"):
        _fit(linear.restore(), dataset, epochs=3, steps_per_epoch=2)
    assert dataset.requested == [0, 1, 2, 0, 1]
    assert_weights_equal(linear.model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)


def test_generators_with_steps_per_epoch(linear):
    x, y = regression_data(10)

    def forever():
        while True:
            for start in range(0, 10, 4):
                yield x[start:start + 4], y[start:start + 4]

    model = linear.restore()
    w0, b0 = model.get_weights()
    history = _fit(model, forever(), epochs=2, steps_per_epoch=3)
    w, b = _numpy_batches(w0, b0, x, y, [0, 1, 2, 0, 1, 2])
    assert_weights_equal(model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)
    assert len(history.history["loss"]) == 2
    # A finite generator without steps_per_epoch runs until it is exhausted.
    model = linear.restore()
    _fit(model, ((x[s:s + 4], y[s:s + 4]) for s in range(0, 10, 4)))
    assert_weights_equal(model.get_weights(), _numpy_batches(w0, b0, x, y, [0, 1, 2]),
                         rtol=1e-5, atol=1e-6)
    # A second epoch has nothing left: the error says why and what to do.
    with pytest.raises(ValueError, match="exhausted.*steps_per_epoch"):
        _fit(linear.restore(), ((x[s:s + 4], y[s:s + 4]) for s in range(0, 10, 4)), epochs=2)


def test_class_weight_with_a_generator_matches_arrays(linear):
    x, _ = regression_data(8)
    labels = (np.arange(8) % 2).astype("float32")[:, None]
    class_weight = {0: 2.0, 1: 0.5}
    _fit(linear.restore(), x, labels, class_weight=class_weight)
    expected = linear.model.get_weights()
    batches = ((x[s:s + 4], labels[s:s + 4]) for s in (0, 4))
    _fit(linear.restore(), batches, class_weight=class_weight)
    assert_weights_equal(linear.model.get_weights(), expected, rtol=1e-6, atol=1e-7)


def test_jax_arrays_and_array_likes_train_like_numpy(linear):
    x, y = regression_data(10)
    _fit(linear.restore(), x, y)
    expected = linear.model.get_weights()
    _fit(linear.restore(), jnp.asarray(x), jnp.asarray(y))
    assert_weights_equal(linear.model.get_weights(), expected)

    class ArrayLike:  # what pandas offers: shape and __array__
        def __init__(self, array):
            self.array, self.shape = array, array.shape

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.array, dtype=dtype)

    _fit(linear.restore(), ArrayLike(x.astype("float64")), ArrayLike(y))
    assert_weights_equal(linear.model.get_weights(), expected)


def test_validation_data_with_weights_frequency_and_initial_epoch(linear):
    x, y = regression_data(10)
    xv, yv = regression_data(6, seed=1)
    wv = np.linspace(0.2, 1.0, 6).astype("float32")
    model = linear.restore()
    history = _fit(model, x, y, epochs=4, initial_epoch=1, validation_freq=2,
                   validation_data=(xv, yv, wv), validation_batch_size=4)
    assert history.epoch == [1, 2, 3]
    assert len(history.history["loss"]) == 3
    assert len(history.history["val_loss"]) == 2  # after epochs 2 and 4 (1-based)
    expected = model.evaluate(xv, yv, sample_weight=wv, batch_size=4, verbose=0,
                              return_dict=True)
    for key, value in expected.items():
        np.testing.assert_allclose(history.history[f"val_{key}"][-1], value, rtol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 9
    # validation_freq as a list of epochs; validation from a PyDataset.
    model = linear.restore()
    history = _fit(model, x, y, epochs=3, validation_freq=[1, 3],
                   validation_data=Batches(xv, yv, 4))
    assert len(history.history["val_loss"]) == 2
    np.testing.assert_allclose(history.history["val_loss"][-1],
                               model.evaluate(xv, yv, batch_size=4, verbose=0)[0], rtol=1e-6)


def test_predict_small_partial_and_chunked(linear):
    model = linear.restore()
    w, b = model.get_weights()
    x, _ = regression_data(70)
    expected = x @ w + b
    for rows, batch_size in ((1, 4), (5, 4), (70, 2), (70, 32)):
        outputs = model.predict(x[:rows], batch_size=batch_size, verbose=0)
        assert isinstance(outputs, np.ndarray) and outputs.shape == (rows, 1)
        np.testing.assert_allclose(outputs, expected[:rows], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:3]), expected[:3], rtol=1e-5)
    outputs = model.predict(x, batch_size=32, steps=2, verbose=0)  # the first two batches
    np.testing.assert_allclose(outputs, expected[:64], rtol=1e-5, atol=1e-6)

    class Seen(lamina.callbacks.Callback):  # a batch hook of the user's sees every batch
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].shape))

    seen = []
    model.predict(x, batch_size=32, verbose=0, callbacks=[Seen()])
    assert seen == [(0, (32, 1)), (1, (32, 1)), (2, (6, 1))]
    # Generators of x alone, or of (x, y) pairs; `steps` limits the batches read.
    outputs = model.predict((x[s:min(s + 4, 10)] for s in range(0, 10, 4)), verbose=0)
    np.testing.assert_allclose(outputs, expected[:10], rtol=1e-5, atol=1e-6)
    outputs = model.predict(Batches(x, expected, 4), steps=2, verbose=0)
    np.testing.assert_allclose(outputs, expected[:8], rtol=1e-5, atol=1e-6)


def test_on_batch_methods_report_that_batch_only(linear):
    model = linear.restore()
    x, y = regression_data(10)
    _fit(model, x, y)  # leaves metric totals behind; *_on_batch resets them first
    w, b = model.get_weights()
    error = x[:4].astype(np.float64) @ w + b - y[:4]
    logs = model.train_on_batch(x[:4], y[:4], return_dict=True)
    assert sorted(logs) == ["loss", "mae", "weighted_mae"]
    np.testing.assert_allclose(logs["loss"], np.mean(error ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(error)), rtol=1e-5)
    w1, b1, _ = numpy_sgd_linear_epoch(w, b, x[:4], y[:4], 4, LR)
    assert_weights_equal(model.get_weights(), [w1, b1], rtol=1e-5, atol=1e-6)
    error = x[4:8].astype(np.float64) @ w1 + b1 - y[4:8]
    values = model.test_on_batch(x[4:8], y[4:8])
    np.testing.assert_allclose(values, [np.mean(error ** 2)] + [np.mean(np.abs(error))] * 2,
                               rtol=1e-5)
    assert_weights_equal(model.get_weights(), [w1, b1], rtol=1e-5, atol=1e-6)


def test_verbose_modes(linear, capsys):
    x, y = regression_data(10)
    _fit(linear.restore(), x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    _fit(linear.restore(), x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    _fit(linear.restore(), x, y, epochs=1, verbose="auto")
    assert "3/3" in capsys.readouterr().out
    with pytest.raises(ValueError, match="verbose"):
        _fit(linear.restore(), x, y, verbose=3)


class StopAt(lamina.callbacks.Callback):
    def __init__(self, hook, when):
        super().__init__()
        self.hook, self.when = hook, when

    def on_train_batch_end(self, batch, logs=None):
        if self.hook == "batch" and batch == self.when:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "epoch" and epoch == self.when:
            self.model.stop_training = True


def test_stop_training_is_honoured(linear):
    x, y = regression_data(10)
    model = linear.restore()
    w0, b0 = model.get_weights()
    history = _fit(model, x, y, epochs=5, callbacks=[StopAt("epoch", 1)])
    assert history.epoch == [0, 1]
    model = linear.restore()
    history = _fit(model, x, y, epochs=5, callbacks=[StopAt("batch", 1)])
    assert history.epoch == [0]
    assert_weights_equal(model.get_weights(), _numpy_batches(w0, b0, x, y, [0, 1]),
                         rtol=1e-5, atol=1e-6)
    # A new fit starts with stop_training cleared.
    history = _fit(model, x, y, epochs=2)
    assert history.epoch == [0, 1]


def test_no_warning_without_steps_per_epoch(linear):
    x, y = regression_data(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fit(linear.restore(), x, y, epochs=2)


def test_shuffle_batch_moves_whole_batches_of_consecutive_rows():
    # shuffle="batch" keeps each batch's rows together (the loop slices them, unshuffled
    # data too): each step sees rows start..start+3 for a start that is a multiple of 4,
    # every batch once; the partial batch (rows 20, 21) comes last.
    class Rows(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, _ = data
            return {"first": x[0, 0], "last": x[-1, 0], "rows": jnp.float32(x.shape[0])}

    class Seen(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((logs["first"], logs["last"], logs["rows"]))

    model = Rows()
    model.compile(optimizer="sgd", loss="mse")
    x = np.repeat(np.arange(22, dtype="float32")[:, None], 2, axis=1)
    for shuffle in ("batch", False):
        seen = []
        model.fit(x, x[:, :1], batch_size=4, epochs=1, shuffle=shuffle, verbose=0,
                  callbacks=[Seen()])
        assert seen[-1] == (20.0, 21.0, 2.0)
        starts = [first for first, last, rows in seen[:-1]]
        assert all(last == first + 3 and rows == 4 for first, last, rows in seen[:-1])
        assert sorted(starts) == [0.0, 4.0, 8.0, 12.0, 16.0]
        assert shuffle == "batch" or starts == sorted(starts)
