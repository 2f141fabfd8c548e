"""Loss classes: each wraps a loss function with a reduction, a name and saved hyperparameters.

Names, arguments, defaults and `get_config()` keys are Keras 3's. Where Keras 3 drops a
hyperparameter from the config (Huber's `delta`, CosineSimilarity's and
SparseCategoricalCrossentropy's `axis`), lamina writes it only when it differs from the default,
so default configs are identical to Keras's and non-default ones survive a save and load.
"""

from lamina.losses import functions
from lamina.losses.base import Loss, LossFunctionWrapper
from lamina._registry import keras_export

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge",
    "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "Tversky",
]

_DEFAULT = "sum_over_batch_size"


class _Simple(LossFunctionWrapper):
    """A wrapper whose config is only `{"name", "reduction"}`."""

    _fn = None
    _default_name = None

    def __init__(self, reduction=_DEFAULT, name=None, dtype=None):
        super().__init__(type(self)._fn, name=name or self._default_name, reduction=reduction,
                         dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


def _simple(class_name, fn, default_name, doc):
    cls = type(class_name, (_Simple,), {
        "_fn": staticmethod(fn), "_default_name": default_name, "__doc__": doc,
        "__module__": __name__,
    })
    cls.__init__ = _simple_init(default_name)
    return cls


def _simple_init(default_name):
    # A real signature (with the Keras default name) for each class, for introspection.
    def __init__(self, reduction=_DEFAULT, name=default_name, dtype=None):
        _Simple.__init__(self, reduction=reduction, name=name, dtype=dtype)

    return __init__


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
class CosineSimilarity(LossFunctionWrapper):
    """Minus the cosine similarity between labels and predictions along `axis`.

    Examples:
        >>> float(lamina.losses.CosineSimilarity()([[0.0, 1.0]], [[0.0, 3.0]]))
        -1.0
    """

    def __init__(self, axis=-1, reduction=_DEFAULT, name="cosine_similarity", dtype=None):
        super().__init__(functions.cosine_similarity, name=name, reduction=reduction,
                         dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        config = Loss.get_config(self)
        if self.axis != -1:
            config["axis"] = self.axis
        return config


@keras_export("keras.losses.Huber")
class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to `delta`, linear beyond.

    Examples:
        >>> float(lamina.losses.Huber()([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """

    def __init__(self, delta=1.0, reduction=_DEFAULT, name="huber_loss", dtype=None):
        super().__init__(functions.huber, name=name, reduction=reduction, dtype=dtype,
                         delta=delta)
        self.delta = delta

    def get_config(self):
        config = Loss.get_config(self)
        if self.delta != 1.0:
            config["delta"] = self.delta
        return config


@keras_export("keras.losses.BinaryCrossentropy")
class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 labels and probabilities (or logits, `from_logits=True`).

    Examples:
        >>> round(float(lamina.losses.BinaryCrossentropy()([[0.0, 1.0]], [[0.4, 0.6]])), 4)
        0.5108
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_crossentropy", dtype=None):
        super().__init__(functions.binary_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@keras_export("keras.losses.BinaryFocalCrossentropy")
class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal cross-entropy (Lin et al., 2017): down-weights easy examples.

    Examples:
        >>> round(float(lamina.losses.BinaryFocalCrossentropy()([[1.0]], [[0.5]])), 4)
        0.1733
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(functions.binary_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


@keras_export("keras.losses.CategoricalCrossentropy")
class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot labels and class probabilities (or logits).

    Examples:
        >>> round(float(lamina.losses.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]])), 4)
        0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(functions.categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@keras_export("keras.losses.CategoricalFocalCrossentropy")
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical focal cross-entropy (Lin et al., 2017) for one-hot labels.

    Examples:
        >>> round(float(lamina.losses.CategoricalFocalCrossentropy()(
        ...     [[0.0, 1.0]], [[0.5, 0.5]])), 4)
        0.0433
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=_DEFAULT, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(functions.categorical_focal_crossentropy, name=name,
                         reduction=reduction, dtype=dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "alpha": self.alpha, "gamma": self.gamma}


@keras_export("keras.losses.SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer labels and class probabilities (or logits).

    Entries whose label equals `ignore_class` count for nothing: the average is over the
    other entries. Labels out of `[0, num_classes)` raise an error eagerly; under `jit` they
    contribute 0 (see `lamina.losses.sparse_categorical_crossentropy`).

    Examples:
        >>> scce = lamina.losses.SparseCategoricalCrossentropy()
        >>> round(float(scce([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 3)
        1.177
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction=_DEFAULT, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(functions.sparse_categorical_crossentropy, name=name,
                         reduction=reduction, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        config = {**Loss.get_config(self), "from_logits": self.from_logits,
                  "ignore_class": self.ignore_class}
        if self.axis != -1:
            config["axis"] = self.axis
        return config


@keras_export("keras.losses.Dice")
class Dice(LossFunctionWrapper):
    """Dice loss over `axis` (all axes by default), for segmentation masks.

    Examples:
        >>> round(float(lamina.losses.Dice()([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """

    def __init__(self, reduction=_DEFAULT, name="dice", axis=None, dtype=None):
        super().__init__(functions.dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


@keras_export("keras.losses.Tversky")
class Tversky(LossFunctionWrapper):
    """Tversky loss: Dice with false positives weighted by `alpha`, false negatives by `beta`.

    Examples:
        >>> round(float(lamina.losses.Tversky()([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction=_DEFAULT, name="tversky", axis=None,
                 dtype=None):
        super().__init__(functions.tversky, name=name, reduction=reduction, dtype=dtype,
                         alpha=alpha, beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}


@keras_export("keras.losses.Circle")
class Circle(LossFunctionWrapper):
    """Circle loss for metric learning on unit-norm embeddings (labels are integer ids).

    Samples whose loss is 0 do not count in the average.

    Examples:
        >>> embeddings = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> float(lamina.losses.Circle()([0, 0, 1], embeddings)) >= 0
        True
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_DEFAULT,
                 name="circle", dtype=None):
        super().__init__(functions.circle, name=name, reduction=reduction, dtype=dtype,
                         gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self):
        return {**Loss.get_config(self), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}


@keras_export("keras.losses.CategoricalGeneralizedCrossEntropy")
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
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
        super().__init__(functions.categorical_generalized_cross_entropy, name=name,
                         reduction=reduction, dtype=dtype, q=q)
        self.q = q

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}
