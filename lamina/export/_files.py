"""Writing export artifacts without ever leaving a half-written one, nor deleting what the user
did not write.

An existing file is replaced in one rename (`_atomic.atomic_output`), as Keras overwrites an
existing artifact. An archive (a folder) is written whole into a temporary folder beside the
target and then moved in; a folder already at the target is replaced only when it is an
archive lamina wrote (or empty), since removing a folder of other files would destroy them.
"""

import json
import os
import shutil
import tempfile

from lamina._atomic import atomic_output

MANIFEST = "manifest.json"
ARCHIVE_FORMAT = "lamina.export.stablehlo"


def _is_archive(path):
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as file:
            return json.load(file).get("format") == ARCHIVE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_folder_target(filepath):
    """Raises before any work if `filepath` cannot take an archive (see the module docstring)."""
    if os.path.isdir(filepath):
        if os.listdir(filepath) and not _is_archive(filepath):
            raise FileExistsError(
                f"Cannot write the export archive to '{filepath}': it is a folder holding "
                f"files that are not a lamina export archive (no {MANIFEST} of one), and "
                "writing there would delete them. Choose a new path, or remove the folder.")
    elif os.path.exists(filepath):
        raise FileExistsError(
            f"Cannot write the export archive to '{filepath}': it is a file, and an archive "
            "is a folder. Choose another path, or remove the file.")


def write_folder(filepath, write):
    """Calls `write(folder)` on a temporary folder, then puts that folder at `filepath`.

    If `write` raises, nothing at `filepath` changes.
    """
    filepath = os.path.abspath(os.fspath(filepath))
    check_folder_target(filepath)
    parent = os.path.dirname(filepath)
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(filepath)
    staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        write(staging)
        check_folder_target(filepath)  # still true after the (possibly long) export
        if os.path.isdir(filepath):
            retired = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rename(filepath, os.path.join(retired, name))
            os.rename(staging, filepath)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, filepath)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_file_target(filepath):
    """Raises before any work if `filepath` is a folder (a file there is replaced)."""
    if os.path.isdir(filepath):
        raise IsADirectoryError(
            f"Cannot write the exported file to '{filepath}': it is a folder. Give a file "
            "path, e.g. 'model.onnx'.")


def write_file(filepath, data):
    """Writes the bytes `data` to `filepath` in one rename (replacing an existing file)."""
    filepath = os.fspath(filepath)
    check_file_target(filepath)
    with atomic_output(filepath, create_folder=True) as temporary:
        with open(temporary, "wb") as file:
            file.write(data)
