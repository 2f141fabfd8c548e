"""`ModelCheckpoint`: saves the model (or its weights) during `fit`."""

import os
import string
import warnings

import numpy as np

from lamina.callbacks._files import write_atomically
from lamina.callbacks.monitor import MonitorCallback


class _TemplateError(KeyError, ValueError):
    """A filepath template that cannot be filled (a KeyError, as in Keras, and a ValueError)."""

    def __str__(self):  # KeyError would print the message in quotes
        return str(self.args[0])


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights at some interval during `fit`.

    `filepath` may hold `str.format` fields filled from the epoch (1-based), the batch
    (1-based, when saving every N batches) and the epoch logs, so that each checkpoint gets
    its own file: `"model_{epoch:02d}-{val_loss:.2f}.keras"`. Files are written to a temporary
    file in the same folder, flushed to disk, then renamed: a save interrupted at any point (a
    crash, a SIGKILL, a power cut) leaves the previous file or the new one, never a broken
    one, and the next save removes the temporary file it left. Files get the permissions
    `open()` would give them (the umask's, or an existing file's).

    Args:
        filepath: where to save: ends in `.keras` for the whole model (`model.save`), or in
            `.weights.h5` when `save_weights_only=True` (`model.save_weights`).
        monitor: the metric `save_best_only` compares. Defaults to `"val_loss"`.
        verbose: 1 prints a message at each save. Defaults to 0.
        save_best_only: save only when `monitor` improves on the best value so far (with a
            fixed filepath, the file always holds the best model). Defaults to False.
        save_weights_only: save only the weights. Defaults to False.
        mode: `"auto"`, `"min"` or `"max"`: the direction of improvement of `monitor`.
        save_freq: `"epoch"` to save after each epoch, or an integer N to save every N
            batches. Defaults to `"epoch"`.
        initial_value_threshold: with `save_best_only`, a value `monitor` must beat before
            the first save. Defaults to None.

    Examples:
        >>> checkpoint = ModelCheckpoint("ckpt/model_{epoch:02d}-{val_loss:.2f}.keras",
        ...                              save_best_only=True)
        >>> # model.fit(..., validation_data=(x_val, y_val), callbacks=[checkpoint])
    """

    _sparse_batch_hooks = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        if save_freq != "epoch" and not (
                isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. ModelCheckpoint expects "
                "save_freq='epoch' (save after every epoch) or a positive integer N (save every "
                "N batches).")
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format). Received: "
                    f"filepath={self.filepath}. Rename it, e.g. "
                    f"'{_with_suffix(self.filepath, '.weights.h5')}'.")
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}. Rename it, e.g. "
                f"'{_with_suffix(self.filepath, '.keras')}', or pass save_weights_only=True "
                "with a '.weights.h5' path to save only the weights.")
        _check_template(self.filepath)

    def _listens_to_batches(self, mode):
        return mode == "train" and self.save_freq != "epoch"

    # ------------------------------------------------------------------------ hooks
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None and self.save_best_only:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    # ------------------------------------------------------------------------ saving
    def _should_save_on_batch(self, batch):
        """Counts batches across jumps (several steps per compiled program) and epochs."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started: batch indices restart at 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available. Available metrics "
                f"are: {','.join(logs or {})}; saving anyway.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(
                "Can save best model only when `monitor` is a scalar value. Received: "
                f"{current}. Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                f"an existing directory: {filepath}")
        model = self.model
        method = "save_weights" if self.save_weights_only else "save"
        save = getattr(model, method, None)
        if not callable(save):
            raise AttributeError(  # noqa: TRY004  (what calling the missing method raises)
                f"ModelCheckpoint saves with model.{method}(filepath, overwrite=True), which "
                f"{type(model).__name__} does not have. Save another way with a "
                "LambdaCallback, or use a keras.Model.")
        write_atomically(filepath, lambda path: save(path, overwrite=True))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise _TemplateError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: the '
                f"field {error} is not available. Available fields: {sorted(fields)}. Use "
                "one of them (val_ metrics need validation data; {batch} needs an integer "
                "save_freq), or escape literal braces as {{ }}.") from None
        except (IndexError, ValueError) as error:
            raise _TemplateError(
                f'Failed to format this callback filepath: "{self.filepath}" with {fields}. '
                f"Reason: {error}. Fields need names ({{epoch}}, not {{}}), and the format "
                "must suit the value: {epoch:02d} for the integer epoch, {val_loss:.2f} for "
                "metric values (floats).") from None


def _check_template(filepath):
    try:
        for _, field, _, _ in string.Formatter().parse(filepath):
            if field is not None and field == "":
                raise ValueError("positional field {}")
    except ValueError as error:
        raise ValueError(
            f"ModelCheckpoint could not read the filepath template {filepath!r}: {error}. "
            "Use named fields such as 'model_{epoch:02d}-{val_loss:.2f}.keras', and double "
            "the braces ('{{' and '}}') for literal ones.") from None


def _with_suffix(filepath, suffix):
    for known in (".weights.h5", ".keras", ".h5"):
        if filepath.endswith(known):
            return filepath[: -len(known)] + suffix
    return os.path.splitext(filepath)[0] + suffix
