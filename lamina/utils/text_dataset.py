"""`keras.utils.text_dataset_from_directory`: a folder of `.txt` files, one class per
subfolder, as batches of strings."""

import functools

import numpy as np

from lamina._registry import keras_export
from lamina.utils import dataset_from_directory as folders


def _read_text(path, max_length):
    with open(path, encoding="utf-8") as file:
        text = file.read()
    return text if max_length is None else text[:max_length]


def _stack_texts(texts):
    return np.asarray(texts, dtype=object)


@keras_export("keras.utils.text_dataset_from_directory",
              "keras.preprocessing.text_dataset_from_directory")
def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A dataset of the `.txt` files in `directory`, one class per subfolder, for `fit`.

    Labels, `class_names`, `shuffle`/`seed` and `validation_split`/`subset` work as in
    `image_dataset_from_directory`. Batches are `(texts, labels)`: texts a NumPy array of
    Python strings (dtype object) of shape `(batch,)`, each file's whole content decoded as
    UTF-8 and cut to its first `max_length` characters if set; labels as `label_mode` says.
    Strings cannot enter a compiled step: start the model with a `TextVectorization` layer
    (which runs on the host) or vectorize the texts first.

    Returns a `keras.utils.PyDataset` of NumPy batches with `class_names` and `file_paths`
    (Keras returns a `tf.data.Dataset` of `tf.string`), or a `grain.IterDataset` with
    `format="grain"`. A file that is not UTF-8 raises its error, with a note naming it.

    Examples:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> for name, text in (("neg", "awful"), ("pos", "great fun")):
        ...     os.makedirs(os.path.join(folder, name))
        ...     with open(os.path.join(folder, name, "1.txt"), "w") as file:
        ...         _ = file.write(text)
        >>> dataset = keras.utils.text_dataset_from_directory(
        ...     folder, batch_size=2, shuffle=False, verbose=False)
        >>> texts, labels = dataset[0]
        >>> texts.tolist(), labels.tolist()
        (['awful', 'great fun'], [0, 1])
    """
    folders.check_arguments(labels, label_mode, class_names, validation_split, subset,
                            shuffle, seed, format, "text")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if max_length is not None and (isinstance(max_length, bool) or
                                   not isinstance(max_length, int) or max_length < 0):
        raise ValueError(
            f"`max_length` must be None or an int >= 0. Received: max_length={max_length!r}")
    if seed is None:
        seed = np.random.randint(1e6)
    file_paths, labels, class_names = folders.index_directory(
        directory, labels, formats=(".txt",), class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    load = functools.partial(_read_text, max_length=max_length)

    def make(paths, encoded, training):
        dataset = folders.FileDataset(
            paths, encoded, load, batch_size=batch_size, shuffle=shuffle and training,
            seed=seed, collate=_stack_texts, class_names=class_names, what="text",
            fix="Save it as UTF-8 text, or remove it from the folder.")
        return folders.to_grain(dataset) if format == "grain" else dataset

    return folders.build(file_paths, labels, label_mode, class_names, validation_split,
                         subset, make, directory, "text files", "Allowed format: .txt",
                         verbose)
