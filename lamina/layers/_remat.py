"""How a layer created inside a `RematScope` runs its `call` (see `lamina/_runtime/remat.py`).

`Layer._call` asks `rematerialized_call(layer)` for the function to run in place of
`layer.call` when the layer was created under a scope. Besides choosing by mode (Keras's
rules), this module carries the losses that the call adds (`add_loss`, sublayers' activity
regularizers) out of the checkpointed function: they are values traced inside it and would
otherwise be left behind.
"""

import functools

from lamina._runtime import remat
from lamina._runtime.scope import current_scope


def rematerialized_call(layer):
    """The function to call in place of `layer.call` under `layer._remat_mode`."""
    mode = layer._remat_mode
    if mode.mode == "full":
        return _carrying_losses(layer, layer.call)
    if mode.mode == "list_of_layers":
        return _carrying_losses(layer, layer.call) if layer.name in mode.layer_names \
            else layer.call
    if mode.mode == "activations":
        if getattr(layer, "activation", None) is None:
            return layer.call
        return functools.partial(_call_with_remat_activation, layer)
    return functools.partial(_call_if_larger, layer, mode.output_size_threshold)


def _call_with_remat_activation(layer, *args, **kwargs):
    activation = layer.activation
    # Set past the tracker: a temporary swap is not a change of the layer's structure.
    object.__setattr__(layer, "activation", remat.remat(activation))
    try:
        return layer.call(*args, **kwargs)
    finally:
        object.__setattr__(layer, "activation", activation)


def _call_if_larger(layer, threshold, *args, **kwargs):
    marks = _loss_marks(layer)
    try:
        size = remat.output_size(layer.call, args, kwargs)
    finally:
        _take_losses(marks)  # the abstract trace's losses are not the call's
    call = _carrying_losses(layer, layer.call) if size > threshold else layer.call
    return call(*args, **kwargs)


def _loss_marks(layer):
    return [(sublayer, len(sublayer._losses)) for sublayer in layer._flatten_layers()]


def _take_losses(marks):
    """Removes and returns the losses added since `marks`: `[(sublayer, [values])]`."""
    taken = []
    for sublayer, mark in marks:
        added = sublayer._losses[mark:]
        del sublayer._losses[mark:]
        taken.append((sublayer, [value for value, _ in added]))
    return taken


def _carrying_losses(layer, call):
    adders = []  # the sublayers that added each group of losses, found while tracing

    def call_returning_losses(*args, **kwargs):
        marks = _loss_marks(layer)
        outputs = call(*args, **kwargs)
        taken = _take_losses(marks)
        adders[:] = [sublayer for sublayer, _ in taken]
        return outputs, [values for _, values in taken]

    checkpointed = remat.remat(call_returning_losses)

    def run(*args, **kwargs):
        outputs, losses = checkpointed(*args, **kwargs)
        scope = current_scope()
        for sublayer, values in zip(adders, losses):
            sublayer._losses.extend((value, scope) for value in values)
        return outputs

    return run
