"""`BackupAndRestore`: lets `fit` resume where an interrupted run stopped."""

import contextlib
import json
import os
import shutil

import numpy as np

from lamina.callbacks._files import write_atomically, write_text_atomically
from lamina.callbacks.callback import Callback

_WEIGHTS_H5 = "latest.weights.h5"
_WEIGHTS_NPZ = "latest.weights.npz"
_METADATA = "training_metadata.json"
_PREVIOUS = ".bkp"


class BackupAndRestore(Callback):
    """Backs up the training state so that a crashed `fit` resumes from the last backup.

    At the end of each epoch (or every `save_freq` batches) it saves the model's weights, the
    optimizer's state and the number of finished epochs in `backup_dir`. When `fit` starts
    with a backup present, the state is loaded and `fit` skips the epochs already done (it
    reads `model._initial_epoch`, as Keras 3's trainer does). After a `fit` that finishes,
    the backup is deleted.

    The state is written with `model.save_weights` (`latest.weights.h5`, which holds the
    optimizer variables too) when the model has it; otherwise, or for models whose
    `save_weights` is not available, as a NumPy archive `latest.weights.npz` of
    `model.get_weights()` and the optimizer's variables. Every file is written to a temporary
    file first and then renamed, so a crash during a backup leaves the previous one whole.

    Args:
        backup_dir: the folder for the backup files; use it for nothing else.
        save_freq: `"epoch"`, an integer N to back up every N batches, or False for no
            periodic backups. Defaults to `"epoch"`.
        double_checkpoint: also keep the previous backup (`*.bkp`), used if the latest one
            cannot be read. Defaults to False.
        delete_checkpoint: delete the backup files when `fit` completes. Defaults to True.

    Examples:
        >>> backup = BackupAndRestore(backup_dir="/tmp/backup")
        >>> # model.fit(x, y, epochs=10, callbacks=[backup])  # crashes at epoch 4...
        >>> # model.fit(x, y, epochs=10, callbacks=[backup])  # ...runs epochs 4 to 9 only
    """

    _sparse_batch_hooks = True

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(
                "Empty `backup_dir` argument passed. BackupAndRestore needs a folder for its "
                "backup files, e.g. backup_dir='/tmp/backup'.")
        if save_freq is not False and save_freq != "epoch" and not (
                isinstance(save_freq, int) and not isinstance(save_freq, bool)
                and save_freq > 0):
            raise ValueError(
                "Invalid value for argument `save_freq`. Received: "
                f"save_freq={save_freq!r}. Expected either 'epoch', a positive integer "
                "(back up every N batches) or False.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._training_metadata_path = os.path.join(self.backup_dir, _METADATA)

    def _listens_to_batches(self, mode):
        return mode == "train" and self.save_freq not in ("epoch", False)

    # ------------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        model = self.model
        if not getattr(model, "built", True):
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you "
                f"call `fit()`. Model {getattr(model, 'name', model)} is unbuilt. You can "
                "build it beforehand by calling it on a batch of data, or with "
                "model.build(input_shape).")
        try:
            self._load(model, previous=False)
        except Exception as error:
            if not self.double_checkpoint or not self._exists(previous=True):
                raise OSError(
                    f"BackupAndRestore could not read the backup in {self.backup_dir!r}: "
                    f"{error}. Delete the folder to start training from scratch.") from error
            self._load(model, previous=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._last_batch_seen = -1

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save(batch)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save(batch=0)

    def on_train_end(self, logs=None):
        # Called only when fit completes (the trainer skips it after an exception).
        if self._model is not None and getattr(self._model, "_initial_epoch", None) is not None:
            self._model._initial_epoch = None  # a later fit starts from its own initial_epoch
        if self.delete_checkpoint:
            for path in self._all_files():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            with contextlib.suppress(OSError):
                os.rmdir(self.backup_dir)  # only if nothing else is in it

    # ------------------------------------------------------------------------ saving
    def _should_save_on_batch(self, batch):
        if self.save_freq in ("epoch", False):
            return False
        added = batch - self._last_batch_seen if batch > self._last_batch_seen else batch + 1
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _uses_save_weights(self, model):
        return callable(getattr(model, "save_weights", None)) and callable(
            getattr(model, "load_weights", None))

    def _weights_path(self, model, previous=False):
        name = _WEIGHTS_H5 if self._uses_save_weights(model) else _WEIGHTS_NPZ
        return os.path.join(self.backup_dir, name) + (_PREVIOUS if previous else "")

    def _all_files(self):
        names = (_WEIGHTS_H5, _WEIGHTS_NPZ, _METADATA)
        return [os.path.join(self.backup_dir, name) + suffix
                for name in names for suffix in ("", _PREVIOUS)]

    def _exists(self, previous):
        model = self._model
        return os.path.exists(self._weights_path(model, previous))

    def _save(self, batch):
        model = self.model
        os.makedirs(self.backup_dir, exist_ok=True)
        weights_path = self._weights_path(model)
        if self.double_checkpoint:
            for path in (weights_path, self._training_metadata_path):
                if os.path.exists(path):
                    # Copied, not moved: the latest backup stays whole until replaced.
                    write_atomically(path + _PREVIOUS,
                                     lambda temporary, source=path: shutil.copyfile(
                                         source, temporary))
        if self._uses_save_weights(model):
            write_atomically(weights_path,
                             lambda path: model.save_weights(path, overwrite=True))
        else:
            state = _state_arrays(model)
            write_atomically(weights_path, lambda path: _save_npz(path, state))
        metadata = {"epoch": self._current_epoch, "batch": batch}
        write_text_atomically(self._training_metadata_path, json.dumps(metadata))

    def _load(self, model, previous):
        weights_path = self._weights_path(model, previous)
        metadata_path = self._training_metadata_path + (_PREVIOUS if previous else "")
        if os.path.exists(weights_path):
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None and not getattr(optimizer, "built", True):
                optimizer.build(model.trainable_variables)
            if self._uses_save_weights(model):
                model.load_weights(weights_path)
            else:
                _restore_state(model, weights_path)
        if os.path.exists(metadata_path):
            with open(metadata_path, encoding="utf-8") as f:
                model._initial_epoch = json.load(f)["epoch"]


def _optimizer_variables(model):
    optimizer = getattr(model, "optimizer", None)
    return list(getattr(optimizer, "variables", None) or []) if optimizer is not None else []


def _state_arrays(model):
    """NumPy copies of the weights and optimizer variables (never views of device buffers)."""
    state = {f"model_{i}": np.array(w) for i, w in enumerate(model.get_weights())}
    for i, variable in enumerate(_optimizer_variables(model)):
        state[f"optimizer_{i}"] = np.array(variable)
    return state


def _save_npz(path, state):
    with open(path, "wb") as f:
        np.savez(f, **state)
        f.flush()
        os.fsync(f.fileno())


def _restore_state(model, path):
    with np.load(path, allow_pickle=False) as archive:
        state = {name: archive[name] for name in archive.files}
    weights = [state[f"model_{i}"] for i in range(sum(k.startswith("model_") for k in state))]
    variables = _optimizer_variables(model)
    saved = sum(k.startswith("optimizer_") for k in state)
    if saved and saved != len(variables):
        raise ValueError(
            f"The backup holds {saved} optimizer variables but the model's optimizer has "
            f"{len(variables)}. The backup was made with another optimizer or model; delete "
            "the backup folder to start again.")
    model.set_weights(weights)
    for i, variable in enumerate(variables[:saved]):
        variable.assign(state[f"optimizer_{i}"])
