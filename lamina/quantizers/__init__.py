"""`keras.quantizers`: quantizers, quantization configs and the functions quantized layers use.

`model.quantize("int8")` (or `"int4"`, `"float8"`) replaces the weights of its `Dense`,
`EinsumDense` and `Embedding` layers by quantized ones, as Keras 3 does: same variable names,
shapes, dtype policies (`"int8_from_float32"`, ...) and values, so quantized `.keras` files move
between lamina and Keras. The functions here are the pieces: `abs_max_quantize` (int8 and int4
scales), `pack_int4` / `unpack_int4`, the float8 scaling functions, `fake_quant_with_min_max_vars`.

Examples:
    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    >>> model.quantize("int8")
    >>> [(w.name, w.dtype) for w in model.layers[0].weights]
    [('bias', 'float32'), ('kernel', 'int8'), ('kernel_scale', 'float32')]
"""

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina.quantizers.config import (AWQConfig, Float8QuantizationConfig, GPTQConfig,
                                      Int4QuantizationConfig, Int8QuantizationConfig,
                                      QuantizationConfig)
from lamina.quantizers.quantizers import (AbsMaxQuantizer, Quantizer, abs_max_quantize,
                                          abs_max_quantize_grouped_with_zero_point,
                                          compute_float8_amax_history, compute_float8_scale,
                                          fake_quant_with_min_max_vars, pack_int4,
                                          quantize_and_dequantize, unpack_int4)

__all__ = [
    "AWQConfig", "AbsMaxQuantizer", "Float8QuantizationConfig", "GPTQConfig",
    "Int4QuantizationConfig", "Int8QuantizationConfig", "QuantizationConfig", "Quantizer",
    "abs_max_quantize", "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history", "compute_float8_scale", "deserialize",
    "fake_quant_with_min_max_vars", "get", "pack_int4", "quantize_and_dequantize", "serialize",
    "unpack_int4",
]

ALL_OBJECTS = (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig,
               Int4QuantizationConfig, Float8QuantizationConfig, AWQConfig)
ALL_OBJECTS_DICT = _identifiers.by_name(ALL_OBJECTS)

_LOOKUP = _identifiers.Lookup(
    "quantizer", ALL_OBJECTS_DICT,
    "a name such as 'AbsMaxQuantizer', a config dict, or a Quantizer")


@keras_export("keras.quantizers.serialize")
def serialize(initializer):
    """Keras 3's config dict of a quantizer or quantization config.

    Examples:
        >>> lamina.quantizers.serialize(lamina.quantizers.AbsMaxQuantizer())["class_name"]
        'AbsMaxQuantizer'
    """
    return serialization.serialize_keras_object(initializer)


@keras_export("keras.quantizers.deserialize")
def deserialize(config, custom_objects=None):
    """The quantizer (or quantization config) a config dict describes.

    Examples:
        >>> q = lamina.quantizers.deserialize(
        ...     lamina.quantizers.serialize(lamina.quantizers.AbsMaxQuantizer(value_range=(-8, 7))))
        >>> q.value_range
        (-8, 7)
    """
    return _LOOKUP.deserialize(config, custom_objects)


@keras_export("keras.quantizers.get")
def get(identifier, **kwargs):
    """A quantizer from a name (`"AbsMaxQuantizer"`, `"abs_max_quantizer"`), a config dict or
    an instance; None gives None.

    Examples:
        >>> type(lamina.quantizers.get("abs_max_quantizer")).__name__
        'AbsMaxQuantizer'
    """
    del kwargs
    return _LOOKUP.get(identifier)
