"""CIFAR-100: 50,000 training and 10,000 test color images, 32x32, in 100 classes grouped into
20 superclasses.

Each image has a fine label (its class, 0-99) and a coarse one (its superclass, 0-19).
Like CIFAR-10 the archive holds Python pickles; they are read with a restricted unpickler that
rebuilds NumPy arrays and plain containers and refuses anything else.
"""

import os

import numpy as np

from lamina._runtime import config
from lamina.datasets.cifar10 import _load_batch
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_BASE = "https://www.cs.toronto.edu/~kriz/"
FILE_NAME = "cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
# Keras 3's cache names: the archive is kept as `<CACHE_NAME>_archive`, extracted into
# `<CACHE_NAME>/cifar-100-python/`.
CACHE_NAME = "cifar-100-python-target"
LABEL_MODES = ("fine", "coarse")


def load_data(label_mode="fine"):
    """Loads CIFAR-100, downloading and extracting it into `~/.keras/datasets/` on first use.

    Args:
        label_mode: `"fine"` for the 100 classes, `"coarse"` for the 20 superclasses.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: images are `uint8` arrays of shapes
        `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)`, labels `int64` arrays of shapes
        `(50000, 1)` and `(10000, 1)`, in 0-99 (fine) or 0-19 (coarse). Images are
        `(N, 3, 32, 32)` instead when `keras.config.image_data_format()` is
        `"channels_first"`.

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.cifar100.load_data("coarse")  # doctest: +SKIP
        >>> x_train.shape, int(y_train.max())                                  # doctest: +SKIP
        ((50000, 32, 32, 3), 19)
    """
    if not isinstance(label_mode, str) or label_mode not in LABEL_MODES:
        raise ValueError(
            '`label_mode` must be one of `"fine"`, `"coarse"`. '
            f"Received: label_mode={label_mode!r}.")
    folder = get_file(fname=CACHE_NAME, origin=ORIGIN_BASE + FILE_NAME, extract=True,
                      file_hash=FILE_HASH)
    folder = os.path.join(folder, "cifar-100-python")
    label_key = f"{label_mode}_labels"
    x_train, y_train = _load_batch(os.path.join(folder, "train"), label_key=label_key)
    x_test, y_test = _load_batch(os.path.join(folder, "test"), label_key=label_key)
    # int64 labels, as Keras 3 returns them (its docstring says uint8, but it reshapes the
    # pickled Python list, as NumPy makes int64 of it).
    y_train = y_train.astype(np.int64).reshape(-1, 1)
    y_test = y_test.astype(np.int64).reshape(-1, 1)
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
