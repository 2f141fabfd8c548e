"""IntegerLookup: integer ids to contiguous vocabulary indices (and back).

On concrete arrays the lookup runs on the host with a dict (out-of-vocabulary ids with
`num_oov_indices=0` raise there). Inside a compiled step (a model's `fit` on integer
features) it runs on the device: the vocabulary becomes a sorted key array and a
`searchsorted`, so the layer compiles with the rest of the model. A compiled program cannot
raise on data, so there an out-of-vocabulary id with `num_oov_indices=0` gives -1.
"""

import jax.numpy as jnp
import numpy as np

from lamina.layers.preprocessing.category_encoding import encode_categories
from lamina.layers.preprocessing.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integer ids (any values) to contiguous indices through a vocabulary, given or
    learned by `adapt`, with Keras 3's index layout, arguments and outputs.

    Index 0 is the mask (when `mask_token` is set and `output_mode="int"`), then
    `num_oov_indices` out-of-vocabulary indices (an unknown id goes to `id %
    num_oov_indices`, or by FarmHash64 of its text with `oov_method="farmhash"`), then the
    vocabulary. `output_mode`: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"`, `"tf_idf"`.
    `invert=True` maps indices back to ids. Runs inside the compiled step when the model is
    compiled (see the module docstring), on the host otherwise.

    Examples:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> layer = IntegerLookup()
        >>> layer.adapt(np.array([12, 36, 12, 1138, 12, 36]))
        >>> layer.get_vocabulary()
        [-1, 12, 36, 1138]
    """

    _device_capable = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "IntegerLookup supports only vocabulary_dtype='int64' (as Keras 3). "
                f"Received: vocabulary_dtype={vocabulary_dtype!r}")
        super().__init__(
            max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
            oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
            idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name,
            **kwargs)

    def _convert_tokens(self, values):
        converted = []
        for value in values:
            if isinstance(value, (str, bytes)):
                value = int(value)
            converted.append(int(value))
        return converted

    def _host_tokens(self, inputs):
        array = np.asarray(inputs)
        if array.dtype.kind == "f":
            if not np.all(np.equal(np.mod(array, 1), 0)):
                raise ValueError(
                    f"IntegerLookup '{self.name}' takes integer ids; received floats with a "
                    "fractional part. Pass integers (or round them first).")
        elif array.dtype.kind not in "biu":
            raise TypeError(
                f"IntegerLookup '{self.name}' takes integer ids; received an array of dtype "
                f"{array.dtype}. Use StringLookup for strings.")
        return array.astype(np.int64)

    def call(self, inputs):
        """The lookup on the device (inside a compiled step)."""
        self._require_vocabulary()
        inputs = jnp.asarray(inputs)
        if self.invert:
            table = np.array(self.get_vocabulary(), dtype=np.int64)
            start = self._token_start_index()
            valid = (inputs >= start) & (inputs < len(table))
            out = jnp.where(valid, jnp.asarray(table)[jnp.clip(inputs, 0, len(table) - 1)],
                            self.oov_token)
            if self.mask_token is not None:
                out = jnp.where(inputs == 0, self.mask_token, out)
            return out
        tokens = np.asarray(self._vocab.tokens, dtype=np.int64)
        order = np.argsort(tokens)
        keys = jnp.asarray(tokens[order])
        values = jnp.asarray(order + self._token_start_index())
        position = jnp.clip(jnp.searchsorted(keys, inputs), 0, max(len(tokens) - 1, 0))
        found = keys[position] == inputs
        start = self._oov_start_index()
        if self.num_oov_indices == 0:
            oov = jnp.full_like(inputs, -1)
        elif self.num_oov_indices == 1:
            oov = jnp.full_like(inputs, start)
        elif self.oov_method == "floormod":
            oov = jnp.mod(inputs, self.num_oov_indices) + start
        else:
            raise TypeError(
                f"IntegerLookup '{self.name}': oov_method='farmhash' hashes the ids' text, "
                "which runs on the host only. Use it outside the compiled step (apply it to "
                "the data first), or use oov_method='floormod'.")
        ids = jnp.where(found, values[position], oov).astype("int32")
        if self.mask_token is not None:
            ids = jnp.where(inputs == self.mask_token,
                            0 if self.output_mode == "int" else -1, ids)
        if self.output_mode == "int":
            return ids
        idf = None if self.idf_weights is None else jnp.asarray(self.idf_weights)
        return encode_categories(ids, self.output_mode, self._depth(), "float32",
                                 idf_weights=idf)

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
