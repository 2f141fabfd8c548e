"""IndexLookup: the vocabulary machinery of StringLookup, IntegerLookup and TextVectorization.

A vocabulary is an ordered list of tokens; a token's index is its position after the special
indices: the mask index 0 (when `mask_token` is set and `output_mode="int"`), then
`num_oov_indices` out-of-vocabulary indices. The lookup is a Python dict from token to index,
applied to a whole batch with one `map` (no per-token Python code), on the host.
Out-of-vocabulary tokens go to the single OOV index, or with several OOV indices to
`FarmHash64(token) % num_oov_indices` (strings) / `token % num_oov_indices` (integers), as in
Keras 3. `adapt` counts tokens with `collections.Counter` and keeps the most frequent
(`max_tokens`), ties broken by the token, larger first, which is Keras's order; with
`output_mode="tf_idf"` it also learns `idf = log(1 + documents / (1 + documents with the
token))`.

An adapted vocabulary is saved as Keras saves it: `assets/<layer path>/vocabulary.txt` in the
`.keras` archive, one token per line, special tokens first (`save_assets`/`load_assets`);
TF-IDF weights go to the layer's `vars/idf_weights` in the weights file.
"""

import collections
import itertools
import operator
import os

import numpy as np

from lamina import _serialization as serialization
from lamina.layers.preprocessing.adapt_data import adapt_batches
from lamina.layers.preprocessing.category_encoding import (
    check_output_mode, encode_categories, encoded_shape, refuse_sparse)
from lamina.layers.preprocessing.hashing import hash_to_buckets
from lamina.layers.preprocessing.host import HostLayer
from lamina.layers.symbolic import KerasTensor

LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_MISSING = -1


class _Vocabulary:
    """The learned or given tokens (specials excluded), their dict, and TF-IDF weights.
    Immutable: a new vocabulary replaces the old one whole."""

    __slots__ = ("_byte_index", "index", "tokens")

    def __init__(self, tokens, start):
        self.tokens = list(tokens)
        self.index = dict(zip(self.tokens, range(start, start + len(self.tokens))))
        self._byte_index = None

    def byte_index(self):
        """The index keyed by UTF-8 bytes, with TextVectorization's text separator (NUL) at
        -2; built on first use."""
        if self._byte_index is None:
            index = {token.encode("utf-8"): i for token, i in self.index.items()
                     if isinstance(token, str)}
            index[b"\x00"] = -2
            self._byte_index = index
        return self._byte_index


class IndexLookup(HostLayer):
    """Maps tokens to indices through a vocabulary (the base of StringLookup and
    IntegerLookup; see them for the arguments)."""

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", name=None,
                 salt=None, **kwargs):
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        for key in ("trainable", "dtype"):
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unrecognized keyword arguments {sorted(kwargs)}. "
                "Check the spelling against the layer's arguments.")
        super().__init__(name=name)
        label = f"{type(self).__name__} '{self.name}'"
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{label}: if set, max_tokens must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{label}: pad_to_max_tokens=True needs max_tokens to be set. "
                             f"Received: max_tokens={max_tokens}")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or \
                num_oov_indices < 0:
            raise ValueError(f"{label}: num_oov_indices must be an int >= 0. Received: "
                             f"num_oov_indices={num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{label}: oov_method must be 'floormod' or 'farmhash'. "
                             f"Received: oov_method={oov_method!r}")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(f"{label}: salt must be an int or a pair of ints. "
                                 f"Received: salt={salt!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_output_mode(self, output_mode, LOOKUP_MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{label}: output_mode must be 'int' when invert=True. "
                             f"Received: output_mode={output_mode!r}")
        refuse_sparse(self, sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{label}: idf_weights are only used with output_mode='tf_idf'. "
                             f"Received: output_mode={output_mode!r}")
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{label}: with a vocabulary argument and output_mode='tf_idf', "
                             "pass idf_weights too (one per vocabulary token).")
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._frozen_vocab_size = frozen_size
        self._vocab = None
        self.idf_weights = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ----------------------------------------------------------------------------- dtypes
    @property
    def compute_dtype(self):
        return self.vocabulary_dtype

    @property
    def variable_dtype(self):
        return self.vocabulary_dtype

    @property
    def input_dtype(self):
        return self.vocabulary_dtype

    # ----------------------------------------------------------------------------- indices
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _label(self):
        return f"{type(self).__name__} '{self.name}'"

    # ----------------------------------------------------------------------------- vocabulary
    def vocabulary_size(self):
        """The size of the vocabulary, mask and OOV indices included."""
        learned = len(self._vocab.tokens) if self._vocab is not None else 0
        return learned + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, a token's position being its index (with `include_special_tokens`,
        the mask and OOV tokens first; without, only the learned or given tokens)."""
        tokens = list(self._vocab.tokens) if self._vocab is not None else []
        if not include_special_tokens:
            return tokens
        specials = [self.oov_token] * self._token_start_index()
        if self.mask_token is not None and self.output_mode == "int":
            specials[0] = self.mask_token
        return specials + tokens

    def _convert_tokens(self, values):
        """Tokens as the vocabulary keys them (str or int)."""
        raise NotImplementedError

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list, tuple or 1-D array of tokens, or the path of a text
        file with one token per line) and, for `output_mode="tf_idf"`, the IDF weights.
        The special tokens may lead the vocabulary (as `get_vocabulary()` returns it) or be
        left out. Replaces any vocabulary the layer had; nothing changes if it is refused."""
        label = self._label()
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{label}: output_mode='tf_idf' needs idf_weights with the "
                                 "vocabulary (one weight per token).")
        elif idf_weights is not None:
            raise ValueError(f"{label}: idf_weights are only used with output_mode='tf_idf'. "
                             f"Received: output_mode={self.output_mode!r} and idf_weights.")
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        elif hasattr(vocabulary, "numpy") and not isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.numpy()
        vocabulary = self._convert_tokens(list(np.asarray(vocabulary, dtype=object).reshape(-1))
                                          if not isinstance(vocabulary, (list, tuple))
                                          else list(vocabulary))
        if not vocabulary:
            raise ValueError(f"{label}: cannot set an empty vocabulary. Pass at least one "
                             "token, or call adapt(data).")
        token_start = self._token_start_index()
        specials = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        found_specials = vocabulary[:token_start] == specials
        tokens = vocabulary[token_start:] if found_specials else vocabulary
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{label}: the vocabulary repeats the tokens {repeated[:20]}. "
                             "Each token must appear once: de-duplicate it.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                f"{label}: the mask token {self.mask_token!r} is in the vocabulary at index "
                f"{vocabulary.index(self.mask_token)}. Leave the mask and OOV tokens out of "
                f"the vocabulary, or put them only at its start, in this order: {specials}.")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(
                f"{label}: the OOV token {self.oov_token!r} is in the vocabulary at index "
                f"{vocabulary.index(self.oov_token)}. Leave the mask and OOV tokens out of "
                f"the vocabulary, or put them only at its start, in this order: {specials}.")
        size = token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{label}: the vocabulary has {size} entries (special tokens included), more "
                f"than max_tokens={self.max_tokens}. Pass a shorter vocabulary or raise "
                "max_tokens.")
        weights = None
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype="float32")
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError(
                    f"{label}: idf_weights must be 1-D with one weight per vocabulary entry "
                    f"({len(vocabulary)}). Received: shape {weights.shape}.")
            front = 0 if found_specials else token_start
            back = (self.max_tokens - front - len(weights)
                    if self.pad_to_max_tokens and self.max_tokens is not None else 0)
            weights = np.pad(weights, (front, back), constant_values=(
                0 if found_specials else np.average(weights), 0)).astype("float32")
        self._install(tokens, weights)

    def _read_vocabulary_file(self, path):
        if serialization.in_safe_mode():
            raise ValueError(
                f"{self._label()}: refusing to read the vocabulary file {path!r} named in a "
                "model being loaded in safe mode: a file outside the archive may hold anything "
                "on this machine. If you trust the model, load it with safe_mode=False.")
        if not os.path.isfile(path):
            raise ValueError(f"{self._label()}: the vocabulary file {path!r} does not exist. "
                             "Pass an existing text file (one token per line) or a list.")
        if self.output_mode == "tf_idf":
            raise ValueError(f"{self._label()}: output_mode='tf_idf' cannot read its "
                             "vocabulary from a file; pass a list and idf_weights.")
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def _install(self, tokens, idf_weights):
        """Replaces the vocabulary whole (the only place that writes it)."""
        new_size = self._token_start_index() + len(tokens)
        if (self.output_mode != "int" and not self.pad_to_max_tokens
                and self._frozen_vocab_size is not None and self._called
                and new_size != self._frozen_vocab_size):
            raise RuntimeError(
                f"{self._label()}: with output_mode={self.output_mode!r} and "
                "pad_to_max_tokens=False the vocabulary size cannot change after the layer was "
                f"called (the model's shapes depend on it). Old size "
                f"{self._frozen_vocab_size}, new size {new_size}. Set pad_to_max_tokens=True "
                "with max_tokens, or adapt before building the model.")
        self._vocab = _Vocabulary(tokens, self._token_start_index())
        self.idf_weights = idf_weights
        self._frozen_vocab_size = new_size

    _called = False

    @property
    def idf_weights_const(self):
        """The TF-IDF weights (Keras's name for their value), or None."""
        return self.idf_weights

    # ----------------------------------------------------------------------------- adapt
    def adapt(self, data, steps=None):
        """Learns the vocabulary from `data` (an array or list of tokens, or an iterable of
        batches), keeping the `max_tokens` most frequent tokens. Nothing changes if reading
        the data fails halfway."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                "vocabulary argument. Create the layer without vocabulary to adapt it.")
        counts = collections.Counter()
        document_counts = collections.Counter() if self.output_mode == "tf_idf" else None
        documents = 0
        single = not _is_stream(data)
        for batch in adapt_batches(self, data, steps):
            rows = self._adapt_rows(batch, expand_rank1=single)
            counts.update(itertools.chain.from_iterable(rows))
            if document_counts is not None:
                document_counts.update(itertools.chain.from_iterable(set(r) for r in rows))
                documents += len(rows)
        self._finish_adapt(counts, document_counts, documents)

    def _adapt_rows(self, batch, expand_rank1):
        """A batch as a list of rows (documents), each a list of tokens."""
        array = self._host_tokens(batch)
        if array.ndim == 0:
            array = array.reshape(1, 1)
        elif array.ndim == 1:
            array = array[:, None] if expand_rank1 else array[None, :]
        array = array.reshape(array.shape[0], -1)
        return array.tolist()

    def _finish_adapt(self, counts, document_counts, documents):
        if not counts:
            return  # as in Keras: adapting on no tokens keeps the current vocabulary
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        ranked = sorted(counts.items(), key=operator.itemgetter(1, 0), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        tokens = [token for token, _ in ranked]
        weights = None
        if document_counts is not None:
            frequency = np.array([document_counts[t] for t in tokens], dtype=np.float64)
            weights = np.log(1 + documents / (1 + frequency)).astype("float32")
            front = float(np.mean(weights)) if len(weights) else 0.0
            weights = np.pad(weights, (self._token_start_index(), 0), constant_values=front)
            if self.pad_to_max_tokens and self.max_tokens is not None:
                weights = np.pad(weights, (0, self.max_tokens - len(weights)))
            weights = weights.astype("float32")
        self._install(tokens, weights)

    # ----------------------------------------------------------------------------- calling
    def _host_tokens(self, inputs):
        """The inputs as a NumPy array of vocabulary keys."""
        raise NotImplementedError

    def _require_vocabulary(self, owner=None):
        if self._vocab is None:
            raise RuntimeError(
                f"{owner or self._label()} has no vocabulary yet: call adapt(data) first, or "
                "create it with vocabulary=[...] (or call set_vocabulary). Without one every token "
                "would be out of vocabulary.")

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def host_call(self, inputs):
        self._require_vocabulary()
        object.__setattr__(self, "_called", True)
        if self.invert:
            return self._invert(np.asarray(inputs))
        tokens = self._host_tokens(inputs)
        flat = tokens.reshape(-1).tolist()
        ids = self.lookup_flat(flat).reshape(tokens.shape)
        if self.output_mode == "int":
            return ids
        # Keras counts in int64 (TensorFlow's bincount) and weighs TF-IDF in float32.
        dtype = "float32" if self.output_mode == "tf_idf" else "int64"
        return encode_categories(ids, self.output_mode, self._depth(), dtype,
                                 idf_weights=self.idf_weights, xp=np)

    def lookup_flat(self, flat):
        """Indices (int64) of a flat list of tokens: vocabulary, mask and OOV rules. One dict
        `map` over the tokens; only the tokens not in the vocabulary are looked at again."""
        ids = np.fromiter(map(self._vocab.index.get, flat, itertools.repeat(_MISSING)),
                          dtype=np.int64, count=len(flat))
        positions = np.flatnonzero(ids == _MISSING)
        if len(positions):
            tokens = [flat[i] for i in positions.tolist()]
            values = np.empty(len(tokens), dtype=np.int64)
            if self.mask_token is None:
                masked = np.zeros(len(tokens), dtype=bool)
            else:  # the mask token is never in the vocabulary (set_vocabulary refuses it)
                masked = np.array([t == self.mask_token for t in tokens], dtype=bool)
                values[masked] = 0 if self.output_mode == "int" else _MISSING
            others = [t for t, m in zip(tokens, masked.tolist()) if not m]
            if others:
                values[~masked] = self._oov_indices(others)
            ids[positions] = values
        return ids

    def _oov_indices(self, tokens):
        start = self._oov_start_index()
        if self.num_oov_indices == 0:
            # RuntimeError: what Keras 3 on JAX raises (TensorFlow's assertion, re-raised).
            raise RuntimeError(
                f"{self._label()}: when num_oov_indices=0 all inputs should be in the "
                f"vocabulary; found OOV values {tokens[:20]}. Consider setting "
                "num_oov_indices=1, or add these tokens to the vocabulary.")
        if self.num_oov_indices == 1:
            return np.full(len(tokens), start, dtype=np.int64)
        if self.vocabulary_dtype != "string" and self.oov_method != "farmhash":
            return np.mod(np.asarray(tokens, dtype=np.int64), self.num_oov_indices) + start
        texts = [str(t) for t in tokens]
        return hash_to_buckets(texts, self.num_oov_indices, self.salt) + start

    def _invert(self, indices):
        indices = np.asarray(indices).astype(np.int64)
        table = np.array(self.get_vocabulary(), dtype=object)
        start = self._token_start_index()
        valid = (indices >= start) & (indices < len(table))
        out = np.where(valid, table[np.clip(indices, 0, len(table) - 1)], self.oov_token)
        if self.mask_token is not None:
            out = np.where(indices == 0, self.mask_token, out)
        return self._inverted_array(out)

    def _inverted_array(self, out):
        return out

    # ----------------------------------------------------------------------------- shapes
    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def compute_output_spec(self, inputs):
        if self.output_mode == "int":
            dtype = self.vocabulary_dtype if self.invert else "int64"
        else:
            dtype = "float32"
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=dtype)

    # ----------------------------------------------------------------------------- saving
    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.built = True

    def get_config(self):
        config = {
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
            "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype,
            "idf_weights": _listify(self.input_idf_weights),
            "vocabulary": _listify(self.input_vocabulary),
            "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method, "salt": self.salt,
        }
        base = super().get_config()
        return {**{k: base[k] for k in ("name", "trainable", "dtype") if k in base}, **config}

    def save_own_values(self):
        """`{key: array}` written to this layer's `vars` group (Keras's `idf_weights`)."""
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            return {"idf_weights": np.asarray(self.idf_weights)}
        return {}

    def load_own_values(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self.idf_weights = np.asarray(store["idf_weights"], dtype="float32")

    def save_assets(self, dir_path):
        """Writes `vocabulary.txt` (one token per line, special tokens first) into
        `dir_path`, as Keras does; nothing when the vocabulary is in the config."""
        if self.input_vocabulary is not None or self._vocab is None:
            return
        text = "\n".join(str(token) for token in self.get_vocabulary())
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as handle:
            handle.write(text)

    def load_assets(self, dir_path):
        """Reads the `vocabulary.txt` that `save_assets` wrote."""
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return
        weights = self.idf_weights if self.output_mode == "tf_idf" else None
        if self.output_mode == "tf_idf" and weights is None:
            weights = np.zeros(len(lines), "float32")
        called = self._called
        object.__setattr__(self, "_called", False)
        try:
            self.set_vocabulary(lines, idf_weights=weights)
        finally:
            object.__setattr__(self, "_called", called)


def _is_stream(data):
    return not isinstance(data, (list, tuple, np.ndarray, str, bytes)) and \
        hasattr(data, "__iter__") and not hasattr(data, "shape")


def _listify(value):
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return value
