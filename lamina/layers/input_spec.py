"""`InputSpec`: what a layer accepts, checked before `call` so errors name the layer."""


class InputSpec:
    """Constraints on a layer's input: rank, dtype, and sizes of given axes.

    Args:
        dtype: the expected dtype, or None.
        shape: the full expected shape (None for any size along an axis).
        ndim, max_ndim, min_ndim: the rank, exactly or as bounds.
        axes: `{axis: size}` for axes whose size is fixed (e.g. `{-1: 3}` after a Dense built
            for 3 features).
        allow_last_axis_squeeze: accept a rank one lower/higher when the last axis is 1.
        name: the input's name, for error messages.
        optional: whether the input may be None.

    Examples:
        >>> InputSpec(min_ndim=2, axes={-1: 3})
        InputSpec(min_ndim=2, axes={-1: 3})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def __repr__(self):
        fields = []
        for key in ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "name"):
            if getattr(self, key) is not None:
                fields.append(f"{key}={getattr(self, key)!r}")
        if self.axes:
            fields.append(f"axes={self.axes}")
        return f"InputSpec({', '.join(fields)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def assert_input_compatibility(specs, inputs, layer_path):
    """Raises a ValueError naming the layer if `inputs` break `specs`."""
    if specs is None:
        return
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    if len(specs) > 1 and len(inputs) != len(specs):
        raise ValueError(
            f"Layer '{layer_path}' expects {len(specs)} inputs, but it received "
            f"{len(inputs)}. Pass a list of {len(specs)} tensors.")
    for index, (spec, x) in enumerate(zip(specs, inputs)):
        if spec is None:
            continue
        if x is None:
            if spec.optional:
                continue
            raise ValueError(f"Layer '{layer_path}' input {index} is None, which it does not "
                             "accept.")
        shape = getattr(x, "shape", None)
        if shape is None:
            continue
        shape = tuple(shape)
        where = f"Input {index} of layer '{layer_path}'"
        rank = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected ndim={spec.ndim}, found "
                f"ndim={rank}. Full shape received: {shape}.")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected max_ndim={spec.max_ndim}, "
                f"found ndim={rank}. Full shape received: {shape}.")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{where} is incompatible with the layer: expected min_ndim={spec.min_ndim}, "
                f"found ndim={rank}. Full shape received: {shape}. Add the missing axes, "
                "e.g. a batch axis with x[None] or a feature axis with x[..., None].")
        for axis, size in spec.axes.items():
            if size is None:
                continue
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                raise ValueError(
                    f"{where} is incompatible with the layer: expected axis {axis} of the "
                    f"input to have size {size} (the layer was built for it), but received "
                    f"an input with shape {shape}. Feed inputs with {size} features on that "
                    "axis, or use a new layer for the new shape.")
        if spec.shape is not None and rank == len(spec.shape):
            for axis, (expected, actual) in enumerate(zip(spec.shape, shape)):
                if expected is not None and actual is not None and expected != actual:
                    raise ValueError(
                        f"{where} is incompatible with the layer: expected shape "
                        f"{spec.shape}, found shape {shape}.")
