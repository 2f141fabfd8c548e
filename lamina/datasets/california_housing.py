"""California Housing (StatLib, 1990 US census): 20,640 block groups, 8 features; targets in $.

Features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.
"""

import numpy as np

from lamina.datasets._common import KERAS_DATASETS, check_test_split, shuffle_split
from lamina.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_BASE = KERAS_DATASETS
FILE_NAME = "california_housing.npz"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
_SMALL_SAMPLES = 600


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads California Housing, shuffled with `seed` and split into train and test sets.

    Args:
        version: `"large"` (all 20,640 samples) or `"small"` (the first 600, a stand-in for
            Boston Housing).
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).
        test_split: Fraction of the samples kept for testing, in [0, 1).
        seed: Seed of the shuffle done before the split (`np.random.RandomState`, as Keras).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `x` of shape `(num_samples, 8)`, `y` of shape
        `(num_samples,)` holding median house values in dollars (about 25,000 to 500,000).

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.california_housing.load_data()  # doctest: +SKIP
        >>> x_train.shape                                                          # doctest: +SKIP
        (16512, 8)
    """
    if version not in ("small", "large"):
        raise ValueError(f"`version` must be 'small' or 'large'. Received: version={version!r}")
    check_test_split(test_split)
    path = get_file(path, origin=ORIGIN_BASE + FILE_NAME, file_hash=FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:_SMALL_SAMPLES], y[:_SMALL_SAMPLES]
    return shuffle_split(x, y, test_split, seed)
