"""What `fit`, `evaluate` and `predict` accept as data, turned into batches.

* Arrays (NumPy, JAX, pandas, nested lists/tuples/dicts of them): put on the device once per
  call; each pass over the data draws a row order (indices only) and the step programs gather
  their batches from the device-resident arrays by index, so no data is copied per epoch.
* Python generators and iterators yielding `x`, `(x, y)` or `(x, y, sample_weight)`, and any
  iterable of such batches: Grain's `MapDataset` / `IterDataset` / `DataLoader` (batched), or
  an object with `__iter__`, which starts a new pass every epoch.
* `keras.utils.PyDataset`-style sequences (`__len__`, `__getitem__`, `on_epoch_end`), read by
  `workers` threads or processes as in Keras 3.

Streamed batches (all but arrays) are produced on a background thread and put on the device
two batches ahead of the step (`prefetch.py`); every batch must have the first one's
structure.

`steps_per_epoch` follows Keras 3: an epoch takes the next `steps_per_epoch` batches of the
current pass over the data and never crosses into the next pass; the next epoch continues where
it stopped, and a new pass (a new shuffle) starts once the data is used up.
"""

import collections
import concurrent.futures
import functools
import itertools
import math
import multiprocessing
import numbers
import random
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina._data import pack_x_y_sample_weight, unpack_x_y_sample_weight
from lamina._runtime import sharding
from lamina.training import host_buffers
from lamina.training import prefetch as prefetch_lib


def _is_array(value):
    return isinstance(value, (np.ndarray, jax.Array)) or (
        hasattr(value, "__array__") and hasattr(value, "shape"))


def is_array_data(x):
    # Anything but a list, tuple or dict is a leaf here: a generator or a PyDataset is data of
    # another kind, not a container to look into.
    leaves = jax.tree_util.tree_leaves(
        x, is_leaf=lambda value: not isinstance(value, (list, tuple, dict)))
    return bool(leaves) and all(_is_array(leaf) for leaf in leaves)


def to_array(value):
    """A NumPy or JAX array in a dtype JAX computes in (float64 -> float32, int64 -> int32)."""
    if isinstance(value, jax.Array):
        return value
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)  # JAX computes in float32 unless x64 is on
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return array


ACCEPTED_DATA = (
    "fit/evaluate/predict take NumPy or JAX arrays (or a list, tuple or dict of them, one "
    "per model input or output), a Python generator or iterable yielding batches (e.g. a "
    "batched Grain dataset or DataLoader), or a keras.utils.PyDataset")


def _is_number(value):
    return isinstance(value, (numbers.Number, np.bool_)) and not _is_array(value)


def _number_rows(value):
    """Whether `value` is a (possibly ragged) nested list or tuple of Python numbers."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return all(_is_number(item) or _number_rows(item) for item in value)


def _ragged_at(rows, where):
    """The first place where a nested number list is ragged: (text, lengths) or None."""
    if not all(isinstance(row, (list, tuple)) for row in rows):
        if any(isinstance(row, (list, tuple)) for row in rows):
            kinds = ["a list" if isinstance(row, (list, tuple)) else "a number" for row in rows]
            index = next(i for i, kind in enumerate(kinds) if kind != kinds[0])
            return (f"{where}[0] is {kinds[0]} but {where}[{index}] is {kinds[index]}",
                    None)
        return None
    lengths = [len(row) for row in rows]
    if len(set(lengths)) > 1:
        index = next(i for i, length in enumerate(lengths) if length != lengths[0])
        return (f"{where}[0] has {lengths[0]} items but {where}[{index}] has "
                f"{lengths[index]}", lengths)
    for index, row in enumerate(rows):
        found = _ragged_at(row, f"{where}[{index}]")
        if found is not None:
            return found
    return None


def _describe_number_rows(where, rows):
    """The error for a Python list of numbers where arrays are expected."""
    ragged = _ragged_at(rows, where)
    if ragged is not None:
        text, lengths = ragged
        width = max(lengths) if lengths else None
        pad = (f" (e.g. np.array([row + [0] * ({width} - len(row)) for row in {where}]))"
               if width is not None and where.count("[") == 0 else "")
        return ValueError(
            f"{where} is a ragged Python list: {text}. Arrays need rows of one length: pad "
            f"the sequences to a common length{pad} and pass a NumPy array. {ACCEPTED_DATA}.")
    shape = np.shape(rows)
    return ValueError(
        f"{where} is a Python list of numbers (shape {shape}). {ACCEPTED_DATA}; a list "
        f"stands for several inputs or outputs, so pass np.asarray({where}) for one array.")


def _leaf_problem(where, value):
    """The error for one leaf of array data (an array of numbers), or None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return ValueError(
            f"{where} is a {type(value).__name__} ({value[:40]!r}). {ACCEPTED_DATA}. Encode "
            "text as numbers first (e.g. token ids in an int array).")
    if _is_number(value):
        return ValueError(
            f"{where} is a single number ({value!r}), not an array with a leading sample "
            f"axis. {ACCEPTED_DATA}.")
    if not _is_array(value):
        return ValueError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, not an array. "
            f"{ACCEPTED_DATA}.")
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind == "O":
        return ValueError(
            f"{where} is a NumPy array of dtype object (shape {tuple(np.shape(value))}), as "
            "np.array makes from sequences of different lengths. Pad the sequences to one "
            "length and pass an array of numbers.")
    if kind in ("U", "S"):
        return ValueError(
            f"{where} holds strings (dtype {dtype}). Models compute on numbers: encode the "
            "strings first (e.g. token ids in an int array).")
    return None


def data_problem(name, tree):
    """The first reason `tree` (x, y or sample_weight) is not array data, as an error to
    raise (with where it is: `x[1]`, `y['out']`), or None when it is fine."""
    if tree is None:
        return None
    if isinstance(tree, (np.ndarray, jax.Array)) and tree.dtype.kind not in "OUS":
        return None  # the common case, first: a generator's batch pays ~0.3 us per array
    if _number_rows(tree):
        return _describe_number_rows(name, tree)
    if isinstance(tree, dict):
        for key, value in tree.items():
            problem = data_problem(f"{name}[{key!r}]", value)
            if problem is not None:
                return problem
        return None
    if isinstance(tree, (list, tuple)):
        for index, value in enumerate(tree):
            problem = data_problem(f"{name}[{index}]", value)
            if problem is not None:
                return problem
        return None
    return _leaf_problem(name, tree)


def _is_stream(x):
    """A generator, an iterator, a PyDataset-style sequence or another iterable of batches
    (not a container of arrays, not text)."""
    if isinstance(x, (str, bytes, list, tuple, dict)) or _is_array(x):
        return False
    return isinstance(x, types.GeneratorType) or hasattr(x, "__next__") or \
        hasattr(x, "__iter__") or hasattr(x, "__getitem__")


def _describe_paths(name, tree):
    return [(f"{name}{jax.tree_util.keystr(path)}", leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]]


def describe_batch(batch):
    """`x: (32, 8) float32, y: (32, 1) float32` for error messages."""
    x, y, sample_weight = unpack_x_y_sample_weight(batch)
    parts = []
    for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for where, leaf in _describe_paths(name, tree):
            parts.append(f"{where}: {tuple(np.shape(leaf))} {getattr(leaf, 'dtype', '')}".strip())
    return ", ".join(parts)


def check_sample_counts(x, y, sample_weight):
    """Every array must have the same number of samples; the error lists them all."""
    described = _describe_paths("x", x) + _describe_paths("y", y) + _describe_paths(
        "sample_weight", sample_weight)
    counts = {}
    for where, leaf in described:
        shape = tuple(np.shape(leaf))
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


def class_weights_to_sample_weights(y, class_weight, sample_weight=None):
    """Maps `class_weight` (a dict class -> weight, see `checks.standardize_class_weight`)
    onto per-sample weights, from y.

    A sample's class is the arg-max of y's last axis when it has more than one entry, else the
    (rounded) label; classes missing from the dict weigh 1. With `sample_weight` too, the two
    multiply (tf.keras's rule; Keras 3 refuses the combination).
    """
    if class_weight is None:
        return sample_weight
    leaves = jax.tree_util.tree_leaves(y)
    if len(leaves) != 1:
        raise ValueError(
            "class_weight is only supported for models with a single output; y has "
            f"{len(leaves)} arrays. Weight the samples of each output with sample_weight (one "
            "array per output) instead.")
    labels = np.asarray(leaves[0])
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(labels.shape[0], -1)[:, 0] if labels.ndim > 1 else labels
    labels = np.round(labels).astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(
            "class_weight needs class labels >= 0 in y; y contains "
            f"{int(labels.min())}. Pass labels 0, 1, ... (or one-hot rows).")
    max_class = max(class_weight, default=-1)
    table = np.ones(max(max_class, int(labels.max(initial=0))) + 1, dtype=np.float32)
    for cls, weight in class_weight.items():
        table[cls] = weight
    weights = table[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=np.float32).reshape(weights.shape)
    return weights


def _pass_order(num_samples, batch_size, shuffle, key):
    """The row order of one pass as `(full (F, B), partial (P,))` int32 index tables.

    Drawn on the host with NumPy, seeded from `key` (a draw from lamina's seed generator, so
    `set_random_seed` makes it reproducible): a permutation of the row indices costs far less
    there than a sort on the device, and only the indices travel; the data stays on the
    device and the programs gather their batches from it.
    """
    full = num_samples // batch_size
    rows = np.arange(num_samples, dtype=np.int32)
    if shuffle:
        seed = [int(part) for part in np.asarray(key, dtype=np.uint32).reshape(-1)]
        generator = np.random.default_rng(seed)
        if shuffle == "batch":  # whole batches change places; the partial batch stays last
            blocks = rows[:full * batch_size].reshape(full, batch_size)
            rows[:full * batch_size] = blocks[generator.permutation(full)].reshape(-1)
        else:
            rows = generator.permutation(rows)
    return jax.device_put((rows[:full * batch_size].reshape(full, batch_size),
                           rows[full * batch_size:]))


# Unshuffled tables are kept for inputs up to this many rows (4 MB of indices each, 8 kept):
# what per-call overhead matters for; a larger input's call is long enough to build its own.
_CACHED_ORDER_ROWS = 1 << 20


@functools.lru_cache(maxsize=8)
def _rows_in_order(num_samples, batch_size):
    """`_pass_order` without shuffling, kept for the next call with the same sizes: every
    `predict` and `evaluate` call on arrays builds a new `ArrayData`, and building and moving
    the tables to the device was ~0.2 ms of a 2 ms `predict` on 6,000 rows (issue 20). The
    tables are immutable device arrays, so sharing them is safe."""
    return _pass_order(num_samples, batch_size, False, None)


class EpochPlan:
    """Which batches one epoch runs: the `full_steps` rows of `table` (index arrays of
    `batch_size` rows) from row `start`, then the partial batch (`partial` indices) if
    `run_partial`. `contiguous`: every row of `table` is a run of consecutive indices (the
    programs then slice batches instead of gathering them)."""

    __slots__ = ("contiguous", "full_steps", "partial", "run_partial", "start", "table")

    def __init__(self, table, partial, start, full_steps, run_partial, contiguous=False):
        self.contiguous = contiguous
        self.table = table
        self.partial = partial
        self.start = start
        self.full_steps = full_steps
        self.run_partial = run_partial

    @property
    def steps(self):
        return self.full_steps + (1 if self.run_partial else 0)


def _ran_out_warning():
    warnings.warn(
        "Your input ran out of data; interrupting the epoch. Make sure that your data can "
        "generate at least `steps_per_epoch * epochs` batches.", stacklevel=4)


class ArrayData:
    """Arrays held on the device, batched by index."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=True,
                 steps=None, class_weight=None):
        if class_weight is not None:
            sample_weight = class_weights_to_sample_weights(y, class_weight, sample_weight)
        x = jax.tree_util.tree_map(to_array, x)
        y = jax.tree_util.tree_map(to_array, y)
        sample_weight = jax.tree_util.tree_map(to_array, sample_weight)
        self.num_samples = check_sample_counts(x, y, sample_weight)
        # The host targets, kept until the trainer has checked them (sparse labels, classes).
        self.targets = y
        self.class_weight = class_weight
        if self.num_samples == 0:
            raise ValueError("The data has 0 samples; fit/evaluate/predict need at least one.")
        if batch_size is None:
            # Keras's rule: with `steps` and no batch size, split the data into `steps` batches.
            batch_size = math.ceil(self.num_samples / int(steps)) if steps else 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
                batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.arrays = jax.device_put(pack_x_y_sample_weight(x, y, sample_weight),
                                     sharding.array_placement())
        self.full_batches = self.num_samples // self.batch_size
        self.partial_size = self.num_samples - self.full_batches * self.batch_size
        self.steps = self.full_batches + (1 if self.partial_size else 0)
        self._tables = None
        self._contiguous = False
        self._cursor = 0

    def batch_spec(self, size):
        return jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((size,) + tuple(a.shape[1:]), a.dtype), self.arrays)

    def take(self, indices):
        return jax.tree_util.tree_map(lambda a: jnp.take(a, indices, axis=0), self.arrays)

    def first_batch(self):
        size = self.batch_size if self.full_batches else self.partial_size
        return jax.tree_util.tree_map(lambda a: a[:size], self.arrays)

    def reset(self):
        """The next epoch starts a new pass over the data."""
        self._cursor = 0

    def epoch_plan(self, steps_per_epoch=None, key_fn=None):
        """The batches of the next epoch. `key_fn()` gives the shuffling key of a new pass."""
        if self._cursor == 0 or self._tables is None:
            if self.shuffle and key_fn is not None:
                self._tables = _pass_order(self.num_samples, self.batch_size, self.shuffle,
                                           key_fn())
                self._contiguous = self.shuffle == "batch"  # whole batches change places
            elif self._tables is None:
                self._tables = (_rows_in_order(self.num_samples, self.batch_size)
                                if self.num_samples <= _CACHED_ORDER_ROWS else
                                _pass_order(self.num_samples, self.batch_size, False, None))
                self._contiguous = True
        remaining = self.steps - self._cursor
        wanted = remaining if not steps_per_epoch else int(steps_per_epoch)
        if wanted > remaining and steps_per_epoch:
            _ran_out_warning()
        count = min(wanted, remaining)
        start = self._cursor
        full_steps = max(0, min(start + count, self.full_batches) - start)
        run_partial = bool(self.partial_size) and start + count > self.full_batches
        self._cursor = start + count
        if self._cursor >= self.steps:
            self._cursor = 0
        table, partial = self._tables
        return EpochPlan(table, partial, start, full_steps, run_partial, self._contiguous)


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
    split_at = math.floor(total * (1.0 - validation_split))
    if split_at == 0 or split_at == total:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples on one side of the split "
            f"({total} samples). Use a split that keeps both parts non-empty.")

    def head(tree):
        return jax.tree_util.tree_map(lambda a: to_array(a)[:split_at], tree)

    def tail(tree):
        return jax.tree_util.tree_map(lambda a: to_array(a)[split_at:], tree)

    return (head(x), head(y), head(sample_weight)), (tail(x), tail(y), tail(sample_weight))


class GeneratorData:
    """Batches pulled from a Python iterator or generator, a re-iterable source (a Grain
    `MapDataset`/`IterDataset`/`DataLoader`, any object with `__iter__`), or a
    PyDataset-style sequence.

    A one-shot iterator (a generator) continues from epoch to epoch; a re-iterable source
    starts a new pass each time the previous one is used up, as Keras re-iterates a Grain
    dataset. A sequence is indexed, in a new order each pass when shuffling, by `workers`
    threads (or processes with `use_multiprocessing`) with up to `max_queue_size` batches in
    flight, as Keras 3's PyDataset does. With `prefetch` the batches of an epoch are produced
    on a background thread and placed on the device ahead of the step (`prefetch.py`).
    """

    def __init__(self, source, steps=None, shuffle=False, class_weight=None, prefetch=True):
        self.source = source
        self.is_sequence = hasattr(source, "__getitem__") and (
            hasattr(source, "__len__") or hasattr(source, "num_batches")) and \
            not _is_grain(source)
        self.shuffle = bool(shuffle) and self.is_sequence
        self.class_weight = class_weight
        # A list is one batch from `*_on_batch`: no thread for it.
        self.prefetch = prefetch and not isinstance(source, (list, tuple))
        self.steps_per_epoch = None if steps is None else int(steps)
        if self.is_sequence:
            self.num_batches = _sequence_length(source)
            if self.num_batches is None and steps is None:
                raise ValueError(
                    f"{type(source).__name__} has no length (num_batches is None), so an epoch "
                    "never ends. Pass steps_per_epoch (and validation_steps / steps).")
        else:
            self.num_batches = _iterable_length(source)
        self.steps = self.steps_per_epoch if self.steps_per_epoch else self.num_batches
        if self.steps is not None and self.num_batches is not None:
            self.steps = min(self.steps, self.num_batches)
        self._iterator = None
        self._order = None
        self._cursor = 0
        self._batches_seen = 0
        self._structure = None  # (treedef, description) of the first batch
        self._index_tables = {}  # (group, batch size) -> the index table of a StackedBatches

    def reset(self):
        self._cursor = 0
        self._order = None

    def epoch_batches(self, group=1, first=None):
        """The batches of one epoch, `(x[, y[, sample_weight]])` tuples of arrays: an
        iterator to close when done (the loops close it), prefetched to the device on a
        background thread unless `prefetch` is off.

        With `group > 1`, runs of up to `group` consecutive batches of one layout come as one
        `StackedBatches` (a program then runs them all, as it runs a chunk of array data);
        a batch of another layout (the last, smaller one) comes alone. With `first`, the
        epoch's first group holds `first` batches and each next one twice as many, up to
        `group` (see `_group_runs`); only for programs whose step count is an argument,
        since every group keeps `group` slots.
        """
        batches = self._sequence_epoch() if self.is_sequence else self._iterator_epoch()
        if group > 1 and self.prefetch:
            batches = _grouped(batches, group, self._index_tables, first or group)
        if not self.prefetch:
            return batches
        return prefetch_lib.Prefetcher(batches, size=PREFETCH_BATCHES, place=_place)

    def _sequence_epoch(self):
        source = self.source
        if hasattr(source, "on_epoch_begin"):
            source.on_epoch_begin()
        total = self.num_batches
        if self._cursor == 0 or self._order is None:
            self._order = list(range(total)) if total is not None else None
            if self.shuffle and self._order is not None:
                random.shuffle(self._order)  # Python's random: seeded by set_random_seed
        wanted = self.steps_per_epoch or total
        if total is not None:
            remaining = total - self._cursor
            if self.steps_per_epoch and wanted > remaining:
                _ran_out_warning()
            wanted = min(wanted, remaining)
        start = self._cursor
        indices = [self._order[start + step] if self._order is not None else start + step
                   for step in range(wanted)]
        for step, data in enumerate(_fetch_items(source, indices)):
            self._cursor += 1
            yield self._convert(data, step)
        if total is not None and self._cursor >= total:
            self._cursor = 0
        if hasattr(source, "on_epoch_end"):
            source.on_epoch_end()

    def _iterator_epoch(self):
        if self._iterator is None:
            self._iterator = iter(self.source)
        count = 0
        while self.steps_per_epoch is None or count < self.steps_per_epoch:
            try:
                data = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if count == 0:
                    raise ValueError(
                        "The data generator is exhausted: it produced no batch for this epoch "
                        f"(it produced {self._batches_seen} in all). A generator can be "
                        "iterated only once: pass one that loops forever together with "
                        "steps_per_epoch (and validation_steps), a keras.utils.PyDataset, or "
                        "an iterable that starts over on iter() (a Grain dataset or loader)."
                    ) from None
                if self.steps_per_epoch is not None:
                    _ran_out_warning()
                return
            except Exception as error:
                error.add_note(f"Raised by the data generator while producing batch {count} "
                               "of the epoch. The model keeps the weights and optimizer state "
                               "of the last completed step.")
                raise
            self._batches_seen += 1
            yield self._convert(data, count)
            count += 1

    def _convert(self, data, index):
        if isinstance(data, dict):
            data = (data,)
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        if self.class_weight is not None and y is not None:
            sample_weight = class_weights_to_sample_weights(y, self.class_weight, sample_weight)
        batch = convert_batch(x, y, sample_weight, f"Batch {index} from the data generator")
        structure = jax.tree_util.tree_structure(batch)
        if self._structure is None:
            self._structure = (structure, describe_batch(batch), index)
        elif structure != self._structure[0]:
            raise ValueError(
                f"Batch {index} from the data generator has another structure than the "
                f"first one (batch {self._structure[2]} of the first epoch): batch {index} is "
                f"{describe_batch(batch)}, the first was {self._structure[1]}. Every batch "
                "must have the same structure (the same inputs, targets and sample weights, "
                "in the same nesting); only the batch size may change.")
        return batch


# Items (batches, or groups of them) placed on the device ahead of the step when data is
# streamed; and the most bytes one group of stacked batches may hold.
PREFETCH_BATCHES = 2
GROUP_BYTES = 64 << 20
# The batches of an epoch's first group when training or evaluating (groups then double):
# the first program starts after this many batches are read, not after a whole group.
FIRST_GROUP = 4
# Where groups are stacked: 64-byte-aligned buffers (on the CPU backend `jax.device_put`
# then adopts them without copying), reused once unused rather than freed; up to two
# groups' worth of bytes stay kept between epochs and fits.
HOST_BUFFERS = host_buffers.HostBuffers(keep_bytes=2 * GROUP_BYTES)


class StackedBatches:
    """`count` consecutive batches of one layout, stacked on the device: `arrays` holds
    `group` batches' rows (those past `count` are unused padding, so that one compiled
    program serves every count), `table[i]` indexes batch `i`'s rows. `targets` keeps the
    host copy of the targets for the trainer's label checks."""

    __slots__ = ("arrays", "table", "count", "batch_size", "targets")

    def __init__(self, arrays, table, count, batch_size, targets):
        self.arrays = arrays
        self.table = table
        self.count = count
        self.batch_size = batch_size
        self.targets = targets

    def batch_spec(self):
        return jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((self.batch_size,) + tuple(a.shape[1:]), a.dtype),
            self.arrays)

    def describe(self):
        return describe_batch(self.batch_spec())


def _layout(batch):
    leaves, treedef = jax.tree_util.tree_flatten(batch)
    return treedef, tuple((np.shape(leaf), str(leaf.dtype)) for leaf in leaves)


def _stack(batches, group, tables):
    """`batches` (one layout) as a `StackedBatches` of `group` slots, on the host."""
    first = batches[0]
    size = int(np.shape(jax.tree_util.tree_leaves(first)[0])[0])

    def stack(*leaves):
        out = HOST_BUFFERS.empty((group * size,) + np.shape(leaves[0])[1:], leaves[0].dtype)
        for index, leaf in enumerate(leaves):
            out[index * size:(index + 1) * size] = leaf
        # The slots past the batches are left as they are (unwritten, or an earlier group's
        # rows): no program reads them, since it runs `count` steps through `table`; so a
        # short group (an epoch's first, or its last) costs the copy of its own rows only.
        return out

    arrays = jax.tree_util.tree_map(stack, *batches)
    table = tables.get((group, size))
    if table is None:
        table = tables[(group, size)] = jax.device_put(
            np.arange(group * size, dtype=np.int32).reshape(group, size))
    _, y, _ = unpack_x_y_sample_weight(arrays)
    targets = None if y is None else jax.tree_util.tree_map(
        lambda a: a[:len(batches) * size], y)
    return StackedBatches(arrays, table, len(batches), size, targets)


def _grouped(batches, group, tables, first):
    """Groups runs of same-layout batches (see `GeneratorData.epoch_batches`); a group is
    made smaller so that it holds at most `GROUP_BYTES`. When the source raises, the batches
    before the error still come out (and train) first."""
    iterator = iter(batches)
    try:
        yield from _group_runs(iterator, group, tables, first)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # the source's epoch generator, when the consumer stops early


def _group_runs(iterator, group, tables, first):
    # Groups grow from `first` batches, doubling, to `group`: the step waits only for the
    # first few batches of an epoch to be read and stacked, not for a whole group, and each
    # next group is read while the previous one (half its size) trains.
    pending, layout, limit, wanted = [], None, group, max(1, min(first, group))

    def flush():
        return _stack(pending, limit, tables) if limit > 1 else pending[0]

    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            break
        except Exception:
            if pending:
                yield flush()
            raise
        this = _layout(batch)
        if pending and this != layout:
            yield flush()
            pending = []
        if not pending:
            layout = this
            size = sum(np.asarray(leaf).nbytes for leaf in jax.tree_util.tree_leaves(batch))
            limit = max(1, min(group, GROUP_BYTES // max(size, 1)))
        pending.append(batch)
        if len(pending) >= min(wanted, limit):
            yield flush()
            pending = []
            wanted = min(2 * wanted, group)
    if pending:
        yield flush()


def _place(item):
    if isinstance(item, StackedBatches):
        # Where array data goes: replicated over a one-process mesh (the program splits each
        # batch), the default device otherwise.
        item.arrays = jax.device_put(item.arrays, sharding.array_placement())
        return item
    return jax.device_put(item)




def _is_grain(source):
    return type(source).__module__.split(".")[0] == "grain"


def _iterable_length(source):
    """The number of batches of a re-iterable source that knows it (a Grain MapDataset),
    else None."""
    if iter_is_self(source):
        return None
    try:
        return int(len(source))
    except (TypeError, ValueError):
        return None


def iter_is_self(source):
    return hasattr(source, "__next__") or isinstance(source, types.GeneratorType)


def _fetch_items(source, indices):
    """`source[i]` for `i` in `indices`, in order. A PyDataset with `workers > 1` (or
    `use_multiprocessing`) is read by a pool of threads (processes), `max_queue_size` items
    ahead, as Keras 3 does; the pool lives for one epoch."""
    workers = int(getattr(source, "workers", 1) or 1)
    processes = bool(getattr(source, "use_multiprocessing", False))
    if not (workers > 1 or (workers > 0 and processes)) or len(indices) <= 1:
        for step, index in enumerate(indices):
            yield _get_item(source, index, step)
        return
    window = max(1, int(getattr(source, "max_queue_size", 10) or 10))
    pool = _ItemPool(source, workers, processes)
    pending = collections.deque()
    try:
        upcoming = iter(enumerate(indices))
        for step, index in itertools.islice(upcoming, window):
            pending.append((step, index, pool.submit(index)))
        while pending:
            step, index, result = pending.popleft()
            try:
                data = result()
            except Exception as error:
                _note_item_error(error, source, index, step)
                raise
            for next_step, next_index in itertools.islice(upcoming, 1):
                pending.append((next_step, next_index, pool.submit(next_index)))
            yield data
    finally:
        pool.close()


def _get_item(source, index, step):
    try:
        return source[index]
    except Exception as error:
        _note_item_error(error, source, index, step)
        raise


def _note_item_error(error, source, index, step):
    error.add_note(f"Raised by {type(source).__name__}.__getitem__({index}) while producing "
                   f"batch {step} of the epoch. The model keeps the weights and optimizer "
                   "state of the last completed step.")


_POOL_DATASET = None  # the dataset of a worker process (set by the pool's initializer)


def _init_worker_process(dataset):
    global _POOL_DATASET
    _POOL_DATASET = dataset


def _get_in_worker_process(index):
    return _POOL_DATASET[index]


class _ItemPool:
    """Threads, or forked processes that inherit the dataset (as Keras 3's multiprocessing
    pool does, so it need not be picklable; the batches come back pickled)."""

    def __init__(self, source, workers, processes):
        self._processes = processes
        if processes:
            context = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            self._pool = context.Pool(workers, initializer=_init_worker_process,
                                      initargs=(source,))
        else:
            self._source = source
            self._pool = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="lamina-pydataset")

    def submit(self, index):
        if self._processes:
            return self._pool.apply_async(_get_in_worker_process, (index,)).get
        return self._pool.submit(self._source.__getitem__, index).result

    def close(self):
        if self._processes:
            self._pool.terminate()
            self._pool.join()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)


def convert_batch(x, y=None, sample_weight=None, where="The batch"):
    """A batch as arrays, with its sample counts checked."""
    for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        problem = data_problem(name, tree)
        if problem is not None:
            raise ValueError(f"{where}: {problem}")
    x = jax.tree_util.tree_map(to_array, x)
    y = jax.tree_util.tree_map(to_array, y)
    sample_weight = jax.tree_util.tree_map(to_array, sample_weight)
    try:
        check_sample_counts(x, y, sample_weight)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return pack_x_y_sample_weight(x, y, sample_weight)


def _sequence_length(source):
    """The number of batches of a sequence (Keras asks `num_batches`, which is `len()` for a
    PyDataset with a length); None for an endless one."""
    count = source.num_batches if hasattr(source, "num_batches") else len(source)
    return None if count is None else int(count)


def make_data(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=True,
              class_weight=None, names=("x", "y", "sample_weight")):
    """Chooses the data adapter for `fit`/`evaluate`/`predict` arguments; anything else is
    refused with an error naming the argument (`names`), what it is and what fits."""
    if x is None:
        raise ValueError(f"No data: {names[0]} is None. Pass arrays, a generator or a "
                         f"PyDataset as {names[0]}.")
    if is_array_data(x):
        for name, tree in zip(names, (x, y, sample_weight)):
            problem = data_problem(name, tree)
            if problem is not None:
                raise problem
        return ArrayData(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                         steps=steps, class_weight=class_weight)
    if not _is_stream(x):
        if isinstance(x, (list, tuple, dict)) and not jax.tree_util.tree_leaves(x) and \
                not _number_rows(x):
            raise ValueError(f"{names[0]} is an empty {type(x).__name__}: there is no data. "
                             f"{ACCEPTED_DATA}.")
        raise data_problem(names[0], x) or ValueError(
            f"Unrecognized data type for {names[0]}: {type(x).__name__}. {ACCEPTED_DATA}.")
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"{names[0]} is a {type(x).__name__} (a source of batches), so it must yield "
            "(x, y[, sample_weight]) itself; do not pass y or sample_weight separately. To "
            "train on arrays instead, pass NumPy or JAX arrays as x and y.")
    return GeneratorData(x, steps=steps, shuffle=shuffle, class_weight=class_weight)
