"""`keras.backend`: the few backend-level helpers Keras 3 still exposes."""

from lamina._runtime.config import backend as backend
from lamina._runtime.config import epsilon as epsilon
from lamina._runtime.config import floatx as floatx
from lamina._runtime.config import image_data_format as image_data_format
from lamina._runtime.config import set_epsilon as set_epsilon
from lamina._runtime.config import set_floatx as set_floatx
from lamina._runtime.config import set_image_data_format as set_image_data_format
from lamina._runtime.dtypes import standardize_dtype as standardize_dtype
from lamina._runtime.naming import reset_names as _reset_names


def clear_session():
    """Resets auto-naming counters, so the next Dense is named `dense` again.

    Examples:
        >>> _ = lamina.layers.Dense(1), lamina.layers.Dense(1)
        >>> lamina.backend.clear_session()
        >>> lamina.layers.Dense(1).name
        'dense'
    """
    _reset_names()
