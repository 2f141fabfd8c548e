"""A fake model and a fake `fit` loop, so callback tests do not depend on the trainer.

`run_fit` calls `CallbackList` in the order Keras 3's JAX trainer does, including validation
through the test hooks, several steps per "compiled program" (batch indices jump), an unknown
number of steps, `model._initial_epoch` (BackupAndRestore) and `model.stop_training`.
"""

import json
import os

import numpy as np
import pytest

import lamina
from lamina.callbacks import CallbackList


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self.name = "sgd"
        self.learning_rate = learning_rate
        self.iterations = 0
        self.built = True
        self.variables = [lamina.Variable(np.zeros(3, np.float32), name="momentum")]


class FakeModel:
    """Weights are lamina Variables; each training step adds 1 to every weight and to the
    optimizer's variable, so the state after N steps is known exactly."""

    def __init__(self):
        self.name = "fake_model"
        self.weights = [lamina.Variable(np.zeros((2, 2), np.float32), name="kernel"),
                        lamina.Variable(np.zeros(2, np.float32), name="bias")]
        self.trainable_variables = list(self.weights)
        self.optimizer = FakeOptimizer()
        self.stop_training = False
        self.history = None
        self.built = True
        self._initial_epoch = None
        self.steps_run = 0

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        for variable, value in zip(self.weights, weights):
            variable.assign(value)

    def train_steps(self, n):
        for variable in self.weights + self.optimizer.variables:
            variable.assign(variable.numpy() + n)
        self.optimizer.iterations += n
        self.steps_run += n


class SavingFakeModel(FakeModel):
    """Adds `save`/`save_weights`/`load_weights` (Keras 3 signatures) writing JSON files."""

    def __init__(self):
        super().__init__()
        self.saved = []

    def _write(self, filepath, kind, overwrite):
        assert overwrite is True
        state = {"kind": kind, "weights": [w.tolist() for w in self.get_weights()],
                 "optimizer": [v.numpy().tolist() for v in self.optimizer.variables]}
        with open(filepath, "w") as f:
            json.dump(state, f)
        self.saved.append((kind, os.path.basename(filepath)))

    def save(self, filepath, overwrite=True, **kwargs):
        assert filepath.endswith((".keras", ".h5"))
        self._write(filepath, "model", overwrite)

    def save_weights(self, filepath, overwrite=True):
        assert filepath.endswith(".weights.h5")
        self._write(filepath, "weights", overwrite)

    def load_weights(self, filepath):
        with open(filepath) as f:
            state = json.load(f)
        self.set_weights([np.asarray(w, np.float32) for w in state["weights"]])
        for variable, value in zip(self.optimizer.variables, state["optimizer"]):
            variable.assign(np.asarray(value, np.float32))


def default_metrics(epoch, step):
    """Running logs at the end of `step` of `epoch`: the loss falls with epochs."""
    return {"loss": 1.0 / (epoch + 1) + 0.01 * step, "mae": 0.5 / (epoch + 1)}


def run_fit(model, callbacks=None, *, epochs=3, steps=4, steps_per_execution=1,
            metrics=default_metrics, validation=None, verbose=0, steps_known=True,
            initial_epoch=0, crash_at_epoch=None):
    """A trainer's `fit`, reduced to its calls to the callbacks.

    `metrics(epoch, step)` gives the running batch logs, `validation(epoch)` the validation
    logs (or None for no validation); `crash_at_epoch` raises RuntimeError at that epoch's
    start, as a crash would (on_train_end is then not called, as in Keras).
    """
    if isinstance(callbacks, CallbackList):
        callback_list = callbacks
    else:
        callback_list = CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=model,
            verbose=verbose, epochs=epochs, steps=steps if steps_known else None)
    model.stop_training = False
    callback_list.on_train_begin()
    initial_epoch = model._initial_epoch or initial_epoch
    epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        if crash_at_epoch == epoch:
            raise RuntimeError(f"crash at epoch {epoch}")
        callback_list.on_epoch_begin(epoch)
        logs = {}
        for first in range(0, steps, steps_per_execution):
            last = min(first + steps_per_execution, steps) - 1
            callback_list.on_train_batch_begin(first)
            model.train_steps(last - first + 1)
            logs = metrics(epoch, last)
            callback_list.on_train_batch_end(last, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation is not None:
            val_logs = validation(epoch)
            callback_list.on_test_begin()
            callback_list.on_test_batch_begin(0)
            callback_list.on_test_batch_end(0, val_logs)
            callback_list.on_test_end(val_logs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(epoch_logs)
    return model.history


def per_epoch(values, name="loss"):
    """`metrics` for run_fit whose `name` at epoch i is values[i] (every step)."""
    return lambda epoch, step: {name: values[epoch]}


@pytest.fixture
def fake():
    """The helpers, as one namespace: fake.Model(), fake.run_fit(...), ..."""

    class Helpers:
        Model = FakeModel
        SavingModel = SavingFakeModel
        run_fit = staticmethod(run_fit)
        per_epoch = staticmethod(per_epoch)
        default_metrics = staticmethod(default_metrics)

    return Helpers
