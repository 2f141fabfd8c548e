"""CategoryEncoding, and the encodings of integer categories that the lookup, hashing and
discretization layers share.

`encode_categories` works on JAX arrays (inside a compiled step, for CategoryEncoding,
Discretization and integer lookups) and on NumPy arrays (on the host, for the string layers),
with Keras 3's rules for each output mode:

* `"one_hot"`: a last axis of size 1 is replaced by the encoding, otherwise one is appended;
* `"multi_hot"` / `"count"`: each sample (axis 1 of a batch, or the whole of a rank-1 input)
  becomes one vector of length `depth`;
* indices outside `[0, depth)` (a mask's -1, say) encode as all zeros.
"""

import jax.numpy as jnp
import numpy as np

from lamina.layers.layer import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def _one_hot(xp, indices, depth, dtype):
    hot = indices[..., None] == xp.arange(depth, dtype=indices.dtype)
    return hot.astype(dtype)


def encode_categories(indices, output_mode, depth, dtype="float32", count_weights=None,
                      idf_weights=None, xp=jnp):
    """Encodes integer category indices (`xp` is `jnp` or `np`) as Keras 3 does.

    `output_mode` is "int" (a cast), "one_hot", "multi_hot", "count" or "tf_idf" (counts
    times `idf_weights`). With `count_weights` (same shape as `indices`), "count" sums the
    weights instead of ones.
    """
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return _one_hot(xp, indices, depth, dtype)
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return _one_hot(xp, indices, depth, dtype).max(axis=axis)
    weight_dtype = dtype if count_weights is None else count_weights.dtype
    hot = _one_hot(xp, indices, depth, weight_dtype)
    if count_weights is not None:
        hot = hot * count_weights[..., None]
    counts = hot.sum(axis=axis)
    if output_mode == "tf_idf":
        counts = counts.astype(dtype) * xp.asarray(idf_weights, dtype)
    return counts


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of `encode_categories` for an input shape (Keras's rules)."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    if len(input_shape) == 1:
        return (depth,)
    return (input_shape[0],) + input_shape[2:] + (depth,)


def check_output_mode(layer, output_mode, allowed):
    if output_mode not in allowed:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': invalid value for argument output_mode. "
            f"Expected one of {allowed}. Received: output_mode={output_mode!r}")


def refuse_sparse(layer, sparse):
    if sparse:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': sparse=True needs sparse tensors, which "
            "only Keras's TensorFlow backend has; lamina (like Keras on JAX) produces dense "
            "arrays. Pass sparse=False.")


class CategoryEncoding(Layer):
    """Encodes integer category ids (in `[0, num_tokens)`) as one-hot, multi-hot or count
    vectors, on the device, inside the compiled step.

    `output_mode`: `"multi_hot"` (default; one vector per sample with a 1 for each id
    present), `"one_hot"` (one vector per id; an input whose last axis has size 1 has it
    replaced) or `"count"` (how often each id occurs; `count_weights` in the call weighs
    each occurrence). Ids outside the range encode as zeros. Inputs of rank 1 are one sample.

    Examples:
        >>> layer = CategoryEncoding(num_tokens=4, output_mode="multi_hot")
        >>> layer(np.array([[0, 1], [0, 0], [1, 2], [3, 1]])).tolist()
        [[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
        >>> CategoryEncoding(num_tokens=3, output_mode="count")(np.array([0, 2, 2])).tolist()
        [1.0, 0.0, 2.0]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        check_output_mode(self, output_mode, OUTPUT_MODES)
        if num_tokens is None:
            raise ValueError(
                f"CategoryEncoding '{self.name}': num_tokens must be set (the number of "
                "categories). If the number of tokens is not known beforehand, use an "
                "IntegerLookup layer instead. Received: num_tokens=None")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or \
                num_tokens < 1:
            raise ValueError(
                f"CategoryEncoding '{self.name}': num_tokens must be an int >= 1. Received: "
                f"num_tokens={num_tokens!r}")
        refuse_sparse(self, sparse)
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs, count_weights=None):
        inputs = jnp.asarray(inputs)
        if jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype("int32")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    f"CategoryEncoding '{self.name}': count_weights is only used when "
                    f"output_mode='count'. Received: output_mode={self.output_mode!r} and "
                    "count_weights. Drop count_weights, or use output_mode='count'.")
            count_weights = jnp.asarray(count_weights, self.compute_dtype)
        return encode_categories(inputs, self.output_mode, self.num_tokens, self.compute_dtype,
                                 count_weights=count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}
