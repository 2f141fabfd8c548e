"""Confusion-matrix metrics: TP/FP/TN/FN counts, precision, recall, the four "X at Y" metrics,
and AUC, all computed at a list of decision thresholds.

Predictions above a threshold count as positive; labels count as positive when non-zero. With
evenly spaced thresholds (AUC's default grid) the counts at all thresholds come from one
histogram of the predictions and a cumulative sum, so 200 thresholds cost little more than one.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.losses.base import IncompatibleShapesError, convert, squeeze_or_expand_to_same_rank
from lamina.metrics.base import Metric, reset_to_zeros

__all__ = [
    "AUC", "FalseNegatives", "FalsePositives", "Precision", "PrecisionAtRecall", "Recall",
    "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "TrueNegatives", "TruePositives", "update_confusion_matrix_variables",
]

NEG_INF = -1e10  # the threshold used with top_k: every kept prediction counts as positive


def _to_list(value):
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]


def parse_thresholds(thresholds, default):
    """The thresholds as a list of floats in [0, 1] (`default` when None)."""
    if thresholds is not None:
        invalid = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return _to_list(default if thresholds is None else thresholds)


def evenly_distributed(thresholds):
    """Whether the thresholds are `i / (n - 1)` for `i = 0 .. n-1` (n >= 3), up to epsilon."""
    count = len(thresholds)
    if count < 3:
        return False
    even = np.arange(count, dtype=np.float32) / (count - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def _filter_top_k(x, k):
    # Predictions outside the top k become -1e10, below every threshold.
    _, indices = jax.lax.top_k(x, k)
    mask = jnp.sum(jax.nn.one_hot(indices, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * mask + NEG_INF * (1 - mask)


def update_confusion_matrix_variables(variables, y_true, y_pred, thresholds, top_k=None,
                                      class_id=None, sample_weight=None, multi_label=False,
                                      label_weights=None, thresholds_distributed_evenly=False,
                                      what="confusion matrix metric"):
    """Adds this batch's confusion counts at each threshold to the given Variables.

    Args:
        variables: `{"tp": var, "fp": var, "tn": var, "fn": var}` (any subset); each of shape
            `(num_thresholds,)`, or `(num_thresholds, num_labels)` with `multi_label`.
        y_true, y_pred: labels (positive where non-zero) and scores; they are brought to the
            same rank and must have the same number of entries.
        thresholds: the decision thresholds (a prediction is positive when `> threshold`).
        top_k: only the k highest predictions of each row may count as positive.
        class_id: only this class (last axis) is considered.
        sample_weight: per-sample weights, broadcast to `y_pred`'s shape.
        multi_label: count each label (column) separately instead of flattening.
        label_weights: per-label weights (not with `multi_label`).
        thresholds_distributed_evenly: use the histogram algorithm (thresholds must be
            evenly spaced on [0, 1], possibly with -epsilon / 1+epsilon at the ends).
    """
    if multi_label and label_weights is not None:
        raise ValueError("`label_weights` for multi-label data must be applied outside "
                         "`update_confusion_matrix_variables` when `multi_label` is True.")
    unknown = [key for key in variables if key not in ("tp", "fp", "tn", "fn")]
    if unknown or not variables:
        raise ValueError(f"Expected confusion-matrix keys among 'tp', 'fp', 'tn', 'fn'. "
                         f"Received: {list(variables)}")
    dtype = next(iter(variables.values())).dtype
    y_true = convert(y_true).astype(dtype)
    y_pred = convert(y_pred).astype(dtype)
    with_epsilon = thresholds_distributed_evenly and (thresholds[0] < 0 or thresholds[-1] > 1)
    thresholds = jnp.asarray(np.asarray(thresholds, np.float64), dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.size != y_pred.size or (multi_label and y_true.shape != y_pred.shape):
        raise IncompatibleShapesError(what, y_true.shape, y_pred.shape,
                                      "must have the same shape")
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(convert(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if sample_weight is not None:
        try:
            sample_weight = jnp.broadcast_to(sample_weight, y_pred.shape)
        except ValueError:
            raise ValueError(
                f"{what}: sample_weight of shape {tuple(sample_weight.shape)} cannot weight "
                f"predictions of shape {tuple(y_pred.shape)}. Pass one weight per sample.") \
                from None
    if label_weights is not None:
        label_weights = jnp.broadcast_to(jnp.expand_dims(label_weights, 0), y_pred.shape)
    if thresholds_distributed_evenly:
        deltas = _bucketed_counts(variables, y_true, y_pred, thresholds, multi_label,
                                  sample_weight, label_weights, with_epsilon)
    else:
        deltas = _thresholded_counts(variables, y_true, y_pred, thresholds, multi_label,
                                     sample_weight, label_weights)
    for key, variable in variables.items():
        variable.assign(variable.value + deltas[key].astype(variable.dtype))


def _combined_weights(sample_weight, label_weights, dtype):
    weights = None
    for w in (sample_weight, label_weights):
        if w is not None:
            weights = w if weights is None else weights * w
    return None if weights is None else weights.astype(dtype)


def _thresholded_counts(variables, y_true, y_pred, thresholds, multi_label, sample_weight,
                        label_weights):
    weights = _combined_weights(sample_weight, label_weights, y_pred.dtype)
    labels = y_true.astype(bool)
    if multi_label:
        # (thresholds, samples, labels), summed over samples.
        predicted = y_pred[None] > thresholds[:, None, None]
        labels = labels[None]
        weights = None if weights is None else weights[None]
    else:
        predicted = jnp.reshape(y_pred, (1, -1)) > thresholds[:, None]
        labels = jnp.reshape(labels, (1, -1))
        weights = None if weights is None else jnp.reshape(weights, (1, -1))

    def count(condition):
        if weights is None:
            return jnp.sum(condition.astype(y_pred.dtype), axis=1)
        return jnp.sum(jnp.where(condition, weights, 0), axis=1)

    deltas = {}
    if "tp" in variables:
        deltas["tp"] = count(labels & predicted)
    if "fp" in variables:
        deltas["fp"] = count(~labels & predicted)
    if "tn" in variables:
        deltas["tn"] = count(~labels & ~predicted)
    if "fn" in variables:
        deltas["fn"] = count(labels & ~predicted)
    return deltas


def _bucketed_counts(variables, y_true, y_pred, thresholds, multi_label, sample_weight,
                     label_weights, with_epsilon):
    num_thresholds = thresholds.shape[0]
    weights = _combined_weights(sample_weight, label_weights, y_true.dtype)
    if weights is None:
        weights = jnp.ones((), y_true.dtype)
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = y_true.astype(bool).astype(y_true.dtype)
    if not multi_label:
        y_true = jnp.reshape(y_true, (-1,))
        y_pred = jnp.reshape(y_pred, (-1,))
        weights = jnp.reshape(weights, (-1,)) if weights.ndim else weights
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    # Prediction p is above threshold i/(n-1) exactly for i <= ceil(p * (n-1)) - 1: histogram
    # by that bucket, then count from the top down with a reversed cumulative sum.
    buckets = jnp.ceil(y_pred * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = jax.nn.relu(buckets)
    buckets = buckets.astype(jnp.int32)

    def above(values):
        if multi_label:
            per_label = jax.vmap(lambda v, b: jax.ops.segment_sum(v, b, num_thresholds))(
                values.T, buckets.T)
            return jnp.flip(jnp.cumsum(jnp.flip(per_label, 1), axis=1), 1).T
        histogram = jax.ops.segment_sum(values, buckets, num_thresholds)
        return jnp.flip(jnp.cumsum(jnp.flip(histogram)))

    axis = 0
    deltas = {}
    tp = above(true_labels) if ("tp" in variables or "fn" in variables) else None
    fp = above(false_labels) if ("fp" in variables or "tn" in variables) else None
    if "tp" in variables:
        deltas["tp"] = tp
    if "fp" in variables:
        deltas["fp"] = fp
    if "tn" in variables:
        deltas["tn"] = jnp.sum(false_labels, axis=axis) - fp
    if "fn" in variables:
        deltas["fn"] = jnp.sum(true_labels, axis=axis) - tp
    return deltas


def _divide_no_nan(x, y):
    safe = jnp.where(y != 0, y, 1)
    return jnp.where(y != 0, x / safe, 0)


class _ConfusionMatrixConditionCount(Metric):
    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, default=0.5)
        self._thresholds_distributed_evenly = evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             initializer="zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables(
            {self._condition: self.accumulator}, y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, what=f"Metric '{self.name}' ({type(self).__name__})")

    def result(self):
        return self.accumulator.value[0] if len(self.thresholds) == 1 \
            else self.accumulator.value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _count_metric(class_name, condition, description):
    def __init__(self, thresholds=None, name=None, dtype=None):
        _ConfusionMatrixConditionCount.__init__(self, thresholds=thresholds, name=name,
                                                dtype=dtype)

    doc = f"""The (weighted) number of {description}, at each threshold (0.5 by default).

    Examples:
        >>> m = lamina.metrics.{class_name}()
        >>> float(m([0, 1, 1, 1], [1, 0, 1, 1]))
        {{value}}
    """
    return type(class_name, (_ConfusionMatrixConditionCount,), {
        "_condition": condition, "__init__": __init__, "__module__": __name__,
        "__doc__": doc})


TruePositives = keras_export("keras.metrics.TruePositives")(
    _count_metric("TruePositives", "tp", "true positives"))
TruePositives.__doc__ = TruePositives.__doc__.format(value="2.0")
FalsePositives = keras_export("keras.metrics.FalsePositives")(
    _count_metric("FalsePositives", "fp", "false positives"))
FalsePositives.__doc__ = FalsePositives.__doc__.format(value="1.0")
TrueNegatives = keras_export("keras.metrics.TrueNegatives")(
    _count_metric("TrueNegatives", "tn", "true negatives"))
TrueNegatives.__doc__ = TrueNegatives.__doc__.format(value="0.0")
FalseNegatives = keras_export("keras.metrics.FalseNegatives")(
    _count_metric("FalseNegatives", "fn", "false negatives"))
FalseNegatives.__doc__ = FalseNegatives.__doc__.format(value="1.0")


class _PrecisionRecall(Metric):
    _second = None  # "fp" for precision, "fn" for recall

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_thresholds(thresholds, default=default)
        self._thresholds_distributed_evenly = evenly_distributed(self.thresholds)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=size, initializer="zeros",
                                                name="true_positives")
        second_name = "false_positives" if self._second == "fp" else "false_negatives"
        setattr(self, second_name, self.add_variable(shape=size, initializer="zeros",
                                                     name=second_name))
        self._second_variable = getattr(self, second_name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables(
            {"tp": self.true_positives, self._second: self._second_variable}, y_true, y_pred,
            thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight,
            what=f"Metric '{self.name}' ({type(self).__name__})")

    def result(self):
        tp = self.true_positives.value
        result = _divide_no_nan(tp, tp + self._second_variable.value)
        return result[0] if len(self.thresholds) == 1 else result

    def reset_state(self):
        reset_to_zeros((self.true_positives, self._second_variable))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


@keras_export("keras.metrics.Precision")
class Precision(_PrecisionRecall):
    """Precision: true positives / predicted positives, accumulated over batches.

    Args:
        thresholds: a float or list of floats in [0, 1]; predictions above count as positive
            (0.5 by default). With a list, the result has one value per threshold.
        top_k: only the k highest predictions of each row can be positive.
        class_id: compute the precision of this class only (last axis of the inputs).
        name, dtype: as for every metric.

    Examples:
        The book's two batches:

        >>> precision = lamina.metrics.Precision()
        >>> round(float(precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])), 6)
        0.8
        >>> round(float(precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])), 6)
        0.5
        >>> [v.numpy().tolist() for v in precision.variables]
        [[4.0], [4.0]]
    """

    _second = "fp"


@keras_export("keras.metrics.Recall")
class Recall(_PrecisionRecall):
    """Recall: true positives / actual positives, accumulated over batches.

    Takes the same arguments as `Precision` (`thresholds`, `top_k`, `class_id`).

    Examples:
        >>> float(lamina.metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1]))
        0.666...
    """

    _second = "fn"


class SensitivitySpecificityBase(Metric):
    """The "X at Y" metrics: the best rate `X` among the thresholds whose rate `Y` is at
    least `value`, from TP, FP, TN and FN at `num_thresholds` evenly spaced thresholds on
    [0, 1].

    A subclass names the two rates (`_constrained` is `Y`, also the name of its first
    constructor argument and config key; `_maximized` is `X`) and passes its arguments on.
    """

    _constrained = None  # "sensitivity", "specificity", "precision" or "recall"
    _maximized = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._constrained}` must be in the range [0, 1]. "
                             f"Received: {self._constrained}={value}")
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        setattr(self, self._constrained, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            self._thresholds_distributed_evenly = True
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape=size, initializer="zeros",
                                                name="true_positives")
        self.false_positives = self.add_variable(shape=size, initializer="zeros",
                                                 name="false_positives")
        self.true_negatives = self.add_variable(shape=size, initializer="zeros",
                                                name="true_negatives")
        self.false_negatives = self.add_variable(shape=size, initializer="zeros",
                                                 name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives}, y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            class_id=self.class_id, sample_weight=sample_weight,
            what=f"Metric '{self.name}' ({type(self).__name__})")

    def reset_state(self):
        reset_to_zeros((self.true_positives, self.false_positives, self.true_negatives,
                        self.false_negatives))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._constrained: self.value}

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = _divide_no_nan(tp, tp + fn)
        rates = {"sensitivity": recall, "recall": recall,
                 "specificity": _divide_no_nan(tn, tn + fp),
                 "precision": _divide_no_nan(tp, tp + fp)}
        feasible = rates[self._constrained] >= self.value
        return jnp.max(jnp.where(feasible, rates[self._maximized], 0), initial=0)


@keras_export("keras.metrics.SensitivityAtSpecificity")
class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) among thresholds whose specificity is >= `specificity`.

    Examples:
        >>> m = lamina.metrics.SensitivityAtSpecificity(0.5)
        >>> float(m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        0.5
    """

    _constrained, _maximized = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


@keras_export("keras.metrics.SpecificityAtSensitivity")
class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity among thresholds whose sensitivity is >= `sensitivity`.

    Examples:
        >>> m = lamina.metrics.SpecificityAtSensitivity(0.5)
        >>> float(m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        0.666...
    """

    _constrained, _maximized = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


@keras_export("keras.metrics.PrecisionAtRecall")
class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision among thresholds whose recall is >= `recall`.

    Examples:
        >>> m = lamina.metrics.PrecisionAtRecall(0.5)
        >>> float(m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        0.5
    """

    _constrained, _maximized = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


@keras_export("keras.metrics.RecallAtPrecision")
class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall among thresholds whose precision is >= `precision`.

    Examples:
        >>> m = lamina.metrics.RecallAtPrecision(0.8)
        >>> float(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
        0.5
    """

    _constrained, _maximized = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring",
               "minoring": "minoring"}


def _curve(value):
    value = getattr(value, "value", value)  # accepts enum-like objects with .value
    key = str(value).lower() if str(value) in ("roc", "ROC", "pr", "PR", "prgain",
                                               "PRGAIN") else None
    if key is None:
        raise ValueError(f'Invalid AUC curve value: "{value}". Expected values are '
                         '["PR", "ROC", "PRGAIN"]')
    return _CURVES[key]


def _summation(value):
    value = getattr(value, "value", value)
    if str(value) not in ("interpolation", "Interpolation", "majoring", "Majoring",
                          "minoring", "Minoring"):
        raise ValueError(f'Invalid AUC summation method value: "{value}". Expected values '
                         'are ["interpolation", "majoring", "minoring"]')
    return _SUMMATIONS[str(value).lower()]


@keras_export("keras.metrics.AUC")
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at thresholds.

    Args:
        num_thresholds: how many evenly spaced thresholds discretize the curve (200).
        curve: `"ROC"`, `"PR"` (precision-recall) or `"PRGAIN"`.
        summation_method: `"interpolation"` (trapezoids; for PR, Davis & Goadrich's
            interpolation), `"minoring"` or `"majoring"` (lower / upper Riemann sums).
        thresholds: explicit thresholds in [0, 1] (then `num_thresholds` is ignored).
        multi_label: treat each column as a separate label and average their AUCs (weighted
            by `label_weights`), instead of flattening all labels into one curve.
        num_labels: the number of labels with `multi_label` (else taken from the first batch).
        label_weights: per-label weights.
        from_logits: whether predictions are logits (a sigmoid is applied).

    Examples:
        >>> auc = lamina.metrics.AUC(num_thresholds=3)
        >>> float(auc([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
        0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = evenly_distributed(
                np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1)
                          for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        epsilon = config.epsilon()
        self._thresholds = np.array([0.0 - epsilon] + thresholds + [1.0 + epsilon])
        self.curve = _curve(curve)
        self.summation_method = _summation(summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        if isinstance(label_weights, dict):
            label_weights = serialization.deserialize_keras_object(label_weights)
        self.label_weights = (None if label_weights is None
                              else jnp.asarray(label_weights, self.dtype))
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, with `-epsilon` and `1 + epsilon` at the ends."""
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                    f"{len(shape)}. Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            size = (self.num_thresholds, self._num_labels)
        else:
            size = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(shape=size, initializer="zeros",
                                                name="true_positives")
        self.false_positives = self.add_variable(shape=size, initializer="zeros",
                                                 name="false_positives")
        self.true_negatives = self.add_variable(shape=size, initializer="zeros",
                                                name="true_negatives")
        self.false_negatives = self.add_variable(shape=size, initializer="zeros",
                                                 name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = convert(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives}, y_true, y_pred, self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            what=f"Metric '{self.name}' ({type(self).__name__})")

    def _by_label(self, terms):
        if not self.multi_label:
            return jnp.sum(terms)
        by_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        return _divide_no_nan(jnp.sum(by_label * self.label_weights),
                              jnp.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """PR-AUC by Davis & Goadrich's interpolation between the thresholds' PR points."""
        n = self.num_thresholds
        tp, fp, fn = (self.true_positives.value, self.false_positives.value,
                      self.false_negatives.value)
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = _divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where((p[:n - 1] > 0) & (p[1:] > 0),
                          _divide_no_nan(p[:n - 1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:]))
        increments = _divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)),
                                    jnp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increments)

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        n = self.num_thresholds
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            recall_gain = jnp.maximum(jnp.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = jnp.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:n - 1], y[1:])
        else:
            heights = jnp.maximum(y[:n - 1], y[1:])
        return self._by_label((x[:n - 1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            reset_to_zeros((self.true_positives, self.false_positives, self.true_negatives,
                            self.false_negatives))

    def get_config(self):
        config = {
            "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels, "label_weights": self.label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return {**super().get_config(), **config}
