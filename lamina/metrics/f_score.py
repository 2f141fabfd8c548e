"""F-scores: `FBetaScore` and `F1Score` for multi-class and multi-label classification."""

import jax.numpy as jnp

from lamina._registry import keras_export
from lamina._runtime import config
from lamina.losses.base import IncompatibleShapesError, convert
from lamina.metrics.base import Metric

__all__ = ["F1Score", "FBetaScore"]


@keras_export("keras.metrics.FBetaScore")
class FBetaScore(Metric):
    """`(1 + beta**2) * precision * recall / (beta**2 * precision + recall)`, per class.

    Inputs are `(batch, num_classes)`: one-hot (or multi-hot) labels and scores.

    Args:
        average: None (one score per class), `"micro"` (counts pooled over classes),
            `"macro"` (mean of per-class scores) or `"weighted"` (weighted by support).
        beta: the weight of recall relative to precision (a float > 0).
        threshold: scores above it are positive; None means the arg-max of each row.
        name, dtype: as for every metric.

    The state is created on the first update, from the number of classes; before any update
    `result()` is 0.

    Examples:
        >>> m = lamina.metrics.FBetaScore(beta=2.0, threshold=0.5)
        >>> m.update_state(jnp.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], "float32"),
        ...                jnp.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
        >>> [round(x, 4) for x in m.result().tolist()]
        [0.3846, 0.9091, 0.8333]
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average!r}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta!r} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold!r} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}.")
        if y_true_shape[-1] != y_pred_shape[-1]:
            raise IncompatibleShapesError(f"Metric '{self.name}' ({type(self).__name__})",
                                          y_true_shape, y_pred_shape,
                                          "must have the same number of classes")
        size = (y_pred_shape[-1],) if self.average != "micro" else ()
        for state in ("true_positives", "false_positives", "false_negatives",
                      "intermediate_weights"):
            setattr(self, state, self.add_variable(shape=size, initializer="zeros",
                                                   dtype=self.dtype, name=state))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = convert(y_true, self.dtype)
        y_pred = convert(y_pred, self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape[1:] != y_pred.shape[1:] or y_true.shape[0] != y_pred.shape[0]:
            raise IncompatibleShapesError(f"Metric '{self.name}' ({type(self).__name__})",
                                          y_true.shape, y_pred.shape, "must have the same shape")
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            # Ties at the maximum all count as predicted; an all-zero row predicts nothing.
            predicted = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(self.dtype)
        if sample_weight is not None:
            sample_weight = convert(sample_weight, self.dtype)

        def weighted_sum(value):
            if sample_weight is not None:
                value = value * jnp.expand_dims(sample_weight, 1)
            return jnp.sum(value, axis=self.axis)

        self.true_positives.assign_add(weighted_sum(predicted * y_true))
        self.false_positives.assign_add(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        beta_squared = self.beta ** 2
        score = (precision * recall) / (beta_squared * precision + recall + eps)
        score = score * (1 + beta_squared)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            weights = weights / (jnp.sum(weights) + eps)
            score = jnp.sum(score * weights)
        elif self.average is not None:
            score = jnp.mean(score)
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


@keras_export("keras.metrics.F1Score")
class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (`FBetaScore` with `beta=1`).

    Examples:
        >>> m = lamina.metrics.F1Score(threshold=0.5)
        >>> m.update_state(jnp.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], "float32"),
        ...                jnp.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
        >>> [round(x, 4) for x in m.result().tolist()]
        [0.5, 0.8, 0.6667]
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
