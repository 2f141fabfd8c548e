"""Hashing: strings and integers into a fixed number of bins, with Keras 3's hash values.

Keras's layer hashes through TensorFlow on every backend, so its bins are
`Fingerprint64(value) % num_bins`, where Fingerprint64 is Google's FarmHash fingerprint
(`tf.strings.to_hash_bucket_fast`) of the value's UTF-8 bytes; integers are hashed as their
decimal text and floats are truncated to integers first. With a `salt`, the hash is SipHash-2-4
keyed by the two salt words (`tf.strings.to_hash_bucket_strong`). lamina computes the same
numbers on the host: FarmHash through the `pyfarmhash` package (the `text` extra; a C
extension), SipHash in Python, each once per distinct value of a batch.
"""

import numpy as np

from lamina.layers.preprocessing.category_encoding import (
    check_output_mode, encode_categories, refuse_sparse)
from lamina.layers.preprocessing.host import HostLayer
from lamina.layers.symbolic import KerasTensor

_MASK64 = (1 << 64) - 1


def _farmhash():
    try:
        import farmhash
    except ImportError as error:
        raise ImportError(
            "Hashing strings needs the pyfarmhash package (Keras's FarmHash64 fingerprint): "
            "pip install 'lamina[text]' (or pip install pyfarmhash).") from error
    return farmhash


def fingerprint64(texts):
    """FarmHash Fingerprint64 (as TensorFlow computes it) of each str, as uint64."""
    fingerprint = _farmhash().fingerprint64
    return np.fromiter(map(fingerprint, texts), dtype=np.uint64, count=len(texts))


def _rotl(value, count):
    return ((value << count) | (value >> (64 - count))) & _MASK64


def siphash24(key0, key1, data):
    """SipHash-2-4 of `data` (bytes) with the 128-bit key `(key0, key1)`, as an int."""
    v0 = key0 ^ 0x736F6D6570736575
    v1 = key1 ^ 0x646F72616E646F6D
    v2 = key0 ^ 0x6C7967656E657261
    v3 = key1 ^ 0x7465646279746573

    def rounds(v0, v1, v2, v3, count):
        for _ in range(count):
            v0 = (v0 + v1) & _MASK64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _MASK64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    length = len(data)
    whole = length - length % 8
    for at in range(0, whole, 8):
        word = int.from_bytes(data[at:at + 8], "little")
        v3 ^= word
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= word
    last = ((length & 0xFF) << 56) | int.from_bytes(data[whole:], "little")
    v3 ^= last
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
    v0 ^= last
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def hash_to_buckets(texts, num_buckets, salt=None):
    """`hash(text) % num_buckets` (int64) for a list of str: FarmHash64, or SipHash-2-4 with
    `salt` (two ints). Each distinct text is hashed once."""
    if not len(texts):
        return np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    if salt is None:
        hashes = fingerprint64(unique.tolist())
    else:
        key0, key1 = (int(s) & _MASK64 for s in salt)
        hashes = np.array([siphash24(key0, key1, t.encode("utf-8")) for t in unique.tolist()],
                          dtype=np.uint64)
    return (hashes % np.uint64(num_buckets)).astype(np.int64)[inverse.reshape(-1)]


def values_as_text(values):
    """Keras's conversion before hashing: strings as they are, floats truncated to
    integers, integers as decimal text."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        array = array.astype(np.int64)
    if array.dtype.kind in "biu":
        return array, [str(v) for v in array.reshape(-1).tolist()]
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v)
            for v in array.reshape(-1).tolist()]
    return array, flat


class Hashing(HostLayer):
    """Hashes strings or integers into `num_bins` bins, with Keras 3's stable hash (FarmHash64
    fingerprints, or SipHash-2-4 with a `salt`), so the bins equal Keras's for the same
    values. Runs on the host (see `lamina.layers.preprocessing.host`).

    `mask_value`: values equal to it go to bin 0 and the others to bins `1..num_bins-1`.
    `output_mode`: `"int"` (bin ids), `"one_hot"`, `"multi_hot"` or `"count"` over the bins.

    Examples:
        >>> layer = Hashing(num_bins=3)
        >>> layer([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
        [[1], [0], [1], [1], [2]]
        >>> Hashing(num_bins=3, salt=[133, 137])([["A"], ["B"], ["C"]]).tolist()
        [[1], [2], [1]]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        # The dtype argument may be a name or, from a file, a DTypePolicy: ask the policy.
        dtype = self.compute_dtype
        if num_bins is None or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(
                f"Hashing '{self.name}': num_bins must be a positive int. Received: "
                f"num_bins={num_bins!r}")
        check_output_mode(self, output_mode, ("int", "one_hot", "multi_hot", "count"))
        if output_mode == "int" and dtype not in ("int32", "int64"):
            raise ValueError(
                f"Hashing '{self.name}': with output_mode='int', dtype must be 'int32' or "
                f"'int64'. Received: dtype={dtype!r}")
        refuse_sparse(self, sparse)
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(
                    f"Hashing '{self.name}': salt must be an int or a pair of ints. "
                    f"Received: salt={salt!r}")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.salt = salt
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.output_dtype = self.compute_dtype

    def host_call(self, inputs):
        array, texts = values_as_text(inputs)
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = np.fromiter((t == str(self.mask_value) for t in texts), dtype=bool,
                               count=len(texts))
        ids = hash_to_buckets(texts, bins, self.salt)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        ids = ids.reshape(array.shape)
        if self.output_mode == "one_hot" and ids.ndim and ids.shape[-1] == 1:
            ids = ids[..., 0]
        dtype = self.output_dtype if self.output_mode == "int" else "float32"
        return encode_categories(ids, self.output_mode, self.num_bins, dtype, xp=np)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if not input_shape:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def compute_output_spec(self, inputs):
        dtype = self.output_dtype if self.output_mode == "int" else "float32"
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=dtype)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}
