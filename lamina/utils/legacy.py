"""`keras.utils.legacy`: tf.keras 2's object configs, the same functions as
`keras.legacy.saving` (defined in `lamina.legacy.saving`)."""

from lamina.legacy.saving import deserialize_keras_object as deserialize_keras_object
from lamina.legacy.saving import serialize_keras_object as serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
