"""`.keras` archives: a zip of `config.json`, `metadata.json` and `model.weights.h5`.

The layout and schemas are Keras 3's, so archives move between lamina and Keras 3 both ways.
Saving writes the whole archive to a temporary file and renames it into place. Loading
validates the archive (entry names, sizes, checksums, JSON) before building anything, and never
imports modules named in the file.

A `.keras` file may come from a stranger, so loading reads only what it needs (config.json,
model.weights.h5, and the `assets/` files of objects that load assets, such as a lookup
layer's `vocabulary.txt`; metadata.json is not used) and bounds what a small file can cost,
whatever its headers claim:

* the whole zip directory is checked from its headers first, without decompressing anything:
  at most `MAX_ENTRIES` entries, no duplicate, absolute or '..' names, entries stored or
  DEFLATE-compressed (other methods decompress without a bound on their output), none
  encrypted, none overlapping another or running past the file, and none expanding more than
  `MAX_COMPRESSION_RATIO` times beyond `RATIO_EXEMPT_BYTES` (a deflate bomb);
* each entry read is streamed into a buffer of its declared size, refused up front past its
  limit (`MAX_JSON_BYTES` for config.json, `MAX_WEIGHTS_BYTES` for the weights), and refused if
  the stream does not end exactly there, so the limits hold for the bytes actually produced;
  zipfile checks the CRC-32 as the stream ends;
* config.json may nest at most `_serialization.MAX_CONFIG_DEPTH` levels;
* `assets/` entries are read only for the object path they name, at most `MAX_ASSETS_BYTES`
  in all, each name checked part by part (no empty, '.', '..' or drive parts, no backslash,
  colon or NUL) and written by lamina into a fresh temporary directory that the object's
  `load_assets(dir)` reads (nothing is extracted by zipfile, no link is followed), as Keras
  calls `save_assets(dir)`/`load_assets(dir)` with `assets/<object path>/`.

No archive that Keras or lamina writes reaches a limit (both store entries uncompressed, and a
re-zipped model compresses far below 100:1 unless it is nearly all zeros). To load a file you
trust that does, raise the module attribute named in the error, e.g.
`lamina.saving.archive.MAX_WEIGHTS_BYTES = 2**40`.
"""

import contextlib
import datetime
import io
import json
import os
import posixpath
import struct
import tempfile
import zipfile
import zlib

import numpy as np

from lamina import _serialization as serialization
from lamina._registry import custom_object_scope
from lamina._version import __version__
from lamina.saving import weights_file
from lamina.saving.atomic import atomic_output
from lamina.saving.object_graph import walk
from lamina.saving.weights_file import _h5py, read_weights, write_weights

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
# The Keras file-format version this writer follows (Keras reads but does not check it).
_FORMAT_KERAS_VERSION = "3.15.1"


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows)
        return 64 * 2**30


# The limits on what loading reads (see the module docstring). Raise one only for a file you
# trust.
MAX_ENTRIES = 10_000
"""Entries an archive may hold: config, metadata, weights, and Keras's assets/ files."""
MAX_JSON_BYTES = 64 * 2**20
"""Uncompressed bytes of config.json: a 1,000-layer functional model's config takes ~1 MiB."""
MAX_WEIGHTS_BYTES = _physical_memory()
"""Uncompressed bytes of model.weights.h5, which is read into memory: this machine's RAM."""
MAX_COMPRESSION_RATIO = 100
"""How many times an entry may expand beyond its compressed size, once over RATIO_EXEMPT_BYTES.

DEFLATE reaches ~1000:1 on zeros; genuine weights re-zipped with it stay under ~10:1, and
Keras and lamina write entries uncompressed (1:1). Keras uses the same ratio."""
RATIO_EXEMPT_BYTES = 16 * 2**20
"""Entries expanding to at most this many bytes may have any compression ratio."""
MAX_ASSETS_BYTES = 2**30
"""Uncompressed bytes of all `assets/` entries together (a 1M-token vocabulary takes ~10 MB)."""
ASSETS = "assets"
# A genuine directory record takes well under this (46 bytes, the name and a few extra fields):
# it bounds the directory that zipfile parses (into Python objects) before any check can run.
_DIRECTORY_BYTES_PER_ENTRY = 1024
_CHUNK_BYTES = 2**20


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
    # Fails before anything is written. In a sharing scope, as Keras saves: an object met twice
    # (a layer at two places of a Sequential) is written with one `shared_object_id`.
    with serialization.ObjectSharingScope():
        config = serialization.serialize_keras_object(model)
    config_json = json.dumps(config, default=_json_default)
    metadata = json.dumps({
        "keras_version": _FORMAT_KERAS_VERSION, "lamina_version": __version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = io.BytesIO()
    with _h5py().File(weights, "w") as h5_file:
        write_weights(model, h5_file)
    assets = _saved_assets(model)
    with atomic_output(filepath, overwrite=overwrite) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA, metadata)
            archive.writestr(CONFIG, config_json)
            archive.writestr(WEIGHTS, weights.getvalue())
            for name, data in assets.items():
                archive.writestr(name, data)


def _asset_dir(path):
    return f"{ASSETS}/{path}" if path else ASSETS


def _saved_assets(model):
    """`{entry name: bytes}` of what each object's `save_assets(dir)` writes, as Keras lays
    it out: `assets/<object path>/<file>`."""
    entries = {}
    for path, obj, _ in walk(model):
        save = getattr(obj, "save_assets", None)
        if save is None:
            continue
        with tempfile.TemporaryDirectory() as directory:
            save(directory)
            for root, _, files in os.walk(directory):
                for file in sorted(files):
                    full = os.path.join(root, file)
                    relative = os.path.relpath(full, directory).replace(os.sep, "/")
                    with open(full, "rb") as handle:
                        entries[f"{_asset_dir(path)}/{relative}"] = handle.read()
    return entries


def _asset_entries(archive, filepath):
    """`{entry name: bytes}` of the archive's `assets/` files, their total size and every
    name part checked before anything is read."""
    infos = [info for info in archive.infolist()
             if info.filename.startswith(ASSETS + "/") and not info.filename.endswith("/")]
    total = sum(info.file_size for info in infos)
    if total > MAX_ASSETS_BYTES:
        raise ValueError(
            f"Refusing to load {filepath!r}: its assets/ entries declare {total:,} bytes "
            f"uncompressed, over MAX_ASSETS_BYTES={MAX_ASSETS_BYTES:,} (a vocabulary takes a "
            "few MB). The file is damaged or hostile. If you trust it, raise "
            "lamina.saving.archive.MAX_ASSETS_BYTES.")
    for info in infos:
        for part in info.filename.split("/"):
            if part in ("", ".", "..") or any(c in part for c in "\\:\x00"):
                raise ValueError(
                    f"Refusing to load {filepath!r}: the asset entry {info.filename!r} has the "
                    f"name part {part!r}; asset names are plain relative paths "
                    "(assets/<object path>/<file>). The file is damaged or hostile.")
    return {info.filename: _read_entry(archive, info.filename, "MAX_ASSETS_BYTES",
                                       filepath).getvalue() for info in infos}


def _load_assets(model, assets):
    """Calls `load_assets(dir)` of each object with assets in the archive, `dir` a fresh
    temporary directory holding the files of its `assets/<path>/` (written here, by name)."""
    if not assets:
        return
    for path, obj, _ in walk(model):
        load = getattr(obj, "load_assets", None)
        if load is None:
            continue
        prefix = _asset_dir(path) + "/"
        own = {name[len(prefix):]: data for name, data in assets.items()
               if name.startswith(prefix)}
        if not own:
            continue
        with tempfile.TemporaryDirectory() as directory:
            for relative, data in own.items():
                target = os.path.join(directory, *relative.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as handle:
                    handle.write(data)
            load(directory)


@contextlib.contextmanager
def _open_archive(filepath):
    """The open `ZipFile` of a `.keras` file, its whole directory checked (see module docstring)."""
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: {filepath!r}.")
    with open(filepath, "rb") as handle:
        if not zipfile.is_zipfile(handle):
            raise ValueError(
                f"{filepath!r} is not a valid .keras archive (not a zip file): it may be "
                "truncated or corrupted, or saved in another format.")
        size = os.fstat(handle.fileno()).st_size
        directory_size = _directory_size(handle)
        if directory_size > MAX_ENTRIES * _DIRECTORY_BYTES_PER_ENTRY:
            raise ValueError(
                f"Refusing to load {filepath!r}: its zip directory takes {directory_size:,} "
                f"bytes, room for more than MAX_ENTRIES={MAX_ENTRIES:,} entries (a .keras "
                "archive holds a few). The file is damaged or hostile. If you trust it, raise "
                "lamina.saving.archive.MAX_ENTRIES.")
        try:
            archive = zipfile.ZipFile(handle, "r")
        except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError) as error:
            raise ValueError(
                f"{filepath!r} is not a readable .keras archive: {error}. It may be truncated "
                "or corrupted; re-save the model or restore the file from a backup.") from error
        with archive:
            _check_directory(archive, filepath, size)
            yield archive


def _directory_size(handle):
    """The size of the zip directory as the end record declares it (zip64's when present),
    read the way zipfile reads it, before zipfile parses the directory."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 22 - 0xFFFF))  # the end record (22 bytes) and a comment
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return 0  # no end record: zipfile refuses the file
    (directory_size,) = struct.unpack_from("<L", tail, at + 12)
    end_record = size - len(tail) + at
    if end_record >= 76:  # room for a zip64 end record (56 bytes) and its locator (20)
        handle.seek(end_record - 76)
        zip64 = handle.read(76)
        if zip64[56:60] == b"PK\x06\x07" and zip64[:4] == b"PK\x06\x06":
            (directory_size,) = struct.unpack_from("<Q", zip64, 40)
    return directory_size


def _check_directory(archive, filepath, size):
    """Checks every entry from its directory record alone: nothing is decompressed."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ValueError(
            f"Refusing to load {filepath!r}: it holds {len(infos):,} entries, more than "
            f"MAX_ENTRIES={MAX_ENTRIES:,} (a .keras archive holds a few). The file is damaged or "
            "hostile. If you trust it, raise lamina.saving.archive.MAX_ENTRIES.")
    seen = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or posixpath.isabs(name) or (
                len(name) > 1 and name[1] == ":"):
            raise ValueError(
                f"Refusing to load {filepath!r}: it contains the entry {name!r}, an absolute "
                "path or one with '..'. A genuine .keras archive never does; the file may "
                "be malicious.")
        if name in seen:
            raise ValueError(
                f"Refusing to load {filepath!r}: it holds the entry {name!r} more than once, so "
                "different readers would see different files. A genuine .keras archive never "
                "does; the file is damaged or hostile.")
        seen.add(name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = zipfile.compressor_names.get(info.compress_type, "unknown")
            raise ValueError(
                f"Refusing to load {filepath!r}: the entry {name!r} uses the compression method "
                f"{info.compress_type} ({method}); lamina reads entries stored uncompressed "
                "(as Keras and lamina write them) or with DEFLATE. Re-save the model, or re-zip "
                "it with DEFLATE.")
        if info.flag_bits & 0x1:
            raise ValueError(
                f"Refusing to load {filepath!r}: the entry {name!r} is encrypted. Keras and "
                "lamina do not encrypt archives; decrypt it (unzip, then zip again).")
        if (info.file_size > RATIO_EXEMPT_BYTES
                and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size):
            raise ValueError(
                f"Refusing to load {filepath!r}: the entry {name!r} declares "
                f"{info.file_size:,} bytes compressed into {info.compress_size:,}, a ratio "
                f"over MAX_COMPRESSION_RATIO={MAX_COMPRESSION_RATIO}:1: a decompression bomb. "
                "Genuine weights never compress that much; if you trust this file, raise "
                "lamina.saving.archive.MAX_COMPRESSION_RATIO.")
    missing = [n for n in (CONFIG, WEIGHTS) if n not in seen]
    if missing:
        raise ValueError(
            f"{filepath!r} is not a complete .keras archive: {missing} missing. Re-save the "
            "model.")
    # Each entry's bytes (a local header of at least 30 bytes, then its compressed data) must
    # end before the next entry and the directory begin: overlapping entries make a few bytes
    # on disk decompress many times (the "overlapped-file" bomb).
    end_of_data = getattr(archive, "start_dir", size)
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for info, following in zip(ordered, ordered[1:] + [None]):
        limit = following.header_offset if following is not None else end_of_data
        if info.header_offset + 30 + info.compress_size > limit:
            where = (f"the entry {following.filename!r}" if following is not None
                     else "the zip directory")
            raise ValueError(
                f"Refusing to load {filepath!r}: the entry {info.filename!r} declares "
                f"{info.compress_size:,} compressed bytes at offset {info.header_offset:,}, which "
                f"run into {where}. Entries of a genuine archive never overlap; the file is "
                "damaged or hostile.")


def _read_entry(archive, name, limit_name, filepath):
    """The bytes of one entry, streamed into a buffer of its declared size, which must not pass
    the module limit `limit_name`; a stream that ends early or goes on is refused."""
    limit = globals()[limit_name]
    info = archive.getinfo(name)
    declared = info.file_size
    if declared > limit:
        raise ValueError(
            f"Refusing to load {filepath!r}: its entry {name!r} declares {declared:,} bytes "
            f"uncompressed, over the size limit {limit_name}={limit:,}. A genuine model's "
            "entry is far smaller, or the file is hostile. If you trust this file, raise "
            f"lamina.saving.archive.{limit_name}.")
    buffer = io.BytesIO()
    if declared:
        buffer.seek(declared - 1)
        buffer.write(b"\0")  # one allocation of the final size, filled in place below
    received = 0
    try:
        with buffer.getbuffer() as view, archive.open(info) as stream:
            while received < declared:
                count = stream.readinto(view[received:received + _CHUNK_BYTES])
                if not count:
                    break
                received += count
            overflow = received == declared and stream.read(1)
    except zipfile.BadZipFile as error:
        problem = ("fails its checksum" if "CRC" in str(error) else f"cannot be read ({error})")
        raise ValueError(
            f"{filepath!r} is corrupted: the entry {name!r} {problem}. Re-save the model or "
            "restore the file from a backup.") from error
    except (zlib.error, EOFError, OSError) as error:
        raise ValueError(
            f"{filepath!r} is corrupted: the entry {name!r} cannot be decompressed ({error}). "
            "Re-save the model or restore the file from a backup.") from error
    if received != declared or overflow:
        found = f"{received:,}" if not overflow else f"more than {declared:,}"
        raise ValueError(
            f"{filepath!r} is corrupted: the entry {name!r} holds {found} bytes where its header "
            f"declares {declared:,}. The file is truncated, damaged or hostile.")
    buffer.seek(0)
    return buffer


def _read_config(archive, filepath):
    data = _read_entry(archive, CONFIG, "MAX_JSON_BYTES", filepath).getvalue()
    source = f"config.json in {filepath!r}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{source} is not valid JSON (not UTF-8: {error}).") from error
    config = serialization.config_from_json(text, source)
    class_name = config.get("class_name") if isinstance(config, dict) else None
    inner = config.get("config") if isinstance(config, dict) else None
    if (not isinstance(class_name, str) or class_name in ("function", "type")
            or class_name.startswith("__") or not isinstance(inner, dict)):
        found = (f"'class_name' is {serialization.short_repr(class_name)} and 'config' is "
                 f"{serialization.short_repr(inner, 100)}" if isinstance(config, dict)
                 else f"it holds a {type(config).__name__}")
        raise ValueError(
            f"Refusing to load {source}: it must describe a model, a dict whose 'class_name' "
            f"names the model's class and whose 'config' is a dict of its arguments; {found}. "
            "The file is damaged or hostile; re-save the model.")
    serialization.check_config(config, root="config.json")
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
        weights = _read_entry(archive, WEIGHTS, "MAX_WEIGHTS_BYTES", filepath)
        assets = _asset_entries(archive, filepath)
    if not compile:
        config = {k: v for k, v in config.items() if k != "compile_config"}
    with custom_object_scope(custom_objects or {}), serialization.ObjectSharingScope():
        model = serialization.deserialize_keras_object(
            config, custom_objects=custom_objects, safe_mode=safe_mode)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    _load_weights_entry(model, weights, filepath, skip_mismatch=False)
    _load_assets(model, assets)
    return model


def _load_weights_entry(model, weights, filepath, skip_mismatch):
    """Loads the bytes of model.weights.h5 (a file object) into `model`, all or nothing."""
    try:
        h5_file = _h5py().File(weights, "r")
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
        weights = _read_entry(archive, WEIGHTS, "MAX_WEIGHTS_BYTES", filepath)
    _load_weights_entry(model, weights, filepath, skip_mismatch)
