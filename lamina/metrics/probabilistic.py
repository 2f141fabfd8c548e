"""Streaming means of probabilistic losses (cross-entropies, KL divergence, Poisson) and of the
hinge losses."""

from lamina.losses.functions import (binary_crossentropy, categorical_crossentropy,
                                     categorical_hinge, hinge, kl_divergence, poisson,
                                     sparse_categorical_crossentropy, squared_hinge)
from lamina._registry import keras_export
from lamina.metrics.reduction import MeanMetricWrapper

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "Hinge",
    "KLDivergence", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
]


class _Plain(MeanMetricWrapper):
    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def _plain(class_name, fn, default_name, doc):
    def __init__(self, name=default_name, dtype=None):
        MeanMetricWrapper.__init__(self, fn=fn, name=name, dtype=dtype)

    cls = type(class_name, (_Plain,), {"__init__": __init__, "__doc__": doc,
                                       "__module__": __name__})
    return keras_export(f"keras.metrics.{class_name}")(cls)


KLDivergence = _plain("KLDivergence", kl_divergence, "kl_divergence", """
    Streaming mean of the Kullback-Leibler divergence.

    Examples:
        >>> round(float(lamina.metrics.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
        0.1438
    """)
Poisson = _plain("Poisson", poisson, "poisson", """
    Streaming mean of the Poisson loss.

    Examples:
        >>> round(float(lamina.metrics.Poisson()([[1.0]], [[2.0]])), 4)
        1.3069
    """)
Hinge = _plain("Hinge", hinge, "hinge", """
    Streaming mean of the hinge loss.

    Examples:
        >>> float(lamina.metrics.Hinge()([[0.0, 1.0]], [[0.5, 0.5]]))
        1.0
    """)
SquaredHinge = _plain("SquaredHinge", squared_hinge, "squared_hinge", """
    Streaming mean of the squared hinge loss.

    Examples:
        >>> float(lamina.metrics.SquaredHinge()([[0.0, 1.0]], [[0.5, 0.5]]))
        1.25
    """)
CategoricalHinge = _plain("CategoricalHinge", categorical_hinge, "categorical_hinge", """
    Streaming mean of the categorical hinge loss.

    Examples:
        >>> round(float(lamina.metrics.CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.6]])), 4)
        0.7
    """)


@keras_export("keras.metrics.BinaryCrossentropy")
class BinaryCrossentropy(MeanMetricWrapper):
    """Streaming mean of the binary cross-entropy.

    Examples:
        >>> round(float(lamina.metrics.BinaryCrossentropy()([[0, 1]], [[0.4, 0.6]])), 4)
        0.5108
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


@keras_export("keras.metrics.CategoricalCrossentropy")
class CategoricalCrossentropy(MeanMetricWrapper):
    """Streaming mean of the categorical cross-entropy (one-hot labels).

    Examples:
        >>> round(float(lamina.metrics.CategoricalCrossentropy()([[0, 1]], [[0.5, 0.5]])), 4)
        0.6931
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@keras_export("keras.metrics.SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Streaming mean of the sparse categorical cross-entropy (integer labels).

    Entries labelled `ignore_class` do not count. An eager update with a label out of
    `[0, num_classes)` raises and leaves the state unchanged; inside compiled code such a
    label contributes 0 (see `lamina.losses.sparse_categorical_crossentropy`).

    Examples:
        >>> round(float(lamina.metrics.SparseCategoricalCrossentropy()(
        ...     [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 4)
        1.1769
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
