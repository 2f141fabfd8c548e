"""Fixtures for the dataset loaders: a local HTTP server, a fresh KERAS_HOME per test, and a
`publish` helper that serves a synthetic file and points the loader's URL and hash at it."""

import hashlib
import os
import sys

import pytest

from lamina.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

sys.path.insert(0, os.path.dirname(__file__))
from _http_server import LocalServer, refused_url

LOADERS = (mnist, fashion_mnist, cifar10, cifar100, boston_housing, california_housing, imdb,
           reuters)


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    """An empty cache per test; every loader's URL points where nothing listens until a test
    publishes a file, so no test can reach the internet."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    offline = refused_url("")
    for module in LOADERS:
        monkeypatch.setattr(module, "ORIGIN_BASE", offline)
    return home


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.stop()


@pytest.fixture
def publish(server, monkeypatch):
    """publish(module, name, body, hash_attr=...) serves `body` as `name` for `module`."""

    def publish(module, name, body, hash_attr="FILE_HASH", algorithm="sha256"):
        server.add(name, body)
        monkeypatch.setattr(module, "ORIGIN_BASE", server.base)
        digest = hashlib.new(algorithm, body).hexdigest()
        if hash_attr == "FILE_HASHES":
            monkeypatch.setitem(module.FILE_HASHES, name, digest)
        elif hash_attr is not None:
            monkeypatch.setattr(module, hash_attr, digest)
        return digest

    return publish


@pytest.fixture
def keras_reference():
    """Keras 3's dataset modules (JAX backend), to compare outputs on the same files."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras.src.datasets")
