"""`Loss`: the base class of losses, and the weighting and reduction that every loss shares.

A loss object is called as `loss(y_true, y_pred, sample_weight=None)`: it converts both inputs to
its dtype, computes per-sample values with `call(y_true, y_pred)`, multiplies them by
`sample_weight` and reduces them (`reduction`). Subclasses implement `call` (and `get_config`
when they have hyperparameters); the book's Huber loss is the model:

Examples:
    >>> class HuberLoss(lamina.losses.Loss):
    ...     def __init__(self, threshold=1.0, **kwargs):
    ...         self.threshold = threshold
    ...         super().__init__(**kwargs)
    ...     def call(self, y_true, y_pred):
    ...         error = y_true - y_pred
    ...         small = jnp.abs(error) < self.threshold
    ...         return jnp.where(small, jnp.square(error) / 2,
    ...                          self.threshold * jnp.abs(error) - self.threshold ** 2 / 2)
    ...     def get_config(self):
    ...         return {**super().get_config(), "threshold": self.threshold}
    >>> float(HuberLoss(2.0)([[0.0], [5.0]], [[1.0], [9.25]]))
    3.5
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _serialization as serialization
from lamina import dtype_policies
from lamina._registry import keras_export
from lamina._runtime import config, naming
from lamina._runtime.masking import get_keras_mask
from lamina._runtime.variable import Variable

__all__ = [
    "Loss", "LossFunctionWrapper", "apply_mask", "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank", "standardize_reduction",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class IncompatibleShapesError(ValueError):
    """Raised by a loss or metric function whose `y_true` and `y_pred` cannot be combined.

    Loss and metric objects catch it and raise it again under their own name.
    """

    def __init__(self, what, y_true_shape, y_pred_shape, detail="cannot broadcast together"):
        self.what = what
        self.y_true_shape = tuple(y_true_shape)
        self.y_pred_shape = tuple(y_pred_shape)
        self.detail = detail
        super().__init__(self._message(what))

    def _message(self, what):
        return (f"{what}: y_true and y_pred {self.detail}. Received: "
                f"y_true.shape={self.y_true_shape}, y_pred.shape={self.y_pred_shape}. Make "
                "them the same shape (or shapes that broadcast), e.g. reshape y_true to "
                "y_pred's shape.")

    def renamed(self, what):
        """The same error, naming `what` (a loss or metric object) instead of the function."""
        return IncompatibleShapesError(what, self.y_true_shape, self.y_pred_shape, self.detail)


class InvalidLabelsError(ValueError):
    """Raised eagerly for labels outside the range a loss or metric accepts."""

    def __init__(self, what, detail):
        self.what = what
        self.detail = detail
        super().__init__(f"{what}: {detail}")

    def renamed(self, what):
        return InvalidLabelsError(what, self.detail)


INPUT_ERRORS = (IncompatibleShapesError, InvalidLabelsError)


def standardize_reduction(reduction):
    """Checks a reduction name; returns it unchanged."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{[r for r in REDUCTIONS]}. Received: reduction={reduction!r}")
    return reduction


def is_number_list(value):
    """Whether `value` is a (nested) list or tuple of Python numbers."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return all(is_number_list(v) if isinstance(v, (list, tuple))
               else isinstance(v, (int, float, bool, np.number, np.bool_)) for v in value)


def convert(x, dtype=None):
    """`x` as a JAX array (lists of numbers, NumPy arrays and Variables included)."""
    if isinstance(x, Variable):
        x = x.value
    if dtype is None:
        return x if isinstance(x, jax.Array) else jnp.asarray(x)
    if isinstance(x, jax.Array) and x.dtype == dtype and not getattr(x, "weak_type", False):
        return x
    return jnp.asarray(x, dtype=dtype)


def convert_tree(tree, dtype):
    """`convert` over a structure of arrays; a list of numbers is one array, not a structure."""
    if isinstance(tree, dict):
        return {key: convert_tree(value, dtype) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)) and not is_number_list(tree):
        return type(tree)(convert_tree(value, dtype) for value in tree)
    return convert(tree, dtype)


def float_array(x):
    """`x` as an array; integer and boolean values become `floatx()`.

    Losses compute in floating point: integer predictions are promoted rather than left to
    truncate or overflow.
    """
    x = convert(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return x.astype(config.floatx())


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Makes ranks that differ by one equal, when the extra last dimension is 1 (Keras's rule).

    The array with the extra trailing 1 is squeezed; but if the other one has rank 1 and
    `expand_rank_1`, that one gains a trailing axis instead.
    """
    rank1, rank2 = x1.ndim, x2.ndim
    if rank1 == rank2:
        return x1, x2
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def check_broadcastable(what, y_true, y_pred):
    """Raises `IncompatibleShapesError` naming `what` if the two shapes cannot broadcast."""
    try:
        np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    except ValueError:
        raise IncompatibleShapesError(what, y_true.shape, y_pred.shape) from None


def _check_weight_shape(what, values, sample_weight):
    try:
        np.broadcast_shapes(tuple(values.shape), tuple(sample_weight.shape))
    except ValueError:
        raise ValueError(
            f"{what}: sample_weight of shape {tuple(sample_weight.shape)} cannot weight "
            f"per-sample values of shape {tuple(values.shape)}. Pass one weight per sample "
            f"(shape ({values.shape[0] if values.ndim else 1},)) or weights of the values' "
            "shape.") from None


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merges a validity mask into `sample_weight`.

    With the averaging reductions, valid entries get weight `total / valid` (so that dividing
    by the batch size averages over valid entries only); otherwise the mask is a 0/1 weight.
    """
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = jnp.asarray(mask.size, dtype)
        valid = jnp.sum(mask.astype(dtype))
        scale = jnp.where(valid > 0, total / jnp.where(valid > 0, valid, 1), 0)
        float_mask = jnp.where(mask.astype(bool), scale, 0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = convert(sample_weight).astype(dtype)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces already weighted values: sum, or sum divided by the number of values (or by the
    sum of weights for `"mean_with_sample_weight"`)."""
    if reduction is None or reduction == "none" or values.shape in ((), (0,)):
        return values
    loss = jnp.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = jnp.sum(sample_weight).astype(loss.dtype)
        else:
            divisor = jnp.asarray(values.size, loss.dtype)
        loss = jnp.where(divisor != 0, loss / jnp.where(divisor != 0, divisor, 1), 0)
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None, name="loss"):
    """Weights per-sample loss values and reduces them, as Keras 3's losses do.

    `sample_weight` is squeezed or expanded to the rank of `values` (a `(batch,)` weight
    scales `(batch, 1)` values), then multiplied in. `"sum_over_batch_size"` and `"mean"` divide
    the weighted sum by the number of values (not by the sum of the weights); `"sum"` does not
    divide; `"none"` returns the weighted values.
    """
    reduction = standardize_reduction(reduction)
    dtype = dtype or config.floatx()
    values = convert(values, dtype)
    if sample_weight is not None:
        sample_weight = convert(sample_weight, dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        _check_weight_shape(name, values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


@keras_export("keras.losses.Loss", "keras.Loss")
class Loss:
    """Base class of losses: subclasses implement `call(y_true, y_pred)`.

    Args:
        name: the loss's name (a unique snake-case name of the class by default).
        reduction: `"sum_over_batch_size"` (the default: weighted sum divided by the number
            of values), `"sum"`, `"mean"` (same as the default), `"mean_with_sample_weight"`
            (divided by the sum of the weights), or `"none"`/`None` (per-sample values).
        dtype: the dtype the loss computes in; `None` means `keras.config.floatx()`.

    `__call__(y_true, y_pred, sample_weight=None)` converts both inputs to `dtype`, calls
    `call`, weights the result per sample and reduces it. Predictions that carry a Keras mask
    (from `Embedding(mask_zero=True)` or `Masking`) weight it too: masked entries count for
    nothing and the averaging reductions average over the others, as in Keras. `get_config()` returns
    `{"name", "reduction"}`; a subclass adds its hyperparameters so that a saved model
    rebuilds it (`from_config` calls the constructor with the config).

    Examples:
        >>> class MyMSE(lamina.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return jnp.mean(jnp.square(y_true - y_pred), axis=-1)
        >>> float(MyMSE()([[0.0, 1.0]], [[1.0, 1.0]]))
        0.5
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype_policy = dtype_policies.get(dtype or config.floatx())
        self._dtype = self._dtype_policy.compute_dtype

    @property
    def dtype(self):
        """The dtype the loss computes in (`"float32"` by default)."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        if "_dtype" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__} was used before Loss.__init__ ran. Call "
                "super().__init__(**kwargs) in your loss's __init__.")
        dtype = self._dtype
        in_mask = get_keras_mask(y_pred)  # padded steps of the predictions count for nothing
        y_pred = convert_tree(y_pred, dtype)
        y_true = convert_tree(y_true, dtype)
        try:
            values, mask = self._call_with_mask(y_true, y_pred)
        except INPUT_ERRORS as error:
            raise error.renamed(f"Loss '{self.name}' ({type(self).__name__})") from None
        if mask is None:
            mask = get_keras_mask(values)  # a call() may mask its values itself, as in Keras
        if in_mask is not None:
            mask = in_mask if mask is None else jnp.logical_and(in_mask, mask)
        return reduce_weighted_values(
            values, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
            dtype=dtype, name=f"Loss '{self.name}' ({type(self).__name__})")

    def _call_with_mask(self, y_true, y_pred):
        # A loss may mark entries as invalid (ignore_class); they then count for nothing in
        # the reduction. Keras attaches such masks to tensors; lamina returns them beside.
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        """The per-sample loss values; subclasses implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(y_true, y_pred), returning the loss "
            "per sample (for example averaged over the last axis).")

    def get_config(self):
        """`{"name", "reduction"}`; subclasses add their constructor arguments."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """Creates the loss from `get_config()`'s dict (calls the constructor with it)."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


# Functions that mark some entries as invalid (ignored):
# fn -> mask_fn(values, y_true, y_pred, **fn_kwargs) returning a boolean array of values' shape.
MASK_FUNCTIONS = {}


def loss_mask(fn, values, y_true, y_pred, kwargs):
    """The validity mask a built-in loss function defines for these values, or None."""
    try:
        mask_fn = MASK_FUNCTIONS.get(fn)
    except TypeError:  # unhashable callables never have masks
        return None
    return None if mask_fn is None else mask_fn(values, y_true, y_pred, **kwargs)


@keras_export("keras.losses.LossFunctionWrapper")
class LossFunctionWrapper(Loss):
    """A `Loss` made from a function `fn(y_true, y_pred, **kwargs)` returning per-sample values.

    `y_true` and `y_pred` are first brought to the same rank when they differ by a trailing
    axis of size 1. The built-in loss classes are such wrappers.

    Examples:
        >>> loss = LossFunctionWrapper(lamina.losses.huber, delta=0.5)
        >>> float(loss([[0.0]], [[2.0]]))
        0.875
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _same_rank(self, y_true, y_pred):
        if isinstance(y_true, jax.Array) and isinstance(y_pred, jax.Array):
            return squeeze_or_expand_to_same_rank(y_true, y_pred)
        pairs = jax.tree_util.tree_map(squeeze_or_expand_to_same_rank, y_true, y_pred)
        is_pair = lambda x: isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], jax.Array)
        return (jax.tree_util.tree_map(lambda p: p[0], pairs, is_leaf=is_pair),
                jax.tree_util.tree_map(lambda p: p[1], pairs, is_leaf=is_pair))

    def call(self, y_true, y_pred):
        y_true, y_pred = self._same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _call_with_mask(self, y_true, y_pred):
        if type(self).call is not LossFunctionWrapper.call:  # a subclass with its own call
            return self.call(y_true, y_pred), None
        y_true, y_pred = self._same_rank(y_true, y_pred)
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        return values, loss_mask(self.fn, values, y_true, y_pred, self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialization.serialize_keras_object(self.fn)
        config.update(serialization.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            config = serialization.deserialize_keras_object(config)
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"
