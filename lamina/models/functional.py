"""Functional models: a graph of layer calls from `keras.Input`s to outputs.

Calling layers on symbolic tensors records `Node`s (see `layers/symbolic.py`). A `Functional`
model walks those nodes back from its outputs, checks that they reach only its inputs, orders
them, and replays them on real values when called. Its config is Keras 3's: one entry per layer
with its `inbound_nodes`, plus `input_layers` and `output_layers`.
"""

import jax

from lamina._registry import keras_export
from lamina._runtime.masking import set_keras_mask
from lamina.layers._masking import check_mask, flatten
from lamina.layers.core import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.operation import is_operation
from lamina.layers.symbolic import KerasTensor, is_symbolic
from lamina.models.functional_config import functional_config
from lamina.models.model import Model, _functional_like_constructor


def _flatten(structure):
    return jax.tree_util.tree_leaves(structure, is_leaf=is_symbolic)


def _history_node(tensor):
    operation, node_index, _ = tensor._keras_history
    return operation._inbound_nodes[node_index]


def _describe(tensor):
    history = tensor._keras_history
    origin = f"output of layer '{history.operation.name}'" if history else "a tensor"
    return f"{origin} (shape {tensor.shape})"


def _order_nodes(outputs, inputs):
    """The nodes between `inputs` and `outputs`, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    ordered, state = [], {}

    def visit(tensor, path):
        if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
            raise ValueError(
                f"The model's graph reaches {tensor!r}, which was not produced by a layer "
                "call on keras.Input. Every tensor in a functional model must come from "
                "keras.Input or from calling layers on such tensors.")
        node = _history_node(tensor)
        if id(tensor) in input_ids:
            if id(node) not in state:
                state[id(node)] = "done"
                ordered.append(node)
            return
        if node.is_input:
            layer = node.operation
            chain = " <- ".join(reversed(path)) or "the outputs"
            raise ValueError(
                f"Output not reachable from the model's inputs: {chain} depends on input "
                f"'{layer.name}' (shape {tensor.shape}), which is not in `inputs`. Add it "
                "to the model's inputs, or build the outputs from the given inputs only.")
        if state.get(id(node)) == "done":
            return
        if state.get(id(node)) == "visiting":
            raise ValueError(f"The graph has a cycle through layer '{node.operation.name}'.")
        state[id(node)] = "visiting"
        for parent in node.input_tensors:
            visit(parent, path + [node.operation.name])
        state[id(node)] = "done"
        ordered.append(node)

    for tensor in outputs:
        visit(tensor, [])
    return ordered


def _is_singleton(structure):
    return isinstance(structure, (list, tuple)) and len(structure) == 1


def _unpack_singleton(structure):
    return structure[0] if _is_singleton(structure) else structure


def _layers_by_depth(nodes):
    """The layers of the graph in Keras's order: deepest (inputs) first, ties in traversal
    order. A node's depth is the length of the longest path from it to an output."""
    depth = {id(node): 0 for node in nodes}
    for node in reversed(nodes):  # consumers come after producers in `nodes`
        for tensor in node.input_tensors:
            parent = _history_node(tensor)
            if id(parent) in depth:
                depth[id(parent)] = max(depth[id(parent)], depth[id(node)] + 1)
    layer_depth, first_seen, layers = {}, {}, []
    for index, node in enumerate(nodes):
        key = id(node.operation)
        if key not in first_seen:
            first_seen[key] = index
            layers.append(node.operation)
        layer_depth[key] = max(layer_depth.get(key, 0), depth[id(node)])
    return sorted(layers, key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))


@keras_export("keras.src.models.functional.Functional")
class Functional(Model, graph=True):
    """A model defined by its inputs and outputs: `Model(inputs=x, outputs=y)`.

    Inputs and outputs may be a tensor, a list, or a dict of tensors. Layers may be shared
    (called at several points) and models may be used as layers.

    Examples:
        >>> inputs = lamina.Input(shape=(3,))
        >>> outputs = lamina.layers.Dense(2)(inputs)
        >>> model = Model(inputs=inputs, outputs=outputs)
        >>> model(jnp.ones((4, 3))).shape
        (4, 2)
    """

    # How weights files lay it out (its layers first): read by lamina.saving.object_graph.
    _object_graph_kind = "Functional"
    # A nested model records the mask it is called with in its node, as Keras's does.
    _convert_input_args = False
    # Whether calls check every input axis against the graph's (a Sequential's graph, made
    # from one batch, takes other sequence lengths, as Keras's does).
    _checks_input_axes = True

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        flat_inputs = _flatten(inputs)
        flat_outputs = _flatten(outputs)
        for kind, flat in (("inputs", flat_inputs), ("outputs", flat_outputs)):
            for tensor in flat:
                if not isinstance(tensor, KerasTensor):
                    raise TypeError(
                        f"Model {kind} must be symbolic tensors from keras.Input and layer "
                        f"calls. Received: {tensor!r} of type {type(tensor).__name__}.")
        for tensor in flat_inputs:
            history = tensor._keras_history
            if history is None or not isinstance(history.operation, InputLayer):
                raise ValueError(
                    f"Model inputs must be tensors made by keras.Input. Received "
                    f"{_describe(tensor)}. Pass the keras.Input tensors the graph starts from.")
        self._flat_inputs = flat_inputs
        self._flat_outputs = flat_outputs
        self._nodes = _order_nodes(flat_outputs, flat_inputs)
        operations = _layers_by_depth(self._nodes)
        # Keras's `model.layers` leaves out the graph's operations (`x * 2`, `ops.mean`):
        # they hold no weights and are listed, with the layers, in `_operations` and the config.
        object.__setattr__(self, "_operations", operations)
        layers = [layer for layer in operations if not is_operation(layer)]
        names = {}
        for layer in operations:
            if layer.name in names:
                raise ValueError(
                    f"Model '{self.name}' has two different layers named '{layer.name}' "
                    f"({type(names[layer.name]).__name__} and {type(layer).__name__}). Layer "
                    "names must be unique within a model: pass distinct name= arguments.")
            names[layer.name] = layer
        for layer in layers:
            self._tracker.add("layers", layer)
        self._input_names = [t._keras_history.operation.name for t in flat_inputs]
        self.built = True

    # ----------------------------------------------------------------------------- structure
    @property
    def inputs(self):
        return list(self._flat_inputs)

    @property
    def outputs(self):
        return list(self._flat_outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._flat_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ----------------------------------------------------------------------------- calling
    def _flatten_call_inputs(self, inputs):
        """The fed values in the order of `self.inputs`, after checking their structure."""
        n = len(self._flat_inputs)
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                expected = dict(self._inputs_struct)
            else:
                expected = dict(zip(self._input_names, self._flat_inputs))
            missing = [k for k in expected if k not in inputs]
            extra = [k for k in inputs if k not in expected]
            if missing or extra:
                raise ValueError(
                    f"Model '{self.name}' expects inputs with keys {list(expected)}. Missing: "
                    f"{missing}; unexpected: {extra}. Feed a dict with exactly these keys.")
            by_tensor = {id(tensor): inputs[key] for key, tensor in expected.items()}
            return [by_tensor[id(tensor)] for tensor in self._flat_inputs]
        if n == 1:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and hasattr(
                    inputs[0], "shape"):
                return [inputs[0]]
            return [inputs]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != n:
            raise ValueError(
                f"Model '{self.name}' expects {n} inputs ({self._input_names}), but received "
                f"{len(flat)}. Pass a list of {n} arrays, or a dict keyed by input name.")
        return flat

    def _check_input(self, tensor, value):
        shape = getattr(value, "shape", None)
        if shape is None or tensor.dtype == "string":
            return  # a string input arrives as its host layer's output (training/host_stage.py)
        expected = tensor.shape
        name = tensor._keras_history.operation.name
        # The batch axis is never checked, as in Keras: a Sequential model built by fit()
        # records its first batch size in its input layer, and still takes other sizes.
        if len(shape) != len(expected) or self._checks_input_axes and any(
                e is not None and e != a for e, a in zip(expected[1:], shape[1:])):
            raise ValueError(
                f"Input '{name}' of model '{self.name}' expects shape {expected}, but received "
                f"an array of shape {tuple(shape)}. Feed data of the model's input shape, or "
                "rebuild the model with keras.Input(shape=...) matching your data.")

    def call(self, inputs, training=None, mask=None):
        flat = self._flatten_call_inputs(inputs)
        values = {}
        for tensor, value in zip(self._flat_inputs, flat):
            self._check_input(tensor, value)
            values[id(tensor)] = value
        if mask is not None:
            # The model's inputs carry the given masks into the graph (Keras).
            masks = flatten(mask)
            for tensor, value, one_mask in zip(self._flat_inputs, flat, masks):
                if one_mask is not None:
                    check_mask(self, f"input '{tensor._keras_history.operation.name}'",
                               one_mask, value)
                    set_keras_mask(value, one_mask)
        for node in self._nodes:
            if node.is_input:
                continue
            args, kwargs = jax.tree_util.tree_map(
                lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                node.arguments, is_leaf=is_symbolic)
            operation = node.operation
            if training is not None and operation._call_takes_training:
                # The model's training flag wins over the one recorded in the node (Keras).
                kwargs = {**kwargs, "training": training}
            outputs = operation(*args, **kwargs)
            for tensor, value in zip(node.output_tensors, jax.tree_util.tree_leaves(outputs)):
                values[id(tensor)] = value
        outputs = jax.tree_util.tree_map(lambda t: values[id(t)], self._outputs_struct,
                                         is_leaf=is_symbolic)
        # Like Keras, a model built with `outputs=[y]` returns the bare value when run on
        # data (`model(x)`, `predict`), while its symbolic output stays the list.
        return _unpack_singleton(outputs)

    def compute_output_spec(self, inputs, training=None, mask=None):
        spec = super().compute_output_spec(inputs)
        if _is_singleton(self._outputs_struct) and not _is_singleton(spec):
            spec = type(self._outputs_struct)([spec])
        return spec

    def build(self, input_shape):
        self.built = True

    # ----------------------------------------------------------------------------- configs
    def get_config(self):
        """The graph's config; for a subclass with its own constructor arguments (built
        functionally inside its `__init__`), those arguments instead, as for any layer.

        `Model.from_config` reads either kind back.
        """
        if _functional_like_constructor(type(self)):
            return functional_config(self)
        return Layer.get_config(self)


# Its own get_config hands subclasses with their own constructor to Layer's, which then adds
# their recorded arguments unless a class below Functional overrides get_config.
Functional._automatic_config_base = Functional
