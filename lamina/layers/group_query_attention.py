"""`GroupQueryAttention` (Ainslie et al., 2023): attention whose query heads share a smaller
number of key/value heads, the attention of Llama-2/3, Mistral and Gemma.

Its projections are `EinsumDense` sublayers named `query`, `key`, (`gate`,) `value` and
`attention_output` with Keras 3's equations, so the weights have Keras's names, shapes and
order, and `.keras` files move both ways. Masks follow `MultiHeadAttention`'s rules.
"""

import math

import jax
import jax.numpy as jnp

from lamina import constraints, initializers, ops, random, regularizers
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.layers._sublayers import build_sublayer, own_scope
from lamina.layers.attention import (
    _clone_initializer,
    _mask_to_rank,
    combine_attention_masks,
    masks_set_aside,
)
from lamina.layers.core import EinsumDense
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor


def _positive_int(layer_name, arg, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"GroupQueryAttention '{layer_name}': {arg} must be a positive integer. Received: "
            f"{arg}={value!r}")


@keras_export("keras.layers.GroupQueryAttention")
class GroupedQueryAttention(Layer):
    """Grouped-query attention (`keras.layers.GroupQueryAttention`): `num_query_heads` query
    heads attend over `num_key_value_heads` key/value heads, each shared by
    `num_query_heads // num_key_value_heads` query heads.
    `num_key_value_heads=1` is multi-query attention; equal head counts are multi-head
    attention.

    Args:
        head_dim: the size of each head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key and value heads (must divide
            `num_query_heads`).
        dropout: dropout rate on the attention probabilities (in training).
        use_bias: whether the projections have biases.
        sliding_window: if set, a query attends only to keys less than this many positions
            away (with `use_causal_mask`, the causal sliding window of Mistral).
        flash_attention: None (automatic, following `keras.config.disable_flash_attention()`),
            True (the fused cuDNN kernel; needs a GPU) or False.
        kernel_*, bias_*, activity_regularizer: the initializers, regularizers and
            constraints of the projections.
        use_gate: multiply the attention output by a sigmoid gate projected from the query.
        seed: the seed of the dropout.

    Call arguments: `query` `(B, T, dim)`, `value` `(B, S, dim)`, `key` (default `value`),
    `query_mask` `(B, T)`, `value_mask` / `key_mask` `(B, S)` (filled in from the inputs'
    Keras masks), `attention_mask` (boolean `(B, T, S)`, True where a query may attend to a
    key), `use_causal_mask`, `return_attention_scores` (also return the `(B, num_query_heads,
    T, S)` probabilities), `training`.

    The output has the query's shape. As in Keras, a query whose keys are all masked (a padded
    position) attends to all keys evenly, or gets zero weights when scores are returned or
    dropout is set.

    Examples:
        >>> gqa = GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = jnp.ones((2, 5, 8))
        >>> output, scores = gqa(x, x, return_attention_scores=True)
        >>> output.shape, scores.shape
        ((2, 5, 8), (2, 4, 5, 5))
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                           ("num_key_value_heads", num_key_value_heads)):
            _positive_int(self.name, arg, value)
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': num_query_heads must be divisible by "
                f"num_key_value_heads. Received: num_query_heads={num_query_heads}, "
                f"num_key_value_heads={num_key_value_heads}.")
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(
                sliding_window, int) or sliding_window <= 0):
            raise ValueError(
                f"GroupQueryAttention '{self.name}': sliding_window must be None or a positive "
                f"integer. Received: sliding_window={sliding_window!r}")
        if not 0 <= dropout < 1:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': dropout must be in [0, 1). Received: "
                f"dropout={dropout!r}")
        self.supports_masking = True
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = dropout
        self.use_bias = use_bias
        self.use_gate = use_gate
        self.sliding_window = sliding_window
        if flash_attention is None:
            flash_attention = config.is_flash_attention_enabled()
        if flash_attention and dropout > 0:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': dropout is not supported with flash "
                f"attention. Received: dropout={dropout!r}, flash_attention=True. Set "
                "dropout=0.0, or leave flash_attention=None.")
        self._flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # As in Keras, the activity regularizer applies to the projections, not to this layer.
        self._projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if dropout > 0 else None
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(head_dim))
        self._query_dense = self._key_dense = self._value_dense = None
        self._gate_dense = self._output_dense = None
        self._shapes_dict = None

    # ----------------------------------------------------------------------------- building
    def build(self, query_shape, value_shape=None, key_shape=None):
        # The Layer protocol hands build() the first argument's shape only; the projections
        # are then created at the first call, when the value's shape is known.
        if value_shape is not None:
            self._build_projections(query_shape, value_shape, key_shape)
        self.built = True

    def _sublayer_arguments(self):
        return {
            "kernel_initializer": _clone_initializer(self.kernel_initializer),
            "bias_initializer": _clone_initializer(self.bias_initializer),
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self._projection_activity_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
            "dtype": self.dtype_policy,
        }

    def _projection(self, equation, heads, bias_axes, name, input_shape, activation=None):
        layer = EinsumDense(equation, output_shape=(None, heads, self.head_dim),
                            bias_axes=bias_axes if self.use_bias else None,
                            activation=activation, name=name, **self._sublayer_arguments())
        build_sublayer(layer, input_shape)
        return layer

    def _build_projections(self, query_shape, value_shape, key_shape=None):
        if self._query_dense is not None:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = query_shape[-1]
        with own_scope(self):
            self._query_dense = self._projection(
                "bqm,muh->bquh", self.num_query_heads, "uh", "query", query_shape)
            self._key_dense = self._projection(
                "bkm,mvh->bkvh", self.num_key_value_heads, "vh", "key", key_shape)
            if self.use_gate:
                self._gate_dense = self._projection(
                    "bqm,muh->bquh", self.num_query_heads, "uh", "gate", query_shape,
                    activation="sigmoid")
            self._value_dense = self._projection(
                "bkm,mvh->bkvh", self.num_key_value_heads, "vh", "value", value_shape)
            self._output_dense = EinsumDense(
                "bquh,uhm->bqm", output_shape=(None, self.feature_dim),
                bias_axes="m" if self.use_bias else None, name="attention_output",
                **self._sublayer_arguments())
            build_sublayer(self._output_dense,
                           (None, None, self.num_query_heads, self.head_dim))

    def _check_shapes(self, query_shape, value_shape, key_shape):
        if len(query_shape) != 3 or len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(
                f"GroupQueryAttention '{self.name}' takes query, value and key of shape "
                f"(batch, sequence, features). Received shapes query={tuple(query_shape)}, "
                f"value={tuple(value_shape)}, key={tuple(key_shape)}.")
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': the last axes of query and value must be "
                f"equal. Received: query shape {tuple(query_shape)} and value shape "
                f"{tuple(value_shape)}.")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': value and key must have the same shape "
                f"except for the last axis. Received: value shape {tuple(value_shape)} and key "
                f"shape {tuple(key_shape)}.")

    def get_build_config(self):
        return None if self._shapes_dict is None else {"shapes_dict": dict(self._shapes_dict)}

    # ----------------------------------------------------------------------------- computing
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key_given = key is not None
        if key is None:
            key = value
        self._build_projections(query.shape, value.shape, key.shape if key_given else None)
        attention_mask = combine_attention_masks(
            self, query, value, key, query_mask=query_mask, value_mask=value_mask,
            key_mask=key_mask, attention_mask=attention_mask, use_causal_mask=use_causal_mask,
            sliding_window=self.sliding_window)
        with masks_set_aside(query, key, value):
            gate = self._gate_dense(query) if self.use_gate else None
            query = self._query_dense(query)
            key = jnp.repeat(self._key_dense(key), self.num_repeats, axis=2)
            value = jnp.repeat(self._value_dense(value), self.num_repeats, axis=2)
        output, scores = self._compute_attention(
            query, key, value, attention_mask, training, return_attention_scores)
        if gate is not None:
            output = output * gate
        output = self._output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False):
        """Scaled dot-product attention of projected `(B, T, heads, head_dim)` tensors (keys
        and values already repeated to the query heads); returns `(output, scores)`."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"GroupQueryAttention '{self.name}': attention scores are not computed with "
                "flash attention. Received: return_attention_scores=True with "
                "flash_attention=True; create the layer with flash_attention=None to get them.")
        mask = None if attention_mask is None else _mask_to_rank(attention_mask, 4, -3)
        if not (self.dropout > 0 or return_attention_scores):
            # Keras's path: one fused attention.
            if self._uses_flash_attention(query):
                try:
                    return ops.dot_product_attention(
                        query, key, value, mask=mask, scale=self._inverse_sqrt_head_dim,
                        flash_attention=True), None
                except (ValueError, NotImplementedError):
                    if self._flash_attention:
                        raise
            return ops.dot_product_attention(query, key, value, mask=mask,
                                             scale=self._inverse_sqrt_head_dim,
                                             flash_attention=False), None
        query = query * jnp.asarray(self._inverse_sqrt_head_dim, query.dtype)
        scores = jnp.einsum("bquh,bkuh->buqk", query, key)
        if mask is not None:
            scores = jnp.where(mask, scores,
                               -3e4 if scores.dtype == jnp.float16 else -1e9)
        scores = jax.nn.softmax(scores, axis=-1)
        if mask is not None:
            scores = jnp.where(mask, scores, 0.0)  # a query with no key gets zeros
        weights = scores
        if training and self.dropout > 0:
            weights = random.dropout(scores, self.dropout, seed=self.seed_generator)
        return jnp.einsum("buqk,bkuh->bquh", weights, value), scores

    def _uses_flash_attention(self, query):
        if self._flash_attention is False:
            return False
        if self._flash_attention:
            return True
        return jax.devices()[0].platform == "gpu" and query.dtype in (jnp.float16,
                                                                       jnp.bfloat16)

    # ----------------------------------------------------------------------------- shapes
    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
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
        scores = KerasTensor((query.shape[0], self.num_query_heads, query.shape[1],
                              key_shape[1]), dtype=self.compute_dtype)
        return output, scores

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(
                self._projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }


# Keras's public name. The class keeps Keras's class name, which names the layer by default
# ("grouped_query_attention") and its group in weights files.
GroupQueryAttention = GroupedQueryAttention

__all__ = ["GroupQueryAttention"]
