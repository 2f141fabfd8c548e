"""`keras.legacy.saving`: tf.keras 2's object configs, `serialize_keras_object` /
`deserialize_keras_object` (also `keras.utils.legacy`), for code written against tf.keras 2.

The format is `{"class_name": <registered name>, "config": get_config()}`: no module, nested
objects marked `"__passive_serialization__": True`, functions by their bare name. Since a bare
name says nothing about where a built-in lives, deserializing resolves names only among the
objects the caller lists in `module_objects`, the `custom_objects` it passes, and the
registered (or scoped) custom objects; nothing is imported. Whole legacy `.h5` model files
are read by `keras.models.load_model`, which goes through lamina's safe loading instead
(`lamina.saving.legacy_h5`).

This module sits low in the package (it imports only the registry and `_serialization`), so
that `keras.utils` can re-export it without importing layers.
"""

import inspect

from lamina import _registry as registry
from lamina import _serialization as serialization
from lamina._registry import keras_export

__all__ = ["deserialize_keras_object", "serialize_keras_object"]

_PASSIVE = "__passive_serialization__"


@keras_export("keras.legacy.saving.serialize_keras_object",
              "keras.utils.legacy.serialize_keras_object")
def serialize_keras_object(instance):
    """The tf.keras 2 config of `instance`: `{"class_name", "config"}` for an object with
    `get_config`, the registered name for a function.

    For configs that code written for tf.keras 2 reads or writes; Keras 3 files use
    `keras.saving.serialize_keras_object`.

    Examples:
        >>> lamina.legacy.saving.serialize_keras_object(lamina.regularizers.L2(0.5))
        {'class_name': 'L2', 'config': {'l2': 0.5}}
        >>> lamina.legacy.saving.serialize_keras_object(lamina.activations.relu)
        'relu'
    """
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                serialized = serialize_keras_object(item)
            except ValueError:
                config[key] = item
                continue
            if isinstance(serialized, dict) and not isinstance(item, dict):
                serialized[_PASSIVE] = True
            config[key] = serialized
        return {"class_name": registry.get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return registry.get_registered_name(instance)
    raise ValueError(
        f"Cannot serialize {serialization.short_repr(instance, 100)} of type "
        f"{type(instance).__name__}: it has no get_config() and is not a named function. "
        "Give its class a get_config() method.")


def _lookup(name, module_objects, custom_objects):
    objects = {**registry.get_custom_objects(), **registry.scoped_custom_objects(),
               **(custom_objects or {})}
    if name in objects:
        return objects[name]
    return (module_objects or {}).get(name)


def _unknown(kind, name):
    return ValueError(
        f"Unknown {kind}: '{name}'. It is not among the module_objects passed, the "
        f"custom_objects passed, or the registered custom objects. Pass "
        f"custom_objects={{'{name}': ...}}, wrap the call in keras.saving.custom_object_scope, "
        "or decorate the object with @keras.saving.register_keras_serializable().")


@keras_export("keras.legacy.saving.deserialize_keras_object",
              "keras.utils.legacy.deserialize_keras_object")
def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """Rebuilds an object from its tf.keras 2 config (see `serialize_keras_object`).

    Names resolve among `custom_objects`, the registered custom objects and `module_objects`
    (`{name: class or function}`, the built-ins the caller allows) only.

    Args:
        identifier: a config dict, a name, a function, or None.
        module_objects: `{name: object}` of built-ins a name may refer to.
        custom_objects: `{name: object}` of user objects.
        printable_module_name: what the object is, for error messages.

    Examples:
        >>> config = {"class_name": "L2", "config": {"l2": 0.5}}
        >>> deserialize = lamina.legacy.saving.deserialize_keras_object
        >>> deserialize(config, module_objects={"L2": lamina.regularizers.L2}).l2
        0.5
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if not isinstance(identifier.get("class_name"), str) or "config" not in identifier:
            raise ValueError(
                f"Improper config format for a {printable_module_name}: expected a dict with "
                f"'class_name' and 'config'. Received: "
                f"{serialization.short_repr(identifier, 200)}")
        class_name = identifier["class_name"]
        cls = _lookup(class_name, module_objects, custom_objects)
        if cls is None:
            raise _unknown(printable_module_name, class_name)
        config = identifier["config"]
        if isinstance(config, dict):
            config = dict(config)
            for key, item in list(config.items()):
                if key == "name":
                    continue
                if isinstance(item, dict) and item.get(_PASSIVE):
                    config[key] = deserialize_keras_object(
                        {k: v for k, v in item.items() if k != _PASSIVE}, module_objects,
                        custom_objects, "config_item")
                elif isinstance(item, str) and inspect.isfunction(
                        _lookup(item, module_objects, custom_objects)):
                    config[key] = _lookup(item, module_objects, custom_objects)
        with registry.custom_object_scope(custom_objects or {}):
            if hasattr(cls, "from_config"):
                parameters = inspect.signature(cls.from_config).parameters
                if "custom_objects" in parameters:
                    return cls.from_config(config, custom_objects=custom_objects or {})
                return cls.from_config(config)
            if not isinstance(config, dict):
                raise ValueError(f"The config of {class_name} must be a dict of its arguments. "
                                 f"Received: {serialization.short_repr(config, 200)}")
            return cls(**config)
    if isinstance(identifier, str):
        found = _lookup(identifier, module_objects, custom_objects)
        if found is None:
            raise _unknown(printable_module_name, identifier)
        return found() if inspect.isclass(found) else found
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: "
                     f"{serialization.short_repr(identifier, 200)}")
