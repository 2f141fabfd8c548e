"""Accuracy metrics: exact match, binary, categorical, sparse categorical and top-k accuracy.

Each function returns 1.0 per correct sample and 0.0 otherwise; each class is its streaming
(weighted) mean.
"""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina._runtime import config
from lamina.losses.base import IncompatibleShapesError, convert, squeeze_or_expand_to_same_rank
from lamina.metrics.reduction import MeanMetricWrapper

__all__ = [
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


def _floats(matches):
    return matches.astype(config.floatx())


def _check(what, y_true, y_pred):
    try:
        jnp.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise IncompatibleShapesError(what, y_true.shape, y_pred.shape) from None


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred` exactly, else 0.0.

    Examples:
        >>> lamina.metrics.accuracy.accuracy([1, 2], [1, 3]).tolist()
        [1.0, 0.0]
    """
    y_pred = convert(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check("accuracy", y_true, y_pred)
    return _floats(y_true == y_pred)


@keras_export("keras.metrics.binary_accuracy")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold)` equals the 0/1 label, else 0.0.

    Examples:
        >>> lamina.metrics.binary_accuracy([[1], [0]], [[0.7], [0.6]]).tolist()
        [[1.0], [0.0]]
    """
    y_pred = convert(y_pred)
    y_true = convert(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check("binary_accuracy", y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return _floats(y_true == predicted)


@keras_export("keras.metrics.categorical_accuracy")
def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of one-hot `y_true` equals the arg-max of `y_pred`.

    Examples:
        >>> lamina.metrics.categorical_accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]]).tolist()
        [1.0, 0.0]
    """
    y_pred = convert(y_pred)
    y_true = jnp.argmax(convert(y_true), axis=-1).astype(y_pred.dtype)
    original_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim:
        y_true = jnp.squeeze(y_true, -1)
        reshape = True
    predicted = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    _check("categorical_accuracy", y_true, predicted)
    matches = _floats(y_true == predicted)
    return jnp.reshape(matches, original_shape) if reshape else matches


@keras_export("keras.metrics.sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals the arg-max of `y_pred`.

    Examples:
        >>> lamina.metrics.sparse_categorical_accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]]).tolist()
        [1.0, 0.0]
    """
    y_pred = convert(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    original_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
        reshape = True
    predicted = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    _check("sparse_categorical_accuracy", y_true, predicted)
    matches = _floats(y_true == predicted)
    if reshape:
        matches = jnp.reshape(matches, original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    # Ties count in the target's favour: its rank is 1 + the number of strictly larger scores
    # (and a NaN score is never large).
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _top_k_matches(what, y_true, y_pred, k):
    original_shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    if y_true.ndim > 1:
        y_true = jnp.reshape(y_true, (-1,))
    if y_true.shape[0] != y_pred.shape[0]:
        raise IncompatibleShapesError(what, original_shape, y_pred.shape, "do not match")
    matches = _floats(_in_top_k(y_true.astype(jnp.int32), y_pred, k))
    return jnp.reshape(matches, original_shape) if len(original_shape) > 1 else matches


@keras_export("keras.metrics.top_k_categorical_accuracy")
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the `k` highest predictions.

    Examples:
        >>> lamina.metrics.top_k_categorical_accuracy(
        ...     [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.15, 0.8]], k=1).tolist()
        [0.0, 0.0]
    """
    y_pred = convert(y_pred)
    y_true = jnp.argmax(convert(y_true).astype(y_pred.dtype), axis=-1)
    return _top_k_matches("top_k_categorical_accuracy", y_true, y_pred, k)


@keras_export("keras.metrics.sparse_top_k_categorical_accuracy")
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the `k` highest predictions.

    With `from_sorted_ids=True`, `y_pred` holds class ids sorted by score (best first), and
    the label must be among the first `k`.

    Examples:
        >>> lamina.metrics.sparse_top_k_categorical_accuracy(
        ...     [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=2).tolist()
        [1.0, 1.0]
    """
    y_pred = convert(y_pred)
    y_true = convert(y_true)
    if not from_sorted_ids:
        return _top_k_matches("sparse_top_k_categorical_accuracy", y_true, y_pred, k)
    original_shape = y_true.shape
    y_true = jnp.reshape(y_true.astype(y_pred.dtype), (-1,))
    y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    matches = jnp.any(y_true[:, None] == y_pred[:, :k], axis=1)
    matches = _floats(matches)
    return jnp.reshape(matches, original_shape) if len(original_shape) > 1 else matches


class _AccuracyBase(MeanMetricWrapper):
    _config_keys = ()

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config


@keras_export("keras.metrics.Accuracy")
class Accuracy(_AccuracyBase):
    """How often predictions equal labels exactly.

    Examples:
        >>> float(lamina.metrics.Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]))
        0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)


@keras_export("keras.metrics.BinaryAccuracy")
class BinaryAccuracy(_AccuracyBase):
    """How often `y_pred > threshold` matches the 0/1 label.

    Examples:
        >>> float(lamina.metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]))
        0.75
    """

    _config_keys = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


@keras_export("keras.metrics.CategoricalAccuracy")
class CategoricalAccuracy(_AccuracyBase):
    """How often the predicted class (arg-max) matches the one-hot label.

    Examples:
        >>> float(lamina.metrics.CategoricalAccuracy()(
        ...     [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)


@keras_export("keras.metrics.SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(_AccuracyBase):
    """How often the predicted class (arg-max) matches the integer label.

    Examples:
        >>> float(lamina.metrics.SparseCategoricalAccuracy()(
        ...     [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
        0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)


@keras_export("keras.metrics.TopKCategoricalAccuracy")
class TopKCategoricalAccuracy(_AccuracyBase):
    """How often the one-hot label's class is among the `k` highest predictions.

    Examples:
        >>> float(lamina.metrics.TopKCategoricalAccuracy(k=1)(
        ...     [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    _config_keys = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


@keras_export("keras.metrics.SparseTopKCategoricalAccuracy")
class SparseTopKCategoricalAccuracy(_AccuracyBase):
    """How often the integer label is among the `k` highest predictions.

    Examples:
        >>> float(lamina.metrics.SparseTopKCategoricalAccuracy(k=1)(
        ...     [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    _config_keys = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
