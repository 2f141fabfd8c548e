"""How a layer call finds, passes on and creates Keras masks (Keras 3's rules).

Before `call`: a layer whose `call` takes `mask` and is given one tensor argument gets that
tensor's mask as `mask=` (unless one was passed); a layer given several tensor arguments gets
`<argument>_mask=` for each argument it has such a parameter for (`query_mask`, `value_mask`).

After `call`: a layer that `supports_masking` attaches `compute_mask(inputs, previous_mask)` to
its outputs (the default passes the input's mask on, `Embedding(mask_zero=True)` makes one, a
pooling layer drops it); one that does not, but was given a mask, warns that the mask is lost.

Masks are arrays carried beside the tensors (`lamina/_runtime/masking.py`); inside compiled
code they are traced values like any other, and nothing branches on their contents.
"""

import warnings

import jax

from lamina._runtime.masking import get_keras_mask, set_keras_mask
from lamina._runtime.symbolic_scope import in_symbolic_scope
from lamina.layers.symbolic import KerasTensor

__all__ = ["attach_output_masks", "check_mask", "first_argument", "fits", "flatten",
           "has_mask", "keep_mask", "masks_of", "populate_masks"]


def _is_tensor(value):
    return isinstance(value, (jax.Array, KerasTensor))


def flatten(structure):
    """The leaves of nested lists, tuples and dicts, None kept as a leaf (Keras's tree)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def masks_of(structure):
    """The masks of a tensor or a nested structure of tensors, in the same structure."""
    if isinstance(structure, list):
        return [masks_of(item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(masks_of(item) for item in structure)
    if isinstance(structure, dict):
        return {key: masks_of(value) for key, value in structure.items()}
    return get_keras_mask(structure)


def has_mask(masks):
    if masks is None:
        return False  # the common case, kept cheap
    if not isinstance(masks, (list, tuple, dict)):
        return True
    return any(mask is not None for mask in flatten(masks))


def _is_tensor_argument(value):
    if _is_tensor(value):
        return True
    if isinstance(value, (list, tuple, dict)) and value:
        leaves = flatten(value)
        return all(leaf is None or _is_tensor(leaf) for leaf in leaves) and any(
            _is_tensor(leaf) for leaf in leaves)
    return False


def _shape(value):
    shape = getattr(value, "shape", None)
    return None if shape is None else tuple(shape)


def fits(mask_shape, shape):
    """Whether a mask of `mask_shape` can mark positions of a tensor of `shape`: its axes
    match the tensor's leading axes (size 1 broadcasts), or it broadcasts NumPy-style."""
    if len(mask_shape) <= len(shape) and all(
            m is None or s is None or m == s or m == 1 for m, s in zip(mask_shape, shape)):
        return True
    padded = (1,) * (len(shape) - len(mask_shape)) + tuple(mask_shape)
    return len(mask_shape) <= len(shape) and all(
        m is None or s is None or m == s or m == 1 for m, s in zip(padded, shape))


def check_mask(layer, what, mask, tensor, argument="mask"):
    """Raises a ValueError naming the layer and both shapes when `mask` cannot mark `tensor`."""
    for one_mask, one_tensor in _pairs(mask, tensor):
        mask_shape, shape = _shape(one_mask), _shape(one_tensor)
        if mask_shape is None or shape is None or fits(mask_shape, shape):
            continue
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) received a mask ({argument}) of "
            f"shape {mask_shape} for {what} of shape {shape}. A mask marks the positions of "
            f"the tensor's leading axes, e.g. shape {shape[:2]} for (batch, timesteps): pass a "
            "mask of the input's leading shape, or let the mask come from Embedding("
            "mask_zero=True) or Masking.")


def _pairs(mask, tensor):
    if isinstance(mask, (list, tuple)) and isinstance(tensor, (list, tuple)):
        if len(mask) != len(tensor):
            return []
        return [pair for m, t in zip(mask, tensor) for pair in _pairs(m, t)]
    if isinstance(mask, dict) and isinstance(tensor, dict):
        return [pair for key in mask if key in tensor
                for pair in _pairs(mask[key], tensor[key])]
    if mask is None or isinstance(mask, (list, tuple, dict)):
        return []
    return [(mask, tensor)]


def first_argument(layer, args, kwargs):
    if args:
        return args[0]
    for name in layer._call_signature.parameters:
        if name in kwargs:
            return kwargs[name]
    return next(iter(kwargs.values()), None)


def populate_masks(layer, args, kwargs):
    """Fills in `mask=` / `<argument>_mask=` in `kwargs` (in place) from the tensors' masks
    (checking that they fit), and returns the previous mask: the one `compute_mask` receives
    (the `mask` argument, else the first argument's mask)."""
    parameters = layer._call_mask_parameters
    if parameters:
        if len(args) == 1 and not any(_is_tensor_argument(v) for v in kwargs.values()):
            tensors = {None: args[0]} if _is_tensor_argument(args[0]) else {}
            given = kwargs
        else:
            try:
                bound = layer._call_signature.bind(*args, **kwargs).arguments
            except TypeError:
                bound = None  # the call itself will report the arguments it cannot take
            tensors = {} if bound is None else {
                name: value for name, value in bound.items() if _is_tensor_argument(value)}
            given = bound or {}
        # Masks passed explicitly are the layer's to check (its own message says what it
        # takes); masks found on the tensors are checked here.
        if len(tensors) == 1:
            (name, tensor), = tensors.items()
            if "mask" in parameters and given.get("mask") is None:
                kwargs["mask"] = masks_of(tensor)
                check_mask(layer, "its input", kwargs["mask"], tensor)
        elif len(tensors) > 1:
            for name, tensor in tensors.items():
                argument = f"{name}_mask"
                if argument in parameters and given.get(argument) is None:
                    kwargs[argument] = masks_of(tensor)
                    check_mask(layer, f"'{name}'", kwargs[argument], tensor, argument)
    if kwargs.get("mask") is not None:
        return kwargs["mask"]
    return masks_of(first_argument(layer, args, kwargs))


def attach_output_masks(layer, inputs, outputs, previous_mask):
    """Attaches `compute_mask`'s masks to the outputs of a layer that supports masking, or
    warns (once per call site) that a layer which does not drops the mask it was given."""
    if previous_mask is None and layer._default_compute_mask:
        return  # no mask and none to make: the common path of a model without masks
    if not layer.supports_masking:
        if previous_mask is not None and has_mask(previous_mask) and not in_symbolic_scope():
            warnings.warn(
                f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input "
                "with a mask attached to it. However, this layer does not support masking and "
                "will therefore destroy the mask information. Downstream layers will not see "
                "the mask. (If the layer keeps the positions of its input, set "
                "`self.supports_masking = True` in its __init__; if it changes them, define "
                "compute_mask(inputs, mask) returning the outputs' mask.)", stacklevel=4)
        return
    flat_outputs = flatten(outputs)
    if all(get_keras_mask(x) is not None for x in flat_outputs):
        return  # call() attached them itself (Masking does)
    output_masks = layer.compute_mask(inputs, previous_mask)
    if output_masks is None:
        return
    for tensor, mask in zip(flat_outputs, flatten(output_masks)):
        if mask is None or get_keras_mask(tensor) is not None:
            continue
        mask_shape, shape = _shape(mask), _shape(tensor)
        if mask_shape is not None and shape is not None and not fits(mask_shape, shape):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) would attach a mask of shape "
                f"{mask_shape} to its output of shape {shape}: the mask does not mark the "
                "output's positions. If the layer changes the positions of its input (a "
                "reshape, a pooling over time), define compute_mask(inputs, mask) returning "
                "a mask of the output's leading shape, or None to drop it.")
        set_keras_mask(tensor, mask)


def keep_mask(source, converted):
    """Carries the mask of `source` over to `converted` (an input cast or moved by a layer)."""
    if converted is not source:
        mask = get_keras_mask(source)
        if mask is not None:
            set_keras_mask(converted, mask)
    return converted

