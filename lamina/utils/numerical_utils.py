"""`keras.utils.to_categorical` (integer class labels to one-hot rows) and
`keras.utils.normalize` (rows scaled to unit norm)."""

import numbers

import jax
import numpy as np

from lamina.ops import normalize as _ops_normalize


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class labels: shape `(..., )` becomes `(..., num_classes)`.

    A trailing axis of size 1 (labels shaped `(n, 1)`) is dropped first. `num_classes`
    defaults to the largest label plus one. NumPy (and list) input gives a float64 NumPy
    array, as in Keras; a JAX array gives a float32 JAX array.

    Examples:
        >>> lamina.utils.to_categorical([0, 2, 1], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
        >>> lamina.utils.to_categorical(np.array([[1], [0]])).shape
        (2, 2)
    """
    if isinstance(x, jax.Array):
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        if num_classes is None:
            num_classes = int(x.max()) + 1
        return jax.nn.one_hot(x, num_classes)
    labels = np.asarray(x)
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(
            "to_categorical expects integer class labels. Received values that are not "
            f"whole numbers, e.g. {labels.ravel()[np.mod(labels.ravel(), 1) != 0][0]!r}.")
    labels = labels.astype("int64")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    out_of_range = labels[(labels < 0) | (labels >= num_classes)]
    if out_of_range.size:
        raise ValueError(
            f"to_categorical with num_classes={num_classes} expects labels in "
            f"[0, {num_classes - 1}]. Received label {int(out_of_range[0])}. Pass a larger "
            "num_classes, or map the labels to 0..num_classes-1 first.")
    categorical = np.zeros((labels.size, num_classes))
    categorical[np.arange(labels.size), labels] = 1.0
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scales `x` to unit norm along `axis`: `x / norm(x, order)`.

    A NumPy array (or a list) gives a NumPy array, computed in NumPy; all-zero slices stay
    zero. Any other array (a JAX array, a tensor inside a model) goes through
    `keras.ops.normalize`, which divides by `max(norm, epsilon)`.

    Args:
        x: the array to normalize.
        axis: the axis along which the norm is taken.
        order: the order of the norm (2: Euclidean, 1: sum of absolute values), an int >= 1.

    Examples:
        >>> lamina.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [0. , 0. ]])
        >>> lamina.utils.normalize(np.array([1.0, 3.0]), order=1)
        array([0.25, 0.75])
    """
    if not isinstance(order, numbers.Integral) or isinstance(order, bool) or order < 1:
        raise ValueError(
            "normalize's `order` must be an int >= 1 (2 for the Euclidean norm). Received: "
            f"order={order!r}")
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise ValueError(f"normalize's `axis` must be an int. Received: axis={axis!r}")
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
            raise ValueError(
                f"normalize's `axis` must name an axis of `x`, which has shape {x.shape}. "
                f"Received: axis={axis}")
        if x.dtype.kind not in "biuf":
            raise TypeError(
                "normalize expects an array of real numbers. Received: x of dtype "
                f"{x.dtype}")
        norm = np.linalg.norm(x, ord=int(order), axis=axis, keepdims=True)
        norm[norm == 0] = 1
        return x / norm
    return _ops_normalize(x, axis=axis, order=int(order))
