"""`keras.metrics`: streaming metrics, with Keras 3's names, arguments and values.

A metric object accumulates state over batches (`update_state`) and reports a value (`result`);
calling it does both. Functions (`binary_accuracy`, `mean_squared_error`, ...) compute one value
per sample. Any function `fn(y_true, y_pred)` works as a metric too: `compile` wraps it in a
`MeanMetricWrapper` reported under its `__name__`. The book's example:

Examples:
    >>> precision = lamina.metrics.Precision()
    >>> round(float(precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])), 6)
    0.8
    >>> round(float(precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])), 6)
    0.5
    >>> precision.reset_states()
"""

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina.metrics.accuracy import Accuracy as Accuracy
from lamina.metrics.accuracy import BinaryAccuracy as BinaryAccuracy
from lamina.metrics.accuracy import CategoricalAccuracy as CategoricalAccuracy
from lamina.metrics.accuracy import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from lamina.metrics.accuracy import SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy
from lamina.metrics.accuracy import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from lamina.metrics.accuracy import binary_accuracy as binary_accuracy
from lamina.metrics.accuracy import categorical_accuracy as categorical_accuracy
from lamina.metrics.accuracy import sparse_categorical_accuracy as sparse_categorical_accuracy
from lamina.metrics.accuracy import \
    sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy
from lamina.metrics.accuracy import top_k_categorical_accuracy as top_k_categorical_accuracy
from lamina.metrics.base import Metric as Metric
from lamina.metrics.confusion import AUC as AUC
from lamina.metrics.confusion import FalseNegatives as FalseNegatives
from lamina.metrics.confusion import FalsePositives as FalsePositives
from lamina.metrics.confusion import Precision as Precision
from lamina.metrics.confusion import PrecisionAtRecall as PrecisionAtRecall
from lamina.metrics.confusion import Recall as Recall
from lamina.metrics.confusion import RecallAtPrecision as RecallAtPrecision
from lamina.metrics.confusion import SensitivityAtSpecificity as SensitivityAtSpecificity
from lamina.metrics.confusion import SpecificityAtSensitivity as SpecificityAtSensitivity
from lamina.metrics.confusion import TrueNegatives as TrueNegatives
from lamina.metrics.confusion import TruePositives as TruePositives
from lamina.metrics.f_score import F1Score as F1Score
from lamina.metrics.f_score import FBetaScore as FBetaScore
from lamina.metrics.iou import BinaryIoU as BinaryIoU
from lamina.metrics.iou import IoU as IoU
from lamina.metrics.iou import MeanIoU as MeanIoU
from lamina.metrics.iou import OneHotIoU as OneHotIoU
from lamina.metrics.iou import OneHotMeanIoU as OneHotMeanIoU
from lamina.metrics.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from lamina.metrics.probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.metrics.probabilistic import CategoricalHinge as CategoricalHinge
from lamina.metrics.probabilistic import Hinge as Hinge
from lamina.metrics.probabilistic import KLDivergence as KLDivergence
from lamina.metrics.probabilistic import Poisson as Poisson
from lamina.metrics.probabilistic import \
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.metrics.probabilistic import SquaredHinge as SquaredHinge
from lamina.metrics.reduction import Mean as Mean
from lamina.metrics.reduction import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.reduction import Sum as Sum
from lamina.metrics.regression import ConcordanceCorrelation as ConcordanceCorrelation
from lamina.metrics.regression import CosineSimilarity as CosineSimilarity
from lamina.metrics.regression import LogCoshError as LogCoshError
from lamina.metrics.regression import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.regression import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.metrics.regression import MeanSquaredError as MeanSquaredError
from lamina.metrics.regression import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.metrics.regression import PearsonCorrelation as PearsonCorrelation
from lamina.metrics.regression import R2Score as R2Score
from lamina.metrics.regression import RootMeanSquaredError as RootMeanSquaredError
from lamina.metrics.regression import concordance_correlation as concordance_correlation
from lamina.metrics.regression import pearson_correlation as pearson_correlation
from lamina.losses.functions import binary_crossentropy as binary_crossentropy
from lamina.losses.functions import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.functions import categorical_crossentropy as categorical_crossentropy
from lamina.losses.functions import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.functions import categorical_hinge as categorical_hinge
from lamina.losses.functions import hinge as hinge
from lamina.losses.functions import huber as huber
from lamina.losses.functions import kl_divergence as kl_divergence
from lamina.losses.functions import log_cosh as log_cosh
from lamina.losses.functions import mean_absolute_error as mean_absolute_error
from lamina.losses.functions import mean_absolute_percentage_error as mean_absolute_percentage_error
from lamina.losses.functions import mean_squared_error as mean_squared_error
from lamina.losses.functions import mean_squared_logarithmic_error as mean_squared_logarithmic_error
from lamina.losses.functions import poisson as poisson
from lamina.losses.functions import \
    sparse_categorical_crossentropy as sparse_categorical_crossentropy
from lamina.losses.functions import squared_hinge as squared_hinge

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
    "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge",
    "ConcordanceCorrelation", "CosineSimilarity", "F1Score", "FBetaScore", "FalseNegatives",
    "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU", "MeanMetricWrapper",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric", "OneHotIoU", "OneHotMeanIoU",
    "PearsonCorrelation", "Poisson", "Precision", "PrecisionAtRecall", "R2Score", "Recall",
    "RecallAtPrecision", "RootMeanSquaredError", "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "SquaredHinge", "Sum",
    "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "binary_accuracy",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_accuracy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
    "concordance_correlation", "deserialize", "get", "hinge", "huber", "kl_divergence",
    "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "pearson_correlation", "poisson", "serialize",
    "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
]

_CLASSES = (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, Metric, AUC,
    FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
    RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    TrueNegatives, TruePositives, F1Score, FBetaScore, BinaryIoU, IoU, MeanIoU,
    OneHotIoU, OneHotMeanIoU, BinaryCrossentropy, CategoricalCrossentropy,
    CategoricalHinge, Hinge, KLDivergence, Poisson, SparseCategoricalCrossentropy,
    SquaredHinge, Mean, MeanMetricWrapper, Sum, ConcordanceCorrelation,
    CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError, PearsonCorrelation, R2Score,
    RootMeanSquaredError,
)
ALL_OBJECTS_DICT = _identifiers.by_name(
    _CLASSES,
    bce=BinaryCrossentropy, BCE=BinaryCrossentropy, mse=MeanSquaredError, MSE=MeanSquaredError,
    mae=MeanAbsoluteError, MAE=MeanAbsoluteError, mape=MeanAbsolutePercentageError,
    MAPE=MeanAbsolutePercentageError, msle=MeanSquaredLogarithmicError,
    MSLE=MeanSquaredLogarithmicError)
_LOOKUP = _identifiers.Lookup(
    "metric", ALL_OBJECTS_DICT,
    "a name such as 'mse', a config dict, a Metric instance or class, or a "
    "function(y_true, y_pred)",
    # Functions saved by name (a MeanMetricWrapper's `fn`) resolve too.
    saved_objects={name: globals()[name] for name in __all__
                   if name[0].islower() and name not in ("deserialize", "get", "serialize")})


@keras_export("keras.metrics.serialize")
def serialize(metric):
    """The config of a `Metric` (a dict), or the function config of a metric function.

    Examples:
        >>> lamina.metrics.serialize(lamina.metrics.Mean())
        {'module': 'keras.metrics', 'class_name': 'Mean',
         'config': {'name': 'mean', 'dtype': 'float32'}, 'registered_name': None}
    """
    return serialization.serialize_keras_object(metric)


@keras_export("keras.metrics.deserialize")
def deserialize(config, custom_objects=None):
    """Rebuilds a metric from a name or a config (the inverse of `serialize`).

    Examples:
        >>> type(lamina.metrics.deserialize("mse")).__name__
        'MeanSquaredError'
    """
    return _LOOKUP.deserialize(config, custom_objects)


@keras_export("keras.metrics.get")
def get(identifier):
    """A metric from a name, a config, a class or a callable (None gives None).

    Class names and their snake case (`"MeanSquaredError"`, `"mean_squared_error"`, `"mse"`)
    give metric objects; a function is returned as is.

    Examples:
        >>> lamina.metrics.get("mse").name
        'mean_squared_error'
    """
    return _LOOKUP.get(identifier)
