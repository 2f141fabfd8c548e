"""What the `keras.utils.*_dataset_from_directory` functions share: indexing a folder of class
subfolders, the training/validation split, label encodings, and the dataset they return.

Keras returns a `tf.data.Dataset` (or, with `format="grain"`, a `grain.IterDataset`). lamina
runs without TensorFlow, so the default (`format="tf"`) returns a `FileDataset`: a
`keras.utils.PyDataset` that reads its files batch by batch, on the trainer's prefetch thread,
and yields NumPy batches that `fit`, `evaluate` and `predict` take as they are. It carries
`class_names` and `file_paths` as Keras's dataset does, and with `shuffle=True` it draws a new
order of the samples every epoch from `seed`. What it lacks is the `tf.data` API (`map`,
`batch`, `take`, ...): index it (`dataset[i]`), iterate it, or pass `format="grain"` (with
`pip install grain`) to get a `grain.IterDataset` of the same samples, which has those
transformations.
"""

import math
import os

import numpy as np

from lamina._data import PyDataset

_LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed,
                    format, what):
    """The argument checks every `*_dataset_from_directory` function makes first."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                f"as the number of {what} files in the target directory. If you wish to infer "
                "the labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains '
                f"{what} samples (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. Received: '
                f"labels={labels}, and class_names={class_names}")
    if label_mode not in _LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset.")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')


def _valid_files(directory, follow_links, formats):
    """(root, name) of the files under `directory` whose names end in `formats`, sorted."""
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield root, name


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """`(file_paths, labels, class_names)` of the files in `directory`, as Keras indexes them:
    with `labels="inferred"` each subfolder (sorted, or in `class_names`' order) is a class and
    its files (recursively) are that class's; otherwise all files, sorted, with `labels` (a
    list, one per file) or none. With `shuffle`, paths and labels are shuffled together with
    `seed`."""
    if not os.path.isdir(directory):
        raise ValueError(
            f"`directory` must be an existing folder. Received: directory={directory!r}, "
            f"which {'is a file' if os.path.exists(directory) else 'does not exist'}.")
    if labels == "inferred":
        subdirs = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), but "
                    f"received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            if labels is None:
                raise ValueError(
                    "When `labels=None` (no labels), argument `class_names` cannot be "
                    "specified.")
            raise ValueError(
                "When argument `labels` is specified, argument `class_names` cannot be "
                "specified (the `class_names` will be the sorted list of labels).")
        subdirs = [""]
    file_paths, found_labels = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir) if subdir else directory
        for root, name in _valid_files(folder, follow_links, formats):
            file_paths.append(os.path.join(root, name))
            found_labels.append(index)
    if labels == "inferred":
        labels = np.asarray(found_labels, dtype=np.int32)
        class_names = subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(file_paths):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(file_paths)} "
                f"files in directory {directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        if labels is None:
            print(f"Found {len(file_paths)} files.")
        else:
            print(f"Found {len(file_paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        order = np.random.RandomState(seed).permutation(len(file_paths))
        file_paths = [file_paths[i] for i in order]
        if labels is not None:
            labels = labels[order]
    return file_paths, labels, class_names


def split(file_paths, labels, validation_split, subset, verbose=True):
    """The `subset` ("training" or "validation") part of the samples: the last
    `int(validation_split * n)` are the validation ones, as in Keras."""
    if not validation_split:
        return file_paths, labels
    validation = int(validation_split * len(file_paths))
    training = len(file_paths) - validation
    if subset == "training":
        if verbose:
            print(f"Using {training} files for training.")
        return file_paths[:training], None if labels is None else labels[:training]
    if verbose:
        print(f"Using {validation} files for validation.")
    return file_paths[training:], None if labels is None else labels[training:]


def encode_labels(labels, label_mode, num_classes):
    """Integer labels in Keras's encodings: int32 `(n,)`, float32 `(n, 1)` for "binary",
    one-hot float32 `(n, num_classes)` for "categorical"."""
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels.astype(np.int64)]
    return labels.astype(np.int32)


def _note_file(error, path, what, fix):
    error.add_note(f"Raised while reading the {what} file '{path}'. {fix}")
    return error


class FileDataset(PyDataset):
    """The dataset the `*_dataset_from_directory` functions return (see the module
    docstring): `len()` batches of `batch_size` samples read by `load(path)` and stacked by
    `collate`, as `(samples, labels)` or samples alone; `class_names` and `file_paths` as in
    Keras. With `shuffle`, each epoch after the first visits the samples in a new order drawn
    from `seed`; `batch_size=None` yields single samples.

    Examples:
        >>> dataset = FileDataset(["a.txt", "b.txt"], None, len, batch_size=2,
        ...                       collate=np.asarray)
        >>> len(dataset), dataset[0].tolist()
        (1, [5, 5])
    """

    def __init__(self, file_paths, labels, load, batch_size=32, shuffle=False, seed=None,
                 collate=np.stack, class_names=None, what="data", fix=""):
        super().__init__()
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self.batch_size = batch_size
        self._labels = labels
        self._load = load
        self._collate = collate
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.file_paths))
        self._what = what
        self._fix = fix

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self.batch_size)

    def _sample(self, index):
        path = self.file_paths[index]
        try:
            return self._load(path)
        except Exception as error:
            raise _note_file(error, path, self._what, self._fix)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for a dataset of "
                             f"{len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:
            rows = self._order[index:index + 1]
            sample = self._sample(rows[0])
            return sample if self._labels is None else (sample, self._labels[rows[0]])
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        samples = self._collate([self._sample(row) for row in rows])
        return samples if self._labels is None else (samples, self._labels[rows])

    def on_epoch_end(self):
        if self._shuffle:
            self._order = self._rng.permutation(len(self.file_paths))

    def __repr__(self):
        return (f"<FileDataset: {len(self.file_paths)} {self._what} files, {len(self)} "
                f"batches of {self.batch_size}, class_names={self.class_names}>")


def to_grain(dataset):
    """The samples of a `FileDataset` as a `grain.IterDataset` (`format="grain"`), batched
    like it, with its `class_names` and `file_paths`."""
    try:
        import grain
    except ImportError as error:
        raise ImportError(
            'format="grain" returns a grain.IterDataset and needs Grain: install it with '
            '`pip install grain` (or lamina[grain]), or use the default format, which '
            "returns a keras.utils.PyDataset.") from error

    def sample(index):
        value = dataset._sample(index)
        return value if dataset._labels is None else (value, dataset._labels[index])

    source = grain.MapDataset.range(len(dataset.file_paths))
    if dataset._shuffle:
        source = source.shuffle(seed=int(dataset._rng.integers(2 ** 31)))
    result = source.map(sample).to_iter_dataset()
    if dataset.batch_size is not None:
        collate = dataset._collate

        def batch(values):
            if dataset._labels is None:
                return collate(values)
            return collate([v for v, _ in values]), np.stack([label for _, label in values])

        result = result.batch(dataset.batch_size, batch_fn=batch)
    result.class_names = dataset.class_names
    result.file_paths = dataset.file_paths
    return result


def build(file_paths, labels, label_mode, class_names, validation_split, subset, make,
          directory, kind, allowed, verbose):
    """The dataset (or the two of `subset="both"`) from indexed files; `make(paths, labels,
    training)` builds one. Empty subsets are refused with Keras's messages (`kind`: "images",
    `allowed`: "Allowed formats: ...")."""
    if label_mode == "binary" and class_names is not None and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={class_names}")
    encoded = None if labels is None else encode_labels(
        labels, label_mode, len(class_names) if class_names else 0)
    if subset == "both":
        train = split(file_paths, encoded, validation_split, "training", verbose)
        validation = split(file_paths, encoded, validation_split, "validation", verbose)
        if not train[0]:
            raise ValueError(f"No training {kind} found in directory {directory}. {allowed}")
        if not validation[0]:
            raise ValueError(f"No validation {kind} found in directory {directory}. {allowed}")
        return make(*train, True), make(*validation, False)
    file_paths, encoded = split(file_paths, encoded, validation_split, subset, verbose)
    if not file_paths:
        raise ValueError(f"No {kind} found in directory {directory}. {allowed}")
    return make(file_paths, encoded, subset != "validation")
