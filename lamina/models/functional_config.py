"""Functional model configs in Keras 3's schema, both ways.

A config lists each layer once (`module`, `class_name`, `config`, `registered_name`,
`build_config`, `name`, `inbound_nodes`). A node's arguments hold symbolic tensors as
`{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [layer name,
node index, tensor index]}}`, where the node index counts only the layer's calls inside this
model (a layer shared with another model may have more).

Keras numbers the calls of a nested functional model from 1 in `input_layers` and
`output_layers` (it counts the model's own input-to-output node first) but from 0 inside
`inbound_nodes`; both conventions are kept, so configs move between the two libraries.
"""

import jax

from lamina import _serialization as serialization
from lamina.layers.symbolic import KerasTensor, is_symbolic

_TENSOR = "__keras_tensor__"


def functional_config(model):
    node_index = {}  # id(node) -> index among the layer's nodes inside this model
    per_layer = {}
    for node in model._nodes:
        nodes = per_layer.setdefault(id(node.operation), [])
        node_index[id(node)] = len(nodes)
        nodes.append(node)

    def history(tensor, endpoint=False):
        layer, index, tensor_index = tensor._keras_history
        node = layer._inbound_nodes[index]
        offset = _endpoint_offset(layer) if endpoint else 0
        return [layer.name, node_index[id(node)] + offset, tensor_index]

    def serialize_argument(value):
        if isinstance(value, KerasTensor):
            return {"class_name": _TENSOR, "config": {
                "shape": list(value.shape), "dtype": value.dtype, "keras_history": history(value)}}
        if isinstance(value, (list, tuple)):
            return [serialize_argument(v) for v in value]
        if isinstance(value, dict):
            return {k: serialize_argument(v) for k, v in value.items()}
        return serialization.serialize_keras_object(value)

    layers = []
    for layer in model._operations:  # the layers and the graph's operations (Keras's order)
        entry = serialization.serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [] if type(layer).__name__ == "InputLayer" else [
            {"args": serialize_argument(list(node.arguments[0])),
             "kwargs": serialize_argument(dict(node.arguments[1]))}
            for node in per_layer.get(id(layer), [])]
        layers.append(entry)

    def endpoints(structure):
        if isinstance(structure, dict):
            return {k: history(v, endpoint=True) for k, v in structure.items()}
        if isinstance(structure, KerasTensor):
            return [history(structure, endpoint=True)]
        return [history(t, endpoint=True) for t in structure]

    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": endpoints(model._inputs_struct),
              "output_layers": endpoints(model._outputs_struct)}
    if isinstance(model._inputs_struct, KerasTensor):
        config["input_layers"] = config["input_layers"][0]
    if isinstance(model._outputs_struct, KerasTensor):
        config["output_layers"] = config["output_layers"][0]
    return config


def functional_from_config(cls, config, custom_objects=None, layer_factory=None):
    """Rebuilds the layers, replays their calls in dependency order, and makes the model.

    `layer_factory(entry)` may supply each layer instead of deserializing it (clone_model);
    where it returns None, the entry is deserialized.
    """
    layers = {}
    pending = []
    for index, entry in enumerate(_listed(config, "layers", dict)):
        where = f"layers[{index}]"
        if not isinstance(entry.get("class_name"), str):
            raise ValueError(
                f"The functional config's {where} has no 'class_name' naming the layer's "
                f"class. Received: {_preview(entry)}")
        layer = None if layer_factory is None else layer_factory(entry)
        if layer is None:
            layer = serialization.deserialize_keras_object(
                {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")},
                custom_objects=custom_objects)
        if not callable(layer) or not hasattr(layer, "name"):
            raise ValueError(
                f"The functional config's {where} describes a {type(layer).__name__}, not a "
                f"layer. Received: {_preview(entry)}")
        name = entry.get("name", layer.name)
        if not isinstance(name, str):
            raise ValueError(f"The functional config's {where} has a name that is not a "
                             f"string: {_preview(name)}.")
        if name in layers:
            raise ValueError(
                f"The model config lists two layers named '{name}'. Layer names must be unique "
                "within a model.")
        layers[name] = layer
        for node_data in _listed(entry, "inbound_nodes", dict, where=where, default=[]):
            pending.append((name, node_data))
    outputs_by_node = {}  # (layer name, node index) -> flat output tensors
    for name, layer in layers.items():
        if type(layer).__name__ == "InputLayer":
            outputs_by_node[(name, 0)] = [layer.output]
    calls_made = {name: 1 if type(layer).__name__ == "InputLayer" else 0
                  for name, layer in layers.items()}

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            layer_name, index, tensor_index = value["config"]["keras_history"]
            produced = outputs_by_node.get((layer_name, index))
            if produced is None:
                raise LookupError((layer_name, index))
            return produced[tensor_index]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            if "class_name" in value and "config" in value:
                return serialization.deserialize_keras_object(value,
                                                              custom_objects=custom_objects)
            return {k: resolve(v) for k, v in value.items()}
        return value

    while pending:
        progressed = False
        remaining = []
        for name, node_data in pending:
            # A layer's nodes must be replayed in order, so node indices match.
            if any(n == name for n, _ in remaining):
                remaining.append((name, node_data))
                continue
            try:
                args = resolve(node_data.get("args", []))
                kwargs = resolve(node_data.get("kwargs", {}))
            except LookupError:
                remaining.append((name, node_data))
                continue
            outputs = layers[name](*args, **kwargs)
            outputs_by_node[(name, calls_made[name])] = jax.tree_util.tree_leaves(
                outputs, is_leaf=is_symbolic)
            calls_made[name] += 1
            progressed = True
        if not progressed:
            missing = sorted({name for name, _ in remaining})
            raise ValueError(
                f"Cannot rebuild the functional model: the calls of layers {missing} depend on "
                "tensors that no layer in the config produces. The config is incomplete or "
                "corrupted.")
        pending = remaining

    def endpoint(spec):
        layer_name, index, tensor_index = spec
        if layer_name in layers:
            index -= _endpoint_offset(layers[layer_name])
        if (layer_name, index) not in outputs_by_node:
            raise ValueError(
                f"The model config names output or input [{layer_name!r}, {index}, "
                f"{tensor_index}], which no layer call produces.")
        return outputs_by_node[(layer_name, index)][tensor_index]

    def endpoints(spec):
        if isinstance(spec, dict):
            return {k: endpoint(v) for k, v in spec.items()}
        if spec and not isinstance(spec[0], (list, tuple)):
            return endpoint(spec)
        return [endpoint(s) for s in spec]

    inputs = endpoints(config["input_layers"])
    outputs = endpoints(config["output_layers"])
    kwargs = {}
    if "trainable" in config:
        kwargs["trainable"] = config["trainable"]
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"), **kwargs)


def _listed(config, key, kind, where="", default=None):
    """`config[key]`, checked to be a list of `kind` (the parts of a functional config)."""
    value = config.get(key, default) if isinstance(config, dict) else None
    place = f"{where}.{key}" if where else key
    if not isinstance(value, list):
        raise ValueError(f"The functional config's '{place}' must be a list. Received: "
                         f"{_preview(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, kind):
            raise ValueError(
                f"The functional config's {place}[{index}] must be a {kind.__name__}. "
                f"Received: {_preview(item)}")
    return value


def _preview(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _endpoint_offset(layer):
    """1 for a nested functional model in `input_layers`/`output_layers` (Keras's numbering).

    Told by the kind the model class declares: the model classes import this module.
    """
    return 1 if getattr(layer, "_object_graph_kind", None) == "Functional" else 0
