"""Argument checks and shape arithmetic shared by the convolution, pooling and spatial layers.

Every check raises a ValueError that names the layer (`where`, e.g. `"Conv2D 'conv2d'"`), says
what was expected and what was received, and how to fix it.
"""

import numbers

from lamina._runtime import config

# Letters for the spatial axes in `lax` dimension-number strings, by number of spatial axes.
_SPATIAL_LETTERS = {1: "W", 2: "HW", 3: "DHW"}


def describe(layer):
    """`"Conv2D 'conv2d'"`: how errors name a layer."""
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value, name, where):
    """`value` as an int, if it is an integer > 0."""
    if not _is_int(value) or value <= 0:
        raise ValueError(
            f"{where}: `{name}` must be a positive integer. Received: {name}={value!r}.")
    return int(value)


def int_tuple(value, n, name, where, allow_zero=False):
    """An int, or a sequence of `n` ints, as a tuple of `n` ints (Keras's `standardize_tuple`)."""
    example = ", ".join(["2"] * n)
    if _is_int(value):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) != n or not all(_is_int(v) for v in values):
            raise ValueError(
                f"{where}: `{name}` must be an int or a tuple of {n} ints (one per spatial "
                f"axis). Received: {name}={value!r}. Pass e.g. {name}=2 or {name}=({example}"
                f"{',' if n == 1 else ''}).")
        values = tuple(int(v) for v in values)
    smallest = 0 if allow_zero else 1
    if any(v < smallest for v in values):
        raise ValueError(
            f"{where}: every value of `{name}` must be >= {smallest}. Received: "
            f"{name}={value!r}.")
    return values


def pair_tuples(value, n, name, where):
    """Padding or cropping amounts: an int, `n` ints (symmetric), or `n` pairs, as `n` pairs."""
    if _is_int(value):
        if value < 0:
            raise ValueError(f"{where}: `{name}` cannot be negative. Received: {name}={value!r}.")
        return ((int(value), int(value)),) * n
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if items is None or len(items) != n:
        pairs = ", ".join(["(1, 1)"] * n)
        raise ValueError(
            f"{where}: `{name}` must be an int, a tuple of {n} ints (symmetric amounts per "
            f"spatial axis) or a tuple of {n} pairs of ints (before, after). Received: "
            f"{name}={value!r}. Pass e.g. {name}=1 or {name}=({pairs}).")
    ordinal = ("1st", "2nd", "3rd")
    return tuple(int_tuple(item, 2, f"{ordinal[i]} entry of {name}", where, allow_zero=True)
                 for i, item in enumerate(items))


def data_format(value, where):
    """`"channels_last"` or `"channels_first"`; None means `keras.config.image_data_format()`."""
    if value is None:
        return config.image_data_format()
    normalized = str(value).lower()
    if normalized not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{where}: `data_format` must be 'channels_last' (batch, *spatial, channels) or "
            f"'channels_first' (batch, channels, *spatial). Received: data_format={value!r}.")
    return normalized


def padding_mode(value, where, allow_causal=False):
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    normalized = value.lower() if isinstance(value, str) else value
    if normalized not in allowed:
        hint = "" if allow_causal else " ('causal' padding exists only for Conv1D)"
        raise ValueError(
            f"{where}: `padding` must be one of {allowed}{hint}. Received: padding={value!r}.")
    return normalized


def channel_axis(fmt):
    return -1 if fmt == "channels_last" else 1


def spatial_dims(shape, fmt):
    """The spatial sizes of a full (batched) shape."""
    return tuple(shape[1:-1]) if fmt == "channels_last" else tuple(shape[2:])


def with_spatial(shape, fmt, spatial, channels=None):
    """A full shape with new spatial sizes (and, if given, a new channel count)."""
    if fmt == "channels_last":
        return (shape[0], *spatial, shape[-1] if channels is None else channels)
    return (shape[0], shape[1] if channels is None else channels, *spatial)


def lax_layout(rank, fmt, kernel="IO"):
    """The `lax` dimension-number strings for (inputs, kernel, outputs). The kernel is
    `(*spatial, in, out)` ("IO") or `(*spatial, out, in)` ("OI"), as Keras stores it, so
    neither inputs nor kernels are transposed before XLA sees them."""
    spatial = _SPATIAL_LETTERS[rank]
    layout = f"N{spatial}C" if fmt == "channels_last" else f"NC{spatial}"
    return (layout, spatial + kernel, layout)


def window_output_length(length, window, stride, padding, dilation=1):
    """The output length of a convolution or pooling window along one axis (None stays None)."""
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (window - 1) - 1) // stride + 1
    return (length - 1) // stride + 1  # "same" and "causal"


def check_output_positive(output_spatial, input_shape, where, what):
    for axis, size in enumerate(output_spatial):
        if size is not None and size <= 0:
            raise ValueError(
                f"{where}: the output would have size {size} along spatial axis {axis}: the "
                f"input of shape {tuple(input_shape)} is smaller than {what}. Use "
                "padding='same', a smaller window, or a larger input.")


def input_channels(shape, fmt, where):
    """The channel count of an input shape; it must be known to create weights."""
    channels = shape[channel_axis(fmt)]
    if channels is None:
        raise ValueError(
            f"{where} needs the number of input channels to create its weights, but the "
            f"channel axis ({channel_axis(fmt)}, data_format='{fmt}') of input shape "
            f"{tuple(shape)} is unknown. Give the input a fixed number of channels, or check "
            "data_format.")
    return int(channels)
