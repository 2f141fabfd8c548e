"""`keras.utils.split_dataset` on in-memory data: Keras's size rules and shuffle order, the
structure of the data kept, PyDatasets read in full, bad input named."""

import random
import re

import numpy as np
import pytest

import lamina
from lamina import utils

# Keras 3.15 shuffles with `random.seed(seed); random.shuffle(samples)`: for 10 samples and
# seed 1 the order is this (computed with Python's `random`, as Keras calls it).
SEED_1_ORDER = [6, 8, 9, 7, 5, 3, 0, 4, 1, 2]


def test_seed_1_order_is_pythons():
    random.seed(1)
    order = list(range(10))
    random.shuffle(order)
    assert order == SEED_1_ORDER


def test_array_split_by_fraction_and_count():
    data = np.arange(20).reshape(10, 2)
    left, right = utils.split_dataset(data, left_size=0.8)
    np.testing.assert_array_equal(left, data[:8])
    np.testing.assert_array_equal(right, data[8:])
    left, right = utils.split_dataset(data, right_size=3)
    assert left.shape == (7, 2) and right.shape == (3, 2)
    # Sizes that add up to less than the data leave the middle out, as in Keras.
    left, right = utils.split_dataset(data, left_size=2, right_size=3)
    np.testing.assert_array_equal(left, data[:2])
    np.testing.assert_array_equal(right, data[7:])
    left, right = utils.split_dataset(data, left_size=0.25)  # round(2.5) == 2
    assert len(left) == 2 and len(right) == 8


def test_shuffle_follows_keras_order_and_leaves_global_random_alone():
    data = np.arange(10)
    random.seed(123)
    before = random.random()
    random.seed(123)
    left, right = utils.split_dataset(data, left_size=6, shuffle=True, seed=1)
    assert random.random() == before
    assert left.tolist() == SEED_1_ORDER[:6] and right.tolist() == SEED_1_ORDER[6:]


def test_structures_keep_their_shape():
    x1, x2 = np.arange(10.0), np.arange(20.0).reshape(10, 2)
    y = np.arange(10) % 2
    (a_left, b_left), y_left = utils.split_dataset(((x1, x2), y), left_size=4)[0]
    np.testing.assert_array_equal(b_left, x2[:4])
    left, right = utils.split_dataset({"a": x1, "b": x2}, right_size=0.3, shuffle=True,
                                      seed=1)
    assert set(left) == {"a", "b"}
    np.testing.assert_array_equal(right["b"], x2[SEED_1_ORDER[7:]])
    left, right = utils.split_dataset([x1, y], left_size=5)
    assert isinstance(left, list) and len(left) == 2


def test_split_parts_train():
    x, y = np.random.default_rng(0).random((20, 3)), np.ones((20, 1))
    (x_train, y_train), (x_test, y_test) = utils.split_dataset((x, y), left_size=0.75)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=1, verbose=0)
    assert x_train.shape == (15, 3) and y_test.shape == (5, 1)


def test_pydataset_is_read_in_full():
    class Batches(utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            x = np.arange(index * 4, index * 4 + 4, dtype="float32")[:, None]
            return x, 2 * x

    (x_left, y_left), (x_right, y_right) = utils.split_dataset(Batches(), left_size=10)
    assert x_left[:, 0].tolist() == list(range(10))
    np.testing.assert_array_equal(y_right, 2 * x_right)

    class Inputs(utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.full((3, 2), index)

    left, right = utils.split_dataset(Inputs(), right_size=1)
    assert left.shape == (5, 2) and right.tolist() == [[1, 1]]


@pytest.mark.parametrize("options, error, words", [
    ({}, ValueError, "left_size=None and right_size=None"),
    ({"left_size": 0}, ValueError, "left_size=0"),
    ({"left_size": 10}, ValueError, "[1, 9]"),
    ({"right_size": 1.5}, ValueError, "right_size=1.5"),
    ({"left_size": 0.6, "right_size": 0.6}, ValueError, "more than 1"),
    ({"left_size": 6, "right_size": 6}, ValueError, "12 samples, more than the 10"),
    ({"left_size": 0.01}, ValueError, "leave the left part empty"),
    ({"left_size": "5"}, TypeError, "left_size='5' of type str"),
    ({"left_size": True}, TypeError, "left_size=True"),
    ({"left_size": 5, "preferred_backend": "tensorflow"}, ValueError,
     "preferred_backend='tensorflow'"),
])
def test_bad_sizes(options, error, words):
    with pytest.raises(error, match=re.escape(words)):
        utils.split_dataset(np.arange(10), **options)


@pytest.mark.parametrize("dataset, error, words", [
    ("abc", TypeError, "Received type str"),
    ((np.ones(4), "labels"), TypeError, "an element of type str"),
    ((np.ones(4), np.ones(5)), ValueError, "shapes [(4,), (5,)]"),
    ((), ValueError, "empty dataset"),
    (np.ones((0, 2)), ValueError, "no samples"),
    (np.float32(3.0), ValueError, "scalar"),
])
def test_bad_datasets(dataset, error, words):
    with pytest.raises(error, match=re.escape(words)):
        utils.split_dataset(dataset, left_size=0.5)


def test_pydataset_without_length_is_refused():
    class Endless(utils.PyDataset):
        def __getitem__(self, index):
            return np.ones((2, 1))

    with pytest.raises(ValueError, match="no length"):
        utils.split_dataset(Endless(), left_size=0.5)
