"""The shape of training data, shared by the trainer and `keras.utils`.

A batch is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; `PyDataset` is the base class of
datasets indexed by batch. The trainer's data handling (`lamina.training.data`) consumes
both, and `keras.utils` exports them; this module imports nothing from lamina, so that both
can import it and the public `utils` namespace never imports the trainer.
"""


def unpack_x_y_sample_weight(data):
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)`, with `None`
    for what is missing: how a custom `train_step` reads its batch (`keras.utils`).

    Examples:
        >>> x, y, sample_weight = lamina.utils.unpack_x_y_sample_weight((np.ones(2), np.zeros(2)))
        >>> y.tolist(), sample_weight
        ([0.0, 0.0], None)
    """
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


class PyDataset:
    """Base class for datasets indexed by batch: implement `__len__` and `__getitem__`.

    `fit` asks for batches `dataset[i]`, each `x`, `(x, y)` or `(x, y, sample_weight)`; with
    `shuffle=True` (fit's default) it visits them in a new random order each pass, as Keras
    does. `on_epoch_begin()` / `on_epoch_end()` run around every epoch. As in Keras 3, with
    `workers > 1` (or `use_multiprocessing=True`) a pool of `workers` threads (forked
    processes with `use_multiprocessing`, which inherit the dataset) calls `__getitem__` for
    up to `max_queue_size` batches ahead, in order; otherwise batches are read one by one on
    the trainer's prefetch thread.

    Examples:
        >>> class Batches(PyDataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, index):
        ...         return np.ones((8, 3)), np.zeros((8, 1))
        >>> len(Batches())
        4
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    @property
    def num_batches(self):
        """The number of batches: `len(self)`, or None for an endless dataset."""
        if hasattr(type(self), "__len__"):
            return len(self)
        return None

    def on_epoch_begin(self):
        """Called before each epoch."""

    def on_epoch_end(self):
        """Called after each epoch (e.g. to reshuffle)."""
