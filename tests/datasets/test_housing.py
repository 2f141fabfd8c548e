"""boston_housing and california_housing: Keras's seeded shuffle and split, on tiny npz files."""

import importlib
import os

import numpy as np
import pytest
from _synthetic import npz_bytes

from lamina.datasets import boston_housing, california_housing

RNG = np.random.default_rng(1)
BOSTON = {"x": RNG.normal(size=(21, 13)), "y": RNG.uniform(10, 50, 21)}
CALIFORNIA = {"x": RNG.normal(size=(650, 8)).astype(np.float32),
                  "y": RNG.uniform(25e3, 5e5, 650).astype(np.float32)}


def reference_split(x, y, test_split, seed):
    """Keras's recipe written out: RandomState(seed).shuffle, then cut at int(n*(1-split))."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    cut = int(len(x) * (1 - test_split))
    return (x[order][:cut], y[order][:cut]), (x[order][cut:], y[order][cut:])


def assert_same(ours, theirs):
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("test_split, seed", [(0.2, 113), (0.5, 7), (0.0, 113)])
def test_boston_split(publish, server, test_split, seed):
    publish(boston_housing, "boston_housing.npz", npz_bytes(**BOSTON))
    ours = boston_housing.load_data(test_split=test_split, seed=seed)
    assert_same(ours, reference_split(BOSTON["x"], BOSTON["y"], test_split, seed))
    assert ours[0][0].shape == (int(21 * (1 - test_split)), 13)
    assert server.count("boston_housing.npz") == 1


def test_boston_and_california_match_keras(publish, keras_home, keras_reference, monkeypatch):
    publish(boston_housing, "boston_housing.npz", npz_bytes(**BOSTON))
    publish(california_housing, "california_housing.npz", npz_bytes(**CALIFORNIA))
    folder = keras_home / "datasets"
    for name in ("boston_housing", "california_housing"):
        module = importlib.import_module(f"keras.src.datasets.{name}")
        monkeypatch.setattr(module, "get_file",
                            lambda fname, *args, **kwargs: os.path.join(folder, fname))
    keras_boston = importlib.import_module("keras.src.datasets.boston_housing")
    keras_california = importlib.import_module("keras.src.datasets.california_housing")
    assert_same(boston_housing.load_data(test_split=0.3, seed=5),
                keras_boston.load_data(test_split=0.3, seed=5))
    for version in ("large", "small"):
        assert_same(california_housing.load_data(version=version),
                    keras_california.load_data(version=version))


def test_california_versions(publish):
    publish(california_housing, "california_housing.npz", npz_bytes(**CALIFORNIA))
    (x_train, y_train), (x_test, _) = california_housing.load_data()
    assert x_train.shape == (520, 8) and x_test.shape == (130, 8) and y_train.dtype == np.float32
    (x_train, _), (x_test, _) = california_housing.load_data(version="small", path="small.npz")
    assert x_train.shape == (480, 8) and x_test.shape == (120, 8)
    assert set(map(tuple, x_train)) | set(map(tuple, x_test)) == set(map(tuple, CALIFORNIA["x"][:600]))


def test_bad_arguments_fail_before_any_download(server):
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="test_split"):
        california_housing.load_data(test_split=-0.1)
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")
    assert server.total_requests() == 0
