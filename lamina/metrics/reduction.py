"""Reduction metrics: `Sum`, `Mean`, and `MeanMetricWrapper` (the streaming mean of a function).

A function `fn(y_true, y_pred)` used as a metric becomes a `MeanMetricWrapper`: each batch adds
the (weighted) per-sample values and their count, and the result is the mean over everything seen
since the last reset.
"""

import jax.numpy as jnp

from lamina.losses.base import (INPUT_ERRORS, apply_mask, convert, loss_mask,
                                squeeze_or_expand_to_same_rank)
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime.masking import get_keras_mask
from lamina.losses.functions import VALUE_CHECKS
from lamina.metrics.base import Metric, reset_to_zeros

__all__ = ["Mean", "MeanMetricWrapper", "Sum", "reduce_to_samplewise_values"]


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, name="metric"):
    """Reduces `values` to one value per sample, weighted by `sample_weight` (Keras's rule).

    Values with more axes than the weights are first reduced (with `reduce_fn`) down to the
    weights' rank; weights with more than one axis are reduced to one weight per sample.
    Returns `(values, sample_weight)`.
    """
    mask = get_keras_mask(values)
    values = convert(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = convert(sample_weight).astype(dtype)
        # Keras weights by the values' mask when weights are given (only then).
        sample_weight = apply_mask(sample_weight, mask, dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.ndim, values.ndim
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        try:
            sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise ValueError(
                f"{name}: sample_weight of shape {tuple(sample_weight.shape)} cannot weight "
                f"values of shape {tuple(values.shape)}. Pass one weight per sample.") from None
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


@keras_export("keras.metrics.Sum")
class Sum(Metric):
    """The (weighted) sum of the values given to `update_state(values, sample_weight=None)`.

    Examples:
        >>> m = lamina.metrics.Sum()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0])
        >>> float(m.result())
        16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, jnp.sum, self.dtype,
                                                self._label())
        self.total.assign_add(jnp.sum(values))

    def reset_state(self):
        reset_to_zeros((self.total,))

    def result(self):
        return self.total.value.astype(self.dtype)

    def _label(self):
        return f"Metric '{self.name}' ({type(self).__name__})"


@keras_export("keras.metrics.Mean")
class Mean(Metric):
    """The (weighted) mean of the values given to `update_state(values, sample_weight=None)`.

    Values of shape `(batch, ...)` count one per sample (averaged over the other axes); with
    weights, the mean is `sum(w * v) / sum(w)`. Before any update the result is 0.

    Examples:
        >>> m = lamina.metrics.Mean()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        >>> float(m.result())
        2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, jnp.mean, self.dtype, self._label())
        self.total.assign_add(jnp.sum(values))
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        self.count.assign_add(jnp.asarray(count, self.dtype))

    def reset_state(self):
        reset_to_zeros((self.total, self.count))

    def result(self):
        count = self.count.value.astype(self.dtype)
        return jnp.where(count != 0, self.total.value / jnp.where(count != 0, count, 1), 0)

    def _label(self):
        return f"Metric '{self.name}' ({type(self).__name__})"


@keras_export("keras.metrics.MeanMetricWrapper")
class MeanMetricWrapper(Mean):
    """The streaming mean of `fn(y_true, y_pred, **kwargs)`, weighted by `sample_weight`.

    Args:
        fn: a function returning one value per sample (a loss function, an accuracy, ...).
        name: the metric's name; by default the function's `__name__` (lamina's choice: the
            name a function metric is reported under in `fit` logs).
        dtype: the dtype of the state.
        **kwargs: passed to `fn` at every call (and saved in the config).

    Examples:
        >>> m = lamina.metrics.MeanMetricWrapper(lamina.losses.mean_absolute_error)
        >>> m.name
        'mean_absolute_error'
        >>> float(m([[0.0, 1.0]], [[2.0, 1.0]]))
        1.0
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if name is None:
            name = getattr(fn, "__name__", None) or getattr(fn, "name", None)
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        # The predictions' mask weights the values (masked entries count for nothing).
        sample_weight = apply_mask(sample_weight, get_keras_mask(y_pred), self.dtype, "sum")
        y_true, y_pred = convert(y_true), convert(y_pred)
        try:
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        except INPUT_ERRORS as error:
            raise error.renamed(self._label()) from None
        mask = loss_mask(self._fn, convert(values), y_true, y_pred, self._fn_kwargs)
        sample_weight = apply_mask(sample_weight, mask, self.dtype, "sum")
        super().update_state(values, sample_weight=sample_weight)

    def _check_eager_inputs(self, y_true=None, y_pred=None, sample_weight=None):
        try:
            check = VALUE_CHECKS.get(self._fn)
        except TypeError:
            return
        if check is not None and y_true is not None and y_pred is not None:
            try:
                check(convert(y_true), convert(y_pred), **self._fn_kwargs)
            except INPUT_ERRORS as error:
                raise error.renamed(self._label()) from None

    def get_config(self):
        config = {"fn": serialization.serialize_keras_object(self._fn)}
        config.update(serialization.serialize_keras_object(self._fn_kwargs))
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            config = serialization.deserialize_keras_object(config)
        return cls(**config)
