"""Reuters newswires: 11,228 short news stories labeled with one of 46 topics, each encoded as a
list of word indices.

Word `i` of the file is the i-th most frequent word of the corpus. The file stores ragged lists
as pickled object arrays; they are read with a restricted unpickler that rebuilds NumPy arrays
and plain lists and refuses anything else, so a tampered file cannot run code.
"""

import json
import numbers

import numpy as np

from lamina.datasets._common import KERAS_DATASETS, check_test_split
from lamina.datasets._safe_pickle import load_npz
from lamina.datasets.imdb import _object_array
from lamina.utils.file_utils import get_file

__all__ = ["get_label_names", "get_word_index", "load_data"]

ORIGIN_BASE = KERAS_DATASETS
FILE_NAME = "reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_NAME = "reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"  # md5, as Keras publishes it

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the Reuters newswires as lists of word indices, shuffled with `seed` and split
    into training and test sets.

    Each newswire becomes `[start_char] + [index + index_from for each word]`; then, in this
    order (Keras 3's, so results match Keras for the same arguments):

    1. with `maxlen`, newswires whose length (counting `start_char`) is `maxlen` or more are
       dropped, not truncated;
    2. every index `w` outside `skip_top <= w < num_words` becomes `oov_char` (or is removed
       when `oov_char` is None). Both bounds apply to the shifted indices;
    3. the first `1 - test_split` of the newswires form the training set.

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).
        num_words: Keep only indices below this. None keeps every word.
        skip_top: Replace indices below this with `oov_char`.
        maxlen: Drop newswires of this length or longer. None keeps all.
        test_split: Fraction of the newswires kept for testing, in [0, 1).
        seed: Seed of the shuffle (`np.random.RandomState`, as Keras).
        start_char: Index put at the start of each newswire; None puts nothing.
        oov_char: Index that replaces cut words; None removes them instead.
        index_from: Offset added to every word index of the file.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: `x` is a 1-D object array of lists of ints,
        `y` an integer array of topics in 0-45 (named by `get_label_names()`).

    Examples:
        >>> (x_train, y_train), _ = keras.datasets.reuters.load_data()          # doctest: +SKIP
        >>> len(x_train), keras.datasets.reuters.get_label_names()[y_train[0]]  # doctest: +SKIP
        (8982, 'earn')
    """
    _check_arguments(num_words=num_words, skip_top=skip_top, maxlen=maxlen,
                     test_split=test_split, seed=seed, start_char=start_char,
                     oov_char=oov_char, index_from=index_from)
    path = get_file(fname=path, origin=ORIGIN_BASE + FILE_NAME, file_hash=FILE_HASH)
    arrays = load_npz(path)
    xs, labels = arrays["x"], arrays["y"]
    if len(xs) != len(labels):
        raise ValueError(
            f"{path} holds {len(xs)} newswires but {len(labels)} labels. The file is "
            "corrupted; delete it and download it again.")

    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = xs[order], labels[order]

    prefix = [] if start_char is None else [start_char]
    offset = index_from or 0
    xs = [prefix + [w + offset for w in x] for x in xs]

    if maxlen:
        kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
        if not kept:
            raise ValueError(
                f"No newswire is shorter than maxlen={maxlen}. Increase maxlen, or pass None "
                "to keep every newswire.")
        xs, labels = [xs[i] for i in kept], labels[kept]

    if not num_words:
        # One past the largest index, so that "None keeps every word" holds (Keras 3 uses the
        # largest index itself, which turns the rarest word into oov_char), as in imdb.
        num_words = max((max(x) for x in xs if x), default=0) + 1
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    cut = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((_object_array(xs[:cut]), labels[:cut]), (_object_array(xs[cut:]), labels[cut:]))


def get_word_index(path="reuters_word_index.json"):
    """Downloads (once) and returns the dict mapping each word to its index in the Reuters file.

    Indices in the data returned by `load_data` are the file's plus `index_from` (3 by
    default: 0 pads, 1 starts a newswire, 2 stands for a cut word).

    Args:
        path: Name of the cached file, relative to `~/.keras/datasets` (or `$KERAS_HOME`).

    Examples:
        >>> word_index = keras.datasets.reuters.get_word_index()                  # doctest: +SKIP
        >>> words = {i + 3: w for w, i in word_index.items()}                     # doctest: +SKIP
        >>> " ".join(words.get(i, "?") for i in x_train[0][1:])                   # doctest: +SKIP
    """
    path = get_file(fname=path, origin=ORIGIN_BASE + WORD_INDEX_NAME, file_hash=WORD_INDEX_HASH)
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def get_label_names():
    """The 46 topic names, indexed by the labels `load_data` returns.

    Examples:
        >>> names = lamina.datasets.reuters.get_label_names()
        >>> len(names), names[3], names[4]
        (46, 'earn', 'acq')
    """
    return _LABEL_NAMES


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _check_arguments(**arguments):
    """Refuses arguments of the wrong kind before anything is downloaded."""
    rules = {  # name: (allows None, smallest value)
        "num_words": (True, 1), "skip_top": (False, 0), "maxlen": (True, 1), "seed": (True, 0),
        "start_char": (True, 0), "oov_char": (True, 0), "index_from": (True, 0),
    }
    for name, (allows_none, smallest) in rules.items():
        value = arguments[name]
        if value is None and allows_none:
            continue
        if not _is_int(value) or value < smallest:
            expected = f"an integer >= {smallest}" + (" or None" if allows_none else "")
            error = TypeError if not _is_int(value) else ValueError
            raise error(
                f"reuters.load_data: argument `{name}` must be {expected}. "
                f"Received: {name}={value!r}")
    test_split = arguments["test_split"]
    if not isinstance(test_split, numbers.Real) or isinstance(test_split, bool):
        raise TypeError(
            "reuters.load_data: argument `test_split` must be a number in [0, 1). "
            f"Received: test_split={test_split!r}")
    check_test_split(test_split)
