"""What the chapter's example scripts share: their command line and a housing-shaped data set.

The book trains on scikit-learn's California housing data, which must be downloaded. These
scripts generate data of the same shape instead (8 standardized features, a median house value
in units of $100,000), so that they run offline and in seconds; the numbers they print are
about the technique, not about California.
"""

import argparse
import contextlib
import os
import tempfile

import numpy as np


def make_parser(doc):
    """A parser with the flags every example takes; `doc` is the script's docstring."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="tiny data and one epoch, for the smoke tests")
    return parser


def add_out_flag(parser):
    parser.add_argument("--out", default=None,
                        help="folder for the saved models (default: a temporary folder, "
                             "removed at the end)")


@contextlib.contextmanager
def output_folder(path):
    """Yields `path` (created if needed), or a temporary folder when `path` is None, so that
    running an example leaves nothing behind unless asked to."""
    if path is not None:
        os.makedirs(path, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="lamina-example-") as folder:
        yield folder


def load_housing(n_samples=2000, seed=42):
    """A California-housing-shaped regression: ((X_train, y_train), (X_valid, y_valid),
    (X_test, y_test)), features standardized with the training set's statistics, as the book
    does with StandardScaler. The target depends non-linearly on the features, with noise and
    a few large values, so that a Huber loss has outliers to be robust to."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, 8)).astype(np.float32)
    income, age, rooms, latitude, longitude = x[:, 0], x[:, 1], x[:, 2], x[:, 6], x[:, 7]
    y = (2.0 + 0.8 * income + 0.1 * age - 0.2 * rooms ** 2 / 4
         + 0.4 * np.sin(1.5 * latitude) * np.cos(longitude)
         + 0.3 * rng.standard_t(df=3, size=n_samples))
    y = np.clip(y, 0.15, 5.0).astype(np.float32)[:, None]
    n_test = n_valid = n_samples // 5
    n_train = n_samples - n_test - n_valid
    mean, std = x[:n_train].mean(0), x[:n_train].std(0)
    x = (x - mean) / std
    cuts = (n_train, n_train + n_valid)
    return tuple(zip(np.split(x, cuts), np.split(y, cuts)))
