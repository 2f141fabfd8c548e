"""`Sequential`: a plain stack of layers, each feeding the next.

When the input shape is known (a leading `keras.Input`, or `input_shape=` on the first
layer), the stack is wired into a functional graph right away, so shapes show in `summary()`.
Otherwise it builds on the first call (or the first `fit`).

One layer instance may appear several times in the stack (Keras 3 allows it): it is called at
each place with its one set of weights. The stack keeps every occurrence (`layers`, the
config), while the layer is tracked, counted and saved once.
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

    A layer instance may be added more than once: it is applied at each place with the same
    weights (listed once in `weights`, saved once, and shared again when loaded).

    Examples:
        >>> model = Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> model(jnp.ones((4, 3))).shape
        (4, 2)
        >>> shared = lamina.layers.Dense(3, name="shared")
        >>> model = Sequential([lamina.Input((3,)), shared, shared])
        >>> [layer.name for layer in model.layers], len(model.weights)
        (['shared', 'shared'], 2)
    """

    # How weights files lay it out (its layers first): read by lamina.saving.object_graph.
    _object_graph_kind = "Sequential"

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        object.__setattr__(self, "_functional", None)
        # The stack in order, the input layer first when there is one, a shared layer once per
        # occurrence; `_layers` (the tracker's) holds each layer once.
        object.__setattr__(self, "_layer_stack", [])
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
        stack = self._layer_stack
        if isinstance(layer, InputLayer) and stack:
            raise ValueError(
                f"Sequential '{self.name}': an Input can only be the first element; the model "
                f"already has layers {[l.name for l in stack]}.")
        if layer is self:
            raise ValueError(f"Sequential '{self.name}' cannot contain itself.")
        for existing in stack:
            if existing.name == layer.name and existing is not layer:
                raise ValueError(
                    f"Sequential '{self.name}' already has a layer named '{layer.name}'. "
                    "Layer names must be unique within a model: pass a distinct name= (adding "
                    "the same layer instance again shares it, with one set of weights).")
        before = len(stack)
        if not stack and not isinstance(layer, InputLayer) and \
                layer._batch_input_shape is not None:
            input_layer = InputLayer(batch_shape=layer._batch_input_shape)
            stack.append(input_layer)
            self._tracker.add("layers", input_layer)
        stack.append(layer)
        self._tracker.add("layers", layer)
        self._mark_changed(structural=True)  # a repeated layer changes no tracked collection
        if rebuild:
            try:
                self._maybe_rebuild()
            except Exception:
                # The layer does not fit where it was added: the stack goes back to what it
                # was (and to its graph, if it had one).
                while len(stack) > before:
                    removed = stack.pop()
                    if not any(other is removed for other in stack):
                        self._tracker.untrack(removed)
                self._maybe_rebuild()
                raise
        else:
            self.built = False

    def pop(self, rebuild=True):
        """Removes and returns the last layer."""
        if not self.layers:
            raise IndexError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._layer_stack.pop()
        if not any(other is layer for other in self._layer_stack):
            self._tracker.untrack(layer)
        self._mark_changed(structural=True)
        object.__setattr__(self, "_functional", None)
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        object.__setattr__(self, "_functional", None)
        stack = self._layer_stack
        if stack and isinstance(stack[0], InputLayer) and len(stack) > 1:
            self.build(stack[0].batch_shape)

    @property
    def layers(self):
        """The layers of the stack, without the input layer; a shared layer is listed at each
        of its places, as in Keras."""
        layers = list(self._layer_stack)
        if layers and isinstance(layers[0], InputLayer):
            return layers[1:]
        return layers

    def build(self, input_shape=None):
        if self._functional is not None:
            self.built = True
            return
        stack = self._layer_stack
        if not stack or (len(stack) == 1 and isinstance(stack[0], InputLayer)):
            raise ValueError(
                f"Sequential model '{self.name}' has no layers to build. Add layers first.")
        if isinstance(stack[0], InputLayer):
            input_layer = stack[0]
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
            # Keras gives the input the first layer's dtype: "string" for a text layer.
            dtype = "string" if getattr(stack[0], "compute_dtype", None) == "string" else None
            input_layer = InputLayer(batch_shape=tuple(input_shape), dtype=dtype)
            stack.insert(0, input_layer)
            self._tracker.add("layers", input_layer, index=0)
        x = input_layer.output
        with self._name_scope():
            for layer in stack[1:]:
                try:
                    x = layer(x)
                except Exception as error:
                    error.add_note(
                        f"While building Sequential model '{self.name}' layer by layer: "
                        f"layer '{layer.name}' received shape {getattr(x, 'shape', x)}.")
                    raise
        graph = Functional(inputs=input_layer.output, outputs=x, name=f"{self.name}_graph")
        # As in Keras, the stack takes inputs of other sizes than the one it was built for (a
        # text model first called on 10 steps takes 12); its layers check what they need.
        object.__setattr__(graph, "_checks_input_axes", False)
        object.__setattr__(self, "_functional", graph)
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
        stack = self._layer_stack
        if stack and isinstance(stack[0], InputLayer):
            return stack[0].batch_shape
        raise AttributeError(f"Sequential model '{self.name}' has no input shape yet.")

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' is not built yet.")
        return self._functional.output_shape

    def get_config(self):
        """The stack's config: each place of the stack, so a shared layer appears at each of
        its places under its one name (with a `shared_object_id` when saving). Keras 3 lists
        it once, and so loses the sharing; this config keeps it, in lamina and in Keras."""
        stack = self._layer_stack
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": dtype_policies.serialize(self.dtype_policy),
            "layers": [serialize_keras_object(layer) for layer in stack],
        }
        if stack and isinstance(stack[0], InputLayer):
            config["build_input_shape"] = stack[0].batch_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        by_name = {}  # layer name -> (its config, the layer)
        for index, layer_config in enumerate(config.get("layers", [])):
            name = _layer_name(layer_config)
            earlier = by_name.get(name) if name is not None else None
            if earlier is not None and _same_config(earlier[0], layer_config):
                # A layer met again under its name: the same instance, as the model was
                # (a config written outside a saving scope has no shared_object_id).
                layer = earlier[1]
            else:
                layer = deserialize_keras_object(layer_config, custom_objects=custom_objects)
            if earlier is not None and earlier[1] is not layer:
                raise ValueError(
                    f"The Sequential config lists two different layers named '{name}' (at "
                    f"layers[{index}] and earlier). Layer names must be unique within a model; "
                    "a layer listed twice must have the same config both times.")
            if name is not None:
                by_name.setdefault(name, (layer_config, layer))
            model.add(layer, rebuild=False)
        build_shape = config.get("build_input_shape")
        stack = model._layer_stack
        if stack and isinstance(stack[0], InputLayer) and len(stack) > 1:
            model.build(stack[0].batch_shape)
        elif build_shape is not None:
            model.build(tuple(build_shape))
        return model



def _layer_name(layer_config):
    inner = layer_config.get("config") if isinstance(layer_config, dict) else None
    name = inner.get("name") if isinstance(inner, dict) else None
    return name if isinstance(name, str) else None


def _same_config(a, b):
    """Whether two layer configs describe the same layer (ids of shared objects aside)."""
    def strip(config):
        if isinstance(config, dict):
            return {k: strip(v) for k, v in config.items() if k != "shared_object_id"}
        if isinstance(config, (list, tuple)):
            return [strip(v) for v in config]
        return config
    return strip(a) == strip(b)
