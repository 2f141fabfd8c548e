"""`keras.saving`: the custom-object registry and Keras 3 configs.

`register_keras_serializable` and `custom_object_scope` tell loading code what a saved name
means; `serialize_keras_object` / `deserialize_keras_object` convert objects to and from the
dicts that Keras 3 writes in `config.json`, so configs move between lamina and Keras.
"""

from lamina.saving.registry import CustomObjectScope as CustomObjectScope
from lamina.saving.registry import custom_object_scope as custom_object_scope
from lamina.saving.registry import get_custom_objects as get_custom_objects
from lamina.saving.registry import get_registered_name as get_registered_name
from lamina.saving.registry import get_registered_object as get_registered_object
from lamina.saving.registry import register_keras_serializable as register_keras_serializable
from lamina.saving.serialization import allow_lambda_code as allow_lambda_code
from lamina.saving.serialization import deserialize_keras_object as deserialize_keras_object
from lamina.saving.serialization import serialize_keras_object as serialize_keras_object

__all__ = [
    "CustomObjectScope", "allow_lambda_code", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "register_keras_serializable",
    "serialize_keras_object",
]
