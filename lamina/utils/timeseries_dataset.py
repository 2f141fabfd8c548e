"""`keras.utils.timeseries_dataset_from_array`: sliding windows over a series, as batches."""

import math

import numpy as np

from lamina._data import PyDataset
from lamina._registry import keras_export


class TimeseriesDataset(PyDataset):
    """The windows `timeseries_dataset_from_array` returns: a `keras.utils.PyDataset` of
    NumPy batches (Keras returns a `tf.data.Dataset`). Windows are gathered when their batch
    is read, so the series is never copied once per window."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size,
                 shuffle, seed):
        super().__init__()
        self.data = data
        self.targets = targets
        self.batch_size = batch_size
        self._starts = starts
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        if self.batch_size is None:
            return len(self._starts)
        return math.ceil(len(self._starts) / self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for a dataset of "
                             f"{len(self)} batches.")
        index %= len(self)
        size = 1 if self.batch_size is None else self.batch_size
        starts = self._starts[index * size:(index + 1) * size]
        windows = self.data[starts[:, None] + self._offsets]
        targets = None if self.targets is None else self.targets[starts]
        if self.batch_size is None:
            windows = windows[0]
            targets = None if targets is None else targets[0]
        return windows if targets is None else (windows, targets)

    def on_epoch_end(self):
        if self._shuffle:
            self._starts = self._rng.permutation(self._starts)


@keras_export("keras.utils.timeseries_dataset_from_array",
              "keras.preprocessing.timeseries_dataset_from_array")
def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Sliding windows over `data` (a series, time on the first axis) for `fit`.

    Window `i` starts at step `start_index + i * sequence_stride` and takes
    `sequence_length` steps, `sampling_rate` apart; its target is `targets` at the window's
    first step (pass `targets[sequence_length:]`-style offsets to predict the future), or
    there are none with `targets=None`. Windows only use steps in `[start_index, end_index)`.
    With `shuffle`, the windows are shuffled with `seed`, and again every epoch.

    Returns a `keras.utils.PyDataset` of NumPy batches `(windows, targets)` (Keras returns a
    `tf.data.Dataset`; its `format="grain"` is not offered).

    Examples:
        >>> series = np.arange(10)
        >>> dataset = keras.utils.timeseries_dataset_from_array(
        ...     series, series[3:], sequence_length=3, batch_size=2)
        >>> windows, targets = dataset[0]
        >>> windows.tolist(), targets.tolist()
        ([[0, 1, 2], [1, 2, 3]], [3, 4])
    """
    data = np.asarray(data)
    length = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError("`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= length:
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length "
                             f"{length}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= length:
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: "
                         f"sampling_rate={sampling_rate}")
    if sampling_rate >= length:
        raise ValueError("`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length "
                         f"{length}")
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: "
                         f"sequence_stride={sequence_stride}")
    if sequence_stride >= length:
        raise ValueError("`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length "
                         f"{length}")
    if format != "tf":
        raise ValueError(
            f'`format` must be "tf" (lamina returns a keras.utils.PyDataset of NumPy '
            f"batches for it). Received: format={format!r}")
    start = start_index or 0
    end = end_index or length
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    window_data = data[start:end]
    window_targets = None if targets is None else targets[start:end]
    return TimeseriesDataset(window_data, window_targets, starts, sequence_length,
                             sampling_rate, batch_size, shuffle, seed)
