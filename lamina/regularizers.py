"""`keras.regularizers`: penalties on weights that are added to the training loss.

A regularizer is any callable `penalty(weights) -> scalar`: a `Regularizer` subclass (saved with
its `get_config()`), or a plain function. The book's subclass needs nothing from the base:

Examples:
    >>> class MyL1Regularizer(lamina.regularizers.Regularizer):
    ...     def __init__(self, factor):
    ...         self.factor = factor
    ...     def __call__(self, weights):
    ...         return jnp.sum(jnp.abs(self.factor * weights))
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    >>> float(MyL1Regularizer(0.5)(jnp.array([1.0, -2.0])))
    1.5
"""

import math

import jax.numpy as jnp
import numpy as np

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime import config as _config

__all__ = [
    "L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get", "l1",
    "l1_l2", "l2", "orthogonal_regularizer", "serialize",
]


def _float32(value):
    # Keras 3 keeps some factors as float32 tensors and reports float(tensor) in get_config, so
    # L1(0.01) saves l1=0.009999999776482582. Rounding the same way keeps configs identical.
    return float(np.float32(value))


def _check_factor(value, name):
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r}")
    return float(value)


@keras_export("keras.Regularizer", "keras.regularizers.Regularizer")
class Regularizer:
    """Base class of regularizers: subclasses implement `__call__(weights)` and `get_config()`.

    The base defines no `__init__`, so subclasses need not call `super().__init__()`.
    `from_config()` calls the constructor with the config's keys.

    Examples:
        >>> class L2Times(lamina.regularizers.Regularizer):
        ...     def __init__(self, factor=0.1):
        ...         self.factor = factor
        ...     def __call__(self, x):
        ...         return self.factor * jnp.sum(jnp.square(x))
        ...     def get_config(self):
        ...         return {"factor": self.factor}
    """

    def __call__(self, x):
        """The penalty for `x` (0 for the base class)."""
        return 0.0

    @classmethod
    def from_config(cls, config):
        """Creates a regularizer from the dict `get_config()` returned."""
        return cls(**config)

    def get_config(self):
        """The constructor arguments as a JSON-ready dict; subclasses must define it to be saved."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(), so it cannot be saved. "
            "Define get_config() returning its constructor arguments as a dict.")


@keras_export("keras.regularizers.L1L2", "keras.regularizers.l1_l2")
class L1L2(Regularizer):
    """`l1 * sum(abs(x)) + l2 * sum(square(x))`.

    Examples:
        >>> float(lamina.regularizers.L1L2(l1=0.5, l2=0.25)(jnp.array([1.0, -2.0])))
        2.75
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _check_factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = jnp.asarray(x)
        penalty = jnp.zeros((), dtype=x.dtype)
        if self.l1:
            penalty = penalty + jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@keras_export("keras.regularizers.L1", "keras.regularizers.l1")
class L1(Regularizer):
    """`l1 * sum(abs(x))`.

    Examples:
        >>> float(lamina.regularizers.L1(0.5)(jnp.array([1.0, -2.0])))
        1.5
    """

    def __init__(self, l1=0.01):
        self.l1 = _float32(_check_factor(0.01 if l1 is None else l1, "l1"))

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))

    def get_config(self):
        return {"l1": self.l1}


@keras_export("keras.regularizers.L2", "keras.regularizers.l2")
class L2(Regularizer):
    """`l2 * sum(square(x))`.

    Examples:
        >>> float(lamina.regularizers.L2(0.5)(jnp.array([1.0, -2.0])))
        2.5
    """

    def __init__(self, l2=0.01):
        self.l2 = _check_factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))

    def get_config(self):
        return {"l2": self.l2}


@keras_export("keras.regularizers.OrthogonalRegularizer",
              "keras.regularizers.orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight toward mutual orthogonality.

    The penalty is `factor * 0.5 * mean(|cosine similarity|)` over all distinct pairs of rows
    (`mode="rows"`) or columns (`mode="columns"`).

    Examples:
        >>> float(lamina.regularizers.OrthogonalRegularizer(1.0)(jnp.eye(2)))
        0.0
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(_check_factor(factor, "factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(
                "OrthogonalRegularizer's mode must be 'rows' or 'columns'. "
                f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs):
        inputs = jnp.asarray(inputs)
        if inputs.ndim != 2:
            raise ValueError(
                "OrthogonalRegularizer applies to rank-2 weights. "
                f"Received: inputs.shape={inputs.shape}")
        vectors = inputs if self.mode == "rows" else inputs.T
        # Unit-length vectors, as Keras normalizes them (1/norm capped at 1/epsilon).
        inverse_norm = jnp.minimum(
            1.0 / jnp.sqrt(jnp.sum(jnp.square(vectors), axis=1, keepdims=True)),
            1.0 / _config.epsilon())
        vectors = vectors * inverse_norm
        size = vectors.shape[0]
        product = vectors @ vectors.T
        off_diagonal = product * (1.0 - jnp.eye(size, dtype=vectors.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Lowercase aliases, as Keras 3 exports them (the classes themselves).
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

ALL_OBJECTS_DICT = _identifiers.by_name(
    (Regularizer, L1, L2, L1L2, OrthogonalRegularizer),
    l1_l2=L1L2)  # Keras 3's exported alias; its snake case is only "l1l2"
_LOOKUP = _identifiers.Lookup(
    "regularizer", ALL_OBJECTS_DICT,
    "a name such as 'l2', a config dict, a Regularizer, or a function(weights) returning a "
    "scalar")


def serialize(regularizer):
    """The config dict of a regularizer (or the function config of a plain function).

    Examples:
        >>> lamina.regularizers.serialize(lamina.regularizers.L2(0.5))
        {'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.5},
         'registered_name': None}
    """
    return serialization.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """Rebuilds a regularizer from a name or a config (the inverse of `serialize`).

    Examples:
        >>> lamina.regularizers.deserialize("l2").get_config()
        {'l2': 0.01}
    """
    return _LOOKUP.deserialize(config, custom_objects)


def get(identifier):
    """Returns a regularizer from a name, a config, a class or a callable; None gives None.

    Examples:
        >>> lamina.regularizers.get("l1").get_config()
        {'l1': 0.009999999776482582}
    """
    return _LOOKUP.get(identifier)
