"""Process-wide settings that Keras 3 exposes under `keras.config`.

They are module globals rather than context variables because Keras treats them as global: a user
calls `set_floatx("float64")` once at the top of a script and expects every layer created later,
in any thread, to follow it.
"""

import warnings

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"

_FLOAT_TYPES = ("float16", "bfloat16", "float32", "float64")


def floatx():
    """The default float dtype, as a string: `"float32"` unless changed with `set_floatx`.

    Examples:
        >>> lamina.config.floatx()
        'float32'
        >>> lamina.Variable(1).dtype, lamina.Variable(1.0).dtype   # Python floats take floatx
        ('int32', 'float32')
    """
    return _FLOATX


def set_floatx(value):
    """Sets the default float dtype (`"float16"`, `"bfloat16"`, `"float32"` or `"float64"`).

    Examples:
        >>> lamina.config.set_floatx("bfloat16")
        >>> lamina.layers.Dense(2)(np.ones((1, 3))).dtype
        dtype(bfloat16)
        >>> lamina.config.set_floatx("float32")  # back to the default
    """
    global _FLOATX
    value = str(value)
    if value not in _FLOAT_TYPES:
        raise ValueError(
            f"Unknown floatx {value!r}: expected one of {', '.join(_FLOAT_TYPES)}.")
    if value == "float64":
        import jax

        if not jax.config.jax_enable_x64:
            raise ValueError(
                "set_floatx('float64') needs JAX's 64-bit mode, which is off. Enable it before "
                "creating any array: `jax.config.update('jax_enable_x64', True)`.")
    _FLOATX = value


def epsilon():
    """The fuzz factor added to denominators (1e-7, as in Keras).

    Examples:
        >>> lamina.config.epsilon()
        1e-07
    """
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor returned by `epsilon()`.

    Examples:
        >>> lamina.config.set_epsilon(1e-5)
        >>> lamina.backend.epsilon()
        1e-05
        >>> lamina.config.set_epsilon(1e-7)  # back to the default
    """
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """`"channels_last"` (the default) or `"channels_first"`.

    Examples:
        >>> lamina.config.image_data_format()
        'channels_last'
        >>> lamina.layers.Conv2D(8, 3)(np.ones((1, 5, 5, 3))).shape   # (batch, h, w, channels)
        (1, 3, 3, 8)
    """
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Sets the default image layout used by convolution and pooling layers.

    Examples:
        >>> lamina.config.set_image_data_format("channels_first")
        >>> lamina.layers.Conv2D(8, 3)(np.ones((1, 3, 5, 5))).shape   # (batch, c, h, w)
        (1, 8, 3, 3)
        >>> lamina.config.set_image_data_format("channels_last")  # back to the default
    """
    global _IMAGE_DATA_FORMAT
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            "The image data format must be 'channels_first' or 'channels_last'. "
            f"Received: data_format={data_format!r}")
    _IMAGE_DATA_FORMAT = data_format


def backend():
    """The name of the backend: always `"jax"`; lamina has exactly one.

    Examples:
        >>> lamina.config.backend()
        'jax'
    """
    return "jax"


_INTERACTIVE_LOGGING = True


def enable_interactive_logging():
    """Sends progress bars and other messages to standard output (the default).

    Examples:
        >>> lamina.utils.enable_interactive_logging()
        >>> lamina.utils.is_interactive_logging_enabled()
        True
    """
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging():
    """Sends progress messages to Python's `logging` (logger `"lamina"`, level INFO) instead
    of standard output: no live bar, one message per update, for jobs whose output nobody
    watches (servers, batch jobs). Keras sends them to `absl.logging`.

    Examples:
        >>> lamina.utils.disable_interactive_logging()
        >>> lamina.utils.Progbar(2).update(2)   # logged, not printed
        >>> lamina.utils.enable_interactive_logging()
    """
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled():
    """Whether progress messages go to standard output (`True`, the default) or to `logging`.

    Examples:
        >>> lamina.utils.is_interactive_logging_enabled()
        True
    """
    return _INTERACTIVE_LOGGING


# Debugging caps on fit/evaluate/predict (Keras's keras.config.set_max_epochs and
# set_max_steps_per_epoch). Keras also reads them from KERAS_MAX_EPOCHS and
# KERAS_MAX_STEPS_PER_EPOCH; lamina sets them only by these calls (no hidden switches).
_MAX_EPOCHS = None
_MAX_STEPS_PER_EPOCH = None


def _check_cap(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"keras.config.set_{name}: `{name}` must be a positive integer, or None for no "
            f"limit. Received: {name}={value!r}")
    return int(value)


def set_max_epochs(max_epochs):
    """Caps the number of epochs of every later `fit` call (a debugging aid: run a training
    script quickly without editing it). `None` removes the cap.

    Examples:
        >>> lamina.config.set_max_epochs(1)
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> len(model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=5, verbose=0)
        ...     .history["loss"])
        1
        >>> lamina.config.set_max_epochs(None)
    """
    global _MAX_EPOCHS
    _MAX_EPOCHS = _check_cap(max_epochs, "max_epochs")


def max_epochs():
    """The cap on `fit`'s epochs set by `set_max_epochs`, or None (no cap, the default).

    Examples:
        >>> lamina.config.max_epochs() is None
        True
    """
    return _MAX_EPOCHS


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the number of steps (batches) of every later epoch of `fit`, and of `evaluate`
    and `predict` (a debugging aid). `None` removes the cap.

    Examples:
        >>> lamina.config.set_max_steps_per_epoch(2)
        >>> lamina.config.max_steps_per_epoch()
        2
        >>> lamina.config.set_max_steps_per_epoch(None)
    """
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = _check_cap(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch():
    """The cap on steps per epoch set by `set_max_steps_per_epoch`, or None (the default).

    Examples:
        >>> lamina.config.max_steps_per_epoch() is None
        True
    """
    return _MAX_STEPS_PER_EPOCH


def capped_steps(steps):
    """`steps` (None: all the data's batches) after the cap of `set_max_steps_per_epoch`."""
    if _MAX_STEPS_PER_EPOCH is None or (steps is not None and steps <= _MAX_STEPS_PER_EPOCH):
        return steps
    warnings.warn(f"Limiting steps_per_epoch to {_MAX_STEPS_PER_EPOCH} "
                  "(keras.config.set_max_steps_per_epoch).", stacklevel=3)
    return _MAX_STEPS_PER_EPOCH


# Flash attention: None (the default) lets attention layers use a fused kernel where it
# applies, False (disable_flash_attention) forbids it. Keras's values, None included.
_FLASH_ATTENTION = None


def enable_flash_attention():
    """Lets attention layers use flash attention where it applies (the default).

    Layers created afterwards with `flash_attention=None` choose by themselves; lamina uses
    the fused cuDNN kernel on a GPU for float16/bfloat16 inputs when the layer has no
    dropout and no attention scores are asked for, and its XLA path otherwise. Like Keras,
    `is_flash_attention_enabled()` then returns None (automatic), not True.

    Examples:
        >>> lamina.config.enable_flash_attention()
        >>> lamina.config.is_flash_attention_enabled() is None
        True
    """
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = None


def disable_flash_attention():
    """Stops attention layers created afterwards with `flash_attention=None` from using
    flash attention: they compute attention scores explicitly (XLA).

    Examples:
        >>> lamina.config.disable_flash_attention()
        >>> lamina.config.is_flash_attention_enabled()
        False
        >>> lamina.config.enable_flash_attention()
    """
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled():
    """`False` after `disable_flash_attention()`, else `None` (layers decide; Keras returns
    the same values).

    Examples:
        >>> lamina.config.is_flash_attention_enabled() is None
        True
    """
    return _FLASH_ATTENTION
