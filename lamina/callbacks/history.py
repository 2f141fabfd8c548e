"""`History`: records each epoch's logs; `fit` returns it."""

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records the logs of every epoch: `history.history` maps each metric name to its list
    of values, `history.epoch` lists the epoch indices.

    `fit` adds one automatically and returns it (it is also `model.history`). Values from
    earlier `fit` calls with the same `History` stay; `epoch` restarts at each `fit`.

    Examples:
        >>> history = History()
        >>> history.on_train_begin()
        >>> for epoch, loss in enumerate([0.9, 0.5]):
        ...     history.on_epoch_end(epoch, {"loss": loss})
        >>> history.history, history.epoch
        ({'loss': [0.9, 0.5]}, [0, 1])
    """

    _sparse_batch_hooks = True

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self._model is not None:
            self._model.history = self
