"""`keras.utils.split_dataset` and `keras.utils.pack_x_y_sample_weight`.

Keras's `split_dataset` returns `tf.data.Dataset`s or torch datasets; lamina has neither
TensorFlow nor torch, so it splits in-memory data and returns it in the structure it was given
(arrays, tuples, lists or dicts of arrays), which `fit` takes as is.
"""

import numbers
import random

import jax
import numpy as np

from lamina._data import PyDataset, unpack_x_y_sample_weight


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Splits in-memory data into two parts by sample, e.g. training and test sets.

    The left part takes the first `left_size` samples and the right part the last
    `right_size` (after shuffling, if asked): sizes given as fractions are rounded, a missing
    size is the rest of the data, and sizes that add up to less than the data leave the
    middle samples out, as in Keras.

    `dataset` may be:

    * a NumPy (or JAX) array: split along its first axis, two arrays returned;
    * a tuple, list or dict of arrays of one length (and nestings of those, such as
      `((x1, x2), y)`): each array is split the same way, and each part keeps the structure;
    * a `keras.utils.PyDataset`: all its batches are read and joined into arrays, which are
      split as above (a part is a tuple `(x, y)` or `(x, y, sample_weight)`, or `x`).

    TensorFlow and torch datasets are not accepted: lamina runs on JAX alone. Turn such data
    into arrays first (`np.stack(list(ds.as_numpy_iterator()))` for a small `tf.data`).

    Args:
        dataset: the data, as above.
        left_size: a fraction in (0, 1) of the samples, or a number of samples, for the left
            part; None for what `right_size` leaves.
        right_size: the same for the right part; None for what `left_size` leaves.
        shuffle: whether to shuffle the samples before splitting.
        seed: the seed of the shuffle; the same seed gives the same split as Keras (both
            shuffle with Python's `random`).
        preferred_backend: accepted for compatibility: None or `"jax"`.

    Returns:
        `(left, right)`, each in the structure of `dataset`, holding NumPy arrays.

    Examples:
        >>> data = np.arange(10).reshape(5, 2)
        >>> left, right = lamina.utils.split_dataset(data, left_size=0.8)
        >>> left.shape, right.tolist()
        ((4, 2), [[8, 9]])
        >>> (x_train, y_train), (x_test, y_test) = lamina.utils.split_dataset(
        ...     (np.zeros((10, 3)), np.ones(10)), right_size=2, shuffle=True, seed=1)
        >>> x_train.shape, y_test.shape
        ((8, 3), (2,))
    """
    if preferred_backend not in (None, "jax"):
        raise ValueError(
            "split_dataset in lamina returns NumPy data for the JAX backend: "
            f"`preferred_backend` must be None or 'jax'. Received: "
            f"preferred_backend={preferred_backend!r}")
    if isinstance(dataset, PyDataset):
        dataset = _join_batches(dataset)
    leaves, treedef = _arrays_of(dataset)
    if left_size is None and right_size is None:
        raise ValueError(
            "split_dataset needs `left_size` or `right_size` (a fraction in (0, 1) or a "
            "number of samples). Received: left_size=None and right_size=None")
    total = leaves[0].shape[0]
    left_size, right_size = _split_sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        # Keras seeds Python's global `random` and shuffles the list of samples; a private
        # generator gives the same order without touching the global one.
        random.Random(seed).shuffle(order)
    left_index = np.asarray(order[:left_size], dtype=np.int64)
    right_index = np.asarray(order[total - right_size:], dtype=np.int64)
    left = [np.asarray(leaf)[left_index] for leaf in leaves]
    right = [np.asarray(leaf)[right_index] for leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, left), \
        jax.tree_util.tree_unflatten(treedef, right)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Packs a batch in the form `fit` takes: `x` alone, `(x,)`, `(x, y)` or
    `(x, y, sample_weight)`; the inverse of `unpack_x_y_sample_weight`.

    With `y=None`, `x` is returned as is, unless it is a tuple or list (several inputs),
    which is wrapped as `(x,)` so that it is not read as `(x, y)`. With a `sample_weight` but
    no `y`, lamina returns `(x, None, sample_weight)` where Keras drops the weights.

    Examples:
        >>> x, y = np.ones((4, 3)), np.zeros((4, 1))
        >>> type(lamina.utils.pack_x_y_sample_weight(x)).__name__
        'ndarray'
        >>> len(lamina.utils.pack_x_y_sample_weight([x, x]))   # two inputs: wrapped
        1
        >>> len(lamina.utils.pack_x_y_sample_weight(x, y))
        2
    """
    if y is None:
        if sample_weight is not None:
            return (x, None, sample_weight)
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _join_batches(dataset):
    """All batches of a PyDataset, joined into arrays: `(x, y, sample_weight)` trimmed of
    trailing Nones, each part in the structure the batches have."""
    count = dataset.num_batches
    if count is None:
        raise ValueError(
            "split_dataset reads a PyDataset in full, but this one has no length (an endless "
            "dataset). Give it a __len__, or split the arrays it reads from.")
    parts = [unpack_x_y_sample_weight(dataset[index]) for index in range(count)]
    if not parts:
        raise ValueError("split_dataset received a PyDataset with no batches.")
    present = [part is not None for part in parts[0]]
    while present and not present[-1]:
        present.pop()
    joined = []
    for position in range(len(present)):
        column = [batch[position] for batch in parts]
        if any(value is None for value in column):
            raise ValueError(
                "split_dataset: the PyDataset's batches do not all have the same form (x, y, "
                "sample_weight); some lack an element the first batch has.")
        try:
            joined.append(jax.tree_util.tree_map(
                lambda *arrays: np.concatenate([np.asarray(a) for a in arrays]), *column))
        except ValueError as error:
            raise ValueError(
                "split_dataset: the PyDataset's batches do not have one structure and shape "
                f"per element, so they cannot be joined into arrays: {error}") from None
    return joined[0] if len(joined) == 1 else tuple(joined)


def _arrays_of(dataset):
    """The array leaves of `dataset` and its structure, after checking they are arrays of
    one length."""
    if isinstance(dataset, (str, bytes)) or dataset is None:
        raise TypeError(_type_message(dataset))
    leaves, treedef = jax.tree_util.tree_flatten(dataset)
    if not leaves:
        raise ValueError(
            "split_dataset received an empty dataset. Pass a non-empty array, or a tuple, "
            "list or dict of arrays.")
    for leaf in leaves:
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise TypeError(_type_message(dataset, leaf))
        if not leaf.shape:
            raise ValueError(
                "split_dataset splits arrays along their first axis (samples), but received "
                f"a scalar of dtype {leaf.dtype}. Pass arrays of shape (samples, ...).")
    lengths = {leaf.shape[0] for leaf in leaves}
    if len(lengths) > 1:
        shapes = [tuple(leaf.shape) for leaf in leaves]
        raise ValueError(
            "split_dataset needs arrays with the same number of samples (first dimension). "
            f"Received arrays of shapes {shapes}.")
    if lengths == {0}:
        raise ValueError("split_dataset received arrays with no samples.")
    return leaves, treedef


def _type_message(dataset, leaf=None):
    what = f"an element of type {type(leaf).__name__}" if leaf is not None \
        else f"type {type(dataset).__name__}"
    return (
        "split_dataset accepts a NumPy array, a tuple, list or dict of arrays of one length, "
        f"or a keras.utils.PyDataset (lamina has no tf.data or torch). Received {what}. "
        "Convert the data to NumPy arrays first.")


def _split_sizes(left_size, right_size, total):
    """Keras's rules: each size a fraction in (0, 1) or an int in (0, total); the two add up
    to at most the data; neither part empty. Returns two ints."""
    sizes = {}
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            sizes[name] = None
            continue
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(
                f"split_dataset's `{name}` must be an int, a float or None. Received: "
                f"{name}={size!r} of type {type(size).__name__}")
        if isinstance(size, numbers.Integral):
            if not 0 < size < total:
                raise ValueError(
                    f"split_dataset's `{name}` must be a number of samples in [1, {total - 1}] "
                    f"(the dataset has {total}) or a fraction in (0, 1). Received: "
                    f"{name}={size}")
            sizes[name] = int(size)
        else:
            if not 0 < size < 1:
                raise ValueError(
                    f"split_dataset's `{name}` must be a fraction in (0, 1) or a number of "
                    f"samples in [1, {total - 1}]. Received: {name}={size}")
            sizes[name] = round(float(size) * total)
    left, right = sizes["left_size"], sizes["right_size"]
    if isinstance(left_size, float) and isinstance(right_size, float) and \
            left_size + right_size > 1:
        raise ValueError(
            "split_dataset's `left_size` and `right_size` add up to more than 1. Received: "
            f"left_size={left_size}, right_size={right_size}")
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"split_dataset's parts add up to {left + right} samples, more than the "
            f"{total} in the dataset. Received: left_size={left_size}, "
            f"right_size={right_size}")
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(
                f"With {total} samples, left_size={left_size} and right_size={right_size} "
                f"leave the {side} part empty. Choose larger sizes.")
    return left, right
