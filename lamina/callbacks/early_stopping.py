"""`EarlyStopping`: stops `fit` when a monitored metric stops improving."""

import warnings

from lamina.callbacks.monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stops training when `monitor` has not improved for `patience` epochs.

    At the end of each epoch the monitored value is compared with the best so far; after
    `patience` epochs without an improvement of at least `min_delta`, it sets
    `model.stop_training = True` and `fit` ends after that epoch.

    Args:
        monitor: the quantity to watch, a key of the epoch logs. Defaults to `"val_loss"`.
        min_delta: the smallest change that counts as an improvement. Defaults to 0.
        patience: epochs without improvement before stopping. Defaults to 0.
        verbose: 1 prints a message when it stops or restores weights. Defaults to 0.
        mode: `"auto"`, `"min"` or `"max"` (see `MonitorCallback`). Defaults to `"auto"`.
        baseline: a value the metric must beat; epochs that do not beat it count towards
            `patience` even when they improve on the previous best. Defaults to None.
        restore_best_weights: at the end of training, set the weights of the best epoch
            (read as NumPy copies through `model.get_weights()`). Defaults to False.
        start_from_epoch: epochs to wait before watching, for a warm-up. Defaults to 0.

    Examples:
        >>> stop = EarlyStopping(monitor="loss", patience=2)
        >>> # model.fit(x, y, epochs=100, callbacks=[stop]) ends once the loss has not
        >>> # improved for two epochs; stop.stopped_epoch says when.
    """

    _sparse_batch_hooks = True

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Something to restore even if no epoch beats the baseline.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from `logs`, or None (with a warning) when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}. Pass one of them as "
                "monitor=, or add the metric in compile() (val_ metrics need "
                "validation data).", stacklevel=2)
        return value
