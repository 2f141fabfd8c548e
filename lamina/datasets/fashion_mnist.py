"""Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of clothing, 28x28 grayscale.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.
"""

import gzip
import os
import struct
import zlib

import numpy as np

from lamina.datasets._common import KERAS_DATASETS, discard_corrupt
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_BASE = KERAS_DATASETS
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")
# Keras publishes no hashes for these four files, so none is required; a truncated or corrupted
# file is still caught (by Content-Length while downloading, by gzip's CRC and the IDX header
# while reading) and deleted. Set a file's entry to a sha256 or md5 to verify it as well.
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": None,
    "train-images-idx3-ubyte.gz": None,
    "t10k-labels-idx1-ubyte.gz": None,
    "t10k-images-idx3-ubyte.gz": None,
}
_LABELS_MAGIC, _IMAGES_MAGIC = 2049, 2051


def load_data():
    """Loads Fashion-MNIST, downloading it into `~/.keras/datasets/fashion-mnist/` on first use.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `uint8` arrays of shapes `(60000, 28, 28)`,
        `(60000,)`, `(10000, 28, 28)` and `(10000,)`; pixels in 0-255, labels in 0-9.

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.fashion_mnist.load_data()  # doctest: +SKIP
        >>> x_train.shape                                                     # doctest: +SKIP
        (60000, 28, 28)

    License: Fashion-MNIST is copyright Zalando SE, under the MIT license.
    """
    paths = {name: get_file(name, origin=ORIGIN_BASE + name, file_hash=file_hash,
                            cache_subdir=CACHE_SUBDIR)
             for name, file_hash in FILE_HASHES.items()}
    y_train = _read_idx(paths["train-labels-idx1-ubyte.gz"], _LABELS_MAGIC)
    x_train = _read_idx(paths["train-images-idx3-ubyte.gz"], _IMAGES_MAGIC)
    y_test = _read_idx(paths["t10k-labels-idx1-ubyte.gz"], _LABELS_MAGIC)
    x_test = _read_idx(paths["t10k-images-idx3-ubyte.gz"], _IMAGES_MAGIC)
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if len(images) != len(labels):
            discard_corrupt(paths[f"{split}-images-idx3-ubyte.gz"],
                            f"it holds {len(images)} images but the labels file holds "
                            f"{len(labels)} labels")
    return (x_train, y_train), (x_test, y_test)


def _read_idx(path, magic):
    """Reads a gzipped IDX file of unsigned bytes: labels (magic 2049) or images (2051)."""
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as error:
        discard_corrupt(path, f"it is not a complete gzip file ({error})")
    dims = 1 if magic == _LABELS_MAGIC else 3
    header = 4 * (1 + dims)
    if len(data) < header or struct.unpack(">i", data[:4])[0] != magic:
        discard_corrupt(path, f"it does not start with the IDX header (magic number {magic})")
    shape = struct.unpack(f">{dims}i", data[4:header])
    if len(data) != header + int(np.prod(shape)):
        discard_corrupt(path, f"its header announces shape {shape} but it holds "
                              f"{len(data) - header} values")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()
