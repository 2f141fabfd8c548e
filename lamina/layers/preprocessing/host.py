"""Layers that compute on the host, with NumPy and Python, before the compiled step.

JAX arrays hold numbers only, so a layer that reads or writes strings (TextVectorization,
StringLookup, Hashing, HashedCrossing) cannot run inside a compiled program. Keras 3 on JAX
runs these layers eagerly on the host (through TensorFlow); lamina does the same with NumPy
and Python dicts, and makes them part of a model all the same:

* called on data (`layer(["a b", "c"])`), a host layer computes with NumPy and returns a JAX
  array (strings stay NumPy arrays: `StringLookup(invert=True)`);
* called on a symbolic tensor (`keras.Input(shape=(1,), dtype="string")`), it records its node
  like any layer, so the model's config and `.keras` file are Keras's;
* when such a layer reads a model input directly (a functional model's `Input(dtype="string")`,
  or the first layer of a Sequential), `fit`, `evaluate` and `predict` run it on each call's
  data on the host first (`lamina.training.host_stage`), and the compiled step starts from its
  output: the layer is marked `pre_applied`, and inside the compiled program it passes the
  already-computed values through.

A host layer that does not read a model input directly (after a Dense, say) cannot be
compiled: the error says to move it to the front of the model or into the data pipeline.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.state import has_tracers
from lamina.layers import symbolic
from lamina.layers.layer import Layer


def to_string_array(layer, inputs):
    """`inputs` (a str, a nested list of str/bytes, a NumPy array of str, bytes or object)
    as a NumPy array of Python `str`, decoded with the layer's encoding."""
    if isinstance(inputs, (str, bytes)):
        inputs = [inputs]
        scalar = True
    else:
        scalar = False
    if isinstance(inputs, jax.Array):
        raise TypeError(
            f"{type(layer).__name__} '{layer.name}' takes strings, but received a JAX array "
            f"of dtype {inputs.dtype} (JAX arrays hold numbers only). Pass the strings as a "
            "list or a NumPy array.")
    array = np.asarray(inputs, dtype=object if not isinstance(inputs, np.ndarray) else None)
    encoding = getattr(layer, "encoding", "utf-8") or "utf-8"
    if array.dtype.kind == "S":
        array = np.char.decode(array, encoding)
    elif array.dtype.kind == "O":
        flat = array.reshape(-1)
        if not all(isinstance(v, str) for v in flat.tolist()):
            flat = np.array([v.decode(encoding) if isinstance(v, bytes) else _as_text(layer, v)
                             for v in flat.tolist()], dtype=object)
        array = flat.reshape(array.shape)
    elif array.dtype.kind != "U":
        raise TypeError(
            f"{type(layer).__name__} '{layer.name}' takes strings, but received an array of "
            f"dtype {array.dtype}. Pass text as a list of str or a NumPy array of str.")
    return (array[0] if scalar else array), scalar


def _as_text(layer, value):
    if isinstance(value, str):
        return value
    raise TypeError(
        f"{type(layer).__name__} '{layer.name}' takes strings, but the input holds "
        f"{type(value).__name__} {value!r}. Pass only str (or bytes) items.")


def to_device_output(value):
    """Host results as the eager call returns them: numbers as JAX arrays (int64 becomes
    int32, as with JAX's default 32-bit mode), strings as NumPy arrays."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.dtype == np.int64:
            value = value.astype(np.int32)
        elif value.dtype == np.float64:
            value = value.astype(np.float32)
        return jnp.asarray(value)
    return value


class HostLayer(Layer):
    """Base of the preprocessing layers that compute on the host (see the module docstring).

    Subclasses define `host_call(inputs) -> np.ndarray` and `compute_output_spec`. A
    subclass that can also run inside a compiled step on numbers (IntegerLookup) sets
    `_device_capable = True` and defines `call` with `jax.numpy`.
    """

    _device_capable = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Set by lamina.training.host_stage when fit/evaluate/predict ran this layer on the
        # host already: inside the compiled step it then passes its inputs through.
        object.__setattr__(self, "pre_applied", False)
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    def __call__(self, *args, **kwargs):
        if symbolic.any_symbolic((args, kwargs)):
            return super().__call__(*args, **kwargs)
        if not args:
            args = (kwargs.pop("inputs"),)
        if has_tracers((args, kwargs)):
            if self.pre_applied:
                return args[0]
            if self._device_capable:
                return super().__call__(*args, **kwargs)
            raise TypeError(
                f"{type(self).__name__} '{self.name}' computes on the host (it handles "
                "strings, which JAX arrays cannot hold), so it cannot run inside a compiled "
                "function. Use it as the first layer of the model on a model input (fit, "
                "evaluate and predict then run it on the host before the compiled step), or "
                "apply it to the data before the model: x = layer(raw_data).")
        kwargs.pop("training", None)
        return to_device_output(self.host_call(args[0], **kwargs))

    def host_call(self, inputs):
        raise NotImplementedError
