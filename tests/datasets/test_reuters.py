"""reuters.load_data's shuffle, split and index arithmetic on a tiny corpus, against Keras 3."""

import hashlib
import importlib
import inspect
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from _synthetic import Evil, npz_bytes

from lamina.datasets import reuters


def ragged(*newswires):
    array = np.empty(len(newswires), dtype=object)
    for i, newswire in enumerate(newswires):
        array[i] = list(newswire)
    return array


RNG = np.random.default_rng(4)
CORPUS = {"x": ragged(*[RNG.integers(1, 30, RNG.integers(1, 12)).tolist() for _ in range(50)]),
          "y": RNG.integers(0, 46, 50)}
# Two newswires and test_split=0.5: the seeded shuffle of two items with seed 113 is known
# from NumPy, so the expected outputs are written by hand.
TINY = {"x": ragged([1, 2, 3, 4], [5, 1]), "y": np.array([3, 4])}


def lists(x):
    return [list(newswire) for newswire in x]


def test_split_shuffle_and_defaults_by_hand(publish, server, keras_home):
    publish(reuters, "reuters.npz", npz_bytes(**TINY))
    order = np.arange(2)
    np.random.RandomState(113).shuffle(order)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(test_split=0.5)
    shifted = {0: [1, 4, 5, 6, 7], 1: [1, 8, 4]}
    assert lists(x_train) == [shifted[order[0]]] and lists(x_test) == [shifted[order[1]]]
    assert y_train.tolist() == [TINY["y"][order[0]]] and y_test.tolist() == [TINY["y"][order[1]]]
    assert x_train.dtype == object and x_train.shape == (1,) and y_train.dtype == np.int64
    (x_all, y_all), (x_none, y_none) = reuters.load_data(test_split=0.0, num_words=6,
                                                         oov_char=None)
    assert sorted(lists(x_all)) == [[1, 4], [1, 4, 5]] and x_none.shape == y_none.shape == (0,)
    reuters.load_data()
    assert server.count("reuters.npz") == 1
    assert os.path.isfile(keras_home / "datasets" / "reuters.npz")


def keras_reuters_on(folder, monkeypatch):
    keras_reuters = importlib.import_module("keras.src.datasets.reuters")
    monkeypatch.setattr(keras_reuters, "get_file",
                        lambda fname, *args, **kwargs: os.path.join(folder, fname))
    return keras_reuters


def assert_same(ours, theirs):
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert len(a) == len(b) and a.dtype == b.dtype
        if a.dtype == object:
            assert [list(v) for v in a] == [list(v) for v in b]
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [
    {"num_words": 20}, {"num_words": 20, "skip_top": 6}, {"num_words": 40, "maxlen": 8},
    {"num_words": 40, "seed": 3, "test_split": 0.3}, {"num_words": 15, "oov_char": None},
    {"num_words": 40, "start_char": None}, {"num_words": 40, "index_from": 0, "oov_char": 9},
    {"maxlen": 10, "num_words": 25, "skip_top": 4, "seed": 1, "test_split": 0.5},
])
def test_matches_keras(publish, keras_home, keras_reference, monkeypatch, kwargs):
    publish(reuters, "reuters.npz", npz_bytes(**CORPUS))
    keras_reuters = keras_reuters_on(keras_home / "datasets", monkeypatch)
    assert_same(reuters.load_data(**kwargs), keras_reuters.load_data(**kwargs))
    assert reuters.get_label_names() == keras_reuters.get_label_names()
    assert inspect.signature(reuters.load_data) == inspect.signature(keras_reuters.load_data)


def test_num_words_none_keeps_every_word(publish, keras_home, keras_reference, monkeypatch):
    # Keras 3 uses the largest index itself as the bound, turning the rarest word into
    # oov_char; here None keeps every word, as Keras documents (and as imdb does here).
    publish(reuters, "reuters.npz", npz_bytes(**CORPUS))
    largest = max(max(x) for x in CORPUS["x"]) + 3
    ours = reuters.load_data()
    assert 2 not in {w for x in list(ours[0][0]) + list(ours[1][0]) for w in x}
    assert_same(ours, reuters.load_data(num_words=largest + 1))
    keras_reuters = keras_reuters_on(keras_home / "datasets", monkeypatch)
    assert_same(keras_reuters.load_data(), reuters.load_data(num_words=largest))


def test_maxlen_that_drops_everything_is_explained(publish):
    publish(reuters, "reuters.npz", npz_bytes(**TINY))
    with pytest.raises(ValueError, match="maxlen=3"):
        reuters.load_data(maxlen=3)


def test_a_bad_checksum_is_refused_and_deleted(publish, server, keras_home):
    publish(reuters, "reuters.npz", npz_bytes(**TINY))
    server.add("reuters.npz", npz_bytes(x=TINY["x"], y=np.array([0, 0])))  # tampered
    with pytest.raises(ValueError, match="hash"):
        reuters.load_data()
    assert os.listdir(keras_home / "datasets") == []


def test_refuses_an_npz_whose_pickle_would_run_code(publish):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    buffer.write(pickle.dumps(Evil(), protocol=3))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.npy", buffer.getvalue())
    publish(reuters, "reuters.npz", archive.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="system"):
        reuters.load_data()


@pytest.mark.parametrize("kwargs, error, argument", [
    ({"num_words": "10"}, TypeError, "num_words"), ({"num_words": 0}, ValueError, "num_words"),
    ({"skip_top": None}, TypeError, "skip_top"), ({"skip_top": -1}, ValueError, "skip_top"),
    ({"maxlen": 2.5}, TypeError, "maxlen"), ({"test_split": 1.0}, ValueError, "test_split"),
    ({"test_split": "0.2"}, TypeError, "test_split"), ({"seed": True}, TypeError, "seed"),
    ({"oov_char": -2}, ValueError, "oov_char"), ({"index_from": 1.0}, TypeError, "index_from"),
])
def test_bad_arguments_are_refused_before_downloading(server, kwargs, error, argument):
    with pytest.raises(error, match=f"{argument}.*Received: {argument}="):
        reuters.load_data(**kwargs)
    assert server.total_requests() == 0


def test_get_word_index(publish, server, keras_home):
    words = {"the": 1, "of": 2, "said": 3}
    body = json.dumps(words).encode()
    publish(reuters, "reuters_word_index.json", body, hash_attr="WORD_INDEX_HASH",
            algorithm="md5")
    assert reuters.get_word_index() == words
    assert reuters.get_word_index() == words
    assert server.count("reuters_word_index.json") == 1
    assert hashlib.md5(body).hexdigest() == reuters.WORD_INDEX_HASH
