"""cifar100 on a tiny archive served from 127.0.0.1: both label modes, against Keras 3."""

import importlib
import inspect
import os
import pickle

import numpy as np
import pytest
from _synthetic import Evil, cifar100_batch, tar_gz

from lamina._runtime import config
from lamina.datasets import cifar100

RNG = np.random.default_rng(3)


def archive(n_train=4, n_test=3, extra=None, test_batch=None, protocol=2):
    """Images whose pixel (n, c, h, w) is known, and their fine and coarse labels."""
    parts = {}
    members = {}
    for split, n in (("train", n_train), ("test", n_test)):
        data = RNG.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        fine = RNG.integers(0, 100, n, dtype=np.uint8)
        coarse = fine // 5
        parts[split] = (data, fine, coarse)
        members[f"cifar-100-python/{split}"] = cifar100_batch(data, fine, coarse, protocol)
    if test_batch is not None:
        members["cifar-100-python/test"] = test_batch
    members["cifar-100-python/meta"] = pickle.dumps({b"fine_label_names": [b"apple"]}, 2)
    members.update(extra or {})
    return tar_gz(members), parts


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_loads_each_label_mode_and_extracts_once(publish, server, keras_home, label_mode):
    body, parts = archive()
    publish(cifar100, "cifar-100-python.tar.gz", body)
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode)
    assert x_train.shape == (4, 32, 32, 3) and y_train.shape == (4, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert y_train.dtype == y_test.dtype == np.int64  # as Keras returns them
    column = 1 if label_mode == "fine" else 2
    for (x, y), split in (((x_train, y_train), "train"), ((x_test, y_test), "test")):
        np.testing.assert_array_equal(x, parts[split][0].transpose(0, 2, 3, 1))
        np.testing.assert_array_equal(y[:, 0], parts[split][column])
    assert x_train[1, 5, 7, 2] == parts["train"][0][1, 2, 5, 7]
    assert sorted(os.listdir(keras_home / "datasets")) == [
        "cifar-100-python-target", "cifar-100-python-target_archive"]
    cifar100.load_data("coarse" if label_mode == "fine" else "fine")
    assert server.count("cifar-100-python.tar.gz") == 1


def test_channels_first(publish, monkeypatch):
    body, parts = archive()
    publish(cifar100, "cifar-100-python.tar.gz", body)
    monkeypatch.setattr(config, "_IMAGE_DATA_FORMAT", "channels_first")
    (x_train, _), (x_test, _) = cifar100.load_data()
    np.testing.assert_array_equal(x_train, parts["train"][0])
    assert x_test.shape == (3, 3, 32, 32)


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_matches_keras(publish, keras_home, keras_reference, monkeypatch, label_mode):
    # Protocol 3: Keras's unpickler refuses the `_codecs.encode` that protocol 2 uses for
    # bytes written by Python 3 (the real files, written by Python 2, need neither).
    body, _ = archive(protocol=3)
    publish(cifar100, "cifar-100-python.tar.gz", body)
    ours = cifar100.load_data(label_mode)
    keras_cifar100 = importlib.import_module("keras.src.datasets.cifar100")
    monkeypatch.setattr(keras_cifar100, "get_file",
                        lambda fname=None, *a, **k: str(keras_home / "datasets" / fname))
    theirs = keras_cifar100.load_data(label_mode)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert inspect.signature(cifar100.load_data) == inspect.signature(keras_cifar100.load_data)


def test_a_bad_checksum_is_refused_and_nothing_is_kept(publish, server, keras_home):
    body, _ = archive()
    publish(cifar100, "cifar-100-python.tar.gz", body)
    server.add("cifar-100-python.tar.gz", archive()[0])  # another archive than the hash's
    with pytest.raises(ValueError, match="hash"):
        cifar100.load_data()
    assert os.listdir(keras_home / "datasets") == []


def test_members_escaping_the_folder_are_refused(publish, keras_home):
    body, _ = archive(extra={"../escaped.txt": b"outside"})
    publish(cifar100, "cifar-100-python.tar.gz", body)
    with pytest.raises(ValueError, match="outside the extraction folder"):
        cifar100.load_data()
    assert not (keras_home / "escaped.txt").exists()
    assert not (keras_home / "datasets" / "cifar-100-python-target").exists()


def test_refuses_pickles_that_would_run_code(publish):
    evil = pickle.dumps({b"data": Evil(), b"fine_labels": [0]}, protocol=2)
    body, _ = archive(test_batch=evil)
    publish(cifar100, "cifar-100-python.tar.gz", body)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        cifar100.load_data()


@pytest.mark.parametrize("label_mode", ["medium", "Fine", None, 1])
def test_refuses_unknown_label_modes_before_downloading(server, label_mode):
    with pytest.raises(ValueError, match=f"label_mode.*Received: label_mode={label_mode!r}"):
        cifar100.load_data(label_mode)
    assert server.total_requests() == 0
