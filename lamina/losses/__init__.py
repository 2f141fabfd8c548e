"""`keras.losses`: loss functions and classes, with Keras 3's names, arguments and math.

A loss is either a function `fn(y_true, y_pred) -> per-sample values` or a `Loss` object, whose
`__call__(y_true, y_pred, sample_weight=None)` also weights and reduces (to the mean over the
batch by default). The book's function and its factory work as written:

Examples:
    >>> def create_huber(threshold=1.0):
    ...     def huber_fn(y_true, y_pred):
    ...         error = y_true - y_pred
    ...         is_small_error = jnp.abs(error) < threshold
    ...         squared_loss = jnp.square(error) / 2
    ...         linear_loss = threshold * jnp.abs(error) - threshold ** 2 / 2
    ...         return jnp.where(is_small_error, squared_loss, linear_loss)
    ...     return huber_fn
    >>> create_huber(2.0)(jnp.array([2.0]), jnp.array([10.0])).tolist()
    [14.0]
"""

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina.losses.base import Loss as Loss
from lamina.losses.base import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.classes import CTC as CTC
from lamina.losses.classes import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.classes import BinaryFocalCrossentropy as BinaryFocalCrossentropy
from lamina.losses.classes import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.classes import CategoricalFocalCrossentropy as CategoricalFocalCrossentropy
from lamina.losses.classes import \
    CategoricalGeneralizedCrossEntropy as CategoricalGeneralizedCrossEntropy
from lamina.losses.classes import CategoricalHinge as CategoricalHinge
from lamina.losses.classes import Circle as Circle
from lamina.losses.classes import CosineSimilarity as CosineSimilarity
from lamina.losses.classes import Dice as Dice
from lamina.losses.classes import Hinge as Hinge
from lamina.losses.classes import Huber as Huber
from lamina.losses.classes import KLDivergence as KLDivergence
from lamina.losses.classes import LogCosh as LogCosh
from lamina.losses.classes import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.classes import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.losses.classes import MeanSquaredError as MeanSquaredError
from lamina.losses.classes import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.losses.classes import Poisson as Poisson
from lamina.losses.classes import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.losses.classes import SquaredHinge as SquaredHinge
from lamina.losses.classes import Tversky as Tversky
from lamina.losses.functions import binary_crossentropy as binary_crossentropy
from lamina.losses.functions import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.functions import categorical_crossentropy as categorical_crossentropy
from lamina.losses.functions import \
    categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.functions import \
    categorical_generalized_cross_entropy as categorical_generalized_cross_entropy
from lamina.losses.functions import categorical_hinge as categorical_hinge
from lamina.losses.functions import circle as circle
from lamina.losses.functions import cosine_similarity as cosine_similarity
from lamina.losses.functions import ctc as ctc
from lamina.losses.functions import dice as dice
from lamina.losses.functions import hinge as hinge
from lamina.losses.functions import huber as huber
from lamina.losses.functions import kl_divergence as kl_divergence
from lamina.losses.functions import log_cosh as log_cosh
from lamina.losses.functions import mean_absolute_error as mean_absolute_error
from lamina.losses.functions import \
    mean_absolute_percentage_error as mean_absolute_percentage_error
from lamina.losses.functions import mean_squared_error as mean_squared_error
from lamina.losses.functions import \
    mean_squared_logarithmic_error as mean_squared_logarithmic_error
from lamina.losses.functions import poisson as poisson
from lamina.losses.functions import \
    sparse_categorical_crossentropy as sparse_categorical_crossentropy
from lamina.losses.functions import squared_hinge as squared_hinge
from lamina.losses.functions import tversky as tversky

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge",
    "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh", "Loss",
    "LossFunctionWrapper", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson",
    "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy", "categorical_hinge", "circle", "cosine_similarity",
    "ctc", "deserialize", "dice", "get", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "resolve_loss", "serialize",
    "sparse_categorical_crossentropy", "squared_hinge", "tversky",
]

_OBJECTS = (
    Loss, LossFunctionWrapper, KLDivergence, Poisson, BinaryCrossentropy,
    BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCosh, Huber,
    Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky, Circle,
    CategoricalGeneralizedCrossEntropy, CTC, kl_divergence, poisson, binary_crossentropy,
    binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    sparse_categorical_crossentropy, mean_squared_error, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_logarithmic_error, cosine_similarity, log_cosh,
    huber, hinge, squared_hinge, categorical_hinge, dice, tversky, circle,
    categorical_generalized_cross_entropy, ctc,
)
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in _OBJECTS}
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
})
_LOOKUP = _identifiers.Lookup(
    "loss", ALL_OBJECTS_DICT,
    "a name such as 'mse', a config dict, a Loss instance or class, or a "
    "function(y_true, y_pred)", instantiate=False)


@keras_export("keras.losses.serialize")
def serialize(loss):
    """The config of a `Loss` (a dict), or the function config of a loss function.

    Examples:
        >>> lamina.losses.serialize(lamina.losses.Huber())
        {'module': 'keras.losses', 'class_name': 'Huber',
         'config': {'name': 'huber_loss', 'reduction': 'sum_over_batch_size'},
         'registered_name': None}
    """
    return serialization.serialize_keras_object(loss)


@keras_export("keras.losses.deserialize")
def deserialize(name, custom_objects=None):
    """Rebuilds a loss from a name or a config (the inverse of `serialize`).

    Examples:
        >>> lamina.losses.deserialize("mse") is lamina.losses.mean_squared_error
        True
    """
    return _LOOKUP.deserialize(name, custom_objects)


@keras_export("keras.losses.get")
def get(identifier):
    """A loss function or `Loss` from a name, a config, a class or a callable (None gives None).

    Function names (`"mse"`, `"categorical_crossentropy"`) give functions; class names
    (`"Huber"`) give instances with default arguments.

    Examples:
        >>> lamina.losses.get("mse") is lamina.losses.mean_squared_error
        True
        >>> type(lamina.losses.get("Huber")).__name__
        'Huber'
    """
    return _LOOKUP.get(identifier)


def is_binary_or_sparse_categorical(y_true, y_pred):
    """`(is_binary, is_sparse_categorical)` from shapes, by Keras 3's rule for `"accuracy"`
    and `"crossentropy"`: binary when y_pred has one unit; sparse when y_true has a lower rank,
    or a last dimension of 1 while y_pred has more."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    true_last = true_shape[-1] if true_shape else None
    pred_last = pred_shape[-1] if pred_shape else None
    is_binary = pred_last == 1
    is_sparse = len(true_shape) < len(pred_shape) or (
        true_last == 1 and pred_last is not None and pred_last > 1)
    return is_binary, is_sparse


def resolve_loss(identifier, y_true=None, y_pred=None):
    """The `Loss` object `compile(loss=identifier)` uses (Keras 3's `get_loss`).

    Args:
        identifier: a name (`"mse"`, `"Huber"`, `"crossentropy"`/`"ce"`), a config dict, a
            `Loss` instance or class, or a function `fn(y_true, y_pred)`.
        y_true, y_pred: arrays or shape-carrying specs (anything with `.shape`) of one batch;
            needed only for `"crossentropy"`/`"ce"`, which becomes binary, sparse categorical
            or categorical cross-entropy from the shapes.

    Returns:
        None for None; a `Loss` unchanged; anything else wrapped in a `LossFunctionWrapper`
        named after the identifier (the string as given, or the function's `__name__`).

    Examples:
        >>> resolve_loss("mse").name
        'mse'
        >>> y_true, y_pred = jnp.array([[0.0, 1.0]]), jnp.array([[0.3, 0.7]])
        >>> resolve_loss("ce", y_true, y_pred).fn.__name__   # chosen from the shapes
        'categorical_crossentropy'
    """
    if identifier is None:
        return None
    if str(identifier).lower() in ("crossentropy", "ce"):
        if y_true is None or y_pred is None:
            raise ValueError(
                f"loss={identifier!r} picks binary, categorical or sparse categorical "
                "cross-entropy from the shapes of y_true and y_pred; pass them to resolve_loss "
                "or name the loss explicitly.")
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        found = (binary_crossentropy if is_binary else sparse_categorical_crossentropy
                 if is_sparse else categorical_crossentropy)
    else:
        found = get(identifier)
    if isinstance(found, Loss):
        return found
    name = identifier if isinstance(identifier, str) else getattr(
        found, "__name__", None) or type(found).__name__
    return LossFunctionWrapper(found, name=name)
