"""Boston Housing prices (StatLib, CMU): 506 samples of 13 features; targets in k$.

**Warning:** this dataset has an ethical problem: one of its variables ("B") may appear to assume
that racial self-segregation influences house prices. Keras discourages its use outside
discussions of ethics in data science; `california_housing` is the usual replacement.
"""

import numpy as np

from lamina.datasets._common import KERAS_DATASETS, check_test_split, shuffle_split
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_BASE = KERAS_DATASETS
FILE_NAME = "boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads Boston Housing, shuffled with `seed` and split into train and test sets.

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).
        test_split: Fraction of the samples kept for testing, in [0, 1).
        seed: Seed of the shuffle done before the split (`np.random.RandomState`, as Keras).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `x` of shape `(num_samples, 13)`, `y` of shape
        `(num_samples,)` holding median home values in k$ (typically 10 to 50).

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.boston_housing.load_data()  # doctest: +SKIP
        >>> x_train.shape                                                      # doctest: +SKIP
        (404, 13)
    """
    check_test_split(test_split)
    path = get_file(path, origin=ORIGIN_BASE + FILE_NAME, file_hash=FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return shuffle_split(x, y, test_split, seed)
