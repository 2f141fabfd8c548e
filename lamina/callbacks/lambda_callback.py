"""`LambdaCallback`: a callback made of plain functions."""

from lamina.callbacks.callback import HOOKS, Callback


class LambdaCallback(Callback):
    """A callback whose hooks are the functions you pass.

    The functions take the hooks' arguments positionally: `on_epoch_begin(epoch, logs)`,
    `on_epoch_end(epoch, logs)`, `on_train_begin(logs)`, `on_train_end(logs)`,
    `on_train_batch_begin(batch, logs)`, `on_train_batch_end(batch, logs)`. Any other hook of
    `Callback` can be given by name too (`on_test_end=...`, `on_batch_end=...`).

    Passing a batch hook makes `fit` run one step per compiled program, so the function sees
    every batch.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end: functions, or None to
            leave the hook empty; `on_train_batch_begin` and `on_train_batch_end` likewise.
        **kwargs: further hooks by name.

    Examples:
        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> record.on_epoch_end(0, {"loss": 0.25}); losses
        [0.25]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(HOOKS))
        if unknown:
            raise TypeError(
                f"LambdaCallback got unexpected arguments {unknown}. Pass functions for "
                f"Callback hooks, whose names are: {', '.join(HOOKS)}.")
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(
                    f"LambdaCallback: {name} must be a function. Received: {function!r} of "
                    f"type {type(function).__name__}.")
            setattr(self, name, function)
