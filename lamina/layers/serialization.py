"""`keras.layers.serialize` / `keras.layers.deserialize`: a layer as a Keras 3 config dict and
back (the functions `.keras` files and model configs use for each layer)."""

import inspect
import sys

from lamina import _serialization
from lamina.layers.layer import Layer


def serialize(layer):
    """The Keras 3 config dict of a layer: `{"module", "class_name", "config",
    "registered_name"}` (plus `"build_config"` once built), as written in `.keras` files.

    Examples:
        >>> config = lamina.layers.serialize(lamina.layers.Dense(2, name="d"))
        >>> config["module"], config["class_name"], config["config"]["units"]
        ('keras.layers', 'Dense', 2)
    """
    return _serialization.serialize_keras_object(layer)


def _layer_classes():
    # The package is loaded by the time anyone calls this (it imports this module); reading it
    # from sys.modules keeps this module below the package that re-exports it.
    namespace = sys.modules["lamina.layers"]
    return {name: value for name, value in vars(namespace).items()
            if inspect.isclass(value) and issubclass(value, Layer)}


def deserialize(config, custom_objects=None):
    """Rebuilds a layer from its config (the inverse of `serialize`). A config written by Keras 3
    loads as the matching lamina layer; a user layer is found through `custom_objects` or
    `keras.saving.register_keras_serializable`. A bare `{"class_name": "Dense", "config": ...}`
    names a built-in layer.

    Raises ValueError when the config describes something that is not a layer.

    Examples:
        >>> layer = lamina.layers.deserialize(
        ...     {"class_name": "Dense", "config": {"units": 3, "name": "d"}})
        >>> type(layer).__name__, layer.units
        ('Dense', 3)
    """
    obj = _serialization.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=_layer_classes(),
        printable_module_name="layer")
    if not isinstance(obj, Layer):
        raise ValueError(
            "keras.layers.deserialize expects the config of a layer (a keras.layers.Layer). "
            f"The config describes a {type(obj).__name__} instead. Received: config={config!r}. "
            "Use keras.saving.deserialize_keras_object for other objects.")
    return obj


__all__ = ["deserialize", "serialize"]
