"""Resolving the metric identifiers given to `compile(metrics=...)`, as Keras 3 does.

It builds on `lamina.metrics` (names go through `metrics.get`), so that package does not
import this module: the trainer does.
"""

import jax.numpy as jnp
import numpy as np

from lamina import losses, metrics
from lamina.losses.base import Loss
from lamina.metrics import accuracy as accuracy_metrics
from lamina.metrics import probabilistic
from lamina.metrics.base import Metric
from lamina.metrics.reduction import MeanMetricWrapper

__all__ = ["class_weight_to_sample_weight", "resolve_metric"]

_LOSS_TO_ACCURACY = {
    "binary_crossentropy": "binary", "BinaryCrossentropy": "binary",
    "binary_focal_crossentropy": "binary", "BinaryFocalCrossentropy": "binary",
    "hinge": "binary", "squared_hinge": "binary", "bce": "binary",
    "sparse_categorical_crossentropy": "sparse", "SparseCategoricalCrossentropy": "sparse",
    "categorical_crossentropy": "categorical", "CategoricalCrossentropy": "categorical",
    "categorical_focal_crossentropy": "categorical", "categorical_hinge": "categorical",
}


def _kind_from_loss(loss):
    """'binary', 'sparse', 'categorical' or None, from a loss identifier or object."""
    if loss is None:
        return None
    if isinstance(loss, str):
        return _LOSS_TO_ACCURACY.get(loss)
    if isinstance(loss, Loss):
        kind = _LOSS_TO_ACCURACY.get(type(loss).__name__)
        if kind is None and isinstance(loss, losses.LossFunctionWrapper):
            kind = _LOSS_TO_ACCURACY.get(getattr(loss.fn, "__name__", None))
        return kind
    return _LOSS_TO_ACCURACY.get(getattr(loss, "__name__", None))


def _kind(y_true, y_pred, loss):
    if y_true is not None and y_pred is not None:
        is_binary, is_sparse = losses.is_binary_or_sparse_categorical(y_true, y_pred)
        return "binary" if is_binary else "sparse" if is_sparse else "categorical"
    kind = _kind_from_loss(loss)
    if kind is None:
        raise ValueError(
            "Cannot tell which accuracy 'accuracy' means: pass y_true and y_pred (or their "
            "shapes) so that binary, categorical or sparse categorical accuracy can be chosen, "
            "or name the metric explicitly (e.g. 'sparse_categorical_accuracy').")
    return kind


def resolve_metric(identifier, y_true=None, y_pred=None, loss=None):
    """The `Metric` object `compile(metrics=[identifier])` uses (Keras 3's `get_metric`).

    Args:
        identifier: a name (`"accuracy"`/`"acc"`, `"mse"`, `"mae"`, `"mape"`, `"msle"`,
            `"crossentropy"`/`"ce"`, any `keras.metrics` class name or its snake case), a
            config dict, a `Metric` instance or class, or a function `fn(y_true, y_pred)`.
        y_true, y_pred: arrays or specs (anything with `.shape`) of one batch. They decide
            what `"accuracy"` and `"crossentropy"` mean, by Keras 3's rule: binary when
            y_pred's last dimension is 1; sparse categorical when y_true has a lower rank than
            y_pred, or a last dimension of 1 while y_pred's is larger; categorical otherwise.
        loss: the compiled loss (identifier or object); used for `"accuracy"` only when the
            shapes are not given (Keras 2's rule: binary cross-entropy gives binary accuracy,
            and so on).

    Returns:
        A `Metric`. A function becomes a `MeanMetricWrapper`. The metric is named as given: a
        string identifier keeps that string (`"acc"` logs as `acc`), anything else its
        `name` or `__name__`.

    Examples:
        >>> m = resolve_metric("accuracy", jnp.zeros((4,)), jnp.zeros((4, 3)))
        >>> type(m).__name__, m.name
        ('SparseCategoricalAccuracy', 'accuracy')
    """
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    key = str(identifier).lower() if isinstance(identifier, str) else None
    if key in ("accuracy", "acc"):
        kind = _kind(y_true, y_pred, loss)
        cls = {"binary": accuracy_metrics.BinaryAccuracy,
               "sparse": accuracy_metrics.SparseCategoricalAccuracy,
               "categorical": accuracy_metrics.CategoricalAccuracy}[kind]
        found = cls(name=identifier)
    elif key in ("crossentropy", "ce"):
        kind = _kind(y_true, y_pred, loss)
        cls = {"binary": probabilistic.BinaryCrossentropy,
               "sparse": probabilistic.SparseCategoricalCrossentropy,
               "categorical": probabilistic.CategoricalCrossentropy}[kind]
        found = cls(name=identifier)
    else:
        found = metrics.get(identifier)
    if isinstance(identifier, str):
        name = identifier
    else:
        name = getattr(found, "name", None) or getattr(found, "__name__", None)
    if not isinstance(found, Metric):
        found = MeanMetricWrapper(found, name=name)
    if name is not None:
        found.name = name
    return found


def class_weight_to_sample_weight(y, class_weight, dtype="float32"):
    """Per-sample weights from `fit(class_weight={class: weight})`, as Keras 3 maps them.

    A sample's class is the arg-max of `y`'s last axis when it has more than one entry, else
    the rounded label; classes missing from `class_weight` weigh 1. Works on traced `y` (the
    lookup is a gather into a dense table), so a compiled step can apply it per batch.

    Examples:
        >>> class_weight_to_sample_weight(jnp.array([0, 1, 2, 1]), {1: 5.0}).tolist()
        [1.0, 5.0, 1.0, 5.0]
    """
    y = jnp.asarray(y)
    if y.ndim > 1:
        y = jnp.argmax(y, axis=-1) if y.shape[-1] != 1 else jnp.squeeze(y, axis=-1)
    classes = jnp.round(y).astype(jnp.int32)
    if not class_weight:
        return jnp.ones(classes.shape, dtype)
    keys = [int(k) for k in class_weight]
    if min(keys) < 0:
        raise ValueError(f"class_weight keys must be class indices >= 0. Received: {keys}")
    table = np.ones(max(keys) + 2, dtype)  # the last slot holds 1 for classes out of range
    for key, weight in class_weight.items():
        table[int(key)] = weight
    index = jnp.where((classes >= 0) & (classes <= max(keys)), classes, len(table) - 1)
    return jnp.asarray(table)[index]
