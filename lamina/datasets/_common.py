"""Helpers shared by the dataset loaders: argument checks, the shuffled split, cache cleanup."""

import os

import numpy as np

# Keras's datasets bucket; each loader module copies it into its own `ORIGIN_BASE`, which tests
# point at a local server.
KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def check_test_split(test_split):
    if not 0 <= test_split < 1:
        raise ValueError(
            f"`test_split` is the fraction of samples kept for testing, in [0, 1). Received: "
            f"test_split={test_split}")


def shuffle_split(x, y, test_split, seed):
    """Keras's split: shuffle with `np.random.RandomState(seed)`, then cut at (1 - test_split)."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def discard_corrupt(path, problem):
    """Deletes a cached file that cannot be read, and raises so that it is never used."""
    try:
        os.remove(path)
        fate = "It was deleted; call the loader again to download a fresh copy."
    except OSError as error:
        fate = f"Deleting it failed ({error}); delete it by hand, then call the loader again."
    raise ValueError(f"The cached dataset file {path} is unreadable: {problem}. {fate}")
