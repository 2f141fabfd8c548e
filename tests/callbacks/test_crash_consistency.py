"""Training stopped at any instant, by SIGKILL included, leaves files a user can rely on.

Whatever point a `fit` with `BackupAndRestore` and `ModelCheckpoint` stops at:

* every file in the output folders loads (`load_model`, `load_weights`, the JSON metadata);
* the resumed `fit` starts at the epoch its restored weights were saved at (the model counts
  its own training steps in a weight), and ends with the weights of an uninterrupted run;
* the temporary files the stopped run left are gone after the next save.

Two ways of stopping are checked:

* `test_a_stop_between_any_two_file_operations_...`: one `fit` in this process copies its
  output folder before each file operation (open, HDF5 dataset or attribute write, zip
  entry, fsync, chmod, rename, removal). A copy made just before operation N holds exactly
  what a SIGKILL there leaves on disk: what the process wrote reached the kernel, what it
  still buffered is lost either way, and nothing runs afterwards (no `finally`, no clean-up).
  So one run covers every point between two file operations of every save, and of the
  deletion of the backup at the end.
* `test_sigkill_...`: this file, run as a script, trains in a child process that SIGKILLs
  itself just before a chosen file operation: the same checks, on a real kill.
"""

import builtins
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import zipfile

import h5py
import numpy as np
import pytest

import lamina as keras
from lamina._atomic import atomic_output, is_temporary, remove_stale_temporaries

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SIGKILL and /proc/self/fd are Linux's")

STEPS = 4  # training steps per epoch
EPOCHS = 3  # of the run that is stopped; resumed and reference runs train one more


class StepCounter(keras.layers.Layer):
    """Adds 1 to a non-trainable weight at each training step, so that any saved weights say
    how many steps had been trained when they were saved."""

    def build(self, input_shape):
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="steps")

    def call(self, inputs, training=False):
        if training:
            self.steps.assign_add(1.0)
        return inputs


CUSTOM = {"StepCounter": StepCounter}


def make_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), StepCounter(),
                              keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") if w.ndim else w
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def data():
    x = np.linspace(-1.0, 1.0, 3 * 4 * STEPS, dtype="float32").reshape(4 * STEPS, 3)
    return x, x @ np.array([[0.5], [-1.0], [2.0]], "float32")


def steps_of(model):
    return int(model.layers[1].steps.numpy())


def callbacks(run):
    """A backup with its previous copy, the best model, and weights every 3 steps."""
    return [
        keras.callbacks.BackupAndRestore(os.path.join(run, "backup"), double_checkpoint=True),
        keras.callbacks.ModelCheckpoint(os.path.join(run, "ckpt", "best.keras"),
                                        monitor="loss", save_best_only=True),
        keras.callbacks.ModelCheckpoint(os.path.join(run, "ckpt", "e{epoch}b{batch}.weights.h5"),
                                        save_weights_only=True, save_freq=3),
    ]


def train(model, run, epochs, after_restore=(), last=()):
    """`fit` with the callbacks of `callbacks(run)`; `after_restore` run right after
    BackupAndRestore's, `last` after all the others."""
    x, y = data()
    backup, *others = callbacks(run)
    return model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=[backup, *after_restore, *others, *last])


# --------------------------------------------------------------------------- instrumenting
@contextlib.contextmanager
def file_operations(run, before):
    """Calls `before(operation, path)` before each file operation on a path under `run`.

    The harness wraps the functions the savers reach (os, open, h5py, zipfile); the code
    under test runs unchanged.
    """
    run = os.path.realpath(run)
    busy = threading.local()

    def under_run(path):
        try:
            return os.path.realpath(os.fspath(path)).startswith(run + os.sep)
        except TypeError:  # a file object or an in-memory buffer
            return False

    def fd_path(fd):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    def wrap(owner, name, path_of):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if not getattr(busy, "on", False):
                path = path_of(*args, **kwargs)
                if path is not None and under_run(path):
                    busy.on = True
                    try:
                        before(name, os.path.relpath(os.path.realpath(path), run))
                    finally:
                        busy.on = False
            return original(*args, **kwargs)

        setattr(owner, name, wrapper)
        return owner, name, original

    first = lambda path, *args, **kwargs: path  # noqa: E731
    patched = [
        wrap(builtins, "open", first), wrap(io, "open", first), wrap(os, "open", first),
        wrap(os, "mkdir", first), wrap(os, "chmod", first), wrap(os, "remove", first),
        wrap(os, "unlink", first), wrap(os, "rmdir", first),
        wrap(os, "replace", lambda src, dst, **kwargs: dst),
        wrap(os, "fsync", lambda fd: fd_path(fd if isinstance(fd, int) else fd.fileno())),
        wrap(h5py.File, "__init__", lambda self, name, *a, **k: name),
        wrap(h5py.Group, "create_dataset", lambda self, *a, **k: self.file.filename),
        wrap(h5py.AttributeManager, "__setitem__",
             lambda self, *a: h5py.h5f.get_name(self._id).decode()),
        wrap(zipfile.ZipFile, "writestr", lambda self, *a, **k: self.filename),
    ]
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


# --------------------------------------------------------------------------- checking
def files_under(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, _, names in os.walk(folder) for name in names)


class Checker:
    """Checks what a stopped run left in a folder; remembers the files already loaded."""

    def __init__(self, tmp_path):
        self.model = make_model()
        self.fresh = str(tmp_path / "fresh.weights.h5")
        self.model.save_weights(self.fresh)
        # The weights of an uninterrupted run after each number of epochs.
        self.expected = {}
        reference = make_model()
        train(reference, str(tmp_path / "reference"), EPOCHS + 1,
              last=[keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs:
                    self.expected.update({epoch + 1: reference.get_weights()}))])
        self.loaded = set()
        self.scratch = str(tmp_path / "scratch")
        os.makedirs(self.scratch)

    def every_file_loads(self, run):
        """Each file present loads; temporaries are lamina's own, named as such."""
        for name in files_under(run):
            path = os.path.join(run, name)
            if os.path.basename(name).startswith("."):
                assert is_temporary(name), f"{name}: a hidden file that is no temporary"
                continue
            with open(path, "rb") as f:
                key = (name, hashlib.sha256(f.read()).hexdigest())
            if key in self.loaded:
                continue
            if name.endswith(".keras"):
                steps = steps_of(keras.models.load_model(path, custom_objects=CUSTOM))
                assert steps and steps % STEPS == 0, (name, steps)  # saved at an epoch's end
            elif name.endswith(".json") or name.endswith(".json.bkp"):
                with open(path, encoding="utf-8") as f:
                    assert isinstance(json.load(f)["epoch"], int), name
            else:
                assert name.endswith((".weights.h5", ".weights.h5.bkp")), name
                copy = os.path.join(self.scratch, "copy.weights.h5")
                shutil.copyfile(path, copy)
                self.model.load_weights(copy)
            self.loaded.add(key)

    def resumes_consistently(self, run):
        """A resumed fit starts at its weights' epoch, trains that epoch as an uninterrupted
        run does, and its saves leave no temporary behind. Returns the epoch resumed at."""
        model = self.model
        model.load_weights(self.fresh)  # a new process: fresh weights and optimizer
        start = {}
        probe = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: start.update(
            epoch=getattr(model, "_initial_epoch", None) or 0, steps=steps_of(model)))
        # One epoch is enough: every callback saves in it (and the backup is then deleted).
        stop = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", True))
        history = train(model, run, EPOCHS + 1, after_restore=[probe], last=[stop])
        assert start["steps"] == start["epoch"] * STEPS, (
            f"resumed at epoch {start['epoch']} with weights of step {start['steps']}")
        assert history.epoch == [start["epoch"]]
        for got, want in zip(model.get_weights(), self.expected[start["epoch"] + 1]):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        left = [name for name in files_under(run) if os.path.basename(name).startswith(".")]
        assert not left, f"temporaries survived the next save: {left}"
        return start["epoch"]


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    return Checker(tmp_path_factory.mktemp("checker"))


# --------------------------------------------------------------------------- in-process
def test_a_stop_between_any_two_file_operations_leaves_loadable_consistent_files(
        tmp_path, checker, killed_run):
    """Every point of a 3-epoch fit at which a kill can land, one copy of the output folder
    each (killed_run only starts the SIGKILL test's child first, to train meanwhile).

    Every file of every copy is loaded. Resuming is checked once per distinct backup state
    and set of folders holding temporaries: copies that share them differ only in the names
    and contents of their temporaries, which a save removes alike.
    """
    run = str(tmp_path / "run")
    os.makedirs(run)
    snapshots, log = [], []

    def snapshot(operation, path):
        copy = str(tmp_path / "snapshots" / f"{len(snapshots):03d}")
        shutil.copytree(run, copy, symlinks=True)
        snapshots.append(copy)
        log.append((operation, path))

    model = make_model()
    with file_operations(run, snapshot):
        train(model, run, EPOCHS)
    snapshots.append(run)  # the run that was not stopped
    kinds = {operation for operation, _ in log}
    assert {"replace", "fsync", "create_dataset", "writestr", "__setitem__"} <= kinds, kinds
    assert any(path.endswith("training_metadata.json") for _, path in log)

    resumed, epochs = {}, set()
    for copy in snapshots:
        checker.every_file_loads(copy)
        # Copies with the same backup and the same kinds of temporaries resume alike.
        backup = os.path.join(copy, "backup")
        key = tuple((name, _digest(os.path.join(backup, name)))
                    for name in (files_under(backup) if os.path.isdir(backup) else [])
                    if not name.startswith(".")) + tuple(sorted(
                        {os.path.dirname(n) for n in files_under(copy) if is_temporary(n)}))
        if key not in resumed:
            resumed[key] = checker.resumes_consistently(copy)
        epochs.add(resumed[key])
    assert epochs == set(range(EPOCHS + 1))  # stops before, between and after every backup


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# --------------------------------------------------------------------------- real kills
def _kill_before(run, operation, pattern, occurrence):
    """Trains in a child process that SIGKILLs itself just before the `occurrence`-th
    `operation` on a path (relative to `run`) matching the regular expression `pattern`."""
    os.makedirs(run)
    with open(os.path.join(os.path.dirname(run), "child.log"), "w") as log:  # never blocks
        return subprocess.Popen(
            [sys.executable, __file__, run, operation, pattern, str(occurrence)],
            stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """Starts at once, so that the child imports and trains while other tests run: it is
    killed after the weights of the second backup are renamed into place, before its
    metadata is (its temporary written, the rename not done)."""
    run = str(tmp_path_factory.mktemp("killed") / "run")
    child = _kill_before(run, "replace", r"backup/training_metadata\.json", 2)
    yield run, child
    if child.poll() is None:
        child.kill()
        child.wait()


def test_sigkill_between_weights_and_metadata_resumes_at_the_weights_epoch(
        killed_run, checker):
    """The issue's case, on a real kill: the weights of the second backup are in place,
    the metadata still the first's. The resumed fit starts at the weights' epoch (not one
    before, which would train that epoch twice), and removes the dead child's temporary."""
    run, child = killed_run
    child.wait(timeout=120)
    with open(os.path.join(os.path.dirname(run), "child.log")) as log:
        assert child.returncode == -signal.SIGKILL, f"the child was not killed:\n{log.read()}"
    backup = os.path.join(run, "backup")
    with open(os.path.join(backup, "training_metadata.json"), encoding="utf-8") as f:
        assert json.load(f)["epoch"] == 1  # the first backup's: the second was cut short
    left = [name for name in os.listdir(backup) if name.startswith(".")]
    assert len(left) == 1 and is_temporary(left[0])  # the dead child's metadata
    checker.every_file_loads(run)
    assert checker.resumes_consistently(run) == 2  # the weights are the second backup's


# --------------------------------------------------------------------------- modes
@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_files_follow_the_umask(tmp_path, umask, model):
    """As with Keras (which opens files with open()), a model saved into a shared folder is
    readable by the group and others when the umask says so, and private when it does not."""
    previous = os.umask(umask)
    try:
        model.fit(*data(), batch_size=4, epochs=2, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(tmp_path / "kept"), delete_checkpoint=False,
                                             double_checkpoint=True), *callbacks(tmp_path)[1:]])
        model.save(tmp_path / "model.keras")
        model.save_weights(tmp_path / "model.weights.h5")
    finally:
        os.umask(previous)
    names = files_under(str(tmp_path))
    assert {"model.keras", "model.weights.h5", "ckpt/best.keras", "kept/latest.weights.h5",
            "kept/latest.weights.h5.bkp", "kept/training_metadata.json",
            "kept/training_metadata.json.bkp"} <= set(names)
    assert any(name.startswith("ckpt/e") for name in names)  # ModelCheckpoint's weights
    for name in names:
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode == 0o666 & ~umask, f"{name}: {oct(mode)}"


def test_an_existing_file_keeps_its_permissions(tmp_path, model):
    """Replacing a file keeps its permission bits, as open(path, "w") would: a checkpoint
    made readable to a group stays so after the next save."""
    path = tmp_path / "model.keras"
    model.save(path)
    os.chmod(path, 0o640)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


# --------------------------------------------------------------------------- temporaries
def test_temporaries_of_live_writers_are_kept_and_of_gone_writers_removed(
        tmp_path, model, monkeypatch):
    """A save removes what killed saves left, never a temporary another live save is
    writing (in this process, or in another one)."""
    monkeypatch.chdir(tmp_path)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with atomic_output("slow.keras") as writing:  # a save still going on
            mine = os.path.basename(writing)
            # Another process's temporary: the same name, with that process's id.
            theirs = mine.replace(f"-{os.getpid()}-", f"-{sleeper.pid}-")
            (tmp_path / theirs).write_bytes(b"partial")
            model.save(tmp_path / "m.keras")
            assert remove_stale_temporaries(".") == []  # a relative folder, as users give
            assert {mine, theirs} <= set(os.listdir(tmp_path))
            with open(writing, "wb") as f:
                f.write(b"done")
        sleeper.kill()
        sleeper.wait()
        model.save(tmp_path / "m.keras")
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "slow.keras"]


# --------------------------------------------------------------------------- child process
def _child(run, operation, pattern, occurrence):
    seen = []

    def kill(name, path):
        if name == operation and re.fullmatch(pattern, path):
            seen.append(path)
            if len(seen) == occurrence:
                os.kill(os.getpid(), signal.SIGKILL)

    with file_operations(run, kill):
        train(make_model(), run, EPOCHS)
    sys.exit(f"never reached occurrence {occurrence} of {operation} on {pattern}: {seen}")


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
