"""`keras.utils.get_file` against a local HTTP server on 127.0.0.1: caching, checksums,
truncated and failed downloads, extraction and its path-traversal guard."""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from lamina.utils import file_utils, get_file
from lamina.utils.file_utils import DownloadError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "datasets"))
from _http_server import LocalServer, refused_url

BODY = b"lamina test payload\n" * 50
SHA256 = hashlib.sha256(BODY).hexdigest()
MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return tmp_path / "cache"


def tar_bytes(members):
    """A .tar.gz of `members`: name -> bytes, or name -> ("symlink", target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def read(path):
    with open(path, "rb") as file:
        return file.read()


def leftovers(folder):
    """Hidden temporary files or folders left behind by a download or an extraction."""
    return [name for name in os.listdir(folder) if name.startswith(".")]


# ----------------------------------------------------------------------------- caching
def test_downloads_once_then_serves_from_cache(server, cache):
    url = server.add("data.bin", BODY)
    path = get_file("data.bin", origin=url, file_hash=SHA256, cache_dir=cache)
    assert path == os.path.join(cache, "datasets", "data.bin")
    assert read(path) == BODY
    assert get_file("data.bin", origin=url, file_hash=SHA256, cache_dir=cache) == path
    assert server.count("data.bin") == 1
    assert leftovers(os.path.dirname(path)) == []


def test_force_download_fetches_again(server, cache):
    url = server.add("data.bin", BODY)
    get_file("data.bin", origin=url, cache_dir=cache)
    get_file("data.bin", origin=url, cache_dir=cache, force_download=True)
    assert server.count("data.bin") == 2


def test_name_defaults_to_the_last_part_of_the_url(server, cache):
    url = server.add("folder/named.txt", BODY)
    assert os.path.basename(get_file(origin=url, cache_dir=cache)) == "named.txt"


def test_keras_home_and_the_default_home(server, tmp_path, monkeypatch):
    url = server.add("data.bin", BODY)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert get_file("data.bin", origin=url) == str(tmp_path / "kh" / "datasets" / "data.bin")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = get_file("data.bin", origin=url, cache_subdir="models")
    assert path == str(tmp_path / "home" / ".keras" / "models" / "data.bin")


def test_absolute_cache_subdir_is_used_as_is(server, cache, tmp_path):
    url = server.add("data.bin", BODY)
    path = get_file("data.bin", origin=url, cache_dir=cache, cache_subdir=str(tmp_path / "abs"))
    assert path == str(tmp_path / "abs" / "data.bin")


def test_file_urls_work(tmp_path, cache):
    source = tmp_path / "source.bin"
    source.write_bytes(BODY)
    path = get_file("copy.bin", origin=source.as_uri(), file_hash=SHA256, cache_dir=cache)
    assert read(path) == BODY


def test_argument_errors(cache):
    with pytest.raises(ValueError, match="origin"):
        get_file("data.bin", cache_dir=cache)
    with pytest.raises(ValueError, match="not a path"):
        get_file(os.path.join("sub", "data.bin"), origin="http://127.0.0.1:1/x", cache_dir=cache)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("d", origin="http://127.0.0.1:1/x", hash_algorithm="sha1", cache_dir=cache)
    with pytest.raises(ValueError, match="fname"):
        get_file(origin="http://127.0.0.1:1/", cache_dir=cache)


# ----------------------------------------------------------------------------- checksums
def test_md5_hashes_and_the_deprecated_md5_argument(server, cache):
    url = server.add("data.bin", BODY)
    assert get_file("a.bin", origin=url, file_hash=MD5, cache_dir=cache)
    assert get_file("b.bin", origin=url, md5_hash=MD5, cache_dir=cache)
    assert get_file("c.bin", origin=url, file_hash=MD5.upper(), hash_algorithm="md5",
                    cache_dir=cache)


@pytest.mark.parametrize("expected", ["0" * 64, "0" * 32], ids=["sha256", "md5"])
def test_checksum_failure_deletes_the_download_and_reports_both_hashes(server, cache, expected):
    url = server.add("data.bin", BODY)
    with pytest.raises(ValueError) as info:
        get_file("data.bin", origin=url, file_hash=expected, cache_dir=cache)
    actual = SHA256 if len(expected) == 64 else MD5
    message = str(info.value)
    assert expected in message and actual in message and url in message
    assert "deleted" in message
    folder = os.path.join(cache, "datasets")
    assert os.listdir(folder) == []


def test_cached_file_with_the_wrong_hash_is_downloaded_again(server, cache, capsys):
    url = server.add("data.bin", BODY)
    folder = cache / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"stale")
    path = get_file("data.bin", origin=url, file_hash=SHA256, cache_dir=cache)
    assert read(path) == BODY
    assert server.count("data.bin") == 1
    assert hashlib.sha256(b"stale").hexdigest() in capsys.readouterr().out


def test_cached_file_without_a_hash_is_trusted(server, cache):
    url = server.add("data.bin", BODY)
    folder = cache / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"mine")
    assert read(get_file("data.bin", origin=url, cache_dir=cache)) == b"mine"
    assert server.total_requests() == 0


def test_hash_file_and_validate_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(BODY)
    assert file_utils.hash_file(path) == SHA256
    assert file_utils.hash_file(path, "md5") == MD5
    assert file_utils.validate_file(path, SHA256) and file_utils.validate_file(path, MD5)
    assert not file_utils.validate_file(path, "1" * 64)


# ----------------------------------------------------------------------------- failures
def test_truncated_download_is_detected_and_deleted(server, cache):
    url = server.add("data.bin", BODY)
    server.truncate.add("/data.bin")
    with pytest.raises(DownloadError) as info:
        get_file("data.bin", origin=url, cache_dir=cache)
    message = str(info.value)
    assert "truncated" in message and url in message
    assert f"{len(BODY) // 2} of {len(BODY)} bytes" in message
    assert os.listdir(cache / "datasets") == []


def test_offline_error_names_the_url_and_where_to_put_the_file(cache):
    url = refused_url("data.bin")
    target = os.path.join(cache, "datasets", "data.bin")
    with pytest.raises(DownloadError) as info:
        get_file("data.bin", origin=url, file_hash=SHA256, cache_dir=cache)
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert url in message and target in message and SHA256 in message
    assert "refused" in message.lower()
    assert os.listdir(os.path.dirname(target)) == []
    # The file placed by hand where the message says is used without any network access.
    with open(target, "wb") as file:
        file.write(BODY)
    assert get_file("data.bin", origin=url, file_hash=SHA256, cache_dir=cache) == target


def test_offline_error_mentions_a_cached_file_that_failed_verification(cache):
    folder = cache / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"stale")
    with pytest.raises(DownloadError) as info:
        get_file("data.bin", origin=refused_url(), file_hash=SHA256, cache_dir=cache)
    assert hashlib.sha256(b"stale").hexdigest() in str(info.value)
    assert (folder / "data.bin").read_bytes() == b"stale"


def test_http_errors_are_reported_with_the_status(server, cache):
    url = server.base + "missing.bin"
    with pytest.raises(DownloadError, match="404") as info:
        get_file("missing.bin", origin=url, cache_dir=cache)
    assert url in str(info.value)
    assert os.listdir(cache / "datasets") == []


# ----------------------------------------------------------------------------- extraction
def test_extracts_tar_once_with_keras_names(server, cache):
    url = server.add("pack.tar.gz", tar_bytes({"pack/a.txt": b"A", "pack/sub/b.txt": b"B"}))
    folder = get_file("pack", origin=url, extract=True, cache_dir=cache)
    assert folder == os.path.join(cache, "datasets", "pack")
    assert os.path.isfile(os.path.join(cache, "datasets", "pack_archive"))
    assert read(os.path.join(folder, "pack", "sub", "b.txt")) == b"B"
    marker = os.path.join(folder, "pack", "a.txt")
    with open(marker, "wb") as file:
        file.write(b"edited")
    # Cached: no request and no re-extraction.
    assert get_file("pack", origin=url, extract=True, cache_dir=cache) == folder
    assert server.count("pack.tar.gz") == 1 and read(marker) == b"edited"
    # A fresh download replaces the extracted folder.
    get_file("pack", origin=url, extract=True, cache_dir=cache, force_download=True)
    assert read(marker) == b"A"
    assert leftovers(os.path.join(cache, "datasets")) == []


def test_extract_names_with_an_extension_and_without_fname(server, cache):
    url = server.add("pack.tar.gz", tar_bytes({"a.txt": b"A"}))
    folder = get_file("pack.tar.gz", origin=url, extract=True, cache_dir=cache)
    assert folder == os.path.join(cache, "datasets", "pack_extracted")
    assert os.path.isfile(os.path.join(cache, "datasets", "pack.tar.gz"))
    folder = get_file(origin=url, untar=True, cache_dir=cache)
    assert folder == os.path.join(cache, "datasets", "pack.tar.gz")
    assert os.path.isfile(os.path.join(folder, "a.txt"))


def test_extracts_zip(server, cache):
    url = server.add("pack.zip", zip_bytes({"d/a.txt": b"A"}))
    folder = get_file("z", origin=url, extract=True, cache_dir=cache)
    assert read(os.path.join(folder, "d", "a.txt")) == b"A"
    with pytest.warns(UserWarning, match="Could not extract"):
        get_file("z2", origin=url, extract=True, archive_format="tar", cache_dir=cache)


@pytest.mark.parametrize("members", [
    {"ok.txt": b"1", "../evil.txt": b"x"},
    {"/tmp/lamina_evil.txt": b"x"},
    {"a/../../evil.txt": b"x"},
    {"link": ("symlink", "/etc/passwd")},
    {"dir/link": ("symlink", "../../outside")},
], ids=["dotdot", "absolute", "nested-dotdot", "symlink-absolute", "symlink-escape"])
def test_tar_path_traversal_is_refused(server, cache, tmp_path, members):
    url = server.add("evil.tar.gz", tar_bytes(members))
    with pytest.raises(ValueError, match="Refusing to extract") as info:
        get_file("evil", origin=url, extract=True, cache_dir=cache)
    assert next(iter(name for name in members if name != "ok.txt")) in str(info.value)
    datasets = os.path.join(cache, "datasets")
    assert sorted(os.listdir(datasets)) == ["evil_archive"]
    assert not os.path.exists(os.path.join(cache, "evil.txt"))
    assert not os.path.exists("/tmp/lamina_evil.txt")


def test_zip_path_traversal_is_refused(server, cache):
    url = server.add("evil.zip", zip_bytes({"../evil.txt": b"x"}))
    with pytest.raises(ValueError, match=r"\.\./evil\.txt"):
        get_file("evil", origin=url, extract=True, cache_dir=cache)
    assert sorted(os.listdir(os.path.join(cache, "datasets"))) == ["evil_archive"]


# ----------------------------------------------------------------------------- progress
def test_progress_bar_only_for_large_downloads(server, cache, capsys, monkeypatch):
    url = server.add("data.bin", BODY)
    get_file("small.bin", origin=url, cache_dir=cache)
    captured = capsys.readouterr()
    assert f"Downloading data from {url}" in captured.out and captured.err == ""
    monkeypatch.setattr(file_utils, "_PROGRESS_MIN_BYTES", 100)
    get_file("large.bin", origin=url, cache_dir=cache)
    assert "large.bin" in capsys.readouterr().err


def test_importing_get_file_does_not_import_tqdm():
    code = ("import sys, lamina.utils.file_utils, lamina.datasets; "
            "assert 'tqdm' not in sys.modules, 'tqdm imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------- Keras caches
def test_caches_are_interchangeable_with_keras(tmp_path, cache):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras_file_utils = pytest.importorskip("keras.src.utils.file_utils")
    source = tmp_path / "pack.tar.gz"
    source.write_bytes(tar_bytes({"inner/a.txt": b"A"}))
    offline = refused_url("pack.tar.gz")
    for i, kwargs in enumerate([{"fname": "plain.bin"}, {"fname": "pack", "extract": True},
                                {"fname": "pack.tar.gz", "extract": True}, {"extract": True}]):
        folder = cache / str(i)
        folder.mkdir(parents=True)  # Keras falls back to /tmp/.keras when it does not exist.
        keras_path = keras_file_utils.get_file(origin=source.as_uri(), cache_dir=str(folder),
                                               **kwargs)
        # Filled by Keras; lamina finds it without a network request.
        assert get_file(origin=offline, cache_dir=folder, **kwargs) == keras_path
