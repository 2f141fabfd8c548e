"""Process-wide settings that Keras 3 exposes under `keras.config`.

They are module globals rather than context variables because Keras treats them as global: a user
calls `set_floatx("float64")` once at the top of a script and expects every layer created later,
in any thread, to follow it.
"""

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
