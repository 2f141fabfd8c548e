"""`SwapEMAWeights`: evaluate (and checkpoint) with the optimizer's moving average of the
weights."""

from lamina.callbacks.callback import Callback

__all__ = ["SwapEMAWeights"]


def _ema_optimizers(model):
    """The optimizers whose averages are swapped in: the model's (or the one a loss-scale
    optimizer wraps), or each inner optimizer of a MultiOptimizer that has `use_ema`.

    Every one is checked before anything is swapped, so an error changes no weights.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            "SwapEMAWeights swaps in the optimizer's moving average of the weights, but the "
            "model has no optimizer. Compile it with an optimizer that sets use_ema=True.")
    optimizer = getattr(optimizer, "inner_optimizer", None) or optimizer
    inner = getattr(optimizer, "optimizers", None)
    if isinstance(inner, (list, tuple)):
        chosen = [o for o in inner if getattr(o, "use_ema", False)]
        if not chosen:
            raise ValueError(
                "SwapEMAWeights must be used when at least one inner optimizer has "
                "`use_ema=True` set. Received a MultiOptimizer with all inner optimizers "
                "having `use_ema=False`.")
    else:
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={getattr(optimizer, 'use_ema', None)} (optimizer "
                f"'{getattr(optimizer, 'name', optimizer)}').")
        chosen = [optimizer]
    for candidate in chosen:
        if not candidate.built:
            raise ValueError(
                f"SwapEMAWeights: optimizer '{candidate.name}' has no moving averages yet, "
                "because it has not been built (it builds on the first training step). Train "
                "the model before evaluating with this callback, or call "
                "optimizer.build(model.trainable_variables).")
    return chosen


def _swap(model):
    for optimizer in _ema_optimizers(model):
        for variable, average in zip(optimizer._trainable_variables,
                                     optimizer._model_variables_moving_average):
            if average is not None:
                weight = variable.numpy()
                variable.assign(average.value)
                average.assign(weight)


def _averages_from_weights(model):
    for optimizer in _ema_optimizers(model):
        for variable, average in zip(optimizer._trainable_variables,
                                     optimizer._model_variables_moving_average):
            if average is not None:
                average.assign(variable.value)


class SwapEMAWeights(Callback):
    """Puts the optimizer's moving average of the weights (EMA, "Polyak averaging") into the
    model while it evaluates or predicts, and the trained weights back afterwards.

    Use it with an optimizer created with `use_ema=True` (or a `MultiOptimizer` in which some
    optimizers have it: only their variables are swapped). Validation metrics inside `fit`,
    and `evaluate`/`predict` given this callback, are then computed with the averaged
    weights, while training goes on from the trained ones. The swap exchanges values in
    place: no copy of the weights is kept.

    With `swap_on_epoch=True` the averages are also in the model between the end of an epoch
    and the start of the next, so callbacks listed after this one (`ModelCheckpoint`) see and
    save them. After the last epoch the averages stay in the model, as the optimizer's
    `finalize_variable_values` would leave them.

    Args:
        swap_on_epoch: also swap at the end and start of each epoch. Defaults to False.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer=lamina.optimizers.SGD(use_ema=True), loss="mse")
        >>> history = model.fit(jnp.ones((8, 2)), jnp.zeros((8, 1)), validation_split=0.5,
        ...                     callbacks=[SwapEMAWeights()], verbose=0)
        >>> sorted(history.history)   # val_loss was computed with the averaged weights
        ['loss', 'val_loss']
    """

    _sparse_batch_hooks = True

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        if not isinstance(swap_on_epoch, bool):
            raise TypeError(
                "SwapEMAWeights: argument `swap_on_epoch` must be True or False. Received: "
                f"swap_on_epoch={swap_on_epoch!r} of type {type(swap_on_epoch).__name__}")
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _swap_in(self):
        if not self._ema_weights_in_model:
            _swap(self.model)
            self._ema_weights_in_model = True

    def _swap_out(self):
        if self._ema_weights_in_model:
            _swap(self.model)
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()
            if self.params and epoch == self.params.get("epochs", 0) - 1:
                # Training ends here: `fit` then calls finalize_variable_values, which copies
                # the averages into the weights. The model holds them already, so the averages
                # take the same values and the model keeps its (averaged) weights.
                _averages_from_weights(self.model)

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        # Keras 3.15 tests `not self._ema_weights_in_model` here, so after predict the
        # averages stay in the model and the trained weights in the optimizer; they are
        # swapped back instead, as after evaluate.
        self._swap_out()
