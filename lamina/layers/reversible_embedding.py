"""`ReversibleEmbedding`: an embedding that also projects hidden states back to the vocabulary
(the output layer of a language model, with weights tied to the input embedding by default:
Press & Wolf, 2016)."""

import jax.numpy as jnp

from lamina.layers.core import Embedding
from lamina.layers.symbolic import KerasTensor


class ReversibleEmbedding(Embedding):
    """An `Embedding` that can also be called with `reverse=True` to map `(..., output_dim)`
    hidden states to `(..., input_dim)` logits.

    The reverse projection multiplies by the transpose of `embeddings` (tied weights, the
    default) or, with `tie_weights=False`, by its own trainable `reverse_embeddings` of shape
    `(output_dim, input_dim)`. There is no bias.

    `input_dim`, `output_dim`, `embeddings_initializer`, `embeddings_regularizer`,
    `embeddings_constraint` and `mask_zero` are those of `Embedding`.

    Args:
        tie_weights: whether the reverse projection uses the transposed embeddings.
        reverse_dtype: the dtype the reverse projection is computed in (default: the layer's
            compute dtype).
        logit_soft_cap: if set, reverse logits become `tanh(logits / cap) * cap`.

    Call arguments: `inputs` (token ids, or hidden states with `reverse=True`), `reverse`.

    With `mask_zero=True` a forward call masks the zero ids; a reverse call (floating inputs
    whose last axis is `output_dim`) has no mask.

    Examples:
        >>> embedding = ReversibleEmbedding(100, 8)
        >>> hidden = embedding(jnp.array([[1, 5, 7]]))
        >>> hidden.shape, embedding(hidden, reverse=True).shape
        ((1, 3, 8), (1, 3, 100))
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        if logit_soft_cap is not None and not logit_soft_cap > 0:
            raise ValueError(
                f"ReversibleEmbedding '{self.name}': logit_soft_cap must be None or a positive "
                f"number. Received: logit_soft_cap={logit_soft_cap!r}")
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self.reverse_embeddings = None

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings", shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer, trainable=True)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        self._check_hidden(inputs.shape)
        # Hidden states and weights in the compute dtype, as Keras's autocast leaves them (this
        # layer keeps autocast off so that float token ids are not rounded).
        kernel = (self.embeddings.value.T if self.tie_weights
                  else self.reverse_embeddings.value).astype(self.compute_dtype)
        if jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype(self.compute_dtype)
        if self.reverse_dtype is not None:
            inputs = inputs.astype(self.reverse_dtype)
            kernel = kernel.astype(self.reverse_dtype)
        logits = jnp.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def _check_hidden(self, shape):
        if not shape or shape[-1] not in (None, self.output_dim):
            raise ValueError(
                f"ReversibleEmbedding '{self.name}': a reverse call takes hidden states whose "
                f"last axis is output_dim={self.output_dim}. Received inputs of shape "
                f"{tuple(shape)}. Call with reverse=False to embed token ids.")

    def compute_mask(self, inputs, mask=None):
        """The zero ids of a forward call with `mask_zero=True`; None for a reverse call."""
        if not self.mask_zero:
            return None
        reverse = (jnp.issubdtype(jnp.dtype(inputs.dtype), jnp.floating) and inputs.ndim
                   and inputs.shape[-1] == self.output_dim)
        return None if reverse else super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            self._check_hidden(tuple(input_shape))
            return tuple(input_shape)[:-1] + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs, reverse=False):
        dtype = (self.reverse_dtype or self.compute_dtype) if reverse else self.compute_dtype
        return KerasTensor(self.compute_output_shape(inputs.shape, reverse=reverse),
                           dtype=dtype)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}


__all__ = ["ReversibleEmbedding"]
