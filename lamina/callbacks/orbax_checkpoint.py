"""`OrbaxCheckpoint`: saves the model's state during `fit` with Orbax, as Keras 3.15's
`keras.callbacks.OrbaxCheckpoint` does (same arguments, layout and step numbers)."""

import json
import os
import warnings

import numpy as np

from lamina import _orbax
from lamina.callbacks.monitor import MonitorCallback


def _describe(value):
    return f"{value!r} of type {type(value).__name__}"


class OrbaxCheckpoint(MonitorCallback):
    """Saves the model's state with Orbax (orbax-checkpoint) during `fit`, by default in the
    background while training goes on.

    Each save is one step folder of `directory`, named by the epoch (0-based, when saving every
    epoch) or by the number of batches trained so far (when saving every N batches); the
    newest `max_to_keep` are kept. A step holds the weights, the optimizer's and the metrics'
    state as arrays, and the model's config (unless `save_weights_only`), in Keras 3's layout,
    so Keras reads lamina's checkpoints and the reverse. Restore with
    `keras.saving.load_model(directory)` (a new model, from the latest step) or
    `model.load_weights(directory)` (into a model built the same way, compiled with the same
    optimizer to restore its state); give a step's folder to load that step.

    Under `keras.distribution` each device's shards are written as they are and restored
    into the layouts of the model they load into. A save cut short (the process killed) stays
    in a `<step>.orbax-checkpoint-tmp` folder, which loading never reads. In a multi-host JAX
    program (after `keras.distribution.initialize()`), every process runs this callback on
    one directory that all hosts share: the primary process writes the metadata and commits
    each step, every process writes the shards on its own devices.

    Needs `pip install orbax-checkpoint`.

    Args:
        directory: where to save the checkpoints (created if needed).
        monitor: the metric `save_best_only` compares. Defaults to `"val_loss"`.
        verbose: 1 prints a line at each save. Defaults to 0.
        save_best_only: save only when `monitor` improves on the best value so far; a save
            whose logs lack `monitor` is skipped with a warning. Defaults to False.
        mode: `"auto"`, `"min"` or `"max"`: the direction of improvement of `monitor`.
        save_freq: `"epoch"` to save after each epoch, or an integer N to save every N
            batches. Defaults to `"epoch"`.
        initial_value_threshold: with `save_best_only`, a value `monitor` must beat before
            the first save. Defaults to None.
        max_to_keep: how many of the newest checkpoints to keep, or None for all. Defaults
            to 1.
        save_on_background: save asynchronously: the arrays are copied off the device at
            once, and written while training continues. Defaults to True.
        save_weights_only: save only the weights (trainable and non-trainable variables), not
            the optimizer's or metrics' state nor the config. Defaults to False.

    Examples:
        >>> import tempfile
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> directory = tempfile.mkdtemp()
        >>> checkpoint = lamina.callbacks.OrbaxCheckpoint(directory, max_to_keep=2)
        >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=3, verbose=0,
        ...               callbacks=[checkpoint])
        >>> sorted(os.listdir(directory))
        ['1', '2']
        >>> restored = lamina.saving.load_model(directory)    # from the latest step, 2
        >>> int(restored.optimizer.iterations.numpy())
        3
    """

    _sparse_batch_hooks = True

    def __init__(self, directory, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, max_to_keep=1,
                 save_on_background=True, save_weights_only=False):
        ocp = _orbax.orbax()
        super().__init__(monitor, mode, initial_value_threshold)
        try:
            path = os.fspath(directory)
        except TypeError:
            raise ValueError(
                "OrbaxCheckpoint: `directory` must be a path (a str or pathlib.Path) to a "
                f"folder for the checkpoints. Received: directory={_describe(directory)}."
            ) from None
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
                save_freq, (int, np.integer)) or save_freq < 1):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. OrbaxCheckpoint expects "
                "save_freq='epoch' (save after every epoch) or a positive integer N (save every "
                "N batches).")
        if max_to_keep is not None and (isinstance(max_to_keep, bool) or not isinstance(
                max_to_keep, (int, np.integer)) or max_to_keep < 1):
            raise ValueError(
                "OrbaxCheckpoint: `max_to_keep` must be a positive integer (how many of the "
                "newest checkpoints to keep) or None (keep all). Received: "
                f"max_to_keep={_describe(max_to_keep)}.")
        for name, value in (("save_best_only", save_best_only),
                            ("save_on_background", save_on_background),
                            ("save_weights_only", save_weights_only)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"OrbaxCheckpoint: `{name}` must be a bool. Received: "
                    f"{name}={_describe(value)}.")
        self.directory = directory
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._total_batches_seen = 0
        self._async_futures = []
        self._warned_stale = False
        self._multihost_initialized = self._is_multihost_initialized()
        policies = ocp.training.preservation_policies
        self.checkpointer = ocp.training.Checkpointer(
            directory=os.path.abspath(path),
            preservation_policy=None if max_to_keep is None else policies.LatestN(max_to_keep),
            # Every step passes; the callback decides when to save.
            save_decision_policy=ocp.training.save_decision_policies.FixedIntervalPolicy(1))

    def _listens_to_batches(self, mode):
        return mode == "train" and self.save_freq != "epoch"

    def set_model(self, model):
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            # Batch steps continue from where a restored model's training left off.
            self._total_batches_seen = int(np.asarray(optimizer.iterations.numpy()))

    # ----------------------------------------------------------------------- multi-host
    def _is_multihost_initialized(self):
        return bool(_orbax.multihost().is_jax_distributed_client_initialized())

    def _sync_processes(self, key):
        if self._multihost_initialized:
            _orbax.multihost().sync_global_processes(key)

    def is_multihost_enabled(self):
        """Whether this is a multi-host JAX program (`jax.distributed` initialized), whose
        hosts Orbax coordinates.

        Examples:
            >>> import tempfile
            >>> lamina.callbacks.OrbaxCheckpoint(tempfile.mkdtemp()).is_multihost_enabled()
            False
        """
        return self._multihost_initialized

    def is_primary_host(self):
        """Whether this process is the primary host (always True on one host).

        Examples:
            >>> import tempfile
            >>> lamina.callbacks.OrbaxCheckpoint(tempfile.mkdtemp()).is_primary_host()
            True
        """
        if not self._multihost_initialized:
            return True
        return bool(_orbax.multihost().is_primary_host(primary_host=0))

    # ---------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._warned_stale = False

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch) and self._improved(logs, f"batch {batch}"):
            self._save_checkpoint(self._total_batches_seen, f"batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch" and self._improved(logs, f"epoch {epoch}"):
            self._save_checkpoint(epoch, f"Epoch {epoch + 1}")

    def on_train_end(self, logs=None):
        self.wait_until_finished()
        self.checkpointer.close()
        self._sync_processes("checkpoint_cleanup")

    def wait_until_finished(self):
        """Waits until the checkpoints being written in the background are on disk; raises
        the error of one that failed.

        Examples:
            >>> import tempfile
            >>> lamina.callbacks.OrbaxCheckpoint(tempfile.mkdtemp()).wait_until_finished()
        """
        futures, self._async_futures = self._async_futures, []
        for future in futures:
            future.result()
        self.checkpointer.wait()
        self._sync_processes("checkpoint_wait_complete")

    # --------------------------------------------------------------------------- saving
    def _should_save_on_batch(self, batch):
        """Counts batches across jumps (several steps per compiled program) and epochs."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch: batch indices restart at 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        self._total_batches_seen += added
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _improved(self, logs, where):
        """Whether to save: always, or with save_best_only when `monitor` improved (which
        then becomes the best value)."""
        if not self.save_best_only:
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available, skipping save at "
                f"{where}. Available metrics are: {', '.join(logs or {}) or 'none'}.",
                stacklevel=3)
            return False
        if not self._is_improvement(current, self.best):
            return False
        self.best = current
        return True

    def _save_checkpoint(self, step, where):
        latest = self.checkpointer.latest
        if latest is not None and step <= latest.step:
            # Orbax saves steps in increasing order only (it skips others without a word).
            if not self._warned_stale:
                self._warned_stale = True
                warnings.warn(
                    f"OrbaxCheckpoint did not save step {step}: {self.directory!r} already holds "
                    f"step {latest.step}, and Orbax saves steps in increasing order only. This "
                    "happens when fit() starts again at epoch 0 (or a fresh model trains) in a "
                    "directory of earlier checkpoints. Pass initial_epoch= to fit() to continue "
                    "the numbering, or use an empty directory.", stacklevel=3)
            return
        model = self.model
        groups = _orbax.WEIGHT_GROUPS if self.save_weights_only else _orbax.GROUPS
        payload = {_orbax.PYTREE: _orbax.state_tree(model, groups),
                   _orbax.VARIABLE_PATHS: {"config": json.dumps(
                       _orbax.variable_paths(model, groups))}}
        if not self.save_weights_only:
            payload[_orbax.MODEL_CONFIG] = {"config": _orbax.model_config_json(model)}
        if self.verbose > 0:
            target = os.path.join(os.fspath(self.directory), str(step))
            print(f"\n{where}: saving checkpoint to {target}")
        ocp = _orbax.orbax()
        with ocp.Context():
            if self.save_on_background:
                # Returns once the arrays are copied off the device (so the next steps may
                # reuse their buffers); the files are written in the background.
                self._async_futures.append(
                    self.checkpointer.save_checkpointables_async(step, payload))
            else:
                self.checkpointer.save_checkpointables(step, payload)
