"""mnist, fashion_mnist and cifar10 on tiny files served from 127.0.0.1."""

import gzip
import importlib
import os
import pickle

import numpy as np
import pytest
from _synthetic import Evil, cifar_batch, idx_gz, npz_bytes, tar_gz

from lamina._runtime import config
from lamina.datasets import cifar10, fashion_mnist, mnist
from lamina.utils.file_utils import DownloadError

RNG = np.random.default_rng(0)


def digits(n, size=28):
    return RNG.integers(0, 256, (n, size, size), dtype=np.uint8)


def labels(n):
    return RNG.integers(0, 10, n, dtype=np.uint8)


MNIST = {"x_train": digits(6), "y_train": labels(6), "x_test": digits(3), "y_test": labels(3)}


def patch_keras_get_file(monkeypatch, module, folder):
    """Makes a Keras dataset module read our cached files instead of downloading."""
    monkeypatch.setattr(module, "get_file",
                        lambda fname=None, *args, **kwargs: os.path.join(folder, fname))


def assert_same(ours, theirs):
    """`(x_train, y_train), (x_test, y_test)` equal in values, dtypes and shapes."""
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- mnist
def test_mnist_loads_and_caches(publish, server, keras_home):
    publish(mnist, "mnist.npz", npz_bytes(**MNIST))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, key in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                     (y_test, "y_test")]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, MNIST[key])
    assert x_train.shape == (6, 28, 28) and y_test.shape == (3,)
    assert os.path.isfile(keras_home / "datasets" / "mnist.npz")
    mnist.load_data()
    assert server.count("mnist.npz") == 1
    mnist.load_data(path="other.npz")
    assert os.path.isfile(keras_home / "datasets" / "other.npz")


def test_mnist_matches_keras(publish, keras_home, keras_reference, monkeypatch):
    publish(mnist, "mnist.npz", npz_bytes(**MNIST))
    ours = mnist.load_data()
    keras_mnist = importlib.import_module("keras.src.datasets.mnist")
    patch_keras_get_file(monkeypatch, keras_mnist, keras_home / "datasets")
    assert_same(ours, keras_mnist.load_data())


def test_mnist_checksum_failure_is_deleted_and_never_loaded(publish, server, keras_home):
    publish(mnist, "mnist.npz", npz_bytes(**MNIST))
    server.add("mnist.npz", npz_bytes(**{**MNIST, "y_test": labels(3) + 1}))  # tampered
    with pytest.raises(ValueError, match="hash") as info:
        mnist.load_data()
    assert mnist.FILE_HASH in str(info.value) and server.base + "mnist.npz" in str(info.value)
    assert os.listdir(keras_home / "datasets") == []


def test_mnist_truncated_download_is_deleted(publish, server, keras_home):
    publish(mnist, "mnist.npz", npz_bytes(**MNIST))
    server.truncate.add("/mnist.npz")
    with pytest.raises(DownloadError, match="truncated"):
        mnist.load_data()
    assert os.listdir(keras_home / "datasets") == []


def test_mnist_offline_says_where_to_put_the_file(keras_home, monkeypatch):
    body = npz_bytes(**MNIST)
    import hashlib

    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256(body).hexdigest())
    target = str(keras_home / "datasets" / "mnist.npz")
    with pytest.raises(OSError) as info:
        mnist.load_data()
    assert mnist.ORIGIN_BASE + "mnist.npz" in str(info.value) and target in str(info.value)
    with open(target, "wb") as file:
        file.write(body)
    np.testing.assert_array_equal(mnist.load_data()[0][0], MNIST["x_train"])


# ----------------------------------------------------------------------------- fashion_mnist
FASHION = {"train-labels-idx1-ubyte.gz": labels(5), "train-images-idx3-ubyte.gz": digits(5),
           "t10k-labels-idx1-ubyte.gz": labels(2), "t10k-images-idx3-ubyte.gz": digits(2)}


def publish_fashion(publish, hashes=True):
    for name, array in FASHION.items():
        publish(fashion_mnist, name, idx_gz(array), hash_attr="FILE_HASHES" if hashes else None)


@pytest.mark.parametrize("hashes", [False, True], ids=["keras-no-hashes", "with-hashes"])
def test_fashion_mnist_loads_and_caches(publish, server, keras_home, hashes):
    publish_fashion(publish, hashes)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, FASHION["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_train, FASHION["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(x_test, FASHION["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, FASHION["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == y_test.dtype == np.uint8 and x_test.shape == (2, 28, 28)
    assert sorted(os.listdir(keras_home / "datasets" / "fashion-mnist")) == sorted(FASHION)
    fashion_mnist.load_data()
    assert server.total_requests() == 4


def test_fashion_mnist_matches_keras(publish, keras_home, keras_reference, monkeypatch):
    publish_fashion(publish)
    ours = fashion_mnist.load_data()
    keras_fashion = importlib.import_module("keras.src.datasets.fashion_mnist")
    patch_keras_get_file(monkeypatch, keras_fashion, keras_home / "datasets" / "fashion-mnist")
    assert_same(ours, keras_fashion.load_data())


@pytest.mark.parametrize("damage", ["truncated-gzip", "not-idx", "short-idx"])
def test_fashion_mnist_corrupt_cache_is_deleted_not_loaded(publish, keras_home, damage):
    publish_fashion(publish, hashes=False)
    fashion_mnist.load_data()
    path = keras_home / "datasets" / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    good = path.read_bytes()
    path.write_bytes({"truncated-gzip": good[: len(good) // 2],
                      "not-idx": gzip.compress(b"\x00" * 100),
                      "short-idx": gzip.compress(gzip.decompress(good)[:-10])}[damage])
    with pytest.raises(ValueError, match="deleted"):
        fashion_mnist.load_data()
    assert not path.exists()
    fashion_mnist.load_data()  # downloaded again


# ----------------------------------------------------------------------------- cifar10
def cifar_archive(n_train=2, n_test=3, test_batch=None):
    """Images whose pixel (n, c, h, w) is known, so the channels_last transpose can be checked."""
    batches, expected = {}, {"x": [], "y": []}
    for i in range(1, 6):
        data = RNG.integers(0, 256, (n_train, 3, 32, 32), dtype=np.uint8)
        y = labels(n_train)
        batches[f"cifar-10-batches-py/data_batch_{i}"] = cifar_batch(data, y)
        expected["x"].append(data), expected["y"].append(y)
    test_data = RNG.integers(0, 256, (n_test, 3, 32, 32), dtype=np.uint8)
    test_y = labels(n_test)
    batches["cifar-10-batches-py/test_batch"] = test_batch or cifar_batch(test_data, test_y)
    batches["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": [b"cat"]}, 2)
    return tar_gz(batches), (np.concatenate(expected["x"]), np.concatenate(expected["y"]),
                             test_data, test_y)


def test_cifar10_loads_extracts_once_and_caches(publish, server, keras_home):
    body, (x_train, y_train, x_test, y_test) = cifar_archive()
    publish(cifar10, "cifar-10-python.tar.gz", body)
    (xa, ya), (xb, yb) = cifar10.load_data()
    assert xa.shape == (10, 32, 32, 3) and ya.shape == (10, 1)
    assert xb.shape == (3, 32, 32, 3) and yb.shape == (3, 1)
    assert {a.dtype for a in (xa, ya, xb, yb)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(xa, x_train.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(xb, x_test.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(ya[:, 0], y_train)
    np.testing.assert_array_equal(yb[:, 0], y_test)
    assert xa[1, 5, 7, 2] == x_train[1, 2, 5, 7]
    cache = keras_home / "datasets"
    assert sorted(os.listdir(cache)) == ["cifar-10-batches-py-target",
                                         "cifar-10-batches-py-target_archive"]
    cifar10.load_data()
    assert server.count("cifar-10-python.tar.gz") == 1


def test_cifar10_channels_first(publish, monkeypatch):
    body, (x_train, _, _, _) = cifar_archive()
    publish(cifar10, "cifar-10-python.tar.gz", body)
    monkeypatch.setattr(config, "_IMAGE_DATA_FORMAT", "channels_first")
    (xa, _), (xb, _) = cifar10.load_data()
    assert xa.shape == (10, 3, 32, 32) and xb.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(xa, x_train)


def test_cifar10_refuses_pickles_that_would_run_code(publish):
    evil = pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2)
    body, _ = cifar_archive(test_batch=evil)
    publish(cifar10, "cifar-10-python.tar.gz", body)
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|nt.system"):
        cifar10.load_data()
