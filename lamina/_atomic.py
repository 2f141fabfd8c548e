"""Atomic, durable file output: write a temporary file beside the target, then rename it over.

Every file lamina saves (`.keras` archives, `.weights.h5` files, callback backups and logs)
goes through `atomic_output`, so at any instant, a crash or a SIGKILL included, the target is
either the previous whole file or the new whole file:

* the temporary sits in the target's folder (a rename is atomic only within one file system)
  and ends with the target's extension, so savers that check the extension accept it;
* it is flushed to disk (`fsync`) before the rename, and the folder after it, so that a power
  cut cannot bring back the old name or an empty new file (POSIX);
* its permissions are those `open(target, "w")` would give, as in Keras: a new file follows
  the umask (and a folder's default ACL), an existing file keeps its permission bits;
* an `atomic_output` opened for a path that is itself a temporary being written (a callback
  wrapping `model.save`) writes straight into it: one temporary and one rename per save.

A process killed during a save cannot remove its temporary. Each temporary's name records
the writer (`.<target>.tmp-<host>-<pid>-<random><extension>`), and each successful save
removes the temporaries in its folder whose writer is known to be gone (see
`remove_stale_temporaries`); a save by a live process is never disturbed.

This module imports nothing from lamina, so that both `lamina.saving` and `lamina.callbacks`
(one layer, which may not import each other) use the same code.
"""

import contextlib
import os
import re
import secrets
import socket
import stat
import threading
import time

# Temporaries this process is writing now. Guarded by _LOCK, which is held from a
# temporary's creation to its registration, so a concurrent clean-up never sees it unlisted.
_ACTIVE = set()
_LOCK = threading.Lock()
# A temporary untouched for this long is abandoned even when its writer cannot be checked
# (another host, or a process id reused since the writer died). No save sits idle that long.
_ABANDONED_AFTER_S = 24 * 3600
_TEMPORARY = re.compile(
    r"^\.(?P<target>.+)\.tmp-(?P<host>[A-Za-z0-9]*)-(?P<pid>[0-9]+)-[0-9a-f]{8}"
    r"(?:\.[A-Za-z0-9]+){0,2}$")


def _host_tag():
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24]


_HOST = _host_tag()


def keep_suffix(path):
    """The extension a saver checks: `.weights.h5` kept whole, otherwise the last one."""
    name = os.path.basename(path)
    if name.endswith(".weights.h5"):
        return ".weights.h5"
    return os.path.splitext(name)[1]


def is_temporary(name):
    """Whether a file name is that of a temporary made by `atomic_output`."""
    return _TEMPORARY.match(os.path.basename(name)) is not None


@contextlib.contextmanager
def atomic_output(filepath, overwrite=True, create_folder=False):
    """Yields a temporary path to write; on success it replaces `filepath` in one rename.

    If the body raises, the temporary is removed and `filepath` is left as it was.

    Args:
        filepath: the file to write.
        overwrite: False refuses to replace an existing `filepath` (FileExistsError).
        create_folder: create `filepath`'s folder if it is missing, instead of raising
            FileNotFoundError.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_output(path) as temporary:
        ...     with open(temporary, "w") as f:
        ...         _ = f.write("all or nothing")
        >>> with open(path) as f:
        ...     print(f.read())
        all or nothing
    """
    filepath = os.fspath(filepath)
    target = os.path.abspath(filepath)
    with _LOCK:
        nested = target in _ACTIVE
    if nested:  # an enclosing atomic_output renames it when done
        yield target
        return
    if not overwrite and os.path.exists(target):
        raise FileExistsError(
            f"{filepath!r} already exists and overwrite=False. Pass overwrite=True to replace "
            "it, or choose another name.")
    folder = os.path.dirname(target)
    if create_folder:
        os.makedirs(folder, exist_ok=True)
    elif not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {filepath!r}: the folder {folder!r} does not exist. Create it "
            "first.")
    temporary, mode = _create_temporary(target)
    try:
        yield temporary
        _sync_file(temporary)
        if stat.S_IMODE(os.stat(temporary).st_mode) != mode:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    finally:
        with _LOCK:
            _ACTIVE.discard(temporary)
    _sync_folder(folder)
    remove_stale_temporaries(folder)


def write_atomically(path, write, create_folder=True):
    """Calls `write(temporary_path)`, then moves the result onto `path` in one step
    (`atomic_output` as a call; creates `path`'s folder if needed)."""
    with atomic_output(path, create_folder=create_folder) as temporary:
        write(temporary)


def write_text_atomically(path, text):
    """Writes `text` to `path` atomically (UTF-8), creating its folder if needed."""
    def write(temporary):
        with open(temporary, "w", encoding="utf-8", newline="") as f:
            f.write(text)

    write_atomically(path, write)


def remove_stale_temporaries(folder):
    """Removes the temporaries in `folder` whose writer is gone; returns their paths.

    A temporary is stale when its writer, named in the file name, is known to be gone: on
    this host, a process id that no longer runs (or this process's own id, for a file it is
    not writing: a process that died and whose id was reused, as in a restarted container).
    One whose writer cannot be checked (written from another host sharing the folder, or on
    Windows) is stale once untouched for a day. A check by process id alone would delete
    the temporary of a live writer on another host, whose rename would then fail; a check by
    age alone would leave a killed run's files (often megabytes each) for a day. A killed
    process that is not yet reaped (a zombie) still counts as running.
    """
    removed = []
    folder = os.path.abspath(folder)  # as the paths of this process's temporaries are kept
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None:
            continue
        path = os.path.join(folder, name)
        try:
            if _is_stale(path, match.group("host"), int(match.group("pid"))):
                os.remove(path)
                removed.append(path)
        except OSError:  # gone already, or not ours to remove: leave it
            continue
    return removed


def _is_stale(path, host, pid):
    if host == _HOST and os.name == "posix":
        if pid == os.getpid():
            with _LOCK:
                return path not in _ACTIVE
        if not _process_runs(pid):
            return True
    return time.time() - os.stat(path).st_mtime > _ABANDONED_AFTER_S


def _process_runs(pid):
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the existence check (POSIX)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def _create_temporary(target):
    """Creates an empty temporary beside `target` and registers it; returns (path, mode).

    `mode` is the permissions the final file gets: an existing target's permission bits,
    or for a new file what the umask makes of 0o666 (the OS applies it when creating the
    temporary, so the umask is never read or changed: `os.umask` is process-wide and not
    thread-safe). The temporary gets at most those permissions while it is written, and the
    owner may write it.
    """
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        mode = None
    folder, name = os.path.split(target)
    # Long names are cut so that the temporary's name stays under the usual 255-byte limit.
    prefix = f".{name[:120]}.tmp-{_HOST}-{os.getpid()}-"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    with _LOCK:
        for _ in range(100):
            temporary = os.path.join(folder, prefix + secrets.token_hex(4) + keep_suffix(name))
            try:
                handle = os.open(temporary, flags, 0o666 if mode is None else mode)
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - 100 collisions of 32 random bits
            raise FileExistsError(f"Could not create a temporary file beside {target!r}.")
        _ACTIVE.add(temporary)
    try:
        try:
            created = stat.S_IMODE(os.fstat(handle).st_mode)
        finally:
            os.close(handle)
        if created & 0o600 != 0o600:  # a read-only target or a umask of 0o2xx: write anyway
            os.chmod(temporary, created | 0o600)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        with _LOCK:
            _ACTIVE.discard(temporary)
        raise
    return temporary, created if mode is None else mode


def _sync_file(path):
    handle = os.open(path, os.O_RDONLY if os.name == "posix" else os.O_RDWR)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _sync_folder(folder):
    """Makes a rename in `folder` durable (POSIX; some file systems refuse: then skip)."""
    if os.name != "posix":
        return
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
