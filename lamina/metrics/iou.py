"""Intersection-over-union metrics for segmentation: `IoU`, `MeanIoU`, `BinaryIoU` and the
one-hot variants. The state is a `(num_classes, num_classes)` confusion matrix of counts."""

import warnings

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina._runtime import config
from lamina.losses.base import IncompatibleShapesError, convert
from lamina.metrics.base import Metric, reset_to_zeros

__all__ = ["BinaryIoU", "IoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU", "confusion_matrix"]


def confusion_matrix(labels, predictions, num_classes, weights=None, dtype="int32"):
    """`(num_classes, num_classes)` counts: entry `[i, j]` sums the weights of samples with
    label `i` predicted as `j`."""
    labels = convert(labels).astype(jnp.int32).reshape(-1)
    predictions = convert(predictions).astype(jnp.int32).reshape(-1)
    values = jnp.ones_like(predictions, dtype) if weights is None else convert(weights).astype(
        dtype).reshape(-1)
    matrix = jnp.zeros((num_classes, num_classes), dtype)
    return matrix.at[labels, predictions].add(values, mode="drop")


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(name="total_confusion_matrix",
                                          shape=(num_classes, num_classes),
                                          initializer="zeros", dtype=self.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = convert(y_true), convert(y_pred)
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jnp.argmax(y_pred, axis=self.axis)
        y_true = y_true.astype(self.dtype).reshape(-1)
        y_pred = y_pred.astype(self.dtype).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise IncompatibleShapesError(f"Metric '{self.name}' ({type(self).__name__})",
                                          y_true.shape, y_pred.shape,
                                          "must hold the same number of entries")
        if sample_weight is None:
            sample_weight = 1
        elif hasattr(sample_weight, "dtype") and "float" in str(sample_weight.dtype) and \
                "int" in str(self.dtype):
            warnings.warn(
                "You are passing weight as `float`, but dtype is `int`. This may result in an "
                "incorrect weight due to type casting Consider using integer weights.",
                stacklevel=3)
        sample_weight = convert(sample_weight).astype(self.dtype).reshape(-1) \
            if jnp.ndim(sample_weight) > 1 else convert(sample_weight).astype(self.dtype)
        sample_weight = jnp.broadcast_to(sample_weight, y_true.shape)
        # Entries out of [0, num_classes), and the ignored class, count for nothing.
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & \
            (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        y_true = jnp.where(valid, y_true, 0)
        y_pred = jnp.where(valid, y_pred, 0)
        sample_weight = jnp.where(valid, sample_weight, 0)
        current = confusion_matrix(y_true, y_pred, self.num_classes, weights=sample_weight,
                                   dtype=self.dtype)
        self.total_cm.assign(self.total_cm.value + current)

    def reset_state(self):
        reset_to_zeros((self.total_cm,))


@keras_export("keras.metrics.IoU")
class IoU(_IoUBase):
    """Intersection over union `TP / (TP + FP + FN)` of the classes `target_class_ids`,
    averaged over those with any support.

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        ignore_class: a label whose entries are skipped.
        sparse_y_true, sparse_y_pred: whether labels / predictions are class ids (True) or
            per-class scores to arg-max along `axis` (False).
        name, dtype: as for every metric (the state counts are `int32` by default).

    Examples:
        >>> m = lamina.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> float(m([0, 0, 1, 1], [0, 1, 0, 1]))
        0.333...
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis,
                         dtype=dtype)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which "
                             f"is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        matrix = self.total_cm.value
        sum_over_row = jnp.sum(matrix, axis=0).astype(self.dtype)
        sum_over_col = jnp.sum(matrix, axis=1).astype(self.dtype)
        true_positives = jnp.diagonal(matrix).astype(self.dtype)
        denominator = sum_over_row + sum_over_col - true_positives
        targets = jnp.asarray(self.target_class_ids, jnp.int32)
        true_positives = true_positives[targets].astype("float32")
        denominator = denominator[targets].astype("float32")
        valid = denominator > 1e-9
        iou = jnp.where(valid, true_positives / (denominator + config.epsilon()), 0.0)
        return jnp.sum(iou, axis=self.axis) / (jnp.sum(valid.astype("float32"))
                                               + config.epsilon())

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@keras_export("keras.metrics.BinaryIoU")
class BinaryIoU(IoU):
    """IoU for binary labels, with predictions `>= threshold` counting as class 1.

    Examples:
        >>> m = lamina.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> float(m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]))
        0.333...
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = convert(y_true).astype(self.dtype)
        y_pred = (convert(y_pred).astype("float32") >= self.threshold).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self._dtype}


@keras_export("keras.metrics.MeanIoU")
class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes (those with any support).

    Examples:
        >>> float(lamina.metrics.MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1]))
        0.333...
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes,
                         target_class_ids=list(range(num_classes)), axis=axis, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@keras_export("keras.metrics.OneHotIoU")
class OneHotIoU(IoU):
    """`IoU` for one-hot labels (and, by default, per-class scores as predictions).

    Examples:
        >>> m = lamina.metrics.OneHotIoU(num_classes=2, target_class_ids=[0])
        >>> round(float(m([[1, 0], [0, 1]], [[0.8, 0.2], [0.6, 0.4]])), 4)
        0.5
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@keras_export("keras.metrics.OneHotMeanIoU")
class OneHotMeanIoU(MeanIoU):
    """`MeanIoU` for one-hot labels (and, by default, per-class scores as predictions).

    Examples:
        >>> m = lamina.metrics.OneHotMeanIoU(num_classes=2)
        >>> float(m([[1, 0], [0, 1]], [[0.8, 0.2], [0.6, 0.4]]))
        0.25
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, axis=axis, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
