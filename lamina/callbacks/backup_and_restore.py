"""`BackupAndRestore`: lets `fit` resume where an interrupted run stopped."""

import contextlib
import json
import os
import shutil

import numpy as np

from lamina.callbacks._files import (
    atomic_output, remove_stale_temporaries, write_atomically, write_text_atomically)
from lamina.callbacks.callback import Callback

_WEIGHTS_H5 = "latest.weights.h5"
_WEIGHTS_NPZ = "latest.weights.npz"
_METADATA = "training_metadata.json"
_PREVIOUS = ".bkp"
# Where the weights file keeps its own copy of training_metadata.json's contents: an HDF5
# attribute of the root group (Keras's loader and lamina's read only groups and datasets),
# or an entry of the NumPy archive.
_RECORD = "training_metadata"


class BackupAndRestore(Callback):
    """Backs up the training state so that a crashed `fit` resumes from the last backup.

    At the end of each epoch (or every `save_freq` batches) it saves the model's weights, the
    optimizer's state and the number of finished epochs in `backup_dir`. When `fit` starts
    with a backup present, the state is loaded and `fit` skips the epochs already done (it
    reads `model._initial_epoch`, as Keras 3's trainer does). After a `fit` that finishes,
    the backup is deleted.

    The state is written with `model.save_weights` (`latest.weights.h5`, which holds the
    optimizer variables too) when the model has it; otherwise as a NumPy archive
    `latest.weights.npz` of `model.get_weights()` and the optimizer's variables. The epoch
    is written twice: into `training_metadata.json`, Keras 3's layout (Keras resumes from
    these files), and into the weights file itself (an attribute of an HDF5 file, an entry of
    the NumPy archive).

    Backups survive a crash at any point, a SIGKILL or a power cut included: each file is
    written to a temporary file and renamed into place, so it is the previous whole file or
    the new whole file; and since the weights file records its own epoch, the epoch resumed
    from is always the one its weights were saved at, even when the run stopped between the
    rename of the weights and that of `training_metadata.json` (the JSON file is read only
    for backups whose weights do not record an epoch: Keras's, older lamina's, or a
    `save_weights` that does not write HDF5). A `training_metadata.json` without a weights
    file (a deletion cut short) is ignored, and the temporary files of a killed backup are
    removed by the next one.

    Args:
        backup_dir: the folder for the backup files; use it for nothing else.
        save_freq: `"epoch"`, an integer N to back up every N batches, or False for no
            periodic backups. Defaults to `"epoch"`.
        double_checkpoint: also keep the previous backup (`*.bkp`), used if the latest one
            cannot be read; its weights file records its own epoch too. Defaults to False.
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
        self._latest_unreadable = False

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
        self._latest_unreadable = False
        try:
            self._load(model, previous=False)
        except Exception as error:
            if not self.double_checkpoint or not self._exists(previous=True):
                raise OSError(
                    f"BackupAndRestore could not read the backup in {self.backup_dir!r}: "
                    f"{error}. Delete the folder to start training from scratch.") from error
            self._load(model, previous=True)
            self._latest_unreadable = True  # the next backup must not copy it over the .bkp

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
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            # The previous backup goes first and the metadata last: a deletion cut short leaves
            # either a backup that resumes at the last epoch (then finishes at once), or a
            # metadata file alone, which is ignored.
            for path in self._all_files():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            remove_stale_temporaries(self.backup_dir)
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
                for suffix in (_PREVIOUS, "") for name in names]

    def _exists(self, previous):
        model = self._model
        return os.path.exists(self._weights_path(model, previous))

    def _save(self, batch):
        model = self.model
        weights_path = self._weights_path(model)
        metadata = {"epoch": self._current_epoch, "batch": batch}
        if self.double_checkpoint and not self._latest_unreadable:
            # Copied, not moved: the latest backup stays whole until replaced. Its weights
            # record their epoch, so a .bkp pair copied only in part still resumes right.
            for path in (weights_path, self._training_metadata_path):
                if os.path.exists(path):
                    write_atomically(path + _PREVIOUS,
                                     lambda temporary, source=path: shutil.copyfile(
                                         source, temporary))
        with atomic_output(weights_path, create_folder=True) as temporary:
            if self._uses_save_weights(model):
                model.save_weights(temporary, overwrite=True)
                _record_in_h5(temporary, metadata)
            else:
                _save_npz(temporary, _state_arrays(model), metadata)
        self._latest_unreadable = False
        write_text_atomically(self._training_metadata_path, json.dumps(metadata))

    def _load(self, model, previous):
        weights_path = self._weights_path(model, previous)
        if not os.path.exists(weights_path):
            return  # no backup; a metadata file alone (a deletion cut short) says nothing
        metadata_path = self._training_metadata_path + (_PREVIOUS if previous else "")
        metadata = _recorded_metadata(weights_path)
        if metadata is None and os.path.exists(metadata_path):
            with open(metadata_path, encoding="utf-8") as f:
                metadata = _checked_metadata(f.read(), metadata_path)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            optimizer.build(model.trainable_variables)
        if self._uses_save_weights(model):
            model.load_weights(weights_path)
        else:
            _restore_state(model, weights_path)
        if metadata is not None:
            model._initial_epoch = metadata["epoch"]


def _checked_metadata(text, where):
    """The `{"epoch": int, ...}` record in `text`, or a ValueError naming `where`."""
    try:
        metadata = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{where} is not valid JSON ({error}).") from error
    epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(
            f"{where} does not record the epoch to resume from: expected "
            f'{{"epoch": <a non-negative integer>, ...}}, found {text[:200]!r}.')
    return metadata


def _record_in_h5(path, metadata):
    """Adds `metadata` to the HDF5 weights file at `path` (nothing if it is not HDF5: a
    `save_weights` of another format, whose epoch then comes from the JSON file alone)."""
    import h5py  # a dependency of lamina; imported when first needed, as saving does

    if h5py.is_hdf5(path):
        with h5py.File(path, "r+") as h5_file:
            h5_file.attrs[_RECORD] = json.dumps(metadata)


def _recorded_metadata(path):
    """The metadata a weights file records about itself, or None if it records none."""
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            if _RECORD not in archive.files:
                return None
            return _checked_metadata(str(archive[_RECORD][()]), f"{path} ({_RECORD})")
    import h5py

    if not h5py.is_hdf5(path):
        return None
    with h5py.File(path, "r") as h5_file:
        text = h5_file.attrs.get(_RECORD)
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _checked_metadata(str(text), f"{path} (attribute {_RECORD!r})")


def _optimizer_variables(model):
    optimizer = getattr(model, "optimizer", None)
    return list(getattr(optimizer, "variables", None) or []) if optimizer is not None else []


def _state_arrays(model):
    """NumPy copies of the weights and optimizer variables (never views of device buffers)."""
    state = {f"model_{i}": np.array(w) for i, w in enumerate(model.get_weights())}
    for i, variable in enumerate(_optimizer_variables(model)):
        state[f"optimizer_{i}"] = np.array(variable)
    return state


def _save_npz(path, state, metadata):
    with open(path, "wb") as f:
        np.savez(f, **state, **{_RECORD: np.array(json.dumps(metadata))})


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
