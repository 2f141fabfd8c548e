"""`.keras` archives: a zip of `config.json`, `metadata.json` and `model.weights.h5`.

The layout and schemas are Keras 3's, so archives move between lamina and Keras 3 both ways.
Saving writes the whole archive to a temporary file and renames it into place. Loading
validates the archive (entry names, checksums, JSON) before building anything, and never imports
modules named in the file in safe mode.
"""

import datetime
import io
import json
import os
import posixpath
import zipfile

import numpy as np

from lamina import _serialization as serialization
from lamina._registry import custom_object_scope
from lamina._version import __version__
from lamina.saving import weights_file
from lamina.saving.atomic import atomic_output
from lamina.saving.weights_file import _h5py, read_weights, write_weights

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
# The Keras file-format version this writer follows (Keras reads but does not check it).
_FORMAT_KERAS_VERSION = "3.15.1"


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(
        f"Cannot write a value of type {type(value).__name__} into config.json: configs hold "
        "plain values. Make get_config() return numbers, strings, lists and dicts.")


def save_model(model, filepath, overwrite=True, zipped=True, **kwargs):
    """Saves architecture, weights and optimizer state to a `.keras` archive (atomically)."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving: lamina writes the Keras 3 `.keras` format. "
            f"Received: filepath={filepath!r}. Add a `.keras` extension (or use "
            "save_weights('...weights.h5') for weights only).")
    if kwargs:
        raise TypeError(f"save() got unexpected arguments {sorted(kwargs)}.")
    config = serialization.serialize_keras_object(model)  # fails before anything is written
    config_json = json.dumps(config, default=_json_default)
    metadata = json.dumps({
        "keras_version": _FORMAT_KERAS_VERSION, "lamina_version": __version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = io.BytesIO()
    with _h5py().File(weights, "w") as h5_file:
        write_weights(model, h5_file)
    with atomic_output(filepath, overwrite=overwrite) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA, metadata)
            archive.writestr(CONFIG, config_json)
            archive.writestr(WEIGHTS, weights.getvalue())


def _open_archive(filepath):
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: {filepath!r}.")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(
            f"{filepath!r} is not a valid .keras archive (not a zip file): it may be truncated "
            "or corrupted, or saved in another format.")
    archive = zipfile.ZipFile(filepath, "r")
    try:
        names = archive.namelist()
        for name in names:
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or posixpath.isabs(name) or (
                    len(name) > 1 and name[1] == ":"):
                raise ValueError(
                    f"Refusing to load {filepath!r}: it contains the entry {name!r}, an absolute "
                    "path or one with '..'. A genuine .keras archive never does; the file may "
                    "be malicious.")
        missing = [n for n in (CONFIG, WEIGHTS) if n not in names]
        if missing:
            raise ValueError(
                f"{filepath!r} is not a complete .keras archive: {missing} missing. Re-save the "
                "model.")
        bad = archive.testzip()
        if bad is not None:
            raise ValueError(
                f"{filepath!r} is corrupted: the entry {bad!r} fails its checksum. Re-save the "
                "model or restore the file from a backup.")
    except zipfile.BadZipFile as error:
        archive.close()
        raise ValueError(f"{filepath!r} is not a readable .keras archive: {error}.") from error
    except BaseException:
        archive.close()
        raise
    return archive


def _read_config(archive, filepath):
    try:
        config = json.loads(archive.read(CONFIG).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{filepath!r}: config.json is not valid JSON ({error}).") from error
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"{filepath!r}: config.json does not describe a model (no 'class_name').")
    return config


def load_model(filepath, custom_objects=None, compile=True, safe_mode=None):
    """Loads a model saved with `model.save()` (by lamina or by Keras 3).

    Args:
        filepath: a `.keras` archive.
        custom_objects: `{name: class or function}` for custom parts of the model.
        compile: whether to compile the model with its saved training configuration.
        safe_mode: True refuses anything that would run code stored in the file (Lambda
            bytecode), whatever else is set. False allows it. None (the default) is safe unless
            the process called `keras.config.enable_unsafe_deserialization()`. In every mode
            the file can name only modeling objects (layers, losses, ...) and your registered
            or given custom objects, and no module it names is imported.

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
        >>> model.save(path)
        >>> loaded = lamina.models.load_model(path)
        >>> bool((loaded(np.ones((2, 3))) == model(np.ones((2, 3)))).all())
        True
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        raise ValueError(
            f"{filepath!r} holds weights only. Build the model, then call "
            "model.load_weights(filepath).")
    if not filepath.endswith(".keras"):
        raise ValueError(
            f"load_model reads `.keras` archives. Received: filepath={filepath!r}.")
    with _open_archive(filepath) as archive:
        config = _read_config(archive, filepath)
        if not compile:
            config = {k: v for k, v in config.items() if k != "compile_config"}
        with custom_object_scope(custom_objects or {}):
            model = serialization.deserialize_keras_object(
                config, custom_objects=custom_objects, safe_mode=safe_mode)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)
        _load_weights_entry(model, archive, filepath, skip_mismatch=False)
    return model


def _load_weights_entry(model, archive, filepath, skip_mismatch):
    data = io.BytesIO(archive.read(WEIGHTS))
    try:
        h5_file = _h5py().File(data, "r")
    except OSError as error:
        raise ValueError(
            f"{filepath!r}: model.weights.h5 is not a readable HDF5 file ({error}).") from error
    with h5_file:
        read_weights(model, h5_file, skip_mismatch=skip_mismatch,
                     what=f"weights in {os.path.basename(filepath)}")


def load_weights(model, filepath, skip_mismatch=False):
    """`model.load_weights(...)`: from a `.keras` archive's weights entry, or from a
    `.weights.h5` file (all or nothing, either way)."""
    filepath = str(filepath)
    if not filepath.endswith(".keras"):
        return weights_file.load_weights(model, filepath, skip_mismatch=skip_mismatch)
    with _open_archive(filepath) as archive:
        _load_weights_entry(model, archive, filepath, skip_mismatch)
