"""`TerminateOnNaN`: stops training when the loss becomes NaN or infinite."""

import math

from lamina.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch reports a NaN or infinite loss.

    It sets `model.stop_training = True`, so `fit` ends after the current batch, or raises
    when `raise_error=True`. When the trainer runs several steps per compiled program the
    check happens after each program; the running mean of the loss turns NaN as soon as one
    step's loss does, so no NaN goes unnoticed.

    Args:
        raise_error: raise a `RuntimeError` instead of stopping quietly. Defaults to False.

    Examples:
        >>> # model.fit(x, y, callbacks=[TerminateOnNaN()])
    """

    _sparse_batch_hooks = True

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            return
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            # The flag only: no need to sync the model's weights (`self.model` would).
            self._model.stop_training = True
