"""Atomic file output: write to a temporary file beside the target, then rename over it.

A crash, a full disk or Ctrl-C during saving leaves the previous good file in place, never a
half-written one.
"""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_output(filepath, overwrite=True):
    """Yields a temporary path; on success it replaces `filepath` in one rename."""
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(
            f"{filepath!r} already exists and overwrite=False. Pass overwrite=True to replace "
            "it, or choose another name.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to {filepath!r}: the folder {directory!r} does not exist. Create it "
            "first.")
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(filepath)}.", suffix=".tmp", dir=directory)
    os.close(handle)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
