"""What `fit`, `evaluate` and `predict` accept as data, turned into batches.

* Arrays (NumPy, JAX, nested lists/tuples/dicts of them): kept on the device whole; each epoch
  draws a permutation on the device, and the compiled programs gather their batches by index,
  so nothing is copied per epoch.
* Python generators and iterators yielding `(x, y)` or `(x, y, sample_weight)`.
* `keras.utils.PyDataset`-style sequences (`__len__`, `__getitem__`, `on_epoch_end`).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np


def unpack_x_y_sample_weight(data):
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)`."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(
        "Data must be x, (x,), (x, y) or (x, y, sample_weight). Received a tuple of "
        f"{len(data)} elements.")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    if y is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _is_array(value):
    return isinstance(value, (np.ndarray, jax.Array)) or (
        hasattr(value, "__array__") and hasattr(value, "shape") and hasattr(value, "dtype"))


def is_array_data(x):
    leaves = jax.tree_util.tree_leaves(x)
    return bool(leaves) and all(_is_array(leaf) or isinstance(leaf, (int, float))
                                for leaf in leaves)


def _to_array(value):
    if isinstance(value, jax.Array):
        return value
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)  # JAX computes in float32 unless x64 is on
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return array


def _describe_paths(name, tree):
    return [(f"{name}{jax.tree_util.keystr(path)}", leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]]


def check_sample_counts(x, y, sample_weight):
    """Every array must have the same number of samples; the error lists them all."""
    described = _describe_paths("x", x) + _describe_paths("y", y) + _describe_paths(
        "sample_weight", sample_weight)
    counts = {}
    for where, leaf in described:
        shape = np.shape(leaf)
        if not shape:
            raise ValueError(
                f"{where} is a scalar; fit/evaluate/predict need arrays with a leading sample "
                "axis. Add one, e.g. np.asarray(value)[None].")
        counts[where] = (shape[0], shape)
    if len({count for count, _ in counts.values()}) > 1:
        listing = ", ".join(f"{where}: {shape}" for where, (_, shape) in counts.items())
        raise ValueError(
            "Data cardinality is ambiguous: all arrays must contain the same number of "
            f"samples. Received {listing}. Make x, y and sample_weight the same length.")
    return next(iter(counts.values()))[0] if counts else 0


class ArrayData:
    """Arrays held on the device, batched by index."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=True):
        x = jax.tree_util.tree_map(_to_array, x)
        y = jax.tree_util.tree_map(_to_array, y)
        sample_weight = jax.tree_util.tree_map(_to_array, sample_weight)
        self.num_samples = check_sample_counts(x, y, sample_weight)
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size!r}")
        self.shuffle = shuffle
        self.arrays = jax.device_put(pack_x_y_sample_weight(x, y, sample_weight))
        self.full_batches = self.num_samples // self.batch_size
        self.partial_size = self.num_samples - self.full_batches * self.batch_size

    @property
    def steps(self):
        return self.full_batches + (1 if self.partial_size else 0)

    def permutation(self, key):
        """The sample order for one epoch (on the device)."""
        if not self.shuffle or self.shuffle == "batch":
            return jnp.arange(self.num_samples)
        return jax.random.permutation(key, self.num_samples)

    def batch_indices(self, order):
        """`(full (steps, batch_size), partial (partial_size,) or None)` index arrays."""
        full = order[: self.full_batches * self.batch_size].reshape(
            self.full_batches, self.batch_size)
        partial = order[self.full_batches * self.batch_size:] if self.partial_size else None
        return full, partial

    def take(self, indices):
        return jax.tree_util.tree_map(lambda a: jnp.take(a, indices, axis=0), self.arrays)

    def batch_spec(self, size):
        return jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((size,) + tuple(a.shape[1:]), a.dtype), self.arrays)


def split_validation(x, y, sample_weight, validation_split):
    """Keras's rule: the last `validation_split` fraction of the samples, before shuffling."""
    if not 0 < validation_split < 1:
        raise ValueError(
            f"validation_split must be between 0 and 1 (exclusive). Received: "
            f"{validation_split!r}")
    if not is_array_data(x):
        raise ValueError(
            "validation_split is only supported for arrays. For generators and datasets, "
            "pass validation_data instead.")
    total = check_sample_counts(x, y, sample_weight)
    split_at = int(math.floor(total * (1.0 - validation_split)))
    if split_at == 0 or split_at == total:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples on one side of the split "
            f"({total} samples). Use a split that keeps both parts non-empty.")

    def head(tree):
        return jax.tree_util.tree_map(lambda a: a[:split_at], tree)

    def tail(tree):
        return jax.tree_util.tree_map(lambda a: a[split_at:], tree)

    return (head(x), head(y), head(sample_weight)), (tail(x), tail(y), tail(sample_weight))


def class_weights_to_sample_weights(y, class_weight, sample_weight=None):
    """Maps `class_weight` (a dict class -> weight) onto per-sample weights, from y."""
    if class_weight is None:
        return sample_weight
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict mapping class indices to weights. Received: "
            f"{type(class_weight).__name__}")
    leaves = jax.tree_util.tree_leaves(y)
    if len(leaves) != 1:
        raise ValueError(
            "class_weight is only supported for models with a single output. Pass "
            "sample_weight per output instead.")
    labels = np.asarray(leaves[0])
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0] if labels.ndim > 1 else labels
    labels = np.round(labels).astype(np.int64)
    max_class = int(max(class_weight)) if class_weight else -1
    table = np.ones(max(max_class, int(labels.max(initial=0))) + 1, dtype=np.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = float(weight)
    weights = table[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=np.float32).reshape(weights.shape)
    return weights


class GeneratorData:
    """Batches pulled from a Python iterator, a generator function or a PyDataset."""

    def __init__(self, source, steps=None):
        self.source = source
        self.is_sequence = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        if self.is_sequence:
            length = len(source)
            self.steps = length if steps is None else min(int(steps), length)
        else:
            self.steps = None if steps is None else int(steps)
        self._iterator = None

    def epoch_batches(self):
        """Yields `(x, y, sample_weight)` for one epoch, converting arrays."""
        if self.is_sequence:
            for index in range(self.steps):
                yield self._convert(self.source[index], index)
            if hasattr(self.source, "on_epoch_end"):
                self.source.on_epoch_end()
            return
        if self._iterator is None:
            self._iterator = iter(self.source)
        count = 0
        while self.steps is None or count < self.steps:
            try:
                data = next(self._iterator)
            except StopIteration:
                if self.steps is not None and count == 0:
                    raise ValueError(
                        "The data generator was exhausted before the epoch started. A "
                        "generator can only be iterated once: pass one that loops forever "
                        "(with steps_per_epoch), or a keras.utils.PyDataset.") from None
                self._iterator = None
                return
            yield self._convert(data, count)
            count += 1

    @staticmethod
    def _convert(data, index):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        x = jax.tree_util.tree_map(_to_array, x)
        y = jax.tree_util.tree_map(_to_array, y)
        sample_weight = jax.tree_util.tree_map(_to_array, sample_weight)
        try:
            check_sample_counts(x, y, sample_weight)
        except ValueError as error:
            raise ValueError(f"Batch {index} from the data generator: {error}") from None
        return pack_x_y_sample_weight(x, y, sample_weight)


def make_data(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=True,
              class_weight=None):
    """Chooses the data adapter for `fit`/`evaluate`/`predict` arguments."""
    if is_array_data(x):
        if class_weight is not None:
            sample_weight = class_weights_to_sample_weights(y, class_weight, sample_weight)
        return ArrayData(x, y, sample_weight, batch_size=batch_size or 32, shuffle=shuffle)
    if y is not None or sample_weight is not None:
        raise ValueError(
            "When x is a generator or a dataset, it must yield (x, y[, sample_weight]) itself; "
            "do not pass y or sample_weight separately.")
    if class_weight is not None:
        raise ValueError("class_weight is only supported with array data in lamina.")
    if batch_size is not None and hasattr(x, "__getitem__"):
        pass  # a PyDataset decides its own batch size, as in Keras
    if hasattr(x, "__iter__") or hasattr(x, "__getitem__") or hasattr(x, "__next__"):
        return GeneratorData(x, steps=steps)
    raise TypeError(
        f"Unrecognized data type for x: {type(x).__name__}. Pass NumPy/JAX arrays (or "
        "lists/dicts of them), a Python generator, or a keras.utils.PyDataset.")


class PyDataset:
    """Base class for datasets indexed by batch: implement `__len__` and `__getitem__`.

    Example:
        >>> class Batches(PyDataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, index):
        ...         return np.ones((8, 3)), np.zeros((8, 1))
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__.")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    def on_epoch_end(self):
        """Called after each epoch (e.g. to reshuffle)."""

    @property
    def num_batches(self):
        return len(self)
