"""`CallbackList`: one object that calls every hook of a list of callbacks, in order."""

import numpy as np

from lamina.callbacks.callback import (
    BATCH_HOOKS,
    Callback,
    listens_to_batches,
    needs_every_batch,
    overrides_hook,
)
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger

_BATCH_DISPATCH = {
    # hook called on each callback -> (its loop, the hooks whose override makes it listen)
    "on_train_batch_begin": ("train", ("on_train_batch_begin", "on_batch_begin")),
    "on_train_batch_end": ("train", ("on_train_batch_end", "on_batch_end")),
    "on_batch_begin": ("train", ("on_batch_begin",)),
    "on_batch_end": ("train", ("on_batch_end",)),
    "on_test_batch_begin": ("test", ("on_test_batch_begin",)),
    "on_test_batch_end": ("test", ("on_test_batch_end",)),
    "on_predict_batch_begin": ("predict", ("on_predict_batch_begin",)),
    "on_predict_batch_end": ("predict", ("on_predict_batch_end",)),
}


class CallbackList(Callback):
    """Calls the hooks of several callbacks, in order, with logs converted to Python numbers.

    Args:
        callbacks: a list (possibly nested) of `Callback` instances.
        add_history: add a `History` callback if the list has none (it becomes
            `model.history`).
        add_progbar: add a `ProgbarLogger` if the list has none.
        model: the model the callbacks act on (`set_model` is called on each).
        **params: loop parameters (`verbose`, `epochs`, `steps`) given to each callback's
            `set_params`.

    Logs: every hook receives a fresh dict sorted by key, with nested dicts flattened and
    scalar arrays turned into Python floats (array outputs become NumPy copies), so no callback
    holds an array that the trainer later donates. Batch hooks do this work only when some
    callback listens to them.

    How a trainer drives it (the order Keras 3's trainer uses)::

        callbacks = CallbackList(user_callbacks, add_history=True, add_progbar=verbose != 0,
                                 model=model, verbose=verbose, epochs=epochs, steps=num_steps)
        model.stop_training = False
        callbacks.on_train_begin()
        initial_epoch = model._initial_epoch or initial_epoch   # set by BackupAndRestore
        every_step = callbacks.needs_batch_hooks("train")       # True: one step per program
        progress = every_step or callbacks.wants_progress("train")
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            for first, last in step_ranges:                     # N steps per program
                if progress: callbacks.on_train_batch_begin(first)
                logs = run_steps(first, last)                    # metrics aggregated so far
                if progress: callbacks.on_train_batch_end(last, logs)
                if model.stop_training: break
            epoch_logs = dict(logs)
            if validating:                                      # evaluate(callbacks=callbacks)
                callbacks.on_test_begin()
                ...  # on_test_batch_begin/end, as above, with needs/wants_progress("test")
                callbacks.on_test_end(val_logs)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if model.stop_training: break
        callbacks.on_train_end(epoch_logs)   # only when fit completes, not after an error
        return model.history

    Batch hooks and steps per program: `needs_batch_hooks(mode)` is True when some callback
    overrides a batch hook of that loop (`"train"`, `"test"` or `"predict"`) and is not one of
    lamina's built-ins; the trainer then runs one step per compiled program and calls the batch
    hooks for every batch. Otherwise it may run N steps per program and call
    `on_train_batch_begin(first)` / `on_train_batch_end(last, logs)` once per program, so `batch`
    jumps by N; the built-ins (`ProgbarLogger`, `ModelCheckpoint` and `BackupAndRestore` with an
    integer `save_freq`, `TensorBoard`, `TerminateOnNaN`) handle such jumps. `steps=None` in the
    params means an unknown number of steps (a generator).

    `wants_progress(mode)` says whether any callback uses the batch hooks at all (the progress
    bar with verbose=1 or 2, TensorBoard with `update_freq` in batches, ...). When both are
    False the trainer may run the whole epoch in one program and skip the batch hooks.

    Examples:
        >>> history = History()
        >>> callbacks = CallbackList([history], epochs=1, steps=2, verbose=0)
        >>> callbacks.on_train_begin()
        >>> callbacks.on_epoch_end(0, {"loss": np.float32(0.5)})
        >>> history.history
        {'loss': [0.5]}
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks)
        self._history = None
        self._progbar = None
        self._listeners = {}
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        for callback in self.callbacks:
            if isinstance(callback, ProgbarLogger):
                self._progbar = callback
            elif isinstance(callback, History):
                self._history = callback
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback):
        """Adds a callback at the end of the list (it gets the list's model and params)."""
        (callback,) = _flatten_callbacks([callback])
        self.callbacks.append(callback)
        self._listeners = {}
        if self._model is not None:
            callback.set_model(self._model)
        if self.params:
            callback.set_params(self.params)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def needs_batch_hooks(self, mode="train"):
        """Whether some callback must see every batch of the `mode` loop (`"train"`, `"test"`
        or `"predict"`): a callback outside lamina's built-ins that overrides one of that loop's
        batch hooks. When False, the trainer may run many steps per compiled program and call
        the batch hooks once per program."""
        _check_mode(mode, "needs_batch_hooks")
        return any(needs_every_batch(callback, mode) for callback in self.callbacks)

    def wants_progress(self, mode="train"):
        """Whether any callback uses the batch hooks of the `mode` loop at all, even once per
        compiled program (the progress bar, batch-level TensorBoard scalars, checkpoints every
        N batches, ...). When False the trainer can skip the batch hooks, and fetching the
        running logs from the device, until the end of the epoch. Ask after `on_train_begin`
        / `on_test_begin`: the answer may depend on the loop (the progress bar ignores the
        validation batches inside `fit`)."""
        _check_mode(mode, "wants_progress")
        return any(listens_to_batches(callback, mode) for callback in self.callbacks)

    # ------------------------------------------------------------------------ dispatch
    def _dispatch(self, hook, *args, logs=None):
        logs = python_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def _dispatch_batch(self, hook, batch, logs):
        mode, overridden = _BATCH_DISPATCH[hook]
        candidates = self._listeners.get(hook)
        if candidates is None:  # which callbacks override the hook never changes
            candidates = [c for c in self.callbacks
                          if any(overrides_hook(c, h) for h in overridden)]
            self._listeners[hook] = candidates
        listeners = [c for c in candidates if listens_to_batches(c, mode)]
        if not listeners:
            return  # nobody listens: do not fetch the logs from the device
        logs = python_logs(logs)
        for callback in listeners:
            getattr(callback, hook)(batch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_predict_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._dispatch("on_epoch_end", epoch, logs=logs)

    def on_train_begin(self, logs=None):
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._dispatch("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._dispatch("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._dispatch("on_predict_end", logs=logs)


def _check_mode(mode, method):
    if mode not in BATCH_HOOKS:
        raise ValueError(
            f"{method} expects mode 'train', 'test' or 'predict'. Received: mode={mode!r}")


def _flatten_callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    flat = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten_callbacks(item))
        elif isinstance(item, Callback):
            flat.append(item)
        elif isinstance(item, type) and issubclass(item, Callback):
            raise TypeError(
                f"callbacks must be Callback instances; received the class {item.__name__}. "
                f"Create one first: {item.__name__}(...).")
        else:
            raise TypeError(
                "callbacks must be instances of keras.callbacks.Callback (subclass it, or use "
                f"LambdaCallback for plain functions). Received: {item!r} of type "
                f"{type(item).__name__}.")
    return flat


def python_logs(logs):
    """`logs` as a new dict sorted by key: nested dicts flattened, scalars as Python floats,
    arrays as NumPy copies (so callbacks never keep a device buffer alive)."""
    result = {}
    if not logs:
        return result
    for key, value in sorted(logs.items()):
        if isinstance(value, dict) and key != "outputs":
            result.update(python_logs(value))
        else:
            result[key] = _to_host(value)
    return result


def _to_host(value):
    if isinstance(value, (str, bytes, bool)) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: _to_host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_to_host(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, np.generic) or hasattr(value, "__array__"):
        array = np.array(value)  # a copy, never a view of a device buffer
        if array.ndim == 0 and array.dtype.kind in "biuf":
            return float(array)
        return array
    return value
