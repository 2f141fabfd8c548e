"""`CSVLogger`: writes each epoch's logs as a row of a CSV file."""

import collections.abc
import csv
import io
import os

import numpy as np

from lamina.callbacks._files import write_text_atomically
from lamina.callbacks.callback import Callback


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: one row per epoch, one column per metric.

    The columns are `epoch` (0-based) and the log keys in sorted order; when the first
    epoch has no validation metrics, `val_` columns are added anyway (filled with `NA`) so
    that the file's layout is Keras's. The file is rewritten atomically after each epoch, so
    a reader (or a crash) never sees half a row.

    Args:
        filename: the CSV file, e.g. `"run/log.csv"`.
        separator: the column separator. Defaults to `","`.
        append: add to an existing file (writing the header only if it is empty) instead of
            overwriting it. Defaults to False.

    Examples:
        >>> csv_logger = CSVLogger("training.log")
        >>> # model.fit(x, y, callbacks=[csv_logger])
    """

    _sparse_batch_hooks = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys = None
        self.append_header = True
        self.writer = None
        self._previous = ""
        self._rows = None

    def on_train_begin(self, logs=None):
        self._previous = ""
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                self._previous = f.read()
            self.append_header = not self._previous.splitlines()[:1]
        self._rows = io.StringIO()
        self.writer = None
        self.keys = None
        write_text_atomically(self.filename, self._previous)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._rows is None:  # used outside fit: behave as if training just began
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(f"val_{key}" for key in list(self.keys))
        if self.writer is None:
            dialect = type("_Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self._rows, fieldnames=["epoch", *self.keys],
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        write_text_atomically(self.filename, self._previous + self._rows.getvalue())

    def on_train_end(self, logs=None):
        self.writer = None
        self._rows = None


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value
