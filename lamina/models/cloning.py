"""`keras.models.clone_model` and `model_from_json`."""

import json

from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.models.functional import Functional
from lamina.models.functional_config import functional_config, functional_from_config
from lamina.models.sequential import Sequential


def model_from_json(json_string, custom_objects=None):
    """A model (with fresh weights) from the JSON that `model.to_json()` wrote.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="out")])
        >>> copy = lamina.models.model_from_json(model.to_json())
        >>> [layer.name for layer in copy.layers], copy.count_params()
        (['out'], 8)
    """
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as error:
        raise ValueError(f"model_from_json received invalid JSON: {error}.") from error
    return deserialize_keras_object(config, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with the same architecture and freshly initialized weights.

    `clone_function(layer)` may replace how each layer is copied (default: from its config).

    Examples:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> clone = lamina.models.clone_model(model)
        >>> clone.count_params() == model.count_params(), clone.layers[0] is model.layers[0]
        (True, False)
    """
    if input_tensors is not None or call_function is not None or kwargs:
        raise NotImplementedError(
            "clone_model in lamina supports clone_function only (not input_tensors or "
            "call_function). Rebuild the model from its config for other cases.")
    if clone_function is None:
        config = serialize_keras_object(model)
        config.pop("compile_config", None)
        return deserialize_keras_object(config)
    if isinstance(model, Sequential):
        clones = {}  # a layer shared at several places is cloned once, and stays shared
        for layer in model._layer_stack:
            if id(layer) not in clones:
                clones[id(layer)] = clone_function(layer)
        return Sequential([clones[id(layer)] for layer in model._layer_stack],
                          name=model.name)
    if isinstance(model, Functional):
        config = functional_config(model)
        clones = {layer.name: clone_function(layer) for layer in model.layers}
        return functional_from_config(Functional, config, custom_objects=None,
                                      layer_factory=lambda entry: clones.get(entry["name"]))
    raise ValueError(
        "clone_model with clone_function works on Sequential and functional models; a "
        "subclassed model must be re-created from its class.")
