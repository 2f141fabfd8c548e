"""`keras.config`: process-wide settings (default float type, epsilon, image layout)."""

from lamina._runtime.config import backend as backend
from lamina._runtime.config import epsilon as epsilon
from lamina._runtime.config import floatx as floatx
from lamina._runtime.config import image_data_format as image_data_format
from lamina._runtime.config import set_epsilon as set_epsilon
from lamina._runtime.config import set_floatx as set_floatx
from lamina._runtime.config import set_image_data_format as set_image_data_format


def enable_unsafe_deserialization():
    """Allows loading Lambda bytecode and other unsafe content everywhere (like Keras)."""
    from lamina.saving.serialization import enable_unsafe_deserialization as enable

    enable()
