"""StringLookup: strings to vocabulary indices (and back), on the host."""

import numpy as np

from lamina.layers.preprocessing.host import to_string_array
from lamina.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary, given or learned by `adapt`,
    with Keras 3's index layout, arguments and outputs. Runs on the host (strings cannot
    live in JAX arrays; see `lamina.layers.preprocessing.host`).

    Index 0 is the mask (when `mask_token` is set and `output_mode="int"`), then come
    `num_oov_indices` out-of-vocabulary indices (an unknown string goes to one of them, by
    FarmHash64 when there are several; with 0, an unknown string is an error), then the
    vocabulary. `output_mode`: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
    `invert=True` maps indices back to strings. `sparse=True` (TensorFlow only) is refused.

    Examples:
        >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer(np.array([["a", "c", "d"], ["d", "z", "b"]])).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> layer = StringLookup()
        >>> layer.adapt(["b", "a", "b", "c", "b", "a"])
        >>> layer.get_vocabulary()
        ['[UNK]', 'b', 'a', 'c']
        >>> StringLookup(vocabulary=["a", "b"], invert=True)([2, 1, 0]).tolist()
        ['b', 'a', '[UNK]']
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(
            max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
            oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
            output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse,
            name=name, salt=salt, vocabulary_dtype="string", **kwargs)

    def _convert_tokens(self, values):
        return [v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in values]

    def _host_tokens(self, inputs):
        array, _ = to_string_array(self, inputs)
        return np.asarray(array, dtype=object)

    def _inverted_array(self, out):
        return np.asarray(out, dtype=object).astype(str)

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config
