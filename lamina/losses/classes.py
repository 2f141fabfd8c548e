"""Loss classes: each wraps a loss function with a reduction, a name and saved hyperparameters.

Names, arguments, defaults and `get_config()` keys are Keras 3's. Where Keras 3 drops a
hyperparameter from the config (Huber's `delta`, CosineSimilarity's and
SparseCategoricalCrossentropy's `axis`), lamina writes it only when it differs from the default,
so default configs are identical to Keras's and non-default ones survive a save and load.
"""

import inspect

from lamina._registry import keras_export
from lamina.losses import functions
from lamina.losses.base import LossFunctionWrapper

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge",
    "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "Tversky",
]

_DEFAULT = "sum_over_batch_size"


class _Builtin(LossFunctionWrapper):
    """A built-in loss class: a loss function and the keyword arguments it is called with,
    which are the class's hyperparameters. They are recorded once, at construction, and are
    both the config (beside `name` and `reduction`) and attributes (`loss.from_logits`); so
    a subclass states only its constructor.

    A subclass names in `_written_unless_default` the hyperparameters Keras 3 leaves out of
    its config: they are written only when they differ from the constructor's default.
    """

    _written_unless_default = ()

    def __init__(self, fn, reduction, name, dtype, **hyperparameters):
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype, **hyperparameters)
        vars(self).update(hyperparameters)

    def get_config(self):
        config = super().get_config()
        del config["fn"]  # the class stands for its function
        parameters = inspect.signature(type(self).__init__).parameters
        return {key: value for key, value in config.items()
                if key not in self._written_unless_default or value != parameters[key].default}


def _simple(class_name, fn, default_name, doc):
    """A built-in loss class without hyperparameters: Keras's `(reduction, name, dtype)`
    constructor (with the Keras default name, for introspection) around `fn`."""

    def __init__(self, reduction=_DEFAULT, name=default_name, dtype=None):
        _Builtin.__init__(self, fn, reduction, name or default_name, dtype)

    return type(class_name, (_Builtin,), {"__init__": __init__, "__doc__": doc,
                                          "__module__": __name__})


MeanSquaredError = keras_export("keras.losses.MeanSquaredError")(_simple(
    "MeanSquaredError", functions.mean_squared_error, "mean_squared_error",
    """Mean of squares of errors between labels and predictions.

    Examples:
        >>> float(lamina.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
        0.5
    """))
MeanAbsoluteError = keras_export("keras.losses.MeanAbsoluteError")(_simple(
    "MeanAbsoluteError", functions.mean_absolute_error, "mean_absolute_error",
    """Mean of absolute errors between labels and predictions.

    Examples:
        >>> float(lamina.losses.MeanAbsoluteError()([[0.0, 1.0]], [[2.0, 1.0]]))
        1.0
    """))
MeanAbsolutePercentageError = keras_export("keras.losses.MeanAbsolutePercentageError")(_simple(
    "MeanAbsolutePercentageError", functions.mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    """`100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))`.

    Examples:
        >>> float(lamina.losses.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]]))
        25.0
    """))
MeanSquaredLogarithmicError = keras_export("keras.losses.MeanSquaredLogarithmicError")(_simple(
    "MeanSquaredLogarithmicError", functions.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    """Mean of squared differences of `log(1 + y)` between labels and predictions.

    Examples:
        >>> round(float(lamina.losses.MeanSquaredLogarithmicError()([[0.0]], [[1.0]])), 4)
        0.4805
    """))
LogCosh = keras_export("keras.losses.LogCosh")(_simple(
    "LogCosh", functions.log_cosh, "log_cosh",
    """Mean of `log(cosh(y_pred - y_true))`: like MSE for small errors, MAE for large ones.

    Examples:
        >>> round(float(lamina.losses.LogCosh()([[0.0]], [[1.0]])), 4)
        0.4338
    """))
Hinge = keras_export("keras.losses.Hinge")(_simple(
    "Hinge", functions.hinge, "hinge",
    """Hinge loss for -1/1 (or 0/1) labels: `mean(maximum(1 - y_true * y_pred, 0))`.

    Examples:
        >>> float(lamina.losses.Hinge()([[0.0, 1.0]], [[0.5, 0.5]]))
        1.0
    """))
SquaredHinge = keras_export("keras.losses.SquaredHinge")(_simple(
    "SquaredHinge", functions.squared_hinge, "squared_hinge",
    """Squared hinge loss: `mean(square(maximum(1 - y_true * y_pred, 0)))`.

    Examples:
        >>> float(lamina.losses.SquaredHinge()([[0.0, 1.0]], [[0.5, 0.5]]))
        1.25
    """))
CategoricalHinge = keras_export("keras.losses.CategoricalHinge")(_simple(
    "CategoricalHinge", functions.categorical_hinge, "categorical_hinge",
    """Categorical hinge: `maximum(max_wrong - true_score + 1, 0)` for one-hot labels.

    Examples:
        >>> round(float(lamina.losses.CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.6]])), 4)
        0.7
    """))
KLDivergence = keras_export("keras.losses.KLDivergence")(_simple(
    "KLDivergence", functions.kl_divergence, "kl_divergence",
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`.

    Examples:
        >>> round(float(lamina.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
        0.1438
    """))
Poisson = keras_export("keras.losses.Poisson")(_simple(
    "Poisson", functions.poisson, "poisson",
    """Poisson loss `mean(y_pred - y_true * log(y_pred + epsilon))`.

    Examples:
        >>> round(float(lamina.losses.Poisson()([[1.0]], [[2.0]])), 4)
        1.3069
    """))
CTC = keras_export("keras.losses.CTC")(_simple(
    "CTC", functions.ctc, "ctc",
    """Connectionist temporal classification loss: `y_true` is `(batch, max_label_length)`
    labels padded with 0 (the blank), `y_pred` is `(batch, time, num_classes)` logits.

    Examples:
        >>> round(float(lamina.losses.CTC()([[1]], jnp.zeros((1, 2, 2)))), 4)
        0.2877
    """))


@keras_export("keras.losses.CosineSimilarity")
class CosineSimilarity(_Builtin):
    """Minus the cosine similarity between labels and predictions along `axis`.

    Examples:
        >>> float(lamina.losses.CosineSimilarity()([[0.0, 1.0]], [[0.0, 3.0]]))
        -1.0
    """

    _written_unless_default = ("axis",)

    def __init__(self, axis=-1, reduction=_DEFAULT, name="cosine_similarity", dtype=None):
        super().__init__(functions.cosine_similarity, reduction, name, dtype, axis=axis)


@keras_export("keras.losses.Huber")
class Huber(_Builtin):
    """Huber loss: quadratic for errors up to `delta`, linear beyond.

    Examples:
        >>> float(lamina.losses.Huber()([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """

    _written_unless_default = ("delta",)

    def __init__(self, delta=1.0, reduction=_DEFAULT, name="huber_loss", dtype=None):
        super().__init__(functions.huber, reduction, name, dtype, delta=delta)


@keras_export("keras.losses.BinaryCrossentropy")
class BinaryCrossentropy(_Builtin):
    """Binary cross-entropy for 0/1 labels and probabilities (or logits, `from_logits=True`).

    Examples:
        >>> round(float(lamina.losses.BinaryCrossentropy()([[0.0, 1.0]], [[0.4, 0.6]])), 4)
        0.5108
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_crossentropy", dtype=None):
        super().__init__(functions.binary_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@keras_export("keras.losses.BinaryFocalCrossentropy")
class BinaryFocalCrossentropy(_Builtin):
    """Binary focal cross-entropy (Lin et al., 2017): down-weights easy examples.

    Examples:
        >>> round(float(lamina.losses.BinaryFocalCrossentropy()([[1.0]], [[0.5]])), 4)
        0.1733
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(functions.binary_focal_crossentropy, reduction, name, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@keras_export("keras.losses.CategoricalCrossentropy")
class CategoricalCrossentropy(_Builtin):
    """Cross-entropy for one-hot labels and class probabilities (or logits).

    Examples:
        >>> round(float(lamina.losses.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]])), 4)
        0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(functions.categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@keras_export("keras.losses.CategoricalFocalCrossentropy")
class CategoricalFocalCrossentropy(_Builtin):
    """Categorical focal cross-entropy (Lin et al., 2017) for one-hot labels.

    Examples:
        >>> round(float(lamina.losses.CategoricalFocalCrossentropy()(
        ...     [[0.0, 1.0]], [[0.5, 0.5]])), 4)
        0.0433
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=_DEFAULT, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(functions.categorical_focal_crossentropy, reduction, name, dtype,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@keras_export("keras.losses.SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(_Builtin):
    """Cross-entropy for integer labels and class probabilities (or logits).

    Entries whose label equals `ignore_class` count for nothing: the average is over the
    other entries. Labels out of `[0, num_classes)` raise an error eagerly; under `jit` they
    contribute 0 (see `lamina.losses.sparse_categorical_crossentropy`).

    Examples:
        >>> scce = lamina.losses.SparseCategoricalCrossentropy()
        >>> round(float(scce([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 3)
        1.177
    """

    _written_unless_default = ("axis",)

    def __init__(self, from_logits=False, ignore_class=None, reduction=_DEFAULT, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(functions.sparse_categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


@keras_export("keras.losses.Dice")
class Dice(_Builtin):
    """Dice loss over `axis` (all axes by default), for segmentation masks.

    Examples:
        >>> round(float(lamina.losses.Dice()([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """

    def __init__(self, reduction=_DEFAULT, name="dice", axis=None, dtype=None):
        super().__init__(functions.dice, reduction, name, dtype, axis=axis)


@keras_export("keras.losses.Tversky")
class Tversky(_Builtin):
    """Tversky loss: Dice with false positives weighted by `alpha`, false negatives by `beta`.

    Examples:
        >>> round(float(lamina.losses.Tversky()([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction=_DEFAULT, name="tversky", axis=None,
                 dtype=None):
        super().__init__(functions.tversky, reduction, name, dtype, alpha=alpha, beta=beta,
                         axis=axis)


@keras_export("keras.losses.Circle")
class Circle(_Builtin):
    """Circle loss for metric learning on unit-norm embeddings (labels are integer ids).

    Samples whose loss is 0 do not count in the average.

    Examples:
        >>> embeddings = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> float(lamina.losses.Circle()([0, 0, 1], embeddings)) >= 0
        True
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_DEFAULT,
                 name="circle", dtype=None):
        super().__init__(functions.circle, reduction, name, dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)


@keras_export("keras.losses.CategoricalGeneralizedCrossEntropy")
class CategoricalGeneralizedCrossEntropy(_Builtin):
    """Generalized cross-entropy `(1 - p**q) / q` for integer labels, robust to label noise.

    Examples:
        >>> loss = lamina.losses.CategoricalGeneralizedCrossEntropy(q=0.5)
        >>> round(float(loss([1], [[0.75, 0.25]])), 4)
        1.0
    """

    def __init__(self, q=0.5, reduction=_DEFAULT, name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1). Received: q={q!r}")
        super().__init__(functions.categorical_generalized_cross_entropy, reduction, name, dtype,
                         q=q)
