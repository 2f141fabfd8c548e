"""Callbacks that change the optimizer's learning rate: `LearningRateScheduler` and
`ReduceLROnPlateau`."""

import inspect
import warnings

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.callbacks.monitor import MonitorCallback


def _optimizers(model):
    """The optimizer(s) to act on: a list, for optimizers that wrap several (`optimizers`)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            "This callback changes the optimizer's learning rate, but the model has no "
            "optimizer. Call model.compile(optimizer=...) before fit().")
    inner = getattr(optimizer, "optimizers", None)
    return list(inner) if isinstance(inner, (list, tuple)) else [optimizer]


def _read_learning_rate(optimizer):
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f'Optimizer must have a "learning_rate" attribute. Received: {optimizer!r} '
            f"of type {type(optimizer).__name__}.")
    value = optimizer.learning_rate
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        raise ValueError(
            f"Cannot read the learning rate of {type(optimizer).__name__} as a number: it is "
            f"{value!r}. These callbacks set the rate themselves; create the optimizer with a "
            "float learning_rate instead of a schedule.") from None


def _log_learning_rates(model, logs):
    optimizers = _optimizers(model)
    if len(optimizers) == 1 and optimizers[0] is getattr(model, "optimizer", None):
        logs["learning_rate"] = _read_learning_rate(optimizers[0])
    else:
        for optimizer in optimizers:
            logs[f"learning_rate_{optimizer.name}"] = _read_learning_rate(optimizer)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from `schedule(epoch, lr)`.

    Args:
        schedule: a function of the epoch index (0-based) and the current learning rate
            (a float) that returns the new learning rate. A function of the epoch alone
            also works, as in older Keras.
        verbose: 1 prints the rate it sets. Defaults to 0.

    The rate at the end of each epoch is added to the logs as `learning_rate`, so it shows in
    `History` and `CSVLogger`.

    Examples:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> scheduler = LearningRateScheduler(schedule)
        >>> # model.fit(x, y, epochs=15, callbacks=[scheduler])
    """

    _sparse_batch_hooks = True

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler expects a function schedule(epoch, lr) -> new lr. "
                f"Received: {schedule!r} of type {type(schedule).__name__}.")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _accepts_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        model = self.model
        for optimizer in _optimizers(model):
            learning_rate = self._update(optimizer, epoch)
            if self.verbose > 0:
                which = "" if optimizer is model.optimizer else f"{optimizer.name} "
                print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting {which}"
                      f"learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            _log_learning_rates(self.model, logs)

    def _update(self, optimizer, epoch):
        current = _read_learning_rate(optimizer)
        if self._takes_lr is None:  # signature unknown: try the new API, then the old one
            try:
                new = self.schedule(epoch, current)
            except TypeError:
                new = self.schedule(epoch)
        elif self._takes_lr:
            new = self.schedule(epoch, current)
        else:
            new = self.schedule(epoch)
        try:
            array = None if isinstance(new, bool) else np.asarray(new)
        except (TypeError, ValueError):
            array = None
        if array is None or array.ndim != 0 or array.dtype.kind not in "iuf":
            raise ValueError(
                "The output of the `schedule` function should be a float (the new learning "
                f"rate). Got: {new!r} at epoch {epoch}.")
        new = float(array)
        optimizer.learning_rate = new
        return new


def _accepts_two_arguments(function):
    """True/False from the signature; None when it cannot be read (builtins, some C calls)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(0, 0.1)
        return True
    except TypeError:
        return False


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving.

    Args:
        monitor: the quantity to watch. Defaults to `"val_loss"`.
        factor: new_lr = lr * factor; must be below 1. Defaults to 0.1.
        patience: epochs without improvement before reducing. Defaults to 10.
        verbose: 1 prints a message on each reduction. Defaults to 0.
        mode: `"auto"`, `"min"` or `"max"`. Defaults to `"auto"`.
        min_delta: the smallest change that counts as an improvement. Defaults to 1e-4.
        cooldown: epochs to wait after a reduction before counting again. Defaults to 0.
        min_lr: the learning rate never goes below this. Defaults to 0.
        epsilon: the old name of `min_delta` (older Keras), accepted with a warning.

    Examples:
        >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5,
        ...                               min_lr=0.001)
        >>> # model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    _sparse_batch_hooks = True

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:
            warnings.warn("ReduceLROnPlateau: `epsilon` is the old name of `min_delta`; "
                          "use min_delta=.", stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau got unexpected arguments {sorted(kwargs)}. It accepts "
                "monitor, factor, patience, verbose, mode, min_delta, cooldown, min_lr.")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau does not support a factor >= 1.0 (it would not reduce the "
                f"learning rate). Received factor={factor}. Use a value in (0, 1), e.g. 0.1.")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        """Whether a reduction happened less than `cooldown` epochs ago."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        model = self.model
        _log_learning_rates(model, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                reduced = False
                for optimizer in _optimizers(model):
                    reduced |= self._reduce(optimizer, epoch, model)
                if reduced:
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def _reduce(self, optimizer, epoch, model):
        old = _read_learning_rate(optimizer)
        if old <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose > 0:
            which = "" if optimizer is model.optimizer else f" {optimizer.name}"
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{which} learning rate to "
                  f"{new}.")
        return True
