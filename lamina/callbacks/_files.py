"""Atomic file writes for callbacks: write a temporary file beside the target, then rename.

A crash mid-write leaves the previous file intact, never a truncated one: `os.replace` is
atomic on POSIX and Windows when both paths are on the same file system, hence the temporary
file in the target's own folder.
"""

import contextlib
import os
import tempfile


def keep_suffix(path):
    """The extension a saver checks: `.weights.h5` kept whole, otherwise the last one."""
    name = os.path.basename(path)
    if name.endswith(".weights.h5"):
        return ".weights.h5"
    return os.path.splitext(name)[1]


def write_atomically(path, write):
    """Calls `write(temporary_path)`, then moves the result onto `path` in one step.

    The temporary file sits in `path`'s folder (created if needed) and has `path`'s
    extension, so savers that check the extension accept it. It is removed on failure.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=f".tmp{keep_suffix(path)}", dir=folder)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def write_text_atomically(path, text):
    """Writes `text` to `path` atomically (UTF-8)."""
    def write(temporary):
        with open(temporary, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    write_atomically(path, write)
