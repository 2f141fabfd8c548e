"""Building a sublayer from its parent's `build`, as calling it would.

A container (an RNN and its cell, Bidirectional and its two RNNs, MultiHeadAttention and its
projections) must create its sublayers' weights in its own `build`, before any call, so that
weights exist for `load_weights` and keep Keras 3's paths (`bidirectional/forward_lstm/
lstm_cell/kernel`). Calling `sublayer.build(shape)` directly would skip the sublayer's name scope
for containers that own no weights themselves, and leave it marked unbuilt.
"""

import contextlib

from lamina._runtime import naming
from lamina._serialization import deserialize_keras_object
from lamina.layers import symbolic


def own_scope(layer):
    """The layer's name scope, unless it is already the innermost one.

    A container's `build` enters it so that its sublayers' weights get the container's name in
    their paths even when user code calls `container.build(shape)` directly.
    """
    path = naming.current_path()
    if path and path[-1] == layer.name:
        return contextlib.nullcontext()
    return naming.name_scope(layer.name)


def build_sublayer(layer, input_shape):
    """Builds `layer` for `input_shape` inside its own name scope; does nothing if built."""
    if layer.built:
        return
    with naming.name_scope(layer.name):
        layer.build(symbolic.to_shape_tuple(input_shape))
    layer._build_shapes = _plain_shape(input_shape)
    layer.built = True


def _plain_shape(shape):
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return [_plain_shape(s) for s in shape]
    return shape


def deserialize_sublayer(config, custom_objects=None):
    """Rebuilds a sublayer from its config, leaving it unbuilt.

    The config may hold the sublayer's `build_config`; building it here, outside its parent's
    name scope, would give its weights paths without the parent's name. The parent's own
    `build` (from the parent's build config, or its first call) builds it in place instead.
    """
    if isinstance(config, dict) and "build_config" in config:
        config = {key: value for key, value in config.items() if key != "build_config"}
    return deserialize_keras_object(config, custom_objects=custom_objects)
