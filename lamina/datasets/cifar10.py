"""CIFAR-10: 50,000 training and 10,000 test color images, 32x32, in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck.

The archive holds Python pickles. Unpickling can run code, so the batches are read with a
restricted unpickler that rebuilds NumPy arrays and plain containers and refuses anything else.
"""

import os

import numpy as np

from lamina._runtime import config
from lamina.datasets._safe_pickle import load_pickle
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_BASE = "https://www.cs.toronto.edu/~kriz/"
FILE_NAME = "cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# Keras 3's cache names: the archive is kept as `<CACHE_NAME>_archive`, extracted into
# `<CACHE_NAME>/cifar-10-batches-py/`.
CACHE_NAME = "cifar-10-batches-py-target"
_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def load_data():
    """Loads CIFAR-10, downloading and extracting it into `~/.keras/datasets/` on first use.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `uint8` arrays of shapes `(50000, 32, 32, 3)`,
        `(50000, 1)`, `(10000, 32, 32, 3)` and `(10000, 1)`; labels in 0-9. Images are
        `(N, 3, 32, 32)` instead when `keras.config.image_data_format()` is
        `"channels_first"`.

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.cifar10.load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape                                # doctest: +SKIP
        ((50000, 32, 32, 3), (50000, 1))

    A small fraction of CIFAR-10's labels are known to be wrong.
    """
    folder = get_file(fname=CACHE_NAME, origin=ORIGIN_BASE + FILE_NAME, extract=True,
                      file_hash=FILE_HASH)
    folder = os.path.join(folder, "cifar-10-batches-py")
    train = [_load_batch(os.path.join(folder, name)) for name in _TRAIN_BATCHES]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train]).reshape(-1, 1)
    x_test, y_test = _load_batch(os.path.join(folder, "test_batch"))
    y_test = y_test.reshape(-1, 1)
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)


def _load_batch(path, label_key="labels"):
    """One pickled batch: a dict with `data` (N x 3072 uint8) and `labels` (N ints)."""
    # The batches were pickled by Python 2: its `str` keys come back as bytes.
    batch = load_pickle(path, encoding="bytes")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"{path} is not a CIFAR batch: expected data of shape (N, 3072) and N labels, got "
            f"data of shape {data.shape} and {len(labels)} labels.")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.uint8)
