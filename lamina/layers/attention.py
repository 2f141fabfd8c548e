"""Attention layers: `MultiHeadAttention` (Vaswani et al., 2017), `Attention` (Luong-style dot
product) and `AdditiveAttention` (Bahdanau-style), and the mask combination they and
`GroupQueryAttention` share.

MultiHeadAttention builds its projections as `EinsumDense` sublayers named `query`, `key`,
`value` (and `gate`) and `attention_output`, with Keras 3's equations, so its weights have Keras
3's names, shapes and order.
"""

import contextlib
import math
import string

import jax
import jax.numpy as jnp

from lamina import constraints, initializers, ops, random, regularizers
from lamina._runtime import config
from lamina._runtime.masking import get_keras_mask, set_keras_mask
from lamina.layers._sublayers import build_sublayer, own_scope
from lamina.layers.core import EinsumDense
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor


def _large_negative(dtype):
    # What masked logits are set to: far below any real logit, yet finite in float16.
    return -3e4 if jnp.dtype(dtype) == jnp.float16 else -1e9


def _read(variable, dtype):
    # Scores are computed in the compute dtype under a mixed policy (Keras's autocast).
    return variable.value.astype(dtype)


def _projection_equation(free_dims, bound_dims, output_dims):
    """`(equation, bias_axes, output_rank)` of a projection that keeps `free_dims` leading axes,
    contracts `bound_dims` axes with the kernel, and adds `output_dims` axes."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    added = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{added}->{free}{added}", added, free_dims + output_dims


def _attention_equations(rank, attention_axes):
    """The query-key product and the combination with values, as einsum equations.

    Projected tensors are `(batch, <other axes>, <attention axes>, heads, channels)`; the axes
    not attended over (the batch, the heads, ...) are batch axes of the product. Returns
    `(dot_product_equation, combine_equation, scores_rank)`.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    source = list(target)
    for offset, axis in enumerate(attention_axes):
        source[axis] = letters[rank + offset]
    source = "".join(source)
    batch_axes = [i for i in range(rank - 1) if i not in attention_axes]
    product = "".join([target[i] for i in batch_axes] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


@contextlib.contextmanager
def masks_set_aside(*tensors):
    """Removes the inputs' Keras masks while the projections run, and puts them back: the
    attention layer has used them, and the projections would otherwise warn that they drop
    them (Keras deletes the masks for good; here the caller's tensors keep theirs)."""
    saved = [(tensor, get_keras_mask(tensor)) for tensor in tensors]
    for tensor, mask in saved:
        if mask is not None:
            set_keras_mask(tensor, None)
    try:
        yield
    finally:
        for tensor, mask in saved:
            if mask is not None:
                set_keras_mask(tensor, mask)


def _mask_to_rank(mask, rank, axis):
    """Adds axes to `mask` at `axis` until it has `rank` dimensions (Keras's expansion)."""
    for _ in range(rank - mask.ndim):
        mask = jnp.expand_dims(mask, axis=axis)
    return mask


def _check_input_mask(layer, mask_name, mask, input_name, input_shape):
    """A query/value/key mask must have its input's shape without the features axis."""
    expected = tuple(input_shape[:-1])
    received = tuple(mask.shape)
    if len(received) != len(expected) or any(
            e is not None and r is not None and r not in (1, e)
            for r, e in zip(received, expected)):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': {mask_name} of shape {received} does not "
            f"fit {input_name} of shape {tuple(input_shape)}. Expected a mask of shape "
            f"{expected} ({input_name}'s shape without its last axis), True at the positions "
            "to keep.")


def combine_attention_masks(layer, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, use_causal_mask=False,
                            sliding_window=None):
    """The `(B, T, S)` boolean mask (or None) of an attention call, as Keras builds it: the query
    mask as `(B, T, 1)`, the value and key masks as `(B, 1, S)`, the causal `(1, T, S)` lower
    triangle and the sliding-window band, ANDed with `attention_mask`. All arrays: no Python
    branch depends on a mask's values, so it traces into a compiled step."""
    key = value if key is None else key
    masks = []
    for name, mask, input_name, tensor, axis in (
            ("query_mask", query_mask, "query", query, -1),
            ("value_mask", value_mask, "value", value, -2),
            ("key_mask", key_mask, "key", key, -2)):
        if mask is not None:
            mask = jnp.asarray(mask).astype(bool)
            _check_input_mask(layer, name, mask, input_name, tensor.shape)
            masks.append(jnp.expand_dims(mask, axis))
    q_length, v_length = query.shape[1], value.shape[1]
    rows, cols = jnp.arange(q_length)[:, None], jnp.arange(v_length)[None, :]
    if use_causal_mask:
        masks.append((rows >= cols)[None])
    if sliding_window is not None:
        masks.append((jnp.abs(rows - cols) < sliding_window)[None])
    if attention_mask is not None:
        masks.insert(0, jnp.asarray(attention_mask).astype(bool))
    if not masks:
        return None
    combined = masks[0]
    for mask in masks[1:]:
        combined = combined & mask
    return combined


def _clone_initializer(initializer):
    # Each projection gets its own initializer object, as in Keras (a seeded initializer shared
    # by the four projections would otherwise give them related values).
    if hasattr(initializer, "get_config") and hasattr(type(initializer), "from_config"):
        return type(initializer).from_config(initializer.get_config())
    return initializer


class MultiHeadAttention(Layer):
    """Multi-head attention: `num_heads` scaled dot-product attentions over learned projections
    of `query`, `key` and `value`, concatenated and projected back.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default `key_dim`).
        dropout: dropout rate on the attention probabilities (in training).
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (default: the query's last axis).
        attention_axes: the axes attention runs over (default: all but batch and features).
        sliding_window: if set, a query attends only to keys less than this many positions
            away.
        use_gate: multiply the attention output by a sigmoid gate projected from the query.
        kernel_*, bias_*, activity_regularizer: the initializers, regularizers and
            constraints of the projections.
        seed: the seed of the dropout.

    Call arguments: `query` `(B, T, dim)`, `value` `(B, S, dim)`, `key` (default `value`),
    `attention_mask` (boolean `(B, T, S)`, True where a query may attend to a key),
    `query_mask` `(B, T)`, `value_mask` / `key_mask` `(B, S)`, `use_causal_mask`,
    `return_attention_scores` (also return the `(B, heads, T, S)` probabilities), `training`.

    Masks: `query_mask`, `value_mask` and `key_mask` are filled in from the inputs' Keras masks
    (`Embedding(mask_zero=True)`, `Masking`) and combined with `attention_mask`, the causal
    mask and the sliding window into one `(B, T, S)` mask, all as arrays, so the combination
    compiles into the step. The output carries the query's mask. As in Keras 3, a query whose
    keys are all masked (a padded position) attends to every key evenly on the fused path
    (no dropout, no scores), and gets zero weights when scores are returned or dropout is set.
    Keras ignores an explicit `query_mask=` (it reads only the query's own mask); lamina uses it.

    Examples:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = jnp.ones((2, 5, 8))
        >>> output, scores = mha(x, x, return_attention_scores=True)
        >>> output.shape, scores.shape
        ((2, 5, 8), (2, 2, 5, 5))
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"MultiHeadAttention: {arg} must be a positive integer. Received: "
                    f"{arg}={value!r}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError(
                "MultiHeadAttention: value_dim must be a positive integer or None. Received: "
                f"value_dim={value_dim!r}")
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError(
                "MultiHeadAttention: sliding_window must be None or a positive integer. "
                f"Received: sliding_window={sliding_window!r}")
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                "MultiHeadAttention: attention_axes must be an int, a list or a tuple. "
                f"Received: attention_axes={attention_axes!r}")
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(
                output_shape)
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = use_gate
        self._output_shape = output_shape or None
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._sliding_window = sliding_window
        # flash_attention=None follows keras.config.disable_flash_attention() at creation, as
        # in Keras (where an explicit False also falls back to the switch; here it stays False).
        if flash_attention is None:
            flash_attention = config.is_flash_attention_enabled()
        if flash_attention and dropout > 0:
            raise ValueError(
                "MultiHeadAttention: dropout is not supported with flash attention. Received: "
                f"dropout={dropout!r}, flash_attention=True. Set dropout=0.0, or leave "
                "flash_attention=None.")
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        # As in Keras, the activity regularizer applies to the projections, not to this layer.
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if dropout > 0 else None
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))
        self._query_dense = self._key_dense = self._value_dense = None
        self._gate_dense = self._output_dense = None
        self._shapes_dict = None

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    # ----------------------------------------------------------------------------- building
    def build(self, query_shape, value_shape=None, key_shape=None):
        # The Layer protocol hands build() the shape of the first argument only; without the
        # value's shape the projections are created at the first call instead.
        if value_shape is not None:
            self._build_projections(query_shape, value_shape, key_shape)
        self.built = True

    def _build_projections(self, query_shape, value_shape, key_shape=None):
        if self._query_dense is not None:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': value and key must have the same shape "
                f"except for the last axis. Received: value shape {value_shape} and key shape "
                f"{key_shape}.")
        if len(query_shape) != len(value_shape):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': query and value must have the same rank. "
                f"Received: query shape {query_shape} and value shape {value_shape}.")
        with own_scope(self):
            self._query_dense = self._projection(query_shape, self._key_dim, "query")
            self._key_dense = self._projection(key_shape, self._key_dim, "key")
            if self._use_gate:
                self._gate_dense = self._projection(query_shape, self._value_dim, "gate",
                                                    activation="sigmoid")
            self._value_dense = self._projection(value_shape, self._value_dim, "value")
            rank = len(query_shape) + 1  # the projections add a heads axis
            self._build_attention(rank)
            output_shape = self._output_shape or (query_shape[-1],)
            equation, bias_axes, output_rank = _projection_equation(
                len(query_shape) - 1, bound_dims=2, output_dims=len(output_shape))
            self._output_dense = EinsumDense(
                equation, output_shape=[None] * (output_rank - 1 - len(output_shape))
                + list(output_shape), bias_axes=bias_axes if self._use_bias else None,
                name="attention_output", **self._sublayer_arguments())
            projected = list(self._query_dense.compute_output_shape(query_shape))
            projected[-1] = self._value_dim
            build_sublayer(self._output_dense, tuple(projected))

    def _sublayer_arguments(self):
        return {
            "kernel_initializer": _clone_initializer(self._kernel_initializer),
            "bias_initializer": _clone_initializer(self._bias_initializer),
            "kernel_regularizer": self._kernel_regularizer,
            "bias_regularizer": self._bias_regularizer,
            "activity_regularizer": self._activity_regularizer,
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint,
            "dtype": self.dtype_policy,
        }

    def _projection(self, input_shape, size, name, activation=None):
        equation, bias_axes, output_rank = _projection_equation(
            len(input_shape) - 1, bound_dims=1, output_dims=2)
        layer = EinsumDense(
            equation, output_shape=[None] * (output_rank - 3) + [self._num_heads, size],
            bias_axes=bias_axes if self._use_bias else None, activation=activation, name=name,
            **self._sublayer_arguments())
        build_sublayer(layer, input_shape)
        return layer

    def _normalized_axes(self, rank):
        if self._attention_axes is None:
            return tuple(range(1, rank - 2))
        return tuple(axis if axis >= 0 else (rank - 1) + axis for axis in self._attention_axes)

    def _build_attention(self, rank):
        self._attention_axes = self._normalized_axes(rank)
        self._dot_product_equation, self._combine_equation, scores_rank = \
            _attention_equations(rank, self._attention_axes)
        self._norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))

    def get_build_config(self):
        return None if self._shapes_dict is None else {"shapes_dict": dict(self._shapes_dict)}

    # ----------------------------------------------------------------------------- computing
    def _masked_softmax(self, attention_scores, attention_mask=None):
        if attention_mask is not None:
            # A (B, T, S) mask gains the heads axis (and any other batch axes) in front of the
            # attended axes.
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(attention_scores.ndim - attention_mask.ndim):
                attention_mask = jnp.expand_dims(attention_mask, axis=axis)
            attention_scores = jnp.where(attention_mask, attention_scores,
                                         _large_negative(attention_scores.dtype))
        probabilities = jax.nn.softmax(attention_scores, axis=self._norm_axes)
        if attention_mask is not None:
            # A query row with every key masked gets zeros, not a uniform distribution.
            probabilities = jnp.where(attention_mask, probabilities, 0.0)
        return probabilities

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False):
        """Scaled dot-product attention of projected `(B, T, heads, key_dim)` tensors; returns
        `(attention_output, attention_scores)`. Subclasses may override it."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': attention scores are not computed with "
                "flash attention. Received: return_attention_scores=True with "
                "flash_attention=True; create the layer with flash_attention=None to get them.")
        if not (self._dropout > 0 or return_attention_scores or query.ndim != 4):
            # Keras's choice of path: without dropout or scores, one fused attention (where a
            # query whose keys are all masked attends to all of them evenly; the path below
            # gives it zeros). (B, T, S) -> (B, 1, T, S): one mask for all heads.
            mask = None if attention_mask is None else _mask_to_rank(attention_mask, 4, -3)
            if self._uses_flash_attention(query, return_attention_scores):
                try:
                    return ops.dot_product_attention(
                        query, key, value, mask=mask, scale=self._inverse_sqrt_key_dim,
                        flash_attention=True), None
                except (ValueError, NotImplementedError):
                    if self._flash_attention:
                        raise  # asked for explicitly: the error says why it cannot run here
                    # Automatic: cuDNN refuses this shape or dtype; XLA's kernel serves.
            return ops.dot_product_attention(query, key, value, mask=mask,
                                             scale=self._inverse_sqrt_key_dim,
                                             flash_attention=False), None
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        weights = scores
        if training and self._dropout > 0:
            weights = random.dropout(scores, self._dropout, seed=self.seed_generator)
        return jnp.einsum(self._combine_equation, weights, value), scores

    def _uses_flash_attention(self, query, return_attention_scores):
        """Whether this call runs the fused (cuDNN flash) kernel: always when the layer was
        made with flash_attention=True (ops.dot_product_attention raises off a GPU), and
        with None (automatic) on a GPU for float16/bfloat16 inputs; never with False, with
        dropout, when scores are asked for, or over several attention axes."""
        if self._flash_attention is False or self._dropout > 0 or return_attention_scores \
                or query.ndim != 4:
            return False
        if self._flash_attention:
            return True
        return jax.devices()[0].platform == "gpu" and query.dtype in (jnp.float16,
                                                                       jnp.bfloat16)

    def _compute_causal_mask(self, query, value=None):
        """`(1, T, S)`: True where the key position is not after the query position."""
        q_length = query.shape[1]
        v_length = q_length if value is None else value.shape[1]
        return (jnp.arange(q_length)[:, None] >= jnp.arange(v_length)[None, :])[None]

    def _compute_sliding_window_mask(self, query, value=None):
        q_length = query.shape[1]
        v_length = q_length if value is None else value.shape[1]
        distance = jnp.abs(jnp.arange(q_length)[:, None] - jnp.arange(v_length)[None, :])
        return (distance < self._sliding_window)[None]

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None,
                                key_mask=None, attention_mask=None, use_causal_mask=False,
                                key=None):
        """The `(B, T, S)` boolean mask combining all the masks given (or None)."""
        if attention_mask is not None:
            attention_mask = jnp.asarray(attention_mask).astype(bool)
            self._check_attention_mask(attention_mask, query, value)
        return combine_attention_masks(
            self, query, value, key, query_mask=query_mask, value_mask=value_mask,
            key_mask=key_mask, attention_mask=attention_mask, use_causal_mask=use_causal_mask,
            sliding_window=self._sliding_window)

    def _check_attention_mask(self, mask, query, value):
        axes = self._attention_axes
        expected = tuple(query.shape[a] for a in axes) + tuple(value.shape[a] for a in axes)
        trailing = tuple(mask.shape[-len(expected):]) if mask.ndim >= len(expected) else None
        if trailing is None or any(m not in (1, e) for m, e in zip(trailing, expected)):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': attention_mask must end with the query "
                f"and key attention axes {expected} (e.g. shape (batch,) + {expected}), True "
                f"where a query may attend to a key. Received a mask of shape "
                f"{tuple(mask.shape)}.")

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key_given = key is not None
        if key is None:
            key = value
        self._build_projections(query.shape, value.shape, key.shape if key_given else None)
        attention_mask = self._compute_attention_mask(
            query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, use_causal_mask=use_causal_mask, key=key)
        with masks_set_aside(query, key, value):
            gate = self._gate_dense(query) if self._use_gate else None
            query = self._query_dense(query)
            key = self._key_dense(key)
            value = self._value_dense(value)
        attention_output, attention_scores = self._compute_attention(
            query, key, value, attention_mask, training, return_attention_scores)
        if gate is not None:
            attention_output = attention_output * gate
        attention_output = self._output_dense(attention_output)
        if return_attention_scores:
            return attention_output, attention_scores
        return attention_output

    # ----------------------------------------------------------------------------- shapes
    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': value and key must have the same shape "
                f"except for the last axis. Received: value shape {value_shape} and key shape "
                f"{key_shape}.")
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        # Creating the weights here gives a functional model its weights at construction.
        self._build_projections(query.shape, value.shape, None if key is None else key.shape)
        key_shape = value.shape if key is None else key.shape
        output = KerasTensor(self.compute_output_shape(query.shape, value.shape, key_shape),
                             dtype=self.compute_dtype)
        if not return_attention_scores:
            return output
        rank = len(query.shape) + 1
        axes = self._normalized_axes(rank)
        q_projected = tuple(query.shape[:-1]) + (self._num_heads, self._key_dim)
        k_projected = tuple(key_shape[:-1]) + (self._num_heads, self._key_dim)
        batch_axes = [i for i in range(rank - 1) if i not in axes]
        scores_shape = ([q_projected[i] for i in batch_axes] + [q_projected[i] for i in axes]
                        + [k_projected[i] for i in axes])
        return output, KerasTensor(tuple(scores_shape), dtype=self.compute_dtype)

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "seed": self.seed,
        }


class Attention(Layer):
    """Dot-product (Luong-style) attention over `[query, value]` or `[query, value, key]`.

    `scores = query @ key^T` (times a learned `scale` if `use_scale`), or with
    `score_mode="concat"`, `concat_score_weight * sum(tanh(query + key))` per query-key pair;
    `output = softmax(scores) @ value`. Inputs are `(batch, Tq, dim)` and `(batch, Tv, dim)`.

    Args:
        use_scale: learn a scalar `scale` for the scores.
        score_mode: `"dot"` or `"concat"`.
        dropout: dropout rate on the attention weights (in training).
        seed: the seed of the dropout.

    Call arguments: `inputs` (the list), `mask` (`[query_mask, value_mask]`: boolean
    `(batch, Tq)` zeroes the output rows; `(batch, Tv)` hides values), `use_causal_mask`,
    `return_attention_scores` (also return the `(batch, Tq, Tv)` weights), `training`.

    Examples:
        >>> query, value = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))
        >>> Attention()([query, value]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"{type(self).__name__}: score_mode must be 'dot' or 'concat'. Received: "
                f"score_mode={score_mode!r}")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if dropout > 0:
            self.seed_generator = random.SeedGenerator(seed=seed)
        self.supports_masking = True
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones")
        self.built = True

    def _calculate_scores(self, query, key):
        """Scores `(batch, Tq, Tv)` from `query` `(batch, Tq, dim)` and `key` `(batch, Tv, dim)`."""
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores * _read(self.scale, self.compute_dtype) if self.scale is not None else scores
        pairs = jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3)
        if self.scale is not None:
            pairs = _read(self.scale, self.compute_dtype) * pairs
        return _read(self.concat_score_weight, self.compute_dtype) * jnp.sum(jnp.tanh(pairs), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """Softmax over the keys (hidden where `scores_mask` is False), times `value`; returns
        `(output, weights)`."""
        if scores_mask is not None:
            hidden = jnp.logical_not(scores_mask)
            if hidden.ndim == 2:
                hidden = jnp.expand_dims(hidden, -2)
            # Keras subtracts a large number (float16's largest value in float16).
            shift = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(hidden, scores - shift, scores)
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = random.dropout(weights, self.dropout, seed=self.seed_generator)
        return jnp.matmul(weights, value), weights

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask):
        if not use_causal_mask:
            return v_mask
        rows, cols = scores.shape[-2], scores.shape[-1]
        causal = (jnp.arange(rows)[:, None] >= jnp.arange(cols)[None, :])[None]
        if v_mask is None:
            return causal
        return jnp.logical_and(jnp.expand_dims(v_mask, -2), causal)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = None if mask is None else mask[0]
        v_mask = None if mask is None else mask[1]
        if q_mask is not None:
            q_mask = jnp.asarray(q_mask).astype(bool)
            _check_input_mask(self, "the query mask (mask[0])", q_mask, "query", query.shape)
        if v_mask is not None:
            v_mask = jnp.asarray(v_mask).astype(bool)
            _check_input_mask(self, "the value mask (mask[1])", v_mask, "value", value.shape)
        scores = self._calculate_scores(query=query, key=key)
        scores_mask = self._calculate_score_mask(scores, v_mask, use_causal_mask)
        output, weights = self._apply_scores(scores, value, scores_mask, training=training)
        if q_mask is not None:
            output = jnp.where(q_mask[..., None], output, 0.0)
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        """The output mask is the query's."""
        self._validate_inputs(inputs, mask)
        return None if mask is None else mask[0]

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer '{self.name}' must be called on a list [query, value] or "
                f"[query, value, key]. Received: {inputs!r}.")
        if mask is not None and (not isinstance(mask, (list, tuple))
                                 or not 2 <= len(mask) <= 3):
            raise ValueError(
                f"{name} layer '{self.name}': mask must be a list [query_mask, value_mask] "
                f"(either may be None). Received: mask={mask!r}.")

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape[0], input_shape[1]
        return (*tuple(query_shape)[:-1], value_shape[-1])

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        output = KerasTensor(self.compute_output_shape([query.shape, value.shape]),
                             dtype=self.compute_dtype)
        if not return_attention_scores:
            return output
        scores = KerasTensor((*query.shape[:-1], key.shape[-2]), dtype=self.compute_dtype)
        return output, scores

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention over `[query, value]` or `[query, value, key]`:
    `scores = sum(scale * tanh(query + key))` per query-key pair, with a learned `scale`
    vector `(dim,)` when `use_scale` (the default). Otherwise as `Attention`.

    Examples:
        >>> query, value = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))
        >>> AdditiveAttention()([query, value]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        pairs = jnp.tanh(jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3))
        if self.use_scale:
            pairs = _read(self.scale, self.compute_dtype) * pairs
        return jnp.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]
