"""Scaled dot-product attention: float32 with as many query as key heads computed here
(`_float32_attention`, arranged for XLA's CPU backend), everything else by
`jax.nn.dot_product_attention`."""

import jax
import jax.numpy as jnp

from lamina.ops._convert import compiled, tensor
from lamina.ops._symbolic import symbolic_op


def _four_dims(t):
    """Brings a mask or bias to rank 4 `(batch, heads, target, source)` by adding leading
    axes, as NumPy broadcasting (and `jax.nn`) does."""
    return t.reshape((1,) * (4 - t.ndim) + t.shape) if t.ndim < 4 else t


@compiled("is_causal")
def _soft_capped(query, key, value, bias, mask, scale, is_causal, cap):
    """Attention with logits soft-capped to `(-cap, cap)` by `cap * tanh(logits / cap)`, as
    Keras's TPU kernel does; written in plain JAX so that it runs on every platform."""
    heads, kv_heads = query.shape[2], key.shape[2]
    if heads != kv_heads:
        repeats = heads // kv_heads
        key = jnp.repeat(key, repeats, axis=2)
        value = jnp.repeat(value, repeats, axis=2)
    logits_dtype = jnp.promote_types(query.dtype, jnp.float32)
    logits = jnp.einsum("btnh,bsnh->bnts", query, key, preferred_element_type=logits_dtype)
    logits = logits * scale
    if bias is not None:
        logits = logits + bias
    logits = cap * jnp.tanh(logits / cap)
    keep = jnp.ones(logits.shape, bool)
    if mask is not None:
        keep = keep & mask
    if is_causal:
        target, source = logits.shape[-2:]
        keep = keep & jnp.tril(jnp.ones((target, source), bool))
    logits = jnp.where(keep, logits, jnp.finfo(logits.dtype).min * 0.7)
    probabilities = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(value.dtype)
    return jnp.einsum("bnts,bsnh->btnh", probabilities, value)


@symbolic_op
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """`softmax(query @ key^T * scale + bias) @ value` over inputs shaped
    `(batch, time, heads, depth)`; `mask` is True where attention is allowed.

    Grouped-query attention works when the query heads are a multiple of the key heads.
    `mask` and `bias` broadcast to `(batch, heads, target_time, source_time)`; `scale`
    defaults to `1 / sqrt(depth)`. `attn_logits_soft_cap` caps the logits with
    `cap * tanh(logits / cap)` (on every platform; Keras allows it only on TPU). float32
    inputs with as many query as key heads are computed in an order that is faster on CPU
    (the query scaled before the product); the results equal Keras's up to float32 rounding.

    Examples:
        >>> q = ops.ones((1, 3, 2, 4))
        >>> ops.dot_product_attention(q, q, q).shape
        (1, 3, 2, 4)
    """
    query, key, value = tensor(query), tensor(key), tensor(value)
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError(
            "ops.dot_product_attention takes 4D query, key and value of shape "
            f"(batch, time, heads, depth). Received shapes {query.shape}, {key.shape}, "
            f"{value.shape}.")
    if query.shape[2] % key.shape[2]:
        raise ValueError(
            f"ops.dot_product_attention: the query heads ({query.shape[2]}) must be a multiple "
            f"of the key/value heads ({key.shape[2]}).")
    dtype = jnp.result_type(query, key, value)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    if bias is not None:
        bias = _four_dims(tensor(bias, dtype))
    if mask is not None:
        mask = _four_dims(tensor(mask, "bool"))
    if scale is None:
        scale = 1.0 / float(query.shape[-1]) ** 0.5
    # A Python number is passed as a static argument: a traced scale cannot be exported to
    # ONNX, and the float32 path folds it into the query.
    scale = _as_static(scale)
    if attn_logits_soft_cap is not None:
        return _soft_capped(query, key, value, bias, mask, scale, bool(is_causal),
                            attn_logits_soft_cap)
    if flash_attention:
        if jax.devices()[0].platform != "gpu":
            raise ValueError(
                "flash_attention=True needs a GPU (cuDNN) in lamina. Received it on "
                f"'{jax.devices()[0].platform}'. Pass flash_attention=None to choose "
                "automatically.")
        implementation = "cudnn"
    else:
        implementation = "xla"
    if (implementation == "xla" and query.dtype == jnp.float32
            and query.shape[2] == key.shape[2] and isinstance(scale, float)):
        return _float32_attention(query, key, value, bias, mask, scale, bool(is_causal))
    if isinstance(scale, float):
        return _attention(query, key, value, bias, mask, scale, bool(is_causal), implementation)
    return _attention_traced_scale(query, key, value, bias, mask, scale, bool(is_causal),
                                   implementation)


def _as_static(scale):
    """`scale` as a Python float when it is a concrete number; a traced scale unchanged."""
    if isinstance(scale, jax.core.Tracer):
        return scale
    return float(scale)


@compiled("scale", "is_causal")
def _float32_attention(query, key, value, bias, mask, scale, is_causal):
    """`jax.nn.dot_product_attention`'s XLA computation for float32 inputs with as many query
    as key heads, arranged for speed (on CPU, 1.3-1.6x faster forward and backward at the
    transformer benchmark's shapes):

    * the query is scaled before the product (as Keras's MultiHeadAttention does on its
      unfused path) instead of the `(T, S)` logits after it: XLA's CPU backend writes such a
      scale out as a full-size broadcast before its fused product;
    * heads are moved in front of time, so both products are plain batched matrix products;
    * the softmax is normalized after the product with the values, dividing the `(T, depth)`
      output by each row's sum instead of the `(T, S)` weights (again a written-out
      broadcast on CPU).

    The masked logits are jax's (`-0.7 * float32 max`, so a fully masked row attends evenly),
    and values and gradients equal jax's up to float32 rounding."""
    query = jnp.swapaxes(query * jnp.asarray(scale, query.dtype), 1, 2)
    key, value = jnp.swapaxes(key, 1, 2), jnp.swapaxes(value, 1, 2)
    logits = jnp.einsum("bnth,bnsh->bnts", query, key)
    if bias is not None:
        logits = logits + bias
    keep = mask
    if is_causal:
        target, source = logits.shape[-2:]
        causal = jnp.tril(jnp.ones((target, source), bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = jnp.where(keep, logits, jnp.float32(-0.7 * jnp.finfo(jnp.float32).max))
    # The shift only guards exp from overflow; its gradient cancels out, so none flows.
    weights = jnp.exp(logits - jax.lax.stop_gradient(jnp.max(logits, -1, keepdims=True)))
    output = jnp.einsum("bnts,bnsh->bnth", weights, value) / jnp.sum(weights, -1)[..., None]
    return jnp.swapaxes(output, 1, 2)


@compiled("scale", "is_causal", "implementation")
def _attention(query, key, value, bias, mask, scale, is_causal, implementation):
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale,
                                        is_causal=is_causal, implementation=implementation)


@compiled("is_causal", "implementation")
def _attention_traced_scale(query, key, value, bias, mask, scale, is_causal, implementation):
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale,
                                        is_causal=is_causal, implementation=implementation)
