"""Regression metrics: streaming means of errors, RMSE, cosine similarity, R², correlations."""

import jax.numpy as jnp

from lamina._runtime import config
from lamina.losses.base import convert, squeeze_or_expand_to_same_rank
from lamina.losses.functions import (_pair, l2_normalize, log_cosh, mean_absolute_error,
                                     mean_absolute_percentage_error, mean_squared_error,
                                     mean_squared_logarithmic_error)
from lamina._registry import keras_export
from lamina.metrics.base import Metric
from lamina.metrics.reduction import Mean, MeanMetricWrapper

__all__ = [
    "ConcordanceCorrelation", "CosineSimilarity", "LogCoshError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError",
    "PearsonCorrelation", "R2Score", "RootMeanSquaredError", "concordance_correlation",
    "cosine_similarity", "pearson_correlation",
]


class _Wrapper(MeanMetricWrapper):
    """A function's streaming mean whose config is `{"name", "dtype"}`."""

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.MeanSquaredError")
class MeanSquaredError(_Wrapper):
    """Streaming mean of `mean_squared_error`.

    Examples:
        >>> float(lamina.metrics.MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
        0.25
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)


@keras_export("keras.metrics.MeanAbsoluteError")
class MeanAbsoluteError(_Wrapper):
    """Streaming mean of `mean_absolute_error`.

    Examples:
        >>> float(lamina.metrics.MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
        0.25
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype=dtype)


@keras_export("keras.metrics.MeanAbsolutePercentageError")
class MeanAbsolutePercentageError(_Wrapper):
    """Streaming mean of `mean_absolute_percentage_error`.

    Examples:
        >>> float(lamina.metrics.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]]))
        25.0
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)


@keras_export("keras.metrics.MeanSquaredLogarithmicError")
class MeanSquaredLogarithmicError(_Wrapper):
    """Streaming mean of `mean_squared_logarithmic_error`.

    Examples:
        >>> round(float(lamina.metrics.MeanSquaredLogarithmicError()([[0.0]], [[1.0]])), 4)
        0.4805
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)


@keras_export("keras.metrics.LogCoshError")
class LogCoshError(_Wrapper):
    """Streaming mean of `log_cosh` (named `"logcosh"`, as in Keras).

    Examples:
        >>> round(float(lamina.metrics.LogCoshError()([[0.0]], [[1.0]])), 4)
        0.4338
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype=dtype)


@keras_export("keras.metrics.RootMeanSquaredError")
class RootMeanSquaredError(Mean):
    """The square root of the streaming (weighted) mean of squared errors.

    Examples:
        >>> float(lamina.metrics.RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
        0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(self._label(), convert(y_true, self._dtype),
                               convert(y_pred, self._dtype))
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return jnp.sqrt(super().result())


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between `y_true` and `y_pred` along `axis` (the metric's sign,
    opposite to the loss `lamina.losses.cosine_similarity`).

    Examples:
        >>> lamina.metrics.regression.cosine_similarity([[0.0, 1.0]], [[0.0, 3.0]]).tolist()
        [1.0]
    """
    y_true, y_pred = _pair("cosine_similarity", y_true, y_pred)
    return jnp.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


@keras_export("keras.metrics.CosineSimilarity")
class CosineSimilarity(MeanMetricWrapper):
    """Streaming mean of the cosine similarity between labels and predictions.

    Examples:
        >>> round(float(lamina.metrics.CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]],
        ...                                               [[1.0, 0.0], [1.0, 1.0]])), 4)
        0.5
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        if self.axis != -1:  # Keras 3 does not save it; lamina keeps a non-default axis
            config["axis"] = self.axis
        return config


@keras_export("keras.metrics.R2Score")
class R2Score(Metric):
    """The coefficient of determination R² = 1 - SS_res / SS_tot, per output then aggregated.

    Args:
        class_aggregation: `"uniform_average"` (mean over outputs), `"variance_weighted_average"`
            or None (one score per output).
        num_regressors: when > 0, the adjusted R² for that many independent variables (the
            plain R² while there are too few samples for the adjustment).
        name, dtype: as for every metric.

    Inputs are `(batch, num_outputs)`; the state is created on the first update (before it,
    `result()` is 0).

    Examples:
        >>> m = lamina.metrics.R2Score()
        >>> round(float(m([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])), 4)
        0.5714
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{valid}. Received: class_aggregation={class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}.")
        size = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(name="squared_sum", shape=size,
                                             initializer="zeros")
        self.sum = self.add_variable(name="sum", shape=size, initializer="zeros")
        self.total_mse = self.add_variable(name="residual", shape=size, initializer="zeros")
        self.count = self.add_variable(name="count", shape=size, initializer="zeros")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(f"Metric '{self.name}' (R2Score)", convert(y_true, self._dtype),
                               convert(y_pred, self._dtype))
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if sample_weight is None:
            sample_weight = 1
        sample_weight = convert(sample_weight, self.dtype)
        if sample_weight.ndim == 1:
            sample_weight = jnp.expand_dims(sample_weight, axis=1)
        sample_weight = jnp.broadcast_to(sample_weight, y_true.shape).astype(y_true.dtype)
        weighted_y_true = y_true * sample_weight
        self.sum.assign(self.sum.value + jnp.sum(weighted_y_true, axis=0))
        self.squared_sum.assign(self.squared_sum.value + jnp.sum(y_true * weighted_y_true, axis=0))
        self.total_mse.assign(self.total_mse.value
                              + jnp.sum((y_true - y_pred) ** 2 * sample_weight, axis=0))
        self.count.assign(self.count.value + jnp.sum(sample_weight, axis=0))
        self.num_samples.assign(self.num_samples.value + y_true.size)

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw_scores = 1 - self.total_mse.value / total
        raw_scores = jnp.where(jnp.isinf(raw_scores), 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw_scores) / jnp.sum(total)
        else:
            score = raw_scores
        if self.num_regressors != 0:
            # Keras falls back to the plain score (with a warning) when n - p - 1 <= 0.
            n = self.num_samples.value.astype("float32")
            p = jnp.asarray(self.num_regressors, "float32")
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            score = jnp.where(p < n - 1, adjusted, score)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


@keras_export("keras.metrics.pearson_correlation")
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation coefficient between `y_true` and `y_pred` along `axis`.

    Examples:
        >>> round(float(lamina.metrics.pearson_correlation([[1.0, 2.0, 3.0]],
        ...                                                [[2.0, 4.0, 7.0]])[0]), 4)
        0.9934
    """
    y_true, y_pred = _pair("pearson_correlation", y_true, y_pred)
    y_true = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    y_pred = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    y_true = y_true / jnp.std(y_true, axis=axis, keepdims=True)
    y_pred = y_pred / jnp.std(y_pred, axis=axis, keepdims=True)
    return jnp.mean(y_true * y_pred, axis=axis)


@keras_export("keras.metrics.concordance_correlation")
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient between `y_true` and `y_pred` along `axis`.

    Examples:
        >>> round(float(lamina.metrics.concordance_correlation([[1.0, 2.0, 3.0]],
        ...                                                    [[1.0, 2.0, 3.0]])[0]), 4)
        1.0
    """
    y_true, y_pred = _pair("concordance_correlation", y_true, y_pred)
    true_mean = jnp.mean(y_true, axis=axis, keepdims=True)
    pred_mean = jnp.mean(y_pred, axis=axis, keepdims=True)
    true_var = jnp.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = jnp.var(y_pred - pred_mean, axis=axis, keepdims=True)
    # As in Keras 3: the covariance term centres y_true on y_pred's mean.
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + jnp.square(true_mean - pred_mean)
    return jnp.mean(2 * covariance / (norm + config.epsilon()), axis=axis)


@keras_export("keras.metrics.PearsonCorrelation")
class PearsonCorrelation(MeanMetricWrapper):
    """Streaming mean of the per-sample Pearson correlation.

    Examples:
        >>> round(float(lamina.metrics.PearsonCorrelation()([[1.0, 2.0, 3.0]],
        ...                                                 [[2.0, 4.0, 7.0]])), 4)
        0.9934
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(fn=pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


@keras_export("keras.metrics.ConcordanceCorrelation")
class ConcordanceCorrelation(MeanMetricWrapper):
    """Streaming mean of the per-sample concordance correlation.

    Examples:
        >>> round(float(lamina.metrics.ConcordanceCorrelation()([[1.0, 2.0, 3.0]],
        ...                                                     [[1.0, 2.0, 3.0]])), 4)
        1.0
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(fn=concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
