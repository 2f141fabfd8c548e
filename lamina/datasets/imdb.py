"""IMDB movie reviews (Maas et al., 2011): 25,000 training and 25,000 test reviews, labeled
positive (1) or negative (0), each encoded as a list of word indices.

Word `i` of the file is the i-th most frequent word of the training set. The file stores ragged
lists as pickled object arrays; they are read with a restricted unpickler that rebuilds NumPy
arrays and plain lists and refuses anything else, so a tampered file cannot run code.
"""

import json

import numpy as np

from lamina.datasets._common import KERAS_DATASETS
from lamina.datasets._safe_pickle import load_npz
from lamina.utils.file_utils import get_file

__all__ = ["get_word_index", "load_data"]

ORIGIN_BASE = KERAS_DATASETS
FILE_NAME = "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_NAME = "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5, as Keras publishes it


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    """Loads IMDB reviews as lists of word indices, shuffled with `seed`.

    Each review becomes `[start_char] + [index + index_from for each word]`; then, in this
    order (Keras 3's, so results match Keras for the same arguments):

    1. with `maxlen`, reviews whose length (counting `start_char`) is `maxlen` or more are
       dropped, not truncated;
    2. every index `w` outside `skip_top <= w < num_words` becomes `oov_char` (or is removed
       when `oov_char` is None). Both bounds apply to the shifted indices, so `skip_top` counts
       `start_char`, `oov_char` and the `index_from` reserved slots too.

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).
        num_words: Keep only indices below this (the `num_words - index_from` most frequent
            words, with the defaults). None keeps every word.
        skip_top: Replace indices below this with `oov_char`.
        maxlen: Drop reviews of this length or longer. None keeps all.
        seed: Seed of the shuffle (`np.random.RandomState`, train then test, as Keras).
        start_char: Index put at the start of each review; None puts nothing.
        oov_char: Index that replaces cut words; None removes them instead.
        index_from: Offset added to every word index of the file.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `x` is a 1-D object array of lists of ints,
        `y` an integer array of 0/1 labels.

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)  # doctest: +SKIP
        >>> max(max(review) for review in x_train) < 10000                         # doctest: +SKIP
        True
    """
    if kwargs:
        raise TypeError(
            f"imdb.load_data() got unexpected keyword arguments {sorted(kwargs)}. Keras 1's "
            "`nb_words` is now `num_words`.")
    path = get_file(fname=path, origin=ORIGIN_BASE + FILE_NAME, file_hash=FILE_HASH)
    arrays = load_npz(path)
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]

    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, labels_train = x_train[order], labels_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, labels_test = x_test[order], labels_test[order]

    prefix = [] if start_char is None else [start_char]
    offset = index_from or 0
    x_train = [prefix + [w + offset for w in review] for review in x_train]
    x_test = [prefix + [w + offset for w in review] for review in x_test]

    if maxlen:
        x_train, labels_train = _drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = _drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"No review is shorter than maxlen={maxlen} in the "
                f"{'training' if not x_train else 'test'} set. Increase maxlen.")

    reviews = x_train + x_test
    if not num_words:
        # One past the largest index, so that "None keeps every word" holds (Keras 3 uses the
        # largest index itself, which turns the rarest word into oov_char).
        num_words = max((max(review) for review in reviews if review), default=0) + 1
    if oov_char is not None:
        reviews = [[w if skip_top <= w < num_words else oov_char for w in review]
                   for review in reviews]
    else:
        reviews = [[w for w in review if skip_top <= w < num_words] for review in reviews]

    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    split = len(x_train)
    return ((_object_array(reviews[:split]), labels[:split]),
            (_object_array(reviews[split:]), labels[split:]))


def get_word_index(path="imdb_word_index.json"):
    """Downloads (once) and returns the dict mapping each word to its index in the IMDB file.

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).

    Example: decoding a review (indices in the data are the file's plus `index_from`):

    Examples:
        >>> word_index = keras.datasets.imdb.get_word_index()                     # doctest: +SKIP
        >>> words = {i + 3: w for w, i in word_index.items()}                     # doctest: +SKIP
        >>> words.update({1: "[START]", 2: "[OOV]"})                              # doctest: +SKIP
        >>> " ".join(words.get(i, "?") for i in x_train[0])                       # doctest: +SKIP
    """
    path = get_file(fname=path, origin=ORIGIN_BASE + WORD_INDEX_NAME, file_hash=WORD_INDEX_HASH)
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _drop_long(maxlen, reviews, labels):
    kept = [i for i, review in enumerate(reviews) if len(review) < maxlen]
    return [reviews[i] for i in kept], [labels[i] for i in kept]


def _object_array(reviews):
    # np.array(list_of_lists, dtype=object) would build a 2-D array when all reviews have the
    # same length; this is always 1-D.
    array = np.empty(len(reviews), dtype=object)
    for i, review in enumerate(reviews):
        array[i] = review
    return array
