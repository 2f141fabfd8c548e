"""What `adapt()` accepts, as batches: shared by the layers that learn from data.

An array (NumPy or JAX) is one batch. A list or tuple is one batch for the lookup and text
layers (a list of strings) and an iterable of batches for Discretization (as in Keras 3).
Anything else iterable (a generator, a `PyDataset`-style sequence, a list of arrays for
Discretization) yields batches, each an array, a list, or an `(x, y[, sample_weight])` pair
whose `x` is used; `steps` caps how many are read.

The layers accumulate into local state and install it only once every batch was read, so an
`adapt` that fails halfway (a generator raising, a bad batch) leaves the layer as it was.
"""

import jax
import numpy as np


def _is_array(value):
    return isinstance(value, (np.ndarray, jax.Array, np.generic))


def _features(batch):
    """The `x` of an `(x, y)` or `(x, y, sample_weight)` batch; other batches as they are."""
    if isinstance(batch, tuple) and len(batch) in (2, 3) and (
            _is_array(batch[0]) or isinstance(batch[0], (list, dict))):
        return batch[0]
    return batch


def adapt_batches(layer, data, steps=None, numeric=False):
    """Yields the batches of `data` for `layer.adapt` (see the module docstring)."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or steps < 1):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}'.adapt(): steps must be a positive int or "
            f"None. Received: steps={steps!r}")
    name = f"{type(layer).__name__} '{layer.name}'.adapt()"
    if data is None:
        raise ValueError(f"{name} received None. Pass an array, a list or an iterable of "
                         "batches.")
    if hasattr(data, "numpy") and not _is_array(data):  # a Variable or a framework tensor
        data = data.numpy()
    if _is_array(data) or isinstance(data, (str, bytes)) or (
            not numeric and isinstance(data, (list, tuple))):
        yield data
        return
    if isinstance(data, dict) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"{name} expects an array, a list or an iterable of batches (a generator, a "
            f"PyDataset, ...). Received: {type(data).__name__}")
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(
            data, (list, tuple)):
        source = (data[i] for i in range(len(data)))  # a PyDataset-style sequence
    else:
        source = iter(data)
    for index, batch in enumerate(source):
        if steps is not None and index >= steps:
            break
        yield _features(batch)
