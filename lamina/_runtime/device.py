"""`keras.device`: run a block on one device (`"cpu:0"`, `"gpu:1"`, a `jax.Device`)."""

import jax


def device(device_name):
    """A context manager placing the arrays and computations created inside it on one device
    (JAX's `jax.default_device`).

    Args:
        device_name: `"type:index"` such as `"cpu:0"` or `"gpu:1"` (`"gpu"` alone means index
            0; `"cuda"` is read as `"gpu"`), or a `jax.Device`.

    Examples:
        >>> with lamina.device("cpu:0"):
        ...     x = lamina.ops.ones((2, 2))
        >>> x.devices() == {jax.devices("cpu")[0]}
        True
    """
    return jax.default_device(_find_device(device_name))


def _find_device(device_name):
    if isinstance(device_name, jax.Device):
        return device_name
    if not isinstance(device_name, str):
        raise ValueError(
            "keras.device: `device_name` must be a string like 'cpu:0' or 'gpu:1', or a "
            f"jax.Device. Received: device_name={device_name!r} of type "
            f"{type(device_name).__name__}.")
    kind, _, index = device_name.strip().lower().partition(":")
    kind = "gpu" if kind == "cuda" else kind
    if not index.isdigit() and index != "":
        raise ValueError(
            f"keras.device: the index in {device_name!r} must be a non-negative integer, as in "
            f"'{kind}:0'. Received: device_name={device_name!r}.")
    index = int(index or 0)
    try:
        devices = jax.devices(kind)
    except RuntimeError:
        devices = []
    available = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices()) or "none"
    for candidate in devices:
        if candidate.id == index:
            return candidate
    local = [d for d in devices if d.process_index == jax.process_index()]
    if index < len(local):
        return local[index]
    raise ValueError(
        f"keras.device: no device {device_name!r} here. Received: device_name={device_name!r}; "
        f"available: {available}. Use one of those names, or leave placement to JAX.")
