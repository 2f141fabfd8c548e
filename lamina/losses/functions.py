"""Loss functions: `fn(y_true, y_pred, ...)` returning one value per sample (Keras 3's math).

Each function reduces over the last axis only (the features), so `(batch, features)` inputs give
`(batch,)` values; `Loss` objects then weight and average them. `y_true` is cast to `y_pred`'s
dtype, and integer predictions are promoted to `floatx()`. Shapes that cannot combine raise an
error naming the function and both shapes.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina.losses.base import (MASK_FUNCTIONS, IncompatibleShapesError, InvalidLabelsError,
                                check_broadcastable, convert, float_array,
                                squeeze_or_expand_to_same_rank)
from lamina._registry import keras_export
from lamina.ops import _losses as loss_ops

__all__ = [
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_generalized_cross_entropy",
    "categorical_hinge", "circle", "cosine_similarity", "ctc", "dice", "hinge", "huber",
    "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_categorical_crossentropy", "squared_hinge", "tversky",
]


def _pair(what, y_true, y_pred, same_rank=True):
    """`y_pred` as floats, `y_true` in its dtype, ranks aligned, broadcastability checked."""
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    if same_rank:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(what, y_true, y_pred)
    return y_true, y_pred


def _same_shape(what, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise IncompatibleShapesError(what, y_true.shape, y_pred.shape,
                                      "must have the same shape")


def _eps(dtype):
    return jnp.asarray(config.epsilon(), dtype)


def l2_normalize(x, axis=-1):
    """`x / ||x||` along `axis`, with `1/||x||` capped at `1/epsilon` (Keras's normalize)."""
    inverse_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inverse_norm, 1.0 / config.epsilon())


# ------------------------------------------------------------------------------------ regression
@keras_export("keras.losses.mean_squared_error", "keras.metrics.mean_squared_error")
def mean_squared_error(y_true, y_pred):
    """`mean(square(y_true - y_pred), axis=-1)`.

    Examples:
        >>> lamina.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).tolist()
        [0.5]
    """
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


@keras_export("keras.losses.mean_absolute_error", "keras.metrics.mean_absolute_error")
def mean_absolute_error(y_true, y_pred):
    """`mean(abs(y_true - y_pred), axis=-1)`.

    Examples:
        >>> lamina.losses.mean_absolute_error([[0.0, 1.0]], [[2.0, 1.0]]).tolist()
        [1.0]
    """
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


@keras_export("keras.losses.mean_absolute_percentage_error",
              "keras.metrics.mean_absolute_percentage_error")
def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)`.

    Examples:
        >>> lamina.losses.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]]).tolist()
        [25.0]
    """
    y_true, y_pred = _pair("mean_absolute_percentage_error", y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), _eps(y_pred.dtype)))
    return 100.0 * jnp.mean(diff, axis=-1)


@keras_export("keras.losses.mean_squared_logarithmic_error",
              "keras.metrics.mean_squared_logarithmic_error")
def mean_squared_logarithmic_error(y_true, y_pred):
    """`mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)`.

    Examples:
        >>> round(float(lamina.losses.mean_squared_logarithmic_error([[0.0]], [[1.0]])[0]), 4)
        0.4805
    """
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    eps = _eps(y_pred.dtype)
    first = jnp.log(jnp.maximum(y_pred, eps) + 1.0)
    second = jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


@keras_export("keras.losses.cosine_similarity")
def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine of the angle between `y_true` and `y_pred` along `axis` (in [-1, 1]).

    Examples:
        >>> lamina.losses.cosine_similarity([[0.0, 1.0]], [[0.0, 3.0]]).tolist()
        [-1.0]
    """
    y_true, y_pred = _pair("cosine_similarity", y_true, y_pred)
    return -jnp.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


@keras_export("keras.losses.huber", "keras.metrics.huber")
def huber(y_true, y_pred, delta=1.0):
    """Huber loss: `0.5 * e**2` where `|e| <= delta`, else `delta * |e| - 0.5 * delta**2`,
    averaged over the last axis (`e = y_pred - y_true`).

    Examples:
        >>> lamina.losses.huber([[0.0, 0.0]], [[0.5, 3.0]]).tolist()
        [1.3125]
    """
    y_true, y_pred = _pair("huber", y_true, y_pred)
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    half = jnp.asarray(0.5, y_pred.dtype)
    return jnp.mean(jnp.where(abs_error <= delta, half * jnp.square(error),
                              delta * abs_error - half * jnp.square(delta)), axis=-1)


@keras_export("keras.losses.log_cosh", "keras.metrics.log_cosh")
def log_cosh(y_true, y_pred):
    """`mean(log(cosh(y_pred - y_true)), axis=-1)`, computed without overflow.

    Examples:
        >>> round(float(lamina.losses.log_cosh([[0.0]], [[1.0]])[0]), 4)
        0.4338
    """
    y_true, y_pred = _pair("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + softplus(-2x) - log(2), finite for any x.
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(jnp.asarray(2.0, x.dtype)), axis=-1)


# --------------------------------------------------------------------------------- probabilistic
@keras_export("keras.losses.kl_divergence", "keras.metrics.kl_divergence")
def kl_divergence(y_true, y_pred):
    """`sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to `[epsilon, 1]`.

    Examples:
        >>> round(float(lamina.losses.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])[0]), 4)
        0.1438
    """
    y_true, y_pred = _pair("kl_divergence", y_true, y_pred, same_rank=False)
    y_true = jnp.clip(y_true, config.epsilon(), 1)
    y_pred = jnp.clip(y_pred, config.epsilon(), 1)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


@keras_export("keras.losses.poisson", "keras.metrics.poisson")
def poisson(y_true, y_pred):
    """`mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)`.

    Examples:
        >>> round(float(lamina.losses.poisson([[1.0]], [[2.0]])[0]), 4)
        1.3069
    """
    y_true, y_pred = _pair("poisson", y_true, y_pred, same_rank=False)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + _eps(y_pred.dtype)), axis=-1)


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type "
                         f"{type(axis).__name__}")


def _warn_single_class(what, y_pred):
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {what}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


@keras_export("keras.losses.categorical_crossentropy", "keras.metrics.categorical_crossentropy")
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot (or soft) labels and predicted class probabilities.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities (probabilities
            are renormalized to sum to 1 and clipped to `[epsilon, 1 - epsilon]`).
        label_smoothing: in [0, 1]: labels become `y * (1 - s) + s / num_classes`.
        axis: the class axis.

    Examples:
        >>> lamina.losses.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
        [0.693...]
    """
    _check_axis(axis)
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    _same_shape("categorical_crossentropy", y_true, y_pred)
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        num_classes = jnp.asarray(y_true.shape[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return loss_ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


@keras_export("keras.losses.categorical_focal_crossentropy",
              "keras.metrics.categorical_focal_crossentropy")
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy scaled by `alpha * (1 - p)**gamma` per class (Lin et al., 2017),
    so that well-classified examples count less.

    Examples:
        >>> round(float(lamina.losses.categorical_focal_crossentropy(
        ...     [[0.0, 1.0]], [[0.5, 0.5]])[0]), 4)
        0.0433
    """
    _check_axis(axis)
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    _same_shape("categorical_focal_crossentropy", y_true, y_pred)
    _warn_single_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        num_classes = jnp.asarray(y_true.shape[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    output = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    output = jnp.clip(output, config.epsilon(), 1.0 - config.epsilon())
    cross_entropy = -y_true * jnp.log(output)
    focal = alpha * jnp.power(1.0 - output, gamma) * cross_entropy
    return jnp.sum(focal, axis=axis)


def _check_sparse_labels(y_true, num_classes, ignore_class):
    """Eagerly (concrete labels only), refuses labels that are not integers in
    `[0, num_classes)`."""
    if isinstance(y_true, jax.core.Tracer):
        return
    labels = np.asarray(y_true)
    if ignore_class is not None:
        labels = labels[labels != ignore_class]
    if labels.size == 0:
        return
    low, high = labels.min(), labels.max()
    if low < 0 or high >= num_classes:
        raise InvalidLabelsError(
            "sparse_categorical_crossentropy",
            f"labels must be class indices in [0, {num_classes}) for y_pred with "
            f"{num_classes} classes. Received labels from {low:g} to {high:g}. Check the "
            "labels (are they 1-based?), or the number of units of the output layer.")
    if np.issubdtype(labels.dtype, np.inexact) and not np.all(np.mod(labels, 1) == 0):
        example = labels[np.mod(labels, 1) != 0].reshape(-1)[0]
        raise InvalidLabelsError(
            "sparse_categorical_crossentropy",
            f"labels must be integer class indices. Received {example:g}. For probabilities "
            "or one-hot rows, use categorical_crossentropy.")


def _sparse_inputs(y_true, y_pred, axis):
    y_pred = float_array(y_pred)
    y_true = convert(y_true)
    if y_pred.ndim < 1:
        raise ValueError(
            "sparse_categorical_crossentropy: y_pred must have a class axis (rank >= 1). "
            f"Received: y_pred.shape={tuple(y_pred.shape)}")
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    class_axis = axis % y_pred.ndim
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    if tuple(y_true.shape) != expected:
        raise IncompatibleShapesError(
            "sparse_categorical_crossentropy", y_true.shape, y_pred.shape,
            f"do not match: y_true must hold one label per row of y_pred, shape {expected}")
    return y_true, y_pred, class_axis


@keras_export("keras.losses.sparse_categorical_crossentropy",
              "keras.metrics.sparse_categorical_crossentropy")
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Cross-entropy between integer class labels and predicted class probabilities.

    Args:
        from_logits: whether `y_pred` holds logits.
        ignore_class: a label value whose entries get loss 0 (and, in `Loss` objects and
            metrics, do not count in the average), e.g. the padding class in segmentation.
        axis: the class axis of `y_pred`.

    Labels must lie in `[0, num_classes)`. Called on concrete arrays, an out-of-range label
    raises a ValueError. Inside `jax.jit` (and `keras.function`, and compiled training steps)
    values cannot be checked: an out-of-range label then contributes a loss of 0, since its
    one-hot row is all zeros (what Keras does on JAX).

    Examples:
        >>> lamina.losses.sparse_categorical_crossentropy([1], [[0.5, 0.5]]).tolist()
        [0.693...]
    """
    y_true, y_pred, class_axis = _sparse_inputs(y_true, y_pred, axis)
    num_classes = y_pred.shape[class_axis]
    if ignore_class is not None:
        valid = y_true != jnp.asarray(ignore_class, y_true.dtype)
        y_true = jnp.where(valid, y_true, 0)
        # Ignored rows get a harmless uniform prediction, so no NaN can reach the gradient.
        y_pred = jnp.where(jnp.expand_dims(valid, class_axis), y_pred,
                           0.0 if from_logits else 1.0)
    _check_sparse_labels(y_true, num_classes, None)
    labels = y_true.astype(jnp.int32)
    if from_logits:
        log_probabilities = jax.nn.log_softmax(y_pred, axis=class_axis)
    else:
        output = y_pred / jnp.sum(y_pred, axis=class_axis, keepdims=True)
        log_probabilities = jnp.log(jnp.clip(output, config.epsilon(), 1 - config.epsilon()))
    one_hot = jax.nn.one_hot(labels, num_classes, axis=class_axis, dtype=y_pred.dtype)
    result = -jnp.sum(one_hot * log_probabilities, axis=class_axis)
    if ignore_class is not None:
        result = jnp.where(valid, result, 0.0)
    return result


def _sparse_mask(values, y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    if ignore_class is None:
        return None
    y_true, _, _ = _sparse_inputs(y_true, y_pred, axis)
    return jnp.reshape(y_true != jnp.asarray(ignore_class, y_true.dtype), values.shape)


MASK_FUNCTIONS[sparse_categorical_crossentropy] = _sparse_mask


def _sparse_value_check(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_true, y_pred, class_axis = _sparse_inputs(y_true, y_pred, axis)
    _check_sparse_labels(y_true, y_pred.shape[class_axis], ignore_class)


# Checks that need concrete values, for callers that compile the function (eager metrics run
# these before their compiled update): fn -> check(y_true, y_pred, **fn_kwargs).
VALUE_CHECKS = {sparse_categorical_crossentropy: _sparse_value_check}


@keras_export("keras.losses.binary_crossentropy", "keras.metrics.binary_crossentropy")
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy between 0/1 labels and predicted probabilities, averaged over `axis`.

    Args:
        from_logits: whether `y_pred` holds logits.
        label_smoothing: labels become `y * (1 - s) + 0.5 * s`.

    Examples:
        >>> lamina.losses.binary_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
        [0.693...]
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    _same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(loss_ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits),
                    axis=axis)


@keras_export("keras.losses.binary_focal_crossentropy",
              "keras.metrics.binary_focal_crossentropy")
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by `(1 - p_t)**gamma` (and by `alpha` / `1 - alpha` for
    positives / negatives when `apply_class_balancing`), averaged over `axis`.

    Examples:
        >>> round(float(lamina.losses.binary_focal_crossentropy([[1.0]], [[0.5]])[0]), 4)
        0.1733
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    _same_shape("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = loss_ops.binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


@keras_export("keras.losses.categorical_generalized_cross_entropy")
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy `(1 - p**q) / q` of the true class's probability `p`
    (Zhang & Sabuncu, 2018): robust to noisy labels; `y_true` holds integer labels.

    Examples:
        >>> round(float(lamina.losses.categorical_generalized_cross_entropy(
        ...     [1], [[0.75, 0.25]], q=0.5)[0]), 4)
        1.0
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true)
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * one_hot, axis=-1)
    return (1 - jnp.power(p, q)) / q


# ------------------------------------------------------------------------------------------ hinge
def _hinge_labels(y_true):
    # 0/1 labels become -1/1; labels already in another form are used as they are.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


@keras_export("keras.losses.hinge", "keras.metrics.hinge")
def hinge(y_true, y_pred):
    """`mean(maximum(1 - y_true * y_pred, 0), axis=-1)`, with 0/1 labels mapped to -1/1.

    Examples:
        >>> lamina.losses.hinge([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
        [1.0]
    """
    y_true, y_pred = _pair("hinge", y_true, y_pred, same_rank=False)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


@keras_export("keras.losses.squared_hinge", "keras.metrics.squared_hinge")
def squared_hinge(y_true, y_pred):
    """`mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`, 0/1 labels mapped to -1/1.

    Examples:
        >>> lamina.losses.squared_hinge([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
        [1.25]
    """
    y_true, y_pred = _pair("squared_hinge", y_true, y_pred, same_rank=False)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


@keras_export("keras.losses.categorical_hinge", "keras.metrics.categorical_hinge")
def categorical_hinge(y_true, y_pred):
    """`maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)` over the last axis.

    Examples:
        >>> round(float(lamina.losses.categorical_hinge([[0.0, 1.0]], [[0.3, 0.6]])[0]), 4)
        0.7
    """
    y_true, y_pred = _pair("categorical_hinge", y_true, y_pred, same_rank=False)
    positive = jnp.sum(y_true * y_pred, axis=-1)
    negative = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(negative - positive + 1.0, jnp.zeros((), y_pred.dtype))


# ----------------------------------------------------------------------------------- other losses
@keras_export("keras.losses.ctc")
def ctc(y_true, y_pred):
    """Connectionist temporal classification loss, one value per sequence.

    `y_true` is `(batch, max_label_length)` integer labels padded with 0 (class 0 is the
    blank), `y_pred` is `(batch, time, num_classes)` logits.

    Examples:
        >>> round(float(lamina.losses.ctc([[1]], jnp.zeros((1, 2, 2)))[0]), 4)
        0.2877
    """
    y_true = convert(y_true)
    y_pred = float_array(y_pred)
    if y_true.ndim != 2:
        raise ValueError(
            "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` "
            f"in integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if y_pred.ndim != 3:
        raise ValueError(
            "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
            f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}")
    batch, time = y_pred.shape[:2]
    labels = y_true.astype(jnp.int32)
    label_length = jnp.sum(labels != 0, axis=-1).astype(jnp.int32)
    input_length = jnp.full((batch,), time, jnp.int32)
    return loss_ops.ctc_loss(labels, y_pred, label_length, input_length, mask_index=0)


@keras_export("keras.losses.dice")
def dice(y_true, y_pred, axis=None):
    """Dice loss `1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))` over `axis`
    (all axes when None).

    Examples:
        >>> round(float(lamina.losses.dice([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    check_broadcastable("dice", y_true, y_pred)
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis) + config.epsilon()
    return 1 - 2.0 * intersection / total


@keras_export("keras.losses.tversky")
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Tversky loss `1 - TP / (TP + alpha * FP + beta * FN)` over `axis` (Salehi et al., 2017);
    `alpha = beta = 0.5` gives the Dice loss.

    Examples:
        >>> round(float(lamina.losses.tversky([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        0.3333
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(y_pred.dtype)
    check_broadcastable("tversky", y_true, y_pred)
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    false_positives = jnp.sum((1 - y_pred) * y_true, axis=axis)
    false_negatives = jnp.sum(y_pred * (1 - y_true), axis=axis)
    denominator = (intersection + false_positives * alpha + false_negatives * beta
                   + config.epsilon())
    return 1 - intersection / denominator


@keras_export("keras.losses.circle")
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss (Sun et al., 2020) of unit-norm embeddings `y_pred` with integer labels
    `y_true`: pulls same-label pairs together and pushes other pairs apart.

    Examples:
        >>> embeddings = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> lamina.losses.circle([0, 0, 1], embeddings).shape
        (3,)
    """
    y_pred = float_array(y_pred)
    y_true = convert(y_true).astype(jnp.int32)
    ref_embeddings = y_pred if ref_embeddings is None else float_array(ref_embeddings)
    ref_labels = y_true if ref_labels is None else convert(ref_labels).astype(jnp.int32)
    distances = jnp.maximum(1 - y_pred @ ref_embeddings.T, 0.0)
    positive = jnp.reshape(y_true, (-1, 1)) == jnp.reshape(ref_labels, (1, -1))
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(y_true.size, ref_labels.size, dtype=bool)
    positive_weights = jnp.maximum((margin + distances) * positive, 0.0)
    negative_weights = jnp.maximum((1 + margin - distances) * negative, 0.0)
    positive_terms = -gamma * positive_weights * (margin - distances)
    negative_terms = gamma * negative_weights * ((1 - margin) - distances)
    positive_loss = jax.nn.logsumexp(jnp.where(positive, positive_terms, -jnp.inf), axis=1)
    negative_loss = jax.nn.logsumexp(jnp.where(negative, negative_terms, -jnp.inf), axis=1)
    return jax.nn.softplus(positive_loss + negative_loss)


MASK_FUNCTIONS[circle] = lambda values, y_true, y_pred, **kwargs: values > 0


# Functions that compare y_true with y_pred element by element: once Keras's rank alignment
# has run, their shapes must be equal, or broadcasting pairs the wrong values without an
# error (compile's loss refuses that when the step is traced).
ELEMENTWISE_FUNCTIONS = frozenset({
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, kl_divergence, poisson,
    categorical_crossentropy, categorical_focal_crossentropy, binary_crossentropy,
    binary_focal_crossentropy, hinge, squared_hinge, categorical_hinge, dice, tversky,
})
# Those among them that take one-hot (or soft) class rows.
CATEGORICAL_FUNCTIONS = frozenset({
    categorical_crossentropy, categorical_focal_crossentropy, categorical_hinge,
})
