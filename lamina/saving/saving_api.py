"""`keras.saving.save_model` / `load_model` / `save_weights` / `load_weights`: Keras 3's
functions, with its arguments, over lamina's `.keras` archives (`archive.py`) and
`.weights.h5` files (`weights_file.py`).

Orbax checkpoint directories (written by `keras.callbacks.OrbaxCheckpoint`) load with
`load_model` and `load_weights`, through `orbax_checkpoint.py`.

Legacy HDF5 files (`.h5`, `.hdf5`: tf.keras 2's `model.save("x.h5")` and `save_weights`) are
read and written as Keras 3 does, through `legacy_h5.py`. What lamina does not write or read is
refused up front with the reason: unzipped model directories (`zipped=False`) and sharded
weights (`max_shard_size`).
Where Keras would ask on the terminal before replacing a file
(`overwrite=False`), lamina raises `FileExistsError`.
"""

import errno
import os
import warnings

from lamina._runtime.traceback_filter import filter_traceback
from lamina.layers.layer import Layer
from lamina.saving import archive, legacy_h5, orbax_checkpoint, weights_file


class MissingFileError(FileNotFoundError, ValueError):
    """A file to load does not exist: a `FileNotFoundError`, and the `ValueError` that Keras
    raises there."""


def _check_model(model, function):
    if not isinstance(model, Layer):
        raise TypeError(
            f"keras.saving.{function}: `model` must be a Keras model (or layer). Received: "
            f"model={_short(model)} of type {type(model).__name__}.")


def _path(filepath, function, expected):
    try:
        return os.fspath(filepath)
    except TypeError:
        raise ValueError(
            f"keras.saving.{function}: `filepath` must be a path (a str or pathlib.Path) to "
            f"{expected}. Received: filepath={_short(filepath)} of type "
            f"{type(filepath).__name__}.") from None


@filter_traceback
def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves a model (architecture, weights, optimizer state) to a `.keras` archive, as
    `model.save(filepath)` does; the file loads in Keras 3 too. The archive is written to a
    temporary file and renamed into place, so a crash never leaves half a file.

    Args:
        model: the model (or layer) to save.
        filepath: a path ending in `.keras`, or in `.h5` / `.hdf5` for the legacy HDF5
            format of tf.keras 2 (written as Keras 3 writes it, with its warning).
        overwrite: whether an existing file may be replaced (False raises
            `FileExistsError`).
        zipped: True or None (a zipped archive, the only form lamina writes).
        **kwargs: Keras's `include_optimizer` (`.h5` only: whether the optimizer's
            configuration and state are saved) and deprecated `save_format`.

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
        >>> lamina.saving.save_model(model, path)
        >>> lamina.saving.load_model(path).count_params()
        4
    """
    _check_model(model, "save_model")
    filepath = _path(filepath, "save_model", "a .keras file")
    include_optimizer = kwargs.pop("include_optimizer", True)  # legacy .h5 files only
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise ValueError(
            "keras.saving.save_model: the following argument(s) are not supported: "
            f"{sorted(kwargs)}. It takes model, filepath, overwrite and zipped.")
    if save_format:
        if not filepath.endswith((".keras", ".h5", ".hdf5")):
            raise ValueError(
                "keras.saving.save_model: the `save_format` argument is deprecated in Keras 3 "
                "and the format comes from the file name: pass a filepath ending in `.keras`. "
                f"Received: save_format={save_format!r}, filepath={filepath!r}.")
        warnings.warn(
            "The `save_format` argument is deprecated in Keras 3; the format comes from the "
            f"file name. Remove it. Received: save_format={save_format!r}", stacklevel=2)
    if zipped is False:
        raise ValueError(
            "keras.saving.save_model: zipped=False (an unzipped model folder, Keras's layout "
            "for the Hugging Face Hub) is not supported by lamina, which writes zipped `.keras` "
            f"archives. Received: zipped=False, filepath={filepath!r}. Leave zipped=None.")
    if filepath.endswith((".h5", ".hdf5")):
        legacy_h5.save_model(model, filepath, overwrite=overwrite,
                             include_optimizer=include_optimizer)
        return
    archive.save_model(model, filepath, overwrite=overwrite)


@filter_traceback
def load_model(filepath, custom_objects=None, compile=True, safe_mode=None):
    """Loads a model saved by `model.save()` / `save_model` (by lamina or by Keras 3).

    Loading reads only `config.json` and `model.weights.h5` from the archive, within bounds
    (see `lamina.saving.archive`), and builds only objects the file may name (see
    `keras.saving`).

    Args:
        filepath: a path to a `.keras` archive, to a legacy `.h5` / `.hdf5` model file
            (tf.keras 2's `model.save("x.h5")`), or to an Orbax checkpoint directory written
            by `OrbaxCheckpoint` (its latest step is loaded).
        custom_objects: `{name: class or function}` for custom parts of the model.
        compile: whether to compile the model with its saved training configuration.
        safe_mode: True refuses Python bytecode stored in the file (Lambda layers); False
            allows it; None (the default) is safe unless
            `keras.config.enable_unsafe_deserialization()` was called.

    Differs from Keras 3: an explicit `safe_mode=True` wins over
    `keras.config.enable_unsafe_deserialization()` (in Keras the global switch overrides the
    argument), so code that asks for a safe load always gets one.

    Examples:
        >>> lamina.saving.load_model("model.tflite")
        Traceback (most recent call last):
        ValueError: keras.saving.load_model: file format not supported: ...
    """
    filepath = _path(filepath, "load_model", "a .keras file")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            "keras.saving.load_model: `custom_objects` must be a dict of {name: class or "
            f"function}}. Received: custom_objects={_short(custom_objects)} of type "
            f"{type(custom_objects).__name__}.")
    if orbax_checkpoint.is_checkpoint(filepath):
        return orbax_checkpoint.load_model(filepath, custom_objects=custom_objects,
                                           compile=compile, safe_mode=safe_mode)
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        return legacy_h5.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                    safe_mode=safe_mode)
    if not filepath.endswith(".keras"):
        hint = (" It holds weights only: build the model, then call "
                "model.load_weights(filepath)." if filepath.endswith(".weights.h5") else
                " lamina reads Keras 3 `.keras` archives, legacy `.h5` model files and Orbax "
                "checkpoint directories; SavedModel folders are not supported (export the "
                "model to `.keras` from TensorFlow).")
        raise ValueError(
            f"keras.saving.load_model: file format not supported: filepath={filepath!r}."
            + hint)
    if not os.path.exists(filepath):
        raise MissingFileError(
            errno.ENOENT, "keras.saving.load_model: file not found (check the path; the file "
            "must be an accessible `.keras` zip file)", filepath)
    return archive.load_model(filepath, custom_objects=custom_objects, compile=compile,
                              safe_mode=safe_mode)


@filter_traceback
def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """Saves the weights (and the optimizer's state) to a `.weights.h5` file in Keras 3's
    layout, as `model.save_weights(filepath)` does (atomically).

    Args:
        model: the model (or layer) whose weights to save.
        filepath: a path ending in `.weights.h5`.
        overwrite: whether an existing file may be replaced (False raises
            `FileExistsError`).
        max_shard_size: Keras's sharded weights; not supported by lamina (must be None).

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
        >>> lamina.saving.save_weights(model, path)
        >>> lamina.saving.load_weights(model, path)
    """
    _check_model(model, "save_weights")
    filepath = _path(filepath, "save_weights", "a .weights.h5 file")
    if kwargs:
        raise ValueError(
            f"keras.saving.save_weights: invalid keyword arguments: {sorted(kwargs)}. It takes "
            "model, filepath, overwrite and max_shard_size.")
    if max_shard_size is not None:
        raise ValueError(
            "keras.saving.save_weights: sharded weights files (max_shard_size) are not "
            f"supported by lamina. Received: max_shard_size={max_shard_size!r}. Leave it None "
            "to write one `.weights.h5` file.")
    if not filepath.endswith(".weights.h5"):
        raise ValueError(
            "keras.saving.save_weights: the filename must end in `.weights.h5`. Received: "
            f"filepath={filepath!r}")
    weights_file.save_weights(model, filepath, overwrite=overwrite)


@filter_traceback
def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights into a built model from a `.weights.h5` file or a `.keras` archive, as
    `model.load_weights(filepath)` does: all or nothing, every mismatch listed by variable
    path (or skipped with a warning when `skip_mismatch=True`).

    Args:
        model: the model (or layer) to load into.
        filepath: a `.weights.h5` file, a `.keras` archive, a legacy `.h5` / `.hdf5` file
            (tf.keras 2's weights or whole model: weights matched by layer order, or by
            layer name with `by_name=True`), or an Orbax checkpoint directory written by
            `OrbaxCheckpoint` (its latest step, or the step folder given: weights, optimizer
            and metric state).
        skip_mismatch: whether weights whose shape does not match are skipped (with a
            warning).
        **kwargs: `by_name` (legacy `.h5` files only).

    Examples:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> lamina.saving.load_weights(model, "weights.txt")
        Traceback (most recent call last):
        ValueError: keras.saving.load_weights: file format not supported: ...
    """
    _check_model(model, "load_weights")
    filepath = _path(filepath, "load_weights", "a .weights.h5 or .keras file")
    by_name = kwargs.pop("by_name", None)
    if kwargs.pop("objects_to_skip", None) is not None:
        raise ValueError(
            "keras.saving.load_weights: `objects_to_skip` is not supported by lamina (Keras "
            "uses it for sharded `.weights.h5` files). Received: objects_to_skip=... Remove it.")
    if kwargs:
        raise ValueError(
            f"keras.saving.load_weights: invalid keyword arguments: {sorted(kwargs)}. It "
            "takes model, filepath, skip_mismatch and by_name (legacy `.h5` files).")
    legacy = filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5")
    if by_name is not None and not legacy:
        raise ValueError(
            "keras.saving.load_weights: `by_name` only applies to legacy '.h5' or '.hdf5' "
            f"files (tf.keras 2's layout). Received: by_name={by_name!r}, "
            f"filepath={filepath!r}. Remove it: other files match weights by their path.")
    if legacy:
        if not os.path.exists(filepath):
            raise MissingFileError(errno.ENOENT, "keras.saving.load_weights: file not found",
                                   filepath)
        return legacy_h5.load_weights(model, filepath, by_name=bool(by_name),
                                      skip_mismatch=skip_mismatch)
    if orbax_checkpoint.is_checkpoint(filepath):
        return orbax_checkpoint.load_weights(model, filepath, skip_mismatch=skip_mismatch)
    if not filepath.endswith((".weights.h5", ".keras")):
        raise ValueError(
            f"keras.saving.load_weights: file format not supported: filepath={filepath!r}. "
            "lamina reads `.weights.h5` files, `.keras` archives, legacy `.h5` files and Orbax "
            "checkpoint directories.")
    if not os.path.exists(filepath):
        raise MissingFileError(errno.ENOENT, "keras.saving.load_weights: file not found",
                               filepath)
    archive.load_weights(model, filepath, skip_mismatch=skip_mismatch)


def _short(value, limit=80):
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit - 15]}...({len(text)} chars)"
