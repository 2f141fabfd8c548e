"""imdb.load_data's index arithmetic on a tiny corpus, by hand and against Keras 3."""

import importlib
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from _synthetic import Evil, npz_bytes

from lamina.datasets import imdb


def ragged(*reviews):
    array = np.empty(len(reviews), dtype=object)
    for i, review in enumerate(reviews):
        array[i] = list(review)
    return array


# One review per split: the seeded shuffle of a single item is the identity, so the expected
# outputs below are written by hand.
TINY = {"x_train": ragged([1, 2, 3, 4]), "y_train": np.array([1]),
            "x_test": ragged([5, 1]), "y_test": np.array([0])}

RNG = np.random.default_rng(2)
CORPUS = {
    "x_train": ragged(*[RNG.integers(1, 30, RNG.integers(1, 12)).tolist() for _ in range(40)]),
    "y_train": RNG.integers(0, 2, 40),
    "x_test": ragged(*[RNG.integers(1, 30, RNG.integers(1, 12)).tolist() for _ in range(25)]),
    "y_test": RNG.integers(0, 2, 25)}


def lists(x):
    return [list(review) for review in x]


@pytest.mark.parametrize("kwargs, train, test", [
    ({}, [[1, 4, 5, 6, 7]], [[1, 8, 4]]),
    ({"num_words": 6}, [[1, 4, 5, 2, 2]], [[1, 2, 4]]),
    ({"num_words": 6, "oov_char": None}, [[1, 4, 5]], [[1, 4]]),
    # skip_top compares the shifted indices, so it also turns start_char into oov_char.
    ({"skip_top": 5}, [[2, 2, 5, 6, 7]], [[2, 8, 2]]),
    ({"start_char": None, "index_from": 0}, [[1, 2, 3, 4]], [[5, 1]]),
    ({"start_char": None, "index_from": 10}, [[11, 12, 13, 14]], [[15, 11]]),
    ({"start_char": 7, "index_from": 1}, [[7, 2, 3, 4, 5]], [[7, 6, 2]]),
    ({"maxlen": 6}, [[1, 4, 5, 6, 7]], [[1, 8, 4]]),
])
def test_index_arithmetic_by_hand(publish, kwargs, train, test):
    publish(imdb, "imdb.npz", npz_bytes(**TINY))
    (x_train, y_train), (x_test, y_test) = imdb.load_data(**kwargs)
    assert lists(x_train) == train and lists(x_test) == test
    assert x_train.dtype == object and x_train.shape == (1,)
    assert y_train.tolist() == [1] and y_test.tolist() == [0]


def test_maxlen_drops_long_reviews_and_refuses_an_empty_split(publish):
    publish(imdb, "imdb.npz", npz_bytes(**TINY))
    with pytest.raises(ValueError, match="maxlen=5"):
        imdb.load_data(maxlen=5)  # the training review has 5 indices with start_char


def keras_imdb_on(folder, monkeypatch):
    keras_imdb = importlib.import_module("keras.src.datasets.imdb")
    monkeypatch.setattr(keras_imdb, "get_file",
                        lambda fname, *args, **kwargs: os.path.join(folder, fname))
    return keras_imdb


def assert_same(ours, theirs):
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.shape == b.shape and a.dtype == b.dtype
        if a.dtype == object:
            assert [list(v) for v in a] == [list(v) for v in b]
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [
    {"num_words": 20}, {"num_words": 20, "skip_top": 6}, {"num_words": 40, "maxlen": 8},
    {"num_words": 40, "seed": 3}, {"num_words": 15, "oov_char": None},
    {"num_words": 40, "start_char": None}, {"num_words": 40, "index_from": 0, "oov_char": 9},
    {"maxlen": 10, "num_words": 25, "skip_top": 4, "seed": 1},
])
def test_matches_keras(publish, keras_home, keras_reference, monkeypatch, kwargs):
    publish(imdb, "imdb.npz", npz_bytes(**CORPUS))
    keras_imdb = keras_imdb_on(keras_home / "datasets", monkeypatch)
    assert_same(imdb.load_data(**kwargs), keras_imdb.load_data(**kwargs))


def test_num_words_none_keeps_every_word(publish, keras_home, keras_reference, monkeypatch):
    # Keras 3 uses the largest index itself as the bound, which turns the rarest word into
    # oov_char; here None keeps every word, as Keras documents.
    publish(imdb, "imdb.npz", npz_bytes(**CORPUS))
    (x_train, _), (x_test, _) = ours = imdb.load_data()
    largest = max(max(max(r) for r in CORPUS[k]) for k in ("x_train", "x_test")) + 3
    assert max(max(r) for r in list(x_train) + list(x_test)) == largest
    assert 2 not in {w for r in list(x_train) + list(x_test) for w in r}
    assert_same(ours, imdb.load_data(num_words=largest + 1))
    keras_imdb = keras_imdb_on(keras_home / "datasets", monkeypatch)
    assert_same(keras_imdb.load_data(), imdb.load_data(num_words=largest))


def test_equal_length_reviews_stay_a_1d_object_array(publish):
    publish(imdb, "imdb.npz", npz_bytes(x_train=ragged([1, 2], [3, 4]), y_train=np.array([0, 1]),
                                        x_test=ragged([5, 6]), y_test=np.array([1])))
    (x_train, _), (x_test, _) = imdb.load_data()
    assert x_train.shape == (2,) and x_test.shape == (1,) and isinstance(x_train[0], list)


def test_caches_and_rejects_unknown_arguments(publish, server):
    publish(imdb, "imdb.npz", npz_bytes(**TINY))
    imdb.load_data()
    imdb.load_data(num_words=5)
    assert server.count("imdb.npz") == 1
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(nb_words=100)


def test_refuses_an_npz_whose_pickle_would_run_code(publish):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    buffer.write(pickle.dumps(Evil(), protocol=3))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x_train.npy", buffer.getvalue())
    publish(imdb, "imdb.npz", archive.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="system"):
        imdb.load_data()


def test_get_word_index(publish, server, keras_home):
    words = {"the": 1, "and": 2, "a": 3, "film": 4}
    publish(imdb, "imdb_word_index.json", json.dumps(words).encode(),
            hash_attr="WORD_INDEX_HASH", algorithm="md5")
    assert imdb.get_word_index() == words
    assert imdb.get_word_index() == words
    assert server.count("imdb_word_index.json") == 1
    assert os.path.isfile(keras_home / "datasets" / "imdb_word_index.json")
