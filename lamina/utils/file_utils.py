"""`keras.utils.get_file`: download a file once into a cache, verify it, optionally extract it.

The cache layout, file names and hash rules are Keras 3's, so a `~/.keras` cache filled by Keras
is used as is, and the other way round.

A download never lands half-written: the bytes go to a hidden `.part` file beside the target,
which is renamed over the target only when the byte count matches `Content-Length` and the hash
matches `file_hash`. A truncated or corrupted download is deleted and reported with the URL and
both hashes; a failed download says which URL failed, why, and where to put the file by hand.
"""

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import PurePosixPath, PureWindowsPath

_CHUNK_BYTES = 1 << 16
# Downloads at least this large (or of unknown size) show a tqdm progress bar.
_PROGRESS_MIN_BYTES = 1 << 20
# Seconds a connection attempt or a single read may stall before the download is abandoned.
_TIMEOUT_S = 60
_HASH_ALGORITHMS = ("auto", "sha256", "md5")


class DownloadError(OSError):
    """A file could not be fetched: the URL failed or the response was cut short."""


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads a file from a URL unless it is already in the cache; returns its local path.

    The file lands in `cache_dir/cache_subdir/fname`, where `cache_dir` defaults to
    `$KERAS_HOME` when that environment variable is set (Keras's variable, kept for
    compatibility) and to `~/.keras` otherwise. A cached file is used without any network
    request; when `file_hash` is given it is checked first and downloaded again on a mismatch.

    Args:
        fname: Local name of the file. `None` takes the last part of the URL. With
            `extract=True`, a name without an extension names the extraction folder (the
            archive is kept as `fname + "_archive"`); a name with one names the archive, and
            the folder is `<name before the first dot>_extracted`.
        origin: URL of the file (`https://`, `http://` or `file://`).
        untar: Deprecated alias of `extract=True, archive_format="tar"`.
        md5_hash: Deprecated alias of `file_hash` with `hash_algorithm="md5"`.
        file_hash: Expected sha256 (64 hex digits) or md5 (32) of the file.
        cache_subdir: Folder under `cache_dir`; an absolute path is used as is.
        hash_algorithm: `"auto"` (sha256 for a 64-digit hash, md5 otherwise), `"sha256"` or
            `"md5"`.
        extract: Whether to extract a tar or zip archive; the extraction folder is returned.
        archive_format: `"auto"` (tar, then zip), `"tar"`, `"zip"`, a list of those, or `None`.
        cache_dir: Base folder of the cache, instead of `$KERAS_HOME` or `~/.keras`.
        force_download: Download again even when a cached file is present and valid.

    Returns:
        The path of the downloaded file, or of the extraction folder when extracting.

    Raises:
        DownloadError: (an `OSError`) the URL could not be fetched or the response was
            truncated; the message names the URL, the reason and the path where a copy of the
            file placed by hand will be picked up.
        ValueError: the downloaded file does not match `file_hash`; it has been deleted.

    Downloading runs no code, but extracting an archive or unpickling a file from the network
    can be dangerous: pass `file_hash` for anything you did not create yourself. Archive
    members with absolute paths, `..` components, links leaving the folder or device files are
    refused before anything is extracted.

    Examples:
        >>> path = get_file(origin="https://example.com/data.csv",
        ...                 file_hash="9f86d081884c7d65...")            # doctest: +SKIP
    """
    if origin is None:
        raise ValueError(
            "get_file() needs `origin`, the URL of the file to download. Received: origin=None")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in _HASH_ALGORITHMS:
        raise ValueError(
            f"Unknown hash_algorithm {hash_algorithm!r}: expected one of "
            f"{', '.join(_HASH_ALGORITHMS)}.")
    algorithm = _resolve_algorithm(hash_algorithm, file_hash)
    if file_hash is not None:
        file_hash = str(file_hash).strip().lower()

    datadir = _cache_folder(cache_dir, cache_subdir)
    provided_fname = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Cannot take a file name from the URL {origin!r}. Pass `fname`, the name to "
                "save the file under.")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(
            "`fname` is a file name, not a path. To choose the folder, pass `cache_dir` (and "
            f"`cache_subdir`). Received: fname={fname!r}")

    extract = bool(extract or untar)
    if untar:
        archive_format = "tar"
    extraction_dir = None
    if extract:
        # Keras 3's naming, kept so that caches are interchangeable.
        if provided_fname and "." in fname:
            download_target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            download_target = os.path.join(datadir, f"{fname}_archive")
    else:
        download_target = os.path.join(datadir, fname)

    stale = None  # (actual hash) of a cached file that failed verification
    if force_download or not os.path.exists(download_target):
        download = True
    elif file_hash is not None:
        actual = hash_file(download_target, algorithm)
        download = actual != file_hash
        if download:
            stale = actual
            print(f"The file at {download_target} does not match the expected {algorithm} hash "
                  f"(found {actual}, expected {file_hash}); downloading it again.")
    else:
        download = False

    if download:
        _download(origin, download_target, file_hash, algorithm, extraction_dir, stale)

    if not extract:
        return download_target
    stale_extraction = download or not _extraction_is_current(extraction_dir, download_target)
    if stale_extraction and not _extract_archive(download_target, extraction_dir, archive_format):
        warnings.warn(
            f"Could not extract {download_target}: it is not a {archive_format!r} archive. "
            "Check `archive_format`, or pass extract=False to keep the file as it is.",
            stacklevel=2)
    return extraction_dir


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The hex digest of a file: `algorithm` is `"sha256"`, `"md5"` or a `hashlib` object.

    Examples:
        >>> hash_file("/path/to/file.zip")                           # doctest: +SKIP
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    hasher = hashlib.new(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as file:
        for chunk in iter(lambda: file.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether the file's sha256 or md5 (`"auto"`: chosen from the hash's length) is `file_hash`."""
    algorithm = _resolve_algorithm(algorithm, file_hash)
    return hash_file(fpath, algorithm, chunk_size) == str(file_hash).strip().lower()


def _resolve_algorithm(hash_algorithm, file_hash):
    if hash_algorithm == "sha256":
        return "sha256"
    if hash_algorithm == "md5":
        return "md5"
    # Keras's "auto": a 64-digit hash is sha256, anything else md5.
    if file_hash is not None and len(str(file_hash).strip()) == 64:
        return "sha256"
    return "md5" if file_hash is not None else "sha256"


def _cache_folder(cache_dir, cache_subdir):
    """Creates and returns the cache folder; only the implicit `~/.keras` falls back to /tmp."""
    if cache_dir is not None:
        source = "cache_dir"
    elif os.environ.get("KERAS_HOME"):
        cache_dir, source = os.environ["KERAS_HOME"], "the KERAS_HOME environment variable"
    else:
        cache_dir, source = os.path.join("~", ".keras"), None
    datadir = os.path.join(os.path.expanduser(os.fspath(cache_dir)), os.fspath(cache_subdir))
    try:
        os.makedirs(datadir, exist_ok=True)
        writable = os.access(datadir, os.W_OK)
    except OSError:
        writable = False
    if writable:
        return datadir
    if source is not None:
        raise PermissionError(
            f"Cannot write to the cache folder {datadir!r} (from {source}). Choose a writable "
            "folder with `cache_dir=` or the KERAS_HOME environment variable.")
    fallback = os.path.join(tempfile.gettempdir(), ".keras", os.fspath(cache_subdir))
    os.makedirs(fallback, exist_ok=True)
    warnings.warn(
        f"{datadir!r} is not writable; caching downloads in {fallback!r} instead. Set "
        "KERAS_HOME or pass `cache_dir=` to choose the folder.", stacklevel=3)
    return fallback


def _placement_hint(target, file_hash, algorithm, extraction_dir):
    hint = f"save it as {target}"
    if file_hash is not None:
        hint += f" (its {algorithm} hash must be {file_hash})"
    if extraction_dir is not None:
        hint += f"; it will be extracted into {extraction_dir}"
    return hint + ". Nothing is downloaded while a valid file is there."


def _download(origin, target, file_hash, algorithm, extraction_dir, stale):
    """Streams `origin` into a `.part` file, verifies it, and renames it onto `target`."""
    print(f"Downloading data from {origin}")
    hint = _placement_hint(target, file_hash, algorithm, extraction_dir)
    handle, partial = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".part", dir=os.path.dirname(target))
    hasher = hashlib.new(algorithm)
    try:
        try:
            with os.fdopen(handle, "wb") as out:
                received, expected = _stream(origin, out, hasher, os.path.basename(target))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            message = (f"Could not download {origin}: {_describe(error)}. If this machine is "
                       "offline or cannot reach that address, download the file another way "
                       f"and {hint}")
            if stale is not None:
                message += (f" The file already at {target} was not used: its {algorithm} hash "
                            f"is {stale}.")
            raise DownloadError(message) from error
        if expected is not None and received != expected:
            raise DownloadError(
                f"The download of {origin} was truncated: received {received} of {expected} "
                "bytes. The partial file was deleted. Run again to retry, or download the file "
                f"another way and {hint}")
        actual = hasher.hexdigest()
        if file_hash is not None and actual != file_hash:
            raise ValueError(
                f"The file downloaded from {origin} is incomplete or corrupted: its {algorithm} "
                f"hash is {actual}, expected {file_hash}. It was deleted, not cached. Run again "
                f"to retry, or download the file another way and {hint}")
        os.replace(partial, target)
    except BaseException:
        try:
            os.remove(partial)
        except OSError:
            pass
        raise


def _stream(origin, out, hasher, label):
    """Copies the response body into `out`; returns (bytes received, Content-Length or None)."""
    with urllib.request.urlopen(origin, timeout=_TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.strip().isdigit() else None
        bar = _progress_bar(expected, label)
        received = 0
        try:
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                hasher.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    return received, expected


def _describe(error):
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} ({error.reason})"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    # Resets, timeouts, chunked bodies cut short, a full disk.
    return f"{type(error).__name__}: {error}"


def _progress_bar(total, label):
    if total is not None and total < _PROGRESS_MIN_BYTES:
        return None
    try:
        # Imported here: tqdm is only needed for large downloads, not to import lamina.utils.
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                file=sys.stderr)


def _extraction_is_current(extraction_dir, archive):
    # A folder filled after the archive was written came from this archive; an archive placed
    # or replaced later is extracted again.
    return (os.path.isdir(extraction_dir)
            and os.path.getmtime(extraction_dir) >= os.path.getmtime(archive))


def _extract_archive(file_path, path, archive_format="auto"):
    """Extracts a tar or zip archive into `path`; returns False when no format matches.

    Every member is checked before anything is written, and the archive is unpacked into a
    hidden folder that replaces `path` in one rename, so `path` is either complete or absent.
    """
    if not archive_format:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(
                f"Unknown archive_format {fmt!r}: expected 'auto', 'tar', 'zip', a list of "
                "those, or None.")
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                _extract_into(archive, path, file_path, _check_tar_members)
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _extract_into(archive, path, file_path, _check_zip_members)
            return True
    return False


def _extract_into(archive, path, file_path, check):
    check(archive, file_path)
    parent = os.path.dirname(os.path.abspath(path))
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".extracting",
                               dir=parent)
    try:
        if isinstance(archive, tarfile.TarFile) and hasattr(tarfile, "data_filter"):
            # The "data" filter (Python 3.11.4+) re-checks each member as it is written.
            archive.extractall(staging, filter="data")
        else:
            archive.extractall(staging)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _unsafe_name(name):
    """Why an archive member name could write outside the folder, or None when it is safe."""
    if not name:
        return "an empty name"
    windows = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or windows.drive or PurePosixPath(name).is_absolute():
        return "an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "a '..' component"
    return None


def _refuse(file_path, member, why):
    raise ValueError(
        f"Refusing to extract {file_path}: the member {member!r} has {why}, which could write "
        "outside the extraction folder. Nothing was extracted. Do not use this archive unless "
        "you trust its source; it was left in place for inspection.")


def _check_tar_members(archive, file_path):
    for member in archive.getmembers():
        why = _unsafe_name(member.name)
        if why is None and member.issym():
            target = member.linkname
            joined = PurePosixPath(member.name).parent / target
            if _unsafe_name(target) == "an absolute path" or _escapes(joined):
                why = f"a symbolic link to {target!r} outside the folder"
        elif why is None and member.islnk():
            if _unsafe_name(member.linkname) is not None:
                why = f"a hard link to {member.linkname!r} outside the folder"
        elif why is None and (member.ischr() or member.isblk() or member.isfifo()):
            why = "a device or pipe type"
        if why is not None:
            _refuse(file_path, member.name, why)


def _escapes(relative):
    """Whether a relative POSIX path climbs above its starting folder at any point."""
    depth = 0
    for part in relative.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def _check_zip_members(archive, file_path):
    for info in archive.infolist():
        why = _unsafe_name(info.filename)
        if why is not None:
            _refuse(file_path, info.filename, why)
