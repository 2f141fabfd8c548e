"""`Lambda`: a weightless layer that wraps a function.

A named function (defined with `def` at module level) is saved by reference: its module and
name. An anonymous function can only be saved as Python bytecode, which runs arbitrary code
when loaded; lamina writes it only inside `keras.saving.allow_lambda_code()` and loads it only
with `safe_mode=False`.
"""

import inspect
import types

import jax

from lamina import _serialization as serialization
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor, as_shape_tuple


def _is_anonymous(fn):
    return isinstance(fn, types.FunctionType) and (
        fn.__name__ == "<lambda>" or "<locals>" in fn.__qualname__)


def _load_code(config, safe_mode):
    if serialization.effective_safe_mode(safe_mode):
        raise ValueError(
            "This model has a Lambda layer whose function was saved as Python bytecode. "
            "Loading it would run code from the file, which is refused by default. If you "
            "trust the file, load it with safe_mode=False.")
    return serialization.function_from_code(
        config["code"], config.get("defaults"), config.get("closure"))


class Lambda(Layer):
    """Wraps a function as a layer: `Lambda(lambda x: ops.exp(x))`.

    Args:
        function: called as `function(inputs, **arguments)`; it may also take `mask` and
            `training`.
        output_shape: the output shape (or a function of the input shape); inferred by
            tracing when omitted.
        mask: the outputs' mask: an array, or a function `mask(inputs, previous_mask)`.
            Without it the layer does not support masking: a mask it receives is dropped,
            with Keras's warning.
        arguments: extra keyword arguments for `function`.

    Examples:
        >>> Lambda(lambda x: x * 2)(jnp.ones((1, 2))).tolist()
        [[2.0, 2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"Lambda '{self.name}' needs a callable. Received: {function!r} of type "
                f"{type(function).__name__}")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        parameters = inspect.signature(function).parameters
        self._fn_takes_mask = "mask" in parameters
        self._fn_takes_training = "training" in parameters
        # Keras: a Lambda passes masks on only when given `mask` (its compute_mask).
        self.supports_masking = mask is not None
        self.built = True

    def compute_mask(self, inputs, mask=None):
        """The `mask` given to the layer: called as `mask(inputs, previous_mask)` when it is a
        function, else the value itself."""
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        shape = as_shape_tuple(self._output_shape)
        batch = input_shape[0] if input_shape and not isinstance(input_shape[0], tuple) else None
        return (batch,) + shape

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is None:
            return super().compute_output_spec(*args, **kwargs)
        return _spec_from_shape(self, args[0])

    def _serialize_function(self, fn, what):
        if _is_anonymous(fn):
            if not serialization.lambda_code_allowed():
                raise ValueError(
                    f"Lambda layer '{self.name}' wraps an anonymous function ({what}), which "
                    "can only be saved as Python bytecode: loading it would run code from the "
                    "file. Define the function with `def` at module level (it is then saved "
                    "by reference), or opt in with `with keras.saving.allow_lambda_code(): "
                    "model.save(...)` and load with safe_mode=False.")
            code, defaults, closure = serialization.function_code(fn)
            return {"class_name": "__lambda__",
                    "config": {"code": code, "defaults": defaults, "closure": closure}}
        return serialization.serialize_keras_object(fn)

    def get_config(self):
        serialize_keras_object = serialization.serialize_keras_object
        config = {"function": self._serialize_function(self.function, "function")}
        if self._output_shape is not None:
            config["output_shape"] = (
                self._serialize_function(self._output_shape, "output_shape")
                if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (self._serialize_function(self.mask, "mask")
                              if callable(self.mask) else serialize_keras_object(self.mask))
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        deserialize_keras_object = serialization.deserialize_keras_object
        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict) and value.get("class_name") == "__lambda__":
                config[key] = _load_code(value["config"], safe_mode)
            elif isinstance(value, dict):
                config[key] = deserialize_keras_object(value, custom_objects=custom_objects,
                                                       safe_mode=safe_mode)
            elif key == "output_shape" and isinstance(value, list):
                config[key] = tuple(value)
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(
                config["arguments"], custom_objects=custom_objects,
                safe_mode=safe_mode)
        return super().from_config(config)


def _spec_from_shape(layer, inputs):
    shapes = jax.tree_util.tree_map(lambda x: x.shape, inputs,
                                    is_leaf=lambda x: isinstance(x, KerasTensor))
    output_shape = layer.compute_output_shape(shapes)
    dtype = (inputs.dtype if isinstance(inputs, KerasTensor) else layer.compute_dtype)
    return KerasTensor(as_shape_tuple(output_shape), dtype=dtype)
