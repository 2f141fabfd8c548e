"""The quantization functions of `keras.quantizers` and the `Quantizer` classes.

Everything here is a plain function of arrays (JAX, or NumPy where Keras offers `to_numpy=True`
to keep a large weight off the accelerator while it is quantized). The quantized layers
(`lamina/layers/_quantized.py`) call them with the same arguments Keras's layers use, so a
quantized kernel, its scale and its zero point are Keras's values.
"""

import functools
import math

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from lamina._registry import keras_export
from lamina._runtime import config as _config
from lamina._runtime.dtypes import standardize_dtype as _standardize_dtype

__all__ = [
    "AbsMaxQuantizer", "Quantizer", "abs_max_quantize", "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history", "compute_float8_scale", "dequantize_with_sz_map",
    "fake_quant_with_min_max_vars", "pack_int4", "quantize_and_dequantize", "unpack_int4",
]


def _dtype_of(x):
    return _standardize_dtype(x.dtype) if hasattr(x, "dtype") else "float32"


def _axes(axis, ndim):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


@keras_export("keras.Quantizer", "keras.quantizers.Quantizer")
class Quantizer:
    """The base of quantizers: callables that map a float tensor to `(quantized, scale)`.

    Subclasses implement `__call__` and `get_config`; a quantization config
    (`Int8QuantizationConfig(weight_quantizer=..., activation_quantizer=...)`) takes them.

    Args:
        output_dtype: the dtype of the quantized values.

    Examples:
        >>> q = lamina.quantizers.Quantizer(output_dtype="int8")
        >>> q.output_dtype, q(jnp.ones(2)).tolist()     # the base returns its input
        ('int8', [1.0, 1.0])
    """

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(): define it to return the "
            "constructor arguments, so that a config holding this quantizer can be saved.")


@keras_export("keras.quantizers.abs_max_quantize")
def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None,
                     to_numpy=False):
    """Symmetric quantization by the largest magnitude along `axis`: `(quantized, scale)`.

    `scale = value_range[1] / (max|x| + epsilon)` (reduced over `axis`, kept as size-1 axes)
    and `quantized = clip(round(x * scale), *value_range)`; `quantized / scale` approximates
    `x`. `to_numpy=True` computes on the host with NumPy.

    Examples:
        >>> q, scale = lamina.quantizers.abs_max_quantize(jnp.array([[1.0, -2.0, 0.5]]), -1)
        >>> q.tolist(), q.dtype, scale.shape
        ([[64, -127, 32]], dtype('int8'), (1, 1))
    """
    epsilon = _config.epsilon() if epsilon is None else epsilon
    if to_numpy:
        original = _dtype_of(inputs)
        x = np.asarray(inputs)
        axes = _axes(axis, x.ndim)
        scale = np.divide(value_range[1], np.add(np.max(np.abs(x), axis=axes, keepdims=True),
                                                 epsilon))
        outputs = np.clip(np.round(np.multiply(x, scale)), value_range[0], value_range[1])
        return jnp.asarray(outputs.astype(dtype)), jnp.asarray(scale, dtype=original)
    x = jnp.asarray(inputs)
    axes = _axes(axis, x.ndim)
    scale = value_range[1] / (jnp.max(jnp.abs(x), axis=axes, keepdims=True) + epsilon)
    scale = scale.astype(x.dtype)
    outputs = jnp.clip(jnp.round(x * scale), value_range[0], value_range[1])
    return outputs.astype(dtype), scale


@keras_export("keras.quantizers.abs_max_quantize_grouped_with_zero_point")
def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7),
                                             dtype="int8", epsilon=None, to_numpy=False):
    """Asymmetric quantization of a 2-D kernel in groups of `block_size` rows.

    Each group of rows (axis 0, zero-padded to whole groups) gets, per column, a scale
    `(max - min + epsilon) / (qmax - qmin)` and a zero point `clip(round(-min / scale) + qmin)`;
    `quantized = clip(round(x / scale) + zero)`, so `(quantized - zero) * scale` approximates
    `x`. Returns `(quantized, scale, zero)`, the last two of shape `(ceil(rows / block_size),
    columns)`.

    Examples:
        >>> kernel = np.linspace(-1.0, 2.0, 12, dtype="float32").reshape(6, 2)
        >>> q, scale, zero = lamina.quantizers.abs_max_quantize_grouped_with_zero_point(
        ...     kernel, block_size=4)
        >>> q.shape, scale.shape, zero.shape
        ((6, 2), (2, 2), (2, 2))
    """
    epsilon = _config.epsilon() if epsilon is None else epsilon
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size <= 0:
        raise ValueError(
            "abs_max_quantize_grouped_with_zero_point: block_size must be a positive integer "
            f"(rows per group). Received: block_size={block_size!r}")
    if len(np.shape(inputs)) != 2:
        raise ValueError(
            "abs_max_quantize_grouped_with_zero_point quantizes a 2-D kernel (rows, columns). "
            f"Received: inputs of shape {tuple(np.shape(inputs))}. Reshape it to 2-D first.")
    original = _dtype_of(inputs)
    xp = np if to_numpy else jnp
    x = np.asarray(inputs) if to_numpy else jnp.asarray(inputs)
    rows, columns = x.shape
    groups = math.ceil(rows / block_size)
    qmin, qmax = value_range
    padded = xp.concatenate([x, xp.zeros((groups * block_size - rows, columns), x.dtype)])
    blocks = padded.reshape(groups, block_size, columns)
    low = xp.min(blocks, axis=1, keepdims=True)
    high = xp.max(blocks, axis=1, keepdims=True)
    scale = ((high - low) + epsilon) / (qmax - qmin)
    zero = xp.clip(xp.round(-low / scale) + qmin, qmin, qmax)
    q = xp.clip(xp.round(blocks / scale) + zero, qmin, qmax).astype(dtype)
    q = q.reshape(groups * block_size, columns)[:rows]
    return (jnp.asarray(q), jnp.asarray(scale[:, 0], dtype=original),
            jnp.asarray(zero[:, 0].astype("int8")))


def dequantize_with_sz_map(weights_matrix, scale, zero, g_idx, group_axis=-1):
    """`(weights - zero[g]) * scale[g]`, where `g_idx` gives each position's group along
    `group_axis` of `scale` and `zero` (the inverse of the grouped quantization)."""
    groups = jnp.asarray(g_idx).astype("int32")
    scale = jnp.asarray(scale)
    scales = jnp.take(scale, groups, axis=group_axis)
    zeros = jnp.take(jnp.asarray(zero), groups, axis=group_axis).astype(scale.dtype)
    return (jnp.asarray(weights_matrix) - zeros) * scales


@keras_export("keras.quantizers.AbsMaxQuantizer")
class AbsMaxQuantizer(Quantizer):
    """The `Quantizer` of `abs_max_quantize`: int8 by the largest magnitude along an axis.

    Args:
        axis: deprecated (as in Keras): pass `axis` to the call instead.
        value_range: `(min, max)` of the quantized values (`(-127, 127)`; `(-8, 7)` for int4).
        epsilon: added to the largest magnitude (`keras.config.epsilon()`).
        output_dtype: the dtype of the quantized values.

    Examples:
        >>> q, scale = lamina.quantizers.AbsMaxQuantizer()(jnp.array([[0.5, -1.0]]))
        >>> q.tolist(), round(float(scale[0, 0]), 3)
        ([[63, -127]], 127.0)
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        Quantizer.__init__(self, output_dtype=output_dtype)
        self.axis = None if axis is None else (
            (axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = tuple(value_range)
        self.epsilon = _config.epsilon() if epsilon is None else epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError(
                "AbsMaxQuantizer with output_dtype='int8' needs value_range within [-128, 127]. "
                f"Received: value_range={value_range}")

    def __call__(self, x, axis=None, to_numpy=False):
        axis = self.axis if axis is None else axis
        return abs_max_quantize(x, -1 if axis is None else axis, self.value_range,
                                self.output_dtype, self.epsilon, to_numpy)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon,
                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


def _nudge(min_range, max_range, num_bits, narrow_range):
    dtype = jnp.promote_types(jnp.asarray(min_range).dtype, "float32")
    min_range, max_range = jnp.asarray(min_range, dtype), jnp.asarray(max_range, dtype)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    scale = (max_range - min_range) / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / (max_range - min_range)
    zero_point = jnp.round(jnp.clip(quant_min - min_range / scale, quant_min, quant_max))
    return (quant_min - zero_point) * scale, (quant_max - zero_point) * scale, scale, inv_scale


@keras_export("keras.quantizers.fake_quant_with_min_max_vars")
def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False,
                                 axis=None):
    """Quantize-dequantize `inputs` on `[min_vals, max_vals]` (per tensor, or per channel
    along `axis`), differentiable: the gradient passes inside the range and flows to
    `min_vals` / `max_vals` from the values clipped to them (TensorFlow's op, for
    quantization-aware training).

    Examples:
        >>> lamina.quantizers.fake_quant_with_min_max_vars(      # 4 levels on [-4/3, 2/3]
        ...     jnp.array([-0.3, 2.0, -1.5]), -1.0, 1.0, num_bits=2).tolist()
        [0.0, 0.6666666865348816, -1.3333333730697632]
    """
    inputs = jnp.asarray(inputs)
    num_bits = int(num_bits)
    if axis is not None:
        axis = axis % inputs.ndim
    return _fake_quant(num_bits, bool(narrow_range), axis, inputs, jnp.asarray(min_vals),
                       jnp.asarray(max_vals))


def _fake_quant_forward(num_bits, narrow_range, x, min_val, max_val):
    nudged_min, nudged_max, scale, inv_scale = _nudge(min_val, max_val, num_bits, narrow_range)
    quant_zero = jnp.floor(-nudged_min * inv_scale + 0.5)
    shifted = jnp.clip(x.astype(nudged_min.dtype), nudged_min, nudged_max) - nudged_min
    result = jnp.floor(shifted * inv_scale - quant_zero + 0.5) * scale
    return result.astype(x.dtype), (nudged_min, nudged_max)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _fake_quant_op(num_bits, narrow_range, axis, x, min_val, max_val):
    return _fake_quant_forward(num_bits, narrow_range, x, min_val, max_val)[0]


def _fake_quant_fwd(num_bits, narrow_range, axis, x, min_val, max_val):
    result, (nudged_min, nudged_max) = _fake_quant_forward(
        num_bits, narrow_range, x, min_val, max_val)
    return result, (x, min_val, max_val, nudged_min, nudged_max)


def _fake_quant_bwd(num_bits, narrow_range, axis, residuals, upstream):
    x, min_val, max_val, nudged_min, nudged_max = residuals
    zero = jnp.zeros((), upstream.dtype)
    dx = jnp.where((x >= nudged_min) & (x <= nudged_max), upstream, zero)
    below = jnp.where(x <= nudged_min, upstream, zero)
    above = jnp.where(x >= nudged_max, upstream, zero)
    if axis is None:
        grad_min, grad_max = jnp.sum(below), jnp.sum(above)
    else:
        others = tuple(i for i in range(x.ndim) if i != axis)
        grad_min, grad_max = jnp.sum(below, axis=others), jnp.sum(above, axis=others)
    return (dx, grad_min.reshape(min_val.shape).astype(min_val.dtype),
            grad_max.reshape(max_val.shape).astype(max_val.dtype))


_fake_quant_op.defvjp(_fake_quant_fwd, _fake_quant_bwd)
# One compiled program per (bits, range, axis, shapes), rather than a dozen ops run one by one.
_fake_quant = jax.jit(_fake_quant_op, static_argnums=(0, 1, 2))


@keras_export("keras.quantizers.compute_float8_scale")
def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scaling factor from the largest magnitude seen (`amax`): `amax /
    dtype_max * 2**margin`, or the current `scale` when `amax` is 0 or not finite (delayed
    scaling, as NVIDIA's Transformer Engine computes it).

    Examples:
        >>> float(lamina.quantizers.compute_float8_scale(jnp.float32(4.0), jnp.float32(1.0),
        ...                                              jnp.float32(448.0)))
        0.008928571827709675
    """
    current = 1.0 / jnp.asarray(scale)
    factor = (dtype_max / amax) / 2 ** margin
    factor = jnp.where(amax > 0.0, factor, current)
    factor = jnp.where(jnp.isfinite(amax), factor, current)
    return 1.0 / factor


@keras_export("keras.quantizers.compute_float8_amax_history")
def compute_float8_amax_history(x, amax_history):
    """The amax history rolled by one, with `max|x|` written first (the window that delayed
    float8 scaling takes its maximum over).

    Examples:
        >>> lamina.quantizers.compute_float8_amax_history(
        ...     jnp.array([1.0, -3.0]), jnp.array([5.0, 6.0, 7.0])).tolist()
        [3.0, 7.0, 5.0]
    """
    amax_history = jnp.asarray(amax_history)
    amax = jnp.max(jnp.abs(x)).astype(amax_history.dtype)
    return jnp.roll(amax_history, -1).at[0].set(amax)


@keras_export("keras.quantizers.quantize_and_dequantize")
def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """`inputs` divided by `scale`, clipped to `quantized_dtype`'s range, cast to it (the
    rounding of float8), and multiplied back, in `compute_dtype`.

    Examples:
        >>> lamina.quantizers.quantize_and_dequantize(
        ...     jnp.array([0.3, 1000.0]), 1.0, "float8_e4m3fn", "float32").tolist()
        [0.3125, 448.0]
    """
    dtype_max = float(ml_dtypes.finfo(quantized_dtype).max)
    scale = jnp.asarray(scale).astype(compute_dtype)
    x = jnp.clip(jnp.asarray(inputs) / scale, -dtype_max, dtype_max).astype(quantized_dtype)
    return x.astype(compute_dtype) * scale


@keras_export("keras.quantizers.pack_int4")
def pack_int4(arr, axis=0, dtype="int8"):
    """Packs int4 values (`[-8, 7]`, held in an int8 or uint8 array) two per byte along
    `axis`: the first of each pair in the low nibble. An odd length is padded with a zero.

    Returns `(packed, packed_shape, original_length)`.

    Examples:
        >>> packed, shape, length = lamina.quantizers.pack_int4(
        ...     np.array([[-3, 7], [2, -8], [1, 0]], dtype="int8"))
        >>> packed.tolist(), shape, length
        ([[45, -121], [1, 0]], (2, 2), 3)
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"pack_int4: dtype must be 'int8' or 'uint8'. Received: dtype={dtype!r}")
    if _dtype_of(arr) != dtype:
        raise TypeError(
            f"pack_int4 packs a {dtype} array of int4 values; received one of dtype "
            f"{_dtype_of(arr)}. Cast it (values in [-8, 7]) or pass dtype=.")
    values = np.moveaxis(np.asarray(arr), axis, 0)
    length = values.shape[0]
    if length % 2:
        values = np.concatenate([values, np.zeros((1,) + values.shape[1:], values.dtype)])
    mask = np.array(0x0F, dtype)
    packed = (values[::2] & mask) | ((values[1::2] & mask) << np.array(4, dtype))
    packed = np.moveaxis(packed.astype(dtype), 0, axis)
    return jnp.asarray(packed), tuple(packed.shape), length


@keras_export("keras.quantizers.unpack_int4")
def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """The inverse of `pack_int4`: the int4 values, as int8 in `[-8, 7]` (or uint8 nibbles
    with `dtype="uint8"`), with the padding removed.

    Examples:
        >>> packed = np.array([[45, -121], [1, 0]], dtype="int8")
        >>> lamina.quantizers.unpack_int4(packed, 3).tolist()
        [[-3, 7], [2, -8], [1, 0]]
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(
            f"unpack_int4: dtype must be 'int8' or 'uint8'. Received: dtype={dtype!r}")
    if _dtype_of(packed) not in ("int8", "uint8"):
        raise TypeError(
            f"unpack_int4 unpacks an int8 or uint8 array; received one of dtype "
            f"{_dtype_of(packed)}.")
    packed = jnp.moveaxis(jnp.asarray(packed), axis, 0)
    low = packed & jnp.array(0x0F, packed.dtype)
    high = (packed >> 4) & jnp.array(0x0F, packed.dtype)
    if dtype == "int8":
        eight = jnp.array(8, packed.dtype)
        low, high = (low ^ eight) - eight, (high ^ eight) - eight
    stacked = jnp.stack([low.astype(dtype), high.astype(dtype)], axis=1)
    unpacked = stacked.reshape((-1,) + packed.shape[1:])[:orig_len]
    return jnp.moveaxis(unpacked, 0, axis)

