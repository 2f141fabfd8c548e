"""`keras.config`: process-wide settings (default float type, epsilon, image layout)."""

from lamina._runtime.config import backend as backend
from lamina._runtime.config import epsilon as epsilon
from lamina._runtime.config import floatx as floatx
from lamina._runtime.config import image_data_format as image_data_format
from lamina._runtime.config import set_epsilon as set_epsilon
from lamina._runtime.config import set_floatx as set_floatx
from lamina._runtime.config import set_image_data_format as set_image_data_format
from lamina._serialization import enable_unsafe_deserialization as _enable_unsafe_deserialization


def enable_unsafe_deserialization():
    """Allows loading Lambda bytecode and other unsafe content everywhere (like Keras).

    It cannot be undone within the process, so prefer `safe_mode=False` on the one call that
    loads a trusted file.

    Examples:
        Safe mode refuses a config that holds a lambda's bytecode:

        >>> with lamina.saving.allow_lambda_code():
        ...     config = lamina.saving.serialize_keras_object(lamina.layers.Lambda(lambda x: x + 1))
        >>> lamina.saving.deserialize_keras_object(config)
        Traceback (most recent call last):
        ValueError: This model has a Lambda layer whose function was saved as Python bytecode. ...
        >>> layer = lamina.saving.deserialize_keras_object(config, safe_mode=False)  # one call
        >>> lamina.config.enable_unsafe_deserialization()  # doctest: +SKIP
    """
    _enable_unsafe_deserialization()
