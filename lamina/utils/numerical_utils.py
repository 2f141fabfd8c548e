"""`keras.utils.to_categorical`: integer class labels to one-hot rows."""

import jax
import numpy as np


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
