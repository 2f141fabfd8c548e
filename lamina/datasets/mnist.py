"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale."""

import numpy as np

from lamina.datasets._common import KERAS_DATASETS
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

# Where the file is fetched from and its sha256: Keras 3's, so caches are shared. Tests point
# ORIGIN_BASE at a local server.
ORIGIN_BASE = KERAS_DATASETS
FILE_NAME = "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Loads MNIST, downloading it into the cache (`~/.keras/datasets/`) on first use.

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `uint8` arrays of shapes `(60000, 28, 28)`,
        `(60000,)`, `(10000, 28, 28)` and `(10000,)`; pixels in 0-255, labels in 0-9.

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = (  # doctest: +SKIP
        ...     keras.datasets.mnist.load_data())
        >>> x_train.shape, y_test.shape  # doctest: +SKIP
        ((60000, 28, 28), (10000,))

    License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of the NIST
    datasets, available under the Creative Commons Attribution-Share Alike 3.0 license.
    """
    path = get_file(fname=path, origin=ORIGIN_BASE + FILE_NAME, file_hash=FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
