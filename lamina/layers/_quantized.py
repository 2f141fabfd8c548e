"""Quantized Dense, EinsumDense and Embedding: `layer.quantize(mode)` and what it builds.

Each layer keeps its own forward pass for float weights; this module holds what the three
share once quantized, with Keras 3's variable names, shapes, dtypes and numbers:

| mode | weights (besides the bias) | forward pass |
|---|---|---|
| `int8` | `kernel` int8, `kernel_scale` (per output channel) | inputs quantized per row (abs-max), int8 x int8 -> int32 product, divided by both scales |
| `int4` | `kernel` int8 holding two int4 per byte; `kernel_scale`, `kernel_zero`, `g_idx` for groups of `block_size` rows (128) | the kernel dequantized, float product (weight-only) |
| `float8` | the float `kernel`, plus a scale and an amax history for inputs, kernel and output gradients | inputs and kernel quantize-dequantized to float8_e4m3fn, output gradients to float8_e5m2; the scales follow the amax history (delayed scaling) |

Quantized weights are not trainable. int8 and int4 layers still pass gradients to their
inputs through the dequantized kernel (Keras's custom gradient), so a model with quantized
layers trains its other layers. float8's scale and history variables take their "gradient" as
their new value (`overwrite_with_gradient`): the backward pass computes the next scale.

Files store each layer's variables in Keras's order for its mode (`_variables_in_saved_order`),
which is not the order they are created in, so a quantized `.keras` file reads the same in both.
"""

import math

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from lamina import dtype_policies
from lamina import quantizers as q
from lamina.layers.layer import _call_context
from lamina.quantizers.config import (Int4QuantizationConfig, QuantizationConfig,
                                      validate_and_resolve_config)
from lamina.quantizers.quantizers import dequantize_with_sz_map

_E4M3_MAX = float(ml_dtypes.finfo("float8_e4m3fn").max)
_E5M2_MAX = float(ml_dtypes.finfo("float8_e5m2").max)
_QUANTIZABLE = "Dense, EinsumDense and Embedding"


def deserialize_config(layer, config):
    """A layer's `quantization_config` argument: None, a config, or its saved dict."""
    if config is None or isinstance(config, QuantizationConfig):
        return config
    if isinstance(config, dict):
        return q.deserialize(config)
    raise TypeError(
        f"{type(layer).__name__} '{layer.name}': quantization_config must be a "
        "keras.quantizers.QuantizationConfig (or its config dict) or None. Received: "
        f"{type(config).__name__}")


def _zero_cotangent(value):
    if jnp.issubdtype(value.dtype, jnp.inexact):
        return jnp.zeros_like(value)
    return np.zeros(value.shape, dtype=jax.dtypes.float0)


def _with_input_gradient(forward, input_gradient):
    """`forward(x, *weights)`, differentiated as Keras's quantized layers are: the gradient
    reaches `x` as `input_gradient(upstream, *weights)` and the (quantized) weights get none."""
    @jax.custom_vjp
    def apply(x, *weights):
        return forward(x, *weights)

    def fwd(x, *weights):
        return forward(x, *weights), weights

    def bwd(weights, upstream):
        # The inputs are in the compute dtype, as the outputs and their gradient are.
        return ((input_gradient(upstream, *weights).astype(upstream.dtype),)
                + tuple(_zero_cotangent(w) for w in weights))

    apply.defvjp(fwd, bwd)
    return apply


def _qdq_forward(compute_dtype, training):
    """float8 inputs and kernel: quantize-dequantize in the forward pass; the backward pass
    passes the gradient through and returns the next scale and amax history as the
    "gradients" of the scale and history variables."""
    @jax.custom_vjp
    def apply(x, scale, history):
        return q.quantize_and_dequantize(x, scale, "float8_e4m3fn", compute_dtype)

    def fwd(x, scale, history):
        if training:
            new_scale = q.compute_float8_scale(jnp.max(history, axis=0), scale,
                                               jnp.float32(_E4M3_MAX))
            new_history = q.compute_float8_amax_history(x, history)
        else:
            new_scale, new_history = scale, history
        return apply(x, scale, history), (new_scale, new_history)

    def bwd(residuals, upstream):
        return (upstream,) + residuals

    apply.defvjp(fwd, bwd)
    return apply


def _qdq_output_gradient(compute_dtype):
    """float8 outputs: unchanged forward; the gradient is quantize-dequantized to
    float8_e5m2 on its way back."""
    @jax.custom_vjp
    def apply(x, scale, history):
        return x

    def fwd(x, scale, history):
        return x, (scale, history)

    def bwd(residuals, upstream):
        scale, history = residuals
        new_scale = q.compute_float8_scale(jnp.max(history, axis=0), scale,
                                           jnp.float32(_E5M2_MAX))
        new_history = q.compute_float8_amax_history(upstream, history)
        qdq = q.quantize_and_dequantize(upstream, scale, "float8_e5m2", compute_dtype)
        return qdq.astype(upstream.dtype), new_scale, new_history

    apply.defvjp(fwd, bwd)
    return apply


def _training():
    context = _call_context.get()
    return bool(context.training) if context is not None else False


class QuantizableLayer:
    """What Dense, EinsumDense and Embedding share for `quantize(mode)`.

    A layer sets `_quantized_weight` (the attribute of its float weight) and
    `_quantize_modes`, and implements
    `_quantize_weight(mode, config, value) -> (arrays, block_size)`,
    `_build_quantized(mode, block_size, float_shape)` and `_quantized_call(inputs)`.
    """

    _quantized_weight = "kernel"
    _quantize_modes = ("int8", "int4", "float8")
    _quantized_mode = None  # the mode of the quantized weights the layer holds
    _spec = {
        None: ("kernel", "bias"),
        "int8": ("kernel", "bias", "kernel_scale"),
        "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
        "float8": ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale",
                   "kernel_amax_history", "outputs_grad_scale", "outputs_grad_amax_history"),
    }

    def quantize(self, mode=None, type_check=True, config=None):
        """Replaces the float weights by quantized ones (`"int8"`, `"int4"`, `"float8"`).

        The layer must be built and not quantized yet; its dtype policy becomes
        `"<mode>_from_<policy>"` (`"int4/<block_size>_from_<policy>"` for int4). `config`
        (a `keras.quantizers.QuantizationConfig`) chooses other quantizers or int4 groups.
        """
        config = validate_and_resolve_config(mode, config)
        mode = config.mode
        self._check_quantize(mode, type_check)
        float_weight = getattr(self, self._quantized_weight)
        arrays, block_size = self._quantize_weight(mode, config, float_weight.value)
        # Everything that can fail on the user's input has run; now change the layer.
        shape = tuple(float_weight.shape)
        if mode != "float8":
            delattr(self, self._quantized_weight)
        self.quantization_config = config
        self._build_quantized(mode, block_size, shape, config)
        for name, value in arrays.items():
            getattr(self, name).assign(value)
        if self.quantization_mode is None:
            prefix = mode if mode != "int4" else \
                f"int4/{-1 if block_size is None else block_size}"
            self.dtype_policy = dtype_policies.get(f"{prefix}_from_{self.dtype_policy.name}")

    def _check_quantize(self, mode, type_check):
        cls = type(self).__name__
        base = next(c for c in type(self).__mro__ if c.__module__ != __name__ and any(
            b.__module__ == __name__ for b in c.__bases__))
        if type_check and type(self) is not base:
            raise NotImplementedError(
                f"Layer {cls} ('{self.name}') does not support quantize(): it subclasses "
                f"{base.__name__}, whose quantized forward pass may not be yours. Implement "
                "quantize() on the subclass, or pass type_check=False.")
        if not self.built:
            raise ValueError(
                f"Cannot quantize layer '{self.name}' ({cls}): it is not built yet. Call it on "
                "data, or build the model, before quantize().")
        if getattr(self, "_quantized_mode", None) is not None:
            raise ValueError(
                f"Layer '{self.name}' ({cls}) is already quantized with dtype_policy="
                f"'{self.dtype_policy.name}'. Received: mode={mode}. Quantize a model once, "
                "from its float weights.")
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"Layer {cls} ('{self.name}'): lamina does not run {mode.upper()} calibration. "
                "Use 'int8', 'int4' or 'float8'.")
        if mode not in self._quantize_modes:
            raise NotImplementedError(
                f"Layer {cls} ('{self.name}') does not support quantization mode '{mode}'. "
                f"Expected one of {self._quantize_modes}. Received: mode={mode}")
        if mode == "int8" and self.compute_dtype == "float16":
            raise ValueError(
                f"Quantization mode='int8' does not work well with compute_dtype='float16' "
                f"(layer '{self.name}'). Use the 'mixed_bfloat16' or 'float32' policy before "
                "quantize().")

    def _policy_block_size(self, config):
        """The int4 group size: from the config when quantizing, else from the policy (a
        layer rebuilt from a file); None for one scale per channel."""
        if isinstance(config, Int4QuantizationConfig):
            block = config.block_size
        else:
            block = getattr(self._policy(), "block_size", None)
        return None if block in (None, -1) else block

    def _check_quantized_policy(self):
        mode = self.quantization_mode
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) has the {mode.upper()} policy "
                f"'{self._policy().name}': lamina reads that policy but cannot build "
                f"{mode.upper()}-quantized weights. Quantize with 'int8', 'int4' or 'float8'.")
        if mode not in self._quantize_modes:
            raise NotImplementedError(
                f"Layer {type(self).__name__} ('{self.name}') does not support quantization "
                f"mode '{mode}'. Expected one of {self._quantize_modes}.")
        return mode

    def _variables_in_saved_order(self):
        """The variables files hold for this layer, in Keras's order for its mode (None: the
        default order)."""
        mode = getattr(self, "_quantized_mode", None)
        if mode is None:
            return None
        names = self._spec[mode]
        return [getattr(self, name) for name in names
                if getattr(self, name, None) is not None]

    def _add_float8_variables(self):
        length = getattr(self._policy(), "amax_history_length",
                         dtype_policies.QuantizedFloat8DTypePolicy.default_amax_history_length)
        for prefix in ("inputs", "kernel", "outputs_grad"):
            setattr(self, f"{prefix}_scale", self.add_weight(
                name=f"{prefix}_scale", shape=(), initializer="ones", dtype="float32",
                trainable=True, autocast=False, overwrite_with_gradient=True))
            setattr(self, f"{prefix}_amax_history", self.add_weight(
                name=f"{prefix}_amax_history", shape=(length,), initializer="zeros",
                dtype="float32", trainable=True, autocast=False, overwrite_with_gradient=True))

    def _float8_product(self, inputs, kernel, contract):
        compute = self.compute_dtype
        qdq = _qdq_forward(compute, _training())
        x = contract(qdq(inputs, self.inputs_scale.value, self.inputs_amax_history.value),
                     qdq(kernel, self.kernel_scale.value, self.kernel_amax_history.value))
        return _qdq_output_gradient(compute)(x, self.outputs_grad_scale.value,
                                             self.outputs_grad_amax_history.value)

    def _finish(self, x):
        """Bias and activation after a quantized product (float8 rounds a float32 bias
        through bfloat16 first, as Keras does for XLA's fused bias)."""
        if self.bias is not None:
            bias = self.bias.value
            if self._quantized_mode == "float8" and self.compute_dtype == "float32":
                bias = bias.astype("bfloat16").astype(bias.dtype)
            x = x + bias
        return self.activation(x) if self.activation is not None else x


def int4_blocks(value, block_size, config=None):
    """A 2-D float kernel as int4: `(packed, scale, zero)` (zero None per channel). Groups
    run along axis 0; packing along the last axis."""
    if block_size is None:
        quantizer = QuantizationConfig.weight_quantizer_or_default(config, q.AbsMaxQuantizer(
            axis=0, value_range=(-8, 7), output_dtype="int8"))
        values, scale = quantizer(value, to_numpy=True)
        scale, zero = jnp.squeeze(scale, axis=0), None
    else:
        values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(
            value, block_size=block_size, to_numpy=True)
    packed, _, _ = q.pack_int4(values, axis=-1)
    return packed, scale, zero


def add_int4_weights(layer, rows, columns, block_size):
    """The int4 variables of a `(rows, columns)` kernel, under Keras's names."""
    layer.kernel = layer.add_weight(name="kernel", shape=(rows, (columns + 1) // 2),
                                    initializer="zeros", dtype="int8", trainable=False)
    scale_shape = (columns,) if block_size is None else (math.ceil(rows / block_size), columns)
    layer.kernel_scale = layer.add_weight(name="kernel_scale", shape=scale_shape,
                                          initializer="ones", trainable=False)
    if block_size is not None:
        layer.kernel_zero = layer.add_weight(name="kernel_zero", shape=scale_shape,
                                             initializer="zeros", dtype="int8", trainable=False)
        layer.g_idx = layer.add_weight(
            name="g_idx", shape=(rows,), dtype="float32", trainable=False,
            initializer=lambda shape, dtype=None: jnp.floor_divide(
                jnp.arange(rows, dtype="float32"), block_size))


def int4_float_kernel(layer, columns, compute_dtype):
    """The int4 kernel dequantized to `(rows, columns)` in `compute_dtype`."""
    unpacked = q.unpack_int4(layer.kernel.value, columns, axis=-1)
    if getattr(layer, "kernel_zero", None) is None:
        return unpacked.astype(compute_dtype) / layer.kernel_scale.value
    kernel = dequantize_with_sz_map(unpacked, layer.kernel_scale.value, layer.kernel_zero.value,
                                    layer.g_idx.value, group_axis=0)
    return kernel.astype(compute_dtype)


def int8_product(layer, inputs, kernel, kernel_scale, contract, input_scale, kernel_scale_for,
                 grad_contract, quantize_axis):
    """Keras's int8 product: with an inputs quantizer, int8 x int8 accumulated in int32 and
    divided by both scales; without, the float inputs times the int8 kernel over its scale.
    The gradient reaches the inputs through the dequantized kernel."""
    compute = layer.compute_dtype
    quantizer = layer.inputs_quantizer

    def forward(x, kernel, kernel_scale):
        if quantizer:
            x, x_scale = quantizer(x, axis=quantize_axis)
            y = contract(x, kernel, preferred_element_type=jnp.int32).astype(compute)
            return y / (input_scale(x_scale) * kernel_scale)
        return contract(x, kernel).astype(compute) / kernel_scale

    def input_gradient(upstream, kernel, kernel_scale):
        float_kernel = kernel.astype(compute) / kernel_scale_for(kernel_scale)
        return grad_contract(upstream, float_kernel)

    return _with_input_gradient(forward, input_gradient)(inputs, kernel, kernel_scale)


def refuse_unsupported(layer, mode=None, config=None):
    """The base `quantize` of layers that have no quantized form (Keras's error class)."""
    config = validate_and_resolve_config(mode, config)
    raise NotImplementedError(
        f"Layer {type(layer).__name__} ('{layer.name}') does not support quantize() (mode "
        f"'{config.mode}'): lamina quantizes {_QUANTIZABLE} layers, as Keras 3 does. Leave "
        "this layer out (model.quantize skips it with a warning), or pass filters= to "
        "model.quantize.")


class QuantizedDense(QuantizableLayer):
    """Dense's quantized forms (Keras's `Dense` int8/int4/float8)."""

    def _quantize_weight(self, mode, config, value):
        if mode == "int8":
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                config, q.AbsMaxQuantizer(axis=0))
            values, scale = quantizer(value, to_numpy=True)
            return {"kernel": values, "kernel_scale": jnp.squeeze(scale, axis=0)}, None
        if mode == "int4":
            block = self._policy_block_size(config)
            packed, scale, zero = int4_blocks(value, block, config)
            arrays = {"kernel": packed, "kernel_scale": scale}
            if zero is not None:
                arrays["kernel_zero"] = zero
            return arrays, block
        return {}, None

    def _build_quantized(self, mode, block_size, shape, config):
        rows, columns = shape
        if mode == "int8":
            self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(
                config, q.AbsMaxQuantizer())
            self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros",
                                          dtype="int8", trainable=False)
            self.kernel_scale = self.add_weight(name="kernel_scale", shape=(columns,),
                                                initializer="ones", trainable=False)
        elif mode == "int4":
            self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(
                config, None)
            add_int4_weights(self, rows, columns, block_size)
        else:
            self._add_float8_variables()
        self._quantized_mode = mode

    def _quantized_call(self, inputs):
        mode = self._quantized_mode
        if mode == "float8":
            return self._finish(self._float8_product(inputs, self.kernel.value, jnp.matmul))
        if mode == "int4" and getattr(self, "kernel_zero", None) is not None:
            kernel = int4_float_kernel(self, self.units, self.compute_dtype)
            return self._finish(jnp.matmul(inputs, kernel))
        kernel = self.kernel.value
        if mode == "int4":
            kernel = q.unpack_int4(kernel, self.units, axis=-1)
        x = int8_product(self, inputs, kernel, self.kernel_scale.value, jnp.matmul,
                         input_scale=lambda s: s, kernel_scale_for=lambda s: s,
                         grad_contract=lambda g, k: jnp.matmul(g, k.T), quantize_axis=-1)
        return self._finish(x)


def _fresh_letters(used, count):
    letters = sorted(set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") - set(used))
    return "".join(letters[:count])


def _relayout(value, source, target):
    """`value`, one axis per letter of `source` (size 1 for letters missing from `target`),
    rearranged to one axis per letter of `target` (size 1 for letters missing from
    `source`)."""
    kept = [letter for letter in source if letter in target]
    value = value.reshape([size for size, letter in zip(value.shape, source)
                           if letter in target])
    order = sorted(range(len(kept)), key=lambda i: target.index(kept[i]))
    value = jnp.transpose(value, order)
    sizes = dict(zip([kept[i] for i in order], value.shape))
    return value.reshape([sizes.get(letter, 1) for letter in target])


class QuantizedEinsumDense(QuantizableLayer):
    """EinsumDense's quantized forms: scales laid out to broadcast against the output (one
    axis per output letter), as Keras stores them."""

    def _quant_specs(self):
        """(input, kernel, output) letters with any ellipsis spelled out."""
        inputs, kernel, outputs = (self._input_spec_letters, self._kernel_letters,
                                   self._output_letters)
        if "..." not in inputs:
            return inputs, kernel, outputs
        bare_out = outputs.replace("...", "")
        extra = _fresh_letters(inputs + kernel + outputs,
                               len(self.full_output_shape) - len(bare_out))
        return inputs.replace("...", extra), kernel, outputs.replace("...", extra)

    def _reduced_axes(self, spec, outputs):
        return tuple(i for i, letter in enumerate(spec) if letter not in outputs)

    def _flat_kernel_shape(self, shape):
        _, kernel, outputs = self._quant_specs()
        reduced = self._reduced_axes(kernel, outputs)
        rows = math.prod(d for i, d in enumerate(shape) if i in reduced)
        return rows, math.prod(d for i, d in enumerate(shape) if i not in reduced)

    def _quantize_weight(self, mode, config, value):
        inputs, kernel, outputs = self._quant_specs()
        if mode == "int8":
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                config, q.AbsMaxQuantizer(axis=self._reduced_axes(kernel, outputs)))
            values, scale = quantizer(value, to_numpy=True)
            return {"kernel": values, "kernel_scale": _relayout(scale, kernel, outputs)}, None
        if mode == "int4":
            block = self._policy_block_size(config)
            flat = jnp.reshape(value, self._flat_kernel_shape(value.shape))
            packed, scale, zero = int4_blocks(flat, block, None)
            arrays = {"kernel": packed, "kernel_scale": scale}
            if zero is not None:
                arrays["kernel_zero"] = zero
            return arrays, block
        return {}, None

    def _build_quantized(self, mode, block_size, shape, config):
        inputs, kernel, outputs = self._quant_specs()
        self._quantization_axis = self._reduced_axes(inputs, outputs)
        if mode == "int8":
            self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(
                config, q.AbsMaxQuantizer())
            self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros",
                                          dtype="int8", trainable=False)
            sizes = dict(zip(kernel, shape))
            self.kernel_scale = self.add_weight(
                name="kernel_scale", initializer="ones", trainable=False,
                shape=tuple(sizes[letter] if letter in kernel else 1 for letter in outputs))
        elif mode == "int4":
            self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(
                config, None)
            rows, columns = self._flat_kernel_shape(shape)
            add_int4_weights(self, rows, columns, block_size)
            self._original_kernel_shape = tuple(shape)
        else:
            self._add_float8_variables()
        self._quantized_mode = mode

    def _quantized_call(self, inputs):
        mode, equation = self._quantized_mode, self.equation
        in_spec, kernel_spec, out_spec = self._quant_specs()
        contract = lambda x, k, **kw: jnp.einsum(equation, x, k, **kw)  # noqa: E731
        grad_contract = lambda g, k: jnp.einsum(  # noqa: E731
            f"{out_spec},{kernel_spec}->{in_spec}", g, k)
        if mode == "float8":
            return self._finish(self._float8_product(inputs, self.kernel.value, contract))
        if mode == "int8":
            x = int8_product(
                self, inputs, self.kernel.value, self.kernel_scale.value, contract,
                input_scale=lambda s: _relayout(s, in_spec, out_spec),
                kernel_scale_for=lambda s: _relayout(s, out_spec, kernel_spec),
                grad_contract=grad_contract, quantize_axis=self._quantization_axis)
            return self._finish(x)
        shape = self._original_kernel_shape
        if getattr(self, "kernel_zero", None) is not None:
            kernel = int4_float_kernel(self, math.prod(shape) // self.kernel.shape[0],
                                       self.compute_dtype)
            return self._finish(contract(inputs, kernel.reshape(shape)))
        columns = self.kernel_scale.shape[0]
        kernel = (q.unpack_int4(self.kernel.value, columns, axis=-1).astype(self.compute_dtype)
                  / self.kernel_scale.value).reshape(shape)
        if self.inputs_quantizer:
            quantized, scale = self.inputs_quantizer(inputs, axis=self._quantization_axis)
            x = contract(quantized, kernel).astype(self.compute_dtype)
            return self._finish(x / _relayout(scale, in_spec, out_spec))
        return self._finish(contract(inputs, kernel))


class QuantizedEmbedding(QuantizableLayer):
    """Embedding's quantized forms (int8 and int4; Keras has no float8 Embedding): one scale
    per row (token), or per row and group of `block_size` columns for grouped int4."""

    _quantized_weight = "embeddings"
    _quantize_modes = ("int8", "int4")
    _spec = {None: ("embeddings",), "int8": ("embeddings", "embeddings_scale"),
             "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")}

    def _quantize_weight(self, mode, config, value):
        if mode == "int8":
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                config, q.AbsMaxQuantizer(axis=-1))
            values, scale = quantizer(value, to_numpy=True)
            return {"embeddings": values, "embeddings_scale": jnp.squeeze(scale, -1)}, None
        block = self._policy_block_size(config)
        if block is None:
            quantizer = QuantizationConfig.weight_quantizer_or_default(config, q.AbsMaxQuantizer(
                axis=-1, value_range=(-8, 7), output_dtype="int8"))
            values, scale = quantizer(value, to_numpy=True)
            arrays = {"embeddings_scale": jnp.squeeze(scale, -1)}
        else:
            values, scale, zero = q.abs_max_quantize_grouped_with_zero_point(
                jnp.transpose(value), block_size=block, to_numpy=True)
            values = jnp.transpose(values)
            arrays = {"embeddings_scale": scale.T, "embeddings_zero": zero.T}
        arrays["embeddings"] = q.pack_int4(values, axis=-1)[0]
        return arrays, block

    def _build_quantized(self, mode, block_size, shape, config):
        rows, columns = shape
        packed = columns if mode == "int8" else (columns + 1) // 2
        self.embeddings = self.add_weight(name="embeddings", shape=(rows, packed),
                                          initializer="zeros", dtype="int8", trainable=False)
        scale_shape = (rows,) if block_size is None or mode == "int8" else \
            (rows, math.ceil(columns / block_size))
        self.embeddings_scale = self.add_weight(name="embeddings_scale", shape=scale_shape,
                                                initializer="ones", trainable=False)
        if mode == "int4" and block_size is not None:
            self.embeddings_zero = self.add_weight(name="embeddings_zero", shape=scale_shape,
                                                   initializer="zeros", dtype="int8",
                                                   trainable=False)
            self.g_idx = self.add_weight(
                name="g_idx", shape=(columns,), dtype="float32", trainable=False,
                initializer=lambda shape, dtype=None: jnp.floor_divide(
                    jnp.arange(columns, dtype="float32"), block_size))
        self._quantized_mode = mode

    def _quantized_call(self, inputs):
        compute = self.compute_dtype
        rows = self.embeddings.value
        if self._quantized_mode == "int4":
            rows = q.unpack_int4(rows, self.output_dim, axis=-1)
        outputs = jnp.take(rows, inputs, axis=0).astype(compute)
        scale = jnp.take(self.embeddings_scale.value, inputs, axis=0)
        if getattr(self, "embeddings_zero", None) is None:
            return outputs / scale[..., None]
        zero = jnp.take(self.embeddings_zero.value, inputs, axis=0)
        return dequantize_with_sz_map(outputs, scale, zero, self.g_idx.value,
                                      group_axis=-1).astype(compute)
