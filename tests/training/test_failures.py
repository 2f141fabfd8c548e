"""Bad input and interruptions: each error names the input, the shapes and the batch, and the
model keeps the weights and optimizer state of the last completed step, ready to train on."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import lamina

from .conftest import assert_weights_equal, regression_data


def _fit(model, x, y=None, **kwargs):
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("shuffle", False)
    if y is not None:
        kwargs.setdefault("batch_size", 4)
    return model.fit(x, y, **kwargs)


class WeightRecorder(lamina.callbacks.Callback):
    """Keeps the weights and optimizer step after every batch; optionally raises."""

    def __init__(self, raise_at=None, error=None):
        super().__init__()
        self.raise_at, self.error = raise_at, error
        self.weights, self.iterations = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.iterations.append(int(self.model.optimizer.iterations.numpy()))
        if batch == self.raise_at:
            raise self.error


def _state(model):
    return model.get_weights() + [v.numpy() for v in model.optimizer.variables]


def test_mismatched_sample_counts_name_every_array(linear):
    model = linear.restore()
    x, y = regression_data(10)
    before = _state(model)
    with pytest.raises(ValueError, match=r"x: \(10, 3\), y: \(9, 1\)"):
        _fit(model, x, y[:9])
    with pytest.raises(ValueError, match=r"sample_weight: \(7,\)"):
        _fit(model, x, y, sample_weight=np.ones(7))
    with pytest.raises(ValueError, match=r"x\[1\]: \(9, 2\)"):
        model.evaluate([x, x[:9, :2]], y, verbose=0)
    assert_weights_equal(_state(model), before)
    recorder = WeightRecorder()
    with pytest.raises(ValueError, match=r"Batch 1 from the data generator.*y: \(3, 1\)"):
        _fit(model, iter([(x[:4], y[:4]), (x[4:8], y[4:7])]), callbacks=[recorder])
    assert len(recorder.weights) == 1  # batch 0 trained, batch 1 refused
    assert_weights_equal(model.get_weights(), recorder.weights[0])


def test_labels_that_do_not_fit_the_loss(linear):
    x, _ = regression_data(10)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    with pytest.raises(Exception) as info:
        _fit(model, x, np.zeros((10, 3), "float32"))
    message = str(info.value) + "\n".join(getattr(info.value, "__notes__", []))
    assert "(4, 3)" in message and "(4, 2)" in message  # y_true and y_pred shapes
    assert "mse" in message and "first batch" in message and "y: (4, 3)" in message
    assert_weights_equal(model.get_weights(), before)
    model = linear.restore()
    before = _state(model)
    # The first layer refuses the features it was not built for (a Sequential, as in Keras,
    # leaves the axes to its layers).
    with pytest.raises(ValueError, match="expected axis -1 of the input to have size 3") as info:
        _fit(model, x[:, :2], np.zeros((10, 1), "float32"))
    assert any("x: (4, 2)" in note for note in info.value.__notes__)
    assert_weights_equal(_state(model), before)


def test_a_raising_callback_leaves_the_last_completed_step(linear):
    model = linear.restore()
    x, y = regression_data(10)
    recorder = WeightRecorder(raise_at=1, error=RuntimeError("callback failed"))
    with pytest.raises(RuntimeError, match="callback failed") as info:
        _fit(model, x, y, epochs=2, callbacks=[recorder])
    assert any("on_train_batch_end(batch=1)" in note for note in info.value.__notes__)
    assert_weights_equal(model.get_weights(), recorder.weights[1])
    assert int(model.optimizer.iterations.numpy()) == recorder.iterations[1] == 2
    history = _fit(model, x, y, epochs=1)  # still trainable
    assert int(model.optimizer.iterations.numpy()) == 5 and len(history.history["loss"]) == 1


def test_a_raising_generator_leaves_the_last_completed_step(linear):
    x, y = regression_data(12)

    def batches(fail_at=None):
        for index, start in enumerate(range(0, 12, 4)):
            if index == fail_at:
                raise OSError("disk on fire")
            yield x[start:start + 4], y[start:start + 4]

    model = linear.restore()
    _fit(model, batches(), steps_per_epoch=2)
    expected = _state(model)
    model = linear.restore()
    with pytest.raises(OSError, match="disk on fire") as info:
        _fit(model, batches(fail_at=2))
    assert any("batch 2" in note for note in info.value.__notes__)
    assert_weights_equal(_state(model), expected)


class NanLoss(lamina.losses.Loss):
    """MSE, but NaN for any batch whose target holds a value above 100."""

    def call(self, y_true, y_pred):
        error = lamina.ops.mean((y_true - y_pred) ** 2, axis=-1)
        return lamina.ops.where(lamina.ops.max(y_true) > 100, np.nan, error)


@pytest.fixture(scope="module")
def nan_model():
    from .conftest import linear_model, snapshot

    model = linear_model(lr=0.1, metrics=None)
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss=NanLoss())
    model.optimizer.build(model.trainable_variables)
    return snapshot(model)


@pytest.mark.parametrize("mode", ["compiled", "batch_hooks", "eager"])
def test_terminate_on_nan_keeps_the_weights_before_the_nan_step(nan_model, mode):
    x, y = regression_data(16)
    bad = y.copy()
    bad[9] = 1000.0  # batch 2 of 4 turns the loss NaN
    model = nan_model.restore()
    _fit(model, x, y, steps_per_epoch=2)
    expected = _state(model)
    model = nan_model.restore()
    callbacks = [lamina.callbacks.TerminateOnNaN()]
    if mode == "batch_hooks":
        callbacks.append(WeightRecorder())
    model.run_eagerly = mode == "eager"
    try:
        history = _fit(model, x, bad, epochs=3, callbacks=callbacks)
    finally:
        model.run_eagerly = False
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    tolerance = 1e-6 if mode == "eager" else 0.0
    assert_weights_equal(_state(model), expected, rtol=tolerance)
    assert np.isfinite(model.evaluate(x, y, verbose=0))  # evaluate returns a scalar here


def test_keyboard_interrupt_from_a_callback(linear):
    model = linear.restore()
    x, y = regression_data(10)
    model.steps_per_execution = 1
    recorder = WeightRecorder(raise_at=1, error=KeyboardInterrupt())
    try:
        with pytest.raises(KeyboardInterrupt):
            _fit(model, x, y, epochs=3, callbacks=[recorder])
    finally:
        model.steps_per_execution = "auto"
    assert_weights_equal(model.get_weights(), recorder.weights[-1])
    assert int(model.optimizer.iterations.numpy()) == 2
    before = model.get_weights()
    _fit(model, x, y)
    assert not np.allclose(model.get_weights()[0], before[0])
    assert int(model.optimizer.iterations.numpy()) == 5


class SignalAt(lamina.callbacks.Callback):
    """Sends SIGINT to this process from another thread, as Ctrl-C would, at one batch."""

    def __init__(self, batch):
        super().__init__()
        self.batch, self.weights = batch, None

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            self.weights = self.model.get_weights()
            sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT))
            sender.start()
            sender.join()
            time.sleep(0.05)  # the handler runs here; fit raises at its next safe point


def test_ctrl_c_stops_fit_between_programs(linear):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by someone else in this process")
    model = linear.restore()
    x, y = regression_data(10)
    callback = SignalAt(batch=1)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, x, y, epochs=3, callbacks=[callback])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert_weights_equal(model.get_weights(), callback.weights)
    assert int(model.optimizer.iterations.numpy()) == 2
    history = _fit(model, x, y, epochs=1)
    assert np.isfinite(history.history["loss"][0])


def test_fit_before_compile_and_without_a_loss():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    x, y = regression_data(4)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)
    with pytest.raises(ValueError, match="validation_split"):
        lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)]).compile(
            loss="mse") or model.compile(loss="mse") or model.fit(x, y, validation_split=1.5)
