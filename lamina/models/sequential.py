"""`Sequential`: a plain stack of layers, each feeding the next.

When the input shape is known (a leading `keras.Input`, or `input_shape=` on the first
layer), the stack is wired into a functional graph right away, so shapes show in `summary()`.
Otherwise it builds on the first call (or the first `fit`).
"""

from lamina import dtype_policies
from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.layers.core import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor
from lamina.models.functional import Functional
from lamina.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Examples:
        >>> model = Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> model(jnp.ones((4, 3))).shape
        (4, 2)
    """

    # How weights files lay it out (its layers first): read by lamina.saving.object_graph.
    _object_graph_kind = "Sequential"

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        object.__setattr__(self, "_functional", None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Appends a layer (or a `keras.Input`) to the stack."""
        if isinstance(layer, KerasTensor):
            history = layer._keras_history
            if history is None or not isinstance(history.operation, InputLayer):
                raise ValueError(
                    f"Sequential '{self.name}' can take a keras.Input tensor as its first "
                    f"element, but received another symbolic tensor ({layer!r}). Add layers, "
                    "or use the functional API for graphs.")
            layer = history.operation
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential '{self.name}' only accepts layers. Received {layer!r} of type "
                f"{type(layer).__name__}. Wrap functions in keras.layers.Lambda.")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(
                f"Sequential '{self.name}': an Input can only be the first element; the model "
                f"already has layers {[l.name for l in self._layers]}.")
        if not self._layers and not isinstance(layer, InputLayer) and \
                layer._batch_input_shape is not None:
            self._tracker.add("layers", InputLayer(batch_shape=layer._batch_input_shape))
        for existing in self._layers:
            if existing.name == layer.name:
                raise ValueError(
                    f"Sequential '{self.name}' already has a layer named '{layer.name}'. "
                    "Layer names must be unique within a model: pass a distinct name=.")
        self._tracker.add("layers", layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False

    def pop(self, rebuild=True):
        """Removes and returns the last layer."""
        if not self.layers:
            raise IndexError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._layers[-1]
        self._tracker.untrack(layer)
        object.__setattr__(self, "_functional", None)
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        object.__setattr__(self, "_functional", None)
        if self._layers and isinstance(self._layers[0], InputLayer) and len(self._layers) > 1:
            self.build(self._layers[0].batch_shape)

    @property
    def layers(self):
        """The layers of the stack, without the input layer."""
        layers = list(self._layers)
        if layers and isinstance(layers[0], InputLayer):
            return layers[1:]
        return layers

    def build(self, input_shape=None):
        if self._functional is not None:
            self.built = True
            return
        if not self._layers or (len(self._layers) == 1 and isinstance(self._layers[0],
                                                                       InputLayer)):
            raise ValueError(
                f"Sequential model '{self.name}' has no layers to build. Add layers first.")
        if isinstance(self._layers[0], InputLayer):
            input_layer = self._layers[0]
        else:
            if input_shape is None:
                raise ValueError(
                    f"Sequential model '{self.name}' cannot be built without an input shape. "
                    "Call it on data, start it with keras.Input(shape=...), or call "
                    "build((None, ...)).")
            if isinstance(input_shape, list) and input_shape and isinstance(
                    input_shape[0], (list, tuple)):
                raise ValueError(
                    f"Sequential model '{self.name}' takes a single input, but build() got "
                    f"several shapes: {input_shape}. Use the functional API for several "
                    "inputs.")
            input_layer = InputLayer(batch_shape=tuple(input_shape))
            self._tracker.add("layers", input_layer, index=0)
        x = input_layer.output
        with self._name_scope():
            for layer in self._layers[1:]:
                try:
                    x = layer(x)
                except Exception as error:
                    error.add_note(
                        f"While building Sequential model '{self.name}' layer by layer: "
                        f"layer '{layer.name}' received shape {getattr(x, 'shape', x)}.")
                    raise
        object.__setattr__(self, "_functional", Functional(
            inputs=input_layer.output, outputs=x, name=f"{self.name}_graph"))
        self.built = True

    def _maybe_build(self, args, kwargs):
        if self.built:
            return
        first = args[0] if args else None
        shape = tuple(first.shape) if hasattr(first, "shape") else None
        if shape is not None:
            shape = (None,) + shape[1:]  # the batch size stays free
        self.build(shape)

    def call(self, inputs, training=None, mask=None):
        if self._functional is not None:
            return self._functional.call(inputs, training=training, mask=mask)
        outputs = inputs
        for layer in self.layers:
            outputs = layer(outputs, training=training)
        return outputs

    @property
    def inputs(self):
        return self._functional.inputs if self._functional is not None else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional is not None else None

    @property
    def input_shape(self):
        if self._layers and isinstance(self._layers[0], InputLayer):
            return self._layers[0].batch_shape
        raise AttributeError(f"Sequential model '{self.name}' has no input shape yet.")

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' is not built yet.")
        return self._functional.output_shape

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self.dtype_policy),
            "layers": [serialize_keras_object(layer) for layer in self._layers],
        }
        if self._layers and isinstance(self._layers[0], InputLayer):
            config["build_input_shape"] = self._layers[0].batch_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            layer = deserialize_keras_object(layer_config, custom_objects=custom_objects)
            model.add(layer, rebuild=False)
        build_shape = config.get("build_input_shape")
        if model._layers and isinstance(model._layers[0], InputLayer) and len(model._layers) > 1:
            model.build(model._layers[0].batch_shape)
        elif build_shape is not None:
            model.build(tuple(build_shape))
        return model

