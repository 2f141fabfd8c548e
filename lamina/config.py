"""`keras.config`: process-wide settings: the default float type, the fuzz factor, the image
layout and the dtype policy; how progress is shown and tracebacks are filtered; flash
attention; debugging caps on training; unsafe deserialization; and, lamina's own, the folder of
JAX's persistent compilation cache (`compilation_cache_dir`, `set_compilation_cache_dir`).

The settings live in `lamina._runtime` (so layers, the trainer and callbacks below this
facade read them); this module gathers Keras 3's 25 names and lamina's two. lamina has one backend: `backend()`
is `"jax"` and `set_backend` accepts only that.
"""

from lamina._runtime.compilation_cache import compilation_cache_dir as compilation_cache_dir
from lamina._runtime.compilation_cache import (
    set_compilation_cache_dir as set_compilation_cache_dir)
from lamina._runtime.config import backend as backend
from lamina._runtime.config import disable_flash_attention as disable_flash_attention
from lamina._runtime.config import disable_interactive_logging as disable_interactive_logging
from lamina._runtime.config import enable_flash_attention as enable_flash_attention
from lamina._runtime.config import enable_interactive_logging as enable_interactive_logging
from lamina._runtime.config import epsilon as epsilon
from lamina._runtime.config import floatx as floatx
from lamina._runtime.config import image_data_format as image_data_format
from lamina._runtime.config import is_flash_attention_enabled as is_flash_attention_enabled
from lamina._runtime.config import (
    is_interactive_logging_enabled as is_interactive_logging_enabled)
from lamina._runtime.config import max_epochs as max_epochs
from lamina._runtime.config import max_steps_per_epoch as max_steps_per_epoch
from lamina._runtime.config import set_epsilon as set_epsilon
from lamina._runtime.config import set_floatx as set_floatx
from lamina._runtime.config import set_image_data_format as set_image_data_format
from lamina._runtime.config import set_max_epochs as set_max_epochs
from lamina._runtime.config import set_max_steps_per_epoch as set_max_steps_per_epoch
from lamina._runtime.traceback_filter import (
    disable_traceback_filtering as disable_traceback_filtering)
from lamina._runtime.traceback_filter import (
    enable_traceback_filtering as enable_traceback_filtering)
from lamina._runtime.traceback_filter import (
    is_traceback_filtering_enabled as is_traceback_filtering_enabled)
from lamina._serialization import enable_unsafe_deserialization as _enable_unsafe_deserialization
from lamina.dtype_policies import dtype_policy as dtype_policy
from lamina.dtype_policies import set_dtype_policy as set_dtype_policy

__all__ = [
    "backend", "compilation_cache_dir", "disable_flash_attention",
    "disable_interactive_logging", "disable_traceback_filtering", "dtype_policy",
    "enable_flash_attention",
    "enable_interactive_logging", "enable_traceback_filtering", "enable_unsafe_deserialization",
    "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled",
    "max_epochs", "max_steps_per_epoch", "set_backend", "set_compilation_cache_dir",
    "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format", "set_max_epochs",
    "set_max_steps_per_epoch",
]


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


def is_nnx_enabled():
    """Whether Keras's Flax NNX integration is on: always False in lamina, whose layers are
    its own objects over JAX rather than NNX modules.

    Examples:
        >>> lamina.config.is_nnx_enabled()
        False
    """
    return False


def set_backend(backend):
    """Keras reloads itself on another backend here; lamina runs on JAX only, so `"jax"` is
    accepted (nothing changes) and any other backend is refused.

    Args:
        backend: the backend name.

    Examples:
        >>> lamina.config.set_backend("jax")
        >>> lamina.config.set_backend("torch")
        Traceback (most recent call last):
        ValueError: keras.config.set_backend: lamina runs on JAX only. Received: backend='torch'...
    """
    if backend != "jax":
        raise ValueError(
            f"keras.config.set_backend: lamina runs on JAX only. Received: backend={backend!r}. "
            "To run this code on TensorFlow or PyTorch, use Keras itself.")
