"""TextVectorization: raw strings to token ids or bag-of-words vectors, on the host.

The pipeline is Keras 3's, computed with Python's string methods on whole batches:

* standardize: `"lower"` lowercases ASCII letters only and `"strip_punctuation"` deletes
  ASCII punctuation (`string.punctuation`), as TensorFlow's `strings.lower` and Keras's regex
  do; `"lower_and_strip_punctuation"` (default) does both in one `str.translate` per text. A
  callable receives a NumPy array of str and returns one.
* split: `"whitespace"` splits on ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r), as
  TensorFlow does (Python's `str.split` also splits on other Unicode spaces: those texts take
  a regex instead); `"character"` splits into Unicode characters; a callable receives a NumPy
  array of str and returns one list of tokens per text.
* ngrams: the n-grams of each width, joined by spaces, all of the first width first.
* lookup (an inner StringLookup with mask token "" at index 0 and one OOV index) and the
  output: `"int"` pads every row with 0 to the longest row, or to `output_sequence_length`
  (cutting longer rows); `"multi_hot"`, `"count"` and `"tf_idf"` give one vector per text.

Ragged and sparse outputs exist on Keras's TensorFlow backend only; lamina, like Keras on
JAX, refuses them. The vocabulary is saved as Keras saves it (`vocabulary.txt` in the layer's
assets, and again under its `_lookup_layer`).
"""

import collections
import itertools
import re
import string

import numpy as np

from lamina import _serialization as serialization
from lamina.layers.preprocessing.adapt_data import adapt_batches
from lamina.layers.preprocessing.category_encoding import check_output_mode
from lamina.layers.preprocessing.host import HostLayer, to_string_array
from lamina.layers.preprocessing.index_lookup import LOOKUP_MODES
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.layers.symbolic import KerasTensor

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_STRIP = str.maketrans("", "", string.punctuation)
_LOWER_AND_STRIP = str.maketrans(string.ascii_uppercase, string.ascii_lowercase,
                                 string.punctuation)
_TABLES = {"lower": _LOWER, "strip_punctuation": _STRIP,
           "lower_and_strip_punctuation": _LOWER_AND_STRIP}
# The same on UTF-8 bytes (ASCII bytes never occur inside a multi-byte character), for the
# fast path: bytes.translate and bytes.split work on whole batches at C speed, and
# bytes.split() splits on ASCII whitespace only, as TensorFlow does.
_IDENTITY = bytes(range(256))
_BYTE_LOWER = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())
_BYTE_TABLES = {"lower": (_BYTE_LOWER, b""),
                "strip_punctuation": (_IDENTITY, string.punctuation.encode()),
                "lower_and_strip_punctuation": (_BYTE_LOWER, string.punctuation.encode()),
                None: (_IDENTITY, b"")}
_SEPARATOR = "\x00"  # between texts in the fast path (a text holding one takes the slow path)
_MARK = -2  # the separator's id in the fast path's lookup
# Characters Python's str.split() treats as whitespace but TensorFlow's split does not.
_OTHER_SPACES = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
                           "\u3000]")
_ASCII_SPACES = re.compile("[ \t\n\v\f\r]+")


def _split_whitespace(text):
    if _OTHER_SPACES.search(text) is None:
        return text.split()
    return [token for token in _ASCII_SPACES.split(text) if token]


def _ngrams(tokens, widths):
    if widths == (1,):
        return tokens
    grams = []
    for width in widths:
        grams.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return grams


class TextVectorization(HostLayer):
    """Turns raw strings into token ids (`output_mode="int"`) or one vector per text
    (`"multi_hot"`, `"count"`, `"tf_idf"`; `"binary"` and `"tf-idf"` are aliases), with a
    vocabulary given or learned by `adapt`, as Keras 3's layer does.

    Runs on the host, before the compiled step (see `lamina.layers.preprocessing.host`):
    `model.fit`/`predict` on raw strings work when the model starts with this layer (after
    `keras.Input(shape=(1,), dtype="string")`, or first in a Sequential). The module docstring
    lists the standardization, splitting and padding rules. `ragged=True` and `sparse=True`
    need TensorFlow tensors and are refused.

    Examples:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "the dog ran!", "a cat ran"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'ran', 'cat', 'sat', 'dog', 'a']
        >>> layer(["the cat ran away"]).tolist()
        [[2, 4, 3, 1]]
        >>> bag = TextVectorization(output_mode="count", vocabulary=["cat", "dog"])
        >>> bag(["cat dog cat bird"]).tolist()
        [[1, 2, 1]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        for key in ("dtype",):
            kwargs.pop(key, None)
        super().__init__(name=name, **kwargs)
        label = f"TextVectorization '{self.name}'"
        if ragged:
            raise ValueError(
                f"{label}: ragged=True returns a tf.RaggedTensor, which exists on Keras's "
                "TensorFlow backend only; lamina (like Keras on JAX) returns dense arrays. "
                "Pass ragged=False and use output_sequence_length to fix the length (rows "
                "are padded with 0).")
        if sparse:
            raise ValueError(
                f"{label}: sparse=True returns a tf.SparseTensor, which exists on Keras's "
                "TensorFlow backend only; lamina (like Keras on JAX) returns dense arrays. "
                "Pass sparse=False.")
        if not (standardize is None or callable(standardize) or standardize in _TABLES):
            raise ValueError(
                f"{label}: invalid value for argument standardize. Expected one of "
                f"{tuple(_TABLES)}, None or a callable. Received: standardize={standardize!r}")
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(
                f"{label}: invalid value for argument split. Expected one of ('whitespace', "
                f"'character'), None or a callable. Received: split={split!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_output_mode(self, output_mode, LOOKUP_MODES)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
                or (isinstance(ngrams, tuple) and all(isinstance(i, int) for i in ngrams))):
            raise ValueError(f"{label}: ngrams must be None, an int or a tuple of ints. "
                             f"Received: ngrams={ngrams!r}")
        if output_mode == "int" and not (output_sequence_length is None or (
                isinstance(output_sequence_length, int) and output_sequence_length > 0)):
            raise ValueError(
                f"{label}: output_sequence_length must be None or a positive int when "
                f"output_mode is 'int'. Received: output_sequence_length="
                f"{output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                f"{label}: output_sequence_length applies to output_mode='int' only. "
                f"Received: output_mode={output_mode!r}, output_sequence_length="
                f"{output_sequence_length}")
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged = ragged
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self.encoding = encoding
        self._has_input_vocabulary = has_input_vocabulary
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, has_input_vocabulary=has_input_vocabulary, encoding=encoding,
            vocabulary_size=vocabulary_size)

    @property
    def compute_dtype(self):
        return "string"

    @property
    def variable_dtype(self):
        return "string"

    @property
    def input_dtype(self):
        return "string"

    # ----------------------------------------------------------------------------- text
    def _texts(self, inputs, standardize=True):
        """The inputs as a list of texts (one per row, standardized unless told not to) and
        the batch shape."""
        array, scalar = to_string_array(self, inputs)
        array = np.asarray(array, dtype=object)
        if self._split is not None and array.ndim > 1:
            if array.shape[-1] != 1:
                raise ValueError(
                    f"TextVectorization '{self.name}': to split strings into tokens the "
                    "input must have rank 1, or a last axis of size 1. Received: inputs of "
                    f"shape {array.shape}. Pass one string per row.")
            array = array[..., 0]
        shape = array.shape
        texts = array.reshape(-1).tolist()
        standardize = self._standardize if standardize else None
        if callable(standardize):
            result = standardize(np.asarray(texts, dtype=str) if texts else
                                 np.zeros(0, dtype=str))
            texts = [str(t) for t in np.asarray(result).reshape(-1).tolist()]
        elif standardize is not None:
            table = _TABLES[standardize]
            texts = [text.translate(table) for text in texts]
        return texts, shape, scalar

    def _tokens(self, texts):
        """One list of tokens (n-grams included) per text."""
        split = self._split
        if split == "whitespace":
            rows = [_split_whitespace(text) for text in texts]
        elif split == "character":
            rows = [list(text) for text in texts]
        elif callable(split):
            result = split(np.asarray(texts, dtype=str) if texts else np.zeros(0, dtype=str))
            rows = [[str(token) for token in row] for row in result]
        else:
            rows = [[text] for text in texts]
        if self._ngrams is not None:
            rows = [_ngrams(row, self._ngrams) for row in rows]
        return rows

    def _fast_path(self):
        return (self._split == "whitespace" and self._ngrams in (None, (1,))
                and not callable(self._standardize))

    def _fast_tokens(self, texts):
        """All tokens of a batch as UTF-8 bytes, texts separated by a NUL token, from one
        `translate` and one `split` over the joined batch; None if a text holds a NUL."""
        joined = _SEPARATOR.join(texts)
        if joined.count(_SEPARATOR) != max(len(texts) - 1, 0):
            return None
        table, delete = _BYTE_TABLES[self._standardize]
        data = joined.encode("utf-8").translate(table, delete)
        return data.replace(b"\x00", b" \x00 ").split()

    def _fast_lookup(self, tokens, count):
        """(ids, lengths) of `count` texts from `_fast_tokens`' output."""
        lookup = self._lookup_layer
        index = lookup._vocab.byte_index()
        ids = np.fromiter(map(index.get, tokens, itertools.repeat(-1)), dtype=np.int64,
                          count=len(tokens))
        marks = np.flatnonzero(ids == _MARK)
        bounds = np.concatenate(([-1], marks, [len(ids)]))
        lengths = np.diff(bounds) - 1
        ids = ids[ids != _MARK]
        ids[ids == -1] = lookup._oov_start_index()  # one OOV index, no mask among tokens
        return ids, lengths[:count]

    # ----------------------------------------------------------------------------- adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and, for `"tf_idf"`, the IDF weights) from `data`: a list
        or array of strings, or an iterable of batches of them (a generator, a
        `PyDataset`, ...). The `max_tokens` most frequent tokens are kept, ties broken by
        the token (larger first), as in Keras. Nothing changes if reading the data fails
        halfway."""
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                "vocabulary argument. Create the layer without vocabulary to adapt it.")
        counts = collections.Counter()
        document_counts = collections.Counter() if self._output_mode == "tf_idf" else None
        documents = 0
        for batch in adapt_batches(self, data, steps):
            fast = self._fast_path() and document_counts is None
            if fast:
                texts, _, _ = self._texts(batch, standardize=False)
                tokens = self._fast_tokens(texts)
                if tokens is not None:
                    batch_counts = collections.Counter(tokens)
                    batch_counts.pop(b"\x00", None)
                    counts.update({t.decode("utf-8"): n for t, n in batch_counts.items()})
                    continue
                texts, _, _ = self._texts(batch)
            else:
                texts, _, _ = self._texts(batch)
            rows = self._tokens(texts)
            counts.update(itertools.chain.from_iterable(rows))
            if document_counts is not None:
                document_counts.update(itertools.chain.from_iterable(set(r) for r in rows))
                documents += len(rows)
        lookup._finish_adapt(counts, document_counts, documents)

    # ----------------------------------------------------------------------------- call
    def host_call(self, inputs):
        lookup = self._lookup_layer
        lookup._require_vocabulary(f"TextVectorization '{self.name}'")
        object.__setattr__(lookup, "_called", True)
        ids = None
        if self._fast_path():
            texts, shape, scalar = self._texts(inputs, standardize=False)
            tokens = self._fast_tokens(texts)
            if tokens is not None:
                ids, lengths = self._fast_lookup(tokens, len(texts))
            else:
                texts, shape, scalar = self._texts(inputs)
        else:
            texts, shape, scalar = self._texts(inputs)
        if ids is None:
            rows = self._tokens(texts)
            lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
            ids = lookup.lookup_flat(list(itertools.chain.from_iterable(rows)))
        rows = texts
        mode = self._output_mode
        if mode == "int":
            width = self._output_sequence_length
            if width is None:
                width = int(lengths.max()) if len(lengths) else 0
            out = np.zeros((len(rows), width), dtype=np.int64)
            keep = np.minimum(lengths, width)
            row_of = np.repeat(np.arange(len(rows)), lengths)
            column = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            inside = column < np.repeat(keep, lengths)
            out[row_of[inside], column[inside]] = ids[inside]
            if scalar:
                return out[0]
            if self._split is None and shape and shape[-1] == 1:
                shape = shape[:-1]  # one token per text: its axis becomes the sequence axis
            return out.reshape(tuple(shape) + (width,))
        depth = lookup._depth()
        row_of = np.repeat(np.arange(len(rows)), lengths)
        valid = (ids >= 0) & (ids < depth)
        counts = np.bincount(row_of[valid] * depth + ids[valid],
                             minlength=len(rows) * depth).reshape(len(rows), depth)
        # Keras counts in int64 (TensorFlow's bincount) and weighs TF-IDF in float32.
        if mode == "multi_hot":
            out = (counts > 0).astype(np.int64)
        elif mode == "count":
            out = counts.astype(np.int64)
        elif mode == "tf_idf":
            out = counts.astype("float32") * np.asarray(lookup.idf_weights, "float32")
        else:  # one_hot: each text must be one token
            out = np.zeros((len(ids), depth), dtype=np.int64)
            out[np.arange(len(ids))[valid], ids[valid]] = 1.0
            return out
        return out[0] if scalar else out.reshape(tuple(shape) + (depth,))

    # ----------------------------------------------------------------------------- vocabulary
    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary (with the padding "" and OOV "[UNK]" tokens first, unless
        `include_special_tokens=False`); a token's position is its id."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The size of the vocabulary, padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list or array of tokens, or a text file with one per line)
        and, for `"tf_idf"`, the IDF weights, replacing any learned ones."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ----------------------------------------------------------------------------- shapes
    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            if len(input_shape) <= 1:
                input_shape = tuple(input_shape) + (1,)
        else:
            input_shape = tuple(input_shape) + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def compute_output_spec(self, inputs):
        dtype = "int64" if self._output_mode == "int" else "float32"
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=dtype)

    # ----------------------------------------------------------------------------- saving
    def get_build_config(self):
        return None

    def get_config(self):
        lookup = self._lookup_layer
        base = super().get_config()
        return {
            **{k: base[k] for k in ("name", "trainable", "dtype") if k in base},
            "max_tokens": lookup.max_tokens,
            "standardize": self._standardize if not callable(self._standardize)
            else serialization.serialize_keras_object(self._standardize),
            "split": self._split if not callable(self._split)
            else serialization.serialize_keras_object(self._split),
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": lookup.sparse,
            "ragged": self._ragged,
            "vocabulary": _listify(lookup.input_vocabulary),
            "idf_weights": _listify(lookup.input_idf_weights),
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = serialization.deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        config.pop("dtype", None)
        return cls(**config)

    def save_own_values(self):
        return self._lookup_layer.save_own_values()

    def load_own_values(self, store):
        self._lookup_layer.load_own_values(store)

    def save_assets(self, dir_path):
        """Writes the vocabulary as Keras does (`vocabulary.txt`)."""
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        """Reads the vocabulary that `save_assets` wrote."""
        self._lookup_layer.load_assets(dir_path)


def _listify(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
