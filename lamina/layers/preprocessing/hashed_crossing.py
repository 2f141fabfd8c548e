"""HashedCrossing: crosses of categorical features hashed into bins, with Keras 3's values.

Keras computes the cross with TensorFlow's `tf.sparse.cross_hashed` on every backend: each
feature value is hashed (FarmHash64 fingerprint of a string, the value itself for an
integer), the hashes are chained with `FingerprintCat64` starting from TensorFlow's default
key 0xDECAFCAFFE, and the result is taken modulo `num_bins`. lamina computes the same numbers
on the host with NumPy's uint64 arithmetic.
"""

import numpy as np

from lamina.layers.preprocessing.category_encoding import (
    check_output_mode, encode_categories, refuse_sparse)
from lamina.layers.preprocessing.hashing import fingerprint64
from lamina.layers.preprocessing.host import HostLayer
from lamina.layers.symbolic import KerasTensor

_CROSS_HASH_KEY = np.uint64(0xDECAFCAFFE)
_MUL = np.uint64(0xC6A4A7935BD1E995)
_SHIFT = np.uint64(47)


def _shift_mix(value):
    return value ^ (value >> _SHIFT)


def _fingerprint_cat64(first, second):
    with np.errstate(over="ignore"):
        result = first ^ _MUL
        result = result ^ (_shift_mix(second * _MUL) * _MUL)
        result = result * _MUL
        result = _shift_mix(result) * _MUL
        return _shift_mix(result)


def _feature_hashes(layer, values):
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.reshape(-1).astype(np.int64).view(np.uint64)
    if array.dtype.kind in "USO":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else v
                for v in array.reshape(-1).tolist()]
        if not all(isinstance(v, str) for v in flat):
            raise ValueError(
                f"HashedCrossing '{layer.name}': every input must hold integers or strings. "
                "Received an input with other values (e.g. "
                f"{next(v for v in flat if not isinstance(v, str))!r}).")
        return fingerprint64(flat)
    raise ValueError(
        f"HashedCrossing '{layer.name}': every input must have an integer or string dtype. "
        f"Received an input of dtype {array.dtype}. Cast it, or bin floats with "
        "Discretization first.")


class HashedCrossing(HostLayer):
    """Crosses two or more categorical features (integers or strings, each of shape `()`,
    `(batch,)` or `(batch, 1)`) and hashes each combination into `num_bins` bins, with the
    values Keras 3 computes. Runs on the host (see `lamina.layers.preprocessing.host`).

    `output_mode`: `"int"` (bin ids) or `"one_hot"`.

    Examples:
        >>> layer = HashedCrossing(num_bins=5)
        >>> feat1 = np.array(["A", "B", "A", "B", "A"])
        >>> feat2 = np.array([101, 101, 101, 102, 102])
        >>> layer((feat1, feat2)).tolist()
        [1, 4, 1, 1, 3]
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        refuse_sparse(self, sparse)
        check_output_mode(self, output_mode, ("int", "one_hot"))
        if num_bins is None or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(f"HashedCrossing '{self.name}': num_bins must be a positive int. "
                             f"Received: num_bins={num_bins!r}")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                f"HashedCrossing '{self.name}' is called on a list or tuple of at least two "
                f"inputs. Received: {type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else ""))
        shapes = [tuple(np.shape(x)) for x in inputs]
        first = shapes[0]
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError(
                f"HashedCrossing '{self.name}': every input must have shape (), (batch,) or "
                f"(batch, 1). Received shapes {shapes}.")
        if any(shape != first for shape in shapes[1:]):
            raise ValueError(
                f"HashedCrossing '{self.name}': all inputs must have the same shape. "
                f"Received shapes {shapes}.")
        return first

    def host_call(self, inputs):
        shape = self._check_inputs(inputs)
        crossed = np.full(int(np.prod(shape)) if shape else 1, _CROSS_HASH_KEY,
                          dtype=np.uint64)
        for feature in inputs:
            crossed = _fingerprint_cat64(crossed, _feature_hashes(self, feature))
        ids = (crossed % np.uint64(self.num_bins)).astype(np.int64).reshape(shape)
        dtype = self.compute_dtype if self.output_mode == "int" else "float32"
        return encode_categories(ids, self.output_mode, self.num_bins, dtype, xp=np)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            return first[:-1] + (self.num_bins,)
        return first + (self.num_bins,)

    def compute_output_spec(self, inputs):
        shapes = [tuple(x.shape) for x in inputs]
        dtype = self.compute_dtype if self.output_mode == "int" else "float32"
        return KerasTensor(self.compute_output_shape(shapes), dtype=dtype)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name,
                "dtype": self.variable_dtype}
