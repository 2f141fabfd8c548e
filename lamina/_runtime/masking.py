"""Keras masks: a boolean array carried beside a tensor, as the tensor's `_keras_mask`.

`Embedding(mask_zero=True)` and `Masking` attach a mask to their outputs; layers that support
masking pass it on (or consume it), and losses and metrics weight by the mask of the
predictions. The mask is Python-side metadata, never a value the compiled program branches on:
it travels with the array while code is traced, and becomes part of the computation only where
a layer or a loss uses it.

Where it is kept depends on the object, as in Keras 3 on JAX: concrete `jax.Array`s and
symbolic tensors take a `_keras_mask` attribute (so `outputs._keras_mask` works in a notebook);
JAX tracers and NumPy arrays cannot hold attributes, so their masks live in a table keyed by the
object's identity, and an entry goes away with its object.
"""

import weakref

import numpy as np
from jax.core import Tracer

__all__ = ["get_keras_mask", "set_keras_mask"]

# id(tensor) -> (weak reference to the tensor, mask); for objects without attributes.
_TABLE = {}


def _forget(key, reference):
    entry = _TABLE.get(key)
    if entry is not None and entry[0] is reference:
        del _TABLE[key]


def get_keras_mask(x):
    """The mask attached to `x`, or None."""
    if _TABLE:
        entry = _TABLE.get(id(x))
        if entry is not None and entry[0]() is x:
            return entry[1]
    # Tracers and NumPy arrays hold no attributes (and a failed lookup costs microseconds).
    if x is None or isinstance(x, (Tracer, np.ndarray, np.generic)):
        return None
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask):
    """Attaches `mask` to `x` (None removes it)."""
    if not isinstance(x, Tracer):
        try:
            if mask is None:
                if getattr(x, "_keras_mask", None) is not None:
                    x._keras_mask = None
            else:
                x._keras_mask = mask
            return
        except (AttributeError, TypeError):
            pass
    key = id(x)
    if mask is None:
        entry = _TABLE.get(key)
        if entry is not None and entry[0]() is x:
            del _TABLE[key]
        return
    try:
        reference = weakref.ref(x, lambda ref, key=key: _forget(key, ref))
    except TypeError:
        return  # an object that can hold neither attributes nor weak references (a number)
    _TABLE[key] = (reference, mask)
