"""`keras.constraints`: projections applied to weights after each optimizer update.

A constraint is any callable `project(weights) -> weights` of the same shape: a `Constraint`
subclass (saved with its `get_config()`), or a plain function, as in the book:

Examples:
    >>> def my_positive_weights(weights):
    ...     return jnp.where(weights < 0.0, jnp.zeros_like(weights), weights)
    >>> my_positive_weights(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

import jax.numpy as jnp

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime import config as _config

__all__ = [
    "Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
    "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm",
]


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


def _axis(axis):
    # Configs loaded from JSON hold lists; jnp reductions want an int or a tuple.
    return tuple(axis) if isinstance(axis, list) else axis


@keras_export("keras.constraints.Constraint")
class Constraint:
    """Base class of constraints: subclasses implement `__call__(w)` returning the projected `w`.

    The base returns `w` unchanged, `get_config()` returns `{}` and `from_config()` calls the
    constructor with the config's keys.

    Examples:
        >>> class Clip(lamina.constraints.Constraint):
        ...     def __init__(self, limit=1.0):
        ...         self.limit = limit
        ...     def __call__(self, w):
        ...         return jnp.clip(w, -self.limit, self.limit)
        ...     def get_config(self):
        ...         return {"limit": self.limit}
    """

    def __call__(self, w):
        """The projection of `w` (the identity for the base class)."""
        return w

    def get_config(self):
        """The constructor arguments as a JSON-ready dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates a constraint from the dict `get_config()` returned."""
        return cls(**config)


@keras_export("keras.constraints.MaxNorm", "keras.constraints.max_norm")
class MaxNorm(Constraint):
    """Rescales weight vectors whose L2 norm along `axis` exceeds `max_value`.

    For a Dense kernel `(inputs, units)`, `axis=0` bounds the incoming weights of each unit; for
    a Conv2D kernel `(rows, cols, in, out)` use `axis=[0, 1, 2]`.

    Examples:
        >>> lamina.constraints.MaxNorm(max_value=1.0)(jnp.array([[3.0], [4.0]])).tolist()
        [[0.6...], [0.8...]]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, _axis(self.axis))
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@keras_export("keras.constraints.NonNeg", "keras.constraints.non_neg")
class NonNeg(Constraint):
    """Replaces negative weights by 0.

    Examples:
        >>> lamina.constraints.NonNeg()(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w):
        return jnp.maximum(jnp.asarray(w), 0)


@keras_export("keras.constraints.UnitNorm", "keras.constraints.unit_norm")
class UnitNorm(Constraint):
    """Rescales weight vectors along `axis` to unit L2 norm.

    Examples:
        >>> lamina.constraints.UnitNorm()(jnp.array([[3.0], [4.0]])).tolist()
        [[0.6...], [0.8...]]
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        return w / (_config.epsilon() + _norms(w, _axis(self.axis)))

    def get_config(self):
        return {"axis": self.axis}


@keras_export("keras.constraints.MinMaxNorm", "keras.constraints.min_max_norm")
class MinMaxNorm(Constraint):
    """Moves the L2 norm of weight vectors along `axis` into `[min_value, max_value]`.

    With `rate < 1` the norm moves only part of the way each step:
    `norm <- rate * clip(norm, min_value, max_value) + (1 - rate) * norm`.

    Examples:
        >>> c = lamina.constraints.MinMaxNorm(min_value=1.0, max_value=2.0)
        >>> w = jnp.array([[0.3], [0.4]])   # norm 0.5, below min_value
        >>> round(float(jnp.linalg.norm(c(w))), 4)
        1.0
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, _axis(self.axis))
        desired = (self.rate * jnp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Lowercase aliases, as Keras 3 exports them (the classes themselves).
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

ALL_OBJECTS_DICT = _identifiers.by_name((Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm))
_LOOKUP = _identifiers.Lookup(
    "constraint", ALL_OBJECTS_DICT,
    "a name such as 'non_neg', a config dict, a Constraint, or a function(weights) returning "
    "projected weights")


def serialize(constraint):
    """The config dict of a constraint (or the function config of a plain function).

    Examples:
        >>> lamina.constraints.serialize(lamina.constraints.NonNeg())
        {'module': 'keras.constraints', 'class_name': 'NonNeg', 'config': {},
         'registered_name': None}
    """
    return serialization.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """Rebuilds a constraint from a name or a config (the inverse of `serialize`).

    Examples:
        >>> lamina.constraints.deserialize("max_norm").get_config()
        {'max_value': 2, 'axis': 0}
    """
    return _LOOKUP.deserialize(config, custom_objects)


def get(identifier):
    """Returns a constraint from a name, a config, a class or a callable; None gives None.

    Examples:
        >>> lamina.constraints.get("non_neg")
        <lamina.constraints.NonNeg object at ...>
    """
    return _LOOKUP.get(identifier)
